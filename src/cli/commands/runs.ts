/** `hmmlab runs`: list the stored runs. */
import Table from 'cli-table3';
import type { Command } from 'commander';
import { dbOption, jsonOption } from '../common-options.js';
import type { CliContext } from '../context.js';
import { printableMessage } from '../print.js';
import { withReadStore } from '../stored-runs.js';

interface RunsOptions {
  db?: string;
  scenario?: string;
  design?: string;
  json?: boolean;
}

/** Adds `hmmlab runs` to `program`. */
export function registerRuns(program: Command, _ctx: CliContext): void {
  const cmd = program.command('runs').description('list the stored runs');
  dbOption(cmd)
    .option('--scenario <name>', 'only runs of this scenario')
    .option('--design <name>', 'only runs of this design');
  jsonOption(cmd, 'print the runs as JSON');
  cmd.action((opts: RunsOptions) => {
    withReadStore(opts.db, (store) => {
      const runs = store.listRuns({ scenario: opts.scenario, design: opts.design });
      if (opts.json) process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
      else {
        const table = new Table({
          head: ['id', 'scenario', 'design', 'seed', 'started', 'hmmlab'],
          style: { head: [], border: [] },
        });
        // Stored strings may come from another machine's store: no terminal control sequences.
        const text = (x: string) => printableMessage(x);
        for (const r of runs)
          table.push([
            r.id,
            text(r.scenarioName),
            text(r.design),
            r.seed,
            text(r.startedAt),
            text(r.hmmlabVersion),
          ]);
        process.stdout.write(`${table.toString()}\n${runs.length} runs\n`);
      }
    });
  });
}
