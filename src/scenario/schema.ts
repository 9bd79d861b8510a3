/**
 * Version 1 of the scenario format, as a zod schema. Every object is strict (an unknown key is an
 * error), sizes and durations are numbers or strings with a unit and come out as numbers, and
 * cross-references (a workload's GPU, NIC, buffer and `after`; the GPU:NIC pairs of the P2P map;
 * override names) are checked in a refinement so their errors carry a path too.
 *
 * Its output is the configuration simulate() takes (SimConfig): the model reads the file's own
 * keys, and a configuration built in code goes through the same schema (ConfigSchema, which
 * also takes a CostProfile object as `profile`: parseConfig in load.ts). So a new knob is one
 * entry here and the code that reads it; everything simulate() would reject is rejected here,
 * with a path.
 *
 * Frozen: files written for version 1 must keep loading (test/scenario/fixtures/v1-*). A change
 * that would break one is a new version with a migration, not an edit here.
 */

import { z } from 'zod';
import { DESIGN_NAMES, type DesignName, type P2pMapType } from '../designs/design.js';
import { PLACEMENT_POLICIES, type PlacementPolicy } from '../drivers/gpu.js';
import { type CostProfile, profileNames } from '../sim/costs.js';
import { crossCheck } from './cross-check.js';
import { describeFound } from './messages.js';
import {
  DURATION_PATTERN,
  formatDuration,
  formatSize,
  type ParsedQuantity,
  parseDuration,
  parseSize,
  SIZE_PATTERN,
} from './units.js';

const KiB = 2 ** 10;
const MiB = 2 ** 20;
const _GiB = 2 ** 30;
const TiB = 2 ** 40;
const PAGE = 4 * KiB;

/** The scenario format versions this hmmlab reads (the newest last). */
export const SCENARIO_VERSIONS = [1] as const;
export const CURRENT_SCENARIO_VERSION = 1;

// ---- building blocks ----------------------------------------------------------------------

const SIZE_EXPECTED = 'a size (a number of bytes, or a number with B, KiB, MiB, GiB or TiB, like 64KiB)';
const DURATION_EXPECTED = 'a duration (a number of ns, or a number with ns, us, ms or s, like 2s)';

function quantityMessage(r: ParsedQuantity & { ok: false }, input: unknown, expected: string, what: string) {
  if (r.reason === 'negative')
    return `expected a ${what} ${what === 'size' ? '> 0' : '>= 0'}, found ${describeFound(input)}`;
  if (r.reason === 'unit' && r.suggestion !== undefined)
    return `expected ${expected}, found ${describeFound(input)} (did you mean '${r.suggestion}'?)`;
  return `expected ${expected}, found ${describeFound(input)}`;
}

interface SizeOptions {
  /** Smallest allowed (default 1 byte: sizes are positive). */
  min?: number;
  max?: number;
  /** How the maximum reads in a message (default "of at most <max>"). */
  maxText?: string;
  /** Must be a multiple of this. */
  multipleOf?: number;
  /** Why, in a message: "the page size". */
  multipleOfWhy?: string;
  /** Must be a power of two. */
  powerOfTwo?: boolean;
  description: string;
}

/** A size in bytes: a number or a string like "64KiB"; parses to a number of bytes. */
function size(o: SizeOptions) {
  const min = o.min ?? 1;
  const max = o.max ?? Number.MAX_SAFE_INTEGER;
  return z
    .union(
      [
        z.number().meta({
          type: 'integer',
          minimum: min,
          maximum: max,
          ...(o.multipleOf === undefined ? {} : { multipleOf: o.multipleOf }),
        }),
        z.string().meta({ pattern: SIZE_PATTERN }),
      ],
      {
        error: (iss) =>
          iss.input === undefined
            ? undefined
            : `expected ${SIZE_EXPECTED}, found ${describeFound(iss.input)}`,
      },
    )
    .transform((v, ctx) => {
      const r = parseSize(v);
      if (!r.ok) {
        ctx.issues.push({ code: 'custom', input: v, message: quantityMessage(r, v, SIZE_EXPECTED, 'size') });
        return z.NEVER;
      }
      const bytes = r.value;
      let problem: string | undefined;
      if (bytes < min) problem = min === 1 ? 'a size > 0' : `a size of at least ${formatSize(min)}`;
      else if (bytes > max) problem = `a size ${o.maxText ?? `of at most ${formatSize(max)}`}`;
      else if (o.powerOfTwo && !Number.isInteger(Math.log2(bytes))) problem = 'a power of two';
      else if (o.multipleOf !== undefined && bytes % o.multipleOf !== 0)
        problem = `a multiple of ${formatSize(o.multipleOf)}${o.multipleOfWhy === undefined ? '' : ` (${o.multipleOfWhy})`}`;
      if (problem !== undefined) {
        ctx.issues.push({
          code: 'custom',
          input: v,
          message: `expected ${problem}, found ${describeFound(v)}`,
        });
        return z.NEVER;
      }
      return bytes;
    })
    .meta({ description: `${o.description} A size: bytes, or a string like 64KiB, 2MiB, 12.8GiB.` });
}

/** A duration in ns: a number or a string like "2s"; parses to a number of nanoseconds. */
function duration(o: { allowZero: boolean; description: string }) {
  const MAX = 1e18; // about 31 years of simulated time
  return z
    .union([z.number().meta({ minimum: 0, maximum: MAX }), z.string().meta({ pattern: DURATION_PATTERN })], {
      error: (iss) =>
        iss.input === undefined
          ? undefined
          : `expected ${DURATION_EXPECTED}, found ${describeFound(iss.input)}`,
    })
    .transform((v, ctx) => {
      const r = parseDuration(v);
      if (!r.ok) {
        ctx.issues.push({
          code: 'custom',
          input: v,
          message: quantityMessage(r, v, DURATION_EXPECTED, 'duration'),
        });
        return z.NEVER;
      }
      let problem: string | undefined;
      if (r.value === 0 && !o.allowZero) problem = 'a duration > 0';
      else if (r.value > MAX) problem = `a duration of at most ${formatDuration(MAX)}`;
      if (problem !== undefined) {
        ctx.issues.push({
          code: 'custom',
          input: v,
          message: `expected ${problem}, found ${describeFound(v)}`,
        });
        return z.NEVER;
      }
      return r.value;
    })
    .meta({ description: `${o.description} A duration: ns, or a string like 150us, 10ms, 2s.` });
}

/** An integer in [min, max]. */
function integer(min: number, max: number, description: string) {
  return z.number().int().min(min).max(max).meta({ description });
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
/** The name of a device, buffer or workload: used in references, link names and "gpu:nic" pairs. */
const name = z
  .string({
    error: (iss) =>
      iss.input === undefined ? undefined : `expected a name, found ${describeFound(iss.input)}`,
  })
  .max(64)
  .regex(NAME_RE, {
    error: (iss) =>
      `expected a name (a letter or '_', then letters, digits, '_', '-' or '.'), found ${describeFound(iss.input)}`,
  });

function nameOf(description: string) {
  return name.meta({ description });
}

function stringEnum<const T extends readonly string[]>(values: T, description: string) {
  return z.enum(values as unknown as [T[number], ...T[number][]]).meta({ description });
}

const P2P_MAP_TYPES = [
  'BUS_ADDR',
  'THRU_HOST_BRIDGE',
  'NOT_SUPPORTED',
] as const satisfies readonly P2pMapType[];
const mapType = stringEnum(
  P2P_MAP_TYPES,
  'pci_p2pdma map type: BUS_ADDR (under one PCIe switch), THRU_HOST_BRIDGE (through the root complex) or NOT_SUPPORTED.',
);

// ---- platform -----------------------------------------------------------------------------

const platform = z
  .strictObject({
    ram: size({
      min: 16 * MiB,
      max: 8 * TiB - PAGE,
      maxText: 'below 8TiB',
      description: 'System RAM (default 64GiB). Only touched pages cost memory in the model.',
    }).optional(),
    cpuCores: integer(1, 4096, 'CPU cores available to fault handling (default 8).').optional(),
    thp: stringEnum(['always', 'madvise', 'never'], 'Transparent huge pages (default madvise).').optional(),
    iommu: stringEnum(
      ['off', 'passthrough', 'translate'],
      'IOMMU mode for device DMA (default off).',
    ).optional(),
    p2p: z
      .strictObject({
        default: mapType.optional(),
        pairs: z
          .record(z.string(), mapType)
          .meta({ description: 'Map type per "gpu:nic" pair, overriding the default.' })
          .optional(),
      })
      .meta({
        description: 'PCI peer-to-peer connectivity from each GPU to each NIC (default NOT_SUPPORTED).',
      })
      .optional(),
    pci: z
      .record(z.string(), z.unknown())
      .meta({
        description:
          'PCI topology: { cpu, hostBridges, platformDevices } (PciTopologySpec, src/kernel/p2pdma.ts). ' +
          "GPUs and NICs are found in it by name; the kernel's p2pdma rules then give each pair's map type (instead of p2p).",
      })
      .optional(),
  })
  .meta({ description: 'The machine: memory, CPUs, THP, IOMMU and PCI connectivity.' });

// ---- devices ------------------------------------------------------------------------------

function placement(description: string) {
  return stringEnum(PLACEMENT_POLICIES as readonly PlacementPolicy[], description);
}

const pcieLink = z.strictObject({
  kind: z.literal('pcie'),
  gen: z.literal([3, 4, 5]).meta({ description: 'PCIe generation.' }),
  lanes: z.literal([1, 2, 4, 8, 16]).meta({ description: 'Link width (default 16).' }).optional(),
});
const c2cLink = z.strictObject({ kind: z.literal('c2c') });

const gpu = z.strictObject({
  name: nameOf('GPU name (unique among devices).'),
  vram: size({ min: 2 * MiB, max: TiB, description: 'VRAM (device-private memory).' }),
  bar: size({
    min: 2 * MiB,
    max: TiB,
    multipleOf: 2 * MiB,
    multipleOfWhy: 'the BAR maps VRAM in 2MiB chunks',
    description: 'BAR exposing VRAM to PCI peers, a multiple of 2MiB (default all of VRAM: a resizable BAR).',
  }).optional(),
  link: z
    .discriminatedUnion('kind', [pcieLink, c2cLink])
    .meta({ description: "Host link: { kind: pcie, gen, lanes } or { kind: c2c } (default: the profile's)." })
    .optional(),
  socket: z.literal([0, 1]).meta({ description: 'CPU socket the GPU hangs off (default 0).' }).optional(),
  faultBatchSize: integer(1, 65536, "Faults fetched per batch (default: the profile's).").optional(),
  placement: placement(
    'Placement after a GPU fault (default: the scenario placement, or first-touch).',
  ).optional(),
  chunkSizes: z
    .array(size({ min: PAGE, max: 2 * MiB, powerOfTwo: true, description: 'A migration chunk size.' }))
    .min(1)
    .max(10)
    .meta({ description: 'Migration chunk sizes, largest first (default [2MiB, 64KiB, 4KiB]).' })
    .optional(),
  migrateToRam: stringEnum(
    ['folio', 'chunk'],
    "What a CPU or NIC fault on a VRAM page brings back to RAM: its folio (test_hmm, nouveau; default) or the whole chunk it was migrated in (Xe's drm_pagemap: the devmem allocation around the fault).",
  ).optional(),
  prefetch: z.boolean().meta({ description: 'nvidia-uvm density prefetcher (default false).' }).optional(),
  thrashing: z.boolean().meta({ description: 'Thrashing detection (default false).' }).optional(),
});

const nic = z.strictObject({
  name: nameOf('NIC name (unique among devices).'),
  fallback: stringEnum(
    ['rfc', 'v2'],
    "What the NIC does when a P2P page cannot be mapped: the RFC's policy or v2's (default rfc).",
  ).optional(),
  socket: z.literal([0, 1]).meta({ description: 'CPU socket (default 0).' }).optional(),
  ats: z.boolean().meta({ description: 'PCIe ATS (default false).' }).optional(),
  relaxedOrdering: z.boolean().meta({ description: 'PCIe relaxed ordering (default false).' }).optional(),
});

const dmirror = z.strictObject({
  name: nameOf('Device name (unique among devices).'),
  minor: z
    .literal([0, 1])
    .meta({ description: 'Which /dev/hmm_dmirrorN (0 or 1, both device-private; default 0).' })
    .optional(),
});

const devices = z
  .strictObject({
    gpus: z.array(gpu).max(64).meta({ description: 'SVM GPUs.' }).optional(),
    nics: z.array(nic).max(64).meta({ description: 'RDMA NICs with on-demand paging.' }).optional(),
    dmirrors: z
      .array(dmirror)
      .max(2)
      .meta({
        description:
          "test_hmm's mirror devices (lib/test_hmm.c): a software device with device-private memory, driven by `dmirror` workloads.",
      })
      .optional(),
    gpuLinks: z
      .array(
        z.strictObject({
          a: nameOf('One GPU of the link.'),
          b: nameOf('The other GPU of the link.'),
        }),
      )
      .max(64)
      .meta({
        description: "Private GPU-to-GPU links (NVLink/xGMI-like) at the profile's peerLinkBandwidth.",
      })
      .optional(),
  })
  .meta({ description: 'Devices: GPUs, NICs and test_hmm mirror devices.' });

// ---- buffers and workloads ----------------------------------------------------------------

const buffer = z.strictObject({
  name: nameOf('Buffer name (unique among buffers).'),
  size: size({
    max: 64 * TiB,
    multipleOf: PAGE,
    multipleOfWhy: 'the page size',
    description: 'Buffer size (anonymous private memory), a multiple of 4KiB (the page size).',
  }),
  hugepage: z.boolean().meta({ description: 'madvise(MADV_HUGEPAGE) on the buffer.' }).optional(),
  place: nameOf(
    "Where the pages are at time 0, placed before the clock starts and not charged: 'ram' (written by " +
      "the CPU, like MAP_POPULATE) or a GPU's name (write faults serviced by that GPU under its placement " +
      'policy; first-touch moves them into VRAM). Default: not populated.',
  ).optional(),
  process: nameOf(
    'The process whose address space holds the buffer (one of `processes`; default the first, or the only one).',
  ).optional(),
});

const processEntry = z.strictObject({
  name: nameOf('Process name (unique among processes).'),
});

const workloadBase = {
  name: nameOf('Workload name (unique among workloads).'),
  buffer: nameOf('The buffer it accesses.'),
  op: stringEnum(['read', 'write'], 'Read or write.'),
  pattern: stringEnum(['sequential', 'random', 'strided'], 'Access pattern.'),
  bytes: size({
    max: 64 * TiB,
    description: 'Bytes of the buffer to cover per pass (default all of it).',
  }).optional(),
  stride: size({
    max: 64 * TiB,
    multipleOf: PAGE,
    description: "Distance between accesses for 'strided' (default 64KiB).",
  }).optional(),
  passes: integer(1, 1_000_000, 'Passes over the buffer (default 1).').optional(),
  after: nameOf('Start after this workload (listed earlier) has finished.').optional(),
  start: duration({
    allowZero: true,
    description: 'Start time (default 0, or when `after` finished).',
  }).optional(),
};

const cpuWorkload = z.strictObject({
  kind: z.literal('cpu'),
  ...workloadBase,
  nsPerPage: z
    .number()
    .min(0)
    .max(1e9)
    .meta({ description: 'CPU time per page touched without a fault, ns (default 100).' })
    .optional(),
});

const gpuWorkload = z.strictObject({
  kind: z.literal('gpu'),
  ...workloadBase,
  gpu: nameOf('The GPU that runs it.'),
  bytesPerNs: z
    .number()
    .positive()
    .max(1e6)
    .meta({ description: "Compute rate over resident data, bytes per ns = GB/s (default: the profile's)." })
    .optional(),
});

const rdmaWorkload = z.strictObject({
  kind: z.literal('rdma'),
  ...workloadBase,
  nic: nameOf('The NIC that runs it.'),
  messageSize: size({ max: 64 * TiB, description: "Bytes per RDMA message (perftest's -s)." }),
  messages: integer(1, 2 ** 31 - 1, "Messages to send (perftest's -n)."),
  queueDepth: integer(
    1,
    65536,
    "Messages in flight on each queue pair (perftest's -t, the send queue depth; default 1).",
  ).optional(),
  qps: integer(
    1,
    4096,
    "Reliable-connected queue pairs the messages are spread over (perftest's -q; default 1). Messages on one QP complete in order, and a page fault stalls its QP.",
  ).optional(),
});

const dmirrorWorkload = z.strictObject({
  kind: z.literal('dmirror'),
  ...workloadBase,
  op: stringEnum(
    ['read', 'write', 'migrate', 'migrate-to-ram', 'exclusive'],
    'The ioctl: HMM_DMIRROR_READ, _WRITE, _MIGRATE_TO_DEV, _MIGRATE_TO_SYS or _EXCLUSIVE.',
  ),
  dmirror: nameOf('The dmirror device (devices.dmirrors) it drives.'),
  ioctlSize: size({
    max: 256 * MiB,
    multipleOf: PAGE,
    description: 'Bytes per ioctl (default 2MiB).',
  }).optional(),
});

const workload = z
  .discriminatedUnion('kind', [cpuWorkload, gpuWorkload, rdmaWorkload, dmirrorWorkload])
  .meta({ description: 'A workload: kind cpu, gpu, rdma or dmirror.' });

// ---- the scenario -------------------------------------------------------------------------

const profileRef = z
  .string({
    error: (iss) =>
      iss.input === undefined
        ? undefined
        : `expected one of ${profileNames().join(', ')} or a profile file (a path ending in .yaml, like ./my-machine.yaml), found ${describeFound(iss.input)}`,
  })
  .meta({
    description:
      'Cost profile: a built-in name (docs/costs.md) or a profile file (a path ending in .yaml, relative to the scenario file).',
  });

/**
 * `profile` in a configuration built in code: also a CostProfile object (a profile file read at
 * the edge, src/profile/, or one a library user built), checked with costProfileProblems in
 * crossCheck. Files name a profile (profileRef).
 */
const configProfile = z.union(
  [profileRef, z.custom<CostProfile>((v) => typeof v === 'object' && v !== null && !Array.isArray(v))],
  {
    error: (iss) =>
      iss.input === undefined
        ? undefined
        : `expected one of ${profileNames().join(', ')}, a profile file (a path ending in .yaml) or a CostProfile object, found ${describeFound(iss.input)}`,
  },
);

const scenarioShape = z.strictObject({
  version: z.literal(1).meta({ description: 'Scenario format version.' }),
  name: z.string().max(200).meta({ description: 'Scenario name.' }).optional(),
  description: z.string().meta({ description: 'Free text.' }).optional(),
  seed: z
    .number()
    .int()
    .min(0)
    .max(Number.MAX_SAFE_INTEGER)
    .meta({ description: 'Seed of the simulation (default 1).' })
    .optional(),
  profile: profileRef,
  overrides: z
    .record(z.string(), z.number())
    .meta({ description: 'Cost parameter overrides by name (docs/costs.md).' })
    .optional(),
  design: stringEnum(DESIGN_NAMES as readonly DesignName[], 'P2P design (default upstream).').optional(),
  rfcLockPerPage: z.boolean().meta({ description: 'rfc-callback only: a driver lock per page.' }).optional(),
  placement: placement(
    'Placement policy of every GPU that sets none: first-touch, remote, access-counter or pinned (default first-touch).',
  ).optional(),
  platform: platform.optional(),
  devices: devices.optional(),
  processes: z
    .array(processEntry)
    .min(1)
    .max(64)
    .meta({
      description:
        "Processes, each its own address space (default one, 'main'). Every GPU mirrors and every NIC registers an ODP MR over each process that has buffers; devices, VRAM and links are shared.",
    })
    .optional(),
  buffers: z
    .array(buffer)
    .min(1)
    .max(1024)
    .meta({ description: 'Buffers, each in one process (`process`, default the first).' }),
  workloads: z.array(workload).min(1).max(1024).meta({ description: 'What runs, in order of listing.' }),
  events: z
    .array(
      z.strictObject({
        kind: z.literal('unplug').meta({ description: 'Hot-unplug a GPU.' }),
        name: nameOf('Event name (workloads can wait for it with `after`).'),
        gpu: nameOf('The GPU to remove.'),
        mode: stringEnum(['safe', 'surprise'], 'safe: evict first; surprise: the device vanishes.'),
        after: nameOf('Happen after this workload has finished.').optional(),
        start: duration({
          allowZero: true,
          description: 'Time of the event (default 0, or when `after` finished).',
        }).optional(),
      }),
    )
    .max(64)
    .meta({ description: 'Events during the run: GPU hot unplug.' })
    .optional(),
  duration: duration({
    allowZero: false,
    description: 'Stop the simulation at this time (default: when every workload has finished).',
  }).optional(),
});

/** The scenario's shape in a configuration built in code: `profile` may be a CostProfile object. */
const configShape = scenarioShape.extend({ profile: configProfile });

/** A parsed version-1 scenario (sizes and durations as numbers). */
export type ScenarioV1 = z.output<typeof scenarioShape>;
/** A version-1 scenario as written (sizes and durations may be strings). */
export type ScenarioV1Input = z.input<typeof scenarioShape>;

/**
 * The configuration simulate() takes: a scenario as the schema gives it (sizes and durations
 * as numbers, the file's keys), whose `profile` may be a CostProfile object (read at the edge
 * or built in code). A parsed scenario file is one.
 */
export type SimConfig = z.output<typeof configShape>;
/** A configuration as code writes it (sizes and durations may be strings like '64MiB'). */
export type SimConfigInput = z.input<typeof configShape>;

export const ScenarioSchemaV1 = scenarioShape.superRefine(crossCheck);

/**
 * The configuration simulate() takes, built in code: the current scenario format, whose
 * `profile` may also be a CostProfile object. parseConfig (load.ts) runs an object through it.
 */
export const ConfigSchema = configShape.superRefine(crossCheck);

/** The newest format (what loadScenario returns, migrating older files). */
export const ScenarioSchema = ScenarioSchemaV1;
export type Scenario = ScenarioV1;
export type ScenarioInput = ScenarioV1Input;
