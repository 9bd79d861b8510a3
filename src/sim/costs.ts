/**
 * The cost profile: the types of every number the simulator charges time with, the catalogue of
 * parameters (name, group, unit, allowed range), the validation of a profile given as data, and
 * the transfer-time arithmetic. The numbers themselves are data: `profiles/<name>.yaml`, one
 * complete file per built-in profile, compiled into `builtin-profiles/` by
 * `scripts/gen-profiles.mjs` (a test fails while that module is stale).
 *
 * Each parameter is `{ value, unit, kind, conditions, source, note? }`. `kind` says where the
 * number comes from:
 * - `measured`: a measurement on real hardware that someone published (a benchmark in an issue
 *   thread, a patch cover letter);
 * - `published`: a specification, a simulator default or a model constant as published;
 * - `derived`: arithmetic on published numbers; `source` starts with "derived:" and shows the
 *   arithmetic and any stated assumption (a clock frequency, say);
 * - `assumed`: no published number was found; `source` starts with "assumption:" and gives the
 *   reasoning. These are the first numbers to replace with a measurement.
 *
 * A `measured` or `published` number must be checkable (`citationProblem`, held for every built-in
 * profile by sources.test.ts): `source` has an http(s) URL, and `source` or `note` states the
 * value as the source writes it: in the parameter's unit, or in a scaled unit named right after
 * the number (10 ms, 131072 MiB, 2 TB/s, 23,000 MB/s). Code constants are quoted
 * ("quote: '#define IOVA_DEFAULT_FQ_SIZE 256'"). `conditions` does not count: it is our words.
 *
 * Units: time in ns, bandwidth in GB/s (1e9 bytes/s, which is numerically bytes per ns), sizes
 * in bytes, unless a parameter's unit says otherwise (the UVMSmart curve keeps its GiB/s). A
 * parameter's unit is fixed by the catalogue: a profile states it, and a profile that states
 * another is rejected rather than converted.
 *
 * `costProfileFromData` turns validated data (`CostProfileDataSchema`) into a `CostProfile`;
 * the edge (src/profile/) reads YAML files and reports errors with file:line:col.
 * `withOverrides` applies a scenario's own values on top (marked `assumed`).
 *
 * `transferTimeNs` / `transferBandwidth` model one DMA transfer: the UVMSmart curve for profiles
 * with the `uvmsmart-curve` transfer model and fixed setup latency + bytes / bandwidth for the
 * others.
 *
 * The module is pure data and arithmetic: no I/O, no clock, no randomness.
 */
import { z } from 'zod';
import { didYouMean } from '../util/did-you-mean.js';
import { BUILTIN_PROFILE_DATA } from './builtin-profiles/index.js';

// ---------------------------------------------------------------------------------------------
// Types

/** Where a number comes from (see the module comment). */
export type CostKind = 'measured' | 'published' | 'derived' | 'assumed';

/** The kinds, in the order the docs list them. */
export const COST_KINDS: readonly CostKind[] = Object.freeze(['measured', 'published', 'derived', 'assumed']);

/** The prefix a source of each kind must (derived, assumed) or must not (the others) start with. */
const SOURCE_PREFIX: Readonly<Record<'derived' | 'assumed', string>> = {
  derived: 'derived:',
  assumed: 'assumption:',
};

/**
 * Units used by parameters. 'GB/s' is 1e9 bytes/s, i.e. bytes per ns. Parameters in 'count' and
 * 'B' must be integers.
 */
export type CostUnit =
  | 'ns'
  | 'ns/page'
  | 'ns/entry'
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

/** The transfer models, in doc order. */
export const TRANSFER_MODELS: readonly TransferModel[] = Object.freeze([
  'latency-bandwidth',
  'uvmsmart-curve',
]);

/** A complete, frozen set of parameter values. */
export interface CostProfile {
  readonly name: string;
  readonly description: string;
  readonly transferModel: TransferModel;
  /** Every parameter with its provenance. */
  readonly parameters: Readonly<Record<CostParameterName, CostParameter>>;
  /** Every parameter's value, for hot paths. */
  readonly values: Readonly<Record<CostParameterName, number>>;
  /** Scenario overrides applied by `withOverrides` (empty for a profile read from data). */
  readonly overrides: Readonly<Record<string, number>>;
}

// ---------------------------------------------------------------------------------------------
// The parameter catalogue: what a profile must give, in table order (no values: those are data)

interface CatalogueEntry {
  readonly group: CostGroup;
  readonly unit: CostUnit;
  /** Smallest allowed value (default 0). */
  readonly min?: number;
  /** Whether `min` itself is excluded (a bandwidth that must be above 0). */
  readonly minExclusive?: boolean;
  readonly max?: number;
  /** What a 0 means, for a parameter where 0 is allowed and special. */
  readonly zero?: string;
}

const BANDWIDTH = { minExclusive: true } as const;

const CATALOGUE = {
  pageWalkDescentNs: { group: 'cpu-mm', unit: 'ns' },
  pageWalkPerPteNs: { group: 'cpu-mm', unit: 'ns/PTE' },
  hmmRangeFaultCallNs: { group: 'cpu-mm', unit: 'ns' },
  hmmRangeFaultPerPteNs: { group: 'cpu-mm', unit: 'ns/PTE' },
  cpuFaultEntryNs: { group: 'cpu-mm', unit: 'ns' },
  mmuNotifierInvalidateNs: { group: 'cpu-mm', unit: 'ns' },
  tlbShootdownBaseNs: { group: 'cpu-mm', unit: 'ns' },
  tlbShootdownPerCpuNs: { group: 'cpu-mm', unit: 'ns/CPU' },
  driverCallbackPerPageNs: { group: 'p2p-decision', unit: 'ns/page' },
  driverLockPerPageNs: { group: 'p2p-decision', unit: 'ns/page' },
  p2pdmaMapTypeUncachedNs: { group: 'p2p-decision', unit: 'ns' },
  p2pdmaMapTypeCachedNs: { group: 'p2p-decision', unit: 'ns' },
  dmaMapIommuPerPageNs: { group: 'dma-iommu', unit: 'ns/page' },
  dmaUnmapIommuPerPageNs: { group: 'dma-iommu', unit: 'ns/page' },
  dmaMapDirectPerPageNs: { group: 'dma-iommu', unit: 'ns/page' },
  dmaUnmapDirectPerPageNs: { group: 'dma-iommu', unit: 'ns/page' },
  iommuIotlbMissNs: { group: 'dma-iommu', unit: 'ns' },
  iommuIotlbInvalidationNs: { group: 'dma-iommu', unit: 'ns' },
  iommuFlushQueueEntries: { group: 'dma-iommu', unit: 'count', min: 1 },
  iommuFlushQueueTimeoutNs: { group: 'dma-iommu', unit: 'ns' },
  migrateVmaFixedNs: { group: 'migration', unit: 'ns' },
  migrateVmaPerEntryNs: { group: 'migration', unit: 'ns/entry' },
  migrateVmaPerPageNs: { group: 'migration', unit: 'ns/page' },
  structPageBytes: { group: 'migration', unit: 'B' },
  gpuFaultBatchFixedNs: { group: 'gpu-fault', unit: 'ns' },
  gpuFaultPerPageNs: { group: 'gpu-fault', unit: 'ns/page' },
  gpuEvictionPerPageNs: { group: 'gpu-fault', unit: 'ns/page' },
  gpuPageTableWalkNs: { group: 'gpu-fault', unit: 'ns' },
  gpuTlbInvalidationNs: { group: 'gpu-fault', unit: 'ns' },
  faultBatchSize: { group: 'gpu-fault', unit: 'count', min: 1, max: 65536 },
  faultBatchesPerService: { group: 'gpu-fault', unit: 'count', min: 1 },
  faultThrashingBatchesPerService: { group: 'gpu-fault', unit: 'count', min: 1 },
  faultBufferEntries: { group: 'gpu-fault', unit: 'count', min: 1 },
  vaBlockBytes: { group: 'uvm-policy', unit: 'B', min: 1 },
  prefetchThresholdPercent: { group: 'uvm-policy', unit: '%', max: 100 },
  thrashingThresholdEvents: { group: 'uvm-policy', unit: 'count' },
  thrashingLapseNs: { group: 'uvm-policy', unit: 'ns' },
  thrashingPinThrottles: { group: 'uvm-policy', unit: 'count' },
  thrashingPinNs: { group: 'uvm-policy', unit: 'ns' },
  accessCounterThreshold: { group: 'uvm-policy', unit: 'count' },
  accessCounterGranularityBytes: { group: 'uvm-policy', unit: 'B', min: 1 },
  hostToDeviceBandwidth: { group: 'transfer', unit: 'GB/s', ...BANDWIDTH },
  deviceToHostBandwidth: { group: 'transfer', unit: 'GB/s', ...BANDWIDTH },
  dmaSetupLatencyNs: { group: 'transfer', unit: 'ns' },
  copyEngineCount: { group: 'transfer', unit: 'count', min: 1 },
  uvmSmartCurveA: { group: 'transfer', unit: 'GiB/s', ...BANDWIDTH },
  uvmSmartCurveB: { group: 'transfer', unit: '1/KiB', ...BANDWIDTH },
  uvmSmartHalvingThresholdBytes: { group: 'transfer', unit: 'B' },
  uvmSmartLargeTransferFactor: { group: 'transfer', unit: 'factor', ...BANDWIDTH },
  pcieGen3x16Bandwidth: { group: 'links', unit: 'GB/s', ...BANDWIDTH },
  pcieGen4x16Bandwidth: { group: 'links', unit: 'GB/s', ...BANDWIDTH },
  pcieGen5x16Bandwidth: { group: 'links', unit: 'GB/s', ...BANDWIDTH },
  pcieLinkRawBandwidth: { group: 'links', unit: 'GB/s', ...BANDWIDTH },
  nvlinkC2cBandwidth: { group: 'links', unit: 'GB/s', ...BANDWIDTH },
  peerLinkBandwidth: { group: 'links', unit: 'GB/s', zero: 'no private GPU-GPU link' },
  peerPcieBandwidth: { group: 'links', unit: 'GB/s', ...BANDWIDTH },
  hostBridgeP2pBandwidth: { group: 'links', unit: 'GB/s', zero: 'no P2P through the root complex' },
  hostBridgeP2pReadBandwidth: {
    group: 'links',
    unit: 'GB/s',
    zero: "no P2P through the root complex (reads then run at the write path's rate)",
  },
  intelHostBridgeP2pPenalty: { group: 'links', unit: 'factor', ...BANDWIDTH },
  cpuSocketInterconnectBandwidth: { group: 'links', unit: 'GB/s', zero: 'one CPU socket' },
  rdmaNicBandwidth: { group: 'links', unit: 'GB/s', ...BANDWIDTH },
  rdmaNicGpuCrossSocketBandwidth: { group: 'links', unit: 'GB/s', ...BANDWIDTH },
  rdmaRnrTimerNs: {
    group: 'links',
    unit: 'ns',
    zero: 'no RNR NAK: a responder page fault stalls its queue pair for the fault only',
  },
  cpuBarWriteBandwidth: { group: 'links', unit: 'GB/s', ...BANDWIDTH },
  cpuBarReadBandwidth: { group: 'links', unit: 'GB/s', ...BANDWIDTH },
  bar1ApertureBytes: { group: 'links', unit: 'B' },
  hostMemoryBandwidth: { group: 'memory', unit: 'GB/s', ...BANDWIDTH },
  deviceMemoryBandwidth: { group: 'memory', unit: 'GB/s', ...BANDWIDTH },
  deviceMemoryBytes: { group: 'memory', unit: 'B', min: 1 },
} as const satisfies Record<string, CatalogueEntry>;

/** The name of a cost parameter. */
export type CostParameterName = keyof typeof CATALOGUE;

/** All parameter names, in table order. */
export const COST_PARAMETER_NAMES: readonly CostParameterName[] = Object.freeze(
  Object.keys(CATALOGUE) as CostParameterName[],
);

const PARAMETER_NAME_SET: ReadonlySet<string> = new Set(COST_PARAMETER_NAMES);

/** Whether `name` is a cost parameter. */
export function isCostParameterName(name: string): name is CostParameterName {
  return PARAMETER_NAME_SET.has(name);
}

/**
 * The values a parameter may take (the catalogue's range, which every profile value and
 * override is checked against): `min` (default 0, excluded when `minExclusive`), `max` (none
 * when undefined), and whether it is a whole number (units 'count' and 'B'). Not an
 * uncertainty range: profiles give one value per parameter, never bounds.
 */
export function costParameterRange(name: CostParameterName): {
  readonly min: number;
  readonly minExclusive: boolean;
  readonly max: number | undefined;
  readonly integer: boolean;
} {
  const c: CatalogueEntry = CATALOGUE[name];
  return {
    min: c.min ?? 0,
    minExclusive: c.minExclusive ?? false,
    max: c.max,
    integer: INTEGER_UNITS.has(c.unit),
  };
}

/** A parameter's group and unit (fixed: profiles give values, not units). */
export function costParameterInfo(name: CostParameterName): {
  readonly group: CostGroup;
  readonly unit: CostUnit;
} {
  return CATALOGUE[name];
}

// ---------------------------------------------------------------------------------------------
// A profile as data (what profiles/<name>.yaml holds)

/** The profile data format versions this hmmlab reads (the newest last). */
export const COST_PROFILE_VERSIONS = [1] as const;

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;

/** Problems with one parameter's value, in the scenario loader's message style; [] when fine. */
export function costValueProblems(name: CostParameterName, value: number): string[] {
  const c: CatalogueEntry = CATALOGUE[name];
  const unit = c.unit;
  if (!Number.isFinite(value)) return [`expected a finite number (${unit}), found ${value}`];
  const min = c.min ?? 0;
  if (c.minExclusive ? !(value > min) : !(value >= min)) {
    return [`expected a number ${c.minExclusive ? '>' : '>='} ${min} (${unit}), found ${value}`];
  }
  if (c.max !== undefined && value > c.max)
    return [`expected a number <= ${c.max} (${unit}), found ${value}`];
  if (INTEGER_UNITS.has(unit) && !Number.isSafeInteger(value)) {
    return [`expected a whole number (${unit}), found ${value}`];
  }
  return [];
}

function parameterEntrySchema(name: CostParameterName) {
  const unit = CATALOGUE[name].unit;
  return z
    .strictObject({
      value: z.number(),
      unit: z.string(),
      kind: z.enum(COST_KINDS as [CostKind, ...CostKind[]]),
      conditions: z.string().min(1),
      source: z.string().min(1),
      note: z.string().min(1).optional(),
    })
    .superRefine((e, ctx) => {
      for (const message of costValueProblems(name, e.value)) {
        ctx.addIssue({ code: 'custom', path: ['value'], message });
      }
      if (e.unit !== unit) {
        ctx.addIssue({
          code: 'custom',
          path: ['unit'],
          message: `expected ${unit}, found '${e.unit}' (the unit of ${name} is fixed: convert the value to ${unit})`,
        });
      }
      for (const [kind, prefix] of Object.entries(SOURCE_PREFIX)) {
        const has = e.source.startsWith(prefix);
        if (e.kind === kind && !has) {
          ctx.addIssue({
            code: 'custom',
            path: ['source'],
            message: `the source of a${kind === 'assumed' ? 'n' : ''} ${kind} value starts with "${prefix}" and ${kind === 'derived' ? 'shows the arithmetic' : 'gives the reasoning'}`,
          });
        } else if (e.kind !== kind && has) {
          ctx.addIssue({
            code: 'custom',
            path: ['kind'],
            message: `expected kind ${kind} for a source starting with "${prefix}", found '${e.kind}'`,
          });
        }
      }
    });
}

/**
 * The profile data format (version 1), as a zod schema: every parameter of the catalogue, no
 * other, each with the catalogue's unit, a value in its range, a kind and a source that agree.
 * Pass the scenario error map (src/scenario/messages.ts) to safeParse for the house messages.
 */
export const CostProfileDataSchema = z.strictObject({
  version: z.literal(1),
  name: z.string().regex(NAME_PATTERN, {
    error: (iss) =>
      `expected a profile name (letters, digits, '.', '_', '+', '-'; at most 64; no path), found ${JSON.stringify(iss.input)}`,
  }),
  description: z.string().min(1),
  transferModel: z.enum(TRANSFER_MODELS as [TransferModel, ...TransferModel[]]),
  parameters: z.strictObject(
    Object.fromEntries(COST_PARAMETER_NAMES.map((n) => [n, parameterEntrySchema(n)])) as {
      [K in CostParameterName]: ReturnType<typeof parameterEntrySchema>;
    },
  ),
});

/** One parameter as data. */
export interface CostParameterData {
  readonly value: number;
  readonly unit: string;
  readonly kind: CostKind;
  readonly conditions: string;
  readonly source: string;
  readonly note?: string;
}

/** A profile as data: what a profile file holds (validated by `CostProfileDataSchema`). */
export interface CostProfileData {
  readonly version: 1;
  readonly name: string;
  readonly description: string;
  readonly transferModel: TransferModel;
  readonly parameters: Readonly<Record<CostParameterName, CostParameterData>>;
}

function deepFreezeProfile(p: CostProfile): CostProfile {
  for (const param of Object.values(p.parameters)) Object.freeze(param);
  Object.freeze(p.parameters);
  Object.freeze(p.values);
  Object.freeze(p.overrides);
  return Object.freeze(p);
}

/**
 * The frozen CostProfile that validated profile data describes (parameters in table order).
 * Call it on data `CostProfileDataSchema` accepted; `parseCostProfile` does both. Never throws
 * for such data.
 */
export function costProfileFromData(data: CostProfileData): CostProfile {
  const parameters = {} as Record<CostParameterName, CostParameter>;
  const values = {} as Record<CostParameterName, number>;
  for (const name of COST_PARAMETER_NAMES) {
    const d = data.parameters[name];
    const { group, unit } = CATALOGUE[name];
    parameters[name] = {
      name,
      group,
      unit,
      value: d.value,
      kind: d.kind,
      conditions: d.conditions,
      source: d.source,
      ...(d.note === undefined ? {} : { note: d.note }),
    };
    values[name] = d.value;
  }
  return deepFreezeProfile({
    name: data.name,
    description: data.description,
    transferModel: data.transferModel,
    parameters,
    values,
    overrides: {},
  });
}

/** `profile` as data, the inverse of `costProfileFromData` (overrides are not data: dropped). */
export function costProfileToData(profile: CostProfile): CostProfileData {
  const parameters = {} as Record<CostParameterName, CostParameterData>;
  for (const name of COST_PARAMETER_NAMES) {
    const p = profile.parameters[name];
    parameters[name] = {
      value: p.value,
      unit: p.unit,
      kind: p.kind,
      conditions: p.conditions,
      source: p.source,
      ...(p.note === undefined ? {} : { note: p.note }),
    };
  }
  return {
    version: 1,
    name: profile.name,
    description: profile.description,
    transferModel: profile.transferModel,
    parameters,
  };
}

/** The result of `parseCostProfile`. */
export type ParseCostProfileResult =
  | { readonly ok: true; readonly profile: CostProfile }
  | { readonly ok: false; readonly error: z.ZodError };

/**
 * Validates `data` (a parsed profile file, or an object a library user built) and returns the
 * profile, or the zod error (its issues have paths; src/profile/ formats them with file:line:col).
 * Never throws.
 */
export function parseCostProfile(
  data: unknown,
  params?: z.core.ParseContext<z.core.$ZodIssue>,
): ParseCostProfileResult {
  const r = CostProfileDataSchema.safeParse(data, params);
  return r.success ? { ok: true, profile: costProfileFromData(r.data) } : { ok: false, error: r.error };
}

/**
 * Problems with a CostProfile object that did not come from `costProfileFromData` (a library
 * user's own, passed to simulate()): every parameter present with a value in its range and
 * `values` agreeing with `parameters`. Empty when it is fine. Never throws.
 */
export function costProfileProblems(profile: CostProfile): string[] {
  const out: string[] = [];
  if (typeof profile !== 'object' || profile === null) return ['a cost profile must be an object'];
  if (!(TRANSFER_MODELS as readonly unknown[]).includes(profile.transferModel)) {
    out.push(`transferModel must be one of ${TRANSFER_MODELS.join(', ')}`);
  }
  if (typeof profile.values !== 'object' || profile.values === null) return [...out, 'values is missing'];
  for (const name of COST_PARAMETER_NAMES) {
    const v: unknown = profile.values[name];
    if (typeof v !== 'number') {
      out.push(`${name}: missing`);
      continue;
    }
    for (const m of costValueProblems(name, v)) out.push(`${name}: ${m}`);
    const param = profile.parameters?.[name];
    if (param === undefined || param.value !== v)
      out.push(`${name}: parameters.${name}.value differs from values.${name}`);
  }
  return out;
}

/** Whether two profiles have the same name, description, model and parameters. */
export function sameCostProfile(a: CostProfile, b: CostProfile): boolean {
  return JSON.stringify(costProfileToData(a)) === JSON.stringify(costProfileToData(b));
}

// ---------------------------------------------------------------------------------------------
// The built-in profiles (profiles/*.yaml, compiled into builtin-profiles/)

/** The name of a built-in profile. */
export type CostProfileName = 'pcie4-a100' | 'pcie5-h100' | 'gh200-c2c' | 'uvmsmart-gtx1080ti';

/** The built-in profiles' names, in doc order. */
const PROFILE_NAMES: readonly CostProfileName[] = Object.freeze([
  'pcie4-a100',
  'pcie5-h100',
  'gh200-c2c',
  'uvmsmart-gtx1080ti',
]);

/** The profile used when a scenario names none. */
export const DEFAULT_PROFILE_NAME: CostProfileName = 'pcie4-a100';

/** The built-in profiles by name, frozen. */
export const PROFILES: Readonly<Record<CostProfileName, CostProfile>> = Object.freeze(
  Object.fromEntries(
    PROFILE_NAMES.map((n) => {
      const data = BUILTIN_PROFILE_DATA.find((d) => d.name === n);
      if (!data)
        throw new Error(`model bug: no built-in profile data for "${n}" (run scripts/gen-profiles.mjs)`);
      return [n, costProfileFromData(data)];
    }),
  ) as Record<CostProfileName, CostProfile>,
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

// ---------------------------------------------------------------------------------------------
// Overrides

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
    // The catalogue's range, as a profile file's value is checked (costValueProblems).
    const range = costValueProblems(key, value);
    if (range.length > 0) {
      problems.push(`cost parameter "${key}": ${range[0]}`);
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
// Citations: a measured or published number names where it is written, and what is written there

/** Scaled units a source may write a value in, per parameter unit: [factor, names]. */
const CITED_SCALES: Readonly<Partial<Record<CostUnit, readonly (readonly [number, readonly string[]])[]>>> = {
  ns: [
    [1e3, ['us', 'µs', 'usec']],
    [1e6, ['ms', 'msec']],
    [1e9, ['s']],
  ],
  B: [
    [1024, ['KiB', 'KB']],
    [1024 ** 2, ['MiB', 'MB']],
    [1024 ** 3, ['GiB', 'GB']],
    [1024 ** 4, ['TiB', 'TB']],
  ],
  'GB/s': [
    [1e-3, ['MB/s', 'MB/sec']],
    [1e3, ['TB/s']],
  ],
};

/** `x` as a source may write it: plain, and with thousands separated by commas. */
function writtenForms(x: number): string[] {
  const plain = String(Number(x.toPrecision(12)));
  const [int = '', frac] = plain.split('.');
  return [...new Set([plain, `${groupThousands(int)}${frac === undefined ? '' : `.${frac}`}`])];
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** Whether `text` states `value` (in `unit`, or a scaled unit named right after the number). */
function statesValue(text: string, value: number, unit: CostUnit): boolean {
  // A number on its own: not part of a longer number ("256" is not in "1256" or "2.56").
  const alone = (f: string) => new RegExp(`(?<![\\d.,])${escapeRegExp(f)}(?!\\d|[.,]\\d)`);
  if (writtenForms(value).some((f) => alone(f).test(text))) return true;
  for (const [factor, names] of CITED_SCALES[unit] ?? []) {
    for (const f of writtenForms(value / factor)) {
      for (const n of names) {
        if (new RegExp(`(?<![\\d.,])${escapeRegExp(f)} ?${escapeRegExp(n)}(?![A-Za-z])`).test(text))
          return true;
      }
    }
  }
  return false;
}

/**
 * Whether a parameter's citation can be checked, as a string saying what is missing, or
 * undefined. A `measured` or `published` parameter must name where its number is written (an
 * http(s) URL in `source`) and what is written there: its `source` or `note` states the value,
 * as a number in the parameter's unit (256, 2,000, 0.5) or in a scaled unit written right after
 * the number (10 ms for 10,000,000 ns, 128 GiB or 131072 MiB for 137,438,953,472 B, 2 TB/s or
 * 2,000,000 MB/s for 2,000 GB/s). `conditions` does not count: it is this project's words. So a
 * reader can open the URL and search for the number; the check cannot tell whether it is there.
 * `derived` and `assumed` parameters show arithmetic or reasoning instead (schema-checked
 * prefixes) and pass. Never throws.
 */
export function citationProblem(p: CostParameter): string | undefined {
  if (p.kind !== 'measured' && p.kind !== 'published') return undefined;
  const problems: string[] = [];
  if (!/https?:\/\/\S/.test(p.source)) problems.push('no http(s) URL in its source');
  if (!statesValue(`${p.source}\n${p.note ?? ''}`, p.value, p.unit))
    problems.push(
      `neither its source nor its note states the value ${formatNumber(p.value)} ${p.unit} (quote the source's number)`,
    );
  return problems.length > 0 ? `${p.name} (${p.kind}): ${problems.join('; ')}` : undefined;
}

// ---------------------------------------------------------------------------------------------
// Transfer-time arithmetic

const KiB = 1024;

/** Bytes per ns in one GiB/s (UVMSmart's curve is in GiB/s: it divides by 1024^3). */
export const BYTES_PER_NS_PER_GIB_S = (1024 * 1024 * KiB) / 1e9;

/** UVMSmart `calculate_transfer_time`: bandwidth in GiB/s for one transfer of `bytes`. */
function uvmSmartCurveGiBps(a: number, b: number, threshold: number, factor: number, bytes: number): number {
  let speed = ((2 * a) / Math.PI) * Math.atan((b * bytes) / KiB);
  if (bytes >= threshold) speed *= factor;
  return speed;
}

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
// Number formatting (deterministic: no locale)

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

// ---------------------------------------------------------------------------------------------
// Naming a profile: a built-in name or a file

/**
 * Whether `ref` names a profile file rather than a built-in profile: it has a path separator or
 * ends in .yaml, .yml or .json. (A bare name is always a built-in's, so `pcie4-a100` never reads
 * a file of that name by accident.) Never throws.
 */
export function isProfilePath(ref: string): boolean {
  return /[/\\]/.test(ref) || /\.(ya?ml|json)$/i.test(ref);
}

/**
 * The message for a profile reference that is neither a built-in name nor a path, in the
 * scenario loader's style ("expected ..., found ... (did you mean ...?)"); undefined when `ref`
 * is fine. Never throws.
 */
export function profileRefProblem(ref: string): string | undefined {
  if (isProfileName(ref) || isProfilePath(ref)) return undefined;
  const guess = didYouMean(ref, PROFILE_NAMES);
  return `expected one of ${PROFILE_NAMES.join(', ')} or a profile file (a path ending in .yaml, like ./my-machine.yaml), found '${ref}'${guess ? ` (did you mean '${guess}'?)` : ''}`;
}

/**
 * The CostProfile a SimConfig's `profile` stands for: a built-in's name, or a CostProfile object
 * (a profile file read at the edge: src/profile/; or one a library user built, checked with
 * `costProfileProblems`). Throws an Error saying what is wrong: simulate() turns it into a
 * ConfigError (configProfile in config.ts). A path is refused with a hint, since the simulator reads no files.
 */
export function resolveProfile(profile: string | CostProfile): CostProfile {
  if (typeof profile === 'string') {
    if (!isProfileName(profile) && isProfilePath(profile)) {
      throw new Error(
        `profile '${profile}' is a file: read it first (readProfileFile or resolveConfigProfile from src/profile/, as the hmmlab command line does); simulate() reads no files`,
      );
    }
    return getProfile(profile);
  }
  if (isProfileName(profile?.name) && PROFILES[profile.name] === profile) return profile;
  const problems = costProfileProblems(profile);
  if (problems.length > 0) {
    throw new Error(`cost profile '${String(profile?.name)}': ${problems.join('; ')}`);
  }
  return profile;
}
