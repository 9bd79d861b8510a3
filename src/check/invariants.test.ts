/**
 * The invariant checker is the oracle behind the conformance, property and driver tests, so it
 * is tested itself: a consistent machine gives no report, and every rule is shown to fire. Each
 * rule gets one test that builds a small valid state through the model's own APIs, checks that
 * nothing is reported, seeds exactly the corruption the rule guards (most of them the state a
 * real kernel bug would leave: a zap without its notifier, a folio freed while still mapped, an
 * mprotect that kept the write bit) and expects exactly that rule's sentence and nothing else.
 */
import { describe, expect, it } from 'vitest';
import type { DesignName } from '../designs/design.js';
import { createDesign } from '../designs/designs.js';
import { NIC_HOST, NIC_P2P_BUS, RdmaNic } from '../drivers/rdma.js';
import {
  MADV_HUGEPAGE,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MMU_NOTIFY_CLEAR,
  O_RDWR,
  PAGE_SIZE,
  PMD_SIZE,
  PROT_READ,
  PROT_WRITE,
  VM_WRITE,
} from '../kernel/constants.js';
import { PG_ANON_EXCLUSIVE } from '../kernel/frames.js';
import { zapRange } from '../kernel/mm.js';
import { notify } from '../kernel/mmu_notifier.js';
import {
  PMD_DEVICE_PRIVATE,
  PMD_HUGE,
  PMD_MIGRATION,
  PMD_TABLE,
  PTE_DEVICE_EXCLUSIVE,
  PTE_DEVICE_PRIVATE,
  PTE_MIGRATION,
  PTE_PRESENT,
  PTE_TYPE_MASK,
  PTE_WRITE,
  type PteTable,
  pteIndex,
} from '../kernel/pgtable.js';
import { Machine, type Process } from '../uapi/machine.js';
import {
  HMM_DMIRROR_EXCLUSIVE,
  HMM_DMIRROR_MIGRATE_TO_DEV,
  HMM_DMIRROR_READ,
} from '../uapi/test_hmm_uapi.js';
import { checkInvariants, stateDigest } from './invariants.js';

const PS = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const hex = (n: number) => `0x${n.toString(16)}`;

function machine(): Machine {
  return new Machine({ ramBytes: 64 * 2 ** 20 });
}

/** The frame the CPU maps at va (pagemap's PFN field; for swap-like entries, its offset). */
function pfnOf(p: Process, va: number): number {
  const e = p.pagemap(va);
  if (e & (1n << 63n)) return Number(e & ((1n << 55n) - 1n));
  return Number((e >> 5n) & ((1n << 50n) - 1n));
}

/** The PTE table and index of va (the slot must hold a PTE table). */
function pte(p: Process, va: number): { t: PteTable; i: number } {
  const slot = p.mm.pt.slot(va);
  expect(slot?.kind).toBe(PMD_TABLE);
  return { t: slot!.table!, i: pteIndex(va) };
}

/** A page of anonymous memory, written (a present, writable, exclusive PTE). */
function anonPage(m: Machine, pages = 1): { p: Process; a: number; pfn: number } {
  const p = m.spawn();
  const a = p.mmap(0, pages * PS, RW, ANON);
  p.store(a, Uint8Array.of(1));
  expect(checkInvariants(m)).toEqual([]);
  return { p, a, pfn: pfnOf(p, a) };
}

/** A 2 MiB-aligned VMA of exactly one PMD with MADV_HUGEPAGE, written: a PMD-mapped THP. */
function thpPage(m: Machine): { p: Process; a: number; pfn: number } {
  const p = m.spawn();
  const raw = p.mmap(0, 2 * PMD_SIZE, RW, ANON);
  const a = Math.ceil(raw / PMD_SIZE) * PMD_SIZE;
  expect(p.madvise(a, PMD_SIZE, MADV_HUGEPAGE)).toBe(0);
  p.store(a, Uint8Array.of(1));
  const slot = p.mm.pt.slot(a)!;
  expect(slot.kind).toBe(PMD_HUGE);
  expect(checkInvariants(m)).toEqual([]);
  return { p, a, pfn: slot.pfn };
}

/** A written page mirrored by dmirror0 (HMM_DMIRROR_READ). */
function mirroredPage(m: Machine) {
  const p = m.spawn();
  const fd = p.open('/dev/hmm_dmirror0', O_RDWR);
  const a = p.mmap(0, PS, RW, ANON);
  const buf = p.mmap(0, PS, RW, ANON);
  p.store(a, Uint8Array.of(1));
  expect(p.ioctl(fd, HMM_DMIRROR_READ, { addr: a, ptr: buf, npages: 1, cpages: 0, faults: 0 })).toBe(0);
  const dev = m.devices[0]!;
  const d = [...dev.opens][0]!;
  expect(checkInvariants(m)).toEqual([]);
  return { p, fd, a, buf, dev, d };
}

/** Every peer reachable over a switch. */
const BUS = { mapType: () => 'BUS_ADDR' as const };

/**
 * 16 written pages that an SVM GPU faulted (for write if asked) and migrated to its VRAM, with
 * the VRAM owner the P2P design asks for and a BAR as large as the VRAM.
 */
function gpuPages(m: Machine, write: boolean, design: DesignName = 'upstream') {
  const p = m.spawn();
  const len = 16 * PS;
  const a = p.mmap(0, len, RW, ANON);
  p.store(a, new Uint8Array(len).fill(3));
  const d = createDesign(design);
  const owner = d.gpuOwner('gpu0', { connectivity: BUS, gpuNames: ['gpu0'] });
  const gpu = m.addGpu({ name: 'gpu0', vram: 16 * 2 ** 20, bar: 16 * 2 ** 20, owner });
  const mir = gpu.mirror(p.mm, a, len);
  const addrs = Array.from({ length: 16 }, (_, i) => a + i * PS);
  gpu.serviceFaults(
    mir,
    addrs,
    addrs.map(() => (write ? 1 : 0)),
    addrs.length,
  );
  expect(mir.translate(a, write)).toBe(true);
  expect(p.pagemap(a) & (1n << 62n)).not.toBe(0n); // a device-private entry: the page is in VRAM
  expect(checkInvariants(m)).toEqual([]);
  return { p, a, gpu, mir, design: d };
}

/** 4 written pages in an ODP MR of a NIC (mainline design), faulted for write if asked. */
function nicPages(m: Machine, write: boolean) {
  const p = m.spawn();
  const len = 4 * PS;
  const a = p.mmap(0, len, RW, ANON);
  p.store(a, new Uint8Array(len).fill(5));
  const k = m.kernel;
  const connectivity = { mapType: () => 'NOT_SUPPORTED' as const };
  const binding = createDesign('upstream').bind({ kernel: k, gpus: [], connectivity }, 'nic0');
  const nic = m.addNic(new RdmaNic(k, { name: 'nic0' }, binding, () => 'NOT_SUPPORTED'));
  const mr = nic.registerOdpMr(p.mm, a, len);
  expect(nic.pageFault(mr, a, a + len, write)).toBe(0);
  expect(mr.translate(a, write)).not.toBeNull();
  expect(checkInvariants(m)).toEqual([]);
  return { p, a, nic, mr };
}

describe('invariant checker', () => {
  it('accepts a consistent machine after faults, migration and fork', () => {
    const m = new Machine({ ramBytes: 64 * 2 ** 20 });
    const p = m.spawn();
    const fd = p.open('/dev/hmm_dmirror0', O_RDWR);
    const a = p.mmap(0, 16 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    const mirror = p.mmap(0, 16 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    p.store(a, new Uint8Array(16 * PAGE_SIZE).fill(7));
    const cmd = { addr: a, ptr: mirror, npages: 16, cpages: 0, faults: 0 };
    expect(p.ioctl(fd, HMM_DMIRROR_READ, cmd)).toBe(0);
    expect(checkInvariants(m)).toEqual([]);
    expect(p.ioctl(fd, HMM_DMIRROR_MIGRATE_TO_DEV, cmd)).toBe(0);
    const c = p.fork();
    expect(checkInvariants(m)).toEqual([]);
    c.exit();
    p.close(fd);
    expect(checkInvariants(m)).toEqual([]);
  });

  it('gives equal digests for equal states and different ones after a change', () => {
    const m = new Machine({ ramBytes: 64 * 2 ** 20 });
    const p = m.spawn();
    const a = p.mmap(0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    const d1 = stateDigest(m);
    expect(stateDigest(m)).toBe(d1);
    p.store(a, Uint8Array.of(1));
    expect(stateDigest(m)).not.toBe(d1);
  });
});

// One test per rule of checkInvariants, in the order the checker applies them. Each expects the
// complete report to be that rule's one sentence.
describe('every invariant fires on the corruption it guards', () => {
  // ---- VMAs and notifier state, per process ---------------------------------------------

  it('bad VMA: unaligned, empty or inverted bounds', () => {
    const shapes: [string, (s: number, e: number) => [number, number]][] = [
      ['unaligned start', (s, e) => [s + 8, e]],
      ['unaligned end', (s, e) => [s, e - 8]],
      ['empty', (s) => [s, s]],
      ['inverted', (s, e) => [e, s]],
    ];
    for (const [what, bounds] of shapes) {
      const m = machine();
      const p = m.spawn();
      const a = p.mmap(0, 4 * PS, RW, ANON);
      expect(checkInvariants(m)).toEqual([]);
      const v = p.mm.vmas[0]!;
      [v.start, v.end] = bounds(a, a + 4 * PS);
      expect(checkInvariants(m), what).toEqual([`pid ${p.pid}: bad VMA ${hex(v.start)}-${hex(v.end)}`]);
    }
  });

  it('VMAs overlap', () => {
    const m = machine();
    const p = m.spawn();
    p.mmap(0, 4 * PS, RW, ANON);
    p.mmap(0, 4 * PS, PROT_READ, ANON); // other flags: never merged with the first
    expect(p.mm.vmas.length).toBe(2);
    expect(checkInvariants(m)).toEqual([]);
    const [lo, hi] = p.mm.vmas as [(typeof p.mm.vmas)[0], (typeof p.mm.vmas)[0]];
    hi.start = lo.end - PS; // still page aligned and non-empty, but inside the lower VMA
    expect(checkInvariants(m)).toEqual([`pid ${p.pid}: VMAs overlap at ${hex(hi.start)}`]);
  });

  it('an invalidation is still active (invalidate_range_start without its end)', () => {
    const m = machine();
    const { p, a } = anonPage(m);
    // No interval notifier overlaps, so the sequence stays even: only the open range is wrong.
    notify(p.mm, MMU_NOTIFY_CLEAR, a, a + PS);
    expect(checkInvariants(m)).toEqual([`pid ${p.pid}: an invalidation is still active`]);
  });

  it('notifier sequence is odd at quiescence', () => {
    const m = machine();
    const { p } = mirroredPage(m);
    expect(p.mm.notifiers.invalidateSeq % 2).toBe(0);
    // The sequence left odd with no range active: readers would retry forever.
    p.mm.notifiers.invalidateSeq++;
    expect(checkInvariants(m)).toEqual([`pid ${p.pid}: notifier sequence is odd at quiescence`]);
  });

  // ---- PMD-level entries -------------------------------------------------------------------

  it('PMD migration entry left', () => {
    const m = machine();
    const p = m.spawn();
    const raw = p.mmap(0, 2 * PMD_SIZE, RW, ANON);
    const a = Math.ceil(raw / PMD_SIZE) * PMD_SIZE;
    expect(checkInvariants(m)).toEqual([]);
    // A migration of a THP that never restored its PMD (remove_migration_pmd not run). The rule
    // reports the entry itself; what a migration entry points at is not examined.
    const slot = p.mm.pt.slotAlloc(a);
    slot.kind = PMD_MIGRATION;
    slot.pfn = 4096;
    expect(checkInvariants(m)).toEqual([`pid ${p.pid}: PMD migration entry left at ${hex(a)}`]);
  });

  it('huge entry outside a VMA (a VMA split that did not split the huge PMD)', () => {
    const m = machine();
    const { p, a } = thpPage(m);
    const vma = p.mm.vmaLookup(a)!;
    expect([vma.start, vma.end]).toEqual([a, a + PMD_SIZE]);
    vma.end = a + PMD_SIZE - PS;
    expect(checkInvariants(m)).toEqual([`pid ${p.pid}: huge entry at ${hex(a)} outside a VMA`]);
  });

  it('huge entry maps a free frame (the THP freed while still PMD-mapped)', () => {
    const m = machine();
    const { p, a, pfn } = thpPage(m);
    const f = m.kernel.frames;
    // The free path of a zap that forgot to clear the PMD: mapcounts dropped, last ref put.
    for (let i = 0; i < 512; i++) f.addMapcount(pfn + i, -1);
    m.kernel.folioPut(pfn);
    expect(f.ref(pfn)).toBe(0);
    expect(checkInvariants(m)).toEqual([`pid ${p.pid}: huge entry at ${hex(a)} maps free frame ${pfn}`]);
  });

  it('huge entry of the wrong kind for its pfn (RAM behind a device-private PMD)', () => {
    const m = machine();
    const { p, a, pfn } = thpPage(m);
    p.mm.pt.slot(a)!.kind = PMD_DEVICE_PRIVATE;
    expect(checkInvariants(m)).toEqual([
      `pid ${p.pid}: huge entry at ${hex(a)} has the wrong kind for pfn ${pfn}`,
    ]);
  });

  it('writable huge entry in a read-only VMA (mprotect that kept the write bit)', () => {
    const m = machine();
    const { p, a } = thpPage(m);
    p.mm.vmaLookup(a)!.flags &= ~VM_WRITE;
    expect(checkInvariants(m)).toEqual([`pid ${p.pid}: writable huge entry in a read-only VMA at ${hex(a)}`]);
  });

  // ---- PTEs ----------------------------------------------------------------------------

  it('PTE outside any VMA (munmap that did not zap)', () => {
    const m = machine();
    const p = m.spawn();
    const a = p.mmap(0, 2 * PS, RW, ANON);
    p.store(a + PS, Uint8Array.of(1));
    expect(checkInvariants(m)).toEqual([]);
    p.mm.vmaLookup(a)!.end = a + PS;
    expect(checkInvariants(m)).toEqual([`pid ${p.pid}: entry at ${hex(a + PS)} outside any VMA`]);
  });

  it('migration entry left in a PTE', () => {
    const m = machine();
    const p = m.spawn();
    const a = p.mmap(0, PS, RW, ANON);
    expect(checkInvariants(m)).toEqual([]);
    // remove_migration_ptes never ran for this address. As for the PMD rule, the entry is what
    // is reported; what it points at is not examined.
    const t = p.mm.pt.tableAlloc(a)!;
    const i = pteIndex(a);
    t.bits[i] = PTE_MIGRATION | PTE_WRITE;
    t.pfn[i] = 4096;
    t.used++;
    expect(checkInvariants(m)).toEqual([`pid ${p.pid}: migration entry left at ${hex(a)}`]);
  });

  it('writable zero page (a write fault that set the bit instead of copying)', () => {
    const m = machine();
    const p = m.spawn();
    const a = p.mmap(0, PS, RW, ANON);
    expect(p.load(a, 1)).toEqual(Uint8Array.of(0)); // a read fault maps the shared zero page
    expect(m.kernel.isZeroPfn(pfnOf(p, a))).toBe(true);
    expect(checkInvariants(m)).toEqual([]);
    const { t, i } = pte(p, a);
    t.bits[i]! |= PTE_WRITE;
    expect(checkInvariants(m)).toEqual([`pid ${p.pid}: writable zero page at ${hex(a)}`]);
  });

  it('PTE maps a free frame (the page freed while still mapped)', () => {
    const m = machine();
    const { p, a, pfn } = anonPage(m);
    m.kernel.frames.addMapcount(pfn, -1);
    m.kernel.folioPut(pfn);
    expect(m.kernel.frames.ref(pfn)).toBe(0);
    expect(checkInvariants(m)).toEqual([`pid ${p.pid}: entry at ${hex(a)} maps free frame ${pfn}`]);
  });

  it('PTE of the wrong kind for its pfn (both ways)', () => {
    // A RAM page behind a device-private entry.
    {
      const m = machine();
      const { p, a, pfn } = anonPage(m);
      const { t, i } = pte(p, a);
      t.bits[i] = (t.bits[i]! & ~PTE_TYPE_MASK) | PTE_DEVICE_PRIVATE;
      expect(checkInvariants(m)).toEqual([
        `pid ${p.pid}: entry at ${hex(a)} has the wrong kind for pfn ${pfn}`,
      ]);
    }
    // A device-private page mapped by a present PTE (the CPU cannot reach it).
    {
      const m = machine();
      const { p, a } = anonPage(m);
      const fd = p.open('/dev/hmm_dmirror0', O_RDWR);
      const buf = p.mmap(0, PS, RW, ANON);
      const cmd = { addr: a, ptr: buf, npages: 1, cpages: 0, faults: 0 };
      expect(p.ioctl(fd, HMM_DMIRROR_MIGRATE_TO_DEV, cmd)).toBe(0); // the mirror maps it too
      const { t, i } = pte(p, a);
      expect(t.bits[i]! & PTE_TYPE_MASK).toBe(PTE_DEVICE_PRIVATE);
      expect(checkInvariants(m)).toEqual([]);
      expect(t.bits[i]! & PTE_WRITE).not.toBe(0);
      t.bits[i] = (t.bits[i]! & ~PTE_TYPE_MASK) | PTE_PRESENT; // write bit kept: the mirror may write
      expect(checkInvariants(m)).toEqual([
        `pid ${p.pid}: entry at ${hex(a)} has the wrong kind for pfn ${t.pfn[i]}`,
      ]);
    }
  });

  it('writable PTE in a read-only VMA (mprotect that kept the write bit)', () => {
    const m = machine();
    const { p, a } = anonPage(m);
    p.mm.vmaLookup(a)!.flags &= ~VM_WRITE;
    expect(checkInvariants(m)).toEqual([`pid ${p.pid}: writable PTE in a read-only VMA at ${hex(a)}`]);
  });

  it('writable PTE maps a shared anonymous page (fork that did not write-protect)', () => {
    const m = machine();
    const { p, a, pfn } = anonPage(m);
    p.fork(); // the child maps the page too; fork write-protects the parent's PTE
    expect(m.kernel.frames.hasFlag(pfn, PG_ANON_EXCLUSIVE)).toBe(false);
    expect(checkInvariants(m)).toEqual([]);
    const { t, i } = pte(p, a);
    expect(t.bits[i]! & PTE_WRITE).toBe(0);
    t.bits[i]! |= PTE_WRITE;
    expect(checkInvariants(m)).toEqual([
      `pid ${p.pid}: writable PTE at ${hex(a)} maps a shared anonymous page ${pfn}`,
    ]);
  });

  it('PTE table entry count differs from its entries', () => {
    const m = machine();
    const { p, a } = anonPage(m);
    const { t } = pte(p, a);
    t.used++;
    const base = Math.floor(a / PMD_SIZE) * PMD_SIZE;
    expect(checkInvariants(m)).toEqual([`pid ${p.pid}: PTE table at ${hex(base)} counts 2 entries, holds 1`]);
  });

  // ---- frames, allocator, pagemaps -----------------------------------------------------------

  it('free frame with a refcount or mapcount', () => {
    const m = machine();
    const { p, a, pfn } = anonPage(m);
    expect(p.munmap(a, PS)).toBe(0);
    expect(checkInvariants(m)).toEqual([]);
    m.kernel.frames.addRef(pfn, 1); // a folio_get on a page already freed
    expect(checkInvariants(m)).toEqual([`free frame ${pfn} has refcount 1 mapcount 0`]);
    m.kernel.frames.addRef(pfn, -1);
    m.kernel.frames.addMapcount(pfn, 1); // a mapcount raised after the page was freed
    expect(checkInvariants(m)).toEqual([`free frame ${pfn} has refcount 0 mapcount 1`]);
  });

  it('mapcount differs from the entries that map the frame', () => {
    const m = machine();
    const { pfn } = anonPage(m);
    m.kernel.frames.addMapcount(pfn, 1);
    expect(checkInvariants(m)).toEqual([`frame ${pfn}: mapcount 2, but 1 entries map it`]);
  });

  it('refcount differs from what mappings and caches hold (a leaked reference)', () => {
    const m = machine();
    const { pfn } = anonPage(m);
    m.kernel.frames.addRef(pfn, 1);
    expect(checkInvariants(m)).toEqual([`frame ${pfn}: refcount 2, but mappings and caches hold 1`]);
  });

  it('frame still locked (a folio_unlock missed)', () => {
    const m = machine();
    const { pfn } = anonPage(m);
    expect(m.kernel.folioTrylock(pfn)).toBe(true);
    expect(checkInvariants(m)).toEqual([`frame ${pfn} is still locked`]);
  });

  it('allocator count differs from the frames in use', () => {
    const m = machine();
    anonPage(m);
    const used = m.kernel.alloc.used;
    m.kernel.alloc.used++;
    expect(checkInvariants(m)).toEqual([`allocator counts ${used + 1} RAM pages in use, frames say ${used}`]);
  });

  it('pagemap page references differ from its pages in use', () => {
    const m = machine();
    const { p, a } = anonPage(m);
    const fd = p.open('/dev/hmm_dmirror0', O_RDWR);
    const buf = p.mmap(0, PS, RW, ANON);
    expect(
      p.ioctl(fd, HMM_DMIRROR_MIGRATE_TO_DEV, { addr: a, ptr: buf, npages: 1, cpages: 0, faults: 0 }),
    ).toBe(0);
    expect(checkInvariants(m)).toEqual([]);
    const pgmap = m.kernel.pgmapOf(pfnOf(p, a))!;
    expect(pgmap.refs).toBe(1);
    pgmap.refs++; // a pgmap reference taken for a page that was never initialised
    expect(checkInvariants(m)).toEqual([`pagemap ${pgmap.name}: 2 page references, 1 pages in use`]);
  });

  // ---- dmirror mirrors --------------------------------------------------------------------

  it('dmirror: mirror of an exited mm still holds entries (the release invalidation missed)', () => {
    const m = machine();
    const { p, a, d, dev } = mirroredPage(m);
    p.fork(); // the child keeps the file open after the parent exits
    const pfn = pfnOf(p, a);
    p.exit();
    expect(d.mm.dead).toBe(true);
    expect(dev.opens.has(d)).toBe(true);
    expect(d.pt.size).toBe(0);
    expect(checkInvariants(m)).toEqual([]);
    d.pt.set(a / PS, pfn * 4);
    expect(checkInvariants(m)).toEqual([`${dev.name}: mirror of an exited mm still holds 1 entries`]);
  });

  it('dmirror: mirror maps another pfn than the CPU (a missed invalidation)', () => {
    const m = machine();
    const { p, a, dev } = mirroredPage(m);
    // The CPU's entry goes away without the notifier: zap_page_range without invalidate_range_*.
    zapRange(m.kernel, p.mm, a, a + PS);
    const d = [...dev.opens][0]!;
    const pfn = Math.floor(d.pt.get(a / PS)! / 4);
    expect(checkInvariants(m)).toEqual([
      `${dev.name}: mirror maps ${hex(a)} to pfn ${pfn}, the CPU maps nothing`,
    ]);
  });

  it('dmirror: mirror may write where the CPU entry is read-only (a write-protect without notifier)', () => {
    const m = machine();
    const { p, a, d, dev } = mirroredPage(m);
    expect(d.pt.get(a / PS)! % 4).toBe(3); // writable: the CPU PTE was writable
    const { t, i } = pte(p, a);
    t.bits[i]! &= ~PTE_WRITE;
    expect(checkInvariants(m)).toEqual([
      `${dev.name}: mirror may write ${hex(a)}, the CPU entry is read-only`,
    ]);
  });

  it('dmirror: atomic access without a device-exclusive entry (restored without notifier)', () => {
    const m = machine();
    const { p, fd, a, buf, d, dev } = mirroredPage(m);
    expect(p.ioctl(fd, HMM_DMIRROR_EXCLUSIVE, { addr: a, ptr: buf, npages: 1, cpages: 0, faults: 0 })).toBe(
      0,
    );
    expect(d.pt.get(a / PS)! % 4).toBe(1);
    const { t, i } = pte(p, a);
    expect(t.bits[i]! & PTE_TYPE_MASK).toBe(PTE_DEVICE_EXCLUSIVE);
    expect(checkInvariants(m)).toEqual([]);
    // remove_device_exclusive_entry without its MMU_NOTIFY_EXCLUSIVE invalidation.
    t.bits[i] = (t.bits[i]! & ~PTE_TYPE_MASK) | PTE_PRESENT;
    expect(checkInvariants(m)).toEqual([
      `${dev.name}: mirror has atomic access to ${hex(a)} without a device-exclusive entry`,
    ]);
  });

  // ---- SVM GPU mirrors -------------------------------------------------------------------------

  it('GPU: device maps another pfn than the CPU (a zap without notifier)', () => {
    const m = machine();
    const { p, a, mir } = gpuPages(m, false);
    const pfn = mir.devicePfn(a);
    zapRange(m.kernel, p.mm, a, a + PS);
    expect(checkInvariants(m)).toEqual([`gpu0: device maps ${hex(a)} to pfn ${pfn}, the CPU maps nothing`]);
  });

  it('GPU: device may write where the CPU entry is read-only', () => {
    const m = machine();
    const { p, a } = gpuPages(m, true);
    const { t, i } = pte(p, a);
    expect(t.bits[i]! & PTE_TYPE_MASK).toBe(PTE_DEVICE_PRIVATE);
    t.bits[i]! &= ~PTE_WRITE; // a readable device-private entry now
    expect(checkInvariants(m)).toEqual([`gpu0: device may write ${hex(a)}, the CPU entry is read-only`]);
  });

  // ---- RDMA ODP MRs ----------------------------------------------------------------------------

  it('NIC: MR maps another pfn than the CPU (a zap without notifier), host and P2P entries', () => {
    {
      const m = machine();
      const { p, a, mr } = nicPages(m, false);
      expect(mr.translate(a, false)!.kind).toBe(NIC_HOST);
      const pfn = mr.pfnAt(a);
      zapRange(m.kernel, p.mm, a, a + PS);
      expect(checkInvariants(m)).toEqual([`nic0: MR maps ${hex(a)} to pfn ${pfn}, the CPU maps nothing`]);
    }
    // A P2P entry maps the BAR page of the VRAM page behind the CPU's device-private entry.
    {
      const m = machine();
      const { p, a, gpu, mir, design } = gpuPages(m, false, 'pagemap-p2p');
      const k = m.kernel;
      const binding = design.bind({ kernel: k, gpus: [gpu], connectivity: BUS }, 'nic0');
      const nic = m.addNic(new RdmaNic(k, { name: 'nic0' }, binding, () => 'BUS_ADDR'));
      const mr = nic.registerOdpMr(p.mm, a, PS);
      expect(nic.pageFault(mr, a, a + PS, false)).toBe(0);
      expect(mr.translate(a, false)!.kind).toBe(NIC_P2P_BUS);
      const bar = mr.pfnAt(a);
      expect(gpu.vramPfnOfAlias(bar)).toBe(pfnOf(p, a));
      mir.remove(); // only the NIC keeps a translation of a
      expect(checkInvariants(m)).toEqual([]);
      zapRange(k, p.mm, a, a + PS);
      expect(checkInvariants(m)).toEqual([`nic0: MR maps ${hex(a)} to pfn ${bar}, the CPU maps nothing`]);
    }
  });

  it('NIC: MR may write where the CPU entry is read-only', () => {
    const m = machine();
    const { p, a } = nicPages(m, true);
    const { t, i } = pte(p, a);
    t.bits[i]! &= ~PTE_WRITE;
    expect(checkInvariants(m)).toEqual([`nic0: MR may write ${hex(a)}, the CPU entry is read-only`]);
  });
});
