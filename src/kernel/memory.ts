/**
 * Page faults and user memory access (mm/memory.c, mm/huge_memory.c, mm/hugetlb.c, mm/gup.c):
 * zero-fill and the shared zero page, copy-on-write, write-protect faults, file and shmem
 * faults through the page cache, THP faults, device-private faults (migrate_to_ram) and the
 * revert of device-exclusive entries.
 */

import {
  EBUSY,
  EFAULT,
  ENOMEM,
  FAULT_FLAG_WRITE,
  FOLL_LONGTERM,
  FOLL_PIN,
  FOLL_WRITE,
  GUP_PIN_COUNTING_BIAS,
  HPAGE_PMD_NR,
  HPAGE_PMD_ORDER,
  MMU_NOTIFY_CLEAR,
  PAGE_SIZE,
  PMD_SIZE,
  VM_FAULT_FALLBACK,
  VM_FAULT_OOM,
  VM_FAULT_RETRY,
  VM_FAULT_SIGBUS,
  VM_FAULT_SIGSEGV,
  VM_HUGEPAGE,
  VM_HUGETLB,
  VM_MIXEDMAP,
  VM_NOHUGEPAGE,
  VM_READ,
  VM_SHARED,
  VM_SPECIAL,
  VM_WRITE,
} from './constants.js';
import { PG_ANON, PG_ANON_EXCLUSIVE, PG_DIRTY, PG_LAZYFREE, PG_LOCKED } from './frames.js';
import { copyHighpage } from './highmem.js';
import { splitHugePmdAt } from './huge_memory.js';
import type { Kernel } from './kernel.js';
// A cycle Linux has too (scripts/import-cycles.mjs keeps it): GUP migrates device-coherent
// pages away (check_and_migrate_movable_pages -> migrate_device_coherent_folio, mm/gup.c) and a
// device-private fault splits a PTE-mapped large folio (split_folio); migrate_device.ts calls
// back into GUP here (make_device_exclusive -> get_user_page_vma_remote, mm/rmap.c).
import { migrateDeviceCoherentFolio, splitFolio } from './migrate_device.js';
import type { Inode, Mm, Vma } from './mm.js';
import { notify, notifyEnd } from './mmu_notifier.js';
import {
  PMD_DEVICE_PRIVATE,
  PMD_HUGE,
  PMD_MIGRATION,
  PMD_NONE,
  PMD_TABLE,
  PTE_DEVICE_EXCLUSIVE,
  PTE_DEVICE_PRIVATE,
  PTE_DIRTY,
  PTE_MIGRATION,
  PTE_NONE,
  PTE_PRESENT,
  PTE_SPECIAL,
  PTE_TYPE_MASK,
  PTE_WRITE,
  type PteTable,
  pteIndex,
} from './pgtable.js';
import { setAnonRmap } from './rmap.js';
import type { FaultWait } from './wait.js';

/** thp_vma_allowable_order for an anonymous PMD fault at addr. */
export function thpAllowed(k: Kernel, vma: Vma, addr: number): boolean {
  if (k.thp === 'never' || !vma.isAnonymous()) return false;
  if (vma.flags & (VM_NOHUGEPAGE | VM_SPECIAL | VM_HUGETLB | VM_SHARED)) return false;
  if (k.thp === 'madvise' && !(vma.flags & VM_HUGEPAGE)) return false;
  const haddr = Math.floor(addr / PMD_SIZE) * PMD_SIZE;
  return haddr >= vma.start && haddr + PMD_SIZE <= vma.end;
}

/** The page cache page at `index` of a shmem/tmpfs inode, created zeroed if asked. -1 if none. */
export function shmemGetPage(k: Kernel, inode: Inode, index: number, create: boolean): number {
  const p = inode.pages.get(index);
  if (p !== undefined) return p;
  if (!create) return -1;
  const pfn = k.allocFolio(0);
  if (pfn < 0) return -1;
  k.frames.setMapping(pfn, inode.id, index);
  inode.pages.set(index, pfn);
  return pfn;
}

/**
 * handle_mm_fault: resolves a fault at addr in vma. `flags` are FAULT_FLAG_*. Returns a
 * vm_fault_t: 0 on success, VM_FAULT_RETRY when the fault met a migration entry or a locked
 * page (the caller waits and retries), VM_FAULT_SIGSEGV / SIGBUS / OOM on failure.
 * `wait`, when given, gets the head of a locked device-private folio the fault would sleep on
 * before the retry (hmm_range_fault's steps pass it and sleep there; see wait.ts).
 */
export function handleMmFault(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  addr: number,
  flags: number,
  wait: FaultWait | null = null,
): number {
  // vmf->address is page aligned (__handle_mm_fault masks it with PAGE_MASK).
  addr = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
  const r = handleMmFaultInner(k, mm, vma, addr, flags, wait);
  k.observer?.onFault?.(mm.id, addr, flags, r);
  return r;
}

function handleMmFaultInner(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  addr: number,
  flags: number,
  wait: FaultWait | null,
): number {
  const write = (flags & FAULT_FLAG_WRITE) !== 0;
  if (write && !(vma.flags & VM_WRITE)) return VM_FAULT_SIGSEGV;
  if (!write && !(vma.flags & (VM_READ | VM_WRITE))) return VM_FAULT_SIGSEGV;
  if (vma.flags & VM_HUGETLB) return hugetlbFault(k, mm, vma, addr, write);
  let slot = mm.pt.slot(addr);
  if ((!slot || slot.kind === PMD_NONE) && thpAllowed(k, vma, addr)) {
    const r = doHugePmdAnonymousPage(k, mm, vma, addr, write);
    if (r !== VM_FAULT_FALLBACK) return r;
  } else if (slot && slot.kind === PMD_HUGE) {
    if (!write || slot.bits & PTE_WRITE) {
      if (write) slot.bits |= PTE_DIRTY;
      return 0;
    }
    const r = doHugePmdWpPage(k, mm, vma, addr);
    if (r !== VM_FAULT_FALLBACK) return r;
  } else if (slot && slot.kind === PMD_DEVICE_PRIVATE) {
    return doDevicePrivateFault(k, mm, vma, addr, slot.pfn, false, flags, wait);
  } else if (slot && slot.kind === PMD_MIGRATION) {
    return VM_FAULT_RETRY;
  }
  slot = mm.pt.slot(addr);
  const t = mm.pt.tableAlloc(addr);
  if (!t) throw new Error('model bug: PTE fault under a huge mapping');
  return handlePteFault(k, mm, vma, addr, t, flags, wait);
}

function handlePteFault(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  addr: number,
  t: PteTable,
  flags: number,
  wait: FaultWait | null,
): number {
  const write = (flags & FAULT_FLAG_WRITE) !== 0;
  const i = pteIndex(addr);
  const bits = t.bits[i]!;
  const type = bits & PTE_TYPE_MASK;
  switch (type) {
    case PTE_NONE:
      if (vma.isAnonymous()) return doAnonymousPage(k, vma, addr, t, write);
      if (vma.file) return doFileFault(k, vma, addr, t, write);
      return VM_FAULT_SIGBUS; // a special mapping with no page here
    case PTE_DEVICE_PRIVATE:
      return doDevicePrivateFault(k, mm, vma, addr, t.pfn[i]!, true, flags, wait);
    case PTE_DEVICE_EXCLUSIVE:
      return removeDeviceExclusiveEntry(k, mm, vma, addr);
    case PTE_MIGRATION:
      return VM_FAULT_RETRY;
    case PTE_PRESENT:
      if (write && !(bits & PTE_WRITE)) return doWpPage(k, mm, vma, addr, t);
      if (write) t.bits[i] = bits | PTE_DIRTY;
      return 0;
    default:
      return VM_FAULT_SIGBUS;
  }
}

function setPte(t: PteTable, i: number, pfn: number, bits: number): void {
  if ((t.bits[i]! & PTE_TYPE_MASK) === PTE_NONE) t.used++;
  t.pfn[i] = pfn;
  t.bits[i] = bits;
}

/** do_anonymous_page: the shared zero page on read, a new zeroed exclusive page on write. */
function doAnonymousPage(k: Kernel, vma: Vma, addr: number, t: PteTable, write: boolean): number {
  const i = pteIndex(addr);
  if (!write) {
    setPte(t, i, k.zeroPfn, PTE_PRESENT | PTE_SPECIAL);
    return 0;
  }
  const pfn = k.allocFolio(0);
  if (pfn < 0) return VM_FAULT_OOM;
  setAnonRmap(k, vma, pfn, addr, true);
  k.frames.addMapcount(pfn, 1);
  setPte(t, i, pfn, PTE_PRESENT | PTE_WRITE | PTE_DIRTY);
  return 0;
}

/** do_read_fault / do_cow_fault / do_shared_fault for shmem and tmpfs files. */
function doFileFault(k: Kernel, vma: Vma, addr: number, t: PteTable, write: boolean): number {
  const inode = vma.file!;
  const index = vma.linearPageIndex(addr);
  if (index * PAGE_SIZE >= Math.ceil(inode.size / PAGE_SIZE) * PAGE_SIZE) return VM_FAULT_SIGBUS;
  const page = shmemGetPage(k, inode, index, true);
  if (page < 0) return VM_FAULT_OOM;
  const i = pteIndex(addr);
  const f = k.frames;
  if (write && !(vma.flags & VM_SHARED)) {
    // do_cow_fault: a private anonymous copy of the file page.
    const np = k.allocFolio(0);
    if (np < 0) return VM_FAULT_OOM;
    copyHighpage(k, np, page); // copy_user_highpage
    setAnonRmap(k, vma, np, addr, true);
    f.addMapcount(np, 1);
    setPte(t, i, np, PTE_PRESENT | PTE_WRITE | PTE_DIRTY);
    return 0;
  }
  k.folioGet(page);
  f.addMapcount(page, 1);
  // shmem needs no write notification: a shared writable mapping maps the page writable.
  const writable = (vma.flags & (VM_SHARED | VM_WRITE)) === (VM_SHARED | VM_WRITE);
  if (write) f.setFlag(page, PG_DIRTY);
  setPte(t, i, page, PTE_PRESENT | (writable ? PTE_WRITE : 0) | (write ? PTE_DIRTY : 0));
  return 0;
}

/** do_wp_page: write to a present read-only PTE in a writable VMA. */
function doWpPage(k: Kernel, mm: Mm, vma: Vma, addr: number, t: PteTable): number {
  const f = k.frames;
  const i = pteIndex(addr);
  const pfn = t.pfn[i]!;
  if (vma.flags & VM_SHARED && !k.isZeroPfn(pfn)) {
    // wp_page_shared: the page is the shared page itself; make the PTE writable.
    t.bits[i] = t.bits[i]! | PTE_WRITE | PTE_DIRTY;
    f.setFlag(pfn, PG_DIRTY);
    return 0;
  }
  if (!k.isZeroPfn(pfn) && f.hasFlag(pfn, PG_ANON)) {
    const head = f.head(pfn);
    // Reuse an exclusive anonymous page (PageAnonExclusive), or a small one nobody else holds.
    const reuse =
      f.hasFlag(pfn, PG_ANON_EXCLUSIVE) ||
      (f.order(head) === 0 && f.ref(head) === 1 && f.mapcount(pfn) === 1);
    if (reuse) {
      f.setFlag(pfn, PG_ANON_EXCLUSIVE);
      t.bits[i] = t.bits[i]! | PTE_WRITE | PTE_DIRTY;
      return 0;
    }
  }
  return wpPageCopy(k, mm, vma, addr, t);
}

/** wp_page_copy: a new exclusive anonymous page replaces the shared or zero page. */
function wpPageCopy(k: Kernel, mm: Mm, vma: Vma, addr: number, t: PteTable): number {
  const f = k.frames;
  const i = pteIndex(addr);
  const old = t.pfn[i]!;
  const np = k.allocFolio(0);
  if (np < 0) return VM_FAULT_OOM;
  if (!k.isZeroPfn(old)) copyHighpage(k, np, old); // __wp_page_copy_user
  setAnonRmap(k, vma, np, addr, true);
  const r = notify(mm, MMU_NOTIFY_CLEAR, addr, addr + PAGE_SIZE);
  f.addMapcount(np, 1);
  t.pfn[i] = np;
  t.bits[i] = PTE_PRESENT | PTE_WRITE | PTE_DIRTY;
  if (!k.isZeroPfn(old)) {
    f.addMapcount(old, -1);
    k.folioPut(f.head(old));
  }
  notifyEnd(mm, r);
  return 0;
}

/** do_huge_pmd_anonymous_page: the huge zero folio on read, a new THP on write. */
function doHugePmdAnonymousPage(k: Kernel, mm: Mm, vma: Vma, addr: number, write: boolean): number {
  const haddr = Math.floor(addr / PMD_SIZE) * PMD_SIZE;
  if (!write) {
    const s = mm.pt.slotAlloc(haddr);
    s.kind = PMD_HUGE;
    s.pfn = k.hugeZeroPfn;
    s.bits = 0;
    s.table = null;
    return 0;
  }
  const head = k.allocFolio(HPAGE_PMD_ORDER);
  if (head < 0) return VM_FAULT_FALLBACK;
  const f = k.frames;
  for (let j = 0; j < HPAGE_PMD_NR; j++) {
    setAnonRmap(k, vma, head + j, haddr + j * PAGE_SIZE, true);
    f.addMapcount(head + j, 1);
  }
  const s = mm.pt.slotAlloc(haddr);
  s.kind = PMD_HUGE;
  s.pfn = head;
  s.bits = PTE_WRITE | PTE_DIRTY;
  s.table = null;
  return 0;
}

/** do_huge_pmd_wp_page: reuse an exclusive THP, else split and let the PTE fault copy. */
function doHugePmdWpPage(k: Kernel, mm: Mm, vma: Vma, addr: number): number {
  const f = k.frames;
  const s = mm.pt.slot(addr)!;
  const head = s.pfn;
  if (head !== k.hugeZeroPfn && f.hasFlag(head, PG_ANON)) {
    let exclusive = true;
    for (let j = 0; j < HPAGE_PMD_NR && exclusive; j++)
      if (!f.hasFlag(head + j, PG_ANON_EXCLUSIVE)) exclusive = false;
    if (exclusive || f.ref(head) === 1) {
      for (let j = 0; j < HPAGE_PMD_NR; j++) f.setFlag(head + j, PG_ANON_EXCLUSIVE);
      s.bits |= PTE_WRITE | PTE_DIRTY;
      return 0;
    }
  }
  splitHugePmdAt(k, mm, addr);
  void vma;
  return VM_FAULT_FALLBACK;
}

/** hugetlb_fault: a whole huge page from the pool, copied on write when shared. */
function hugetlbFault(k: Kernel, mm: Mm, vma: Vma, addr: number, write: boolean): number {
  const f = k.frames;
  const haddr = Math.floor(addr / PMD_SIZE) * PMD_SIZE;
  const s = mm.pt.slotAlloc(haddr);
  if (s.kind === PMD_NONE) {
    const head = k.allocHugetlb();
    if (head < 0) return VM_FAULT_OOM | VM_FAULT_SIGBUS;
    for (let j = 0; j < HPAGE_PMD_NR; j++) {
      setAnonRmap(k, vma, head + j, haddr + j * PAGE_SIZE, true);
      f.addMapcount(head + j, 1);
    }
    s.kind = PMD_HUGE;
    s.pfn = head;
    s.bits = write || vma.flags & VM_SHARED ? (vma.flags & VM_WRITE ? PTE_WRITE | PTE_DIRTY : 0) : 0;
    s.table = null;
    return 0;
  }
  if (s.kind !== PMD_HUGE) return VM_FAULT_SIGBUS;
  if (!write || s.bits & PTE_WRITE) return 0;
  const old = s.pfn;
  if (f.ref(old) === 1) {
    s.bits |= PTE_WRITE | PTE_DIRTY;
    return 0;
  }
  const head = k.allocHugetlb();
  if (head < 0) return VM_FAULT_OOM;
  const r = notify(mm, MMU_NOTIFY_CLEAR, haddr, haddr + PMD_SIZE);
  for (let j = 0; j < HPAGE_PMD_NR; j++) {
    copyHighpage(k, head + j, old + j);
    setAnonRmap(k, vma, head + j, haddr + j * PAGE_SIZE, true);
    f.addMapcount(head + j, 1);
    f.addMapcount(old + j, -1);
  }
  k.folioPut(old);
  s.pfn = head;
  s.bits = PTE_WRITE | PTE_DIRTY;
  notifyEnd(mm, r);
  return 0;
}

/**
 * do_swap_page for a device-private entry (and do_huge_pmd_device_private for a PMD one):
 * lock and reference the page, then call its pagemap's migrate_to_ram.
 */
function doDevicePrivateFault(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  addr: number,
  pfn: number,
  pteMapped: boolean,
  flags: number,
  wait: FaultWait | null,
): number {
  const f = k.frames;
  let head = f.head(pfn);
  if (f.hasFlag(head, PG_LOCKED)) {
    // do_swap_page's trylock failed: with the 2026 fix the fault sleeps on the folio lock
    // (softleaf_entry_wait_on_locked) before the caller retries; without it, it returns at once.
    if (k.fixes.hmmWaitOnLockedFolio && wait) wait.folio = head;
    return VM_FAULT_RETRY;
  }
  if (pteMapped && f.nrPages(head) > 1) {
    // A PTE-mapped device folio (its PMD was split by munmap, mremap or mprotect): only the
    // faulting page goes back, so split the folio first, as the driver's folio_split path does.
    k.folioTrylock(head);
    k.folioGet(head);
    const r = splitFolio(k, head);
    k.folioUnlock(head);
    k.folioPut(head);
    if (r < 0) return VM_FAULT_RETRY;
    head = f.head(pfn);
  }
  const pgmap = k.pgmapOf(pfn);
  if (!pgmap?.ops.migrateToRam) return VM_FAULT_SIGBUS;
  k.folioTrylock(head);
  k.folioGet(head);
  const ret = pgmap.ops.migrateToRam({
    mm,
    vma,
    address: addr,
    page: pteMapped ? pfn : head,
    pteMapped,
    flags,
  });
  if (f.hasFlag(head, PG_LOCKED)) k.folioUnlock(head);
  k.folioPut(head);
  return ret;
}

/**
 * restore_exclusive_pte: the device-exclusive entry at addr becomes a present PTE again,
 * writable if the VMA is (maybe_mkwrite). The caller holds the folio lock.
 */
function restoreExclusivePte(t: PteTable, i: number, vma: Vma): void {
  t.bits[i] = PTE_PRESENT | (vma.flags & VM_WRITE ? PTE_WRITE : 0) | PTE_DIRTY;
}

/**
 * remove_device_exclusive_entry: a CPU access ends device-exclusive access. Notifies
 * MMU_NOTIFY_CLEAR with no owner over the page (Linux uses MMU_NOTIFY_EXCLUSIVE only for the
 * conversion to device-exclusive since "mm/mmu_notifier: use MMU_NOTIFY_CLEAR in
 * remove_device_exclusive_entry()", 6.15), then restores a present PTE. Returns 0, or
 * VM_FAULT_RETRY when the folio is locked (folio_lock_or_retry).
 */
export function removeDeviceExclusiveEntry(k: Kernel, mm: Mm, vma: Vma, addr: number): number {
  const f = k.frames;
  const t = mm.pt.slot(addr)?.table;
  if (!t) return 0;
  const i = pteIndex(addr);
  if ((t.bits[i]! & PTE_TYPE_MASK) !== PTE_DEVICE_EXCLUSIVE) return 0;
  const pfn = t.pfn[i]!;
  const head = f.head(pfn);
  if (f.ref(head) === 0) return 0;
  if (!k.folioTrylock(head)) return VM_FAULT_RETRY;
  k.folioGet(head);
  const page = addr - (addr % PAGE_SIZE);
  const r = notify(mm, MMU_NOTIFY_CLEAR, page, page + PAGE_SIZE, null);
  restoreExclusivePte(t, i, vma);
  notifyEnd(mm, r);
  k.folioUnlock(head);
  k.folioPut(head);
  return 0;
}

/**
 * try_restore_exclusive_pte (fork's copy_nonpresent_pte): restores the device-exclusive entry
 * at addr without a notification of its own (the caller, copy_page_range, runs inside its
 * MMU_NOTIFY_PROTECTION_PAGE invalidation). Returns 0, or -EBUSY when the folio is locked.
 */
export function tryRestoreExclusivePte(k: Kernel, mm: Mm, vma: Vma, addr: number): number {
  const t = mm.pt.slot(addr)?.table;
  if (!t) return 0;
  const i = pteIndex(addr);
  if ((t.bits[i]! & PTE_TYPE_MASK) !== PTE_DEVICE_EXCLUSIVE) return 0;
  const head = k.frames.head(t.pfn[i]!);
  if (!k.folioTrylock(head)) return -EBUSY;
  restoreExclusivePte(t, i, vma);
  k.folioUnlock(head);
  return 0;
}

// ---- user access ----------------------------------------------------------------------

/**
 * Thrown where the CPU access would raise a signal. SIGKILL is the OOM killer's: a user fault
 * that returns VM_FAULT_OOM ends in pagefault_out_of_memory() (mm/oom_kill.c), which invokes
 * the OOM killer; with one process in the model, that process is the one killed.
 */
export class UserFault extends Error {
  constructor(
    readonly addr: number,
    readonly signal: 'SIGSEGV' | 'SIGBUS' | 'SIGKILL',
  ) {
    super(`${signal}${signal === 'SIGKILL' ? ' (out of memory)' : ''} at 0x${addr.toString(16)}`);
    this.name = 'UserFault';
  }
}

/**
 * Resolves a user access to one page: returns the pfn the CPU reads or writes, faulting as
 * needed. Throws UserFault for SIGSEGV / SIGBUS. `retryBudget` bounds VM_FAULT_RETRY loops
 * (a retry in the sequential model means a migration entry nobody will remove).
 */
export function userPagePfn(k: Kernel, mm: Mm, addr: number, write: boolean): number {
  for (let tries = 0; tries < 8; tries++) {
    const vma = mm.vmaLookup(addr);
    if (!vma) throw new UserFault(addr, 'SIGSEGV');
    if (write ? !(vma.flags & VM_WRITE) : !(vma.flags & VM_READ)) throw new UserFault(addr, 'SIGSEGV');
    const slot = mm.pt.slot(addr);
    if (slot) {
      if (slot.kind === PMD_HUGE && (!write || slot.bits & PTE_WRITE)) {
        if (write) slot.bits |= PTE_DIRTY;
        return slot.pfn + pteIndex(addr);
      }
      if (slot.kind === PMD_TABLE) {
        const i = pteIndex(addr);
        const bits = slot.table!.bits[i]!;
        if ((bits & PTE_TYPE_MASK) === PTE_PRESENT && (!write || bits & PTE_WRITE)) {
          if (write) slot.table!.bits[i] = bits | PTE_DIRTY;
          return slot.table!.pfn[i]!;
        }
      }
    }
    const r = handleMmFault(k, mm, vma, addr, write ? FAULT_FLAG_WRITE : 0);
    if (r & VM_FAULT_SIGSEGV) throw new UserFault(addr, 'SIGSEGV');
    if (r & VM_FAULT_SIGBUS) throw new UserFault(addr, 'SIGBUS');
    if (r & VM_FAULT_OOM) throw new UserFault(addr, 'SIGKILL');
  }
  throw new Error(
    `model bug: user access at 0x${addr.toString(16)} keeps faulting (a migration entry left behind?)`,
  );
}

/** copy_from_user / CPU loads: len bytes at addr. Throws UserFault. */
export function userRead(k: Kernel, mm: Mm, addr: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  let done = 0;
  while (done < len) {
    const a = addr + done;
    const off = a % PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - off, len - done);
    const pfn = userPagePfn(k, mm, a, false);
    k.frames.read(pfn, off, n, out, done);
    done += n;
  }
  return out;
}

/** copy_to_user / CPU stores. Throws UserFault (bytes before the fault are written, as on Linux). */
export function userWrite(k: Kernel, mm: Mm, addr: number, bytes: Uint8Array): void {
  const f = k.frames;
  let done = 0;
  while (done < bytes.length) {
    const a = addr + done;
    const off = a % PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - off, bytes.length - done);
    const pfn = userPagePfn(k, mm, a, true);
    f.write(pfn, off, n, bytes, done);
    f.clearFlag(pfn, PG_LAZYFREE);
    done += n;
  }
}

// ---- GUP ----------------------------------------------------------------------------

/**
 * get_user_pages / pin_user_pages: takes a reference (FOLL_GET) or a pin (FOLL_PIN: the
 * GUP_PIN_COUNTING_BIAS) on each page, faulting pages in (and device-private pages back to
 * RAM). FOLL_LONGTERM pins of device-coherent pages migrate them to RAM first. Returns the
 * pfns or -errno (-EFAULT for a missing or forbidding VMA, -ENOMEM).
 */
export function getUserPages(
  k: Kernel,
  mm: Mm,
  addr: number,
  npages: number,
  gupFlags: number,
): number[] | number {
  const out: number[] = [];
  const write = (gupFlags & FOLL_WRITE) !== 0;
  const release = () => {
    for (const p of out) k.folioPut(k.frames.head(p), gupFlags & FOLL_PIN ? GUP_PIN_COUNTING_BIAS : 1);
  };
  for (let n = 0; n < npages; n++) {
    const a = addr + n * PAGE_SIZE;
    let pfn = -1;
    for (let tries = 0; tries < 8 && pfn < 0; tries++) {
      const vma = mm.vmaLookup(a);
      if (!vma || !(vma.flags & VM_READ) || (write && !(vma.flags & VM_WRITE))) {
        release();
        return -EFAULT;
      }
      if (vma.flags & (VM_MIXEDMAP | VM_SPECIAL) && !(vma.flags & VM_MIXEDMAP)) {
        release();
        return -EFAULT;
      }
      const slot = mm.pt.slot(a);
      let cand = -1;
      if (slot?.kind === PMD_HUGE && (!write || slot.bits & PTE_WRITE)) cand = slot.pfn + pteIndex(a);
      else if (slot?.kind === PMD_TABLE) {
        const i = pteIndex(a);
        const bits = slot.table!.bits[i]!;
        if ((bits & PTE_TYPE_MASK) === PTE_PRESENT && (!write || bits & PTE_WRITE))
          cand = slot.table!.pfn[i]!;
      }
      if (cand >= 0 && gupFlags & FOLL_LONGTERM && k.isDeviceCoherent(cand)) {
        // check_and_migrate_movable_pages: coherent memory must not be pinned long term.
        const head = k.frames.head(cand);
        k.folioGet(head);
        const r = migrateDeviceCoherentFolio(k, head);
        k.folioPut(head);
        if (r < 0) {
          release();
          return r;
        }
        continue;
      }
      if (cand >= 0) {
        pfn = cand;
        break;
      }
      const r = handleMmFault(k, mm, vma, a, write ? FAULT_FLAG_WRITE : 0);
      if (r & (VM_FAULT_SIGSEGV | VM_FAULT_SIGBUS)) {
        release();
        return -EFAULT;
      }
      if (r & VM_FAULT_OOM) {
        release();
        return -ENOMEM;
      }
    }
    if (pfn < 0) throw new Error('model bug: GUP could not resolve a page');
    if (!k.isZeroPfn(pfn))
      k.frames.addRef(k.frames.head(pfn), gupFlags & FOLL_PIN ? GUP_PIN_COUNTING_BIAS : 1);
    out.push(pfn);
  }
  return out;
}

/** unpin_user_pages / put_page for what getUserPages returned. */
export function putUserPages(k: Kernel, pfns: number[], gupFlags: number): void {
  for (const p of pfns)
    if (!k.isZeroPfn(p)) k.folioPut(k.frames.head(p), gupFlags & FOLL_PIN ? GUP_PIN_COUNTING_BIAS : 1);
}

/**
 * A CPU access to one page without bytes: resolves (faulting as needed) and, for a write,
 * stores the 32-bit `tag` over the whole page (an O(1) content update). Returns the pfn.
 * Throws UserFault. Simulated workloads use this instead of byte-level stores.
 */
export function userTouch(k: Kernel, mm: Mm, addr: number, write: boolean, tag = 0): number {
  const pfn = userPagePfn(k, mm, addr, write);
  if (write) {
    k.frames.fill(pfn, tag);
    k.frames.clearFlag(pfn, PG_LAZYFREE);
  }
  return pfn;
}
