/**
 * Sweeps: a scenario run over a grid or list of parameter values (sweep.ts), on worker threads
 * (run.ts, worker.ts).
 */
export {
  type ProgressReporter,
  progressReporter,
  type RunSweepOptions,
  runSweep,
  type SweepResult,
} from './run.js';
export { MAX_SHARDS, parseShard, type Shard, ShardSpecError, shardPoints } from './shard.js';
export {
  countSweepPoints,
  type ExpandOptions,
  type ExpandResult,
  expandSweep,
  formatSweepError,
  loadSweepFile,
  MAX_SWEEP_POINTS,
  parseSweep,
  SWEEP_VERSIONS,
  type Sweep,
  type SweepLoadOptions,
  type SweepLoadResult,
  type SweepParseResult,
  type SweepPoint,
  SweepSchemaV1,
} from './sweep.js';
export type { SweepTask } from './worker.js';
