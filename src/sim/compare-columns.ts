/**
 * The columns of a comparison table: one definition per column, its header, what it counts
 * (the legend) and how a row's cell is written, shared by the terminal table (`hmmlab run`,
 * `compare`, `report`: src/cli/print.ts), the HTML report and the viewer
 * (src/report/html.ts compareTable). No Linux counterpart.
 *
 *   const cols = compareColumns(rows, 'main');
 *   cols.map((c) => c.head);              // ['design', 'put GB/s', 'put p50 µs', ..., 'run ms', ...]
 *   cols.map((c) => c.cell(rows[0]!));    // one row's cells
 *   columnLegend(cols);                   // [['<rdma> GB/s', 'message bytes per ns ...'], ...]
 *
 * 'main' columns are the end-to-end figures a comparison is read for; 'more' columns are the
 * parts they are made of and the counts behind them (the terminal shows them with --wide, the
 * report in a second table). A cell of a field a stored row lacks (stored before the field
 * existed) is '-'.
 */
import type { CompareRdma, CompareRow } from './compare.js';

/** Which columns: the main ones, the more detailed ones, or all. */
export type ColumnSet = 'main' | 'more' | 'all';

export interface CompareColumn {
  /** The header: what the column counts, then its unit ('GPU stall ms'). */
  head: string;
  /** The header in a terminal: two lines, the unit on the second ('GPU stall\nms'). */
  term: string;
  /** The header the legend explains it under: per-RDMA-workload columns name `<rdma>`. */
  key: string;
  /** What it counts, how it is summed, and its unit. */
  legend: string;
  /** 'main' or 'more' (design is in both). */
  set: 'main' | 'more';
  /** The cell of a row. */
  cell: (r: CompareRow) => string;
  /**
   * The group a terminal keeps together when it splits a wide table: 'rdma <name>' for an RDMA
   * workload's columns, 'run' for the whole run's; none for design, repeated in every part.
   */
  group?: string;
}

const MiB = 2 ** 20;
const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
/** A number of ns in ms, 2 decimals; '-' when absent. */
const ms = (v: unknown) => (num(v) ? (v / 1e6).toFixed(2) : '-');
/** A number of ns in µs, 1 decimal. */
const us = (v: unknown) => (num(v) ? (v / 1000).toFixed(1) : '-');
/** A number of bytes in MiB, no decimals (1 decimal below 10 MiB, so that small runs show). */
const mib = (v: unknown) => (num(v) ? (v / MiB).toFixed(v > 0 && v < 10 * MiB ? 1 : 0) : '-');
const count = (v: unknown) => (num(v) ? String(v) : '-');
/** The sum of the fields, or undefined when one is absent. */
const sum = (...vs: unknown[]) => (vs.every(num) ? vs.reduce((a, b) => a + b, 0) : undefined);

/** One column. `term` defaults to the head with its last word (the unit) on a second line. */
function col(
  set: 'main' | 'more',
  head: string,
  legend: string,
  cell: (r: CompareRow) => string,
  term?: string,
): CompareColumn {
  const i = head.lastIndexOf(' ');
  return {
    head,
    term: term ?? (i < 0 ? head : `${head.slice(0, i)}\n${head.slice(i + 1)}`),
    key: head,
    legend,
    set,
    cell,
    ...(head === 'design' ? {} : { group: 'run' }),
  };
}

/** The columns of one RDMA workload `n`. */
function rdmaColumns(n: string, micro: string): CompareColumn[] {
  const of = (r: CompareRow): Partial<CompareRdma> | undefined => r.rdma[n];
  const each = (
    set: 'main' | 'more',
    what: string,
    unit: string,
    legend: string,
    cell: (m: Partial<CompareRdma>) => string,
  ): CompareColumn => ({
    head: `${n} ${what}${unit}`,
    term: what === '' ? `${n}\n${unit}` : `${n}\n${what}${unit}`,
    key: `<rdma> ${what}${unit}`,
    legend,
    set,
    group: `rdma ${n}`,
    cell: (r) => {
      const m = of(r);
      return m ? cell(m) : '-';
    },
  });
  return [
    each(
      'main',
      '',
      'GB/s',
      "RDMA workload <rdma>: message bytes per ns over the workload's duration (GB/s = bytes/ns)",
      (m) => (num(m.gbps) ? m.gbps.toFixed(2) : '-'),
    ),
    each('main', 'p50 ', micro, `its median message latency, completion minus post (${micro})`, (m) =>
      us(m.p50Ns),
    ),
    each('main', 'p99 ', micro, `its 99th-percentile message latency (${micro})`, (m) => us(m.p99Ns)),
    each(
      'more',
      'QP stall ',
      'ms',
      'time its queue pairs stood stalled, on their NIC page faults and waiting for work in flight on their pages, summed over queue pairs (ms)',
      (m) => ms(sum(m.faultStallNs, m.inFlightWaitNs)),
    ),
  ];
}

/**
 * The columns of a table of `rows`: design, then each RDMA workload's (in the order the rows
 * name them), then the run's. `micro` is the microsecond unit ('us' in a terminal).
 */
export function compareColumns(
  rows: readonly CompareRow[],
  set: ColumnSet = 'main',
  micro = 'µs',
): CompareColumn[] {
  const rdmaNames = [...new Set(rows.flatMap((r) => Object.keys(r.rdma)))];
  const all: CompareColumn[] = [
    col('main', 'design', 'the P2P design the run used (or the stored run)', (r) => r.design),
    ...rdmaNames.flatMap((n) => rdmaColumns(n, micro)),
    col(
      'main',
      'run ms',
      'simulated time of the whole run, to the end of its last workload or event (ms)',
      (r) => ms(r.endNs),
    ),
    col(
      'more',
      'pages to VRAM',
      'pages GPU fault service and prefetch put in VRAM, migrated from RAM or first touched on the GPU, summed over GPUs (4 KiB pages)',
      (r) => count(r.pagesToVram),
    ),
    col(
      'main',
      'to VRAM MiB',
      'bytes copied RAM -> VRAM to migrate pages (a page first touched on the GPU is cleared in VRAM, not copied) (MiB)',
      (r) => mib(r.bytesToVram),
      'to VRAM\nMiB',
    ),
    col(
      'more',
      'pages to RAM',
      'pages migrated VRAM -> RAM (migrate_to_ram on CPU, NIC and dmirror faults, eviction), summed over GPUs (4 KiB pages)',
      (r) => count(r.pagesToRam),
    ),
    col(
      'main',
      'to RAM MiB',
      'bytes copied VRAM -> RAM to migrate pages (migrate_to_ram, eviction, a GPU removed safely) (MiB)',
      (r) => mib(r.bytesToRam),
      'to RAM\nMiB',
    ),
    col(
      'main',
      'GPU stall ms',
      'time GPU workloads stood stalled on fault service, summed over workloads and GPUs (ms)',
      (r) => ms(r.gpuStallNs),
      'GPU\nstall ms',
    ),
    col(
      'main',
      'NIC stall ms',
      'time RDMA queue pairs stood stalled, on NIC page faults and waiting for work in flight on their pages, summed over queue pairs and RDMA workloads (ms)',
      (r) => ms(sum(r.nicFaultStallNs, r.nicInFlightWaitNs)),
      'NIC\nstall ms',
    ),
    col(
      'more',
      'NIC fault stall ms',
      'the part of NIC stall ms spent on those faults (ms)',
      (r) => ms(r.nicFaultStallNs),
      'NIC fault\nstall ms',
    ),
    col(
      'more',
      'NIC in-flight wait ms',
      "the part of NIC stall ms spent waiting for work in flight on the pages: folios being migrated, another queue pair's fault (ms)",
      (r) => ms(r.nicInFlightWaitNs),
      'NIC in-flight\nwait ms',
    ),
    col(
      'main',
      'fault CPU ms',
      'CPU time in fault paths: NIC (ODP) faults, GPU fault batches, CPU faults and dmirror ioctls (ms)',
      (r) => ms(sum(r.nicFaultCpuNs, r.gpuFaultCpuNs, r.cpuFaultCpuNs ?? 0)),
      'fault\nCPU ms',
    ),
    col('more', 'NIC fault CPU ms', 'CPU time in the NIC (ODP) fault path, summed over NICs (ms)', (r) =>
      ms(r.nicFaultCpuNs),
    ),
    col('more', 'GPU fault CPU ms', 'CPU time servicing GPU fault batches, summed over GPUs (ms)', (r) =>
      ms(r.gpuFaultCpuNs),
    ),
    col(
      'more',
      'CPU fault CPU ms',
      'CPU time of the page faults CPU workloads took and of dmirror ioctls (ms)',
      (r) => ms(r.cpuFaultCpuNs),
    ),
    col(
      'main',
      'NIC P2P MiB',
      "RDMA message bytes the NICs DMA'd peer to peer, to or from a GPU's BAR (MiB)",
      (r) => mib(r.nicP2pBytes),
    ),
    col('more', 'NIC host MiB', "RDMA message bytes the NICs DMA'd to or from host memory (MiB)", (r) =>
      mib(r.nicHostBytes),
    ),
    col(
      'more',
      'NIC P2P pages mapped',
      "page mappings NIC faults made peer to peer (to a GPU's BAR), a page mapped again counted again (4 KiB pages)",
      (r) => count(r.nicP2pPagesMapped),
      'NIC P2P\npages mapped',
    ),
    col(
      'more',
      'NIC P2P fallbacks',
      'NIC faults some of whose pages could not be mapped peer to peer and were faulted again without (count)',
      (r) => count(r.nicP2pFallbacks),
      'NIC P2P\nfallbacks',
    ),
    col(
      'main',
      'GPU peer MiB',
      "bytes GPUs read or wrote in another GPU's VRAM, summed over GPUs (MiB)",
      (r) => mib(r.gpuPeerBytes),
    ),
    col('more', 'GPU faults', 'GPU fault-buffer entries, summed over GPUs (count)', (r) =>
      count(r.gpuFaults),
    ),
    col('more', 'NIC faults', 'NIC (ODP) page faults, summed over NICs (count)', (r) => count(r.nicFaults)),
    col(
      'more',
      'CPU faults',
      'CPU page faults, those hmm_range_fault took for dmirror ioctls included (count)',
      (r) => count(r.cpuFaults),
    ),
    col(
      'more',
      'driver callbacks',
      'dev_pagemap_ops.get_dma_pfn_for_device calls the design made (count)',
      (r) => count(r.callbacks),
      'driver\ncallbacks',
    ),
    col(
      'more',
      'alias struct-page MiB',
      'memory for the BAR alias (PCI_P2PDMA) struct pages the run created (MiB)',
      (r) => mib(r.aliasStructPageBytes),
      'alias struct\npage MiB',
    ),
  ];
  if (set === 'all') return all;
  return all.filter((c, i) => i === 0 || c.set === set);
}

/** The legend of `columns`: [header, what it counts] per column, per-RDMA ones once. */
export function columnLegend(columns: readonly CompareColumn[]): [string, string][] {
  const seen = new Set<string>();
  const out: [string, string][] = [];
  for (const c of columns) {
    if (seen.has(c.key)) continue;
    seen.add(c.key);
    out.push([c.key, c.legend]);
  }
  return out;
}
