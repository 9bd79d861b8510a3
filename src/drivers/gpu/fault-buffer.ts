/**
 * The replayable fault buffer's batch preprocessing: a batch of fault addresses becomes one
 * entry per page, sorted by address, writing if any fault on the page wrote.
 *
 * Counterpart: nvidia-uvm's fetch_fault_buffer_entries and preprocess_fault_batch
 * (uvm_gpu_replayable_faults.c: duplicate removal, sort by VA, grouping by va_block).
 * Deliberate difference: no per-fault objects; keys are page addresses plus 1 for a write,
 * sorted as numbers in typed arrays.
 */
import { PAGE_SIZE } from '../../kernel/constants.js';

export interface CoalescedFaults {
  /** Unique faulting page addresses, ascending (length `unique`). */
  pages: Float64Array;
  /** 1 where any fault on the page wrote. */
  write: Uint8Array;
  unique: number;
}

/** Coalesces `n` faults: one entry per page, write if any fault on it wrote; sorted by address. */
export function coalesceFaults(
  addrs: ArrayLike<number>,
  writes: ArrayLike<number>,
  n: number,
): CoalescedFaults {
  // A key is the page address plus 1 for a write (addresses are multiples of 4 KiB), so after a
  // numeric sort a page's read and write faults sit together.
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++)
    keys[i] = Math.floor(addrs[i]! / PAGE_SIZE) * PAGE_SIZE + (writes[i]! !== 0 ? 1 : 0);
  keys.sort();
  const sorted = new Float64Array(n);
  const sortedWrite = new Uint8Array(n);
  let u = 0;
  for (let i = 0; i < n; i++) {
    const key = keys[i]!;
    const w = key % PAGE_SIZE;
    const p = key - w;
    if (u > 0 && sorted[u - 1] === p) {
      if (w) sortedWrite[u - 1] = 1;
    } else {
      sorted[u] = p;
      sortedWrite[u] = w;
      u++;
    }
  }
  return { pages: sorted, write: sortedWrite, unique: u };
}

/** The first index of sorted `a` whose value is >= x (a.length when none). */
export function lowerBound(a: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
