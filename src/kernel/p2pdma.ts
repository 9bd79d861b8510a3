/**
 * PCI peer-to-peer DMA connectivity (drivers/pci/p2pdma.c, include/linux/pci-p2pdma.h): a PCI
 * topology built from a spec, the upstream-bridge walk of
 * calc_map_type_and_dist with ACS-redirect counting, the AMD Zen allowance, the host-bridge
 * allowlist (REQ_SAME_HOST_BRIDGE), the per-(provider, client) map-type cache, and P2P memory
 * resources (pfn ranges with a bus offset) that the DMA layer (dma.ts) asks about.
 *
 * The model of the tree, as pci_upstream_bridge() sees it:
 * - a host bridge is a root bus; its own devfn 00.0 device (vendor/device from the spec) is only
 *   consulted by the allowlist and is on no upstream chain;
 * - a root port sits on the root bus: its upstream bridge is null;
 * - an endpoint directly under a host bridge is a root-complex integrated endpoint (upstream
 *   bridge null);
 * - a switch is an upstream port plus one downstream port per child; both are bridges on the
 *   chain, so two devices under one switch are 4 apart (A -> DSP0 -> USP -> DSP1 -> B);
 * - an endpoint has `functions` functions (default 1) named `name.0`, `name.1`...; the plain
 *   name means function 0; all functions share the bridge above the device, so two functions
 *   of one device are 2 apart.
 *
 * Deviations, on purpose: every PCI function behaves as if its driver called
 * pcim_p2pdma_init() (the map-type cache always exists; the kernel's "provider has no p2pdma ->
 * NOT_SUPPORTED" branch is not modelled). Several children under one root port are allowed and
 * sit on its secondary bus, as under a PCI-to-PCI bridge (a real root port has one link).
 */
import { EINVAL, ENOMEM, PAGE_SHIFT } from './constants.js';

/** enum pci_p2pdma_map_type, by name. UNKNOWN is internal and never returned. */
export type P2pdmaMapType = 'NONE' | 'NOT_SUPPORTED' | 'BUS_ADDR' | 'THRU_HOST_BRIDGE';

/** PCI_VENDOR_ID_INTEL, PCI_VENDOR_ID_AMD, PCI_VENDOR_ID_GOOGLE (include/linux/pci_ids.h). */
export const PCI_VENDOR_ID_INTEL = 0x8086;
export const PCI_VENDOR_ID_AMD = 0x1022;
export const PCI_VENDOR_ID_GOOGLE = 0x1ae0;

/** Host bridge allowlist entry flag: P2P only between ports of this same host bridge. */
export const REQ_SAME_HOST_BRIDGE = 1;

/**
 * pci_p2pdma_whitelist[] (drivers/pci/p2pdma.c): vendor, device (-1 = any), flags. The first
 * entry matching vendor and device decides.
 */
export const P2PDMA_HOST_BRIDGE_ALLOWLIST: readonly { vendor: number; device: number; flags: number }[] = [
  // Xeon E5 / Core i7, and Xeon E7 v3 / E5 v3 / Core i7: same host bridge only
  { vendor: PCI_VENDOR_ID_INTEL, device: 0x3c00, flags: REQ_SAME_HOST_BRIDGE },
  { vendor: PCI_VENDOR_ID_INTEL, device: 0x3c01, flags: REQ_SAME_HOST_BRIDGE },
  { vendor: PCI_VENDOR_ID_INTEL, device: 0x2f00, flags: REQ_SAME_HOST_BRIDGE },
  { vendor: PCI_VENDOR_ID_INTEL, device: 0x2f01, flags: REQ_SAME_HOST_BRIDGE },
  // Skylake-E and later
  { vendor: PCI_VENDOR_ID_INTEL, device: 0x2030, flags: 0 },
  { vendor: PCI_VENDOR_ID_INTEL, device: 0x2031, flags: 0 },
  { vendor: PCI_VENDOR_ID_INTEL, device: 0x2032, flags: 0 },
  { vendor: PCI_VENDOR_ID_INTEL, device: 0x2033, flags: 0 },
  { vendor: PCI_VENDOR_ID_INTEL, device: 0x2020, flags: 0 },
  { vendor: PCI_VENDOR_ID_INTEL, device: 0x09a2, flags: 0 },
  // Google SoCs: any device
  { vendor: PCI_VENDOR_ID_GOOGLE, device: -1, flags: 0 },
];

// ---------------------------------------------------------------------------------------------
// The spec (user input)

/** The CPU of the machine: cpu_supports_p2pdma() is true for AMD family >= 0x17 (Zen). */
export interface CpuSpec {
  vendor: 'amd' | 'intel' | 'arm' | 'other';
  /** x86 family (c->x86); required for 'amd'. */
  family?: number;
}

/**
 * A device below a host bridge. Fields by kind:
 * - rootPort: `children` (required array), `acsRedirect` (its own ACS control has RR|CR|EC),
 *   `vendor`/`device` (used by the allowlist only when it is the host bridge's first child and
 *   the host bridge has no vendor/device of its own: pci_host_bridge_dev()).
 * - switch: `children` (required array; one downstream port per child), `acsRedirect` (applies
 *   to every downstream port), `upstreamAcsRedirect` (the upstream port, default false).
 * - endpoint: `functions` (1..256, default 1), `acsRedirect` (on each of its functions; the
 *   kernel reads ACS control of the provider and client themselves too), `vendor`/`device`.
 * - any child of a switch: `portAcsRedirect` overrides the switch's `acsRedirect` for the
 *   downstream port above that child.
 */
export interface PciNodeSpec {
  name: string;
  kind: 'rootPort' | 'switch' | 'endpoint';
  acsRedirect?: boolean;
  children?: PciNodeSpec[];
  functions?: number;
  vendor?: number;
  device?: number;
  upstreamAcsRedirect?: boolean;
  portAcsRedirect?: boolean;
  /**
   * A root port's or switch's upstream link (PCIe generation and width): the edge that carries
   * everything below it to its parent. Not read by the p2pdma rules; the simulator's fabric gives
   * the edge that link's bandwidth (without it, an assumed one).
   */
  link?: { gen: 3 | 4 | 5; lanes?: 1 | 2 | 4 | 8 | 16 };
}

/** A host bridge (one root bus). vendor/device: its devfn 00.0 device, for the allowlist. */
export interface HostBridgeSpec {
  name: string;
  vendor?: number;
  device?: number;
  children: PciNodeSpec[];
}

/**
 * A device that is not a PCI device (an RDMA ib_device, an NVMe controller's class device, a
 * platform accelerator). `parent` names its parent device (a PCI device or another platform
 * device): find_parent_pci_dev() walks up to the first PCI device.
 */
export interface PlatformDeviceSpec {
  name: string;
  parent?: string;
}

/** The whole machine. `cpu` defaults to { vendor: 'other' } (no CPU allowance). */
export interface PciTopologySpec {
  cpu?: CpuSpec;
  hostBridges: HostBridgeSpec[];
  platformDevices?: PlatformDeviceSpec[];
}

/** A bad topology spec; `path` names the offending place, e.g. `hostBridges[0].children[1].kind`. */
export class TopologySpecError extends Error {
  constructor(
    readonly path: string,
    what: string,
  ) {
    super(`${path}: ${what}`);
    this.name = 'TopologySpecError';
  }
}

/** A name given to a PciTopology query that is not a device of the topology (or not of that kind). */
export class UnknownPciDeviceError extends Error {
  constructor(
    readonly deviceName: string,
    what: string,
  ) {
    super(what);
    this.name = 'UnknownPciDeviceError';
  }
}

// ---------------------------------------------------------------------------------------------
// The built topology

const KIND_ROOT_PORT = 0;
const KIND_SWITCH_UP = 1;
const KIND_SWITCH_DOWN = 2;
const KIND_FUNCTION = 3;
const KIND_NAMES = ['root port', 'switch upstream port', 'switch downstream port', 'function'];

interface HostBridge {
  name: string;
  /** The device pci_host_bridge_dev() returns, or null: then no allowlist entry can match. */
  vendor: number;
  device: number;
  hasDev: boolean;
}

interface Named {
  /** Node index for PCI devices, -1 for host bridges and platform devices. */
  node: number;
  what: 'endpoint' | 'function' | 'rootPort' | 'switch' | 'hostBridge' | 'platform';
  /** Platform devices: the parent's name, or null. */
  parent: string | null;
}

/** What calc_map_type_and_dist found for one (provider, client) pair. */
export interface P2pdmaCalc {
  mapType: Exclude<P2pdmaMapType, 'NONE'>;
  /** Hops through the nearest common upstream device, or dist_a + dist_b with none. */
  distance: number;
  /** Number of ports with ACS redirect on the path (provider side includes the common device). */
  acsCount: number;
  /** The bridges counted in acsCount, in walk order (the pci=disable_acs_redir= list). */
  acsPath: string[];
  /** The nearest common upstream device, or null when the path goes through the host bridge(s). */
  commonUpstream: string | null;
}

/** Counters of the map-type cache (a cost model charges uncached and cached lookups differently). */
export interface P2pdmaStats {
  /** calc_map_type_and_dist runs (every distance query, and map-type cache misses). */
  calcs: number;
  /** pci_p2pdma_map_type calls. */
  mapTypeLookups: number;
  /** pci_p2pdma_map_type calls answered from the provider's map_types cache. */
  cacheHits: number;
}

/**
 * struct p2pdma_provider: a range of MMIO (one BAR, or part of one) that a PCI function offers
 * for P2P DMA. Pages [startPfn, startPfn + npages) are its ZONE_DEVICE pages (CPU physical
 * address pfn << PAGE_SHIFT); the PCI bus address of a page is its physical address plus
 * `busOffset` (pci_bus_address(bar) - pci_resource_start(bar)).
 */
export class P2pdmaProvider {
  constructor(
    readonly topology: PciTopology,
    /** The owning PCI function's name (e.g. 'gpu0.0'). */
    readonly owner: string,
    /** @internal Node index of the owner. */
    readonly ownerNode: number,
    readonly startPfn: number,
    readonly npages: number,
    readonly busOffset: number,
  ) {}
}

/** pci_p2pdma_bus_addr_map(): the PCI bus address of CPU physical address `paddr`. */
export function pciP2pdmaBusAddrMap(provider: P2pdmaProvider, paddr: number): number {
  return paddr + provider.busOffset;
}

/**
 * struct pci_p2pdma_map_state: the cursor of one mapping pass. `pci_p2pdma_state()` (dma.ts)
 * refreshes `map` only when a page's provider differs from `mem`.
 */
export interface P2pdmaMapState {
  mem: P2pdmaProvider | null;
  map: P2pdmaMapType;
}

/** A fresh map state (zero-initialised in C). */
export function newP2pdmaMapState(): P2pdmaMapState {
  return { mem: null, map: 'NONE' };
}

/** The model's stand-in for page_pgmap()/is_pci_p2pdma_page(): which provider owns a pfn. */
export interface P2pdmaPageLookup {
  /** The provider whose P2P memory contains `pfn`, or null for any other page. */
  p2pdmaProviderOf(pfn: number): P2pdmaProvider | null;
}

/**
 * A PCI topology: host bridges, root ports, switches, endpoints and their functions, with the
 * P2PDMA distance and map-type rules of drivers/pci/p2pdma.c. Build one with `fromSpec`.
 */
export class PciTopology implements P2pdmaPageLookup {
  /** cpu_supports_p2pdma(): x86 AMD family >= 0x17. */
  readonly cpuSupportsP2pdma: boolean;
  readonly stats: P2pdmaStats = { calcs: 0, mapTypeLookups: 0, cacheHits: 0 };

  // Per node (PCI device): name, kind, pci_upstream_bridge (-1 = none), ACS redirect, host bridge.
  private readonly nodeName: string[] = [];
  private readonly nodeKind: number[] = [];
  private readonly nodeUp: number[] = [];
  private readonly nodeAcs: boolean[] = [];
  private readonly nodeHost: number[] = [];
  private readonly hosts: HostBridge[] = [];
  private readonly names = new Map<string, Named>();
  /** Spec path where each name was declared (for duplicate-name errors). */
  private readonly claimedAt = new Map<string, string>();
  /** provider->p2pdma->map_types, per provider node: client node -> type. */
  private readonly mapTypes = new Map<number, Map<number, Exclude<P2pdmaMapType, 'NONE'>>>();
  /** P2P memory resources, sorted by startPfn. */
  private readonly resources: P2pdmaProvider[] = [];

  private constructor(cpu: CpuSpec) {
    this.cpuSupportsP2pdma = cpu.vendor === 'amd' && (cpu.family ?? 0) >= 0x17;
  }

  /**
   * Builds a topology from a spec (see PciTopologySpec). Throws TopologySpecError naming the
   * path of the first problem: not an object, unknown field, unknown kind, a kind that cannot
   * sit there (a switch on the root bus, anything under an endpoint), missing or non-array
   * `children`, duplicate name (function names `x.N` included), bad number, unknown platform
   * parent or a platform parent cycle.
   */
  static fromSpec(spec: unknown): PciTopology {
    const root = obj(spec, '', ['cpu', 'hostBridges', 'platformDevices']);
    let cpu: CpuSpec = { vendor: 'other' };
    if (root.cpu !== undefined) {
      const c = obj(root.cpu, 'cpu', ['vendor', 'family']);
      const vendors = ['amd', 'intel', 'arm', 'other'];
      if (typeof c.vendor !== 'string' || !vendors.includes(c.vendor)) {
        throw new TopologySpecError(
          'cpu.vendor',
          `expected one of ${vendors.join(', ')}, got ${show(c.vendor)}`,
        );
      }
      if (c.vendor === 'amd' && c.family === undefined) {
        throw new TopologySpecError('cpu.family', "required for vendor 'amd' (e.g. 0x19 for Zen 3/4)");
      }
      const family = c.family === undefined ? undefined : int(c.family, 'cpu.family', 0, 0xff);
      cpu = { vendor: c.vendor as CpuSpec['vendor'], ...(family === undefined ? {} : { family }) };
    }
    const t = new PciTopology(cpu);
    const hbs = arr(root.hostBridges, 'hostBridges');
    hbs.forEach((hbSpec, i) => {
      t.addHostBridge(hbSpec, `hostBridges[${i}]`);
    });
    if (root.platformDevices !== undefined) {
      const pds = arr(root.platformDevices, 'platformDevices');
      pds.forEach((pd, i) => {
        const path = `platformDevices[${i}]`;
        const o = obj(pd, path, ['name', 'parent']);
        const name = nameOf(o.name, `${path}.name`);
        t.claim(name, `${path}.name`, { node: -1, what: 'platform', parent: null });
      });
      pds.forEach((pd, i) => {
        const o = pd as Record<string, unknown>;
        if (o.parent === undefined) return;
        const path = `platformDevices[${i}].parent`;
        if (typeof o.parent !== 'string')
          throw new TopologySpecError(path, `expected a string, got ${show(o.parent)}`);
        const p = t.names.get(o.parent);
        if (!p) throw new TopologySpecError(path, `unknown parent '${o.parent}'`);
        if (p.what === 'hostBridge') {
          throw new TopologySpecError(path, `'${o.parent}' is a host bridge, not a device`);
        }
        t.names.get(o.name as string)!.parent = o.parent;
      });
      // A parent cycle among platform devices would make find_parent_pci_dev loop.
      pds.forEach((pd, i) => {
        const seen = new Set<string>();
        let n: string | null = (pd as Record<string, unknown>).name as string;
        while (n !== null) {
          if (seen.has(n))
            throw new TopologySpecError(`platformDevices[${i}].parent`, `parent cycle through '${n}'`);
          seen.add(n);
          const e: Named = t.names.get(n)!;
          n = e.what === 'platform' ? e.parent : null;
        }
      });
    }
    return t;
  }

  private claim(name: string, path: string, entry: Named): void {
    const prev = this.claimedAt.get(name);
    if (prev !== undefined) throw new TopologySpecError(path, `duplicate name '${name}' (first at ${prev})`);
    this.names.set(name, entry);
    this.claimedAt.set(name, path);
  }

  private addNode(name: string, kind: number, up: number, acs: boolean, host: number): number {
    const i = this.nodeName.length;
    this.nodeName.push(name);
    this.nodeKind.push(kind);
    this.nodeUp.push(up);
    this.nodeAcs.push(acs);
    this.nodeHost.push(host);
    return i;
  }

  private addHostBridge(spec: unknown, path: string): void {
    const o = obj(spec, path, ['name', 'vendor', 'device', 'children']);
    const name = nameOf(o.name, `${path}.name`);
    const hb = this.hosts.length;
    this.claim(name, `${path}.name`, { node: -1, what: 'hostBridge', parent: null });
    const host: HostBridge = { name, vendor: 0, device: 0, hasDev: false };
    if (o.vendor !== undefined || o.device !== undefined) {
      if (o.vendor === undefined) throw new TopologySpecError(`${path}.vendor`, 'required with device');
      if (o.device === undefined) throw new TopologySpecError(`${path}.device`, 'required with vendor');
      host.vendor = int(o.vendor, `${path}.vendor`, 0, 0xffff);
      host.device = int(o.device, `${path}.device`, 0, 0xffff);
      host.hasDev = true;
    }
    this.hosts.push(host);
    const children = arr(o.children, `${path}.children`);
    children.forEach((c, i) => {
      const cpath = `${path}.children[${i}]`;
      const co = this.addChild(c, cpath, -1, hb, 'hostBridge');
      // pci_host_bridge_dev(): with no devfn 00.0 host bridge device, the first device on the
      // root bus stands in (it is at 00.0 or a root port).
      if (i === 0 && !host.hasDev && co.vendor !== undefined && co.device !== undefined) {
        host.vendor = co.vendor;
        host.device = co.device;
        host.hasDev = true;
      }
    });
  }

  /**
   * Adds a child device whose upstream bridge is `up` (-1 on the root bus). `under` says what
   * holds it.
   */
  private addChild(
    spec: unknown,
    path: string,
    up: number,
    hb: number,
    under: 'hostBridge' | 'rootPort' | 'switch',
  ): { vendor?: number; device?: number } {
    const o = obj(spec, path, null);
    const kinds = ['rootPort', 'switch', 'endpoint'];
    if (typeof o.kind !== 'string' || !kinds.includes(o.kind)) {
      const got = typeof o.kind === 'string' ? `'${o.kind}'` : show(o.kind);
      throw new TopologySpecError(`${path}.kind`, `unknown kind ${got} (expected ${kinds.join(', ')})`);
    }
    const kind = o.kind as PciNodeSpec['kind'];
    const allowed: Record<PciNodeSpec['kind'], string[]> = {
      rootPort: ['name', 'kind', 'acsRedirect', 'children', 'vendor', 'device', 'link'],
      switch: ['name', 'kind', 'acsRedirect', 'upstreamAcsRedirect', 'children', 'link'],
      endpoint: ['name', 'kind', 'acsRedirect', 'functions', 'vendor', 'device'],
    };
    const fields = under === 'switch' ? [...allowed[kind], 'portAcsRedirect'] : allowed[kind];
    for (const k of Object.keys(o)) {
      if (!fields.includes(k)) {
        const why =
          k === 'portAcsRedirect'
            ? 'only a child of a switch has a downstream port of its own'
            : k === 'children' && kind === 'endpoint'
              ? 'an endpoint has no children'
              : `unknown field '${k}' for kind '${kind}' (expected ${fields.join(', ')})`;
        throw new TopologySpecError(`${path}.${k}`, why);
      }
    }
    if (kind === 'rootPort' && under !== 'hostBridge') {
      throw new TopologySpecError(
        `${path}.kind`,
        `a root port sits on a host bridge's root bus, not under a ${under}`,
      );
    }
    if (kind === 'switch' && under === 'hostBridge') {
      throw new TopologySpecError(
        `${path}.kind`,
        'a switch cannot sit on the root bus: put it under a rootPort (expected rootPort, endpoint here)',
      );
    }
    const name = nameOf(o.name, `${path}.name`);
    const acs = bool(o.acsRedirect, `${path}.acsRedirect`);
    if (o.link !== undefined) {
      const l = obj(o.link, `${path}.link`, null);
      for (const key of Object.keys(l))
        if (key !== 'gen' && key !== 'lanes')
          throw new TopologySpecError(`${path}.link.${key}`, `unknown field '${key}' (expected gen, lanes)`);
      if (l.gen !== 3 && l.gen !== 4 && l.gen !== 5)
        throw new TopologySpecError(`${path}.link.gen`, `expected 3, 4 or 5, got ${show(l.gen)}`);
      if (l.lanes !== undefined && ![1, 2, 4, 8, 16].includes(l.lanes as number))
        throw new TopologySpecError(`${path}.link.lanes`, `expected 1, 2, 4, 8 or 16, got ${show(l.lanes)}`);
    }
    const vendor = o.vendor === undefined ? undefined : int(o.vendor, `${path}.vendor`, 0, 0xffff);
    const device = o.device === undefined ? undefined : int(o.device, `${path}.device`, 0, 0xffff);
    if (kind === 'endpoint') {
      const nf = o.functions === undefined ? 1 : int(o.functions, `${path}.functions`, 1, 256);
      const entry: Named = { node: -1, what: 'endpoint', parent: null };
      this.claim(name, `${path}.name`, entry);
      // The functions share the bridge above the device: pci_upstream_bridge() of each is `up`.
      for (let f = 0; f < nf; f++) {
        const fname = `${name}.${f}`;
        const node = this.addNode(fname, KIND_FUNCTION, up, acs, hb);
        if (f === 0) entry.node = node;
        this.claim(fname, `${path}.name`, { node, what: 'function', parent: null });
      }
      return { vendor, device };
    }
    const children = arr(o.children, `${path}.children`);
    if (kind === 'rootPort') {
      const node = this.addNode(name, KIND_ROOT_PORT, up, acs, hb);
      this.claim(name, `${path}.name`, { node, what: 'rootPort', parent: null });
      children.forEach((c, i) => {
        this.addChild(c, `${path}.children[${i}]`, node, hb, 'rootPort');
      });
      return { vendor, device };
    }
    // A switch: the upstream port, then one downstream port per child.
    const usp = this.addNode(
      name,
      KIND_SWITCH_UP,
      up,
      bool(o.upstreamAcsRedirect, `${path}.upstreamAcsRedirect`),
      hb,
    );
    this.claim(name, `${path}.name`, { node: usp, what: 'switch', parent: null });
    children.forEach((c, i) => {
      const cpath = `${path}.children[${i}]`;
      const co = c !== null && typeof c === 'object' ? (c as Record<string, unknown>) : {};
      const dspAcs =
        co.portAcsRedirect === undefined ? acs : bool(co.portAcsRedirect, `${cpath}.portAcsRedirect`);
      const dsp = this.addNode(`${name}.dsp${i}`, KIND_SWITCH_DOWN, usp, dspAcs, hb);
      this.addChild(c, cpath, dsp, hb, 'switch');
    });
    return {};
  }

  // -------------------------------------------------------------------------------------------
  // Lookups

  /** Names of every PCI function (endpoint functions), in spec order. */
  functions(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.nodeName.length; i++)
      if (this.nodeKind[i] === KIND_FUNCTION) out.push(this.nodeName[i]!);
    return out;
  }

  /** True when `name` is a device, function, host bridge or platform device of this topology. */
  has(name: string): boolean {
    return this.names.has(name);
  }

  /** What `name` names (an endpoint, one of its functions `<endpoint>.<n>`, a root port, a switch, a host bridge, a platform device), or undefined. */
  kindOf(
    name: string,
  ): 'endpoint' | 'function' | 'rootPort' | 'switch' | 'hostBridge' | 'platform' | undefined {
    return this.names.get(name)?.what;
  }

  /** True when `name` is a PCI device (function, endpoint, root port or switch): dev_is_pci(). */
  isPci(name: string): boolean {
    const e = this.names.get(name);
    return e !== undefined && e.node >= 0;
  }

  /**
   * The chain pci_upstream_bridge() walks from a PCI device: the device, then each bridge up to
   * (and including) its root port. Throws UnknownPciDeviceError for a name that is not a PCI
   * device.
   */
  upstreamChain(name: string): string[] {
    const out: string[] = [];
    for (let n = this.pciNode(name, 'upstreamChain'); n !== -1; n = this.nodeUp[n]!)
      out.push(this.nodeName[n]!);
    return out;
  }

  /** The host bridge a PCI device sits under. Throws UnknownPciDeviceError. */
  hostBridgeOf(name: string): string {
    return this.hosts[this.nodeHost[this.pciNode(name, 'hostBridgeOf')]!]!.name;
  }

  /** @internal Node index of a PCI device, or throws UnknownPciDeviceError. */
  pciNode(name: string, op: string): number {
    const e = this.names.get(name);
    if (!e) throw new UnknownPciDeviceError(name, `${op}: unknown device '${name}'`);
    if (e.node < 0) {
      const what = e.what === 'hostBridge' ? 'a host bridge' : 'not a PCI device';
      throw new UnknownPciDeviceError(name, `${op}: '${name}' is ${what}`);
    }
    return e.node;
  }

  /**
   * find_parent_pci_dev(): the first PCI device at or above `name`, or -1 when a platform
   * device has no PCI ancestor. Throws UnknownPciDeviceError for an unknown name or a host bridge.
   */
  private parentPciNode(name: string, op: string): number {
    let n: string | null = name;
    while (n !== null) {
      const e = this.names.get(n);
      if (!e) throw new UnknownPciDeviceError(n, `${op}: unknown device '${n}'`);
      if (e.what === 'hostBridge') throw new UnknownPciDeviceError(n, `${op}: '${n}' is a host bridge`);
      if (e.node >= 0) return e.node;
      n = e.parent;
    }
    return -1;
  }

  // -------------------------------------------------------------------------------------------
  // calc_map_type_and_dist and friends

  /** __host_bridge_whitelist(): is host bridge `hb` allowlisted for this kind of path? */
  private hostBridgeAllowed(hb: number, sameHostBridge: boolean): boolean {
    const h = this.hosts[hb]!;
    if (!h.hasDev) return false;
    for (const e of P2PDMA_HOST_BRIDGE_ALLOWLIST) {
      if (h.vendor !== e.vendor) continue;
      if (e.device !== -1 && h.device !== e.device) continue;
      return !(e.flags & REQ_SAME_HOST_BRIDGE && !sameHostBridge);
    }
    return false;
  }

  /** host_bridge_whitelist(a, b). */
  private hostBridgesAllowed(a: number, b: number): boolean {
    const ha = this.nodeHost[a]!;
    const hb = this.nodeHost[b]!;
    if (ha === hb) return this.hostBridgeAllowed(ha, true);
    return this.hostBridgeAllowed(ha, false) && this.hostBridgeAllowed(hb, false);
  }

  /** The walk of calc_map_type_and_dist on node indices; stores the type in the cache. */
  private calc(provider: number, client: number): P2pdmaCalc {
    this.stats.calcs++;
    const up = this.nodeUp;
    const acsPath: string[] = [];
    let acsCount = 0;
    let distA = 0;
    let distB = 0;
    let common = -1;
    // Walk the provider's chain; for each device on it, look for it on the client's chain.
    // The ACS bits of every provider-side device visited, the common one included, count.
    outer: for (let a = provider; a !== -1; a = up[a]!, distA++) {
      distB = 0;
      if (this.nodeAcs[a]) {
        acsCount++;
        acsPath.push(this.nodeName[a]!);
      }
      for (let bb = client; bb !== -1; bb = up[bb]!, distB++) {
        if (bb === a) {
          common = a;
          break outer;
        }
      }
    }
    let mapType: P2pdmaCalc['mapType'] = 'THRU_HOST_BRIDGE';
    if (common !== -1) {
      // Client side, from the client up to (not including) the common device.
      for (let bb = client; bb !== common; bb = up[bb]!) {
        if (this.nodeAcs[bb]) {
          acsCount++;
          acsPath.push(this.nodeName[bb]!);
        }
      }
      if (acsCount === 0) mapType = 'BUS_ADDR';
    }
    // No common upstream device: dist_a is the provider chain's length and dist_b the client's
    // (the inner loop ran to its end on the last pass).
    const distance = distA + distB;
    if (mapType !== 'BUS_ADDR' && !this.cpuSupportsP2pdma && !this.hostBridgesAllowed(provider, client)) {
      mapType = 'NOT_SUPPORTED';
    }
    let cache = this.mapTypes.get(provider);
    if (!cache) this.mapTypes.set(provider, (cache = new Map()));
    cache.set(client, mapType);
    return {
      mapType,
      distance,
      acsCount,
      acsPath,
      commonUpstream: common === -1 ? null : this.nodeName[common]!,
    };
  }

  /**
   * calc_map_type_and_dist(provider, client) between two PCI devices, with what the walk found.
   * Caches the type (provider->p2pdma->map_types). Throws UnknownPciDeviceError for a name that
   * is not a PCI device of this topology.
   */
  calcMapTypeAndDist(provider: string, client: string): P2pdmaCalc {
    return this.calc(
      this.pciNode(provider, 'calcMapTypeAndDist'),
      this.pciNode(client, 'calcMapTypeAndDist'),
    );
  }

  /**
   * pci_p2pdma_distance(provider, client) with the map type calc_map_type_and_dist gave:
   * `distance` is -1 when the type is NOT_SUPPORTED or the client has no PCI ancestor (a
   * platform device without one; mapType NOT_SUPPORTED then), else the hop count (0 for the
   * same function, 2 for two functions of one device, 4 for two devices under one switch).
   * A platform-device client is resolved to its nearest PCI ancestor (find_parent_pci_dev).
   * Always recomputes (and refreshes the cache), as the kernel does. Throws
   * UnknownPciDeviceError for an unknown name, a provider that is not a PCI device, or a host
   * bridge.
   */
  p2pdmaDistance(provider: string, client: string): { mapType: P2pdmaMapType; distance: number } {
    const p = this.pciNode(provider, 'p2pdmaDistance');
    const c = this.parentPciNode(client, 'p2pdmaDistance');
    if (c === -1) return { mapType: 'NOT_SUPPORTED', distance: -1 };
    const r = this.calc(p, c);
    return { mapType: r.mapType, distance: r.mapType === 'NOT_SUPPORTED' ? -1 : r.distance };
  }

  /**
   * pci_p2pdma_distance_many(provider, clients, n, verbose): the sum of the distances, or -1 when
   * `clients` is empty, a client has no PCI ancestor, or any pair is NOT_SUPPORTED. Without
   * `verbose` it stops at the first unsupported client (later clients are not computed, so not
   * cached). Throws UnknownPciDeviceError for unknown names.
   */
  p2pdmaDistanceMany(provider: string, clients: readonly string[], verbose = false): number {
    const p = this.pciNode(provider, 'p2pdmaDistanceMany');
    if (clients.length === 0) return -1;
    let notSupported = false;
    let total = 0;
    for (const name of clients) {
      const c = this.parentPciNode(name, 'p2pdmaDistanceMany');
      if (c === -1) return -1;
      const r = this.calc(p, c);
      if (r.mapType === 'NOT_SUPPORTED') notSupported = true;
      if (notSupported && !verbose) break;
      total += r.distance;
    }
    return notSupported ? -1 : total;
  }

  /**
   * pci_p2pdma_map_type(provider, dev): the cached type for the pair, computed on a miss.
   * `client` null, or a platform device (even one with a PCI parent: the kernel checks
   * dev_is_pci(), it does not walk up), gives NOT_SUPPORTED. `provider` is a P2pdmaProvider of
   * this topology or a PCI device name. Counts stats.mapTypeLookups and stats.cacheHits. Throws
   * UnknownPciDeviceError for unknown names.
   */
  p2pdmaMapType(provider: P2pdmaProvider | string, client: string | null): Exclude<P2pdmaMapType, 'NONE'> {
    this.stats.mapTypeLookups++;
    let p: number;
    if (typeof provider === 'string') p = this.pciNode(provider, 'p2pdmaMapType');
    else {
      if (provider.topology !== this) {
        throw new UnknownPciDeviceError(
          provider.owner,
          `p2pdmaMapType: provider ${provider.owner} is of another topology`,
        );
      }
      p = provider.ownerNode;
    }
    if (client === null) return 'NOT_SUPPORTED';
    const e = this.names.get(client);
    if (!e) throw new UnknownPciDeviceError(client, `p2pdmaMapType: unknown device '${client}'`);
    if (e.what === 'hostBridge')
      throw new UnknownPciDeviceError(client, `p2pdmaMapType: '${client}' is a host bridge`);
    if (e.node < 0) return 'NOT_SUPPORTED';
    const cached = this.mapTypes.get(p)?.get(e.node);
    if (cached !== undefined) {
      this.stats.cacheHits++;
      return cached;
    }
    return this.calc(p, e.node).mapType;
  }

  /** Forgets every cached map type (the provider's driver unbound: pci_p2pdma_release). */
  clearMapTypeCache(): void {
    this.mapTypes.clear();
  }

  // -------------------------------------------------------------------------------------------
  // P2P memory

  /**
   * pci_p2pdma_add_resource(), reduced to what the DMA path needs: the PCI function `owner`
   * offers pages [startPfn, startPfn + npages) (CPU physical address pfn << PAGE_SHIFT) whose bus
   * addresses are physical + busOffset. Returns the provider, -EINVAL for a bad range or a
   * name that is not an endpoint function, -ENOMEM when the range overlaps another provider's
   * (memremap_pages refuses a conflicting range). Throws UnknownPciDeviceError for an unknown name.
   */
  p2pdmaAddResource(
    owner: string,
    range: { startPfn: number; npages: number; busOffset?: number },
  ): P2pdmaProvider | number {
    const node = this.pciNode(owner, 'p2pdmaAddResource');
    if (this.nodeKind[node] !== KIND_FUNCTION) return -EINVAL;
    const { startPfn, npages } = range;
    const busOffset = range.busOffset ?? 0;
    if (!Number.isSafeInteger(startPfn) || startPfn < 0 || !Number.isSafeInteger(npages) || npages <= 0)
      return -EINVAL;
    if (
      !Number.isSafeInteger(busOffset) ||
      !Number.isSafeInteger((startPfn + npages) * 2 ** PAGE_SHIFT + busOffset)
    ) {
      return -EINVAL;
    }
    for (const r of this.resources) {
      if (startPfn < r.startPfn + r.npages && r.startPfn < startPfn + npages) return -ENOMEM;
    }
    const p = new P2pdmaProvider(this, this.nodeName[node]!, node, startPfn, npages, busOffset);
    let i = this.resources.length;
    while (i > 0 && this.resources[i - 1]!.startPfn > startPfn) i--;
    this.resources.splice(i, 0, p);
    return p;
  }

  /** is_pci_p2pdma_page() + the page's provider: the provider owning `pfn`, or null. */
  p2pdmaProviderOf(pfn: number): P2pdmaProvider | null {
    const rs = this.resources;
    let lo = 0;
    let hi = rs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (rs[mid]!.startPfn <= pfn) lo = mid + 1;
      else hi = mid;
    }
    const r = rs[lo - 1];
    return r && pfn < r.startPfn + r.npages ? r : null;
  }

  /** A short text picture of the tree (for reports and test failures). */
  describe(): string {
    const lines: string[] = [];
    const depth = (n: number): number => {
      let d = 0;
      for (let u = this.nodeUp[n]!; u !== -1; u = this.nodeUp[u]!) d++;
      return d;
    };
    this.hosts.forEach((h, hb) => {
      const id = h.hasDev ? ` ${hex4(h.vendor)}:${hex4(h.device)}` : '';
      lines.push(`${h.name}${id}${this.hostBridgeAllowed(hb, true) ? ' (allowlisted)' : ''}`);
      for (let n = 0; n < this.nodeName.length; n++) {
        if (this.nodeHost[n] !== hb) continue;
        const acs = this.nodeAcs[n] ? ' [ACS redirect]' : '';
        lines.push(
          `${'  '.repeat(depth(n) + 1)}${this.nodeName[n]} (${KIND_NAMES[this.nodeKind[n]!]})${acs}`,
        );
      }
    });
    return lines.join('\n');
  }
}

// ---------------------------------------------------------------------------------------------
// Spec validation helpers

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `'${v}'`;
  if (typeof v === 'object') return 'an object';
  return String(v);
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}

/** An object with only `fields` (null: any fields, the caller checks). */
function obj(v: unknown, path: string, fields: string[] | null): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new TopologySpecError(path || '(spec)', `expected an object, got ${show(v)}`);
  }
  const o = v as Record<string, unknown>;
  if (fields) {
    for (const k of Object.keys(o)) {
      if (!fields.includes(k)) {
        throw new TopologySpecError(
          path ? `${path}.${k}` : k,
          `unknown field '${k}' (expected ${fields.join(', ')})`,
        );
      }
    }
  }
  return o;
}

function arr(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) throw new TopologySpecError(path, `expected an array, got ${show(v)}`);
  return v;
}

function nameOf(v: unknown, path: string): string {
  if (typeof v !== 'string' || v === '')
    throw new TopologySpecError(path, `expected a non-empty string, got ${show(v)}`);
  return v;
}

function bool(v: unknown, path: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw new TopologySpecError(path, `expected true or false, got ${show(v)}`);
  return v;
}

function int(v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new TopologySpecError(path, `expected an integer in ${min}..${max}, got ${show(v)}`);
  }
  return v;
}
