import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyParams, propertySeed, propertyTimeout } from '../../test/property/params.js';
import { Engine, type Wait } from './engine.js';
import { duplexLink, Fabric, Link, type TransferResult } from './links.js';

/** Starts each transfer at its time and returns the end time of each (by index). */
function runTransfers(
  fabric: Fabric,
  specs: { at?: number; path: Link[]; bytes: number; latency?: number }[],
): number[] {
  const e = fabric.engine;
  const ends: number[] = specs.map(() => Number.NaN);
  specs.forEach((s, i) => {
    e.at(s.at ?? 0, () => {
      fabric.transfer(s.path, s.bytes, s.latency ?? 0).on((r) => {
        ends[i] = r.endNs;
      });
    });
  });
  e.run();
  return ends;
}

const CLOSE = 9; // |error| < 5e-10 ns

describe('Fabric: max-min fair sharing', () => {
  it('gives a flow alone the capacity of its narrowest link', () => {
    const f = new Fabric(new Engine());
    const l1 = new Link('l1', 10);
    const l2 = new Link('l2', 4);
    const [ends] = [runTransfers(f, [{ path: [l1], bytes: 100 }])];
    expect(ends[0]).toBeCloseTo(10, CLOSE);
    const g = new Fabric(new Engine());
    const m1 = new Link('m1', 10);
    const m2 = new Link('m2', 4);
    expect(runTransfers(g, [{ path: [m1, m2], bytes: 100 }])[0]).toBeCloseTo(25, CLOSE);
    expect(l2.bytesCarried).toBe(0);
    expect(m1.bytesCarried).toBeCloseTo(100, CLOSE);
    expect(m2.busyNs).toBeCloseTo(25, CLOSE);
  });

  it('splits one link evenly between two flows', () => {
    const f = new Fabric(new Engine());
    const l = new Link('l', 10);
    const ends = runTransfers(f, [
      { path: [l], bytes: 100 },
      { path: [l], bytes: 100 },
    ]);
    expect(ends[0]).toBeCloseTo(20, CLOSE);
    expect(ends[1]).toBeCloseTo(20, CLOSE);
    expect(l.bytesCarried).toBeCloseTo(200, CLOSE);
    expect(l.busyNs).toBeCloseTo(20, CLOSE);
  });

  it('classic case: A on L1, B on L1+L2, C on L2 (L1 = 10, L2 = 4 bytes/ns)', () => {
    // t in [0,5): L2 is the bottleneck (4/2 = 2 < 10/2 = 5): B = C = 2, A gets 10 - 2 = 8.
    //   A (40 bytes) ends at 5. B has 90 left, C 10.
    // t in [5,10): L1 carries only B, but L2 still splits 2/2: B = C = 2. C ends at 10.
    // t >= 10: B alone, limited by L2 = 4: 80 left / 4 = 20 more: B ends at 30.
    const e = new Engine();
    const f = new Fabric(e);
    const l1 = new Link('L1', 10);
    const l2 = new Link('L2', 4);
    const a = f.transfer([l1], 40);
    const b = f.transfer([l1, l2], 100);
    const c = f.transfer([l2], 20);
    expect(f.flows().map((x) => x.rate)).toEqual([8, 2, 2]);
    expect(l1.load).toBe(10);
    expect(l2.load).toBe(4);
    e.run(7);
    expect(f.flows().map((x) => x.rate)).toEqual([2, 2]);
    expect(f.flows().map((x) => x.remaining)).toEqual([86, 6]);
    e.run();
    expect(a.value?.endNs).toBeCloseTo(5, CLOSE);
    expect(c.value?.endNs).toBeCloseTo(10, CLOSE);
    expect(b.value?.endNs).toBeCloseTo(30, CLOSE);
    expect(l1.bytesCarried).toBeCloseTo(140, CLOSE);
    expect(l2.bytesCarried).toBeCloseTo(120, CLOSE);
    expect(l1.busyNs).toBeCloseTo(30, CLOSE);
    expect(f.activeFlows).toBe(0);
  });

  it('three links: A on L1, B on L1+L2, C on L2+L3, D on L3 (10, 4, 6) get 8, 2, 2, 4', () => {
    const e = new Engine();
    const f = new Fabric(e);
    const l1 = new Link('L1', 10);
    const l2 = new Link('L2', 4);
    const l3 = new Link('L3', 6);
    f.transfer([l1], 1000);
    f.transfer([l1, l2], 1000);
    f.transfer([l2, l3], 1000);
    f.transfer([l3], 1000);
    expect(f.flows().map((x) => x.rate)).toEqual([8, 2, 2, 4]);
  });

  it('parking lot: a long flow over two links shares each with a short one', () => {
    const e = new Engine();
    const f = new Fabric(e);
    const l1 = new Link('L1', 1);
    const l2 = new Link('L2', 1);
    const ends = runTransfers(f, [
      { path: [l1, l2], bytes: 10 },
      { path: [l1], bytes: 10 },
      { path: [l2], bytes: 5 },
    ]);
    // All at 1/2 until the short flow on L2 ends at 10 (5 bytes); L1 is still split, so
    // nothing changes for the long flow: it and the L1 flow end together at 20.
    expect(ends[2]).toBeCloseTo(10, CLOSE);
    expect(ends[0]).toBeCloseTo(20, CLOSE);
    expect(ends[1]).toBeCloseTo(20, CLOSE);
  });

  it('a finished flow frees its bandwidth for the others', () => {
    const f = new Fabric(new Engine());
    const l = new Link('l', 10);
    // 5 bytes/ns each until the first ends at 10; the second then has 100 left at 10 bytes/ns.
    const ends = runTransfers(f, [
      { path: [l], bytes: 50 },
      { path: [l], bytes: 150 },
    ]);
    expect(ends[0]).toBeCloseTo(10, CLOSE);
    expect(ends[1]).toBeCloseTo(20, CLOSE);
  });

  it('a flow that joins later slows the ones in flight from that instant', () => {
    const f = new Fabric(new Engine());
    const l = new Link('l', 10);
    // A alone until 5 (50 left); then A and B at 5 each; B (30) ends at 11, A has 20 left,
    // at 10 bytes/ns ends at 13.
    const ends = runTransfers(f, [
      { path: [l], bytes: 100 },
      { at: 5, path: [l], bytes: 30 },
    ]);
    expect(ends[1]).toBeCloseTo(11, CLOSE);
    expect(ends[0]).toBeCloseTo(13, CLOSE);
    expect(f.reallocations).toBe(4);
  });

  it('latency delays the start, and a flow in its latency takes no bandwidth', () => {
    const f = new Fabric(new Engine());
    const l = new Link('l', 10);
    const ends = runTransfers(f, [
      { path: [l], bytes: 100, latency: 7 }, // flows from 7
      { path: [l], bytes: 70 }, // alone until 7: done exactly then
    ]);
    expect(ends[1]).toBeCloseTo(7, CLOSE);
    expect(ends[0]).toBeCloseTo(17, CLOSE);
  });

  it('a zero-byte transfer completes immediately; an empty path takes only its latency', () => {
    const e = new Engine();
    const f = new Fabric(e);
    const l = new Link('l', 10);
    e.run(3);
    const z = f.transfer([l], 0);
    expect(z.fired).toBe(true);
    expect(z.value).toEqual({ bytes: 0, startNs: 3, endNs: 3 });
    let resumed = -1;
    e.spawn(
      (function* (): Generator<Wait, void, unknown> {
        const r = yield* f.transferGen([l], 0);
        expect(r.endNs).toBe(3);
        resumed = e.now;
      })(),
    );
    const local = f.transfer([], 4096, 2);
    e.run();
    expect(resumed).toBe(3);
    expect(local.value).toEqual({ bytes: 4096, startNs: 3, endNs: 5 });
    expect(l.busyNs).toBe(0);
    expect(e.pending).toBe(0);
  });

  it('processes can transfer with transferGen', () => {
    const e = new Engine();
    const f = new Fabric(e);
    const [up, down] = duplexLink('pcie', 16);
    const got: TransferResult[] = [];
    for (const [link, bytes] of [
      [up, 160],
      [down, 320],
    ] as const) {
      e.spawn(
        (function* (): Generator<Wait, void, unknown> {
          yield 4;
          got.push(yield* f.transferGen([link], bytes));
        })(),
      );
    }
    e.run();
    // The two directions are independent links: both run at full speed.
    expect(got.map((r) => r.endNs)).toEqual([14, 24]);
    expect(got[0]?.startNs).toBe(4);
    expect(up.name).toBe('pcie.fwd');
    expect(down.name).toBe('pcie.rev');
  });

  it('ignores stale completion timers (one live timer per fabric)', () => {
    const e = new Engine();
    const f = new Fabric(e);
    const l = new Link('l', 1);
    for (let i = 0; i < 10; i++) f.transfer([l], 100 + i);
    e.run();
    // 10 starts (each reschedules the timer) + 10 ends, plus the stale timers left behind.
    expect(f.reallocations).toBe(20);
    expect(e.eventsProcessed).toBeLessThanOrEqual(20);
    expect(l.bytesCarried).toBeCloseTo(1045, CLOSE);
  });

  it('stays exact and terminates far from time zero', () => {
    const e = new Engine();
    e.run(1e15); // about 11.6 days of simulated time
    const f = new Fabric(e);
    const l = new Link('l', 3);
    let done = 0;
    for (let i = 0; i < 100; i++) f.transfer([l], 1 + (i % 7)).on(() => done++);
    e.run();
    expect(done).toBe(100);
    // 395 bytes through a saturated 3 bytes/ns link; time here has a resolution of 1/8 ns.
    expect(Math.abs(e.now - 1e15 - 395 / 3)).toBeLessThan(1);
  });

  it('rejects bad input as model bugs', () => {
    const f = new Fabric(new Engine());
    const l = new Link('l', 1);
    expect(() => new Link('bad', 0)).toThrow(/positive finite capacity/);
    expect(() => new Link('bad', Infinity)).toThrow(/positive finite capacity/);
    expect(() => f.transfer([l], -1)).toThrow(/transfer of -1 bytes/);
    expect(() => f.transfer([l], 1, -1)).toThrow(/latency -1/);
    expect(() => f.transfer([l, l], 1)).toThrow(/appears twice/);
    const other = new Fabric(new Engine());
    expect(() => other.transfer([l], 1)).toThrow(/another fabric/);
  });
});

describe('Fabric: properties over random topologies', () => {
  const topology = fc.record({
    caps: fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 6 }),
    flows: fc.array(
      fc.record({
        links: fc.uniqueArray(fc.nat({ max: 5 }), { minLength: 1, maxLength: 4 }),
        bytes: fc.integer({ min: 1, max: 1000 }),
        at: fc.integer({ min: 0, max: 50 }),
      }),
      { minLength: 1, maxLength: 12 },
    ),
  });

  const fairSeed = propertySeed(20251126);
  it(
    `allocations are feasible and max-min fair: every flow has a saturated bottleneck where it is largest (seed ${fairSeed})`,
    () => {
      fc.assert(
        fc.property(topology, ({ caps, flows }) => {
          const e = new Engine();
          const fab = new Fabric(e);
          const links = caps.map((c, i) => new Link(`l${i}`, c)); // indexed below by k % caps.length
          for (const fl of flows)
            fab.transfer(
              [...new Set(fl.links.map((k) => k % caps.length))].map((k) => links[k]!),
              fl.bytes,
            );
          const snap = fab.flows();
          for (const l of links) {
            const sum = snap.filter((x) => x.path.includes(l)).reduce((s, x) => s + x.rate, 0);
            expect(sum).toBeLessThanOrEqual(l.capacityBytesPerNs * (1 + 1e-12));
          }
          for (const x of snap) {
            const hasBottleneck = x.path.some((l) => {
              const on = snap.filter((y) => y.path.includes(l));
              const sum = on.reduce((s, y) => s + y.rate, 0);
              const saturated = sum >= l.capacityBytesPerNs * (1 - 1e-12);
              return saturated && on.every((y) => y.rate <= x.rate * (1 + 1e-12));
            });
            expect(hasBottleneck).toBe(true);
          }
        }),
        propertyParams({ seed: fairSeed, numRuns: 300 }),
      );
    },
    propertyTimeout(60_000),
  );

  const doneSeed = propertySeed(20251127);
  it(
    `every transfer completes, links carry exactly their flows, and nothing beats its narrowest link (seed ${doneSeed})`,
    () => {
      fc.assert(
        fc.property(topology, ({ caps, flows }) => {
          const e = new Engine();
          const fab = new Fabric(e);
          const links = caps.map((c, i) => new Link(`l${i}`, c)); // indexed below by k % caps.length
          const results: (TransferResult | null)[] = flows.map(() => null);
          const paths = flows.map((fl) =>
            [...new Set(fl.links.map((k) => k % caps.length))].map((k) => links[k]!),
          );
          flows.forEach((fl, i) => {
            e.at(fl.at, () => {
              fab.transfer(paths[i]!, fl.bytes).on((r) => {
                results[i] = r;
              });
            });
          });
          e.run();
          expect(fab.activeFlows).toBe(0);
          results.forEach((r, i) => {
            expect(r).not.toBeNull();
            const narrowest = Math.min(...paths[i]!.map((l) => l.capacityBytesPerNs));
            expect(r!.endNs - r!.startNs).toBeGreaterThanOrEqual(flows[i]!.bytes / narrowest - 1e-6);
          });
          links.forEach((l) => {
            const want = flows.reduce((s, fl, i) => s + (paths[i]!.includes(l) ? fl.bytes : 0), 0);
            expect(l.bytesCarried).toBeCloseTo(want, 6);
            expect(l.bytesCarried).toBeLessThanOrEqual(l.busyNs * l.capacityBytesPerNs * (1 + 1e-9) + 1e-6);
          });
        }),
        propertyParams({ seed: doneSeed, numRuns: 300 }),
      );
    },
    propertyTimeout(60_000),
  );
});
