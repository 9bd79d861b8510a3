/**
 * Seeded pseudo-random streams for the simulator, over pure-rand's xoroshiro128+ (the same
 * generator family as fast-check). Nothing in the model draws from a global random source: every
 * source of randomness is an Rng passed in, so the same seed replays the same run.
 *
 * Streams for parts of a model (one per device, per workload, per sweep point) come from
 * `fork(name)`, which depends only on the parent's seed and the name: adding a device or drawing
 * more numbers in one stream never shifts another stream.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus, xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';

/** murmur3's 32-bit finaliser: a bijection on 32-bit words with full avalanche. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/** FNV-1a over the UTF-16 code units of `s`, 32 bits. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/** Folds a safe integer seed into 32 bits (identity for seeds that already fit in int32). */
function foldSeed(seed: number): number {
  if (seed === (seed | 0)) return seed;
  const hi = Math.floor(seed / 4294967296);
  return fmix32((seed >>> 0) ^ fmix32(hi | 0)) | 0;
}

/**
 * A deterministic pseudo-random stream. Not cryptographic; statistically good enough for
 * workloads, jitter and tie-breaking in experiments.
 */
export class Rng {
  private g: JumpableRandomGenerator;
  private jumps = 0;
  /** The 32-bit key the stream was derived from; `fork` derives children from it. */
  readonly key: number;

  /**
   * A stream seeded with `seed` (a safe integer; int32 seeds give pure-rand's
   * `xoroshiro128plus(seed)` sequence exactly). Throws on a seed that is not a safe integer.
   */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed))
      throw new Error(`model bug: Rng seed must be a safe integer, got ${seed}`);
    this.key = foldSeed(seed);
    this.g = xoroshiro128plus(this.key);
  }

  /** A stream with key `key` that continues from generator `g` (taken over, not copied). */
  private static over(key: number, g: JumpableRandomGenerator): Rng {
    const r = new Rng(key);
    r.g = g;
    return r;
  }

  /**
   * A uniformly distributed integer in [lo, hi], both ends included. Throws when the bounds are
   * not integers or lo > hi.
   */
  int(lo: number, hi: number): number {
    if (!(lo <= hi) || Math.floor(lo) !== lo || Math.floor(hi) !== hi)
      throw new Error(`model bug: Rng.int bounds must be integers with lo <= hi, got [${lo}, ${hi}]`);
    return uniformInt(this.g, lo, hi);
  }

  /** A uniformly distributed float in [0, 1), a multiple of 2^-53 (draws two 32-bit words). */
  float(): number {
    return uniformFloat64(this.g);
  }

  /** The next raw 32-bit output as an unsigned integer in [0, 2^32). */
  uint32(): number {
    return this.g.next() >>> 0;
  }

  /**
   * An independent child stream named `name`. It depends only on this stream's key and the
   * name, never on how many numbers were drawn, so `rng.fork('gpu0')` is the same stream in every
   * run and whatever other forks exist. The child's state is a hash of (key, name) spread over
   * all 128 bits; forks of forks (`rng.fork('gpu0').fork('faults')`) are distinct streams too.
   */
  fork(name: string): Rng {
    const key = fmix32(this.key ^ fmix32(fnv1a(name) + 0x9e3779b9));
    return Rng.over(key, xoroshiro128plusFromState(stateFromKey(key)));
  }

  /**
   * Splits off a stream that does not overlap this one for 2^64 draws: the child continues from
   * this stream's current position and this stream jumps 2^64 draws ahead. Calling it n times
   * gives n + 1 non-overlapping streams (the children and this one). Depends on how many numbers
   * were drawn before it is called; prefer `fork(name)` for streams that must stay stable while a
   * model changes.
   */
  jump(): Rng {
    const child = Rng.over(fmix32(this.key ^ fmix32(++this.jumps)), this.g.clone());
    this.g.jump();
    return child;
  }
}

/** Four well-mixed 32-bit words from `key`, never all zero (xoroshiro's one forbidden state). */
function stateFromKey(key: number): [number, number, number, number] {
  let x = key;
  const word = (i: number): number => {
    x = (x + 0x9e3779b9) | 0;
    return fmix32(x ^ (i * 0x632be5ab));
  };
  // Array elements are evaluated left to right: words 0, 1, 2, 3 in that order.
  const s: [number, number, number, number] = [word(0), word(1), word(2), word(3)];
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
  return s;
}
