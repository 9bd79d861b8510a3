/**
 * Sharding a sweep across machines: `hmmlab sweep <file> --shard i/n` runs only the points whose
 * index (their place in the sweep's deterministic order) is i-1 modulo n. The n shards of a sweep
 * are disjoint and together run every point once; each machine stores its runs in its own
 * results store, and `hmmlab merge` puts the stores together.
 *
 * Round-robin rather than contiguous blocks: neighbouring points of a grid tend to cost the same
 * (the first key varies slowest), so dealing them out spreads the expensive ones over the shards.
 */

/** Shard `index` (1-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/** A malformed `--shard` value; the message says what was expected. */
export class ShardSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShardSpecError';
  }
}

/** The most shards a sweep can be cut into (a sanity bound, far above any real cluster). */
export const MAX_SHARDS = 1_000_000;

/**
 * Parses `i/n` (1 <= i <= n <= MAX_SHARDS, integers in decimal). Throws ShardSpecError naming
 * what is wrong, e.g. `expected i/n with 1 <= i <= n, found '3/2'`.
 */
export function parseShard(spec: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(spec);
  if (!m) throw new ShardSpecError(`expected i/n (like 1/4: the first of 4 shards), found '${spec}'`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || count > MAX_SHARDS)
    throw new ShardSpecError(`the number of shards must be from 1 to ${MAX_SHARDS}, found '${spec}'`);
  if (index < 1 || index > count)
    throw new ShardSpecError(`expected i/n with 1 <= i <= n (shards count from 1), found '${spec}'`);
  return { index, count };
}

/** The points of `shard`: those whose `index` is shard.index - 1 modulo shard.count, in order. */
export function shardPoints<T extends { index: number }>(points: readonly T[], shard: Shard): T[] {
  return points.filter((p) => p.index % shard.count === shard.index - 1);
}
