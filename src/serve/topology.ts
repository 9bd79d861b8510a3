/**
 * The topology view: a scenario's PCI tree (platform.pci, built by the kernel model's
 * PciTopology) with the P2P path between two devices coloured by the map type
 * pci_p2pdma_distance() gives; or, for a scenario without platform.pci, its GPUs and NICs
 * with the p2p map-type table the simulation uses.
 */
import * as Plot from '@observablehq/plot';
import { PciTopology, UnknownPciDeviceError } from '../kernel/p2pdma.js';
import type { SimConfig } from '../sim/simulate.js';
import { chartSvg, frame } from './charts.js';
import type { Figure, MapType, P2pPath, PairMapType, TopologyNode, TopologyResponse } from './types.js';

/** The map types' colors in the view (and the legend). */
export const MAP_TYPE_COLORS: Record<MapType, string> = {
  BUS_ADDR: '#59a14f',
  THRU_HOST_BRIDGE: '#f28e2b',
  NOT_SUPPORTED: '#e15759',
};
const EDGE = '#bbbbbb';
const ACS = 'ACS redirect';
const ACS_COLOR = '#7b3fa0';
/** The tree's root: the CPU and its root complex, above every host bridge. */
export const CPU_NODE = 'CPU';

/** A bad device pick (unknown name, or a provider that is not a PCI device). */
export class TopologyQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TopologyQueryError';
  }
}

interface Tree {
  nodes: TopologyNode[];
  /** Kernel node name of an endpoint function -> the names on the display chain, lowest first. */
  fnDisplay: Map<string, string[]>;
  /** Devices one can pick as path ends. */
  endpoints: string[];
  platformParent: Map<string, string | null>;
}

type Spec = Record<string, unknown>;
const list = (v: unknown): Spec[] => (Array.isArray(v) ? (v as Spec[]) : []);

/** The display tree of a spec that PciTopology.fromSpec accepted. */
function buildTree(spec: Spec, gpus: readonly string[], nics: readonly string[]): Tree {
  const nodes: TopologyNode[] = [{ name: CPU_NODE, kind: 'cpu', parent: null, acsRedirect: false }];
  const fnDisplay = new Map<string, string[]>();
  const endpoints: string[] = [];
  const role = (name: string): Pick<TopologyNode, 'role'> =>
    gpus.includes(name) ? { role: 'gpu' } : nics.includes(name) ? { role: 'nic' } : {};
  const child = (c: Spec, parent: string): void => {
    const name = String(c.name);
    const acs = c.acsRedirect === true;
    if (c.kind === 'endpoint') {
      const nf = typeof c.functions === 'number' ? c.functions : 1;
      nodes.push({ name, kind: nf === 1 ? 'function' : 'endpoint', parent, acsRedirect: acs, ...role(name) });
      if (nf === 1) {
        fnDisplay.set(`${name}.0`, [name]);
        endpoints.push(name);
      } else {
        for (let f = 0; f < nf; f++) {
          const fname = `${name}.${f}`;
          nodes.push({ name: fname, kind: 'function', parent: name, acsRedirect: acs });
          fnDisplay.set(fname, [fname, name]);
          endpoints.push(fname);
        }
      }
      return;
    }
    if (c.kind === 'rootPort') {
      nodes.push({ name, kind: 'rootPort', parent, acsRedirect: acs });
      for (const cc of list(c.children)) child(cc, name);
      return;
    }
    // A switch: its upstream port, then one downstream port per child.
    nodes.push({ name, kind: 'switch', parent, acsRedirect: c.upstreamAcsRedirect === true });
    list(c.children).forEach((cc, i) => {
      const dsp = `${name}.dsp${i}`;
      const own = cc.portAcsRedirect;
      nodes.push({
        name: dsp,
        kind: 'switchPort',
        parent: name,
        acsRedirect: own === undefined ? acs : own === true,
      });
      child(cc, dsp);
    });
  };
  for (const hb of list(spec.hostBridges)) {
    const name = String(hb.name);
    nodes.push({ name, kind: 'hostBridge', parent: CPU_NODE, acsRedirect: false });
    for (const c of list(hb.children)) child(c, name);
  }
  const platformParent = new Map<string, string | null>();
  const shown = (n: string) => fnDisplay.get(n)?.[0] ?? n;
  for (const pd of list(spec.platformDevices)) {
    const name = String(pd.name);
    const parent = typeof pd.parent === 'string' ? pd.parent : null;
    platformParent.set(name, parent);
    nodes.push({
      name,
      kind: 'platform',
      parent: parent === null ? CPU_NODE : shown(parent),
      acsRedirect: false,
      ...role(name),
    });
    endpoints.push(name);
  }
  // Platform devices may name a parent declared after them: order parents first.
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const ordered: TopologyNode[] = [];
  const placed = new Set<string>();
  const place = (n: TopologyNode) => {
    if (placed.has(n.name)) return;
    placed.add(n.name);
    const p = n.parent === null ? undefined : byName.get(n.parent);
    if (p) place(p);
    ordered.push(n);
  };
  nodes.forEach(place);
  return { nodes: ordered, fnDisplay, endpoints, platformParent };
}

/** The display chain from a PCI device up to (and including) its root port. */
function displayChain(topo: PciTopology, tree: Tree, name: string): string[] {
  const out: string[] = [];
  for (const n of topo.upstreamChain(name)) out.push(...(tree.fnDisplay.get(n) ?? [n]));
  return out;
}

/** The P2P path from `provider` to `client`, as the kernel walks it. Throws TopologyQueryError. */
function p2pPath(topo: PciTopology, tree: Tree, provider: string, client: string): P2pPath {
  const known = new Set(tree.nodes.map((n) => n.name));
  for (const [what, n] of [
    ['provider', provider],
    ['client', client],
  ] as const) {
    if (!tree.endpoints.includes(n)) {
      const hint = known.has(n) ? 'is not an endpoint' : 'is not a device of this topology';
      throw new TopologyQueryError(`${what} '${n}' ${hint} (pick one of ${tree.endpoints.join(', ')})`);
    }
  }
  if (!topo.isPci(provider)) {
    throw new TopologyQueryError(
      `provider '${provider}' is a platform device: a P2P provider is a PCI device`,
    );
  }
  // A platform client is reached through its nearest PCI ancestor (find_parent_pci_dev).
  const below: string[] = [];
  let pciClient: string | null = client;
  while (pciClient !== null && !topo.isPci(pciClient)) {
    below.unshift(pciClient);
    pciClient = tree.platformParent.get(pciClient) ?? null;
  }
  let d: { mapType: MapType; distance: number };
  try {
    const r = topo.p2pdmaDistance(provider, client);
    d = { mapType: r.mapType === 'NONE' ? 'NOT_SUPPORTED' : r.mapType, distance: r.distance };
  } catch (e) {
    if (e instanceof UnknownPciDeviceError) throw new TopologyQueryError(e.message);
    throw e;
  }
  if (pciClient === null) {
    return {
      provider,
      client,
      mapType: d.mapType,
      distance: d.distance,
      nodes: [provider, ...below],
      commonUpstream: null,
      acsPath: [],
    };
  }
  const calc = topo.calcMapTypeAndDist(provider, pciClient);
  const up = displayChain(topo, tree, provider);
  const down = displayChain(topo, tree, pciClient);
  let nodes: string[];
  const common =
    calc.commonUpstream === null
      ? null
      : (tree.fnDisplay.get(calc.commonUpstream)?.[0] ?? calc.commonUpstream);
  // BUS_ADDR traffic turns at the lowest device on both chains (the functions of one endpoint
  // meet at the endpoint); otherwise (no common device, or ACS redirect on the way) it goes up
  // through the host bridge(s), and for NOT_SUPPORTED that is where it would have to go.
  const meet = d.mapType === 'BUS_ADDR' ? up.find((n) => down.includes(n)) : undefined;
  if (meet !== undefined) {
    nodes = [...up.slice(0, up.indexOf(meet) + 1), ...down.slice(0, down.indexOf(meet)).reverse()];
  } else {
    const ha = topo.hostBridgeOf(provider);
    const hb = topo.hostBridgeOf(pciClient);
    nodes = [...up, ha, ...(ha === hb ? [] : [CPU_NODE, hb]), ...[...down].reverse()];
  }
  // Two names of one function (a one-function endpoint as provider and client) collapse.
  nodes = nodes.filter((n, i) => i === 0 || nodes[i - 1] !== n);
  return {
    provider,
    client,
    mapType: d.mapType,
    distance: d.distance,
    nodes: [...nodes, ...below],
    commonUpstream: common,
    acsPath: calc.acsPath.map((n) => tree.fnDisplay.get(n)?.[0] ?? n),
  };
}

/** The tree drawn left to right with the path's links coloured by its map type. */
function treeFigure(tree: Tree, path: P2pPath | null, title: string): Figure {
  const children = new Map<string, TopologyNode[]>();
  for (const n of tree.nodes) {
    if (n.parent === null) continue;
    let c = children.get(n.parent);
    if (!c) children.set(n.parent, (c = []));
    c.push(n);
  }
  const pos = new Map<string, { x: number; y: number }>();
  let leaves = 0;
  let maxDepth = 0;
  const layout = (name: string, depth: number): number => {
    maxDepth = Math.max(maxDepth, depth);
    const cs = children.get(name) ?? [];
    const y =
      cs.length === 0
        ? leaves++
        : cs.map((c) => layout(c.name, depth + 1)).reduce((a, b) => a + b, 0) / cs.length;
    pos.set(name, { x: depth, y });
    return y;
  };
  layout(CPU_NODE, 0);
  const onPath = new Set<string>();
  if (path) for (let i = 1; i < path.nodes.length; i++) onPath.add(`${path.nodes[i - 1]}>${path.nodes[i]}`);
  const pathColor = path ? MAP_TYPE_COLORS[path.mapType] : EDGE;
  const edges = tree.nodes
    .filter((n) => n.parent !== null)
    .map((n) => {
      const a = pos.get(n.parent!)!;
      const b = pos.get(n.name)!;
      const hit = onPath.has(`${n.parent}>${n.name}`) || onPath.has(`${n.name}>${n.parent}`);
      return { x1: a.x, y1: a.y, x2: b.x, y2: b.y, hit };
    });
  const dots = tree.nodes.map((n) => ({
    ...pos.get(n.name)!,
    name: n.name,
    label: n.kind === 'cpu' ? 'CPU / root complex' : n.role ? `${n.name} (${n.role.toUpperCase()})` : n.name,
    kind: n.kind,
    acs: n.acsRedirect,
    hit: path?.nodes.includes(n.name) ?? false,
  }));
  const kindFill: Record<TopologyNode['kind'], string> = {
    cpu: '#222222',
    hostBridge: '#4e79a7',
    rootPort: '#76b7b2',
    switch: '#b07aa1',
    switchPort: '#d4a6c8',
    endpoint: '#9c755f',
    function: '#edc948',
    platform: '#bab0ac',
  };
  const height = Math.max(160, leaves * 30 + 50);
  const legend = [...(Object.keys(MAP_TYPE_COLORS) as MapType[]), ACS];
  const legendColor = (k: string) => (k === ACS ? ACS_COLOR : MAP_TYPE_COLORS[k as MapType]);
  const svg = frame(
    title,
    legend,
    legendColor,
    chartSvg(
      {
        marginLeft: 80,
        marginRight: 90,
        marginTop: 20,
        marginBottom: 20,
        x: { axis: null, domain: [0, Math.max(1, maxDepth)] },
        y: { axis: null, domain: [leaves - 0.5, -0.5] },
        marks: [
          Plot.link(
            edges.filter((e) => !e.hit),
            { x1: 'x1', y1: 'y1', x2: 'x2', y2: 'y2', stroke: EDGE, strokeWidth: 1.5, curve: 'bump-x' },
          ),
          Plot.link(
            edges.filter((e) => e.hit),
            { x1: 'x1', y1: 'y1', x2: 'x2', y2: 'y2', stroke: pathColor, strokeWidth: 4, curve: 'bump-x' },
          ),
          Plot.dot(
            dots.filter((d) => d.acs),
            { x: 'x', y: 'y', r: 9, stroke: ACS_COLOR, strokeWidth: 2, fill: 'none' },
          ),
          Plot.dot(dots, {
            x: 'x',
            y: 'y',
            r: 5,
            fill: (d: (typeof dots)[number]) => kindFill[d.kind],
            stroke: (d: (typeof dots)[number]) => (d.hit ? pathColor : 'white'),
            strokeWidth: 1.5,
            title: (d: (typeof dots)[number]) => `${d.name} (${d.kind}${d.acs ? ', ACS redirect' : ''})`,
          }),
          Plot.text(
            dots.filter((d) => d.hit),
            {
              x: 'x',
              y: 'y',
              text: 'label',
              dy: -11,
              textAnchor: 'middle',
              fill: '#222222',
              fontWeight: 'bold',
            },
          ),
          Plot.text(
            dots.filter((d) => !d.hit),
            {
              x: 'x',
              y: 'y',
              text: 'label',
              dy: -11,
              textAnchor: 'middle',
              fill: '#222222',
            },
          ),
        ],
      },
      height,
    ),
    height,
  );
  return {
    id: 'pci-topology',
    caption: path
      ? `${path.provider} → ${path.client}: ${path.mapType}, distance ${path.distance}` +
        (path.acsPath.length > 0 ? `, ACS redirect at ${path.acsPath.join(', ')}` : '')
      : 'PCI topology',
    svg,
  };
}

/**
 * The topology view of a scenario's configuration, with the path from `a` (provider) to `b`
 * (client); default: the first GPU and the first NIC, else the first two endpoints. Throws
 * TopologyQueryError for a bad pick.
 */
export function topologyView(
  config: SimConfig,
  scenarioName: string,
  pick: { a?: string; b?: string } = {},
): TopologyResponse {
  const gpus = (config.devices?.gpus ?? []).map((g) => g.name);
  const nics = (config.devices?.nics ?? []).map((n) => n.name);
  const p2p = config.platform?.p2p;
  const pci = config.platform?.pci;
  if (pci === undefined) {
    const pairs: PairMapType[] = [];
    for (const gpu of gpus)
      for (const nic of nics)
        pairs.push({
          gpu,
          nic,
          mapType: p2p?.pairs?.[`${gpu}:${nic}`] ?? p2p?.default ?? 'NOT_SUPPORTED',
        });
    if (pick.a !== undefined || pick.b !== undefined) {
      throw new TopologyQueryError(
        `scenario '${scenarioName}' has no platform.pci: there is no path to draw`,
      );
    }
    return {
      scenarioName,
      source: 'p2p-table',
      gpus,
      nics,
      endpoints: [...gpus, ...nics],
      nodes: [],
      path: null,
      figure: null,
      pairs,
      describe: null,
    };
  }
  const topo = PciTopology.fromSpec(pci);
  const tree = buildTree(pci as Spec, gpus, nics);
  const pairs: PairMapType[] = [];
  for (const gpu of gpus)
    for (const nic of nics) pairs.push({ gpu, nic, mapType: topo.p2pdmaMapType(gpu, nic) });
  const pciEnds = tree.endpoints.filter((e) => topo.isPci(e));
  // An endpoint with several functions is picked by its function 0, as the kernel resolves its name.
  const norm = (n: string | undefined) =>
    n !== undefined && tree.nodes.some((x) => x.name === n && x.kind === 'endpoint') ? `${n}.0` : n;
  const a = norm(pick.a ?? gpus[0] ?? pciEnds[0]);
  const b = norm(pick.b ?? nics[0] ?? tree.endpoints.find((e) => e !== a));
  const path = a !== undefined && b !== undefined ? p2pPath(topo, tree, a, b) : null;
  return {
    scenarioName,
    source: 'pci',
    gpus,
    nics,
    endpoints: tree.endpoints,
    nodes: tree.nodes,
    path,
    figure: treeFigure(tree, path, `PCI topology of ${scenarioName}`),
    pairs,
    describe: topo.describe(),
  };
}
