/**
 * The viewer's charts: deterministic SVG, an oracle for the cumulative bytes, the timeline's
 * merged bars bounded by the pixels, and event helpers that take any kind of event.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../test/e2e/fixtures.js';
import { loadScenario } from '../scenario/index.js';
import { type SimEvent, type SimResult, simulate } from '../sim/simulate.js';
import {
  agentsAndKinds,
  batchesOverTimePlot,
  bytesOverTime,
  bytesOverTimePlot,
  eventAgent,
  eventDetail,
  eventEnd,
  faultsOverTimePlot,
  kindOrder,
  pagesOverTimePlot,
  timelinePlot,
} from './charts.js';

let result: SimResult;

beforeAll(() => {
  const text = readFileSync(join(ROOT, 'test/e2e/fixtures/p2p-table.yaml'), 'utf8');
  const r = loadScenario(text, 'p2p-table.yaml');
  if (!r.ok) throw new Error(r.errors[0]!.message);
  result = simulate(r.config, { seed: r.seed, log: true });
});

describe('charts', () => {
  it('draw the same bytes for the same run', () => {
    const again = simulate(loadAgain(), { seed: 5, log: true });
    const draw = (r: SimResult) => [
      bytesOverTimePlot([{ design: 'd', result: r }]),
      faultsOverTimePlot(r),
      batchesOverTimePlot(r),
      pagesOverTimePlot(r),
      timelinePlot(r, {}).svg,
    ];
    const a = draw(result);
    expect(draw(again)).toEqual(a);
    for (const svg of a) {
      expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="760"/);
      expect(svg).not.toMatch(/ id="/);
      expect(svg).not.toContain('currentColor');
      expect(svg).toContain('class="legend-label"');
    }
  });

  it('cumulative bytes end at each series’ total of the log', () => {
    const { points } = bytesOverTime([{ design: 'd', result }]);
    const want = new Map<string, number>();
    for (const e of result.log!) {
      if (e.kind === 'transfer') want.set(`d · ${e.link}`, (want.get(`d · ${e.link}`) ?? 0) + e.bytes);
      if (e.kind === 'message')
        want.set(`d · ${e.workload} (RDMA)`, (want.get(`d · ${e.workload} (RDMA)`) ?? 0) + e.bytes);
    }
    expect(want.size).toBeGreaterThan(1);
    for (const [series, bytes] of want) {
      const mine = points.filter((p) => p.series === series);
      expect(mine[0]).toEqual({ series, ms: 0, bytes: 0 });
      expect(mine.at(-1)).toEqual({ series, ms: result.endNs / 1e6, bytes });
      // Never decreasing, in time order.
      for (let i = 1; i < mine.length; i++) {
        expect(mine[i]!.bytes).toBeGreaterThanOrEqual(mine[i - 1]!.bytes);
        expect(mine[i]!.ms).toBeGreaterThanOrEqual(mine[i - 1]!.ms);
      }
    }
  });

  it('merge timeline events closer than a pixel; each filter counts its events', () => {
    const all = timelinePlot(result, {});
    expect(all.total).toBe(result.log!.length);
    const { agents, kinds } = agentsAndKinds(result.log!);
    // At most one bar per pixel column for each lane and kind.
    expect(all.bars).toBeLessThanOrEqual(agents.length * kinds.length * 640);
    expect(all.bars).toBeLessThan(all.total);
    const nic = timelinePlot(result, { kind: 'nic_fault' });
    expect(nic.total).toBe(result.log!.filter((e) => e.kind === 'nic_fault').length);
    expect(nic.svg).toContain('Event timeline · nic_fault');
    const one = timelinePlot(result, { agent: 'gpu0', kind: 'message' });
    expect(one).toMatchObject({ total: 0, bars: 0 });
    expect(one.svg).toContain('no events match the filter');
  });
});

describe('events', () => {
  it('name the agent, end and details of every kind, and of kinds they do not know', () => {
    const seen = new Set<string>();
    for (const e of result.log!) {
      seen.add(e.kind);
      expect(eventEnd(e)).toBeGreaterThanOrEqual(e.t);
      expect(eventDetail(e)).not.toMatch(/\bt=|kind=/);
    }
    expect([...seen].sort()).toEqual([
      'batch',
      'cpu_fault',
      'message',
      'nic_fault',
      'transfer',
      'workload_end',
    ]);
    const batch = result.log!.find((e) => e.kind === 'batch')!;
    expect(eventAgent(batch)).toBe('gpu0');
    expect(eventDetail(batch)).toMatch(/^faults=\d+ uniquePages=\d+ pagesToVram=\d+/);
    const future = { t: 5, kind: 'teleport', workload: 'w', cpuNs: 2.25, device: 'x' } as unknown as SimEvent;
    expect(eventAgent(future)).toBe('w');
    expect(eventEnd(future)).toBe(7.25);
    expect(eventDetail(future)).toBe('cpuNs=2.3 device=x');
    expect(kindOrder([future])).toEqual([
      'batch',
      'transfer',
      'nic_fault',
      'cpu_fault',
      'message',
      'workload_end',
      'teleport',
    ]);
    expect(eventAgent({ t: 0, kind: 'tick' } as unknown as SimEvent)).toBe('tick');
  });
});

function loadAgain() {
  const r = loadScenario(readFileSync(join(ROOT, 'test/e2e/fixtures/p2p-table.yaml'), 'utf8'), 'x');
  if (!r.ok) throw new Error('fixture');
  return r.config;
}
