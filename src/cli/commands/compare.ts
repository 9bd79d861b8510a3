/**
 * `hmmlab compare [scenario]`: simulate a scenario under several P2P designs and print them side
 * by side, or print stored runs (--runs) side by side.
 */
import type { Command } from 'commander';
import { storedRunSets } from '../../serve/resimulate.js';
import { compareRow } from '../../sim/compare.js';
import { simulate } from '../../sim/simulate.js';
import {
  designsOf,
  designsOption,
  inputLimits,
  jsonOption,
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
import { parseRunIds } from '../options.js';
import { identityCells, identityColumns, printCompare, type RunIdentity } from '../print.js';
import { progressLine } from '../progress.js';
import { readScenario } from '../scenario-input.js';
import { reportStored, saveSimulatedRun, storedRow, storedRuns, withStore } from '../stored-runs.js';
import { renderTable, terminalWidth } from '../table.js';

interface CompareOptions extends ScenarioOptions, StoreOptions, TableOptions, QuietOptions {
  designs?: string;
  json?: boolean;
  runs?: string;
}

/** Adds `hmmlab compare` to `program`. */
export function registerCompare(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('compare [scenario]')
    .description(
      'simulate a scenario under several P2P designs (or load stored runs) and print them side by side',
    )
    .option('--runs <ids>', 'compare stored runs by id (comma-separated) instead of simulating');
  designsOption(cmd);
  scenarioOptions(cmd);
  jsonOption(cmd, 'print the rows as JSON (stable keys, see docs/results.md)');
  tableOptions(cmd);
  storeOptions(cmd, 'do not store the runs');
  quietOption(cmd);
  cmd.action((file: string | undefined, opts: CompareOptions) => {
    if (opts.runs !== undefined) {
      const ids = parseRunIds('--runs', opts.runs);
      // As report <run ids>: what would change a simulation has nothing to apply to.
      if (file !== undefined)
        throw new UsageError(`--runs compares stored runs: a scenario file (${file}) is not taken with it`);
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
      const stored = runs.map((run) => storedRow(run, opts.db, !opts.json));
      // Two runs of one design differ by seed, overrides or scenario: each says which it is.
      const who: RunIdentity[] = runs.map((run) => ({
        id: run.id,
        scenario: run.scenarioName,
        design: run.design,
        seed: run.seed,
        overrides: storedRunSets(run),
      }));
      if (opts.json) {
        const out = stored.map((row, i) => {
          const { id, scenario, seed, overrides } = who[i]!;
          return { id, scenario, seed, overrides, ...row };
        });
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      } else {
        const width = terminalWidth();
        process.stdout.write(`${renderTable(identityColumns(), who.map(identityCells), { width })}\n\n`);
        printCompare(stored, { ...opts, width, ids: who.map((w) => w.id) });
      }
      return;
    }
    if (file === undefined) throw new UsageError('compare needs a scenario file or --runs');
    const designs = designsOf(opts);
    const seedOpt = seedOf(opts);
    const { config, seed, text, name } = readScenario(file, opts.set, inputLimits(opts), opts.profile);
    const s = seedOpt ?? seed;
    const startedAt = new Date().toISOString();
    const rows = withStore(opts, (store) => {
      const progress = progressLine(opts);
      let rows: ReturnType<typeof compareRow>[];
      try {
        // As compare() (src/sim/compare.ts), with the progress of each design's run.
        rows = designs.map((design, i) =>
          compareRow(
            simulate(
              { ...config, design },
              { seed: s, onProgress: progress.sim(`compare: ${design} (${i + 1} of ${designs.length})`) },
            ),
          ),
        );
      } finally {
        progress.done();
      }
      const record = {
        scenarioName: name,
        scenarioText: text,
        seed: s,
        hmmlabVersion: ctx.version,
        startedAt,
      };
      reportStored(
        rows.map((row) => saveSimulatedRun(store, record, row.design, row)),
        opts.db,
      );
      return rows;
    });
    if (opts.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else printCompare(rows, opts);
  });
}
