/** `hmmlab run <scenario>`: simulate a scenario file under one design, store and print the run. */
import type { Command } from 'commander';
import { compareRow } from '../../sim/compare.js';
import { simulate } from '../../sim/simulate.js';
import {
  designOf,
  designOption,
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
import type { CliContext } from '../context.js';
import { printCompare } from '../print.js';
import { progressLine } from '../progress.js';
import { readScenario } from '../scenario-input.js';
import { reportStored, saveSimulatedRun, withStore } from '../stored-runs.js';

interface RunOptions extends ScenarioOptions, StoreOptions, TableOptions, QuietOptions {
  design?: string;
  json?: boolean;
}

/** Adds `hmmlab run` to `program`. */
export function registerRun(program: Command, ctx: CliContext): void {
  const cmd = program.command('run <scenario>').description('simulate a scenario file and print its metrics');
  designOption(cmd);
  scenarioOptions(cmd);
  jsonOption(cmd, 'print the result as JSON (every field: docs/results.md)');
  tableOptions(cmd);
  storeOptions(cmd, 'do not store the run');
  quietOption(cmd);
  cmd.action((file: string, opts: RunOptions) => {
    const designOpt = designOf(opts);
    const seedOpt = seedOf(opts);
    const { config, seed, text, name } = readScenario(file, opts.set, inputLimits(opts), opts.profile);
    const design = designOpt ?? config.design;
    const s = seedOpt ?? seed;
    const startedAt = new Date().toISOString();
    const { r, id } = withStore(opts, (store) => {
      const progress = progressLine(opts);
      let r: ReturnType<typeof simulate>;
      try {
        r = simulate({ ...config, design }, { seed: s, onProgress: progress.sim(`run ${design}`) });
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
      return { r, id: saveSimulatedRun(store, record, r.design.name, r) };
    });
    reportStored([id], opts.db);
    if (opts.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    else printCompare([compareRow(r)], opts);
  });
}
