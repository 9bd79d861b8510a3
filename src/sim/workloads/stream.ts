/**
 * The access stream of a CPU or GPU workload once it starts: its buffer, the pages per pass,
 * the order it visits them in, and its metrics record. No Linux counterpart (a benchmark's
 * loop over a buffer).
 *
 *   const s = openStream(sim, w);          // at the workload's start
 *   const addr = s.b.addr + s.next(0) * PAGE_SIZE;
 */
import { PAGE_SIZE } from '../../kernel/constants.js';
import type { SimContext } from '../agent.js';
import type { CpuWorkload, GpuWorkload } from '../config.js';
import type { WorkloadMetrics } from '../metrics.js';
import type { SimBuffer } from '../platform.js';
import { pageIndexes } from './access.js';

export interface Stream {
  b: SimBuffer;
  /** Pages covered per pass. */
  pages: number;
  /** The page index (in the buffer) of the i-th access. */
  next: (i: number) => number;
  wm: WorkloadMetrics;
  write: boolean;
}

/** Opens workload `w`'s stream and its metrics record, started now. */
export function openStream(sim: SimContext, w: CpuWorkload | GpuWorkload): Stream {
  const b = sim.platform.buffers.get(w.buffer)!;
  const pages = Math.ceil(Math.min(w.bytes ?? b.bytes, b.bytes) / PAGE_SIZE);
  const next = pageIndexes(
    w.pattern,
    Math.ceil(b.bytes / PAGE_SIZE),
    (w.stride ?? 65536) / PAGE_SIZE,
    sim.rng.fork(w.name),
  );
  const wm = sim.metrics.workloadStarted(w.name, sim.engine.now);
  return { b, pages, next, wm, write: w.op === 'write' };
}
