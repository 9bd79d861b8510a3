/**
 * The work guard: how much a scenario would make simulate() do, estimated before it runs, so that
 * `passes: 1000000` over a large buffer is refused at once instead of running for hours. The unit
 * is a page access: one 4 KiB page touched by a CPU or GPU workload in one pass, one page of an
 * RDMA message, one page a dmirror ioctl covers. simulate() does a bounded amount of work per
 * page access (a typed-array loop, a fault batch shared by many), so the estimate is
 * proportional to its running time. Pure.
 */
import type { Scenario } from './schema.js';

const PAGE = 4096;

/**
 * The default limit on page accesses for one scenario: 2^30, four times what
 * scenarios/dgx-class.yaml (the largest shipped, a 256 GiB working set) asks for.
 */
export const DEFAULT_MAX_WORK = 2 ** 30;

export interface WorkloadWork {
  index: number;
  name: string;
  /** Page accesses. */
  estimate: number;
  /** How the estimate was made, for messages: "262144 pages x 1000 passes". */
  detail: string;
}

/** The page accesses each workload asks for, and their total. */
export function estimateWork(s: Scenario): { total: number; workloads: WorkloadWork[] } {
  const sizes = new Map(s.buffers.map((b) => [b.name, b.size]));
  const workloads = s.workloads.map((w, index): WorkloadWork => {
    const size = sizes.get(w.buffer) ?? 0;
    const bytes = Math.min(w.bytes ?? size, size);
    const passes = w.passes ?? 1;
    if (w.kind === 'rdma') {
      // Message m lands at a multiple of the message size from the page-aligned buffer start
      // (src/sim/workloads/rdma.ts): a whole number of pages when the size is one, else at most
      // one page more than its length rounds up to.
      const msg = Math.min(w.messageSize, size);
      const aligned = msg % PAGE === 0;
      const perMessage = aligned ? msg / PAGE : Math.ceil(msg / PAGE) + 1;
      return {
        index,
        name: w.name,
        estimate: w.messages * perMessage,
        detail: `${w.messages} messages x ${aligned ? '' : 'at most '}${perMessage} page${perMessage === 1 ? '' : 's'}`,
      };
    }
    const pages = Math.ceil(bytes / PAGE);
    return {
      index,
      name: w.name,
      estimate: pages * passes,
      detail: `${pages} pages x ${passes} pass${passes === 1 ? '' : 'es'}`,
    };
  });
  return { total: workloads.reduce((a, w) => a + w.estimate, 0), workloads };
}

/** A count as a message writes it: exact while it is, else like 2.62e16. */
export function formatCount(n: number): string {
  if (n === Number.POSITIVE_INFINITY) return 'unlimited';
  return Number.isSafeInteger(n) ? String(n) : n.toExponential(2).replace('e+', 'e');
}
