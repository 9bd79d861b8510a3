/**
 * `hmmlab compare [scenario]`: simulate a scenario under several P2P designs and print them side
 * by side, or print stored runs (--runs) side by side.
 */
import type { Command } from 'commander';
import { compare } from '../../sim/compare.js';
import {
  designsOf,
  designsOption,
  inputLimits,
  jsonOption,
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
import { printCompare } from '../print.js';
import { readScenario } from '../scenario-input.js';
import { saveSimulatedRun, storedRow, storedRuns, withStore } from '../stored-runs.js';

interface CompareOptions extends ScenarioOptions, StoreOptions, TableOptions {
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
      const stored = storedRuns(ids, opts.db).map((run) => storedRow(run, opts.db, !opts.json));
      if (opts.json) process.stdout.write(`${JSON.stringify(stored, null, 2)}\n`);
      else printCompare(stored, opts);
      return;
    }
    if (file === undefined) throw new UsageError('compare needs a scenario file or --runs');
    const designs = designsOf(opts);
    const seedOpt = seedOf(opts);
    const { config, seed, text, name } = readScenario(file, opts.set, inputLimits(opts), opts.profile);
    const s = seedOpt ?? seed;
    const startedAt = new Date().toISOString();
    const rows = withStore(opts, (store) => {
      const rows = compare(config, designs, s);
      const record = {
        scenarioName: name,
        scenarioText: text,
        seed: s,
        hmmlabVersion: ctx.version,
        startedAt,
      };
      for (const row of rows) saveSimulatedRun(store, record, row.design, row);
      return rows;
    });
    if (opts.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    else printCompare(rows, opts);
  });
}
