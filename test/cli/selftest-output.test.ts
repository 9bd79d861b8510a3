/**
 * `hmmlab selftest` output (issue 18): a summary of at most 30 lines when all pass, failures
 * in full, every instance with --verbose, TAP 13 as kselftest writes it with --tap.
 */
import { describe, expect, it } from 'vitest';
import { selftestTap, selftestText } from '../../src/cli/commands/selftest.js';
import type { SelftestResult } from '../../src/conformance/harness.js';
import { HMM_TESTS } from '../../src/conformance/hmm-tests.js';
import { cli } from './run-cli.js';

/** Every instance the real run has (38 tests, 2 variants), passing. */
const all: SelftestResult[] = HMM_TESTS.flatMap((c) =>
  (['device_private', 'device_coherent'] as const).map((variant) => ({
    test: `${c.fixture}.${c.name}`,
    variant,
    status: 'pass' as const,
  })),
);

describe('selftest text', () => {
  it('all passing: at most 30 lines, counts per variant and fixture, the time', () => {
    const out = selftestText(all, 14.24);
    const lines = out.trimEnd().split('\n');
    expect(lines.length).toBeLessThanOrEqual(30);
    expect(out).toMatch(/^variant +fixture +tests +pass +fail +skip$/m);
    expect(out).toMatch(/^device_private +hmm +\d+ +\d+ +0 +0$/m);
    expect(out).toMatch(/^device_coherent +hmm2 +\d+ +\d+ +0 +0$/m);
    expect(lines.at(-1)).toMatch(
      new RegExp(
        `^${all.length} instances in 14\\.2 s: ${all.length} passed, 0 failed, 0 skipped; --verbose`,
      ),
    );
  });

  it('a failure is listed in full under the summary; skips by reason', () => {
    const rs = all.map((r, i) =>
      i === 3
        ? { ...r, status: 'fail' as const, detail: 'ASSERT_EQ(ret, 0): -14' }
        : r.variant === 'device_coherent'
          ? { ...r, status: 'skip' as const, detail: 'DEVICE_COHERENT devices are not present' }
          : r,
    );
    const out = selftestText(rs, 1);
    expect(out).toContain(`FAIL ${rs[3]!.test} (${rs[3]!.variant}): ASSERT_EQ(ret, 0): -14\n`);
    expect(out).toContain(
      `SKIP ${all.length / 2 - 1} instances, device_coherent: DEVICE_COHERENT devices are not present\n`,
    );
    expect(out.trimEnd().split('\n').length).toBeLessThanOrEqual(30);
  });

  it('--verbose: a line per instance', () => {
    const out = selftestText(all, 1, true);
    expect(out.trimEnd().split('\n').length).toBe(all.length + 3);
    expect(out).not.toMatch(/[│─]/);
  });

  it('--tap: TAP version 13 with kselftest names, SKIP directives, the failure as a comment, Totals', () => {
    const rs: SelftestResult[] = [
      { test: 'hmm.open_close', variant: 'device_private', status: 'pass' },
      { test: 'hmm2.migrate_mixed', variant: 'device_private', status: 'fail', detail: 'bad\nthing' },
      { test: 'hmm.open_close', variant: 'device_coherent', status: 'skip', detail: 'no devices' },
    ];
    expect(selftestTap(rs)).toBe(
      [
        'TAP version 13',
        '1..3',
        'ok 1 hmm.hmm_device_private.open_close',
        '# hmm2.hmm2_device_private.migrate_mixed: bad thing',
        'not ok 2 hmm2.hmm2_device_private.migrate_mixed',
        'ok 3 hmm.hmm_device_coherent.open_close # SKIP no devices',
        '# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:0',
        '',
      ].join('\n'),
    );
  });

  it('the command: summary by default, TAP with --tap, --tap with --json refused', async () => {
    const r = await cli('selftest', '--filter', 'open_close');
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^2 instances in \d+\.\d s: 2 passed, 0 failed, 0 skipped/m);
    const tap = await cli('selftest', '--filter', 'open_close', '--tap');
    expect(tap.out).toMatch(/^TAP version 13\n1\.\.2\nok 1 hmm\.hmm_device_private\.open_close\n/);
    expect((await cli('selftest', '--tap', '--json')).code).toBe(2);
  });
});
