/**
 * Runs every re-expressed kernel HMM selftest (src/conformance/hmm-tests.ts) in both fixture
 * variants. A case the C harness would SKIP is reported as skipped with its reason.
 */
import { describe, expect, it } from 'vitest';
import { runSelftest, VARIANTS } from '../../src/conformance/harness.js';
import { HMM_TESTS } from '../../src/conformance/hmm-tests.js';

describe('hmm-tests.c', () => {
  it('has all 38 tests of hmm-tests.c, with unique names', () => {
    expect(HMM_TESTS.length).toBe(38);
    const names = HMM_TESTS.map((c) => `${c.fixture}.${c.name}`);
    expect(new Set(names).size).toBe(names.length);
    expect(new Set(HMM_TESTS.map((c) => c.name)).size).toBe(HMM_TESTS.length);
  });

  for (const c of HMM_TESTS) {
    for (const variant of VARIANTS) {
      it(`${c.fixture}.${c.name} (${variant})`, (ctx) => {
        const r = runSelftest(c, variant);
        if (r.status === 'skip') ctx.skip(r.detail ?? 'skipped without a reason');
        if (r.status === 'fail') throw new Error(r.detail ?? 'failed without a message');
        expect(r.status).toBe('pass');
      });
    }
  }
});
