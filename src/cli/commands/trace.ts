/** `hmmlab trace <scenario> -o <file>`: a run as Chrome trace-event JSON (Perfetto, chrome://tracing). */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { chromeTrace } from '../../report/trace.js';
import { simulate } from '../../sim/simulate.js';
import {
  designOf,
  designOption,
  inputLimits,
  type ScenarioOptions,
  scenarioOptions,
  seedOf,
} from '../common-options.js';
import { type CliContext, UsageError } from '../context.js';
import { checkOutputFile } from '../output-paths.js';
import { readScenario } from '../scenario-input.js';

interface TraceOptions extends ScenarioOptions {
  output: string;
  design?: string;
}

/** Adds `hmmlab trace` to `program`. */
export function registerTrace(program: Command, _ctx: CliContext): void {
  const cmd = program
    .command('trace <scenario>')
    .description('write a Chrome trace-event JSON of a run (open it in ui.perfetto.dev or chrome://tracing)')
    .requiredOption('-o, --output <file>', 'where to write the trace');
  designOption(cmd);
  scenarioOptions(cmd);
  cmd.action((file: string, opts: TraceOptions) => {
    checkOutputFile('-o', opts.output);
    const designOpt = designOf(opts);
    const seedOpt = seedOf(opts);
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
  });
}
