/**
 * dmirror: hmmlab's twin of lib/test_hmm.c, the kernel's test device for HMM. It mirrors a
 * process's address space in a software "device page table" (pt) filled with
 * hmm_range_fault, drops entries on mmu interval notifier invalidations, and migrates pages to
 * its own ZONE_DEVICE memory (DEVICE_PRIVATE for minors 0-1, DEVICE_COHERENT for 2-3) with
 * migrate_vma_*. It is written only against the kernel API, as the real driver is.
 *
 * As in test_hmm, a device-private page holds no bytes: dmirror_devmem_alloc_page allocates a
 * system "backing" page (rpage) for each one and keeps it in the device page's
 * zone_device_data, and every copy goes through BACKING_PAGE(page) with the highmem helpers
 * (copy_highpage, memcpy_from_page). A device-private page has no kernel mapping, so a copy
 * that reaches one (dmirror_do_read of a page that dmirror_do_fault stored as it is) is the
 * oops it is in Linux (KernelOops). Device-coherent pages are CPU memory and hold their own.
 */
import {
  EBUSY,
  EFAULT,
  EINVAL,
  ENOENT,
  ENOMEM,
  EPERM,
  HMM_PFN_HI_ERROR,
  HMM_PFN_HI_REQ_FAULT,
  HMM_PFN_HI_REQ_WRITE,
  HMM_PFN_HI_VALID,
  HMM_PFN_HI_WRITE,
  HPAGE_PMD_NR,
  HPAGE_PMD_ORDER,
  HPAGE_PUD_ORDER,
  MEMORY_DEVICE_COHERENT,
  MEMORY_DEVICE_PRIVATE,
  type MemoryType,
  MIGRATE_PFN_COMPOUND,
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_VALID,
  MIGRATE_PFN_WRITE,
  MIGRATE_VMA_SELECT_COMPOUND,
  MIGRATE_VMA_SELECT_DEVICE_COHERENT,
  MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
  MIGRATE_VMA_SELECT_SYSTEM,
  MMU_NOTIFY_MIGRATE,
  PAGE_SIZE,
  TASK_SIZE,
  VM_FAULT_OOM,
  VM_FAULT_SIGBUS,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
} from '../kernel/constants.js';
import { PG_HEAD, PG_KERNEL, PG_TAIL } from '../kernel/frames.js';
import { clearHighpage, copyHighpage, folioCopy, memcpyFromPage, memcpyToPage } from '../kernel/highmem.js';
import { HmmRange, hmmRangeFault } from '../kernel/hmm.js';
import type { Kernel } from '../kernel/kernel.js';
import { UserFault, userRead, userWrite } from '../kernel/memory.js';
import { DevPagemap, type VmFault } from '../kernel/memremap.js';
import {
  type MigrateVma,
  makeDeviceExclusive,
  migrateDeviceFinalize,
  migrateDevicePages,
  migrateDeviceRange,
  migrateEntriesMoved,
  migratePfn,
  migratePfnToPfn,
  migrateToRamArgs,
  migrateVmaFinalize,
  migrateVmaPages,
  migrateVmaSetup,
  newMigrateVma,
} from '../kernel/migrate_device.js';
import type { Mm, Vma } from '../kernel/mm.js';
import {
  MmuIntervalNotifier,
  type MmuNotifierRange,
  mmuIntervalNotifierRemoveSteps,
  mmuIntervalReadBeginSteps,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
} from '../kernel/mmu_notifier.js';
import { PTE_PRESENT, PTE_WRITE, pteIndex } from '../kernel/pgtable.js';
import { type KernelSteps, MMAP_READ_LOCK, MMAP_READ_UNLOCK } from '../kernel/wait.js';
import {
  HMM_DMIRROR_CHECK_EXCLUSIVE,
  HMM_DMIRROR_EXCLUSIVE,
  HMM_DMIRROR_FLAG_FAIL_ALLOC,
  HMM_DMIRROR_FLAGS,
  HMM_DMIRROR_MIGRATE_TO_DEV,
  HMM_DMIRROR_MIGRATE_TO_SYS,
  HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL,
  HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE,
  HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL,
  HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE,
  HMM_DMIRROR_PROT_ERROR,
  HMM_DMIRROR_PROT_NONE,
  HMM_DMIRROR_PROT_PMD,
  HMM_DMIRROR_PROT_PUD,
  HMM_DMIRROR_PROT_READ,
  HMM_DMIRROR_PROT_WRITE,
  HMM_DMIRROR_PROT_ZERO,
  HMM_DMIRROR_READ,
  HMM_DMIRROR_RELEASE,
  HMM_DMIRROR_SNAPSHOT,
  HMM_DMIRROR_WRITE,
  type HmmDmirrorCmd,
} from '../uapi/test_hmm_uapi.js';

/** 256 MiB of device memory per chunk (DEVMEM_CHUNK_SIZE). */
export const DEVMEM_CHUNK_PAGES = (256 * 1024 * 1024) / PAGE_SIZE;
/** Pages per hmm_range_fault call in the fault and snapshot paths (pfns[32]). */
const RANGE_PAGES = 32;
/** Pages per migrate_vma call (one PMD). */
const MIGRATE_PAGES = HPAGE_PMD_NR;
/**
 * dmirror_range_fault gives up after 1 s of invalidation storms in the kernel. The model has
 * no wall clock inside the kernel, so it bounds the number of retries instead.
 */
const MAX_RANGE_RETRIES = 1000;

/** Largest bounce buffer the model allocates (1 GiB); larger requests get -ENOMEM. */
const MAX_BOUNCE_BYTES = 2 ** 30;

// pt entry tags (DPT_XA_TAG_*): an entry is pfn * 4 + tag.
const TAG_ATOMIC = 1;
const TAG_WRITE = 3;

interface Chunk {
  pgmap: DevPagemap;
  remove: boolean;
}

/** struct dmirror_device: one /dev/hmm_dmirrorN with its device memory. */
export class DmirrorDevice {
  readonly chunks: Chunk[] = [];
  freePages: number[] = [];
  freeFolios: number[] = [];
  /** Pages allocated and freed (calloc / cfree). */
  calloc = 0;
  /**
   * Not in test_hmm (default false, as lib/test_hmm.c does): invalidate mirrors on migrations
   * this device owns too (see Dmirror.invalidate).
   */
  invalidateOwnMigrate = false;
  /**
   * Not in test_hmm (default false, as lib/test_hmm.c does): dmirror_do_fault stores
   * BACKING_PAGE(page) for a device-private page of this device, as
   * dmirror_migrate_finalize_and_map does, instead of the device page itself (whose
   * memcpy_from_page in dmirror_do_read is an oops). With invalidateOwnMigrate, the fix of the
   * two-files finding (scenarios/races/dmirror-own-migrate-fixed.yaml).
   */
  faultMapsBackingPage = false;
  cfree = 0;
  /**
   * zone_device_data of each in-use device-private page: its backing system page (rpage),
   * allocated with it by dmirror_devmem_alloc_page and freed with it by dmirror_devmem_free.
   * Keyed by folio head (and by each page once a folio is split, as
   * dmirror_devmem_folio_split does); a coherent device has none (BACKING_PAGE is the page).
   */
  readonly zoneDeviceData = new Map<number, number>();
  /**
   * zone_device_data of each backing page (of the device page itself on a coherent device):
   * the open file that migrated it, which dmirror_devmem_fault reads back.
   */
  readonly owners = new Map<number, Dmirror>();
  /** Open files of this device that are not released yet. */
  readonly opens = new Set<Dmirror>();
  /** Fixed physical range of special-purpose memory (coherent devices only). */
  private spmPfn = -1;
  /**
   * Not in test_hmm: the migrate work this device's migrations did, in both directions (its
   * ioctls, its migrate_to_ram, its chunk evictions), for the simulator's cost model: `calls`
   * migrate sequences, `entries` moved (migrateEntriesMoved: a THP moved whole is one) and the
   * `pages` they held. It only grows; the simulator charges what it grew by.
   */
  readonly migrated = { calls: 0, entries: 0, pages: 0 };

  /** Counts one migrate sequence and what it moved (src read after migrate_*_pages). */
  countMigration(src: ArrayLike<number>, n: number): void {
    const { entries, pages } = migrateEntriesMoved(src, n);
    this.migrated.calls++;
    this.migrated.entries += entries;
    this.migrated.pages += pages;
  }

  constructor(
    readonly k: Kernel,
    readonly minor: number,
    readonly zoneDeviceType: MemoryType,
  ) {
    if (zoneDeviceType === MEMORY_DEVICE_COHERENT) {
      this.spmPfn = k.requestFreeMemRegion(DEVMEM_CHUNK_PAGES * PAGE_SIZE);
      if (this.spmPfn < 0) throw new Error('model bug: no physical space for dmirror coherent memory');
    }
    // dmirror_device_init allocates the first chunk, all of it order-0 pages.
    if (this.allocateChunk(false) < 0)
      throw new Error('model bug: dmirror could not allocate its first chunk');
  }

  get name(): string {
    return `hmm_dmirror${this.minor}`;
  }

  /** dmirror_allocate_chunk: 0 or -ENOMEM (a coherent device cannot grow past its one chunk). */
  allocateChunk(isLarge: boolean): number {
    const k = this.k;
    let start: number;
    if (this.zoneDeviceType === MEMORY_DEVICE_COHERENT) {
      if (this.chunks.length > 0) return -ENOMEM;
      start = this.spmPfn;
    } else {
      start = k.requestFreeMemRegion(DEVMEM_CHUNK_PAGES * PAGE_SIZE);
      // dmirror_allocate_chunk: a failed request_free_mem_region ends in -ENOMEM.
      if (start < 0) return -ENOMEM;
    }
    const pgmap = new DevPagemap(
      this.zoneDeviceType,
      this,
      {
        folioFree: (head) => this.devmemFree(head),
        migrateToRam:
          this.zoneDeviceType === MEMORY_DEVICE_PRIVATE ? (vmf) => this.devmemFault(vmf) : undefined,
        folioSplit: (head, tail) => this.folioSplit(head, tail),
      },
      `${this.name} chunk ${this.chunks.length}`,
    );
    const r = k.memremapPages(pgmap, start, DEVMEM_CHUNK_PAGES);
    if (r < 0) return r;
    this.chunks.push({ pgmap, remove: false });
    // Free lists are LIFO; the last pushed (highest pfn) is handed out first, as in the driver.
    for (let pfn = start; pfn < start + DEVMEM_CHUNK_PAGES; ) {
      if (isLarge && pfn % HPAGE_PMD_NR === 0 && pfn + HPAGE_PMD_NR <= start + DEVMEM_CHUNK_PAGES) {
        this.freeFolios.push(pfn);
        pfn += HPAGE_PMD_NR;
      } else {
        this.freePages.push(pfn);
        pfn++;
      }
    }
    return 0;
  }

  /**
   * dmirror_devmem_alloc_page: a locked, referenced device page or folio; -1 when none. A
   * device-private one gets a backing system folio of the same order first (folio_alloc
   * GFP_HIGHUSER), kept in zoneDeviceData; -1 without RAM for it.
   */
  allocPage(isLarge: boolean): number {
    const order = isLarge ? HPAGE_PMD_ORDER : 0;
    let rpage = -1;
    if (this.zoneDeviceType === MEMORY_DEVICE_PRIVATE) {
      rpage = this.k.allocFolio(order);
      if (rpage < 0) return -1;
    }
    let pfn = isLarge ? this.freeFolios.pop() : this.freePages.pop();
    if (pfn === undefined) {
      if (this.allocateChunk(isLarge) >= 0) pfn = isLarge ? this.freeFolios.pop() : this.freePages.pop();
      if (pfn === undefined) {
        if (rpage >= 0) this.k.folioPut(rpage);
        return -1;
      }
    }
    this.k.zoneDeviceFolioInit(pfn, order);
    this.calloc += 2 ** order;
    if (rpage >= 0) this.zoneDeviceData.set(pfn, rpage);
    return pfn;
  }

  /**
   * BACKING_PAGE(page): the system page that holds a device-private page's data (its
   * zone_device_data, at the page's offset in its folio); any other page is its own.
   */
  backingPage(pfn: number): number {
    const k = this.k;
    if (!k.isDevicePrivate(pfn)) return pfn;
    const head = k.frames.head(pfn);
    const r = this.zoneDeviceData.get(head);
    if (r === undefined) throw new Error(`model bug: device-private page ${pfn} has no backing page`);
    return r + (pfn - head);
  }

  private chunkOf(pfn: number): Chunk | undefined {
    const pgmap = this.k.pgmapOf(pfn);
    return this.chunks.find((c) => c.pgmap === pgmap);
  }

  /** dmirror_devmem_free (folio_free): frees the backing folio, returns the page to the free list. */
  private devmemFree(head: number): void {
    const nr = 2 ** this.k.frames.order(head);
    const rpage = this.backingPage(head);
    for (let i = 0; i < nr; i++) this.owners.delete(rpage + i);
    if (rpage !== head) {
      this.zoneDeviceData.delete(head);
      this.k.folioPut(rpage);
    }
    this.cfree += nr;
    const chunk = this.chunkOf(head);
    if (chunk && !chunk.remove) {
      if (nr > 1) this.freeFolios.push(head);
      else this.freePages.push(head);
    }
  }

  /**
   * dmirror_devmem_folio_split: the backing folio is split with the device folio (each backing
   * page its own order-0 folio with one reference), the tail's zone_device_data is its backing
   * page, and that page keeps who migrated it.
   */
  private folioSplit(head: number, tail: number): void {
    const rpage = this.zoneDeviceData.get(head);
    if (rpage === undefined) return;
    const f = this.k.frames;
    const order = f.order(rpage);
    if (order > 0) {
      // folio_reset_order(rfolio) and folio_init_count of every backing page.
      for (let i = 0; i < 2 ** order; i++) {
        f.clearFlag(rpage + i, PG_HEAD | PG_TAIL);
        f.setOrder(rpage + i, 0);
        f.setRef(rpage + i, 1);
      }
    }
    const rtail = rpage + (tail - head);
    this.zoneDeviceData.set(tail, rtail);
    const owner = this.owners.get(rpage);
    if (owner) this.owners.set(rtail, owner);
  }

  /** dmirror_devmem_fault (migrate_to_ram): the CPU touched one of our private pages. */
  private devmemFault(vmf: VmFault): number {
    const k = this.k;
    // rpage = folio_zone_device_data(page_folio(vmf->page)); dmirror = rpage->zone_device_data.
    const rpage = this.zoneDeviceData.get(k.frames.head(vmf.page));
    const dmirror = rpage === undefined ? undefined : this.owners.get(rpage);
    if (!dmirror) return VM_FAULT_SIGBUS;
    const args = migrateToRamArgs(k, vmf, dmirror.mdevice);
    if (migrateVmaSetup(k, args) < 0) return VM_FAULT_SIGBUS;
    const ret = dmirror.faultAllocAndCopy(args);
    if (ret) {
      // test_hmm returns here; the model finalizes so that no migration entry is left behind.
      migrateVmaFinalize(k, args);
      this.migrated.calls++;
      return ret;
    }
    migrateVmaPages(k, args);
    this.countMigration(args.src, args.npages);
    migrateVmaFinalize(k, args);
    return 0;
  }

  /** dmirror_device_evict_chunk: migrate every in-use page of the chunk back to RAM. */
  evictChunk(chunk: Chunk): void {
    const k = this.k;
    const f = k.frames;
    const start = chunk.pgmap.startPfn;
    const n = chunk.pgmap.npages;
    const src = new Float64Array(n);
    const dst = new Float64Array(n);
    migrateDeviceRange(k, src, start, n);
    for (let i = 0; i < n; i++) {
      const spfn = migratePfnToPfn(src[i]!);
      if (spfn < 0 || !(src[i]! & MIGRATE_PFN_MIGRATE)) continue;
      const order = f.order(spfn);
      let dpfn = k.allocFolio(order);
      let compound = order > 0;
      if (dpfn < 0 && order > 0) {
        dpfn = -1;
        compound = false;
      }
      if (dpfn < 0) {
        if (order > 0) throw new Error('model bug: no RAM to evict a device folio to');
        throw new Error('model bug: no RAM to evict device memory to (__GFP_NOFAIL)');
      }
      k.folioTrylock(dpfn);
      // spage = BACKING_PAGE(spage); folio_copy(page_folio(dpage), page_folio(spage)).
      folioCopy(k, dpfn, this.backingPage(spfn), order);
      dst[i] = migratePfn(dpfn) + (compound ? MIGRATE_PFN_COMPOUND : 0);
    }
    migrateDevicePages(k, src, dst, n);
    this.countMigration(src, n);
    migrateDeviceFinalize(k, src, dst, n);
  }

  /** dmirror_device_remove_chunks (HMM_DMIRROR_RELEASE): evict and free all device memory. */
  removeChunks(): void {
    for (const chunk of this.chunks) {
      chunk.remove = true;
      const lo = chunk.pgmap.startPfn;
      const hi = lo + chunk.pgmap.npages;
      this.freePages = this.freePages.filter((p) => p < lo || p >= hi);
      this.freeFolios = this.freeFolios.filter((p) => p < lo || p >= hi);
      this.evictChunk(chunk);
      this.k.memunmapPages(chunk.pgmap);
    }
    this.chunks.length = 0;
  }

  /** Opens the device: a new mirror of `mm` (dmirror_fops_open). */
  open(mm: Mm): Dmirror {
    const d = new Dmirror(this, mm);
    this.opens.add(d);
    return d;
  }
}

function ioctlName(request: number): string {
  switch (request) {
    case HMM_DMIRROR_READ:
      return 'READ';
    case HMM_DMIRROR_WRITE:
      return 'WRITE';
    case HMM_DMIRROR_MIGRATE_TO_DEV:
      return 'MIGRATE_TO_DEV';
    case HMM_DMIRROR_MIGRATE_TO_SYS:
      return 'MIGRATE_TO_SYS';
    case HMM_DMIRROR_SNAPSHOT:
      return 'SNAPSHOT';
    case HMM_DMIRROR_EXCLUSIVE:
      return 'EXCLUSIVE';
    case HMM_DMIRROR_CHECK_EXCLUSIVE:
      return 'CHECK_EXCLUSIVE';
    case HMM_DMIRROR_RELEASE:
      return 'RELEASE';
    case HMM_DMIRROR_FLAGS:
      return 'FLAGS';
    default:
      return '';
  }
}

/** Bounce buffer of a READ/WRITE/readback (struct dmirror_bounce). */
interface Bounce {
  buf: Uint8Array;
  addr: number;
  cpages: number;
}

/** struct dmirror: one open file of the device. */
export class Dmirror {
  flags = 0;
  /** The device page table: virtual page number to pfn * 4 + tag. */
  readonly pt = new Map<number, number>();
  readonly notifier: MmuIntervalNotifier;
  released = false;

  constructor(
    readonly mdevice: DmirrorDevice,
    readonly mm: Mm,
  ) {
    this.notifier = new MmuIntervalNotifier(
      { invalidate: (sub, range, cur) => this.invalidate(sub, range, cur) },
      mm.notifiers,
    );
    mm.notifiers.insert(this.notifier, 0, TASK_SIZE);
  }

  private get k(): Kernel {
    return this.mdevice.k;
  }

  /** dmirror_interval_invalidate. */
  private invalidate(sub: MmuIntervalNotifier, range: MmuNotifierRange, curSeq: number): boolean {
    // Migrations owned by our device do not invalidate our mirror (test_hmm returns without
    // mmu_interval_set_seq). Only the file that migrates a page erases its entries
    // (dmirror_devmem_fault_alloc_and_copy; finalize_and_map overwrites them), so another file
    // of the same device that mirrored the page in RAM keeps the freed system page (the race
    // explorer's dmirror-own-migrate). invalidateOwnMigrate handles them as any other event; it
    // needs faultMapsBackingPage beside it (doFault). nouveau is no model for it: its
    // nouveau_svmm_invalidate_range_start skips its own MMU_NOTIFY_MIGRATE events the same way.
    if (
      range.event === MMU_NOTIFY_MIGRATE &&
      range.owner === this.mdevice &&
      !this.mdevice.invalidateOwnMigrate
    )
      return true;
    mmuIntervalSetSeq(sub, curSeq);
    this.doUpdate(range.start, range.end);
    return true;
  }

  /** dmirror_do_update: erases pt entries for pages start>>12 .. end>>12, both inclusive. */
  private doUpdate(start: number, end: number): void {
    const first = Math.floor(start / PAGE_SIZE);
    const last = Math.floor(end / PAGE_SIZE);
    if (last - first + 1 > this.pt.size) {
      for (const vpn of [...this.pt.keys()]) if (vpn >= first && vpn <= last) this.pt.delete(vpn);
    } else {
      for (let v = first; v <= last; v++) this.pt.delete(v);
    }
  }

  /** The ioctl as resumable steps (each yield is a point where no lock is held). */
  *ioctlSteps(request: number, cmd: HmmDmirrorCmd): KernelSteps {
    const name = ioctlName(request);
    if (!name) return -EINVAL;
    const c = { ...cmd };
    if (!isU64(c.addr) || !isU64(c.ptr) || !isU64(c.npages)) return -EFAULT;
    if (c.addr % PAGE_SIZE !== 0) return -EINVAL;
    if (c.addr >= c.addr + c.npages * PAGE_SIZE || c.addr + c.npages * PAGE_SIZE > 2 ** 64) return -EINVAL;
    c.cpages = 0;
    c.faults = 0;
    // The bounce buffer of READ/WRITE and of the read-backs is vmalloc'ed in the kernel; a
    // request larger than the model can hold fails the way a vmalloc failure does.
    const bounced = [HMM_DMIRROR_READ, HMM_DMIRROR_WRITE, HMM_DMIRROR_MIGRATE_TO_DEV, HMM_DMIRROR_EXCLUSIVE];
    if (bounced.includes(request) && c.npages * PAGE_SIZE > MAX_BOUNCE_BYTES) return -ENOMEM;
    let ret: number;
    switch (request) {
      case HMM_DMIRROR_READ:
        ret = yield* this.read(c);
        break;
      case HMM_DMIRROR_WRITE:
        ret = yield* this.write(c);
        break;
      case HMM_DMIRROR_MIGRATE_TO_DEV:
        ret = this.migrateToDevice(c);
        break;
      case HMM_DMIRROR_MIGRATE_TO_SYS:
        ret = this.migrateToSystem(c);
        break;
      case HMM_DMIRROR_SNAPSHOT:
        ret = yield* this.snapshot(c);
        break;
      case HMM_DMIRROR_EXCLUSIVE:
        ret = this.exclusive(c);
        break;
      case HMM_DMIRROR_CHECK_EXCLUSIVE:
        ret = this.checkAtomic(c.addr, c.addr + c.npages * PAGE_SIZE);
        break;
      case HMM_DMIRROR_RELEASE:
        this.mdevice.removeChunks();
        ret = 0;
        break;
      case HMM_DMIRROR_FLAGS:
        this.flags = c.npages;
        ret = 0;
        break;
      default:
        ret = -EINVAL;
    }
    if (ret === 0) {
      // copy_to_user of the command: only on success.
      cmd.cpages = c.cpages;
      cmd.faults = c.faults;
    }
    return ret;
  }

  // ---- READ / WRITE ---------------------------------------------------------------------

  /**
   * dmirror_do_read: copies mirrored pages into the bounce buffer (memcpy_from_page of the
   * stored page); -ENOENT at a missing one. A stored device-private page is an oops.
   */
  private doRead(start: number, end: number, b: Bounce): number {
    const k = this.k;
    for (let a = start; a < end; a += PAGE_SIZE) {
      const e = this.pt.get(a / PAGE_SIZE);
      if (e === undefined) return -ENOENT;
      const pfn = Math.floor(e / 4);
      memcpyFromPage(k, b.buf, a - b.addr, pfn, 0, PAGE_SIZE);
      b.cpages++;
    }
    return 0;
  }

  /** dmirror_do_write: memcpy_to_page of the bounce buffer into mirrored pages tagged writable. */
  private doWrite(start: number, end: number, b: Bounce): number {
    const k = this.k;
    for (let a = start; a < end; a += PAGE_SIZE) {
      const e = this.pt.get(a / PAGE_SIZE);
      if (e === undefined || e % 4 !== TAG_WRITE) return -ENOENT;
      const pfn = Math.floor(e / 4);
      memcpyToPage(k, pfn, 0, b.buf, a - b.addr, PAGE_SIZE);
      b.cpages++;
    }
    return 0;
  }

  /** dmirror_range_fault: the driver fault path of Documentation/mm/hmm.rst. */
  private *rangeFault(range: HmmRange): KernelSteps {
    const k = this.k;
    for (let tries = 0; ; tries++) {
      if (tries >= MAX_RANGE_RETRIES) return -EBUSY;
      range.notifierSeq = yield* mmuIntervalReadBeginSteps(this.notifier);
      yield MMAP_READ_LOCK;
      const ret = hmmRangeFault(k, this.mm, range);
      yield MMAP_READ_UNLOCK;
      if (ret === -EBUSY) continue;
      if (ret) return ret;
      // mutex_lock(&dmirror->mutex): the rest runs without yielding, as under the lock.
      if (mmuIntervalReadRetry(this.notifier, range.notifierSeq)) continue;
      return this.doFault(range);
    }
  }

  /** dmirror_do_fault: programs the mirror from the snapshot (under the driver lock). */
  private doFault(range: HmmRange): number {
    const n = (range.end - range.start) / PAGE_SIZE;
    const base = range.start / PAGE_SIZE;
    for (let i = 0; i < n; i++) {
      const hi = range.flags(i);
      if (!(hi & HMM_PFN_HI_VALID)) return -EFAULT;
      // entry = page: test_hmm stores what hmm_range_fault returned, a device-private page of
      // its own device included (dev_private_owner is the device), which dmirror_do_read then
      // copies through a kernel mapping it does not have. faultMapsBackingPage stores
      // BACKING_PAGE(page) instead.
      let pfn = range.pfn(i);
      if (this.mdevice.faultMapsBackingPage) pfn = this.mdevice.backingPage(pfn);
      if (hi & HMM_PFN_HI_WRITE) this.pt.set(base + i, pfn * 4 + TAG_WRITE);
      else if (range.defaultFlags & HMM_PFN_HI_REQ_WRITE) return -EFAULT;
      else this.pt.set(base + i, pfn * 4);
    }
    return 0;
  }

  /** dmirror_fault: fault [start, end) in RANGE_PAGES chunks. */
  private *fault(start: number, end: number, write: boolean): KernelSteps {
    if (this.mm.dead) return 0;
    for (let addr = start; addr < end; ) {
      const next = Math.min(end, addr + RANGE_PAGES * PAGE_SIZE);
      const range = new HmmRange(
        this.notifier,
        addr,
        next,
        HMM_PFN_HI_REQ_FAULT | (write ? HMM_PFN_HI_REQ_WRITE : 0),
        0,
        this.mdevice,
      );
      const ret = yield* this.rangeFault(range);
      if (ret) return ret;
      addr = next;
    }
    return 0;
  }

  private *read(c: HmmDmirrorCmd): KernelSteps {
    const size = c.npages * PAGE_SIZE;
    const b: Bounce = { buf: new Uint8Array(size), addr: c.addr, cpages: 0 };
    let start = c.addr;
    const end = c.addr + size;
    let ret: number;
    for (;;) {
      ret = this.doRead(start, end, b);
      if (ret !== -ENOENT) break;
      start = c.addr + b.cpages * PAGE_SIZE;
      ret = yield* this.fault(start, end, false);
      if (ret) break;
      c.faults++;
    }
    if (ret === 0 && !this.copyToUser(c.ptr, b.buf)) ret = -EFAULT;
    c.cpages = b.cpages;
    return ret;
  }

  private *write(c: HmmDmirrorCmd): KernelSteps {
    const size = c.npages * PAGE_SIZE;
    const data = this.copyFromUser(c.ptr, size);
    if (!data) return -EFAULT;
    const b: Bounce = { buf: data, addr: c.addr, cpages: 0 };
    let start = c.addr;
    const end = c.addr + size;
    let ret: number;
    for (;;) {
      ret = this.doWrite(start, end, b);
      if (ret !== -ENOENT) break;
      start = c.addr + b.cpages * PAGE_SIZE;
      ret = yield* this.fault(start, end, true);
      if (ret) break;
      c.faults++;
    }
    c.cpages = b.cpages;
    return ret;
  }

  /** copy_to_user into the opener's... into the caller's address space (the mm we mirror). */
  private copyToUser(ptr: number, bytes: Uint8Array): boolean {
    try {
      userWrite(this.k, this.currentMm, ptr, bytes);
      return true;
    } catch (e) {
      if (e instanceof UserFault) return false;
      throw e;
    }
  }

  private copyFromUser(ptr: number, len: number): Uint8Array | null {
    try {
      return userRead(this.k, this.currentMm, ptr, len);
    } catch (e) {
      if (e instanceof UserFault) return null;
      throw e;
    }
  }

  /** The calling process's mm for copy_{to,from}_user; set by the file layer per ioctl. */
  currentMm!: Mm;

  // ---- migration --------------------------------------------------------------------------

  /** dmirror_migrate_alloc_and_copy: device pages for every collected source. */
  private migrateAllocAndCopy(args: MigrateVma): void {
    const k = this.k;
    const dev = this.mdevice;
    const n = (args.end - args.start) / PAGE_SIZE;
    for (let i = 0; i < n; ) {
      const src = args.src[i]!;
      const isLarge = (src & MIGRATE_PFN_COMPOUND) !== 0;
      const step = isLarge ? HPAGE_PMD_NR : 1;
      if (!(src & MIGRATE_PFN_MIGRATE)) {
        i += step;
        continue;
      }
      const spage = migratePfnToPfn(src);
      // Never migrate device pages (ours or another device's) from here.
      if (spage >= 0 && k.pgmapOf(spage)) {
        i += step;
        continue;
      }
      const write = src & MIGRATE_PFN_WRITE ? MIGRATE_PFN_WRITE : 0;
      let dpage = -1;
      if (this.flags & HMM_DMIRROR_FLAG_FAIL_ALLOC) this.flags &= ~HMM_DMIRROR_FLAG_FAIL_ALLOC;
      else dpage = dev.allocPage(isLarge);
      if (dpage < 0) {
        if (!isLarge) {
          i += 1;
          continue;
        }
        // A large allocation failed: fall back to 512 small pages; the core splits the THP.
        for (let j = 0; j < HPAGE_PMD_NR; j++) {
          const d = dev.allocPage(false);
          if (d < 0) break;
          const rpage = dev.backingPage(d);
          dev.owners.set(rpage, this);
          args.dst[i + j] = migratePfn(d) + write;
          if (spage >= 0) copyHighpage(k, rpage, spage + j);
          else clearHighpage(k, rpage);
        }
        i += HPAGE_PMD_NR;
        continue;
      }
      // rpage = BACKING_PAGE(dpage); rpage->zone_device_data = dmirror; copy_highpage(rpage, spage).
      const rpage = dev.backingPage(dpage);
      const nr = isLarge ? HPAGE_PMD_NR : 1;
      for (let j = 0; j < nr; j++) {
        if (spage >= 0) copyHighpage(k, rpage + j, spage + j);
        else clearHighpage(k, rpage + j);
        dev.owners.set(rpage + j, this);
      }
      args.dst[i] = migratePfn(dpage) + write + (isLarge ? MIGRATE_PFN_COMPOUND : 0);
      i += step;
    }
  }

  /** dmirror_migrate_finalize_and_map: mirror the migrated pages (under the driver lock). */
  private migrateFinalizeAndMap(args: MigrateVma): void {
    const n = (args.end - args.start) / PAGE_SIZE;
    const base = args.start / PAGE_SIZE;
    for (let i = 0; i < n; i++) {
      if (!(args.src[i]! & MIGRATE_PFN_MIGRATE)) continue;
      const d = migratePfnToPfn(args.dst[i]!);
      if (d < 0) continue;
      const tag = args.dst[i]! & MIGRATE_PFN_WRITE ? TAG_WRITE : 0;
      const nr = args.dst[i]! & MIGRATE_PFN_COMPOUND ? HPAGE_PMD_NR : 1;
      // "Store the page that holds the data": the pt maps BACKING_PAGE(dpage), not dpage.
      const rpage = this.mdevice.backingPage(d);
      for (let j = 0; j < nr; j++) this.pt.set(base + i + j, (rpage + j) * 4 + tag);
    }
  }

  private migrateToDevice(c: HmmDmirrorCmd): number {
    const k = this.k;
    const mm = this.mm;
    const start = c.addr;
    const end = start + c.npages * PAGE_SIZE;
    if (mm.dead) return -EINVAL;
    for (let addr = start; addr < end; ) {
      const vma = mm.vmaLookup(addr);
      if (!vma || !(vma.flags & VM_READ)) return -EINVAL;
      let next = Math.min(end, addr + MIGRATE_PAGES * PAGE_SIZE);
      if (next > vma.end) next = vma.end;
      const args = newMigrateVma(
        vma,
        addr,
        next,
        this.mdevice,
        MIGRATE_VMA_SELECT_SYSTEM | MIGRATE_VMA_SELECT_COMPOUND,
      );
      const r = migrateVmaSetup(k, args);
      if (r) return r;
      this.migrateAllocAndCopy(args);
      migrateVmaPages(k, args);
      this.mdevice.countMigration(args.src, args.npages);
      this.migrateFinalizeAndMap(args);
      migrateVmaFinalize(k, args);
      addr = next;
    }
    // Return the migrated data for verification (no faulting).
    const b: Bounce = { buf: new Uint8Array(end - start), addr: start, cpages: 0 };
    let ret = this.doRead(start, end, b);
    if (ret === 0 && !this.copyToUser(c.ptr, b.buf)) ret = -EFAULT;
    c.cpages = b.cpages;
    return ret;
  }

  /**
   * dmirror_devmem_fault_alloc_and_copy: system pages for device pages going back to RAM,
   * erasing their mirror entries. Returns 0 or VM_FAULT_OOM.
   */
  faultAllocAndCopy(args: MigrateVma): number {
    const k = this.k;
    const f = k.frames;
    const n = (args.end - args.start) / PAGE_SIZE;
    for (let i = 0; i < n; ) {
      const src = args.src[i]!;
      const spage = migratePfnToPfn(src);
      if (spage < 0 || !(src & MIGRATE_PFN_MIGRATE)) {
        i++;
        continue;
      }
      const order = f.order(spage);
      const nr = 2 ** order;
      // spage = BACKING_PAGE(spage): the copy reads the system page that holds the data.
      const rspage = this.mdevice.backingPage(spage);
      const write = src & MIGRATE_PFN_WRITE ? MIGRATE_PFN_WRITE : 0;
      let compound = order > 0;
      let dpage = -1;
      if (this.flags & HMM_DMIRROR_FLAG_FAIL_ALLOC) {
        this.flags &= ~HMM_DMIRROR_FLAG_FAIL_ALLOC;
        compound = false;
      } else if (order > 0) {
        dpage = k.allocFolio(order);
      }
      const addr = args.start + i * PAGE_SIZE;
      if (dpage < 0 && order > 0) {
        const pages: number[] = [];
        for (let j = 0; j < nr; j++) {
          const p = k.allocFolio(0);
          if (p < 0) {
            for (const q of pages) {
              k.folioUnlock(q);
              k.folioPut(q);
            }
            for (let x = 0; x < nr; x++) args.dst[i + x] = 0;
            return VM_FAULT_OOM;
          }
          k.folioTrylock(p);
          pages.push(p);
        }
        for (let j = 0; j < nr; j++) {
          args.dst[i + j] = migratePfn(pages[j]!) + write;
          copyHighpage(k, pages[j]!, rspage + j);
          this.pt.delete(addr / PAGE_SIZE + j);
        }
        i += nr;
        continue;
      }
      if (dpage < 0) dpage = k.allocFolio(0);
      if (dpage < 0) return VM_FAULT_OOM;
      k.folioTrylock(dpage);
      args.dst[i] = migratePfn(dpage) + write + (compound ? MIGRATE_PFN_COMPOUND : 0);
      for (let j = 0; j < nr; j++) {
        copyHighpage(k, dpage + j, rspage + j);
        this.pt.delete(addr / PAGE_SIZE + j);
      }
      i += nr;
    }
    return 0;
  }

  private migrateToSystem(c: HmmDmirrorCmd): number {
    const k = this.k;
    const mm = this.mm;
    const start = c.addr;
    const end = start + c.npages * PAGE_SIZE;
    if (mm.dead) return -EINVAL;
    let cpages = 0;
    const select =
      this.mdevice.zoneDeviceType === MEMORY_DEVICE_PRIVATE
        ? MIGRATE_VMA_SELECT_DEVICE_PRIVATE
        : MIGRATE_VMA_SELECT_DEVICE_COHERENT;
    for (let addr = start; addr < end; ) {
      const vma = mm.vmaLookup(addr);
      if (!vma || !(vma.flags & VM_READ)) {
        c.cpages = cpages;
        return -EINVAL;
      }
      let next = Math.min(end, addr + MIGRATE_PAGES * PAGE_SIZE);
      if (next > vma.end) next = vma.end;
      const args = newMigrateVma(vma, addr, next, this.mdevice, select | MIGRATE_VMA_SELECT_COMPOUND);
      const r = migrateVmaSetup(k, args);
      if (r) {
        c.cpages = cpages;
        return r;
      }
      if (this.faultAllocAndCopy(args)) {
        migrateVmaFinalize(k, args);
        this.mdevice.migrated.calls++;
        c.cpages = cpages;
        return -ENOMEM;
      }
      migrateVmaPages(k, args);
      this.mdevice.countMigration(args.src, args.npages);
      for (let i = 0; i < args.npages; i++) {
        if (args.src[i]! & MIGRATE_PFN_VALID && args.src[i]! & MIGRATE_PFN_MIGRATE) cpages++;
      }
      migrateVmaFinalize(k, args);
      addr = next;
    }
    c.cpages = cpages;
    return 0;
  }

  // ---- snapshot ---------------------------------------------------------------------------

  /** dmirror_mkentry: one snapshot byte from an hmm_pfn. */
  private mkentry(range: HmmRange, i: number): number {
    const k = this.k;
    const hi = range.flags(i);
    if (hi & HMM_PFN_HI_ERROR) return HMM_DMIRROR_PROT_ERROR;
    if (!(hi & HMM_PFN_HI_VALID)) return HMM_DMIRROR_PROT_NONE;
    const pfn = range.pfn(i);
    const pgmap = k.pgmapOf(pfn);
    let perm: number;
    if (pgmap?.type === MEMORY_DEVICE_PRIVATE) {
      perm =
        pgmap.owner === this.mdevice
          ? HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL
          : HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE;
    } else if (pgmap?.type === MEMORY_DEVICE_COHERENT) {
      perm =
        pgmap.owner === this.mdevice
          ? HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL
          : HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE;
    } else if (pfn === k.zeroPfn) {
      perm = HMM_DMIRROR_PROT_ZERO;
    } else {
      perm = HMM_DMIRROR_PROT_NONE;
    }
    perm |= hi & HMM_PFN_HI_WRITE ? HMM_DMIRROR_PROT_WRITE : HMM_DMIRROR_PROT_READ;
    const order = range.order(i);
    if (order === HPAGE_PMD_ORDER) perm |= HMM_DMIRROR_PROT_PMD;
    else if (order === HPAGE_PUD_ORDER) perm |= HMM_DMIRROR_PROT_PUD;
    return perm;
  }

  private *snapshot(c: HmmDmirrorCmd): KernelSteps {
    const k = this.k;
    const mm = this.mm;
    if (mm.dead) return -EINVAL;
    const start = c.addr;
    const end = start + c.npages * PAGE_SIZE;
    let uptr = c.ptr;
    let cpages = 0;
    for (let addr = start; addr < end; ) {
      const next = Math.min(end, addr + RANGE_PAGES * PAGE_SIZE);
      // A temporary notifier over just this chunk, whose invalidate only bumps the sequence.
      const sub = new MmuIntervalNotifier(
        {
          invalidate: (s, _r, cur) => {
            mmuIntervalSetSeq(s, cur);
            return true;
          },
        },
        mm.notifiers,
      );
      mm.notifiers.insert(sub, addr, next - addr);
      const range = new HmmRange(sub, addr, next, 0, 0, this.mdevice);
      let ret = 0;
      let perm: Uint8Array | null = null;
      for (let tries = 0; ; tries++) {
        if (tries >= MAX_RANGE_RETRIES) {
          ret = -EBUSY;
          break;
        }
        range.notifierSeq = yield* mmuIntervalReadBeginSteps(sub);
        yield MMAP_READ_LOCK;
        ret = hmmRangeFault(k, mm, range);
        yield MMAP_READ_UNLOCK;
        if (ret === -EBUSY) continue;
        if (ret) break;
        if (mmuIntervalReadRetry(sub, range.notifierSeq)) continue;
        const n = (next - addr) / PAGE_SIZE;
        perm = new Uint8Array(n);
        for (let i = 0; i < n; i++) perm[i] = this.mkentry(range, i);
        break;
      }
      // mmu_interval_notifier_remove sleeps while an invalidation that still may call it runs.
      yield* mmuIntervalNotifierRemoveSteps(sub);
      if (ret) return ret;
      if (!this.copyToUser(uptr, perm!)) return -EFAULT;
      cpages += perm!.length;
      uptr += perm!.length;
      addr = next;
    }
    c.cpages = cpages;
    return 0;
  }

  // ---- exclusive access -------------------------------------------------------------------

  private exclusive(c: HmmDmirrorCmd): number {
    const k = this.k;
    const mm = this.mm;
    if (mm.dead) return -EINVAL;
    const start = c.addr;
    const end = start + c.npages * PAGE_SIZE;
    for (let addr = start; addr < end; addr += PAGE_SIZE) {
      const pfn = makeDeviceExclusive(k, mm, addr, null);
      if (pfn < 0) return pfn;
      // dmirror_atomic_map, under the driver lock.
      this.pt.set(addr / PAGE_SIZE, pfn * 4 + TAG_ATOMIC);
      const head = k.frames.head(pfn);
      k.folioUnlock(head);
      k.folioPut(head);
    }
    const b: Bounce = { buf: new Uint8Array(end - start), addr: start, cpages: 0 };
    let ret = this.doRead(start, end, b);
    if (ret === 0 && !this.copyToUser(c.ptr, b.buf)) ret = -EFAULT;
    c.cpages = b.cpages;
    return ret;
  }

  /** dmirror_check_atomic: -EPERM while any page of [start, end] is still mapped atomically. */
  private checkAtomic(start: number, end: number): number {
    const first = start / PAGE_SIZE;
    const last = Math.floor(end / PAGE_SIZE);
    for (const [vpn, e] of this.pt) if (vpn >= first && vpn <= last && e % 4 === TAG_ATOMIC) return -EPERM;
    return 0;
  }

  // ---- mmap and release ----------------------------------------------------------------

  /** dmirror_fops_mmap: a zeroed kernel page for every page of the VMA (vm_insert_page). */
  mmap(vma: Vma): number {
    const k = this.k;
    const f = k.frames;
    for (let a = vma.start; a < vma.end; a += PAGE_SIZE) {
      const pfn = k.allocFolio(0, PG_KERNEL);
      if (pfn < 0) return -ENOMEM;
      const t = vma.mm.pt.tableAlloc(a)!;
      const i = pteIndex(a);
      // vm_page_prot: private mappings are mapped read-only (copy on write).
      const writable = (vma.flags & (VM_SHARED | VM_WRITE)) === (VM_SHARED | VM_WRITE);
      t.pfn[i] = pfn;
      t.bits[i] = PTE_PRESENT | (writable ? PTE_WRITE : 0);
      t.used++;
      f.addMapcount(pfn, 1);
      // The page's allocation reference becomes the mapping's (put_page after insert).
    }
    return 0;
  }

  /** dmirror_fops_release: stop mirroring, then evict all of the device's memory to RAM. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.mdevice.opens.delete(this);
    this.mm.notifiers.remove(this.notifier);
    for (const chunk of this.mdevice.chunks) this.mdevice.evictChunk(chunk);
    this.pt.clear();
  }
}

function isU64(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n < 2 ** 64;
}
