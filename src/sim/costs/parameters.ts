/**
 * Every cost parameter of the base table (the reference platform, pcie4-a100) with its value, unit, kind, conditions and source.
 * Part of the cost profile (src/sim/costs.ts, which re-exports the public API). No Linux
 * counterpart: this is data about hardware and the kernel, with its sources.
 */
import type { ParameterSpec } from './types.js';
export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** Bytes per ns in one GiB/s (UVMSmart's curve is in GiB/s: it divides by 1024^3). */
export const BYTES_PER_NS_PER_GIB_S = GiB / 1e9;

/** Assumed CPU clock used to turn published cycle counts into ns (x86 server, ~3 GHz). */
const ASSUMED_CPU_GHZ = 3;
/** MacSim parameters are in cycles of an unstated clock; 1 GHz keeps them readable (assumption). */
const MACSIM_ASSUMED_GHZ = 1;
/** UVMSmart GTX 1080 Ti core clock: `-gpgpu_clock_domains 1481.0:...` (MHz). */
export const UVMSMART_CORE_GHZ = 1.481;

export const UVMSMART_CURVE_A_GIB_S = 12;
const UVMSMART_CURVE_B_PER_KIB = 0.07292;
const UVMSMART_HALVING_BYTES = 2 * MiB;
const UVMSMART_LARGE_FACTOR = 0.5;

/** UVMSmart `calculate_transfer_time`: bandwidth in GiB/s for one transfer of `bytes`. */
export function uvmSmartCurveGiBps(
  a: number,
  b: number,
  threshold: number,
  factor: number,
  bytes: number,
): number {
  let speed = ((2 * a) / Math.PI) * Math.atan((b * bytes) / KiB);
  if (bytes >= threshold) speed *= factor;
  return speed;
}

/** Setup latency implied by the UVMSmart curve: t(4 KiB) minus 4 KiB at the curve's asymptote. */
const DERIVED_DMA_SETUP_NS = (() => {
  const bytes = 4 * KiB;
  const t =
    bytes /
    (uvmSmartCurveGiBps(
      UVMSMART_CURVE_A_GIB_S,
      UVMSMART_CURVE_B_PER_KIB,
      UVMSMART_HALVING_BYTES,
      UVMSMART_LARGE_FACTOR,
      bytes,
    ) *
      BYTES_PER_NS_PER_GIB_S);
  return t - bytes / (UVMSMART_CURVE_A_GIB_S * BYTES_PER_NS_PER_GIB_S);
})();

/** PCIe Gen4 GPU<->GPU copy efficiency seen on A6000s (26.3 of 31.5 GB/s), used to scale. */
export const PCIE_P2P_EFFICIENCY = 26.3 / 31.5;
/** NVLink4 measured/spec efficiency on HGX H100 (376 of 450 GB/s), used to scale. */
const NVLINK_EFFICIENCY = 376 / 450;

// ---------------------------------------------------------------------------------------------
// Sources (all taken from the project's domain notes: anchors.md and thread.md)

export const SRC = {
  uvmSmartGpuSim:
    'UVMSmart gpgpu-sim src/gpgpu-sim/gpu-sim.cc (gmmu_t::calculate_transfer_time, -page_fault_latency), https://github.com/DebashisGanguly/gpgpu-sim_UVMSmart/blob/bafab5d728a911d671833a5f843eeda783dab9ac/src/gpgpu-sim/gpu-sim.cc',
  uvmSmartConfig:
    'UVMSmart GTX 1080 Ti config, https://github.com/DebashisGanguly/gpgpu-sim_UVMSmart/blob/master/configs/GeForceGTX1080Ti/gpgpusim.config',
  uvmSmartReadme:
    'UVMSmart README, https://github.com/DebashisGanguly/gpgpu-sim_UVMSmart/blob/master/README.md',
  macsim:
    'MacSim def/memory.param.def and src/mmu.cc, https://github.com/gthparch/macsim/blob/master/def/memory.param.def , https://github.com/gthparch/macsim/blob/master/src/mmu.cc',
  nvUvm: (file: string) =>
    `nvidia-uvm ${file}, https://github.com/NVIDIA/open-gpu-kernel-modules/tree/main/kernel-open/nvidia-uvm`,
  pcieRaw:
    'PCIe reference table (128b/130b encoding, base-10 GB) [secondary], https://hpc-notes.pages.dev/reference/pcie',
  ncclTopo:
    'NCCL topology model src/graph/topo.h, https://github.com/NVIDIA/nccl/blob/master/src/graph/topo.h',
  nvbwA100: 'nvbandwidth issue #42 (A100-SXM4-40GB), https://github.com/NVIDIA/nvbandwidth/issues/42',
  nvbwH100:
    'nvbandwidth issue #24 (H100 cluster, also H20/H800), https://github.com/NVIDIA/nvbandwidth/issues/24',
  nvbwA6000: 'nvbandwidth issue #50 (6x A6000, no NVLink), https://github.com/NVIDIA/nvbandwidth/issues/50',
  nvbwGh200:
    'nvbandwidth issue #23 (GH200 480 GB LPDDR5X + 96 GB HBM3, nvbandwidth v5), https://github.com/NVIDIA/nvbandwidth/issues/23',
  c2cSpec:
    'DataCrunch, data movement in the GH200 [secondary], https://datacrunch.io/blog/data-movement-in-the-nvidia-gh200-grace-hopper-superchip',
  nvlink4:
    'NCCL issue #1264 (HGX H100 8-GPU, p2pBandwidthLatencyTest), https://github.com/NVIDIA/nccl/issues/1264',
  ziYan:
    'Zi Yan, THP migration series (move_pages() cross-socket, 2-socket Xeon E5-2640v3), https://git.disroot.org/kpriv/linux-hardened/src/commit/88aaa2a1d7326bdb6fd2a6bd7264008a343272cd/mm',
  pageWalk:
    "Mika Penttila, 'Migrate on fault for device pages' cover letter as quoted in review, https://lkml.iu.edu/2603.2/02965.html",
  tlbShootdown:
    'TLB shootdown notes [secondary], https://newsletter.onedfrk.com/archive/b71d2c16-a8e5-450d-8eca-25d216781df7 , https://unseel.com/cs/tlb-shootdown',
  dmaMapBench:
    'dma_map_benchmark SG-mode patch, LKML May 2025, 8 threads, 30 s, submitter (Huawei) test machine, IOMMU type not stated (archive: https://github.com/linux-mailinglist-archives/linux-kernel.vger.kernel.org.7)',
  iotlbFlush:
    'Intel VT-d flush-queue batching patch, https://git.leafos.org/LeafOS-Devices/android_kernel_realme_mt6785/+/5e0d2a6fc094a9b5047998deefeb1254c66856ee',
  amdRcP2p:
    'tinygrad open-gpu-kernel-modules issue #6, https://github.com/tinygrad/open-gpu-kernel-modules/issues/6',
  stagingFaster: 'NCCL issue #814, https://github.com/NVIDIA/nccl/issues/814',
  oldP2p: 'ROCmValidationSuite issue #427, https://github.com/ROCm/ROCmValidationSuite/issues/427',
  rdma: 'perftest issue #241 (A30, ib_write_bw 32 MiB), https://github.com/linux-rdma/perftest/issues/241',
  gdrcopy:
    'GDRCopy README (P100 / K40m-K80, Ivy Bridge-era Xeon), https://github.com/NVIDIA/gdrcopy/blob/master/README.md',
  bar1Small:
    'queryGpu.m output for a GTX TITAN Z, https://github.com/markbucklin/markbucklin/blob/master/matlab-code-merge/codemess/matlab/ign/queryGpu.m',
  bar1Large:
    'nvidia-smi output for an H800, https://github.com/liguodongiot/llm-action/blob/main/docs/llm-base/nvidia-smi.md',
  h100Spec: 'H100 notes [secondary], https://glennklockwood.com/garden/processors/h100',
  structPage:
    'arm64 vmemmap sizing commit, https://git.zx2c4.com/linux-dev/commit/?id=c1090bb10d5e15906d296936e64317e35c43f21d',
  jgSlow:
    "Jason Gunthorpe: pci_p2pdma_map_type() 'is a slow operation', https://lore.kernel.org/all/20241017134644.GA948948@ziepe.ca/",
  jgPer4k:
    "Jason Gunthorpe: 'It extra for every single 4k page on every user' and 'Now you are locking/unlocking every 4k?', https://lore.kernel.org/all/20250130132317.GG2120662@ziepe.ca/ , https://lore.kernel.org/all/20250130174217.GA2296753@ziepe.ca/",
  thCallback:
    'Thomas Hellstrom: callback cost small next to migration or page-table update; cache the last dev_pagemap, https://lore.kernel.org/all/7b7a15fb1f59acc60393eb01cefddf4dc1f32c00.camel@linux.intel.com/',
  mbTarget:
    "Matthew Brost: 'GPU page faults serviced in 10-15us of CPU time (GPU copy time... at most 200us)', https://lore.kernel.org/all/aX1T6BozrrtByU8H@lstrano-desk.jf.intel.com/",
  mb96: "Matthew Brost: '96% of the time spent on 2M page GPU faults was within the migrate_vma_* functions', https://lore.kernel.org/all/Z8oq10LQBGnqpjQl@lstrano-desk.jf.intel.com/",
  pascalFault:
    'NVIDIA at GTC Japan 2016, reported by press [secondary], https://prod-news.global.ssl.fastly.net/techplus/article/20161012-gtcjapan2016_unifiedmemory/3',
  xeSvm:
    'Xe SVM series (xe_svm.c), https://patchwork.kernel.org/project/dri-devel/cover/20250129195212.745731-1-matthew.brost@intel.com',
  kernelP2pdma: 'Linux drivers/pci/p2pdma.c host-bridge allowlist (anchors.md 1.10, kernel.md 6.3)',
} as const;

// ---------------------------------------------------------------------------------------------
// The base table (reference platform: pcie4-a100)

export const BASE = {
  // --- CPU page tables, faults, hmm_range_fault, notifiers, TLB shootdown ---
  pageWalkDescentNs: {
    group: 'cpu-mm',
    unit: 'ns',
    value: 1000 / ASSUMED_CPU_GHZ,
    kind: 'derived',
    conditions:
      'x86-64, 4-level page tables: one top-down walk to a leaf page table. Charge once per leaf table (each 2 MiB of VA) a walker enters',
    source: `derived: "over 1000 cpu cycles on X86-64" per page-table walk (${SRC.pageWalk}) at an assumed ${ASSUMED_CPU_GHZ} GHz CPU clock`,
    note: 'A lower bound ("over"). It is why a single-walk fault+migrate (HMM_PFN_REQ_MIGRATE) was proposed: fault-then-migrate needs two walks, migrate-then-fault up to three.',
  },
  pageWalkPerPteNs: {
    group: 'cpu-mm',
    unit: 'ns/PTE',
    value: 5,
    kind: 'assumed',
    conditions:
      'Visiting one PTE inside a leaf table, any walker (hmm_range_fault, migrate_vma_collect, zap)',
    source:
      'assumption: no published number. Consecutive 8-byte PTEs share cache lines (8 per 64 B line), so the loop body is ~15 cycles at 3 GHz',
  },
  hmmRangeFaultCallNs: {
    group: 'cpu-mm',
    unit: 'ns',
    value: 200,
    kind: 'assumed',
    conditions:
      'Fixed cost of one hmm_range_fault() call (notifier sequence read, walk_page_range setup), excluding walks and per-PTE work',
    source:
      'assumption: no published number (anchors.md Part 2: "hmm_range_fault per present page: GAP"). A few uncontended locks and function calls; measurable with test_hmm SNAPSHOT',
  },
  hmmRangeFaultPerPteNs: {
    group: 'cpu-mm',
    unit: 'ns/PTE',
    value: 5,
    kind: 'assumed',
    conditions:
      'hmm_range_fault decision per PTE on top of pageWalkPerPteNs: hmm_pte_need_fault, owner check, writing hmm_pfns[i]',
    source:
      'assumption: no published number (anchors.md GAP). A handful of flag tests and one store per entry; measurable with test_hmm SNAPSHOT',
  },
  cpuFaultEntryNs: {
    group: 'cpu-mm',
    unit: 'ns',
    value: 1000,
    kind: 'assumed',
    conditions:
      'CPU page-fault exception entry and handle_mm_fault dispatch, excluding the work the fault does',
    source:
      'assumption: no number in the notes (anchors.md: migrate_to_ram is a GAP, decompose it as fault entry + migrate_vma_* + device copy + GPU TLB invalidation); ~1 us is the usual order for a minor fault',
  },
  mmuNotifierInvalidateNs: {
    group: 'cpu-mm',
    unit: 'ns',
    value: 500,
    kind: 'assumed',
    conditions:
      'Core cost of one mmu interval notifier invalidation (interval-tree lookup, sequence bump, driver lock), excluding the device TLB invalidation it triggers',
    source: `assumption: anchors.md lists the notifier round trip as a GAP; Xe waits on per-tile GT TLB-invalidation fences inside the notifier (${SRC.xeSvm}), charged separately as gpuTlbInvalidationNs`,
  },
  tlbShootdownBaseNs: {
    group: 'cpu-mm',
    unit: 'ns',
    value: 1000,
    kind: 'published',
    conditions: 'x86 Linux, modern Xeon: base cost of a CPU TLB shootdown (IPI round trip ~1-3 us)',
    source: SRC.tlbShootdown,
    note: 'Secondary source: an order of magnitude. Total = tlbShootdownBaseNs + tlbShootdownPerCpuNs x receiving CPUs.',
  },
  tlbShootdownPerCpuNs: {
    group: 'cpu-mm',
    unit: 'ns/CPU',
    value: 200,
    kind: 'published',
    conditions: 'x86 Linux: added cost per receiving CPU ("base ~1 us + ~200 ns/receiver")',
    source: SRC.tlbShootdown,
    note: 'Secondary source; another rule of thumb there is ~1.5 us x active cores.',
  },

  // --- Per-page driver callback and p2pdma decision ---
  driverCallbackPerPageNs: {
    group: 'p2p-decision',
    unit: 'ns/page',
    value: 10,
    kind: 'assumed',
    conditions:
      'One indirect call per 4 KiB page into the driver (the proposed dev_pagemap_ops.get_dma_pfn_for_device), doing no work',
    source: `assumption: the debate has no number (${SRC.jgPer4k}; ${SRC.thCallback}). An indirect call with retpoline-era mitigations is tens of cycles; 30 cycles at 3 GHz`,
  },
  driverLockPerPageNs: {
    group: 'p2p-decision',
    unit: 'ns/page',
    value: 20,
    kind: 'assumed',
    conditions: 'An uncontended lock/unlock pair per 4 KiB page inside that callback',
    source: `assumption: no published number (${SRC.jgPer4k}). Two atomic read-modify-writes on a cache-resident line, ~60 cycles at 3 GHz; contended locks cost far more`,
    note: 'Simona Vetter conceded the callback on this per-4K locking cost (thread.md 2.2).',
  },
  p2pdmaMapTypeUncachedNs: {
    group: 'p2p-decision',
    unit: 'ns',
    value: 5000,
    kind: 'assumed',
    conditions:
      'First pci_p2pdma_map_type() for a (provider, client) pair: calc_map_type_and_dist walks both upstream chains, reads ACS control of each bridge, checks the host-bridge allowlist',
    source: `assumption: described only as "a slow operation" (${SRC.jgSlow}). Several PCI config-space reads, each a non-posted read of roughly a microsecond`,
  },
  p2pdmaMapTypeCachedNs: {
    group: 'p2p-decision',
    unit: 'ns',
    value: 20,
    kind: 'assumed',
    conditions:
      'Later lookups for the same pair: mainline caches the type in provider->p2pdma->map_types (an xarray; kernel.md 6.3)',
    source: 'assumption: no published number; one xa_load under RCU, tens of ns',
  },

  // --- DMA mapping and IOMMU ---
  dmaMapIommuPerPageNs: {
    group: 'dma-iommu',
    unit: 'ns/page',
    value: 1000 / 8,
    kind: 'derived',
    conditions: 'dma_map with an IOMMU, per 4 KiB page',
    source: `derived: single-mode map of an 8-page granule 1.0 us / 8 pages (${SRC.dmaMapBench})`,
    note: 'The benchmark does not split a fixed per-call cost from a per-page cost, so this charges all of it per page. Scatter-gather mode, 8 pages: map 1.4 us, unmap 1.3 us.',
  },
  dmaUnmapIommuPerPageNs: {
    group: 'dma-iommu',
    unit: 'ns/page',
    value: 1300 / 8,
    kind: 'derived',
    conditions: 'dma_unmap with an IOMMU, per 4 KiB page (includes the IOTLB flush as the benchmark saw it)',
    source: `derived: single-mode unmap of an 8-page granule 1.3 us (sigma 0.3) / 8 pages (${SRC.dmaMapBench})`,
  },
  dmaMapDirectPerPageNs: {
    group: 'dma-iommu',
    unit: 'ns/page',
    value: 10,
    kind: 'assumed',
    conditions: 'dma_map without an IOMMU (dma-direct, no swiotlb bounce), per page',
    source: 'assumption: no published number; dma-direct is address arithmetic plus a few checks',
  },
  dmaUnmapDirectPerPageNs: {
    group: 'dma-iommu',
    unit: 'ns/page',
    value: 5,
    kind: 'assumed',
    conditions: 'dma_unmap without an IOMMU on a cache-coherent platform, per page',
    source: 'assumption: no published number; close to a no-op without bouncing or cache maintenance',
  },
  iommuIotlbMissNs: {
    group: 'dma-iommu',
    unit: 'ns',
    value: 300,
    kind: 'assumed',
    conditions: 'One device access that misses the IOTLB and makes the IOMMU walk its I/O page table',
    source:
      'assumption: no number in the notes; up to 4 dependent memory reads, partly hidden by the IOMMU paging-structure caches',
  },
  iommuIotlbInvalidationNs: {
    group: 'dma-iommu',
    unit: 'ns',
    value: 2000,
    kind: 'assumed',
    conditions: 'One IOTLB invalidation (queued invalidation descriptor plus wait descriptor), not batched',
    source: `assumption: no cost in the notes; the flush-queue batching below exists because each flush is expensive (${SRC.iotlbFlush})`,
  },
  iommuFlushQueueEntries: {
    group: 'dma-iommu',
    unit: 'count',
    value: 250,
    kind: 'published',
    conditions: 'Intel VT-d lazy flush queue: entries before a batched IOTLB flush',
    source: SRC.iotlbFlush,
    note: 'The batching recovered 15-20 % of the IOMMU-induced loss in netperf small-UDP tests.',
  },
  iommuFlushQueueTimeoutNs: {
    group: 'dma-iommu',
    unit: 'ns',
    value: 10_000_000,
    kind: 'published',
    conditions: 'Intel VT-d lazy flush queue: longest wait before a batched IOTLB flush (10 ms)',
    source: SRC.iotlbFlush,
  },

  // --- Page migration and struct page ---
  migrateVmaFixedNs: {
    group: 'migration',
    unit: 'ns',
    value: 5000,
    kind: 'assumed',
    conditions:
      'Fixed CPU cost of one migrate_vma_setup/pages/finalize sequence, excluding per-page work and the copy',
    source: `assumption: no published number. Chosen to fit the 10-15 us CPU-time target for a whole GPU fault (${SRC.mbTarget}); move_pages() on one 4 KiB page takes 62.47 us (${SRC.ziYan}) but that is a syscall path with an LRU drain on every CPU`,
  },
  migrateVmaPerPageNs: {
    group: 'migration',
    unit: 'ns/page',
    value: 1_987_380 / 512,
    kind: 'derived',
    conditions:
      'CPU cost per 4 KiB page of migrate_vma_* (collect, unmap, migration entries, finalize). Upper bound: the source includes a CPU copy of the page',
    source: `derived: move_pages() of 512 x 4 KiB took 1987.38 us cross-socket (${SRC.ziYan}) / 512`,
    note: `Consistent with "96% of the time spent on 2M page GPU faults was within the migrate_vma_* functions" without device THP (${SRC.mb96}): 512 pages x 3.9 us dwarfs a 2 MiB DMA copy. A single 2 MiB THP migrated in 658.54 us (2.97 GB/s).`,
  },
  structPageBytes: {
    group: 'migration',
    unit: 'B',
    value: 64,
    kind: 'published',
    conditions:
      'struct page per 4 KiB of device-private memory (typical configs; ~1.6 % of VRAM), doubled when P2P alias pages are also created',
    source: SRC.structPage,
    note: 'arm64 once sized vmemmap with STRUCT_PAGE_MAX_SHIFT 6; a later commit notes it is not always 64 B.',
  },

  // --- GPU far faults and batching ---
  gpuFaultBatchFixedNs: {
    group: 'gpu-fault',
    unit: 'ns',
    value: 50_000 / MACSIM_ASSUMED_GHZ,
    kind: 'derived',
    conditions:
      'Fixed cost per fault batch (fetch from the fault buffer, sort, replay), charged before the per-page service',
    source: `derived: MacSim BATCH_PROCESSING_OVERHEAD 50,000 cycles (${SRC.macsim}) at an assumed ${MACSIM_ASSUMED_GHZ} GHz`,
    note: `Cross-checks: Pascal UM "more than 10 us" per fault-triggered copy (${SRC.pascalFault}); the often-quoted "20-50 us per far fault" is unverified (anchors.md GAP, Allen & Ge SC21 not read); Intel aims at 10-15 us CPU time per GPU fault with the copy up to 200 us (${SRC.mbTarget}).`,
  },
  gpuFaultPerPageNs: {
    group: 'gpu-fault',
    unit: 'ns/page',
    value: 1000 / MACSIM_ASSUMED_GHZ,
    kind: 'derived',
    conditions:
      'Service cost per faulted page inside a batch, pages serviced serially, excluding the data transfer',
    source: `derived: MacSim PAGE_FAULT_LATENCY 1,000 cycles (${SRC.macsim}) at an assumed ${MACSIM_ASSUMED_GHZ} GHz`,
  },
  gpuEvictionPerPageNs: {
    group: 'gpu-fault',
    unit: 'ns/page',
    value: 1000 / MACSIM_ASSUMED_GHZ,
    kind: 'derived',
    conditions:
      'Extra cost per page evicted to make room when device memory is full (LRU victim, victim TLB invalidation)',
    source: `derived: MacSim PAGE_EVICTION_LATENCY 1,000 cycles (${SRC.macsim}) at an assumed ${MACSIM_ASSUMED_GHZ} GHz`,
  },
  gpuPageTableWalkNs: {
    group: 'gpu-fault',
    unit: 'ns',
    value: 200 / MACSIM_ASSUMED_GHZ,
    kind: 'derived',
    conditions: 'One GPU MMU page-table walk after a GPU TLB miss',
    source: `derived: MacSim PAGE_TABLE_WALK_LATENCY 200 cycles (${SRC.macsim}) at an assumed ${MACSIM_ASSUMED_GHZ} GHz`,
  },
  gpuTlbInvalidationNs: {
    group: 'gpu-fault',
    unit: 'ns',
    value: 2000,
    kind: 'assumed',
    conditions:
      'One GPU TLB invalidation issued from an mmu notifier and waited for (Xe: per-tile GT TLB-invalidation fence)',
    source: `assumption: anchors.md lists this as a GAP (${SRC.xeSvm}); same order as an IOTLB invalidation (MMIO doorbell plus a completion fence)`,
  },
  faultBatchSize: {
    group: 'gpu-fault',
    unit: 'count',
    value: 256,
    kind: 'published',
    conditions:
      'Faults fetched from the hardware fault buffer per batch (uvm_perf_fault_batch_count, clamped to the buffer size)',
    source: SRC.nvUvm('uvm_gpu_replayable_faults.c'),
    note: 'Default replay policy BATCH_FLUSH; fault coalescing on; a duplicate ratio above 50 % switches the flush to update-PUT.',
  },
  faultBatchesPerService: {
    group: 'gpu-fault',
    unit: 'count',
    value: 20,
    kind: 'published',
    conditions: 'Batches serviced per bottom-half run (uvm_perf_fault_max_batches_per_service)',
    source: SRC.nvUvm('uvm_gpu_replayable_faults.c'),
  },
  faultThrashingBatchesPerService: {
    group: 'gpu-fault',
    unit: 'count',
    value: 5,
    kind: 'published',
    conditions: 'Batches containing thrashing pages serviced per bottom-half run',
    source: SRC.nvUvm('uvm_gpu_replayable_faults.c'),
  },
  faultBufferEntries: {
    group: 'gpu-fault',
    unit: 'count',
    value: 512,
    kind: 'published',
    conditions:
      'GPU fault buffer capacity (simulator default); faults arriving during a batch wait for the next one',
    source: `MacSim FAULT_BUFFER_SIZE, ${SRC.macsim}`,
  },

  // --- nvidia-uvm policy defaults ---
  vaBlockBytes: {
    group: 'uvm-policy',
    unit: 'B',
    value: 2 * MiB,
    kind: 'published',
    conditions:
      'nvidia-uvm VA block and GPU eviction unit (UVM_VA_BLOCK_BITS 21; root chunks on an LRU updated on allocation)',
    source: SRC.nvUvm('uvm_va_block_types.h'),
  },
  prefetchThresholdPercent: {
    group: 'uvm-policy',
    unit: '%',
    value: 51,
    kind: 'published',
    conditions:
      'Prefetch a bitmap-tree subregion once more than this share of its pages are resident or faulted',
    source: SRC.nvUvm('uvm_perf_prefetch.c'),
    note: 'Faults are first grown to 64 KB big-page granularity unless thrashing.',
  },
  thrashingThresholdEvents: {
    group: 'uvm-policy',
    unit: 'count',
    value: 3,
    kind: 'published',
    conditions: 'Consecutive migrations of a page within thrashingLapseNs that mark it as thrashing',
    source: SRC.nvUvm('uvm_perf_thrashing.c'),
  },
  thrashingLapseNs: {
    group: 'uvm-policy',
    unit: 'ns',
    value: 500_000,
    kind: 'published',
    conditions: 'Thrashing detection window (500 us); nap = 1 x lapse, epoch = 2000 x lapse',
    source: SRC.nvUvm('uvm_perf_thrashing.c'),
  },
  thrashingPinThrottles: {
    group: 'uvm-policy',
    unit: 'count',
    value: 10,
    kind: 'published',
    conditions: 'Throttles after which a thrashing page is pinned',
    source: SRC.nvUvm('uvm_perf_thrashing.c'),
  },
  thrashingPinNs: {
    group: 'uvm-policy',
    unit: 'ns',
    value: 300 * 500_000,
    kind: 'published',
    conditions: 'Pin duration, 300 x lapse = 150 ms',
    source: SRC.nvUvm('uvm_perf_thrashing.c'),
  },
  accessCounterThreshold: {
    group: 'uvm-policy',
    unit: 'count',
    value: 256,
    kind: 'published',
    conditions:
      'Remote accesses per accessCounterGranularityBytes region before access-counter migration; off by default without ATS, on with ATS',
    source: SRC.nvUvm('uvm_gpu_access_counters.c'),
  },
  accessCounterGranularityBytes: {
    group: 'uvm-policy',
    unit: 'B',
    value: 2 * MiB,
    kind: 'published',
    conditions: 'Access-counter region size',
    source: SRC.nvUvm('uvm_gpu_access_counters.c'),
  },

  // --- Host-device transfers and copy engines ---
  hostToDeviceBandwidth: {
    group: 'transfer',
    unit: 'GB/s',
    value: 25.13,
    kind: 'measured',
    conditions:
      'Effective host-to-device bandwidth of a large copy, PCIe Gen4 x16, A100-SXM4-40GB, 0.5-1 GiB buffers',
    source: SRC.nvbwA100,
    note: 'nvbandwidth SM copy. The same thread reports 18.05 GB/s at 10 GiB and 16.50 GB/s at 20 GiB; the drop with size is not modelled.',
  },
  deviceToHostBandwidth: {
    group: 'transfer',
    unit: 'GB/s',
    value: 25.13,
    kind: 'measured',
    conditions:
      'Effective device-to-host bandwidth of a large copy, PCIe Gen4 x16, A100-SXM4-40GB, 0.5-1 GiB buffers',
    source: SRC.nvbwA100,
    note: 'The thread gives one figure for H2D and D2H.',
  },
  dmaSetupLatencyNs: {
    group: 'transfer',
    unit: 'ns',
    value: DERIVED_DMA_SETUP_NS,
    kind: 'derived',
    conditions:
      'Fixed cost per DMA transfer in the latency-bandwidth model (copy-engine launch and completion), added to bytes / bandwidth',
    source: `derived: the UVMSmart curve gives 4 KiB in 1.76 us while its 12 GiB/s asymptote would move 4 KiB in 0.32 us; the difference is the setup (${SRC.uvmSmartGpuSim})`,
    note: `GDRCopy measured a cudaMemcpy overhead of 6-7 us (${SRC.gdrcopy}), but that includes the CUDA API path, not only the engine.`,
  },
  copyEngineCount: {
    group: 'transfer',
    unit: 'count',
    value: 2,
    kind: 'assumed',
    conditions: 'DMA copy engines a GPU driver uses for migration; transfers on one engine are serialized',
    source:
      'assumption: no number in the notes; one engine per direction, as UVMSmart models (separate PCIe read and write queues, serialized transfers)',
  },
  uvmSmartCurveA: {
    group: 'transfer',
    unit: 'GiB/s',
    value: UVMSMART_CURVE_A_GIB_S,
    kind: 'published',
    conditions:
      'UVMSmart curve BW(s) = (2a/pi) atan(b s_KiB): a for a 16 GB/s (PCIe 3.0 x16) link; 24 for 32 GB/s, 48 for 64 GB/s. Used only by profiles with the uvmsmart-curve transfer model',
    source: SRC.uvmSmartGpuSim,
    note: 'The code divides by 1024^3, so the curve is in GiB/s although the notes print GB/s.',
  },
  uvmSmartCurveB: {
    group: 'transfer',
    unit: '1/KiB',
    value: UVMSMART_CURVE_B_PER_KIB,
    kind: 'published',
    conditions:
      'UVMSmart curve steepness b (per KiB of transfer size). Used only by the uvmsmart-curve transfer model',
    source: SRC.uvmSmartGpuSim,
  },
  uvmSmartHalvingThresholdBytes: {
    group: 'transfer',
    unit: 'B',
    value: UVMSMART_HALVING_BYTES,
    kind: 'published',
    conditions: 'Transfers of at least this size get uvmSmartLargeTransferFactor x the curve bandwidth',
    source: SRC.uvmSmartGpuSim,
  },
  uvmSmartLargeTransferFactor: {
    group: 'transfer',
    unit: 'factor',
    value: UVMSMART_LARGE_FACTOR,
    kind: 'published',
    conditions: 'Bandwidth factor for transfers at or above uvmSmartHalvingThresholdBytes ("speed /= 2")',
    source: SRC.uvmSmartGpuSim,
  },

  // --- Links and P2P paths ---
  pcieGen3x16Bandwidth: {
    group: 'links',
    unit: 'GB/s',
    value: 15.7,
    kind: 'published',
    conditions: 'PCIe 3.0 x16 raw bandwidth per direction',
    source: SRC.pcieRaw,
    note: `NCCL plans with PCI_BW 12.0 GB/s for "PCI Gen3 x16" (${SRC.ncclTopo}).`,
  },
  pcieGen4x16Bandwidth: {
    group: 'links',
    unit: 'GB/s',
    value: 31.5,
    kind: 'published',
    conditions: 'PCIe 4.0 x16 raw bandwidth per direction',
    source: SRC.pcieRaw,
  },
  pcieGen5x16Bandwidth: {
    group: 'links',
    unit: 'GB/s',
    value: 63.0,
    kind: 'published',
    conditions: 'PCIe 5.0 x16 raw bandwidth per direction',
    source: SRC.pcieRaw,
  },
  pcieLinkRawBandwidth: {
    group: 'links',
    unit: 'GB/s',
    value: 31.5,
    kind: 'published',
    conditions: "Raw per-direction bandwidth of this platform's GPU/NIC PCIe links: Gen4 x16",
    source: SRC.pcieRaw,
  },
  nvlinkC2cBandwidth: {
    group: 'links',
    unit: 'GB/s',
    value: 450,
    kind: 'published',
    conditions: 'NVLink-C2C (Grace Hopper) spec per direction, 900 GB/s total',
    source: SRC.c2cSpec,
    note: `Measured H2D over C2C: 346 GB/s CE, 342 GB/s SM (${SRC.nvbwGh200}).`,
  },
  peerLinkBandwidth: {
    group: 'links',
    unit: 'GB/s',
    value: 300 * NVLINK_EFFICIENCY,
    kind: 'derived',
    conditions:
      'Effective per-direction bandwidth of a private GPU-GPU link (NVLink/xGMI-like) between two GPUs. 0 = no such link',
    source: `derived: A100 NVLink3 300 GB/s per direction (assumption: vendor spec, not in the notes) x 376/450, the measured/spec ratio of NVLink4 on HGX H100 (${SRC.nvlink4})`,
  },
  peerPcieBandwidth: {
    group: 'links',
    unit: 'GB/s',
    value: 26.3,
    kind: 'measured',
    conditions:
      'GPU-to-GPU copy over PCIe Gen4 x16 without NVLink (copy engine), per direction; topology not stated',
    source: SRC.nvbwA6000,
    note: 'Some GPU pairs reached 26.3 GB/s, others 21.8-22.6 GB/s; a commenter: "almost 80% of full PCIe Gen 4". A clean switch-local (PIX/PXB) number is a GAP in the notes.',
  },
  hostBridgeP2pBandwidth: {
    group: 'links',
    unit: 'GB/s',
    value: 25,
    kind: 'derived',
    conditions:
      'P2P through the CPU root complex, per direction, AMD Zen (Linux p2pdma allows it on AMD family >= 0x17). 0 = not supported',
    source: `derived: ~50 GB/s bidirectional between RTX 4090s on PCIe 4.0 x16, Threadripper 3995WX, large BAR, IOMMU off (${SRC.amdRcP2p}) / 2`,
    note: `Root-complex P2P can also lose to staging through host memory: ~10 GB/s P2P vs 20-22 GB/s staged on 6x RTX 4090 with an AMD CPU (${SRC.stagingFaster}).`,
  },
  intelHostBridgeP2pPenalty: {
    group: 'links',
    unit: 'factor',
    value: 6 / 5,
    kind: 'published',
    conditions:
      'Bandwidth cost multiplier NCCL applies to P2P through an Intel root complex ("Intel CPU convert GPU P2P traffic into 64B PCI TLPs")',
    source: SRC.ncclTopo,
    note: 'NCCL also caps the P2P level at PXB (no P2P through the root complex) on Intel, ARM and Zhaoxin.',
  },
  cpuSocketInterconnectBandwidth: {
    group: 'links',
    unit: 'GB/s',
    value: 16,
    kind: 'published',
    conditions:
      'CPU socket-to-socket interconnect planning value, AMD Zen1/2 (host platform assumed: 2-socket AMD EPYC Zen2). 0 = single socket',
    source: SRC.ncclTopo,
    note: 'NCCL values: AMD Zen1/2 16, Zen3/4 24, Zen5 32; Intel Skylake UPI 10, Sapphire Rapids 22, Emerald Rapids 40 GB/s.',
  },
  rdmaNicBandwidth: {
    group: 'links',
    unit: 'GB/s',
    value: 23,
    kind: 'measured',
    conditions:
      'RDMA NIC write bandwidth host memory to host memory (ib_write_bw, 32 MiB messages, A30 system)',
    source: SRC.rdma,
    note: 'Reported as 23,000 MB/s by perftest.',
  },
  rdmaNicGpuCrossSocketBandwidth: {
    group: 'links',
    unit: 'GB/s',
    value: 11,
    kind: 'measured',
    conditions:
      'GPUDirect RDMA GPU memory to GPU memory when GPU and NIC sit on different sockets (NCCL "SYS" locality, suspected)',
    source: SRC.rdma,
    note: 'Reported as 11,000 MB/s. GPUDirect RDMA requires both devices under the same root complex for the fast path (NVIDIA guide).',
  },
  cpuBarWriteBandwidth: {
    group: 'links',
    unit: 'GB/s',
    value: 9.5,
    kind: 'measured',
    conditions: 'CPU stores into GPU BAR1 (GDRCopy, write-combining)',
    source: SRC.gdrcopy,
    note: '4 KiB write 0.43 us.',
  },
  cpuBarReadBandwidth: {
    group: 'links',
    unit: 'GB/s',
    value: 0.8,
    kind: 'measured',
    conditions:
      'CPU loads from GPU BAR1 (GDRCopy; no prefetchable bursts): the best of a 1.5 MB/s-0.8 GB/s range',
    source: SRC.gdrcopy,
    note: '4 KiB read 10.5 us.',
  },
  bar1ApertureBytes: {
    group: 'links',
    unit: 'B',
    value: 64 * GiB,
    kind: 'assumed',
    conditions:
      'GPU BAR1 aperture: the window through which a P2P alias of VRAM is reachable (nouveau exposes only BAR1; outside it the callback returns -ENOMEM)',
    source: `assumption: the A100's BAR1 is not in the notes; large-BAR data-centre GPUs expose at least their VRAM (H800: 128 GiB for ~80 GiB, ${SRC.bar1Large}); 64 GiB is the next power of two above 40 GiB`,
  },

  // --- Memories ---
  hostMemoryBandwidth: {
    group: 'memory',
    unit: 'GB/s',
    value: 8 * 3.2 * 8,
    kind: 'assumed',
    conditions: 'Host DRAM bandwidth per socket (host platform assumed: AMD EPYC Zen2, 8 channels DDR4-3200)',
    source:
      'assumption: the notes give no host DRAM bandwidth; 8 channels x 3.2 GT/s x 8 B = 204.8 GB/s peak',
  },
  deviceMemoryBandwidth: {
    group: 'memory',
    unit: 'GB/s',
    value: 1555,
    kind: 'assumed',
    conditions:
      'GPU memory bandwidth (A100 40 GB HBM2); device-local copies read and write, so they see half',
    source: 'assumption: vendor datasheet value for A100 40 GB, not in the notes',
  },
  deviceMemoryBytes: {
    group: 'memory',
    unit: 'B',
    value: 40 * GiB,
    kind: 'derived',
    conditions: 'GPU memory capacity (A100-SXM4-40GB)',
    source: `derived: the "40GB" in the GPU name (${SRC.nvbwA100}) read as 40 GiB, as HBM capacities are binary`,
  },
} as const satisfies Record<string, ParameterSpec>;

/** The name of a cost parameter. */
export type CostParameterName = keyof typeof BASE;

/** All parameter names, in table order. */
export const COST_PARAMETER_NAMES: readonly CostParameterName[] = Object.freeze(
  Object.keys(BASE) as CostParameterName[],
);

const PARAMETER_NAME_SET: ReadonlySet<string> = new Set(COST_PARAMETER_NAMES);

/** Whether `name` is a cost parameter. */
export function isCostParameterName(name: string): name is CostParameterName {
  return PARAMETER_NAME_SET.has(name);
}

// ---------------------------------------------------------------------------------------------
// Profiles
