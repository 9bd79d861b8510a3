/**
 * Published figures the cost model is checked against, kept beside the profiles rather than in
 * them: the transfer validation points, inputs the parameters were set from (the cost function
 * must give each back within 5 %; the tests check it and docs/costs.md lists it; they are not
 * predictions, which are in validation.ts) and the calibration numbers that no parameter
 * carries. Pure data.
 */
import {
  BYTES_PER_NS_PER_GIB_S,
  type CostProfileName,
  PROFILES,
  type TransferDirection,
  transferBandwidth,
} from './costs.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

const SRC = {
  uvmSmartGpuSim:
    'UVMSmart gpgpu-sim src/gpgpu-sim/gpu-sim.cc (gmmu_t::calculate_transfer_time, -page_fault_latency), https://github.com/DebashisGanguly/gpgpu-sim_UVMSmart/blob/bafab5d728a911d671833a5f843eeda783dab9ac/src/gpgpu-sim/gpu-sim.cc',
  macsim:
    'MacSim def/memory.param.def and src/mmu.cc, https://github.com/gthparch/macsim/blob/master/def/memory.param.def , https://github.com/gthparch/macsim/blob/master/src/mmu.cc',
  ncclTopo:
    'NCCL topology model src/graph/topo.h, https://github.com/NVIDIA/nccl/blob/master/src/graph/topo.h',
  nvbwA100: 'nvbandwidth issue #42 (A100-SXM4-40GB), https://github.com/NVIDIA/nvbandwidth/issues/42',
  nvbwH100:
    'nvbandwidth issue #24 (H100 cluster, also H20/H800), https://github.com/NVIDIA/nvbandwidth/issues/24',
  nvbwA6000: 'nvbandwidth issue #50 (6x A6000, no NVLink), https://github.com/NVIDIA/nvbandwidth/issues/50',
  nvbwGh200:
    'nvbandwidth issue #23 (GH200 480 GB LPDDR5X + 96 GB HBM3, nvbandwidth v5), https://github.com/NVIDIA/nvbandwidth/issues/23',
  nvlink4:
    'NCCL issue #1264 (HGX H100 8-GPU, p2pBandwidthLatencyTest), https://github.com/NVIDIA/nccl/issues/1264',
  ziYan:
    'Zi Yan, THP migration series (move_pages() cross-socket, 2-socket Xeon E5-2640v3), https://git.disroot.org/kpriv/linux-hardened/src/commit/88aaa2a1d7326bdb6fd2a6bd7264008a343272cd/mm',
  stagingFaster: 'NCCL issue #814, https://github.com/NVIDIA/nccl/issues/814',
  oldP2p: 'ROCmValidationSuite issue #427, https://github.com/ROCm/ROCmValidationSuite/issues/427',
  gdrcopy:
    'GDRCopy README (P100 / K40m-K80, Ivy Bridge-era Xeon), https://github.com/NVIDIA/gdrcopy/blob/master/README.md',
  pascalFault:
    'NVIDIA at GTC Japan 2016, reported by press [secondary], https://prod-news.global.ssl.fastly.net/techplus/article/20161012-gtcjapan2016_unifiedmemory/3',
  xeThp:
    "Francois Dugast, '[PATCH v4 7/7] drm/pagemap: Enable THP support for GPU memory migration', dri-devel, 11 Jan 2026, https://lore.kernel.org/all/20260111205820.830410-8-francois.dugast@intel.com/",
  xeSvm:
    'Xe SVM series (xe_svm.c), https://patchwork.kernel.org/project/dri-devel/cover/20250129195212.745731-1-matthew.brost@intel.com',
} as const;

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

/** A calibration figure that no parameter carries, and why. */
export interface UnparameterisedAnchor {
  readonly quantity: string;
  readonly value: string;
  readonly conditions: string;
  readonly source: string;
  readonly why: string;
}

/**
 * Calibration figures no parameter carries: published numbers kept as cross-checks, and the
 * quantities for which nothing is published (rendered in docs/costs.md).
 */
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
    why: 'Unverified; the batch fixed/per-page split is the open question (measurable with the instrumented driver of https://github.com/tallendev/uvm-eval).',
  },
  {
    quantity: 'hmm_range_fault per present page',
    value: 'GAP',
    conditions: 'no public per-page number',
    source: 'none published; measurable with lib/test_hmm.c SNAPSHOT',
    why: 'Modelled by the assumed hmmRangeFaultCallNs, hmmRangeFaultPerPteNs, pageWalk* parameters.',
  },
  {
    quantity: 'CPU fault on a device-private page (migrate_to_ram)',
    value: 'GAP',
    conditions: 'no public number',
    source: 'none published; measurable with lib/test_hmm.c MIGRATE_TO_DEV, then a CPU touch of the page',
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
    why: 'Syscall path with fixed costs a driver fault path does not pay; only the 512-page figure feeds migrateVmaPerEntryNs (a 4 KiB page is one migrate entry). The THP figure, a third of 512 pages, is why the cost is per entry and not per page.',
  },
  {
    quantity: 'Xe 2 MiB GPU fault, with and without device THP',
    value:
      'with THP: fault 132 us, migrate 128 us of which device copy 106 us; without: fault 966 us, migrate 942 us of which copy 223 us',
    conditions:
      'Xe SVM GT stats after one 2 MiB page fault, drm/pagemap with and without MIGRATE_VMA_SELECT_COMPOUND',
    source: SRC.xeThp,
    why: 'Supports charging migrateVmaPerEntryNs per migrate entry (a THP moved whole is one): the migration work besides the copy falls from about 719 us to 22 us. Not an input: a candidate to calibrate the per-entry and fixed costs from.',
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
