/**
 * The named profiles (the base table plus per-profile overrides with their sources), getProfile and withOverrides.
 * Part of the cost profile (src/sim/costs.ts, which re-exports the public API). No Linux
 * counterpart: this is data about hardware and the kernel, with its sources.
 */
import { formatNumber } from './doc.js';
import {
  BASE,
  BYTES_PER_NS_PER_GIB_S,
  COST_PARAMETER_NAMES,
  type CostParameterName,
  GiB,
  isCostParameterName,
  MiB,
  PCIE_P2P_EFFICIENCY,
  SRC,
  UVMSMART_CORE_GHZ,
  UVMSMART_CURVE_A_GIB_S,
} from './parameters.js';
import {
  type CostParameter,
  type CostProfile,
  INTEGER_UNITS,
  type OverrideSpec,
  type ParameterSpec,
  type TransferModel,
} from './types.js';

export interface ProfileSpec {
  readonly name: string;
  readonly description: string;
  readonly transferModel: TransferModel;
  readonly overrides: Partial<Record<CostParameterName, OverrideSpec>>;
}

const H100_PEER_PCIE = 63.0 * PCIE_P2P_EFFICIENCY;

export const PROFILE_SPECS: readonly ProfileSpec[] = [
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
