/**
 * Run counts, seeds and time bounds of every fast-check property in the suite, in one place, so
 * that `npm test` stays quick and `npm run test:deep` (scripts/test-deep.mjs) can search far
 * longer without editing a test:
 *
 * - HMMLAB_PROPERTY_SCALE (a whole number, default 1) multiplies every property's run count, its
 *   time bound and its test timeout;
 * - HMMLAB_PROPERTY_SEED (an integer) moves every property's fixed seed by that much, so that a
 *   deep run explores values `npm test` never draws. Test names show the seed in effect.
 *
 * With either set, each property prints its seed and run count before it runs; a failure
 * replays with the same two variables (fast-check's report adds the seed and the path).
 */
import fc from 'fast-check';
import { expect } from 'vitest';

function envInteger(name: string, min: number): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!(Number.isSafeInteger(n) && n >= min))
    throw new Error(`${name} must be an integer >= ${min}, not '${raw}'`);
  return n;
}

/** How many times more runs (and time) every property gets: HMMLAB_PROPERTY_SCALE, default 1. */
export const PROPERTY_SCALE = envInteger('HMMLAB_PROPERTY_SCALE', 1) ?? 1;
const SEED_OFFSET = envInteger('HMMLAB_PROPERTY_SEED', Number.MIN_SAFE_INTEGER);
const DEEP = PROPERTY_SCALE !== 1 || SEED_OFFSET !== undefined;

/** The seed a property with this fixed seed uses: the fixed one, moved by HMMLAB_PROPERTY_SEED. */
export function propertySeed(fixed: number): number {
  if (SEED_OFFSET === undefined) return fixed;
  // fast-check seeds are 32-bit; keep the sum in 0 .. 2^31 - 1.
  const s = (fixed + SEED_OFFSET) % 2 ** 31;
  return s < 0 ? s + 2 ** 31 : s;
}

/** A vitest timeout for a property test, scaled with its runs. */
export function propertyTimeout(ms: number): number {
  return ms * PROPERTY_SCALE;
}

export interface PropertyBudget {
  /** The seed in effect (propertySeed of the fixed one; put it in the test name). */
  seed: number;
  /** Runs under `npm test`; multiplied by HMMLAB_PROPERTY_SCALE. */
  numRuns: number;
  /**
   * A bound on the whole property (generation and shrinking), scaled like the runs. A property
   * that reaches it before its runs are done FAILS ("Property interrupted after N tests"): a pass
   * always means every run was made. Set it well above the time the runs take on a loaded machine.
   */
  timeLimitMs?: number;
}

/** fast-check parameters for a property with this budget (see the file comment). */
export function propertyParams<Ts>(b: PropertyBudget): fc.Parameters<Ts> {
  const numRuns = b.numRuns * PROPERTY_SCALE;
  const timeLimitMs = b.timeLimitMs === undefined ? undefined : b.timeLimitMs * PROPERTY_SCALE;
  if (DEEP) {
    const bound = timeLimitMs === undefined ? '' : `, at most ${timeLimitMs / 1000} s`;
    console.log(
      `property seed ${b.seed}, ${numRuns} runs${bound}: ${expect.getState().currentTestName ?? ''}`,
    );
  }
  const params: fc.Parameters<Ts> = { seed: b.seed, numRuns };
  if (timeLimitMs !== undefined) {
    // The plugin does not depend on the property's values: its Plugin<unknown> fits any.
    params.plugins = [fc.interruptAfterTimeLimit(timeLimitMs, { failOnInterrupt: true }) as fc.Plugin<Ts>];
  }
  return params;
}
