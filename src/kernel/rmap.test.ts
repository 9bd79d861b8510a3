/**
 * The anonymous reverse map (rmap.ts): anon_vma_prepare and folio_add_new_anon_rmap, checked
 * through what they are for: an rmap walk from the page finds the VMA and address that map it.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../uapi/machine.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE } from './constants.js';
import { PG_ANON, PG_ANON_EXCLUSIVE } from './frames.js';
import { anonVmaPrepare, setAnonRmap } from './rmap.js';

function anonVma() {
  const m = new Machine({ ramBytes: 64 * 2 ** 20, dmirrorDevices: false, hugetlbPages: 0, thp: false });
  const k = m.kernel;
  const p = m.spawn();
  const a = p.mmap(0, 16 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  const vma = p.mm.findVma(a)!;
  return { m, k, p, a, vma };
}

/** Every (vma, va) an rmap walk from pfn visits. */
function walk(k: ReturnType<typeof anonVma>['k'], pfn: number) {
  const out: [unknown, number][] = [];
  k.rmapWalk(pfn, (vma, va) => {
    out.push([vma, va]);
    return false;
  });
  return out;
}

describe('anon_vma_prepare', () => {
  it("gives a VMA without one a new anon_vma, registered, on the VMA's chain and linking back to it", () => {
    const { k, vma } = anonVma();
    expect(vma.anonVma).toBeNull();
    const av = anonVmaPrepare(k, vma);
    expect(vma.anonVma).toBe(av);
    expect(vma.anonChain).toEqual([av]);
    expect([...av.vmas]).toEqual([vma]);
    expect(k.anonVmas.get(av.id)).toBe(av);
    expect(av.id).toBeGreaterThan(0);
  });

  it('returns the anon_vma the VMA already has, without adding another', () => {
    const { k, vma } = anonVma();
    const av = anonVmaPrepare(k, vma);
    const before = k.anonVmas.size;
    expect(anonVmaPrepare(k, vma)).toBe(av);
    expect(vma.anonChain).toEqual([av]);
    expect(k.anonVmas.size).toBe(before);
  });
});

describe('folio_add_new_anon_rmap (setAnonRmap)', () => {
  it('marks the page anonymous and exclusive, and an rmap walk from it finds the faulting address', () => {
    const { k, vma, a } = anonVma();
    const pfn = k.allocFolio(0);
    const va = a + 5 * PAGE_SIZE;
    setAnonRmap(k, vma, pfn, va, true);
    expect(k.frames.hasFlag(pfn, PG_ANON)).toBe(true);
    expect(k.frames.hasFlag(pfn, PG_ANON_EXCLUSIVE)).toBe(true);
    expect(k.frames.mapping(pfn)).toBe(vma.anonVma!.id);
    expect(walk(k, pfn)).toEqual([[vma, va]]);
  });

  it('a page added as not exclusive is anonymous without PG_anon_exclusive', () => {
    const { k, vma, a } = anonVma();
    const pfn = k.allocFolio(0);
    setAnonRmap(k, vma, pfn, a, false);
    expect(k.frames.hasFlag(pfn, PG_ANON)).toBe(true);
    expect(k.frames.hasFlag(pfn, PG_ANON_EXCLUSIVE)).toBe(false);
    expect(walk(k, pfn)).toEqual([[vma, a]]);
  });

  it('the pages a CPU write fault maps are found again at their addresses', () => {
    const { k, p, a, vma } = anonVma();
    p.store(a + 3 * PAGE_SIZE, Uint8Array.of(1));
    p.store(a + 9 * PAGE_SIZE, Uint8Array.of(2));
    for (const i of [3, 9]) {
      const t = p.mm.pt.slot(a + i * PAGE_SIZE)!.table!;
      const idx = ((a / PAGE_SIZE + i) >>> 0) & 511;
      expect(walk(k, t.pfn[idx]!)).toEqual([[vma, a + i * PAGE_SIZE]]);
    }
  });

  it('refuses (as a model bug) a page index outside the 32-bit window of its anon_vma', () => {
    const { k, vma, a } = anonVma();
    const av = anonVmaPrepare(k, vma);
    const pfn = k.allocFolio(0);
    // An address 2^31 pages below the VMA is below the window's base.
    const below = a - 2 ** 31 * PAGE_SIZE - PAGE_SIZE;
    expect(vma.linearPageIndex(below) - av.indexBase).toBeLessThan(0);
    expect(() => setAnonRmap(k, vma, pfn, below, true)).toThrow(/32-bit window/);
    const above = a + 2 ** 31 * PAGE_SIZE;
    expect(vma.linearPageIndex(above) - av.indexBase).toBe(2 ** 32);
    expect(() => setAnonRmap(k, vma, pfn, above, true)).toThrow(/32-bit window/);
    // The last index inside the window is accepted.
    setAnonRmap(k, vma, pfn, above - PAGE_SIZE, true);
    expect(k.frames.index(pfn)).toBe(2 ** 32 - 1);
  });
});
