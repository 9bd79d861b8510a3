/**
 * The cost profile's types: kinds, units, groups, a parameter and a profile.
 * Part of the cost profile (src/sim/costs.ts, which re-exports the public API). No Linux
 * counterpart: this is data about hardware and the kernel, with its sources.
 */
import type { CostParameterName } from './parameters.js';

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
export const INTEGER_UNITS: ReadonlySet<CostUnit> = new Set<CostUnit>(['count', 'B']);

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

export interface ParameterSpec {
  readonly group: CostGroup;
  readonly unit: CostUnit;
  readonly value: number;
  readonly kind: CostKind;
  readonly conditions: string;
  readonly source: string;
  readonly note?: string;
}

export interface OverrideSpec {
  readonly value: number;
  readonly kind: CostKind;
  readonly conditions: string;
  readonly source: string;
  readonly note?: string;
}

// ---------------------------------------------------------------------------------------------
// Constants used by derivations
