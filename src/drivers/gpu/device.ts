/**
 * An SVM GPU driver written against hmmlab's kernel API, modelled on nouveau's dmem, Intel Xe
 * (drm_gpusvm / drm_pagemap) and nvidia-uvm. This file holds the device and its fault-service
 * pass; the concerns it uses live beside it:
 *
 * - fault-buffer.ts: replayable faults are serviced in batches, duplicates removed, sorted
 *   (nvidia-uvm's preprocess_fault_batch);
 * - migrate.ts: each fault migrates the largest aligned chunk that fits the VMA (Xe's
 *   fault_chunk_sizes 2M / 64K / 4K) into VRAM with migrate_vma_*; CPU faults on VRAM pages
 *   come back through migrate_to_ram;
 * - mirror.ts: the device page table, its mmu interval notifier, and mapping with
 *   hmm_range_fault under the notifier sequence protocol;
 * - prefetch.ts: nvidia-uvm's density prefetcher; thrashing.ts: its thrashing detection;
 *   access-counters.ts: its access-counter placement;
 * - vram.ts: VRAM in 2 MiB blocks on an LRU list, memremapped on first use, and the BAR;
 *   eviction.ts: a block evicted to RAM with migrate_device_pfns when VRAM is full.
 *
 * Counterparts: nouveau_svm.c's fault handler (nouveau_svm_fault), nvidia-uvm's
 * uvm_gpu_replayable_faults.c (service_fault_batch), Xe's xe_svm_handle_pagefault.
 * Deliberate difference: the driver only changes state and counts work; the simulator turns
 * counts into time with the cost profile, and charges the copies the driver hands to its
 * TransferSink.
 */
import { PAGE_SIZE, PMD_SIZE } from '../../kernel/constants.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { Mm } from '../../kernel/mm.js';
import { AccessCounters } from './access-counters.js';
import { evictBlock } from './eviction.js';
import { coalesceFaults, lowerBound } from './fault-buffer.js';
import { chunkFor, gpuMigrateToRam, migrateChunk } from './migrate.js';
import { GpuMirror, mapRange } from './mirror.js';
import { prefetchRegion } from './prefetch.js';
import { ThrashingDetector } from './thrashing.js';
import {
  type BatchResult,
  DISCARD_TRANSFERS,
  type GpuOptions,
  type GpuStats,
  newStats,
  type PlacementPolicy,
  type TransferSink,
} from './types.js';
import { BLOCK_PAGES, Vram } from './vram.js';

const SZ_64K = 64 * 1024;

/** A GPU with VRAM as DEVICE_PRIVATE memory. */
export class GpuDevice {
  readonly stats: GpuStats = newStats();
  readonly chunkSizes: number[];
  readonly prefetch: boolean;
  readonly prefetchThreshold: number;
  /** dev_pagemap owner of this GPU's VRAM. */
  readonly owner: unknown;
  readonly placement: PlacementPolicy;
  /** Where the copies made outside a pass's own migration go (GpuOptions.sink). */
  readonly sink: TransferSink;
  readonly mirrors: GpuMirror[] = [];
  private readonly vram: Vram;
  private readonly counters: AccessCounters;
  private readonly thrash: ThrashingDetector;

  constructor(
    readonly k: Kernel,
    readonly opts: GpuOptions,
  ) {
    this.owner = opts.owner ?? this;
    this.placement = opts.placement ?? 'first-touch';
    this.chunkSizes = opts.chunkSizes ?? [PMD_SIZE, SZ_64K, PAGE_SIZE];
    this.prefetch = opts.prefetch ?? false;
    this.prefetchThreshold = opts.prefetchThreshold ?? 51;
    this.sink = opts.sink ?? DISCARD_TRANSFERS;
    this.vram = new Vram(k, {
      name: opts.name,
      vram: opts.vram,
      pagemapBytes: opts.pagemapBytes,
      bar: opts.bar,
      owner: this.owner,
      barOwner: this,
      migrateToRam: (vmf) => gpuMigrateToRam(this, vmf),
      evictOne: () => this.evictOne(),
    });
    this.counters = new AccessCounters(opts);
    this.thrash = new ThrashingDetector(opts, this.stats);
  }

  get name(): string {
    return this.opts.name;
  }

  /** VRAM pages. */
  get vramPages(): number {
    return this.vram.vramPages;
  }

  /** Pages currently allocated in VRAM. */
  get vramUsed(): number {
    return this.vram.used;
  }

  /** First pfn of the BAR (its PCI_P2PDMA alias pages). */
  get barBase(): number {
    return this.vram.barBase;
  }

  /** BAR size in pages. */
  get barPages(): number {
    return this.vram.barPages;
  }

  /** Alias (PCI_P2PDMA) pages created so far (Linux creates them all at probe). */
  get aliasPagesCreated(): number {
    return this.vram.aliasPagesCreated;
  }

  /**
   * Model memory of the driver, in bytes: the per-block VRAM state (3 bytes per 2 MiB block
   * declared, the only part sized by VRAM), the allocator's lists, the per-block histories
   * and counters, and every mirror's device page table. Frames of VRAM pages are the
   * kernel's (Kernel.memoryBytes).
   */
  memoryBytes(): number {
    const slot = 8; // a JS array element or a small Map/Set entry's key, at least
    let n =
      this.vram.memoryBytes(slot) +
      (this.vram.busy.size + this.counters.forceMigrate.size) * 4 * slot +
      (this.thrash.size + this.counters.size) * 8 * slot;
    for (const m of this.mirrors) n += m.pt.memoryBytes();
    return n;
  }

  /** Starts mirroring [start, start + length) of mm. */
  mirror(mm: Mm, start: number, length: number): GpuMirror {
    const m = new GpuMirror(this, mm, start, start + length);
    this.mirrors.push(m);
    return m;
  }

  // ---- hot unplug ---------------------------------------------------------------------

  /** Set once removal starts: no new migrations to this device, no new alias pages. */
  get removing(): boolean {
    return this.vram.removing;
  }
  removed = false;

  /**
   * Removes the device. 'safe' (drm_pagemap's unbind rule): refuse new migrations, evict
   * every device-private page to RAM (the unmapping notifies every mm, so peers drop their
   * mappings of those pages and of the BAR), then memunmap_pages the VRAM and BAR pagemaps:
   * no data is lost. 'surprise': the device is gone before the driver runs; pages still in
   * VRAM come back as all-ones (a PCIe read of a missing device) and are reported lost.
   * The evictions' copies go to the sink. Returns the pages whose data was lost (0 for a safe
   * removal) and the pages evicted.
   */
  unplug(mode: 'safe' | 'surprise'): { lostPages: number; evictedPages: number } {
    this.vram.removing = true;
    let lost = 0;
    const k = this.k;
    const f = k.frames;
    const blocks = this.vram.blockState;
    if (mode === 'surprise') {
      for (let b = 0; b < blocks.length; b++) {
        if (!blocks[b]) continue;
        const first = this.vram.blockPfn(b);
        for (let p = first; p < first + BLOCK_PAGES; p++) {
          if (f.ref(f.head(p)) > 0) {
            f.fill(p, 0x7fffffff); // what remains readable of a missing device (poison)
            lost++;
          }
        }
      }
    }
    const before = this.stats.evictedPages;
    for (let b = 0; b < blocks.length; b++) if (blocks[b]) this.evictBlock(b);
    for (const m of this.mirrors) m.remove();
    for (const pgmap of this.vram.pagemaps()) if (pgmap) k.memunmapPages(pgmap);
    for (const pgmap of this.vram.barRegions) if (pgmap) k.memunmapPages(pgmap);
    this.removed = true;
    return { lostPages: lost, evictedPages: this.stats.evictedPages - before };
  }

  // ---- VRAM, BAR and eviction (vram.ts, eviction.ts) --------------------------------------

  /** Whether pfn is one of this GPU's VRAM pages. */
  ownsVram(pfn: number): boolean {
    return this.vram.owns(pfn);
  }

  /** See Vram.aliasPfn: the PCI_P2PDMA alias page of a VRAM page, or -EINVAL/-ENOMEM/-ENODEV. */
  aliasPfn(pfn: number): number {
    return this.vram.aliasPfn(pfn);
  }

  /** See Vram.barPfn: the BAR page of a VRAM page, or -EINVAL/-ENOMEM. */
  barPfn(pfn: number): number {
    return this.vram.barPfn(pfn);
  }

  /** The VRAM page behind an alias page, or -1. */
  vramPfnOfAlias(alias: number): number {
    return this.vram.vramPfnOfAlias(alias);
  }

  /** A locked, referenced VRAM folio of `order` (0 or 9), or -1 when VRAM is exhausted. */
  allocPage(order: number): number {
    return this.vram.allocPage(order);
  }

  /** migrate_device_pfns over one block: every page in use goes back to RAM. */
  evictBlock(b: number): number {
    return evictBlock(this.k, this.vram, b, this.stats, this.sink);
  }

  /** Evicts the least recently allocated block that is not in use by this pass. */
  private evictOne(): boolean {
    if (this.placement === 'pinned') return false; // pinned in VRAM: never evicted
    const b = this.vram.oldestIdleBlock();
    if (b < 0) return false;
    this.evictBlock(b);
    return true;
  }

  // ---- GPU fault service ------------------------------------------------------------------

  /**
   * Services one batch of replayable faults: `addrs[i]` faulted, writing if `writes[i]`.
   * Returns what the pass did; the copies of evictions it caused go to the sink.
   */
  serviceFaults(
    m: GpuMirror,
    addrs: ArrayLike<number>,
    writes: ArrayLike<number>,
    n: number,
    nowNs = 0,
  ): BatchResult {
    const res: BatchResult = {
      faults: n,
      uniquePages: 0,
      pagesToVram: 0,
      evictedPages: 0,
      hmmPages: 0,
      hmmRetries: 0,
      migrateCalls: 0,
      migratedEntries: 0,
      migratedPages: 0,
      serviced: 0,
      throttleNs: 0,
      transfers: [],
    };
    const st = this.stats;
    st.batches++;
    st.faults += n;
    const batch = coalesceFaults(addrs, writes, n);
    const u = batch.unique;
    const sortedWrite = batch.write;
    st.duplicateFaults += n - u;
    res.uniquePages = u;
    const faulting = batch.pages.subarray(0, u);
    const evictedBefore = st.evictedPages;
    // Pages below doneUntil are done: every range serviced is an interval holding its (sorted,
    // ascending) fault address, so a later fault lies in an earlier range only if it lies
    // below that range's end.
    let doneUntil = -1;
    for (let j = 0; j < u; j++) {
      const va = faulting[j]!;
      if (va < doneUntil) continue;
      const write = sortedWrite[j] === 1;
      if (m.translate(va, write)) continue;
      const [cs, ce] = chunkFor(this.chunkSizes, m, va);
      res.serviced++;
      if (this.thrashing && this.thrash.pinned(va, nowNs, res)) {
        // Pinned in RAM: map the system pages (remote access over the interconnect).
        mapRange(this, m, cs, ce, write, res);
        doneUntil = Math.max(doneUntil, ce);
        continue;
      }
      if (
        this.placement === 'remote' ||
        (this.placement === 'access-counter' && !this.counters.forceMigrate.has(va))
      ) {
        // Map the system pages where they are; the GPU reads them over its link.
        mapRange(this, m, cs, ce, write, res);
        doneUntil = Math.max(doneUntil, ce);
        continue;
      }
      this.counters.forceMigrate.delete(va);
      let moved = migrateChunk(this, m, cs, ce, res);
      let ms = cs;
      let me = ce;
      if (this.prefetch) {
        const [ps, pe, extra] = prefetchRegion(this, m, res, va, cs, ce, faulting);
        moved += extra;
        ms = Math.min(ms, ps);
        me = Math.max(me, pe);
      }
      res.pagesToVram += moved;
      st.pagesToVram += moved;
      // Map the chunk; writes need the writable mapping (any write fault inside it).
      let anyWrite = write;
      for (let x = lowerBound(faulting, ms); x < u && faulting[x]! < me && !anyWrite; x++)
        if (sortedWrite[x]) anyWrite = true;
      let r = mapRange(this, m, ms, me, anyWrite, res);
      if (r === 0 && this.placement !== 'pinned' && this.hasSystemPages(m, ms, me)) {
        // The walk faulted another device's pages back to RAM (migrate_to_ram): first touch
        // now moves them on to this device, as a second fault would.
        const again = migrateChunk(this, m, ms, me, res);
        if (again > 0) {
          res.pagesToVram += again;
          st.pagesToVram += again;
          r = mapRange(this, m, ms, me, anyWrite, res);
        }
      }
      if (r !== 0 && ms !== va) mapRange(this, m, va, va + PAGE_SIZE, write, res);
      doneUntil = Math.max(doneUntil, me);
    }
    res.evictedPages = st.evictedPages - evictedBefore;
    this.vram.busy.clear();
    return res;
  }

  /**
   * A GPU access to a remotely mapped page (access-counter placement): counts it for its
   * region; when the region crosses the threshold, returns true and the next service of that
   * address migrates it (the access counter notification). Other policies return false.
   */
  noteRemoteAccess(m: GpuMirror, va: number): boolean {
    if (this.placement !== 'access-counter') return false;
    return this.counters.note(m, va);
  }

  /** Whether the device page table maps va from VRAM (false for a remote mapping). */
  isVramMapped(m: GpuMirror, va: number): boolean {
    const pfn = m.devicePfn(va);
    return pfn !== 0 && this.ownsVram(pfn);
  }

  get thrashing(): boolean {
    return this.opts.thrashing ?? false;
  }

  /** Whether [start, end) has pages the device maps from system memory. */
  private hasSystemPages(m: GpuMirror, start: number, end: number): boolean {
    for (let a = start; a < end; a += PAGE_SIZE) {
      const pfn = m.devicePfn(a);
      // Our own VRAM pages are ZONE_DEVICE (memremapped before they were handed out).
      if (pfn !== 0 && !this.ownsVram(pfn) && !this.k.pgmapOf(pfn)) return true;
    }
    return false;
  }
}
