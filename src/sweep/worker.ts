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
}

/** What a worker sends back. */
export interface SweepResult {
  /** The point's index (SweepPoint.index). */
  index: number;
  /** compareRow() of the run's SimResult. */
  result: CompareRow;
  /** Wall-clock milliseconds the run took in the worker. */
  ms: number;
}

/** Runs one sweep point. */
export default function runPoint(task: SweepTask): SweepResult {
  const t0 = performance.now();
  const result = compareRow(simulate(task.config, { seed: task.seed }));
  return { index: task.index, result, ms: performance.now() - t0 };
}
