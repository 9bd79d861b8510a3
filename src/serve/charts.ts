/**
 * The viewer's time-series charts that the HTML report does not have: bytes moved over
 * time, faults and batches over time, pages moved over time, and the event timeline. They are
 * drawn like the report's plots (src/report/plots.ts): Observable Plot over a linkedom
 * document, the report's width and palette, explicit colors, a title and an SVG legend, no
 * generated ids, so the same input gives the same bytes.
 */
import * as Plot from '@observablehq/plot';
import {
  chartSvg,
  colorOf,
  type DesignResult,
  frameChart,
  PALETTE,
  PLOT_WIDTH,
  emptyChart as reportEmptyChart,
} from '../report/plots.js';
import type { SimEvent, SimResult } from '../sim/simulate.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
/** Bins of the over-time charts. */
const BINS = 120;

/**
 * Wraps a chart in a standalone SVG with a title and a legend, as the report does
 * (src/report/plots.ts frameChart), with legend columns fitted to long labels and classed
 * legend marks for the browser tests.
 */
export function frame(
  title: string,
  legend: readonly string[],
  color: (k: string) => string,
  chart: string,
  chartHeight: number,
): string {
  return frameChart(title, legend, chart, { color, chartHeight, fitLegend: true, legendClasses: true });
}

export { chartSvg };

/** A placeholder for data sets with nothing to draw. */
export function emptyChart(title: string, message: string, chartHeight = 120): string {
  return reportEmptyChart(title, message, chartHeight);
}

// ---- events ------------------------------------------------------------------------------

/** Who acts in an event: the GPU, NIC, link or workload it belongs to (else its kind). */
export function eventAgent(e: SimEvent): string {
  if (e.kind === 'batch') return e.gpu;
  if (e.kind === 'nic_fault') return e.nic;
  if (e.kind === 'transfer') return e.link;
  return 'workload' in e && typeof e.workload === 'string' ? e.workload : e.kind;
}

/** When an event ends (ns): its endNs, else after its CPU time, else where it starts. */
export function eventEnd(e: SimEvent): number {
  if ('endNs' in e && typeof e.endNs === 'number') return e.endNs;
  if ('cpuNs' in e && typeof e.cpuNs === 'number') return e.t + e.cpuNs;
  return e.t;
}

/** Fields the events table shows elsewhere (or that are too long for a cell). */
const NOT_DETAIL = new Set(['t', 'kind', 'endNs', 'phases', 'gpu', 'nic', 'link', 'workload']);

/** The rest of an event in words (`faults=12 pagesToVram=512 cpuNs=8400`), for the events table. */
export function eventDetail(e: SimEvent): string {
  return Object.entries(e)
    .filter(([k]) => !NOT_DETAIL.has(k))
    .map(
      ([k, v]) =>
        `${k}=${typeof v === 'object' ? JSON.stringify(v) : typeof v === 'number' ? fmtNum(v) : String(v)}`,
    )
    .join(' ');
}

/** Integers as they are, other numbers to 0.1 (times in ns need no more). */
function fmtNum(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/** Agents and kinds of a log, in order of first appearance. */
export function agentsAndKinds(log: readonly SimEvent[]): { agents: string[]; kinds: string[] } {
  const agents = new Set<string>();
  const kinds = new Set<string>();
  for (const e of log) {
    agents.add(eventAgent(e));
    kinds.add(e.kind);
  }
  return { agents: [...agents], kinds: [...kinds] };
}

/** An event filter: an agent and/or a kind (undefined: any). */
export interface EventFilter {
  agent?: string;
  kind?: string;
}

export function matches(e: SimEvent, f: EventFilter): boolean {
  return (f.kind === undefined || e.kind === f.kind) && (f.agent === undefined || eventAgent(e) === f.agent);
}

// ---- over-time charts ----------------------------------------------------------------------

function stepLines(
  title: string,
  points: { series: string; ms: number; value: number }[],
  yLabel: string,
  endMs: number,
): string {
  const series = [...new Set(points.map((p) => p.series))];
  const color = colorOf(series);
  const height = 300;
  return frame(
    title,
    series,
    color,
    chartSvg(
      {
        marginLeft: 60,
        x: { label: 'simulated time (ms)', grid: true, domain: [0, endMs] },
        y: { label: yLabel, grid: true, zero: true },
        marks: [
          Plot.ruleY([0]),
          ...series.map((s) =>
            Plot.line(
              points.filter((p) => p.series === s),
              { x: 'ms', y: 'value', curve: 'step-after', stroke: color(s), strokeWidth: 1.5 },
            ),
          ),
        ],
      },
      height,
    ),
    height,
  );
}

/**
 * Bytes moved so far, over simulated time: one step line per run and link direction from the
 * 'transfer' events (migration copies), and one per run and RDMA workload from its 'message'
 * events (the payload, which crosses the NIC's and the target's links). Each counts at its end.
 */
export function bytesOverTimePlot(results: readonly DesignResult[]): string {
  const title = 'Bytes moved over time (cumulative): copies per link, RDMA payload per workload';
  const { points, endMs, maxBytes } = bytesOverTime(results);
  if (points.length === 0) return emptyChart(title, 'no copies or RDMA messages in the event log');
  const [unit, scale] = maxBytes >= GiB ? ['GiB', GiB] : ['MiB', MiB];
  return stepLines(
    title,
    points.map((p) => ({ series: p.series, ms: p.ms, value: p.bytes / scale })),
    unit,
    endMs,
  );
}

/** The data of bytesOverTimePlot: cumulative bytes per series, from 0 at time 0 to the run's end. */
export function bytesOverTime(results: readonly DesignResult[]): {
  points: { series: string; ms: number; bytes: number }[];
  endMs: number;
  maxBytes: number;
} {
  let endMs = 0;
  let maxBytes = 0;
  const points: { series: string; ms: number; bytes: number }[] = [];
  for (const { design, result } of results) {
    endMs = Math.max(endMs, result.endNs / 1e6);
    const moves: { series: string; endNs: number; bytes: number }[] = [];
    for (const e of result.log ?? []) {
      if (e.kind === 'transfer')
        moves.push({ series: `${design} · ${e.link}`, endNs: e.endNs, bytes: e.bytes });
      else if (e.kind === 'message')
        moves.push({ series: `${design} · ${e.workload} (RDMA)`, endNs: e.endNs, bytes: e.bytes });
    }
    moves.sort((a, b) => a.endNs - b.endNs);
    const total = new Map<string, number>();
    for (const m of moves) {
      if (!total.has(m.series)) points.push({ series: m.series, ms: 0, bytes: 0 });
      const sum = (total.get(m.series) ?? 0) + m.bytes;
      total.set(m.series, sum);
      maxBytes = Math.max(maxBytes, sum);
      points.push({ series: m.series, ms: m.endNs / 1e6, bytes: sum });
    }
    for (const [series, sum] of total) points.push({ series, ms: result.endNs / 1e6, bytes: sum });
  }
  return { points, endMs, maxBytes };
}

/** Per-bin sums over [0, endNs) of values from the log; one series per key. */
function binned(
  result: SimResult,
  pick: (e: SimEvent) => [series: string, value: number][],
): { points: { series: string; ms: number; value: number }[]; binMs: number } {
  const endNs = Math.max(1, result.endNs);
  const width = endNs / BINS;
  const sums = new Map<string, Float64Array>();
  for (const e of result.log ?? []) {
    for (const [series, value] of pick(e)) {
      let s = sums.get(series);
      if (!s) sums.set(series, (s = new Float64Array(BINS)));
      s[Math.min(BINS - 1, Math.floor(e.t / width))]! += value;
    }
  }
  const points: { series: string; ms: number; value: number }[] = [];
  for (const [series, s] of sums) {
    for (let i = 0; i < BINS; i++) points.push({ series, ms: (i * width) / 1e6, value: s[i]! });
    points.push({ series, ms: endNs / 1e6, value: s[BINS - 1]! });
  }
  return { points, binMs: width / 1e6 };
}

/** Faults per time bin: GPU faults (as the fault buffer delivers them), NIC faults, CPU faults. */
export function faultsOverTimePlot(result: SimResult): string {
  const title = 'Faults over time';
  const { points, binMs } = binned(result, (e) => {
    if (e.kind === 'batch') return [[`${e.gpu} faults`, e.faults]];
    if (e.kind === 'nic_fault') return [[`${e.nic} faults`, 1]];
    if (e.kind === 'cpu_fault') return [[`${e.workload} CPU faults`, 1]];
    return [];
  });
  if (points.length === 0) return emptyChart(title, 'no faults in the event log');
  return stepLines(title, points, `faults per ${fmtMs(binMs)} ms`, result.endNs / 1e6);
}

/** GPU fault batches per time bin, per GPU. */
export function batchesOverTimePlot(result: SimResult): string {
  const title = 'GPU fault batches over time';
  const { points, binMs } = binned(result, (e) => (e.kind === 'batch' ? [[`${e.gpu} batches`, 1]] : []));
  if (points.length === 0) return emptyChart(title, 'no GPU fault batches in the event log');
  return stepLines(title, points, `batches per ${fmtMs(binMs)} ms`, result.endNs / 1e6);
}

/** Pages moved per time bin: to VRAM and evicted by GPU batches, faulted by the NIC and the CPU. */
export function pagesOverTimePlot(result: SimResult): string {
  const title = 'Pages moved and faulted over time';
  const { points, binMs } = binned(result, (e) => {
    if (e.kind === 'batch')
      return [
        [`${e.gpu} pages to VRAM`, e.pagesToVram],
        [`${e.gpu} pages evicted`, e.evictedPages],
      ];
    if (e.kind === 'nic_fault') return [[`${e.nic} fault pages`, e.pages]];
    if (e.kind === 'cpu_fault') return [[`${e.workload} CPU fault pages`, e.pages]];
    return [];
  });
  if (points.length === 0) return emptyChart(title, 'no faults in the event log');
  return stepLines(title, points, `pages (4 KiB) per ${fmtMs(binMs)} ms`, result.endNs / 1e6);
}

function fmtMs(ms: number): string {
  return ms >= 10 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(1) : ms.toPrecision(2);
}

// ---- the event timeline --------------------------------------------------------------------

/**
 * The kinds of the log in a fixed order, so colors stay put when a filter hides some; kinds the
 * log has beyond these follow in order of appearance.
 */
export const EVENT_KINDS = ['batch', 'transfer', 'nic_fault', 'cpu_fault', 'message', 'workload_end'];

/** EVENT_KINDS, then the log's other kinds. */
export function kindOrder(log: readonly SimEvent[]): string[] {
  const out = [...EVENT_KINDS];
  for (const e of log) if (!out.includes(e.kind)) out.push(e.kind);
  return out;
}

/**
 * The event timeline: one lane per agent, a bar per event from its start to its end, coloured
 * by kind. Events of one lane and kind that start within a pixel of the previous bar's end are
 * merged into it (the bar's title says how many), so a long log stays a small SVG.
 */
export function timelinePlot(
  result: SimResult,
  filter: EventFilter,
): { svg: string; total: number; bars: number } {
  const title = `Event timeline${filter.agent ? ` · ${filter.agent}` : ''}${filter.kind ? ` · ${filter.kind}` : ''}`;
  const log = result.log ?? [];
  const { agents } = agentsAndKinds(log);
  const order = kindOrder(log);
  const endNs = Math.max(1, result.endNs);
  const pixelNs = endNs / (PLOT_WIDTH - 120);
  interface Bar {
    agent: string;
    kind: string;
    t0: number;
    t1: number;
    n: number;
  }
  const open = new Map<string, Bar>();
  const bars: Bar[] = [];
  let total = 0;
  const sorted = log.filter((e) => matches(e, filter));
  total = sorted.length;
  sorted.sort((a, b) => a.t - b.t);
  for (const e of sorted) {
    const agent = eventAgent(e);
    const key = `${agent}\u0000${e.kind}`;
    const t1 = Math.max(eventEnd(e), e.t + pixelNs);
    const bar = open.get(key);
    if (bar && e.t <= bar.t1 + pixelNs) {
      bar.t1 = Math.max(bar.t1, t1);
      bar.n++;
    } else {
      const b = { agent, kind: e.kind, t0: e.t, t1, n: 1 };
      bars.push(b);
      open.set(key, b);
    }
  }
  if (bars.length === 0) return { svg: emptyChart(title, 'no events match the filter'), total, bars: 0 };
  const lanes = agents.filter((a) => bars.some((b) => b.agent === a));
  const kinds = order.filter((k) => bars.some((b) => b.kind === k));
  const color = (k: string) => PALETTE[order.indexOf(k) % PALETTE.length]!;
  const height = 60 + lanes.length * 28;
  const svg = frame(
    title,
    kinds,
    color,
    chartSvg(
      {
        marginLeft: 110,
        x: { label: 'simulated time (ms)', grid: true, domain: [0, endNs / 1e6] },
        y: { label: null, domain: lanes, padding: 0.2 },
        color: { domain: kinds, range: kinds.map(color) },
        marks: [
          Plot.barX(bars, {
            x1: (b: Bar) => b.t0 / 1e6,
            x2: (b: Bar) => b.t1 / 1e6,
            y: 'agent',
            fill: 'kind',
            title: (b: Bar) =>
              `${b.agent} ${b.kind}${b.n > 1 ? ` ×${b.n}` : ''}: ${(b.t0 / 1e6).toFixed(3)}–${(b.t1 / 1e6).toFixed(3)} ms`,
          }),
        ],
      },
      height,
    ),
    height,
  );
  return { svg, total, bars: bars.length };
}
