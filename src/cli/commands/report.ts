/**
 * `hmmlab report <scenario>`: simulate a scenario under several designs, store the runs and
 * write an HTML report; or, given run ids (3,4), simulate stored runs again and report them,
 * checking that they give the metrics they stored (exit 1 when not).
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { DesignName } from '../../designs/design.js';
import { writeReport } from '../../report/html.js';
import { resimulateRun, storedRunConfig } from '../../serve/resimulate.js';
import { compareRow } from '../../sim/compare.js';
import { type SimResult, simulate } from '../../sim/simulate.js';
import { readRecorded, withRecorded } from '../../store/recorded.js';
import {
  designsOf,
  designsOption,
  inputLimits,
  type QuietOptions,
  quietOption,
  type ScenarioOptions,
  type StoreOptions,
  scenarioOptions,
  seedOf,
  storeOptions,
  type TableOptions,
  tableOptions,
} from '../common-options.js';
import { type CliContext, UsageError } from '../context.js';
import { looksLikeRunIds, OptionError, parseRunIds } from '../options.js';
import { checkOutputDir } from '../output-paths.js';
import { printCompare } from '../print.js';
import { progressLine } from '../progress.js';
import { readScenario } from '../scenario-input.js';
import { reportStored, saveSimulatedRun, storedRuns, withStore } from '../stored-runs.js';

interface ReportOptions extends ScenarioOptions, StoreOptions, TableOptions, QuietOptions {
  designs?: string;
  output: string;
  png?: boolean;
}

/** What a report shows: the scenario's name and text, and one result per design. */
interface Reported {
  name: string;
  text: string;
  results: { design: DesignName; result: SimResult }[];
}

/**
 * Stored runs simulated again from their scenario text, design and seed (runs are
 * deterministic), since a report needs the event log that the store does not keep. A run whose
 * metrics differ from the stored ones is reported on stderr and sets exit code 1.
 */
function storedReport(file: string, opts: ReportOptions, ctx: CliContext): Reported {
  // What looks like ids but is not (0x1, 1-3, ' 1') is refused, not looked for as a file.
  let ids: number[];
  try {
    ids = parseRunIds('report <run ids>', file);
  } catch (e) {
    if (e instanceof OptionError) throw new OptionError(`${e.message}; nor is it a file`);
    throw e;
  }
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
  const runs = storedRuns(ids, opts.db);
  // Sweep points stored before their overrides were recorded in the text differ by
  // their params only: they are different scenarios too.
  const setsOf = runs.map((r) => storedRunConfig(r).sets.join('\n'));
  if (new Set(runs.map((r, i) => `${r.scenarioHash}\n${setsOf[i]}`)).size > 1) {
    throw new UsageError(
      `runs ${file} come from different scenario texts (${runs.map((r, i) => `${r.id}: ${r.scenarioName} ${r.scenarioHash.slice(0, 12)}${setsOf[i] ? ` ${setsOf[i]!.replaceAll('\n', ' ')}` : ''}`).join(', ')}); a report covers one`,
    );
  }
  const base = storedRunConfig(runs[0]!);
  // The report shows the text with the overrides the runs used (older sweep points kept
  // them in their metrics only).
  const stored = runs[0]!.scenarioText;
  const recorded = readRecorded(stored, `run ${runs[0]!.id}`);
  const text =
    !recorded.ok || recorded.recorded.sets.length > 0 || base.sets.length === 0
      ? stored
      : withRecorded(recorded.recorded.body, { profile: recorded.recorded.profile, sets: base.sets });
  const progress = progressLine(opts);
  const results = runs.map((run, i) => {
    progress.update(`report: simulating run ${run.id} again (${i + 1} of ${runs.length})`);
    // The runs share one scenario text and its overrides (checked above): one config serves all.
    const again = resimulateRun(run, ctx.version, base.config);
    if (again.difference !== null) {
      process.stderr.write(`hmmlab: ${again.difference}; the report shows the new ones\n`);
      ctx.exitCode = 1;
    }
    return { design: again.design, result: again.result };
  });
  progress.done();
  return { name: base.name, text, results };
}

/** Adds `hmmlab report` to `program`. */
export function registerReport(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('report <scenario>')
    .description(
      'simulate a scenario under several designs, store the runs and write an HTML report; or, given run ids (3,4), report stored runs',
    );
  designsOption(cmd);
  scenarioOptions(cmd);
  cmd
    .option('-o, --output <dir>', 'report folder', 'hmmlab-report')
    .option('--png', 'also write the plots as PNG files');
  tableOptions(cmd);
  storeOptions(cmd, 'do not store the runs');
  quietOption(cmd);
  cmd.action((file: string, opts: ReportOptions) => {
    checkOutputDir('-o', opts.output);
    let report: Reported;
    if (looksLikeRunIds(file) && !existsSync(file)) report = storedReport(file, opts, ctx);
    else {
      const designs = designsOf(opts);
      const seedOpt = seedOf(opts);
      const sc = readScenario(file, opts.set, inputLimits(opts), opts.profile);
      const s = seedOpt ?? sc.seed;
      const startedAt = new Date().toISOString();
      const results = withStore(opts, (store) => {
        const progress = progressLine(opts);
        let results: { design: DesignName; result: SimResult }[];
        try {
          results = designs.map((design, i) => ({
            design,
            result: simulate(
              { ...sc.config, design },
              {
                seed: s,
                log: true,
                onProgress: progress.sim(`report: ${design} (${i + 1} of ${designs.length})`),
              },
            ),
          }));
        } finally {
          progress.done();
        }
        const record = {
          scenarioName: sc.name,
          scenarioText: sc.text,
          seed: s,
          hmmlabVersion: ctx.version,
          startedAt,
        };
        reportStored(
          results.map((r) => saveSimulatedRun(store, record, r.design, compareRow(r.result))),
          opts.db,
        );
        return results;
      });
      report = { name: sc.name, text: sc.text, results };
    }
    const { name, text, results } = report;
    const rows = results.map((r) => compareRow(r.result));
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
    printCompare(rows, opts);
    process.stdout.write(`report: ${written[0]}\n`);
  });
}
