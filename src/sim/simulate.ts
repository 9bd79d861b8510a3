/**
 * simulate(): runs workloads on the kernel model in simulated time. CPU threads and GPU
 * kernels walk access streams over buffers; page faults go through the real fault paths of
 * the kernel model and the SVM GPU driver, and the work they do is charged with the cost
 * profile: CPU time on fault-handling cores, copies over PCIe links that share bandwidth
 * max-min fairly, GPU stalls while a fault batch is serviced.
 *
 * Events are per batch and per transfer, never per page: a workload accumulates the time of
 * the pages it touches without faulting and yields once per chunk of work.
 *
 * The result is plain JSON; the same config and seed give a byte-identical result.
 */
import { DESIGN_NAMES, type DesignName, type P2pMapType } from '../designs/design.js';
import { createDesign } from '../designs/designs.js';
import {
  type BatchResult,
  type GpuDevice,
  type GpuMirror,
  type PlacementPolicy,
  type Transfer,
  TransferQueue,
} from '../drivers/gpu.js';
import { type OdpMr, RdmaNic } from '../drivers/rdma.js';
import {
  MADV_HUGEPAGE,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  O_RDWR,
  PAGE_SIZE,
  PMD_SIZE,
  PROT_READ,
  PROT_WRITE,
} from '../kernel/constants.js';
import { userTouch } from '../kernel/memory.js';
import type { Mm } from '../kernel/mm.js';
import { PciTopology, TopologySpecError } from '../kernel/p2pdma.js';
import { PMD_HUGE, PMD_TABLE, PTE_PRESENT, PTE_TYPE_MASK, PTE_WRITE, pteIndex } from '../kernel/pgtable.js';
import { Machine, type Process } from '../uapi/machine.js';
import {
  HMM_DMIRROR_EXCLUSIVE,
  HMM_DMIRROR_MIGRATE_TO_DEV,
  HMM_DMIRROR_MIGRATE_TO_SYS,
  HMM_DMIRROR_READ,
  HMM_DMIRROR_WRITE,
} from '../uapi/test_hmm_uapi.js';
import { type CostProfile, getProfile, resolveProfile, transferTimeNs, withOverrides } from './costs.js';
import { Engine, type Wait } from './engine.js';
import { Fabric, Link, type TransferResult } from './links.js';
import { CopyEngine, CpuPool } from './resources.js';
import { Rng } from './rng.js';

export type AccessPattern = 'sequential' | 'random' | 'strided';

export interface GpuConfig {
  name: string;
  vramBytes: number;
  /** Faults fetched per batch (nvidia-uvm uvm_perf_fault_batch_count; default: the profile's). */
  faultBatchSize?: number;
  /** Migration chunk sizes, largest first (default 2 MiB, 64 KiB, 4 KiB as Xe). */
  chunkSizes?: number[];
  /** nvidia-uvm density prefetcher. */
  prefetch?: boolean;
  /** nvidia-uvm-like thrashing detection (throttle, then pin in RAM and map remotely). */
  thrashing?: boolean;
  /**
   * The host link. Default: the profile's measured host<->device bandwidths. A PCIe link of
   * another generation or width scales the profile's efficiency (measured / raw) to that
   * link's raw bandwidth; 'c2c' is NVLink-C2C at the profile's nvlinkC2cBandwidth.
   */
  link?: { kind: 'pcie'; gen: 3 | 4 | 5; lanes?: number } | { kind: 'c2c' };
  /** CPU socket the GPU hangs off (default 0). Host memory is on socket 0; socket 1 crosses the socket interconnect. */
  socket?: 0 | 1;
  /** BAR size exposing VRAM to PCI peers (default all of VRAM: a resizable BAR). */
  barBytes?: number;
  /** Placement after a GPU fault (default 'first-touch'). */
  placement?: PlacementPolicy;
}

export interface BufferConfig {
  name: string;
  bytes: number;
  /** madvise(MADV_HUGEPAGE) on the buffer. */
  hugepage?: boolean;
  /**
   * Where the pages are at time 0, placed before the clock starts and not charged: 'ram'
   * (written by the CPU, as with MAP_POPULATE) or a GPU's name (write faults serviced by that
   * GPU, so its placement policy decides; first-touch moves them into VRAM). Default: not
   * populated.
   */
  place?: string;
  /**
   * The process whose address space holds the buffer (one of SimConfig.processes; default the
   * first). Each process is its own mm: every GPU mirrors and every NIC registers an ODP MR
   * over each process that has buffers, so devices, VRAM and links are shared between them.
   */
  process?: string;
}

export interface WorkloadBase {
  name: string;
  buffer: string;
  op: 'read' | 'write';
  pattern: AccessPattern;
  /** Bytes of the buffer to cover per pass (default all of it). */
  bytes?: number;
  /** Distance between consecutive accesses for 'strided' (default 64 KiB). */
  strideBytes?: number;
  /** Passes over the buffer (default 1). */
  passes?: number;
  /** Start after this workload has finished. */
  after?: string;
  /** Start time in ns (default 0, or when `after` finished). */
  startNs?: number;
}

export interface CpuWorkload extends WorkloadBase {
  kind: 'cpu';
  /** CPU time per page touched when no fault happens (default 100 ns). */
  nsPerPage?: number;
}

export interface GpuWorkload extends WorkloadBase {
  kind: 'gpu';
  gpu: string;
  /** GPU compute rate over resident data, bytes per ns (default: the profile's device memory bandwidth). */
  bytesPerNs?: number;
}

export interface RdmaWorkload extends WorkloadBase {
  kind: 'rdma';
  nic: string;
  /** Bytes per RDMA message (like perftest's -s). */
  messageBytes: number;
  /** Messages to send (like perftest's -n). */
  messages: number;
  /** Messages in flight at once (like perftest's -t). Default 1. */
  queueDepth?: number;
}

/**
 * ioctls on a test_hmm mirror device (/dev/hmm_dmirrorN, src/drivers/dmirror.ts), from the
 * buffer's process: READ/WRITE mirror pages through hmm_range_fault and copy them through a
 * bounce buffer; MIGRATE moves them into the device's private memory (migrate_vma), TO_SYS
 * back; EXCLUSIVE takes device-exclusive entries. dmirror is a software device: its memory is
 * RAM, so its copies are memcpy over host memory, and each ioctl runs on a CPU core.
 */
export interface DmirrorWorkload extends Omit<WorkloadBase, 'op'> {
  kind: 'dmirror';
  /** The mirror device (SimConfig.dmirrors). */
  dmirror: string;
  op: DmirrorOp;
  /** Pages per ioctl (default 512: 2 MiB). */
  ioctlPages?: number;
}

export const DMIRROR_OPS = ['read', 'write', 'migrate', 'migrate-to-ram', 'exclusive'] as const;
export type DmirrorOp = (typeof DMIRROR_OPS)[number];

/** A test_hmm mirror device: /dev/hmm_dmirror<minor>, device-private (minor 0 or 1). */
export interface DmirrorConfig {
  name: string;
  minor: 0 | 1;
}

export type WorkloadConfig = CpuWorkload | GpuWorkload | RdmaWorkload | DmirrorWorkload;

export interface UnplugEvent {
  name: string;
  gpu: string;
  mode: 'safe' | 'surprise';
  after?: string;
  startNs?: number;
}

/** What an unplug event did. */
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

export interface NicConfig {
  name: string;
  /** What the NIC does when a P2P page cannot be mapped: the RFC's policy or v2's. */
  fallback?: 'rfc' | 'v2';
  socket?: 0 | 1;
  ats?: boolean;
  relaxedOrdering?: boolean;
}

export interface SimConfig {
  /**
   * Cost profile: a built-in's name (see docs/costs.md), or a CostProfile object (a profile file
   * read at the edge with src/profile/, or one built in code). simulate() reads no files.
   */
  profile: string | CostProfile;
  /** Parameter overrides by name. */
  overrides?: Record<string, number>;
  ramBytes?: number;
  /** CPU cores available to fault handling (default 8). */
  cpuCores?: number;
  thp?: 'always' | 'madvise' | 'never';
  gpus: GpuConfig[];
  /** Process names (default one process, 'main'). Buffers say which one they belong to. */
  processes?: string[];
  buffers: BufferConfig[];
  workloads: WorkloadConfig[];
  /** RDMA NICs. */
  nics?: NicConfig[];
  /** test_hmm mirror devices that `dmirror` workloads drive. */
  dmirrors?: DmirrorConfig[];
  /**
   * Private GPU-to-GPU links (NVLink/xGMI-like) at the profile's peerLinkBandwidth per
   * direction. A GPU that maps a peer's VRAM (a shared pagemap owner: the owner-registry
   * design) reads it over the link; otherwise peer traffic goes through PCIe.
   */
  gpuLinks?: { a: string; b: string }[];
  /**
   * GPU hot-unplug events. A 'safe' removal evicts the GPU's memory to RAM (peers invalidated
   * first); a 'surprise' removal loses what was in VRAM and lists the peer mappings that were
   * stale. Workloads on a removed GPU stop. An event can wait for a workload (`after`) and
   * workloads can wait for an event by its name.
   */
  unplugs?: UnplugEvent[];
  /** The P2P design NICs use for GPU device-private pages (default 'upstream'). */
  design?: DesignName;
  /** rfc-callback only: take a driver lock per page. */
  rfcLockPerPage?: boolean;
  /**
   * PCI connectivity from each GPU to each NIC: the pci_p2pdma map type, by "gpu:nic", with a
   * default. BUS_ADDR peers meet under a switch; THRU_HOST_BRIDGE traffic crosses the host
   * bridge. Default: NOT_SUPPORTED.
   */
  p2p?: { default?: P2pMapType; pairs?: Record<string, P2pMapType> };
  /**
   * A PCI topology (PciTopology.fromSpec); when given, the map type of each GPU-NIC pair is
   * what the kernel's p2pdma code computes for it (kernel/p2pdma.ts), and `p2p` is ignored.
   * GPUs and NICs are found in it by name.
   */
  pci?: unknown;
  /** IOMMU mode for device DMA mappings (default 'off'). */
  iommu?: 'off' | 'passthrough' | 'translate';
  /** Stop the simulation at this time (default: when every workload has finished). */
  durationNs?: number;
}

export interface SimOptions {
  seed: number;
  /** Keep the raw event log in the result (for checks and traces). */
  log?: boolean;
  /** Called with the simulated machine when the run ends (for checks; not part of the result). */
  inspect?: (machine: Machine) => void;
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
   * Memory for BAR alias struct pages as Linux spends it (pci_p2pdma_add_resource creates them
   * for the whole BAR at probe): BAR pages x structPageBytes, for designs that use alias pages.
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

/** Thrown for an invalid configuration (a message naming the field). */
export class SimConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimConfigError';
  }
}

function pageIndexes(
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
function cpuMapped(mm: Mm, addr: number, write: boolean): boolean {
  const slot = mm.pt.slot(addr);
  if (!slot) return false;
  if (slot.kind === PMD_HUGE) return !write || (slot.bits & PTE_WRITE) !== 0;
  if (slot.kind !== PMD_TABLE) return false;
  const bits = slot.table!.bits[pteIndex(addr)]!;
  return (bits & PTE_TYPE_MASK) === PTE_PRESENT && (!write || (bits & PTE_WRITE) !== 0);
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

/** Checks a configuration; throws SimConfigError naming the first problem. */
export function validateConfig(c: SimConfig): CostProfile {
  let profile: CostProfile;
  try {
    profile = resolveProfile(c.profile);
  } catch (e) {
    throw new SimConfigError((e as Error).message);
  }
  if (c.overrides) {
    const r = withOverrides(profile, c.overrides);
    if (r.error !== undefined) throw new SimConfigError(r.error);
    profile = r.profile;
  }
  const names = new Set<string>();
  const positive = (v: unknown, what: string) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
      throw new SimConfigError(`${what} must be a positive number`);
  };
  const pv = profile.values;
  for (const k of ['hostToDeviceBandwidth', 'deviceToHostBandwidth', 'hostMemoryBandwidth'] as const) {
    if (!(pv[k] > 0)) throw new SimConfigError(`overrides.${k} must be above 0 (it is a link's bandwidth)`);
  }
  if ((c.nics?.length ?? 0) > 0 && !(pv.rdmaNicBandwidth > 0)) {
    throw new SimConfigError('overrides.rdmaNicBandwidth must be above 0 when there are NICs');
  }
  if (c.ramBytes !== undefined && (!(c.ramBytes >= 16 * 2 ** 20) || c.ramBytes >= 8 * 2 ** 40)) {
    throw new SimConfigError('ramBytes must be at least 16 MiB and below 8 TiB');
  }
  if (c.buffers.length === 0) throw new SimConfigError('buffers: at least one buffer is needed');
  const socket1 = [...c.gpus, ...(c.nics ?? [])].some((d) => d.socket === 1);
  if (socket1 && !(pv.cpuSocketInterconnectBandwidth > 0)) {
    throw new SimConfigError(`socket: profile '${profile.name}' has one CPU socket (no socket interconnect)`);
  }
  for (const g of c.gpus) {
    positive(g.vramBytes, `gpus.${g.name}.vramBytes`);
    const fb = g.faultBatchSize;
    if (fb !== undefined && !(Number.isInteger(fb) && fb >= 1 && fb <= 65536)) {
      throw new SimConfigError(`gpus.${g.name}.faultBatchSize must be an integer from 1 to 65536`);
    }
    for (const cs of g.chunkSizes ?? []) {
      if (!(cs >= 4096 && cs <= PMD_SIZE && (cs & (cs - 1)) === 0)) {
        throw new SimConfigError(
          `gpus.${g.name}.chunkSizes: ${cs} is not a power of two from 4 KiB to 2 MiB`,
        );
      }
    }
    if (g.vramBytes < PMD_SIZE) throw new SimConfigError(`gpus.${g.name}.vramBytes must be at least 2 MiB`);
    if (names.has(g.name)) throw new SimConfigError(`duplicate name '${g.name}'`);
    if (g.link?.kind === 'pcie') {
      if (![3, 4, 5].includes(g.link.gen))
        throw new SimConfigError(`gpus.${g.name}.link.gen must be 3, 4 or 5`);
      const lanes = g.link.lanes ?? 16;
      if (![1, 2, 4, 8, 16].includes(lanes))
        throw new SimConfigError(`gpus.${g.name}.link.lanes must be 1, 2, 4, 8 or 16`);
    }
    names.add(g.name);
  }
  const procNames = c.processes ?? ['main'];
  if (procNames.length === 0) throw new SimConfigError('processes: at least one process is needed');
  if (new Set(procNames).size !== procNames.length) throw new SimConfigError('processes: duplicate name');
  const buffers = new Set<string>();
  for (const b of c.buffers) {
    if (b.process !== undefined && !procNames.includes(b.process)) {
      throw new SimConfigError(`buffers.${b.name}.process: no process named '${b.process}'`);
    }
    positive(b.bytes, `buffers.${b.name}.bytes`);
    if (buffers.has(b.name)) throw new SimConfigError(`duplicate buffer name '${b.name}'`);
    if (b.place !== undefined && b.place !== 'ram' && !names.has(b.place)) {
      throw new SimConfigError(`buffers.${b.name}.place: no GPU named '${b.place}' (or 'ram')`);
    }
    buffers.add(b.name);
  }
  const nicNames = new Set<string>();
  for (const n of c.nics ?? []) {
    if (names.has(n.name) || nicNames.has(n.name)) throw new SimConfigError(`duplicate name '${n.name}'`);
    nicNames.add(n.name);
  }
  const dmirrorNames = new Set<string>();
  const minors = new Set<number>();
  for (const d of c.dmirrors ?? []) {
    if (names.has(d.name) || nicNames.has(d.name) || dmirrorNames.has(d.name))
      throw new SimConfigError(`duplicate name '${d.name}'`);
    if (d.minor !== 0 && d.minor !== 1) throw new SimConfigError(`dmirrors.${d.name}.minor must be 0 or 1`);
    if (minors.has(d.minor))
      throw new SimConfigError(`dmirrors.${d.name}.minor: /dev/hmm_dmirror${d.minor} is taken`);
    dmirrorNames.add(d.name);
    minors.add(d.minor);
  }
  if (c.design !== undefined && !DESIGN_NAMES.includes(c.design)) {
    throw new SimConfigError(`design: unknown design '${c.design}' (expected ${DESIGN_NAMES.join(', ')})`);
  }
  if (c.pci !== undefined) {
    let topo: PciTopology;
    try {
      topo = PciTopology.fromSpec(c.pci);
    } catch (e) {
      if (e instanceof TopologySpecError) throw new SimConfigError(`pci.${e.message}`);
      throw e;
    }
    for (const name of [...names, ...nicNames]) {
      if (!topo.isPci(name))
        throw new SimConfigError(`pci: no PCI device named '${name}' for the GPU or NIC of that name`);
    }
  }
  for (const l of c.gpuLinks ?? []) {
    if (!names.has(l.a) || !names.has(l.b) || l.a === l.b) {
      throw new SimConfigError(`gpuLinks: '${l.a}' and '${l.b}' must name two different GPUs`);
    }
    if (!(pv.peerLinkBandwidth > 0))
      throw new SimConfigError(`gpuLinks: profile '${profile.name}' has no private GPU link bandwidth`);
  }
  const workloads = new Set<string>();
  for (const u of c.unplugs ?? []) {
    if (!names.has(u.gpu)) throw new SimConfigError(`unplugs.${u.name}.gpu: no GPU named '${u.gpu}'`);
    if (u.mode !== 'safe' && u.mode !== 'surprise')
      throw new SimConfigError(`unplugs.${u.name}.mode must be safe or surprise`);
  }
  const eventNames = new Set((c.unplugs ?? []).map((u) => u.name));
  for (const w of c.workloads) {
    if (workloads.has(w.name)) throw new SimConfigError(`duplicate workload name '${w.name}'`);
    if (w.strideBytes !== undefined && !(w.strideBytes > 0 && w.strideBytes % PAGE_SIZE === 0)) {
      throw new SimConfigError(`workloads.${w.name}.strideBytes must be a positive multiple of 4 KiB`);
    }
    if (w.kind === 'rdma') {
      if (!nicNames.has(w.nic)) throw new SimConfigError(`workloads.${w.name}.nic: no NIC named '${w.nic}'`);
      positive(w.messageBytes, `workloads.${w.name}.messageBytes`);
      positive(w.messages, `workloads.${w.name}.messages`);
    }
    if (!buffers.has(w.buffer))
      throw new SimConfigError(`workloads.${w.name}.buffer: no buffer named '${w.buffer}'`);
    if (w.kind === 'gpu' && !names.has(w.gpu))
      throw new SimConfigError(`workloads.${w.name}.gpu: no GPU named '${w.gpu}'`);
    if (w.kind === 'dmirror') {
      if (!dmirrorNames.has(w.dmirror))
        throw new SimConfigError(`workloads.${w.name}.dmirror: no dmirror device named '${w.dmirror}'`);
      if (!(DMIRROR_OPS as readonly string[]).includes(w.op))
        throw new SimConfigError(`workloads.${w.name}.op must be one of ${DMIRROR_OPS.join(', ')}`);
      if (
        w.ioctlPages !== undefined &&
        !(Number.isInteger(w.ioctlPages) && w.ioctlPages >= 1 && w.ioctlPages <= 65536)
      )
        throw new SimConfigError(`workloads.${w.name}.ioctlPages must be an integer from 1 to 65536`);
    }
    if (w.after !== undefined && !workloads.has(w.after) && !eventNames.has(w.after)) {
      throw new SimConfigError(`workloads.${w.name}.after: '${w.after}' is not an earlier workload`);
    }
    workloads.add(w.name);
  }
  for (const u of c.unplugs ?? []) {
    if (u.after !== undefined && !workloads.has(u.after)) {
      throw new SimConfigError(`unplugs.${u.name}.after: no workload named '${u.after}'`);
    }
    if (workloads.has(u.name)) throw new SimConfigError(`unplugs.${u.name}: the name is taken by a workload`);
  }
  return profile;
}

/**
 * Runs a configuration to completion (or to durationNs). Deterministic: the result depends
 * only on config and seed. Throws SimConfigError for an invalid configuration.
 */
function newWorkloadMetrics(startNs: number): WorkloadMetrics {
  return { startNs, endNs: 0, pagesTouched: 0, cpuFaults: 0, faultNs: 0, computeNs: 0 };
}

export function simulate(config: SimConfig, options: SimOptions): SimResult {
  const profile = validateConfig(config);
  const v = profile.values;
  const engine = new Engine();
  const fabric = new Fabric(engine);
  const rng = new Rng(options.seed);
  const log: SimEvent[] | null = options.log ? [] : null;
  const machine = new Machine({
    ramBytes: config.ramBytes ?? 64 * 2 ** 30,
    thp: config.thp ?? 'madvise',
    coherentDevices: false,
    hugetlbPages: 0,
  });
  const k = machine.kernel;
  // One Process (mm) per configured process, in order; each buffer lives in one of them.
  const procs = new Map<string, { proc: Process; mm: Mm; lo: number; hi: number }>();
  for (const name of config.processes ?? ['main']) {
    const proc = machine.spawn();
    procs.set(name, { proc, mm: proc.mm, lo: Infinity, hi: 0 });
  }
  const firstProc = [...procs.keys()][0]!;
  const cpus = new CpuPool(engine, config.cpuCores ?? 8, 'cpu');
  const hostMem = [
    new Link('host-memory.read', v.hostMemoryBandwidth),
    new Link('host-memory.write', v.hostMemoryBandwidth),
  ] as const;
  // A single-socket profile (gh200-c2c) has no socket interconnect: validateConfig refuses
  // devices on socket 1 there, so these links then carry nothing.
  const socketBw =
    v.cpuSocketInterconnectBandwidth > 0 ? v.cpuSocketInterconnectBandwidth : v.hostMemoryBandwidth;
  const socketLink = [
    new Link('socket-interconnect.0to1', socketBw),
    new Link('socket-interconnect.1to0', socketBw),
  ] as const;
  const links: Link[] = [...hostMem, ...socketLink];

  // Buffers.
  const buffers = new Map<string, { addr: number; bytes: number; proc: string; mm: Mm }>();
  for (const b of config.buffers) {
    const bytes = Math.ceil(b.bytes / PAGE_SIZE) * PAGE_SIZE;
    const pname = b.process ?? firstProc;
    const p = procs.get(pname)!;
    const addr = p.proc.mmap(0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if (addr < 0) throw new SimConfigError(`buffers.${b.name}: mmap failed (${addr})`);
    if (b.hugepage) p.proc.madvise(addr, bytes, MADV_HUGEPAGE);
    buffers.set(b.name, { addr, bytes, proc: pname, mm: p.mm });
    // Devices mirror the span of each process's buffers.
    p.lo = Math.min(p.lo, addr);
    p.hi = Math.max(p.hi, addr + bytes);
  }
  const usedProcs = [...procs].filter(([, p]) => p.hi > 0);

  // The P2P design, and the PCI connectivity it consults.
  const design = createDesign(config.design ?? 'upstream', { lockPerPage: config.rfcLockPerPage ?? false });
  const topo = config.pci !== undefined ? PciTopology.fromSpec(config.pci) : null;
  const mapType = (gpu: string, nic: string): P2pMapType =>
    topo
      ? topo.p2pdmaMapType(gpu, nic)
      : (config.p2p?.pairs?.[`${gpu}:${nic}`] ?? config.p2p?.default ?? 'NOT_SUPPORTED');
  const connectivity = { mapType };
  const gpuNames = config.gpus.map((g) => g.name);

  // GPUs with a PCIe link each.
  const gpus = new Map<
    string,
    {
      dev: GpuDevice;
      /** The copies the driver made outside its passes' own migrations, until charged. */
      sink: TransferQueue;
      mirs: Map<string, GpuMirror>;
      h2d: Link;
      d2h: Link;
      ce: CopyEngine;
      cfg: GpuConfig;
      m: DeviceMetrics;
    }
  >();
  for (const g of config.gpus) {
    const sink = new TransferQueue();
    const dev = machine.addGpu({
      name: g.name,
      sink,
      owner: design.gpuOwner(g.name, { connectivity, gpuNames }),
      barBytes: g.barBytes,
      placement: g.placement,
      accessCounterThreshold: v.accessCounterThreshold,
      accessCounterGranularityBytes: v.accessCounterGranularityBytes,
      vramBytes: g.vramBytes,
      chunkSizes: g.chunkSizes,
      prefetch: g.prefetch ?? false,
      prefetchThreshold: v.prefetchThresholdPercent,
      thrashing: g.thrashing ?? false,
      thrashingLapseNs: v.thrashingLapseNs,
      thrashingThreshold: v.thrashingThresholdEvents,
      thrashingPinThrottles: v.thrashingPinThrottles,
      thrashingPinNs: v.thrashingPinNs,
    });
    const mirs = new Map(usedProcs.map(([pn, p]) => [pn, dev.mirror(p.mm, p.lo, p.hi - p.lo)]));
    // The two directions are asymmetric on some platforms (Gen5 H2D 35.2, D2H 52.8 GB/s).
    let up = v.hostToDeviceBandwidth;
    let down = v.deviceToHostBandwidth;
    if (g.link?.kind === 'pcie') {
      const raw = [0, 0, 0, v.pcieGen3x16Bandwidth, v.pcieGen4x16Bandwidth, v.pcieGen5x16Bandwidth][
        g.link.gen
      ]!;
      const lanes = g.link.lanes ?? 16;
      up = (v.hostToDeviceBandwidth / v.pcieLinkRawBandwidth) * raw * (lanes / 16);
      down = (v.deviceToHostBandwidth / v.pcieLinkRawBandwidth) * raw * (lanes / 16);
    } else if (g.link?.kind === 'c2c') {
      up = v.nvlinkC2cBandwidth;
      down = v.nvlinkC2cBandwidth;
    }
    const linkName = g.link?.kind === 'c2c' ? `c2c-${g.name}` : `pcie-${g.name}`;
    const h2d = new Link(`${linkName}.h2d`, up);
    const d2h = new Link(`${linkName}.d2h`, down);
    links.push(h2d, d2h);
    const ce = new CopyEngine(engine, Math.max(1, Math.round(v.copyEngineCount)), `${g.name}-copy`);
    gpus.set(g.name, { dev, sink, mirs, h2d, d2h, ce, cfg: g, m: emptyDevice() });
  }

  // Private GPU links.
  const peerLinks = new Map<string, Link>();
  for (const l of config.gpuLinks ?? []) {
    const ab = new Link(`gpulink-${l.a}-${l.b}.${l.a}to${l.b}`, v.peerLinkBandwidth);
    const ba = new Link(`gpulink-${l.a}-${l.b}.${l.b}to${l.a}`, v.peerLinkBandwidth);
    peerLinks.set(`${l.a}>${l.b}`, ab);
    peerLinks.set(`${l.b}>${l.a}`, ba);
    links.push(ab, ba);
  }

  /**
   * One fault-service pass of g, charged with what g's sink holds: the copies queued since its
   * last pass first, then the pass's own, then those of the evictions it caused; the migrate
   * entries queued before the pass are added to it (those of its evictions wait for the next).
   */
  function servicePass(
    g: { dev: GpuDevice; sink: TransferQueue },
    mir: GpuMirror,
    addrs: ArrayLike<number>,
    writes: ArrayLike<number>,
    n: number,
    nowNs: number,
  ): BatchResult {
    const entries = g.sink.takeEntries();
    const queued = g.sink.takeTransfers();
    const r = g.dev.serviceFaults(mir, addrs, writes, n, nowNs);
    r.migratedEntries += entries;
    r.transfers = queued.concat(r.transfers, g.sink.takeTransfers());
    return r;
  }

  // Initial placement, before the clock starts: nothing is charged or logged, and the GPUs'
  // counters start from what it did (statsBase).
  const placeBatch = new Float64Array(512);
  const placeWrites = new Uint8Array(512).fill(1);
  for (const b of config.buffers) {
    if (b.place === undefined) continue;
    const at = buffers.get(b.name)!;
    if (b.place === 'ram') {
      for (let a = at.addr; a < at.addr + at.bytes; a += PAGE_SIZE) userTouch(k, at.mm, a, true, 0);
      continue;
    }
    const g = gpus.get(b.place)!;
    for (let a = at.addr; a < at.addr + at.bytes; ) {
      let n = 0;
      for (; n < placeBatch.length && a < at.addr + at.bytes; n++, a += PAGE_SIZE) placeBatch[n] = a;
      servicePass(g, g.mirs.get(at.proc)!, placeBatch, placeWrites, n, 0);
    }
  }
  const statsBase = new Map([...gpus].map(([name, g]) => [name, { ...g.dev.stats }]));

  // RDMA NICs, each with its own link, bound to the design.
  const hbBw = v.hostBridgeP2pBandwidth || v.peerPcieBandwidth || v.hostToDeviceBandwidth;
  const hostBridgeP2p = [
    new Link('host-bridge-p2p.up', hbBw),
    new Link('host-bridge-p2p.down', hbBw),
  ] as const;
  links.push(...hostBridgeP2p);
  const gpuList = [...gpus.values()];
  const nics = new Map<
    string,
    {
      nic: RdmaNic;
      mrs: Map<string, OdpMr>;
      up: Link;
      down: Link;
      cfg: NicConfig;
      faultCpuNs: number;
      hmmNs: number;
      designNs: number;
      dmaNs: number;
    }
  >();
  for (const n of config.nics ?? []) {
    const binding = design.bind({ kernel: k, gpus: gpuList.map((g) => g.dev), connectivity }, n.name);
    const nic = machine.addNic(
      new RdmaNic(
        k,
        { name: n.name, fallback: n.fallback, ats: n.ats, relaxedOrdering: n.relaxedOrdering },
        binding,
        (bar) => {
          for (const g of gpuList) if (g.dev.vramPfnOfAlias(bar) >= 0) return mapType(g.cfg.name, n.name);
          return 'NOT_SUPPORTED';
        },
      ),
    );
    const mrs = new Map(usedProcs.map(([pn, p]) => [pn, nic.registerOdpMr(p.mm, p.lo, p.hi - p.lo)]));
    // NIC -> memory (write into our buffer) and memory -> NIC (read from it).
    const up = new Link(`nic-${n.name}.in`, v.rdmaNicBandwidth);
    const down = new Link(`nic-${n.name}.out`, v.rdmaNicBandwidth);
    links.push(up, down);
    nics.set(n.name, { nic, mrs, up, down, cfg: n, faultCpuNs: 0, hmmNs: 0, designNs: 0, dmaNs: 0 });
  }

  /** Copies one transfer over its path; time follows the profile's curve when uncontended. */
  function* copy(
    g: { h2d: Link; d2h: Link; ce: CopyEngine; cfg: GpuConfig },
    t: Transfer,
  ): Generator<Wait, number, unknown> {
    if (t.bytes <= 0) return 0;
    const start = engine.now;
    const path =
      t.dir === 'h2d'
        ? [hostMem[0], ...(g.cfg.socket === 1 ? [socketLink[0]] : []), g.h2d]
        : [g.d2h, ...(g.cfg.socket === 1 ? [socketLink[1]] : []), hostMem[1]];
    // Each copy occupies one of the GPU's copy engines for its whole duration.
    const ch = yield* g.ce.acquire();
    const ceStartNs = engine.now;
    const r = yield* hostDeviceCopy(fabric, profile, path, t);
    g.ce.release(ch);
    const link = t.dir === 'h2d' ? g.h2d : g.d2h;
    log?.push({
      t: start,
      kind: 'transfer',
      link: link.name,
      bytes: t.bytes,
      endNs: r.endNs,
      ce: `${g.cfg.name}.ce${ch}`,
      ceStartNs,
      dir: t.dir,
    });
    return engine.now - start;
  }

  const workloadMetrics: Record<string, WorkloadMetrics> = {};
  const finished = new Map<string, ReturnType<Engine['signal']>>();
  for (const w of config.workloads) finished.set(w.name, engine.signal());
  for (const u of config.unplugs ?? []) finished.set(u.name, engine.signal());

  const CHUNK = 512; // pages of fault-free work accumulated per event

  /** Waits for a workload's start, then sets up its access stream and metrics. */
  function* begin(w: CpuWorkload | GpuWorkload): Generator<
    Wait,
    {
      b: { addr: number; bytes: number; proc: string; mm: Mm };
      pages: number;
      next: (i: number) => number;
      wm: WorkloadMetrics;
      write: boolean;
    },
    unknown
  > {
    if (w.after) yield finished.get(w.after)!;
    if (w.startNs && w.startNs > engine.now) yield w.startNs - engine.now;
    const b = buffers.get(w.buffer)!;
    const pages = Math.ceil(Math.min(w.bytes ?? b.bytes, b.bytes) / PAGE_SIZE);
    const next = pageIndexes(
      w.pattern,
      Math.ceil(b.bytes / PAGE_SIZE),
      (w.strideBytes ?? 65536) / PAGE_SIZE,
      rng.fork(w.name),
    );
    const wm = newWorkloadMetrics(engine.now);
    workloadMetrics[w.name] = wm;
    return { b, pages, next, wm, write: w.op === 'write' };
  }

  /** Each GPU's VRAM pages in use (residency samples of the event log). */
  function vramByGpu(): Record<string, number> {
    return Object.fromEntries(gpuList.map((g) => [g.cfg.name, g.dev.vramUsed]));
  }

  /** GPU invalidations (notifier callbacks, TLB shootdowns) so far, to charge a CPU-side operation the ones it caused. */
  function gpuInvalidations(): { inv: number; tlb: number } {
    let inv = 0;
    let tlb = 0;
    for (const g of gpus.values()) {
      inv += g.dev.stats.invalidations;
      tlb += g.dev.stats.tlbInvalidations;
    }
    return { inv, tlb };
  }
  /** The CPU time of the invalidations since `before`. */
  function invalidationNsSince(before: { inv: number; tlb: number }): number {
    const now = gpuInvalidations();
    return (
      (now.inv - before.inv) * v.mmuNotifierInvalidateNs + (now.tlb - before.tlb) * v.gpuTlbInvalidationNs
    );
  }

  /**
   * Copies the pages a CPU-side fault just pulled back from VRAM (migrate_to_ram): returns the
   * migrate_vma CPU cost to charge and the time spent waiting for the copies.
   */
  function* migratedToRam(): Generator<Wait, { cpuNs: number; waitNs: number }, unknown> {
    let cpuNs = 0;
    let waitNs = 0;
    for (const g of gpus.values()) {
      const pend = g.sink.takeTransfers();
      if (pend.length === 0) continue;
      cpuNs +=
        v.migrateVmaFixedNs + v.migrateVmaPerPageNs * (pend.reduce((s, t) => s + t.bytes, 0) / PAGE_SIZE);
      for (const t of pend) {
        g.m.bytesToRam += t.bytes;
        waitNs += yield* copy(g, t);
      }
    }
    return { cpuNs, waitNs };
  }

  function* cpuWorkload(w: CpuWorkload): Generator<Wait, void, unknown> {
    const { b, pages, next, wm, write } = yield* begin(w);
    const perPage = w.nsPerPage ?? 100;
    let acc = 0;
    for (let pass = 0; pass < (w.passes ?? 1); pass++) {
      for (let i = 0; i < pages; i++) {
        const addr = b.addr + next(i) * PAGE_SIZE;
        wm.pagesTouched++;
        if (cpuMapped(b.mm, addr, write)) {
          if (write) k.frames.fill(pfnAt(b.mm, addr), (i + pass) & 0x7fffffff);
          acc += perPage;
        } else {
          // A page fault: entry cost plus whatever the fault moved (migrate_to_ram copies).
          const inv0 = gpuInvalidations();
          userTouch(k, b.mm, addr, write, (i + pass) & 0x7fffffff);
          wm.cpuFaults++;
          // The fault, plus the device invalidations it caused (a write to a mirrored page)
          // and the migrate_to_ram copies of pages it pulled back from VRAM.
          // (The invalidations are counted before the copies: other work runs while they wait.)
          const invNs = invalidationNsSince(inv0);
          const back = yield* migratedToRam();
          const ns = v.cpuFaultEntryNs + invNs + back.cpuNs;
          acc += back.waitNs;
          const core = yield* cpus.acquire();
          yield ns;
          cpus.release(core);
          wm.faultNs += ns;
          log?.push({
            t: engine.now - ns,
            kind: 'cpu_fault',
            workload: w.name,
            pages: 1,
            cpuNs: ns,
            core,
            ramPages: k.alloc.used,
            vramPages: vramByGpu(),
          });
          acc += perPage;
        }
        if (acc > 0 && wm.pagesTouched % CHUNK === 0) {
          wm.computeNs += acc;
          yield acc;
          acc = 0;
        }
      }
    }
    if (acc > 0) {
      wm.computeNs += acc;
      yield acc;
    }
    wm.endNs = engine.now;
    log?.push({ t: engine.now, kind: 'workload_end', workload: w.name });
    finished.get(w.name)!.fire(undefined);
  }

  function* gpuWorkload(w: GpuWorkload): Generator<Wait, void, unknown> {
    const { b, pages, next, wm, write } = yield* begin(w);
    const g = gpus.get(w.gpu)!;
    const mir = g.mirs.get(b.proc)!;
    const rate = w.bytesPerNs ?? v.deviceMemoryBandwidth;
    const pageNs = PAGE_SIZE / rate;
    // The GPU keeps running other warps until its fault buffer is full; the driver then
    // fetches batches of up to faultBatchSize (clamped to the buffer, as nvidia-uvm does) and
    // services up to faultBatchesPerService of them before one replay (uvm_gpu_replayable_faults.c).
    const window = Math.max(1, Math.round(v.faultBufferEntries));
    const batch = Math.min(g.cfg.faultBatchSize ?? v.faultBatchSize, window);
    const perPass = Math.max(1, Math.round(v.faultBatchesPerService));
    const addrs = new Float64Array(window);
    const writes = new Uint8Array(window);
    const total = pages * (w.passes ?? 1);
    let i = 0;
    let acc = 0;
    let remoteBytes = 0;
    const peerBytes = new Map<string, number>();
    while (i < total) {
      if (g.dev.removed) break; // the GPU was unplugged: its work stops
      const addr = b.addr + next(i % pages) * PAGE_SIZE;
      if (mir.translate(addr, write)) {
        wm.pagesTouched++;
        i++;
        if (g.dev.isVramMapped(mir, addr)) acc += pageNs;
        else {
          const peer = peerOf(mir.devicePfn(addr));
          if (peer && peer !== g) {
            // A peer GPU's VRAM, mapped through a shared pagemap owner.
            peerBytes.set(peer.cfg.name, (peerBytes.get(peer.cfg.name) ?? 0) + PAGE_SIZE);
          } else {
            // A remote (zero-copy) access to system memory: the bytes cross the GPU's link.
            remoteBytes += PAGE_SIZE;
            g.dev.noteRemoteAccess(mir, addr);
          }
        }
        if (wm.pagesTouched % CHUNK === 0) {
          if (peerBytes.size > 0) acc += yield* peerCopies(g, peerBytes, write);
          if (remoteBytes > 0) {
            const t = remoteBytes;
            remoteBytes = 0;
            acc += yield* copy(g, { bytes: t, dir: write ? 'd2h' : 'h2d' });
            g.m.remoteBytes += t;
          }
          wm.computeNs += acc;
          yield acc;
          acc = 0;
        }
        continue;
      }
      // A far fault: the warps in flight keep running and fault too, until the fault buffer
      // is full or the window of in-flight accesses is exhausted.
      let n = 0;
      for (let j = i; j < total && j < i + window && n < window; j++) {
        const a = b.addr + next(j % pages) * PAGE_SIZE;
        if (!mir.translate(a, write)) {
          addrs[n] = a;
          writes[n] = write ? 1 : 0;
          n++;
        }
      }
      if (acc > 0) {
        wm.computeNs += acc;
        yield acc;
        acc = 0;
      }
      const t0 = engine.now;
      g.m.servicePasses++;
      for (let off = 0, inPass = 0; off < n; off += batch, inPass++) {
        if (inPass === perPass) {
          // A full pass: the driver replays, and the faults still pending come back as a new pass.
          g.m.servicePasses++;
          inPass = 0;
        }
        const nb = Math.min(batch, n - off);
        const bt0 = engine.now;
        const inv0 = g.dev.stats.invalidations;
        const tlb0 = g.dev.stats.tlbInvalidations;
        const r = servicePass(
          g,
          mir,
          addrs.subarray(off, off + nb),
          writes.subarray(off, off + nb),
          nb,
          engine.now,
        );
        // Notifier callbacks and GPU TLB invalidations caused by this batch (evictions, splits).
        const invNs =
          (g.dev.stats.invalidations - inv0) * v.mmuNotifierInvalidateNs +
          (g.dev.stats.tlbInvalidations - tlb0) * v.gpuTlbInvalidationNs;
        const phases: [string, number][] | null = log && [
          // Per serviced fault: later faults on a chunk serviced in the same batch coalesce.
          ['fault buffer fetch', v.gpuFaultBatchFixedNs + v.gpuFaultPerPageNs * r.serviced],
          ['eviction', v.gpuEvictionPerPageNs * r.evictedPages],
          ['mmu notifier invalidations', invNs],
          // migrate_vma's work is per entry: a 2 MiB folio moved whole is one entry.
          ['migrate_vma', v.migrateVmaFixedNs * r.migrateCalls + v.migrateVmaPerPageNs * r.migratedEntries],
          [
            'hmm_range_fault',
            v.hmmRangeFaultCallNs * (r.hmmPages > 0 ? 1 : 0) + v.hmmRangeFaultPerPteNs * r.hmmPages,
          ],
          ['thrashing throttle', r.throttleNs],
        ];
        // Summed in this order (not over phases) so that results stay bit-identical.
        const cpuNs =
          v.gpuFaultBatchFixedNs +
          v.gpuFaultPerPageNs * r.serviced +
          v.hmmRangeFaultCallNs * (r.hmmPages > 0 ? 1 : 0) +
          v.hmmRangeFaultPerPteNs * r.hmmPages +
          v.migrateVmaFixedNs * r.migrateCalls +
          v.migrateVmaPerPageNs * r.migratedEntries +
          v.gpuEvictionPerPageNs * r.evictedPages +
          invNs +
          r.throttleNs;
        const core = yield* cpus.acquire();
        const cpuStartNs = engine.now;
        yield cpuNs;
        cpus.release(core);
        g.m.faultCpuNs += cpuNs;
        const c0 = engine.now;
        // Evictions first (they free VRAM), then the copies in; both directions overlap.
        const sigs = r.transfers.map((t) => {
          if (t.dir === 'h2d') g.m.bytesToVram += t.bytes;
          else g.m.bytesToRam += t.bytes;
          return engine.spawn(copy(g, t), 'copy');
        });
        for (const sg of sigs) yield sg;
        g.m.copyWaitNs += engine.now - c0;
        log?.push({
          t: bt0,
          kind: 'batch',
          gpu: g.cfg.name,
          faults: r.faults,
          uniquePages: r.uniquePages,
          pagesToVram: r.pagesToVram,
          evictedPages: r.evictedPages,
          hmmPages: r.hmmPages,
          cpuNs,
          cpuStartNs,
          core,
          phases: phases!.filter((ph) => ph[1] > 0),
          endNs: engine.now,
          vramPages: g.dev.vramUsed,
          ramPages: k.alloc.used,
        });
      }
      g.m.stallNs += engine.now - t0;
      if (n === 0) break; // nothing could fault: defensive, never loops
    }
    if (peerBytes.size > 0) acc += yield* peerCopies(g, peerBytes, write);
    if (remoteBytes > 0) {
      acc += yield* copy(g, { bytes: remoteBytes, dir: write ? 'd2h' : 'h2d' });
      g.m.remoteBytes += remoteBytes;
    }
    if (acc > 0) {
      wm.computeNs += acc;
      yield acc;
    }
    wm.endNs = engine.now;
    log?.push({ t: engine.now, kind: 'workload_end', workload: w.name });
    finished.get(w.name)!.fire(undefined);
  }

  /** The GPU whose VRAM holds pfn, if any. */
  function peerOf(pfn: number) {
    for (const g of gpuList) if (g.dev.ownsVram(pfn)) return g;
    return undefined;
  }

  /** Accesses to peers' VRAM: over the private link if there is one, else through PCIe. */
  function* peerCopies(
    g: (typeof gpuList)[number],
    pending: Map<string, number>,
    write: boolean,
  ): Generator<Wait, number, unknown> {
    const t0 = engine.now;
    const spawned: ReturnType<typeof engine.spawn>[] = [];
    for (const [name, bytes] of pending) {
      const peer = gpus.get(name)!;
      const link = write ? peerLinks.get(`${g.cfg.name}>${name}`) : peerLinks.get(`${name}>${g.cfg.name}`);
      const path = link
        ? [link]
        : write
          ? [g.d2h, hostBridgeP2p[0], peer.h2d]
          : [peer.d2h, hostBridgeP2p[1], g.h2d];
      g.m.peerBytes += bytes;
      spawned.push(
        engine.spawn(
          (function* () {
            yield fabric.transfer(path, bytes, v.dmaSetupLatencyNs);
          })(),
          'peer',
        ),
      );
    }
    pending.clear();
    for (const sp of spawned) yield sp;
    return engine.now - t0;
  }

  const rdmaMetrics: Record<string, RdmaMetrics> = {};

  /**
   * Whether a NIC's P2P traffic to a GPU can go straight through their common switch although
   * ACS redirects it upstream: with ATS (enabled only for relaxed-ordering MRs, the series'
   * patch 5) and a translating IOMMU, the NIC sends already-translated requests, which the
   * switch may route directly (ACS Direct Translated P2P).
   */
  const atsDirect = (n: { nic: RdmaNic }, gpu: string): boolean => {
    if (!n.nic.atsEnabled || config.iommu !== 'translate' || !topo) return false;
    const c = topo.calcMapTypeAndDist(gpu, n.nic.name);
    return c.mapType === 'THRU_HOST_BRIDGE' && c.commonUpstream !== null;
  };

  /** The links a NIC DMA to or from the page behind translation `e` crosses. */
  function nicPath(
    n: { nic: RdmaNic; up: Link; down: Link; cfg: NicConfig },
    e: { pfn: number; kind: number },
    write: boolean,
  ): Link[] {
    const nicLink = write ? n.up : n.down;
    const sock = n.cfg.socket === 1 ? [write ? socketLink[1] : socketLink[0]] : [];
    if (e.kind === 1) return [nicLink, ...sock, write ? hostMem[1] : hostMem[0]];
    let gpu = gpuList[0]!;
    for (const g of gpuList) if (g.dev.vramPfnOfAlias(e.pfn) >= 0) gpu = g;
    const gpuLink = write ? gpu.h2d : gpu.d2h;
    if (e.kind === 2 || atsDirect(n, gpu.cfg.name)) return [nicLink, gpuLink]; // through the common switch
    return [nicLink, write ? hostBridgeP2p[1] : hostBridgeP2p[0], gpuLink];
  }

  /** A NIC page fault: kernel work now, CPU time charged on a core, migrations copied. */
  function* nicFault(
    n: { nic: RdmaNic; faultCpuNs: number; hmmNs: number; designNs: number; dmaNs: number },
    mr: OdpMr,
    start: number,
    end: number,
    write: boolean,
  ): Generator<Wait, number, unknown> {
    const st = n.nic.stats;
    const before = { ...st };
    const dc = { ...design.counters };
    const gpuBefore = gpuList.map((g) => ({
      inv: g.dev.stats.invalidations,
      tlb: g.dev.stats.tlbInvalidations,
    }));
    const ret = n.nic.pageFault(mr, start, end, write);
    let invNs = 0;
    gpuList.forEach((g, i) => {
      invNs += (g.dev.stats.invalidations - gpuBefore[i]!.inv) * v.mmuNotifierInvalidateNs;
      invNs += (g.dev.stats.tlbInvalidations - gpuBefore[i]!.tlb) * v.gpuTlbInvalidationNs;
    });
    const dma = v.dmaMapDirectPerPageNs + (config.iommu === 'translate' ? v.dmaMapIommuPerPageNs : 0);
    const hmmNs =
      (st.hmmCalls - before.hmmCalls) * v.hmmRangeFaultCallNs +
      (st.hmmPages - before.hmmPages) * v.hmmRangeFaultPerPteNs;
    const designNs =
      (design.counters.callbacks - dc.callbacks) * v.driverCallbackPerPageNs +
      (design.counters.locks - dc.locks) * v.driverLockPerPageNs +
      (design.counters.mapTypeQueries - dc.mapTypeQueries) * v.p2pdmaMapTypeUncachedNs +
      (design.counters.p2pPages - dc.p2pPages) * v.p2pdmaMapTypeCachedNs;
    const dmaNs = (st.dmaMaps - before.dmaMaps) * dma;
    n.hmmNs += hmmNs;
    n.designNs += designNs;
    n.dmaNs += dmaNs;
    let cpuNs = v.cpuFaultEntryNs + hmmNs + designNs + dmaNs + invNs;
    let migrateNs = 0;
    // Device-private pages the fault pulled back to RAM (migrate_to_ram).
    const copies: ReturnType<typeof engine.spawn>[] = [];
    for (const g of gpuList) {
      const pend = g.sink.takeTransfers();
      if (pend.length === 0) continue;
      g.sink.takeEntries(); // not charged: migrate_to_ram is costed per transfer below
      for (const t of pend) {
        const ns = v.migrateVmaFixedNs + v.migrateVmaPerPageNs * (t.bytes / PAGE_SIZE);
        cpuNs += ns;
        migrateNs += ns;
        g.m.bytesToRam += t.bytes;
        copies.push(engine.spawn(copy(g, t), 'copy'));
      }
    }
    const t0 = engine.now;
    const core = yield* cpus.acquire();
    const cpuStartNs = engine.now;
    yield cpuNs;
    cpus.release(core);
    for (const c of copies) yield c;
    n.faultCpuNs += cpuNs;
    if (log) {
      // In the kernel, migrate_to_ram and the notifier invalidations it triggers run inside
      // hmm_range_fault; here they are shown after it, as separate spans of the same CPU time.
      const phases: [string, number][] = [
        ['fault entry', v.cpuFaultEntryNs],
        ['hmm_range_fault', hmmNs],
        ['migrate_to_ram', migrateNs],
        ['mmu notifier invalidations', invNs],
        ['P2P design', designNs],
        ['DMA map', dmaNs],
      ];
      log.push({
        t: t0,
        kind: 'nic_fault',
        nic: n.nic.name,
        pages: (end - start) / PAGE_SIZE,
        cpuNs,
        cpuStartNs,
        core,
        phases: phases.filter((ph) => ph[1] > 0),
        endNs: engine.now,
        ramPages: k.alloc.used,
        vramPages: vramByGpu(),
      });
    }
    return ret;
  }

  function* rdmaWorkload(w: RdmaWorkload): Generator<Wait, void, unknown> {
    if (w.after) yield finished.get(w.after)!;
    if (w.startNs && w.startNs > engine.now) yield w.startNs - engine.now;
    const n = nics.get(w.nic)!;
    const b = buffers.get(w.buffer)!;
    const mr = n.mrs.get(b.proc)!;
    const msgBytes = Math.min(w.messageBytes, b.bytes);
    const slots = Math.max(1, Math.floor(Math.min(w.bytes ?? b.bytes, b.bytes) / msgBytes));
    const next = pageIndexes(w.pattern, slots, 1, rng.fork(w.name));
    const write = w.op === 'write';
    const latencies: number[] = [];
    const start = engine.now;
    let sent = 0;
    const qd = Math.max(1, w.queueDepth ?? 1);
    const done = engine.signal<void>();
    let running = qd;
    function* lane(): Generator<Wait, void, unknown> {
      while (sent < w.messages) {
        const m = sent++;
        const off = next(m % slots) * msgBytes;
        const t0 = engine.now;
        const s0 = b.addr + off;
        const first = Math.floor(s0 / PAGE_SIZE) * PAGE_SIZE;
        const last = Math.ceil((s0 + msgBytes) / PAGE_SIZE) * PAGE_SIZE;
        // Every page the message touches must be translated; fault the missing span.
        let missing = -1;
        for (let a = first; a < last; a += PAGE_SIZE) {
          if (mr.kindAt(a, write) === 0) {
            missing = a;
            break;
          }
        }
        if (missing >= 0) {
          const r = yield* nicFault(n, mr, missing, last, write);
          if (r < 0) throw new SimConfigError(`workloads.${w.name}: the NIC could not map its buffer (${r})`);
        }
        // The data: one DMA per page run that shares a path.
        const transfers: ReturnType<typeof engine.spawn>[] = [];
        for (let a = first; a < last; ) {
          const e = mr.translate(a, write);
          if (!e) break;
          const path = nicPath(n, e, write);
          let end = a + PAGE_SIZE;
          while (end < last && mr.kindAt(end, write) === e.kind) end += PAGE_SIZE;
          const bytes = Math.min(end, s0 + msgBytes) - Math.max(a, s0);
          // The DMA itself changes the data: a write stores a tag the oracle can check.
          if (write) {
            for (let x = a; x < end; x += PAGE_SIZE) {
              const pfn = mr.pfnAt(x);
              let target = pfn; // a BAR alias page stands for the VRAM page behind it
              for (const g of gpuList) {
                const vr = g.dev.vramPfnOfAlias(pfn);
                if (vr >= 0) {
                  target = vr;
                  break;
                }
              }
              k.frames.fill(target, (m + 1) & 0x7fffffff);
            }
          }
          transfers.push(
            engine.spawn(
              (function* () {
                yield fabric.transfer(path, bytes, v.dmaSetupLatencyNs);
              })(),
              'dma',
            ),
          );
          a = end;
        }
        for (const t of transfers) yield t;
        latencies.push(engine.now - t0);
        log?.push({ t: t0, kind: 'message', workload: w.name, bytes: msgBytes, endNs: engine.now });
      }
      running--;
      if (running === 0) done.fire(undefined);
    }
    for (let i = 0; i < qd; i++) engine.spawn(lane(), `${w.name}-qp${i}`);
    yield done;
    latencies.sort((x, y) => x - y);
    const pct = (q: number) =>
      latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
    const elapsed = engine.now - start;
    rdmaMetrics[w.name] = {
      messages: latencies.length,
      bytes: latencies.length * msgBytes,
      gbps: elapsed > 0 ? (latencies.length * msgBytes) / elapsed : 0,
      latencyP50Ns: pct(0.5),
      latencyP90Ns: pct(0.9),
      latencyP99Ns: pct(0.99),
      latencyMaxNs: latencies.at(-1) ?? 0,
    };
    workloadMetrics[w.name] = {
      startNs: start,
      endNs: engine.now,
      pagesTouched: 0,
      cpuFaults: 0,
      faultNs: 0,
      computeNs: 0,
    };
    log?.push({ t: engine.now, kind: 'workload_end', workload: w.name });
    finished.get(w.name)!.fire(undefined);
  }

  const unplugMetrics: Record<string, UnplugMetrics> = {};
  function* unplugEvent(u: UnplugEvent): Generator<Wait, void, unknown> {
    if (u.after) yield finished.get(u.after)!;
    if (u.startNs && u.startNs > engine.now) yield u.startNs - engine.now;
    const g = gpus.get(u.gpu)!;
    const t0 = engine.now;
    const entries0 = g.sink.pendingEntries;
    const r = machine.unplugGpu(u.gpu, u.mode);
    // The driver's removal path: migrate every page back (CPU work), copies over the link.
    // The removal's copies (and any still queued) are dropped uncharged, as the driver did
    // before it had a sink: pend stays empty. Charging them would change results.
    g.sink.takeTransfers();
    const pend: Transfer[] = [];
    const entries = g.sink.takeEntries() - entries0;
    const core = yield* cpus.acquire();
    yield v.migrateVmaFixedNs + v.migrateVmaPerPageNs * entries;
    cpus.release(core);
    // Surprise removal: nothing is left to copy from; the pages come back as poison.
    if (u.mode === 'safe') {
      const sigs = pend.map((t) => {
        g.m.bytesToRam += t.bytes;
        return engine.spawn(copy(g, t), 'copy');
      });
      for (const sg of sigs) yield sg;
    }
    unplugMetrics[u.name] = {
      gpu: u.gpu,
      mode: u.mode,
      atNs: t0,
      endNs: engine.now,
      lostPages: r.lostPages,
      evictedPages: r.evictedPages,
      staleMappings: r.staleMappings.length,
      staleDevices: [...new Set(r.staleMappings.map((m) => m.device))].sort(),
    };
    finished.get(u.name)!.fire(undefined);
  }

  // dmirror devices: each process opens each device it uses once.
  const dmirrorFds = new Map<string, number>();
  const dmirrorFd = (dev: string, procName: string): number => {
    const key = `${dev}\0${procName}`;
    let fd = dmirrorFds.get(key);
    if (fd === undefined) {
      const minor = config.dmirrors!.find((d) => d.name === dev)!.minor;
      fd = procs.get(procName)!.proc.open(`/dev/hmm_dmirror${minor}`, O_RDWR);
      if (fd < 0) throw new SimConfigError(`dmirrors.${dev}: open failed (${fd})`);
      dmirrorFds.set(key, fd);
    }
    return fd;
  };
  const DMIRROR_REQUEST: Record<DmirrorOp, number> = {
    read: HMM_DMIRROR_READ,
    write: HMM_DMIRROR_WRITE,
    migrate: HMM_DMIRROR_MIGRATE_TO_DEV,
    'migrate-to-ram': HMM_DMIRROR_MIGRATE_TO_SYS,
    exclusive: HMM_DMIRROR_EXCLUSIVE,
  };

  function* dmirrorWorkload(w: DmirrorWorkload): Generator<Wait, void, unknown> {
    if (w.after) yield finished.get(w.after)!;
    if (w.startNs && w.startNs > engine.now) yield w.startNs - engine.now;
    const b = buffers.get(w.buffer)!;
    const p = procs.get(b.proc)!;
    const fd = dmirrorFd(w.dmirror, b.proc);
    const per = Math.max(1, w.ioctlPages ?? 512);
    const pages = Math.ceil(Math.min(w.bytes ?? b.bytes, b.bytes) / PAGE_SIZE);
    const chunks = Math.ceil(pages / per);
    // READ and WRITE copy through a user bounce buffer (cmd.ptr), as the selftests do.
    const bounce = p.proc.mmap(0, per * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if (bounce < 0)
      throw new SimConfigError(`workloads.${w.name}: mmap of the bounce buffer failed (${bounce})`);
    const next = pageIndexes(
      w.pattern,
      chunks,
      Math.max(1, (w.strideBytes ?? 65536) / PAGE_SIZE / per),
      rng.fork(w.name),
    );
    const wm: WorkloadMetrics = { ...newWorkloadMetrics(engine.now), ioctls: 0, cpages: 0, ioctlErrors: 0 };
    workloadMetrics[w.name] = wm;
    const request = DMIRROR_REQUEST[w.op];
    for (let pass = 0; pass < (w.passes ?? 1); pass++) {
      for (let c = 0; c < chunks; c++) {
        const first = next(c) * per;
        const n = Math.min(per, pages - first);
        const cmd = { addr: b.addr + first * PAGE_SIZE, ptr: bounce, npages: n, cpages: 0, faults: 0 };
        const inv0 = gpuInvalidations();
        const ret = p.proc.ioctl(fd, request, cmd);
        wm.ioctls!++;
        wm.pagesTouched += n;
        if (ret < 0) wm.ioctlErrors!++;
        else {
          wm.cpages! += cmd.cpages;
          wm.cpuFaults += cmd.faults;
        }
        const done = ret < 0 ? 0 : cmd.cpages;
        // The ioctl's CPU work: the syscall and hmm_range_fault walk (or migrate_vma), the
        // faults it took, the invalidations it sent, and GPU pages it pulled back to RAM.
        let ns = v.cpuFaultEntryNs + invalidationNsSince(inv0);
        if (w.op === 'read' || w.op === 'write' || w.op === 'exclusive')
          ns +=
            v.hmmRangeFaultCallNs +
            n * v.hmmRangeFaultPerPteNs +
            (ret < 0 ? 0 : cmd.faults) * v.cpuFaultEntryNs;
        else ns += v.migrateVmaFixedNs + done * v.migrateVmaPerPageNs;
        const back = yield* migratedToRam();
        ns += back.cpuNs;
        const waited = back.waitNs;
        const core = yield* cpus.acquire();
        const t0 = engine.now;
        yield ns;
        // The driver's memcpy: READ/WRITE through the bounce buffer, MIGRATE into or out of
        // its (RAM-backed) device pages; EXCLUSIVE copies nothing.
        const bytes = w.op === 'exclusive' ? 0 : done * PAGE_SIZE;
        if (bytes > 0) yield fabric.transfer([hostMem[0], hostMem[1]], bytes, 0);
        cpus.release(core);
        const cpuNs = engine.now - t0;
        wm.faultNs += cpuNs;
        wm.computeNs += waited;
        log?.push({
          t: t0,
          kind: 'dmirror_ioctl',
          workload: w.name,
          device: w.dmirror,
          op: w.op,
          pages: n,
          cpages: done,
          faults: ret < 0 ? 0 : cmd.faults,
          cpuNs,
          core,
          ret,
          ramPages: k.alloc.used,
          vramPages: vramByGpu(),
        });
      }
    }
    wm.endNs = engine.now;
    log?.push({ t: engine.now, kind: 'workload_end', workload: w.name });
    finished.get(w.name)!.fire(undefined);
  }

  for (const w of config.workloads) {
    engine.spawn(
      w.kind === 'cpu'
        ? cpuWorkload(w)
        : w.kind === 'gpu'
          ? gpuWorkload(w)
          : w.kind === 'rdma'
            ? rdmaWorkload(w)
            : dmirrorWorkload(w),
      w.name,
    );
  }
  for (const u of config.unplugs ?? []) engine.spawn(unplugEvent(u), u.name);
  engine.run(config.durationNs ?? Infinity);
  fabric.sync();

  const devices: Record<string, DeviceMetrics> = {};
  for (const [name, g] of gpus) {
    const s = g.dev.stats;
    const b = statsBase.get(name)!;
    devices[name] = {
      ...g.m,
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
  const linkOut: Record<string, { bytes: number; busyNs: number }> = {};
  for (const l of links) linkOut[l.name] = { bytes: l.bytesCarried, busyNs: l.busyNs };
  let busy = 0;
  for (let c = 0; c < cpus.channels; c++) busy += cpus.busyTime(c);
  const result: SimResult = {
    profile: profile.name,
    seed: options.seed,
    endNs: engine.now,
    events: engine.eventsProcessed,
    devices,
    workloads: workloadMetrics,
    links: linkOut,
    cpu: { cores: cpus.channels, busyNs: busy, waitNs: cpus.waitNs },
    nics: Object.fromEntries(
      [...nics].map(([name, n]) => {
        const st = n.nic.stats;
        return [
          name,
          {
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
          },
        ];
      }),
    ),
    rdma: rdmaMetrics,
    unplugs: unplugMetrics,
    design: {
      name: design.name,
      ...design.counters,
      aliasStructPageBytes:
        design.name === 'rfc-callback' || design.name === 'pagemap-p2p'
          ? gpuList.reduce((sum, g) => sum + g.dev.barPages, 0) * v.structPageBytes
          : 0,
    },
  };
  if (log) result.log = log;
  options.inspect?.(machine);
  return result;
}

/**
 * One host<->device copy over `path`. Its fixed part (the profile's transfer time minus the
 * bytes at the profile's host link bandwidth) is charged as latency; the bytes share the
 * path's bandwidth with concurrent copies. Uncontended on the profile's own link, the time is
 * exactly transferTimeNs.
 */
export function* hostDeviceCopy(
  fabric: Fabric,
  profile: CostProfile,
  path: Link[],
  t: Transfer,
): Generator<Wait, TransferResult, unknown> {
  const dir = t.dir === 'h2d' ? 'hostToDevice' : 'deviceToHost';
  // The fixed part of a copy is the profile's transfer time minus the bytes at the profile's
  // own link bandwidth; the bytes then flow at whatever the path's links give.
  const profilePeak =
    t.dir === 'h2d' ? profile.values.hostToDeviceBandwidth : profile.values.deviceToHostBandwidth;
  const latency = Math.max(0, transferTimeNs(profile, t.bytes, dir) - t.bytes / profilePeak);
  return (yield fabric.transfer(path, t.bytes, latency)) as TransferResult;
}

/**
 * The effective bandwidth (bytes/ns = GB/s) of one uncontended copy of `bytes` through the
 * simulator's own path (engine, fabric, host memory and PCIe links), for validation.
 */
export function measureCopyBandwidth(profileName: string, bytes: number, dir: 'h2d' | 'd2h'): number {
  const profile = getProfile(profileName);
  const v = profile.values;
  const engine = new Engine();
  const fabric = new Fabric(engine);
  const memOut = new Link('host-memory.read', v.hostMemoryBandwidth);
  const memIn = new Link('host-memory.write', v.hostMemoryBandwidth);
  const h2d = new Link('pcie.h2d', v.hostToDeviceBandwidth);
  const d2h = new Link('pcie.d2h', v.deviceToHostBandwidth);
  const path = dir === 'h2d' ? [memOut, h2d] : [d2h, memIn];
  let end = 0;
  engine.spawn(
    (function* () {
      const r = yield* hostDeviceCopy(fabric, profile, path, { bytes, dir });
      end = r.endNs;
    })(),
  );
  engine.run();
  return bytes / end;
}

function pfnAt(mm: Mm, addr: number): number {
  const slot = mm.pt.slot(addr)!;
  if (slot.kind === PMD_HUGE) return slot.pfn + pteIndex(addr);
  return slot.table!.pfn[pteIndex(addr)]!;
}

/** Model memory of a simulated machine, in bytes, by part (see modelMemoryBytes). */
export interface ModelMemory {
  /** The frame table (struct pages of RAM, VRAM and BAR alias pages in use) and page contents. */
  frames: number;
  /** Every process's CPU page tables. */
  pageTables: number;
  /** GPU and NIC state: device page tables, MR translation tables, VRAM block state. */
  devices: number;
  total: number;
}

/**
 * What the model holds for a machine, in bytes: typed arrays counted exactly, the JS objects
 * around them estimated (constants measured on Node 20). Not process RSS: a counter of the
 * model's own state, which grows with the pages touched and not with the memory declared.
 * Pass it to simulate() through `inspect` to read it at the end of a run.
 */
export function modelMemoryBytes(machine: Machine): ModelMemory {
  const { frames, pageTables } = machine.kernel.memoryBytes();
  let devices = 0;
  for (const g of machine.gpus) devices += g.memoryBytes();
  for (const n of machine.nics) devices += n.memoryBytes();
  return { frames, pageTables, devices, total: frames + pageTables + devices };
}
