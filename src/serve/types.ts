/**
 * The viewer's API: what each GET route under /api answers, as JSON. The browser code in web/
 * imports these types (type-only), so the server and the viewer agree on one shape.
 *
 * Errors are `{ error: string }` with status 404 (no such run, exploration or route), 405 (a
 * method other than GET or HEAD), 422 (a stored run this hmmlab cannot simulate again) or 503
 * (no results store, or one that cannot be read).
 */
import type { ExplorationSummary, RunSummary, StoredExploration } from '../store/store.js';

export type { ExplorationSummary, RunSummary, StoredExploration };

/** Every error answer. */
export interface ApiError {
  error: string;
}

/** GET /api/status: is there a readable results store? */
export interface StatusResponse {
  hmmlabVersion: string;
  store: {
    path: string;
    ok: boolean;
    /** Why the store cannot be used (absent when ok). */
    message?: string;
    schemaVersion?: number;
    runs?: number;
    explorations?: number;
  };
}

/** GET /api/runs[?scenario=&design=] */
export interface RunsResponse {
  runs: RunSummary[];
  /** Every scenario name and design in the store (for the filters), sorted. */
  scenarios: string[];
  designs: string[];
}

/** One figure: a file-name-safe id, a caption and a standalone SVG. */
export interface Figure {
  id: string;
  caption: string;
  svg: string;
}

/** A comparison table: header and cells (the report's columns), and what each column counts. */
export interface Table {
  head: string[];
  cells: string[][];
  /** [header, what the column counts and its unit] per column (src/sim/compare-columns.ts). */
  legend: [string, string][];
}

/** GET /api/runs/:id: a stored run, simulated again for its time series. */
export interface RunResponse {
  run: RunSummary & { scenarioText: string };
  /** Set when today's hmmlab gives other metrics than the stored ones (the figures show today's). */
  warning?: string;
  endNs: number;
  eventCount: number;
  /** Who acts in the event log (GPUs, NICs, links, workloads) and the event kinds, for the filters. */
  agents: string[];
  kinds: string[];
  table: Table;
  /** The parts and counts behind the table's figures (the report's second table). */
  moreTable: Table;
  figures: Figure[];
}

/** One event of the log, flattened for the events table. */
export interface EventRow {
  /** Position in the run's event log. */
  index: number;
  kind: string;
  agent: string;
  startNs: number;
  endNs: number;
  /** The rest of the event, in words (`pages=512 toVram=512`). */
  detail: string;
}

/** GET /api/runs/:id/events?agent=&kind=&offset=&limit= */
export interface EventsResponse {
  total: number;
  offset: number;
  events: EventRow[];
}

/** GET /api/runs/:id/timeline?agent=&kind= */
export interface TimelineResponse {
  /** Events that match the filter. */
  total: number;
  /** Bars drawn (events closer than a pixel on one lane are merged into one bar). */
  bars: number;
  figure: Figure;
}

/** GET /api/compare?runs=1,2,3 */
export interface CompareResponse {
  runs: RunSummary[];
  /** Series labels, in run order: `#id design`. */
  labels: string[];
  warnings: string[];
  table: Table;
  /** The parts and counts behind the table's figures (the report's second table). */
  moreTable: Table;
  figures: Figure[];
}

/** A PCI device of the topology view. */
export interface TopologyNode {
  name: string;
  kind: 'cpu' | 'hostBridge' | 'rootPort' | 'switch' | 'switchPort' | 'endpoint' | 'function' | 'platform';
  /** The parent's name (null for the CPU). */
  parent: string | null;
  /** ACS redirect on this port or function. */
  acsRedirect: boolean;
  /** Set for the scenario's GPUs and NICs. */
  role?: 'gpu' | 'nic';
}

export type MapType = 'BUS_ADDR' | 'THRU_HOST_BRIDGE' | 'NOT_SUPPORTED';

/** The P2P path between two devices, as pci_p2pdma_distance() finds it. */
export interface P2pPath {
  provider: string;
  client: string;
  mapType: MapType;
  /** Hops, or -1 when NOT_SUPPORTED. */
  distance: number;
  /** The devices the path crosses, provider first, client last. */
  nodes: string[];
  commonUpstream: string | null;
  /** Ports with ACS redirect on the path. */
  acsPath: string[];
}

/** One GPU-NIC pair's map type (what the simulation uses). */
export interface PairMapType {
  gpu: string;
  nic: string;
  mapType: MapType;
}

/** GET /api/runs/:id/topology?a=&b= */
export interface TopologyResponse {
  scenarioName: string;
  /** 'pci': the scenario has platform.pci; 'p2p-table': only the p2p map-type table. */
  source: 'pci' | 'p2p-table';
  gpus: string[];
  nics: string[];
  /** The devices one can pick as path ends (PCI: endpoints and platform devices). */
  endpoints: string[];
  /** PCI only: the tree, parents before children. */
  nodes: TopologyNode[];
  /** PCI only: the picked pair's path (default: the first GPU and the first NIC). */
  path: P2pPath | null;
  /** PCI only: the tree with the path coloured by its map type. */
  figure: Figure | null;
  pairs: PairMapType[];
  /** pci_p2pdma describe(): the tree as text (PCI only). */
  describe: string | null;
}

/** GET /api/explorations */
export interface ExplorationsResponse {
  explorations: ExplorationSummary[];
}

/** GET /api/explorations/:id */
export interface ExplorationResponse {
  exploration: StoredExploration;
}
