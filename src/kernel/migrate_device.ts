/**
 * Migration to and from device memory (mm/migrate_device.c; docs/kernel-model.md, "Migration") and the rmap
 * operations it needs (mm/rmap.c: try_to_migrate, remove_migration_ptes, folio splitting,
 * make_device_exclusive).
 *
 * migrate_pfn values are (pfn << 6) | flags. They stay below 2^53, so they are exact in a
 * Float64Array; flags are tested with `&` (exact for the low 32 bits) and changed with the
 * helpers below, never with `|`, which would truncate to 32 bits.
 */
import {
  EBUSY,
  EINTR,
  EINVAL,
  EOPNOTSUPP,
  FOLL_GET,
  FOLL_SPLIT_PMD,
  FOLL_WRITE,
  HPAGE_PMD_NR,
  MEMORY_DEVICE_COHERENT,
  MEMORY_DEVICE_PRIVATE,
  MIGRATE_PFN_COMPOUND,
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_SHIFT,
  MIGRATE_PFN_VALID,
  MIGRATE_PFN_WRITE,
  MIGRATE_VMA_SELECT_COMPOUND,
  MIGRATE_VMA_SELECT_DEVICE_COHERENT,
  MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
  MIGRATE_VMA_SELECT_SYSTEM,
  MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_EXCLUSIVE,
  MMU_NOTIFY_MIGRATE,
  PAGE_SIZE,
  PMD_SIZE,
  VM_HUGETLB,
  VM_SPECIAL,
  VM_WRITE,
} from './constants.js';
import {
  PG_ANON,
  PG_ANON_EXCLUSIVE,
  PG_DEVICE,
  PG_DIRTY,
  PG_HEAD,
  PG_HUGETLB,
  PG_LOCKED,
  PG_TAIL,
} from './frames.js';
import { splitHugePmdAt, splitHugePmdLocked } from './huge_memory.js';
import type { Kernel } from './kernel.js';
// A cycle Linux has too (scripts/import-cycles.mjs keeps it): make_device_exclusive takes its
// pages with GUP (get_user_page_vma_remote, mm/gup.c), and GUP calls back into
// migrate_device_coherent_folio (memory.ts).
import { getUserPages, putUserPages } from './memory.js';
import { KernelHang, type VmFault } from './memremap.js';
import type { Mm, Vma } from './mm.js';
import { notify, notifyEnd, notifySteps, runToCompletion } from './mmu_notifier.js';
import {
  PMD_DEVICE_PRIVATE,
  PMD_HUGE,
  PMD_MIGRATION,
  PMD_NONE,
  PMD_TABLE,
  PTE_ANON_EXCL,
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
import type { KernelSteps } from './wait.js';

// ---- migrate_pfn helpers ------------------------------------------------------------------

/** migrate_pfn(pfn) = (pfn << MIGRATE_PFN_SHIFT) | MIGRATE_PFN_VALID. */
export function migratePfn(pfn: number): number {
  return pfn * 64 + MIGRATE_PFN_VALID;
}
/** The pfn of a migrate_pfn value, or -1 if it holds no page. */
export function migratePfnToPfn(m: number): number {
  // pfns are below 2^32, so the truncating unsigned shift is an exact floor here.
  return m & MIGRATE_PFN_VALID ? (m / MIGRATE_PFN_SCALE) >>> 0 : -1;
}
const MIGRATE_PFN_SCALE = 2 ** MIGRATE_PFN_SHIFT;
export function mpfnSet(m: number, flag: number): number {
  return m & flag ? m : m + flag;
}
export function mpfnClear(m: number, flag: number): number {
  return m & flag ? m - flag : m;
}

/** struct migrate_vma. */
export interface MigrateVma {
  vma: Vma;
  src: Float64Array;
  dst: Float64Array;
  cpages: number;
  npages: number;
  start: number;
  end: number;
  pgmapOwner: unknown;
  flags: number;
  /** vmf->page when called from migrate_to_ram, else -1. */
  faultPage: number;
}

/**
 * A struct migrate_vma for [start, end) of `vma`, its src and dst arrays sized to the range:
 * what a driver fills in before migrate_vma_setup.
 */
export function newMigrateVma(
  vma: Vma,
  start: number,
  end: number,
  pgmapOwner: unknown,
  flags: number,
  faultPage = -1,
): MigrateVma {
  const n = (end - start) / PAGE_SIZE;
  return {
    vma,
    src: new Float64Array(n),
    dst: new Float64Array(n),
    cpages: 0,
    npages: 0,
    start,
    end,
    pgmapOwner,
    flags,
    faultPage,
  };
}

/**
 * The migrate_vma of a migrate_to_ram callback: the faulting folio's span (one page when it is
 * PTE-mapped), device-private pages of `pgmapOwner`, compound for a large folio.
 */
export function migrateToRamArgs(k: Kernel, vmf: VmFault, pgmapOwner: unknown): MigrateVma {
  const order = vmf.pteMapped ? 0 : k.frames.order(vmf.page);
  const span = PAGE_SIZE * 2 ** order;
  const start = Math.floor(vmf.address / span) * span;
  const flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE | (order ? MIGRATE_VMA_SELECT_COMPOUND : 0);
  return newMigrateVma(vmf.vma, start, start + span, pgmapOwner, flags, vmf.page);
}

/** Why collection or migration of an entry failed, for observers and tests. */
export type MigrateSkipReason =
  | 'not-selected'
  | 'locked'
  | 'pinned'
  | 'split-failed'
  | 'still-mapped'
  | 'no-dst'
  | 'insert-raced'
  | 'not-anonymous'
  | 'refcount'
  | 'compound-mismatch';

// ---- rmap helpers -------------------------------------------------------------------------

/** Visits every PTE or PMD entry in any mm that refers to a page of the folio at `head`. */
function forEachMapping(
  k: Kernel,
  head: number,
  visit: (mm: Mm, vma: Vma, va: number, t: PteTable | null, i: number) => void,
): void {
  const f = k.frames;
  const nr = f.nrPages(head);
  const seen = new Set<string>();
  k.rmapWalk(head, (vma, va) => {
    // va is where the head would be mapped; the folio may be mapped page by page.
    const mm = vma.mm;
    for (let p = 0; p < nr; p++) {
      const a = va + p * PAGE_SIZE;
      if (a < vma.start || a >= vma.end) continue;
      const slot = mm.pt.slot(a);
      if (!slot) continue;
      if (slot.kind === PMD_TABLE) {
        const t = slot.table!;
        const i = pteIndex(a);
        if ((t.bits[i]! & PTE_TYPE_MASK) !== PTE_NONE && t.pfn[i] === head + p) {
          const key = `${mm.id}:${a}`;
          if (!seen.has(key)) {
            seen.add(key);
            visit(mm, vma, a, t, i);
          }
        }
      } else if (slot.kind !== PMD_NONE && slot.pfn === head && p === 0 && a % PMD_SIZE === 0) {
        const key = `${mm.id}:${a}:pmd`;
        if (!seen.has(key)) {
          seen.add(key);
          visit(mm, vma, a, null, -1);
        }
      }
    }
    return undefined;
  });
}

/** Whether any page of the folio is mapped. */
function folioMapped(k: Kernel, head: number): boolean {
  const f = k.frames;
  const nr = f.nrPages(head);
  for (let p = 0; p < nr; p++) if (f.mapcount(head + p) > 0) return true;
  return false;
}

/**
 * try_to_migrate: replaces every mapping of the folio (in every mm, through the rmap) with a
 * migration entry. The mapping references are dropped; the caller holds its own.
 */
function tryToMigrate(k: Kernel, head: number): void {
  const f = k.frames;
  forEachMapping(k, head, (mm, _vma, va, t, i) => {
    if (t) {
      const type = t.bits[i]! & PTE_TYPE_MASK;
      if (type !== PTE_PRESENT && type !== PTE_DEVICE_PRIVATE && type !== PTE_DEVICE_EXCLUSIVE) return;
      const r = notify(mm, MMU_NOTIFY_CLEAR, va, va + PAGE_SIZE);
      const pfn = t.pfn[i]!;
      installMigrationPte(k, t, i, pfn);
      notifyEnd(mm, r);
    } else {
      const slot = mm.pt.slot(va)!;
      if (slot.kind !== PMD_HUGE && slot.kind !== PMD_DEVICE_PRIVATE) return;
      const r = notify(mm, MMU_NOTIFY_CLEAR, va, va + PMD_SIZE);
      installMigrationPmd(k, slot);
      notifyEnd(mm, r);
    }
  });
  void f;
}

/** Replaces a present / device-private PTE by a migration entry and drops its mapping. */
function installMigrationPte(k: Kernel, t: PteTable, i: number, pfn: number): number {
  const f = k.frames;
  const bits = t.bits[i]!;
  const type = bits & PTE_TYPE_MASK;
  const write = type === PTE_DEVICE_EXCLUSIVE ? true : (bits & PTE_WRITE) !== 0;
  let mig = PTE_MIGRATION | (write ? PTE_WRITE : 0);
  if (f.hasFlag(pfn, PG_ANON_EXCLUSIVE)) {
    mig |= PTE_ANON_EXCL;
    f.clearFlag(pfn, PG_ANON_EXCLUSIVE);
  }
  if (bits & PTE_DIRTY) f.setFlag(f.head(pfn), PG_DIRTY);
  t.bits[i] = mig;
  f.addMapcount(pfn, -1);
  k.folioPut(f.head(pfn));
  return mig;
}

function installMigrationPmd(k: Kernel, slot: { kind: number; pfn: number; bits: number }): void {
  const f = k.frames;
  const head = slot.pfn;
  let bits = slot.bits & PTE_WRITE;
  if (f.hasFlag(head, PG_ANON_EXCLUSIVE)) bits |= PTE_ANON_EXCL;
  for (let p = 0; p < HPAGE_PMD_NR; p++) {
    f.clearFlag(head + p, PG_ANON_EXCLUSIVE);
    f.addMapcount(head + p, -1);
  }
  slot.kind = PMD_MIGRATION;
  slot.bits = bits;
  k.folioPut(head);
}

/** The entry that maps `pfn` after migration, from the migration entry's bits. */
function mappingBits(k: Kernel, vma: Vma, pfn: number, migBits: number): number {
  if (k.isDevicePrivate(pfn)) return PTE_DEVICE_PRIVATE | (migBits & PTE_WRITE);
  const write = migBits & PTE_WRITE && vma.flags & VM_WRITE ? PTE_WRITE : 0;
  return PTE_PRESENT | write | (k.frames.hasFlag(k.frames.head(pfn), PG_DIRTY) ? PTE_DIRTY : 0);
}

/**
 * remove_migration_ptes(src, dst): every migration entry of the folio `src` becomes a
 * mapping of the corresponding page of `dst` (dst == src to roll back).
 */
function removeMigrationPtes(k: Kernel, src: number, dst: number): void {
  const f = k.frames;
  const nr = f.nrPages(src);
  k.rmapWalk(src, (vma, va) => {
    const mm = vma.mm;
    for (let p = 0; p < nr; p++) {
      const a = va + p * PAGE_SIZE;
      if (a < vma.start || a >= vma.end) continue;
      const slot = mm.pt.slot(a);
      if (!slot) continue;
      if (slot.kind === PMD_MIGRATION && slot.pfn === src && p === 0) {
        const migBits = slot.bits;
        const dev = k.isDevicePrivate(dst);
        slot.kind = dev ? PMD_DEVICE_PRIVATE : PMD_HUGE;
        slot.pfn = dst;
        slot.bits = dev
          ? migBits & PTE_WRITE
          : migBits & PTE_WRITE && vma.flags & VM_WRITE
            ? PTE_WRITE | PTE_DIRTY
            : 0;
        k.folioGet(dst);
        for (let q = 0; q < HPAGE_PMD_NR; q++) {
          f.addMapcount(dst + q, 1);
          if (migBits & (PTE_WRITE | PTE_ANON_EXCL) && f.hasFlag(dst + q, PG_ANON))
            f.setFlag(dst + q, PG_ANON_EXCLUSIVE);
        }
        break;
      }
      if (slot.kind !== PMD_TABLE) continue;
      const t = slot.table!;
      const i = pteIndex(a);
      if ((t.bits[i]! & PTE_TYPE_MASK) !== PTE_MIGRATION || t.pfn[i] !== src + p) continue;
      const migBits = t.bits[i]!;
      const np = dst + p;
      t.pfn[i] = np;
      t.bits[i] = mappingBits(k, vma, np, migBits);
      k.folioGet(f.head(np));
      f.addMapcount(np, 1);
      if (migBits & (PTE_WRITE | PTE_ANON_EXCL) && f.hasFlag(np, PG_ANON)) f.setFlag(np, PG_ANON_EXCLUSIVE);
    }
    if (src !== dst) {
      const from = Math.max(va, vma.start);
      const to = Math.min(va + nr * PAGE_SIZE, vma.end);
      if (from < to) k.observer?.onFolioMoved?.(mm.id, from, to);
    }
    return undefined;
  });
}

/**
 * split_folio: a large folio becomes 512 small ones. Every PMD mapping of it is split to
 * PTEs first. References are redistributed: each page keeps one per mapping, the head keeps
 * the rest. A device-private folio tells its driver (folio_split). Returns 0 or -EBUSY.
 */
export function splitFolio(k: Kernel, head: number): number {
  const f = k.frames;
  const nr = f.nrPages(head);
  if (nr === 1) return 0;
  if (f.hasFlag(head, PG_HUGETLB)) return -EBUSY;
  forEachMapping(k, head, (mm, _vma, va, t) => {
    if (!t) splitHugePmdAt(k, mm, va);
  });
  let maps = 0;
  for (let p = 0; p < nr; p++) maps += f.mapcount(head + p);
  const extra = f.ref(head) - maps;
  if (extra < 0) throw new Error(`model bug: folio ${head} has fewer references than mappings`);
  const order = f.order(head);
  const pgmap = k.pgmapOf(head);
  for (let p = 0; p < nr; p++) {
    const pfn = head + p;
    f.clearFlag(pfn, PG_HEAD | PG_TAIL);
    f.setOrder(pfn, 0);
    if (p > 0) {
      f.setRef(pfn, f.mapcount(pfn));
      // tails inherit the folio's state
      const hf = f.flags(head);
      f.setFlag(pfn, hf & (PG_ANON | PG_DIRTY | PG_DEVICE));
      if (pgmap && f.hasFlag(pfn, PG_DEVICE)) pgmap.ops.folioSplit?.(head, pfn);
    }
  }
  f.setRef(head, f.mapcount(head) + extra);
  // Pages whose only references were mappings that are gone are free now.
  for (let p = 1; p < nr; p++) if (f.ref(head + p) === 0) k.folioPut(head + p, 0);
  void order;
  return 0;
}

// ---- migrate_vma_setup --------------------------------------------------------------------

function collectSkip(args: MigrateVma, n: number): void {
  for (let j = 0; j < n; j++) {
    args.src[args.npages] = 0;
    args.dst[args.npages] = 0;
    args.npages++;
  }
}

function collectHole(args: MigrateVma, start: number, end: number): void {
  const n = (end - start) / PAGE_SIZE;
  if (!args.vma.isAnonymous()) {
    collectSkip(args, n);
    return;
  }
  if (args.flags & MIGRATE_VMA_SELECT_COMPOUND && start % PMD_SIZE === 0 && end - start === PMD_SIZE) {
    args.src[args.npages] = MIGRATE_PFN_MIGRATE + MIGRATE_PFN_COMPOUND;
    args.dst[args.npages] = 0;
    args.npages++;
    args.cpages++;
    collectSkip(args, n - 1);
    return;
  }
  for (let j = 0; j < n; j++) {
    args.src[args.npages] = MIGRATE_PFN_MIGRATE;
    args.dst[args.npages] = 0;
    args.npages++;
    args.cpages++;
  }
}

/** Whether a page of this kind is selected by the migration's flags and owner. */
function selected(k: Kernel, args: MigrateVma, pfn: number): boolean {
  const pgmap = k.pgmapOf(pfn);
  if (!pgmap) return (args.flags & MIGRATE_VMA_SELECT_SYSTEM) !== 0;
  if (pgmap.type === MEMORY_DEVICE_PRIVATE) {
    return (args.flags & MIGRATE_VMA_SELECT_DEVICE_PRIVATE) !== 0 && pgmap.owner === args.pgmapOwner;
  }
  if (pgmap.type === MEMORY_DEVICE_COHERENT) {
    return (args.flags & MIGRATE_VMA_SELECT_DEVICE_COHERENT) !== 0 && pgmap.owner === args.pgmapOwner;
  }
  return false;
}

/** Locks and references a folio for migration (trylock unless it is the fault folio). */
function lockForMigration(k: Kernel, head: number, faultHead: number): boolean {
  if (head === faultHead) {
    k.folioGet(head);
    return true;
  }
  if (!k.folioTrylock(head)) return false;
  k.folioGet(head);
  return true;
}

/**
 * migrate_vma_collect: the MIGRATE invalidation (its start and callbacks are steps, see
 * notifySteps), then the walk that installs migration entries and the end, in one step.
 */
function* migrateVmaCollectSteps(k: Kernel, args: MigrateVma): KernelSteps<void> {
  const f = k.frames;
  const mm = args.vma.mm;
  const faultHead = args.faultPage >= 0 ? f.head(args.faultPage) : -1;
  const r = yield* notifySteps(mm, MMU_NOTIFY_MIGRATE, args.start, args.end, args.pgmapOwner);
  let addr = args.start;
  while (addr < args.end) {
    const pmdEnd = Math.min(args.end, (Math.floor(addr / PMD_SIZE) + 1) * PMD_SIZE);
    const slot = mm.pt.slot(addr);
    const whole = addr % PMD_SIZE === 0 && pmdEnd - addr === PMD_SIZE;
    const compoundOk = (args.flags & MIGRATE_VMA_SELECT_COMPOUND) !== 0 && whole;
    if (!slot || slot.kind === PMD_NONE) {
      collectHole(args, addr, pmdEnd);
      addr = pmdEnd;
      continue;
    }
    if (slot.kind === PMD_MIGRATION) {
      collectSkip(args, (pmdEnd - addr) / PAGE_SIZE);
      addr = pmdEnd;
      continue;
    }
    if (slot.kind === PMD_HUGE || slot.kind === PMD_DEVICE_PRIVATE) {
      const head = slot.pfn;
      if (head === k.hugeZeroPfn) {
        // migrate_vma_collect_huge_pmd: a present THP without MIGRATE_VMA_SELECT_SYSTEM is
        // skipped; the huge zero folio is a hole (compound when SELECT_COMPOUND and the range
        // covers the PMD). Either way the PMD stays huge: migrate_vma_insert_page splits it
        // only where it maps a new page.
        if (args.flags & MIGRATE_VMA_SELECT_SYSTEM) collectHole(args, addr, pmdEnd);
        else collectSkip(args, (pmdEnd - addr) / PAGE_SIZE);
        addr = pmdEnd;
        continue;
      } else if (compoundOk && selected(k, args, head) && f.mapping(head) !== 0) {
        if (!lockForMigration(k, head, faultHead)) {
          collectSkip(args, HPAGE_PMD_NR);
          addr = pmdEnd;
          continue;
        }
        const write = (slot.bits & PTE_WRITE) !== 0;
        installMigrationPmd(k, slot);
        args.src[args.npages] =
          migratePfn(head) + MIGRATE_PFN_MIGRATE + MIGRATE_PFN_COMPOUND + (write ? MIGRATE_PFN_WRITE : 0);
        args.dst[args.npages] = 0;
        args.npages++;
        args.cpages++;
        collectSkip(args, HPAGE_PMD_NR - 1);
        addr = pmdEnd;
        continue;
      } else if (!selected(k, args, head)) {
        collectSkip(args, (pmdEnd - addr) / PAGE_SIZE);
        addr = pmdEnd;
        continue;
      } else {
        // migrate_vma_collect_huge_pmd's fallback: lock the folio, split it (and with it the
        // mapping), then collect page by page. A folio it cannot lock or split skips this
        // PMD only (migrate_vma_collect_skip(start, end)), left as it is; the walk goes on.
        k.folioGet(head);
        if (head !== faultHead && !k.folioTrylock(head)) {
          k.folioPut(head);
          collectSkip(args, (pmdEnd - addr) / PAGE_SIZE);
          addr = pmdEnd;
          continue;
        }
        const sr = splitFolio(k, head);
        if (head !== faultHead) k.folioUnlock(head);
        k.folioPut(head);
        if (sr < 0) {
          collectSkip(args, (pmdEnd - addr) / PAGE_SIZE);
          addr = pmdEnd;
          continue;
        }
      }
    }
    const s2 = mm.pt.slot(addr)!;
    const t = s2.table!;
    for (let a = addr; a < pmdEnd; a += PAGE_SIZE) {
      const i = pteIndex(a);
      const bits = t.bits[i]!;
      const type = bits & PTE_TYPE_MASK;
      if (type === PTE_NONE) {
        collectHole(args, a, a + PAGE_SIZE);
        continue;
      }
      let pfn = t.pfn[i]!;
      if (type === PTE_PRESENT && (bits & PTE_SPECIAL || k.isZeroPfn(pfn))) {
        if (k.isZeroPfn(pfn) && args.flags & MIGRATE_VMA_SELECT_SYSTEM) {
          args.src[args.npages] = MIGRATE_PFN_MIGRATE;
          args.dst[args.npages] = 0;
          args.npages++;
          args.cpages++;
        } else collectSkip(args, 1);
        continue;
      }
      if ((type !== PTE_PRESENT && type !== PTE_DEVICE_PRIVATE) || !selected(k, args, pfn)) {
        collectSkip(args, 1);
        continue;
      }
      let head = f.head(pfn);
      if (f.mapping(head) === 0) {
        collectSkip(args, 1);
        continue;
      }
      if (f.nrPages(head) > 1) {
        // A large folio mapped by PTEs: split it, then look at this entry again.
        k.folioGet(head);
        const locked = head === faultHead || k.folioTrylock(head);
        const sr = locked ? splitFolio(k, head) : -EBUSY;
        if (locked && head !== faultHead) k.folioUnlock(head);
        k.folioPut(head);
        if (sr < 0) {
          // migrate_vma_collect_skip(addr, end): the rest of this PMD only.
          collectSkip(args, (pmdEnd - a) / PAGE_SIZE);
          break;
        }
        pfn = t.pfn[i]!;
        head = f.head(pfn);
      }
      if (!lockForMigration(k, head, faultHead)) {
        collectSkip(args, 1);
        continue;
      }
      // folio_try_share_anon_rmap_pte: a pinned exclusive page cannot be unmapped.
      if (f.hasFlag(pfn, PG_ANON_EXCLUSIVE) && f.ref(head) - 1 >= 1024) {
        if (head !== faultHead) k.folioUnlock(head);
        k.folioPut(head);
        collectSkip(args, 1);
        continue;
      }
      const write = type === PTE_DEVICE_PRIVATE ? (bits & PTE_WRITE) !== 0 : (bits & PTE_WRITE) !== 0;
      installMigrationPte(k, t, i, pfn);
      args.src[args.npages] = migratePfn(pfn) + MIGRATE_PFN_MIGRATE + (write ? MIGRATE_PFN_WRITE : 0);
      args.dst[args.npages] = 0;
      args.npages++;
      args.cpages++;
    }
    addr = pmdEnd;
  }
  notifyEnd(mm, r);
  args.end = args.start + args.npages * PAGE_SIZE;
}

/**
 * migrate_device_unmap: unmaps every collected page from all mms and drops the entries that
 * cannot migrate (still mapped, or holding references beyond the migration's own: pinned).
 * Returns the number of entries still marked MIGRATE.
 */
function migrateDeviceUnmap(k: Kernel, src: Float64Array, npages: number, faultPage: number): number {
  const f = k.frames;
  const faultHead = faultPage >= 0 ? f.head(faultPage) : -1;
  let unmapped = 0;
  let restore = 0;
  for (let i = 0; i < npages; ) {
    const pfn = migratePfnToPfn(src[i]!);
    if (pfn < 0) {
      if (src[i]! & MIGRATE_PFN_MIGRATE) unmapped++;
      i++;
      continue;
    }
    const nr = f.nrPages(pfn);
    if (nr > 1) src[i] = mpfnSet(src[i]!, MIGRATE_PFN_COMPOUND);
    if (folioMapped(k, pfn)) tryToMigrate(k, pfn);
    // migrate_vma_check_folio: our reference plus the fault handler's, nothing else.
    const expected = 1 + (pfn === faultHead ? 1 : 0);
    if (folioMapped(k, pfn) || f.ref(pfn) > expected) {
      src[i] = mpfnClear(src[i]!, MIGRATE_PFN_MIGRATE);
      restore++;
    } else {
      unmapped++;
    }
    i += nr;
  }
  for (let i = 0; i < npages && restore > 0; i++) {
    const pfn = migratePfnToPfn(src[i]!);
    if (pfn < 0 || src[i]! & MIGRATE_PFN_MIGRATE) continue;
    removeMigrationPtes(k, pfn, pfn);
    src[i] = 0;
    if (pfn !== faultHead) k.folioUnlock(pfn);
    k.folioPut(pfn);
    restore--;
  }
  return unmapped;
}

/**
 * migrate_vma_setup: collects and unmaps the pages of [start, end) selected by `flags` and
 * `pgmapOwner`, filling `src`. Returns 0 (even if nothing could be migrated) or -EINVAL
 * (no VMA, hugetlb or special VMA, range outside the VMA, empty range, bad fault page).
 */
export function migrateVmaSetup(k: Kernel, args: MigrateVma): number {
  return runToCompletion(migrateVmaSetupSteps(k, args));
}

/**
 * migrate_vma_setup as resumable steps: its MMU_NOTIFY_MIGRATE invalidation yields at its
 * start and after each interval's callback (notifySteps); the collection, the end of the
 * invalidation and the unmap run in the step after. The caller holds mmap_lock for reading,
 * so faults and hmm_range_fault may run at those yields. Returns as migrateVmaSetup.
 */
export function* migrateVmaSetupSteps(k: Kernel, args: MigrateVma): KernelSteps {
  const vma = args.vma;
  args.start = Math.floor(args.start / PAGE_SIZE) * PAGE_SIZE;
  args.end = Math.floor(args.end / PAGE_SIZE) * PAGE_SIZE;
  const nrPages = (args.end - args.start) / PAGE_SIZE;
  if (!vma || vma.flags & VM_HUGETLB || vma.flags & VM_SPECIAL) return -EINVAL;
  if (nrPages <= 0) return -EINVAL;
  if (args.start < vma.start || args.start >= vma.end) return -EINVAL;
  if (args.end <= vma.start || args.end > vma.end) return -EINVAL;
  if (!args.src || !args.dst || args.src.length < nrPages || args.dst.length < nrPages) return -EINVAL;
  if (args.faultPage >= 0) {
    if (!k.isDevicePrivate(args.faultPage)) return -EINVAL;
    if (!k.frames.hasFlag(k.frames.head(args.faultPage), PG_LOCKED)) return -EINVAL;
  }
  args.src.fill(0, 0, nrPages);
  args.dst.fill(0, 0, nrPages);
  args.cpages = 0;
  args.npages = 0;
  yield* migrateVmaCollectSteps(k, args);
  if (args.cpages > 0) args.cpages = migrateDeviceUnmap(k, args.src, args.npages, args.faultPage);
  return 0;
}

// ---- migrate_vma_pages --------------------------------------------------------------------

/** migrate_vma_insert_page: maps a new page where there was a hole or the zero page. */
function insertPage(k: Kernel, args: MigrateVma, addr: number, dstPfn: number): boolean {
  const vma = args.vma;
  const mm = vma.mm;
  const f = k.frames;
  if (!vma.isAnonymous()) return false;
  const slot = mm.pt.slot(addr);
  if (slot && slot.kind === PMD_HUGE) {
    if (slot.pfn !== k.hugeZeroPfn) return false;
    splitHugePmdAt(k, mm, addr);
  } else if (slot && slot.kind !== PMD_TABLE && slot.kind !== PMD_NONE) {
    return false;
  }
  const t = mm.pt.tableAlloc(addr)!;
  const i = pteIndex(addr);
  const bits = t.bits[i]!;
  const type = bits & PTE_TYPE_MASK;
  if (type !== PTE_NONE && !(type === PTE_PRESENT && k.isZeroPfn(t.pfn[i]!))) return false;
  setAnonRmapFor(k, vma, dstPfn, addr);
  k.folioGet(f.head(dstPfn));
  f.addMapcount(dstPfn, 1);
  const writable = (vma.flags & VM_WRITE) !== 0;
  if (type === PTE_NONE) t.used++;
  t.pfn[i] = dstPfn;
  t.bits[i] = k.isDevicePrivate(dstPfn)
    ? PTE_DEVICE_PRIVATE | (writable ? PTE_WRITE : 0)
    : PTE_PRESENT | (writable ? PTE_WRITE | PTE_DIRTY : 0);
  return true;
}

/** migrate_vma_insert_huge_pmd_page: maps a new large folio where there was a PMD hole. */
function insertHugePmdPage(k: Kernel, args: MigrateVma, addr: number, dstHead: number): boolean {
  const vma = args.vma;
  const mm = vma.mm;
  const f = k.frames;
  if (!vma.isAnonymous() || addr < vma.start || addr + PMD_SIZE > vma.end) return false;
  const slot = mm.pt.slotAlloc(addr);
  if (slot.kind === PMD_TABLE && slot.table!.used === 0) {
    slot.kind = PMD_NONE;
    slot.table = null;
  }
  if (slot.kind !== PMD_NONE && !(slot.kind === PMD_HUGE && slot.pfn === k.hugeZeroPfn)) return false;
  for (let p = 0; p < HPAGE_PMD_NR; p++) {
    setAnonRmapFor(k, vma, dstHead + p, addr + p * PAGE_SIZE);
    f.addMapcount(dstHead + p, 1);
  }
  k.folioGet(dstHead);
  const writable = (vma.flags & VM_WRITE) !== 0;
  const dev = k.isDevicePrivate(dstHead);
  slot.kind = dev ? PMD_DEVICE_PRIVATE : PMD_HUGE;
  slot.pfn = dstHead;
  slot.bits = writable ? (dev ? PTE_WRITE : PTE_WRITE | PTE_DIRTY) : 0;
  slot.table = null;
  return true;
}

import { setAnonRmap } from './rmap.js';

function setAnonRmapFor(k: Kernel, vma: Vma, pfn: number, addr: number): void {
  setAnonRmap(k, vma, pfn, addr, true);
}

/**
 * The source THP is unmapped (PMD migration entries) but the destination is 512 small
 * pages: split the PMD entries and the folio, and expand src into per-page entries, each
 * locked and referenced (migrate_vma_split_unmapped_folio).
 */
function splitUnmappedFolio(k: Kernel, src: Float64Array, i: number): void {
  const f = k.frames;
  const head = migratePfnToPfn(src[i]!);
  const write = src[i]! & MIGRATE_PFN_WRITE;
  // Every PMD migration entry of this folio becomes 512 PTE migration entries.
  k.rmapWalk(head, (vma, va) => {
    const slot = vma.mm.pt.slot(va);
    if (slot && slot.kind === PMD_MIGRATION && slot.pfn === head) splitHugePmdLocked(k, slot);
    return undefined;
  });
  const extra = f.ref(head);
  const pgmap = k.pgmapOf(head);
  for (let p = 0; p < HPAGE_PMD_NR; p++) {
    const pfn = head + p;
    f.clearFlag(pfn, PG_HEAD | PG_TAIL);
    f.setOrder(pfn, 0);
    if (p > 0) {
      f.setRef(pfn, 1);
      f.setFlag(pfn, PG_LOCKED | (f.flags(head) & (PG_ANON | PG_DIRTY)));
      if (pgmap) pgmap.ops.folioSplit?.(head, pfn);
      src[i + p] = migratePfn(pfn) + MIGRATE_PFN_MIGRATE + write;
    }
  }
  f.setRef(head, extra);
  src[i] = mpfnClear(src[i]!, MIGRATE_PFN_COMPOUND);
}

/**
 * migrate_vma_pages / migrate_device_pages: commits the migration of every entry with a
 * destination: populates holes, moves the mapping state to the new page. Entries that
 * cannot move lose MIGRATE and are restored by finalize.
 */
function migrateDevicePagesInner(
  k: Kernel,
  src: Float64Array,
  dst: Float64Array,
  npages: number,
  args: MigrateVma | null,
): void {
  const f = k.frames;
  let notified: ReturnType<typeof notify> | null = null;
  const faultHead = args && args.faultPage >= 0 ? f.head(args.faultPage) : -1;
  for (let i = 0; i < npages; ) {
    let nr = 1;
    const newPfn = migratePfnToPfn(dst[i]!);
    const pfn = migratePfnToPfn(src[i]!);
    if (newPfn < 0) {
      src[i] = mpfnClear(src[i]!, MIGRATE_PFN_MIGRATE);
      if (src[i]! & MIGRATE_PFN_COMPOUND) nr = HPAGE_PMD_NR;
      i += nr;
      continue;
    }
    if (pfn < 0) {
      if (!(src[i]! & MIGRATE_PFN_MIGRATE) || !args) {
        i++;
        continue;
      }
      const addr = args.start + i * PAGE_SIZE;
      if (!notified) notified = notify(args.vma.mm, MMU_NOTIFY_MIGRATE, addr, args.end, args.pgmapOwner);
      if (src[i]! & MIGRATE_PFN_COMPOUND) {
        nr = HPAGE_PMD_NR;
        if (dst[i]! & MIGRATE_PFN_COMPOUND) {
          if (!insertHugePmdPage(k, args, addr, newPfn)) src[i] = mpfnClear(src[i]!, MIGRATE_PFN_MIGRATE);
        } else {
          src[i] = mpfnClear(src[i]!, MIGRATE_PFN_COMPOUND);
          for (let j = 0; j < nr; j++) {
            src[i + j] = mpfnSet(src[i + j]!, MIGRATE_PFN_MIGRATE);
            const d = migratePfnToPfn(dst[i + j]!);
            if (d < 0 || !insertPage(k, args, addr + j * PAGE_SIZE, d)) {
              src[i + j] = mpfnClear(src[i + j]!, MIGRATE_PFN_MIGRATE);
            }
          }
        }
      } else if (!insertPage(k, args, addr, newPfn)) {
        src[i] = mpfnClear(src[i]!, MIGRATE_PFN_MIGRATE);
      }
      i += nr;
      continue;
    }
    if (!(src[i]! & MIGRATE_PFN_MIGRATE)) {
      i += src[i]! & MIGRATE_PFN_COMPOUND ? HPAGE_PMD_NR : 1;
      continue;
    }
    if (src[i]! & MIGRATE_PFN_COMPOUND) {
      if (!(dst[i]! & MIGRATE_PFN_COMPOUND)) {
        if (!args) {
          src[i] = mpfnClear(mpfnClear(src[i]!, MIGRATE_PFN_MIGRATE), MIGRATE_PFN_COMPOUND);
          i += HPAGE_PMD_NR;
          continue;
        }
        splitUnmappedFolio(k, src, i);
      } else {
        nr = HPAGE_PMD_NR;
      }
    } else if (dst[i]! & MIGRATE_PFN_COMPOUND) {
      src[i] = mpfnClear(src[i]!, MIGRATE_PFN_MIGRATE);
      i++;
      continue;
    }
    const newPgmap = k.pgmapOf(newPfn);
    if (newPgmap && (newPgmap.type === MEMORY_DEVICE_PRIVATE || newPgmap.type === MEMORY_DEVICE_COHERENT)) {
      // Only anonymous memory moves to device memory.
      if (!f.hasFlag(pfn, PG_ANON)) {
        src[i] = mpfnClear(src[i]!, MIGRATE_PFN_MIGRATE);
        i += nr;
        continue;
      }
    } else if (newPgmap) {
      src[i] = mpfnClear(src[i]!, MIGRATE_PFN_MIGRATE);
      i += nr;
      continue;
    }
    // folio_migrate_mapping: our reference (and the fault handler's) must be the only ones.
    const expected = 1 + (pfn === faultHead ? 1 : 0);
    if (f.ref(f.head(pfn)) !== expected) {
      src[i] = mpfnClear(src[i]!, MIGRATE_PFN_MIGRATE);
      i += nr;
      continue;
    }
    for (let p = 0; p < nr; p++) {
      f.setMapping(newPfn + p, f.mapping(pfn + p), f.index(pfn + p));
      const keep = f.flags(pfn + p) & (PG_ANON | PG_DIRTY);
      f.setFlag(newPfn + p, keep);
    }
    i += nr;
  }
  if (notified && args) notifyEnd(args.vma.mm, notified);
}

/** migrate_vma_pages. */
export function migrateVmaPages(k: Kernel, args: MigrateVma): void {
  migrateDevicePagesInner(k, args.src, args.dst, args.npages, args);
}

/** migrate_device_pages: as migrate_vma_pages for device-side eviction (no hole population). */
export function migrateDevicePages(k: Kernel, src: Float64Array, dst: Float64Array, npages: number): void {
  migrateDevicePagesInner(k, src, dst, npages, null);
}

// ---- finalize -----------------------------------------------------------------------------

function migrateDeviceFinalizeInner(
  k: Kernel,
  src: Float64Array,
  dst: Float64Array,
  npages: number,
  faultPage: number,
): void {
  const f = k.frames;
  const faultHead = faultPage >= 0 ? f.head(faultPage) : -1;
  for (let i = 0; i < npages; i++) {
    const pfn = migratePfnToPfn(src[i]!);
    let newPfn = migratePfnToPfn(dst[i]!);
    if (pfn < 0) {
      if (newPfn >= 0) {
        k.folioUnlock(f.head(newPfn));
        k.folioPut(f.head(newPfn));
      }
      continue;
    }
    if (!(src[i]! & MIGRATE_PFN_MIGRATE) || newPfn < 0) {
      if (newPfn >= 0) {
        k.folioUnlock(f.head(newPfn));
        k.folioPut(f.head(newPfn));
      }
      newPfn = pfn;
    }
    removeMigrationPtes(k, pfn, newPfn);
    if (pfn !== faultHead) k.folioUnlock(pfn);
    k.folioPut(pfn);
    if (newPfn !== pfn) {
      k.folioUnlock(newPfn);
      k.folioPut(newPfn);
    }
  }
}

/** migrate_vma_finalize: switches CPU mappings to the new pages (or back), unlocks, frees. */
export function migrateVmaFinalize(k: Kernel, args: MigrateVma): void {
  migrateDeviceFinalizeInner(k, args.src, args.dst, args.npages, args.faultPage);
  k.observer?.onMigrate?.(args.faultPage >= 0 ? 'to_ram' : 'to_device', countMigrated(args.src, args.npages));
}

/** migrate_device_finalize. */
export function migrateDeviceFinalize(k: Kernel, src: Float64Array, dst: Float64Array, npages: number): void {
  migrateDeviceFinalizeInner(k, src, dst, npages, -1);
  k.observer?.onMigrate?.('device', countMigrated(src, npages));
}

function countMigrated(src: Float64Array, n: number): number {
  return migrateEntriesMoved(src, n).entries;
}

/**
 * What moved, read from a src array after migrate_vma_pages / migrate_device_pages: `entries`
 * counts the src entries still marked MIGRATE_PFN_MIGRATE, an entry with MIGRATE_PFN_COMPOUND
 * (a PMD-size folio moved whole) being one entry of HPAGE_PMD_NR `pages`; a folio the core split
 * first (migrate_vma_split_unmapped_folio) shows as HPAGE_PMD_NR entries of one page. Not a
 * kernel function: what a driver learns from its arrays, as test_hmm's
 * dmirror_successful_migrated_pages counts `cpages` (which leaves out populated holes; this
 * counts them, since they are migrated too). It reads both layouts: migrate_vma's (a compound
 * entry followed by HPAGE_PMD_NR - 1 zero entries) and a driver's packed migrate_device_pfns
 * array (one entry per folio).
 */
export function migrateEntriesMoved(src: ArrayLike<number>, n: number): { entries: number; pages: number } {
  let entries = 0;
  let pages = 0;
  for (let i = 0; i < n; i++) {
    const m = src[i]!;
    if (!(m & MIGRATE_PFN_MIGRATE)) continue;
    entries++;
    pages += m & MIGRATE_PFN_COMPOUND ? HPAGE_PMD_NR : 1;
  }
  return { entries, pages };
}

// ---- device-side eviction -----------------------------------------------------------------

/**
 * migrate_device_range: collects the in-use device pages of [startPfn, startPfn + npages)
 * (those with a reference, locked with trylock) and unmaps them from every mm. Returns 0.
 */
export function migrateDeviceRange(k: Kernel, src: Float64Array, startPfn: number, npages: number): number {
  const f = k.frames;
  for (let i = 0; i < npages; ) {
    const pfn = startPfn + i;
    if (f.hasFlag(pfn, PG_TAIL) || f.ref(pfn) === 0) {
      src[i] = 0;
      i++;
      continue;
    }
    const nr = f.nrPages(pfn);
    k.folioGet(pfn);
    if (k.folioTrylock(pfn)) {
      src[i] = migratePfn(pfn) + MIGRATE_PFN_MIGRATE + (nr > 1 ? MIGRATE_PFN_COMPOUND : 0);
    } else {
      k.folioPut(pfn);
      src[i] = 0;
    }
    for (let j = 1; j < nr; j++) src[i + j] = 0;
    i += nr;
  }
  migrateDeviceUnmap(k, src, npages, -1);
  return 0;
}

/** migrate_device_pfns: as migrate_device_range for an arbitrary list of pfns (in src). */
export function migrateDevicePfns(k: Kernel, src: Float64Array, npages: number): number {
  const f = k.frames;
  for (let i = 0; i < npages; i++) {
    const pfn = src[i]!;
    if (f.ref(pfn) === 0 || f.hasFlag(pfn, PG_TAIL)) {
      src[i] = 0;
      continue;
    }
    k.folioGet(pfn);
    if (k.folioTrylock(pfn)) {
      src[i] = migratePfn(pfn) + MIGRATE_PFN_MIGRATE + (f.nrPages(pfn) > 1 ? MIGRATE_PFN_COMPOUND : 0);
    } else {
      k.folioPut(pfn);
      src[i] = 0;
    }
  }
  migrateDeviceUnmap(k, src, npages, -1);
  return 0;
}

/**
 * migrate_device_coherent_folio: moves one device-coherent page to a new system page (used
 * when it would be pinned long term). The caller holds a reference. Returns 0 or -EBUSY.
 */
export function migrateDeviceCoherentFolio(k: Kernel, head: number): number {
  const f = k.frames;
  if (!k.folioTrylock(head)) return -EBUSY;
  const src = new Float64Array(1);
  const dst = new Float64Array(1);
  src[0] = migratePfn(head) + MIGRATE_PFN_MIGRATE;
  k.folioGet(head);
  // The caller's reference is accounted like the fault page's.
  migrateDeviceUnmapWithExtra(k, src, head);
  if (!(src[0]! & MIGRATE_PFN_MIGRATE)) return -EBUSY;
  const np = k.allocFolio(0);
  if (np >= 0) {
    k.folioTrylock(np);
    f.copyPage(np, head);
    dst[0] = migratePfn(np);
  }
  migrateDevicePagesWithExtra(k, src, dst, head);
  migrateDeviceFinalizeInner(k, src, dst, 1, -1);
  return src[0]! & MIGRATE_PFN_MIGRATE ? 0 : -EBUSY;
}

function migrateDeviceUnmapWithExtra(k: Kernel, src: Float64Array, head: number): void {
  const f = k.frames;
  if (folioMapped(k, head)) tryToMigrate(k, head);
  if (folioMapped(k, head) || f.ref(head) > 2) {
    removeMigrationPtes(k, head, head);
    src[0] = 0;
    k.folioUnlock(head);
    k.folioPut(head);
  }
}

function migrateDevicePagesWithExtra(k: Kernel, src: Float64Array, dst: Float64Array, head: number): void {
  const f = k.frames;
  const np = migratePfnToPfn(dst[0]!);
  if (np < 0 || f.ref(head) !== 2) {
    src[0] = mpfnClear(src[0]!, MIGRATE_PFN_MIGRATE);
    return;
  }
  f.setMapping(np, f.mapping(head), f.index(head));
  f.setFlag(np, f.flags(head) & (PG_ANON | PG_DIRTY));
}

// ---- device exclusive ---------------------------------------------------------------------

/**
 * make_device_exclusive: faults the page at addr in writable, locks its folio, then replaces
 * its PTE with a device-exclusive entry, notifying MMU_NOTIFY_EXCLUSIVE with `owner`. Returns
 * the pfn, locked and referenced (the caller unlocks and puts it), or -errno: what GUP
 * returns (-EFAULT: no VMA, not writable; -ENOMEM), -EOPNOTSUPP (not an anonymous page, or
 * hugetlb), -EINTR (folio_lock_killable: a fatal signal while the folio is locked).
 *
 * `fatalSignalPending` stands for fatal_signal_pending(current): the caller's task has been
 * sent SIGKILL. Run to completion there is nobody to unlock a locked folio, so meeting one
 * without a fatal signal is a KernelHang (Linux would sleep until its holder unlocks it); use
 * makeDeviceExclusiveSteps where another agent can unlock it.
 */
export function makeDeviceExclusive(
  k: Kernel,
  mm: Mm,
  addr: number,
  owner: unknown,
  fatalSignalPending: () => boolean = () => false,
): number {
  const g = makeDeviceExclusiveSteps(k, mm, addr, owner, fatalSignalPending);
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
    if (r.value.kind === 'folio_locked' && k.frames.hasFlag(r.value.pfn, PG_LOCKED)) {
      g.return(0);
      throw new KernelHang(
        `make_device_exclusive(0x${addr.toString(16)}) would sleep forever in folio_lock_killable: ` +
          `folio ${r.value.pfn} is locked and nothing else runs to unlock it`,
      );
    }
  }
}

/**
 * make_device_exclusive as resumable steps: while the folio is locked it yields
 * `{ kind: 'folio_locked', pfn: head }` (folio_lock_killable sleeps) and tries again when
 * resumed, returning -EINTR if `fatalSignalPending()` says so first. When the second walk no
 * longer finds the page mapped writable by a PTE, it starts over (`goto retry`, no limit).
 * Returns as makeDeviceExclusive.
 */
export function* makeDeviceExclusiveSteps(
  k: Kernel,
  mm: Mm,
  addr: number,
  owner: unknown,
  fatalSignalPending: () => boolean = () => false,
): KernelSteps {
  const f = k.frames;
  addr = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
  for (;;) {
    const slot = mm.pt.slot(addr);
    if (slot && slot.kind === PMD_HUGE && slot.pfn !== k.hugeZeroPfn && !f.hasFlag(slot.pfn, PG_HUGETLB)) {
      splitHugePmdAt(k, mm, addr); // FOLL_SPLIT_PMD
    }
    const got = getUserPages(k, mm, addr, 1, FOLL_GET | FOLL_WRITE | FOLL_SPLIT_PMD);
    if (typeof got === 'number') return got;
    const pfn = got[0]!;
    const head = f.head(pfn);
    if (!f.hasFlag(pfn, PG_ANON) || f.hasFlag(head, PG_HUGETLB)) {
      putUserPages(k, got, FOLL_GET);
      return -EOPNOTSUPP;
    }
    // folio_lock_killable: __folio_lock_killable checks for a fatal signal before each sleep.
    while (!k.folioTrylock(head)) {
      if (fatalSignalPending()) {
        putUserPages(k, got, FOLL_GET);
        return -EINTR;
      }
      yield { kind: 'folio_locked', pfn: head };
    }
    const r = notify(mm, MMU_NOTIFY_EXCLUSIVE, addr, addr + PAGE_SIZE, owner);
    const s2 = mm.pt.slot(addr);
    const t = s2?.kind === PMD_TABLE ? s2.table! : null;
    const i = pteIndex(addr);
    if (!t || t.pfn[i] !== pfn || (t.bits[i]! & PTE_TYPE_MASK) !== PTE_PRESENT || !(t.bits[i]! & PTE_WRITE)) {
      notifyEnd(mm, r);
      k.folioUnlock(head);
      putUserPages(k, got, FOLL_GET);
      continue;
    }
    if (t.bits[i]! & PTE_DIRTY) f.setFlag(head, PG_DIRTY);
    t.bits[i] = PTE_DEVICE_EXCLUSIVE | PTE_WRITE;
    notifyEnd(mm, r);
    return pfn;
  }
}
