/**
 * hmmlab: an executable model of Linux HMM.
 *
 * The process-level interface (Machine, Process, SegvError) is what a test or an experiment
 * drives; the kernel API (hmmRangeFault, mmu interval notifiers, migrate_vma_*,
 * dev_pagemap, make_device_exclusive) is what drivers are written against. Inside the model,
 * errors are Linux errno values returned as negative numbers; exceptions mean a bug in the
 * model (or a driver bug the kernel would hang on, KernelHang).
 */

export { checkInvariants, stateDigest } from './check/invariants.js';
export {
  type HmmFixture,
  runSelftest,
  type SelftestCase,
  type SelftestResult,
  type Variant,
} from './conformance/harness.js';
export { HMM_TESTS } from './conformance/hmm-tests.js';
export {
  type ClientBinding,
  DESIGN_NAMES,
  type DesignCounters,
  type DesignName,
  type P2pDesign,
  type P2pMapType,
} from './designs/design.js';
export { createDesign } from './designs/designs.js';
export { Dmirror, DmirrorDevice } from './drivers/dmirror.js';
export {
  GpuDevice,
  GpuMirror,
  type GpuOptions,
  type GpuStats,
  PLACEMENT_POLICIES,
  type PlacementPolicy,
} from './drivers/gpu.js';
export { OdpMr, RdmaNic, type RdmaOptions, type RdmaStats } from './drivers/rdma.js';
// The race explorer (hmmlab explore): write a RaceModel against the kernel API and explore it.
export {
  type Agent,
  type AgentYield,
  decodeSchedule,
  type ExploreOptions,
  encodeSchedule,
  explore,
  ModelError,
  type RaceModel,
  type RaceWorld,
  replay,
  replaySchedule,
  ScheduleError,
  type StepNote,
  type Wait,
} from './explore/explorer.js';
export { PROBLEMS, type ProblemName, type ProblemSpec, problemModel } from './explore/problems.js';
export { loadRaceFile, type RaceFile } from './explore/scenario.js';
export type {
  Counterexample,
  Coverage,
  ExploreResult,
  ExploreStep,
  InvariantName,
  NamedInvariant,
  Verdict,
  Violation,
} from './explore/types.js';
export {
  type CpuPte,
  type DeviceEntry,
  Fence,
  KernelWorld,
  kernelSteps,
  SvmDevice,
} from './explore/world.js';
export * from './kernel/constants.js';
export {
  DMA_MAPPING_ERROR,
  DmaDevice,
  hmmDmaMapAlloc,
  hmmDmaMapFree,
  hmmDmaMapPfn,
  hmmDmaUnmapPfn,
} from './kernel/dma.js';
export { FrameTable } from './kernel/frames.js';
export { HMM_P2P_FAULT, type HmmP2pHook, HmmRange, hmmRangeFault, hmmRangeFaultSteps } from './kernel/hmm.js';
// Kernel API for drivers and experiments.
export { Kernel, type KernelObserver, type KernelOptions, type ThpMode } from './kernel/kernel.js';
export { getUserPages, handleMmFault, putUserPages } from './kernel/memory.js';
export { DevPagemap, type DevPagemapOps, KernelHang, type VmFault } from './kernel/memremap.js';
export {
  type MigrateVma,
  makeDeviceExclusive,
  makeDeviceExclusiveSteps,
  migrateDeviceCoherentFolio,
  migrateDeviceFinalize,
  migrateDevicePages,
  migrateDevicePfns,
  migrateDeviceRange,
  migratePfn,
  migratePfnToPfn,
  migrateVmaFinalize,
  migrateVmaPages,
  migrateVmaSetup,
} from './kernel/migrate_device.js';
export { AnonVma, Inode, Mm, Vma } from './kernel/mm.js';
export {
  MmuIntervalNotifier,
  type MmuIntervalNotifierOps,
  type MmuNotifierRange,
  MmuNotifierSubscriptions,
  mmuIntervalCheckRetry,
  mmuIntervalNotifierRemoveSteps,
  mmuIntervalReadBegin,
  mmuIntervalReadBeginSteps,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
} from './kernel/mmu_notifier.js';
// PCI peer-to-peer, DMA mapping, the P2P designs and the RDMA NIC.
export {
  type P2pdmaMapType,
  PciTopology,
  type PciTopologySpec,
  TopologySpecError,
  UnknownPciDeviceError,
} from './kernel/p2pdma.js';
// Cost profile files.
export {
  applyRecordedProfile,
  loadProfile,
  type ProfileChoice,
  readProfileRef,
  recordedProfile,
  resolveConfigProfile,
} from './profile/index.js';
// Scenario files.
export {
  formatScenarioError,
  loadScenario,
  type Scenario,
  type ScenarioError,
  scenarioJsonSchema,
} from './scenario/index.js';
export { type CompareRow, compare, renderCompareMarkdown } from './sim/compare.js';
export {
  type CostParameter,
  type CostProfile,
  type CostProfileData,
  CostProfileDataSchema,
  costProfileFromData,
  costProfileToData,
  getProfile,
  PROFILES,
  parseCostProfile,
  profileNames,
  transferBandwidth,
  transferTimeNs,
  withOverrides,
} from './sim/costs.js';
export { Condition, Engine, Signal } from './sim/engine.js';
export { Fabric, Link } from './sim/links.js';
export { CopyEngine, CpuPool, Server } from './sim/resources.js';
export { Rng } from './sim/rng.js';
// Simulated time.
export {
  type BufferConfig,
  ConfigError,
  type ConfigIssue,
  type CpuWorkload,
  type DeviceMetrics,
  type GpuConfig,
  type GpuWorkload,
  measureCopyBandwidth,
  parseConfig,
  type SimConfig,
  type SimConfigInput,
  type SimEvent,
  type SimOptions,
  type SimResult,
  simulate,
  type WorkloadConfig,
  type WorkloadMetrics,
} from './sim/simulate.js';
// The record a stored scenario text carries of its profile and --set overrides.
export { type Recorded, type RecordedProfileRef, readRecorded, withRecorded } from './store/recorded.js';
export { Machine, type MachineOptions, Process, SegvError } from './uapi/machine.js';
export * from './uapi/test_hmm_uapi.js';
