/**
 * compare(): one configuration under several P2P designs, side by side. Each row has stable
 * keys (documented in docs/designs.md) so that `hmmlab compare --json` is a contract.
 */
import { DESIGN_NAMES, type DesignName } from '../designs/design.js';
import { type SimConfig, type SimResult, simulate } from './simulate.js';

/** One design's figures. Times in ns, sizes in bytes, bandwidth in GB/s (bytes per ns). */
export interface CompareRow {
  design: DesignName;
  /** Simulated end time of the whole run. */
  endNs: number;
  /** RDMA bandwidth and latency of each RDMA workload. */
  rdma: Record<string, { gbps: number; p50Ns: number; p90Ns: number; p99Ns: number; maxNs: number }>;
  /** CPU time in fault paths: NIC (ODP) faults and GPU fault batches. */
  nicFaultCpuNs: number;
  /** Parts of the NIC fault path: hmm_range_fault, the design's P2P decisions, DMA mapping. */
  nicHmmCpuNs: number;
  nicDesignCpuNs: number;
  nicDmaMapCpuNs: number;
  gpuFaultCpuNs: number;
  /** hmm_range_fault calls, pages walked and retries, over all devices. */
  hmmCalls: number;
  hmmPages: number;
  hmmRetries: number;
  /** Design work: driver callbacks, per-page locks, pci_p2pdma_map_type queries. */
  callbacks: number;
  locks: number;
  mapTypeQueries: number;
  /** Memory for the BAR alias struct pages the run created (64 B each; DesignMetrics.aliasStructPageBytes). */
  aliasStructPageBytes: number;
  /**
   * Faults taken: GPU faults (replayable fault buffer entries), NIC (ODP) page faults and CPU
   * page faults (including those hmm_range_fault took for dmirror ioctls). Absent in rows
   * stored before they were added.
   */
  gpuFaults?: number;
  nicFaults?: number;
  cpuFaults?: number;
  /** Pages moved VRAM -> RAM by CPU or NIC faults, and RAM -> VRAM by GPU faults. */
  pagesToRam: number;
  pagesToVram: number;
  /** Bytes GPUs read or wrote in another GPU's VRAM (shared owner). */
  peerBytes: number;
  /** Duration of each workload (ns). */
  workloadNs: Record<string, number>;
  /** Pages the NIC reached peer to peer, and through host memory. */
  p2pPages: number;
  hostPages: number;
  fallbacks: number;
  /** Bytes over each link direction. */
  linkBytes: Record<string, number>;
}

/** The row of one simulation result. */
export function compareRow(r: SimResult): CompareRow {
  let nicFaultCpuNs = 0;
  let nicHmmCpuNs = 0;
  let nicDesignCpuNs = 0;
  let nicDmaMapCpuNs = 0;
  let hmmCalls = 0;
  let hmmPages = 0;
  let hmmRetries = 0;
  let p2pPages = 0;
  let hostPages = 0;
  let fallbacks = 0;
  for (const n of Object.values(r.nics)) {
    nicFaultCpuNs += n.faultCpuNs;
    nicHmmCpuNs += n.hmmCpuNs;
    nicDesignCpuNs += n.designCpuNs;
    nicDmaMapCpuNs += n.dmaMapCpuNs;
    hmmCalls += n.hmmCalls;
    hmmPages += n.hmmPages;
    hmmRetries += n.hmmRetries;
    p2pPages += n.p2pPages;
    hostPages += n.hostPages;
    fallbacks += n.fallbacks;
  }
  let gpuFaultCpuNs = 0;
  let gpuFaults = 0;
  let nicFaults = 0;
  let cpuFaults = 0;
  for (const n of Object.values(r.nics)) nicFaults += n.nicFaults;
  for (const w of Object.values(r.workloads)) cpuFaults += w.cpuFaults;
  let pagesToRam = 0;
  let pagesToVram = 0;
  let peerBytes = 0;
  for (const d of Object.values(r.devices)) {
    peerBytes += d.peerBytes;
    gpuFaultCpuNs += d.faultCpuNs;
    gpuFaults += d.faults;
    hmmCalls += d.hmmCalls;
    hmmPages += d.hmmPages;
    hmmRetries += d.hmmRetries;
    pagesToRam += d.cpuFaultPages + d.evictedPages;
    pagesToVram += d.pagesToVram;
  }
  const rdma: CompareRow['rdma'] = {};
  for (const [name, m] of Object.entries(r.rdma)) {
    rdma[name] = {
      gbps: m.gbps,
      p50Ns: m.latencyP50Ns,
      p90Ns: m.latencyP90Ns,
      p99Ns: m.latencyP99Ns,
      maxNs: m.latencyMaxNs,
    };
  }
  const linkBytes: Record<string, number> = {};
  for (const [name, l] of Object.entries(r.links)) if (l.bytes > 0) linkBytes[name] = l.bytes;
  return {
    design: r.design.name,
    endNs: r.endNs,
    rdma,
    nicFaultCpuNs,
    nicHmmCpuNs,
    nicDesignCpuNs,
    nicDmaMapCpuNs,
    gpuFaultCpuNs,
    hmmCalls,
    hmmPages,
    hmmRetries,
    callbacks: r.design.callbacks,
    locks: r.design.locks,
    mapTypeQueries: r.design.mapTypeQueries,
    aliasStructPageBytes: r.design.aliasStructPageBytes,
    gpuFaults,
    nicFaults,
    cpuFaults,
    pagesToRam,
    pagesToVram,
    peerBytes,
    workloadNs: Object.fromEntries(Object.entries(r.workloads).map(([n, w]) => [n, w.endNs - w.startNs])),
    p2pPages,
    hostPages,
    fallbacks,
    linkBytes,
  };
}

/**
 * A stored run's metrics as a comparison row: `run` stores a SimResult, `compare` a row, a
 * sweep `{ row, ... }`. Null for metrics this hmmlab cannot read.
 */
export function storedMetricsRow(metrics: unknown): CompareRow | null {
  const m = metrics as Record<string, unknown> | null;
  let row: unknown = null;
  if (m && typeof m === 'object') {
    if ('row' in m) row = m.row;
    else if ('devices' in m && 'design' in m) {
      try {
        row = compareRow(m as unknown as SimResult);
      } catch {
        // A SimResult of another shape (a damaged store: a flipped bit in a key).
        return null;
      }
    } else if ('pagesToRam' in m) row = m;
  }
  return typeof row === 'object' && row !== null ? (row as CompareRow) : null;
}

/** The fields a table of rows prints (`hmmlab compare`, `sweep`); older rows may lack the rest. */
const PRINTED_NUMBERS = [
  'endNs',
  'pagesToRam',
  'pagesToVram',
  'p2pPages',
  'peerBytes',
  'nicFaultCpuNs',
  'gpuFaultCpuNs',
  'callbacks',
  'aliasStructPageBytes',
] as const;

/**
 * Has `row` the fields that are printed in a table, of the right types? Stored metrics are data
 * from a file: a bit flipped in a store (which SQLite does not see) must not crash the printing
 * (the store fuzzer found `compare --runs` crashing on a SimResult with a damaged key).
 */
export function printableRow(row: unknown): row is CompareRow {
  if (typeof row !== 'object' || row === null) return false;
  const r = row as Record<string, unknown>;
  if (typeof r.design !== 'string') return false;
  if (PRINTED_NUMBERS.some((k) => typeof r[k] !== 'number')) return false;
  if (typeof r.rdma !== 'object' || r.rdma === null || Array.isArray(r.rdma)) return false;
  return Object.values(r.rdma).every(
    (m) =>
      typeof m === 'object' &&
      m !== null &&
      ['gbps', 'p50Ns', 'p99Ns'].every((k) => typeof (m as Record<string, unknown>)[k] === 'number'),
  );
}

/** Runs `config` once per design (same seed) and returns one row each, in the order given. */
export function compare(
  config: SimConfig,
  designs: readonly DesignName[] = DESIGN_NAMES,
  seed = 1,
): CompareRow[] {
  return designs.map((design) => compareRow(simulate({ ...config, design }, { seed })));
}

const us = (ns: number) => (ns / 1000).toFixed(1);

/** The comparison as a markdown table (one row per design), for docs and the CLI. */
export function renderCompareMarkdown(rows: CompareRow[]): string {
  const rdmaNames = [...new Set(rows.flatMap((r) => Object.keys(r.rdma)))];
  const head = ['design'];
  for (const n of rdmaNames) head.push(`${n} GB/s`, `${n} p50 us`, `${n} p99 us`);
  head.push('pages to RAM', 'pages to VRAM', 'P2P pages', 'fault CPU ms', 'callbacks', 'alias struct pages');
  const out = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const cells: string[] = [r.design];
    for (const n of rdmaNames) {
      const m = r.rdma[n];
      cells.push(m ? m.gbps.toFixed(2) : '-', m ? us(m.p50Ns) : '-', m ? us(m.p99Ns) : '-');
    }
    cells.push(
      String(r.pagesToRam),
      String(r.pagesToVram),
      String(r.p2pPages),
      ((r.nicFaultCpuNs + r.gpuFaultCpuNs) / 1e6).toFixed(2),
      String(r.callbacks),
      r.aliasStructPageBytes ? `${(r.aliasStructPageBytes / 2 ** 20).toFixed(0)} MiB` : '0',
    );
    out.push(`| ${cells.join(' | ')} |`);
  }
  return out.join('\n');
}
