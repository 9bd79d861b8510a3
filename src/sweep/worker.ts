/**
 * The piscina worker of a sweep: runs one point and returns its compare row (plain JSON, so it
 * crosses the thread boundary by structured clone) and how long the run took.
 */
import { performance } from 'node:perf_hooks';
import { type CompareRow, compareRow } from '../sim/compare.js';
import { type SimConfig, simulate } from '../sim/simulate.js';

/** What runSweep sends a worker. */
export interface SweepTask {
  index: number;
  config: SimConfig;
  seed: number;
  /** Record the cost parameters the run reads (SweepResult.costReads; `hmmlab sensitivity`). */
  costReads?: boolean;
}

/** What a worker sends back. */
export interface SweepResult {
  /** The point's index (SweepPoint.index). */
  index: number;
  /** compareRow() of the run's SimResult. */
  result: CompareRow;
  /** Wall-clock milliseconds the run took in the worker. */
  ms: number;
  /** The cost parameters the run read, when the task asked (in the order first read). */
  costReads?: string[];
}

/** Runs one sweep point. */
export default function runPoint(task: SweepTask): SweepResult {
  const t0 = performance.now();
  const reads = task.costReads ? new Set<string>() : undefined;
  const result = compareRow(simulate(task.config, { seed: task.seed, costReads: reads }));
  const ms = performance.now() - t0;
  return reads ? { index: task.index, result, ms, costReads: [...reads] } : { index: task.index, result, ms };
}
