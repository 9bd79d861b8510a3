/**
 * Migration between RAM and VRAM with migrate_vma_*: a GPU fault moves the largest aligned
 * chunk that fits the VMA into VRAM; a CPU fault on a VRAM page moves it back
 * (dev_pagemap_ops.migrate_to_ram: one page when PTE-mapped, the whole 2 MiB folio when
 * PMD-mapped).
 *
 * Counterparts: nouveau_dmem_migrate_vma and nouveau_dmem_migrate_to_ram
 * (drivers/gpu/drm/nouveau/nouveau_dmem.c), Xe's fault_chunk_sizes and
 * drm_pagemap_migrate_to_devmem / drm_pagemap_migrate_to_ram (drivers/gpu/drm/xe/xe_svm.c,
 * drivers/gpu/drm/drm_pagemap.c), over migrate_vma_setup / migrate_vma_pages /
 * migrate_vma_finalize (mm/migrate_device.c).
 * Each migration reports its migrate work with its copy (BatchResult.migrateCalls and
 * migratedEntries for a pass's own, the sink for migrate_to_ram), counted the one way every
 * path counts it: migrateEntriesMoved over src after migrate_vma_pages.
 * Deliberate differences: copies are counted, not timed (the simulator charges them); a
 * migrate_to_ram of a 2 MiB folio that finds no huge page in RAM fails with VM_FAULT_OOM
 * instead of splitting.
 */
import {
  HPAGE_PMD_ORDER,
  MIGRATE_PFN_COMPOUND,
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_WRITE,
  MIGRATE_VMA_SELECT_COMPOUND,
  MIGRATE_VMA_SELECT_SYSTEM,
  PAGE_SIZE,
  PMD_SIZE,
  VM_FAULT_OOM,
  VM_FAULT_SIGBUS,
} from '../../kernel/constants.js';
import type { VmFault } from '../../kernel/memremap.js';
import {
  migrateEntriesMoved,
  migratePfn,
  migratePfnToPfn,
  migrateToRamArgs,
  migrateVmaFinalize,
  migrateVmaPages,
  migrateVmaSetup,
  newMigrateVma,
} from '../../kernel/migrate_device.js';
import type { GpuDevice } from './device.js';
import type { GpuMirror } from './mirror.js';
import type { BatchResult } from './types.js';
import { BLOCK_PAGES } from './vram.js';

/** dev_pagemap_ops.migrate_to_ram of the GPU's VRAM pages. */
export function gpuMigrateToRam(dev: GpuDevice, vmf: VmFault): number {
  const k = dev.k;
  const f = k.frames;
  let args = migrateToRamArgs(k, vmf, dev.owner);
  if (dev.opts.migrateToRam === 'chunk' && args.end - args.start < PMD_SIZE) {
    // Xe: the whole chunk the fault's page was migrated in, the same span a GPU fault moves.
    const m = dev.mirrors.find((x) => x.mm === vmf.mm);
    if (m) {
      const [cs, ce] = chunkFor(dev.chunkSizes, m, vmf.address);
      if (ce - cs > args.end - args.start)
        args = newMigrateVma(vmf.vma, cs, ce, dev.owner, args.flags, vmf.page);
    }
  }
  if (migrateVmaSetup(k, args) < 0) return VM_FAULT_SIGBUS;
  let moved = 0;
  for (let i = 0; i < args.npages; i++) {
    const s = migratePfnToPfn(args.src[i]!);
    if (s < 0 || !(args.src[i]! & MIGRATE_PFN_MIGRATE)) continue;
    const o = f.order(s);
    const d = k.allocFolio(o);
    if (d < 0) {
      // No folio of this order in RAM (for a 2 MiB folio, a split and 512 single-page
      // migrations would do): not modelled, report OOM. The collection and unmap were done.
      migrateVmaFinalize(k, args);
      dev.sink.transfer({ bytes: 0, dir: 'd2h' }, { calls: 1, entries: 0, pages: 0 });
      return VM_FAULT_OOM;
    }
    k.folioTrylock(d);
    for (let j = 0; j < 2 ** o; j++) f.copyPage(d + j, s + j);
    args.dst[i] = migratePfn(d) + (args.src[i]! & MIGRATE_PFN_WRITE) + (o > 0 ? MIGRATE_PFN_COMPOUND : 0);
    moved += 2 ** o;
  }
  // Drop the device mappings of what moves (our own MIGRATE notifications are ignored).
  for (const m of dev.mirrors) if (m.mm === vmf.mm) m.pt.clear(args.start, args.end);
  dev.stats.tlbInvalidations++;
  migrateVmaPages(k, args);
  // One migrate sequence; a 2 MiB folio moved whole is one entry, as on the way in.
  const { entries, pages } = migrateEntriesMoved(args.src, args.npages);
  migrateVmaFinalize(k, args);
  dev.stats.cpuFaults++;
  dev.stats.cpuFaultPages += moved;
  dev.sink.transfer({ bytes: moved * PAGE_SIZE, dir: 'd2h' }, { calls: 1, entries, pages });
  return 0;
}

/** The largest chunk (from chunkSizes) around va that lies inside the mirror and one VMA. */
export function chunkFor(chunkSizes: readonly number[], m: GpuMirror, va: number): [number, number] {
  const vma = m.mm.vmaLookup(va);
  for (const size of chunkSizes) {
    const s = Math.floor(va / size) * size;
    const e = s + size;
    if (vma && s >= vma.start && e <= vma.end && s >= m.start && e <= m.end) return [s, e];
  }
  return [Math.floor(va / PAGE_SIZE) * PAGE_SIZE, Math.floor(va / PAGE_SIZE) * PAGE_SIZE + PAGE_SIZE];
}

/**
 * Migrates the system pages of [start, end) to VRAM (holes are cleared in VRAM, not copied).
 * A 2 MiB chunk moves as one folio when a free block is left, else as small pages. Returns
 * pages moved; adds the copy to res.transfers.
 */
export function migrateChunk(
  dev: GpuDevice,
  m: GpuMirror,
  start: number,
  end: number,
  res: BatchResult,
): number {
  if (dev.removing) return 0; // removal in progress: no new device memory
  const k = dev.k;
  const f = k.frames;
  const vma = m.mm.vmaLookup(start);
  if (!vma) return 0;
  const n = (end - start) / PAGE_SIZE;
  const args = newMigrateVma(
    vma,
    start,
    end,
    dev.owner,
    MIGRATE_VMA_SELECT_SYSTEM | (n === BLOCK_PAGES ? MIGRATE_VMA_SELECT_COMPOUND : 0),
  );
  if (migrateVmaSetup(k, args) < 0) return 0;
  res.migrateCalls++;
  dev.stats.migrateCalls++;
  if (args.cpages === 0) {
    migrateVmaFinalize(k, args);
    return 0;
  }
  let moved = 0;
  let copied = 0;
  for (let i = 0; i < args.npages; ) {
    const src = args.src[i]!;
    const large = (src & MIGRATE_PFN_COMPOUND) !== 0;
    const step = large ? BLOCK_PAGES : 1;
    if (!(src & MIGRATE_PFN_MIGRATE)) {
      i += step;
      continue;
    }
    const s = migratePfnToPfn(src);
    const write = src & MIGRATE_PFN_WRITE;
    let d = large ? dev.allocPage(HPAGE_PMD_ORDER) : dev.allocPage(0);
    if (d >= 0) {
      for (let j = 0; j < step; j++) {
        if (s >= 0) f.copyPage(d + j, s + j);
        else f.fill(d + j, 0);
      }
      args.dst[i] = migratePfn(d) + write + (large ? MIGRATE_PFN_COMPOUND : 0);
      moved += step;
      if (s >= 0) copied += step;
    } else if (large) {
      // No free 2 MiB block: fall back to small pages; the core splits the THP.
      for (let j = 0; j < BLOCK_PAGES; j++) {
        d = dev.allocPage(0);
        if (d < 0) break;
        if (s >= 0) f.copyPage(d, s + j);
        else f.fill(d, 0);
        args.dst[i + j] = migratePfn(d) + write;
        moved++;
        if (s >= 0) copied++;
      }
    }
    i += step;
  }
  migrateVmaPages(k, args);
  // A 2 MiB folio moved whole is one entry; one the core split first (small VRAM pages) is 512.
  const work = migrateEntriesMoved(args.src, args.npages);
  res.migratedEntries += work.entries;
  res.migratedPages += work.pages;
  migrateVmaFinalize(k, args);
  // Only pages with data cross the link: holes and the zero page are cleared in VRAM.
  if (copied > 0) res.transfers.push({ bytes: copied * PAGE_SIZE, dir: 'h2d' });
  return moved;
}
