/**
 * The simulated platform, built from a parsed SimConfig before the clock starts: the
 * machine (kernel model) with its processes and buffers, the SVM GPUs with their copy
 * engines, the private GPU links, the RDMA NICs bound to the P2P design, the CPU pool, the
 * data path built from the PCI tree (pci-fabric.ts: its edges, host memory, the socket
 * interconnect), and the PCI connectivity the design consults.
 * Initial placement (`buffers[].place`) also runs here: nothing of it is charged or logged,
 * and the GPUs' statistics count from what it left (`statsBase`).
 *
 * It also holds what every part shares: `route` (the links between two ends of a transfer,
 * computed once per pair), `copy` (one host<->device copy on a GPU's copy engine along its
 * route) and the CPU-side cost helpers of notifier invalidations.
 *
 *   const engine = new Engine();
 *   const metrics = new SimMetrics(false);
 *   const config = parseConfig(input);
 *   const p = new Platform(config, configProfile(config), engine, new Fabric(engine), metrics);
 *   const g = p.gpus.get('gpu0')!;          // GpuDevice, its mirrors, copy engine
 *   engine.spawn(p.copy(g, { bytes: 2 ** 21, dir: 'h2d' }), 'copy');
 *   engine.run();                            // the copy took the profile's transfer time
 *   p.route(ramEnd(0), deviceEnd('gpu0'));   // [host-memory.read, pci:gpu0-root-port.down, pci:gpu0.down]
 *
 * Linux counterpart: what probe and open do on a real machine (pci_p2pdma_add_resource and
 * devm_memremap_pages for each GPU, mmu_interval_notifier_insert for each mirror, ib_reg_mr
 * with ODP for each NIC). Deliberate differences: the PCI tree is data (kernel/p2pdma.ts), and
 * links are bandwidth shares of a fabric (links.ts), not a bus model.
 */
import type { P2pDesign, P2pMapType } from '../designs/design.js';
import { createDesign } from '../designs/designs.js';
import {
  type BatchResult,
  type GpuDevice,
  type GpuMirror,
  type QueuedMigrations,
  type Transfer,
  TransferQueue,
} from '../drivers/gpu.js';
import { type OdpMr, RdmaNic } from '../drivers/rdma.js';
import {
  MADV_HUGEPAGE,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
} from '../kernel/constants.js';
import type { Kernel } from '../kernel/kernel.js';
import { userTouch } from '../kernel/memory.js';
import type { Mm } from '../kernel/mm.js';
import { type P2pdmaCalc, PciTopology } from '../kernel/p2pdma.js';
import { Machine, type Process } from '../uapi/machine.js';
import { configErrorAt, type GpuConfig, type NicConfig, type SimConfig } from './config.js';
import { hostDeviceCopy } from './copy.js';
import type { CostProfile } from './costs.js';
import type { Engine, Wait } from './engine.js';
import { type Fabric, Link } from './links.js';
import type { DeviceMetrics, NicCpuCounters, SimMetrics } from './metrics.js';
import { migrateCostNs } from './migrate-cost.js';
import {
  defaultPciSpec,
  deviceEnd,
  type FabricEnd,
  fabricDevices,
  hostLinkBandwidths,
  PciFabric,
  pciBandwidths,
  ramEnd,
} from './pci-fabric.js';
import { CopyEngine, CpuPool } from './resources.js';

/** A GPU's host link bandwidths (moved to pci-fabric.ts, which builds the fabric from them). */
export { hostLinkBandwidths };

/** A configured process: its mm and the span its buffers cover (what devices mirror). */
export interface SimProcess {
  proc: Process;
  mm: Mm;
  lo: number;
  hi: number;
}

/** A configured buffer: where it is mapped, in which process. */
export interface SimBuffer {
  addr: number;
  bytes: number;
  /** The process's name. */
  proc: string;
  mm: Mm;
}

/** A GPU: the driver's device, one mirror per process with buffers, its copy engine. */
export interface SimGpu {
  dev: GpuDevice;
  /** The copies the driver made outside its passes' own migrations, until charged (takeQueuedCopies). */
  sink: TransferQueue;
  mirs: Map<string, GpuMirror>;
  ce: CopyEngine;
  cfg: GpuConfig;
  /** The simulator's counters for it (SimMetrics.gpu). */
  m: DeviceMetrics;
}

/** An RDMA NIC: the driver, one ODP MR per process with buffers. */
export interface SimNic {
  nic: RdmaNic;
  mrs: Map<string, OdpMr>;
  cfg: NicConfig;
  /** The simulator's CPU-time counters for its fault path (SimMetrics.nic). */
  m: NicCpuCounters;
}

/** GPU invalidation counts at some moment (see `Platform.gpuInvalidations`). */
export interface InvalidationCount {
  inv: number;
  tlb: number;
}

/** The GPU driver options the platform sets from the profile or itself, after the GPU's entry. */
type PlatformGpuOptions =
  | 'sink'
  | 'owner'
  | 'accessCounterThreshold'
  | 'accessCounterGranularityBytes'
  | 'prefetchThreshold'
  | 'thrashingLapseNs'
  | 'thrashingThreshold'
  | 'thrashingPinThrottles'
  | 'thrashingPinNs';
/** True only while no GPU scenario key has one of those names (else this line fails to compile). */
export const GPU_ENTRY_KEYS_DISJOINT: [Extract<keyof GpuConfig, PlatformGpuOptions>] extends [never]
  ? true
  : never = true;

export class Platform {
  readonly v: CostProfile['values'];
  readonly machine: Machine;
  readonly kernel: Kernel;
  /** Processes by name, in configuration order. */
  readonly procs = new Map<string, SimProcess>();
  readonly buffers = new Map<string, SimBuffer>();
  readonly cpus: CpuPool;
  /** Host memory: [read, write] (the fabric's). */
  readonly hostMem: readonly [Link, Link];
  /**
   * The data path: the links of the PCI tree (`platform.pci`, or the equivalent default tree),
   * host memory and the socket interconnect. Every transfer but one over a private GPU link
   * follows `route`.
   */
  readonly pci: PciFabric;
  /** Routes asked for so far (see `route`). */
  private readonly routes = new Map<string, Link[]>();
  /** Every link, in the order the result lists them. */
  readonly links: Link[];
  readonly design: P2pDesign;
  /** The PCI topology when the config gives one (then it decides every map type). */
  readonly topo: PciTopology | null;
  readonly gpus = new Map<string, SimGpu>();
  /** The GPUs in configuration order. */
  readonly gpuList: SimGpu[];
  /** Private GPU links by "from>to". */
  readonly peerLinks = new Map<string, Link>();
  readonly nics = new Map<string, SimNic>();
  /** Each GPU's statistics after initial placement (the result counts from these). */
  readonly statsBase: Map<string, GpuDevice['stats']>;

  /**
   * Builds the platform for `config`, which parseConfig gave (its `profile` is what
   * configProfile returned). Throws ConfigError when an mmap fails (RAM too small).
   * The construction order is part of the result: kernel ids, links and processes are
   * numbered in it.
   */
  constructor(
    readonly config: SimConfig,
    readonly profile: CostProfile,
    readonly engine: Engine,
    readonly fabric: Fabric,
    readonly metrics: SimMetrics,
  ) {
    const v = profile.values;
    this.v = v;
    const machine = new Machine({
      ramBytes: config.platform?.ram ?? 64 * 2 ** 30,
      thp: config.platform?.thp ?? 'madvise',
      coherentDevices: false,
      hugetlbPages: 0,
    });
    this.machine = machine;
    const k = machine.kernel;
    this.kernel = k;
    // One Process (mm) per configured process, in order; each buffer lives in one of them.
    for (const { name } of config.processes ?? [{ name: 'main' }]) {
      const proc = machine.spawn();
      this.procs.set(name, { proc, mm: proc.mm, lo: Infinity, hi: 0 });
    }
    const firstProc = [...this.procs.keys()][0]!;
    this.cpus = new CpuPool(engine, config.platform?.cpuCores ?? 8, 'cpu');
    // The data path. (A single-socket profile, gh200-c2c, has no socket interconnect: the
    // schema refuses devices on socket 1 there, so its links then carry nothing.)
    const pciSpec = config.platform?.pci;
    this.pci = new PciFabric(
      pciSpec ?? defaultPciSpec(config),
      fabricDevices(config),
      pciBandwidths(v, config),
      {
        // The default tree stands in for a topology not given: it adds no shared bottleneck.
        bridgeEdges: pciSpec === undefined ? 'sum' : 'largest',
      },
    );
    this.hostMem = [this.pci.hostMemRead, this.pci.hostMemWrite];
    const links: Link[] = this.pci.links();
    this.links = links;

    // Buffers.
    for (const b of config.buffers) {
      const bytes = Math.ceil(b.size / PAGE_SIZE) * PAGE_SIZE;
      const pname = b.process ?? firstProc;
      const p = this.procs.get(pname)!;
      const addr = p.proc.mmap(0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      if (addr < 0) throw configErrorAt(config, ['buffers'], b.name, `mmap failed (${addr})`);
      if (b.hugepage) p.proc.madvise(addr, bytes, MADV_HUGEPAGE);
      this.buffers.set(b.name, { addr, bytes, proc: pname, mm: p.mm });
      // Devices mirror the span of each process's buffers.
      p.lo = Math.min(p.lo, addr);
      p.hi = Math.max(p.hi, addr + bytes);
    }
    const usedProcs = [...this.procs].filter(([, p]) => p.hi > 0);

    // The P2P design, and the PCI connectivity it consults.
    const design = createDesign(config.design ?? 'upstream', { lockPerPage: config.rfcLockPerPage ?? false });
    this.design = design;
    const pci = config.platform?.pci;
    this.topo = pci !== undefined ? PciTopology.fromSpec(pci) : null;
    const connectivity = {
      mapType: (gpu: string, nic: string) => this.mapType(gpu, nic),
      peerReachable: (a: string, b: string) => this.peerReachable(a, b),
    };
    const gpuConfigs = config.devices?.gpus ?? [];
    const gpuNames = gpuConfigs.map((g) => g.name);

    // GPUs, each with its copy engines.
    for (const g of gpuConfigs) {
      const sink = new TransferQueue();
      // The driver's options are the GPU's entry in the scenario, under the same names (a knob
      // the driver reads needs no line here), plus what the platform and profile give it.
      // (PlatformGpuOptions below makes a scenario key of one of the latter's names a type error,
      // so that the profile's value cannot silently replace it.)
      const dev = machine.addGpu({
        ...g,
        sink,
        owner: design.gpuOwner(g.name, { connectivity, gpuNames }),
        placement: g.placement ?? config.placement,
        accessCounterThreshold: v.accessCounterThreshold,
        accessCounterGranularityBytes: v.accessCounterGranularityBytes,
        prefetch: g.prefetch ?? false,
        prefetchThreshold: v.prefetchThresholdPercent,
        thrashing: g.thrashing ?? false,
        thrashingLapseNs: v.thrashingLapseNs,
        thrashingThreshold: v.thrashingThresholdEvents,
        thrashingPinThrottles: v.thrashingPinThrottles,
        thrashingPinNs: v.thrashingPinNs,
      });
      const mirs = new Map(usedProcs.map(([pn, p]) => [pn, dev.mirror(p.mm, p.lo, p.hi - p.lo)]));
      const ce = new CopyEngine(engine, Math.max(1, Math.round(v.copyEngineCount)), `${g.name}-copy`);
      this.gpus.set(g.name, { dev, sink, mirs, ce, cfg: g, m: metrics.gpu(g.name) });
    }
    this.gpuList = [...this.gpus.values()];

    // Private GPU links.
    for (const l of config.devices?.gpuLinks ?? []) {
      const ab = new Link(`gpulink-${l.a}-${l.b}.${l.a}to${l.b}`, v.peerLinkBandwidth);
      const ba = new Link(`gpulink-${l.a}-${l.b}.${l.b}to${l.a}`, v.peerLinkBandwidth);
      this.peerLinks.set(`${l.a}>${l.b}`, ab);
      this.peerLinks.set(`${l.b}>${l.a}`, ba);
      links.push(ab, ba);
    }

    this.placeBuffers();
    this.statsBase = new Map([...this.gpus].map(([name, g]) => [name, { ...g.dev.stats }]));

    // RDMA NICs, bound to the design.
    for (const n of config.devices?.nics ?? []) {
      const binding = design.bind({ kernel: k, gpus: this.gpuList.map((g) => g.dev), connectivity }, n.name);
      const nic = machine.addNic(
        new RdmaNic(
          k,
          // The driver's options are the NIC's entry in the scenario, under the same names.
          n,
          binding,
          (bar) => {
            for (const g of this.gpuList)
              if (g.dev.vramPfnOfAlias(bar) >= 0) return this.mapType(g.cfg.name, n.name);
            return 'NOT_SUPPORTED';
          },
        ),
      );
      const mrs = new Map(usedProcs.map(([pn, p]) => [pn, nic.registerOdpMr(p.mm, p.lo, p.hi - p.lo)]));
      this.nics.set(n.name, { nic, mrs, cfg: n, m: metrics.nic(n.name) });
    }
  }

  /**
   * The links a transfer from `from` to `to` crosses (PciFabric.route), computed once per pair
   * and kept. `thruHostBridge`: a P2P transfer that goes up to the host bridge even below a
   * common switch (its map type is THRU_HOST_BRIDGE).
   */
  route(from: FabricEnd, to: FabricEnd, thruHostBridge = false): Link[] {
    const key = `${endKey(from)}>${endKey(to)}${thruHostBridge ? '!' : ''}`;
    let path = this.routes.get(key);
    if (path === undefined) {
      path = this.pci.route(from, to, { thruHostBridge });
      this.routes.set(key, path);
    }
    return path;
  }

  /**
   * The p2pdma calculation (map type, common upstream bridge) between `provider` and `client`
   * on the PCI topology, computed once per pair and kept: routing asks it for every transfer,
   * and the kernel's own map-type cache and counters must not move with the data path.
   * Undefined without `platform.pci`.
   */
  p2pCalc(provider: string, client: string): P2pdmaCalc | undefined {
    if (this.topo === null) return undefined;
    const key = `${provider}>${client}`;
    let c = this.calcs.get(key);
    if (c === undefined) {
      c = this.topo.calcMapTypeAndDist(provider, client);
      this.calcs.set(key, c);
    }
    return c;
  }
  private readonly calcs = new Map<string, P2pdmaCalc>();

  /**
   * Whether GPU `a` can reach GPU `b`'s VRAM (xe_has_interconnect): over a private link
   * (`gpuLinks`), or by PCI P2P when `platform.pci` gives a map type other than NOT_SUPPORTED
   * (pci_p2pdma_distance() >= 0). Without `platform.pci` a GPU pair has no map type (`p2p`
   * names GPU:NIC pairs) and is taken as reachable through the root complex.
   */
  peerReachable(a: string, b: string): boolean {
    if (
      (this.config.devices?.gpuLinks ?? []).some((l) => (l.a === a && l.b === b) || (l.a === b && l.b === a))
    )
      return true;
    const c = this.p2pCalc(b, a);
    return c === undefined || c.mapType !== 'NOT_SUPPORTED';
  }

  /**
   * pci_p2pdma_map_type between a GPU and a NIC: what the kernel's p2pdma code computes on the
   * PCI topology when there is one, else the config's `p2p` table (default NOT_SUPPORTED).
   */
  mapType(gpu: string, nic: string): P2pMapType {
    const p2p = this.config.platform?.p2p;
    return this.topo
      ? this.topo.p2pdmaMapType(gpu, nic)
      : (p2p?.pairs?.[`${gpu}:${nic}`] ?? p2p?.default ?? 'NOT_SUPPORTED');
  }

  /**
   * Initial placement, before the clock starts: 'ram' buffers are written by the CPU, a GPU's
   * buffers are write-faulted by that GPU (its placement policy decides). Nothing is charged.
   */
  private placeBuffers(): void {
    const placeBatch = new Float64Array(512);
    const placeWrites = new Uint8Array(512).fill(1);
    for (const b of this.config.buffers) {
      if (b.place === undefined) continue;
      const at = this.buffers.get(b.name)!;
      if (b.place === 'ram') {
        for (let a = at.addr; a < at.addr + at.bytes; a += PAGE_SIZE)
          userTouch(this.kernel, at.mm, a, true, 0);
        continue;
      }
      const g = this.gpus.get(b.place)!;
      for (let a = at.addr; a < at.addr + at.bytes; ) {
        let n = 0;
        for (; n < placeBatch.length && a < at.addr + at.bytes; n++, a += PAGE_SIZE) placeBatch[n] = a;
        servicePass(g, g.mirs.get(at.proc)!, placeBatch, placeWrites, n, 0);
      }
    }
  }

  /**
   * Copies one transfer between host memory and GPU `g` along its route through the PCI tree
   * (and the socket interconnect for a GPU on socket 1) on one of its copy engines, and logs it. Returns the time it took from the
   * call, waiting for a copy engine included. A transfer of 0 bytes takes no time and no event.
   */
  *copy(g: SimGpu, t: Transfer): Generator<Wait, number, unknown> {
    if (t.bytes <= 0) return 0;
    const engine = this.engine;
    const start = engine.now;
    const gpu = deviceEnd(g.cfg.name);
    const path = t.dir === 'h2d' ? this.route(ramEnd(0), gpu) : this.route(gpu, ramEnd(0));
    // Each copy occupies one of the GPU's copy engines for its whole duration.
    const ch = yield* g.ce.acquire();
    const ceStartNs = engine.now;
    const r = yield* hostDeviceCopy(this.fabric, this.profile, path, t);
    g.ce.release(ch);
    // The event names the GPU's own link (the last hop of an H2D copy, the first of a D2H).
    const link = t.dir === 'h2d' ? path[path.length - 1]! : path[0]!;
    this.metrics.event({
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

  /** Each GPU's VRAM pages in use, by name (residency samples of the event log). */
  vramByGpu(): Record<string, number> {
    return Object.fromEntries(this.gpuList.map((g) => [g.cfg.name, g.dev.vramUsed]));
  }

  /** GPU invalidations (notifier callbacks, TLB shootdowns) so far, over every GPU. */
  gpuInvalidations(): InvalidationCount {
    let inv = 0;
    let tlb = 0;
    for (const g of this.gpus.values()) {
      inv += g.dev.stats.invalidations;
      tlb += g.dev.stats.tlbInvalidations;
    }
    return { inv, tlb };
  }

  /** The CPU time of the GPU invalidations since `before` (to charge the operation that caused them). */
  invalidationNsSince(before: InvalidationCount): number {
    const now = this.gpuInvalidations();
    const v = this.v;
    return (
      (now.inv - before.inv) * v.mmuNotifierInvalidateNs + (now.tlb - before.tlb) * v.gpuTlbInvalidationNs
    );
  }

  /**
   * Charges what a CPU-side operation (a CPU fault, a dmirror ioctl) just pulled back to RAM
   * (migrate_to_ram) with the migration cost model (migrateCostNs): every GPU's queued copies
   * and their migrate work (takeQueuedCopies), and the dmirror devices' migrations not charged
   * yet (takeDmirrorMigrations). Returns the migrate CPU cost to charge and the time spent
   * waiting for the copies, which run one after the other (a dmirror's over host memory).
   */
  *migratedToRam(
    /** Run after the work is taken and before the copies (the wait for DMAs on the pages: InFlight.drain). */
    beforeCopies?: () => Generator<Wait, unknown, unknown>,
  ): Generator<Wait, { cpuNs: number; waitNs: number }, unknown> {
    const v = this.v;
    let cpuNs = 0;
    let waitNs = 0;
    // Everything is taken before the first copy yields, so that no other agent's work is taken.
    const queued = this.gpuList.map((g) => [g, takeQueuedCopies(g)] as const);
    const dm = this.takeDmirrorMigrations();
    if (beforeCopies) yield* beforeCopies();
    for (const [g, q] of queued) {
      cpuNs += migrateCostNs(v, q.calls, q.entries, q.pages);
      for (const t of q.transfers) {
        g.m.bytesToRam += t.bytes;
        waitNs += yield* this.copy(g, t);
      }
    }
    cpuNs += migrateCostNs(v, dm.calls, dm.entries, dm.pages);
    if (dm.pages > 0) {
      const t0 = this.engine.now;
      yield this.fabric.transfer([this.hostMem[0], this.hostMem[1]], dm.pages * PAGE_SIZE, 0);
      waitNs += this.engine.now - t0;
    }
    return { cpuNs, waitNs };
  }

  /** Each dmirror device's migrate work (DmirrorDevice.migrated) already charged. */
  private readonly dmirrorCharged = new Map<number, { calls: number; entries: number; pages: number }>();

  /**
   * THE place the simulator takes the migrate work of the test_hmm devices (DmirrorDevice.
   * migrated, summed over the machine's devices) done since it was last taken: migrate
   * sequences, entries and the pages they held, whose copy (dmirror's device memory is RAM) is
   * `pages` x 4 KiB through host memory.
   */
  takeDmirrorMigrations(): { calls: number; entries: number; pages: number } {
    const r = { calls: 0, entries: 0, pages: 0 };
    for (const dev of this.machine.devices) {
      if (!dev) continue;
      const m = dev.migrated;
      const was = this.dmirrorCharged.get(dev.minor) ?? { calls: 0, entries: 0, pages: 0 };
      r.calls += m.calls - was.calls;
      r.entries += m.entries - was.entries;
      r.pages += m.pages - was.pages;
      this.dmirrorCharged.set(dev.minor, { ...m });
    }
    return r;
  }

  /** The GPU whose VRAM holds `pfn`, if any. */
  gpuOfVram(pfn: number): SimGpu | undefined {
    for (const g of this.gpuList) if (g.dev.ownsVram(pfn)) return g;
    return undefined;
  }
}

/** A route cache key for one end of a transfer. */
function endKey(e: FabricEnd): string {
  return e.kind === 'ram' ? `ram${e.socket}` : `${e.kind}:${e.name}`;
}

/**
 * THE place the simulator takes the copies a GPU driver queued in its sink outside a fault
 * pass's own migrations (evictions, migrate_to_ram, removal), with the migrate work that made
 * them (QueuedMigrations: calls and entries). Whoever takes them charges all of it with
 * migrateCostNs, so no work is charged twice or left for another path to pay.
 */
export function takeQueuedCopies(g: Pick<SimGpu, 'sink'>): QueuedMigrations {
  return g.sink.take();
}

/**
 * One fault-service pass of g (GpuDevice.serviceFaults), charged with what g's sink holds: the
 * copies queued since its last pass first, then the pass's own, then those of the evictions it
 * caused; the migrate work of the queued copies and of its evictions is added to the pass's own
 * (BatchResult.migrateCalls, migratedEntries), so the pass that made the work pays for it.
 */
export function servicePass(
  g: Pick<SimGpu, 'dev' | 'sink'>,
  mir: GpuMirror,
  addrs: ArrayLike<number>,
  writes: ArrayLike<number>,
  n: number,
  nowNs: number,
): BatchResult {
  const before = takeQueuedCopies(g);
  const r = g.dev.serviceFaults(mir, addrs, writes, n, nowNs);
  const after = takeQueuedCopies(g);
  r.migrateCalls += before.calls + after.calls;
  r.migratedEntries += before.entries + after.entries;
  r.migratedPages += before.pages + after.pages;
  r.transfers = before.transfers.concat(r.transfers, after.transfers);
  return r;
}
