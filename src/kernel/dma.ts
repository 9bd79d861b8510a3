/**
 * DMA mapping for one device (kernel/dma/mapping.c, drivers/iommu/dma-iommu.c, the IOVA
 * allocator of drivers/iommu/iova.c) and the HMM DMA helpers (include/linux/hmm-dma.h, mm/hmm.c:
 * hmm_dma_map_alloc, hmm_dma_map_pfn), with P2PDMA pages mapped per their map type
 * (drivers/pci/p2pdma.c: pci_p2pdma_state, pci_p2pdma_map_type; see p2pdma.ts).
 *
 * Addresses are numbers (exact below 2^53). A pfn's CPU physical address is pfn << PAGE_SHIFT.
 * DMA_MAPPING_ERROR, ~0 in C, is -1 here; `dmaMappingError()` turns it into -ENOMEM as Linux does.
 *
 * IOMMU modes:
 * - 'off': dma-direct, the DMA address is the physical address; an address above the DMA mask
 *   fails (Linux would bounce through swiotlb, which the model does not have);
 * - 'passthrough': an identity domain, also dma-direct;
 * - 'translate': a DMA domain: every map takes IOVA from a deterministic allocator (page
 *   granular, size-aligned, allocated top-down, 32-bit space first for PCI devices, as
 *   alloc_iova does) and writes the I/O page table; unmaps invalidate the IOTLB, at once
 *   (`iommuStrict`, the default) or in batches through a flush queue (lazy mode: freed IOVA is
 *   reusable only after the flush).
 */
import {
  EBUSY,
  EFAULT,
  EINVAL,
  ENOMEM,
  EOPNOTSUPP,
  HMM_PFN_HI_DMA_MAPPED,
  HMM_PFN_HI_INOUT_FLAGS,
  HMM_PFN_HI_ORDER_SHIFT,
  HMM_PFN_HI_P2PDMA,
  HMM_PFN_HI_P2PDMA_BUS,
  HMM_PFN_HI_VALID,
  PAGE_SHIFT,
  PAGE_SIZE,
} from './constants.js';
import {
  type P2pdmaMapState,
  type P2pdmaMapType,
  type PciTopology,
  pciP2pdmaBusAddrMap,
  UnknownPciDeviceError,
} from './p2pdma.js';

/** How the device's DMA reaches memory: no IOMMU, an identity domain, or a translating DMA domain. */
export type IommuMode = 'off' | 'passthrough' | 'translate';

/** DMA_MAPPING_ERROR ((dma_addr_t)~0 in C), as the model's number. */
export const DMA_MAPPING_ERROR = -1;

/** dma_mapping_error(): -ENOMEM for DMA_MAPPING_ERROR, else 0. */
export function dmaMappingError(addr: number): number {
  return addr === DMA_MAPPING_ERROR ? -ENOMEM : 0;
}

/** DMA_BIT_MASK(n) as an exact bigint. */
export function dmaBitMask(bits: number): bigint {
  return bits >= 64 ? 0xffff_ffff_ffff_ffffn : (1n << BigInt(bits)) - 1n;
}

/** IOVA_RANGE_CACHE_MAX_SIZE (drivers/iommu/iova.c): sizes below 1 << (6 - 1) pages round up to a power of two. */
const IOVA_ROUND_BELOW = 1 << 5;
/** IOVA_DEFAULT_FQ_SIZE (drivers/iommu/dma-iommu.c): freed IOVAs a lazy domain queues before a flush. */
export const IOVA_DEFAULT_FQ_SIZE = 256;
/** Top of the IOMMU aperture the model assumes (4-level I/O page tables: 48 bits). */
const APERTURE_TOP_PFN = 2 ** (48 - PAGE_SHIFT);
const PFN_4G = 2 ** (32 - PAGE_SHIFT);

/** Options of a DmaDevice; only `name` is required. */
export interface DmaDeviceOptions {
  /** The device's name; with `topology` and `pci`, the name of a PCI device there. */
  name: string;
  /** Default 'off'. */
  iommu?: IommuMode;
  /** dma_set_mask(dev, DMA_BIT_MASK(n)): 1..64, default 64. */
  dmaMaskBits?: number;
  /** The device needs dma_sync_* calls (non-coherent, or swiotlb): dev_dma_skip_sync() is false. */
  needsSync?: boolean;
  /** The machine's PCI topology: it knows the P2P pages and answers the P2PDMA map type. */
  topology?: PciTopology | null;
  /** dev_is_pci(): default true when a topology is given. A non-PCI device gets NOT_SUPPORTED for P2P pages. */
  pci?: boolean;
  /** Top of system RAM (max_pfn << PAGE_SHIFT), for dma_get_required_mask(); default 2^40. */
  maxPhysAddr?: number;
  /** Strict IOTLB invalidation on every unmap (iommu.strict=1, default) or a lazy flush queue. */
  iommuStrict?: boolean;
  /** Lazy mode: queued unmaps per flush; default IOVA_DEFAULT_FQ_SIZE. */
  flushQueueSize?: number;
}

/** Counters of one device's DMA work. */
export interface DmaStats {
  /** Successful map operations (dma_map_phys, dma_iova_link, BUS_ADDR hmm maps not included). */
  maps: number;
  /** Unmap operations (dma_unmap_phys, dma_iova_unlink). */
  unmaps: number;
  /** IOTLB invalidations issued (translate mode only; one per flush, however many pages). */
  invalidations: number;
  /** IOVA ranges allocated and freed (translate mode only). */
  iovaAllocs: number;
  iovaFrees: number;
  /** Maps done with DMA_ATTR_MMIO (P2P through the host bridge). */
  mmioMaps: number;
  /** hmm_dma_map_pfn calls answered with a PCI bus address (no mapping at all). */
  busAddrMaps: number;
  /** Pages present in the I/O page table now (translate mode only). */
  mappedPages: number;
}

/** struct dma_iova_state: an IOVA range obtained with dmaIovaTryAlloc. */
export interface DmaIovaState {
  /** First IOVA of the range. */
  readonly addr: number;
  /** Bytes. */
  readonly size: number;
}

function roundUpPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * The IOVA allocator of one DMA domain (drivers/iommu/iova.c, reduced): page-frame granular,
 * allocations size-aligned and placed at the highest free address below the limit; free space
 * is a sorted list of [start, end) runs merged on free. Deterministic.
 */
export class IovaAllocator {
  /** Free runs, sorted by start: starts[i]..ends[i]. */
  private starts: number[];
  private ends: number[];
  /** Allocated ranges: first pfn -> pages. */
  private readonly allocated = new Map<number, number>();

  /** IOVA pfns [1, topPfn) are allocatable (pfn 0 stays reserved, as iova domains start at 1). */
  constructor(readonly topPfn: number) {
    this.starts = [1];
    this.ends = [topPfn];
  }

  /** alloc_iova(size, limit, size_aligned = true): the first pfn, or -1 when nothing fits. */
  alloc(npages: number, limitPfn: number): number {
    const size = npages < IOVA_ROUND_BELOW ? roundUpPow2(npages) : npages;
    const align = roundUpPow2(size);
    for (let i = this.starts.length - 1; i >= 0; i--) {
      const hi = Math.min(this.ends[i]!, limitPfn);
      if (hi - this.starts[i]! < size) continue;
      const start = Math.floor((hi - size) / align) * align;
      if (start < this.starts[i]!) continue;
      const s = this.starts[i]!;
      const e = this.ends[i]!;
      const left = start > s;
      const right = start + size < e;
      if (left && right) {
        this.starts.splice(i + 1, 0, start + size);
        this.ends.splice(i, 0, start);
      } else if (left) this.ends[i] = start;
      else if (right) this.starts[i] = start + size;
      else {
        this.starts.splice(i, 1);
        this.ends.splice(i, 1);
      }
      this.allocated.set(start, size);
      return start;
    }
    return -1;
  }

  /** Pages of the allocation starting at `pfn`, or 0 when none starts there. */
  sizeOf(pfn: number): number {
    return this.allocated.get(pfn) ?? 0;
  }

  /** free_iova(): returns false when no allocation starts at `pfn`. */
  free(pfn: number): boolean {
    const size = this.allocated.get(pfn);
    if (size === undefined) return false;
    this.allocated.delete(pfn);
    const end = pfn + size;
    // Insert [pfn, end) and merge with its neighbours.
    let i = 0;
    while (i < this.starts.length && this.starts[i]! < pfn) i++;
    const mergeLeft = i > 0 && this.ends[i - 1] === pfn;
    const mergeRight = i < this.starts.length && this.starts[i] === end;
    if (mergeLeft && mergeRight) {
      this.ends[i - 1] = this.ends[i]!;
      this.starts.splice(i, 1);
      this.ends.splice(i, 1);
    } else if (mergeLeft) this.ends[i - 1] = end;
    else if (mergeRight) this.starts[i] = pfn;
    else {
      this.starts.splice(i, 0, pfn);
      this.ends.splice(i, 0, end);
    }
    return true;
  }

  /** Allocated ranges now. */
  get allocations(): number {
    return this.allocated.size;
  }
}

/**
 * One device's DMA mapping state: its IOMMU mode, DMA mask, the I/O page table and IOVA
 * allocator in translate mode, and counters.
 */
export class DmaDevice {
  readonly name: string;
  readonly iommu: IommuMode;
  readonly dmaMaskBits: number;
  /** DMA_BIT_MASK(dmaMaskBits). */
  readonly dmaMask: bigint;
  readonly needsSync: boolean;
  readonly topology: PciTopology | null;
  readonly pci: boolean;
  readonly maxPhysAddr: number;
  readonly iommuStrict: boolean;
  readonly flushQueueSize: number;
  readonly stats: DmaStats = {
    maps: 0,
    unmaps: 0,
    invalidations: 0,
    iovaAllocs: 0,
    iovaFrees: 0,
    mmioMaps: 0,
    busAddrMaps: 0,
    mappedPages: 0,
  };
  /** Translate mode: the IOVA allocator and the I/O page table (IOVA pfn -> physical pfn). */
  readonly iova: IovaAllocator | null;
  private readonly ptes = new Map<number, number>();
  /** Lazy mode: first pfns of unmapped IOVA ranges waiting for the next IOTLB flush. */
  private readonly flushQueue: number[] = [];
  /** Exclusive upper bound of addresses the device can emit (2^dmaMaskBits). */
  private readonly maskLimit: number;

  /**
   * Throws RangeError for bad options, UnknownPciDeviceError when `pci` and `topology` are given
   * and `name` is not a PCI device of the topology.
   */
  constructor(opts: DmaDeviceOptions) {
    this.name = opts.name;
    this.iommu = opts.iommu ?? 'off';
    if (!['off', 'passthrough', 'translate'].includes(this.iommu)) {
      throw new RangeError(
        `DmaDevice ${opts.name}: iommu must be off, passthrough or translate, got ${this.iommu}`,
      );
    }
    this.dmaMaskBits = opts.dmaMaskBits ?? 64;
    if (!Number.isInteger(this.dmaMaskBits) || this.dmaMaskBits < 1 || this.dmaMaskBits > 64) {
      throw new RangeError(`DmaDevice ${opts.name}: dmaMaskBits must be an integer in 1..64`);
    }
    this.dmaMask = dmaBitMask(this.dmaMaskBits);
    this.maskLimit = 2 ** this.dmaMaskBits;
    this.needsSync = opts.needsSync ?? false;
    this.topology = opts.topology ?? null;
    this.pci = opts.pci ?? this.topology !== null;
    if (this.pci && this.topology && !this.topology.isPci(this.name)) {
      throw new UnknownPciDeviceError(
        this.name,
        `DmaDevice: '${this.name}' is not a PCI device of the topology`,
      );
    }
    this.maxPhysAddr = opts.maxPhysAddr ?? 2 ** 40;
    if (!(this.maxPhysAddr > 0) || !Number.isSafeInteger(this.maxPhysAddr)) {
      throw new RangeError(`DmaDevice ${opts.name}: maxPhysAddr must be a positive safe integer`);
    }
    this.iommuStrict = opts.iommuStrict ?? true;
    this.flushQueueSize = opts.flushQueueSize ?? IOVA_DEFAULT_FQ_SIZE;
    if (!Number.isInteger(this.flushQueueSize) || this.flushQueueSize < 1) {
      throw new RangeError(`DmaDevice ${opts.name}: flushQueueSize must be a positive integer`);
    }
    this.iova =
      this.iommu === 'translate'
        ? new IovaAllocator(Math.min(this.maskLimit / PAGE_SIZE, APERTURE_TOP_PFN))
        : null;
  }

  /**
   * dma_need_unmap(): mappings hold state that unmap must release (an IOMMU domain, or DMA sync
   * that is not skipped).
   */
  dmaNeedUnmap(): boolean {
    return this.iommu === 'translate' || this.needsSync;
  }

  /**
   * dma_addressing_limited(): the mask is below dma_get_required_mask() (32 bits behind a
   * translating IOMMU; all of RAM, up to maxPhysAddr, otherwise).
   */
  dmaAddressingLimited(): boolean {
    if (this.iommu === 'translate') return this.dmaMaskBits < 32;
    let required = 0;
    for (let top = this.maxPhysAddr - 1; top >= 1; top = Math.floor(top / 2)) required++;
    return this.dmaMaskBits < required;
  }

  // -------------------------------------------------------------------------------------------
  // IOVA and the I/O page table (translate mode)

  /** iommu_dma_alloc_iova: 32-bit space first for a PCI device, then the whole mask. -1 if full. */
  private allocIova(npages: number): number {
    const iova = this.iova!;
    let pfn = -1;
    if (this.pci && iova.topPfn > PFN_4G) pfn = iova.alloc(npages, PFN_4G);
    if (pfn === -1) pfn = iova.alloc(npages, iova.topPfn);
    if (pfn !== -1) this.stats.iovaAllocs++;
    return pfn;
  }

  private freeIova(pfn: number): void {
    if (this.iova!.free(pfn)) this.stats.iovaFrees++;
  }

  /** Writes `npages` PTEs; -EBUSY (and nothing written) when one is present already. */
  private mapPages(iovaPfn: number, physPfn: number, npages: number): number {
    for (let i = 0; i < npages; i++) if (this.ptes.has(iovaPfn + i)) return -EBUSY;
    for (let i = 0; i < npages; i++) this.ptes.set(iovaPfn + i, physPfn + i);
    this.stats.mappedPages += npages;
    return 0;
  }

  private unmapPages(iovaPfn: number, npages: number): void {
    for (let i = 0; i < npages; i++) if (this.ptes.delete(iovaPfn + i)) this.stats.mappedPages--;
  }

  /** Lazy mode: queue a freed IOVA; flush when the queue is full. */
  private queueFree(pfn: number): void {
    this.flushQueue.push(pfn);
    if (this.flushQueue.length >= this.flushQueueSize) this.flushIotlb();
  }

  /**
   * Flushes the lazy flush queue: one IOTLB invalidation, then the queued IOVAs become free.
   * Does nothing when the queue is empty.
   */
  flushIotlb(): void {
    if (this.flushQueue.length === 0) return;
    this.stats.invalidations++;
    for (const pfn of this.flushQueue) this.freeIova(pfn);
    this.flushQueue.length = 0;
  }

  /** IOVA ranges waiting in the lazy flush queue. */
  get flushQueueLength(): number {
    return this.flushQueue.length;
  }

  /**
   * What the device reaches at DMA address `addr`: the physical address, or -EFAULT (an I/O
   * page fault) when translate mode has no PTE there. Identity in off and passthrough modes.
   */
  dmaToPhys(addr: number): number {
    if (this.iommu !== 'translate') return addr;
    const pfn = this.ptes.get(Math.floor(addr / PAGE_SIZE));
    return pfn === undefined ? -EFAULT : pfn * PAGE_SIZE + (addr % PAGE_SIZE);
  }

  // -------------------------------------------------------------------------------------------
  // Streaming DMA API

  /**
   * dma_map_phys() / dma_map_page(): maps `size` bytes at physical address `phys`. Returns the
   * DMA address, or DMA_MAPPING_ERROR: IOVA space exhausted or a PTE already present (translate),
   * an address beyond the DMA mask (off, passthrough: no swiotlb in the model), a bad size.
   * `mmio` is DMA_ATTR_MMIO (P2P memory through the host bridge).
   */
  dmaMapPage(phys: number, size = PAGE_SIZE, mmio = false): number {
    if (!Number.isSafeInteger(phys) || phys < 0 || !Number.isSafeInteger(size) || size <= 0) {
      return DMA_MAPPING_ERROR;
    }
    if (this.iommu !== 'translate') {
      if (phys + size > this.maskLimit) return DMA_MAPPING_ERROR;
      this.stats.maps++;
      if (mmio) this.stats.mmioMaps++;
      return phys;
    }
    const off = phys % PAGE_SIZE;
    const npages = Math.ceil((off + size) / PAGE_SIZE);
    const iovaPfn = this.allocIova(npages);
    if (iovaPfn === -1) return DMA_MAPPING_ERROR;
    if (this.mapPages(iovaPfn, Math.floor(phys / PAGE_SIZE), npages) !== 0) {
      this.freeIova(iovaPfn);
      return DMA_MAPPING_ERROR;
    }
    this.stats.maps++;
    if (mmio) this.stats.mmioMaps++;
    return iovaPfn * PAGE_SIZE + off;
  }

  /**
   * dma_unmap_phys() / dma_unmap_page(). Translate mode: removes the PTEs, invalidates the IOTLB
   * (strict) or queues the IOVA for the next flush (lazy), frees the IOVA. Returns 0, or -EINVAL
   * when no mapping starts at `addr` (the kernel WARNs).
   */
  dmaUnmapPage(addr: number, size = PAGE_SIZE): number {
    if (this.iommu !== 'translate') {
      this.stats.unmaps++;
      return 0;
    }
    const pfn = Math.floor(addr / PAGE_SIZE);
    const npages = this.iova!.sizeOf(pfn);
    if (npages === 0 || !this.ptes.has(pfn) || size <= 0) return -EINVAL;
    this.unmapPages(pfn, npages);
    this.stats.unmaps++;
    if (this.iommuStrict) {
      this.stats.invalidations++;
      this.freeIova(pfn);
    } else this.queueFree(pfn);
    return 0;
  }

  // -------------------------------------------------------------------------------------------
  // IOVA-based DMA API (dma_iova_*)

  /**
   * dma_iova_try_alloc(): one contiguous IOVA range of `size` bytes, or null when the device is
   * not behind a translating IOMMU or the IOVA space is exhausted.
   */
  dmaIovaTryAlloc(size: number): DmaIovaState | null {
    if (this.iommu !== 'translate' || !Number.isSafeInteger(size) || size <= 0) return null;
    const npages = Math.ceil(size / PAGE_SIZE);
    const pfn = this.allocIova(npages);
    if (pfn === -1) return null;
    return { addr: pfn * PAGE_SIZE, size };
  }

  /**
   * dma_iova_link(): maps `size` bytes at `phys` to state.addr + offset. Returns 0, -EINVAL when
   * the span is outside the range or not page aligned, -EBUSY when a PTE there is present.
   */
  dmaIovaLink(state: DmaIovaState, phys: number, offset: number, size: number, mmio = false): number {
    if (offset < 0 || size <= 0 || offset + size > state.size || offset % PAGE_SIZE || phys % PAGE_SIZE) {
      return -EINVAL;
    }
    const ret = this.mapPages(
      (state.addr + offset) / PAGE_SIZE,
      phys / PAGE_SIZE,
      Math.ceil(size / PAGE_SIZE),
    );
    if (ret) return ret;
    this.stats.maps++;
    if (mmio) this.stats.mmioMaps++;
    return 0;
  }

  /** dma_iova_sync(): makes linked PTEs visible to the IOMMU (iotlb_sync_map). Returns 0. */
  dmaIovaSync(_state: DmaIovaState, _offset: number, _size: number): number {
    return 0;
  }

  /**
   * dma_iova_unlink(): removes the PTEs of [offset, offset + size) and invalidates the IOTLB at
   * once (the range stays allocated, so the flush cannot be deferred).
   */
  dmaIovaUnlink(state: DmaIovaState, offset: number, size: number): void {
    this.unmapPages((state.addr + offset) / PAGE_SIZE, Math.ceil(size / PAGE_SIZE));
    this.stats.unmaps++;
    this.stats.invalidations++;
  }

  /**
   * dma_iova_free(): releases the IOVA range. PTEs still linked in it are not removed (as in the
   * kernel, where that is a driver bug): a later map over them fails with -EBUSY.
   */
  dmaIovaFree(state: DmaIovaState): void {
    this.freeIova(state.addr / PAGE_SIZE);
  }
}

// ---------------------------------------------------------------------------------------------
// P2PDMA state of a page

/**
 * pci_p2pdma_state(state, dev, page): 'NONE' for a page that is not P2P memory; for a P2P page,
 * refreshes `state` when the page's provider differs from state.mem (pci_p2pdma_map_type, which
 * uses the per-pair cache) and returns state.map. A device that is not a PCI device gets
 * NOT_SUPPORTED for P2P pages. The page lookup is the device's topology.
 */
export function pciP2pdmaState(state: P2pdmaMapState, dev: DmaDevice, pfn: number): P2pdmaMapType {
  const provider = dev.topology?.p2pdmaProviderOf(pfn) ?? null;
  if (!provider) return 'NONE';
  if (state.mem !== provider) {
    state.mem = provider;
    state.map = provider.topology.p2pdmaMapType(provider, dev.pci ? dev.name : null);
  }
  return state.map;
}

// ---------------------------------------------------------------------------------------------
// HMM DMA helpers

/**
 * struct hmm_dma_map. `pfnList` is the hmm_pfns array to hand to hmm_range_fault (HmmRange's
 * hmmPfns); `words` is its Uint32Array view (word 2i the pfn, word 2i+1 the HMM_PFN_HI_* flags).
 */
export class HmmDmaMap {
  readonly pfnList: BigUint64Array;
  readonly words: Uint32Array;
  constructor(
    readonly nrEntries: number,
    /** dma_entry_size: bytes mapped per entry, at IOVA offset idx * entrySize. */
    readonly entrySize: number,
    /** The contiguous IOVA range, or null (no IOMMU, or no IOVA space). */
    public state: DmaIovaState | null,
    /** Per-entry DMA addresses, kept only without IOVA when the device needs unmap. */
    readonly dmaList: Float64Array | null,
  ) {
    this.pfnList = new BigUint64Array(nrEntries);
    this.words = new Uint32Array(this.pfnList.buffer, this.pfnList.byteOffset, nrEntries * 2);
  }
}

/** Entries above this make the pfn list allocation fail (kvcalloc of more than 2 GiB). */
const HMM_DMA_MAX_ENTRIES = 2 ** 28;

/**
 * hmm_dma_map_alloc(dev, map, nr_entries, dma_entry_size). Returns the map, or
 * -EOPNOTSUPP when the device needs DMA sync or is addressing limited (swiotlb bouncing would
 * break HMM's buffer ownership), -EINVAL for a bad size (entrySize not a positive multiple of
 * PAGE_SIZE, or larger than nrEntries pages: the kernel only WARNs), -ENOMEM when the pfn list
 * cannot be allocated. Tries one IOVA range of nrEntries pages; without one, a device that needs
 * unmap keeps a per-entry address list.
 */
export function hmmDmaMapAlloc(dev: DmaDevice, nrEntries: number, entrySize = PAGE_SIZE): HmmDmaMap | number {
  if (dev.needsSync || dev.dmaAddressingLimited()) return -EOPNOTSUPP;
  if (!Number.isSafeInteger(nrEntries) || nrEntries <= 0) return -EINVAL;
  if (!Number.isSafeInteger(entrySize) || entrySize <= 0 || entrySize % PAGE_SIZE) return -EINVAL;
  if (nrEntries * PAGE_SIZE < entrySize) return -EINVAL;
  if (nrEntries > HMM_DMA_MAX_ENTRIES) return -ENOMEM;
  const state = dev.dmaIovaTryAlloc(nrEntries * PAGE_SIZE);
  const dmaList = !state && dev.dmaNeedUnmap() ? new Float64Array(nrEntries) : null;
  return new HmmDmaMap(nrEntries, entrySize, state, dmaList);
}

/** hmm_dma_map_free(): frees the IOVA range (entries must have been unmapped) and the lists. */
export function hmmDmaMapFree(dev: DmaDevice, map: HmmDmaMap): void {
  if (map.state) dev.dmaIovaFree(map.state);
  map.state = null;
}

/** The pfn of entry i: the low word plus the pfn bits below the order field in the high word. */
function entryPfn(w: Uint32Array, i: number): number {
  return w[2 * i]! + (w[2 * i + 1]! & ((1 << HMM_PFN_HI_ORDER_SHIFT) - 1)) * 2 ** 32;
}

/**
 * hmm_dma_map_pfn(dev, map, idx, p2pdma_state): DMA-maps the page of entry `idx` (an hmm_pfn
 * written by hmm_range_fault) and returns its DMA address, or DMA_MAPPING_ERROR.
 * - Already DMA_MAPPED (and not a bus-address P2P entry): the existing address, no remapping
 *   (the IOVA slot, or the saved address; without either, the mapping is stateless and redone).
 * - P2P pages by pci_p2pdma_state: THRU_HOST_BRIDGE maps with DMA_ATTR_MMIO and sets
 *   HMM_PFN_P2PDMA; BUS_ADDR sets HMM_PFN_P2PDMA_BUS | HMM_PFN_DMA_MAPPED and returns the bus
 *   address (physical + provider bus offset) with no mapping; NOT_SUPPORTED fails.
 * - Otherwise links the page at IOVA offset idx * entrySize (or maps it on its own) and sets
 *   HMM_PFN_DMA_MAPPED. A failed map clears HMM_PFN_P2PDMA.
 * The flags are sticky: hmm_range_fault keeps them (HMM_PFN_INOUT_FLAGS). Throws RangeError
 * (a driver bug) for an index outside the map.
 */
export function hmmDmaMapPfn(dev: DmaDevice, map: HmmDmaMap, idx: number, p2pState: P2pdmaMapState): number {
  checkIdx(map, idx, 'hmm_dma_map_pfn');
  const w = map.words;
  const hi = 2 * idx + 1;
  const state = map.state;
  const offset = idx * map.entrySize;
  if (w[hi]! & HMM_PFN_HI_DMA_MAPPED && !(w[hi]! & HMM_PFN_HI_P2PDMA_BUS)) {
    // A flags resync (e.g. read -> write) of a page already programmed: no unlink/relink.
    if (state) return state.addr + offset;
    if (dev.dmaNeedUnmap()) return map.dmaList![idx]!;
    // Stateless mapping (no unmap needed): regenerate the address below.
  }
  const pfn = entryPfn(w, idx);
  const paddr = pfn * PAGE_SIZE;
  let mmio = false;
  switch (pciP2pdmaState(p2pState, dev, pfn)) {
    case 'NONE':
      break;
    case 'THRU_HOST_BRIDGE':
      mmio = true;
      w[hi] = w[hi]! | HMM_PFN_HI_P2PDMA;
      break;
    case 'BUS_ADDR':
      w[hi] = w[hi]! | HMM_PFN_HI_P2PDMA_BUS | HMM_PFN_HI_DMA_MAPPED;
      dev.stats.busAddrMaps++;
      return pciP2pdmaBusAddrMap(p2pState.mem!, paddr);
    default:
      return DMA_MAPPING_ERROR;
  }
  let addr: number;
  if (state) {
    if (dev.dmaIovaLink(state, paddr, offset, map.entrySize, mmio) !== 0) return mapError(w, hi);
    if (dev.dmaIovaSync(state, offset, map.entrySize) !== 0) {
      dev.dmaIovaUnlink(state, offset, map.entrySize);
      return mapError(w, hi);
    }
    addr = state.addr + offset;
  } else {
    if (dev.dmaNeedUnmap() && !map.dmaList) return mapError(w, hi);
    addr = dev.dmaMapPage(paddr, map.entrySize, mmio);
    if (addr === DMA_MAPPING_ERROR) return mapError(w, hi);
    if (map.dmaList) map.dmaList[idx] = addr;
  }
  w[hi] = w[hi]! | HMM_PFN_HI_DMA_MAPPED;
  return addr;
}

/** An index outside the map is memory corruption in C: a driver bug the model refuses loudly. */
function checkIdx(map: HmmDmaMap, idx: number, op: string): void {
  if (!Number.isInteger(idx) || idx < 0 || idx >= map.nrEntries) {
    throw new RangeError(`driver bug: ${op} index ${idx} outside a map of ${map.nrEntries} entries`);
  }
}

function mapError(w: Uint32Array, hi: number): number {
  w[hi] = w[hi]! & ~HMM_PFN_HI_P2PDMA;
  return DMA_MAPPING_ERROR;
}

/**
 * hmm_dma_unmap_pfn(dev, map, idx): false unless the entry is both VALID and DMA_MAPPED (an
 * entry hmm_range_fault rewrote as not valid keeps DMA_MAPPED but cannot be unmapped here);
 * bus-address P2P entries need no unmap; otherwise unlinks the IOVA slot or unmaps the saved
 * address. Clears DMA_MAPPED, P2PDMA and P2PDMA_BUS and returns true. Throws RangeError (a
 * driver bug) for an index outside the map.
 */
export function hmmDmaUnmapPfn(dev: DmaDevice, map: HmmDmaMap, idx: number): boolean {
  checkIdx(map, idx, 'hmm_dma_unmap_pfn');
  const w = map.words;
  const hi = 2 * idx + 1;
  const validDma = HMM_PFN_HI_VALID | HMM_PFN_HI_DMA_MAPPED;
  if ((w[hi]! & validDma) !== validDma) return false;
  if (w[hi]! & HMM_PFN_HI_P2PDMA_BUS) {
    // Bus-address P2P: nothing was mapped.
  } else if (map.state) dev.dmaIovaUnlink(map.state, idx * map.entrySize, map.entrySize);
  else if (dev.dmaNeedUnmap()) dev.dmaUnmapPage(map.dmaList![idx]!, map.entrySize);
  w[hi] = w[hi]! & ~HMM_PFN_HI_INOUT_FLAGS;
  return true;
}
