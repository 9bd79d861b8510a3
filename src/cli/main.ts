/**
 * The hmmlab command line: a thin adapter over the library, one file per command in commands/.
 * Exit codes: 0 ok, 1 a check failed, 2 bad input (with a message, never a stack trace).
 */

import { Command, CommanderError } from 'commander';
import { ExploreInputError } from '../explore/race-model.js';
import { ResimulateError } from '../serve/resimulate.js';
import { SimulatedProcessDied } from '../sim/agent.js';
import { ConfigError } from '../sim/simulate.js';
import { StoreError } from '../store/store.js';
import { registerCompare } from './commands/compare.js';
import { registerExplore } from './commands/explore.js';
import { registerMerge } from './commands/merge.js';
import { registerReport } from './commands/report.js';
import { registerRun } from './commands/run.js';
import { registerRuns } from './commands/runs.js';
import { registerSchema } from './commands/schema.js';
import { registerSelftest } from './commands/selftest.js';
import { registerSensitivity } from './commands/sensitivity.js';
import { registerServe } from './commands/serve.js';
import { registerSweep } from './commands/sweep.js';
import { registerTrace } from './commands/trace.js';
import { type CliContext, UsageError, VERSION } from './context.js';
import { OptionError } from './options.js';
import { printableMessage } from './print.js';

export { VERSION };

/** Runs the CLI with argv (as process.argv) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command();
  const ctx: CliContext = { version: VERSION, exitCode: 0 };
  program
    .name('hmmlab')
    .description('An executable model of Linux HMM for device-memory and P2P DMA experiments')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(printableMessage(s)) });
  // In the order `hmmlab --help` lists them.
  registerSelftest(program, ctx);
  registerRun(program, ctx);
  registerCompare(program, ctx);
  registerReport(program, ctx);
  registerTrace(program, ctx);
  registerSweep(program, ctx);
  registerSensitivity(program, ctx);
  registerMerge(program, ctx);
  registerRuns(program, ctx);
  registerServe(program, ctx);
  registerExplore(program, ctx);
  registerSchema(program, ctx);
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
      e instanceof ExploreInputError ||
      e instanceof ResimulateError
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
  return ctx.exitCode;
}
