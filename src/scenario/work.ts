/**
 * The work guard: how much a scenario would make simulate() do, estimated before it runs, so that
 * `passes: 1000000` over a large buffer is refused at once instead of running for hours. The unit
 * is a page access: one 4 KiB page touched by a CPU or GPU workload in one pass, one page of an
 * RDMA message, one page a dmirror ioctl covers. simulate() does a bounded amount of work per
 * page access (a typed-array loop, a fault batch shared by many), so the estimate is
 * proportional to its running time. An RDMA message costs far more than one page access (its
 * events, its transfer, its latency kept for the percentiles), so each also counts
 * RDMA_MESSAGE_WORK page accesses on top of its pages. Pure.
 */
import type { Scenario } from './schema.js';

const PAGE = 4096;

/**
 * The default limit on page accesses for one scenario: 2^30, about 3.3 times
 * what scenarios/dgx-class.yaml (the largest shipped, a 256 GiB working set) asks for (3.2e8,
 * 5.2e7 of them its RDMA messages' fixed cost).
 */
export const DEFAULT_MAX_WORK = 2 ** 30;

/**
 * What one RDMA message costs besides its pages, in page accesses. Measured on the small RDMA
 * scenario (test/fixtures/scenarios.ts smallRdma: 16 MiB THP buffer in VRAM, queueDepth 4) with
 * `time node bin/hmmlab.js run f.yaml --no-store`, startup (1.1 s) taken off: 2^20 messages of
 * 4 KiB 6.4 s, 2^22 of 4 KiB 42.8 s, 2^20 of 1 byte 8.3 s, 2^18 of 64 KiB 4.2 s, against a
 * GPU re-reading the same buffer 25000 times (1.02e8 page accesses) 11.2 s, on a loaded 2-core
 * machine: 55 to 93 page accesses a message, the cost growing with the count (the latencies
 * array, its sort). A reviewer measured 2^22 4 KiB messages in 67.5 s against GPU re-reads of
 * 1e9 page accesses in 74 s: about 200 a message. The larger is charged, so that at the default
 * limit a workload has at most about 5.3e6 messages (2^30 / 201) and its latencies array (one
 * double a message) stays under 43 MB.
 */
export const RDMA_MESSAGE_WORK = 200;

export interface WorkloadWork {
  index: number;
  name: string;
  /** Page accesses. */
  estimate: number;
  /**
   * How the estimate was made, for messages: "262144 pages x 1000 passes", or for RDMA
   * "16 messages x (16 pages + 200 per message)".
   */
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
        estimate: w.messages * (perMessage + RDMA_MESSAGE_WORK),
        detail: `${w.messages} messages x (${aligned ? '' : 'at most '}${perMessage} page${perMessage === 1 ? '' : 's'} + ${RDMA_MESSAGE_WORK} per message)`,
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
