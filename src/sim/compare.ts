/**
 * compare(): one configuration under several P2P designs, side by side. Each row has stable
 * keys, listed with their meaning and unit in docs/results.md (generated from
 * src/sim/results-doc.ts), so that `hmmlab compare --json` is a contract.
 */
import { DESIGN_NAMES, type DesignName } from '../designs/design.js';
import { type SimConfig, type SimResult, simulate } from './simulate.js';

/**
 * One RDMA workload's figures in a row. The stall and byte fields are absent in rows stored
 * before they were added.
 */
export interface CompareRdma {
  /** Message bytes per ns (GB/s) over the workload's duration. */
  gbps: number;
  /** Message latency (completion minus post) percentiles and maximum. */
  p50Ns: number;
  p90Ns: number;
  p99Ns: number;
  maxNs: number;
  /** NIC page faults its messages raised (each stalls its queue pair). */
  faultStalls?: number;
  /** Time its queue pairs stood stalled on those faults, summed over queue pairs. */
  faultStallNs?: number;
  /** Time its queue pairs waited for work in flight on a message's pages, summed over queue pairs. */
  inFlightWaitNs?: number;
  /** Message bytes the NIC DMA'd peer to peer (a GPU's BAR), and to or from host memory. */
  p2pBytes?: number;
  hostBytes?: number;
}

/**
 * One design's figures. Times in ns, sizes in bytes, bandwidth in GB/s (bytes per ns). Fields
 * marked optional are absent in rows stored before they were added (storedMetricsRow reads
 * those rows, and renames the keys renamed since).
 */
export interface CompareRow {
  design: DesignName;
  /** Simulated time of the whole run: from 0 to the end of its last workload or event. */
  endNs: number;
  /** Bandwidth, latency, stalls and bytes of each RDMA workload. */
  rdma: Record<string, CompareRdma>;
  /** CPU time in the NIC (ODP) fault path, summed over NICs. */
  nicFaultCpuNs: number;
  /** Parts of the NIC fault path: hmm_range_fault, the design's P2P decisions, DMA mapping. */
  nicHmmCpuNs: number;
  nicDesignCpuNs: number;
  nicDmaMapCpuNs: number;
  /** CPU time servicing GPU fault batches, summed over GPUs. */
  gpuFaultCpuNs: number;
  /** CPU time of the CPU page faults cpu workloads took and of dmirror workloads' ioctls. */
  cpuFaultCpuNs?: number;
  /** Time GPU workloads stood stalled on fault service, summed over GPUs (DeviceMetrics.stallNs). */
  gpuStallNs?: number;
  /** The rdma entries' faultStalls, faultStallNs and inFlightWaitNs, summed over RDMA workloads. */
  nicFaultStalls?: number;
  nicFaultStallNs?: number;
  nicInFlightWaitNs?: number;
  /** hmm_range_fault calls, pages walked and retries, over all GPUs and NICs. */
  hmmCalls: number;
  hmmPages: number;
  hmmRetries: number;
  /**
   * Design work: dev_pagemap_ops.get_dma_pfn_for_device callbacks, driver locks taken in the
   * P2P path, pci_p2pdma_map_type queries.
   */
  callbacks: number;
  locks: number;
  mapTypeQueries: number;
  /** Memory for the BAR alias struct pages the run created (64 B each; DesignMetrics.aliasStructPageBytes). */
  aliasStructPageBytes: number;
  /**
   * Faults taken: GPU faults (replayable fault buffer entries), NIC (ODP) page faults and CPU
   * page faults (including those hmm_range_fault took for dmirror ioctls).
   */
  gpuFaults?: number;
  nicFaults?: number;
  cpuFaults?: number;
  /**
   * Pages moved VRAM -> RAM (migrate_to_ram on a CPU, NIC or dmirror fault, and eviction) and
   * RAM -> VRAM (GPU fault service and prefetch), summed over GPUs.
   */
  pagesToRam: number;
  pagesToVram: number;
  /** The bytes of those copies (DeviceMetrics.bytesToRam, bytesToVram). */
  bytesToRam?: number;
  bytesToVram?: number;
  /** Bytes GPUs read or wrote in another GPU's VRAM (shared owner). Was `peerBytes`. */
  gpuPeerBytes: number;
  /** Duration of each workload (ns). */
  workloadNs: Record<string, number>;
  /**
   * Page mappings the NICs' faults made peer to peer (to a GPU's BAR) and to host memory, each
   * page counted again when it is mapped again. Were `p2pPages` and `hostPages`.
   */
  nicP2pPagesMapped: number;
  nicHostPagesMapped: number;
  /** NIC faults some of whose pages could not be mapped peer to peer and were faulted again without. Was `fallbacks`. */
  nicP2pFallbacks: number;
  /** The rdma entries' p2pBytes and hostBytes, summed over RDMA workloads. */
  nicP2pBytes?: number;
  nicHostBytes?: number;
  /** Bytes over each link direction. */
  linkBytes: Record<string, number>;
}

/** Keys renamed in CompareRow: the old name, read from stored rows, and the new one. */
export const RENAMED_ROW_KEYS: readonly (readonly [string, keyof CompareRow])[] = [
  ['peerBytes', 'gpuPeerBytes'],
  ['p2pPages', 'nicP2pPagesMapped'],
  ['hostPages', 'nicHostPagesMapped'],
  ['fallbacks', 'nicP2pFallbacks'],
];

/**
 * The sum of `key` over `records`, or undefined when one of them lacks it (a result stored
 * before the field existed: absent, not a wrong 0).
 */
function sumOf<T>(records: readonly T[], key: keyof T): number | undefined {
  let sum = 0;
  for (const r of records) {
    const v = r[key];
    if (typeof v !== 'number') return undefined;
    sum += v;
  }
  return sum;
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
  let nicP2pPagesMapped = 0;
  let nicHostPagesMapped = 0;
  let nicP2pFallbacks = 0;
  for (const n of Object.values(r.nics)) {
    nicFaultCpuNs += n.faultCpuNs;
    nicHmmCpuNs += n.hmmCpuNs;
    nicDesignCpuNs += n.designCpuNs;
    nicDmaMapCpuNs += n.dmaMapCpuNs;
    hmmCalls += n.hmmCalls;
    hmmPages += n.hmmPages;
    hmmRetries += n.hmmRetries;
    nicP2pPagesMapped += n.p2pPages;
    nicHostPagesMapped += n.hostPages;
    nicP2pFallbacks += n.fallbacks;
  }
  let gpuFaultCpuNs = 0;
  let gpuFaults = 0;
  let nicFaults = 0;
  let cpuFaults = 0;
  for (const n of Object.values(r.nics)) nicFaults += n.nicFaults;
  for (const w of Object.values(r.workloads)) cpuFaults += w.cpuFaults;
  let pagesToRam = 0;
  let pagesToVram = 0;
  let gpuPeerBytes = 0;
  const devices = Object.values(r.devices);
  for (const d of devices) {
    gpuPeerBytes += d.peerBytes;
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
      faultStalls: m.faultStalls,
      faultStallNs: m.faultStallNs,
      inFlightWaitNs: m.inFlightWaitNs,
      p2pBytes: m.p2pBytes,
      hostBytes: m.hostBytes,
    };
  }
  const rdmaAll = Object.values(r.rdma);
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
    cpuFaultCpuNs: sumOf(Object.values(r.workloads), 'faultNs'),
    gpuStallNs: sumOf(devices, 'stallNs'),
    nicFaultStalls: sumOf(rdmaAll, 'faultStalls'),
    nicFaultStallNs: sumOf(rdmaAll, 'faultStallNs'),
    nicInFlightWaitNs: sumOf(rdmaAll, 'inFlightWaitNs'),
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
    bytesToRam: sumOf(devices, 'bytesToRam'),
    bytesToVram: sumOf(devices, 'bytesToVram'),
    gpuPeerBytes,
    workloadNs: Object.fromEntries(Object.entries(r.workloads).map(([n, w]) => [n, w.endNs - w.startNs])),
    nicP2pPagesMapped,
    nicHostPagesMapped,
    nicP2pFallbacks,
    nicP2pBytes: sumOf(rdmaAll, 'p2pBytes'),
    nicHostBytes: sumOf(rdmaAll, 'hostBytes'),
    linkBytes,
  };
}

/**
 * A row stored under the old names of renamed keys (RENAMED_ROW_KEYS), with them under their
 * new names, in place; a row without old names is returned as it is.
 */
function renamedKeys(row: Record<string, unknown>): Record<string, unknown> {
  if (!RENAMED_ROW_KEYS.some(([old]) => old in row)) return row;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    const renamed = RENAMED_ROW_KEYS.find(([old]) => old === k);
    const key = renamed && !(renamed[1] in row) ? renamed[1] : k;
    out[key] = v;
  }
  return out;
}

/**
 * A stored run's metrics as a comparison row: `run` stores a SimResult, `compare` a row, a
 * sweep `{ row, ... }`. Rows stored before a key was renamed come back under its new name.
 * Null for metrics this hmmlab cannot read.
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
  if (typeof row !== 'object' || row === null) return null;
  if (Array.isArray(row)) return row as unknown as CompareRow;
  return renamedKeys(row as Record<string, unknown>) as unknown as CompareRow;
}

/** The fields a table of rows prints (`hmmlab compare`, `sweep`); older rows may lack the rest. */
const PRINTED_NUMBERS = [
  'endNs',
  'pagesToRam',
  'pagesToVram',
  'nicP2pPagesMapped',
  'gpuPeerBytes',
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
  head.push(
    'pages to RAM',
    'pages to VRAM',
    'NIC P2P pages mapped',
    'fault CPU ms',
    'driver callbacks',
    'alias struct pages',
  );
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
      String(r.nicP2pPagesMapped),
      ((r.nicFaultCpuNs + r.gpuFaultCpuNs + (r.cpuFaultCpuNs ?? 0)) / 1e6).toFixed(2),
      String(r.callbacks),
      r.aliasStructPageBytes ? `${(r.aliasStructPageBytes / 2 ** 20).toFixed(0)} MiB` : '0',
    );
    out.push(`| ${cells.join(' | ')} |`);
  }
  return out.join('\n');
}
