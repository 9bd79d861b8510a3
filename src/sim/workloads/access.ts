/**
 * Access streams shared by the workloads: the order a pattern visits pages in, whether the CPU
 * maps a page (so a touch needs no fault), and the pfn the CPU maps at an address. Linux
 * counterpart: what the MMU does on a load or store (walk, permission check); the kernel's
 * fault path itself is kernel/memory.ts userTouch.
 *
 *   const next = pageIndexes('strided', 1024, 16, rng.fork('w0'));
 *   next(0); next(1);                      // 0, 16: one lane of the stride, then the next
 */
import type { Mm } from '../../kernel/mm.js';
import {
  PMD_HUGE,
  PMD_TABLE,
  PTE_PRESENT,
  PTE_TYPE_MASK,
  PTE_WRITE,
  pteIndex,
} from '../../kernel/pgtable.js';
import type { AccessPattern } from '../config.js';
import type { Rng } from '../rng.js';

/** Pages of fault-free work a CPU or GPU workload accumulates per event. */
export const CHUNK = 512;

/**
 * The page index of the i-th access of `pattern` over `pages` pages: sequential visits them in
 * order, strided in lanes `stridePages` apart, random draws from `rng` (one draw per call).
 */
export function pageIndexes(
  pattern: AccessPattern,
  pages: number,
  stridePages: number,
  rng: Rng,
): (i: number) => number {
  if (pattern === 'sequential') return (i) => i;
  if (pattern === 'strided') {
    const s = Math.max(1, stridePages);
    const lanes = Math.ceil(pages / s);
    return (i) => {
      const lane = Math.floor(i / lanes);
      const k = i % lanes;
      const p = k * s + lane;
      return p < pages ? p : (i * 7919) % pages;
    };
  }
  return () => rng.int(0, pages - 1);
}

/** Whether the CPU maps addr with the needed permission (no fault needed). */
export function cpuMapped(mm: Mm, addr: number, write: boolean): boolean {
  const slot = mm.pt.slot(addr);
  if (!slot) return false;
  if (slot.kind === PMD_HUGE) return !write || (slot.bits & PTE_WRITE) !== 0;
  if (slot.kind !== PMD_TABLE) return false;
  const bits = slot.table!.bits[pteIndex(addr)]!;
  return (bits & PTE_TYPE_MASK) === PTE_PRESENT && (!write || (bits & PTE_WRITE) !== 0);
}

/** The pfn the CPU maps at addr (which must be mapped). */
export function pfnAt(mm: Mm, addr: number): number {
  const slot = mm.pt.slot(addr)!;
  if (slot.kind === PMD_HUGE) return slot.pfn + pteIndex(addr);
  return slot.table!.pfn[pteIndex(addr)]!;
}
