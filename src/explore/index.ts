/**
 * `hmmlab/explore`: the race explorer and what race models are built from. Write a RaceModel
 * whose agents are generators over the kernel model (hmmlab/kernel), then `explore` it
 * exhaustively or randomly, or `replaySchedule` a counterexample.
 */

/** The explorer: agents and their yields (Wait, StepNote), RaceModel/RaceWorld, explore, replay and schedule strings (ScheduleError for a bad one; ModelError for a model that cannot be explored as written). */
export {
  type Agent,
  type AgentYield,
  decodeSchedule,
  type ExploreOptions,
  encodeSchedule,
  explore,
  ModelError,
  modelInvariants,
  type RaceModel,
  type RaceWorld,
  type ReplayOptions,
  type ReplayResult,
  replay,
  replaySchedule,
  ScheduleError,
  SHRINK_TRIES,
  type StepNote,
  type Wait,
} from './explorer.js';
/** Model-writing parts: raceWorld, agent, and the locks Mutex and Rwsem. */
export { agent, Mutex, Rwsem, raceWorld } from './kit.js';
/** The built-in race problems of scenarios/races/. */
export { PROBLEMS, type ProblemName, type ProblemSpec, problemModel, type Variant } from './problems.js';
/** Race files (YAML): loadRaceFile returns the file or throws a scenario error with line:col. */
export { loadRaceFile, type RaceFile } from './scenario.js';
/** Results as plain JSON: ExploreResult, Counterexample, Coverage, Verdict, the invariant names; NamedInvariant (a model's own invariant). */
export {
  type Bounds,
  BUILTIN_INVARIANTS,
  type Counterexample,
  type Coverage,
  type ExploreResult,
  type ExploreStep,
  type InvariantName,
  type NamedInvariant,
  type ReplayInfo,
  type Shrink,
  type Verdict,
  type Violation,
  type ViolationName,
} from './types.js';
/** Worlds: KernelWorld (a machine, a process and the invariants), SvmDevice, Fence, kernelSteps (kernel steps inside an agent). */
export { type CpuPte, type DeviceEntry, Fence, KernelWorld, kernelSteps, SvmDevice } from './world.js';
