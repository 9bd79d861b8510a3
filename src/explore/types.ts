/**
 * The race explorer's results, as plain JSON: what `hmmlab explore --json` prints, what the
 * results store keeps (table `explorations`) and what the viewer draws.
 */

/** The invariants the explorer checks (docs/explorer.md). */
export type InvariantName =
  /** A device accessed a page through a translation made before an invalidation of it began. */
  | 'notifier-contract'
  /** A read returned bytes other than the last written. */
  | 'data'
  /** A device accessed memory of a revoked or removed pagemap. */
  | 'revoked-pagemap'
  /** At quiescence, refcounts or mapcounts do not balance, or something is still locked. */
  | 'quiescence'
  /** A cycle of steps in which agents run but no operation finishes. */
  | 'livelock'
  /** No agent can run, yet some operation has not finished. */
  | 'deadlock'
  /** An operation took more steps than the progress bound. */
  | 'progress';

/** One step of a schedule: an agent ran from one yield point to the next. */
export interface ExploreStep {
  /** 0-based position in the schedule. */
  index: number;
  /** The agent that ran: `cpu0`, `gpu0.fault`, `nic0`, `unplug`, ... */
  agent: string;
  /** The yield point it stopped at (`hmm_walk_pmd_unlock`, `migrate_lock_page`, ...) or `done`. */
  step: string;
  /** The kernel or driver call it was in, e.g. `hmm_range_fault`. */
  call: string;
  /** What changed in the shared state, in words (may be empty). */
  change: string;
}

export interface Violation {
  invariant: InvariantName;
  message: string;
  /** For a livelock: the index of the first step of the cycle (the cycle runs to the end). */
  cycleStart?: number;
}

/** The shortest schedule found that breaks an invariant. */
export interface Counterexample {
  /** Replays it exactly: `hmmlab explore <scenario> --replay <schedule>`. */
  schedule: string;
  steps: ExploreStep[];
  violation: Violation;
}

export interface Coverage {
  /** Distinct states visited (after hashing). */
  states: number;
  /** Steps executed, revisits included. */
  transitions: number;
  /** Revisits pruned by the state hash. */
  pruned: number;
  /** Steps skipped by partial-order reduction. */
  reduced: number;
  /** Longest schedule explored. */
  maxDepth: number;
  /** Schedules run to the end (random mode) or finished paths (exhaustive mode). */
  schedules: number;
  /** True when every interleaving within the bounds was covered (exhaustive mode, no bound hit). */
  complete: boolean;
  /** Which bound stopped the search, if one did. */
  boundHit?: 'max-states' | 'max-depth';
}

export interface ExploreResult {
  /** The scenario's name. */
  scenario: string;
  mode: 'exhaustive' | 'random' | 'replay';
  /** Agents of the configuration, in schedule-string order. */
  agents: string[];
  coverage: Coverage;
  /** Null when no invariant failed within the bounds. */
  counterexample: Counterexample | null;
  /** Replay mode only: the timeline run, failing or not. */
  replay?: ReplayInfo;
}

/** What a replay ran (`hmmlab explore --replay`). */
export interface ReplayInfo {
  /** Choices the schedule string gave. */
  given: number;
  /**
   * True when the schedule ended before the run did and the rest ran by the default choice:
   * the lowest-numbered agent that can run (the first branch exhaustive search takes).
   */
  continued: boolean;
  /** The schedule run in all, the continuation included: replaying it reproduces this run. */
  schedule: string;
  steps: ExploreStep[];
  /**
   * Set when the continuation stopped before every agent finished: at the replay's depth bound
   * (`max-depth`), or because the default choice came back to a state it had left (`cycle`: it
   * would repeat forever; not a livelock, since the cycle is not weakly fair or an operation
   * finishes in it).
   */
  stopped?: 'max-depth' | 'cycle';
}
