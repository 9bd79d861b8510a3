/** `hmmlab run <scenario>`: simulate a scenario file under one design, store and print the run. */
import type { Command } from 'commander';
import { compareRow } from '../../sim/compare.js';
import { simulate } from '../../sim/simulate.js';
import {
  designOf,
  designOption,
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
import type { CliContext } from '../context.js';
import { printCompare } from '../print.js';
import { readScenario } from '../scenario-input.js';
import { saveSimulatedRun, withStore } from '../stored-runs.js';

interface RunOptions extends ScenarioOptions, StoreOptions, TableOptions {
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
  cmd.action((file: string, opts: RunOptions) => {
    const designOpt = designOf(opts);
    const seedOpt = seedOf(opts);
    const { config, seed, text, name } = readScenario(file, opts.set, inputLimits(opts), opts.profile);
    const design = designOpt ?? config.design;
    const s = seedOpt ?? seed;
    const startedAt = new Date().toISOString();
    const r = withStore(opts, (store) => {
      const r = simulate({ ...config, design }, { seed: s });
      const record = {
        scenarioName: name,
        scenarioText: text,
        seed: s,
        hmmlabVersion: ctx.version,
        startedAt,
      };
      saveSimulatedRun(store, record, r.design.name, r);
      return r;
    });
    if (opts.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    else printCompare([compareRow(r)], opts);
  });
}
