/**
 * The kernel instance: physical memory, the page allocator, ZONE_DEVICE page maps, the rmap
 * objects (anon_vma, inodes) and the mm registry. Everything is deterministic: no clock, no
 * randomness; the same calls give the same pfns and the same results.
 */
import {
  EINVAL,
  ENOMEM,
  ENXIO,
  ERANGE,
  HPAGE_PMD_NR,
  HPAGE_PMD_ORDER,
  MEMORY_DEVICE_COHERENT,
  MEMORY_DEVICE_PRIVATE,
  PAGE_SHIFT,
} from './constants.js';
import {
  FrameTable,
  PG_ALLOCATED,
  PG_ANON,
  PG_ANON_EXCLUSIVE,
  PG_DEVICE,
  PG_HEAD,
  PG_HUGETLB,
  PG_KERNEL,
  PG_LOCKED,
  PG_TAIL,
  PG_ZERO,
  SECTION_FRAMES,
  SLOT_BYTES,
  SUBSECTION_SHIFT,
} from './frames.js';
import { type DevPagemap, KernelHang } from './memremap.js';
import type { AnonVma, Inode, Mm, Vma } from './mm.js';
import { pageTableBytes } from './pgtable.js';

export type ThpMode = 'always' | 'madvise' | 'never';

// ---- the physical address space -------------------------------------------------------------
// Pure functions of the layout, so that what is placed where can be known before a kernel is
// built (the scenario schema checks that a machine fits in the model's address space with them).

/** The model's physical address space: pfns below 2^32 (16 TiB of 4 KiB pages). */
export const MAX_PHYS_PFN = 2 ** 32;

/**
 * The first pfn request_free_mem_region() hands out on a machine with `ramBytes` of RAM: the
 * section after the one RAM ends in (device memory lives above RAM, section aligned). Never
 * throws.
 */
export function firstDeviceRegionPfn(ramBytes: number): number {
  const ramPages = Math.floor(ramBytes / 2 ** PAGE_SHIFT);
  return Math.ceil((ramPages + SECTION_FRAMES) / SECTION_FRAMES) * SECTION_FRAMES;
}

/**
 * Where request_free_mem_region() places the region after one of `bytes` at `startPfn`: the
 * next subsection (2 MiB) boundary past it. Never throws.
 */
export function nextDeviceRegionPfn(startPfn: number, bytes: number): number {
  const n = Math.ceil(bytes / 2 ** PAGE_SHIFT);
  return Math.ceil((startPfn + n) / (1 << SUBSECTION_SHIFT)) * (1 << SUBSECTION_SHIFT);
}

/**
 * The end (exclusive pfn, subsection aligned) of device regions of `regionBytes`, requested in
 * that order on a machine with `ramBytes` of RAM, as the kernel's requestFreeMemRegion places
 * them. The regions fit when it is below MAX_PHYS_PFN. Never throws.
 */
export function deviceRegionsEndPfn(ramBytes: number, regionBytes: readonly number[]): number {
  let cursor = firstDeviceRegionPfn(ramBytes);
  for (const bytes of regionBytes) cursor = nextDeviceRegionPfn(cursor, bytes);
  return cursor;
}

export interface KernelOptions {
  ramBytes: number;
  thp: ThpMode;
  /** Default-size (2 MiB) hugetlb pages in the pool. */
  hugetlbPages: number;
}

/** Observer of kernel events; every method optional (metrics and traces plug in here). */
export interface KernelObserver {
  onFault?(mm: number, addr: number, flags: number, result: number): void;
  onMigrate?(kind: 'to_device' | 'to_ram' | 'device', pages: number): void;
  onFolioFree?(head: number, nr: number, device: boolean): void;
  /** A migration moved the folio mapped at [start, end) of mm `mm` (remove_migration_ptes installed the new one). */
  onFolioMoved?(mm: number, start: number, end: number): void;
}

/** Reserved frames at the bottom of RAM: pfn 0..1023 (the zero page and the huge zero folio). */
const RESERVED_PFNS = 1024;

/**
 * The page allocator. Frames are handed out densely (a LIFO free list, then a bump pointer)
 * so that memory for frame state grows with the pages in use. Order-9 requests come from a
 * free list of whole huge frames or from the bump pointer aligned to 512. This is not the
 * buddy allocator; it is deterministic and never fragments beyond what the model needs.
 */
class PageAllocator {
  private bump = RESERVED_PFNS;
  private free0 = new Uint32Array(1024);
  private n0 = 0;
  private readonly free9: number[] = [];
  /** Pages currently allocated from RAM. */
  used = 0;

  constructor(
    readonly ramPages: number,
    private readonly frames: FrameTable,
  ) {}

  alloc(order: number): number {
    const nr = 2 ** order;
    if (this.used + nr > this.ramPages - RESERVED_PFNS) return -1;
    let pfn = -1;
    if (order === 0) {
      if (this.n0 > 0) pfn = this.free0[--this.n0]!;
      else if (this.bump < this.ramPages) pfn = this.bump++;
    } else if (order === HPAGE_PMD_ORDER) {
      if (this.free9.length > 0) pfn = this.free9.pop()!;
      else {
        let b = this.bump;
        const aligned = Math.ceil(b / HPAGE_PMD_NR) * HPAGE_PMD_NR;
        if (aligned + HPAGE_PMD_NR <= this.ramPages) {
          this.frames.populate(b, aligned + HPAGE_PMD_NR - b);
          for (; b < aligned; b++) this.push0(b);
          pfn = aligned;
          this.bump = aligned + HPAGE_PMD_NR;
        }
      }
    } else {
      throw new Error(`model bug: unsupported allocation order ${order}`);
    }
    if (pfn < 0) return -1;
    this.frames.populate(pfn, nr);
    this.used += nr;
    return pfn;
  }

  private push0(pfn: number): void {
    if (this.n0 === this.free0.length) {
      const bigger = new Uint32Array(this.free0.length * 2);
      bigger.set(this.free0);
      this.free0 = bigger;
    }
    this.free0[this.n0++] = pfn;
  }

  /** Bytes of the free lists (they grow with pages freed, not with RAM). */
  memoryBytes(): number {
    return this.free0.byteLength + this.free9.length * SLOT_BYTES;
  }

  free(pfn: number, order: number): void {
    this.used -= 2 ** order;
    if (order === 0) this.push0(pfn);
    else this.free9.push(pfn);
  }
}

export class Kernel {
  readonly frames = new FrameTable();
  readonly alloc: PageAllocator;
  readonly ramPages: number;
  readonly thp: ThpMode;
  /** The shared zero page (ZERO_PAGE(0)). */
  readonly zeroPfn = 0;
  /** The huge zero folio (order 9). */
  readonly hugeZeroPfn = 512;
  hugetlbTotal: number;
  hugetlbFree: number;
  /** Registered dev_pagemaps by id (index 0 unused). */
  readonly pgmaps: (DevPagemap | undefined)[] = [undefined];
  readonly anonVmas = new Map<number, AnonVma>();
  readonly inodes = new Map<number, Inode>();
  readonly mms = new Map<number, Mm>();
  private nextId = 1;
  /** Next free device physical pfn (request_free_mem_region hands out ranges above RAM). */
  private deviceCursor: number;
  observer: KernelObserver | null = null;
  /**
   * Upstream fixes the model can switch off, to reproduce the races they fixed (the race
   * explorer's buggy variants, src/explore/). Default: Linux as of 7.0 (all on).
   * - hmmWaitOnLockedFolio: a fault that meets a locked device-private folio sleeps until it is
   *   unlocked before hmm_range_fault retries ("mm: Fix a hmm_range_fault() livelock /
   *   starvation problem", T. Hellström, 2026). Off: hmm_range_fault spins on -EBUSY.
   */
  readonly fixes = { hmmWaitOnLockedFolio: true };
  /**
   * Oopses kernel code hit (highmem.ts: a kernel-mapping copy of a device-private page), as
   * the kernel log would show them; each was also thrown as KernelOops. The invariant checker
   * reports any (`kernel oops`), so one a caller swallowed is still seen.
   */
  readonly oopses: string[] = [];

  constructor(opts: KernelOptions) {
    this.ramPages = Math.floor(opts.ramBytes / 2 ** PAGE_SHIFT);
    if (this.ramPages < RESERVED_PFNS * 4) throw new Error('model bug: RAM too small');
    if (this.ramPages >= 2 ** 31) throw new Error('model bug: RAM above 8 TiB is not supported');
    this.thp = opts.thp;
    this.hugetlbTotal = opts.hugetlbPages;
    this.hugetlbFree = opts.hugetlbPages;
    this.alloc = new PageAllocator(this.ramPages, this.frames);
    // Device memory lives above RAM, section aligned, as request_free_mem_region() places it
    // at the top of the physical address space.
    this.deviceCursor = firstDeviceRegionPfn(opts.ramBytes);
    const f = this.frames;
    f.populate(0, RESERVED_PFNS);
    f.setFlags(this.zeroPfn, PG_ZERO | PG_KERNEL | PG_ALLOCATED);
    f.setRef(this.zeroPfn, 1);
    f.setFlags(this.hugeZeroPfn, PG_ZERO | PG_KERNEL | PG_ALLOCATED | PG_HEAD);
    f.setOrder(this.hugeZeroPfn, HPAGE_PMD_ORDER);
    f.setRef(this.hugeZeroPfn, 1);
    for (let i = 1; i < HPAGE_PMD_NR; i++) {
      f.setFlags(this.hugeZeroPfn + i, PG_ZERO | PG_KERNEL | PG_ALLOCATED | PG_TAIL);
      f.setOrder(this.hugeZeroPfn + i, HPAGE_PMD_ORDER);
    }
  }

  /**
   * Model memory, in bytes: `frames` is the frame table (sections, page contents) and the
   * allocator's free lists; `pageTables` every live mm's page tables. Both grow with the pages
   * in use and the address space mapped, not with the RAM or device memory declared.
   */
  memoryBytes(): { frames: number; pageTables: number } {
    let pageTables = 0;
    for (const mm of this.mms.values()) pageTables += pageTableBytes(mm.pt);
    return { frames: this.frames.memoryBytes() + this.alloc.memoryBytes(), pageTables };
  }

  newId(): number {
    return this.nextId++;
  }

  isZeroPfn(pfn: number): boolean {
    return pfn === this.zeroPfn || (pfn >= this.hugeZeroPfn && pfn < this.hugeZeroPfn + HPAGE_PMD_NR);
  }

  // ---- folios --------------------------------------------------------------------------

  /**
   * Allocates a zeroed folio of `order` (0 or 9) from RAM: refcount 1, unlocked.
   * Returns the head pfn or -1 when out of memory.
   */
  allocFolio(order: number, extraFlags = 0): number {
    const pfn = this.alloc.alloc(order);
    if (pfn < 0) return -1;
    this.initFolio(pfn, order, PG_ALLOCATED | extraFlags);
    return pfn;
  }

  private initFolio(pfn: number, order: number, flags: number): void {
    const f = this.frames;
    const nr = 2 ** order;
    for (let i = 0; i < nr; i++) {
      const p = pfn + i;
      f.setFlags(p, flags | (order > 0 ? (i === 0 ? PG_HEAD : PG_TAIL) : 0));
      f.setOrder(p, order);
      f.setRef(p, 0);
      f.fill(p, 0);
      f.setMapping(p, 0, 0);
    }
    f.setRef(pfn, 1);
    f.noteUse(pfn, nr);
  }

  /** Allocates a hugetlb page from the pool: head pfn or -1. */
  allocHugetlb(): number {
    if (this.hugetlbFree <= 0) return -1;
    const pfn = this.allocFolio(HPAGE_PMD_ORDER, PG_HUGETLB);
    if (pfn >= 0) this.hugetlbFree--;
    return pfn;
  }

  /** folio_get. */
  folioGet(head: number): void {
    this.frames.addRef(head, 1);
  }

  /** folio_put: drops a reference and frees the folio when it was the last. */
  folioPut(head: number, n = 1): void {
    const f = this.frames;
    if (f.hasFlag(head, PG_ZERO)) return; // the zero pages are never freed
    if (f.addRef(head, -n) === 0) this.freeFolio(head);
  }

  /** Lock helpers (folio_trylock / folio_unlock) on the head frame. */
  folioTrylock(head: number): boolean {
    if (this.frames.hasFlag(head, PG_LOCKED)) return false;
    this.frames.setFlag(head, PG_LOCKED);
    return true;
  }
  folioUnlock(head: number): void {
    if (!this.frames.hasFlag(head, PG_LOCKED)) throw new Error(`model bug: unlocking unlocked folio ${head}`);
    this.frames.clearFlag(head, PG_LOCKED);
  }

  private freeFolio(head: number): void {
    const f = this.frames;
    const order = f.order(head);
    const nr = 2 ** order;
    for (let i = 0; i < nr; i++) {
      if (f.mapcount(head + i) !== 0) throw new Error(`model bug: freeing mapped page ${head + i}`);
    }
    if (f.hasFlag(head, PG_LOCKED)) throw new Error(`model bug: freeing locked folio ${head}`);
    const pgid = f.pgmapId(head);
    if (pgid !== 0 && f.hasFlag(head, PG_DEVICE)) {
      // free_zone_device_folio: clear anon state, then hand the folio back to the driver.
      const pgmap = this.pgmaps[pgid]!;
      // Its content is dropped too: unreadable while free, and zeroed when it is next used.
      for (let i = 0; i < nr; i++) {
        f.clearFlag(head + i, PG_ANON | PG_ANON_EXCLUSIVE | PG_ALLOCATED);
        f.setMapping(head + i, 0, 0);
        f.fill(head + i, 0);
      }
      f.noteUse(head, -nr);
      this.observer?.onFolioFree?.(head, nr, true);
      pgmap.ops.folioFree?.(head);
      pgmap.refs -= nr;
      return;
    }
    const hugetlb = f.hasFlag(head, PG_HUGETLB);
    for (let i = 0; i < nr; i++) {
      f.fill(head + i, 0);
      f.setFlags(head + i, 0);
      f.setMapping(head + i, 0, 0);
    }
    f.noteUse(head, -nr);
    this.observer?.onFolioFree?.(head, nr, false);
    this.alloc.free(head, order);
    if (hugetlb) this.hugetlbFree++;
  }

  // ---- ZONE_DEVICE ---------------------------------------------------------------------

  /**
   * request_free_mem_region: a free physical range of `bytes` for device memory, above RAM.
   * Returns its first pfn, or -ERANGE when the physical address space has no room left (as
   * __request_free_mem_region's ERR_PTR(-ERANGE)); nothing is taken then.
   */
  requestFreeMemRegion(bytes: number): number {
    const start = this.deviceCursor;
    const next = nextDeviceRegionPfn(start, bytes);
    if (next >= MAX_PHYS_PFN) return -ERANGE;
    this.deviceCursor = next;
    return start;
  }

  /**
   * memremap_pages: registers `pgmap` over [startPfn, startPfn + npages). Returns 0 or
   * -EINVAL (missing ops or owner for the type, empty range), -ENOMEM (conflicting mapping in
   * the same subsection), -ENXIO (intersects System RAM).
   */
  memremapPages(pgmap: DevPagemap, startPfn: number, npages: number): number {
    if (npages <= 0) return -EINVAL;
    if (pgmap.type === MEMORY_DEVICE_PRIVATE) {
      if (!pgmap.ops.migrateToRam || !pgmap.ops.folioFree || pgmap.owner == null) return -EINVAL;
    } else if (pgmap.type === MEMORY_DEVICE_COHERENT) {
      if (!pgmap.ops.folioFree || pgmap.owner == null) return -EINVAL;
    }
    if (startPfn < this.ramPages) return -ENXIO;
    for (let p = startPfn; p < startPfn + npages; p += 1 << SUBSECTION_SHIFT) {
      if (this.frames.pgmapId(p) !== 0) return -ENOMEM;
    }
    if (this.frames.pgmapId(startPfn + npages - 1) !== 0) return -ENOMEM;
    pgmap.id = this.pgmaps.length;
    this.pgmaps.push(pgmap);
    pgmap.startPfn = startPfn;
    pgmap.npages = npages;
    this.frames.setPgmapId(startPfn, npages, pgmap.id);
    const f = this.frames;
    for (let p = startPfn; p < startPfn + npages; p++) {
      f.setFlags(p, PG_DEVICE);
      f.setRef(p, 0);
    }
    return 0;
  }

  /**
   * memunmap_pages: kills the pagemap and removes it. The kernel waits until every page
   * has been freed, which never happens if the driver did not evict them first: the model
   * refuses that loudly with a KernelHang instead of blocking forever.
   */
  memunmapPages(pgmap: DevPagemap): void {
    pgmap.dying = true;
    if (pgmap.refs > 0) {
      throw new KernelHang(
        `memunmap_pages(${pgmap.name || `pgmap ${pgmap.id}`}) with ${pgmap.refs} pages still in use ` +
          'would wait forever: evict them first (migrate_device_range + pages + finalize)',
      );
    }
    this.frames.setPgmapId(pgmap.startPfn, pgmap.npages, 0);
    const f = this.frames;
    for (let p = pgmap.startPfn; p < pgmap.startPfn + pgmap.npages; p++) {
      f.fill(p, 0);
      f.setFlags(p, 0);
    }
    this.pgmaps[pgmap.id] = undefined;
  }

  /** The dev_pagemap a pfn belongs to (page_pgmap), or undefined for RAM. */
  pgmapOf(pfn: number): DevPagemap | undefined {
    const id = this.frames.pgmapId(pfn);
    return id === 0 ? undefined : this.pgmaps[id];
  }

  isDevicePrivate(pfn: number): boolean {
    return this.pgmapOf(pfn)?.type === MEMORY_DEVICE_PRIVATE;
  }

  isDeviceCoherent(pfn: number): boolean {
    return this.pgmapOf(pfn)?.type === MEMORY_DEVICE_COHERENT;
  }

  /**
   * zone_device_folio_init: a free device folio becomes in use: refcount 1, locked, and
   * pgmap references taken.
   */
  zoneDeviceFolioInit(head: number, order: number): void {
    const pgmap = this.pgmapOf(head);
    if (!pgmap) throw new Error(`model bug: pfn ${head} is not ZONE_DEVICE memory`);
    if (pgmap.dying) throw new Error(`model bug: initialising a page of dying pagemap ${pgmap.name}`);
    const f = this.frames;
    if (f.ref(head) !== 0) throw new Error(`model bug: device page ${head} is already in use`);
    const nr = 2 ** order;
    for (let i = 0; i < nr; i++) {
      const p = head + i;
      f.setFlags(p, PG_DEVICE | PG_ALLOCATED | (order > 0 ? (i === 0 ? PG_HEAD : PG_TAIL) : 0));
      f.setOrder(p, order);
      f.setMapping(p, 0, 0);
      f.fill(p, 0);
    }
    f.setRef(head, 1);
    f.setFlag(head, PG_LOCKED);
    f.noteUse(head, nr);
    pgmap.refs += nr;
  }

  // ---- rmap ----------------------------------------------------------------------------

  /**
   * Visits every (vma, address) that may map the page `pfn` (rmap_walk over the anon_vma or
   * the inode's i_mmap). The visitor checks the page table itself; return true to stop.
   */
  rmapWalk(pfn: number, visit: (vma: Vma, va: number) => boolean | undefined): void {
    const f = this.frames;
    const mapping = f.mapping(pfn);
    if (mapping === 0) return;
    let vmas: Iterable<Vma>;
    let index: number;
    if (f.hasFlag(pfn, PG_ANON)) {
      const av = this.anonVmas.get(mapping);
      if (!av) return;
      vmas = [...av.vmas];
      index = f.index(pfn) + av.indexBase;
    } else {
      const inode = this.inodes.get(mapping);
      if (!inode) return;
      vmas = [...inode.mappings];
      index = f.index(pfn);
    }
    // A large folio may straddle VMAs (split by mprotect or munmap in one mm): visit every VMA
    // its pages overlap. `va` is where the head would be; callers check each page's address.
    const span = f.nrPages(f.head(pfn)) * 2 ** PAGE_SHIFT;
    for (const vma of vmas) {
      const va = vma.start + (index - vma.pgoff) * 2 ** PAGE_SHIFT;
      if (va < vma.end && va + span > vma.start && !vma.mm.dead) {
        if (visit(vma, va)) return;
      }
    }
  }
}
