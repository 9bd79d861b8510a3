/**
 * The race explorer's results, as plain JSON: what `hmmlab explore --json` prints, what the
 * results store keeps (table `explorations`) and what the viewer draws.
 */

/** The invariants the explorer checks itself (docs/explorer.md). */
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
  | 'progress'
  /** An agent threw an exception (a bug in the driver or the model it runs against). */
  | 'crash';

/** The explorer's own invariants, in the order docs/explorer.md lists them. */
export const BUILTIN_INVARIANTS: readonly InvariantName[] = [
  'notifier-contract',
  'data',
  'revoked-pagemap',
  'quiescence',
  'livelock',
  'deadlock',
  'progress',
  'crash',
];

/**
 * An invariant a race model declares (`RaceWorld.invariants`), checked after every step: `check`
 * returns a message when the invariant is broken, null when it holds. A violation carries its
 * `name`. A name is letters, digits, `.`, `_` and `-`, and is not one of the built-in ones.
 */
export interface NamedInvariant {
  name: string;
  check(): string | null;
}

/** A built-in invariant, or one a model declares (NamedInvariant). */
export type ViolationName = InvariantName | (string & {});

/**
 * What an exploration concluded: the invariant a counterexample breaks; `clean` when no
 * invariant failed and the search covered everything within its bounds (exhaustive) or every
 * schedule ran to its end (random); `inconclusive` when no invariant failed but a bound
 * (`--max-states`, `--max-depth`) cut the search short.
 */
export type Verdict = ViolationName | 'clean' | 'inconclusive';
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
  invariant: ViolationName;
  message: string;
  /** Set when `invariant` is one the model declares (NamedInvariant), not a built-in one. */
  custom?: true;
  /** For a livelock: the index of the first step of the cycle (the cycle runs to the end). */
  cycleStart?: number;
}

/** A schedule that breaks an invariant. */
export interface Counterexample {
  /** Replays it exactly: `hmmlab explore <scenario> --replay <schedule>`. */
  schedule: string;
  steps: ExploreStep[];
  violation: Violation;
  /**
   * How short it is (exploration only, not replay): the search's first counterexample
   * (exhaustive mode: the shortest path to its failing state among the edges the search
   * recorded; random mode: the schedule as run), then shrunk: steps removed while replay still
   * breaks the same invariant. Not necessarily the shortest of all.
   */
  shrink?: Shrink;
}

/** What shrinking a counterexample did. */
export interface Shrink {
  /** Steps of the counterexample as first found. */
  from: number;
  /** Replays tried. */
  tries: number;
  /**
   * True when no single step of the result can be removed (the last pass removed nothing);
   * false when the budget of tries ran out first.
   */
  minimal: boolean;
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
  /**
   * Which bound stopped the search, if one did: `max-states` when the state bound ended it,
   * else `max-depth` when some schedule was cut at the depth bound.
   */
  boundHit?: 'max-states' | 'max-depth';
  /** Schedules cut at the depth bound before they ended (paths in exhaustive mode), when any. */
  depthCut?: number;
}

/** The bounds a search ran under. */
export interface Bounds {
  /** Exhaustive mode: distinct states before the search stops. */
  maxStates?: number;
  /** Longest schedule run. */
  maxDepth: number;
}

export interface ExploreResult {
  /** The scenario's name. */
  scenario: string;
  mode: 'exhaustive' | 'random' | 'replay';
  /** Agents of the configuration, in schedule-string order. */
  agents: string[];
  /**
   * The invariant the counterexample breaks, `clean` or `inconclusive` (see Verdict). A replay
   * says `clean` when no invariant failed in the steps it ran. Always set by `explore` and
   * `replaySchedule`; absent from results stored before it existed (read those as the
   * counterexample's invariant, else `clean`).
   */
  verdict?: Verdict;
  /** The bounds the search ran under (absent from results stored before it existed). */
  bounds?: Bounds;
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
