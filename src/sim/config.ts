/**
 * The simulator's input: SimConfig and its parts (machine, buffers, workloads, events, P2P
 * platform), and validateConfig(), which checks a configuration before anything is built and
 * names the first problem it finds. No Linux counterpart: this is the description of a machine
 * and what runs on it, as a test harness would set it up.
 *
 *   const profile = validateConfig({ profile: 'pcie5-h100', gpus: [], buffers: [b], workloads: [] });
 *   // throws SimConfigError('buffers.b.bytes must be a positive number') for a bad buffer
 */
import { DESIGN_NAMES, type DesignName, type P2pMapType } from '../designs/design.js';
import type { PlacementPolicy } from '../drivers/gpu.js';
import { PAGE_SIZE, PMD_SIZE } from '../kernel/constants.js';
import { PciTopology, TopologySpecError } from '../kernel/p2pdma.js';
import { type CostProfile, resolveProfile, withOverrides } from './costs.js';

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

/** Thrown for an invalid configuration (a message naming the field). */
export class SimConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimConfigError';
  }
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
