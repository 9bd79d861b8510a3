/**
 * An SVM GPU driver written against hmmlab's kernel API, modelled on nouveau's dmem,
 * Intel Xe (drm_gpusvm / drm_pagemap) and nvidia-uvm:
 *
 * - replayable faults are serviced in batches: duplicates removed, sorted, grouped by 2 MiB
 *   VA block (nvidia-uvm's va_block);
 * - each fault migrates the largest aligned chunk that fits the VMA (Xe's fault_chunk_sizes
 *   2M / 64K / 4K) into VRAM with migrate_vma_*, then maps it with hmm_range_fault into the
 *   device page table under the notifier sequence protocol;
 * - optional nvidia-uvm density prefetcher: within a VA block, a subtree of the 64 KiB-leaf
 *   bitmap tree is migrated whole when more than 51% of its pages are resident or faulting;
 * - VRAM is managed in 2 MiB blocks on an LRU list updated on allocation (as nvidia-uvm's
 *   root chunks); when it is full the least recently allocated block is evicted to RAM with
 *   migrate_device_pfns;
 * - CPU faults on VRAM pages come back through migrate_to_ram (one page when PTE-mapped, the
 *   whole 2 MiB folio when PMD-mapped);
 * - the device page table drops entries on notifier invalidations, one TLB invalidation per
 *   invalidation that removed something.
 *
 * The driver only changes state and counts work; the simulator turns counts into time with
 * the cost profile.
 */
import {
  HMM_PFN_HI_REQ_FAULT,
  HMM_PFN_HI_REQ_WRITE,
  HMM_PFN_HI_VALID,
  HMM_PFN_HI_WRITE,
  HPAGE_PMD_NR,
  HPAGE_PMD_ORDER,
  MEMORY_DEVICE_PRIVATE,
  MIGRATE_PFN_COMPOUND,
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_WRITE,
  MIGRATE_VMA_SELECT_COMPOUND,
  MIGRATE_VMA_SELECT_SYSTEM,
  PAGE_SIZE,
  PMD_SIZE,
  VM_FAULT_OOM,
  VM_FAULT_SIGBUS,
} from '../kernel/constants.js';
import { HmmRange, hmmRangeFault } from '../kernel/hmm.js';
import type { Kernel } from '../kernel/kernel.js';
import { DevPagemap, type VmFault } from '../kernel/memremap.js';
import {
  migrateDeviceFinalize,
  migrateDevicePages,
  migrateDevicePfns,
  migratePfn,
  migratePfnToPfn,
  migrateToRamArgs,
  migrateVmaFinalize,
  migrateVmaPages,
  migrateVmaSetup,
  newMigrateVma,
} from '../kernel/migrate_device.js';
import type { Mm } from '../kernel/mm.js';
import {
  MmuIntervalNotifier,
  type MmuNotifierRange,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
} from '../kernel/mmu_notifier.js';
import { DeviceTable } from './device-table.js';

const SZ_64K = 64 * 1024;
const BLOCK_PAGES = HPAGE_PMD_NR;

export interface GpuOptions {
  name: string;
  /**
   * The dev_pagemap owner of the VRAM (default: the device itself). Devices that share an
   * owner see each other's device-private pages in hmm_range_fault (Xe's owner registry).
   */
  owner?: unknown;
  vramBytes: number;
  /** Chunk sizes tried on a fault, largest first (Xe: 2 MiB, 64 KiB, 4 KiB). */
  chunkSizes?: number[];
  /** nvidia-uvm's density prefetcher (51% of a bitmap-tree subregion). */
  prefetch?: boolean;
  /** Prefetch threshold, percent (uvm_perf_prefetch_threshold = 51). */
  prefetchThreshold?: number;
  /** VRAM is registered with memremap_pages in regions of this size, on first use. */
  pagemapBytes?: number;
  /**
   * Where a faulted page goes (Simona Vetter: "driver-specific migration ... for allocation
   * policies"): 'first-touch' migrates on the GPU's fault (default); 'remote' never migrates and
   * maps system pages (zero-copy); 'access-counter' maps remotely and migrates a region after
   * `accessCounterThreshold` remote accesses to it (nvidia-uvm's access counters); 'pinned'
   * migrates on first touch and never evicts (what does not fit is mapped remotely).
   */
  placement?: PlacementPolicy;
  accessCounterThreshold?: number;
  accessCounterGranularityBytes?: number;
  /**
   * nvidia-uvm-like thrashing detection per 2 MiB VA block: a block migrated to VRAM again
   * within `thrashingLapseNs` of its previous migration counts an event; `thrashingThreshold`
   * consecutive events throttle the service (a nap of one lapse); after `thrashingPinThrottles`
   * throttles the block is pinned in RAM and mapped remotely for `thrashingPinNs`.
   */
  thrashing?: boolean;
  /**
   * Size of the BAR that exposes VRAM to PCI peers (default: all of VRAM, a resizable BAR).
   * A smaller BAR exposes only the first `barBytes` of VRAM.
   */
  barBytes?: number;
  thrashingLapseNs?: number;
  thrashingThreshold?: number;
  thrashingPinThrottles?: number;
  thrashingPinNs?: number;
}

export type PlacementPolicy = 'first-touch' | 'remote' | 'access-counter' | 'pinned';
export const PLACEMENT_POLICIES: readonly PlacementPolicy[] = [
  'first-touch',
  'remote',
  'access-counter',
  'pinned',
];

interface BlockHistory {
  lastIn: number;
  events: number;
  throttles: number;
  pinnedUntil: number;
}

/** Work counted by the driver; the simulator charges time for it. */
export interface GpuStats {
  faults: number;
  duplicateFaults: number;
  batches: number;
  /** Pages moved RAM -> VRAM by fault service (including prefetch). */
  pagesToVram: number;
  prefetchedPages: number;
  /** Pages moved VRAM -> RAM by eviction. */
  evictedPages: number;
  evictedBlocks: number;
  /** Pages moved VRAM -> RAM by CPU faults (migrate_to_ram). */
  cpuFaultPages: number;
  cpuFaults: number;
  hmmCalls: number;
  hmmPages: number;
  hmmRetries: number;
  migrateCalls: number;
  invalidations: number;
  invalidatedPages: number;
  tlbInvalidations: number;
  ptesWritten: number;
  /** Pages mapped from system memory because they could not be moved (remote access). */
  remoteMapped: number;
  thrashingEvents: number;
  throttles: number;
  pinnedBlocks: number;
}

/** One copy between RAM and VRAM: its size matters for the transfer-time curve. */
export interface Transfer {
  bytes: number;
  dir: 'h2d' | 'd2h';
}

/** What one service pass did (for the simulator). */
export interface BatchResult {
  faults: number;
  uniquePages: number;
  pagesToVram: number;
  evictedPages: number;
  hmmPages: number;
  hmmRetries: number;
  migrateCalls: number;
  /** migrate_vma entries moved: a 2 MiB folio moved whole counts once. */
  migratedEntries: number;
  /**
   * Faults that needed service: the first fault on a chunk. Later faults on a chunk already
   * serviced in the same batch are coalesced (nvidia-uvm groups a batch by VA block).
   */
  serviced: number;
  /** Time the thrashing detector made this pass nap (ns). */
  throttleNs: number;
  transfers: Transfer[];
}

function newStats(): GpuStats {
  return {
    faults: 0,
    duplicateFaults: 0,
    batches: 0,
    pagesToVram: 0,
    prefetchedPages: 0,
    evictedPages: 0,
    evictedBlocks: 0,
    cpuFaultPages: 0,
    cpuFaults: 0,
    hmmCalls: 0,
    hmmPages: 0,
    hmmRetries: 0,
    migrateCalls: 0,
    invalidations: 0,
    invalidatedPages: 0,
    tlbInvalidations: 0,
    ptesWritten: 0,
    remoteMapped: 0,
    thrashingEvents: 0,
    throttles: 0,
    pinnedBlocks: 0,
  };
}

const PT_VALID = 1;
const PT_WRITE = 2;

/** One address space mirrored by the GPU (an SVM "VM"). */
export class GpuMirror {
  /** The device page table: flags PT_VALID | PT_WRITE. */
  readonly pt = new DeviceTable();
  readonly notifier: MmuIntervalNotifier;
  constructor(
    readonly gpu: GpuDevice,
    readonly mm: Mm,
    readonly start: number,
    readonly end: number,
  ) {
    this.notifier = new MmuIntervalNotifier(
      { invalidate: (sub, range, cur) => this.invalidate(sub, range, cur) },
      mm.notifiers,
    );
    mm.notifiers.insert(this.notifier, start, end - start);
  }

  /** The notifier callback: drop device mappings (own migrations are handled by the driver). */
  private invalidate(sub: MmuIntervalNotifier, range: MmuNotifierRange, cur: number): boolean {
    mmuIntervalSetSeq(sub, cur);
    // Unlike test_hmm, our own migrations invalidate too: the chunk is remapped right after,
    // and a page that fails to move must not keep a stale translation.
    const s = this.gpu.stats;
    s.invalidations++;
    const removed = this.pt.clear(Math.max(range.start, this.start), Math.min(range.end, this.end));
    if (removed > 0) {
      s.invalidatedPages += removed;
      s.tlbInvalidations++;
    }
    return true;
  }

  /** Visits every valid device mapping: (va, pfn, writable). */
  forEach(visit: (va: number, pfn: number, writable: boolean) => void): void {
    this.pt.forEach((va, pfn, fl) => {
      visit(va, pfn, (fl & PT_WRITE) !== 0);
    });
  }

  /** Whether the GPU can access va (with write permission if asked) without faulting. */
  translate(va: number, write: boolean): boolean {
    const f = this.pt.flags(va);
    return (f & PT_VALID) !== 0 && (!write || (f & PT_WRITE) !== 0);
  }

  /** The pfn the device page table maps at va (0 when none). */
  devicePfn(va: number): number {
    return this.pt.flags(va) ? this.pt.pfn(va) : 0;
  }

  remove(): void {
    this.mm.notifiers.remove(this.notifier);
    this.pt.clear(this.start, this.end);
  }
}

/** A GPU with VRAM as DEVICE_PRIVATE memory. */
export class GpuDevice {
  readonly stats: GpuStats = newStats();
  readonly chunkSizes: number[];
  readonly prefetch: boolean;
  readonly prefetchThreshold: number;
  /** dev_pagemap owner of this GPU's VRAM. */
  readonly owner: unknown;
  readonly placement: PlacementPolicy;
  /** Remote accesses per region (access-counter placement). */
  private readonly accessCounts = new Map<number, number>();
  readonly vramPages: number;
  private readonly basePfn: number;
  private readonly regionPages: number;
  private readonly regions: (DevPagemap | undefined)[] = [];
  /** Per 2 MiB block: 0 free, 1 one large folio, 2 split into small pages. */
  private readonly blockState: Uint8Array;
  private readonly blockUsed: Uint16Array;
  private readonly freeBlocks: number[] = [];
  /** Free small pages inside split blocks. */
  private readonly freeSmall: number[] = [];
  /**
   * Blocks in use, least recently allocated first: a doubly linked list over typed arrays
   * (removal is O(1); an array's indexOf + splice made freeing n blocks O(n^2)).
   */
  private readonly lruPrev: Int32Array;
  private readonly lruNext: Int32Array;
  private readonly lruIn: Uint8Array;
  private lruHead = -1;
  private lruTail = -1;
  /** Blocks that must not be evicted during the current service pass. */
  private readonly busy = new Set<number>();
  readonly mirrors: GpuMirror[] = [];
  /** Pages currently allocated in VRAM. */
  vramUsed = 0;
  /** First pfn of the BAR (its PCI_P2PDMA alias pages) and its size in pages. */
  readonly barBase: number;
  readonly barPages: number;
  private readonly barRegions: (DevPagemap | undefined)[] = [];
  /** Alias (PCI_P2PDMA) pages created so far (Linux creates them all at probe). */
  aliasPagesCreated = 0;

  constructor(
    readonly k: Kernel,
    readonly opts: GpuOptions,
  ) {
    this.owner = opts.owner ?? this;
    this.placement = opts.placement ?? 'first-touch';
    this.chunkSizes = opts.chunkSizes ?? [PMD_SIZE, SZ_64K, PAGE_SIZE];
    this.prefetch = opts.prefetch ?? false;
    this.prefetchThreshold = opts.prefetchThreshold ?? 51;
    const blocks = Math.floor(opts.vramBytes / PMD_SIZE);
    this.vramPages = blocks * BLOCK_PAGES;
    this.regionPages = Math.max(
      BLOCK_PAGES,
      Math.floor((opts.pagemapBytes ?? 2 ** 30) / PAGE_SIZE / BLOCK_PAGES) * BLOCK_PAGES,
    );
    this.basePfn = k.requestFreeMemRegion(this.vramPages * PAGE_SIZE);
    this.barPages = Math.min(this.vramPages, Math.floor((opts.barBytes ?? opts.vramBytes) / PAGE_SIZE));
    this.barBase = k.requestFreeMemRegion(Math.max(1, this.barPages) * PAGE_SIZE);
    this.blockState = new Uint8Array(blocks);
    this.blockUsed = new Uint16Array(blocks);
    this.lruPrev = new Int32Array(blocks);
    this.lruNext = new Int32Array(blocks);
    this.lruIn = new Uint8Array(blocks);
    for (let b = blocks - 1; b >= 0; b--) this.freeBlocks.push(b);
  }

  get name(): string {
    return this.opts.name;
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
      this.blockState.byteLength +
      this.blockUsed.byteLength +
      this.lruPrev.byteLength +
      this.lruNext.byteLength +
      this.lruIn.byteLength +
      (this.freeBlocks.length + this.freeSmall.length) * slot +
      (this.busy.size + this.forceMigrate.size) * 4 * slot +
      (this.history.size + this.accessCounts.size) * 8 * slot;
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

  /** Set once removal starts: no new migrations to this device. */
  removing = false;
  removed = false;

  /**
   * Removes the device. 'safe' (drm_pagemap's unbind rule): refuse new migrations, evict
   * every device-private page to RAM (the unmapping notifies every mm, so peers drop their
   * mappings of those pages and of the BAR), then memunmap_pages the VRAM and BAR pagemaps:
   * no data is lost. 'surprise': the device is gone before the driver runs; pages still in
   * VRAM come back as all-ones (a PCIe read of a missing device) and are reported lost.
   * Returns the virtual pages whose data was lost (empty for a safe removal).
   */
  unplug(mode: 'safe' | 'surprise'): { lostPages: number; evictedPages: number } {
    this.removing = true;
    let lost = 0;
    const k = this.k;
    const f = k.frames;
    if (mode === 'surprise') {
      for (let b = 0; b < this.blockState.length; b++) {
        if (!this.blockState[b]) continue;
        const first = this.basePfn + b * BLOCK_PAGES;
        for (let p = first; p < first + BLOCK_PAGES; p++) {
          if (f.ref(f.head(p)) > 0) {
            f.fill(p, 0x7fffffff); // what remains readable of a missing device (poison)
            lost++;
          }
        }
      }
    }
    const before = this.stats.evictedPages;
    for (let b = 0; b < this.blockState.length; b++) if (this.blockState[b]) this.evictBlock(b);
    this.pendingTransfers = [];
    for (const m of this.mirrors) m.remove();
    for (const pgmap of this.regions) if (pgmap) k.memunmapPages(pgmap);
    for (const pgmap of this.barRegions) if (pgmap) k.memunmapPages(pgmap);
    this.removed = true;
    return { lostPages: lost, evictedPages: this.stats.evictedPages - before };
  }

  // ---- BAR and P2P alias pages ------------------------------------------------------------

  /** Whether pfn is one of this GPU's VRAM pages. */
  ownsVram(pfn: number): boolean {
    return pfn >= this.basePfn && pfn < this.basePfn + this.vramPages;
  }

  /**
   * The PCI_P2PDMA alias page through which peers reach VRAM page `pfn` (the RFC's
   * get_dma_pfn_for_device), or -ENOMEM when the page lies outside the BAR window.
   */
  aliasPfn(pfn: number): number {
    const index = pfn - this.basePfn;
    if (index < 0 || index >= this.vramPages) return -22; // -EINVAL: not our page
    if (index >= this.barPages) return -12; // -ENOMEM: outside the BAR window
    if (this.removing) return -19; // -ENODEV
    const region = Math.floor(index / this.regionPages);
    if (!this.barRegions[region]) {
      const start = this.barBase + region * this.regionPages;
      const n = Math.min(this.regionPages, this.barPages - region * this.regionPages);
      const pgmap = new DevPagemap(
        5 /* MEMORY_DEVICE_PCI_P2PDMA */,
        this,
        { folioFree: () => {} },
        `${this.name} BAR ${region}`,
      );
      const r = this.k.memremapPages(pgmap, start, n);
      if (r < 0) throw new Error(`model bug: memremap_pages of ${this.name}'s BAR failed (${r})`);
      this.barRegions[region] = pgmap;
      this.aliasPagesCreated += n;
    }
    return this.barBase + index;
  }

  /**
   * The BAR page (pfn in the BAR's physical range) through which peers reach VRAM page
   * `pfn`, without creating alias struct pages (dma_map_resource style), or -ENOMEM outside
   * the BAR window.
   */
  barPfn(pfn: number): number {
    const index = pfn - this.basePfn;
    if (index < 0 || index >= this.vramPages) return -22;
    if (index >= this.barPages) return -12;
    return this.barBase + index;
  }

  /** The VRAM page behind an alias page, or -1. */
  vramPfnOfAlias(alias: number): number {
    const index = alias - this.barBase;
    return index >= 0 && index < this.barPages ? this.basePfn + index : -1;
  }

  // ---- VRAM allocator -------------------------------------------------------------------

  private blockOf(pfn: number): number {
    return Math.floor((pfn - this.basePfn) / BLOCK_PAGES);
  }

  /** memremap_pages for the region holding block b, on first use. */
  private ensureRegion(b: number): void {
    const r = Math.floor((b * BLOCK_PAGES) / this.regionPages);
    if (this.regions[r]) return;
    const start = this.basePfn + r * this.regionPages;
    const n = Math.min(this.regionPages, this.vramPages - r * this.regionPages);
    const pgmap = new DevPagemap(
      MEMORY_DEVICE_PRIVATE,
      this.owner,
      {
        folioFree: (head) => this.folioFree(head),
        migrateToRam: (vmf) => this.migrateToRam(vmf),
        folioSplit: () => {},
      },
      `${this.name} VRAM ${r}`,
    );
    const ret = this.k.memremapPages(pgmap, start, n);
    if (ret < 0) throw new Error(`model bug: memremap_pages of ${this.name} failed (${ret})`);
    this.regions[r] = pgmap;
  }

  private takeBlock(): number {
    let b = this.freeBlocks.pop();
    if (b === undefined) {
      if (!this.evictOne()) return -1;
      b = this.freeBlocks.pop();
      if (b === undefined) return -1;
    }
    this.ensureRegion(b);
    this.lruPush(b);
    this.busy.add(b);
    return b;
  }

  /** A locked, referenced VRAM folio of `order` (0 or 9), or -1 when VRAM is exhausted. */
  allocPage(order: number): number {
    const k = this.k;
    if (order === HPAGE_PMD_ORDER) {
      const b = this.takeBlock();
      if (b < 0) return -1;
      this.blockState[b] = 1;
      this.blockUsed[b] = BLOCK_PAGES;
      const pfn = this.basePfn + b * BLOCK_PAGES;
      k.zoneDeviceFolioInit(pfn, HPAGE_PMD_ORDER);
      this.vramUsed += BLOCK_PAGES;
      return pfn;
    }
    let pfn = this.freeSmall.pop();
    if (pfn === undefined) {
      const b = this.takeBlock();
      if (b < 0) return -1;
      this.blockState[b] = 2;
      const first = this.basePfn + b * BLOCK_PAGES;
      for (let i = BLOCK_PAGES - 1; i >= 0; i--) this.freeSmall.push(first + i);
      pfn = this.freeSmall.pop()!;
    }
    const b = this.blockOf(pfn);
    this.blockUsed[b]!++;
    this.busy.add(b);
    k.zoneDeviceFolioInit(pfn, 0);
    this.vramUsed++;
    return pfn;
  }

  /** dev_pagemap_ops.folio_free. */
  private folioFree(head: number): void {
    const nr = 2 ** this.k.frames.order(head);
    const b = this.blockOf(head);
    this.vramUsed -= nr;
    this.blockUsed[b]! -= nr;
    if (this.blockState[b] === 2) this.freeSmall.push(head);
    if (this.blockUsed[b] === 0) {
      if (this.blockState[b] === 2) {
        const first = this.basePfn + b * BLOCK_PAGES;
        const last = first + BLOCK_PAGES;
        for (let i = this.freeSmall.length - 1; i >= 0; i--) {
          const p = this.freeSmall[i]!;
          if (p >= first && p < last) this.freeSmall.splice(i, 1);
        }
      }
      this.blockState[b] = 0;
      this.lruRemove(b);
      this.freeBlocks.push(b);
    }
  }

  /** Appends block b to the LRU list (most recently allocated). */
  private lruPush(b: number): void {
    if (this.lruIn[b]) throw new Error(`model bug: ${this.name} block ${b} is already on the LRU list`);
    this.lruIn[b] = 1;
    this.lruPrev[b] = this.lruTail;
    this.lruNext[b] = -1;
    if (this.lruTail >= 0) this.lruNext[this.lruTail] = b;
    else this.lruHead = b;
    this.lruTail = b;
  }

  /** Takes block b off the LRU list, if it is on it. */
  private lruRemove(b: number): void {
    if (!this.lruIn[b]) return;
    this.lruIn[b] = 0;
    const p = this.lruPrev[b]!;
    const n = this.lruNext[b]!;
    if (p >= 0) this.lruNext[p] = n;
    else this.lruHead = n;
    if (n >= 0) this.lruPrev[n] = p;
    else this.lruTail = p;
  }

  /** Evicts the least recently allocated block that is not in use by this pass. */
  private evictOne(): boolean {
    if (this.placement === 'pinned') return false; // pinned in VRAM: never evicted
    for (let b = this.lruHead; b >= 0; b = this.lruNext[b]!) {
      if (this.busy.has(b)) continue;
      this.evictBlock(b);
      return true;
    }
    return false;
  }

  /** migrate_device_pfns over one block: every page in use goes back to RAM. */
  evictBlock(b: number): number {
    const k = this.k;
    const f = k.frames;
    const first = this.basePfn + b * BLOCK_PAGES;
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
      this.pendingEntries++;
      const d = k.allocFolio(order);
      if (d < 0) continue; // no RAM: the page stays in VRAM
      k.folioTrylock(d);
      for (let j = 0; j < 2 ** order; j++) f.copyPage(d + j, spfn + j);
      dst[i] = migratePfn(d) + (order ? MIGRATE_PFN_COMPOUND : 0);
      moved += 2 ** order;
    }
    migrateDevicePages(k, src, dst, n);
    migrateDeviceFinalize(k, src, dst, n);
    this.stats.evictedPages += moved;
    this.stats.evictedBlocks++;
    this.pendingTransfers.push({ bytes: moved * PAGE_SIZE, dir: 'd2h' });
    return moved;
  }

  /** Transfers done outside a service pass (evictions, CPU faults) waiting to be charged. */
  pendingTransfers: Transfer[] = [];
  /** migrate entries moved by evictions since the last pass. */
  pendingEntries = 0;

  // ---- CPU faults on VRAM -----------------------------------------------------------------

  /** dev_pagemap_ops.migrate_to_ram. */
  private migrateToRam(vmf: VmFault): number {
    const k = this.k;
    const f = k.frames;
    const args = migrateToRamArgs(k, vmf, this.owner);
    if (migrateVmaSetup(k, args) < 0) return VM_FAULT_SIGBUS;
    let moved = 0;
    for (let i = 0; i < args.npages; i++) {
      const s = migratePfnToPfn(args.src[i]!);
      if (s < 0 || !(args.src[i]! & MIGRATE_PFN_MIGRATE)) continue;
      const o = f.order(s);
      const d = k.allocFolio(o);
      let compound = o > 0;
      if (d < 0 && o > 0) {
        // No huge page in RAM: the whole fault needs 512 small pages; keep it simple and fail
        // back to a single-page migration by splitting: not modelled, report OOM.
        compound = false;
      }
      if (d < 0) {
        migrateVmaFinalize(k, args);
        return VM_FAULT_OOM;
      }
      k.folioTrylock(d);
      for (let j = 0; j < 2 ** o; j++) f.copyPage(d + j, s + j);
      args.dst[i] =
        migratePfn(d) + (args.src[i]! & MIGRATE_PFN_WRITE) + (compound ? MIGRATE_PFN_COMPOUND : 0);
      moved += 2 ** o;
    }
    // Drop the device mappings of what moves (our own MIGRATE notifications are ignored).
    for (const m of this.mirrors) if (m.mm === vmf.mm) m.pt.clear(args.start, args.end);
    this.stats.tlbInvalidations++;
    migrateVmaPages(k, args);
    migrateVmaFinalize(k, args);
    this.stats.cpuFaults++;
    this.stats.cpuFaultPages += moved;
    this.pendingTransfers.push({ bytes: moved * PAGE_SIZE, dir: 'd2h' });
    return 0;
  }

  // ---- GPU fault service ------------------------------------------------------------------

  /** The largest chunk (from chunkSizes) around va that lies inside the mirror and one VMA. */
  private chunkFor(m: GpuMirror, va: number): [number, number] {
    const vma = m.mm.vmaLookup(va);
    for (const size of this.chunkSizes) {
      const s = Math.floor(va / size) * size;
      const e = s + size;
      if (vma && s >= vma.start && e <= vma.end && s >= m.start && e <= m.end) return [s, e];
    }
    return [Math.floor(va / PAGE_SIZE) * PAGE_SIZE, Math.floor(va / PAGE_SIZE) * PAGE_SIZE + PAGE_SIZE];
  }

  /** Migrates [start, end) to VRAM. Returns pages moved. */
  private migrateChunk(m: GpuMirror, start: number, end: number, res: BatchResult): number {
    if (this.removing) return 0; // removal in progress: no new device memory
    const k = this.k;
    const f = k.frames;
    const vma = m.mm.vmaLookup(start);
    if (!vma) return 0;
    const n = (end - start) / PAGE_SIZE;
    const args = newMigrateVma(
      vma,
      start,
      end,
      this.owner,
      MIGRATE_VMA_SELECT_SYSTEM | (n === BLOCK_PAGES ? MIGRATE_VMA_SELECT_COMPOUND : 0),
    );
    if (migrateVmaSetup(k, args) < 0) return 0;
    res.migrateCalls++;
    this.stats.migrateCalls++;
    if (args.cpages === 0) {
      migrateVmaFinalize(k, args);
      return 0;
    }
    let moved = 0;
    let copied = 0;
    let entries = 0;
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
      let d = large ? this.allocPage(HPAGE_PMD_ORDER) : this.allocPage(0);
      if (d >= 0) {
        for (let j = 0; j < step; j++) {
          if (s >= 0) f.copyPage(d + j, s + j);
          else f.fill(d + j, 0);
        }
        args.dst[i] = migratePfn(d) + write + (large ? MIGRATE_PFN_COMPOUND : 0);
        moved += step;
        if (s >= 0) copied += step;
        entries++;
      } else if (large) {
        // No free 2 MiB block: fall back to small pages; the core splits the THP.
        for (let j = 0; j < BLOCK_PAGES; j++) {
          d = this.allocPage(0);
          if (d < 0) break;
          if (s >= 0) f.copyPage(d, s + j);
          else f.fill(d, 0);
          args.dst[i + j] = migratePfn(d) + write;
          moved++;
          if (s >= 0) copied++;
          entries++;
        }
      }
      i += step;
    }
    migrateVmaPages(k, args);
    migrateVmaFinalize(k, args);
    res.migratedEntries += entries;
    // Only pages with data cross the link: holes and the zero page are cleared in VRAM.
    if (copied > 0) res.transfers.push({ bytes: copied * PAGE_SIZE, dir: 'h2d' });
    return moved;
  }

  /** hmm_range_fault over [start, end) and program the device page table. */
  private mapRange(m: GpuMirror, start: number, end: number, write: boolean, res: BatchResult): number {
    const k = this.k;
    const range = new HmmRange(
      m.notifier,
      start,
      end,
      HMM_PFN_HI_REQ_FAULT | (write ? HMM_PFN_HI_REQ_WRITE : 0),
      0,
      this.owner,
    );
    for (let tries = 0; tries < 100; tries++) {
      range.notifierSeq = mmuIntervalReadBegin(m.notifier);
      const ret = hmmRangeFault(k, m.mm, range);
      this.stats.hmmCalls++;
      const n = (end - start) / PAGE_SIZE;
      this.stats.hmmPages += n;
      res.hmmPages += n;
      if (ret === -16) {
        this.stats.hmmRetries++;
        res.hmmRetries++;
        continue;
      }
      if (ret) return ret;
      // driver lock
      if (mmuIntervalReadRetry(m.notifier, range.notifierSeq)) {
        this.stats.hmmRetries++;
        res.hmmRetries++;
        continue;
      }
      for (let i = 0; i < n; i++) {
        const hi = range.flags(i);
        if (!(hi & HMM_PFN_HI_VALID)) continue;
        const pfn = range.pfn(i);
        m.pt.set(start + i * PAGE_SIZE, pfn, PT_VALID | (hi & HMM_PFN_HI_WRITE ? PT_WRITE : 0));
        if (!this.ownsVram(pfn)) this.stats.remoteMapped++;
      }
      this.stats.ptesWritten += n;
      return 0;
    }
    return -16;
  }

  /**
   * Services one batch of replayable faults: `addrs[i]` faulted, writing if `writes[i]`.
   * Returns what the pass did; VRAM evictions and CPU-fault migrations since the last pass
   * are included in `transfers`.
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
      migratedEntries: this.pendingEntries,
      serviced: 0,
      throttleNs: 0,
      transfers: this.pendingTransfers,
    };
    this.pendingEntries = 0;
    this.pendingTransfers = [];
    const st = this.stats;
    st.batches++;
    st.faults += n;
    // Coalesce: one entry per page, write if any fault on it wrote; sorted by address. Typed
    // arrays, no object per fault: a key is the page address plus 1 for a write (addresses are
    // multiples of 4 KiB), so after a numeric sort a page's read and write faults sit together.
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
    st.duplicateFaults += n - u;
    res.uniquePages = u;
    const faulting = sorted.subarray(0, u);
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
      const [cs, ce] = this.chunkFor(m, va);
      res.serviced++;
      if (this.thrashing && this.thrashingPinned(va, nowNs, res)) {
        // Pinned in RAM: map the system pages (remote access over the interconnect).
        this.mapRange(m, cs, ce, write, res);
        doneUntil = Math.max(doneUntil, ce);
        continue;
      }
      if (
        this.placement === 'remote' ||
        (this.placement === 'access-counter' && !this.forceMigrate.has(va))
      ) {
        // Map the system pages where they are; the GPU reads them over its link.
        this.mapRange(m, cs, ce, write, res);
        doneUntil = Math.max(doneUntil, ce);
        continue;
      }
      this.forceMigrate.delete(va);
      let moved = this.migrateChunk(m, cs, ce, res);
      let ms = cs;
      let me = ce;
      if (this.prefetch) {
        const [ps, pe, extra] = this.prefetchRegion(m, res, va, cs, ce, faulting);
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
      let r = this.mapRange(m, ms, me, anyWrite, res);
      if (r === 0 && this.placement !== 'pinned' && this.hasSystemPages(m, ms, me)) {
        // The walk faulted another device's pages back to RAM (migrate_to_ram): first touch
        // now moves them on to this device, as a second fault would.
        const again = this.migrateChunk(m, ms, me, res);
        if (again > 0) {
          res.pagesToVram += again;
          st.pagesToVram += again;
          r = this.mapRange(m, ms, me, anyWrite, res);
        }
      }
      if (r !== 0 && ms !== va) this.mapRange(m, va, va + PAGE_SIZE, write, res);
      doneUntil = Math.max(doneUntil, me);
    }
    res.evictedPages = st.evictedPages - evictedBefore;
    res.transfers.push(...this.pendingTransfers);
    this.pendingTransfers = [];
    this.busy.clear();
    return res;
  }

  private readonly history = new Map<number, BlockHistory>();
  /** Addresses whose next service must migrate (access-counter notifications). */
  private readonly forceMigrate = new Set<number>();

  /**
   * A GPU access to a remotely mapped page (access-counter placement): counts it for its
   * region; when the region crosses the threshold, returns true and the next service of that
   * address migrates it (the access counter notification). Other policies return false.
   */
  noteRemoteAccess(m: GpuMirror, va: number): boolean {
    if (this.placement !== 'access-counter') return false;
    const gran = this.opts.accessCounterGranularityBytes ?? PMD_SIZE;
    const key = Math.floor(va / gran);
    const c = (this.accessCounts.get(key) ?? 0) + 1;
    if (c >= (this.opts.accessCounterThreshold ?? 256)) {
      this.accessCounts.delete(key);
      const page = Math.floor(va / PAGE_SIZE) * PAGE_SIZE;
      this.forceMigrate.add(page);
      // Drop the remote mapping so that the next access faults and migrates.
      m.pt.clear(page, page + PAGE_SIZE);
      return true;
    }
    this.accessCounts.set(key, c);
    return false;
  }

  /** Whether the device page table maps va from VRAM (false for a remote mapping). */
  isVramMapped(m: GpuMirror, va: number): boolean {
    return this.isResident(m, va);
  }

  get thrashing(): boolean {
    return this.opts.thrashing ?? false;
  }

  /**
   * Thrashing detection for the VA block of va at time now: counts an event when the block
   * comes back within a lapse of its last migration, throttles at the threshold, pins after
   * enough throttles. Returns true while the block is pinned (do not migrate it).
   */
  private thrashingPinned(va: number, now: number, res: BatchResult): boolean {
    const lapse = this.opts.thrashingLapseNs ?? 500_000;
    const threshold = this.opts.thrashingThreshold ?? 3;
    const pinAfter = this.opts.thrashingPinThrottles ?? 10;
    const pinNs = this.opts.thrashingPinNs ?? 150_000_000;
    const key = Math.floor(va / PMD_SIZE);
    let h = this.history.get(key);
    if (!h) {
      h = { lastIn: -Infinity, events: 0, throttles: 0, pinnedUntil: -Infinity };
      this.history.set(key, h);
    }
    if (now < h.pinnedUntil) return true;
    if (now - h.lastIn <= lapse) {
      h.events++;
      this.stats.thrashingEvents++;
    } else h.events = 0;
    h.lastIn = now;
    if (h.events >= threshold) {
      h.events = 0;
      h.throttles++;
      this.stats.throttles++;
      res.throttleNs += lapse;
      if (h.throttles >= pinAfter) {
        h.throttles = 0;
        h.pinnedUntil = now + pinNs;
        this.stats.pinnedBlocks++;
        return true;
      }
    }
    return false;
  }

  /**
   * nvidia-uvm's density prefetcher over the 2 MiB VA block of va: leaves are 64 KiB regions;
   * a subtree whose resident-or-faulting pages exceed the threshold is migrated whole.
   * Returns the covered range and the pages it moved.
   */
  private prefetchRegion(
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
      if ((a >= cs && a < ce) || this.isResident(m, a)) count[Math.floor(i / per)]!++;
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
      if (c * 100 > this.prefetchThreshold * size * per) best = [first, first + size];
    }
    if (!best) return [cs, ce, 0];
    const ps = block + best[0] * SZ_64K;
    const pe = block + best[1] * SZ_64K;
    let moved = 0;
    for (let a = ps; a < pe; a += SZ_64K) {
      if (a >= cs && a + SZ_64K <= ce) continue;
      moved += this.migrateChunk(m, a, a + SZ_64K, res);
    }
    this.stats.prefetchedPages += moved;
    return [Math.min(ps, cs), Math.max(pe, ce), moved];
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

  private isResident(m: GpuMirror, va: number): boolean {
    const pfn = m.devicePfn(va);
    return pfn !== 0 && this.ownsVram(pfn);
  }
}

/** The first index of sorted `a` whose value is >= x (a.length when none). */
function lowerBound(a: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
