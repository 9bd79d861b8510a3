/**
 * The density prefetcher: within the 2 MiB VA block of a fault, leaves are 64 KiB regions; the
 * largest subtree of the bitmap tree containing the fault whose resident-or-faulting pages
 * exceed the threshold (51% by default) is migrated whole.
 *
 * Counterpart: nvidia-uvm's uvm_perf_prefetch.c (uvm_perf_prefetch_threshold, the bitmap tree
 * of compute_prefetch_region). Deliberate difference: 64 KiB leaves (nvidia-uvm's leaves are
 * pages; its big-page size is 64 KiB), and only blocks that lie inside one VMA are considered.
 */
import { PAGE_SIZE, PMD_SIZE } from '../../kernel/constants.js';
import type { GpuDevice } from './device.js';
import { migrateChunk } from './migrate.js';
import type { GpuMirror } from './mirror.js';
import type { BatchResult } from './types.js';
import { BLOCK_PAGES } from './vram.js';

const SZ_64K = 64 * 1024;

/**
 * Prefetches around the fault at va whose chunk [cs, ce) is being migrated; `faulting` is the
 * batch's sorted fault addresses. Returns the covered range and the pages it moved.
 */
export function prefetchRegion(
  dev: GpuDevice,
  m: GpuMirror,
  res: BatchResult,
  va: number,
  cs: number,
  ce: number,
  faulting: ArrayLike<number>,
): [number, number, number] {
  const block = Math.floor(va / PMD_SIZE) * PMD_SIZE;
  const vma = m.mm.vmaLookup(va);
  if (!vma || block < vma.start || block + PMD_SIZE > vma.end) return [cs, ce, 0];
  const leaves = PMD_SIZE / SZ_64K;
  const per = SZ_64K / PAGE_SIZE;
  const count = new Uint16Array(leaves);
  for (let i = 0; i < BLOCK_PAGES; i++) {
    const a = block + i * PAGE_SIZE;
    if ((a >= cs && a < ce) || dev.isVramMapped(m, a)) count[Math.floor(i / per)]!++;
  }
  for (let x = 0; x < faulting.length; x++) {
    const a = faulting[x]!;
    if (a >= block && a < block + PMD_SIZE && !(a >= cs && a < ce))
      count[Math.floor((a - block) / SZ_64K)]!++;
  }
  // Walk up the tree: the largest subtree over the threshold that contains va.
  const leaf = Math.floor((va - block) / SZ_64K);
  let best: [number, number] | null = null;
  for (let size = 1; size <= leaves; size *= 2) {
    const first = Math.floor(leaf / size) * size;
    let c = 0;
    for (let j = first; j < first + size; j++) c += count[j]!;
    if (c * 100 > dev.prefetchThreshold * size * per) best = [first, first + size];
  }
  if (!best) return [cs, ce, 0];
  const ps = block + best[0] * SZ_64K;
  const pe = block + best[1] * SZ_64K;
  let moved = 0;
  for (let a = ps; a < pe; a += SZ_64K) {
    if (a >= cs && a + SZ_64K <= ce) continue;
    moved += migrateChunk(dev, m, a, a + SZ_64K, res);
  }
  dev.stats.prefetchedPages += moved;
  return [Math.min(ps, cs), Math.max(pe, ce), moved];
}
