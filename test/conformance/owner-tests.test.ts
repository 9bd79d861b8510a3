/**
 * The two-owner cases (src/conformance/owner-tests.ts) in both fixture variants: a migration
 * or an hmm_range_fault through one dmirror device must treat the other device's memory as
 * another owner's.
 */
import { describe, expect, it } from 'vitest';
import { runSelftest, VARIANTS } from '../../src/conformance/harness.js';
import { OWNER_TESTS } from '../../src/conformance/owner-tests.js';

describe('two pagemap owners (hmm2 fixture)', () => {
  for (const c of OWNER_TESTS) {
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
