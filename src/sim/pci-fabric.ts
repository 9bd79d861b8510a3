/**
 * The data path built from the PCI tree: one upstream and one downstream `Link` per tree edge
 * (an endpoint's link to its port, a switch's uplink to its root port, a root port's edge to
 * its host bridge), each host bridge's P2P forwarding, host memory and the socket
 * interconnect; and `route(from, to)`, the links a transfer crosses, each in its direction.
 *
 *   const spec = config.platform?.pci ?? defaultPciSpec(config);
 *   const f = new PciFabric(spec, fabricDevices(config), pciBandwidths(profile.values, config));
 *   f.route(ramEnd(0), deviceEnd('gpu0'));            // an H2D copy: host memory, down the tree
 *   f.route(deviceEnd('nic0'), barEnd('gpu0'));       // RDMA write into gpu0's BAR
 *
 * Routing rule: up the tree from `from` to the lowest common bridge of the two ends, then down
 * to `to`. Two devices under one switch meet at the switch and do not cross its uplink; under
 * different root ports of one host bridge they meet in the root complex and cross its P2P
 * forwarding; under host bridges of different sockets they also cross the socket interconnect.
 * `thruHostBridge` sends a P2P transfer up to the root complex even below a common switch (ACS
 * redirect, or an IOVA a switch cannot route: the map type is THRU_HOST_BRIDGE). Host memory
 * is one pool on socket 0's side: a device on socket 1 crosses the interconnect to reach it.
 *
 * Direction names: `.up` is toward the host (device to host, a GPU's D2H), `.down` toward the
 * device (H2D). The root complex forwards P2P data per port it enters from (the top node of
 * the source's branch: a root port, or a device on the root bus): posted writes
 * (`pci:<port>.p2p.write`) and read completions carrying data out of a BAR
 * (`pci:<port>.p2p.read`) on separate links, writes at `hostBridgeP2p` and reads at the slower
 * `hostBridgeP2pRead` (non-posted: each read holds a tag until its completion crosses back), which
 * the profile gives per direction; so writes both ways between two root ports do not share a
 * link. P2P between sockets also crosses the interconnect's P2P forwarding
 * (`socket-interconnect.p2p.0to1/.1to0`, `socketP2p`: the measured cross-socket GPUDirect rate),
 * which host-memory traffic does not use. A GPU attached
 * by NVLink-C2C (`link.kind: c2c`) names its own link `c2c:<gpu>.up/.down`. Several configured
 * devices on one endpoint (a dual-port NIC's functions `<nic>.0`, `<nic>.1`) each get their own
 * link `pci:<function>.up/.down` at their own rate, below the endpoint's, which carries the sum.
 *
 * Bandwidths (`pciBandwidths`) are the profile's numbers: an endpoint's link is the GPU's
 * host link (`hostLinkBandwidths`) or the NIC's `rdmaNicBandwidth`. A bridge's edge (a switch
 * uplink, a root port's edge to its host bridge) is the PCIe link the tree names for it
 * (`link: { gen, lanes }` on a rootPort or switch: that generation's published rate at the
 * profile's measured efficiency, as a GPU's link). Where the tree names none, it carries per
 * direction the largest of the edges below it (one x16 uplink above x16 devices), so a single
 * transfer's bottleneck is its endpoints' and transfers that share an edge share its bandwidth
 * there: that assumed number is the first to measure.
 * In the default tree (`defaultPciSpec`), which only stands in for a topology the scenario does
 * not give, it carries the sum, so that tree makes no transfer wait for another.
 *
 * Platform.route wires it: every transfer of a run follows `route`. Pure: no engine, no state
 * beyond the links. Linux counterpart: none (the routing of TLPs by
 * PCIe switches and the root complex, which the kernel only describes with
 * pci_upstream_bridge() and the p2pdma map types).
 */
import type { PciNodeSpec, PciTopologySpec } from '../kernel/p2pdma.js';
import { PciTopology } from '../kernel/p2pdma.js';
import type { GpuConfig, SimConfig } from './config.js';
import type { CostProfile } from './costs.js';
import { Link } from './links.js';

/** One end of a transfer: a device's DMA (GPU, NIC), a GPU's BAR (its VRAM seen from the bus), or host memory. */
export type FabricEnd =
  | { kind: 'device'; name: string }
  | { kind: 'bar'; name: string }
  | { kind: 'ram'; socket: 0 | 1 };

/** A device's DMA engine as one end of a transfer. */
export function deviceEnd(name: string): FabricEnd {
  return { kind: 'device', name };
}

/** A GPU's BAR (its VRAM as a P2P target or source). */
export function barEnd(name: string): FabricEnd {
  return { kind: 'bar', name };
}

/** Host memory, reached from socket `socket`'s side (today all of it sits behind socket 0). */
export function ramEnd(socket: 0 | 1): FabricEnd {
  return { kind: 'ram', socket };
}

/** Per-direction bandwidth in bytes per ns (GB/s): `up` toward the host, `down` toward the device. */
export interface UpDown {
  up: number;
  down: number;
}

/** An endpoint's link: its bandwidths, and `c2c` for a GPU attached by NVLink-C2C instead of PCIe. */
export interface EndpointLink extends UpDown {
  c2c?: boolean;
}

/** The bandwidths of the fabric's links, bytes per ns (see `pciBandwidths`). */
export interface PciBandwidths {
  /** Host memory, each of read and write (`hostMemoryBandwidth`). */
  hostMemory: number;
  /** The socket interconnect, each direction. */
  socketInterconnect: number;
  /** The root complex's P2P forwarding of posted writes entering it from one port. */
  hostBridgeP2p: number;
  /** The same for read completions carrying data out of a BAR (slower: reads are non-posted). */
  hostBridgeP2pRead: number;
  /**
   * The same two for an AMD host bridge (vendor 0x1022), when they differ: the profile's
   * host-bridge figures carry NCCL's Intel root-complex penalty, which NCCL does not apply to AMD.
   */
  amdHostBridgeP2p?: number;
  amdHostBridgeP2pRead?: number;
  /** The socket interconnect's forwarding of P2P (device or BAR to device or BAR), each direction. */
  socketP2p: number;
  /** Each configured device's own link (endpoint to its port), by device name. */
  endpoints: ReadonlyMap<string, EndpointLink>;
  /** A PCIe link of `gen` and `lanes` (a bridge's `link` in the tree): up (toward the root) and down. */
  pcieLink?: (gen: 3 | 4 | 5, lanes: number) => { up: number; down: number };
}

/** A device the fabric connects: its configured name and CPU socket. */
export interface FabricDevice {
  name: string;
  socket: 0 | 1;
}

/**
 * A GPU's host link bandwidths (bytes/ns) per direction: host to device and device to host
 * (in the fabric, H2D is a link's `down` and D2H its `up`). Default: the profile's measured ones
 * (asymmetric on some platforms: Gen5 H2D 35.2, D2H 52.8 GB/s). A PCIe link of another
 * generation or width scales the profile's efficiency (measured / raw) to its raw bandwidth;
 * NVLink-C2C runs at the profile's nvlinkC2cBandwidth both ways.
 */
export function hostLinkBandwidths(v: CostProfile['values'], g: GpuConfig): { h2d: number; d2h: number } {
  if (g.link?.kind === 'pcie') {
    const raw = [0, 0, 0, v.pcieGen3x16Bandwidth, v.pcieGen4x16Bandwidth, v.pcieGen5x16Bandwidth][
      g.link.gen
    ]!;
    const lanes = g.link.lanes ?? 16;
    return {
      h2d: (v.hostToDeviceBandwidth / v.pcieLinkRawBandwidth) * raw * (lanes / 16),
      d2h: (v.deviceToHostBandwidth / v.pcieLinkRawBandwidth) * raw * (lanes / 16),
    };
  }
  if (g.link?.kind === 'c2c') return { h2d: v.nvlinkC2cBandwidth, d2h: v.nvlinkC2cBandwidth };
  return { h2d: v.hostToDeviceBandwidth, d2h: v.deviceToHostBandwidth };
}

/**
 * The fabric's bandwidths from the profile, the same numbers platform.ts gives its links today:
 * host memory `hostMemoryBandwidth`; the interconnect `cpuSocketInterconnectBandwidth` (or host
 * memory's on a one-socket profile, whose interconnect carries nothing); a host bridge's P2P
 * `hostBridgeP2pBandwidth || peerPcieBandwidth || hostToDeviceBandwidth` for writes and
 * `hostBridgeP2pReadBandwidth` (or the write rate where it is 0) for reads; the interconnect's P2P
 * forwarding `rdmaNicGpuCrossSocketBandwidth`; a GPU's link its host link (H2D down, D2H up); a
 * NIC's `rdmaNicBandwidth` both ways.
 */
export function pciBandwidths(v: CostProfile['values'], config: SimConfig): PciBandwidths {
  const endpoints = new Map<string, EndpointLink>();
  for (const g of config.devices?.gpus ?? []) {
    const { h2d, d2h } = hostLinkBandwidths(v, g);
    endpoints.set(
      g.name,
      g.link?.kind === 'c2c' ? { up: d2h, down: h2d, c2c: true } : { up: d2h, down: h2d },
    );
  }
  for (const n of config.devices?.nics ?? [])
    endpoints.set(n.name, { up: v.rdmaNicBandwidth, down: v.rdmaNicBandwidth });
  const hb = v.hostBridgeP2pBandwidth || v.peerPcieBandwidth || v.hostToDeviceBandwidth;
  return {
    hostMemory: v.hostMemoryBandwidth,
    socketInterconnect:
      v.cpuSocketInterconnectBandwidth > 0 ? v.cpuSocketInterconnectBandwidth : v.hostMemoryBandwidth,
    hostBridgeP2p: hb,
    hostBridgeP2pRead: v.hostBridgeP2pReadBandwidth || hb,
    // NCCL's topology model (src/graph/topo.h) charges P2P through the CPU an overhead only on
    // Intel CPUs; an AMD root complex forwards at the P2P rate the profile measured below a
    // switch, its reads scaled alike.
    ...(v.hostBridgeP2pBandwidth > 0 && v.intelHostBridgeP2pPenalty > 0
      ? {
          amdHostBridgeP2p: v.hostBridgeP2pBandwidth * v.intelHostBridgeP2pPenalty,
          amdHostBridgeP2pRead: (v.hostBridgeP2pReadBandwidth || hb) * v.intelHostBridgeP2pPenalty,
        }
      : {}),
    socketP2p: v.rdmaNicGpuCrossSocketBandwidth,
    endpoints,
    pcieLink: (gen, lanes) => {
      const { h2d, d2h } = hostLinkBandwidths(v, { link: { kind: 'pcie', gen, lanes } } as GpuConfig);
      return { up: d2h, down: h2d };
    },
  };
}

/** The GPUs and NICs of a config with their sockets, GPUs first, in configuration order. */
export function fabricDevices(config: SimConfig): FabricDevice[] {
  const out: FabricDevice[] = [];
  for (const d of [...(config.devices?.gpus ?? []), ...(config.devices?.nics ?? [])])
    out.push({ name: d.name, socket: d.socket ?? 0 });
  return out;
}

/** Edge bandwidths of a bridge: the largest of the edges below it, or their sum (see the module comment). */
export type BridgeEdges = 'largest' | 'sum';

/**
 * The PCI tree that stands in for a scenario without `platform.pci`, for routing only (map types
 * still come from `p2p`; the caller passes `thruHostBridge`): one host bridge per socket that
 * has a device (and always socket 0's), named `socket<s>/host-bridge`. The devices of each set
 * of GPU:NIC pairs that `p2p` makes BUS_ADDR (its default or a pair; connected through shared
 * devices) sit under one switch `socket<s>/switch<k>` on a root port `socket<s>/root-port<k>`,
 * so that their P2P turns below the root complex; every other device sits on its own root port
 * `<device>/root-port`, except a GPU attached by NVLink-C2C, which hangs off the host bridge
 * itself. Names carry a '/', which no scenario name may, so they cannot collide with a device.
 * Build the fabric with `bridgeEdges: 'sum'`: this tree adds no shared bottleneck. A BUS_ADDR
 * pair on two sockets, which no real switch allows but version 1 accepts, shares no switch: its
 * P2P crosses the root complexes and the interconnect.
 */
export function defaultPciSpec(config: SimConfig): PciTopologySpec {
  const p2p = config.platform?.p2p;
  const gpus = config.devices?.gpus ?? [];
  const nics = config.devices?.nics ?? [];
  const devs = fabricDevices(config);
  // Union-find over BUS_ADDR pairs.
  const parent = new Map<string, string>(devs.map((d) => [d.name, d.name]));
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    return r;
  };
  for (const g of gpus)
    for (const n of nics) {
      const t = p2p?.pairs?.[`${g.name}:${n.name}`] ?? p2p?.default ?? 'NOT_SUPPORTED';
      // No switch spans two sockets: such a pair (which version 1 accepts) is routed through
      // both host bridges and the interconnect.
      if (t === 'BUS_ADDR' && (g.socket ?? 0) === (n.socket ?? 0)) parent.set(find(g.name), find(n.name));
    }
  const members = new Map<string, string[]>();
  for (const d of devs) {
    const r = find(d.name);
    members.set(r, [...(members.get(r) ?? []), d.name]);
  }
  const c2c = new Set(gpus.filter((g) => g.link?.kind === 'c2c').map((g) => g.name));
  const sockets = [0, ...(devs.some((d) => d.socket === 1) ? [1] : [])] as const;
  return {
    hostBridges: sockets.map((s) => {
      const children: PciNodeSpec[] = [];
      const placed = new Set<string>();
      let k = 0;
      for (const d of devs) {
        if (d.socket !== s || placed.has(d.name)) continue;
        const group = members.get(find(d.name))!;
        if (group.length > 1) {
          for (const m of group) placed.add(m);
          children.push({
            name: `socket${s}/root-port${k}`,
            kind: 'rootPort',
            children: [
              {
                name: `socket${s}/switch${k}`,
                kind: 'switch',
                children: group.map((m) => ({ name: m, kind: 'endpoint' })),
              },
            ],
          });
          k++;
        } else if (c2c.has(d.name)) {
          children.push({ name: d.name, kind: 'endpoint' });
        } else {
          children.push({
            name: `${d.name}/root-port`,
            kind: 'rootPort',
            children: [{ name: d.name, kind: 'endpoint' }],
          });
        }
      }
      return { name: `socket${s}/host-bridge`, children };
    }),
  };
}

/** A node of the tree the fabric keeps: a host bridge, root port, switch or endpoint. */
interface Node {
  name: string;
  kind: 'hostBridge' | PciNodeSpec['kind'];
  /** Index of the parent node, -1 for a host bridge. */
  parent: number;
  /** The host bridge above (itself for a host bridge). */
  hb: number;
  /** The top node of its branch: the child of the host bridge it is under (itself for such a child). */
  top: number;
  /** The edge to the parent, when a configured device sits at or below this node. */
  up: Link | null;
  down: Link | null;
  /** A child of a host bridge: the root complex's P2P forwarding of data entering from it. */
  p2pWrite: Link | null;
  p2pRead: Link | null;
  socket: 0 | 1;
}

/**
 * The links of a PCI tree and the routes between its devices, host memory and BARs. Throws
 * TopologySpecError on a bad spec (as PciTopology.fromSpec), and Error when a configured
 * device is not an endpoint (or a function of one) of the tree, or the devices under one host
 * bridge name different sockets (the schema refuses both first).
 */
export class PciFabric {
  /** Host memory: read (data out of RAM), write (into RAM). */
  readonly hostMemRead: Link;
  readonly hostMemWrite: Link;
  /** The socket interconnect, 0 to 1 and 1 to 0. */
  readonly socket01: Link;
  readonly socket10: Link;
  /** The interconnect's P2P forwarding, 0 to 1 and 1 to 0 (crossed with socket01/socket10). */
  readonly socketP2p01: Link;
  readonly socketP2p10: Link;
  private readonly nodes: Node[] = [];
  private readonly byName = new Map<string, number>();
  /** Configured device name -> its endpoint node. */
  private readonly deviceNode = new Map<string, number>();
  /** A device that shares its endpoint with another: its own link [up, down] below the endpoint's. */
  private readonly functionLinks = new Map<string, [Link, Link]>();
  /** Host bridges whose vendor is AMD (their P2P forwarding has no Intel penalty). */
  private readonly amdBridges = new Set<number>();
  /** A bridge whose upstream link the tree gives (`link`): generation and width. */
  private readonly bridgeLinks = new Map<number, { gen: 3 | 4 | 5; lanes: number }>();

  constructor(
    spec: unknown,
    devices: readonly FabricDevice[],
    bw: PciBandwidths,
    opts: { bridgeEdges?: BridgeEdges } = {},
  ) {
    PciTopology.fromSpec(spec); // validates the spec
    const s = spec as PciTopologySpec;
    for (const hb of s.hostBridges) {
      const i = this.add(hb.name, 'hostBridge', -1, -1, -1);
      if (hb.vendor === 0x1022) this.amdBridges.add(i);
      for (const c of hb.children) this.addSpec(c, i, i, -1);
    }
    const hbSocket = new Map<number, { socket: 0 | 1; device: string }>();
    for (const d of devices) {
      // An endpoint's name, or one of its functions `<endpoint>.<n>`.
      const pci = this.byName.get(d.name) ?? this.byName.get(d.name.replace(/\.\d+$/, ''));
      if (pci === undefined || this.nodes[pci]!.kind !== 'endpoint')
        throw new Error(`PCI fabric: device '${d.name}' is not an endpoint of the PCI tree`);
      this.deviceNode.set(d.name, pci);
      const hb = this.nodes[pci]!.hb;
      const prev = hbSocket.get(hb);
      if (prev && prev.socket !== d.socket)
        throw new Error(
          `PCI fabric: '${d.name}' (socket ${d.socket}) and '${prev.device}' (socket ${prev.socket}) are under one host bridge '${this.nodes[hb]!.name}'`,
        );
      hbSocket.set(hb, { socket: d.socket, device: d.name });
    }
    for (const [hb, { socket }] of hbSocket) this.nodes[hb]!.socket = socket;

    this.hostMemRead = new Link('host-memory.read', bw.hostMemory);
    this.hostMemWrite = new Link('host-memory.write', bw.hostMemory);
    this.socket01 = new Link('socket-interconnect.0to1', bw.socketInterconnect);
    this.socket10 = new Link('socket-interconnect.1to0', bw.socketInterconnect);
    this.socketP2p01 = new Link('socket-interconnect.p2p.0to1', bw.socketP2p);
    this.socketP2p10 = new Link('socket-interconnect.p2p.1to0', bw.socketP2p);

    // Endpoint edges: a device's own link, or the sum of its devices' when several share it.
    const onEndpoint = new Map<number, string[]>();
    for (const [name, i] of this.deviceNode) onEndpoint.set(i, [...(onEndpoint.get(i) ?? []), name]);
    const edge = new Map<number, EndpointLink>();
    for (const [i, names] of onEndpoint) {
      const bws = names.map((n) => {
        const b = bw.endpoints.get(n);
        if (!b) throw new Error(`PCI fabric: no bandwidth for device '${n}'`);
        return b;
      });
      edge.set(i, {
        up: bws.reduce((a, b) => a + b.up, 0),
        down: bws.reduce((a, b) => a + b.down, 0),
        c2c: bws.some((b) => b.c2c),
      });
      if (names.length > 1)
        names.forEach((n, k) => {
          this.functionLinks.set(n, [
            new Link(`pci:${n}.up`, bws[k]!.up),
            new Link(`pci:${n}.down`, bws[k]!.down),
          ]);
        });
    }
    // Bridge edges: the largest of the endpoint edges below, or their sum.
    const sum = opts.bridgeEdges === 'sum';
    for (const [i, e] of [...edge]) {
      for (let p = this.nodes[i]!.parent; p !== -1; p = this.nodes[p]!.parent) {
        const cur = edge.get(p);
        edge.set(
          p,
          !cur
            ? { up: e.up, down: e.down }
            : sum
              ? { up: cur.up + e.up, down: cur.down + e.down }
              : { up: Math.max(cur.up, e.up), down: Math.max(cur.down, e.down) },
        );
      }
    }
    // A bridge whose link the tree gives carries that link's bandwidth (the PCIe rate of its
    // generation and width, at the profile's measured efficiency), not an assumed one.
    for (const [i, l] of this.bridgeLinks) {
      if (!edge.has(i) || !bw.pcieLink) continue;
      const b = bw.pcieLink(l.gen, l.lanes);
      edge.set(i, { up: b.up, down: b.down });
    }
    for (let i = 0; i < this.nodes.length; i++) {
      const n = this.nodes[i]!;
      const e = edge.get(i);
      if (!e || n.kind === 'hostBridge') continue;
      // A GPU attached by NVLink-C2C: its own link is not PCIe and is named for what it is.
      const bus = n.kind === 'endpoint' && e.c2c ? 'c2c' : 'pci';
      n.up = new Link(`${bus}:${n.name}.up`, e.up);
      n.down = new Link(`${bus}:${n.name}.down`, e.down);
      if (n.top === i) {
        const amd = this.amdBridges.has(n.hb);
        n.p2pWrite = new Link(`pci:${n.name}.p2p.write`, (amd && bw.amdHostBridgeP2p) || bw.hostBridgeP2p);
        n.p2pRead = new Link(
          `pci:${n.name}.p2p.read`,
          (amd && bw.amdHostBridgeP2pRead) || bw.hostBridgeP2pRead,
        );
      }
    }
  }

  /**
   * Every link, in tree order (each node's up then down, then for a child of a host bridge its
   * P2P write and read; a device's own function link after its endpoint's), then host memory,
   * the interconnect and its P2P forwarding.
   */
  links(): Link[] {
    const out: Link[] = [];
    const fns = [...this.functionLinks].map(([name, l]) => ({ at: this.deviceNode.get(name)!, l }));
    this.nodes.forEach((n, i) => {
      if (n.up) out.push(n.up, n.down!);
      if (n.p2pWrite) out.push(n.p2pWrite, n.p2pRead!);
      for (const f of fns) if (f.at === i) out.push(...f.l);
    });
    out.push(this.hostMemRead, this.hostMemWrite, this.socket01, this.socket10);
    out.push(this.socketP2p01, this.socketP2p10);
    return out;
  }

  /** The link named `name`, or undefined. */
  link(name: string): Link | undefined {
    return this.links().find((l) => l.name === name);
  }

  /**
   * The links a transfer from `from` to `to` crosses, in order, each in its direction (see the
   * module comment for the rule). `thruHostBridge`: a P2P transfer goes up to the root complex
   * even when the two devices share a switch (a THRU_HOST_BRIDGE map type). Throws Error for an
   * unknown device, RAM to RAM, or two ends on one endpoint.
   */
  route(from: FabricEnd, to: FabricEnd, opts: { thruHostBridge?: boolean } = {}): Link[] {
    if (from.kind === 'ram' && to.kind === 'ram') throw new Error('PCI fabric: no route from RAM to RAM');
    if (from.kind === 'ram') {
      const b = this.endpoint(to);
      const hb = this.nodes[this.nodes[b]!.hb]!;
      return [
        this.hostMemRead,
        ...this.cross(from.socket, hb.socket),
        ...this.downTo(b, -1),
        ...this.fnDown(to),
      ];
    }
    const a = this.endpoint(from);
    const hbA = this.nodes[this.nodes[a]!.hb]!;
    if (to.kind === 'ram')
      return [
        ...this.fnUp(from),
        ...this.upFrom(a, -1),
        ...this.cross(hbA.socket, to.socket),
        this.hostMemWrite,
      ];
    const b = this.endpoint(to);
    if (a === b)
      throw new Error(
        `PCI fabric: no route between '${from.name}' and '${to.name}': one endpoint '${this.nodes[a]!.name}'`,
      );
    const lca = this.commonBridge(a, b);
    if (lca !== -1 && this.nodes[lca]!.kind !== 'hostBridge' && !opts.thruHostBridge)
      return [...this.fnUp(from), ...this.upFrom(a, lca), ...this.downTo(b, lca), ...this.fnDown(to)];
    const hbB = this.nodes[this.nodes[b]!.hb]!;
    // The root complex forwards the data where it enters: the top of the source's branch.
    const top = this.nodes[this.nodes[a]!.top]!;
    const fwd = from.kind === 'bar' ? top.p2pRead! : top.p2pWrite!;
    return [
      ...this.fnUp(from),
      ...this.upFrom(a, -1),
      fwd,
      ...this.cross(hbA.socket, hbB.socket),
      ...this.crossP2p(hbA.socket, hbB.socket),
      ...this.downTo(b, -1),
      ...this.fnDown(to),
    ];
  }

  /** The bottleneck (smallest capacity) of a path, bytes per ns. */
  static bottleneck(path: readonly Link[]): number {
    return Math.min(...path.map((l) => l.capacityBytesPerNs));
  }

  private endpoint(e: FabricEnd): number {
    const name = e.kind === 'ram' ? '' : e.name;
    const i = this.deviceNode.get(name);
    if (i === undefined) throw new Error(`PCI fabric: unknown device '${name}'`);
    return i;
  }

  /** A device's own function link toward the host, when it shares its endpoint. */
  private fnUp(e: FabricEnd): Link[] {
    const f = e.kind === 'ram' ? undefined : this.functionLinks.get(e.name);
    return f ? [f[0]] : [];
  }

  private fnDown(e: FabricEnd): Link[] {
    const f = e.kind === 'ram' ? undefined : this.functionLinks.get(e.name);
    return f ? [f[1]] : [];
  }

  private cross(a: 0 | 1, b: 0 | 1): Link[] {
    return a === b ? [] : [a === 0 ? this.socket01 : this.socket10];
  }

  private crossP2p(a: 0 | 1, b: 0 | 1): Link[] {
    return a === b ? [] : [a === 0 ? this.socketP2p01 : this.socketP2p10];
  }

  /** The up links from node `i` to (excluding) ancestor `stop` (-1: to its host bridge). */
  private upFrom(i: number, stop: number): Link[] {
    const out: Link[] = [];
    for (let n = i; n !== stop && this.nodes[n]!.kind !== 'hostBridge'; n = this.nodes[n]!.parent)
      out.push(this.nodes[n]!.up!);
    return out;
  }

  /** The down links from ancestor `stop` (-1: its host bridge) to node `i`, top first. */
  private downTo(i: number, stop: number): Link[] {
    const out: Link[] = [];
    for (let n = i; n !== stop && this.nodes[n]!.kind !== 'hostBridge'; n = this.nodes[n]!.parent)
      out.push(this.nodes[n]!.down!);
    return out.reverse();
  }

  /** The lowest common ancestor of two nodes, or -1 under different host bridges. */
  private commonBridge(a: number, b: number): number {
    const seen = new Set<number>();
    for (let n = a; n !== -1; n = this.nodes[n]!.parent) seen.add(n);
    for (let n = b; n !== -1; n = this.nodes[n]!.parent) if (seen.has(n)) return n;
    return -1;
  }

  private add(name: string, kind: Node['kind'], parent: number, hb: number, top: number): number {
    const i = this.nodes.length;
    this.nodes.push({
      name,
      kind,
      parent,
      hb: hb === -1 ? i : hb,
      top: top === -1 ? i : top,
      up: null,
      down: null,
      p2pWrite: null,
      p2pRead: null,
      socket: 0,
    });
    this.byName.set(name, i);
    return i;
  }

  private addSpec(c: PciNodeSpec, parent: number, hb: number, top: number): void {
    const i = this.add(c.name, c.kind, parent, hb, top);
    if (c.link) this.bridgeLinks.set(i, { gen: c.link.gen, lanes: c.link.lanes ?? 16 });
    for (const k of c.children ?? []) this.addSpec(k, i, hb, top === -1 ? i : top);
  }
}
