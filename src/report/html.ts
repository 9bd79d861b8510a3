/**
 * The `hmmlab report` page: one self-contained HTML file (inline CSS, inline SVG plots, no
 * scripts or external resources, no timestamps) with the comparison table and the scenario
 * text. The same input gives the same bytes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CompareRow } from '../sim/compare.js';
import { type ColumnSet, columnLegend, compareColumns } from '../sim/compare-columns.js';
import { makeDirs } from '../util/make-dirs.js';
import {
  type DesignResult,
  faultsMigrationsPlot,
  faultsPlot,
  linkBytesPlot,
  rdmaLatencyCdfPlot,
  svgToPng,
  vramResidencyPlot,
} from './plots.js';

export interface ReportInput {
  title: string;
  scenarioName: string;
  /** The scenario file's text, shown as is. */
  scenarioText: string;
  /** One result per design, with event logs (simulate(..., { log: true })). */
  results: DesignResult[];
  /** The comparison rows (compareRow of each result). */
  rows: CompareRow[];
}

/** One figure of the report: a file-name-safe id, a caption and the SVG. */
export interface ReportPlot {
  id: string;
  caption: string;
  svg: string;
}

function esc(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** The report's figures, in page order. */
export function reportPlots(results: readonly DesignResult[], rows: readonly CompareRow[]): ReportPlot[] {
  return [
    {
      id: 'vram-residency',
      caption:
        'Resident pages over simulated time: RAM in use (page tables included) and each GPU’s VRAM, ' +
        'sampled after every GPU fault batch, NIC fault, CPU fault and dmirror ioctl.',
      svg: vramResidencyPlot(results),
    },
    {
      id: 'link-bytes',
      caption: 'Bytes over each link direction, per design (GiB).',
      svg: linkBytesPlot(rows),
    },
    {
      id: 'faults',
      caption:
        'Faults taken per design: GPU faults (fault-buffer entries), NIC (ODP) page faults and CPU page faults.',
      svg: faultsPlot(rows),
    },
    {
      id: 'faults-migrations',
      caption:
        'Pages moved VRAM → RAM (CPU and NIC faults, evictions), RAM → VRAM (GPU faults) and pages the NIC reached peer to peer, per design.',
      svg: faultsMigrationsPlot(rows),
    },
    {
      id: 'rdma-latency-cdf',
      caption: 'Empirical CDF of RDMA message latency (completion minus post), log scale.',
      svg: rdmaLatencyCdfPlot(results),
    },
  ];
}

/** A comparison table: header, one row of cells per design, and the legend of its columns. */
export interface CompareTable {
  head: string[];
  cells: string[][];
  /** [header, what the column counts and its unit] per column (per-RDMA-workload ones once). */
  legend: [string, string][];
}

/**
 * The comparison table's header, cells and legend (src/sim/compare-columns.ts): the main
 * columns (design, GB/s and p50 / p99 latency per RDMA workload, whole-run time, bytes migrated
 * each way, GPU and NIC stall time, fault CPU time, NIC P2P and GPU peer bytes), or the `more`
 * columns (the parts and counts behind them), or all.
 */
export function compareTable(rows: readonly CompareRow[], set: ColumnSet = 'main'): CompareTable {
  const columns = compareColumns(rows, set);
  return {
    head: columns.map((c) => c.head),
    cells: rows.map((r) => columns.map((c) => c.cell(r))),
    legend: columnLegend(columns),
  };
}

/** The reports' stylesheet (this page's and the sensitivity page's, report/sensitivity.ts). */
const REPORT_CSS = `
body { font-family: "DejaVu Sans", system-ui, sans-serif; color: #222; background: #fff; margin: 2rem auto; max-width: 820px; padding: 0 1rem; line-height: 1.4; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
.scenario-name { color: #555; margin-top: 0; }
table { border-collapse: collapse; font-size: 0.85rem; width: 100%; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.45rem; text-align: right; }
th { background: #f3f3f3; }
td:first-child, th:first-child { text-align: left; }
figure { margin: 1.5rem 0; }
figure svg { max-width: 100%; height: auto; }
figcaption { font-size: 0.85rem; color: #555; }
.table-scroll { overflow-x: auto; }
dl.legend { font-size: 0.8rem; color: #444; display: grid; grid-template-columns: max-content 1fr; gap: 0.1rem 0.8rem; }
dl.legend dt { font-weight: bold; }
dl.legend dd { margin: 0; }
details pre { background: #f7f7f7; padding: 0.75rem; overflow-x: auto; font-size: 0.8rem; }
`.trim();

/** What every report page names: its title, and the scenario it ran (name and text). */
export interface ReportPageFrame {
  title: string;
  scenarioName: string;
  scenarioText: string;
}

/**
 * A report page (this one, and the sensitivity page of report/sensitivity.ts): the stylesheet,
 * the title and scenario name, then `body` (lines of HTML), then the scenario text folded away.
 */
export function reportPage(frame: ReportPageFrame, body: readonly string[]): string {
  const lines = [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(frame.title)}</title>`,
    `<style>\n${REPORT_CSS}\n</style>`,
    '</head>',
    '<body>',
    `<h1>${esc(frame.title)}</h1>`,
    `<p class="scenario-name">Scenario: <code>${esc(frame.scenarioName)}</code></p>`,
    ...body,
    '<h2>Scenario</h2>',
    '<details>',
    `<summary>${esc(frame.scenarioName)}</summary>`,
    `<pre>${esc(frame.scenarioText)}</pre>`,
    '</details>',
    '</body>',
    '</html>',
  ];
  return `${lines.join('\n')}\n`;
}

/** The report page for one scenario run under several designs. */
export function renderReport(input: ReportInput): string {
  return renderPage(input, reportPlots(input.results, input.rows));
}

/** A comparison table with its legend under it: the table scrolls sideways when it is wider than the page. */
function tableHtml(id: string, t: CompareTable): string[] {
  return [
    '<div class="table-scroll">',
    `<table id="${id}">`,
    `<thead><tr>${t.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...t.cells.map(
      (c) => `<tr data-design="${esc(c[0]!)}">${c.map((v) => `<td>${esc(v)}</td>`).join('')}</tr>`,
    ),
    '</tbody>',
    '</table>',
    '</div>',
    `<dl class="legend" id="${id}-legend">`,
    ...t.legend.map(([h, what]) => `<dt>${esc(h)}</dt><dd>${esc(what)}</dd>`),
    '</dl>',
  ];
}

function renderPage(input: ReportInput, plots: readonly ReportPlot[]): string {
  const lines: string[] = [
    '<h2>Comparison</h2>',
    ...tableHtml('compare', compareTable(input.rows, 'main')),
    '<h2>Parts and counts</h2>',
    ...tableHtml('compare-more', compareTable(input.rows, 'more')),
    '<h2>Plots</h2>',
  ];
  for (const p of plots) {
    lines.push(
      `<figure id="${p.id}">`,
      p.svg.trimEnd(),
      `<figcaption>${esc(p.caption)}</figcaption>`,
      '</figure>',
    );
  }
  return reportPage(input, lines);
}

/**
 * Renders the report and writes it into `dir` (created if needed): index.html, and
 * plots/<id>.png for each figure when `png` is set. Returns the paths written.
 */
export function writeReport(dir: string, report: ReportInput, opts: { png?: boolean } = {}): string[] {
  const plots = reportPlots(report.results, report.rows);
  makeDirs(dir);
  const written: string[] = [];
  const index = join(dir, 'index.html');
  writeFileSync(index, renderPage(report, plots));
  written.push(index);
  if (opts.png) {
    const plotsDir = join(dir, 'plots');
    makeDirs(plotsDir);
    for (const p of plots) {
      const file = join(plotsDir, `${p.id}.png`);
      writeFileSync(file, svgToPng(p.svg));
      written.push(file);
    }
  }
  return written;
}
