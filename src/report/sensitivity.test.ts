// The sensitivity page and its tornado plot, drawn from a hand-written result (not from the
// model's numbers): the golden file pins how the plot draws its input.
import { describe, expect, it } from 'vitest';
import type { SensitivityEntry, SensitivityResult, VerdictMetrics } from '../sim/sensitivity.js';
import { renderSensitivityReport, sensitivityTable, tornadoPlot } from './sensitivity.js';

const base: VerdictMetrics = { best: 'pagemap-p2p', bandwidthRatio: 2, p99Ratio: 3, endRatio: 1.5 };

function entry(
  name: string,
  low: number | null,
  high: number | null,
  more: Partial<SensitivityEntry> = {},
): SensitivityEntry {
  const values = [low, 2, high].filter((x): x is number => x !== null);
  return {
    name,
    kind: 'assumed',
    unit: 'ns',
    base: 100,
    lowValue: 50,
    highValue: 200,
    rule: 'x0.5, x2',
    low,
    high,
    swing: Math.log(Math.max(...values) / Math.min(...values)),
    lowVerdict: low === null ? null : { ...base, bandwidthRatio: low },
    highVerdict: high === null ? null : { ...base, bandwidthRatio: high },
    ...more,
  };
}

const result: SensitivityResult = {
  designs: ['upstream', 'pagemap-p2p', 'owner-registry'],
  metric: 'bandwidth',
  verdict: { ...base, metric: 'bandwidth', value: 2, min: 0.5, max: 16 },
  parameters: [
    entry('devices.gpus.gpu0.chunkSizes', 16, 2, {
      kind: 'scenario',
      unit: 'B',
      base: [2097152, 65536, 4096],
      lowValue: [1048576, 32768, 4096],
      highValue: [2097152, 131072, 8192],
      rule: 'each x0.5, x2 (4KiB to 2MiB)',
      lowVerdict: { ...base, best: 'owner-registry', bandwidthRatio: 16 },
    }),
    entry('hostToDeviceBandwidth', 0.5, 2.5, {
      kind: 'measured',
      unit: 'GB/s',
      base: 35.2,
      lowValue: 17.6,
      highValue: 70.4,
    }),
    entry('rdmaNicBandwidth', 1.6, 1.8, {
      kind: 'measured',
      unit: 'GB/s',
      base: 23,
      lowValue: 11.5,
      highValue: 46,
    }),
    entry('platform.thp', 2, null, {
      kind: 'scenario',
      unit: undefined,
      base: 'madvise',
      lowValue: 'never',
      highValue: 'always',
      rule: 'never, always',
      highError: 'upstream: ConfigError: no',
    }),
    entry('migrateVmaFixedNs', 2, 2),
  ],
  unread: ['pageWalkDescentNs', 'vaBlockBytes'],
  unchanged: [
    { name: 'thrashingPinThrottles', kind: 'published', base: 0, reason: 'x0.5 and x2 of 0 stay 0' },
  ],
  runs: 42,
};

describe('the tornado plot', () => {
  it('draws the inputs that move the verdict, largest swing on top, the same bytes each time', async () => {
    const svg = tornadoPlot(result);
    expect(tornadoPlot(result)).toBe(svg);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    const at = (s: string) => svg.indexOf(`>${s}<`);
    expect(at('devices.gpus.gpu0.chunkSizes')).toBeGreaterThan(0);
    expect(at('devices.gpus.gpu0.chunkSizes')).toBeLessThan(at('hostToDeviceBandwidth'));
    expect(at('hostToDeviceBandwidth')).toBeLessThan(at('rdmaNicBandwidth'));
    // No swing, no bar.
    expect(at('migrateVmaFixedNs')).toBe(-1);
    await expect(svg).toMatchFileSnapshot('./__golden__/sensitivity-tornado.svg');
  });

  it('says so when no input moved the verdict', () => {
    const svg = tornadoPlot({ ...result, parameters: [entry('x', 2, 2)] });
    expect(svg).toContain('no input moved the verdict');
  });

  it('draws at most maxBars inputs', () => {
    const svg = tornadoPlot(result, 1);
    expect(svg).toContain('>devices.gpus.gpu0.chunkSizes<');
    expect(svg).not.toContain('>hostToDeviceBandwidth<');
  });
});

describe('the table and the page', () => {
  it('has one row per input: values with units, the verdict at each end, a failed end, a changed best design', () => {
    const { head, cells } = sensitivityTable(result);
    expect(head).toEqual([
      'parameter',
      'kind',
      'base value',
      'low value -> verdict',
      'high value -> verdict',
    ]);
    expect(cells[0]).toEqual([
      'devices.gpus.gpu0.chunkSizes',
      'scenario',
      '[2MiB, 64KiB, 4KiB]',
      '[1MiB, 32KiB, 4KiB] -> 16x (owner-registry)',
      '[2MiB, 128KiB, 8KiB] -> 2x',
    ]);
    expect(cells[1]).toEqual([
      'hostToDeviceBandwidth',
      'measured',
      '35.2 GB/s',
      '17.6 GB/s -> 0.5x',
      '70.4 GB/s -> 2.5x',
    ]);
    expect(cells[3]).toEqual(['platform.thp', 'scenario', 'madvise', 'never -> 2x', 'always -> failed']);
  });

  it('is one self-contained page: verdict, tornado, table, unread and unchanged inputs, scenario', () => {
    const html = renderSensitivityReport({
      title: 'hmmlab sensitivity: s',
      scenarioName: 's',
      scenarioText: 'version: 1 # <tag>',
      result,
    });
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(html).toContain(
      '<p id="verdict">RDMA bandwidth ratio (best P2P / baseline) of the best P2P design (pagemap-p2p): <strong>2x</strong>, from 0.5x to 16x',
    );
    expect(html).toContain('<figure id="tornado">');
    expect(html).toContain('<td>hostToDeviceBandwidth</td>');
    expect(html).toContain('<code>pageWalkDescentNs</code>, <code>vaBlockBytes</code>');
    expect(html).toContain('<code>thrashingPinThrottles</code> (x0.5 and x2 of 0 stay 0)');
    expect(html).toContain('version: 1 # &lt;tag&gt;');
  });
});
