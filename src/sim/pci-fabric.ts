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
 * different root ports of one host bridge they meet in the host bridge and cross its P2P
 * forwarding; under host bridges of different sockets they also cross the socket interconnect.
 * `thruHostBridge` sends a P2P transfer up to the host bridge even below a common switch (ACS
 * redirect: the map type is THRU_HOST_BRIDGE). Host memory is one pool on socket 0's side, as
 * in the platform today: a device on socket 1 crosses the interconnect to reach it.
 *
 * Direction names: `.up` is toward the host (device to host, a GPU's D2H), `.down` toward the
 * device (H2D). A host bridge forwards P2P writes (`.p2p.write`: posted requests into a BAR or
 * a device) and P2P reads (`.p2p.read`: completions carrying data out of a BAR) on separate
 * links. A GPU attached by NVLink-C2C (`link.kind: c2c`) names its own link `c2c:<gpu>.up/.down`.
 *
 * Bandwidths (`pciBandwidths`) are the profile's numbers: an endpoint's link is the GPU's
 * host link (`hostLinkBandwidths`) or the NIC's `rdmaNicBandwidth`; a bridge's edge (a switch
 * uplink, a root port's edge to its host bridge), which no parameter gives yet, carries per
 * direction the largest of the edges below it, so a single transfer's bottleneck is its
 * endpoints' (as with the per-device links the platform had before the tree) and only
 * transfers that share an edge interact there.
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
  /** A host bridge's P2P forwarding, each of write and read. */
  hostBridgeP2p: number;
  /** Each configured device's own link (endpoint to its port), by device name. */
  endpoints: ReadonlyMap<string, EndpointLink>;
}

/** A device the fabric connects: its configured name and CPU socket. */
export interface FabricDevice {
  name: string;
  socket: 0 | 1;
}

/**
 * A GPU's host link bandwidths (bytes/ns) per direction: `up` is H2D, `down` D2H (the
 * platform's naming of its host link, not the fabric's). Default: the profile's measured ones
 * (asymmetric on some platforms: Gen5 H2D 35.2, D2H 52.8 GB/s). A PCIe link of another
 * generation or width scales the profile's efficiency (measured / raw) to its raw bandwidth;
 * NVLink-C2C runs at the profile's nvlinkC2cBandwidth both ways.
 */
export function hostLinkBandwidths(v: CostProfile['values'], g: GpuConfig): { up: number; down: number } {
  if (g.link?.kind === 'pcie') {
    const raw = [0, 0, 0, v.pcieGen3x16Bandwidth, v.pcieGen4x16Bandwidth, v.pcieGen5x16Bandwidth][
      g.link.gen
    ]!;
    const lanes = g.link.lanes ?? 16;
    return {
      up: (v.hostToDeviceBandwidth / v.pcieLinkRawBandwidth) * raw * (lanes / 16),
      down: (v.deviceToHostBandwidth / v.pcieLinkRawBandwidth) * raw * (lanes / 16),
    };
  }
  if (g.link?.kind === 'c2c') return { up: v.nvlinkC2cBandwidth, down: v.nvlinkC2cBandwidth };
  return { up: v.hostToDeviceBandwidth, down: v.deviceToHostBandwidth };
}

/**
 * The fabric's bandwidths from the profile, the same numbers platform.ts gives its links today:
 * host memory `hostMemoryBandwidth`; the interconnect `cpuSocketInterconnectBandwidth` (or host
 * memory's on a one-socket profile, whose interconnect carries nothing); a host bridge's P2P
 * `hostBridgeP2pBandwidth || peerPcieBandwidth || hostToDeviceBandwidth`; a GPU's link its host
 * link (H2D down, D2H up); a NIC's `rdmaNicBandwidth` both ways.
 */
export function pciBandwidths(v: CostProfile['values'], config: SimConfig): PciBandwidths {
  const endpoints = new Map<string, EndpointLink>();
  for (const g of config.devices?.gpus ?? []) {
    const { up: h2d, down: d2h } = hostLinkBandwidths(v, g);
    endpoints.set(
      g.name,
      g.link?.kind === 'c2c' ? { up: d2h, down: h2d, c2c: true } : { up: d2h, down: h2d },
    );
  }
  for (const n of config.devices?.nics ?? [])
    endpoints.set(n.name, { up: v.rdmaNicBandwidth, down: v.rdmaNicBandwidth });
  return {
    hostMemory: v.hostMemoryBandwidth,
    socketInterconnect:
      v.cpuSocketInterconnectBandwidth > 0 ? v.cpuSocketInterconnectBandwidth : v.hostMemoryBandwidth,
    hostBridgeP2p: v.hostBridgeP2pBandwidth || v.peerPcieBandwidth || v.hostToDeviceBandwidth,
    endpoints,
  };
}

/** The GPUs and NICs of a config with their sockets, GPUs first, in configuration order. */
export function fabricDevices(config: SimConfig): FabricDevice[] {
  const out: FabricDevice[] = [];
  for (const d of [...(config.devices?.gpus ?? []), ...(config.devices?.nics ?? [])])
    out.push({ name: d.name, socket: d.socket ?? 0 });
  return out;
}

/**
 * The PCI tree equivalent to today's data path for a scenario without `platform.pci`: one host
 * bridge per socket that has a device (and always socket 0's), named `socket<s>-host-bridge`;
 * under it, when any GPU:NIC pair is BUS_ADDR in `platform.p2p` (its default or a pair), one
 * root port `socket<s>-root-port` holding one switch `socket<s>-switch` with that socket's
 * devices; otherwise each device on its own root port `<device>-root-port`.
 *
 * Equivalence with the per-device links the platform had before this tree: a device's host
 * copies crossed its own link, then the interconnect from socket 1, then host memory; a NIC
 * DMA to a BAR crossed the NIC's link and the GPU's, plus the host bridge's P2P forwarding
 * unless the pair was BUS_ADDR (or ATS-direct). Here the switch keeps BUS_ADDR pairs off the
 * host bridge, and a pair that is not BUS_ADDR is routed with `thruHostBridge` (the caller
 * passes the map type, which still comes from `p2p`: this tree is for routing only and is never
 * asked for map types). Each path's bottleneck is the old path's (the bridges' edges carry the
 * largest of the edges below). Differences: devices under the default switch share its uplink;
 * a BUS_ADDR pair on different sockets cannot share a switch, so it crosses both host bridges
 * and the interconnect; a P2P transfer between sockets crosses the interconnect, which the old
 * peer and NIC paths ignored.
 */
export function defaultPciSpec(config: SimConfig): PciTopologySpec {
  const p2p = config.platform?.p2p;
  const busAddr = p2p?.default === 'BUS_ADDR' || Object.values(p2p?.pairs ?? {}).includes('BUS_ADDR');
  const devs = fabricDevices(config);
  const sockets = [0, ...(devs.some((d) => d.socket === 1) ? [1] : [])] as const;
  return {
    hostBridges: sockets.map((s) => {
      const eps: PciNodeSpec[] = devs
        .filter((d) => d.socket === s)
        .map((d) => ({ name: d.name, kind: 'endpoint' }));
      const children: PciNodeSpec[] = busAddr
        ? eps.length === 0
          ? []
          : [
              {
                name: `socket${s}-root-port`,
                kind: 'rootPort',
                children: [{ name: `socket${s}-switch`, kind: 'switch', children: eps }],
              },
            ]
        : eps.map((ep) => ({ name: `${ep.name}-root-port`, kind: 'rootPort', children: [ep] }));
      return { name: `socket${s}-host-bridge`, children };
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
  /** The edge to the parent, when a configured device sits at or below this node. */
  up: Link | null;
  down: Link | null;
  /** Host bridges: P2P forwarding of writes and reads. */
  p2pWrite: Link | null;
  p2pRead: Link | null;
  socket: 0 | 1;
}

/**
 * The links of a PCI tree and the routes between its devices, host memory and BARs. Throws
 * TopologySpecError on a bad spec (as PciTopology.fromSpec), and Error when a configured
 * device is not in the tree or the devices under one host bridge name different sockets.
 */
export class PciFabric {
  /** Host memory: read (data out of RAM), write (into RAM). Same names as the platform's today. */
  readonly hostMemRead: Link;
  readonly hostMemWrite: Link;
  /** The socket interconnect, 0 to 1 and 1 to 0. */
  readonly socket01: Link;
  readonly socket10: Link;
  private readonly nodes: Node[] = [];
  private readonly byName = new Map<string, number>();
  /** Configured device name -> its endpoint node. */
  private readonly deviceNode = new Map<string, number>();

  constructor(spec: unknown, devices: readonly FabricDevice[], bw: PciBandwidths) {
    const topo = PciTopology.fromSpec(spec); // validates the spec
    const s = spec as PciTopologySpec;
    for (const hb of s.hostBridges) {
      const i = this.add(hb.name, 'hostBridge', -1, -1);
      for (const c of hb.children) this.addSpec(c, i, i);
    }
    const platformParent = new Map((s.platformDevices ?? []).map((p) => [p.name, p.parent ?? null]));
    const hbSocket = new Map<number, { socket: 0 | 1; device: string }>();
    for (const d of devices) {
      // A platform device (an ib_device) is reached through its PCI parent: find_parent_pci_dev().
      let n: string | null = d.name;
      while (n !== null && !this.byName.has(n) && !topo.isPci(n)) n = platformParent.get(n) ?? null;
      const pci = n === null ? undefined : (this.byName.get(n) ?? this.byName.get(n.replace(/\.\d+$/, '')));
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

    // Edge bandwidths: an endpoint's own; a bridge's edge the largest of those below it.
    const edge = new Map<number, EndpointLink>();
    for (const [name, i] of this.deviceNode) {
      const b = bw.endpoints.get(name);
      if (!b) throw new Error(`PCI fabric: no bandwidth for device '${name}'`);
      const cur = edge.get(i);
      // Several configured devices on one endpoint (a NIC's functions) share its link.
      edge.set(
        i,
        cur ? { up: Math.max(cur.up, b.up), down: Math.max(cur.down, b.down), c2c: !!(cur.c2c || b.c2c) } : b,
      );
      for (let p = this.nodes[i]!.parent; p !== -1; p = this.nodes[p]!.parent) {
        const e = edge.get(p);
        edge.set(p, e ? { up: Math.max(e.up, b.up), down: Math.max(e.down, b.down) } : { ...b });
      }
    }
    for (let i = 0; i < this.nodes.length; i++) {
      const n = this.nodes[i]!;
      const e = edge.get(i);
      if (!e) continue;
      if (n.kind === 'hostBridge') {
        n.p2pWrite = new Link(`pci:${n.name}.p2p.write`, bw.hostBridgeP2p);
        n.p2pRead = new Link(`pci:${n.name}.p2p.read`, bw.hostBridgeP2p);
      } else {
        // A GPU attached by NVLink-C2C: its own link is not PCIe and is named for what it is.
        const bus = n.kind === 'endpoint' && e.c2c ? 'c2c' : 'pci';
        n.up = new Link(`${bus}:${n.name}.up`, e.up);
        n.down = new Link(`${bus}:${n.name}.down`, e.down);
      }
    }
  }

  /** Every link, in tree order (each node's up then down, a host bridge's write then read), then host memory and the interconnect. */
  links(): Link[] {
    const out: Link[] = [];
    for (const n of this.nodes) {
      if (n.up) out.push(n.up, n.down!);
      if (n.p2pWrite) out.push(n.p2pWrite, n.p2pRead!);
    }
    out.push(this.hostMemRead, this.hostMemWrite, this.socket01, this.socket10);
    return out;
  }

  /** The link named `name`, or undefined. */
  link(name: string): Link | undefined {
    return this.links().find((l) => l.name === name);
  }

  /**
   * The links a transfer from `from` to `to` crosses, in order, each in its direction (see the
   * module comment for the rule). `thruHostBridge`: a P2P transfer goes up to the host bridge
   * even when the two devices share a switch (a THRU_HOST_BRIDGE map type). Throws Error for
   * an unknown device, RAM to RAM, or a device to itself.
   */
  route(from: FabricEnd, to: FabricEnd, opts: { thruHostBridge?: boolean } = {}): Link[] {
    if (from.kind === 'ram' && to.kind === 'ram') throw new Error('PCI fabric: no route from RAM to RAM');
    if (from.kind === 'ram') {
      const b = this.endpoint(to);
      const hb = this.nodes[this.nodes[b]!.hb]!;
      return [this.hostMemRead, ...this.cross(from.socket, hb.socket), ...this.downTo(b, -1)];
    }
    const a = this.endpoint(from);
    const hbA = this.nodes[this.nodes[a]!.hb]!;
    if (to.kind === 'ram')
      return [...this.upFrom(a, -1), ...this.cross(hbA.socket, to.socket), this.hostMemWrite];
    const b = this.endpoint(to);
    if (a === b) throw new Error(`PCI fabric: no route from '${this.nodes[a]!.name}' to itself`);
    const lca = this.commonBridge(a, b);
    if (lca !== -1 && this.nodes[lca]!.kind !== 'hostBridge' && !opts.thruHostBridge)
      return [...this.upFrom(a, lca), ...this.downTo(b, lca)];
    const hbB = this.nodes[this.nodes[b]!.hb]!;
    const read = from.kind === 'bar';
    const fwd = (hb: Node) => (read ? hb.p2pRead! : hb.p2pWrite!);
    const mid = hbA === hbB ? [fwd(hbA)] : [fwd(hbA), ...this.cross(hbA.socket, hbB.socket), fwd(hbB)];
    return [...this.upFrom(a, -1), ...mid, ...this.downTo(b, -1)];
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

  private cross(a: 0 | 1, b: 0 | 1): Link[] {
    return a === b ? [] : [a === 0 ? this.socket01 : this.socket10];
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

  private add(name: string, kind: Node['kind'], parent: number, hb: number): number {
    const i = this.nodes.length;
    this.nodes.push({
      name,
      kind,
      parent,
      hb: hb === -1 ? i : hb,
      up: null,
      down: null,
      p2pWrite: null,
      p2pRead: null,
      socket: 0,
    });
    this.byName.set(name, i);
    return i;
  }

  private addSpec(c: PciNodeSpec, parent: number, hb: number): void {
    const i = this.add(c.name, c.kind, parent, hb);
    for (const k of c.children ?? []) this.addSpec(k, i, hb);
  }
}
