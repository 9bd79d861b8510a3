/**
 * What a simulation reports: the result shape (SimResult and its parts), the raw event log
 * (SimEvent), and SimMetrics, the recorder the parts of a run report to. Workloads, events and
 * the platform's copy and fault paths call its methods as things happen (an observer of the
 * run: nothing in the kernel model or the drivers knows it exists); `result()` assembles
 * SimResult at the end from what they reported and from the drivers' own statistics.
 * No Linux counterpart (the nearest are the drivers' debugfs counters and perf events).
 *
 *   const metrics = new SimMetrics(true);                 // keep the event log
 *   const wm = metrics.workloadStarted('w0', 0);          // a workload reports as it runs
 *   wm.pagesTouched++;
 *   metrics.workloadEnded('w0', 1000);                    // logs workload_end at 1000 ns
 *   metrics.workloads.w0?.endNs;                          // 1000
 *
 * Key order in every record is the order things happened (workloads by start, RDMA and unplug
 * records by completion): JSON.stringify of a result is byte-identical for a config and seed.
 */
import type { DesignName } from '../designs/design.js';
import type { GpuStats } from '../drivers/gpu.js';
import type { RdmaStats } from '../drivers/rdma.js';
import type { DmirrorOp } from './config.js';

export interface UnplugMetrics {
  gpu: string;
  mode: 'safe' | 'surprise';
  atNs: number;
  endNs: number;
  lostPages: number;
  evictedPages: number;
  /** Peer mappings that pointed at the device when it vanished (surprise removal). */
  staleMappings: number;
  /** Devices that held stale mappings. */
  staleDevices: string[];
}

/** One raw event. Metrics can be recomputed from these. */
export type SimEvent =
  | {
      t: number;
      kind: 'batch';
      gpu: string;
      faults: number;
      uniquePages: number;
      pagesToVram: number;
      evictedPages: number;
      hmmPages: number;
      cpuNs: number;
      /** When the fault-handling CPU work began (after waiting for a core), and on which core. */
      cpuStartNs: number;
      core: number;
      /** The CPU work split by what it paid for, in service order: [name, ns]; sums to cpuNs. */
      phases: [string, number][];
      endNs: number;
      /** Pages in the GPU's VRAM after the batch. */
      vramPages: number;
      /** RAM pages in use (the page allocator's count) after the batch. */
      ramPages: number;
    }
  | {
      t: number;
      kind: 'transfer';
      link: string;
      bytes: number;
      endNs: number;
      /** The GPU copy engine that carried it (`gpu0.ce1`), and when it got it. */
      ce: string;
      ceStartNs: number;
      dir: 'h2d' | 'd2h';
    }
  | {
      t: number;
      kind: 'cpu_fault';
      workload: string;
      pages: number;
      cpuNs: number;
      core: number;
      /** The CPU work split by what it paid for: [name, ns]; sums to cpuNs. */
      phases: [string, number][];
      /** RAM pages in use and each GPU's VRAM pages after the fault (residency samples). */
      ramPages: number;
      vramPages: Record<string, number>;
    }
  | { t: number; kind: 'workload_end'; workload: string }
  | {
      t: number;
      kind: 'dmirror_ioctl';
      workload: string;
      device: string;
      op: DmirrorOp;
      pages: number;
      /** Pages the driver reported done (cmd.cpages). */
      cpages: number;
      /** CPU faults hmm_range_fault took (cmd.faults). */
      faults: number;
      cpuNs: number;
      core: number;
      /**
       * The CPU work split by what it paid for: [name, ns]; sums to cpuNs ('memcpy' is the
       * driver's copy over host memory, which holds the core).
       */
      phases: [string, number][];
      ret: number;
      ramPages: number;
      vramPages: Record<string, number>;
    }
  | {
      t: number;
      kind: 'nic_fault';
      nic: string;
      pages: number;
      cpuNs: number;
      cpuStartNs: number;
      core: number;
      phases: [string, number][];
      endNs: number;
      /** RAM pages in use after the fault (migrate_to_ram raises it). */
      ramPages: number;
      /** Pages in each GPU's VRAM after the fault, by GPU name. */
      vramPages: Record<string, number>;
    }
  | { t: number; kind: 'message'; workload: string; bytes: number; endNs: number };

export interface DeviceMetrics {
  faults: number;
  duplicateFaults: number;
  batches: number;
  pagesToVram: number;
  prefetchedPages: number;
  evictedPages: number;
  cpuFaultPages: number;
  bytesToVram: number;
  bytesToRam: number;
  hmmCalls: number;
  hmmPages: number;
  hmmRetries: number;
  invalidations: number;
  tlbInvalidations: number;
  thrashingEvents: number;
  throttles: number;
  pinnedBlocks: number;
  /** Pages the GPU maps from system memory (remote access). */
  remoteMappedPages: number;
  /** Bytes the GPU read or wrote remotely over its link (zero-copy accesses). */
  remoteBytes: number;
  /** Bytes the GPU read or wrote in a peer GPU's VRAM. */
  peerBytes: number;
  /** Fault service passes (each ends with one replay). */
  servicePasses: number;
  /** Time the GPU's workloads spent stalled on fault service (ns). */
  stallNs: number;
  /** CPU time in the GPU fault path (ns). */
  faultCpuNs: number;
  /** Time waiting for copies (ns). */
  copyWaitNs: number;
}

export interface WorkloadMetrics {
  startNs: number;
  endNs: number;
  pagesTouched: number;
  cpuFaults: number;
  faultNs: number;
  computeNs: number;
  /** dmirror workloads: ioctls issued, pages the driver reported done, and failed ioctls. */
  ioctls?: number;
  cpages?: number;
  ioctlErrors?: number;
}

export interface NicMetrics {
  nicFaults: number;
  hmmCalls: number;
  hmmPages: number;
  hmmRetries: number;
  dmaMaps: number;
  hostPages: number;
  p2pPages: number;
  fallbacks: number;
  fallbackPages: number;
  invalidations: number;
  /** CPU time in the NIC (ODP) fault path, ns, and the parts of it spent in hmm_range_fault
   *  (walk and PTEs), in the design's P2P decisions (callbacks, locks, map types) and in DMA
   *  mapping. The rest is fault entry, invalidations and migrations. */
  faultCpuNs: number;
  hmmCpuNs: number;
  designCpuNs: number;
  dmaMapCpuNs: number;
}

export interface RdmaMetrics {
  messages: number;
  bytes: number;
  /** Bytes per ns (GB/s) over the workload's duration. */
  gbps: number;
  latencyP50Ns: number;
  latencyP90Ns: number;
  latencyP99Ns: number;
  latencyMaxNs: number;
  /** NIC page faults the workload's messages raised (each stalls its queue pair). */
  faultStalls: number;
  /** Time queue pairs stood stalled on those faults, summed over queue pairs (ns). */
  faultStallNs: number;
  /**
   * Time queue pairs waited, before looking at a message's pages, for work in flight on them:
   * folios another operation was migrating, or a fault of another of the NIC's queue pairs.
   * Summed over queue pairs (ns).
   */
  inFlightWaitNs: number;
  /** Message bytes the NIC DMA'd peer to peer (to or from a GPU's VRAM through its BAR). */
  p2pBytes: number;
  /** Message bytes the NIC DMA'd to or from host memory. */
  hostBytes: number;
}

export interface DesignMetrics {
  name: DesignName;
  callbacks: number;
  locks: number;
  mapTypeQueries: number;
  p2pPages: number;
  fallbackPages: number;
  windowMisses: number;
  /**
   * Memory for BAR alias (PCI_P2PDMA) struct pages: the alias pages the run's BAR pagemaps were
   * given x structPageBytes, whichever design asked for them. The model creates them per
   * pagemap region (1 GiB) on first use; Linux's pci_p2pdma_add_resource creates them for the
   * whole BAR at probe, so on Linux the figure is BAR pages x structPageBytes for the designs
   * that create alias pages (rfc-callback, pagemap-p2p).
   */
  aliasStructPageBytes: number;
}

export interface SimResult {
  profile: string;
  seed: number;
  endNs: number;
  events: number;
  devices: Record<string, DeviceMetrics>;
  workloads: Record<string, WorkloadMetrics>;
  links: Record<string, { bytes: number; busyNs: number }>;
  cpu: { cores: number; busyNs: number; waitNs: number };
  nics: Record<string, NicMetrics>;
  rdma: Record<string, RdmaMetrics>;
  unplugs: Record<string, UnplugMetrics>;
  design: DesignMetrics;
  log?: SimEvent[];
}

function emptyDevice(): DeviceMetrics {
  return {
    faults: 0,
    duplicateFaults: 0,
    batches: 0,
    pagesToVram: 0,
    prefetchedPages: 0,
    evictedPages: 0,
    cpuFaultPages: 0,
    bytesToVram: 0,
    bytesToRam: 0,
    hmmCalls: 0,
    hmmPages: 0,
    hmmRetries: 0,
    invalidations: 0,
    tlbInvalidations: 0,
    thrashingEvents: 0,
    throttles: 0,
    pinnedBlocks: 0,
    remoteMappedPages: 0,
    remoteBytes: 0,
    peerBytes: 0,
    servicePasses: 0,
    stallNs: 0,
    faultCpuNs: 0,
    copyWaitNs: 0,
  };
}

/** What the simulator itself counts for a NIC's fault path (CPU time by part, ns). */
export interface NicCpuCounters {
  faultCpuNs: number;
  hmmNs: number;
  designNs: number;
  dmaNs: number;
}

/** The GPU driver's statistics a result reports (net of initial placement). */
export type ReportedGpuStats = Pick<
  GpuStats,
  | 'faults'
  | 'duplicateFaults'
  | 'batches'
  | 'pagesToVram'
  | 'prefetchedPages'
  | 'evictedPages'
  | 'cpuFaultPages'
  | 'hmmCalls'
  | 'hmmPages'
  | 'hmmRetries'
  | 'invalidations'
  | 'tlbInvalidations'
  | 'thrashingEvents'
  | 'throttles'
  | 'pinnedBlocks'
  | 'remoteMapped'
>;

/** The NIC driver's statistics a result reports. */
export type ReportedNicStats = Omit<RdmaStats, 'dmaUnmaps' | 'invalidatedPages'>;

/** Everything `SimMetrics.result` reads that is not reported to the recorder during the run. */
export interface RunSummary {
  profile: string;
  seed: number;
  endNs: number;
  events: number;
  /** Each GPU in configuration order: its driver's statistics now and before the clock started. */
  gpus: { name: string; stats: ReportedGpuStats; base: ReportedGpuStats }[];
  /** Each NIC in configuration order with its driver's statistics. */
  nics: { name: string; stats: ReportedNicStats }[];
  links: readonly { name: string; bytesCarried: number; busyNs: number }[];
  cpu: { cores: number; busyNs: number; waitNs: number };
  design: DesignMetrics;
}

/**
 * The recorder of one run. Parts report to it as they run; it never reads the model.
 * Methods that take a name create the record on first use, so the key order of each record
 * is the order of first reports.
 */
export class SimMetrics {
  /** The raw event log, or null when the run does not keep one. */
  readonly log: SimEvent[] | null;
  /** Workload records by name, in the order the workloads started (RDMA: finished). */
  readonly workloads: Record<string, WorkloadMetrics> = {};
  /** RDMA workload records, in the order they finished. */
  readonly rdma: Record<string, RdmaMetrics> = {};
  /** Unplug event records, in the order they finished. */
  readonly unplugs: Record<string, UnplugMetrics> = {};
  private readonly gpus = new Map<string, DeviceMetrics>();
  private readonly nics = new Map<string, NicCpuCounters>();

  constructor(keepLog: boolean) {
    this.log = keepLog ? [] : null;
  }

  /** Appends an event to the log if the run keeps one. Build costly events only when `log` is set. */
  event(e: SimEvent): void {
    this.log?.push(e);
  }

  /**
   * The simulator-owned counters of GPU `name` (stalls, copy bytes, fault CPU time...); the
   * driver-owned ones are filled in by `result`. Always the same object for a name.
   */
  gpu(name: string): DeviceMetrics {
    let m = this.gpus.get(name);
    if (!m) {
      m = emptyDevice();
      this.gpus.set(name, m);
    }
    return m;
  }

  /** The CPU-time counters of NIC `name`'s fault path. Always the same object for a name. */
  nic(name: string): NicCpuCounters {
    let m = this.nics.get(name);
    if (!m) {
      m = { faultCpuNs: 0, hmmNs: 0, designNs: 0, dmaNs: 0 };
      this.nics.set(name, m);
    }
    return m;
  }

  /**
   * Opens workload `name`'s record, started at `startNs` (with dmirror's ioctl counters when
   * `ioctls`). CPU, GPU and dmirror workloads open it when they start, RDMA workloads when they
   * finish, so that is where their key sits in `workloads`.
   */
  workloadStarted(name: string, startNs: number, ioctls = false): WorkloadMetrics {
    const wm: WorkloadMetrics = {
      startNs,
      endNs: 0,
      pagesTouched: 0,
      cpuFaults: 0,
      faultNs: 0,
      computeNs: 0,
    };
    if (ioctls) Object.assign(wm, { ioctls: 0, cpages: 0, ioctlErrors: 0 });
    this.workloads[name] = wm;
    return wm;
  }

  /** Ends workload `name` at `nowNs` (its record must exist) and logs workload_end. */
  workloadEnded(name: string, nowNs: number): void {
    this.workloads[name]!.endNs = nowNs;
    this.event({ t: nowNs, kind: 'workload_end', workload: name });
  }

  /** Records RDMA workload `name`'s results. */
  rdmaFinished(name: string, m: RdmaMetrics): void {
    this.rdma[name] = m;
  }

  /** Records what unplug event `name` did. */
  unplugFinished(name: string, m: UnplugMetrics): void {
    this.unplugs[name] = m;
  }

  /** The result: what was reported, plus the drivers' statistics net of initial placement. */
  result(run: RunSummary): SimResult {
    const devices: Record<string, DeviceMetrics> = {};
    for (const { name, stats: s, base: b } of run.gpus) {
      devices[name] = {
        ...this.gpu(name),
        faults: s.faults - b.faults,
        duplicateFaults: s.duplicateFaults - b.duplicateFaults,
        batches: s.batches - b.batches,
        pagesToVram: s.pagesToVram - b.pagesToVram,
        prefetchedPages: s.prefetchedPages - b.prefetchedPages,
        evictedPages: s.evictedPages - b.evictedPages,
        cpuFaultPages: s.cpuFaultPages - b.cpuFaultPages,
        hmmCalls: s.hmmCalls - b.hmmCalls,
        hmmPages: s.hmmPages - b.hmmPages,
        hmmRetries: s.hmmRetries - b.hmmRetries,
        invalidations: s.invalidations - b.invalidations,
        tlbInvalidations: s.tlbInvalidations - b.tlbInvalidations,
        thrashingEvents: s.thrashingEvents - b.thrashingEvents,
        throttles: s.throttles - b.throttles,
        pinnedBlocks: s.pinnedBlocks - b.pinnedBlocks,
        remoteMappedPages: s.remoteMapped - b.remoteMapped,
      };
    }
    const links: Record<string, { bytes: number; busyNs: number }> = {};
    // Whole bytes: the fabric shares a link's rate in floating point, so a 1 GiB transfer can
    // add up to 1073741823.999; the model keeps its sums, the result says bytes.
    for (const l of run.links) links[l.name] = { bytes: Math.round(l.bytesCarried), busyNs: l.busyNs };
    const nics: Record<string, NicMetrics> = {};
    for (const { name, stats: st } of run.nics) {
      const n = this.nic(name);
      nics[name] = {
        nicFaults: st.nicFaults,
        hmmCalls: st.hmmCalls,
        hmmPages: st.hmmPages,
        hmmRetries: st.hmmRetries,
        dmaMaps: st.dmaMaps,
        hostPages: st.hostPages,
        p2pPages: st.p2pPages,
        fallbacks: st.fallbacks,
        fallbackPages: st.fallbackPages,
        invalidations: st.invalidations,
        faultCpuNs: n.faultCpuNs,
        hmmCpuNs: n.hmmNs,
        designCpuNs: n.designNs,
        dmaMapCpuNs: n.dmaNs,
      };
    }
    const result: SimResult = {
      profile: run.profile,
      seed: run.seed,
      endNs: run.endNs,
      events: run.events,
      devices,
      workloads: this.workloads,
      links,
      cpu: run.cpu,
      nics,
      rdma: this.rdma,
      unplugs: this.unplugs,
      design: run.design,
    };
    if (this.log) result.log = this.log;
    return result;
  }
}
