import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { describe, expect, it } from 'vitest';
import { Rng } from './rng.js';

const draw = (r: Rng, n: number) => Array.from({ length: n }, () => r.int(0, 1_000_000));

describe('Rng', () => {
  it('replays the same seed and is pure-rand xoroshiro128+ underneath', () => {
    expect(draw(new Rng(42), 100)).toEqual(draw(new Rng(42), 100));
    expect(draw(new Rng(42), 100)).not.toEqual(draw(new Rng(43), 100));
    const g = xoroshiro128plus(42);
    const ref = Array.from({ length: 100 }, () => uniformInt(g, 0, 1_000_000));
    expect(draw(new Rng(42), 100)).toEqual(ref);
  });

  it('accepts seeds beyond 32 bits and rejects non-integers', () => {
    expect(draw(new Rng(2 ** 40 + 5), 10)).toEqual(draw(new Rng(2 ** 40 + 5), 10));
    expect(draw(new Rng(2 ** 40 + 5), 10)).not.toEqual(draw(new Rng(2 ** 41 + 5), 10));
    expect(() => new Rng(1.5)).toThrow(/safe integer/);
    expect(() => new Rng(Number.NaN)).toThrow(/safe integer/);
  });

  it('int(lo, hi) covers both ends and nothing outside; bad bounds throw', () => {
    const r = new Rng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const x = r.int(-3, 3);
      expect(x).toBeGreaterThanOrEqual(-3);
      expect(x).toBeLessThanOrEqual(3);
      seen.add(x);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
    expect(r.int(5, 5)).toBe(5);
    expect(() => r.int(3, 2)).toThrow(/lo <= hi/);
    expect(() => r.int(0, 2.5)).toThrow(/integers/);
  });

  it('float() lies in [0, 1) with mean near 1/2; uint32() in [0, 2^32)', () => {
    const r = new Rng(9);
    let sum = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const x = r.float();
      expect(x >= 0 && x < 1).toBe(true);
      sum += x;
    }
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.01);
    for (let i = 0; i < 100; i++) {
      const u = r.uint32();
      expect(Number.isInteger(u) && u >= 0 && u < 2 ** 32).toBe(true);
    }
  });

  it('fork(name) depends only on the seed and the name, not on draws or other forks', () => {
    const a = new Rng(5);
    const gpu0 = draw(a.fork('gpu0'), 50);
    const b = new Rng(5);
    draw(b, 1000);
    b.fork('nic');
    expect(draw(b.fork('gpu0'), 50)).toEqual(gpu0);
    expect(draw(new Rng(5).fork('gpu1'), 50)).not.toEqual(gpu0);
    expect(draw(new Rng(6).fork('gpu0'), 50)).not.toEqual(gpu0);
    // Forks of forks are stable and distinct from their parents and siblings.
    const ff = draw(new Rng(5).fork('gpu0').fork('faults'), 50);
    expect(draw(new Rng(5).fork('gpu0').fork('faults'), 50)).toEqual(ff);
    expect(ff).not.toEqual(gpu0);
    expect(draw(new Rng(5).fork('gpu0').fork('evict'), 50)).not.toEqual(ff);
  });

  it('forked streams look independent (low correlation, no shared values in lockstep)', () => {
    const root = new Rng(77);
    const xs = root.fork('a');
    const ys = root.fork('b');
    const n = 20_000;
    let sx = 0;
    let sy = 0;
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    let same = 0;
    for (let i = 0; i < n; i++) {
      const x = xs.float();
      const y = ys.float();
      sx += x;
      sy += y;
      sxy += x * y;
      sxx += x * x;
      syy += y * y;
      if (x === y) same++;
    }
    const cov = sxy / n - (sx / n) * (sy / n);
    const corr = cov / Math.sqrt((sxx / n - (sx / n) ** 2) * (syy / n - (sy / n) ** 2));
    expect(Math.abs(corr)).toBeLessThan(0.03);
    expect(same).toBe(0);
  });

  it('jump() splits off the current position and moves this stream 2^64 draws ahead', () => {
    const r = new Rng(3);
    draw(r, 10);
    const expectedNext = draw(
      (() => {
        const q = new Rng(3);
        draw(q, 10);
        return q;
      })(),
      20,
    );
    const child = r.jump();
    expect(draw(child, 20)).toEqual(expectedNext);
    const afterJump = draw(r, 20);
    expect(afterJump).not.toEqual(expectedNext);
    const child2 = r.jump();
    expect(draw(child2, 20)).not.toEqual(expectedNext);
    // Reproducible.
    const s = new Rng(3);
    draw(s, 10);
    s.jump();
    expect(draw(s, 20)).toEqual(afterJump);
  });
});
