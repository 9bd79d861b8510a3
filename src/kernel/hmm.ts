/**
 * hmm_range_fault (mm/hmm.c; docs/kernel-model.md, "Mirroring"): snapshot a range of CPU page tables into
 * an hmm_pfns array, faulting pages in only where the caller asked.
 *
 * The hmm_pfns array is a BigUint64Array holding Linux's exact values (HMM_PFN_VALID is bit
 * 63). The walk writes it through a Uint32Array view of the same buffer: word 2i is the pfn,
 * word 2i+1 the flags (HMM_PFN_HI_*). The walk is written as resumable steps: it yields at
 * every PMD boundary (the page-table lock is dropped there) and while waiting on a migration
 * entry, so a scheduler can interleave invalidations with it.
 */
import {
  EBUSY,
  EFAULT,
  EINVAL,
  EPERM,
  FAULT_FLAG_REMOTE,
  FAULT_FLAG_WRITE,
  HMM_PFN_HI_ERROR,
  HMM_PFN_HI_INOUT_FLAGS,
  HMM_PFN_HI_ORDER_SHIFT,
  HMM_PFN_HI_REQ_FAULT,
  HMM_PFN_HI_REQ_WRITE,
  HMM_PFN_HI_VALID,
  HMM_PFN_HI_WRITE,
  HPAGE_PMD_ORDER,
  MEMORY_DEVICE_PRIVATE,
  PAGE_SIZE,
  PMD_SIZE,
  VM_FAULT_ERROR,
  VM_FAULT_RETRY,
  VM_HUGETLB,
  VM_IO,
  VM_PFNMAP,
  VM_READ,
  VM_WRITE,
} from './constants.js';
import type { Kernel } from './kernel.js';
import { handleMmFault } from './memory.js';
import type { Mm, Vma } from './mm.js';
import { type MmuIntervalNotifier, mmuIntervalCheckRetry } from './mmu_notifier.js';
import {
  PMD_DEVICE_PRIVATE,
  PMD_HUGE,
  PMD_MIGRATION,
  PMD_NONE,
  PTE_DEVICE_EXCLUSIVE,
  PTE_DEVICE_PRIVATE,
  PTE_MIGRATION,
  PTE_NONE,
  PTE_PRESENT,
  PTE_SPECIAL,
  PTE_TYPE_MASK,
  PTE_WRITE,
  pteIndex,
} from './pgtable.js';
import { FAULT_RETRY, type FaultWait, type KernelSteps, PMD_UNLOCK, WALK_RETRY } from './wait.js';

const NEED_FAULT = 1;
const NEED_WRITE_FAULT = 2;
const ORDER_PMD_HI = HPAGE_PMD_ORDER << HMM_PFN_HI_ORDER_SHIFT;

/** Returned by an HmmP2pHook to let the page fault (migrate to RAM) as mainline does. */
export const HMM_P2P_FAULT = -0x1000;

/**
 * The extension point of the P2P designs (not in mainline; see docs/designs.md): decides what
 * hmm_range_fault reports for a DEVICE_PRIVATE page whose pagemap owner is not the range's
 * dev_private_owner. Mainline faults such a page (migrate_to_ram) when a fault is requested.
 * A hook returns a pfn to report instead (a BAR alias page, or the device-private pfn
 * itself), HMM_P2P_FAULT to fall back to mainline behaviour, or a negative errno.
 */
export interface HmmP2pHook {
  devicePrivate(pfn: number, owner: unknown, writable: boolean): number;
}

/** struct hmm_range. Request flags are kept as the upper 32 bits of Linux's values. */
export class HmmRange {
  notifierSeq = 0;
  /** A P2P design's hook (null: mainline behaviour). */
  p2p: HmmP2pHook | null = null;
  /** The pfn array, Linux's exact u64 values. */
  readonly hmmPfns: BigUint64Array;
  /** Word view of hmmPfns: [2i] = pfn, [2i+1] = flags (HMM_PFN_HI_*). */
  readonly words: Uint32Array;
  constructor(
    readonly notifier: MmuIntervalNotifier,
    public start: number,
    public end: number,
    /** Upper word of default_flags: HMM_PFN_HI_REQ_FAULT | HMM_PFN_HI_REQ_WRITE or 0. */
    public defaultFlags = 0,
    /** Upper word of pfn_flags_mask. */
    public pfnFlagsMask = 0,
    /** dev_private_owner: device-private pages of this owner are reported, never faulted. */
    public devPrivateOwner: unknown = null,
    hmmPfns?: BigUint64Array,
  ) {
    const n = (end - start) / PAGE_SIZE;
    this.hmmPfns = hmmPfns ?? new BigUint64Array(n);
    this.words = new Uint32Array(this.hmmPfns.buffer, this.hmmPfns.byteOffset, this.hmmPfns.length * 2);
  }

  /** Index of va in hmmPfns. */
  index(va: number): number {
    return (va - this.start) / PAGE_SIZE;
  }
  pfn(i: number): number {
    return this.words[2 * i]!;
  }
  flags(i: number): number {
    return this.words[2 * i + 1]!;
  }
  /** hmm_pfn_to_map_order. */
  order(i: number): number {
    return (this.words[2 * i + 1]! >>> HMM_PFN_HI_ORDER_SHIFT) & 0x1f;
  }
}

if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('hmmlab needs a little-endian host (the hmm_pfns word view assumes it)');
}

interface WalkState {
  range: HmmRange;
  mm: Mm;
  /** hmm_vma_walk.last: first entry not yet produced. */
  last: number;
  /** Pending fault request set by the walk callbacks. */
  faultStart: number;
  faultEnd: number;
  faultNeed: number;
  faultVma: Vma | null;
  /** The folio head of the migration entry the walk stopped at (it returned -EBUSY), or -1. */
  migrationFolio: number;
  /** Filled by handle_mm_fault with a locked folio to sleep on before retrying. */
  faultWait: FaultWait;
}

/** hmm_pte_need_fault over the upper word. */
function pteNeedFault(range: HmmRange, reqHi: number, cpuHi: number): number {
  const req = (reqHi & range.pfnFlagsMask) | range.defaultFlags;
  if (!(req & HMM_PFN_HI_REQ_FAULT)) return 0;
  if (req & HMM_PFN_HI_REQ_WRITE && !(cpuHi & HMM_PFN_HI_WRITE)) return NEED_FAULT | NEED_WRITE_FAULT;
  if (!(cpuHi & HMM_PFN_HI_VALID)) return NEED_FAULT;
  return 0;
}

/** hmm_range_need_fault over [i0, i1). */
function rangeNeedFault(range: HmmRange, i0: number, i1: number, cpuHi: number): number {
  if (!((range.defaultFlags | range.pfnFlagsMask) & HMM_PFN_HI_REQ_FAULT)) return 0;
  const w = range.words;
  let r = 0;
  for (let i = i0; i < i1; i++) {
    r |= pteNeedFault(range, w[2 * i + 1]!, cpuHi);
    if (r === (NEED_FAULT | NEED_WRITE_FAULT)) break;
  }
  return r;
}

/** hmm_pfns_fill: every entry keeps its sticky bits and gets `pfn + i | flags`. */
function fill(range: HmmRange, i0: number, i1: number, hi: number, pfn = 0, step = 0): void {
  const w = range.words;
  for (let i = i0; i < i1; i++) {
    w[2 * i] = pfn;
    w[2 * i + 1] = (w[2 * i + 1]! & HMM_PFN_HI_INOUT_FLAGS) | hi;
    pfn += step;
  }
}

const FAULT_PENDING = 1;

function requestFault(s: WalkState, vma: Vma, start: number, end: number, need: number): number {
  s.faultVma = vma;
  s.faultStart = start;
  s.faultEnd = end;
  s.faultNeed = need;
  return FAULT_PENDING;
}

/** The walk over one PMD-sized chunk [addr, end) of a VMA. Returns 0, -errno or FAULT_PENDING. */
function walkPmd(k: Kernel, s: WalkState, vma: Vma, addr: number, end: number): number {
  const range = s.range;
  const i0 = range.index(addr);
  const i1 = range.index(end);
  const slot = s.mm.pt.slot(addr);
  if (!slot || slot.kind === PMD_NONE) {
    // pte_hole inside a VMA
    const need = rangeNeedFault(range, i0, i1, 0);
    if (need) return requestFault(s, vma, addr, end, need);
    fill(range, i0, i1, 0);
    return 0;
  }
  if (slot.kind === PMD_MIGRATION) {
    const need = rangeNeedFault(range, i0, i1, 0);
    if (need) {
      s.last = addr;
      s.migrationFolio = slot.pfn; // migration_entry_wait: sleep on the folio, then walk again from here
      return -EBUSY;
    }
    fill(range, i0, i1, 0);
    return 0;
  }
  const sub = (addr % PMD_SIZE) / PAGE_SIZE;
  if (slot.kind === PMD_HUGE) {
    const cpu = HMM_PFN_HI_VALID | (slot.bits & PTE_WRITE ? HMM_PFN_HI_WRITE : 0) | ORDER_PMD_HI;
    const need = rangeNeedFault(range, i0, i1, cpu);
    if (need) return requestFault(s, vma, addr, end, need);
    fill(range, i0, i1, cpu, slot.pfn + sub, 1);
    return 0;
  }
  if (slot.kind === PMD_DEVICE_PRIVATE) {
    // hmm_vma_handle_absent_pmd
    const pgmap = k.pgmapOf(slot.pfn);
    if (pgmap && pgmap.type === MEMORY_DEVICE_PRIVATE && pgmap.owner === range.devPrivateOwner) {
      const cpu = HMM_PFN_HI_VALID | ORDER_PMD_HI | (slot.bits & PTE_WRITE ? HMM_PFN_HI_WRITE : 0);
      fill(range, i0, i1, cpu, slot.pfn + sub, 1);
      return 0;
    }
    if (range.p2p && pgmap) {
      // Ask the design page by page; any page that must fault makes the whole entry fault.
      const w = range.words;
      let ok = true;
      for (let i = i0; i < i1 && ok; i++) {
        const r = range.p2p.devicePrivate(
          slot.pfn + sub + (i - i0),
          pgmap.owner,
          (slot.bits & PTE_WRITE) !== 0,
        );
        if (r >= 0) {
          w[2 * i] = r;
          w[2 * i + 1] =
            (w[2 * i + 1]! & HMM_PFN_HI_INOUT_FLAGS) |
            HMM_PFN_HI_VALID |
            (slot.bits & PTE_WRITE ? HMM_PFN_HI_WRITE : 0);
        } else if (r === HMM_P2P_FAULT) ok = false;
        else return r;
      }
      if (ok) return 0;
    }
    const need = rangeNeedFault(range, i0, i1, 0);
    if (need) return requestFault(s, vma, addr, end, need);
    fill(range, i0, i1, HMM_PFN_HI_ERROR);
    return 0;
  }
  // A PTE table: hmm_vma_handle_pte for each entry.
  const t = slot.table!;
  const w = range.words;
  const faulting = ((range.defaultFlags | range.pfnFlagsMask) & HMM_PFN_HI_REQ_FAULT) !== 0;
  let j = pteIndex(addr);
  for (let i = i0; i < i1; i++, j++) {
    const bits = t.bits[j]!;
    const type = bits & PTE_TYPE_MASK;
    const hiIn = w[2 * i + 1]!;
    const keep = hiIn & HMM_PFN_HI_INOUT_FLAGS;
    if (type === PTE_PRESENT) {
      const cpu = bits & PTE_WRITE ? HMM_PFN_HI_VALID | HMM_PFN_HI_WRITE : HMM_PFN_HI_VALID;
      if (faulting) {
        const need = pteNeedFault(range, hiIn, cpu);
        if (need) return requestFault(s, vma, addr + (i - i0) * PAGE_SIZE, end, need);
      }
      const pfn = t.pfn[j]!;
      if (bits & PTE_SPECIAL && pfn !== k.zeroPfn) {
        if (faulting && pteNeedFault(range, hiIn, 0)) return -EFAULT;
        w[2 * i] = 0;
        w[2 * i + 1] = keep | HMM_PFN_HI_ERROR;
        continue;
      }
      w[2 * i] = pfn;
      w[2 * i + 1] = keep | cpu;
      continue;
    }
    if (type === PTE_NONE) {
      if (faulting) {
        const need = pteNeedFault(range, hiIn, 0);
        if (need) return requestFault(s, vma, addr + (i - i0) * PAGE_SIZE, end, need);
      }
      w[2 * i] = 0;
      w[2 * i + 1] = keep;
      continue;
    }
    if (type === PTE_DEVICE_PRIVATE) {
      const pfn = t.pfn[j]!;
      const pgmap = k.pgmapOf(pfn);
      if (pgmap && pgmap.owner === range.devPrivateOwner) {
        w[2 * i] = pfn;
        w[2 * i + 1] = keep | HMM_PFN_HI_VALID | (bits & PTE_WRITE ? HMM_PFN_HI_WRITE : 0);
        continue;
      }
      if (range.p2p && pgmap) {
        const r = range.p2p.devicePrivate(pfn, pgmap.owner, (bits & PTE_WRITE) !== 0);
        if (r >= 0) {
          w[2 * i] = r;
          w[2 * i + 1] = keep | HMM_PFN_HI_VALID | (bits & PTE_WRITE ? HMM_PFN_HI_WRITE : 0);
          continue;
        }
        if (r !== HMM_P2P_FAULT) return r;
      }
    }
    // Any other non-present entry: output 0 unless a fault was requested.
    const need = faulting ? pteNeedFault(range, hiIn, 0) : 0;
    if (!need) {
      w[2 * i] = 0;
      w[2 * i + 1] = keep;
      continue;
    }
    if (type === PTE_DEVICE_PRIVATE || type === PTE_DEVICE_EXCLUSIVE) {
      return requestFault(s, vma, addr + (i - i0) * PAGE_SIZE, end, need);
    }
    if (type === PTE_MIGRATION) {
      s.last = addr + (i - i0) * PAGE_SIZE;
      // migration_entry_wait sleeps until the folio under migration is unlocked.
      s.migrationFolio = k.frames.head(t.pfn[j]!);
      return -EBUSY;
    }
    return -EFAULT; // markers, hwpoison
  }
  return 0;
}

/** hugetlb_entry: one request word per huge page, the huge PTE's flags with its order. */
function walkHugetlb(k: Kernel, s: WalkState, vma: Vma, addr: number, end: number): number {
  const range = s.range;
  const i0 = range.index(addr);
  const i1 = range.index(end);
  const slot = s.mm.pt.slot(addr);
  let cpu = ORDER_PMD_HI;
  let pfn = 0;
  if (slot && slot.kind === PMD_HUGE) {
    cpu |= HMM_PFN_HI_VALID | (slot.bits & PTE_WRITE ? HMM_PFN_HI_WRITE : 0);
    pfn = slot.pfn + (addr % PMD_SIZE) / PAGE_SIZE;
  }
  const need = pteNeedFault(range, range.words[2 * i0 + 1]!, cpu);
  if (need) return requestFault(s, vma, addr, end, need);
  void k;
  fill(range, i0, i1, cpu, pfn, pfn ? 1 : 0);
  return 0;
}

/**
 * walk_page_range with hmm_walk_ops over [from, to). Yields at each PMD boundary. An empty
 * range is -EINVAL (walk_page_range_mm_unsafe: `if (start >= end) return -EINVAL;`).
 */
function* walkRange(k: Kernel, s: WalkState, from: number, to: number): KernelSteps {
  const range = s.range;
  const mm = s.mm;
  if (from >= to) return -EINVAL;
  let addr = from;
  while (addr < to) {
    const vma = mm.findVma(addr);
    if (!vma || vma.start > addr) {
      // No VMA: pte_hole with walk->vma == NULL.
      const holeEnd = vma ? Math.min(vma.start, to) : to;
      const i0 = range.index(addr);
      const i1 = range.index(holeEnd);
      if (rangeNeedFault(range, i0, i1, 0)) return -EFAULT;
      fill(range, i0, i1, HMM_PFN_HI_ERROR);
      addr = holeEnd;
      continue;
    }
    const vmaEnd = Math.min(vma.end, to);
    if (vma.flags & (VM_IO | VM_PFNMAP) || !(vma.flags & VM_READ)) {
      // hmm_vma_walk_test: unsupported VMA or no read permission.
      const i0 = range.index(addr);
      const i1 = range.index(vmaEnd);
      if (rangeNeedFault(range, i0, i1, 0)) return -EFAULT;
      fill(range, i0, i1, HMM_PFN_HI_ERROR);
      addr = vmaEnd;
      continue;
    }
    const hugetlb = (vma.flags & VM_HUGETLB) !== 0;
    while (addr < vmaEnd) {
      const chunkEnd = Math.min(vmaEnd, (Math.floor(addr / PMD_SIZE) + 1) * PMD_SIZE);
      const r = hugetlb ? walkHugetlb(k, s, vma, addr, chunkEnd) : walkPmd(k, s, vma, addr, chunkEnd);
      if (r !== 0) return r;
      addr = chunkEnd;
      s.last = addr;
      if (addr < to) yield PMD_UNLOCK;
    }
  }
  return 0;
}

/**
 * hmm_vma_fault: faults [start, end) for the walk. Returns -EBUSY on success (the walk
 * restarts from `last` after re-checking the notifier), -EPERM for a write fault in a VMA
 * without VM_WRITE, -EFAULT when handle_mm_fault fails.
 */
function hmmVmaFault(k: Kernel, s: WalkState): number {
  const vma = s.faultVma!;
  s.last = s.faultStart;
  let flags = FAULT_FLAG_REMOTE;
  if (s.faultNeed & NEED_WRITE_FAULT) {
    if (!(vma.flags & VM_WRITE)) return -EPERM;
    flags |= FAULT_FLAG_WRITE;
  }
  for (let a = s.faultStart; a < s.faultEnd; a += PAGE_SIZE) {
    const r = handleMmFault(k, s.mm, vma, a, flags, s.faultWait);
    if (r & VM_FAULT_ERROR) return -EFAULT;
    if (r & VM_FAULT_RETRY) return -EBUSY;
  }
  return -EBUSY;
}

/**
 * hmm_range_fault as resumable steps. The caller holds the mmap read lock for the whole
 * call (as in Linux); yields mark page-table-lock boundaries where concurrent CPU faults,
 * migrations and notifier callbacks may run.
 *
 * Returns 0 when every entry has its output value (entries with a REQ_FAULT request are
 * VALID, and WRITE where REQ_WRITE was asked), or:
 *  - -EBUSY: the range was invalidated since range.notifierSeq (mmu_interval_check_retry);
 *    the caller must take a new sequence number and retry;
 *  - -EFAULT: a faulting request on no VMA, a VM_IO/VM_PFNMAP VMA, a VMA without VM_READ, a
 *    special PTE, or a failed fault (e.g. migrate_to_ram returned SIGBUS);
 *  - -EPERM: a write fault was needed in a VMA without VM_WRITE;
 *  - -EINVAL: an empty range (start == end): walk_page_range refuses it, after the
 *    mmu_interval_check_retry that may answer -EBUSY first.
 */
export function* hmmRangeFaultSteps(k: Kernel, mm: Mm, range: HmmRange): KernelSteps {
  const s: WalkState = {
    range,
    mm,
    last: range.start,
    faultStart: 0,
    faultEnd: 0,
    faultNeed: 0,
    faultVma: null,
    migrationFolio: -1,
    faultWait: { folio: -1 },
  };
  let ret: number;
  do {
    if (mmuIntervalCheckRetry(range.notifier, range.notifierSeq)) return -EBUSY;
    s.migrationFolio = -1;
    ret = yield* walkRange(k, s, s.last, range.end);
    if (ret === FAULT_PENDING) {
      s.faultWait.folio = -1;
      ret = hmmVmaFault(k, s);
      if (ret === -EBUSY) {
        // Sleep on a locked device-private folio (see Kernel.fixes), or retry at once.
        const folio = s.faultWait.folio;
        yield folio >= 0 ? { kind: 'folio_locked', pfn: folio } : FAULT_RETRY;
      }
    } else if (ret === -EBUSY) {
      const folio = s.migrationFolio;
      yield folio >= 0 ? { kind: 'migration_entry', pfn: folio } : WALK_RETRY;
    }
  } while (ret === -EBUSY);
  return ret;
}

/** hmm_range_fault run to completion (no interleaving). Same return values as the steps. */
export function hmmRangeFault(k: Kernel, mm: Mm, range: HmmRange): number {
  const g = hmmRangeFaultSteps(k, mm, range);
  let r = g.next();
  let guard = 0;
  while (!r.done) {
    if (++guard > 1e7) throw new Error('model bug: hmm_range_fault does not finish');
    r = g.next();
  }
  return r.value;
}
