/**
 * The SVM GPU's VRAM: device-private memory registered with memremap_pages in regions on
 * first use, handed out in 2 MiB blocks (one large folio, or split into 4 KiB pages) with the
 * blocks in use on a least-recently-allocated list, and the BAR through which PCI peers reach
 * it (PCI_P2PDMA alias pages).
 *
 * Counterparts: nvidia-uvm's physical memory manager (uvm_pmm_gpu.c: root chunks, the
 * used-chunk LRU it evicts from), nouveau's dmem chunks (nouveau_dmem.c:
 * nouveau_dmem_chunk_alloc, nouveau_dmem_page_alloc_locked, nouveau_dmem_page_free), Xe's
 * drm_pagemap / xe_devm_add (devm_memremap_pages of the VRAM) and the RFC's
 * get_dma_pfn_for_device for BAR alias pages (pci_p2pdma_add_resource).
 * Deliberate differences: the LRU is updated on allocation only (nvidia-uvm also touches it on
 * use); VRAM regions are memremapped lazily, to keep terabyte configurations small.
 */
import {
  EINVAL,
  ENODEV,
  ENOMEM,
  HPAGE_PMD_NR,
  HPAGE_PMD_ORDER,
  MEMORY_DEVICE_PCI_P2PDMA,
  MEMORY_DEVICE_PRIVATE,
  PAGE_SIZE,
  PMD_SIZE,
} from '../../kernel/constants.js';
import type { Kernel } from '../../kernel/kernel.js';
import { DevPagemap, type VmFault } from '../../kernel/memremap.js';

export const BLOCK_PAGES = HPAGE_PMD_NR;

/** Block states (Vram.blockState). */
const BLOCK_FREE = 0;
const BLOCK_LARGE = 1;
const BLOCK_SPLIT = 2;

export interface VramOptions {
  name: string;
  /** VRAM in bytes. */
  vram: number;
  pagemapBytes?: number;
  /** BAR size in bytes (default all of VRAM). */
  bar?: number;
  /** dev_pagemap owner of the VRAM pages. */
  owner: unknown;
  /** Owner of the BAR's PCI_P2PDMA pagemaps (the device). */
  barOwner: unknown;
  /** dev_pagemap_ops.migrate_to_ram of the VRAM pages. */
  migrateToRam: (vmf: VmFault) => number;
  /** Frees one block by eviction when none is free; false when nothing can be evicted. */
  evictOne: () => boolean;
}

/**
 * The pages of a GPU's two physical ranges: its VRAM (whole 2 MiB blocks) and the BAR exposing
 * it to PCI peers (`barBytes`, default all of VRAM, at most all of it). Never throws.
 */
export function gpuMemPages(vramBytes: number, barBytes?: number): { vramPages: number; barPages: number } {
  const vramPages = Math.floor(vramBytes / PMD_SIZE) * BLOCK_PAGES;
  return { vramPages, barPages: Math.min(vramPages, Math.floor((barBytes ?? vramBytes) / PAGE_SIZE)) };
}

/**
 * The sizes of the ranges a GPU asks request_free_mem_region for when it is probed, in order:
 * its VRAM, then its BAR (at least a page). With deviceRegionsEndPfn (kernel.ts) they say where
 * a machine's GPUs land in physical memory. Never throws.
 */
export function gpuMemRegionBytes(vramBytes: number, barBytes?: number): [number, number] {
  const { vramPages, barPages } = gpuMemPages(vramBytes, barBytes);
  return [vramPages * PAGE_SIZE, Math.max(1, barPages) * PAGE_SIZE];
}

export class Vram {
  readonly vramPages: number;
  readonly basePfn: number;
  private readonly regionPages: number;
  private readonly regions: (DevPagemap | undefined)[] = [];
  /** Per 2 MiB block: BLOCK_FREE, BLOCK_LARGE (one large folio) or BLOCK_SPLIT (small pages). */
  readonly blockState: Uint8Array;
  private readonly blockUsed: Uint16Array;
  private readonly freeBlocks: number[] = [];
  /** Free small pages inside split blocks. */
  private readonly freeSmall: number[] = [];
  /**
   * Blocks in use, least recently allocated first: a doubly linked list over typed arrays
   * (removal is O(1); an array's indexOf + splice made freeing n blocks O(n^2)).
   */
  private readonly lruPrev: Int32Array;
  private readonly lruNext: Int32Array;
  private readonly lruIn: Uint8Array;
  private lruHead = -1;
  private lruTail = -1;
  /** Blocks that must not be evicted during the current service pass. */
  readonly busy = new Set<number>();
  /** Pages currently allocated in VRAM. */
  used = 0;
  /** First pfn of the BAR (its PCI_P2PDMA alias pages) and its size in pages. */
  readonly barBase: number;
  readonly barPages: number;
  readonly barRegions: (DevPagemap | undefined)[] = [];
  /** Alias (PCI_P2PDMA) pages created so far (Linux creates them all at probe). */
  aliasPagesCreated = 0;
  /** Set once the device's removal starts: no new alias pages. */
  removing = false;

  constructor(
    private readonly k: Kernel,
    private readonly o: VramOptions,
  ) {
    const pages = gpuMemPages(o.vram, o.bar);
    const [vramRegion, barRegion] = gpuMemRegionBytes(o.vram, o.bar);
    const blocks = pages.vramPages / BLOCK_PAGES;
    this.vramPages = pages.vramPages;
    this.regionPages = Math.max(
      BLOCK_PAGES,
      Math.floor((o.pagemapBytes ?? 2 ** 30) / PAGE_SIZE / BLOCK_PAGES) * BLOCK_PAGES,
    );
    this.basePfn = k.requestFreeMemRegion(vramRegion);
    this.barPages = pages.barPages;
    this.barBase = k.requestFreeMemRegion(barRegion);
    // The scenario schema checks the physical address space up front (cross-check.ts).
    if (this.basePfn < 0 || this.barBase < 0) throw new Error('model bug: no physical space for VRAM or BAR');
    this.blockState = new Uint8Array(blocks);
    this.blockUsed = new Uint16Array(blocks);
    this.lruPrev = new Int32Array(blocks);
    this.lruNext = new Int32Array(blocks);
    this.lruIn = new Uint8Array(blocks);
    for (let b = blocks - 1; b >= 0; b--) this.freeBlocks.push(b);
  }

  /** Bytes of the allocator's own state (see GpuDevice.memoryBytes). */
  memoryBytes(slot: number): number {
    return (
      this.blockState.byteLength +
      this.blockUsed.byteLength +
      this.lruPrev.byteLength +
      this.lruNext.byteLength +
      this.lruIn.byteLength +
      (this.freeBlocks.length + this.freeSmall.length) * slot
    );
  }

  /** The VRAM pagemaps registered so far (for memunmap_pages at removal). */
  pagemaps(): readonly (DevPagemap | undefined)[] {
    return this.regions;
  }

  /** Whether pfn is one of this GPU's VRAM pages. */
  owns(pfn: number): boolean {
    return pfn >= this.basePfn && pfn < this.basePfn + this.vramPages;
  }

  /** First pfn of block b. */
  blockPfn(b: number): number {
    return this.basePfn + b * BLOCK_PAGES;
  }

  private blockOf(pfn: number): number {
    return Math.floor((pfn - this.basePfn) / BLOCK_PAGES);
  }

  // ---- BAR and P2P alias pages ------------------------------------------------------------

  /**
   * The PCI_P2PDMA alias page through which peers reach VRAM page `pfn` (the RFC's
   * get_dma_pfn_for_device), -EINVAL for a page that is not ours, -ENOMEM outside the BAR
   * window, -ENODEV once removal has started.
   */
  aliasPfn(pfn: number): number {
    const index = pfn - this.basePfn;
    if (index < 0 || index >= this.vramPages) return -EINVAL;
    if (index >= this.barPages) return -ENOMEM;
    if (this.removing) return -ENODEV;
    const region = Math.floor(index / this.regionPages);
    if (!this.barRegions[region]) {
      const start = this.barBase + region * this.regionPages;
      const n = Math.min(this.regionPages, this.barPages - region * this.regionPages);
      const pgmap = new DevPagemap(
        MEMORY_DEVICE_PCI_P2PDMA,
        this.o.barOwner,
        { folioFree: () => {} },
        `${this.o.name} BAR ${region}`,
      );
      const r = this.k.memremapPages(pgmap, start, n);
      if (r < 0) throw new Error(`model bug: memremap_pages of ${this.o.name}'s BAR failed (${r})`);
      this.barRegions[region] = pgmap;
      this.aliasPagesCreated += n;
    }
    return this.barBase + index;
  }

  /**
   * The BAR page (pfn in the BAR's physical range) through which peers reach VRAM page
   * `pfn`, without creating alias struct pages (dma_map_resource style): -EINVAL for a page
   * that is not ours, -ENOMEM outside the BAR window.
   */
  barPfn(pfn: number): number {
    const index = pfn - this.basePfn;
    if (index < 0 || index >= this.vramPages) return -EINVAL;
    if (index >= this.barPages) return -ENOMEM;
    return this.barBase + index;
  }

  /** The VRAM page behind an alias page, or -1. */
  vramPfnOfAlias(alias: number): number {
    const index = alias - this.barBase;
    return index >= 0 && index < this.barPages ? this.basePfn + index : -1;
  }

  // ---- allocation ---------------------------------------------------------------------------

  /** memremap_pages for the region holding block b, on first use. */
  private ensureRegion(b: number): void {
    const r = Math.floor((b * BLOCK_PAGES) / this.regionPages);
    if (this.regions[r]) return;
    const start = this.basePfn + r * this.regionPages;
    const n = Math.min(this.regionPages, this.vramPages - r * this.regionPages);
    const pgmap = new DevPagemap(
      MEMORY_DEVICE_PRIVATE,
      this.o.owner,
      {
        folioFree: (head) => this.folioFree(head),
        migrateToRam: (vmf) => this.o.migrateToRam(vmf),
        folioSplit: () => {},
      },
      `${this.o.name} VRAM ${r}`,
    );
    const ret = this.k.memremapPages(pgmap, start, n);
    if (ret < 0) throw new Error(`model bug: memremap_pages of ${this.o.name} failed (${ret})`);
    this.regions[r] = pgmap;
  }

  private takeBlock(): number {
    let b = this.freeBlocks.pop();
    if (b === undefined) {
      if (!this.o.evictOne()) return -1;
      b = this.freeBlocks.pop();
      if (b === undefined) return -1;
    }
    this.ensureRegion(b);
    this.lruPush(b);
    this.busy.add(b);
    return b;
  }

  /** A locked, referenced VRAM folio of `order` (0 or 9), or -1 when VRAM is exhausted. */
  allocPage(order: number): number {
    const k = this.k;
    if (order === HPAGE_PMD_ORDER) {
      const b = this.takeBlock();
      if (b < 0) return -1;
      this.blockState[b] = BLOCK_LARGE;
      this.blockUsed[b] = BLOCK_PAGES;
      const pfn = this.basePfn + b * BLOCK_PAGES;
      k.zoneDeviceFolioInit(pfn, HPAGE_PMD_ORDER);
      this.used += BLOCK_PAGES;
      return pfn;
    }
    let pfn = this.freeSmall.pop();
    if (pfn === undefined) {
      const b = this.takeBlock();
      if (b < 0) return -1;
      this.blockState[b] = BLOCK_SPLIT;
      const first = this.basePfn + b * BLOCK_PAGES;
      for (let i = BLOCK_PAGES - 1; i >= 0; i--) this.freeSmall.push(first + i);
      pfn = this.freeSmall.pop()!;
    }
    const b = this.blockOf(pfn);
    this.blockUsed[b]!++;
    this.busy.add(b);
    k.zoneDeviceFolioInit(pfn, 0);
    this.used++;
    return pfn;
  }

  /** dev_pagemap_ops.folio_free. */
  private folioFree(head: number): void {
    const nr = 2 ** this.k.frames.order(head);
    const b = this.blockOf(head);
    this.used -= nr;
    this.blockUsed[b]! -= nr;
    if (this.blockState[b] === BLOCK_SPLIT) this.freeSmall.push(head);
    if (this.blockUsed[b] === 0) {
      if (this.blockState[b] === BLOCK_SPLIT) {
        const first = this.basePfn + b * BLOCK_PAGES;
        const last = first + BLOCK_PAGES;
        for (let i = this.freeSmall.length - 1; i >= 0; i--) {
          const p = this.freeSmall[i]!;
          if (p >= first && p < last) this.freeSmall.splice(i, 1);
        }
      }
      this.blockState[b] = BLOCK_FREE;
      this.lruRemove(b);
      this.freeBlocks.push(b);
    }
  }

  // ---- the LRU list ---------------------------------------------------------------------------

  /** The least recently allocated block not in use by the current pass, or -1. */
  oldestIdleBlock(): number {
    for (let b = this.lruHead; b >= 0; b = this.lruNext[b]!) if (!this.busy.has(b)) return b;
    return -1;
  }

  /** Appends block b to the LRU list (most recently allocated). */
  private lruPush(b: number): void {
    if (this.lruIn[b]) throw new Error(`model bug: ${this.o.name} block ${b} is already on the LRU list`);
    this.lruIn[b] = 1;
    this.lruPrev[b] = this.lruTail;
    this.lruNext[b] = -1;
    if (this.lruTail >= 0) this.lruNext[this.lruTail] = b;
    else this.lruHead = b;
    this.lruTail = b;
  }

  /** Takes block b off the LRU list, if it is on it. */
  private lruRemove(b: number): void {
    if (!this.lruIn[b]) return;
    this.lruIn[b] = 0;
    const p = this.lruPrev[b]!;
    const n = this.lruNext[b]!;
    if (p >= 0) this.lruNext[p] = n;
    else this.lruHead = n;
    if (n >= 0) this.lruPrev[n] = p;
    else this.lruTail = p;
  }
}
