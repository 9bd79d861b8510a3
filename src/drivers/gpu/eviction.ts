/**
 * VRAM eviction: a whole 2 MiB block goes back to RAM with migrate_device_pfns, the way a
 * driver evicts device memory that no process is faulting on.
 *
 * Counterparts: nvidia-uvm's eviction of a root chunk (uvm_pmm_gpu.c pick_and_evict_root_chunk,
 * uvm_va_block_evict_chunks), nouveau_dmem_evict_chunk (drivers/gpu/drm/nouveau/nouveau_dmem.c)
 * and drm_pagemap_evict_to_ram (drivers/gpu/drm/drm_pagemap.c), all over
 * migrate_device_pfns / migrate_device_pages / migrate_device_finalize (mm/migrate_device.c).
 * Deliberate difference: the victim is the least recently allocated block (see vram.ts).
 */
import { MIGRATE_PFN_COMPOUND, MIGRATE_PFN_MIGRATE, PAGE_SIZE } from '../../kernel/constants.js';
import type { Kernel } from '../../kernel/kernel.js';
import {
  migrateDeviceFinalize,
  migrateDevicePages,
  migrateDevicePfns,
  migrateEntriesMoved,
  migratePfn,
  migratePfnToPfn,
} from '../../kernel/migrate_device.js';
import type { GpuStats, TransferSink } from './types.js';
import { BLOCK_PAGES, type Vram } from './vram.js';

/**
 * migrate_device_pfns over block b: every page in use goes back to RAM (a page that finds no
 * RAM stays). Hands the copy to `sink` with its migrate work (one sequence, the entries it
 * moved); returns pages moved.
 */
export function evictBlock(k: Kernel, vram: Vram, b: number, stats: GpuStats, sink: TransferSink): number {
  const f = k.frames;
  const first = vram.blockPfn(b);
  const src = new Float64Array(BLOCK_PAGES);
  const dst = new Float64Array(BLOCK_PAGES);
  let n = 0;
  for (let p = first; p < first + BLOCK_PAGES; ) {
    if (f.ref(p) > 0 && f.head(p) === p) {
      src[n++] = p;
      p += f.nrPages(p);
    } else p++;
  }
  migrateDevicePfns(k, src, n);
  let moved = 0;
  for (let i = 0; i < n; i++) {
    const spfn = migratePfnToPfn(src[i]!);
    if (spfn < 0 || !(src[i]! & MIGRATE_PFN_MIGRATE)) continue;
    const order = f.order(spfn);
    const d = k.allocFolio(order);
    if (d < 0) continue; // no RAM: the page stays in VRAM
    k.folioTrylock(d);
    for (let j = 0; j < 2 ** order; j++) f.copyPage(d + j, spfn + j);
    dst[i] = migratePfn(d) + (order ? MIGRATE_PFN_COMPOUND : 0);
    moved += 2 ** order;
  }
  migrateDevicePages(k, src, dst, n);
  // One migrate sequence; a 2 MiB folio evicted whole is one entry.
  const { entries, pages } = migrateEntriesMoved(src, n);
  migrateDeviceFinalize(k, src, dst, n);
  stats.evictedPages += moved;
  stats.evictedBlocks++;
  sink.transfer({ bytes: moved * PAGE_SIZE, dir: 'd2h' }, { calls: 1, entries, pages });
  return moved;
}
