/**
 * The `hmmlab sensitivity --report <dir>` page: the ranked table and a tornado plot of one
 * sensitivity analysis (src/sim/sensitivity.ts), self-contained as the `report` page is (inline
 * CSS and SVG, no scripts, no timestamps: the same input gives the same bytes).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as Plot from '@observablehq/plot';
import {
  formatInputValue,
  formatRatio,
  type SensitivityEntry,
  type SensitivityResult,
  VERDICT_METRIC_TITLES,
} from '../sim/sensitivity.js';
import { makeDirs } from '../util/make-dirs.js';
import { reportPage } from './html.js';
import { chartSvg, emptyChart, esc, frameChart, labelMargin, PALETTE } from './plots.js';

/** The most inputs a tornado plot draws (the largest swings; the table lists them all). */
export const TORNADO_MAX_BARS = 25;
/** The smallest swing a tornado plot draws: 0.1% (a bar that thin would not show). */
const MIN_SWING = 1e-3;

const LOW = 'low end';
const HIGH = 'high end';
/** Height of one input's row; its low bar fills the upper half, its high bar the lower. */
const ROW = 24;

/**
 * A tornado plot: one row per input (largest swing on top), a bar from the baseline verdict to
 * the verdict at the input's low end and one to its high end, on a log axis; a rule at the
 * baseline, and one at 1 (P2P and the baseline equal) when it is in view.
 */
export function tornadoPlot(result: SensitivityResult, maxBars = TORNADO_MAX_BARS): string {
  const title = `Sensitivity: ${VERDICT_METRIC_TITLES[result.metric]}`;
  const base = result.verdict.value;
  const shown = result.parameters.filter((e) => e.swing >= MIN_SWING).slice(0, maxBars);
  if (base === null || shown.length === 0) return emptyChart(title, 'no input moved the verdict');
  const names = shown.map((e) => e.name);
  const data = shown.flatMap((e) =>
    (['low', 'high'] as const)
      .filter((end) => e[end] !== null)
      .map((end) => ({
        name: e.name,
        end: end === 'low' ? LOW : HIGH,
        x1: Math.min(base, e[end]!),
        x2: Math.max(base, e[end]!),
      })),
  );
  const values = [base, ...data.flatMap((d) => [d.x1, d.x2])];
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (hi / lo < 1.02) {
    lo /= 1.01;
    hi *= 1.01;
  }
  const rules = [base, ...(lo <= 1 && hi >= 1 && base !== 1 ? [1] : [])];
  // 1-2-5 ticks: Plot thins a log axis's labels, which leaves ranges below 1 unlabelled.
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++)
    for (const m of [1, 2, 5])
      if (m * 10 ** e >= lo && m * 10 ** e <= hi) ticks.push(Number((m * 10 ** e).toPrecision(1)));
  const height = 60 + names.length * ROW;
  const legend = [LOW, HIGH];
  const colors = [PALETTE[0]!, PALETTE[1]!];
  return frameChart(
    title,
    legend,
    chartSvg(
      {
        marginLeft: labelMargin(names),
        marginBottom: 36,
        y: { label: null, domain: names, padding: 0.1 },
        x: {
          type: 'log',
          domain: [lo, hi],
          ticks,
          tickFormat: (t: number) => `${t}`,
          label: `${result.metric} ratio (baseline ${formatRatio(base)}) →`,
          grid: true,
        },
        color: { domain: legend, range: colors },
        marks: [
          // Each end in its own half of the row, so that a short bar is never hidden behind a long one.
          Plot.barX(
            data.filter((d) => d.end === LOW),
            { y: 'name', x1: 'x1', x2: 'x2', fill: 'end', insetBottom: ROW * 0.42 },
          ),
          Plot.barX(
            data.filter((d) => d.end === HIGH),
            { y: 'name', x1: 'x1', x2: 'x2', fill: 'end', insetTop: ROW * 0.42 },
          ),
          Plot.ruleX([base], { stroke: '#222222' }),
          Plot.ruleX(rules.slice(1), { stroke: '#222222', strokeDasharray: '3 3' }),
        ],
      },
      height,
    ),
    { chartHeight: height, color: (k) => colors[legend.indexOf(k)] ?? PALETTE[2]! },
  );
}

/** The ranked table's header and cells (the command line prints the same columns). */
export function sensitivityTable(result: SensitivityResult): { head: string[]; cells: string[][] } {
  const head = ['parameter', 'kind', 'base value', 'low value -> verdict', 'high value -> verdict'];
  const end = (e: SensitivityEntry, which: 'low' | 'high') => {
    const value = formatInputValue(which === 'low' ? e.lowValue : e.highValue, e.unit);
    const error = which === 'low' ? e.lowError : e.highError;
    const v = which === 'low' ? e.lowVerdict : e.highVerdict;
    if (error !== undefined) return `${value} -> failed`;
    const best = v && v.best !== result.verdict.best ? ` (${v.best})` : '';
    return `${value} -> ${formatRatio(e[which])}${best}`;
  };
  const cells = result.parameters.map((e) => [
    e.name,
    e.kind,
    formatInputValue(e.base, e.unit),
    end(e, 'low'),
    end(e, 'high'),
  ]);
  return { head, cells };
}

/** What a sensitivity page shows besides the result. */
export interface SensitivityReportInput {
  title: string;
  scenarioName: string;
  scenarioText: string;
  result: SensitivityResult;
}

/** The sensitivity page. */
export function renderSensitivityReport(input: SensitivityReportInput): string {
  const { result } = input;
  const v = result.verdict;
  const { head, cells } = sensitivityTable(result);
  const lines: string[] = [
    '<h2>Verdict</h2>',
    `<p id="verdict">${esc(VERDICT_METRIC_TITLES[result.metric])} of the best P2P design (${esc(v.best)}): <strong>${esc(formatRatio(v.value))}</strong>, from ${esc(formatRatio(v.min))} to ${esc(formatRatio(v.max))} as one input moves. Bandwidth ${esc(formatRatio(v.bandwidthRatio))}, p99 latency ${esc(formatRatio(v.p99Ratio))}, whole run ${esc(formatRatio(v.endRatio))}; designs ${esc(result.designs.join(', '))}; ${result.runs} runs.</p>`,
    '<figure id="tornado">',
    tornadoPlot(result).trimEnd(),
    `<figcaption>The verdict with each input at its low end (x0.5; never, false, halved chunks) and its high end (x2; always, true, doubled chunks), every other input at the scenario's value: the ${TORNADO_MAX_BARS} largest swings of at least 0.1%, log scale; the solid rule is the scenario's verdict, the dashed one parity (1x).</figcaption>`,
    '</figure>',
    '<h2>Inputs, largest swing first</h2>',
    '<table id="sensitivity">',
    `<thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>`,
    '<tbody>',
    ...cells.map((c) => `<tr>${c.map((x) => `<td>${esc(x)}</td>`).join('')}</tr>`),
    '</tbody>',
    '</table>',
  ];
  if (result.unread.length > 0) {
    lines.push(
      `<p id="unread">Cost parameters no run read (not perturbed): ${result.unread.map((n) => `<code>${esc(n)}</code>`).join(', ')}.</p>`,
    );
  }
  if (result.unchanged.length > 0) {
    lines.push(
      `<p id="unchanged">Read but not perturbed: ${result.unchanged.map((u) => `<code>${esc(u.name)}</code> (${esc(u.reason)})`).join(', ')}.</p>`,
    );
  }
  return reportPage(input, lines);
}

/** Writes the page into `dir` (created if needed) as index.html; returns its path. */
export function writeSensitivityReport(dir: string, input: SensitivityReportInput): string {
  makeDirs(dir);
  const index = join(dir, 'index.html');
  writeFileSync(index, renderSensitivityReport(input));
  return index;
}
