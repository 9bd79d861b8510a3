/** `hmmlab selftest`: the kernel's HMM selftests (hmm-tests.c) run against the model. */
import Table from 'cli-table3';
import type { Command } from 'commander';
import { runSelftest, type SelftestResult, VARIANTS, type Variant } from '../../conformance/harness.js';
import { HMM_TESTS } from '../../conformance/hmm-tests.js';
import { jsonOption } from '../common-options.js';
import { type CliContext, UsageError } from '../context.js';

interface SelftestOptions {
  json?: boolean;
  filter?: string;
  variant?: string;
}

function selftest(opts: SelftestOptions): number {
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

/** Adds `hmmlab selftest` to `program` (exit 1 when a selftest fails). */
export function registerSelftest(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('selftest')
    .description("run the kernel's HMM selftests (hmm-tests.c) against the model");
  jsonOption(cmd, 'print the results as JSON');
  cmd
    .option('--filter <text>', 'only tests whose name contains <text>')
    .option('--variant <private|coherent>', 'only one fixture variant')
    .action((opts: SelftestOptions) => {
      ctx.exitCode = selftest(opts);
    });
}
