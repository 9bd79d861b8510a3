/**
 * The property budget (params.ts): a property that runs out of time fails instead of passing
 * with the runs it made, and the two variables of `npm run test:deep` scale the runs and move
 * the seeds. Each test loads params.ts afresh under the environment it sets.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';

async function load(env: { scale?: string; seed?: string }) {
  vi.stubEnv('HMMLAB_PROPERTY_SCALE', env.scale ?? '');
  vi.stubEnv('HMMLAB_PROPERTY_SEED', env.seed ?? '');
  vi.resetModules();
  return import('./params.js');
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('property budget', () => {
  it('fails a property that reaches its time bound before its runs are done', async () => {
    const { propertyParams } = await load({});
    // Every run takes 5 ms of wall time, so 10,000 runs cannot fit in 20 ms: the bound is
    // always reached, whatever the machine.
    const slow = fc.property(fc.nat(), () => {
      const t0 = performance.now();
      while (performance.now() - t0 < 5) {
        // busy: a run that takes time
      }
    });
    expect(() => fc.assert(slow, propertyParams({ seed: 1, numRuns: 10_000, timeLimitMs: 20 }))).toThrow(
      /Property interrupted after \d+ tests/,
    );
  });

  it('passes a property that makes all its runs inside the bound, and counts them', async () => {
    const { propertyParams } = await load({});
    let runs = 0;
    fc.assert(
      fc.property(fc.nat(), () => {
        runs++;
      }),
      propertyParams({ seed: 1, numRuns: 50, timeLimitMs: 60_000 }),
    );
    expect(runs).toBe(50);
  });

  it('keeps fixed seeds and run counts by default, with no bound unless one is given', async () => {
    const { propertyParams, propertySeed, propertyTimeout, PROPERTY_SCALE } = await load({});
    expect(PROPERTY_SCALE).toBe(1);
    expect(propertySeed(7)).toBe(7);
    expect(propertyTimeout(60_000)).toBe(60_000);
    expect(propertyParams({ seed: 7, numRuns: 12 })).toEqual({ seed: 7, numRuns: 12 });
  });

  it('scales runs, bounds and timeouts with HMMLAB_PROPERTY_SCALE and moves seeds by HMMLAB_PROPERTY_SEED', async () => {
    const { propertyParams, propertySeed, propertyTimeout } = await load({ scale: '20', seed: '1000' });
    expect(propertySeed(7)).toBe(1007);
    expect(propertySeed(2 ** 31 - 1)).toBe(999); // wraps into 0 .. 2^31 - 1
    expect(propertyTimeout(60_000)).toBe(1_200_000);
    const p = propertyParams({ seed: propertySeed(7), numRuns: 12, timeLimitMs: 1000 });
    expect(p.seed).toBe(1007);
    expect(p.numRuns).toBe(240);
    expect(p.plugins).toHaveLength(1);
    const neg = await load({ seed: '-10' });
    expect(neg.propertySeed(3)).toBe(2 ** 31 - 7);
  });

  it('refuses a scale or seed that is not an integer', async () => {
    await expect(load({ scale: '0' })).rejects.toThrow(
      /HMMLAB_PROPERTY_SCALE must be an integer >= 1, not '0'/,
    );
    await expect(load({ scale: '2.5' })).rejects.toThrow(/HMMLAB_PROPERTY_SCALE/);
    await expect(load({ seed: 'abc' })).rejects.toThrow(/HMMLAB_PROPERTY_SEED must be an integer/);
  });
});
