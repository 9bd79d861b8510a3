/**
 * The SVM GPU driver's options, counters and per-pass results (src/drivers/gpu/).
 *
 * Counterparts: the module parameters and per-GPU statistics of nvidia-uvm
 * (uvm_perf_prefetch_threshold, uvm_perf_thrashing_*, the fault-service counters of
 * uvm_gpu_replayable_faults.c) and Xe's fault_chunk_sizes (drivers/gpu/drm/xe/xe_svm.c).
 * Deliberate difference: the driver only counts work here; the simulator turns counts into
 * time with the cost profile.
 */

export interface GpuOptions {
  name: string;
  /**
   * The dev_pagemap owner of the VRAM (default: the device itself). Devices that share an
   * owner see each other's device-private pages in hmm_range_fault (Xe's owner registry).
   */
  owner?: unknown;
  /** VRAM in bytes (whole 2 MiB blocks are used). The names are the scenario file's (`devices.gpus[]`). */
  vram: number;
  /** Chunk sizes tried on a fault, largest first (Xe: 2 MiB, 64 KiB, 4 KiB). */
  chunkSizes?: number[];
  /**
   * What migrate_to_ram brings back: the faulting folio ('folio': test_hmm's
   * dmirror_devmem_fault and nouveau_dmem_migrate_to_ram; default), or the chunk around the
   * fault that a GPU fault would migrate ('chunk': Xe's __drm_pagemap_migrate_to_ram, which
   * migrates the devmem allocation, ALIGN_DOWN(fault, size) to ALIGN(fault + 1, size)).
   */
  migrateToRam?: 'folio' | 'chunk';
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
   * Size in bytes of the BAR that exposes VRAM to PCI peers (default: all of VRAM, a resizable
   * BAR). A smaller BAR exposes only the first `bar` bytes of VRAM.
   */
  bar?: number;
  thrashingLapseNs?: number;
  thrashingThreshold?: number;
  thrashingPinThrottles?: number;
  thrashingPinNs?: number;
  /**
   * Where the driver hands the copies it makes outside a fault-service pass's own migration
   * (evictions, migrate_to_ram, removal): the simulator passes one per GPU and charges them.
   * Default: none (the copies are only counted in `stats`).
   */
  sink?: TransferSink;
}

export type PlacementPolicy = 'first-touch' | 'remote' | 'access-counter' | 'pinned';
export const PLACEMENT_POLICIES: readonly PlacementPolicy[] = [
  'first-touch',
  'remote',
  'access-counter',
  'pinned',
];

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

export function newStats(): GpuStats {
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

/** One copy between RAM and VRAM: its size matters for the transfer-time curve. */
export interface Transfer {
  bytes: number;
  dir: 'h2d' | 'd2h';
}

/**
 * The migrate_vma work behind a copy, as the cost model charges it (src/sim/migrate-cost.ts):
 * `calls` is the migrate sequences run (migrate_vma_setup .. migrate_vma_finalize, or
 * migrate_device_pfns .. migrate_device_finalize), `entries` the migrate entries they moved
 * (migrateEntriesMoved: a PMD-size folio moved whole is one entry, a folio split first is one
 * per page).
 */
export interface MigrateWork {
  calls: number;
  entries: number;
  /** Pages those entries cover (a 2 MiB folio moved whole is one entry of 512 pages). */
  pages: number;
}

/**
 * Receives the copies a driver makes outside the result of a fault-service pass, each with the
 * migrate work that made it: evictions (migrate_device_pfns of a VRAM block), CPU and NIC
 * faults (migrate_to_ram) and a removal's evictions. Called once per copy, in the order the
 * driver makes them.
 */
export interface TransferSink {
  transfer(t: Transfer, work: MigrateWork): void;
}

/** A sink that keeps nothing (the default: the driver's stats still count the work). */
export const DISCARD_TRANSFERS: TransferSink = Object.freeze({ transfer(): void {} });

/** What a TransferQueue held: its copies (none of 0 bytes), oldest first, and their work. */
export interface QueuedMigrations extends MigrateWork {
  transfers: Transfer[];
}

/**
 * A sink that queues copies and their migrate work until its owner takes them: the simulator
 * keeps one per GPU and charges what it holds at its drain points (around a fault-service pass,
 * after a CPU or NIC fault, at a removal). Whoever takes the copies takes their work with them.
 */
export class TransferQueue implements TransferSink {
  private queued: Transfer[] = [];
  private calls = 0;
  private entries = 0;
  private pages = 0;

  transfer(t: Transfer, work: MigrateWork): void {
    if (t.bytes > 0) this.queued.push(t);
    this.calls += work.calls;
    this.entries += work.entries;
    this.pages += work.pages;
  }

  /** Everything queued so far; the queue is empty after. */
  take(): QueuedMigrations {
    const r = { transfers: this.queued, calls: this.calls, entries: this.entries, pages: this.pages };
    this.queued = [];
    this.calls = 0;
    this.entries = 0;
    this.pages = 0;
    return r;
  }

  /** Whether nothing is queued (no copy and no migrate work). */
  get empty(): boolean {
    return this.queued.length === 0 && this.calls === 0 && this.entries === 0;
  }
}

/** What one service pass did (for the simulator). */
export interface BatchResult {
  faults: number;
  uniquePages: number;
  pagesToVram: number;
  evictedPages: number;
  hmmPages: number;
  hmmRetries: number;
  /**
   * migrate_vma_setup calls of this pass's migrations, plus the migrate sequences (evictions)
   * its sink held when the simulator took it around the pass (servicePass).
   */
  migrateCalls: number;
  /**
   * migrate entries moved by those (migrateEntriesMoved): a 2 MiB folio moved whole counts
   * once, a folio split first once per page.
   */
  migratedEntries: number;
  /** Pages those entries cover. */
  migratedPages: number;
  /**
   * Faults that needed service: the first fault on a chunk. Later faults on a chunk already
   * serviced in the same batch are coalesced (nvidia-uvm groups a batch by VA block).
   */
  serviced: number;
  /** Time the thrashing detector made this pass nap (ns). */
  throttleNs: number;
  /**
   * The copies of this pass's own migrations to VRAM, in order. Evictions the pass caused go
   * to the driver's sink (TransferSink), not here.
   */
  transfers: Transfer[];
}
