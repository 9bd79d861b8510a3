/**
 * Regression tests for differences between the model and Linux 7.0 (issue #16, item 5). Each
 * test names the kernel function whose behaviour it pins, and each failed before the model
 * was changed to do what that function does:
 *
 * - migrate_vma_collect_huge_pmd (mm/migrate_device.c): a PMD mapping the huge zero folio is
 *   skipped, unsplit, without MIGRATE_VMA_SELECT_SYSTEM; with it, it is collected as a hole
 *   (migrate_vma_collect_hole) and still not split;
 * - remove_device_exclusive_entry (mm/memory.c): the CPU fault that ends device-exclusive
 *   access notifies MMU_NOTIFY_CLEAR (owner NULL) since "mm/mmu_notifier: use
 *   MMU_NOTIFY_CLEAR in remove_device_exclusive_entry()" (6.15); fork's
 *   try_restore_exclusive_pte restores without a notification of its own;
 * - make_device_exclusive (mm/rmap.c): folio_lock_killable (sleeps; -EINTR on a fatal signal)
 *   and `goto retry` without a bound;
 * - mprotect_fixup / change_pud_range (mm/mprotect.c): the same flags change nothing and
 *   notify nobody; the PROTECTION_VMA range starts at the first PUD that is not none;
 * - walk_page_range (mm/pagewalk.c): hmm_range_fault on an empty range returns -EINVAL.
 */
import { describe, expect, it } from 'vitest';
import { Machine, type Process } from '../uapi/machine.js';
import { HMM_DMIRROR_EXCLUSIVE } from '../uapi/test_hmm_uapi.js';
import {
  EBUSY,
  EINTR,
  EINVAL,
  HMM_PFN_HI_REQ_FAULT,
  MADV_HUGEPAGE,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MIGRATE_PFN_COMPOUND,
  MIGRATE_PFN_MIGRATE,
  MIGRATE_VMA_SELECT_COMPOUND,
  MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
  MIGRATE_VMA_SELECT_SYSTEM,
  MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_EXCLUSIVE,
  MMU_NOTIFY_PROTECTION_PAGE,
  MMU_NOTIFY_PROTECTION_VMA,
  O_RDWR,
  PAGE_SIZE,
  PMD_SIZE,
  PROT_READ,
  PROT_WRITE,
  VM_WRITE,
} from './constants.js';
import { PG_LOCKED } from './frames.js';
import { HmmRange, hmmRangeFault } from './hmm.js';
import { KernelHang } from './memremap.js';
import {
  makeDeviceExclusive,
  makeDeviceExclusiveSteps,
  migrateVmaFinalize,
  migrateVmaSetup,
  newMigrateVma,
} from './migrate_device.js';
import {
  MmuIntervalNotifier,
  type MmuNotifierRange,
  mmuIntervalReadBegin,
  mmuIntervalSetSeq,
  notify,
  notifyEnd,
} from './mmu_notifier.js';
import {
  PMD_HUGE,
  PMD_TABLE,
  PTE_DEVICE_EXCLUSIVE,
  PTE_PRESENT,
  PTE_TYPE_MASK,
  PTE_WRITE,
  pteIndex,
} from './pgtable.js';

const PS = PAGE_SIZE;
const GiB = 2 ** 30;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const OWNER = { name: 'test owner' };

function machine(): Machine {
  return new Machine({ ramBytes: 64 * 2 ** 20 });
}

/** Every invalidation the mm starts from now on, whether an interval overlaps it or not. */
function recordInvalidations(p: Process): MmuNotifierRange[] {
  const log: MmuNotifierRange[] = [];
  p.mm.notifiers.observer = { onInvalidateStart: (r) => log.push({ ...r }) };
  return log;
}

/** A 2 MiB-aligned anonymous VMA of one PMD with MADV_HUGEPAGE, read: the huge zero folio. */
function hugeZeroPmd(m: Machine) {
  const p = m.spawn();
  const raw = p.mmap(0, 2 * PMD_SIZE, RW, ANON);
  const a = Math.ceil(raw / PMD_SIZE) * PMD_SIZE;
  expect(p.madvise(a, PMD_SIZE, MADV_HUGEPAGE)).toBe(0);
  p.load(a, 1);
  const slot = p.mm.pt.slot(a)!;
  expect(slot.kind).toBe(PMD_HUGE);
  expect(slot.pfn).toBe(m.kernel.hugeZeroPfn);
  return { p, a, vma: p.mm.vmaLookup(a)! };
}

/** A written anonymous page: present, writable, exclusive. */
function anonPage(m: Machine) {
  const p = m.spawn();
  const a = p.mmap(0, 4 * PS, RW, ANON);
  p.store(a, Uint8Array.of(7));
  const t = p.mm.pt.slot(a)!.table!;
  const i = pteIndex(a);
  expect(t.bits[i]! & PTE_TYPE_MASK).toBe(PTE_PRESENT);
  return { p, a, t, i, pfn: t.pfn[i]! };
}

describe('migrate_vma_collect_huge_pmd: the huge zero folio (mm/migrate_device.c)', () => {
  for (const compound of [false, true]) {
    it(`migrate_vma_collect_huge_pmd skips a huge zero PMD without MIGRATE_VMA_SELECT_SYSTEM and leaves it huge (${compound ? 'with' : 'without'} SELECT_COMPOUND)`, () => {
      // `if (pmd_trans_huge(*pmdp)) { if (!(migrate->flags & MIGRATE_VMA_SELECT_SYSTEM))
      //  return migrate_vma_collect_skip(start, end, walk); ...`
      const m = machine();
      const { p, a, vma } = hugeZeroPmd(m);
      const flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE | (compound ? MIGRATE_VMA_SELECT_COMPOUND : 0);
      const args = newMigrateVma(vma, a, a + PMD_SIZE, OWNER, flags);
      expect(migrateVmaSetup(m.kernel, args)).toBe(0);
      expect(args.cpages).toBe(0);
      expect(args.npages).toBe(PMD_SIZE / PS);
      expect(args.src.every((s) => s === 0)).toBe(true);
      const slot = p.mm.pt.slot(a)!;
      expect(slot.kind).toBe(PMD_HUGE);
      expect(slot.pfn).toBe(m.kernel.hugeZeroPfn);
      migrateVmaFinalize(m.kernel, args);
      expect(p.mm.pt.slot(a)!.kind).toBe(PMD_HUGE);
    });
  }

  it('migrate_vma_collect_huge_pmd collects a huge zero PMD as holes with MIGRATE_VMA_SELECT_SYSTEM, without splitting it', () => {
    // `folio = pmd_folio(*pmdp); if (is_huge_zero_folio(folio)) { spin_unlock(ptl);
    //  return migrate_vma_collect_hole(start, end, -1, walk); }`: no split_huge_pmd; the PMD
    // is split only when migrate_vma_insert_page maps a new page there.
    const m = machine();
    const { p, a, vma } = hugeZeroPmd(m);
    const args = newMigrateVma(vma, a, a + PMD_SIZE, OWNER, MIGRATE_VMA_SELECT_SYSTEM);
    expect(migrateVmaSetup(m.kernel, args)).toBe(0);
    expect(args.cpages).toBe(PMD_SIZE / PS);
    expect(args.src.every((s) => s === MIGRATE_PFN_MIGRATE)).toBe(true);
    expect(p.mm.pt.slot(a)!.kind).toBe(PMD_HUGE);
    // No destination pages: finalize leaves the huge zero PMD as it found it.
    migrateVmaFinalize(m.kernel, args);
    const slot = p.mm.pt.slot(a)!;
    expect(slot.kind).toBe(PMD_HUGE);
    expect(slot.pfn).toBe(m.kernel.hugeZeroPfn);
  });

  it('migrate_vma_collect_huge_pmd collects a huge zero PMD as one compound hole with SELECT_SYSTEM | SELECT_COMPOUND', () => {
    const m = machine();
    const { p, a, vma } = hugeZeroPmd(m);
    const flags = MIGRATE_VMA_SELECT_SYSTEM | MIGRATE_VMA_SELECT_COMPOUND;
    const args = newMigrateVma(vma, a, a + PMD_SIZE, OWNER, flags);
    expect(migrateVmaSetup(m.kernel, args)).toBe(0);
    expect(args.cpages).toBe(1);
    expect(args.src[0]).toBe(MIGRATE_PFN_MIGRATE + MIGRATE_PFN_COMPOUND);
    expect(args.src.subarray(1).every((s) => s === 0)).toBe(true);
    expect(p.mm.pt.slot(a)!.kind).toBe(PMD_HUGE);
    migrateVmaFinalize(m.kernel, args);
  });
});

describe('migrate_vma_collect_huge_pmd / migrate_vma_collect_pmd: a folio that cannot be locked or split skips its PMD only', () => {
  it('migrate_vma_collect_huge_pmd: a THP it cannot lock is skipped (migrate_vma_collect_skip(start, end)), left huge, and the walk goes on to the next PMD', () => {
    // `folio_get(folio); if (folio != fault_folio && unlikely(!folio_trylock(folio))) {
    //  spin_unlock(ptl); folio_put(folio); return migrate_vma_collect_skip(start, end, walk); }`
    const m = machine();
    const k = m.kernel;
    const p = m.spawn();
    const raw = p.mmap(0, 3 * PMD_SIZE, RW, ANON);
    const a = Math.ceil(raw / PMD_SIZE) * PMD_SIZE;
    expect(p.madvise(a, 2 * PMD_SIZE, MADV_HUGEPAGE)).toBe(0);
    p.store(a, Uint8Array.of(1)); // a THP in the first PMD; the second is never touched
    const thp = p.mm.pt.slot(a)!;
    expect(thp.kind).toBe(PMD_HUGE);
    const head = thp.pfn;
    const ref = k.frames.ref(head);
    expect(k.folioTrylock(head)).toBe(true);
    const vma = p.mm.vmaLookup(a)!;
    const args = newMigrateVma(vma, a, a + 2 * PMD_SIZE, OWNER, MIGRATE_VMA_SELECT_SYSTEM);
    expect(migrateVmaSetup(k, args)).toBe(0);
    expect(args.npages).toBe(2 * (PMD_SIZE / PS));
    expect(args.src.subarray(0, PMD_SIZE / PS).every((x) => x === 0)).toBe(true);
    expect(p.mm.pt.slot(a)!.kind).toBe(PMD_HUGE);
    expect(k.frames.ref(head)).toBe(ref);
    // The second PMD was walked: its holes are collected (migrate_vma_collect_hole).
    expect(args.src.subarray(PMD_SIZE / PS).every((x) => x === MIGRATE_PFN_MIGRATE)).toBe(true);
    expect(args.cpages).toBe(PMD_SIZE / PS);
    migrateVmaFinalize(k, args);
    k.folioUnlock(head);
    expect(p.load(a, 1)[0]).toBe(1);
  });
});

describe('remove_device_exclusive_entry and try_restore_exclusive_pte (mm/memory.c)', () => {
  /** A page dmirror0 holds device-exclusive (HMM_DMIRROR_EXCLUSIVE). */
  function exclusivePage(m: Machine) {
    const p = m.spawn();
    const fd = p.open('/dev/hmm_dmirror0', O_RDWR);
    const a = p.mmap(0, PS, RW, ANON);
    const buf = p.mmap(0, PS, RW, ANON);
    p.store(a, Uint8Array.of(5));
    expect(p.ioctl(fd, HMM_DMIRROR_EXCLUSIVE, { addr: a, ptr: buf, npages: 1, cpages: 0, faults: 0 })).toBe(
      0,
    );
    const t = p.mm.pt.slot(a)!.table!;
    expect(t.bits[pteIndex(a)]! & PTE_TYPE_MASK).toBe(PTE_DEVICE_EXCLUSIVE);
    return { p, a, t };
  }

  it('remove_device_exclusive_entry notifies MMU_NOTIFY_CLEAR with no owner, not MMU_NOTIFY_EXCLUSIVE', () => {
    // `mmu_notifier_range_init_owner(&range, MMU_NOTIFY_CLEAR, 0, vma->vm_mm,
    //  vmf->address & PAGE_MASK, (vmf->address & PAGE_MASK) + PAGE_SIZE, NULL);`
    const m = machine();
    const { p, a, t } = exclusivePage(m);
    const log = recordInvalidations(p);
    expect(p.load(a, 1)[0]).toBe(5);
    expect(log.map((r) => [r.event, r.start, r.end, r.owner])).toEqual([[MMU_NOTIFY_CLEAR, a, a + PS, null]]);
    expect(log.some((r) => r.event === MMU_NOTIFY_EXCLUSIVE)).toBe(false);
    expect(t.bits[pteIndex(a)]! & PTE_TYPE_MASK).toBe(PTE_PRESENT);
  });

  it('try_restore_exclusive_pte: fork restores a device-exclusive entry inside its PROTECTION_PAGE invalidation, with no notification of its own', () => {
    // copy_nonpresent_pte: `if (try_restore_exclusive_pte(src_vma, addr, src_pte, orig_pte))
    //  return -EBUSY;`, under copy_page_range's MMU_NOTIFY_PROTECTION_PAGE range.
    const m = machine();
    const { p, a, t } = exclusivePage(m);
    const log = recordInvalidations(p);
    const child = p.fork();
    expect(log.map((r) => r.event)).toEqual([MMU_NOTIFY_PROTECTION_PAGE]);
    expect(t.bits[pteIndex(a)]! & PTE_TYPE_MASK).toBe(PTE_PRESENT);
    expect(child.load(a, 1)[0]).toBe(5);
  });
});

describe('make_device_exclusive (mm/rmap.c)', () => {
  it('make_device_exclusive: folio_lock_killable returns -EINTR when a fatal signal is pending and the folio is locked', () => {
    // `ret = folio_lock_killable(folio); if (ret) { folio_put(folio); return ERR_PTR(ret); }`
    const m = machine();
    const k = m.kernel;
    const { p, a, t, i, pfn } = anonPage(m);
    const ref = k.frames.ref(pfn);
    expect(k.folioTrylock(pfn)).toBe(true);
    const log = recordInvalidations(p);
    expect(makeDeviceExclusive(k, p.mm, a, OWNER, () => true)).toBe(-EINTR);
    // Nothing changed: the PTE is still present and writable, the GUP reference was dropped,
    // and no EXCLUSIVE invalidation was started.
    expect(t.bits[i]! & PTE_TYPE_MASK).toBe(PTE_PRESENT);
    expect(t.bits[i]! & PTE_WRITE).toBe(PTE_WRITE);
    expect(k.frames.ref(pfn)).toBe(ref);
    expect(log).toEqual([]);
    k.folioUnlock(pfn);
  });

  it('make_device_exclusive: sleeps on a locked folio (folio_lock_killable) and succeeds once it is unlocked, instead of -EBUSY', () => {
    const m = machine();
    const k = m.kernel;
    const { p, a, t, i, pfn } = anonPage(m);
    expect(k.folioTrylock(pfn)).toBe(true);
    const g = makeDeviceExclusiveSteps(k, p.mm, a, OWNER);
    const y = g.next();
    expect(y.done).toBe(false);
    expect(y.value).toEqual({ kind: 'folio_locked', pfn });
    // Still locked: it sleeps again.
    expect(g.next().value).toEqual({ kind: 'folio_locked', pfn });
    k.folioUnlock(pfn);
    const r = g.next();
    expect(r).toEqual({ done: true, value: pfn });
    expect(t.bits[i]! & PTE_TYPE_MASK).toBe(PTE_DEVICE_EXCLUSIVE);
    // Returned locked and referenced: the caller unlocks and puts it.
    expect(k.frames.hasFlag(pfn, PG_LOCKED)).toBe(true);
    k.folioUnlock(pfn);
    k.folioPut(pfn);
  });

  it('make_device_exclusive run to completion on a folio nobody will unlock is a KernelHang, not -EBUSY', () => {
    const m = machine();
    const k = m.kernel;
    const { p, a, pfn } = anonPage(m);
    expect(k.folioTrylock(pfn)).toBe(true);
    expect(() => makeDeviceExclusive(k, p.mm, a, OWNER)).toThrow(KernelHang);
    k.folioUnlock(pfn);
  });

  it('make_device_exclusive retries until the second folio_walk finds the page mapped writable, without a retry limit', () => {
    // `if (fw_folio != folio || fw.page != page || fw.level != FW_LEVEL_PTE ||
    //  !pte_write(fw.pte)) { ... goto retry; }`
    const m = machine();
    const k = m.kernel;
    const { p, a, t, i, pfn } = anonPage(m);
    // A secondary MMU whose EXCLUSIVE callback write-protects the PTE the first 20 times
    // (as a racing mprotect or fork would): each time the walk fails and GUP faults it
    // writable again.
    let sabotage = 20;
    const sub = new MmuIntervalNotifier(
      {
        invalidate(s, r, curSeq) {
          mmuIntervalSetSeq(s, curSeq);
          if (r.event === MMU_NOTIFY_EXCLUSIVE && sabotage > 0) {
            sabotage--;
            t.bits[i] = t.bits[i]! & ~PTE_WRITE;
          }
          return true;
        },
      },
      p.mm.notifiers,
    );
    expect(p.mm.notifiers.insert(sub, a, PS)).toBe(0);
    expect(makeDeviceExclusive(k, p.mm, a, OWNER)).toBe(pfn);
    expect(sabotage).toBe(0);
    expect(t.bits[i]! & PTE_TYPE_MASK).toBe(PTE_DEVICE_EXCLUSIVE);
    k.folioUnlock(pfn);
    k.folioPut(pfn);
  });
});

describe('mprotect_fixup and change_protection (mm/mprotect.c)', () => {
  it('mprotect_fixup: mprotect to the same protection changes nothing and notifies nobody', () => {
    // `if (vma_flags_same_pair(&old_vma_flags, &new_vma_flags)) { *pprev = vma; return 0; }`
    const m = machine();
    const { p, a } = anonPage(m);
    const vmas = p.mm.vmas.length;
    const log = recordInvalidations(p);
    expect(p.mprotect(a + PS, PS, RW)).toBe(0);
    expect(log).toEqual([]);
    expect(p.mm.vmas.length).toBe(vmas);
  });

  it('mprotect_fixup: the same protection over part of a THP does not split the VMA or the PMD', () => {
    const m = machine();
    const p = m.spawn();
    const raw = p.mmap(0, 2 * PMD_SIZE, RW, ANON);
    const a = Math.ceil(raw / PMD_SIZE) * PMD_SIZE;
    expect(p.madvise(a, PMD_SIZE, MADV_HUGEPAGE)).toBe(0);
    p.store(a, Uint8Array.of(1));
    expect(p.mm.pt.slot(a)!.kind).toBe(PMD_HUGE);
    const log = recordInvalidations(p);
    expect(p.mprotect(a + 16 * PS, 16 * PS, RW)).toBe(0);
    expect(p.mm.pt.slot(a)!.kind).toBe(PMD_HUGE);
    expect(log).toEqual([]);
  });

  it('change_pud_range: no invalidation over a range without page tables (every PUD none)', () => {
    // `pud = pudp_get(pudp); if (pud_none(pud)) continue; if (!range.start) {
    //  mmu_notifier_range_init(...); mmu_notifier_invalidate_range_start(&range); }`
    const m = machine();
    const p = m.spawn();
    const a = p.mmap(0, 16 * PS, RW, ANON);
    const log = recordInvalidations(p);
    expect(p.mprotect(a, 16 * PS, PROT_READ)).toBe(0);
    expect(log).toEqual([]);
    expect(p.mm.vmaLookup(a)!.flags & VM_WRITE).toBe(0); // the VMA changed all the same
  });

  it('change_pud_range: the PROTECTION_VMA range starts at the first PUD that is not none and runs to the end', () => {
    const m = machine();
    const p = m.spawn();
    const len = 3 * GiB;
    const raw = p.mmap(0, len + 2 * GiB, RW, ANON);
    const base = Math.ceil(raw / GiB) * GiB + GiB; // PUD aligned, a GiB into the VMA
    const start = base - 16 * PS; // begins in a PUD of its own, never touched
    const touched = base + GiB + 5 * PS; // only the second full PUD has page tables
    p.store(touched, Uint8Array.of(9));
    const log = recordInvalidations(p);
    expect(p.mprotect(start, len, PROT_READ)).toBe(0);
    expect(log.map((r) => [r.event, r.start, r.end])).toEqual([
      [MMU_NOTIFY_PROTECTION_VMA, base + GiB, start + len],
    ]);
    // The write bit went away where there was a PTE.
    const t = p.mm.pt.slot(touched)!.table!;
    expect(t.bits[pteIndex(touched)]! & PTE_WRITE).toBe(0);
  });

  it('change_protection: a populated range is still notified PROTECTION_VMA over the VMA', () => {
    const m = machine();
    const { p, a } = anonPage(m);
    const vma = p.mm.vmaLookup(a)!;
    const log = recordInvalidations(p);
    expect(p.mprotect(vma.start, vma.end - vma.start, PROT_READ)).toBe(0);
    expect(log.map((r) => [r.event, r.start, r.end])).toEqual([
      [MMU_NOTIFY_PROTECTION_VMA, vma.start, vma.end],
    ]);
    expect(p.mm.pt.slot(a)!.kind).toBe(PMD_TABLE);
  });
});

describe('hmm_range_fault on an empty range (mm/hmm.c, mm/pagewalk.c)', () => {
  function mirror(m: Machine) {
    const p = m.spawn();
    const a = p.mmap(0, 4 * PS, RW, ANON);
    const sub = new MmuIntervalNotifier(
      {
        invalidate(s, _r, curSeq) {
          mmuIntervalSetSeq(s, curSeq);
          return true;
        },
      },
      p.mm.notifiers,
    );
    expect(p.mm.notifiers.insert(sub, a, 4 * PS)).toBe(0);
    return { p, a, sub };
  }

  it('walk_page_range: hmm_range_fault with start == end returns -EINVAL', () => {
    // walk_page_range_mm_unsafe: `if (start >= end) return -EINVAL;`
    const m = machine();
    const { p, a, sub } = mirror(m);
    const range = new HmmRange(sub, a, a, HMM_PFN_HI_REQ_FAULT, 0, null);
    range.notifierSeq = mmuIntervalReadBegin(sub);
    expect(hmmRangeFault(m.kernel, p.mm, range)).toBe(-EINVAL);
  });

  it('hmm_range_fault: mmu_interval_check_retry comes first: an empty range after an invalidation is -EBUSY', () => {
    const m = machine();
    const { p, a, sub } = mirror(m);
    const range = new HmmRange(sub, a, a, HMM_PFN_HI_REQ_FAULT, 0, null);
    range.notifierSeq = mmuIntervalReadBegin(sub);
    notifyEnd(p.mm, notify(p.mm, MMU_NOTIFY_CLEAR, a, a + PS));
    expect(hmmRangeFault(m.kernel, p.mm, range)).toBe(-EBUSY);
  });
});
