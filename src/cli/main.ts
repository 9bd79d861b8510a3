/**
 * The hmmlab command line: a thin adapter over the library. Exit codes: 0 ok, 1 a check
 * failed, 2 bad input (with a message, never a stack trace).
 */

import { existsSync, writeFileSync } from 'node:fs';
import Table from 'cli-table3';
import { Command, CommanderError } from 'commander';
import { runSelftest, type SelftestResult, VARIANTS, type Variant } from '../conformance/harness.js';
import { HMM_TESTS } from '../conformance/hmm-tests.js';
import { DESIGN_NAMES, type DesignName } from '../designs/design.js';
import { ExploreInputError, exploreCommand } from '../explore/cli.js';
import {
  formatProfileError,
  type ProfileChoice,
  resolveConfigProfile,
  withRecordedProfile,
} from '../profile/index.js';
import { writeReport } from '../report/html.js';
import { chromeTrace } from '../report/trace.js';
import {
  DEFAULT_MAX_FILE_BYTES,
  DEFAULT_MAX_WORK,
  formatScenarioError,
  loadScenario,
  parseMaxFileSize,
  readInputFile,
  scenarioJsonSchema,
} from '../scenario/index.js';
import { DEFAULT_PORT, serveCommand } from '../serve/index.js';
import { metricsDifference, ResimulateError, storedRunConfig } from '../serve/resimulate.js';
import { SimulatedProcessDied } from '../sim/agent.js';
import {
  type CompareRow,
  compare,
  compareRow as compareRowOf,
  printableRow,
  storedMetricsRow,
} from '../sim/compare.js';
import { ConfigError, type SimConfig, type SimResult, simulate } from '../sim/simulate.js';
import { checkStoreFile } from '../store/file-check.js';
import { mergeStores } from '../store/merge.js';
import { DEFAULT_DB_PATH, ResultsStore, SCHEMA_VERSION, type StoredRun, StoreError } from '../store/store.js';
import { loadSweepFile, progressReporter, shardPoints } from '../sweep/index.js';
import { recordedSets, withRecordedSets } from '../sweep/overrides.js';
import { storeSweep } from '../sweep/run.js';
import {
  looksLikeRunIds,
  OptionError,
  parseDesign,
  parseDesignList,
  parseJobs,
  parsePort,
  parseRunIds,
  parseSeed,
  parseShardOption,
} from './options.js';
import { checkOutputDir, checkOutputFile } from './output-paths.js';

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

/** The input limits of a command: --max-file-size and --max-work. */
interface InputLimits {
  maxFileBytes: number;
  maxWork: number;
}

/** --max-file-size and --max-work as numbers (defaults when absent), or a UsageError. */
function inputLimits(opts: { maxFileSize?: string; maxWork?: string }): InputLimits {
  const size = parseMaxFileSize(opts.maxFileSize);
  if (!size.ok) throw new UsageError(size.message);
  let maxWork = DEFAULT_MAX_WORK;
  if (opts.maxWork !== undefined) {
    const n = Number(opts.maxWork);
    if (opts.maxWork.trim() === 'unlimited') maxWork = Number.POSITIVE_INFINITY;
    else if (!(Number.isSafeInteger(n) && n >= 1))
      throw new UsageError(
        `--max-work must be a positive integer (page accesses) or 'unlimited', not '${opts.maxWork}'`,
      );
    else maxWork = n;
  }
  return { maxFileBytes: size.bytes, maxWork };
}

/**
 * `message` with control characters other than newline and tab written as `\u001b` escapes:
 * a file name or value echoed in an error cannot move the cursor or recolour the terminal.
 */
export function printableMessage(message: string): string {
  return message.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this escapes
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** The scenario's config with its profile read (a file, or --profile); UsageError if bad. */
function withProfile(
  config: SimConfig,
  file: string,
  text: string,
  profile: string | undefined,
  sets: readonly string[] = [],
): { config: SimConfig; choice: ProfileChoice | undefined } {
  // The last `--set profile=...` wins, as it does in the scenario.
  const fromSet = [...sets].reverse().find((x) => /^\s*profile\s*=/.test(x));
  const r = resolveConfigProfile(config, file, profile, text, fromSet);
  if (!r.ok) throw new UsageError(r.errors.map(formatProfileError).join('\n'));
  return r;
}

/**
 * Validates scenario text with --set overrides applied to it, and reads its profile (--profile,
 * or a profile file it names); throws UsageError with the errors. The text returned records the
 * profile and the overrides, so the stored run can be simulated again exactly.
 */
function scenarioOf(
  text: string,
  file: string,
  sets: readonly string[],
  maxWork: number = DEFAULT_MAX_WORK,
  profile?: string,
): { config: SimConfig; seed: number; text: string; name: string } {
  const r = loadScenario(text, file, { sets, maxWork });
  if (!r.ok) throw new UsageError(r.errors.map(formatScenarioError).join('\n'));
  const p = withProfile(r.config, file, text, profile, sets);
  return {
    config: p.config,
    seed: r.seed,
    text: withRecordedSets(withRecordedProfile(text, p.choice), sets),
    name: r.scenario.name ?? file,
  };
}

/** Reads (size and encoding checked) and validates a scenario file with --set overrides. */
function readScenario(
  file: string,
  sets: readonly string[] = [],
  limits: InputLimits = { maxFileBytes: DEFAULT_MAX_FILE_BYTES, maxWork: DEFAULT_MAX_WORK },
  profile?: string,
): { config: SimConfig; seed: number; text: string; name: string } {
  const read = readInputFile(file, limits.maxFileBytes);
  if (!read.ok) throw new UsageError(read.message);
  return scenarioOf(read.text, file, sets, limits.maxWork, profile);
}

/** The config a stored run was simulated with: its scenario text and the overrides it recorded. */
function storedScenario(run: StoredRun): { config: SimConfig; name: string; sets: string[] } {
  try {
    return storedRunConfig(run);
  } catch (e) {
    if (e instanceof ResimulateError) throw new UsageError(e.message);
    throw e;
  }
}

const collect = (v: string, acc: string[]) => [...acc, v];

const PROFILE_HELP =
  "cost profile: a built-in name or a profile file (a path, relative to the working directory); default: the scenario's";

const SET_HELP =
  'override a scenario value by its path in the file, e.g. devices.gpus.gpu0.faultBatchSize=64, platform.cpuCores=4, buffers.buf.size=2GiB (or a SimConfig path, gpus.gpu0.vramBytes=...); checked like the file (repeatable)';
const MAX_FILE_SIZE_HELP = `refuse input files larger than this (default ${DEFAULT_MAX_FILE_BYTES / 2 ** 20}MiB)`;
const MAX_WORK_HELP = `refuse scenarios that would simulate more page accesses than this, or 'unlimited' (default ${DEFAULT_MAX_WORK})`;

/** Stores runs in the results store unless --no-store. */
/**
 * Opens the results store to write (unless --no-store), checked first: a file that is not an
 * hmmlab store is a StoreError (exit 2) before any work is done, and is left as it was.
 */
function withStore<T>(opts: { db?: string; store?: boolean }, f: (store: ResultsStore | null) => T): T {
  if (opts.store === false) return f(null);
  const store = ResultsStore.open(opts.db ?? DEFAULT_DB_PATH);
  try {
    return f(store);
  } finally {
    store.close();
  }
}

/**
 * Opens the results store read-only for the commands that only read it (runs, compare --runs,
 * report <ids>): it must exist (it is never created) and pass its checks and quick_check.
 */
function withReadStore<T>(db: string | undefined, f: (store: ResultsStore) => T): T {
  const store = ResultsStore.open(db ?? DEFAULT_DB_PATH, { readOnly: true });
  try {
    return f(store);
  } finally {
    store.close();
  }
}

/** The stored runs `ids`, in that order; a missing one is a UsageError. */
function storedRuns(ids: readonly number[], db: string | undefined): StoredRun[] {
  return withReadStore(db, (store) =>
    ids.map((id) => {
      const run = store.getRun(id);
      if (!run) throw new UsageError(`no stored run ${id} in ${db ?? DEFAULT_DB_PATH}`);
      return run;
    }),
  );
}

/** A stored run's metrics as a comparison row (run stores a SimResult, compare a row, sweep both). */
function storedRow(run: StoredRun, db: string | undefined, printed: boolean): CompareRow {
  const row = storedMetricsRow(run.metrics);
  if (!row || (printed && !printableRow(row))) {
    throw new UsageError(
      `${db ?? DEFAULT_DB_PATH}: run ${run.id} has metrics this hmmlab cannot read (stored by hmmlab ${run.hmmlabVersion}, or damaged)`,
    );
  }
  return row;
}

function scenarioName(text: string, file: string): string {
  const r = loadScenario(text, file);
  return (r.ok && r.scenario.name) || file;
}

/** `--designs` (strict, see options.ts), all designs when not given. */
function designsOption(list: string | undefined): DesignName[] {
  return list === undefined ? [...DESIGN_NAMES] : parseDesignList('--designs', list);
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
    .option('--set <key=value>', SET_HELP, collect, [])
    .option('--profile <name|file>', PROFILE_HELP)
    .option('--max-file-size <size>', MAX_FILE_SIZE_HELP)
    .option('--max-work <n>', MAX_WORK_HELP)
    .option('--json', 'print the result as JSON')
    .option('--db <path>', `results store (default ${DEFAULT_DB_PATH})`)
    .option('--no-store', 'do not store the run')
    .action(
      (
        file: string,
        opts: {
          design?: string;
          seed?: string;
          set: string[];
          profile?: string;
          maxFileSize?: string;
          maxWork?: string;
          json?: boolean;
          db?: string;
          store?: boolean;
        },
      ) => {
        const designOpt = opts.design === undefined ? undefined : parseDesign('--design', opts.design);
        const seedOpt = opts.seed === undefined ? undefined : parseSeed('--seed', opts.seed);
        const { config, seed, text, name } = readScenario(file, opts.set, inputLimits(opts), opts.profile);
        const design = designOpt ?? config.design;
        const s = seedOpt ?? seed;
        const startedAt = new Date().toISOString();
        const r = withStore(opts, (store) => {
          const r = simulate({ ...config, design }, { seed: s });
          store?.saveRun({
            scenarioName: name,
            scenarioText: text,
            design: r.design.name,
            seed: s,
            hmmlabVersion: VERSION,
            startedAt,
            metrics: r,
          });
          return r;
        });
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
    .option('--set <key=value>', SET_HELP, collect, [])
    .option('--profile <name|file>', PROFILE_HELP)
    .option('--max-file-size <size>', MAX_FILE_SIZE_HELP)
    .option('--max-work <n>', MAX_WORK_HELP)
    .option('--json', 'print the rows as JSON (stable keys, see docs/designs.md)')
    .option('--db <path>', `results store (default ${DEFAULT_DB_PATH})`)
    .option('--no-store', 'do not store the runs')
    .action(
      (
        file: string | undefined,
        opts: {
          designs?: string;
          seed?: string;
          set: string[];
          profile?: string;
          maxFileSize?: string;
          maxWork?: string;
          json?: boolean;
          db?: string;
          store?: boolean;
          runs?: string;
        },
      ) => {
        if (opts.runs !== undefined) {
          const ids = parseRunIds('--runs', opts.runs);
          const stored = storedRuns(ids, opts.db).map((run) => storedRow(run, opts.db, !opts.json));
          if (opts.json) process.stdout.write(`${JSON.stringify(stored, null, 2)}\n`);
          else printCompare(stored);
          return;
        }
        if (file === undefined) throw new UsageError('compare needs a scenario file or --runs');
        const designs = designsOption(opts.designs);
        const seedOpt = opts.seed === undefined ? undefined : parseSeed('--seed', opts.seed);
        const { config, seed, text, name } = readScenario(file, opts.set, inputLimits(opts), opts.profile);
        const s = seedOpt ?? seed;
        const startedAt = new Date().toISOString();
        const rows = withStore(opts, (store) => {
          const rows = compare(config, designs, s);
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
          return rows;
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
    .option('--set <key=value>', SET_HELP, collect, [])
    .option('--profile <name|file>', PROFILE_HELP)
    .option('--max-file-size <size>', MAX_FILE_SIZE_HELP)
    .option('--max-work <n>', MAX_WORK_HELP)
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
          set: string[];
          profile?: string;
          maxFileSize?: string;
          maxWork?: string;
          output: string;
          png?: boolean;
          db?: string;
          store?: boolean;
        },
      ) => {
        let name: string;
        let text: string;
        let results: { design: DesignName; result: SimResult }[];
        checkOutputDir('-o', opts.output);
        if (looksLikeRunIds(file) && !existsSync(file)) {
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
          const ids = parseRunIds('report <run ids>', file);
          const runs = storedRuns(ids, opts.db);
          // Sweep points stored before their overrides were recorded in the text differ by
          // their params only: they are different scenarios too.
          const setsOf = runs.map((r) => storedScenario(r).sets.join('\n'));
          if (new Set(runs.map((r, i) => `${r.scenarioHash}\n${setsOf[i]}`)).size > 1) {
            throw new UsageError(
              `runs ${file} come from different scenario texts (${runs.map((r, i) => `${r.id}: ${r.scenarioName} ${r.scenarioHash.slice(0, 12)}${setsOf[i] ? ` ${setsOf[i]!.replaceAll('\n', ' ')}` : ''}`).join(', ')}); a report covers one`,
            );
          }
          const base = storedScenario(runs[0]!);
          // The report shows the text with the overrides the runs used (older sweep points kept
          // them in their metrics only).
          text =
            recordedSets(runs[0]!.scenarioText).length > 0
              ? runs[0]!.scenarioText
              : withRecordedSets(runs[0]!.scenarioText, base.sets);
          name = base.name;
          results = runs.map((run) => {
            if (!(DESIGN_NAMES as readonly string[]).includes(run.design)) {
              throw new UsageError(
                `run ${run.id} used design '${run.design}', which this hmmlab does not know`,
              );
            }
            const design = run.design as DesignName;
            const result = simulate({ ...base.config, design }, { seed: run.seed, log: true });
            const difference = metricsDifference(run, compareRowOf(result), VERSION);
            if (difference !== null) {
              process.stderr.write(`hmmlab: ${difference}; the report shows the new ones\n`);
              code = 1;
            }
            return { design, result };
          });
        } else {
          const designs = designsOption(opts.designs);
          const seedOpt = opts.seed === undefined ? undefined : parseSeed('--seed', opts.seed);
          const sc = readScenario(file, opts.set, inputLimits(opts), opts.profile);
          name = sc.name;
          text = sc.text;
          const s = seedOpt ?? sc.seed;
          const startedAt = new Date().toISOString();
          results = withStore(opts, (store) => {
            const results = designs.map((design) => ({
              design,
              result: simulate({ ...sc.config, design }, { seed: s, log: true }),
            }));
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
            return results;
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
    .option('--set <key=value>', SET_HELP, collect, [])
    .option('--profile <name|file>', PROFILE_HELP)
    .option('--max-file-size <size>', MAX_FILE_SIZE_HELP)
    .option('--max-work <n>', MAX_WORK_HELP)
    .action(
      (
        file: string,
        opts: {
          output: string;
          design?: string;
          seed?: string;
          set: string[];
          profile?: string;
          maxFileSize?: string;
          maxWork?: string;
        },
      ) => {
        checkOutputFile('-o', opts.output);
        const designOpt = opts.design === undefined ? undefined : parseDesign('--design', opts.design);
        const seedOpt = opts.seed === undefined ? undefined : parseSeed('--seed', opts.seed);
        const { config, seed } = readScenario(file, opts.set, inputLimits(opts), opts.profile);
        const design = designOpt ?? config.design;
        const r = simulate({ ...config, design }, { seed: seedOpt ?? seed, log: true });
        const trace = chromeTrace(r);
        try {
          writeFileSync(opts.output, `${JSON.stringify(trace)}\n`);
        } catch (e) {
          throw new UsageError(
            `cannot write ${opts.output}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
          );
        }
        process.stdout.write(`wrote ${trace.traceEvents.length} trace events to ${opts.output}\n`);
      },
    );
  program
    .command('sweep <sweep>')
    .description(
      'run a grid or list of scenario variants on worker threads and store each run as it finishes; points already stored are skipped (resume)',
    )
    .option('--jobs <n>', 'worker threads (default: the CPUs)')
    .option('--shard <i/n>', 'run only shard i of n (the points whose index is i-1 modulo n), e.g. 2/4')
    .option('--db <path>', `results store (default ${DEFAULT_DB_PATH})`)
    .option('--no-resume', 'run and store every point again, even those the store already has')
    .option('--profile <name|file>', PROFILE_HELP)
    .option('--json', 'print the results as JSON')
    .option('--max-file-size <size>', MAX_FILE_SIZE_HELP)
    .option('--max-work <n>', `${MAX_WORK_HELP}, per point`)
    .action(
      async (
        file: string,
        opts: {
          jobs?: string;
          shard?: string;
          db?: string;
          resume?: boolean;
          profile?: string;
          json?: boolean;
          maxFileSize?: string;
          maxWork?: string;
        },
      ) => {
        const jobs = opts.jobs === undefined ? undefined : parseJobs(opts.jobs);
        const shard = opts.shard === undefined ? undefined : parseShardOption(opts.shard);
        const r = await loadSweepFile(file, { ...inputLimits(opts), profile: opts.profile });
        if (!r.ok) throw new UsageError(r.errors.map(formatProfileError).join('\n'));
        const points = shard ? shardPoints(r.points, shard) : r.points;
        const scenarioText = withRecordedProfile(r.scenarioText, r.profile);
        const name = scenarioName(scenarioText, r.scenarioFile);
        const startedAt = new Date().toISOString();
        const dbPath = opts.db ?? DEFAULT_DB_PATH;
        // Opened (and checked) before any run: each run is stored as it finishes.
        const store = ResultsStore.open(dbPath);
        let outcomes: Awaited<ReturnType<typeof storeSweep>>;
        let bar: ReturnType<typeof progressReporter> | undefined;
        try {
          outcomes = await storeSweep(points, {
            store,
            scenarioName: name,
            scenarioText,
            hmmlabVersion: VERSION,
            startedAt,
            resume: opts.resume !== false,
            jobs,
            onPlan: (toRun) => {
              bar = progressReporter(toRun);
            },
            onProgress: (d) => bar?.update(d),
            onFailure: (pt, error) => {
              process.stderr.write(
                `hmmlab: sweep point ${pt.index} (design ${pt.design}, seed ${pt.seed}, params ${JSON.stringify(pt.params)}) failed: ${error}\n`,
              );
            },
          });
        } finally {
          bar?.stop();
          store.close();
        }
        const count = (status: string) => outcomes.filter((o) => o.status === status).length;
        const stored = count('stored');
        const skipped = count('skipped');
        const failed = count('failed');
        if (opts.json) {
          const out = outcomes.map((o) => ({
            ...r.points[o.index]!,
            config: undefined,
            status: o.status,
            // Run ids are left out: with several workers they follow the order runs finish in.
            ...(o.status === 'failed' ? { error: o.error } : { result: o.row }),
          }));
          process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        } else {
          const table = new Table({
            head: ['#', 'design', 'seed', 'params', 'end ms', 'P2P pages', 'to RAM', 'status'],
            style: { head: [], border: [] },
          });
          for (const o of outcomes) {
            const pt = r.points[o.index]!;
            const cells = [pt.index, pt.design, pt.seed, JSON.stringify(pt.params)];
            if (o.status === 'failed') table.push([...cells, '-', '-', '-', 'failed']);
            else {
              table.push([
                ...cells,
                (o.row.endNs / 1e6).toFixed(2),
                o.row.p2pPages,
                o.row.pagesToRam,
                o.status === 'skipped' ? 'stored before' : 'stored',
              ]);
            }
          }
          process.stdout.write(`${table.toString()}\n`);
        }
        const of = shard ? ` (shard ${shard.index}/${shard.count} of a ${r.points.length}-point sweep)` : '';
        // The summary goes to stderr with --json, so that stdout stays one JSON document.
        (opts.json ? process.stderr : process.stdout).write(
          `${points.length} points${of}: ${stored} stored, ${skipped} skipped as already stored, ${failed} failed, in ${dbPath}\n`,
        );
        if (failed > 0) code = 1;
      },
    );
  program
    .command('merge <out> <inputs...>')
    .description('merge results stores (say, the shards of a sweep run on several machines) into <out>')
    .option('--json', 'print what was merged as JSON')
    .option('--salvage', 'copy the runs that can still be read from a damaged input instead of refusing it')
    .action((out: string, inputs: string[], opts: { json?: boolean; salvage?: boolean }) => {
      const r = mergeStores(out, inputs, { salvage: opts.salvage ?? false });
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
          `${r.explorationsCopied} explorations copied, ${r.explorationsSkipped} duplicates skipped` +
          (r.runsUnreadable + r.explorationsUnreadable > 0
            ? `; ${r.runsUnreadable} runs and ${r.explorationsUnreadable} explorations could not be read (damaged) and are lost`
            : '') +
          '\n',
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
      withReadStore(opts.db, (store) => {
        const runs = store.listRuns({ scenario: opts.scenario, design: opts.design });
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
      const port = opts.port === undefined ? undefined : String(parsePort(opts.port));
      code = await serveCommand({ ...opts, ...(port !== undefined ? { port } : {}) }, VERSION);
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
    .option('--max-file-size <size>', MAX_FILE_SIZE_HELP)
    .action(async (file: string, opts: Parameters<typeof exploreCommand>[1]) => {
      // A store that will be refused is refused before the exploration, not after it.
      if (opts.store !== false && opts.replay === undefined) {
        checkStoreFile(opts.db ?? DEFAULT_DB_PATH, SCHEMA_VERSION, { quickCheck: true });
      }
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
      e instanceof OptionError ||
      e instanceof ConfigError ||
      e instanceof StoreError ||
      e instanceof ExploreInputError
    ) {
      process.stderr.write(`hmmlab: ${printableMessage(e.message)}\n`);
      return 2;
    }
    if (e instanceof SimulatedProcessDied) {
      // The scenario ran and its process died (out of memory, a bad access): an outcome, exit 1.
      process.stderr.write(`hmmlab: ${printableMessage(e.message)}\n`);
      return 1;
    }
    throw e;
  }
  return code;
}
