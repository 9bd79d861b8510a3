/**
 * The cost profile: every number the simulator charges time with, as data with its origin.
 *
 * Each parameter is `{ name, value, unit, kind, conditions, source, note? }`. `kind` says where
 * the number comes from:
 * - `measured`: a measurement on real hardware that someone published (a benchmark in an issue
 *   thread, a patch cover letter);
 * - `published`: a specification, a simulator default or a model constant as published;
 * - `derived`: arithmetic on published numbers; `source` starts with "derived:" and shows the
 *   arithmetic and any stated assumption (a clock frequency, say);
 * - `assumed`: no published number was found; `source` starts with "assumption:" and gives the
 *   reasoning. These are the first numbers to replace with a measurement.
 *
 * Units: time in ns, bandwidth in GB/s (1e9 bytes/s, which is numerically bytes per ns), sizes
 * in bytes, unless a parameter's unit says otherwise (the UVMSmart curve keeps its GiB/s).
 *
 * A profile is the base table with per-profile overrides, each override with its own source.
 * The base table is the reference platform, `pcie4-a100`; the other profiles override what
 * differs. `withOverrides` applies a scenario's own values on top (marked `assumed`).
 *
 * `transferTimeNs` / `transferBandwidth` model one DMA transfer: the UVMSmart curve for the
 * `uvmsmart-gtx1080ti` profile and fixed setup latency + bytes / bandwidth for the others.
 *
 * `renderCostsMarkdown()` renders all of it as `docs/costs.md`; `scripts/gen-costs-doc.mjs`
 * writes that file and a test fails while it is stale.
 *
 * The module is pure data and arithmetic: no I/O, no clock, no randomness.
 */

// ---------------------------------------------------------------------------------------------
// Types

/** Where a number comes from (see the module comment). */
export type CostKind = 'measured' | 'published' | 'derived' | 'assumed';

/** The kinds, in the order the docs list them. */
export const COST_KINDS: readonly CostKind[] = Object.freeze(['measured', 'published', 'derived', 'assumed']);

/**
 * Units used by parameters. 'GB/s' is 1e9 bytes/s, i.e. bytes per ns. Parameters in 'count' and
 * 'B' must be integers.
 */
export type CostUnit =
  | 'ns'
  | 'ns/page'
  | 'ns/PTE'
  | 'ns/CPU'
  | 'GB/s'
  | 'GiB/s'
  | '1/KiB'
  | 'B'
  | 'count'
  | 'factor'
  | '%';

/** Units whose values must be whole numbers. */
const INTEGER_UNITS: ReadonlySet<CostUnit> = new Set<CostUnit>(['count', 'B']);

/** Parameter groups, in the order the docs list them. */
export type CostGroup =
  | 'cpu-mm'
  | 'p2p-decision'
  | 'dma-iommu'
  | 'migration'
  | 'gpu-fault'
  | 'uvm-policy'
  | 'transfer'
  | 'links'
  | 'memory';

/** Human titles of the groups. */
export const COST_GROUP_TITLES: Readonly<Record<CostGroup, string>> = Object.freeze({
  'cpu-mm': 'CPU page tables, faults, hmm_range_fault, notifiers, TLB shootdown',
  'p2p-decision': 'Per-page driver callback and p2pdma decision (the get_dma_pfn_for_device debate)',
  'dma-iommu': 'DMA mapping and IOMMU',
  migration: 'Page migration (migrate_vma) and struct page',
  'gpu-fault': 'GPU far faults and fault batching',
  'uvm-policy': 'nvidia-uvm placement policy defaults',
  transfer: 'Host-device transfers and copy engines',
  links: 'Links and P2P paths',
  memory: 'Memories',
});

/** One parameter of a profile. */
export interface CostParameter {
  /** Stable camelCase name; also the key in `CostProfile.values`. */
  readonly name: CostParameterName;
  readonly group: CostGroup;
  readonly value: number;
  readonly unit: CostUnit;
  readonly kind: CostKind;
  /** What the number applies to: hardware, configuration, how it is charged. */
  readonly conditions: string;
  /** A URL or citation; "derived: ..." or "assumption: ..." for those kinds. */
  readonly source: string;
  readonly note?: string;
}

/** How a profile turns bytes into time for host<->device transfers. */
export type TransferModel = 'latency-bandwidth' | 'uvmsmart-curve';

/** A complete, frozen set of parameter values. */
export interface CostProfile {
  readonly name: string;
  readonly description: string;
  readonly transferModel: TransferModel;
  /** Every parameter with its provenance. */
  readonly parameters: Readonly<Record<CostParameterName, CostParameter>>;
  /** Every parameter's value, for hot paths. */
  readonly values: Readonly<Record<CostParameterName, number>>;
  /** Scenario overrides applied by `withOverrides` (empty for the built-in profiles). */
  readonly overrides: Readonly<Record<string, number>>;
}

interface ParameterSpec {
  readonly group: CostGroup;
  readonly unit: CostUnit;
  readonly value: number;
  readonly kind: CostKind;
  readonly conditions: string;
  readonly source: string;
  readonly note?: string;
}

interface OverrideSpec {
  readonly value: number;
  readonly kind: CostKind;
  readonly conditions: string;
  readonly source: string;
  readonly note?: string;
}

// ---------------------------------------------------------------------------------------------
// Constants used by derivations

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Bytes per ns in one GiB/s (UVMSmart's curve is in GiB/s: it divides by 1024^3). */
export const BYTES_PER_NS_PER_GIB_S = GiB / 1e9;

/** Assumed CPU clock used to turn published cycle counts into ns (x86 server, ~3 GHz). */
const ASSUMED_CPU_GHZ = 3;
/** MacSim parameters are in cycles of an unstated clock; 1 GHz keeps them readable (assumption). */
const MACSIM_ASSUMED_GHZ = 1;
/** UVMSmart GTX 1080 Ti core clock: `-gpgpu_clock_domains 1481.0:...` (MHz). */
const UVMSMART_CORE_GHZ = 1.481;

const UVMSMART_CURVE_A_GIB_S = 12;
const UVMSMART_CURVE_B_PER_KIB = 0.07292;
const UVMSMART_HALVING_BYTES = 2 * MiB;
const UVMSMART_LARGE_FACTOR = 0.5;

/** UVMSmart `calculate_transfer_time`: bandwidth in GiB/s for one transfer of `bytes`. */
function uvmSmartCurveGiBps(a: number, b: number, threshold: number, factor: number, bytes: number): number {
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
const PCIE_P2P_EFFICIENCY = 26.3 / 31.5;
/** NVLink4 measured/spec efficiency on HGX H100 (376 of 450 GB/s), used to scale. */
const NVLINK_EFFICIENCY = 376 / 450;

// ---------------------------------------------------------------------------------------------
// Sources (all taken from the project's domain notes: anchors.md and thread.md)

const SRC = {
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

const BASE = {
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

interface ProfileSpec {
  readonly name: string;
  readonly description: string;
  readonly transferModel: TransferModel;
  readonly overrides: Partial<Record<CostParameterName, OverrideSpec>>;
}

const H100_PEER_PCIE = 63.0 * PCIE_P2P_EFFICIENCY;

const PROFILE_SPECS: readonly ProfileSpec[] = [
  {
    name: 'pcie4-a100',
    description:
      'NVIDIA A100-SXM4-40GB on PCIe Gen4 x16, NVLink3 peers, 2-socket AMD EPYC (Zen2) host. The reference platform: the base table.',
    transferModel: 'latency-bandwidth',
    overrides: {},
  },
  {
    name: 'pcie5-h100',
    description: 'NVIDIA H100 80 GB on PCIe Gen5 x16, NVLink4 peers, Intel Sapphire Rapids host.',
    transferModel: 'latency-bandwidth',
    overrides: {
      hostToDeviceBandwidth: {
        value: 35.2,
        kind: 'measured',
        conditions:
          'Effective host-to-device bandwidth of a large copy, PCIe Gen5 x16, H100 (nvbandwidth SM copy)',
        source: SRC.nvbwH100,
        note: 'Slower than D2H on this platform. The figure is an SM (kernel) copy; migration uses copy engines.',
      },
      deviceToHostBandwidth: {
        value: 52.8,
        kind: 'measured',
        conditions:
          'Effective device-to-host bandwidth of a large copy, PCIe Gen5 x16, H100 (nvbandwidth SM copy)',
        source: SRC.nvbwH100,
      },
      pcieLinkRawBandwidth: {
        value: 63.0,
        kind: 'published',
        conditions: "Raw per-direction bandwidth of this platform's GPU/NIC PCIe links: Gen5 x16",
        source: SRC.pcieRaw,
      },
      peerLinkBandwidth: {
        value: 376,
        kind: 'measured',
        conditions: 'NVLink4 GPU-to-GPU P2P writes, unidirectional, HGX H100 8-GPU (spec 450 GB/s)',
        source: SRC.nvlink4,
        note: 'The same thread: with P2P disabled (through the host) ~37 GB/s. A 4x H100 pair measured 260.9 GB/s bidirectional against a 300 GB/s spec (https://github.com/NVIDIA/cuda-samples/issues/392).',
      },
      peerPcieBandwidth: {
        value: H100_PEER_PCIE,
        kind: 'derived',
        conditions: 'GPU-to-GPU copy over PCIe Gen5 x16 without NVLink, per direction',
        source: `derived: 63.0 GB/s Gen5 raw x 26.3/31.5, the efficiency measured for Gen4 GPU-to-GPU copies (${SRC.nvbwA6000}); no Gen5 number in the notes`,
      },
      hostBridgeP2pBandwidth: {
        value: H100_PEER_PCIE / (6 / 5),
        kind: 'derived',
        conditions:
          'P2P through an Intel root complex, per direction, where the kernel allows it (p2pdma allowlists only some Intel host bridges)',
        source: `derived: peerPcieBandwidth / 1.2, the Intel root-complex penalty NCCL applies (${SRC.ncclTopo}); allowlist: ${SRC.kernelP2pdma}`,
      },
      cpuSocketInterconnectBandwidth: {
        value: 22,
        kind: 'published',
        conditions:
          'CPU socket interconnect planning value, Intel Sapphire Rapids UPI (host platform assumed)',
        source: SRC.ncclTopo,
      },
      bar1ApertureBytes: {
        value: 128 * GiB,
        kind: 'published',
        conditions: 'BAR1 of an H800 (Hopper, 81,559 MiB VRAM, PCIe Gen5 x16) as nvidia-smi reports it',
        source: SRC.bar1Large,
      },
      hostMemoryBandwidth: {
        value: 8 * 4.8 * 8,
        kind: 'assumed',
        conditions: 'Host DRAM bandwidth per socket (Sapphire Rapids, 8 channels DDR5-4800)',
        source:
          'assumption: the notes give no host DRAM bandwidth; 8 channels x 4.8 GT/s x 8 B = 307.2 GB/s peak',
      },
      deviceMemoryBandwidth: {
        value: 3350,
        kind: 'published',
        conditions: 'H100 SXM5 HBM3 bandwidth (3.35 TB/s)',
        source: SRC.h100Spec,
        note: 'Secondary source. A PCIe-card H100 has less; the nvbandwidth thread does not say which form factor.',
      },
      deviceMemoryBytes: {
        value: 81_559 * MiB,
        kind: 'published',
        conditions:
          'Usable VRAM of an 80 GB Hopper GPU as nvidia-smi reports it (81,559 MiB, seen on an H800)',
        source: SRC.bar1Large,
      },
    },
  },
  {
    name: 'gh200-c2c',
    description:
      'NVIDIA GH200 Grace Hopper: the Hopper GPU (96 GB HBM3) reaches the Grace CPU (480 GB LPDDR5X) over NVLink-C2C instead of PCIe.',
    transferModel: 'latency-bandwidth',
    overrides: {
      hostToDeviceBandwidth: {
        value: 346,
        kind: 'measured',
        conditions:
          'Host-to-device over NVLink-C2C, GH200, nvbandwidth v5 copy-engine copy (SM copy: 342 GB/s)',
        source: SRC.nvbwGh200,
        note: 'Spec: 450 GB/s per direction (nvlinkC2cBandwidth).',
      },
      deviceToHostBandwidth: {
        value: 346 / 1.15,
        kind: 'derived',
        conditions: 'Device-to-host over NVLink-C2C, GH200',
        source: `derived: 346 GB/s / 1.15, since the thread reports H2D about 15 % faster than D2H (${SRC.nvbwGh200})`,
      },
      pcieLinkRawBandwidth: {
        value: 63.0,
        kind: 'assumed',
        conditions: 'PCIe links for NICs and other devices on a GH200 node: Gen5 x16',
        source: `assumption: the notes do not give GH200's PCIe generation; Gen5 x16 raw (${SRC.pcieRaw})`,
      },
      peerLinkBandwidth: {
        value: 376,
        kind: 'derived',
        conditions: 'NVLink4 between two Hopper GPUs (e.g. two GH200 superchips), per direction',
        source: `derived: the Hopper GPU has the same NVLink4 as HGX H100, measured at ~376 GB/s unidirectional (${SRC.nvlink4})`,
      },
      peerPcieBandwidth: {
        value: H100_PEER_PCIE,
        kind: 'derived',
        conditions: 'GPU-to-GPU copy over PCIe Gen5 x16, per direction',
        source: `derived: 63.0 GB/s x 26.3/31.5, the Gen4 GPU-to-GPU copy efficiency (${SRC.nvbwA6000})`,
      },
      hostBridgeP2pBandwidth: {
        value: 0,
        kind: 'derived',
        conditions: 'P2P through the Grace (ARM) root complex: not supported (0)',
        source: `derived: NCCL caps P2P at PXB on ARM (${SRC.ncclTopo}) and the Linux p2pdma host-bridge allowlist has no ARM entries (${SRC.kernelP2pdma})`,
      },
      cpuSocketInterconnectBandwidth: {
        value: 0,
        kind: 'derived',
        conditions:
          'One Grace CPU per superchip: no socket interconnect (0). Set a value to model a 2-superchip node',
        source: `derived: GH200 has one Grace CPU with 480 GB LPDDR5X (${SRC.c2cSpec})`,
      },
      bar1ApertureBytes: {
        value: 128 * GiB,
        kind: 'assumed',
        conditions: 'GPU BAR1 aperture of the GH200 Hopper GPU',
        source: `assumption: not in the notes; the same as an H800's 128 GiB (${SRC.bar1Large})`,
      },
      hostMemoryBandwidth: {
        value: 500,
        kind: 'assumed',
        conditions: 'Grace LPDDR5X bandwidth',
        source:
          'assumption: the notes give the capacity (480 GB) but not the bandwidth; ~500 GB/s is the order NVIDIA quotes for Grace, to be verified',
      },
      deviceMemoryBandwidth: {
        value: 4000,
        kind: 'assumed',
        conditions: 'GH200 96 GB HBM3 bandwidth',
        source: 'assumption: vendor spec (~4 TB/s) not in the notes',
      },
      deviceMemoryBytes: {
        value: 96 * GiB,
        kind: 'derived',
        conditions: 'GH200 HBM3 capacity (96 GB)',
        source: `derived: 96 GB HBM3 (${SRC.c2cSpec}) read as 96 GiB`,
      },
    },
  },
  {
    name: 'uvmsmart-gtx1080ti',
    description:
      "GPGPU-Sim UVMSmart's UVM-tuned config: GTX 1080 Ti (1481 MHz core, 1 GB simulated GDDR) on PCIe 3.0 x16. Reproduces its far-fault latency and PCIe transfer curve; it models no CPU page tables.",
    transferModel: 'uvmsmart-curve',
    overrides: {
      gpuFaultBatchFixedNs: {
        value: 0,
        kind: 'derived',
        conditions: 'UVMSmart has no per-batch overhead: it charges each faulted entry instead',
        source: `derived: UVMSmart charges page_fault_latency per page of a fault entry in the PCIe read queue (${SRC.uvmSmartGpuSim})`,
      },
      gpuFaultPerPageNs: {
        value: 66_645 / UVMSMART_CORE_GHZ,
        kind: 'derived',
        conditions:
          'Far-fault handling latency per faulted page, charged before the data transfer (-page_fault_latency default 66,645 core cycles)',
        source: `derived: 66,645 cycles (${SRC.uvmSmartGpuSim}) at the config's 1481 MHz core clock (${SRC.uvmSmartConfig}) = 45 us`,
      },
      gpuEvictionPerPageNs: {
        value: 0,
        kind: 'derived',
        conditions: 'UVMSmart charges an eviction only as its PCIe write-back transfer',
        source: `derived: evicted blocks go to the PCIe write stage queue with no fixed latency (${SRC.uvmSmartGpuSim})`,
      },
      gpuPageTableWalkNs: {
        value: 100 / UVMSMART_CORE_GHZ,
        kind: 'derived',
        conditions:
          'GPU page-table walk for 4 KB pages (-page_table_walk_latency 100 core cycles; 66 for 2 MB pages)',
        source: `derived: 100 cycles at 1481 MHz (${SRC.uvmSmartConfig})`,
      },
      hostToDeviceBandwidth: {
        value: UVMSMART_CURVE_A_GIB_S * BYTES_PER_NS_PER_GIB_S,
        kind: 'derived',
        conditions:
          'Asymptote of the UVMSmart curve (12 GiB/s). Transfer times use the curve, not this value; it is here for code that reads a peak',
        source: `derived: a = 12 GiB/s in GB/s (${SRC.uvmSmartGpuSim})`,
      },
      deviceToHostBandwidth: {
        value: UVMSMART_CURVE_A_GIB_S * BYTES_PER_NS_PER_GIB_S,
        kind: 'derived',
        conditions: 'Asymptote of the UVMSmart curve, which UVMSmart uses for both directions',
        source: `derived: a = 12 GiB/s in GB/s (${SRC.uvmSmartGpuSim})`,
      },
      copyEngineCount: {
        value: 2,
        kind: 'derived',
        conditions: 'One PCIe read (H2D) and one write (D2H) staging queue, transfers serialized in each',
        source: `derived: "PCIe read and write stage queues and transactions (serialized transfers ...)" (${SRC.uvmSmartReadme})`,
      },
      pcieLinkRawBandwidth: {
        value: 15.7,
        kind: 'published',
        conditions: 'PCIe 3.0 x16 raw per direction (-num_of_lanes 16, -pcie_transfer_rate 8.0GT/s)',
        source: `${SRC.pcieRaw} ; ${SRC.uvmSmartConfig}`,
      },
      peerLinkBandwidth: {
        value: 0,
        kind: 'derived',
        conditions: 'No private GPU link: UVMSmart simulates one GPU',
        source: `derived: "we do not support heterogeneous systems for CPU-GPU or multi-GPU collaborative workloads" (${SRC.uvmSmartReadme})`,
      },
      peerPcieBandwidth: {
        value: 15.7 * PCIE_P2P_EFFICIENCY,
        kind: 'derived',
        conditions: 'GPU-to-GPU copy over PCIe 3.0 x16, per direction',
        source: `derived: 15.7 GB/s Gen3 raw x 26.3/31.5, the Gen4 GPU-to-GPU copy efficiency (${SRC.nvbwA6000})`,
      },
      hostBridgeP2pBandwidth: {
        value: 8.17,
        kind: 'measured',
        conditions:
          'P2P on an older PCIe 3.0 platform, Intel Haswell, unidirectional (14.97 GB/s bidirectional)',
        source: SRC.oldP2p,
        note: 'Same thread: MI25 on EPYC 7261 7.06 GB/s unidirectional, 11.9 GB/s bidirectional.',
      },
      bar1ApertureBytes: {
        value: 128 * MiB,
        kind: 'assumed',
        conditions: 'Small-BAR consumer GPU aperture',
        source: `assumption: the GTX 1080 Ti's BAR1 is not in the notes; 128 MiB is a published small-BAR GeForce example (GTX TITAN Z, 6 GiB VRAM, ${SRC.bar1Small})`,
      },
      hostMemoryBandwidth: {
        value: 2 * 2.4 * 8,
        kind: 'assumed',
        conditions: 'Host DRAM bandwidth of a desktop host (2 channels DDR4-2400)',
        source:
          'assumption: UVMSmart models no host memory; 2 channels x 2.4 GT/s x 8 B = 38.4 GB/s, a typical host for a GTX 1080 Ti',
      },
      deviceMemoryBandwidth: {
        value: 484,
        kind: 'assumed',
        conditions: 'GTX 1080 Ti GDDR5X bandwidth',
        source:
          'assumption: vendor spec (484 GB/s) not in the notes; UVMSmart itself models GDDR timing, not a bandwidth',
      },
      deviceMemoryBytes: {
        value: 1 * GiB,
        kind: 'published',
        conditions: 'Simulated device memory (-gddr_size 1GB); the real card has 11 GB',
        source: SRC.uvmSmartConfig,
      },
    },
  },
];

/** The name of a built-in profile. */
export type CostProfileName = 'pcie4-a100' | 'pcie5-h100' | 'gh200-c2c' | 'uvmsmart-gtx1080ti';

/** The profile used when a scenario names none. */
export const DEFAULT_PROFILE_NAME: CostProfileName = 'pcie4-a100';

function deepFreezeProfile(p: CostProfile): CostProfile {
  for (const param of Object.values(p.parameters)) Object.freeze(param);
  Object.freeze(p.parameters);
  Object.freeze(p.values);
  Object.freeze(p.overrides);
  return Object.freeze(p);
}

function buildProfile(spec: ProfileSpec): CostProfile {
  const parameters = {} as Record<CostParameterName, CostParameter>;
  const values = {} as Record<CostParameterName, number>;
  for (const name of COST_PARAMETER_NAMES) {
    const base: ParameterSpec = BASE[name];
    const o = spec.overrides[name];
    const param: CostParameter = o
      ? {
          name,
          group: base.group,
          unit: base.unit,
          value: o.value,
          kind: o.kind,
          conditions: o.conditions,
          source: o.source,
          ...(o.note === undefined ? {} : { note: o.note }),
        }
      : {
          name,
          group: base.group,
          unit: base.unit,
          value: base.value,
          kind: base.kind,
          conditions: base.conditions,
          source: base.source,
          ...(base.note === undefined ? {} : { note: base.note }),
        };
    parameters[name] = param;
    values[name] = param.value;
  }
  return deepFreezeProfile({
    name: spec.name,
    description: spec.description,
    transferModel: spec.transferModel,
    parameters,
    values,
    overrides: {},
  });
}

/** The built-in profiles by name, frozen. */
export const PROFILES: Readonly<Record<CostProfileName, CostProfile>> = Object.freeze(
  Object.fromEntries(PROFILE_SPECS.map((s) => [s.name, buildProfile(s)])) as Record<
    CostProfileName,
    CostProfile
  >,
);

const PROFILE_NAMES: readonly CostProfileName[] = Object.freeze(
  PROFILE_SPECS.map((s) => s.name as CostProfileName),
);

/** The names of the built-in profiles, in doc order. Never throws. */
export function profileNames(): readonly CostProfileName[] {
  return PROFILE_NAMES;
}

/** Whether `name` names a built-in profile. Never throws. */
export function isProfileName(name: string): name is CostProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(name);
}

/**
 * The built-in profile called `name`. Throws an Error naming the valid profiles (and the closest
 * one) when there is none: config validation should check `isProfileName` / `profileNames()`
 * first and report the problem as data.
 */
export function getProfile(name: string): CostProfile {
  if (isProfileName(name)) return PROFILES[name];
  const guess = didYouMean(name, PROFILE_NAMES);
  throw new Error(
    `unknown cost profile "${name}"${guess ? ` (did you mean "${guess}"?)` : ''}; valid profiles: ${PROFILE_NAMES.join(', ')}`,
  );
}

/** The result of `withOverrides`: a new profile, or an error message listing every problem. */
export type WithOverridesResult =
  | { readonly profile: CostProfile; readonly error?: undefined }
  | { readonly error: string; readonly profile?: undefined };

/**
 * `profile` with some parameter values replaced. Each overridden parameter is marked `assumed`
 * with the scenario as its source and the replaced value in its note. Returns `{ error }` (and
 * changes nothing) when a name is not a parameter (with a "did you mean" suggestion), a value is
 * not a finite non-negative number, or a 'count' / 'B' parameter gets a fraction. Never throws.
 */
export function withOverrides(
  profile: CostProfile,
  overrides: Readonly<Record<string, number>>,
): WithOverridesResult {
  const problems: string[] = [];
  const accepted: [CostParameterName, number][] = [];
  for (const [key, raw] of Object.entries(overrides)) {
    if (!isCostParameterName(key)) {
      const guess = didYouMean(key, COST_PARAMETER_NAMES);
      problems.push(`unknown cost parameter "${key}"${guess ? `; did you mean "${guess}"?` : ''}`);
      continue;
    }
    const value: unknown = raw;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      problems.push(
        `cost parameter "${key}" must be a finite, non-negative number (got ${describeValue(value)})`,
      );
      continue;
    }
    const unit = profile.parameters[key].unit;
    if (INTEGER_UNITS.has(unit) && !Number.isInteger(value)) {
      problems.push(`cost parameter "${key}" is in ${unit} and must be a whole number (got ${value})`);
      continue;
    }
    accepted.push([key, value + 0]); // + 0 turns -0 into 0
  }
  if (problems.length > 0) return { error: problems.join('; ') };

  const parameters = { ...profile.parameters } as Record<CostParameterName, CostParameter>;
  const values = { ...profile.values } as Record<CostParameterName, number>;
  const applied: Record<string, number> = { ...profile.overrides };
  for (const [name, value] of accepted) {
    const old = profile.parameters[name];
    parameters[name] = {
      name,
      group: old.group,
      unit: old.unit,
      value,
      kind: 'assumed',
      conditions: old.conditions,
      source: 'assumption: set by the scenario (override)',
      note: `replaces ${formatNumber(old.value)} ${old.unit} (${old.kind}: ${old.source})`,
    };
    values[name] = value;
    applied[name] = value;
  }
  return {
    profile: deepFreezeProfile({
      name: profile.name,
      description: profile.description,
      transferModel: profile.transferModel,
      parameters,
      values,
      overrides: applied,
    }),
  };
}

function describeValue(v: unknown): string {
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  return v === null ? 'null' : typeof v;
}

// ---------------------------------------------------------------------------------------------
// "Did you mean": edit distance

/** Levenshtein distance between `a` and `b` (insertions, deletions, substitutions). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let prev = new Array<number>(b.length + 1);
  let cur = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j++) {
      const cost = ca === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/**
 * The candidate closest to `input` (case-insensitive edit distance), or undefined when none is
 * within max(2, a third of the input's length). Ties go to the earlier candidate.
 */
export function didYouMean(input: string, candidates: readonly string[]): string | undefined {
  const needle = input.toLowerCase();
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = editDistance(needle, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const limit = Math.max(2, Math.floor(input.length / 3));
  return bestDistance <= limit ? best : undefined;
}

// ---------------------------------------------------------------------------------------------
// Transfer-time model

/**
 * What a transfer crosses:
 * - `hostToDevice`, `deviceToHost`: the GPU's host link (PCIe or NVLink-C2C);
 * - `peerLink`: a private GPU-GPU link (`peerLinkBandwidth`);
 * - `peerPcie`: GPU-GPU over PCIe below a common switch (`peerPcieBandwidth`);
 * - `hostBridgeP2p`: P2P through the CPU root complex (`hostBridgeP2pBandwidth`);
 * - `deviceLocal`: a copy inside one GPU's memory (reads and writes: half of `deviceMemoryBandwidth`).
 */
export type TransferDirection =
  | 'hostToDevice'
  | 'deviceToHost'
  | 'peerLink'
  | 'peerPcie'
  | 'hostBridgeP2p'
  | 'deviceLocal';

/** The directions, in doc order. */
export const TRANSFER_DIRECTIONS: readonly TransferDirection[] = Object.freeze([
  'hostToDevice',
  'deviceToHost',
  'peerLink',
  'peerPcie',
  'hostBridgeP2p',
  'deviceLocal',
]);

const DIRECTION_PARAMETER: Readonly<Record<TransferDirection, CostParameterName>> = {
  hostToDevice: 'hostToDeviceBandwidth',
  deviceToHost: 'deviceToHostBandwidth',
  peerLink: 'peerLinkBandwidth',
  peerPcie: 'peerPcieBandwidth',
  hostBridgeP2p: 'hostBridgeP2pBandwidth',
  deviceLocal: 'deviceMemoryBandwidth',
};

function usesCurve(profile: CostProfile, direction: TransferDirection): boolean {
  return (
    profile.transferModel === 'uvmsmart-curve' &&
    (direction === 'hostToDevice' || direction === 'deviceToHost')
  );
}

/** Peak bandwidth in bytes/ns for the latency-bandwidth model; throws when the path is absent. */
function peakBandwidth(profile: CostProfile, direction: TransferDirection): number {
  const param = DIRECTION_PARAMETER[direction];
  if (param === undefined) throw new Error(`unknown transfer direction "${String(direction)}"`);
  const raw = profile.values[param];
  const bw = direction === 'deviceLocal' ? raw / 2 : raw;
  if (!(bw > 0)) {
    throw new Error(
      `cost profile "${profile.name}" has no ${direction} path (${param} = 0); check the topology before routing a transfer there`,
    );
  }
  return bw;
}

function checkBytes(bytes: number): void {
  if (!Number.isFinite(bytes) || bytes < 0) {
    throw new RangeError(`transfer size must be a finite, non-negative number of bytes (got ${bytes})`);
  }
}

/**
 * Effective bandwidth, in bytes per ns (numerically GB/s), of one transfer of `bytes` in
 * `direction`: `bytes / transferTimeNs(...)`, or 0 for an empty transfer. For profiles with the
 * `uvmsmart-curve` model, host<->device transfers follow UVMSmart's curve fit
 * BW(s) = (2a/pi) atan(b s_KiB) GiB/s, halved for transfers of 2 MiB or more
 * (`gmmu_t::calculate_transfer_time`); all other transfers are
 * `dmaSetupLatencyNs + bytes / peak`. Throws (a model bug) for a negative or non-finite size or
 * a path whose bandwidth parameter is 0.
 */
export function transferBandwidth(profile: CostProfile, bytes: number, direction: TransferDirection): number {
  checkBytes(bytes);
  if (usesCurve(profile, direction)) {
    const v = profile.values;
    return (
      uvmSmartCurveGiBps(
        v.uvmSmartCurveA,
        v.uvmSmartCurveB,
        v.uvmSmartHalvingThresholdBytes,
        v.uvmSmartLargeTransferFactor,
        bytes,
      ) * BYTES_PER_NS_PER_GIB_S
    );
  }
  const peak = peakBandwidth(profile, direction);
  if (bytes === 0) return 0;
  return bytes / (profile.values.dmaSetupLatencyNs + bytes / peak);
}

/**
 * Time in ns for one transfer of `bytes` in `direction` (see `transferBandwidth` for the model).
 * An empty transfer takes 0 ns. Throws (a model bug) for a negative or non-finite size or a path
 * whose bandwidth parameter is 0.
 */
export function transferTimeNs(profile: CostProfile, bytes: number, direction: TransferDirection): number {
  checkBytes(bytes);
  if (usesCurve(profile, direction)) {
    if (bytes === 0) return 0;
    return bytes / transferBandwidth(profile, bytes, direction);
  }
  const peak = peakBandwidth(profile, direction);
  if (bytes === 0) return 0;
  return profile.values.dmaSetupLatencyNs + bytes / peak;
}

// ---------------------------------------------------------------------------------------------
// Validation points (published numbers the model must reproduce; the tests check them)

/** A published figure the transfer model reproduces. */
export interface TransferValidationPoint {
  readonly profile: CostProfileName;
  readonly direction: TransferDirection;
  readonly bytes: number;
  /** Published bandwidth, in `unit`. */
  readonly publishedBandwidth: number;
  readonly unit: 'GB/s' | 'GiB/s';
  /** Published time for the transfer in ns, where the source gives one. */
  readonly publishedTimeNs?: number;
  readonly source: string;
}

/** The published transfer figures, checked to within 5 % by the tests and listed in the docs. */
export const TRANSFER_VALIDATION_POINTS: readonly TransferValidationPoint[] = Object.freeze([
  {
    profile: 'uvmsmart-gtx1080ti',
    direction: 'hostToDevice',
    bytes: 4 * KiB,
    publishedBandwidth: 2.17,
    unit: 'GiB/s',
    publishedTimeNs: 1800,
    source: SRC.uvmSmartGpuSim,
  },
  {
    profile: 'uvmsmart-gtx1080ti',
    direction: 'hostToDevice',
    bytes: 64 * KiB,
    publishedBandwidth: 10.4,
    unit: 'GiB/s',
    publishedTimeNs: 5900,
    source: SRC.uvmSmartGpuSim,
  },
  {
    profile: 'uvmsmart-gtx1080ti',
    direction: 'hostToDevice',
    bytes: 1 * MiB,
    publishedBandwidth: 11.9,
    unit: 'GiB/s',
    publishedTimeNs: 82_000,
    source: SRC.uvmSmartGpuSim,
  },
  {
    profile: 'uvmsmart-gtx1080ti',
    direction: 'hostToDevice',
    bytes: 2 * MiB,
    publishedBandwidth: 5.97,
    unit: 'GiB/s',
    publishedTimeNs: 327_000,
    source: SRC.uvmSmartGpuSim,
  },
  {
    profile: 'pcie5-h100',
    direction: 'hostToDevice',
    bytes: 1 * GiB,
    publishedBandwidth: 35.2,
    unit: 'GB/s',
    source: SRC.nvbwH100,
  },
  {
    profile: 'pcie5-h100',
    direction: 'deviceToHost',
    bytes: 1 * GiB,
    publishedBandwidth: 52.8,
    unit: 'GB/s',
    source: SRC.nvbwH100,
  },
  {
    profile: 'pcie4-a100',
    direction: 'hostToDevice',
    bytes: 1 * GiB,
    publishedBandwidth: 25.13,
    unit: 'GB/s',
    source: SRC.nvbwA100,
  },
  {
    profile: 'gh200-c2c',
    direction: 'hostToDevice',
    bytes: 1 * GiB,
    publishedBandwidth: 346,
    unit: 'GB/s',
    source: SRC.nvbwGh200,
  },
  {
    profile: 'pcie4-a100',
    direction: 'peerPcie',
    bytes: 1 * GiB,
    publishedBandwidth: 26.3,
    unit: 'GB/s',
    source: SRC.nvbwA6000,
  },
  {
    profile: 'pcie5-h100',
    direction: 'peerLink',
    bytes: 1 * GiB,
    publishedBandwidth: 376,
    unit: 'GB/s',
    source: SRC.nvlink4,
  },
] satisfies TransferValidationPoint[]);

/** The model's bandwidth for a validation point, in the point's unit. */
export function modelledValidationBandwidth(point: TransferValidationPoint): number {
  const bw = transferBandwidth(PROFILES[point.profile], point.bytes, point.direction);
  return point.unit === 'GiB/s' ? bw / BYTES_PER_NS_PER_GIB_S : bw;
}

// ---------------------------------------------------------------------------------------------
// Published numbers that are not parameters

/** A calibration number from the notes that no parameter carries, and why. */
export interface UnparameterisedAnchor {
  readonly quantity: string;
  readonly value: string;
  readonly conditions: string;
  readonly source: string;
  readonly why: string;
}

/** Calibration rows of anchors.md Part 2 (and thread.md claims) that are not parameters. */
export const UNPARAMETERISED_ANCHORS: readonly UnparameterisedAnchor[] = Object.freeze([
  {
    quantity: 'Pascal UM page fault cost',
    value: '> 10 us per fault-triggered copy',
    conditions: 'NVIDIA talk, GTC Japan 2016, reported by press',
    source: SRC.pascalFault,
    why: 'A lower bound only; a cross-check for gpuFaultBatchFixedNs + gpuFaultPerPageNs.',
  },
  {
    quantity: '"20-50 us per far fault"',
    value: 'not verified',
    conditions: 'commonly quoted; HPCA16 Zheng et al. and SC21 Allen & Ge bodies not read',
    source: 'GAP: https://tallendev.github.io/assets/papers/sc21.pdf',
    why: 'Unverified; the batch fixed/per-page split is the open question (anchors.md gap 1).',
  },
  {
    quantity: 'hmm_range_fault per present page',
    value: 'GAP',
    conditions: 'no public per-page number',
    source: 'anchors.md Part 2; measurable with lib/test_hmm.c SNAPSHOT',
    why: 'Modelled by the assumed hmmRangeFaultCallNs, hmmRangeFaultPerPteNs, pageWalk* parameters.',
  },
  {
    quantity: 'CPU fault on a device-private page (migrate_to_ram)',
    value: 'GAP',
    conditions: 'no public number',
    source: 'anchors.md Part 2',
    why: 'Composed: cpuFaultEntryNs + migrateVma* + device-to-host transfer + gpuTlbInvalidationNs.',
  },
  {
    quantity: 'mmu-notifier invalidation to device',
    value: 'GAP',
    conditions: 'Xe waits on per-tile GT TLB-invalidation fences inside the notifier',
    source: SRC.xeSvm,
    why: 'Composed: mmuNotifierInvalidateNs + gpuTlbInvalidationNs (both assumed).',
  },
  {
    quantity: 'PCIe switch-local P2P (PIX/PXB)',
    value: 'GAP',
    conditions: 'NCCL treats PIX/PXB as P2P-capable without the Intel root-complex overhead',
    source: SRC.ncclTopo,
    why: 'peerPcieBandwidth stands in (measured with an unstated topology, or scaled from it).',
  },
  {
    quantity: 'NCCL PCIe planning value',
    value: 'PCI_BW 12.0 GB/s ("PCI Gen3 x16")',
    conditions: 'NCCL topology model',
    source: SRC.ncclTopo,
    why: 'A planning constant; the effective Gen3 rate comes from the UVMSmart curve (asymptote 12 GiB/s).',
  },
  {
    quantity: 'H2D/D2H at very large sizes, PCIe Gen4',
    value: '18.05 GB/s at 10 GiB; 16.50 GB/s at 20 GiB',
    conditions: 'A100-SXM4-40GB, nvbandwidth',
    source: SRC.nvbwA100,
    why: 'The drop with size is not modelled; the model reproduces the 0.5-1 GiB figure.',
  },
  {
    quantity: 'NVLink pair, 4x H100',
    value: '260.9 GB/s bidirectional vs 300 GB/s spec',
    conditions: '4x H100-80GB',
    source: 'https://github.com/NVIDIA/cuda-samples/issues/392',
    why: 'The HGX H100 unidirectional figure (376 GB/s) is used for peerLinkBandwidth.',
  },
  {
    quantity: 'Kernel page migration, single pages',
    value: 'single 4 KiB 62.47 us (0.06 GB/s); single 2 MiB THP 658.54 us (2.97 GB/s)',
    conditions: 'move_pages() cross-socket, 2-socket Xeon E5-2640v3 (CPU to CPU)',
    source: SRC.ziYan,
    why: 'Syscall path with fixed costs a driver fault path does not pay; only the 512-page figure feeds migrateVmaPerPageNs.',
  },
  {
    quantity: 'P2P through an older root complex, AMD',
    value: 'MI25 on EPYC 7261: 7.06 GB/s unidirectional, 11.9 GB/s bidirectional',
    conditions: 'ROCm RVS / rocm_bandwidth_test',
    source: SRC.oldP2p,
    why: 'The Intel Haswell figure from the same thread is used for the Gen3 profile.',
  },
  {
    quantity: 'P2P slower than staging',
    value: 'P2P ~10 GB/s vs staged through host ~20-22 GB/s, unidirectional',
    conditions: '6x RTX 4090, AMD CPU, PCIe 4.0 x16',
    source: SRC.stagingFaster,
    why: 'A platform quirk; override hostBridgeP2pBandwidth to model it.',
  },
  {
    quantity: 'GPUDirect RDMA topology rule',
    value: '"the two devices must share the same upstream PCI Express root complex"',
    conditions: 'NVIDIA GPUDirect RDMA guide',
    source: 'https://Docs.nvidia.com/cuda/gpudirect-rdma/index.html',
    why: 'A routing rule, not a cost: it belongs to the topology model.',
  },
  {
    quantity: 'Consumer-GPU P2P prerequisite',
    value: 'large BAR and IOMMU off; P2P by writing peer BAR1 physical addresses',
    conditions: 'patched open modules for RTX 4090 / 5090',
    source:
      'https://github.com/tinygrad/open-gpu-kernel-modules , https://github.com/aikitoria/open-gpu-kernel-modules',
    why: 'A configuration rule, not a cost.',
  },
  {
    quantity: 'GDRCopy latencies',
    value: '4 KiB BAR write 0.43 us, 4 KiB BAR read 10.5 us; cudaMemcpy overhead 6-7 us; pinning 10 us-1 ms',
    conditions: 'P100 / K40m-K80, Ivy Bridge-era Xeon',
    source: SRC.gdrcopy,
    why: 'Kept as notes on cpuBarWriteBandwidth, cpuBarReadBandwidth and dmaSetupLatencyNs.',
  },
  {
    quantity: 'Other GPUs',
    value: 'H200 141 GB HBM3e at 4.8 TB/s (143,771 MiB visible); MI300X 192 GB at 5.3 TB/s',
    conditions: 'vendor specs',
    source:
      'https://ai-hpc.github.io/ai-hardware-engineer-roadmap/ , https://github.com/NVIDIA/cuda-samples/issues/311 , https://fridayswithfaraday.com/posts/gpu-hw-grace-hopper-unified-memory',
    why: 'No profile for them yet.',
  },
  {
    quantity: 'MacSim TLB and memory size',
    value: 'TLB_NUM_ENTRY 2048, MEMORY_SIZE 4 GiB',
    conditions: 'MacSim defaults',
    source: SRC.macsim,
    why: 'Simulator configuration, not costs.',
  },
  {
    quantity: 'RDMA P2P claim (the HMM P2P series)',
    value:
      '"over 10x higher bandwidth and 10x lower latency" than migrating to RAM; "same performance" as dma-buf MRs',
    conditions: 'perftest-rdma, GPU-heavy access; no raw numbers published',
    source:
      'https://lore.kernel.org/all/1a667504-72bd-445b-8bf8-a6604b7beb2b@nvidia.com/ , https://lore.kernel.org/all/9e2ee23c-d91b-45e4-a413-048f8d68970d@nvidia.com/',
    why: 'A claimed ratio, useful as an outcome to reproduce, not an input.',
  },
] satisfies UnparameterisedAnchor[]);

// ---------------------------------------------------------------------------------------------
// Number formatting and the Markdown renderer (deterministic: no locale)

function groupThousands(intPart: string): string {
  return intPart.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** `value` for humans: up to 5 significant digits, thousands separated by commas. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (value !== 0 && (Math.abs(value) >= 1e21 || Math.abs(value) < 1e-6)) return String(value);
  const s = Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(5)));
  const [intPart = '', frac] = s.split('.');
  const sign = intPart.startsWith('-') ? '-' : '';
  const digits = sign ? intPart.slice(1) : intPart;
  return `${sign}${groupThousands(digits)}${frac === undefined ? '' : `.${frac}`}`;
}

function humanBytes(bytes: number): string | undefined {
  for (const [size, unit] of [
    [GiB, 'GiB'],
    [MiB, 'MiB'],
    [KiB, 'KiB'],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${formatNumber(bytes / size)} ${unit}`;
  }
  return undefined;
}

function humanNs(ns: number): string | undefined {
  if (ns >= 1e6) return `${formatNumber(ns / 1e6)} ms`;
  if (ns >= 1e3) return `${formatNumber(ns / 1e3)} us`;
  return undefined;
}

/** A parameter value with its unit-aware human form, e.g. "2,097,152 (2 MiB)". */
function formatValue(value: number, unit: CostUnit): string {
  const plain = formatNumber(value);
  const human = unit === 'B' ? humanBytes(value) : unit === 'ns' ? humanNs(value) : undefined;
  return human ? `${plain} (${human})` : plain;
}

function formatPercent(p: number): string {
  const s = p.toFixed(1);
  if (s === '0.0' || s === '-0.0') return '0.0 %';
  return `${p > 0 ? '+' : ''}${s} %`;
}

function cell(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');
}

function row(cells: readonly string[]): string {
  return `| ${cells.map(cell).join(' | ')} |`;
}

function specOf(name: CostProfileName): ProfileSpec {
  const spec = PROFILE_SPECS.find((s) => s.name === name);
  if (!spec) throw new Error(`no spec for profile "${name}"`);
  return spec;
}

function groupsInOrder(): CostGroup[] {
  return Object.keys(COST_GROUP_TITLES) as CostGroup[];
}

/**
 * docs/costs.md: every parameter of every profile with value, unit, kind, conditions and source,
 * the transfer model and its validation against published figures, and the published numbers
 * that have no parameter. Pure; `scripts/gen-costs-doc.mjs` writes it to disk.
 */
export function renderCostsMarkdown(): string {
  const out: string[] = [];
  const names = profileNames();
  const base = PROFILES[DEFAULT_PROFILE_NAME];

  out.push(
    '<!-- Generated by `node scripts/gen-costs-doc.mjs` (or `npx tsx scripts/gen-costs-doc.mjs`) from src/sim/costs.ts. Do not edit: change costs.ts and rerun; a test fails while this file is stale. -->',
    '',
    '# Cost profiles',
    '',
    'Every number the simulator charges time with, where it comes from, and what it applies to.',
    'Time is in ns and bandwidth in GB/s (10^9 B/s, numerically bytes per ns) unless the unit says',
    'otherwise. `kind` is one of:',
    '',
    '- **measured**: a measurement on real hardware that someone published;',
    '- **published**: a specification, a simulator default or a model constant as published;',
    '- **derived**: arithmetic on published numbers; the source shows it and any stated assumption;',
    '- **assumed**: no published number was found; the source gives the reasoning. Replace these first.',
    '',
    `Each profile is the base table (the reference platform, \`${DEFAULT_PROFILE_NAME}\`) plus overrides, each with`,
    'its own source. A scenario can override any value by name; overridden values become `assumed`.',
    '',
    '## Profiles',
    '',
    row(['profile', 'transfer model', 'description']),
    row(['---', '---', '---']),
  );
  for (const n of names) {
    const p = PROFILES[n];
    out.push(row([`\`${p.name}\``, p.transferModel, p.description]));
  }

  // Transfer model
  out.push(
    '',
    '## Transfer-time model',
    '',
    '- **latency-bandwidth** (all profiles except `uvmsmart-gtx1080ti`, and every peer/local path):',
    '  `time = dmaSetupLatencyNs + bytes / peak`, where `peak` is the parameter for the path:',
    '  `hostToDeviceBandwidth`, `deviceToHostBandwidth`, `peerLinkBandwidth`, `peerPcieBandwidth`,',
    '  `hostBridgeP2pBandwidth`, or half of `deviceMemoryBandwidth` for a copy inside one GPU. The',
    '  host-link peaks are the published effective bandwidths of large copies, so a 1 GiB copy',
    '  reproduces them. A path whose bandwidth is 0 does not exist (routing a transfer there is a bug).',
    "- **uvmsmart-curve** (`uvmsmart-gtx1080ti`, host<->device in both directions): UVMSmart's own curve",
    '  fit, `BW(s) = (2a/pi) * atan(b * s / 1 KiB)` GiB/s with `a = uvmSmartCurveA`, `b = uvmSmartCurveB`,',
    '  multiplied by `uvmSmartLargeTransferFactor` for `s >= uvmSmartHalvingThresholdBytes`, and',
    '  `time = s / BW(s)` (`gmmu_t::calculate_transfer_time`). The published points in the notes were',
    '  computed from this formula, so evaluating it reproduces them exactly and is defined at every',
    '  size; interpolating between the points would only approximate it. The code divides by 1024^3:',
    '  the curve is in GiB/s although the notes print "GB/s".',
    '',
    '### Validation against published figures',
    '',
    row([
      'profile',
      'path',
      'size',
      'modelled',
      'published',
      'error',
      'modelled time',
      'published time',
      'source',
    ]),
    row(['---', '---', '---', '---', '---', '---', '---', '---', '---']),
  );
  for (const point of TRANSFER_VALIDATION_POINTS) {
    const modelled = modelledValidationBandwidth(point);
    const err = (100 * (modelled - point.publishedBandwidth)) / point.publishedBandwidth;
    const t = transferTimeNs(PROFILES[point.profile], point.bytes, point.direction);
    out.push(
      row([
        `\`${point.profile}\``,
        point.direction,
        humanBytes(point.bytes) ?? `${point.bytes} B`,
        `${formatNumber(Number(modelled.toFixed(3)))} ${point.unit}`,
        `${formatNumber(point.publishedBandwidth)} ${point.unit}`,
        formatPercent(err),
        humanNs(t) ?? `${formatNumber(t)} ns`,
        point.publishedTimeNs === undefined
          ? ''
          : (humanNs(point.publishedTimeNs) ?? `${point.publishedTimeNs} ns`),
        point.source,
      ]),
    );
  }

  // Summary: one column per profile
  out.push(
    '',
    '## All values, one column per profile',
    '',
    'A value in bold is overridden by the profile (sometimes with the base value but another source); its',
    'provenance is under "Profile overrides". Sizes in bytes are shown in binary units where exact.',
    '',
    row(['parameter', 'unit', ...names.map((n) => `\`${n}\``)]),
    row(['---', '---', ...names.map(() => '---:')]),
  );
  for (const group of groupsInOrder()) {
    for (const name of COST_PARAMETER_NAMES) {
      if (BASE[name].group !== group) continue;
      const values = names.map((n) => {
        const v = PROFILES[n].values[name];
        const s = (BASE[name].unit === 'B' ? humanBytes(v) : undefined) ?? formatNumber(v);
        return specOf(n).overrides[name] === undefined ? s : `**${s}**`;
      });
      out.push(row([`\`${name}\``, BASE[name].unit, ...values]));
    }
  }

  // Base table with provenance
  out.push('', `## Base parameters (\`${DEFAULT_PROFILE_NAME}\`)`);
  for (const group of groupsInOrder()) {
    out.push(
      '',
      `### ${COST_GROUP_TITLES[group]}`,
      '',
      row(['parameter', 'value', 'unit', 'kind', 'conditions', 'source', 'note']),
      row(['---', '---:', '---', '---', '---', '---', '---']),
    );
    for (const name of COST_PARAMETER_NAMES) {
      const p = base.parameters[name];
      if (p.group !== group) continue;
      out.push(
        row([
          `\`${name}\``,
          formatValue(p.value, p.unit),
          p.unit,
          p.kind,
          p.conditions,
          p.source,
          p.note ?? '',
        ]),
      );
    }
  }

  // Per-profile overrides
  out.push('', '## Profile overrides');
  for (const n of names) {
    const spec = specOf(n);
    const overridden = COST_PARAMETER_NAMES.filter((name) => spec.overrides[name] !== undefined);
    out.push('', `### \`${n}\``, '', PROFILES[n].description, '');
    if (overridden.length === 0) {
      out.push('No overrides: this profile is the base table.');
      continue;
    }
    out.push(
      row(['parameter', 'value', 'unit', 'kind', 'conditions', 'source', 'note']),
      row(['---', '---:', '---', '---', '---', '---', '---']),
    );
    for (const name of overridden) {
      const p = PROFILES[n].parameters[name];
      out.push(
        row([
          `\`${name}\``,
          formatValue(p.value, p.unit),
          p.unit,
          p.kind,
          p.conditions,
          p.source,
          p.note ?? '',
        ]),
      );
    }
  }

  // Unparameterised anchors
  out.push(
    '',
    '## Published numbers without a parameter',
    '',
    'Calibration rows from the notes that no parameter carries, and why.',
    '',
    row(['quantity', 'value', 'conditions', 'source', 'why']),
    row(['---', '---', '---', '---', '---']),
  );
  for (const a of UNPARAMETERISED_ANCHORS)
    out.push(row([a.quantity, a.value, a.conditions, a.source, a.why]));

  // Counts by kind
  out.push('', '## Parameters by kind (base table)', '', row(['kind', 'count']), row(['---', '---:']));
  for (const kind of COST_KINDS) {
    out.push(
      row([kind, String(COST_PARAMETER_NAMES.filter((n) => base.parameters[n].kind === kind).length)]),
    );
  }
  out.push('');
  return out.join('\n');
}
