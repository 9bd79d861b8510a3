/**
 * `hmmlab merge <out> <inputs...>`: merge results stores (the shards of a sweep run on several
 * machines) into one; with --salvage, copy what can still be read from damaged inputs.
 */
import Table from 'cli-table3';
import type { Command } from 'commander';
import { mergeStores } from '../../store/merge.js';
import { jsonOption } from '../common-options.js';
import type { CliContext } from '../context.js';
import { NO_ROW_RULES } from '../table.js';

/** Adds `hmmlab merge` to `program`. */
export function registerMerge(program: Command, _ctx: CliContext): void {
  const cmd = program
    .command('merge <out> <inputs...>')
    .description('merge results stores (say, the shards of a sweep run on several machines) into <out>');
  jsonOption(cmd, 'print what was merged as JSON');
  cmd.option('--salvage', 'copy the runs that can still be read from a damaged input instead of refusing it');
  cmd.action((out: string, inputs: string[], opts: { json?: boolean; salvage?: boolean }) => {
    const r = mergeStores(out, inputs, { salvage: opts.salvage ?? false });
    // What was damaged in a salvaged input, and what of it could not be read: never silent.
    for (const i of r.inputs) {
      for (const d of i.damage) process.stderr.write(`hmmlab: ${i.path}: ${d}\n`);
    }
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      return;
    }
    const salvage = opts.salvage === true;
    const table = new Table({
      head: salvage
        ? [
            'input',
            'schema',
            'runs',
            'copied',
            'duplicates',
            'unreadable',
            'explorations',
            'copied',
            'duplicates',
            'unreadable',
          ]
        : ['input', 'schema', 'runs', 'copied', 'duplicates', 'explorations', 'copied', 'duplicates'],
      style: { head: [], border: [] },
      chars: NO_ROW_RULES,
    });
    for (const i of r.inputs) {
      const unreadable = (n: number, uncounted: boolean) => (uncounted ? `${n}+` : n);
      table.push(
        salvage
          ? [
              i.path,
              i.schemaVersion,
              i.runsFound,
              i.runsCopied,
              i.runsSkipped,
              unreadable(i.runsUnreadable, i.runsUncounted),
              i.explorationsFound,
              i.explorationsCopied,
              i.explorationsSkipped,
              unreadable(i.explorationsUnreadable, i.explorationsUncounted),
            ]
          : [
              i.path,
              i.schemaVersion,
              i.runs,
              i.runsCopied,
              i.runsSkipped,
              i.explorations,
              i.explorationsCopied,
              i.explorationsSkipped,
            ],
      );
    }
    const stores = `merged ${r.inputs.length} store${r.inputs.length === 1 ? '' : 's'} into ${out}`;
    if (salvage) {
      // Found, copied, skipped, could not be read: the whole of what salvage did, in one line.
      const uncountedRuns = r.inputs.some((i) => i.runsUncounted);
      const uncountedExplorations = r.inputs.some((i) => i.explorationsUncounted);
      const more = ' (and an unknown number more: see above)';
      process.stdout.write(
        `${table.toString()}\n${stores}: ` +
          `${r.runsFound} runs found, ${r.runsCopied} copied, ${r.runsSkipped} duplicates skipped, ` +
          `${r.runsUnreadable} could not be read (damaged, lost)${uncountedRuns ? more : ''}; ` +
          `${r.explorationsFound} explorations found, ${r.explorationsCopied} copied, ` +
          `${r.explorationsSkipped} duplicates skipped, ${r.explorationsUnreadable} could not be read` +
          `${uncountedExplorations ? more : ''}\n`,
      );
      return;
    }
    process.stdout.write(
      `${table.toString()}\n${stores}: ` +
        `${r.runsCopied} runs copied, ${r.runsSkipped} duplicates skipped; ` +
        `${r.explorationsCopied} explorations copied, ${r.explorationsSkipped} duplicates skipped\n`,
    );
  });
}
