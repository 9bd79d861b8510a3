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
 * The module is pure data and arithmetic: no I/O, no clock, no randomness. It re-exports its
 * parts from costs/: types.ts, parameters.ts (the base table), profiles.ts, transfer.ts, doc.ts.
 */
export { formatNumber, renderCostsMarkdown } from './costs/doc.js';
export {
  BYTES_PER_NS_PER_GIB_S,
  COST_PARAMETER_NAMES,
  type CostParameterName,
  isCostParameterName,
} from './costs/parameters.js';
export {
  type CostProfileName,
  DEFAULT_PROFILE_NAME,
  didYouMean,
  editDistance,
  getProfile,
  isProfileName,
  PROFILES,
  profileNames,
  type WithOverridesResult,
  withOverrides,
} from './costs/profiles.js';
export {
  modelledValidationBandwidth,
  TRANSFER_DIRECTIONS,
  TRANSFER_VALIDATION_POINTS,
  type TransferDirection,
  type TransferValidationPoint,
  transferBandwidth,
  transferTimeNs,
  UNPARAMETERISED_ANCHORS,
  type UnparameterisedAnchor,
} from './costs/transfer.js';
export {
  COST_GROUP_TITLES,
  COST_KINDS,
  type CostGroup,
  type CostKind,
  type CostParameter,
  type CostProfile,
  type CostUnit,
  type TransferModel,
} from './costs/types.js';
