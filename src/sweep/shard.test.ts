import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyParams, propertySeed, propertyTimeout } from '../../test/property/params.js';
import { MAX_SHARDS, parseShard, ShardSpecError, shardPoints } from './shard.js';

const points = (n: number) => Array.from({ length: n }, (_, index) => ({ index }));

describe('sweep shards', () => {
  it('parses i/n, 1-based', () => {
    expect(parseShard('1/1')).toEqual({ index: 1, count: 1 });
    expect(parseShard('3/4')).toEqual({ index: 3, count: 4 });
    expect(parseShard(' 2 / 8 ')).toEqual({ index: 2, count: 8 });
  });

  it('refuses what is not i/n with 1 <= i <= n, saying what it expected', () => {
    for (const bad of [
      '0/2',
      '3/2',
      '1/0',
      '0/0',
      '-1/2',
      '1.5/2',
      '1/2.0',
      'a/b',
      '1',
      '1/',
      '/2',
      '',
      '1/2/3',
    ]) {
      expect(() => parseShard(bad), bad).toThrow(ShardSpecError);
    }
    expect(() => parseShard('0/2')).toThrow(/1 <= i <= n .*found '0\/2'/);
    expect(() => parseShard('x')).toThrow(/expected i\/n/);
    expect(() => parseShard(`1/${MAX_SHARDS + 1}`)).toThrow(/from 1 to/);
  });

  const seed = propertySeed(4);
  it(
    `the shards of a sweep are disjoint and together hold every point once (seed ${seed})`,
    () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 40 }), (total, n) => {
          const all = points(total);
          const seen = new Map<number, number>();
          for (let i = 1; i <= n; i++) {
            const shard = shardPoints(all, { index: i, count: n });
            for (const p of shard) {
              expect(p.index % n).toBe(i - 1);
              seen.set(p.index, (seen.get(p.index) ?? 0) + 1);
            }
            // Round-robin: shard sizes differ by at most one.
            expect(Math.abs(shard.length - total / n)).toBeLessThan(1);
          }
          expect(seen.size).toBe(total);
          for (const c of seen.values()) expect(c).toBe(1);
        }),
        propertyParams({ seed, numRuns: 200 }),
      );
    },
    propertyTimeout(60_000),
  );

  it('keeps each point its index in the whole sweep, in order', () => {
    expect(shardPoints(points(7), { index: 2, count: 3 }).map((p) => p.index)).toEqual([1, 4]);
    expect(shardPoints(points(2), { index: 3, count: 3 })).toEqual([]);
  });
});
