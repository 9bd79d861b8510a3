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
 * Receives the copies a driver makes outside the result of a fault-service pass: evictions
 * (migrate_device_pfns of a VRAM block, with the migrate entries they moved), CPU faults
 * (migrate_to_ram, 0 entries) and a removal's evictions. Called once per copy, in the order the
 * driver makes them.
 */
export interface TransferSink {
  transfer(t: Transfer, migrateEntries: number): void;
}

/** A sink that keeps nothing (the default: the driver's stats still count the work). */
export const DISCARD_TRANSFERS: TransferSink = Object.freeze({ transfer(): void {} });

/**
 * A sink that queues copies until its owner takes them: the simulator keeps one per GPU and
 * charges what it holds at its drain points (after a CPU or NIC fault, around a fault-service
 * pass, at a removal).
 */
export class TransferQueue implements TransferSink {
  private queued: Transfer[] = [];
  private entries = 0;

  transfer(t: Transfer, migrateEntries: number): void {
    this.queued.push(t);
    this.entries += migrateEntries;
  }

  /** The copies queued so far, oldest first; the queue keeps none. */
  takeTransfers(): Transfer[] {
    const t = this.queued;
    this.queued = [];
    return t;
  }

  /** The migrate entries queued so far; the queue's count goes back to 0. */
  takeEntries(): number {
    const e = this.entries;
    this.entries = 0;
    return e;
  }

  /** The migrate entries queued so far, leaving them queued. */
  get pendingEntries(): number {
    return this.entries;
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
  migrateCalls: number;
  /** migrate_vma entries moved by this pass's migrations: a 2 MiB folio moved whole counts once. */
  migratedEntries: number;
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
