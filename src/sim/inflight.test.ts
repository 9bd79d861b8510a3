import { describe, expect, it } from 'vitest';
import { gpuFillThenRdmaWrite } from '../../test/fixtures/configs.js';
import { runAgent } from './agent.js';
import type { SimConfigInput } from './config.js';
import type { Hold } from './inflight.js';
import { buildSim } from './simulate.js';
import { workloadAgent } from './workloads/index.js';

const MiB = 2 ** 20;

/**
 * Upstream, a THP buffer in VRAM: a NIC RDMA-writes it on several queue pairs (every fault
 * pulls 2 MiB folios back to RAM) while a GPU reads it back into VRAM. Folios move both ways
 * at once, the case where a change visible before its work is done would let a DMA land in a
 * folio still being copied.
 */
function contended(qps: number): SimConfigInput {
  return gpuFillThenRdmaWrite({
    design: 'upstream',
    platform: { ram: 512 * MiB, cpuCores: 2, p2p: { default: 'BUS_ADDR' } },
    vram: 256 * MiB,
    size: 16 * MiB,
    messages: 512,
    queueDepth: 4,
    qps,
    more: [
      { kind: 'gpu', name: 'pull', gpu: 'gpu0', buffer: 'buf', op: 'read', pattern: 'random', after: 'fill' },
    ],
  });
}

interface Held {
  mm: number;
  start: number;
  end: number;
  only: string | null;
  from: number;
  to: number;
  /** Order among holds and DMAs (several happen at one simulated time). */
  seq: number;
  /** The process that held it, and the order of its release. */
  owner: unknown;
  releaseSeq: number;
}

/** Runs `config` recording every hold (range, owner, interval) and every NIC DMA (time, page). */
function record(config: SimConfigInput) {
  const sim = buildSim(config, { seed: 1 });
  const holds: Held[] = [];
  let seq = 0;
  const open = new Map<Hold, Held[]>();
  const inflight = sim.inflight;
  const hold = inflight.hold.bind(inflight);
  const release = inflight.release.bind(inflight);
  inflight.hold = (extra) => {
    const h = hold(extra);
    const rows = h.spans.map((s) => ({
      mm: s.mm,
      start: s.start,
      end: s.end,
      only: s.only,
      from: sim.engine.now,
      to: Infinity,
      seq: seq++,
      owner: sim.engine.current,
      releaseSeq: Infinity,
    }));
    open.set(h, rows);
    holds.push(...rows);
    return h;
  };
  inflight.release = (h) => {
    const at = seq++;
    for (const r of open.get(h) ?? []) {
      r.to = sim.engine.now;
      r.releaseSeq = at;
    }
    open.delete(h);
    release(h);
  };
  // Every copy the platform makes, with the process that asked for it and the time the fabric
  // finished it: an end the code under test does not set.
  const copies: { owner: unknown; seq: number; end: number }[] = [];
  const platform = sim.platform;
  const copy = platform.copy.bind(platform);
  platform.copy = (g, t) => {
    const rec = { owner: sim.engine.current, seq: seq++, end: Infinity };
    copies.push(rec);
    return (function* () {
      const r = yield* copy(g, t);
      rec.end = sim.engine.now;
      return r;
    })();
  };
  const b = sim.platform.buffers.get('buf')!;
  const mr = sim.platform.nics.get('nic0')!.mrs.get(b.proc)!;
  const dmas: { t: number; va: number; seq: number }[] = [];
  const translate = mr.translate.bind(mr);
  mr.translate = (va, write) => {
    dmas.push({ t: sim.engine.now, va, seq: seq++ });
    return translate(va, write);
  };
  for (const w of sim.config.workloads) sim.engine.spawn(runAgent(sim, workloadAgent(sim, w)), w.name);
  sim.engine.run();
  return { sim, holds, dmas, copies, mm: b.mm.id };
}

describe('time before state (inflight.ts)', () => {
  it('no NIC DMA starts on a page whose migration (or another QP fault) is still in flight', () => {
    const { sim, holds, dmas, mm } = record(contended(4));
    // The scenario does what it is for: folios moved both ways while messages were in flight.
    expect(holds.filter((h) => h.only === null).length).toBeGreaterThan(4);
    expect(sim.metrics.rdma.put!.messages).toBe(512);
    expect(sim.metrics.rdma.put!.faultStalls).toBeGreaterThan(0);
    expect(dmas.length).toBeGreaterThan(0);
    const bad = dmas.filter((d) =>
      holds.some(
        (h) =>
          h.mm === mm &&
          (h.only === null || h.only === 'nic0') &&
          h.seq < d.seq &&
          d.t < h.to &&
          h.start <= d.va &&
          d.va < h.end,
      ),
    );
    expect(bad).toEqual([]);
    // Every hold was released: nothing stays invisible after the run.
    expect(holds.every((h) => h.to < Infinity)).toBe(true);
  });

  it('a hold ends only after the copies its operation made have finished (times from the fabric)', () => {
    const { holds, copies } = record(contended(4));
    let checked = 0;
    for (const h of holds) {
      const mine = copies.filter((c) => c.owner === h.owner && c.seq > h.seq && c.seq < h.releaseSeq);
      for (const c of mine) {
        expect(c.end).toBeLessThanOrEqual(h.to);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('queue pairs that met a folio under migration waited for it', () => {
    const { sim } = record(contended(4));
    expect(sim.metrics.rdma.put!.inFlightWaitNs).toBeGreaterThan(0);
  });

  it('a migration waits for the DMAs already running on its pages (drain), and only those', () => {
    const sim = buildSim(contended(1), { seed: 1 });
    const { engine, inflight } = sim;
    const log: string[] = [];
    engine.spawn(
      (function* () {
        const dma = engine.spawn(
          (function* () {
            yield 1000;
          })(),
          'dma',
        );
        const other = engine.spawn(
          (function* () {
            yield 5000;
          })(),
          'dma',
        );
        inflight.dmaStarted(1, 0, 8192, dma);
        inflight.dmaStarted(1, 65536, 69632, other); // another range: not waited for
        inflight.noteMoved(1, 4096, 8192);
        const h = inflight.hold();
        expect(inflight.blocking(1, 4096, 8192, 'nic0')).toBe(h);
        expect(inflight.blocking(1, 8192, 12288, 'nic0')).toBeNull();
        log.push(`drained ${yield* inflight.drain(h)}`);
        inflight.release(h);
        expect(inflight.blocking(1, 4096, 8192, 'nic0')).toBeNull();
      })(),
      'migration',
    );
    engine.spawn(
      (function* () {
        yield 10;
        // A NIC's own fault in flight is seen by that NIC only.
        const h = inflight.hold({ mm: 1, start: 0, end: 4096, only: 'nic0' });
        expect(inflight.blocking(1, 0, 4096, 'nic1')).toBeNull();
        log.push(`waited ${yield* inflight.waitClear(1, 0, 8192, 'cpu')}`);
        yield 90;
        inflight.release(h);
      })(),
      'fault',
    );
    engine.run();
    expect(log).toEqual(['drained 1000', 'waited 990']);
  });
});
