/**
 * `hmmlab selftest`: the kernel's HMM selftests (hmm-tests.c) run against the model. Prints,
 * as kselftest does, a summary when all pass (counts per variant and fixture, the time) and
 * each failure in full; `--verbose` every instance; `--tap` TAP 13 as the kselftest harness
 * writes it; `--json` the results.
 */
import type { Command } from 'commander';
import { runSelftest, type SelftestResult, VARIANTS, type Variant } from '../../conformance/harness.js';
import { HMM_TESTS } from '../../conformance/hmm-tests.js';
import { jsonOption, quietOption } from '../common-options.js';
import { type CliContext, UsageError } from '../context.js';
import { printableMessage } from '../print.js';
import { progressLine } from '../progress.js';
import { renderTable } from '../table.js';

interface SelftestOptions {
  json?: boolean;
  filter?: string;
  variant?: string;
  verbose?: boolean;
  tap?: boolean;
  quiet?: boolean;
}

const SOURCE = 'kernel HMM selftests (tools/testing/selftests/mm/hmm-tests.c) against the model';

const counts = (rs: readonly SelftestResult[]) => ({
  passed: rs.filter((r) => r.status === 'pass').length,
  failed: rs.filter((r) => r.status === 'fail').length,
  skipped: rs.filter((r) => r.status === 'skip').length,
});

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The fixture of a result's test ('hmm' of 'hmm.open_close'). */
const fixtureOf = (r: SelftestResult) => r.test.slice(0, r.test.indexOf('.'));

/**
 * The results as text: with `verbose` a line per instance, else a line per variant and
 * fixture; then each failure with its message, and a last line with the totals and the time.
 */
export function selftestText(results: readonly SelftestResult[], seconds: number, verbose = false): string {
  const out: string[] = [SOURCE];
  if (verbose) {
    out.push(
      renderTable(
        [{ head: 'test' }, { head: 'variant' }, { head: 'result' }, { head: 'detail' }],
        results.map((r) => [r.test, r.variant, r.status.toUpperCase(), printableMessage(r.detail ?? '')]),
      ),
    );
  } else {
    const groups = new Map<string, SelftestResult[]>();
    for (const r of results) {
      const k = `${r.variant}\n${fixtureOf(r)}`;
      groups.set(k, [...(groups.get(k) ?? []), r]);
    }
    const num = (head: string) => ({ head, align: 'right' as const });
    out.push(
      renderTable(
        [{ head: 'variant' }, { head: 'fixture' }, num('tests'), num('pass'), num('fail'), num('skip')],
        // By variant, then fixture, in the order they ran.
        [...groups]
          .sort(
            ([a], [b]) =>
              VARIANTS.indexOf(a.split('\n')[0] as Variant) - VARIANTS.indexOf(b.split('\n')[0] as Variant),
          )
          .map(([k, rs]) => {
            const c = counts(rs);
            const [variant, fixture] = k.split('\n');
            return [variant!, fixture!, rs.length, c.passed, c.failed, c.skipped].map(String);
          }),
      ),
    );
    const skips = results.filter((r) => r.status === 'skip');
    if (skips.length > 0) {
      // One line per reason: a variant whose devices are missing skips all its tests alike.
      const reasons = new Map<string, number>();
      for (const r of skips) {
        const why = `${r.variant}: ${printableMessage(r.detail ?? 'no reason given')}`;
        reasons.set(why, (reasons.get(why) ?? 0) + 1);
      }
      for (const [why, n] of reasons) out.push(`SKIP ${plural(n, 'instance')}, ${why}`);
    }
  }
  const failures = results.filter((r) => r.status === 'fail');
  if (!verbose) {
    for (const r of failures) out.push(`FAIL ${r.test} (${r.variant}): ${printableMessage(r.detail ?? '')}`);
  }
  const c = counts(results);
  const hint = verbose ? '' : '; --verbose lists every instance, --tap prints TAP';
  out.push(
    `${plural(results.length, 'instance')} in ${seconds.toFixed(1)} s: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped${hint}`,
  );
  return `${out.join('\n')}\n`;
}

/**
 * The results as TAP version 13, as the kselftest harness writes them: a test named
 * fixture.fixture_variant.test (FIXTURE_VARIANT_ADD(hmm, hmm_device_private)), a failure's
 * message as a comment line under it, a skip as `# SKIP reason`, and a Totals line.
 */
export function selftestTap(results: readonly SelftestResult[]): string {
  const out = ['TAP version 13', `1..${results.length}`];
  results.forEach((r, i) => {
    const fixture = fixtureOf(r);
    const name = `${fixture}.${fixture}_${r.variant}.${r.test.slice(fixture.length + 1)}`;
    // One line each: a newline in a message would end the TAP line.
    const detail = printableMessage(r.detail ?? '').replaceAll('\n', ' ');
    if (r.status === 'pass') out.push(`ok ${i + 1} ${name}`);
    else if (r.status === 'skip') out.push(`ok ${i + 1} ${name} # SKIP ${detail}`);
    else {
      out.push(`# ${name}: ${detail}`);
      out.push(`not ok ${i + 1} ${name}`);
    }
  });
  const c = counts(results);
  out.push(`# Totals: pass:${c.passed} fail:${c.failed} xfail:0 xpass:0 skip:${c.skipped} error:0`);
  return `${out.join('\n')}\n`;
}

function selftest(opts: SelftestOptions): number {
  if (opts.tap && opts.json) throw new UsageError('--tap and --json are two formats: give one');
  let variants: readonly Variant[] = VARIANTS;
  if (opts.variant !== undefined) {
    const v =
      opts.variant === 'private' ? 'device_private' : opts.variant === 'coherent' ? 'device_coherent' : null;
    if (!v) throw new UsageError(`--variant must be 'private' or 'coherent', not '${opts.variant}'`);
    variants = [v];
  }
  const cases = HMM_TESTS.filter((c) => !opts.filter || `${c.fixture}.${c.name}`.includes(opts.filter));
  if (cases.length === 0) throw new UsageError(`no selftest matches '${opts.filter}'`);
  const t0 = performance.now();
  const results: SelftestResult[] = [];
  const total = cases.length * variants.length;
  // The whole run takes some 15 s: on a terminal, the instances done so far.
  const progress = progressLine(opts);
  try {
    for (const c of cases) {
      for (const v of variants) {
        progress.update(
          `selftest: ${results.length} of ${total} instances, now ${c.fixture}.${c.name} (${v})`,
        );
        results.push(runSelftest(c, v));
      }
    }
  } finally {
    progress.done();
  }
  const seconds = (performance.now() - t0) / 1000;
  const { passed, failed, skipped } = counts(results);
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({ results, passed, failed, skipped, total: results.length }, null, 2)}\n`,
    );
  } else if (opts.tap) process.stdout.write(selftestTap(results));
  else process.stdout.write(selftestText(results, seconds, opts.verbose));
  return failed > 0 ? 1 : 0;
}

/** Adds `hmmlab selftest` to `program` (exit 1 when a selftest fails). */
export function registerSelftest(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('selftest')
    .description("run the kernel's HMM selftests (hmm-tests.c) against the model");
  jsonOption(cmd, 'print the results as JSON');
  cmd
    .option('--tap', 'print the results as TAP version 13, as the kselftest harness does')
    .option('--verbose', 'list every test instance, not only the failures')
    .option('--filter <text>', 'only tests whose name contains <text>')
    .option('--variant <private|coherent>', 'only one fixture variant');
  quietOption(cmd).action((opts: SelftestOptions) => {
    ctx.exitCode = selftest(opts);
  });
}
