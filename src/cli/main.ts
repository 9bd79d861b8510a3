/**
 * The hmmlab command line: a thin adapter over the library. Exit codes: 0 ok, 1 a check
 * failed, 2 bad input (with a message, never a stack trace).
 */

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import Table from 'cli-table3';
import { Command, CommanderError } from 'commander';
import { runSelftest, type SelftestResult, VARIANTS, type Variant } from '../conformance/harness.js';
import { HMM_TESTS } from '../conformance/hmm-tests.js';
import { DESIGN_NAMES, type DesignName } from '../designs/design.js';
import { ExploreInputError, exploreCommand } from '../explore/cli.js';
import {
  applyRecordedProfile,
  formatProfileError,
  type ProfileChoice,
  resolveConfigProfile,
  withRecordedProfile,
} from '../profile/index.js';
import { writeReport } from '../report/html.js';
import { chromeTrace } from '../report/trace.js';
import { formatScenarioError, loadScenario, scenarioJsonSchema } from '../scenario/index.js';
import { DEFAULT_PORT, serveCommand } from '../serve/index.js';
import { type CompareRow, compare, compareRow as compareRowOf, storedMetricsRow } from '../sim/compare.js';
import { type SimConfig, SimConfigError, type SimResult, simulate } from '../sim/simulate.js';
import { mergeStores } from '../store/merge.js';
import { DEFAULT_DB_PATH, ResultsStore, type StoredRun, StoreError } from '../store/store.js';
import {
  loadSweepFile,
  parseShard,
  progressReporter,
  runSweep,
  type Shard,
  ShardSpecError,
  shardPoints,
} from '../sweep/index.js';
import { applySets, OverrideError, recordedSets, withRecordedSets } from '../sweep/overrides.js';

export const VERSION = '0.1.0';

class UsageError extends Error {}

function selftest(opts: { json?: boolean; filter?: string; variant?: string }): number {
  let variants: readonly Variant[] = VARIANTS;
  if (opts.variant !== undefined) {
    const v =
      opts.variant === 'private' ? 'device_private' : opts.variant === 'coherent' ? 'device_coherent' : null;
    if (!v) throw new UsageError(`--variant must be 'private' or 'coherent', not '${opts.variant}'`);
    variants = [v];
  }
  const cases = HMM_TESTS.filter((c) => !opts.filter || `${c.fixture}.${c.name}`.includes(opts.filter));
  if (cases.length === 0) throw new UsageError(`no selftest matches '${opts.filter}'`);
  const results: SelftestResult[] = [];
  for (const c of cases) for (const v of variants) results.push(runSelftest(c, v));
  const passed = results.filter((r) => r.status === 'pass').length;
  const failed = results.filter((r) => r.status === 'fail').length;
  const skipped = results.filter((r) => r.status === 'skip').length;
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({ results, passed, failed, skipped, total: results.length }, null, 2)}\n`,
    );
  } else {
    const table = new Table({
      head: ['test', 'variant', 'result', 'detail'],
      style: { head: [], border: [] },
    });
    for (const r of results) table.push([r.test, r.variant, r.status.toUpperCase(), r.detail ?? '']);
    process.stdout.write(`${table.toString()}\n`);
    process.stdout.write(
      `kernel HMM selftests (tools/testing/selftests/mm/hmm-tests.c): ${results.length} instances, ` +
        `${passed} passed, ${failed} failed, ${skipped} skipped\n`,
    );
  }
  return failed > 0 ? 1 : 0;
}

/** applySets with its errors as UsageErrors (SimConfigError passes through: exit 2 too). */
function applySetsOrUsage(config: SimConfig, sets: readonly string[]): SimConfig {
  try {
    return applySets(config, sets);
  } catch (e) {
    if (e instanceof OverrideError) throw new UsageError(e.message);
    throw e;
  }
}

/** The scenario's config with its profile read (a file, or --profile); UsageError if bad. */
function withProfile(
  config: SimConfig,
  file: string,
  text: string,
  profile: string | undefined,
): { config: SimConfig; choice: ProfileChoice | undefined } {
  const r = resolveConfigProfile(config, file, profile, text);
  if (!r.ok) throw new UsageError(r.errors.map(formatProfileError).join('\n'));
  return r;
}

/**
 * Validates scenario text, reads its profile (--profile, or a profile file it names) and applies
 * --set overrides; throws UsageError with file:line:col messages. The text returned records the
 * profile and the overrides, so the stored run can be simulated again exactly.
 */
function scenarioOf(
  text: string,
  file: string,
  sets: readonly string[],
  profile?: string,
): { config: SimConfig; seed: number; text: string; name: string } {
  const r = loadScenario(text, file);
  if (!r.ok) throw new UsageError(r.errors.map(formatScenarioError).join('\n'));
  const p = withProfile(r.config, file, text, profile);
  const config = applySetsOrUsage(p.config, sets);
  return {
    config,
    seed: r.seed,
    text: withRecordedSets(withRecordedProfile(text, p.choice), sets),
    name: r.scenario.name ?? file,
  };
}

/** Reads and validates a scenario file, reads its profile and applies --set overrides. */
function readScenario(
  file: string,
  sets: readonly string[] = [],
  profile?: string,
): { config: SimConfig; seed: number; text: string; name: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return scenarioOf(text, file, sets, profile);
}

/** The config of a stored run's scenario text, with the profile and --set lines it recorded. */
function storedScenario(text: string, id: number): { config: SimConfig; name: string } {
  const r = loadScenario(text, `run ${id}`);
  if (!r.ok) throw new UsageError(r.errors.map(formatScenarioError).join('\n'));
  const p = applyRecordedProfile(r.config, text, `run ${id}`);
  if (!p.ok) throw new UsageError(p.errors.map(formatProfileError).join('\n'));
  return { config: applySetsOrUsage(p.config, recordedSets(text)), name: r.scenario.name ?? `run ${id}` };
}

type TraceOptions = { output: string; design?: string; seed?: string; profile?: string; set: string[] };
type SweepOptions = { jobs?: string; shard?: string; profile?: string; db?: string; json?: boolean };

const PROFILE_HELP =
  "cost profile: a built-in name or a profile file (a path, relative to the working directory); default: the scenario's";

const collect = (v: string, acc: string[]) => [...acc, v];

/** Stores runs in the results store unless --no-store. */
/** `--shard i/n`, or a UsageError saying what is wrong with it. */
function parseShardOption(spec: string): Shard {
  try {
    return parseShard(spec);
  } catch (e) {
    if (e instanceof ShardSpecError) throw new UsageError(`--shard: ${e.message}`);
    throw e;
  }
}

function withStore<T>(opts: { db?: string; store?: boolean }, f: (store: ResultsStore | null) => T): T {
  if (opts.store === false) return f(null);
  const store = ResultsStore.open(opts.db ?? DEFAULT_DB_PATH);
  try {
    return f(store);
  } finally {
    store.close();
  }
}

/** The stored runs `ids`, in that order; a missing one is a UsageError. */
function storedRuns(ids: readonly number[], db: string | undefined): StoredRun[] {
  return withStore({ db }, (store) =>
    ids.map((id) => {
      const run = store!.getRun(id);
      if (!run) throw new UsageError(`no stored run ${id} in ${db ?? DEFAULT_DB_PATH}`);
      return run;
    }),
  );
}

/** A stored run's metrics as a comparison row (run stores a SimResult, compare a row, sweep both). */
function storedRow(metrics: unknown): CompareRow {
  const row = storedMetricsRow(metrics);
  if (!row) throw new UsageError('a stored run has metrics this hmmlab cannot read');
  return row;
}

function scenarioName(text: string, file: string): string {
  const r = loadScenario(text, file);
  return (r.ok && r.scenario.name) || file;
}

function parseDesigns(list: string | undefined): DesignName[] {
  if (!list) return [...DESIGN_NAMES];
  const out: DesignName[] = [];
  for (const d of list.split(',').map((x) => x.trim())) {
    if (!(DESIGN_NAMES as readonly string[]).includes(d)) {
      throw new UsageError(`--designs: unknown design '${d}' (expected ${DESIGN_NAMES.join(', ')})`);
    }
    out.push(d as DesignName);
  }
  return out;
}

function parseSeed(s: string | undefined, fallback: number): number {
  if (s === undefined) return fallback;
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new UsageError(`--seed must be a non-negative integer, not '${s}'`);
  return n;
}

const us = (ns: number) => (ns / 1000).toFixed(1);

function printCompare(rows: CompareRow[]): void {
  const rdmaNames = [...new Set(rows.flatMap((r) => Object.keys(r.rdma)))];
  const head = ['design'];
  for (const n of rdmaNames) head.push(`${n} GB/s`, 'p50 us', 'p99 us');
  head.push('run ms', 'to RAM', 'to VRAM', 'P2P pages', 'peer MiB', 'fault CPU ms', 'callbacks', 'alias MiB');
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const r of rows) {
    const cells: (string | number)[] = [r.design];
    for (const n of rdmaNames) {
      const m = r.rdma[n];
      cells.push(m ? m.gbps.toFixed(2) : '-', m ? us(m.p50Ns) : '-', m ? us(m.p99Ns) : '-');
    }
    cells.push(
      (r.endNs / 1e6).toFixed(2),
      r.pagesToRam,
      r.pagesToVram,
      r.p2pPages,
      (r.peerBytes / 2 ** 20).toFixed(0),
      ((r.nicFaultCpuNs + r.gpuFaultCpuNs) / 1e6).toFixed(2),
      r.callbacks,
      (r.aliasStructPageBytes / 2 ** 20).toFixed(0),
    );
    table.push(cells);
  }
  process.stdout.write(`${table.toString()}\n`);
}

/** Runs the CLI with argv (as process.argv) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command();
  let code = 0;
  program
    .name('hmmlab')
    .description('An executable model of Linux HMM for device-memory and P2P DMA experiments')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program
    .command('selftest')
    .description("run the kernel's HMM selftests (hmm-tests.c) against the model")
    .option('--json', 'print the results as JSON')
    .option('--filter <text>', 'only tests whose name contains <text>')
    .option('--variant <private|coherent>', 'only one fixture variant')
    .action((opts) => {
      code = selftest(opts);
    });
  program
    .command('run <scenario>')
    .description('simulate a scenario file and print its metrics')
    .option('--design <name>', `P2P design (${DESIGN_NAMES.join(', ')})`)
    .option('--seed <n>', "seed (default: the scenario's)")
    .option('--profile <name|file>', PROFILE_HELP)
    .option(
      '--set <key=value>',
      'override a config value, e.g. gpus.gpu0.faultBatchSize=64 (repeatable)',
      collect,
      [],
    )
    .option('--json', 'print the result as JSON')
    .option('--db <path>', `results store (default ${DEFAULT_DB_PATH})`)
    .option('--no-store', 'do not store the run')
    .action(
      (
        file: string,
        opts: {
          design?: string;
          seed?: string;
          profile?: string;
          set: string[];
          json?: boolean;
          db?: string;
          store?: boolean;
        },
      ) => {
        const { config, seed, text, name } = readScenario(file, opts.set, opts.profile);
        const design = opts.design ? parseDesigns(opts.design)[0] : config.design;
        const s = parseSeed(opts.seed, seed);
        const startedAt = new Date().toISOString();
        const r = simulate({ ...config, design }, { seed: s });
        withStore(opts, (store) =>
          store?.saveRun({
            scenarioName: name,
            scenarioText: text,
            design: r.design.name,
            seed: s,
            hmmlabVersion: VERSION,
            startedAt,
            metrics: r,
          }),
        );
        if (opts.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        else printCompare([compareRowOf(r)]);
      },
    );
  program
    .command('compare [scenario]')
    .description(
      'simulate a scenario under several P2P designs (or load stored runs) and print them side by side',
    )
    .option('--runs <ids>', 'compare stored runs by id (comma-separated) instead of simulating')
    .option('--designs <list>', `comma-separated designs (default: all of ${DESIGN_NAMES.join(',')})`)
    .option('--seed <n>', "seed (default: the scenario's)")
    .option('--profile <name|file>', PROFILE_HELP)
    .option(
      '--set <key=value>',
      'override a config value, e.g. gpus.gpu0.faultBatchSize=64 (repeatable)',
      collect,
      [],
    )
    .option('--json', 'print the rows as JSON (stable keys, see docs/designs.md)')
    .option('--db <path>', `results store (default ${DEFAULT_DB_PATH})`)
    .option('--no-store', 'do not store the runs')
    .action(
      (
        file: string | undefined,
        opts: {
          designs?: string;
          seed?: string;
          profile?: string;
          set: string[];
          json?: boolean;
          db?: string;
          store?: boolean;
          runs?: string;
        },
      ) => {
        if (opts.runs !== undefined) {
          const ids = opts.runs.split(',').map((x) => Number(x.trim()));
          if (ids.some((id) => !Number.isSafeInteger(id) || id < 1)) {
            throw new UsageError(`--runs must list run ids (see hmmlab runs), not '${opts.runs}'`);
          }
          const stored = storedRuns(ids, opts.db).map((run) => storedRow(run.metrics));
          if (opts.json) process.stdout.write(`${JSON.stringify(stored, null, 2)}\n`);
          else printCompare(stored);
          return;
        }
        if (file === undefined) throw new UsageError('compare needs a scenario file or --runs');
        const { config, seed, text, name } = readScenario(file, opts.set, opts.profile);
        const s = parseSeed(opts.seed, seed);
        const startedAt = new Date().toISOString();
        const rows = compare(config, parseDesigns(opts.designs), s);
        withStore(opts, (store) => {
          for (const row of rows) {
            store?.saveRun({
              scenarioName: name,
              scenarioText: text,
              design: row.design,
              seed: s,
              hmmlabVersion: VERSION,
              startedAt,
              metrics: row,
            });
          }
        });
        if (opts.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        else printCompare(rows);
      },
    );
  program
    .command('report <scenario>')
    .description(
      'simulate a scenario under several designs, store the runs and write an HTML report; or, given run ids (3,4), report stored runs',
    )
    .option('--designs <list>', `comma-separated designs (default: all of ${DESIGN_NAMES.join(',')})`)
    .option('--seed <n>', "seed (default: the scenario's)")
    .option('--profile <name|file>', PROFILE_HELP)
    .option(
      '--set <key=value>',
      'override a config value, e.g. gpus.gpu0.faultBatchSize=64 (repeatable)',
      collect,
      [],
    )
    .option('-o, --output <dir>', 'report folder', 'hmmlab-report')
    .option('--png', 'also write the plots as PNG files')
    .option('--db <path>', `results store (default ${DEFAULT_DB_PATH})`)
    .option('--no-store', 'do not store the runs')
    .action(
      (
        file: string,
        opts: {
          designs?: string;
          seed?: string;
          profile?: string;
          set: string[];
          output: string;
          png?: boolean;
          db?: string;
          store?: boolean;
        },
      ) => {
        let name: string;
        let text: string;
        let results: { design: DesignName; result: SimResult }[];
        if (/^\d+(,\d+)*$/.test(file) && !existsSync(file)) {
          // Stored runs: simulate each again from its scenario text, design and seed (runs are
          // deterministic), since a report needs the event log that the store does not keep.
          if (
            opts.designs !== undefined ||
            opts.seed !== undefined ||
            opts.profile !== undefined ||
            opts.set.length > 0
          ) {
            throw new UsageError(
              '--designs, --seed, --profile and --set apply to a scenario file, not to stored runs',
            );
          }
          const ids = file.split(',').map(Number);
          const runs = storedRuns(ids, opts.db);
          if (new Set(runs.map((r) => r.scenarioHash)).size > 1) {
            throw new UsageError(
              `runs ${file} come from different scenario texts (${runs.map((r) => `${r.id}: ${r.scenarioName} ${r.scenarioHash.slice(0, 12)}`).join(', ')}); a report covers one`,
            );
          }
          text = runs[0]!.scenarioText;
          const base = storedScenario(text, runs[0]!.id);
          name = base.name;
          results = runs.map((run) => {
            if (!(DESIGN_NAMES as readonly string[]).includes(run.design)) {
              throw new UsageError(
                `run ${run.id} used design '${run.design}', which this hmmlab does not know`,
              );
            }
            const design = run.design as DesignName;
            const result = simulate({ ...base.config, design }, { seed: run.seed, log: true });
            const again = JSON.stringify(compareRowOf(result));
            if (again !== JSON.stringify(storedRow(run.metrics))) {
              process.stderr.write(
                `hmmlab: run ${run.id} (hmmlab ${run.hmmlabVersion}) gives different metrics when simulated again with hmmlab ${VERSION}; the report shows the new ones\n`,
              );
              code = 1;
            }
            return { design, result };
          });
        } else {
          const sc = readScenario(file, opts.set, opts.profile);
          name = sc.name;
          text = sc.text;
          const s = parseSeed(opts.seed, sc.seed);
          const startedAt = new Date().toISOString();
          results = parseDesigns(opts.designs).map((design) => ({
            design,
            result: simulate({ ...sc.config, design }, { seed: s, log: true }),
          }));
          withStore(opts, (store) => {
            for (const r of results) {
              store?.saveRun({
                scenarioName: name,
                scenarioText: text,
                design: r.design,
                seed: s,
                hmmlabVersion: VERSION,
                startedAt,
                metrics: compareRowOf(r.result),
              });
            }
          });
        }
        const rows = results.map((r) => compareRowOf(r.result));
        let written: string[];
        try {
          written = writeReport(
            opts.output,
            { title: `hmmlab: ${name}`, scenarioName: name, scenarioText: text, results, rows },
            { png: opts.png ?? false },
          );
        } catch (e) {
          throw new UsageError(`cannot write the report to ${opts.output}: ${(e as Error).message}`);
        }
        printCompare(rows);
        process.stdout.write(`report: ${written[0]}\n`);
      },
    );
  program
    .command('trace <scenario>')
    .description('write a Chrome trace-event JSON of a run (open it in ui.perfetto.dev or chrome://tracing)')
    .requiredOption('-o, --output <file>', 'where to write the trace')
    .option('--design <name>', `P2P design (${DESIGN_NAMES.join(', ')})`)
    .option('--seed <n>', "seed (default: the scenario's)")
    .option('--profile <name|file>', PROFILE_HELP)
    .option(
      '--set <key=value>',
      'override a config value, e.g. gpus.gpu0.faultBatchSize=64 (repeatable)',
      collect,
      [],
    )
    .action((file: string, opts: TraceOptions) => {
      const { config, seed } = readScenario(file, opts.set, opts.profile);
      const design = opts.design ? parseDesigns(opts.design)[0] : config.design;
      const r = simulate({ ...config, design }, { seed: parseSeed(opts.seed, seed), log: true });
      const trace = chromeTrace(r);
      try {
        writeFileSync(opts.output, `${JSON.stringify(trace)}\n`);
      } catch (e) {
        throw new UsageError(
          `cannot write ${opts.output}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        );
      }
      process.stdout.write(`wrote ${trace.traceEvents.length} trace events to ${opts.output}\n`);
    });
  program
    .command('sweep <sweep>')
    .description('run a grid or list of scenario variants on worker threads and store every run')
    .option('--jobs <n>', 'worker threads (default: the CPUs)')
    .option('--shard <i/n>', 'run only shard i of n (the points whose index is i-1 modulo n), e.g. 2/4')
    .option('--profile <name|file>', PROFILE_HELP)
    .option('--db <path>', `results store (default ${DEFAULT_DB_PATH})`)
    .option('--json', 'print the results as JSON')
    .action(async (file: string, opts: SweepOptions) => {
      const jobs = opts.jobs === undefined ? undefined : Number(opts.jobs);
      if (jobs !== undefined && !(Number.isInteger(jobs) && jobs >= 1 && jobs <= 256)) {
        throw new UsageError(`--jobs must be an integer from 1 to 256, not '${opts.jobs}'`);
      }
      const shard = opts.shard === undefined ? undefined : parseShardOption(opts.shard);
      const r = await loadSweepFile(file, { profile: opts.profile });
      if (!r.ok) throw new UsageError(r.errors.map(formatProfileError).join('\n'));
      const points = shard ? shardPoints(r.points, shard) : r.points;
      const scenarioText = withRecordedProfile(readFileSync(r.scenarioFile, 'utf8'), r.profile);
      const name = scenarioName(scenarioText, r.scenarioFile);
      const startedAt = new Date().toISOString();
      const bar = progressReporter(points.length);
      const results = await runSweep(points, { jobs, onProgress: (d) => bar.update(d) });
      bar.stop();
      withStore(opts, (store) => {
        for (const res of results) {
          const pt = r.points[res.index]!;
          store?.saveRun({
            scenarioName: name,
            scenarioText,
            design: pt.design,
            seed: pt.seed,
            hmmlabVersion: VERSION,
            startedAt,
            metrics: { params: pt.params, row: res.result },
            durationMs: res.ms,
          });
        }
      });
      if (opts.json) {
        const out = results.map((res) => ({
          ...r.points[res.index]!,
          config: undefined,
          result: res.result,
        }));
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      } else {
        const table = new Table({
          head: ['#', 'design', 'seed', 'params', 'end ms', 'P2P pages', 'to RAM'],
          style: { head: [], border: [] },
        });
        for (const res of results) {
          const pt = r.points[res.index]!;
          table.push([
            pt.index,
            pt.design,
            pt.seed,
            JSON.stringify(pt.params),
            (res.result.endNs / 1e6).toFixed(2),
            res.result.p2pPages,
            res.result.pagesToRam,
          ]);
        }
        const of = shard ? ` (shard ${shard.index}/${shard.count} of a ${r.points.length}-point sweep)` : '';
        process.stdout.write(
          `${table.toString()}\n${results.length} runs stored in ${opts.db ?? DEFAULT_DB_PATH}${of}\n`,
        );
      }
    });
  program
    .command('merge <out> <inputs...>')
    .description('merge results stores (say, the shards of a sweep run on several machines) into <out>')
    .option('--json', 'print what was merged as JSON')
    .action((out: string, inputs: string[], opts: { json?: boolean }) => {
      const r = mergeStores(out, inputs);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        return;
      }
      const table = new Table({
        head: ['input', 'schema', 'runs', 'copied', 'duplicates', 'explorations', 'copied', 'duplicates'],
        style: { head: [], border: [] },
      });
      for (const i of r.inputs) {
        table.push([
          i.path,
          i.schemaVersion,
          i.runs,
          i.runsCopied,
          i.runsSkipped,
          i.explorations,
          i.explorationsCopied,
          i.explorationsSkipped,
        ]);
      }
      process.stdout.write(
        `${table.toString()}\nmerged ${r.inputs.length} store${r.inputs.length === 1 ? '' : 's'} into ${out}: ` +
          `${r.runsCopied} runs copied, ${r.runsSkipped} duplicates skipped; ` +
          `${r.explorationsCopied} explorations copied, ${r.explorationsSkipped} duplicates skipped\n`,
      );
    });
  program
    .command('runs')
    .description('list the stored runs')
    .option('--db <path>', `results store (default ${DEFAULT_DB_PATH})`)
    .option('--scenario <name>', 'only runs of this scenario')
    .option('--design <name>', 'only runs of this design')
    .option('--json', 'print the runs as JSON')
    .action((opts: { db?: string; scenario?: string; design?: string; json?: boolean }) => {
      withStore(opts, (store) => {
        const runs = store!.listRuns({ scenario: opts.scenario, design: opts.design });
        if (opts.json) process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
        else {
          const table = new Table({
            head: ['id', 'scenario', 'design', 'seed', 'started', 'hmmlab'],
            style: { head: [], border: [] },
          });
          for (const r of runs)
            table.push([r.id, r.scenarioName, r.design, r.seed, r.startedAt, r.hmmlabVersion]);
          process.stdout.write(`${table.toString()}\n${runs.length} runs\n`);
        }
      });
    });
  program
    .command('serve')
    .description('serve the web viewer of stored runs, comparisons, topologies and explorations on 127.0.0.1')
    .option('--db <path>', `results store (default ${DEFAULT_DB_PATH})`)
    .option('--port <n>', `port (default ${DEFAULT_PORT}; 0 picks a free one)`)
    .action(async (opts: { db?: string; port?: string }) => {
      code = await serveCommand(opts, VERSION);
    });
  program
    .command('explore <race>')
    .description(
      'explore the interleavings of a race file (scenarios/races/) and check the mmu-notifier contract, data, revoked pagemaps, quiescence and progress',
    )
    .option('--exhaustive', 'every interleaving within the bounds (the default)')
    .option('--random <n>', 'n seeded random interleavings instead')
    .option('--seed <n>', 'seed of --random (default 1)')
    .option('--max-states <n>', 'stop after this many distinct states (default 100000)')
    .option('--max-depth <n>', 'longest schedule explored (default 400)')
    .option('--replay <schedule>', 'replay one schedule string (printed with a counterexample)')
    .option('--trace <file>', 'write the counterexample as Chrome trace-event JSON')
    .option('--json', 'print the result as JSON')
    .option('--db <path>', `results store (default ${DEFAULT_DB_PATH})`)
    .option('--no-store', 'do not save the result in the results store')
    .option(
      '--expect',
      "exit 0 when the verdict is the file's `expect:` (a counterexample included), 1 otherwise",
    )
    .action(async (file: string, opts: Parameters<typeof exploreCommand>[1]) => {
      code = await exploreCommand(file, opts, VERSION);
    });
  program
    .command('schema')
    .description('print the JSON Schema of scenario files (for editors)')
    .action(() => {
      process.stdout.write(`${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
    });
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here with exit code 0.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (
      e instanceof UsageError ||
      e instanceof SimConfigError ||
      e instanceof StoreError ||
      e instanceof ExploreInputError
    ) {
      process.stderr.write(`hmmlab: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  return code;
}
