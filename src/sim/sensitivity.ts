/**
 * One-at-a-time sensitivity of the P2P verdict (`hmmlab sensitivity`): how far the best P2P
 * design's advantage over the baseline (`upstream`) moves when one input moves, every other
 * input staying at the scenario's value.
 *
 * What moves:
 * - every cost parameter a baseline run reads (`simulate(..., { costReads })`, one run per
 *   design), to x0.5 and x2 of its value, kept inside the catalogue's range
 *   (`costParameterRange`: a whole number for counts and bytes, at most 100 for a percentage).
 *   Profiles give one value per parameter and no uncertainty bounds, so these factors are the
 *   ends for every parameter. A parameter no baseline run reads is listed as unread and never
 *   run: it cannot change a result. One a design's baseline did not read is not run for that
 *   design either: the run would be the baseline's, event for event;
 * - the scenario choices that shape the data path: `platform.cpuCores` and each RDMA
 *   workload's `queueDepth` (x0.5, x2), `messageSize` (x0.5, x2, with `messages` scaled so that
 *   the bytes moved stay the same) and `qps` when the schema has one; each GPU's `chunkSizes`
 *   (every size halved, doubled: 4KiB to 2MiB); `platform.thp` (never, always) and each
 *   buffer's `hugepage` (false, true).
 *
 * What is measured (`verdictMetrics`): the best P2P design (highest mean RDMA bandwidth, as
 * `claimVerdict` picks it) against the baseline: its RDMA bandwidth ratio and p99 latency ratio
 * (`claimVerdict`'s own) and the whole run's time ratio (baseline end time over the best
 * design's). Above 1, P2P is better. Each input is ranked by the swing it gives the chosen
 * metric: ln(largest / smallest) of its low, base and high values, the width of its bar in a
 * tornado plot on a log axis.
 *
 * Pure: the runs are the caller's (src/sweep/sensitivity.ts runs them on worker threads); this
 * module plans them and reads their rows.
 */
import type { DesignName } from '../designs/design.js';
import { createDesign } from '../designs/designs.js';
import type { CompareRow } from './compare.js';
import {
  COST_PARAMETER_NAMES,
  type CostKind,
  type CostParameterName,
  type CostProfile,
  costParameterInfo,
  costParameterRange,
  formatNumber,
} from './costs.js';
import { claimVerdict } from './design-study.js';
import type { SimConfig } from './simulate.js';

const KiB = 1024;
const MiB = 2 ** 20;
/** The GPU driver's chunk sizes when a GPU gives none (GpuDevice). */
const DEFAULT_CHUNK_SIZES = [2 * MiB, 64 * KiB, 4 * KiB] as const;
/** `platform.cpuCores` when the scenario gives none (Platform). */
const DEFAULT_CPU_CORES = 8;

// ---------------------------------------------------------------------------------------------
// The verdict

/** The metrics a sensitivity run ranks inputs by. */
export type VerdictMetric = 'bandwidth' | 'p99' | 'time';

/** The metrics, in the order tables list them. */
export const VERDICT_METRICS: readonly VerdictMetric[] = Object.freeze(['bandwidth', 'p99', 'time']);

/** What each metric is, for tables, plots and help. */
export const VERDICT_METRIC_TITLES: Readonly<Record<VerdictMetric, string>> = Object.freeze({
  bandwidth: 'RDMA bandwidth ratio (best P2P / baseline)',
  p99: 'RDMA p99 latency ratio (baseline / best P2P)',
  time: 'whole-run time ratio (baseline / best P2P)',
});

/** The verdict of one set of rows: the best P2P design and its three ratios over the baseline. */
export interface VerdictMetrics {
  /** The P2P design with the highest mean RDMA bandwidth (the first such, in row order). */
  best: DesignName;
  /** Its mean RDMA bandwidth over the baseline's (claimVerdict); null without RDMA workloads. */
  bandwidthRatio: number | null;
  /** The baseline's worst RDMA p99 latency over its own (claimVerdict); null without RDMA. */
  p99Ratio: number | null;
  /** The baseline's whole-run time (endNs) over its own. */
  endRatio: number;
}

const isBaseline = (d: DesignName) => !createDesign(d).p2p;

/** A ratio as data: null when there is nothing to compare (0 / 0, no RDMA workload). */
const finite = (x: number): number | null => (Number.isFinite(x) && x > 0 ? x : null);

/**
 * The verdict metrics of rows of one configuration under several designs (compare()'s rows):
 * the bandwidth and p99 ratios are `claimVerdict`'s, the time ratio is the same best design's.
 * Throws an Error when the rows lack the baseline or every P2P design (the caller checks the
 * design list first: `checkVerdictDesigns`).
 */
export function verdictMetrics(rows: readonly CompareRow[]): VerdictMetrics {
  const up = rows.find((r) => isBaseline(r.design));
  const others = rows.filter((r) => !isBaseline(r.design));
  if (!up || others.length === 0) throw new Error(checkVerdictDesigns(rows.map((r) => r.design))!);
  // claimVerdict picks the best design (the first with the highest RDMA bandwidth) and gives
  // its whole-run ratio too.
  const v = claimVerdict([...rows]);
  const hasRdma = Object.keys(up.rdma).length > 0;
  return {
    best: v.best as DesignName,
    bandwidthRatio: hasRdma ? finite(v.bandwidthRatio) : null,
    p99Ratio: hasRdma ? finite(v.p99Ratio) : null,
    endRatio: v.runTimeRatio,
  };
}

/**
 * Why a design list cannot give a verdict (no baseline design, no P2P design), or undefined
 * when it can.
 */
export function checkVerdictDesigns(designs: readonly DesignName[]): string | undefined {
  const base = designs.filter(isBaseline);
  if (base.length === 0) return `the designs (${designs.join(', ')}) include no baseline design (upstream)`;
  if (base.length === designs.length)
    return `the designs (${designs.join(', ')}) include no P2P design to compare with ${base.join(', ')}`;
  return undefined;
}

/** The value of `metric` in `v`, null when it has none. */
export function metricValue(v: VerdictMetrics | null, metric: VerdictMetric): number | null {
  if (v === null) return null;
  return metric === 'bandwidth' ? v.bandwidthRatio : metric === 'p99' ? v.p99Ratio : v.endRatio;
}

// ---------------------------------------------------------------------------------------------
// What to perturb

/** Where an input comes from: the cost profile's kind of number, or a scenario choice. */
export type SensitivityKind = CostKind | 'scenario';

/** An input's value: a number, a choice (`never`), a flag, or a list of sizes. */
export type InputValue = number | string | boolean | readonly number[];

/** One input to move, with its two ends. */
export interface Perturbation {
  /** A cost parameter's name, or the scenario path (`--set` syntax: `workloads.put.queueDepth`). */
  name: string;
  kind: SensitivityKind;
  /** The unit of a cost parameter or a scenario number ('B' for sizes); absent for choices. */
  unit?: string;
  base: InputValue;
  low: InputValue;
  high: InputValue;
  /** How each end was chosen, for the table's notes ("x0.5, x2", "never, always"). */
  rule: string;
  /** The designs whose runs can change: those whose baseline read it (all, for scenario inputs). */
  designs: readonly DesignName[];
  /** The configuration with this input at `value`. */
  apply(config: SimConfig, value: InputValue): SimConfig;
}

/** An input that is not moved, and why. */
export interface NotPerturbed {
  name: string;
  kind: SensitivityKind;
  base: InputValue;
  reason: string;
}

/** The inputs of a sensitivity run: those to move, and those listed but left alone. */
export interface SensitivityInputs {
  perturbations: Perturbation[];
  /** Cost parameters no baseline run read (none of the designs' runs can depend on them). */
  unread: CostParameterName[];
  /** Inputs that are read but have no other value to take (a 0 that x0.5 and x2 keep). */
  unchanged: NotPerturbed[];
}

const same = (a: InputValue, b: InputValue) => JSON.stringify(a) === JSON.stringify(b);

/** `value` moved into a cost parameter's range (whole numbers rounded, bounds kept). */
function inRange(name: CostParameterName, value: number, base: number): number {
  const r = costParameterRange(name);
  let v = r.integer ? Math.round(value) : value;
  if (r.max !== undefined) v = Math.min(v, r.max);
  if (r.minExclusive ? !(v > r.min) : v < r.min) v = base;
  return v;
}

/** x0.5 and x2 of an integer scenario value, kept in [min, max]. */
function scaled(base: number, min: number, max: number): [number, number] {
  return [Math.max(min, Math.round(base / 2)), Math.min(max, base * 2)];
}

function costPerturbations(
  profile: CostProfile,
  reads: ReadonlyMap<DesignName, ReadonlySet<string>>,
  out: SensitivityInputs,
): void {
  for (const name of COST_PARAMETER_NAMES) {
    const designs = [...reads].filter(([, r]) => r.has(name)).map(([d]) => d);
    const p = profile.parameters[name];
    if (designs.length === 0) {
      out.unread.push(name);
      continue;
    }
    const base = p.value;
    const low = inRange(name, base * 0.5, base);
    const high = inRange(name, base * 2, base);
    if (low === base && high === base) {
      out.unchanged.push({ name, kind: p.kind, base, reason: `x0.5 and x2 of ${base} stay ${base}` });
      continue;
    }
    out.perturbations.push({
      name,
      kind: p.kind,
      unit: costParameterInfo(name).unit,
      base,
      low,
      high,
      rule: 'x0.5, x2',
      designs,
      apply: (config, value) => ({
        ...config,
        overrides: { ...config.overrides, [name]: value as number },
      }),
    });
  }
}

type RdmaWorkloadConfig = Extract<SimConfig['workloads'][number], { kind: 'rdma' }>;

/** `config` with workload `name` changed by `f`. */
function withWorkload(config: SimConfig, name: string, f: (w: RdmaWorkloadConfig) => object): SimConfig {
  return {
    ...config,
    workloads: config.workloads.map((w) =>
      w.name === name && w.kind === 'rdma' ? (f(w) as typeof w) : w,
    ) as SimConfig['workloads'],
  };
}

function scenarioPerturbations(config: SimConfig, designs: readonly DesignName[]): Perturbation[] {
  const out: Perturbation[] = [];
  const add = (p: Omit<Perturbation, 'kind' | 'designs'>) => {
    if (!same(p.low, p.base) || !same(p.high, p.base)) out.push({ ...p, kind: 'scenario', designs });
  };
  const cores = config.platform?.cpuCores ?? DEFAULT_CPU_CORES;
  const [coresLow, coresHigh] = scaled(cores, 1, 4096);
  add({
    name: 'platform.cpuCores',
    unit: 'count',
    base: cores,
    low: coresLow,
    high: coresHigh,
    rule: 'x0.5, x2',
    apply: (c, v) => ({ ...c, platform: { ...c.platform, cpuCores: v as number } }),
  });
  add({
    name: 'platform.thp',
    base: config.platform?.thp ?? 'madvise',
    low: 'never',
    high: 'always',
    rule: 'never, always',
    apply: (c, v) => ({ ...c, platform: { ...c.platform, thp: v as 'never' | 'always' } }),
  });
  for (const b of config.buffers) {
    add({
      name: `buffers.${b.name}.hugepage`,
      base: b.hugepage ?? false,
      low: false,
      high: true,
      rule: 'false, true',
      apply: (c, v) => ({
        ...c,
        buffers: c.buffers.map((x) => (x.name === b.name ? { ...x, hugepage: v as boolean } : x)),
      }),
    });
  }
  for (const g of config.devices?.gpus ?? []) {
    const base = g.chunkSizes ?? DEFAULT_CHUNK_SIZES;
    const sizes = (f: number) => [...new Set(base.map((s) => Math.min(2 * MiB, Math.max(4 * KiB, s * f))))];
    add({
      name: `devices.gpus.${g.name}.chunkSizes`,
      unit: 'B',
      base: [...base],
      low: sizes(0.5),
      high: sizes(2),
      rule: 'each x0.5, x2 (4KiB to 2MiB)',
      apply: (c, v) => ({
        ...c,
        devices: {
          ...c.devices,
          gpus: (c.devices?.gpus ?? []).map((x) =>
            x.name === g.name ? { ...x, chunkSizes: [...(v as number[])] } : x,
          ),
        },
      }),
    });
  }
  for (const w of config.workloads) {
    if (w.kind !== 'rdma') continue;
    const qd = w.queueDepth ?? 1;
    const [qdLow, qdHigh] = scaled(qd, 1, 65536);
    add({
      name: `workloads.${w.name}.queueDepth`,
      unit: 'count',
      base: qd,
      low: qdLow,
      high: qdHigh,
      rule: 'x0.5, x2',
      apply: (c, v) => withWorkload(c, w.name, (x) => ({ ...x, queueDepth: v as number })),
    });
    const size = w.messageSize;
    const [sizeLow, sizeHigh] = scaled(size, 1, 64 * 2 ** 40);
    add({
      name: `workloads.${w.name}.messageSize`,
      unit: 'B',
      base: size,
      low: sizeLow,
      high: sizeHigh,
      rule: 'x0.5, x2 (messages scaled: the same bytes)',
      apply: (c, v) =>
        withWorkload(c, w.name, (x) => ({
          ...x,
          messageSize: v as number,
          messages: Math.min(2 ** 31 - 1, Math.max(1, Math.round((x.messages * size) / (v as number)))),
        })),
    });
    // Queue pairs per workload, when the schema has them (a later version may).
    const qps = (w as Record<string, unknown>).qps;
    if (typeof qps === 'number') {
      const [qpsLow, qpsHigh] = scaled(qps, 1, 65536);
      add({
        name: `workloads.${w.name}.qps`,
        unit: 'count',
        base: qps,
        low: qpsLow,
        high: qpsHigh,
        rule: 'x0.5, x2',
        apply: (c, v) => withWorkload(c, w.name, (x) => ({ ...x, qps: v as number })),
      });
    }
  }
  return out;
}

/**
 * The names `sensitivityInputs` can give for `config`: every cost parameter and the scenario
 * inputs it moves (for checking `--params`).
 */
export function sensitivityInputNames(config: SimConfig): string[] {
  return [...COST_PARAMETER_NAMES, ...scenarioPerturbations(config, []).map((p) => p.name)];
}

/**
 * What to move for `config` (its profile resolved, overrides applied: configProfile) given the
 * cost parameters each design's baseline run read. `only`, when given, keeps the inputs it
 * names (the others are neither run nor listed).
 */
export function sensitivityInputs(
  config: SimConfig,
  profile: CostProfile,
  reads: ReadonlyMap<DesignName, ReadonlySet<string>>,
  only?: ReadonlySet<string>,
): SensitivityInputs {
  const out: SensitivityInputs = { perturbations: [], unread: [], unchanged: [] };
  costPerturbations(profile, reads, out);
  out.perturbations.push(...scenarioPerturbations(config, [...reads.keys()]));
  if (only === undefined) return out;
  return {
    perturbations: out.perturbations.filter((p) => only.has(p.name)),
    unread: out.unread.filter((n) => only.has(n)),
    unchanged: out.unchanged.filter((n) => only.has(n.name)),
  };
}

// ---------------------------------------------------------------------------------------------
// The runs

/** One run a sensitivity analysis needs: an input at one end under one design. */
export interface SensitivityRun {
  /** Index of the perturbation in `SensitivityInputs.perturbations`. */
  input: number;
  end: 'low' | 'high';
  design: DesignName;
  config: SimConfig;
}

/**
 * The runs behind `inputs`, beyond the baselines: each input at each end that differs from its
 * base, under each design whose run it can change (the other designs' rows are their
 * baselines').
 */
export function sensitivityRuns(config: SimConfig, inputs: SensitivityInputs): SensitivityRun[] {
  const runs: SensitivityRun[] = [];
  inputs.perturbations.forEach((p, input) => {
    for (const end of ['low', 'high'] as const) {
      if (same(p[end], p.base)) continue;
      const moved = p.apply(config, p[end]);
      for (const design of p.designs) runs.push({ input, end, design, config: { ...moved, design } });
    }
  });
  return runs;
}

/** One input's result: its values and the verdict at each end. */
export interface SensitivityEntry {
  name: string;
  kind: SensitivityKind;
  unit?: string;
  /** The input's value in the scenario, and at each end. */
  base: InputValue;
  lowValue: InputValue;
  highValue: InputValue;
  rule: string;
  /** The chosen metric at each end (null when the run failed or the metric has no value). */
  low: number | null;
  high: number | null;
  /** ln(largest / smallest) of the metric at low, base and high: the tornado bar's width. */
  swing: number;
  /** Every metric at each end (null when a run at that end failed). */
  lowVerdict: VerdictMetrics | null;
  highVerdict: VerdictMetrics | null;
  /** Why a run at an end failed. */
  lowError?: string;
  highError?: string;
}

/** A sensitivity analysis: the baseline verdict and every input's, largest swing first. */
export interface SensitivityResult {
  designs: DesignName[];
  metric: VerdictMetric;
  verdict: VerdictMetrics & {
    metric: VerdictMetric;
    /** The chosen metric at the baseline, and its smallest and largest over every end. */
    value: number | null;
    min: number | null;
    max: number | null;
  };
  parameters: SensitivityEntry[];
  unread: CostParameterName[];
  unchanged: NotPerturbed[];
  /** Simulations run, baselines included. */
  runs: number;
}

/** ln(max / min) of the positive values among `xs`; 0 with fewer than two. */
export function swingOf(xs: readonly (number | null)[]): number {
  const v = xs.filter((x): x is number => x !== null && Number.isFinite(x) && x > 0);
  if (v.length < 2) return 0;
  return Math.log(Math.max(...v) / Math.min(...v));
}

/** The largest swing an entry gives any metric (the tie-breaker of the ranking). */
function anySwing(e: SensitivityEntry, base: VerdictMetrics): number {
  return Math.max(
    ...VERDICT_METRICS.map((m) =>
      swingOf([metricValue(base, m), metricValue(e.lowVerdict, m), metricValue(e.highVerdict, m)]),
    ),
  );
}

/**
 * Entries ranked: largest swing of the chosen metric first, then the largest swing of any
 * metric, then by name (so equal inputs keep one order on every run). Does not change `entries`.
 */
export function rankEntries(entries: readonly SensitivityEntry[], base: VerdictMetrics): SensitivityEntry[] {
  const keyed = entries.map((e) => ({ e, any: anySwing(e, base) }));
  keyed.sort((a, b) => b.e.swing - a.e.swing || b.any - a.any || (a.e.name < b.e.name ? -1 : 1));
  return keyed.map((k) => k.e);
}

/** What a run gave: its row, or the error it threw. */
export type RunOutcome = { row: CompareRow } | { error: string };

/**
 * The result of a sensitivity analysis from its runs: `baseline` has one row per design (in
 * `designs` order), `outcomes[i]` is what `runs[i]` gave.
 */
export function sensitivityResult(opts: {
  designs: readonly DesignName[];
  metric: VerdictMetric;
  inputs: SensitivityInputs;
  baseline: readonly CompareRow[];
  runs: readonly SensitivityRun[];
  outcomes: readonly RunOutcome[];
}): SensitivityResult {
  const { designs, metric, inputs, baseline, runs, outcomes } = opts;
  const base = verdictMetrics(baseline);
  const baseValue = metricValue(base, metric);
  // Rows per input and end, starting from the baselines (designs the input cannot change).
  const rows = inputs.perturbations.map(() => ({
    low: new Map<DesignName, CompareRow>(baseline.map((r) => [r.design, r])),
    high: new Map<DesignName, CompareRow>(baseline.map((r) => [r.design, r])),
    lowError: undefined as string | undefined,
    highError: undefined as string | undefined,
  }));
  runs.forEach((run, i) => {
    const o = outcomes[i]!;
    const r = rows[run.input]!;
    if ('row' in o) r[run.end].set(run.design, o.row);
    else {
      const key = run.end === 'low' ? 'lowError' : 'highError';
      r[key] ??= `${run.design}: ${o.error}`;
    }
  });
  const entries = inputs.perturbations.map((p, i): SensitivityEntry => {
    const r = rows[i]!;
    const at = (end: 'low' | 'high') =>
      (end === 'low' ? r.lowError : r.highError) === undefined
        ? verdictMetrics(designs.map((d) => r[end].get(d)!))
        : null;
    const lowVerdict = at('low');
    const highVerdict = at('high');
    const low = metricValue(lowVerdict, metric);
    const high = metricValue(highVerdict, metric);
    return {
      name: p.name,
      kind: p.kind,
      ...(p.unit === undefined ? {} : { unit: p.unit }),
      base: p.base,
      lowValue: p.low,
      highValue: p.high,
      rule: p.rule,
      low,
      high,
      swing: swingOf([low, baseValue, high]),
      lowVerdict,
      highVerdict,
      ...(r.lowError === undefined ? {} : { lowError: r.lowError }),
      ...(r.highError === undefined ? {} : { highError: r.highError }),
    };
  });
  const all = [baseValue, ...entries.flatMap((e) => [e.low, e.high])].filter((x): x is number => x !== null);
  return {
    designs: [...designs],
    metric,
    verdict: {
      metric,
      value: baseValue,
      min: all.length ? Math.min(...all) : null,
      max: all.length ? Math.max(...all) : null,
      ...base,
    },
    parameters: rankEntries(entries, base),
    unread: inputs.unread,
    unchanged: inputs.unchanged,
    runs: baseline.length + runs.length,
  };
}

// ---------------------------------------------------------------------------------------------
// Showing values

function sizeText(bytes: number): string {
  for (const [unit, scale] of [
    ['GiB', 2 ** 30],
    ['MiB', MiB],
    ['KiB', KiB],
  ] as const) {
    if (bytes >= scale && bytes % scale === 0) return `${bytes / scale}${unit}`;
  }
  return `${bytes}B`;
}

/** An input's value for a table: sizes in binary units, numbers with their unit. */
export function formatInputValue(value: InputValue, unit?: string): string {
  if (Array.isArray(value))
    return `[${value.map((v) => (unit === 'B' ? sizeText(v) : String(v))).join(', ')}]`;
  if (typeof value !== 'number') return String(value);
  if (unit === 'B') return sizeText(value);
  if (unit === undefined || unit === 'count') return formatNumber(value);
  return `${formatNumber(value)} ${unit}`;
}

/** A ratio for a table: three significant digits and 'x', or '-' when there is none. */
export function formatRatio(x: number | null): string {
  return x === null ? '-' : `${Number(x.toPrecision(3))}x`;
}
