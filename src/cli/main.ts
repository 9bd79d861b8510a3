/**
 * The hmmlab command line: a thin adapter over the library. Exit codes: 0 ok, 1 a check
 * failed, 2 bad input (with a message, never a stack trace).
 */

import Table from 'cli-table3';
import { Command, CommanderError } from 'commander';
import { runSelftest, type SelftestResult, VARIANTS, type Variant } from '../conformance/harness.js';
import { HMM_TESTS } from '../conformance/hmm-tests.js';

export const VERSION = '0.1.0';

class UsageError extends Error {}

function selftest(opts: { json?: boolean; filter?: string; variant?: string }): number {
  let variants: readonly Variant[] = VARIANTS;
  if (opts.variant !== undefined) {
    const v =
      opts.variant === 'private' ? 'device_private' : opts.variant === 'coherent' ? 'device_coherent' : null;
    if (!v) throw new UsageError(`--variant must be 'private' or 'coherent', not '${opts.variant}'`);
    variants = [v];
  }
  const cases = HMM_TESTS.filter((c) => !opts.filter || `${c.fixture}.${c.name}`.includes(opts.filter));
  if (cases.length === 0) throw new UsageError(`no selftest matches '${opts.filter}'`);
  const results: SelftestResult[] = [];
  for (const c of cases) for (const v of variants) results.push(runSelftest(c, v));
  const passed = results.filter((r) => r.status === 'pass').length;
  const failed = results.filter((r) => r.status === 'fail').length;
  const skipped = results.filter((r) => r.status === 'skip').length;
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({ results, passed, failed, skipped, total: results.length }, null, 2)}\n`,
    );
  } else {
    const table = new Table({
      head: ['test', 'variant', 'result', 'detail'],
      style: { head: [], border: [] },
    });
    for (const r of results) table.push([r.test, r.variant, r.status.toUpperCase(), r.detail ?? '']);
    process.stdout.write(`${table.toString()}\n`);
    process.stdout.write(
      `kernel HMM selftests (tools/testing/selftests/mm/hmm-tests.c): ${results.length} instances, ` +
        `${passed} passed, ${failed} failed, ${skipped} skipped\n`,
    );
  }
  return failed > 0 ? 1 : 0;
}

/** Runs the CLI with argv (as process.argv) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command();
  let code = 0;
  program
    .name('hmmlab')
    .description('An executable model of Linux HMM for device-memory and P2P DMA experiments')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program
    .command('selftest')
    .description("run the kernel's HMM selftests (hmm-tests.c) against the model")
    .option('--json', 'print the results as JSON')
    .option('--filter <text>', 'only tests whose name contains <text>')
    .option('--variant <private|coherent>', 'only one fixture variant')
    .action((opts) => {
      code = selftest(opts);
    });
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here with exit code 0.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`hmmlab: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  return code;
}
