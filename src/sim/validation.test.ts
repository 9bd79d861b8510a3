import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { simulate } from './simulate.js';
import { batchingRun, INPUT_CHECKS, modelledInput, renderInputChecks } from './validation.js';

describe('docs/validation.md', () => {
  const doc = readFileSync(new URL('../../docs/validation.md', import.meta.url), 'utf8');

  it('holds the current input checks (regenerate with node scripts/gen-validation.mjs)', () => {
    expect(doc).toContain(renderInputChecks());
    expect(doc).toContain('node scripts/gen-validation.mjs');
  });

  it.each(INPUT_CHECKS.map((c) => [c.profile, c.bytes, c.dir, c.published, c]))(
    '%s %i-byte %s copy within 5%% of the published %f',
    (_p, _b, _d, published, c) => {
      expect(Math.abs(modelledInput(c) - published) / published).toBeLessThan(0.05);
    },
  );
});

describe('the batching shape (a 128 MiB version of the documented experiment)', () => {
  const MiB = 2 ** 20;
  const size = 128 * MiB;
  const batches = [32, 128, 512];
  const plain = batches.map((b) => batchingRun(size, b, false));

  it('throughput rises with the batch size: the fixed batch cost is amortised', () => {
    for (let i = 1; i < plain.length; i++) expect(plain[i]!.gbps).toBeGreaterThan(plain[i - 1]!.gbps);
    expect(plain[2]!.batches).toBeLessThan(plain[0]!.batches);
  });

  it('the prefetcher halves the faults of a strided stream', () => {
    const strided = (prefetch: boolean) =>
      simulate(
        {
          version: 1,
          profile: 'pcie4-a100',
          platform: { ram: 1024 * MiB },
          devices: {
            gpus: [
              { name: 'gpu0', vram: 512 * MiB, faultBatchSize: 64, chunkSizes: [65536, 4096], prefetch },
            ],
          },
          buffers: [{ name: 'buf', size: 128 * MiB }],
          workloads: [
            { kind: 'cpu', name: 'init', buffer: 'buf', op: 'write', pattern: 'sequential' },
            {
              kind: 'gpu',
              name: 'stream',
              gpu: 'gpu0',
              buffer: 'buf',
              op: 'read',
              pattern: 'strided',
              stride: 262144,
              after: 'init',
            },
          ],
        },
        { seed: 1 },
      ).devices.gpu0!;
    const off = strided(false);
    const on = strided(true);
    expect(on.prefetchedPages).toBeGreaterThan(0);
    expect(on.faults).toBeLessThanOrEqual(off.faults * 0.6);
  });

  it('device-private THP (2 MiB folios) is much faster than 64 KiB chunks of 4 KiB pages', () => {
    const thp = batchingRun(size, 128, false, true);
    expect(thp.gbps).toBeGreaterThan(5 * plain[1]!.gbps);
  });
});
