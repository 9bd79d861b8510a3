import { describe, expect, it } from 'vitest';
import {
  EFAULT,
  EINVAL,
  ENOMEM,
  EOPNOTSUPP,
  HMM_PFN_DMA_MAPPED,
  HMM_PFN_HI_DMA_MAPPED,
  HMM_PFN_HI_INOUT_FLAGS,
  HMM_PFN_HI_P2PDMA,
  HMM_PFN_HI_P2PDMA_BUS,
  HMM_PFN_HI_VALID,
  HMM_PFN_HI_WRITE,
  HMM_PFN_VALID,
  PAGE_SIZE,
} from './constants.js';
import {
  DMA_MAPPING_ERROR,
  DmaDevice,
  dmaBitMask,
  dmaMappingError,
  type HmmDmaMap,
  hmmDmaMapAlloc,
  hmmDmaMapFree,
  hmmDmaMapPfn,
  hmmDmaUnmapPfn,
  IovaAllocator,
  pciP2pdmaState,
} from './dma.js';
import { newP2pdmaMapState, type P2pdmaProvider, PciTopology, UnknownPciDeviceError } from './p2pdma.js';

const FOUR_G = 2 ** 32;

/** hmm_range_fault's output for entry i: pfn with VALID (and WRITE), sticky bits kept. */
function writeEntry(map: HmmDmaMap, i: number, pfn: number, hi = HMM_PFN_HI_VALID | HMM_PFN_HI_WRITE): void {
  const w = map.words;
  w[2 * i] = pfn;
  w[2 * i + 1] = (w[2 * i + 1]! & HMM_PFN_HI_INOUT_FLAGS) | hi;
}

function mustMap(m: HmmDmaMap | number): HmmDmaMap {
  if (typeof m === 'number') throw new Error(`hmmDmaMapAlloc failed: ${m}`);
  return m;
}

/**
 * gpu0 and nic0 under one switch on rp0 (BUS_ADDR), far0 on rp1 (through the host bridge),
 * nic0 offers 64 pages of P2P memory at pfn 0x10_0000 with a bus offset.
 */
function machine(cpu: { vendor: 'amd'; family: number } | { vendor: 'intel' }, hbDevice = 0x1234) {
  const topo = PciTopology.fromSpec({
    cpu,
    hostBridges: [
      {
        name: 'hb0',
        vendor: cpu.vendor === 'amd' ? 0x1022 : 0x8086,
        device: hbDevice,
        children: [
          {
            name: 'rp0',
            kind: 'rootPort',
            children: [
              {
                name: 'sw0',
                kind: 'switch',
                children: [
                  { name: 'gpu0', kind: 'endpoint' },
                  { name: 'nic0', kind: 'endpoint' },
                ],
              },
            ],
          },
          { name: 'rp1', kind: 'rootPort', children: [{ name: 'far0', kind: 'endpoint' }] },
        ],
      },
    ],
  });
  const provider = topo.p2pdmaAddResource('nic0', {
    startPfn: 0x10_0000,
    npages: 64,
    busOffset: 0x20_0000_0000,
  }) as P2pdmaProvider;
  return { topo, provider };
}

describe('IOVA allocation (translate mode)', () => {
  it('is deterministic: top-down from 4 GiB for a PCI device, size-aligned, freed space reused', () => {
    const run = () => {
      const { topo } = machine({ vendor: 'intel' });
      const d = new DmaDevice({ name: 'gpu0', iommu: 'translate', topology: topo });
      const a = d.dmaMapPage(0x1234_5000);
      const b = d.dmaMapPage(0x2000_0000 + 0x10, 3 * PAGE_SIZE);
      const c = d.dmaMapPage(0x3000_0000);
      return { d, a, b, c };
    };
    const r1 = run();
    const r2 = run();
    expect([r1.a, r1.b, r1.c]).toEqual([r2.a, r2.b, r2.c]);
    expect(r1.a).toBe(FOUR_G - PAGE_SIZE);
    // 3 pages + an offset span 4 pages: rounded to a power of two and aligned to it.
    expect(r1.b).toBe(FOUR_G - 8 * PAGE_SIZE + 0x10);
    expect(r1.c).toBe(FOUR_G - 2 * PAGE_SIZE);
    expect(r1.d.dmaToPhys(r1.a)).toBe(0x1234_5000);
    expect(r1.d.dmaToPhys(r1.b)).toBe(0x2000_0010);
    expect(r1.d.dmaToPhys(r1.b + 2 * PAGE_SIZE)).toBe(0x2000_2010);
    // The highest free slot is reused first.
    expect(r1.d.dmaUnmapPage(r1.a)).toBe(0);
    expect(r1.d.dmaToPhys(r1.a)).toBe(-EFAULT);
    expect(r1.d.dmaMapPage(0x5000_0000)).toBe(r1.a);
    expect(r1.d.stats).toMatchObject({
      maps: 4,
      unmaps: 1,
      invalidations: 1,
      iovaAllocs: 4,
      iovaFrees: 1,
      mappedPages: 6,
    });
  });

  it('a non-PCI device allocates from the top of its mask (48-bit aperture)', () => {
    const d = new DmaDevice({ name: 'accel', iommu: 'translate' });
    expect(d.pci).toBe(false);
    expect(d.dmaMapPage(0x1000)).toBe(2 ** 48 - PAGE_SIZE);
    const d32 = new DmaDevice({ name: 'old', iommu: 'translate', dmaMaskBits: 32 });
    expect(d32.dmaMapPage(0x1000)).toBe(FOUR_G - PAGE_SIZE);
    expect(d32.dmaMask).toBe(0xffff_ffffn);
    expect(dmaBitMask(64)).toBe(0xffff_ffff_ffff_ffffn);
  });

  it('the allocator merges freed runs and reports exhaustion', () => {
    const a = new IovaAllocator(9); // pfns 1..8
    const p = [a.alloc(1, 9), a.alloc(1, 9), a.alloc(2, 9)];
    expect(p).toEqual([8, 7, 4]);
    expect(a.alloc(4, 9)).toBe(-1);
    expect(a.free(7)).toBe(true);
    expect(a.free(8)).toBe(true);
    expect(a.free(8)).toBe(false);
    expect(a.alloc(2, 9)).toBe(6);
    expect(a.allocations).toBe(2);
    expect(a.alloc(2, 9)).toBe(2);
    expect(a.alloc(1, 9)).toBe(8);
    expect(a.alloc(1, 9)).toBe(1);
    expect(a.alloc(1, 9)).toBe(-1);
  });

  it('strict mode invalidates on every unmap; lazy mode batches and reuses IOVA only after the flush', () => {
    const strict = new DmaDevice({ name: 's', iommu: 'translate' });
    const lazy = new DmaDevice({ name: 'l', iommu: 'translate', iommuStrict: false, flushQueueSize: 4 });
    for (const d of [strict, lazy]) {
      const addrs = [0, 1, 2, 3, 4].map((i) => d.dmaMapPage(i * PAGE_SIZE));
      for (const a of addrs.slice(0, 3)) expect(d.dmaUnmapPage(a)).toBe(0);
    }
    expect(strict.stats.invalidations).toBe(3);
    expect(lazy.stats.invalidations).toBe(0);
    expect(lazy.flushQueueLength).toBe(3);
    // Queued IOVA is not free yet: a new map goes below everything allocated.
    expect(lazy.dmaMapPage(0x9000)).toBe(2 ** 48 - 6 * PAGE_SIZE);
    expect(strict.dmaMapPage(0x9000)).toBe(2 ** 48 - PAGE_SIZE);
    lazy.dmaUnmapPage(2 ** 48 - 4 * PAGE_SIZE);
    expect(lazy.stats.invalidations).toBe(1);
    expect(lazy.flushQueueLength).toBe(0);
    expect(lazy.dmaMapPage(0xa000)).toBe(2 ** 48 - PAGE_SIZE);
    expect(lazy.dmaUnmapPage(12345 * PAGE_SIZE)).toBe(-EINVAL);
  });
});

describe('off and passthrough modes', () => {
  it('the DMA address is the physical address; beyond the mask is a mapping error (-ENOMEM)', () => {
    for (const iommu of ['off', 'passthrough'] as const) {
      const d = new DmaDevice({ name: 'dev', iommu, dmaMaskBits: 36 });
      expect(d.dmaMapPage(0x1234_5678)).toBe(0x1234_5678);
      expect(d.dmaToPhys(0xabc000)).toBe(0xabc000);
      expect(d.dmaMapPage(2 ** 36 - PAGE_SIZE)).toBe(2 ** 36 - PAGE_SIZE);
      const bad = d.dmaMapPage(2 ** 36);
      expect(bad).toBe(DMA_MAPPING_ERROR);
      expect(dmaMappingError(bad)).toBe(-ENOMEM);
      expect(dmaMappingError(0x1000)).toBe(0);
      expect(d.dmaUnmapPage(0x1234_5678)).toBe(0);
      expect(d.stats).toMatchObject({ maps: 2, unmaps: 1, invalidations: 0, iovaAllocs: 0, mappedPages: 0 });
      expect(d.dmaNeedUnmap()).toBe(false);
      expect(d.dmaIovaTryAlloc(PAGE_SIZE)).toBeNull();
    }
  });

  it('a device name not in the topology is refused', () => {
    const { topo } = machine({ vendor: 'intel' });
    expect(() => new DmaDevice({ name: 'gpu9', topology: topo })).toThrow(UnknownPciDeviceError);
    expect(() => new DmaDevice({ name: 'x', dmaMaskBits: 65 })).toThrow(RangeError);
    expect(new DmaDevice({ name: 'gpu9', topology: topo, pci: false }).pci).toBe(false);
  });
});

describe('hmm_dma_map_alloc', () => {
  it('-EOPNOTSUPP when the device needs DMA sync or is addressing limited', () => {
    expect(hmmDmaMapAlloc(new DmaDevice({ name: 'a', needsSync: true }), 16)).toBe(-EOPNOTSUPP);
    // 32-bit mask, RAM up to 1 TiB, no IOMMU: swiotlb would bounce.
    expect(hmmDmaMapAlloc(new DmaDevice({ name: 'b', dmaMaskBits: 32 }), 16)).toBe(-EOPNOTSUPP);
    expect(hmmDmaMapAlloc(new DmaDevice({ name: 'b', dmaMaskBits: 40 }), 16)).not.toBeTypeOf('number');
    // Behind a translating IOMMU a 32-bit mask is enough, a 31-bit one is not.
    expect(
      hmmDmaMapAlloc(new DmaDevice({ name: 'c', iommu: 'translate', dmaMaskBits: 32 }), 16),
    ).not.toBeTypeOf('number');
    expect(hmmDmaMapAlloc(new DmaDevice({ name: 'c', iommu: 'translate', dmaMaskBits: 31 }), 16)).toBe(
      -EOPNOTSUPP,
    );
  });

  it('-EINVAL for bad sizes; one IOVA range in translate mode, none otherwise', () => {
    const t = new DmaDevice({ name: 't', iommu: 'translate' });
    expect(hmmDmaMapAlloc(t, 0)).toBe(-EINVAL);
    expect(hmmDmaMapAlloc(t, 4, 100)).toBe(-EINVAL);
    expect(hmmDmaMapAlloc(t, 1, 2 * PAGE_SIZE)).toBe(-EINVAL);
    const m = mustMap(hmmDmaMapAlloc(t, 16));
    expect(m.state).toEqual({ addr: 2 ** 48 - 16 * PAGE_SIZE, size: 16 * PAGE_SIZE });
    expect(m.dmaList).toBeNull();
    const off = mustMap(hmmDmaMapAlloc(new DmaDevice({ name: 'o' }), 16));
    expect(off.state).toBeNull();
    expect(off.dmaList).toBeNull();
    hmmDmaMapFree(t, m);
    expect(t.stats.iovaFrees).toBe(1);
    expect(m.state).toBeNull();
  });
});

describe('hmm_dma_map_pfn / hmm_dma_unmap_pfn', () => {
  it('maps normal pages at idx * entrySize in the IOVA range and sets DMA_MAPPED', () => {
    const { topo } = machine({ vendor: 'intel' });
    const d = new DmaDevice({ name: 'gpu0', iommu: 'translate', topology: topo });
    const m = mustMap(hmmDmaMapAlloc(d, 8));
    const st = newP2pdmaMapState();
    writeEntry(m, 0, 0x500);
    writeEntry(m, 3, 0x777);
    expect(hmmDmaMapPfn(d, m, 0, st)).toBe(m.state!.addr);
    expect(hmmDmaMapPfn(d, m, 3, st)).toBe(m.state!.addr + 3 * PAGE_SIZE);
    expect(d.dmaToPhys(m.state!.addr + 3 * PAGE_SIZE)).toBe(0x777 * PAGE_SIZE);
    expect(m.pfnList[0]! & HMM_PFN_DMA_MAPPED).toBe(HMM_PFN_DMA_MAPPED);
    expect(m.pfnList[0]! & HMM_PFN_VALID).toBe(HMM_PFN_VALID);
    expect(m.words[1]! & (HMM_PFN_HI_P2PDMA | HMM_PFN_HI_P2PDMA_BUS)).toBe(0);
    expect(d.stats).toMatchObject({ maps: 2, mappedPages: 2 });
    expect(st).toEqual({ mem: null, map: 'NONE' });
  });

  it('DMA_MAPPED is sticky across an hmm_range_fault rewrite: no remap, the same address', () => {
    const { topo } = machine({ vendor: 'intel' });
    const d = new DmaDevice({ name: 'gpu0', iommu: 'translate', topology: topo });
    const m = mustMap(hmmDmaMapAlloc(d, 4));
    const st = newP2pdmaMapState();
    writeEntry(m, 1, 0x900, HMM_PFN_HI_VALID);
    const addr = hmmDmaMapPfn(d, m, 1, st);
    // A second fault upgrades the entry to writable; the walk keeps HMM_PFN_INOUT_FLAGS.
    writeEntry(m, 1, 0x900, HMM_PFN_HI_VALID | HMM_PFN_HI_WRITE);
    expect(m.words[3]! & HMM_PFN_HI_DMA_MAPPED).toBe(HMM_PFN_HI_DMA_MAPPED);
    expect(hmmDmaMapPfn(d, m, 1, st)).toBe(addr);
    expect(d.stats.maps).toBe(1);
    // Unmap clears the three sticky flags; a second unmap is refused.
    expect(hmmDmaUnmapPfn(d, m, 1)).toBe(true);
    expect(m.words[3]! & HMM_PFN_HI_INOUT_FLAGS).toBe(0);
    expect(m.words[3]! & HMM_PFN_HI_WRITE).toBe(HMM_PFN_HI_WRITE);
    expect(d.dmaToPhys(addr)).toBe(-EFAULT);
    expect(d.stats).toMatchObject({ unmaps: 1, invalidations: 1, mappedPages: 0 });
    expect(hmmDmaUnmapPfn(d, m, 1)).toBe(false);
    expect(hmmDmaUnmapPfn(d, m, 2)).toBe(false);
  });

  it('an entry rewritten as not valid keeps DMA_MAPPED but cannot be unmapped (the driver must unmap first)', () => {
    const d = new DmaDevice({ name: 'd', iommu: 'translate' });
    const m = mustMap(hmmDmaMapAlloc(d, 2));
    writeEntry(m, 0, 0x42);
    hmmDmaMapPfn(d, m, 0, newP2pdmaMapState());
    writeEntry(m, 0, 0, 0); // the page went away: output 0, sticky bits kept
    expect(m.words[1]).toBe(HMM_PFN_HI_DMA_MAPPED);
    expect(hmmDmaUnmapPfn(d, m, 0)).toBe(false);
    expect(d.stats.mappedPages).toBe(1);
  });

  it('BUS_ADDR P2P page: the bus address, P2PDMA_BUS | DMA_MAPPED, no IOMMU mapping, nothing to unmap', () => {
    const { topo, provider } = machine({ vendor: 'intel' });
    const d = new DmaDevice({ name: 'gpu0', iommu: 'translate', topology: topo });
    const m = mustMap(hmmDmaMapAlloc(d, 4));
    const st = newP2pdmaMapState();
    writeEntry(m, 2, 0x10_0005);
    const bus = 0x10_0005 * PAGE_SIZE + 0x20_0000_0000;
    expect(hmmDmaMapPfn(d, m, 2, st)).toBe(bus);
    expect(st.mem).toBe(provider);
    expect(st.map).toBe('BUS_ADDR');
    expect(m.words[5]! & HMM_PFN_HI_INOUT_FLAGS).toBe(HMM_PFN_HI_P2PDMA_BUS | HMM_PFN_HI_DMA_MAPPED);
    expect(d.stats).toMatchObject({ maps: 0, mappedPages: 0, busAddrMaps: 1 });
    // DMA_MAPPED with P2PDMA_BUS is not the early return: the state answers again (cached).
    writeEntry(m, 2, 0x10_0005);
    expect(hmmDmaMapPfn(d, m, 2, st)).toBe(bus);
    expect(topo.stats).toEqual({ calcs: 1, mapTypeLookups: 1, cacheHits: 0 });
    expect(hmmDmaUnmapPfn(d, m, 2)).toBe(true);
    expect(m.words[5]! & HMM_PFN_HI_INOUT_FLAGS).toBe(0);
    expect(d.stats).toMatchObject({ unmaps: 0, invalidations: 0 });
  });

  it('THRU_HOST_BRIDGE P2P page (AMD Zen across root ports): an MMIO mapping and HMM_PFN_P2PDMA', () => {
    const { topo } = machine({ vendor: 'amd', family: 0x19 });
    const d = new DmaDevice({ name: 'far0', iommu: 'translate', topology: topo });
    const m = mustMap(hmmDmaMapAlloc(d, 4));
    const st = newP2pdmaMapState();
    writeEntry(m, 0, 0x10_0000);
    const addr = hmmDmaMapPfn(d, m, 0, st);
    expect(addr).toBe(m.state!.addr);
    expect(d.dmaToPhys(addr)).toBe(0x10_0000 * PAGE_SIZE);
    expect(st.map).toBe('THRU_HOST_BRIDGE');
    expect(m.words[1]! & HMM_PFN_HI_INOUT_FLAGS).toBe(HMM_PFN_HI_P2PDMA | HMM_PFN_HI_DMA_MAPPED);
    expect(d.stats).toMatchObject({ maps: 1, mmioMaps: 1 });
    expect(hmmDmaUnmapPfn(d, m, 0)).toBe(true);
    expect(m.words[1]! & HMM_PFN_HI_INOUT_FLAGS).toBe(0);
    expect(d.stats.mappedPages).toBe(0);
  });

  it('NOT_SUPPORTED P2P page (unlisted Intel across root ports): DMA_MAPPING_ERROR, flags untouched', () => {
    const { topo } = machine({ vendor: 'intel' });
    const d = new DmaDevice({ name: 'far0', iommu: 'translate', topology: topo });
    const m = mustMap(hmmDmaMapAlloc(d, 4));
    const st = newP2pdmaMapState();
    writeEntry(m, 0, 0x10_0001);
    expect(hmmDmaMapPfn(d, m, 0, st)).toBe(DMA_MAPPING_ERROR);
    expect(m.words[1]! & HMM_PFN_HI_INOUT_FLAGS).toBe(0);
    expect(d.stats.maps).toBe(0);
    expect(hmmDmaUnmapPfn(d, m, 0)).toBe(false);
    // Normal pages still map through the same state.
    writeEntry(m, 1, 0x55);
    expect(hmmDmaMapPfn(d, m, 1, st)).toBe(m.state!.addr + PAGE_SIZE);
  });

  it('a non-PCI device gets NOT_SUPPORTED for P2P pages; the state is refreshed only when the provider changes', () => {
    const { topo, provider } = machine({ vendor: 'amd', family: 0x19 });
    const plat = new DmaDevice({ name: 'accel', iommu: 'translate', topology: topo, pci: false });
    const st = newP2pdmaMapState();
    expect(pciP2pdmaState(st, plat, 0x10_0000)).toBe('NOT_SUPPORTED');
    expect(pciP2pdmaState(st, plat, 0x42)).toBe('NONE');
    const gpu = new DmaDevice({ name: 'gpu0', iommu: 'translate', topology: topo });
    const st2 = newP2pdmaMapState();
    for (let pfn = 0x10_0000; pfn < 0x10_0040; pfn++) expect(pciP2pdmaState(st2, gpu, pfn)).toBe('BUS_ADDR');
    expect(st2.mem).toBe(provider);
    expect(topo.stats.mapTypeLookups).toBe(2); // one per (state, provider) change, not per page
    const other = topo.p2pdmaAddResource('far0', { startPfn: 0x20_0000, npages: 4 }) as P2pdmaProvider;
    expect(pciP2pdmaState(st2, gpu, 0x20_0000)).toBe('THRU_HOST_BRIDGE');
    expect(st2.mem).toBe(other);
    expect(pciP2pdmaState(st2, gpu, 0x10_0000)).toBe('BUS_ADDR');
    expect(topo.stats).toMatchObject({ mapTypeLookups: 4, cacheHits: 1 });
  });

  it('a failed link clears HMM_PFN_P2PDMA and returns DMA_MAPPING_ERROR', () => {
    const { topo } = machine({ vendor: 'amd', family: 0x19 });
    const d = new DmaDevice({ name: 'far0', iommu: 'translate', topology: topo });
    const m = mustMap(hmmDmaMapAlloc(d, 2));
    writeEntry(m, 0, 0x10_0000);
    hmmDmaMapPfn(d, m, 0, newP2pdmaMapState());
    // Forget DMA_MAPPED by hand: the slot is still linked, so relinking fails.
    m.words[1] = HMM_PFN_HI_VALID;
    expect(hmmDmaMapPfn(d, m, 0, newP2pdmaMapState())).toBe(DMA_MAPPING_ERROR);
    expect(m.words[1]).toBe(HMM_PFN_HI_VALID);
  });

  it('off mode: stateless mappings, the physical address, remapped when asked again', () => {
    const { topo } = machine({ vendor: 'intel' });
    const d = new DmaDevice({ name: 'gpu0', topology: topo });
    const m = mustMap(hmmDmaMapAlloc(d, 4));
    writeEntry(m, 0, 0x1234);
    const st = newP2pdmaMapState();
    expect(hmmDmaMapPfn(d, m, 0, st)).toBe(0x1234 * PAGE_SIZE);
    expect(hmmDmaMapPfn(d, m, 0, st)).toBe(0x1234 * PAGE_SIZE);
    expect(d.stats.maps).toBe(2);
    expect(hmmDmaUnmapPfn(d, m, 0)).toBe(true);
    expect(d.stats.unmaps).toBe(0);
    // Bus-address P2P works without an IOMMU too.
    writeEntry(m, 1, 0x10_0002);
    expect(hmmDmaMapPfn(d, m, 1, st)).toBe(0x10_0002 * PAGE_SIZE + 0x20_0000_0000);
  });

  it('translate mode without IOVA space: per-entry dma_list, saved address returned while mapped', () => {
    // A 32-bit PCI device cannot get one range of 2^20 pages (pfn 0 is reserved).
    const { topo } = machine({ vendor: 'intel' });
    const d = new DmaDevice({ name: 'gpu0', iommu: 'translate', topology: topo, dmaMaskBits: 32 });
    const m = mustMap(hmmDmaMapAlloc(d, 2 ** 20));
    expect(m.state).toBeNull();
    expect(m.dmaList).not.toBeNull();
    writeEntry(m, 7, 0x321);
    const st = newP2pdmaMapState();
    const addr = hmmDmaMapPfn(d, m, 7, st);
    expect(addr).toBe(FOUR_G - PAGE_SIZE);
    expect(m.dmaList![7]).toBe(addr);
    writeEntry(m, 7, 0x321);
    expect(hmmDmaMapPfn(d, m, 7, st)).toBe(addr);
    expect(d.stats.maps).toBe(1);
    expect(hmmDmaUnmapPfn(d, m, 7)).toBe(true);
    expect(d.stats).toMatchObject({ unmaps: 1, iovaFrees: 1, mappedPages: 0 });
  });
});

describe('driver bugs', () => {
  it('an index outside the map throws', () => {
    const d = new DmaDevice({ name: 'd', iommu: 'translate' });
    const m = mustMap(hmmDmaMapAlloc(d, 2));
    expect(() => hmmDmaMapPfn(d, m, 2, newP2pdmaMapState())).toThrow(RangeError);
    expect(() => hmmDmaUnmapPfn(d, m, -1)).toThrow(/driver bug/);
  });
});
