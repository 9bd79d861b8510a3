/**
 * Report plots: pure functions from simulation data to standalone SVG strings, drawn with
 * Observable Plot over a linkedom document (no browser). Each plot has a fixed size, explicit
 * colors (no currentColor, so resvg and other renderers agree) and no generated ids (no clip
 * paths), so the same input gives the same bytes on every run.
 *
 * A plot is an outer <svg> with a white background, a title, a legend row and Plot's chart
 * nested below them (Plot's own legends are HTML, not SVG).
 */
import * as Plot from '@observablehq/plot';
import { Resvg } from '@resvg/resvg-js';
import { parseHTML } from 'linkedom';
import type { CompareRow } from '../sim/compare.js';
import type { SimResult } from '../sim/simulate.js';

/** A design's simulation result (with its event log: simulate(..., { log: true })). */
export interface DesignResult {
  design: string;
  result: SimResult;
}

/**
 * What the plots over time read of a design's result: its end time and its event log. A
 * DesignResult is one; tests draw them from a hand-written log.
 */
export interface DesignLog {
  design: string;
  result: Pick<SimResult, 'endNs' | 'log'>;
}

export const PLOT_WIDTH = 760;
const CHART_HEIGHT = 340;
const TITLE_HEIGHT = 26;
const LEGEND_ROW = 18;
const INK = '#222222';
const FONT = 'DejaVu Sans, sans-serif';
/** Tableau 10, in order: series colors by first appearance. */
export const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
];

const MiB = 2 ** 20;
const GiB = 2 ** 30;
/** Dash patterns by design order, so that designs with equal figures stay visible. */
const DASHES = ['none', '7 4', '2 3', '9 3 2 3', '4 4'];
/** The most points drawn per CDF series (quantiles beyond that are subsampled evenly). */
const CDF_MAX_POINTS = 1000;

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Colors keys by their position in `keys` (the palette, cycled). */
export function colorOf(keys: readonly string[]): (k: string) => string {
  return (k) => PALETTE[Math.max(0, keys.indexOf(k)) % PALETTE.length]!;
}

/**
 * The left margin of a chart whose band axis on the left is labelled with `labels`: room for the
 * longest (about 6.5 px a character, plus 12), and never less than the 60 px of the other charts.
 */
export function labelMargin(labels: readonly string[]): number {
  return Math.max(60, Math.ceil(12 + 6.5 * Math.max(...labels.map((l) => l.length))));
}

const LEGEND_COLUMN = 190;

/** Renders Plot options to the SVG string of the chart (no legend, explicit ink color). */
export function chartSvg(options: Plot.PlotOptions, height = CHART_HEIGHT): string {
  const { document } = parseHTML('<!doctype html><html><body></body></html>');
  const el = Plot.plot({
    ...options,
    // linkedom's Document is close enough to the DOM one for Plot.
    document: document as unknown as Plot.PlotOptions['document'],
    width: PLOT_WIDTH,
    height,
    style: { fontFamily: FONT, fontSize: '11px', color: INK, background: 'white' },
  }) as unknown as { setAttribute(name: string, value: string): void; outerHTML: string };
  el.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  return el.outerHTML.replace(/currentColor/g, INK);
}

export interface FrameOptions {
  /** Colors of the legend keys (default: the palette by position). */
  color?: (k: string) => string;
  /** Height of the chart below the legend (default the report's, 340). */
  chartHeight?: number;
  /** Widen legend columns to fit long labels (the viewer's charts); the report keeps 190 px. */
  fitLegend?: boolean;
  /** Add class="legend-swatch" / "legend-label" to the legend (for the viewer's tests). */
  legendClasses?: boolean;
}

/**
 * Wraps a chart in a standalone SVG with a white background, a title and a legend row, as the
 * report and the viewer draw them.
 */
export function frameChart(
  title: string,
  legend: readonly string[],
  chart: string,
  o: FrameOptions = {},
): string {
  const color = o.color ?? colorOf(legend);
  const column = o.fitLegend
    ? Math.max(LEGEND_COLUMN, 30 + 7 * Math.max(0, ...legend.map((k) => k.length)))
    : LEGEND_COLUMN;
  const perRow = Math.max(1, Math.floor(PLOT_WIDTH / column));
  const legendH = Math.ceil(legend.length / perRow) * LEGEND_ROW + 4;
  const top = TITLE_HEIGHT + legendH;
  const height = top + (o.chartHeight ?? CHART_HEIGHT);
  // Plot's root <svg> becomes a translated <g> (a nested <svg> gets CSS sizing in browsers).
  const nested = chart
    .replace(/^<svg\b[^>]*>/, (tag) =>
      tag
        .replace(/ (xmlns|viewBox|width|height)="[^"]*"/g, '')
        .replace(/^<svg/, `<g transform="translate(0,${top})"`),
    )
    .replace(/<\/svg>$/, '</g>')
    // Plot's stylesheet sizes its root <svg> in a page; it means nothing on a <g>.
    .replace(/<style>[\s\S]*?<\/style>/, '');
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${PLOT_WIDTH}" height="${height}" viewBox="0 0 ${PLOT_WIDTH} ${height}" font-family="${FONT}" font-size="12" fill="${INK}">`,
    `<title>${esc(title)}</title>`,
    `<rect width="${PLOT_WIDTH}" height="${height}" fill="white"/>`,
    `<text x="10" y="18" font-size="14" font-weight="bold">${esc(title)}</text>`,
  ];
  const swatch = o.legendClasses ? ' class="legend-swatch"' : '';
  const label = o.legendClasses ? ' class="legend-label"' : '';
  legend.forEach((k, i) => {
    const x = 10 + (i % perRow) * column;
    const y = TITLE_HEIGHT + Math.floor(i / perRow) * LEGEND_ROW;
    parts.push(`<rect${swatch} x="${x}" y="${y + 2}" width="12" height="12" fill="${color(k)}"/>`);
    parts.push(`<text${label} x="${x + 17}" y="${y + 12}">${esc(k)}</text>`);
  });
  parts.push(nested, '</svg>');
  return `${parts.join('\n')}\n`;
}

function frame(title: string, legend: readonly string[], chart: string): string {
  return frameChart(title, legend, chart);
}

/** A placeholder chart for data sets with nothing to draw. */
export function emptyChart(title: string, message: string, chartHeight = CHART_HEIGHT): string {
  const height = TITLE_HEIGHT + chartHeight;
  return `${[
    `<svg xmlns="http://www.w3.org/2000/svg" width="${PLOT_WIDTH}" height="${height}" viewBox="0 0 ${PLOT_WIDTH} ${height}" font-family="${FONT}" font-size="12" fill="${INK}">`,
    `<title>${esc(title)}</title>`,
    `<rect width="${PLOT_WIDTH}" height="${height}" fill="white"/>`,
    `<text x="10" y="18" font-size="14" font-weight="bold">${esc(title)}</text>`,
    `<text x="${PLOT_WIDTH / 2}" y="${TITLE_HEIGHT + chartHeight / 2}" text-anchor="middle">${esc(message)}</text>`,
    '</svg>',
  ].join('\n')}\n`;
}

const empty = (title: string, message: string) => emptyChart(title, message);

function unique(xs: Iterable<string>): string[] {
  return [...new Set(xs)];
}

/**
 * Resident pages over simulated time (ms): one step line per design for RAM and per GPU for
 * its VRAM, sampled after every fault the log records: GPU fault batches, NIC faults, CPU
 * faults and dmirror ioctls (RAM is the page allocator's count, page tables included). Memory
 * a CPU touches without faulting (already mapped) does not change residency.
 */
export function vramResidencyPlot(results: readonly DesignLog[]): string {
  const title = "Residency over time (RAM and each GPU's VRAM)";
  const points: { series: string; ms: number; pages: number }[] = [];
  const dash = new Map<string, string>();
  let endMs = 0;
  // A step line only needs the samples where the value changes, and its last sample.
  const last = new Map<string, { ms: number; pages: number; drawn: boolean }>();
  const sample = (series: string, ms: number, pages: number) => {
    const prev = last.get(series);
    const drawn = prev === undefined || prev.pages !== pages;
    if (drawn) points.push({ series, ms, pages });
    last.set(series, { ms, pages, drawn });
  };
  results.forEach(({ design, result }, i) => {
    endMs = Math.max(endMs, result.endNs / 1e6);
    for (const e of result.log ?? []) {
      if (
        e.kind !== 'batch' &&
        e.kind !== 'nic_fault' &&
        e.kind !== 'cpu_fault' &&
        e.kind !== 'dmirror_ioctl'
      )
        continue;
      const endNs = e.kind === 'batch' || e.kind === 'nic_fault' ? e.endNs : e.t + e.cpuNs;
      const ram = `${design} · RAM`;
      dash.set(ram, DASHES[i % DASHES.length]!);
      sample(ram, endNs / 1e6, e.ramPages);
      const vram: [string, number][] =
        e.kind === 'batch' ? [[e.gpu, e.vramPages]] : Object.entries(e.vramPages);
      for (const [gpu, pages] of vram) {
        const series = `${design} · ${gpu}`;
        dash.set(series, DASHES[i % DASHES.length]!);
        sample(series, endNs / 1e6, pages);
      }
    }
  });
  for (const [series, p] of last) if (!p.drawn) points.push({ series, ms: p.ms, pages: p.pages });
  if (points.length === 0) return empty(title, 'no faults in the event log');
  const series = unique(points.map((p) => p.series));
  return stepLines(title, series, dash, points, 'ms', 'pages', {
    x: { label: 'simulated time (ms)', grid: true, domain: [0, endMs] },
    y: { label: 'resident pages (4 KiB)', grid: true, zero: true },
  });
}

/** One step line per series (dashed by design), over a zero rule. */
function stepLines<P extends { series: string }>(
  title: string,
  series: readonly string[],
  dash: ReadonlyMap<string, string>,
  points: readonly P[],
  x: keyof P & string,
  y: keyof P & string,
  axes: Pick<Plot.PlotOptions, 'x' | 'y'>,
): string {
  const color = colorOf(series);
  return frame(
    title,
    series,
    chartSvg({
      marginLeft: 60,
      ...axes,
      marks: [
        Plot.ruleY([0]),
        ...series.map((s) =>
          Plot.line(
            points.filter((p) => p.series === s),
            { x, y, curve: 'step-after', stroke: color(s), strokeWidth: 1.5, strokeDasharray: dash.get(s)! },
          ),
        ),
      ],
    }),
  );
}

/**
 * Bytes over each link direction (GiB, or MiB below 1 GiB): one row per link that carried
 * anything, one horizontal bar per design in it. Horizontal so that link names (`pci:<node>.up`
 * of a PCI tree) stay readable however many there are: the chart grows with the rows.
 */
export function linkBytesPlot(rows: readonly CompareRow[]): string {
  const title = 'Bytes per link direction';
  const designs = rows.map((r) => r.design as string);
  const links = unique(rows.flatMap((r) => Object.keys(r.linkBytes))).sort();
  if (links.length === 0) return empty(title, 'no link traffic');
  const max = Math.max(...rows.flatMap((r) => Object.values(r.linkBytes)));
  const [unit, scale] = max >= GiB ? ['GiB', GiB] : ['MiB', MiB];
  const data = links.flatMap((link) =>
    rows.map((r) => ({ link, design: r.design as string, value: (r.linkBytes[link] ?? 0) / scale })),
  );
  const color = colorOf(designs);
  const rowHeight = Math.max(18, 8 * designs.length + 8);
  const height = 50 + links.length * rowHeight;
  return frameChart(
    title,
    designs,
    chartSvg(
      {
        marginLeft: labelMargin(links),
        marginBottom: 36,
        fy: { label: null, domain: links, padding: 0.2 },
        y: { axis: null, domain: designs },
        color: { domain: designs, range: designs.map(color) },
        x: { label: `${unit} →`, grid: true },
        marks: [Plot.barX(data, { fy: 'link', y: 'design', x: 'value', fill: 'design' }), Plot.ruleX([0])],
      },
      height,
    ),
    { chartHeight: height },
  );
}

/** Bars grouped by kind (facets), one bar per design in each. */
function designBars(
  title: string,
  rows: readonly CompareRow[],
  kinds: readonly [string, (r: CompareRow) => number][],
  yLabel: string,
): string {
  const designs = rows.map((r) => r.design as string);
  if (designs.length === 0) return empty(title, 'no designs');
  const domain = kinds.map(([k]) => k);
  const data = rows.flatMap((r) =>
    kinds.map(([kind, value]) => ({ kind, design: r.design as string, value: value(r) })),
  );
  const color = colorOf(designs);
  return frame(
    title,
    designs,
    chartSvg({
      marginLeft: 60,
      marginBottom: 40,
      fx: { label: null, domain, padding: 0.15 },
      x: { axis: null, domain: designs },
      color: { domain: designs, range: designs.map(color) },
      y: { label: yLabel, grid: true },
      marks: [Plot.barY(data, { fx: 'kind', x: 'design', y: 'value', fill: 'design' }), Plot.ruleY([0])],
    }),
  );
}

/** Pages moved to RAM, moved to VRAM and reached peer to peer, grouped by kind, one bar per design. */
export function faultsMigrationsPlot(rows: readonly CompareRow[]): string {
  return designBars(
    'Migrations and NIC P2P page mappings by design',
    rows,
    [
      ['pages to RAM', (r) => r.pagesToRam],
      ['pages to VRAM', (r) => r.pagesToVram],
      ['NIC P2P pages mapped', (r) => r.nicP2pPagesMapped],
    ],
    'pages (4 KiB)',
  );
}

/** Faults taken by GPUs, NICs and CPUs, one bar per design (0 for rows stored without them). */
export function faultsPlot(rows: readonly CompareRow[]): string {
  return designBars(
    'Faults by design',
    rows,
    [
      ['GPU faults', (r) => r.gpuFaults ?? 0],
      ['NIC faults', (r) => r.nicFaults ?? 0],
      ['CPU faults', (r) => r.cpuFaults ?? 0],
    ],
    'faults',
  );
}

/**
 * Empirical CDF of RDMA message latency (µs, log x) per design, from the 'message' events
 * (endNs - t). With several RDMA workloads, one line per design and workload.
 */
export function rdmaLatencyCdfPlot(results: readonly DesignLog[]): string {
  const title = 'RDMA message latency CDF';
  const byWorkload = new Map<string, Map<string, number[]>>();
  for (const { design, result } of results) {
    let m = byWorkload.get(design);
    if (!m) byWorkload.set(design, (m = new Map()));
    for (const e of result.log ?? []) {
      if (e.kind !== 'message') continue;
      let l = m.get(e.workload);
      if (!l) m.set(e.workload, (l = []));
      l.push(Math.max(1, e.endNs - e.t) / 1000);
    }
  }
  const workloads = unique([...byWorkload.values()].flatMap((m) => [...m.keys()]));
  const points: { series: string; us: number; p: number }[] = [];
  const dash = new Map<string, string>();
  [...byWorkload].forEach(([design, m], i) => {
    for (const [workload, lat] of m) {
      const series = workloads.length > 1 ? `${design} · ${workload}` : design;
      dash.set(series, DASHES[i % DASHES.length]!);
      lat.sort((a, b) => a - b);
      const n = lat.length;
      const step = Math.max(1, Math.ceil(n / CDF_MAX_POINTS));
      for (let i = 0; i < n; i += step) points.push({ series, us: lat[i]!, p: (i + 1) / n });
      if ((n - 1) % step !== 0) points.push({ series, us: lat[n - 1]!, p: 1 });
    }
  });
  if (points.length === 0) return empty(title, 'no RDMA messages in the event log');
  const series = unique(points.map((p) => p.series));
  return stepLines(title, series, dash, points, 'us', 'p', {
    x: { type: 'log', label: 'message latency (µs)', grid: true },
    y: { label: 'fraction of messages', grid: true, domain: [0, 1] },
  });
}

/** Rasterizes an SVG to PNG with resvg (white background, DejaVu Sans). */
export function svgToPng(svg: string): Uint8Array {
  const png = new Resvg(svg, {
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  })
    .render()
    .asPng();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}
