/**
 * Address spaces: mm_struct, VMAs, anon_vma and inodes (the rmap objects), and the VMA-level
 * system calls: mmap, munmap, mprotect, madvise, mremap, fork and exit (mm/mmap.c, mm/vma.c,
 * mm/mprotect.c, mm/madvise.c, mm/mremap.c, kernel/fork.c, mm/memory.c zap and copy paths).
 */

import {
  EACCES,
  EAGAIN,
  EEXIST,
  EFAULT,
  EINVAL,
  ENOMEM,
  FAULT_FLAG_WRITE,
  GUP_PIN_COUNTING_BIAS,
  HPAGE_PMD_NR,
  MADV_COLLAPSE,
  MADV_DOFORK,
  MADV_DONTFORK,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MADV_NORMAL,
  MADV_RANDOM,
  MADV_SEQUENTIAL,
  MADV_WILLNEED,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_HUGETLB,
  MAP_POPULATE,
  MAP_PRIVATE,
  MAP_SHARED,
  MAP_SHARED_VALIDATE,
  MAP_TYPE,
  MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_PROTECTION_PAGE,
  MMU_NOTIFY_PROTECTION_VMA,
  MMU_NOTIFY_RELEASE,
  MMU_NOTIFY_UNMAP,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  PAGE_SIZE,
  PMD_SIZE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  PUD_SIZE,
  TASK_SIZE,
  VM_DONTCOPY,
  VM_EXEC,
  VM_HUGEPAGE,
  VM_HUGETLB,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_MIXEDMAP,
  VM_NOHUGEPAGE,
  VM_PFNMAP,
  VM_READ,
  VM_SHARED,
  VM_SPECIAL,
  VM_WRITE,
} from './constants.js';
import { PG_ANON, PG_ANON_EXCLUSIVE, PG_DIRTY, PG_HUGETLB, PG_LAZYFREE } from './frames.js';
import { copyHighpage } from './highmem.js';
import { splitHugePmdAt } from './huge_memory.js';
import type { Kernel } from './kernel.js';
import { handleMmFault, tryRestoreExclusivePte } from './memory.js';
import { MmuNotifierSubscriptions, notify, notifyEnd, notifySteps, runToCompletion } from './mmu_notifier.js';
import {
  PageTable,
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
  pteIndex,
} from './pgtable.js';
import { AnonVma, setAnonRmap } from './rmap.js';
import type { KernelSteps } from './wait.js';

/** Lowest address mmap hands out (mmap_min_addr). */
const MMAP_MIN_ADDR = 0x10000;
/** Top of the mmap area (mmap_base), below the stack. */
const MMAP_BASE = 0x7f00_0000_0000;

/** An anon_vma: the rmap root for anonymous pages first faulted in a VMA. */
// notify/notifyEnd (mmu_notifier.ts), anon_vma and its rmap setup (rmap.ts) and the PMD split
// (huge_memory.ts) live in leaf modules, so that memory.ts and migrate_device.ts, which this
// file calls, need nothing from it at run time; re-exported for existing importers.
export { splitHugePmdAt, splitHugePmdLocked } from './huge_memory.js';
export { notify, notifyEnd } from './mmu_notifier.js';
export { AnonVma, anonVmaPrepare, setAnonRmap } from './rmap.js';

/** A file object backing shared and file mappings: tmpfs/shmem inode with its page cache. */
export class Inode {
  size = 0;
  /** Page cache: page index to pfn. */
  readonly pages = new Map<number, number>();
  /** i_mmap: the VMAs mapping this file. */
  readonly mappings = new Set<Vma>();
  constructor(
    readonly id: number,
    readonly name: string,
  ) {}
}

/** vm_operations for special VMAs (e.g. a driver's mmap). */
export interface VmaSpecialOps {
  /** Name for reports. */
  name: string;
  /** Called when the VMA is closed (unmapped). */
  close?(vma: Vma): void;
}

export class Vma {
  anonVma: AnonVma | null = null;
  /** The anon_vma chain: every anon_vma whose pages this VMA may map. */
  anonChain: AnonVma[] = [];
  special: VmaSpecialOps | null = null;
  constructor(
    public mm: Mm,
    public start: number,
    public end: number,
    public flags: number,
    /** vm_pgoff: file page offset, or start >> PAGE_SHIFT for anonymous memory. */
    public pgoff: number,
    public file: Inode | null,
  ) {}

  /** vma_is_anonymous: no file and no special ops. */
  isAnonymous(): boolean {
    return this.file === null && this.special === null;
  }

  /** Page index of va for rmap (linear_page_index). */
  linearPageIndex(va: number): number {
    return this.pgoff + Math.floor((va - this.start) / PAGE_SIZE);
  }
}

export class Mm {
  readonly pt = new PageTable();
  readonly vmas: Vma[] = [];
  readonly notifiers: MmuNotifierSubscriptions;
  /** mm_users: the process plus temporary mmget() references. */
  users = 1;
  dead = false;
  constructor(readonly id: number) {
    this.notifiers = new MmuNotifierSubscriptions(id);
  }

  /** find_vma: the first VMA with end > addr. */
  findVma(addr: number): Vma | undefined {
    const v = this.vmas;
    let lo = 0;
    let hi = v.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (v[mid]!.end <= addr) lo = mid + 1;
      else hi = mid;
    }
    return v[lo];
  }

  /** vma_lookup: the VMA containing addr. */
  vmaLookup(addr: number): Vma | undefined {
    const vma = this.findVma(addr);
    return vma && vma.start <= addr ? vma : undefined;
  }

  insertVma(vma: Vma): void {
    const v = this.vmas;
    let i = 0;
    while (i < v.length && v[i]!.start < vma.start) i++;
    v.splice(i, 0, vma);
  }
}

// ---- helpers --------------------------------------------------------------------------

function protToVmFlags(prot: number): number {
  return (
    (prot & PROT_READ ? VM_READ : 0) | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0)
  );
}

function linkVma(vma: Vma): void {
  for (const av of vma.anonChain) av.vmas.add(vma);
  vma.file?.mappings.add(vma);
}

function unlinkVma(vma: Vma): void {
  for (const av of vma.anonChain) av.vmas.delete(vma);
  vma.file?.mappings.delete(vma);
}

/** __split_vma: splits vma at addr; returns the new upper part (already inserted). */
export function splitVma(k: Kernel, mm: Mm, vma: Vma, addr: number): Vma {
  if (addr % PMD_SIZE !== 0) splitHugePmdAt(k, mm, addr);
  const upper = new Vma(mm, addr, vma.end, vma.flags, vma.pgoff + (addr - vma.start) / PAGE_SIZE, vma.file);
  upper.anonVma = vma.anonVma;
  upper.anonChain = [...vma.anonChain];
  upper.special = vma.special;
  vma.end = addr;
  linkVma(upper);
  mm.insertVma(upper);
  return upper;
}

function removeVma(mm: Mm, vma: Vma): void {
  detachVma(mm, vma);
  closeVma(vma);
}

/** Takes a VMA out of the address space (the maple tree): lookups no longer find it. */
function detachVma(mm: Mm, vma: Vma): void {
  const i = mm.vmas.indexOf(vma);
  if (i >= 0) mm.vmas.splice(i, 1);
}

/** remove_vma after the zap: out of the rmap (unlink_anon_vmas, the file's mappings), closed. */
function closeVma(vma: Vma): void {
  unlinkVma(vma);
  vma.special?.close?.(vma);
}

/** VMAs overlapping [start, end), split so that they lie exactly inside it. */
function isolateRange(k: Kernel, mm: Mm, start: number, end: number): Vma[] {
  const out: Vma[] = [];
  let vma = mm.findVma(start);
  while (vma && vma.start < end) {
    if (vma.start < start) {
      vma = splitVma(k, mm, vma, start);
      continue;
    }
    if (vma.end > end) splitVma(k, mm, vma, end);
    out.push(vma);
    vma = mm.findVma(vma.end);
  }
  return out;
}

/** Merges adjacent anonymous VMAs that are identical in all but their range (vma_merge). */
function mergeAround(mm: Mm, start: number, end: number): void {
  const v = mm.vmas;
  for (let i = 0; i + 1 < v.length; i++) {
    const a = v[i]!;
    const b = v[i + 1]!;
    if (b.start > end) break;
    if (a.end < start) continue;
    if (
      a.end === b.start &&
      a.flags === b.flags &&
      a.file === b.file &&
      a.special === null &&
      b.special === null &&
      a.anonVma === b.anonVma &&
      a.anonChain.length === b.anonChain.length &&
      a.anonChain.every((x, j) => x === b.anonChain[j]) &&
      a.pgoff + (a.end - a.start) / PAGE_SIZE === b.pgoff
    ) {
      unlinkVma(b);
      a.end = b.end;
      v.splice(i + 1, 1);
      i--;
    }
  }
}

/** Whether [start, end) is fully covered by VMAs. */
function rangeMapped(mm: Mm, start: number, end: number): boolean {
  let at = start;
  let vma = mm.findVma(start);
  while (at < end) {
    if (!vma || vma.start > at) return false;
    at = vma.end;
    vma = mm.findVma(at);
  }
  return true;
}

// ---- huge PMD splitting -------------------------------------------------------------

// ---- zapping --------------------------------------------------------------------------

/** Drops one mapping of the page `pfn` (page_remove_rmap + folio_put). */
function dropMapping(k: Kernel, pfn: number): void {
  if (k.isZeroPfn(pfn)) return;
  k.frames.addMapcount(pfn, -1);
  k.folioPut(k.frames.head(pfn));
}

/**
 * zap_page_range: removes every mapping in [start, end) of one VMA (caller notifies). Huge
 * mappings partly inside the range are split first.
 */
export function zapRange(k: Kernel, mm: Mm, start: number, end: number): void {
  const pt = mm.pt;
  let addr = start;
  while (addr < end) {
    const pmdEnd = Math.min(end, (Math.floor(addr / PMD_SIZE) + 1) * PMD_SIZE);
    const slot = pt.slot(addr);
    if (!slot || slot.kind === PMD_NONE) {
      addr = pmdEnd;
      continue;
    }
    if (slot.kind === PMD_MIGRATION) throw new Error('model bug: zapping a PMD migration entry');
    if (slot.kind === PMD_HUGE || slot.kind === PMD_DEVICE_PRIVATE) {
      const whole = addr % PMD_SIZE === 0 && pmdEnd - addr === PMD_SIZE;
      if (whole) {
        const head = slot.pfn;
        if (head !== k.hugeZeroPfn) {
          for (let i = 0; i < HPAGE_PMD_NR; i++) k.frames.addMapcount(head + i, -1);
          k.folioPut(head);
        }
        slot.kind = PMD_NONE;
        pt.releaseIfEmpty(addr);
        addr = pmdEnd;
        continue;
      }
      splitHugePmdAt(k, mm, addr);
    }
    const t = slot.table!;
    for (let a = addr; a < pmdEnd; a += PAGE_SIZE) {
      const i = pteIndex(a);
      const bits = t.bits[i]!;
      const type = bits & PTE_TYPE_MASK;
      if (type === PTE_NONE) continue;
      if (type === PTE_MIGRATION) throw new Error('model bug: zapping a migration entry');
      dropMapping(k, t.pfn[i]!);
      t.bits[i] = PTE_NONE;
      t.pfn[i] = 0;
      t.used--;
    }
    pt.releaseIfEmpty(addr);
    addr = pmdEnd;
  }
}

// ---- mmap -----------------------------------------------------------------------------

export interface MmapFile {
  /** The inode for file and shmem mappings. */
  inode?: Inode;
  /** A driver's mmap: sets up the VMA (e.g. inserts pages). Returns 0 or -errno. */
  driverMmap?: (vma: Vma) => number;
  /** The fd was opened for reading / writing. */
  readable: boolean;
  writable: boolean;
}

/** get_unmapped_area, top-down from mmap_base. Returns an address or -ENOMEM. */
function getUnmappedArea(mm: Mm, len: number, align: number): number {
  let top = MMAP_BASE;
  for (let i = mm.vmas.length - 1; i >= -1; i--) {
    const below = i >= 0 ? mm.vmas[i]! : null;
    if (below && below.start >= top) continue;
    const floor = below ? Math.max(below.end, MMAP_MIN_ADDR) : MMAP_MIN_ADDR;
    const cand = Math.floor((top - len) / align) * align;
    if (cand >= floor) return cand;
    if (below) top = Math.min(top, below.start);
  }
  return -ENOMEM;
}

/**
 * do_mmap: returns the mapped address or -errno: -EINVAL (zero length, bad flags or
 * alignment), -ENOMEM (no address space, hugetlb pool empty), -EACCES (fd mode), -EEXIST
 * (MAP_FIXED_NOREPLACE over a mapping).
 */
export function doMmap(
  k: Kernel,
  mm: Mm,
  addr: number,
  length: number,
  prot: number,
  flags: number,
  file: MmapFile | null,
  offset: number,
): number {
  if (!Number.isInteger(addr) || !Number.isInteger(length) || !Number.isInteger(offset)) return -EINVAL;
  if (length <= 0 || offset < 0) return -EINVAL;
  if (offset % PAGE_SIZE !== 0) return -EINVAL;
  // mmap ignores protection bits it does not know (only mprotect validates them).
  prot &= PROT_READ | PROT_WRITE | PROT_EXEC;
  const type = flags & MAP_TYPE;
  if (type !== MAP_SHARED && type !== MAP_PRIVATE && type !== MAP_SHARED_VALIDATE) return -EINVAL;
  const shared = type === MAP_SHARED || type === MAP_SHARED_VALIDATE;
  const hugetlb = (flags & MAP_HUGETLB) !== 0;
  const align = hugetlb ? PMD_SIZE : PAGE_SIZE;
  let len = Math.ceil(length / align) * align;
  if (len > TASK_SIZE) return -ENOMEM;
  if (hugetlb && file) return -EINVAL;
  if (file?.inode && !file.readable) return -EACCES;
  if (file?.inode && shared && prot & PROT_WRITE && !file.writable) return -EACCES;
  const fixed = (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) !== 0;
  if (fixed) {
    if (addr % align !== 0) return -EINVAL;
    if (addr + len > TASK_SIZE || addr < MMAP_MIN_ADDR) return -ENOMEM;
    if (flags & MAP_FIXED_NOREPLACE && !(flags & MAP_FIXED)) {
      const v = mm.findVma(addr);
      if (v && v.start < addr + len) return -EEXIST;
    }
  } else {
    // Hint ignored unless free (Linux tries the hint first); anonymous mappings that are a
    // multiple of PMD_SIZE are PMD aligned when THP is enabled (thp_get_unmapped_area).
    let a = -1;
    if (addr >= MMAP_MIN_ADDR && addr % PAGE_SIZE === 0 && addr + len <= TASK_SIZE) {
      const v = mm.findVma(addr);
      if (!v || v.start >= addr + len) a = addr;
    }
    if (a < 0) {
      const thpAlign = !file && !hugetlb && k.thp !== 'never' && len % PMD_SIZE === 0;
      a = getUnmappedArea(mm, len, thpAlign ? PMD_SIZE : align);
      if (a < 0) return a;
    }
    addr = a;
  }
  if (hugetlb && k.hugetlbFree < len / PMD_SIZE) return -ENOMEM;
  let vmFlags = protToVmFlags(prot) | VM_MAYREAD | VM_MAYEXEC;
  if (shared) {
    vmFlags |= VM_SHARED | VM_MAYSHARE;
    if (!file?.inode || file.writable) vmFlags |= VM_MAYWRITE;
  } else {
    vmFlags |= VM_MAYWRITE;
  }
  if (hugetlb) vmFlags |= VM_HUGETLB;
  // Replace whatever was mapped there (MAP_FIXED semantics).
  if (fixed) {
    const r = doMunmap(k, mm, addr, len);
    if (r < 0) return r;
  }
  let inode = file?.inode ?? null;
  if (!file && shared) {
    // Shared anonymous memory is a shmem file of the mapping's size.
    inode = new Inode(k.newId(), 'dev/zero (shmem)');
    inode.size = len;
    k.inodes.set(inode.id, inode);
  }
  const pgoff = inode ? offset / PAGE_SIZE : addr / PAGE_SIZE;
  const vma = new Vma(mm, addr, addr + len, vmFlags, pgoff, inode);
  if (file?.driverMmap) {
    vma.flags |= VM_MIXEDMAP;
    vma.special = { name: 'driver mmap' };
    mm.insertVma(vma);
    linkVma(vma);
    const r = file.driverMmap(vma);
    if (r < 0) {
      zapRange(k, mm, vma.start, vma.end);
      removeVma(mm, vma);
      return r;
    }
  } else {
    mm.insertVma(vma);
    linkVma(vma);
  }
  len = vma.end - vma.start;
  if (flags & MAP_POPULATE) populateRange(k, mm, addr, addr + len);
  if (!file && !shared && !hugetlb) mergeAround(mm, addr, addr + len);
  return addr;
}

/** populate_vma_page_range: faults every page in, writable where the VMA is writable. */
export function populateRange(k: Kernel, mm: Mm, start: number, end: number): void {
  for (let a = start; a < end; a += PAGE_SIZE) {
    const vma = mm.vmaLookup(a);
    if (!vma || !(vma.flags & (VM_READ | VM_WRITE))) continue;
    const write = (vma.flags & VM_WRITE) !== 0 && !(vma.flags & VM_SHARED) ? FAULT_FLAG_WRITE : 0;
    handleMmFault(k, mm, vma, a, write);
    // A huge mapping covers the rest of its PMD.
    const slot = mm.pt.slot(a);
    if (slot && slot.kind === PMD_HUGE) a = (Math.floor(a / PMD_SIZE) + 1) * PMD_SIZE - PAGE_SIZE;
  }
}

/** munmap: 0 or -EINVAL (unaligned address, zero length, beyond the address space). */
export function doMunmap(k: Kernel, mm: Mm, start: number, length: number): number {
  return runToCompletion(doMunmapSteps(k, mm, start, length));
}

/**
 * munmap as resumable steps (mm/vma.c: do_vmi_align_munmap, vms_complete_munmap_vmas): the
 * VMAs are taken out of the address space first, so a fault or an hmm_range_fault from here
 * on finds none (-EFAULT); the UNMAP invalidation yields at its start and after each
 * interval's callback (notifySteps), with mmap_lock downgraded to read as the munmap
 * syscall does, so readers may run there; then, in one step, the page tables are zapped, the
 * invalidation ends and the VMAs leave the rmap (remove_vma). Returns as doMunmap.
 */
export function* doMunmapSteps(k: Kernel, mm: Mm, start: number, length: number): KernelSteps {
  if (!Number.isInteger(start) || !Number.isInteger(length)) return -EINVAL;
  if (start % PAGE_SIZE !== 0 || length <= 0 || start + length > TASK_SIZE || start < 0) return -EINVAL;
  let end = start + Math.ceil(length / PAGE_SIZE) * PAGE_SIZE;
  // hugetlb VMAs are unmapped in whole huge pages.
  const first = mm.findVma(start);
  if (first && first.start < end && first.flags & VM_HUGETLB && start % PMD_SIZE !== 0) return -EINVAL;
  for (const v of mm.vmas) {
    if (v.start < end && v.end > start && v.flags & VM_HUGETLB)
      end = Math.max(end, Math.ceil(end / PMD_SIZE) * PMD_SIZE);
  }
  const vmas = isolateRange(k, mm, start, end);
  if (vmas.length === 0) return 0;
  for (const vma of vmas) detachVma(mm, vma);
  const r = yield* notifySteps(mm, MMU_NOTIFY_UNMAP, start, end);
  for (const vma of vmas) zapRange(k, mm, vma.start, vma.end);
  notifyEnd(mm, r);
  for (const vma of vmas) closeVma(vma);
  return 0;
}

// ---- mprotect -------------------------------------------------------------------------

/**
 * mprotect: 0 or -EINVAL (unaligned, bad prot), -ENOMEM (range not fully mapped: checked
 * before anything changes, where Linux may already have changed the VMAs before the hole),
 * -EACCES (PROT_WRITE on a mapping that may not be written).
 */
export function doMprotect(k: Kernel, mm: Mm, start: number, length: number, prot: number): number {
  if (!Number.isInteger(start) || !Number.isInteger(length)) return -EINVAL;
  if (start % PAGE_SIZE !== 0 || length < 0) return -EINVAL;
  // arch_validate_prot on x86: R, W, X and PROT_SEM (0x8, accepted and ignored).
  if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | 0x8)) return -EINVAL;
  prot &= PROT_READ | PROT_WRITE | PROT_EXEC;
  if (length === 0) return 0;
  const end = start + Math.ceil(length / PAGE_SIZE) * PAGE_SIZE;
  if (end > TASK_SIZE) return -ENOMEM;
  if (!rangeMapped(mm, start, end)) return -ENOMEM;
  const newFlags = protToVmFlags(prot);
  for (let v = mm.findVma(start); v && v.start < end; v = mm.findVma(v.end)) {
    if (newFlags & VM_WRITE && !(v.flags & VM_MAYWRITE)) return -EACCES;
    if (v.flags & VM_HUGETLB && (start % PMD_SIZE !== 0 || end % PMD_SIZE !== 0)) return -EINVAL;
  }
  // mprotect_fixup per VMA: one whose flags stay the same is left alone (no split, no
  // invalidation); the others are split to the range and changed.
  const parts: [number, number][] = [];
  for (let v = mm.findVma(start); v && v.start < end; v = mm.findVma(v.end)) {
    if (((v.flags & ~(VM_READ | VM_WRITE | VM_EXEC)) | newFlags) === v.flags) continue;
    parts.push([Math.max(start, v.start), Math.min(end, v.end)]);
  }
  for (const [s, e] of parts) {
    for (const vma of isolateRange(k, mm, s, e)) {
      const old = vma.flags;
      vma.flags = (old & ~(VM_READ | VM_WRITE | VM_EXEC)) | newFlags;
      changeProtection(
        k,
        mm,
        vma,
        (old & VM_WRITE) !== 0 && !(newFlags & VM_WRITE),
        !(old & VM_WRITE) && (newFlags & VM_WRITE) !== 0,
      );
    }
  }
  mergeAround(mm, start, end);
  return 0;
}

/**
 * The P4D size of x86-64 with 4-level paging (the p4d is folded into the pgd): 512 GiB.
 * change_pud_range runs once per P4D entry, each with its own notifier range.
 */
const P4D_SIZE = 2 ** 39;

/**
 * Whether the PUD entry covering `pud` (a PUD-aligned address) is not none: the model has no
 * PUD level, so a PUD counts as present when any PMD slot of its 1 GiB has page tables.
 */
function pudPresent(mm: Mm, pud: number): boolean {
  const first = pud / PMD_SIZE;
  const last = first + PUD_SIZE / PMD_SIZE;
  const pmds = mm.pt.pmds;
  if (pmds.size < last - first) {
    for (const key of pmds.keys()) if (key >= first && key < last) return true;
    return false;
  }
  for (let key = first; key < last; key++) if (pmds.has(key)) return true;
  return false;
}

/**
 * change_protection over one VMA: removing write clears the write bit of every entry;
 * adding write upgrades exclusive anonymous pages directly (can_change_pte_writable) and
 * leaves the rest to write faults. The MMU_NOTIFY_PROTECTION_VMA invalidation follows
 * change_pud_range: per P4D, it starts at the first PUD that is not none and runs to the end
 * of that P4D's part of the range; a range without page tables is not notified at all.
 * hugetlb VMAs (hugetlb_change_protection) are notified over the whole range.
 */
function changeProtection(k: Kernel, mm: Mm, vma: Vma, removeWrite: boolean, addWrite: boolean): void {
  if (vma.flags & VM_HUGETLB) {
    const r = notify(mm, MMU_NOTIFY_PROTECTION_VMA, vma.start, vma.end);
    changePteRanges(k, mm, vma, vma.start, vma.end, removeWrite, addWrite);
    notifyEnd(mm, r);
    return;
  }
  for (let p4d = vma.start; p4d < vma.end; ) {
    const p4dEnd = Math.min(vma.end, (Math.floor(p4d / P4D_SIZE) + 1) * P4D_SIZE);
    let from = -1;
    for (let a = p4d; a < p4dEnd; a = Math.min(p4dEnd, (Math.floor(a / PUD_SIZE) + 1) * PUD_SIZE)) {
      if (pudPresent(mm, Math.floor(a / PUD_SIZE) * PUD_SIZE)) {
        from = a;
        break;
      }
    }
    if (from >= 0) {
      const r = notify(mm, MMU_NOTIFY_PROTECTION_VMA, from, p4dEnd);
      changePteRanges(k, mm, vma, from, p4dEnd, removeWrite, addWrite);
      notifyEnd(mm, r);
    }
    p4d = p4dEnd;
  }
}

/** change_pmd_range / change_pte_range over [start, end) of one VMA. */
function changePteRanges(
  k: Kernel,
  mm: Mm,
  vma: Vma,
  start: number,
  end: number,
  removeWrite: boolean,
  addWrite: boolean,
): void {
  if (!removeWrite && !addWrite) return;
  const f = k.frames;
  const upgradeOk = addWrite && !(vma.flags & VM_SHARED);
  for (let a = start; a < end; ) {
    const pmdEnd = Math.min(end, (Math.floor(a / PMD_SIZE) + 1) * PMD_SIZE);
    const slot = mm.pt.slot(a);
    if (slot && slot.kind !== PMD_NONE) {
      if (slot.kind === PMD_TABLE) {
        const t = slot.table!;
        for (let x = a; x < pmdEnd; x += PAGE_SIZE) {
          const i = pteIndex(x);
          const bits = t.bits[i]!;
          const type = bits & PTE_TYPE_MASK;
          if (type === PTE_NONE) continue;
          if (removeWrite) t.bits[i] = bits & ~PTE_WRITE;
          else if (upgradeOk && type === PTE_PRESENT && !(bits & PTE_SPECIAL)) {
            const pfn = t.pfn[i]!;
            if (f.hasFlag(pfn, PG_ANON) && f.hasFlag(pfn, PG_ANON_EXCLUSIVE)) t.bits[i] = bits | PTE_WRITE;
          }
        }
      } else if (slot.kind === PMD_HUGE || slot.kind === PMD_DEVICE_PRIVATE) {
        if (removeWrite) slot.bits &= ~PTE_WRITE;
        else if (upgradeOk && slot.kind === PMD_HUGE && slot.pfn !== k.hugeZeroPfn) {
          if (f.hasFlag(slot.pfn, PG_ANON) && f.hasFlag(slot.pfn, PG_ANON_EXCLUSIVE)) slot.bits |= PTE_WRITE;
        }
      }
    }
    a = pmdEnd;
  }
}

// ---- madvise ----------------------------------------------------------------------------

/**
 * madvise: 0 or -EINVAL (unaligned, unknown advice, unsupported mapping), -ENOMEM (part of
 * the range is unmapped; the mapped parts are still advised, as Linux does), -EAGAIN
 * (MADV_COLLAPSE could not collapse).
 */
export function doMadvise(k: Kernel, mm: Mm, start: number, length: number, advice: number): number {
  if (!Number.isInteger(start) || !Number.isInteger(length)) return -EINVAL;
  if (start % PAGE_SIZE !== 0 || length < 0) return -EINVAL;
  const known = [
    MADV_NORMAL,
    MADV_RANDOM,
    MADV_SEQUENTIAL,
    MADV_WILLNEED,
    MADV_DONTNEED,
    MADV_FREE,
    MADV_DONTFORK,
    MADV_DOFORK,
    MADV_HUGEPAGE,
    MADV_NOHUGEPAGE,
    MADV_COLLAPSE,
  ];
  if (!known.includes(advice)) return -EINVAL;
  if (length === 0) return 0;
  const end = start + Math.ceil(length / PAGE_SIZE) * PAGE_SIZE;
  if (end > TASK_SIZE) return -EINVAL;
  const unmapped = !rangeMapped(mm, start, end);
  // Validate before changing anything.
  for (let v = mm.findVma(start); v && v.start < end; v = mm.findVma(v.end)) {
    if ((advice === MADV_DONTNEED || advice === MADV_FREE) && v.flags & VM_PFNMAP) return -EINVAL;
    if (advice === MADV_FREE && !v.isAnonymous()) return -EINVAL;
    if ((advice === MADV_HUGEPAGE || advice === MADV_NOHUGEPAGE) && v.flags & (VM_SPECIAL | VM_HUGETLB)) {
      return -EINVAL;
    }
    if (advice === MADV_COLLAPSE && !v.isAnonymous()) return -EINVAL;
  }
  switch (advice) {
    case MADV_DONTNEED: {
      for (let v = mm.findVma(start); v && v.start < end; v = mm.findVma(v.end)) {
        const s = Math.max(start, v.start);
        const e = Math.min(end, v.end);
        const r = notify(mm, MMU_NOTIFY_CLEAR, s, e);
        zapRange(k, mm, s, e);
        notifyEnd(mm, r);
      }
      break;
    }
    case MADV_FREE:
      madviseFree(k, mm, start, end);
      break;
    case MADV_HUGEPAGE:
    case MADV_NOHUGEPAGE:
    case MADV_DONTFORK:
    case MADV_DOFORK: {
      const vmas = isolateRange(k, mm, start, end);
      for (const v of vmas) {
        if (advice === MADV_HUGEPAGE) v.flags = (v.flags & ~VM_NOHUGEPAGE) | VM_HUGEPAGE;
        else if (advice === MADV_NOHUGEPAGE) v.flags = (v.flags & ~VM_HUGEPAGE) | VM_NOHUGEPAGE;
        else if (advice === MADV_DONTFORK) v.flags |= VM_DONTCOPY;
        else v.flags &= ~VM_DONTCOPY;
      }
      mergeAround(mm, start, end);
      break;
    }
    case MADV_COLLAPSE: {
      const r = collapseRange(k, mm, start, end);
      if (r < 0) return r;
      break;
    }
    default:
      break; // NORMAL, RANDOM, SEQUENTIAL, WILLNEED: readahead hints with no effect here.
  }
  return unmapped ? -ENOMEM : 0;
}

/**
 * MADV_FREE: clean anonymous pages become lazily freeable. The model has no reclaim, so
 * they keep their content until written again (which cancels the lazy free), an outcome
 * Linux also allows. Device-private entries are left alone, as madvise_free_pte_range does.
 */
function madviseFree(k: Kernel, mm: Mm, start: number, end: number): void {
  const f = k.frames;
  // One invalidation per VMA over its part of the range (madvise_free_single_vma); holes get none.
  for (let v = mm.findVma(start); v && v.start < end; v = mm.findVma(v.end)) {
    const s = Math.max(start, v.start);
    const e = Math.min(end, v.end);
    const r = notify(mm, MMU_NOTIFY_CLEAR, s, e);
    lazyFreeRange(k, mm, s, e);
    notifyEnd(mm, r);
  }
  void f;
}

function lazyFreeRange(k: Kernel, mm: Mm, start: number, end: number): void {
  const f = k.frames;
  for (let a = start; a < end; a += PAGE_SIZE) {
    const slot = mm.pt.slot(a);
    if (!slot) continue;
    let pfn = -1;
    if (slot.kind === PMD_HUGE) pfn = slot.pfn + pteIndex(a);
    else if (slot.kind === PMD_TABLE) {
      const i = pteIndex(a);
      if ((slot.table!.bits[i]! & PTE_TYPE_MASK) === PTE_PRESENT) pfn = slot.table!.pfn[i]!;
    }
    if (pfn >= 0 && !k.isZeroPfn(pfn) && f.hasFlag(pfn, PG_ANON)) {
      f.setFlag(pfn, PG_LAZYFREE);
      f.clearFlag(pfn, PG_DIRTY);
    }
  }
}

/**
 * MADV_COLLAPSE: every PMD-aligned 2 MiB block of the range that lies in one anonymous VMA
 * and is mapped by PTEs of exclusive, unpinned anonymous pages (or none) is copied into a
 * new THP and mapped by a PMD (khugepaged's collapse_huge_page, synchronously).
 */
function collapseRange(k: Kernel, mm: Mm, start: number, end: number): number {
  const f = k.frames;
  for (let h = Math.ceil(start / PMD_SIZE) * PMD_SIZE; h + PMD_SIZE <= end; h += PMD_SIZE) {
    const vma = mm.vmaLookup(h);
    if (!vma || vma.end < h + PMD_SIZE || vma.start > h || !vma.isAnonymous()) return -EINVAL;
    const slot = mm.pt.slot(h);
    if (slot && slot.kind === PMD_HUGE && slot.pfn !== k.hugeZeroPfn) continue; // already huge
    if (slot && slot.kind !== PMD_TABLE && slot.kind !== PMD_NONE && slot.kind !== PMD_HUGE) return -EAGAIN;
    if (slot && slot.kind === PMD_TABLE) {
      const t = slot.table!;
      for (let i = 0; i < HPAGE_PMD_NR; i++) {
        const type = t.bits[i]! & PTE_TYPE_MASK;
        if (type === PTE_NONE) continue;
        if (type !== PTE_PRESENT) return -EAGAIN;
        const pfn = t.pfn[i]!;
        if (k.isZeroPfn(pfn)) continue;
        const head = f.head(pfn);
        if (!f.hasFlag(pfn, PG_ANON) || f.mapcount(pfn) !== 1) return -EAGAIN;
        if (f.ref(head) >= GUP_PIN_COUNTING_BIAS) return -EAGAIN;
      }
    }
    const huge = k.allocFolio(9);
    if (huge < 0) return -ENOMEM;
    const r = notify(mm, MMU_NOTIFY_CLEAR, h, h + PMD_SIZE);
    let write = (vma.flags & VM_WRITE) !== 0;
    if (slot && slot.kind === PMD_TABLE) {
      const t = slot.table!;
      for (let i = 0; i < HPAGE_PMD_NR; i++) {
        const type = t.bits[i]! & PTE_TYPE_MASK;
        if (type === PTE_NONE) continue;
        const pfn = t.pfn[i]!;
        if (!k.isZeroPfn(pfn)) copyHighpage(k, huge + i, pfn);
        dropMapping(k, pfn);
      }
    } else if (slot && slot.kind === PMD_HUGE) {
      // The huge zero folio: the new THP is already zeroed.
      write = (vma.flags & VM_WRITE) !== 0;
    }
    const s = mm.pt.slotAlloc(h);
    s.kind = PMD_HUGE;
    s.table = null;
    s.pfn = huge;
    s.bits = (write ? PTE_WRITE : 0) | PTE_DIRTY;
    for (let i = 0; i < HPAGE_PMD_NR; i++) {
      setAnonRmap(k, vma, huge + i, h + i * PAGE_SIZE, true);
      f.addMapcount(huge + i, 1);
    }
    notifyEnd(mm, r);
  }
  return 0;
}

// ---- mremap ---------------------------------------------------------------------------

/**
 * mremap: returns the new address or -errno: -EINVAL (bad flags, unaligned, overlapping
 * ranges, DONTUNMAP with a size change), -EFAULT (old range not one VMA), -ENOMEM (cannot
 * grow in place without MREMAP_MAYMOVE, or no room).
 */
export function doMremap(
  k: Kernel,
  mm: Mm,
  oldAddr: number,
  oldLen: number,
  newLen: number,
  flags: number,
  newAddr?: number,
): number {
  if (![oldAddr, oldLen, newLen].every(Number.isInteger)) return -EINVAL;
  if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) return -EINVAL;
  if (flags & MREMAP_FIXED && !(flags & MREMAP_MAYMOVE)) return -EINVAL;
  if (flags & MREMAP_DONTUNMAP && (!(flags & MREMAP_MAYMOVE) || oldLen !== newLen)) return -EINVAL;
  if (oldAddr % PAGE_SIZE !== 0) return -EINVAL;
  oldLen = Math.ceil(oldLen / PAGE_SIZE) * PAGE_SIZE;
  newLen = Math.ceil(newLen / PAGE_SIZE) * PAGE_SIZE;
  if (newLen === 0 || oldLen === 0) return -EINVAL;
  const vma = mm.vmaLookup(oldAddr);
  if (!vma || oldAddr + oldLen > vma.end) return -EFAULT;
  if (vma.flags & (VM_HUGETLB | VM_PFNMAP | VM_MIXEDMAP)) return -EINVAL;
  // MREMAP_DONTUNMAP works on any private or shared mapping since Linux 5.13.
  if (flags & MREMAP_FIXED) {
    if (newAddr === undefined || !Number.isInteger(newAddr) || newAddr % PAGE_SIZE !== 0) return -EINVAL;
    if (newAddr + newLen > TASK_SIZE || newAddr < MMAP_MIN_ADDR) return -EINVAL;
    if (newAddr < oldAddr + oldLen && oldAddr < newAddr + newLen) return -EINVAL;
    // Linux unmaps the target first.
    const r = doMunmap(k, mm, newAddr, newLen);
    if (r < 0) return r;
    let srcLen = oldLen;
    if (newLen < oldLen) {
      doMunmap(k, mm, oldAddr + newLen, oldLen - newLen);
      srcLen = newLen;
    }
    return moveVma(k, mm, oldAddr, srcLen, newAddr, newLen, (flags & MREMAP_DONTUNMAP) !== 0);
  }
  if (newLen <= oldLen) {
    if (newLen < oldLen) doMunmap(k, mm, oldAddr + newLen, oldLen - newLen);
    if (flags & MREMAP_DONTUNMAP) {
      const dst = getUnmappedArea(mm, newLen, PAGE_SIZE);
      if (dst < 0) return dst;
      return moveVma(k, mm, oldAddr, newLen, dst, newLen, true);
    }
    return oldAddr;
  }
  // Grow: in place if the old range ends at the VMA's end and the space after it is free.
  if (oldAddr + oldLen === vma.end) {
    const next = mm.findVma(vma.end);
    if ((!next || next.start >= oldAddr + newLen) && oldAddr + newLen <= TASK_SIZE) {
      if (vma.file) vma.end = oldAddr + newLen;
      else vma.end = oldAddr + newLen;
      return oldAddr;
    }
  }
  if (!(flags & MREMAP_MAYMOVE)) return -ENOMEM;
  const dst = getUnmappedArea(mm, newLen, PAGE_SIZE);
  if (dst < 0) return dst;
  return moveVma(k, mm, oldAddr, oldLen, dst, newLen, false);
}

/**
 * move_vma: moves the mappings of [oldAddr, oldAddr + len) to newAddr (move_page_tables:
 * whole PMDs move when both sides are PMD aligned, otherwise huge entries are split and PTEs
 * move one by one). The old range is notified UNMAP. With DONTUNMAP the old VMA stays,
 * empty. The new VMA is newLen long (the grown part is unpopulated).
 */
function moveVma(
  k: Kernel,
  mm: Mm,
  oldAddr: number,
  len: number,
  newAddr: number,
  newLen: number,
  dontUnmap: boolean,
): number {
  const vmas = isolateRange(k, mm, oldAddr, oldAddr + len);
  const src = vmas[0]!;
  const dst = new Vma(mm, newAddr, newAddr + newLen, src.flags, src.pgoff, src.file);
  dst.anonVma = src.anonVma;
  dst.anonChain = [...src.anonChain];
  dst.special = src.special;
  mm.insertVma(dst);
  linkVma(dst);
  const r = notify(mm, MMU_NOTIFY_UNMAP, oldAddr, oldAddr + len);
  const pt = mm.pt;
  for (let off = 0; off < len; ) {
    const from = oldAddr + off;
    const to = newAddr + off;
    const slot = pt.slot(from);
    if (!slot || slot.kind === PMD_NONE) {
      off = Math.min(len, (Math.floor(from / PMD_SIZE) + 1) * PMD_SIZE - oldAddr);
      continue;
    }
    if (slot.kind === PMD_HUGE || slot.kind === PMD_DEVICE_PRIVATE) {
      if (from % PMD_SIZE === 0 && to % PMD_SIZE === 0 && len - off >= PMD_SIZE) {
        const d = pt.slotAlloc(to);
        if (d.kind !== PMD_NONE && !(d.kind === PMD_TABLE && d.table!.used === 0)) {
          throw new Error('model bug: mremap target PMD not empty');
        }
        d.kind = slot.kind;
        d.pfn = slot.pfn;
        d.bits = slot.bits;
        d.table = null;
        slot.kind = PMD_NONE;
        pt.releaseIfEmpty(from);
        off += PMD_SIZE;
        continue;
      }
      splitHugePmdAt(k, mm, from);
    }
    const pmdEnd = Math.min(len, (Math.floor(from / PMD_SIZE) + 1) * PMD_SIZE - oldAddr);
    const t = slot.table!;
    for (; off < pmdEnd; off += PAGE_SIZE) {
      const i = pteIndex(oldAddr + off);
      const bits = t.bits[i]!;
      if ((bits & PTE_TYPE_MASK) === PTE_NONE) continue;
      const dt = pt.tableAlloc(newAddr + off);
      if (!dt) throw new Error('model bug: mremap target is a huge mapping');
      const j = pteIndex(newAddr + off);
      dt.pfn[j] = t.pfn[i]!;
      dt.bits[j] = bits;
      dt.used++;
      t.bits[i] = PTE_NONE;
      t.pfn[i] = 0;
      t.used--;
    }
    pt.releaseIfEmpty(oldAddr + off - PAGE_SIZE);
  }
  notifyEnd(mm, r);
  if (dontUnmap) {
    // The source VMA stays mapped but empty; pages faulted there later get a fresh anon_vma
    // index space (Linux gives it a new anon_vma too).
    for (const v of vmas) {
      if (v.file) continue; // a file mapping stays as it was: its pages fault in again
      unlinkVma(v);
      v.anonVma = null;
      v.anonChain = [];
      v.pgoff = v.start / PAGE_SIZE;
    }
  } else {
    for (const v of vmas) removeVma(mm, v);
  }
  return newAddr;
}

// ---- fork and exit ----------------------------------------------------------------------

/**
 * dup_mmap: a copy of `parent` for a child process. Private writable mappings become
 * copy-on-write (both sides write-protected, parent notified PROTECTION_PAGE); pinned
 * exclusive anonymous pages are copied at once (copy_present_page); device-private entries
 * are shared read-only; device-exclusive entries are restored first; shared mappings are
 * not copied (the child faults them in from the page cache).
 */
export function dupMmap(k: Kernel, parent: Mm, child: Mm): number {
  const f = k.frames;
  for (const pv of parent.vmas) {
    if (pv.flags & VM_DONTCOPY) continue;
    const cv = new Vma(child, pv.start, pv.end, pv.flags, pv.pgoff, pv.file);
    cv.special = pv.special;
    if (pv.anonVma) {
      cv.anonChain = [...pv.anonChain];
      const own = new AnonVma(k.newId(), pv.anonVma.indexBase);
      k.anonVmas.set(own.id, own);
      cv.anonChain.push(own);
      cv.anonVma = own;
    }
    child.insertVma(cv);
    linkVma(cv);
    const needsCopy = pv.anonVma !== null || (pv.flags & (VM_PFNMAP | VM_MIXEDMAP)) !== 0;
    if (!needsCopy) continue;
    const cow = (pv.flags & (VM_SHARED | VM_MAYWRITE)) === VM_MAYWRITE;
    const r = cow ? notify(parent, MMU_NOTIFY_PROTECTION_PAGE, pv.start, pv.end) : null;
    for (let a = pv.start; a < pv.end; ) {
      const pmdEnd = Math.min(pv.end, (Math.floor(a / PMD_SIZE) + 1) * PMD_SIZE);
      const slot = parent.pt.slot(a);
      if (!slot || slot.kind === PMD_NONE) {
        a = pmdEnd;
        continue;
      }
      if (slot.kind === PMD_HUGE || slot.kind === PMD_DEVICE_PRIVATE) {
        const head = slot.pfn;
        const pinned = head !== k.hugeZeroPfn && f.ref(head) >= GUP_PIN_COUNTING_BIAS;
        if (!pinned || f.hasFlag(head, PG_HUGETLB)) {
          const d = child.pt.slotAlloc(a);
          if (cow) slot.bits &= ~PTE_WRITE;
          d.kind = slot.kind;
          d.pfn = head;
          d.bits = slot.bits;
          if (head !== k.hugeZeroPfn) {
            k.folioGet(head);
            for (let i = 0; i < HPAGE_PMD_NR; i++) {
              f.addMapcount(head + i, 1);
              f.clearFlag(head + i, PG_ANON_EXCLUSIVE);
            }
          }
          a = pmdEnd;
          continue;
        }
        splitHugePmdAt(k, parent, a);
      }
      const t = slot.table!;
      for (let x = a; x < pmdEnd; x += PAGE_SIZE) {
        const i = pteIndex(x);
        let bits = t.bits[i]!;
        let type = bits & PTE_TYPE_MASK;
        if (type === PTE_NONE) continue;
        if (type === PTE_MIGRATION) throw new Error('model bug: fork met a migration entry');
        if (type === PTE_DEVICE_EXCLUSIVE) {
          // copy_nonpresent_pte: try_restore_exclusive_pte, inside this PROTECTION_PAGE range.
          tryRestoreExclusivePte(k, parent, pv, x);
          bits = t.bits[i]!;
          type = bits & PTE_TYPE_MASK;
        }
        const pfn = t.pfn[i]!;
        const ct = child.pt.tableAlloc(x)!;
        const j = pteIndex(x);
        if (type === PTE_PRESENT && (bits & PTE_SPECIAL || k.isZeroPfn(pfn))) {
          ct.pfn[j] = pfn;
          ct.bits[j] = bits;
          ct.used++;
          continue;
        }
        const head = f.head(pfn);
        if (
          type === PTE_PRESENT &&
          cow &&
          f.hasFlag(pfn, PG_ANON) &&
          f.hasFlag(pfn, PG_ANON_EXCLUSIVE) &&
          f.ref(head) >= GUP_PIN_COUNTING_BIAS
        ) {
          // copy_present_page: a pinned exclusive page must stay the parent's; the child gets a copy.
          const np = k.allocFolio(0);
          if (np < 0) return -ENOMEM;
          copyHighpage(k, np, pfn);
          setAnonRmap(k, cv, np, x, true);
          f.addMapcount(np, 1);
          ct.pfn[j] = np;
          ct.bits[j] = bits;
          ct.used++;
          continue;
        }
        k.folioGet(head);
        f.addMapcount(pfn, 1);
        f.clearFlag(pfn, PG_ANON_EXCLUSIVE);
        if (cow && bits & PTE_WRITE) {
          bits &= ~PTE_WRITE;
          t.bits[i] = bits;
        }
        ct.pfn[j] = pfn;
        ct.bits[j] = bits;
        ct.used++;
      }
      a = pmdEnd;
    }
    if (r) notifyEnd(parent, r);
  }
  return 0;
}

/**
 * exit_mmap: interval notifiers get one RELEASE invalidation over the whole address space,
 * then every mapping is removed.
 */
export function exitMmap(k: Kernel, mm: Mm): void {
  const r = notify(mm, MMU_NOTIFY_RELEASE, 0, TASK_SIZE);
  notifyEnd(mm, r);
  for (const vma of [...mm.vmas]) {
    zapRange(k, mm, vma.start, vma.end);
    removeVma(mm, vma);
  }
  mm.dead = true;
}

export { PTE_DEVICE_EXCLUSIVE, PTE_DEVICE_PRIVATE };
