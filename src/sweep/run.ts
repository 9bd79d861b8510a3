/**
 * Running a sweep's points on worker threads (piscina), with a progress bar on stderr when it
 * is a terminal.
 */
import { availableParallelism } from 'node:os';
import { SingleBar } from 'cli-progress';
import { Piscina } from 'piscina';
import type { SweepPoint } from './sweep.js';
import type { SweepResult, SweepTask } from './worker.js';

export type { SweepResult } from './worker.js';

/** Options of runSweep. */
export interface RunSweepOptions {
  /** Worker threads (default os.availableParallelism()). */
  jobs?: number;
  /** Called after each run with the number of runs done so far and the total. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * The worker module: worker.ts when this module runs as TypeScript (tsx, vitest), worker.js
 * from the compiled dist/. A `.ts` worker needs tsx's loader in the worker thread too.
 */
function workerSource(): { filename: string; execArgv: string[] } {
  const ts = import.meta.url.endsWith('.ts');
  const filename = new URL(ts ? './worker.ts' : './worker.js', import.meta.url).href;
  return { filename, execArgv: ts ? [...process.execArgv, '--import', 'tsx'] : [...process.execArgv] };
}

/**
 * Runs every point on `jobs` worker threads. Resolves with one result per point, in index
 * order whatever order they finished in; rejects with the first run's error (the pool is
 * closed either way).
 */
export async function runSweep(
  points: readonly SweepPoint[],
  options: RunSweepOptions = {},
): Promise<SweepResult[]> {
  const jobs = Math.max(1, Math.floor(options.jobs ?? availableParallelism()));
  const total = points.length;
  if (total === 0) return [];
  const pool = new Piscina<SweepTask, SweepResult>({
    ...workerSource(),
    minThreads: Math.min(jobs, total),
    maxThreads: Math.min(jobs, total),
    idleTimeout: 1000,
  });
  const results: SweepResult[] = new Array(total);
  let done = 0;
  try {
    await Promise.all(
      points.map(async (p, slot) => {
        const r = await pool.run({ index: p.index, config: p.config, seed: p.seed });
        results[slot] = r;
        done++;
        options.onProgress?.(done, total);
      }),
    );
  } finally {
    await pool.destroy();
  }
  return results;
}

/** A progress display: update(done) after each run, stop() at the end. */
export interface ProgressReporter {
  update(done: number): void;
  stop(): void;
}

/**
 * A progress bar of `total` runs on stderr, or a reporter that does nothing when stderr is not
 * a terminal (so piped and CI output stays clean).
 */
export function progressReporter(
  total: number,
  stream: NodeJS.WriteStream = process.stderr,
): ProgressReporter {
  if (!stream.isTTY) return { update() {}, stop() {} };
  const bar = new SingleBar({
    stream,
    format: 'sweep [{bar}] {value}/{total} runs | {percentage}% | eta {eta_formatted}',
    hideCursor: true,
    clearOnComplete: false,
  });
  bar.start(total, 0);
  return {
    update: (done) => bar.update(done),
    stop: () => bar.stop(),
  };
}
