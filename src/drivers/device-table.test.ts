import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyParams, propertySeed, propertyTimeout } from '../../test/property/params.js';
import { PAGE_SIZE, PMD_SIZE } from '../kernel/constants.js';
import { DeviceTable } from './device-table.js';

/** A leaf's worth of pages in two neighbouring 2 MiB slots, near the top of the address space. */
const BASE = 2 ** 47 - 4 * PMD_SIZE;
const PAGES = 1024;

type Op =
  | { kind: 'set'; page: number; n: number; pfn: number; flags: number }
  | { kind: 'clear'; page: number; n: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  // Runs of consecutive pfns (what chunk mappings give), sometimes with a stray pfn or flags.
  fc.record({
    kind: fc.constant('set' as const),
    page: fc.integer({ min: 0, max: PAGES - 1 }),
    n: fc.integer({ min: 1, max: 600 }),
    pfn: fc.integer({ min: 0, max: 2 ** 32 - 2000 }),
    flags: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({
    kind: fc.constant('clear' as const),
    page: fc.integer({ min: 0, max: PAGES - 1 }),
    n: fc.integer({ min: 1, max: 600 }),
  }),
);

describe('DeviceTable', () => {
  const seed = propertySeed(8);
  it(
    `compact and expanded leaves answer like a plain map (seed ${seed})`,
    () => {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
          const t = new DeviceTable();
          const ref = new Map<number, [number, number]>();
          for (const o of ops) {
            const end = Math.min(PAGES, o.page + o.n);
            if (o.kind === 'set') {
              for (let p = o.page; p < end; p++) {
                t.set(BASE + p * PAGE_SIZE, o.pfn + (p - o.page), o.flags);
                ref.set(p, [o.pfn + (p - o.page), o.flags]);
              }
            } else {
              let expected = 0;
              for (let p = o.page; p < end; p++) if (ref.delete(p)) expected++;
              expect(t.clear(BASE + o.page * PAGE_SIZE, BASE + end * PAGE_SIZE)).toBe(expected);
            }
          }
          for (let p = 0; p < PAGES; p++) {
            const r = ref.get(p);
            const va = BASE + p * PAGE_SIZE;
            expect(t.flags(va)).toBe(r ? r[1] : 0);
            if (r) expect(t.pfn(va)).toBe(r[0]);
          }
          const seen = new Map<number, [number, number]>();
          t.forEach((va, pfn, flags) => {
            seen.set((va - BASE) / PAGE_SIZE, [pfn, flags]);
          });
          expect(seen).toEqual(ref);
          // Empty leaves are dropped.
          for (const [key] of t.leaves) {
            const first = (key * PMD_SIZE - BASE) / PAGE_SIZE;
            let any = false;
            for (let p = first; p < first + 512; p++) any ||= ref.has(p);
            expect(any).toBe(true);
          }
        }),
        propertyParams({ seed, numRuns: 300 }),
      );
    },
    propertyTimeout(60_000),
  );

  it('a leaf mapped as one run of consecutive pfns holds no per-page arrays', () => {
    const t = new DeviceTable();
    for (let i = 0; i < 512; i++) t.set(BASE + i * PAGE_SIZE, 1000 + i, 3);
    const compact = t.memoryBytes();
    expect(compact).toBeLessThan(512);
    t.set(BASE + 7 * PAGE_SIZE, 5, 3); // breaks the run: the leaf gets its arrays
    expect(t.memoryBytes()).toBeGreaterThan(512 * 5);
    expect(t.pfn(BASE + 7 * PAGE_SIZE)).toBe(5);
    expect(t.pfn(BASE + 8 * PAGE_SIZE)).toBe(1008);
  });
});
