/**
 * Splitting a huge PMD mapping into a PTE table (huge_memory.ts): __split_huge_pmd and
 * __split_huge_pmd_locked of mm/huge_memory.c. The folio stays large; each of its 512 pages
 * gets a PTE of the PMD's kind with the PMD's write, dirty and anon-exclusive bits, each PTE
 * mapping takes a folio reference (the PMD held one), and the 2 MiB range is invalidated
 * with MMU_NOTIFY_CLEAR first.
 */
import { describe, expect, it } from 'vitest';
import { checkInvariants } from '../check/invariants.js';
import { Machine } from '../uapi/machine.js';
import {
  HPAGE_PMD_NR,
  HPAGE_PMD_ORDER,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MMU_NOTIFY_CLEAR,
  PAGE_SIZE,
  PMD_SIZE,
  PROT_READ,
  PROT_WRITE,
} from './constants.js';
import { splitHugePmdAt, splitHugePmdLocked } from './huge_memory.js';
import { MmuIntervalNotifier, type MmuNotifierRange, mmuIntervalSetSeq } from './mmu_notifier.js';
import {
  PMD_DEVICE_PRIVATE,
  PMD_HUGE,
  PMD_MIGRATION,
  PMD_TABLE,
  PmdSlot,
  PTE_ANON_EXCL,
  PTE_DEVICE_PRIVATE,
  PTE_DIRTY,
  PTE_MIGRATION,
  PTE_PRESENT,
  PTE_SPECIAL,
  PTE_TYPE_MASK,
  PTE_WRITE,
} from './pgtable.js';

/** A process with a 2 MiB-aligned anonymous range of two PMDs, a THP faulted in the first. */
function withThp() {
  const m = new Machine({ ramBytes: 64 * 2 ** 20, thp: 'always', dmirrorDevices: false, hugetlbPages: 1 });
  const k = m.kernel;
  const p = m.spawn();
  const raw = p.mmap(0, 3 * PMD_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  const a = Math.ceil(raw / PMD_SIZE) * PMD_SIZE;
  p.store(a + 3 * PAGE_SIZE, Uint8Array.of(0xab));
  const slot = p.mm.pt.slot(a)!;
  // An interval notifier over both PMDs records every invalidation.
  const seen: MmuNotifierRange[] = [];
  const sub = new MmuIntervalNotifier(
    {
      invalidate(s, r, cur) {
        seen.push({ ...r });
        mmuIntervalSetSeq(s, cur);
        return true;
      },
    },
    p.mm.notifiers,
  );
  expect(p.mm.notifiers.insert(sub, a, 2 * PMD_SIZE)).toBe(0);
  return { m, k, p, a, slot, seen };
}

describe('__split_huge_pmd (splitHugePmdAt)', () => {
  it('maps the THP page by page with the PMD bits, one folio reference per PTE, after a CLEAR invalidation of the 2 MiB range', () => {
    const { m, k, p, a, slot, seen } = withThp();
    expect(slot.kind).toBe(PMD_HUGE);
    const head = slot.pfn;
    const bits = slot.bits;
    expect(bits & PTE_WRITE).toBe(PTE_WRITE);
    const refs = k.frames.ref(head);
    splitHugePmdAt(k, p.mm, a + 100 * PAGE_SIZE + 5);
    expect(slot.kind).toBe(PMD_TABLE);
    expect(slot.pfn).toBe(0);
    expect(slot.bits).toBe(0);
    const t = slot.table!;
    expect(t.used).toBe(HPAGE_PMD_NR);
    for (const i of [0, 1, 3, 255, 511]) {
      expect(t.pfn[i]).toBe(head + i);
      expect(t.bits[i]).toBe(PTE_PRESENT | (bits & (PTE_WRITE | PTE_DIRTY | PTE_ANON_EXCL)));
    }
    expect(k.frames.ref(head)).toBe(refs + HPAGE_PMD_NR - 1);
    // The folio stays large.
    expect(k.frames.nrPages(head)).toBe(HPAGE_PMD_NR);
    expect(seen).toEqual([expect.objectContaining({ event: MMU_NOTIFY_CLEAR, start: a, end: a + PMD_SIZE })]);
    expect(p.mm.notifiers.invalidateSeq % 2).toBe(0); // the invalidation ended
    expect(checkInvariants(m)).toEqual([]);
    expect(p.load(a + 3 * PAGE_SIZE, 1)[0]).toBe(0xab);
  });

  it('does nothing, and notifies nobody, where there is no huge entry: an empty PMD or a PTE table', () => {
    const { k, p, a, slot, seen } = withThp();
    splitHugePmdAt(k, p.mm, a + PMD_SIZE); // no slot there
    expect(p.mm.pt.slot(a + PMD_SIZE)).toBeUndefined();
    splitHugePmdAt(k, p.mm, a);
    seen.length = 0;
    const t = slot.table;
    splitHugePmdAt(k, p.mm, a); // a PTE table already
    expect(slot.table).toBe(t);
    expect(seen).toEqual([]);
  });

  it('splits a device-private or a migration PMD entry too', () => {
    for (const kind of [PMD_DEVICE_PRIVATE, PMD_MIGRATION]) {
      const { k, p, a, slot, seen } = withThp();
      slot.kind = kind;
      splitHugePmdAt(k, p.mm, a);
      expect(slot.kind).toBe(PMD_TABLE);
      expect(slot.table!.bits[7]! & PTE_TYPE_MASK).toBe(
        kind === PMD_MIGRATION ? PTE_MIGRATION : PTE_DEVICE_PRIVATE,
      );
      expect(seen.length).toBe(1);
    }
  });

  it('refuses to split a hugetlb PMD (hugetlb pages are never split)', () => {
    const { k, p, a, slot, seen } = withThp();
    const huge = k.allocHugetlb();
    expect(huge).toBeGreaterThan(0);
    slot.pfn = huge;
    expect(() => splitHugePmdAt(k, p.mm, a)).toThrow(/hugetlb/);
    expect(slot.kind).toBe(PMD_HUGE);
    expect(seen).toEqual([]);
  });
});

describe('__split_huge_pmd_locked (splitHugePmdLocked)', () => {
  const machine = () =>
    new Machine({ ramBytes: 64 * 2 ** 20, dmirrorDevices: false, hugetlbPages: 0 }).kernel;

  it('the huge zero folio becomes 512 special PTEs of the zero page, without folio references', () => {
    const k = machine();
    const slot = new PmdSlot();
    slot.kind = PMD_HUGE;
    slot.pfn = k.hugeZeroPfn;
    const refs = k.frames.ref(k.hugeZeroPfn);
    splitHugePmdLocked(k, slot);
    const t = slot.table!;
    for (const i of [0, 200, 511]) {
      expect(t.pfn[i]).toBe(k.zeroPfn);
      expect(t.bits[i]).toBe(PTE_PRESENT | PTE_SPECIAL);
    }
    expect(t.used).toBe(HPAGE_PMD_NR);
    expect(k.frames.ref(k.hugeZeroPfn)).toBe(refs);
  });

  it('a device-private PMD entry becomes device-private PTEs keeping write, dirty and anon-exclusive, one reference each', () => {
    const k = machine();
    const head = k.allocFolio(HPAGE_PMD_ORDER);
    const slot = new PmdSlot();
    slot.kind = PMD_DEVICE_PRIVATE;
    slot.pfn = head;
    slot.bits = PTE_WRITE | PTE_DIRTY | PTE_ANON_EXCL | PTE_SPECIAL;
    splitHugePmdLocked(k, slot);
    const t = slot.table!;
    expect(t.pfn[511]).toBe(head + 511);
    expect(t.bits[511]).toBe(PTE_DEVICE_PRIVATE | PTE_WRITE | PTE_DIRTY | PTE_ANON_EXCL);
    expect(k.frames.ref(head)).toBe(HPAGE_PMD_NR);
  });

  it('a PMD migration entry becomes PTE migration entries and takes no reference (the migrating thread holds the folio)', () => {
    const k = machine();
    const head = k.allocFolio(HPAGE_PMD_ORDER);
    const slot = new PmdSlot();
    slot.kind = PMD_MIGRATION;
    slot.pfn = head;
    slot.bits = PTE_ANON_EXCL;
    splitHugePmdLocked(k, slot);
    expect(slot.table!.pfn[1]).toBe(head + 1);
    expect(slot.table!.bits[1]).toBe(PTE_MIGRATION | PTE_ANON_EXCL);
    expect(k.frames.ref(head)).toBe(1);
  });
});
