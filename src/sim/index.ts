/**
 * `hmmlab/sim`: simulated time. simulate() runs a configuration (buffers, GPUs, NICs,
 * workloads) and returns metrics and the event log; the engine, links and resources are the
 * parts it is built from.
 */

/** The cost profile: parameters with value, unit, kind and source; named profiles. */
export {
  type CostProfile,
  getProfile,
  PROFILES,
  profileNames,
  transferTimeNs,
  withOverrides,
} from './costs.js';
/** The event engine: Engine, Process, Signal, Condition, Wait, and the seeded Rng. */
export {
  Condition,
  Engine,
  type EngineObserver,
  Process,
  Rng,
  Signal,
  type Wait,
  type Waitable,
} from './engine.js';
/** Links with max-min fair bandwidth sharing and the Fabric of paths over them. */
export { duplexLink, Fabric, type FlowInfo, Link, type TransferResult } from './links.js';
/** FIFO servers with busy-time accounting: Server, CpuPool, CopyEngine. */
export { CopyEngine, CpuPool, Server } from './resources.js';
/**
 * simulate() and its configuration (the scenario format: parseConfig runs an object through its
 * schema), options, events and results; ConfigError for a bad configuration.
 */
export {
  type BufferConfig,
  ConfigError,
  type ConfigIssue,
  type CpuWorkload,
  configProfile,
  type DeviceMetrics,
  type GpuConfig,
  type GpuWorkload,
  parseConfig,
  type RdmaWorkload,
  type SimConfig,
  type SimConfigInput,
  type SimEvent,
  type SimOptions,
  type SimResult,
  simulate,
  type WorkloadConfig,
} from './simulate.js';
