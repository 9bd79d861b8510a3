import { describe, expect, it } from 'vitest';
import { type SimConfigInput, simulate } from '../sim/simulate.js';
import { chromeTrace } from './trace.js';

const MiB = 2 ** 20;

const config: SimConfigInput = {
  version: 1,
  profile: 'pcie5-h100',
  platform: { ram: 512 * MiB, p2p: { default: 'BUS_ADDR' as const } },
  design: 'upstream' as const,
  devices: { gpus: [{ name: 'gpu0', vram: 128 * MiB }], nics: [{ name: 'nic0' }] },
  buffers: [{ name: 'buf', size: 8 * MiB, hugepage: true }],
  workloads: [
    {
      kind: 'gpu' as const,
      name: 'fill',
      gpu: 'gpu0',
      buffer: 'buf',
      op: 'write' as const,
      pattern: 'sequential' as const,
    },
    {
      kind: 'rdma' as const,
      name: 'put',
      nic: 'nic0',
      buffer: 'buf',
      op: 'write' as const,
      pattern: 'sequential' as const,
      messageSize: 65536,
      messages: 128,
      queueDepth: 4,
      qps: 4, // four queue pairs: their faults overlap, so the trace needs lanes
      after: 'fill',
    },
  ],
};

describe('Chrome trace export', () => {
  const r = simulate(config, { seed: 1, log: true });
  const t = chromeTrace(r);

  it('has a slice per fault batch, NIC fault and message, and named tracks', () => {
    const batches = r.log!.filter((e) => e.kind === 'batch').length;
    const nicFaults = r.log!.filter((e) => e.kind === 'nic_fault').length;
    expect(batches).toBeGreaterThan(0);
    expect(nicFaults).toBeGreaterThan(0);
    expect(t.traceEvents.filter((e) => e.name === 'fault batch')).toHaveLength(batches);
    expect(t.traceEvents.filter((e) => e.name === 'NIC page fault')).toHaveLength(nicFaults);
    expect(t.traceEvents.filter((e) => e.name === 'RDMA message' && e.ph === 'b')).toHaveLength(128);
    const tracks = t.traceEvents
      .filter((e) => e.ph === 'M' && e.name === 'thread_name')
      .map((e) => e.args!.name);
    expect(tracks).toEqual(expect.arrayContaining(['gpu0', 'nic0', 'put']));
    // upstream: NIC faults pull the pages back to RAM over the GPU's link.
    expect(tracks).toContain('pci:gpu0.up');
  });

  it('pairs every async begin with an end no earlier, and never goes back in time', () => {
    const begins = new Map<number, number>();
    for (const e of t.traceEvents) {
      expect(e.ts).toBeGreaterThanOrEqual(0);
      if (e.ph === 'X') expect(e.dur!).toBeGreaterThanOrEqual(0);
      if (e.ph === 'b') begins.set(e.id!, e.ts);
      if (e.ph === 'e') {
        expect(begins.has(e.id!)).toBe(true);
        expect(e.ts).toBeGreaterThanOrEqual(begins.get(e.id!)!);
        begins.delete(e.id!);
      }
    }
    expect(begins.size).toBe(0);
  });

  it('nests the CPU work of each fault, split by what it paid for, inside the fault slice', () => {
    const parents = t.traceEvents.filter((e) => e.name === 'fault batch' || e.name === 'NIC page fault');
    const kids = t.traceEvents.filter(
      (e) => e.ph === 'X' && (e.cat === 'gpu' || e.cat === 'nic') && !parents.includes(e),
    );
    const names = new Set(kids.map((e) => e.name));
    for (const n of ['hmm_range_fault', 'migrate_vma', 'fault buffer fetch', 'migrate_to_ram', 'DMA map']) {
      expect(names).toContain(n);
    }
    const eps = 0.002; // microsecond rounding of both ends
    const log = r.log!.filter((e) => e.kind === 'batch' || e.kind === 'nic_fault');
    expect(parents).toHaveLength(log.length);
    parents.forEach((p, i) => {
      const mine = kids.filter(
        // (A slice starting where this one ends, to rounding, is the next fault's.)
        (k) => k.tid === p.tid && k.pid === p.pid && k.ts >= p.ts - eps && k.ts < p.ts + p.dur! - eps,
      );
      for (const k of mine) expect(k.ts + k.dur!).toBeLessThanOrEqual(p.ts + p.dur! + eps);
      const cpu = mine.filter((k) => k.name !== 'copy wait').reduce((a, k) => a + k.dur!, 0);
      const e = log[i]!;
      expect(Math.abs(cpu - e.cpuNs / 1000)).toBeLessThan(eps * (mine.length + 1));
    });
  });

  it('keeps the complete slices of each track properly nested (overlapping faults get lanes)', () => {
    const tracks = new Map<string, { ts: number; end: number }[]>();
    for (const e of t.traceEvents) {
      if (e.ph !== 'X') continue;
      const k = `${e.pid}:${e.tid}`;
      if (!tracks.has(k)) tracks.set(k, []);
      tracks.get(k)!.push({ ts: e.ts, end: e.ts + e.dur! });
    }
    expect([...tracks.keys()].length).toBeGreaterThan(2);
    for (const slices of tracks.values()) {
      slices.sort((a, b) => a.ts - b.ts || b.end - a.end);
      const stack: { ts: number; end: number }[] = [];
      for (const s of slices) {
        while (stack.length > 0 && stack.at(-1)!.end <= s.ts + 1e-9) stack.pop();
        if (stack.length > 0) expect(s.end).toBeLessThanOrEqual(stack.at(-1)!.end + 1e-9);
        stack.push(s);
      }
    }
  });

  it('puts each fault handler on a CPU core track and each copy on a copy-engine track', () => {
    const cores = t.traceEvents.filter((e) => e.pid === 5 && e.ph === 'X');
    const faults = r.log!.filter(
      (e) => e.kind === 'batch' || e.kind === 'nic_fault' || e.kind === 'cpu_fault',
    );
    expect(cores).toHaveLength(faults.length);
    const coreTracks = t.traceEvents.filter((e) => e.pid === 5 && e.ph === 'M' && e.name === 'thread_name');
    expect(coreTracks.length).toBeGreaterThan(1); // queue depth 4: NIC faults run on several cores
    const copies = t.traceEvents.filter((e) => e.pid === 6 && e.ph === 'X');
    const transfers = r.log!.filter((e) => e.kind === 'transfer');
    expect(copies).toHaveLength(transfers.length);
    expect(copies.reduce((a, e) => a + (e.args!.bytes as number), 0)).toBe(
      transfers.reduce((a, e) => a + e.bytes, 0),
    );
    const ces = t.traceEvents
      .filter((e) => e.pid === 6 && e.ph === 'M' && e.name === 'thread_name')
      .map((e) => e.args!.name as string);
    for (const ce of ces) expect(ce).toMatch(/^gpu0\.ce\d+$/);
  });

  it('has a bandwidth counter per link whose area is the bytes the link moved', () => {
    const transfers = r.log!.filter((e) => e.kind === 'transfer');
    const links = [...new Set(transfers.map((e) => e.link))];
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) {
      const points = t.traceEvents.filter((e) => e.name === `${link} GB/s`);
      expect(points.length).toBeGreaterThan(1);
      // Integrate the step function (ts in microseconds, GB/s = bytes per ns).
      let area = 0;
      for (let i = 0; i + 1 < points.length; i++) {
        area += (points[i]!.args!.GBps as number) * (points[i + 1]!.ts - points[i]!.ts) * 1000;
      }
      const bytes = transfers.filter((e) => e.link === link).reduce((a, e) => a + e.bytes, 0);
      expect(area / bytes).toBeGreaterThan(0.99);
      expect(area / bytes).toBeLessThan(1.01);
      expect(points.at(-1)!.args!.GBps).toBe(0);
    }
  });

  it('is deterministic and refuses a result without a log', () => {
    expect(JSON.stringify(chromeTrace(simulate(config, { seed: 1, log: true })))).toBe(JSON.stringify(t));
    expect(() => chromeTrace(simulate(config, { seed: 1 }))).toThrow(/log/);
  });
});
