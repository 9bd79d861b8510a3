import { describe, expect, it } from 'vitest';
import { smallRdma, tinyGpu } from '../../test/fixtures/scenarios.js';
import type { DesignName } from '../designs/design.js';
import { loadScenario } from '../scenario/load.js';
import { type CompareRow, compareRow } from './compare.js';
import { COST_PARAMETER_NAMES, type CostParameterName } from './costs.js';
import { claimVerdict } from './design-study.js';
import {
  checkVerdictDesigns,
  formatInputValue,
  formatRatio,
  type Perturbation,
  type RunOutcome,
  rankEntries,
  type SensitivityEntry,
  sensitivityInputNames,
  sensitivityInputs,
  sensitivityResult,
  sensitivityRuns,
  swingOf,
  verdictMetrics,
} from './sensitivity.js';
import { configProfile, type SimConfig, simulate } from './simulate.js';

const config = (text: string): SimConfig => {
  const r = loadScenario(text, 'test.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r));
  return r.config;
};

/**
 * A compare row with only what the verdict reads: RDMA GB/s, p99, the end time, and the RDMA
 * phase's duration (the verdict's bandwidth is RDMA bytes over RDMA time).
 */
function row(design: DesignName, gbps: number, p99Ns: number, endNs: number, rdma = true): CompareRow {
  return {
    design,
    endNs,
    rdma: rdma ? { put: { gbps, p50Ns: p99Ns / 2, p90Ns: p99Ns, p99Ns, maxNs: p99Ns } } : {},
    workloadNs: rdma ? { put: endNs } : {},
  } as unknown as CompareRow;
}

describe('verdictMetrics: the best P2P design over the baseline', () => {
  const rows = [
    row('upstream', 10, 1000, 4000),
    row('rfc-callback', 20, 500, 3000),
    row('pagemap-p2p', 30, 800, 2500),
    row('owner-registry', 30, 100, 1000),
  ];

  it("takes claimVerdict's bandwidth and p99 ratios and the same best design's time ratio", () => {
    const v = verdictMetrics(rows);
    const c = claimVerdict(rows);
    // The first design with the highest mean bandwidth, as claimVerdict picks it.
    expect(v.best).toBe('pagemap-p2p');
    expect(v.bandwidthRatio).toBe(c.bandwidthRatio);
    expect(v.p99Ratio).toBe(c.p99Ratio);
    expect(v.bandwidthRatio).toBe(3);
    expect(v.p99Ratio).toBe(1000 / 800);
    expect(v.endRatio).toBe(4000 / 2500);
  });

  it('has no RDMA ratios without RDMA workloads, and still a time ratio', () => {
    const v = verdictMetrics([row('upstream', 0, 0, 4000, false), row('pagemap-p2p', 0, 0, 2000, false)]);
    expect(v).toEqual({ best: 'pagemap-p2p', bandwidthRatio: null, p99Ratio: null, endRatio: 2 });
  });

  it('needs the baseline and a P2P design', () => {
    expect(checkVerdictDesigns(['upstream', 'pagemap-p2p'])).toBeUndefined();
    expect(checkVerdictDesigns(['pagemap-p2p', 'owner-registry'])).toMatch(/no baseline design/);
    expect(checkVerdictDesigns(['upstream'])).toMatch(/no P2P design/);
    expect(() => verdictMetrics([row('upstream', 1, 1, 1)])).toThrow(/no P2P design/);
  });
});

describe('the inputs to perturb', () => {
  const c = config(smallRdma());
  const profile = configProfile(c);
  const reads = new Map<DesignName, ReadonlySet<string>>([
    ['upstream', new Set(['hostToDeviceBandwidth', 'copyEngineCount', 'prefetchThresholdPercent'])],
    ['pagemap-p2p', new Set(['hostToDeviceBandwidth', 'thrashingThresholdEvents', 'rdmaNicBandwidth'])],
  ]);
  const inputs = sensitivityInputs(c, profile, reads);
  const byName = (n: string) => inputs.perturbations.find((p) => p.name === n);

  it('moves only the cost parameters some baseline read, and lists the others as unread', () => {
    const costs = inputs.perturbations.filter((p) => p.kind !== 'scenario').map((p) => p.name);
    expect(costs.sort()).toEqual(
      [
        'copyEngineCount',
        'hostToDeviceBandwidth',
        'prefetchThresholdPercent',
        'rdmaNicBandwidth',
        'thrashingThresholdEvents',
      ].sort(),
    );
    expect(inputs.unread).toHaveLength(COST_PARAMETER_NAMES.length - 5);
    expect(inputs.unread).toContain('pageWalkDescentNs');
    expect(inputs.unread).not.toContain('hostToDeviceBandwidth');
  });

  it('gives each the designs that read it, in design order', () => {
    expect(byName('hostToDeviceBandwidth')!.designs).toEqual(['upstream', 'pagemap-p2p']);
    expect(byName('copyEngineCount')!.designs).toEqual(['upstream']);
    expect(byName('rdmaNicBandwidth')!.designs).toEqual(['pagemap-p2p']);
    expect(byName('platform.cpuCores')!.designs).toEqual(['upstream', 'pagemap-p2p']);
  });

  it('takes x0.5 and x2 inside the catalogue range: whole counts, a percentage at most 100', () => {
    const ends = (n: string) => {
      const p = byName(n)!;
      return [p.low, p.base, p.high];
    };
    const h2d = profile.values.hostToDeviceBandwidth;
    expect(ends('hostToDeviceBandwidth')).toEqual([h2d / 2, h2d, h2d * 2]);
    expect(ends('copyEngineCount')).toEqual([1, 2, 4]);
    expect(ends('thrashingThresholdEvents')).toEqual([2, 3, 6]); // 1.5 rounds to 2
    expect(ends('prefetchThresholdPercent')).toEqual([25.5, 51, 100]);
    expect(byName('hostToDeviceBandwidth')!.kind).toBe(profile.parameters.hostToDeviceBandwidth.kind);
  });

  it('lists a parameter x0.5 and x2 cannot move (a 0) as unchanged, not as run', () => {
    const zero = config(
      `${smallRdma()}overrides: { peerPcieBandwidth: 0.000001, thrashingPinThrottles: 0 }\n`,
    );
    const r = sensitivityInputs(
      zero,
      configProfile(zero),
      new Map([['upstream', new Set(['thrashingPinThrottles', 'peerPcieBandwidth'])]]),
    );
    expect(r.unchanged.map((u) => u.name)).toEqual(['thrashingPinThrottles']);
    // An override is the scenario's own number: assumed.
    expect(r.unchanged[0]!.kind).toBe('assumed');
    expect(r.perturbations.map((p) => p.name)).toContain('peerPcieBandwidth');
  });

  it('moves the scenario choices of the data path', () => {
    const scenario = inputs.perturbations.filter((p) => p.kind === 'scenario');
    const shown = Object.fromEntries(scenario.map((p) => [p.name, [p.low, p.base, p.high]]));
    expect(shown).toEqual({
      'platform.cpuCores': [4, 8, 16],
      'platform.thp': ['never', 'madvise', 'always'],
      'buffers.buf.hugepage': [false, true, true],
      'devices.gpus.gpu0.chunkSizes': [
        [2 ** 20, 32 * 1024, 4096],
        [2 * 2 ** 20, 64 * 1024, 4096],
        [2 * 2 ** 20, 128 * 1024, 8192],
      ],
      'workloads.put.queueDepth': [2, 4, 8],
      'workloads.put.messageSize': [32 * 1024, 64 * 1024, 128 * 1024],
    });
    // No qps: the schema has no such field (yet), and its absence is no error.
    expect(scenario.some((p) => p.name.endsWith('.qps'))).toBe(false);
  });

  it('moves a message size with the bytes moved kept: messages scaled', () => {
    const p = byName('workloads.put.messageSize')!;
    const put = (x: SimConfig) =>
      x.workloads.find((w) => w.name === 'put') as { messageSize: number; messages: number };
    expect(put(p.apply(c, p.low))).toMatchObject({ messageSize: 32 * 1024, messages: 512 });
    expect(put(p.apply(c, p.high))).toMatchObject({ messageSize: 128 * 1024, messages: 128 });
    expect(put(c)).toMatchObject({ messageSize: 64 * 1024, messages: 256 });
  });

  it('moves a cost parameter through the config overrides', () => {
    const p = byName('copyEngineCount')!;
    expect(configProfile(p.apply(c, p.high)).values.copyEngineCount).toBe(4);
  });

  it('keeps only the inputs --params names', () => {
    const only = new Set(['copyEngineCount', 'platform.thp', 'pageWalkDescentNs']);
    const r = sensitivityInputs(c, profile, reads, only);
    expect(r.perturbations.map((p) => p.name)).toEqual(['copyEngineCount', 'platform.thp']);
    expect(r.unread).toEqual(['pageWalkDescentNs']);
  });

  it('names every input it can move', () => {
    const names = sensitivityInputNames(c);
    for (const p of inputs.perturbations) expect(names).toContain(p.name);
    expect(names).toContain('pageWalkDescentNs');
  });

  it('plans a run per end that differs from the base, per design that read the input', () => {
    const runs = sensitivityRuns(c, inputs);
    const of = (n: string) => runs.filter((r) => inputs.perturbations[r.input]!.name === n);
    expect(of('copyEngineCount').map((r) => [r.end, r.design])).toEqual([
      ['low', 'upstream'],
      ['high', 'upstream'],
    ]);
    expect(of('hostToDeviceBandwidth')).toHaveLength(4);
    // hugepage: true is the base; only the low end (false) runs, under both designs.
    expect(of('buffers.buf.hugepage').map((r) => [r.end, r.design])).toEqual([
      ['low', 'upstream'],
      ['low', 'pagemap-p2p'],
    ]);
    for (const r of runs) expect(r.config.design).toBe(r.design);
  });
});

describe('the result: verdicts at each end, ranked by swing', () => {
  const designs: DesignName[] = ['upstream', 'pagemap-p2p'];
  const baseline = [row('upstream', 10, 1000, 4000), row('pagemap-p2p', 20, 500, 2000)];
  const noop = (c: SimConfig) => c;
  const input = (name: string, designsOf: DesignName[] = designs): Perturbation => ({
    name,
    kind: 'assumed',
    unit: 'ns',
    base: 10,
    low: 5,
    high: 20,
    rule: 'x0.5, x2',
    designs: designsOf,
    apply: noop,
  });
  const inputs = {
    perturbations: [input('small'), input('large'), input('onlyP2p', ['pagemap-p2p']), input('broken')],
    unread: ['pageWalkDescentNs'] as CostParameterName[],
    unchanged: [],
  };
  const runs = sensitivityRuns({} as SimConfig, inputs);
  const outcome = (name: string, end: string, design: DesignName): RunOutcome => {
    if (name === 'broken' && end === 'high') return { error: 'ConfigError: bad' };
    const gbps: Record<string, number> = { small: 21, large: 40, onlyP2p: 5, broken: 20 };
    if (design === 'upstream') return { row: baseline[0]! };
    const g = end === 'low' ? gbps[name]! : 20 * (name === 'large' ? 0.5 : 1);
    return { row: row('pagemap-p2p', g, 500, 2000) };
  };
  const outcomes = runs.map((r) => outcome(inputs.perturbations[r.input]!.name, r.end, r.design));
  const result = sensitivityResult({ designs, metric: 'bandwidth', inputs, baseline, runs, outcomes });

  it('has the verdict with its range and one entry per input, largest swing first', () => {
    expect(result.verdict).toMatchObject({
      metric: 'bandwidth',
      value: 2,
      min: 0.5,
      max: 4,
      best: 'pagemap-p2p',
    });
    expect(result.parameters.map((p) => p.name)).toEqual(['large', 'onlyP2p', 'small', 'broken']);
    const large = result.parameters[0]!;
    expect(large).toMatchObject({
      name: 'large',
      kind: 'assumed',
      base: 10,
      lowValue: 5,
      highValue: 20,
      low: 4,
      high: 1,
    });
    expect(large.swing).toBeCloseTo(Math.log(4));
    expect(large.lowVerdict).toMatchObject({ bandwidthRatio: 4, p99Ratio: 2, endRatio: 2 });
    expect(result.runs).toBe(2 + runs.length);
    expect(result.unread).toEqual(['pageWalkDescentNs']);
  });

  it('takes the rows of designs an input cannot change from their baselines', () => {
    const e = result.parameters.find((p) => p.name === 'onlyP2p')!;
    expect(runs.filter((r) => inputs.perturbations[r.input]!.name === 'onlyP2p')).toHaveLength(2);
    expect(e.low).toBe(0.5);
    expect(e.high).toBe(2);
  });

  it('reports a failed end with its error and no verdict', () => {
    const e = result.parameters.find((p) => p.name === 'broken')!;
    expect(e.high).toBeNull();
    expect(e.highVerdict).toBeNull();
    expect(e.highError).toBe('upstream: ConfigError: bad');
    expect(e.low).toBe(2);
    expect(e.swing).toBe(0);
  });

  it('is plain JSON with the documented keys', () => {
    const json = JSON.parse(JSON.stringify(result));
    expect(Object.keys(json).sort()).toEqual([
      'designs',
      'metric',
      'parameters',
      'runs',
      'unchanged',
      'unread',
      'verdict',
    ]);
    expect(Object.keys(json.verdict).sort()).toEqual(
      ['bandwidthRatio', 'best', 'endRatio', 'max', 'metric', 'min', 'p99Ratio', 'value'].sort(),
    );
    for (const p of json.parameters) {
      for (const k of [
        'name',
        'kind',
        'low',
        'high',
        'base',
        'lowValue',
        'highValue',
        'swing',
        'lowVerdict',
        'highVerdict',
      ])
        expect(p).toHaveProperty(k);
    }
  });

  it('ranks by the swing of the chosen metric, then of any metric, then by name', () => {
    const base = verdictMetrics(baseline);
    const entry = (name: string, swing: number, endRatio: number): SensitivityEntry => ({
      name,
      kind: 'scenario',
      base: 1,
      lowValue: 0,
      highValue: 2,
      rule: '',
      low: 2,
      high: 2,
      swing,
      lowVerdict: { ...base, endRatio },
      highVerdict: base,
    });
    const ranked = rankEntries(
      [entry('b', 0, 2), entry('a', 0, 2), entry('c', 0, 8), entry('d', 1, 2)],
      base,
    );
    expect(ranked.map((e) => e.name)).toEqual(['d', 'c', 'a', 'b']);
  });

  it('measures a swing as ln(largest / smallest), ignoring missing values', () => {
    expect(swingOf([1, 2, 0.5])).toBeCloseTo(Math.log(4));
    expect(swingOf([1, null, null])).toBe(0);
    expect(swingOf([2, null, 1])).toBeCloseTo(Math.log(2));
  });

  it('shows values with their units', () => {
    expect(formatInputValue(65536, 'B')).toBe('64KiB');
    expect(formatInputValue([2 ** 21, 4096], 'B')).toBe('[2MiB, 4KiB]');
    expect(formatInputValue(1500, 'ns')).toBe('1,500 ns');
    expect(formatInputValue('never')).toBe('never');
    expect(formatRatio(1.23456)).toBe('1.23x');
    expect(formatRatio(null)).toBe('-');
  });
});

describe('the cost parameters a run reads', () => {
  it('are recorded without changing the result, and a parameter not read cannot change it', () => {
    const c = { ...config(smallRdma({ messages: 32 })), design: 'pagemap-p2p' as const };
    const reads = new Set<string>();
    const a = simulate(c, { costReads: reads });
    expect(JSON.stringify(simulate(c))).toBe(JSON.stringify(a));
    expect(reads.has('rdmaNicBandwidth')).toBe(true);
    expect(reads.has('pageWalkDescentNs')).toBe(false);
    // Doubling a parameter no run read gives the same result, event for event.
    const unread = COST_PARAMETER_NAMES.find((n) => !reads.has(n) && n.endsWith('Ns'))!;
    const moved = simulate({ ...c, overrides: { [unread]: configProfile(c).values[unread] * 2 + 1 } });
    expect(compareRow(moved)).toEqual(compareRow(a));
    // And one it read does.
    const read = simulate({
      ...c,
      overrides: { rdmaNicBandwidth: configProfile(c).values.rdmaNicBandwidth / 2 },
    });
    expect(compareRow(read).endNs).not.toBe(a.endNs);
  });

  it('a scenario without RDMA workloads moves no RDMA choices', () => {
    const c = config(tinyGpu());
    expect(sensitivityInputNames(c).filter((n) => n.startsWith('workloads.'))).toEqual([]);
  });
});
