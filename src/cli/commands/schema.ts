/** `hmmlab schema`: the JSON Schema of scenario files, for editors. */
import type { Command } from 'commander';
import { scenarioJsonSchema } from '../../scenario/index.js';
import type { CliContext } from '../context.js';

/** Adds `hmmlab schema` to `program`. */
export function registerSchema(program: Command, _ctx: CliContext): void {
  program
    .command('schema')
    .description('print the JSON Schema of scenario files (for editors)')
    .action(() => {
      process.stdout.write(`${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
    });
}
