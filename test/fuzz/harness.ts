/**
 * Shared pieces of the command-line fuzzers in test/fuzz/: the case counts (raised with env
 * vars), a per-case time bound, the checks every answer must pass (an exit code of 0, 1 or 2, no
 * stack trace) and a results store's observable state (its runs, its integrity check, its bytes).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { ResultsStore } from '../../src/store/store.js';
import { cli } from '../cli/run-cli.js';

export { prng, type Rng } from '../scenario/mutate.js';

/** A case count from the environment (`HMMLAB_FUZZ_<NAME>_CASES`), else the default. */
export function cases(name: string, fallback: number): number {
  const raw = process.env[`HMMLAB_FUZZ_${name}_CASES`];
  const n = raw === undefined ? fallback : Number(raw);
  if (!(Number.isSafeInteger(n) && n >= 1))
    throw new Error(`HMMLAB_FUZZ_${name}_CASES must be a count, not '${raw}'`);
  return n;
}

/** A fixed seed, or HMMLAB_FUZZ_SEED for a longer search elsewhere. */
export function seed(fixed: number): number {
  return process.env.HMMLAB_FUZZ_SEED === undefined ? fixed : Number(process.env.HMMLAB_FUZZ_SEED);
}

/** The per-case time bound in milliseconds (HMMLAB_FUZZ_CASE_MS; default 10 s, a loaded 2-core machine). */
export const CASE_MS = Number(process.env.HMMLAB_FUZZ_CASE_MS ?? 10_000);

export type CliResult = { code: number; out: string; err: string };

/**
 * Runs the command line in-process with a deadline of CASE_MS: a case that has not answered by
 * then (an awaited worker that never finishes) fails with `context`, and so does one that
 * answered but took longer (a synchronous loop cannot be interrupted in-process, but it is caught
 * once it returns). An exception out of main() (exit 70 from the real binary) fails the case with
 * its stack.
 */
export async function bounded(context: () => string, ...args: string[]): Promise<CliResult & { ms: number }> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), CASE_MS);
  });
  let r: CliResult | 'timeout';
  try {
    r = await Promise.race([cli(...args), deadline]);
  } catch (e) {
    throw new Error(`exception out of main() (exit 70) for ${context()}:\n${(e as Error).stack}`);
  } finally {
    clearTimeout(timer);
  }
  const ms = performance.now() - t0;
  if (r === 'timeout') throw new Error(`no answer within ${CASE_MS} ms for ${context()}`);
  expect(ms, `took ${ms.toFixed(0)} ms (bound ${CASE_MS} ms): ${context()}`).toBeLessThan(CASE_MS);
  return { ...r, ms };
}

/** No stack trace, no internal error, no JavaScript leaking into a message. */
export function expectCleanMessage(err: string, context: string): void {
  expect(err, context).not.toMatch(/^\s+at /m);
  expect(err, context).not.toMatch(/\bat .*\.(ts|js):\d+/);
  expect(err, context).not.toMatch(
    /internal error|Maximum call stack|\[object |SqliteError|TypeError|RangeError/i,
  );
}

/** An exit-2 answer: nothing on stdout, every stderr line non-empty, the first `hmmlab: `. */
export function expectRefusal(r: CliResult, context: string): string[] {
  expect(r.code, context).toBe(2);
  expect(r.out, context).toBe('');
  expect(r.err, context).toMatch(/^hmmlab: \S/);
  expect(r.err.endsWith('\n'), context).toBe(true);
  const lines = r.err.slice(0, -1).split('\n');
  for (const line of lines) expect(line.trim().length, context).toBeGreaterThan(0);
  expectCleanMessage(r.err, context);
  return lines;
}

/** What a store holds, as the fuzzers compare it: the run list and its integrity verdict. */
export function storeState(db: string): { runs: unknown[]; check: string } {
  const s = ResultsStore.open(db, { readOnly: true });
  try {
    return { runs: s.listRuns(), check: s.integrityCheck() };
  } finally {
    s.close();
  }
}

export const sha256 = (path: string): string =>
  existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : 'missing';

/** The names in a folder, sorted. */
export const listing = (dir: string): string[] => readdirSync(dir).sort();

/** A string for a failure message: JSON, so that control characters and unicode show. */
export const show = (args: readonly string[]): string => JSON.stringify(args);
