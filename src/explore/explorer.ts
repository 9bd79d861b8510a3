/**
 * The race explorer: runs the agents of a race model (CPU threads, device fault handlers,
 * migration workers, hot unplug) as resumable steps and checks invariants after every step,
 * over one seeded random interleaving at a time or over every interleaving of a small
 * configuration.
 *
 * Scheduling model (a non-preemptible kernel, as most distribution kernels are built):
 * - An agent runs from one yield to the next atomically; what runs between two yields of the
 *   kernel model is what runs under one lock there.
 * - An agent that yields a `Wait` sleeps until its condition holds (a lock, a fence, a folio
 *   unlock); it is not schedulable meanwhile.
 * - Agents pinned to one CPU share it: once one has started and not yet slept or finished, the
 *   others on that CPU cannot run (nothing preempts kernel code). Agents without a `cpu` each
 *   have their own.
 *
 * Exhaustive mode is stateless search with replay: a world cannot be copied (agents are
 * generators), so going back in the search rebuilds the world and replays the schedule
 * prefix. States are hashed (the model's `digest` plus each agent's `local` state) to prune
 * revisits. A back edge to a state on the search stack closes a cycle; if the cycle is weakly
 * fair (no agent stays enabled all along it without running) and no operation finishes in it,
 * it is a livelock. Every operation must also finish within `maxOpSteps` of its agent's steps.
 *
 * Counterexamples start as the shortest schedule to the failing state among the edges the
 * search recorded (a breadth-first search over them; in random mode, the schedule as run) and
 * are then shrunk: steps are removed (and adjacent steps swapped) while a replay still breaks
 * the same invariant, until no single step can be removed or a budget of replays runs out.
 * The result is short, not provably the shortest; `Counterexample.shrink` says what was done.
 * The recorded graph and the searches over it (fair cycles, strongly connected components,
 * shortest paths) are in state-graph.ts.
 *
 * An exception thrown while an agent runs (its body, the kernel calls it makes, its `until` or
 * `local`), or by a model's named invariant, is a `crash` violation with the schedule that led
 * to it, not the end of the exploration.
 */
import { Rng } from '../sim/rng.js';
import { fairComponent, fairCycle, type Node, shortestPath } from './state-graph.js';
import {
  BUILTIN_INVARIANTS,
  type Counterexample,
  type Coverage,
  type ExploreResult,
  type ExploreStep,
  type NamedInvariant,
  type ReplayInfo,
  type Shrink,
  type Verdict,
  type Violation,
} from './types.js';

/** A yield that puts the agent to sleep until `until()` holds. */
export interface Wait {
  wait: string;
  until: () => boolean;
  /** The kernel or driver call it sleeps in. */
  call?: string;
}

/** A yield with more than a label. */
export interface StepNote {
  step: string;
  call?: string;
  /**
   * The step just run touched nothing another agent reads or writes: the explorer runs the
   * agent's next step at once instead of branching (partial-order reduction).
   */
  local?: boolean;
}

export type AgentYield = string | Wait | StepNote;

export interface Agent {
  name: string;
  /** CPU the agent is pinned to (agents on one CPU do not preempt each other). */
  cpu?: number;
  body: Generator<AgentYield, void, void>;
  /**
   * Everything the agent's future depends on besides the shared state (its phase, retry mode,
   * what it has read so far), as a string. Two states with equal digests and equal locals must
   * behave the same: the search prunes on it. Default: the last label yielded.
   */
  local?: () => string;
  /** The kernel/driver call the agent is in, for the timeline (default: the last label). */
  call?: () => string;
}

/** One fresh instance of a race model: the shared world and its agents. */
export interface RaceWorld {
  agents: Agent[];
  /** The shared state, canonical (pfn numbers abstracted), for hashing. */
  digest(): string;
  /** A readable view of the shared state, key by key, for the timeline's "what changed". */
  describe(): Map<string, string>;
  /** A violation the last step caused (device access checks record them), or null. */
  takeViolation(): Violation | null;
  /** Checks once every agent has finished: refcounts, mapcounts, locks, device views. */
  quiescent(): Violation | null;
  /** Operations finished so far (all agents together). */
  opsDone(): number;
  /**
   * Invariants of the model's own, checked after every step (after the world's own checks);
   * a violation carries the invariant's name. Names are unique and not a built-in invariant's.
   */
  invariants?: readonly NamedInvariant[];
}

/**
 * A race model that cannot be explored as written: an invalid invariant name, or a world that
 * does not replay its own schedules (create() must build a fresh, deterministic world each
 * time). `hmmlab explore` prints the message and exits 2.
 */
export class ModelError extends Error {}

const INVARIANT_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** Checks the names of a world's invariants; throws ModelError for a bad one. */
function checkInvariantNames(model: string, invs: readonly NamedInvariant[]): void {
  const seen = new Set<string>();
  for (const inv of invs) {
    const name = (inv as { name?: unknown }).name;
    if (typeof name !== 'string' || !INVARIANT_NAME.test(name))
      throw new ModelError(
        `model '${model}': invariant name ${JSON.stringify(name)} is not a name (letters, digits, '.', '_', '-')`,
      );
    if ((BUILTIN_INVARIANTS as readonly string[]).includes(name))
      throw new ModelError(
        `model '${model}': invariant name '${name}' is a built-in invariant's; give yours a name of its own`,
      );
    if (seen.has(name)) throw new ModelError(`model '${model}': two invariants are named '${name}'`);
    if (typeof inv.check !== 'function')
      throw new ModelError(`model '${model}': invariant '${name}' has no check() function`);
    seen.add(name);
  }
}

/** An exception as one line: its class, message and where it was thrown (no stack trace). */
function thrown(e: unknown): string {
  if (!(e instanceof Error)) return `a non-Error value: ${String(e)}`;
  const first = e.message.split('\n')[0];
  const at = /\n\s+at (?:[^\n]*? \()?([^\s()]+:\d+:\d+)\)?/.exec(e.stack ?? '')?.[1];
  return `${e.name}: ${first}${at ? ` (at ${at.replace(/^file:\/\//, '')})` : ''}`;
}

export interface RaceModel {
  name: string;
  description: string;
  create(): RaceWorld;
}

export interface ExploreOptions {
  mode: 'exhaustive' | 'random';
  /** Random mode: schedules to run. */
  runs?: number;
  seed?: number;
  maxStates?: number;
  maxDepth?: number;
  /** Steps one agent may take inside one operation before it is a progress violation. */
  maxOpSteps?: number;
  /**
   * Shrink a counterexample (see the module comment): `true` (the default) with a budget of
   * SHRINK_TRIES replays, a number for another budget, `false` to keep it as found.
   */
  shrink?: boolean | number;
}

/**
 * Replays shrinking may try by default. Each costs a world and up to the counterexample's
 * length in steps; of the built-in problems multi-device-migrate's livelock takes the most,
 * 149 (43 steps shrunk to 29).
 */
export const SHRINK_TRIES = 500;

class Exec {
  readonly world: RaceWorld;
  readonly agents: Agent[];
  readonly done: boolean[];
  readonly waits: (Wait | null)[];
  readonly labels: string[];
  readonly calls: string[];
  /** Steps since the agent's operation count last changed. */
  readonly opSteps: number[];
  /** Agent holding each CPU (started, not asleep, not done), or -1. */
  readonly cpuHolder = new Map<number, number>();
  reduced = 0;
  lastLocal = false;
  /** A crash (an exception in agent code or an invariant check) not yet reported. */
  private crashed: Violation | null = null;
  private readonly invariants: readonly NamedInvariant[];

  constructor(model: RaceModel) {
    try {
      this.world = model.create();
    } catch (e) {
      throw new ModelError(`model '${model.name}': create() threw ${thrown(e)}`);
    }
    this.agents = this.world.agents;
    this.invariants = this.world.invariants ?? [];
    if (this.invariants.length > 0) checkInvariantNames(model.name, this.invariants);
    const n = this.agents.length;
    this.done = new Array(n).fill(false);
    this.waits = new Array(n).fill(null);
    this.labels = new Array(n).fill('start');
    this.calls = new Array(n).fill('');
    this.opSteps = new Array(n).fill(0);
  }

  /** Records a crash (the first one counts). */
  private crash(message: string): void {
    this.crashed ??= { invariant: 'crash', message };
  }

  /** A crash recorded since the last call, if any. */
  takeCrash(): Violation | null {
    const c = this.crashed;
    this.crashed = null;
    return c;
  }

  /**
   * What the step agent `a` just ran broke, if anything: a crash, the world's own checks, the
   * model's named invariants, then progress.
   */
  violation(a: number, maxOp: number): Violation | null {
    return (
      this.takeCrash() ??
      this.world.takeViolation() ??
      this.invariantViolation() ??
      progressViolation(this, a, maxOp)
    );
  }

  /** The first of the model's named invariants that does not hold (or whose check throws). */
  invariantViolation(): Violation | null {
    for (const inv of this.invariants) {
      let msg: string | null;
      try {
        msg = inv.check();
      } catch (e) {
        return { invariant: 'crash', message: `invariant '${inv.name}' threw ${thrown(e)}` };
      }
      if (msg !== null) return { invariant: inv.name, message: msg, custom: true };
    }
    return null;
  }

  enabled(i: number): boolean {
    if (this.done[i]) return false;
    const w = this.waits[i];
    if (w && !this.until(i, w)) return false;
    const cpu = this.agents[i]!.cpu;
    if (cpu !== undefined) {
      const h = this.cpuHolder.get(cpu);
      if (h !== undefined && h !== i) return false;
    }
    return true;
  }

  enabledSet(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.agents.length; i++) if (this.enabled(i)) out.push(i);
    return out;
  }

  /** A sleeping agent's wake-up condition; one that throws is a crash (and keeps it asleep). */
  private until(i: number, w: Wait): boolean {
    try {
      return w.until();
    } catch (e) {
      this.crash(`${this.agents[i]!.name}'s wait condition (${w.wait}) threw ${thrown(e)}`);
      return false;
    }
  }

  /** Runs agent i to its next yield. Returns the step for the timeline. */
  step(i: number, index: number, before: Map<string, string> | null): ExploreStep {
    const a = this.agents[i]!;
    const ops0 = this.world.opsDone();
    this.waits[i] = null;
    if (a.cpu !== undefined) this.cpuHolder.set(a.cpu, i);
    let r: IteratorResult<AgentYield, void>;
    let threw: string | null = null;
    try {
      r = a.body.next();
    } catch (e) {
      // The agent (or the kernel code it called) threw: a crash, and the agent is over.
      threw = thrown(e);
      this.crash(`${a.name} threw ${threw}`);
      r = { done: true, value: undefined };
    }
    let label: string;
    let call = '';
    this.lastLocal = false;
    if (threw !== null) {
      this.done[i] = true;
      label = `threw ${threw.slice(0, threw.indexOf(':'))}`;
      call = this.calls[i]!;
    } else if (r.done) {
      this.done[i] = true;
      label = 'done';
    } else if (typeof r.value === 'string') {
      label = r.value;
    } else if ('wait' in r.value) {
      this.waits[i] = r.value;
      label = `sleep: ${r.value.wait}`;
      call = r.value.call ?? '';
    } else {
      label = r.value.step;
      call = r.value.call ?? '';
      this.lastLocal = r.value.local === true;
    }
    if (a.cpu !== undefined && (this.done[i] || this.waits[i])) this.cpuHolder.delete(a.cpu);
    this.labels[i] = label;
    let named = '';
    if (!call && a.call) {
      try {
        named = a.call();
      } catch (e) {
        this.crash(`${a.name}'s call() threw ${thrown(e)}`);
      }
    }
    this.calls[i] = call || named;
    this.opSteps[i] = this.world.opsDone() !== ops0 || this.done[i] ? 0 : this.opSteps[i]! + 1;
    return {
      index,
      agent: a.name,
      step: label,
      call: this.calls[i]!,
      change: before ? diff(before, this.world.describe()) : '',
    };
  }

  hash(): string {
    let parts: string[];
    try {
      parts = [this.world.digest()];
    } catch (e) {
      this.crash(`the world's digest() threw ${thrown(e)}`);
      parts = ['digest threw'];
    }
    for (let i = 0; i < this.agents.length; i++) {
      const a = this.agents[i]!;
      let local = '';
      try {
        local = a.local ? a.local() : '';
      } catch (e) {
        this.crash(`${a.name}'s local() threw ${thrown(e)}`);
      }
      parts.push(`${i}${this.done[i] ? 'D' : this.waits[i] ? 'W' : 'R'}|${this.labels[i]}|${local}`);
    }
    for (const [cpu, h] of [...this.cpuHolder].sort((x, y) => x[0] - y[0])) parts.push(`cpu${cpu}=${h}`);
    return parts.join('\n');
  }

  allDone(): boolean {
    return this.done.every(Boolean);
  }
}

function diff(a: Map<string, string>, b: Map<string, string>): string {
  const out: string[] = [];
  for (const [k, v] of b) {
    const old = a.get(k);
    if (old !== v) out.push(old === undefined ? `${k}: ${v}` : `${k}: ${old} → ${v}`);
  }
  for (const k of a.keys()) if (!b.has(k)) out.push(`${k}: gone`);
  return out.join('; ');
}

/** The agent index each character of a schedule string names: 0-9, then a-z, then A-Z. */
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

export function encodeSchedule(choices: readonly number[]): string {
  return choices.map((c) => ALPHABET[c]).join('');
}

/** A schedule string that names no agent, or a schedule the model cannot run as given. */
export class ScheduleError extends Error {
  /** The 0-based choice that cannot run, when one is to blame. */
  readonly choice: number | undefined;
  constructor(message: string, choice?: number) {
    super(message);
    this.choice = choice;
  }
}

export function decodeSchedule(s: string, agents: number): number[] {
  const out: number[] = [];
  for (const [i, ch] of [...s].entries()) {
    const c = ALPHABET.indexOf(ch);
    if (c < 0 || c >= agents)
      throw new ScheduleError(
        `schedule character ${i + 1} '${ch}' names no agent (this model has ${agents}: ${ALPHABET.slice(0, agents)})`,
      );
    out.push(c);
  }
  return out;
}

/** How `replay` treats a schedule (see its comment). */
export interface ReplayOptions {
  /** Steps one agent may take inside one operation before it is a progress violation. */
  maxOpSteps?: number;
  /**
   * When the schedule ends before the run does, run the rest by the explorer's default choice
   * (the lowest-numbered agent that can run: the first branch exhaustive search takes), up to
   * `maxDepth` steps in all.
   */
  continueDefault?: boolean;
  /** Bound on the whole replay when continuing (default 400, as exploration). */
  maxDepth?: number;
}

export interface ReplayResult {
  steps: ExploreStep[];
  violation: Violation | null;
  exec: Exec;
  /** Every choice run: the schedule, then any continuation. */
  choices: number[];
  /**
   * Why a continuation stopped before the run ended: `max-depth` (the bound), or `cycle` (the
   * default choice came back to a state it had left, so it would repeat forever; the cycle is
   * not a livelock because it is not weakly fair or an operation finishes in it).
   */
  stopped?: 'max-depth' | 'cycle';
}

/** Why choice n (agent a) of a schedule cannot run, in words. */
function cannotRun(ex: Exec, schedule: readonly number[], n: number, a: number): string {
  const name = ex.agents[a]!.name;
  if (ex.allDone())
    return `the schedule is longer than the run: it has ${schedule.length} choices, and every agent has finished after ${n} steps`;
  if (ex.enabledSet().length === 0)
    return `step ${n + 1} schedules ${name}, but no agent can run after ${n} steps (a deadlock: replay the first ${n} choices to see it)`;
  if (ex.done[a]) return `step ${n + 1} schedules ${name}, which has finished`;
  const w = ex.waits[a];
  if (w && !w.until()) return `step ${n + 1} schedules ${name}, which is asleep (${w.wait})`;
  const cpu = ex.agents[a]!.cpu!;
  return `step ${n + 1} schedules ${name}, whose CPU ${cpu} is held by ${ex.agents[ex.cpuHolder.get(cpu)!]!.name}`;
}

/**
 * Replays a schedule from a fresh world; returns the timeline and what failed, if anything.
 * The schedule must be one the model can run: a choice that cannot run (the agent finished,
 * sleeps, or waits for its CPU), and choices left over when the run has ended (every agent
 * finished, or an invariant failed at an earlier step), throw ScheduleError naming the step.
 */
export function replay(
  model: RaceModel,
  schedule: readonly number[],
  opts: ReplayOptions = {},
): ReplayResult {
  return runSchedule(model, schedule, opts, false, true);
}

/**
 * `replay`; with `stopAtViolation`, choices left over after an invariant failed are ignored
 * (the run ends there) instead of an error: for shrinking, where a candidate that fails sooner
 * is a better one. Without `timeline` the steps carry no state change (faster).
 */
function runSchedule(
  model: RaceModel,
  schedule: readonly number[],
  opts: ReplayOptions,
  stopAtViolation: boolean,
  timeline: boolean,
): ReplayResult {
  const ex = new Exec(model);
  const steps: ExploreStep[] = [];
  const choices: number[] = [];
  const maxOp = opts.maxOpSteps ?? 200;
  const nodeOfEx = (): Node => ({
    hash: ex.hash(),
    enabled: ex.enabledSet(),
    edges: new Map(),
    ops: ex.world.opsDone(),
  });
  const trail: Node[] = [nodeOfEx()];
  const done = (violation: Violation | null, stopped?: ReplayResult['stopped']): ReplayResult =>
    stopped ? { steps, violation, exec: ex, choices, stopped } : { steps, violation, exec: ex, choices };
  /** Runs agent a; returns what it broke, if anything. */
  const run = (a: number): Violation | null => {
    steps.push(ex.step(a, choices.length, timeline ? ex.world.describe() : null));
    choices.push(a);
    const v = ex.violation(a, maxOp);
    if (v) return v;
    trail.push(nodeOfEx());
    return ex.takeCrash();
  };
  const atStart = ex.takeCrash() ?? ex.invariantViolation();
  if (atStart) {
    if (schedule.length > 0 && !stopAtViolation)
      throw new ScheduleError(
        `the schedule is longer than the run: it has ${schedule.length} choices, and ${atStart.invariant} fails before the first step`,
      );
    return done(atStart);
  }
  for (const [n, a] of schedule.entries()) {
    if (!ex.enabled(a)) {
      const c = ex.takeCrash();
      if (c) return done(c);
      throw new ScheduleError(cannotRun(ex, schedule, n, a), n);
    }
    const v = run(a);
    if (v) {
      if (n < schedule.length - 1 && !stopAtViolation)
        throw new ScheduleError(
          `the schedule is longer than the run: it has ${schedule.length} choices, and the run ends after ${n + 1} steps, where ${v.invariant} fails (the first ${n + 1} choices replay it: ${encodeSchedule(schedule.slice(0, n + 1))})`,
        );
      return done(v);
    }
  }
  // A schedule that ends in a state it passed through before, along a weakly fair segment in
  // which nothing finished, replays a livelock's cycle.
  const last = trail[trail.length - 1]!;
  const j = trail.findIndex((t) => t.hash === last.hash);
  if (j < trail.length - 1) {
    const cycle = trail.slice(j, trail.length - 1);
    const stepped = new Set(schedule.slice(j));
    if (cycle.every((c) => c.ops === last.ops) && fairCycle(cycle, stepped)) {
      return done(livelock(ex.agents, stepped, schedule.length - j, j));
    }
  }
  if (ex.allDone()) return done(ex.world.quiescent());
  if (ex.enabledSet().length === 0) return done(ex.takeCrash() ?? deadlock(ex));
  if (!opts.continueDefault) return done(null);

  // The rest by the default choice. The choice is a function of the state, so a state the
  // continuation reaches twice repeats forever: a livelock when the cycle is weakly fair and
  // nothing finishes in it, else a cycle the default order cannot leave (stop there).
  const maxDepth = opts.maxDepth ?? 400;
  const given = schedule.length;
  const seenAt = new Map<string, number>();
  for (const [i, t] of trail.entries()) seenAt.set(t.hash, i);
  while (choices.length < maxDepth) {
    const a = ex.enabledSet()[0]!;
    const v = run(a);
    if (v) return done(v);
    const k = trail.length - 1;
    const h = trail[k]!.hash;
    const at = seenAt.get(h);
    if (at !== undefined) {
      const cycle = trail.slice(at, k);
      const stepped = new Set(choices.slice(at));
      if (cycle.every((c) => c.ops === trail[k]!.ops) && fairCycle(cycle, stepped))
        return done(livelock(ex.agents, stepped, k - at, at));
      if (at >= given) return done(null, 'cycle');
    }
    seenAt.set(h, k);
    if (ex.allDone()) return done(ex.world.quiescent());
    if (ex.enabledSet().length === 0) return done(ex.takeCrash() ?? deadlock(ex));
  }
  return done(null, 'max-depth');
}

/**
 * Replays a schedule the search itself produced. One that cannot run means the model does not
 * behave the same from one create() to the next: a ModelError, not a finding.
 */
function replayOwn(model: RaceModel, schedule: readonly number[], maxOp: number): ReplayResult {
  try {
    return replay(model, schedule, { maxOpSteps: maxOp });
  } catch (e) {
    if (!(e instanceof ScheduleError)) throw e;
    throw new ModelError(
      `model '${model.name}' does not replay its own schedule ${encodeSchedule(schedule)} (${e.message}): create() must build a fresh world each time, and agents must depend on nothing outside it`,
    );
  }
}

/** Same failure, for shrinking: the same invariant (and for a crash, the same exception). */
function sameFailure(a: Violation, b: Violation): boolean {
  return a.invariant === b.invariant && (a.invariant !== 'crash' || a.message === b.message);
}

/**
 * Shrinks a failing schedule: removes runs of steps (halving their length down to one), and
 * when no single step can be removed, swaps two adjacent steps (and removes one), keeping each
 * candidate whose replay (continued by the default choice, never longer than the best so far)
 * breaks the same invariant sooner. Deterministic; at most `budget` replays.
 */
function shrinkSchedule(
  model: RaceModel,
  found: ReplayResult,
  target: Violation,
  maxOp: number,
  budget: number,
): { result: ReplayResult; shrink: Shrink } {
  let best = found;
  let tries = 0;
  // Candidates already tried: one that failed once fails again (the best only gets shorter).
  const tried = new Set<string>();
  // Prefixes that end in a choice that cannot run: so does every candidate that starts with one.
  const dead = new Set<string>();
  /** The candidate's run when it fails the same way in fewer steps than the best, else null. */
  const attempt = (cand: readonly number[]): ReplayResult | null => {
    let key = '';
    for (const c of cand) {
      key += ALPHABET[c];
      if (dead.has(key)) return null;
    }
    if (tried.has(key)) return null;
    tried.add(key);
    tries++;
    let r: ReplayResult;
    try {
      r = runSchedule(
        model,
        cand,
        { maxOpSteps: maxOp, continueDefault: true, maxDepth: best.choices.length - 1 },
        true,
        false,
      );
    } catch (e) {
      if (!(e instanceof ScheduleError)) throw e;
      if (e.choice !== undefined) dead.add(key.slice(0, e.choice + 1));
      return null;
    }
    return r.violation && sameFailure(r.violation, target) && r.choices.length < best.choices.length
      ? r
      : null;
  };
  const without = (s: readonly number[], i: number, n: number): number[] => [
    ...s.slice(0, i),
    ...s.slice(i + n),
  ];
  let minimal = false;
  search: while (tries < budget) {
    // Removal passes: runs of 2^k steps, then single steps.
    let removed = false;
    let size = 1;
    while (size * 2 <= best.choices.length / 2) size *= 2;
    for (; size >= 1; size = Math.floor(size / 2)) {
      for (let i = 0; i + size <= best.choices.length; ) {
        if (tries >= budget) break search;
        const r = attempt(without(best.choices, i, size));
        if (r) {
          best = r;
          removed = true;
        } else i += size;
      }
    }
    if (removed) continue;
    // No single step can be removed: swap two adjacent steps of different agents, alone (it may
    // fail sooner) or with one step removed.
    const s = best.choices;
    for (let i = 0; i + 1 < s.length; i++) {
      if (s[i] === s[i + 1]) continue;
      const swapped = [...s];
      [swapped[i], swapped[i + 1]] = [s[i + 1]!, s[i]!];
      for (let j = -1; j < swapped.length; j++) {
        if (tries >= budget) break search;
        const r = attempt(j < 0 ? swapped : without(swapped, j, 1));
        if (r) {
          best = r;
          continue search;
        }
      }
    }
    minimal = true;
    break;
  }
  // The timeline of the result (attempts run without one).
  const result = best === found ? found : replayOwn(model, best.choices, maxOp);
  return { result, shrink: { from: found.choices.length, tries, minimal } };
}

/**
 * The counterexample of a failing schedule the search found: replayed for its timeline, then
 * shrunk unless `opts.shrink` is false.
 */
function counterexampleOf(
  model: RaceModel,
  schedule: readonly number[],
  found: Violation,
  opts: ExploreOptions,
): Counterexample {
  const maxOp = opts.maxOpSteps ?? 200;
  const r = replayOwn(model, schedule, maxOp);
  // A livelock's replay ends where its cycle started, which replay reports as the livelock too
  // when it finds the same cycle; the search's own account of the cycle is kept if it does not.
  const violation = found.invariant === 'livelock' ? found : (r.violation ?? found);
  const budget =
    opts.shrink === false
      ? 0
      : opts.shrink === true || opts.shrink === undefined
        ? SHRINK_TRIES
        : opts.shrink;
  if (budget > 0 && r.violation && sameFailure(r.violation, violation) && schedule.length > 1) {
    const { result, shrink } = shrinkSchedule(model, r, violation, maxOp, budget);
    if (result !== r)
      return {
        schedule: encodeSchedule(result.choices),
        steps: result.steps,
        violation: result.violation!,
        shrink,
      };
    return { schedule: encodeSchedule(schedule), steps: r.steps, violation, shrink };
  }
  return { schedule: encodeSchedule(schedule), steps: r.steps, violation };
}

function progressViolation(ex: Exec, a: number, maxOp: number): Violation | null {
  if (ex.opSteps[a]! <= maxOp) return null;
  return {
    invariant: 'progress',
    message: `${ex.agents[a]!.name} took more than ${maxOp} steps in one operation without finishing it`,
  };
}

function deadlock(ex: Exec): Violation {
  const stuck = ex.agents
    .map((a, i) => (ex.done[i] ? null : `${a.name} (${ex.labels[i]})`))
    .filter((x): x is string => x !== null);
  return {
    invariant: 'deadlock',
    message: `no agent can run, and these have not finished: ${stuck.join(', ')}`,
  };
}

function livelock(
  agents: readonly Agent[],
  stepped: ReadonlySet<number>,
  length: number,
  cycleStart: number,
): Violation {
  const names = [...stepped].sort((x, y) => x - y).map((s) => agents[s]!.name);
  return {
    invariant: 'livelock',
    message: `a cycle of ${length} steps returns to the same state, with ${names.join(', ')} running and no operation finishing`,
    cycleStart,
  };
}

function emptyCoverage(complete: boolean): Coverage {
  return { states: 0, transitions: 0, pruned: 0, reduced: 0, maxDepth: 0, schedules: 0, complete };
}

/**
 * Explores a race model; see the module comment. Throws ModelError for a model that cannot be
 * explored as written (ModelError's comment).
 */
export function explore(model: RaceModel, opts: ExploreOptions): ExploreResult {
  return opts.mode === 'random' ? exploreRandom(model, opts) : exploreExhaustive(model, opts);
}

/** The verdict of a search: the counterexample's invariant, else clean or inconclusive. */
function verdictOf(counterexample: Counterexample | null, cov: Coverage): Verdict {
  if (counterexample) return counterexample.violation.invariant;
  return cov.boundHit ? 'inconclusive' : 'clean';
}

function agentNames(model: RaceModel): string[] {
  return new Exec(model).agents.map((a) => a.name);
}

/**
 * The names of the invariants a model declares (RaceWorld.invariants), from one fresh world.
 * Throws ModelError for a world that cannot be built or a bad name.
 */
export function modelInvariants(model: RaceModel): string[] {
  return (new Exec(model).world.invariants ?? []).map((i) => i.name);
}

function exploreExhaustive(model: RaceModel, opts: ExploreOptions): ExploreResult {
  const maxStates = opts.maxStates ?? 100_000;
  const maxDepth = opts.maxDepth ?? 400;
  const maxOp = opts.maxOpSteps ?? 200;
  const nodes: Node[] = [];
  const ids = new Map<string, number>();
  /** Choices of each recorded edge (the agent, then any local steps it ran at once), by `${from}>${agent}`. */
  const edgeChoices = new Map<string, number[]>();
  const cov = emptyCoverage(true);

  let live = new Exec(model);
  let livePath: number[] = [];

  /** Steps `ex` with agent a, then any local steps that follow at once. */
  const advance = (ex: Exec, a: number): { choices: number[]; violation: Violation | null } => {
    const choices = [a];
    ex.step(a, 0, null);
    let v = ex.violation(a, maxOp);
    while (!v && ex.lastLocal && ex.enabled(a)) {
      ex.step(a, 0, null);
      choices.push(a);
      cov.reduced++;
      v = ex.violation(a, maxOp);
    }
    return { choices, violation: v ?? ex.takeCrash() };
  };

  const nodeOf = (ex: Exec): { id: number; fresh: boolean } => {
    const h = ex.hash();
    const old = ids.get(h);
    if (old !== undefined) return { id: old, fresh: false };
    const id = nodes.length;
    nodes.push({ hash: h, enabled: ex.enabledSet(), edges: new Map(), ops: ex.world.opsDone() });
    ids.set(h, id);
    return { id, fresh: true };
  };
  const finish = (ex: Exec): Violation | null => {
    if (ex.allDone()) return ex.world.quiescent();
    if (ex.enabledSet().length === 0) return deadlock(ex);
    return null;
  };
  /** The schedule along the search stack. */
  const pathTo = (frames: readonly { id: number; via: number[] }[]): number[] => frames.flatMap((f) => f.via);

  const root = nodeOf(live).id;
  const stack: { id: number; next: number; via: number[] }[] = [{ id: root, next: 0, via: [] }];
  const onStack = new Map<number, number>([[root, 0]]);
  /** A violation: at node `at`, or on the edge from `at` by `agent`; or a livelock schedule. */
  let failure: { violation: Violation; at: number; agent?: number; schedule?: number[] } | null = null;
  const atRoot = live.takeCrash() ?? live.invariantViolation() ?? finish(live);
  if (atRoot) failure = { violation: atRoot, at: root };

  while (stack.length > 0 && !failure) {
    const top = stack[stack.length - 1]!;
    const node = nodes[top.id]!;
    if (top.next >= node.enabled.length) {
      stack.pop();
      onStack.delete(top.id);
      continue;
    }
    if (nodes.length >= maxStates) {
      cov.complete = false;
      cov.boundHit = 'max-states';
      break;
    }
    const a = node.enabled[top.next++]!;
    // Bring the live world to this node: replay the stack's schedule if the search moved on.
    const here = pathTo(stack);
    if (!samePath(livePath, here)) {
      live = new Exec(model);
      for (const c of here) live.step(c, 0, null);
    }
    const { choices, violation } = advance(live, a);
    livePath = [...here, ...choices];
    cov.transitions += choices.length;
    if (violation) {
      failure = { violation, at: top.id, agent: a };
      edgeChoices.set(`${top.id}>${a}`, choices);
      break;
    }
    const { id, fresh } = nodeOf(live);
    edgeChoices.set(`${top.id}>${a}`, choices);
    const crashed = live.takeCrash();
    if (crashed) {
      // Hashing the new state ran agent code (local(), a wait's condition) that threw.
      failure = { violation: crashed, at: top.id, agent: a };
      break;
    }
    node.edges.set(a, id);
    if (!fresh) {
      cov.pruned++;
      const at = onStack.get(id);
      if (at === undefined) continue;
      // A back edge closes a cycle: stack[at..] and back to `id` by agent a.
      const cycle = stack.slice(at);
      const stepped = new Set<number>([a]);
      for (let j = at + 1; j < stack.length; j++) for (const c of stack[j]!.via) stepped.add(c);
      for (const c of choices) stepped.add(c);
      const cycleNodes = cycle.map((f) => nodes[f.id]!);
      const progress =
        cycleNodes.some((c) => c.ops !== cycleNodes[0]!.ops) || nodes[id]!.ops !== cycleNodes[0]!.ops;
      if (!progress && fairCycle(cycleNodes, stepped)) {
        const prefix = pathTo(stack.slice(0, at + 1));
        failure = {
          violation: livelock(live.agents, stepped, livePath.length - prefix.length, prefix.length),
          at: id,
          schedule: livePath.slice(),
        };
      }
      continue;
    }
    cov.maxDepth = Math.max(cov.maxDepth, livePath.length);
    const end = finish(live);
    if (end) {
      failure = { violation: end, at: id };
      break;
    }
    if (live.allDone()) {
      cov.schedules++;
      continue;
    }
    if (livePath.length >= maxDepth) {
      cov.complete = false;
      cov.boundHit ??= 'max-depth';
      cov.depthCut = (cov.depthCut ?? 0) + 1;
      continue;
    }
    stack.push({ id, next: 0, via: choices });
    onStack.set(id, stack.length - 1);
  }
  cov.states = nodes.length;

  // Livelocks made of several back-edge cycles (each unfair on its own) show up only in the
  // graph as a whole: look for a strongly connected component that holds a weakly fair cycle.
  if (!failure) {
    const ll = fairComponent(nodes);
    if (ll) {
      const prefix = shortestPath(nodes, edgeChoices, root, ll.entry) ?? [];
      const cycle = ll.cycle.flatMap(([from, agent]) => edgeChoices.get(`${from}>${agent}`)!);
      failure = {
        violation: livelock(
          live.agents,
          new Set(ll.cycle.map(([, agent]) => agent)),
          cycle.length,
          prefix.length,
        ),
        at: ll.entry,
        schedule: [...prefix, ...cycle],
      };
    }
  }

  let counterexample: Counterexample | null = null;
  if (failure) {
    let schedule: number[];
    if (failure.schedule) {
      schedule = failure.schedule;
    } else {
      // The shortest path the search recorded to the failing state (breadth-first over its edges).
      schedule = shortestPath(nodes, edgeChoices, root, failure.at) ?? livePath;
      if (failure.agent !== undefined)
        schedule = [...schedule, ...edgeChoices.get(`${failure.at}>${failure.agent}`)!];
    }
    counterexample = counterexampleOf(model, schedule, failure.violation, opts);
  }
  return {
    scenario: model.name,
    mode: 'exhaustive',
    agents: live.agents.map((x) => x.name),
    verdict: verdictOf(counterexample, cov),
    bounds: { maxStates, maxDepth },
    coverage: cov,
    counterexample,
  };
}

function samePath(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function exploreRandom(model: RaceModel, opts: ExploreOptions): ExploreResult {
  const runs = opts.runs ?? 100;
  const maxDepth = opts.maxDepth ?? 400;
  const maxOp = opts.maxOpSteps ?? 200;
  const rng = new Rng(opts.seed ?? 1);
  const states = new Set<string>();
  const cov = emptyCoverage(false);
  let counterexample: Counterexample | null = null;
  for (let run = 0; run < runs && !counterexample; run++) {
    const ex = new Exec(model);
    const schedule: number[] = [];
    const seenAt = new Map<string, number>([[ex.hash(), 0]]);
    const trail: Node[] = [{ hash: ex.hash(), enabled: ex.enabledSet(), edges: new Map(), ops: 0 }];
    let v: Violation | null = ex.takeCrash() ?? ex.invariantViolation();
    /** The schedule ended (every agent finished, or none can run) rather than hit the depth bound. */
    let ended = false;
    while (!v && schedule.length < maxDepth) {
      const en = ex.enabledSet();
      if (en.length === 0) {
        v = ex.takeCrash() ?? (ex.allDone() ? ex.world.quiescent() : deadlock(ex));
        ended = true;
        break;
      }
      const a = en[rng.int(0, en.length - 1)]!;
      ex.step(a, schedule.length, null);
      schedule.push(a);
      cov.transitions++;
      v = ex.violation(a, maxOp);
      if (v) break;
      const h = ex.hash();
      const node: Node = { hash: h, enabled: ex.enabledSet(), edges: new Map(), ops: ex.world.opsDone() };
      // Hashing and the enabled set ran agent code (local(), wait conditions) that may throw.
      v = ex.takeCrash();
      if (v) break;
      if (!states.has(h)) states.add(h);
      else cov.pruned++;
      const at = seenAt.get(h);
      if (at !== undefined) {
        const cycle = trail.slice(at);
        const stepped = new Set(schedule.slice(at));
        if (cycle.every((c) => c.ops === node.ops) && fairCycle(cycle, stepped)) {
          v = livelock(ex.agents, stepped, schedule.length - at, at);
          break;
        }
      }
      seenAt.set(h, trail.length);
      trail.push(node);
      if (ex.allDone()) {
        v = ex.world.quiescent();
        ended = true;
        break;
      }
    }
    cov.maxDepth = Math.max(cov.maxDepth, schedule.length);
    if (v) {
      cov.schedules++;
      counterexample = counterexampleOf(model, schedule, v, opts);
    } else if (ended) {
      cov.schedules++;
    } else {
      // Cut at the depth bound before the schedule ended: what follows was not checked (and
      // it is no complete schedule).
      cov.boundHit = 'max-depth';
      cov.depthCut = (cov.depthCut ?? 0) + 1;
    }
  }
  cov.states = states.size;
  return {
    scenario: model.name,
    mode: 'random',
    agents: agentNames(model),
    verdict: verdictOf(counterexample, cov),
    bounds: { maxDepth },
    coverage: cov,
    counterexample,
  };
}

/**
 * Replays a schedule string and reports it as an exploration result, with the timeline in
 * `replay` whether or not an invariant failed. A schedule that ends before the run does is
 * continued by the default choice (see ReplayOptions.continueDefault) and `replay.continued`
 * says so. Throws ScheduleError for a string that names no agent, a choice that cannot run, or
 * choices left over when the run has ended (a schedule longer than the run: every agent
 * finished, or an invariant failed at an earlier step).
 */
export function replaySchedule(
  model: RaceModel,
  schedule: string,
  opts: { maxOpSteps?: number; maxDepth?: number } = {},
): ExploreResult {
  const agents = agentNames(model);
  const given = decodeSchedule(schedule, agents.length);
  const r = replay(model, given, { ...opts, continueDefault: true });
  const ran = encodeSchedule(r.choices);
  const cov: Coverage = {
    states: 0,
    transitions: r.steps.length,
    pruned: 0,
    reduced: 0,
    maxDepth: r.steps.length,
    schedules: 1,
    complete: false,
  };
  const info: ReplayInfo = {
    given: given.length,
    continued: r.choices.length > given.length,
    schedule: ran,
    steps: r.steps,
  };
  if (r.stopped) info.stopped = r.stopped;
  return {
    scenario: model.name,
    mode: 'replay',
    agents,
    verdict: r.violation ? r.violation.invariant : 'clean',
    bounds: { maxDepth: opts.maxDepth ?? 400 },
    coverage: cov,
    counterexample: r.violation ? { schedule: ran, steps: r.steps, violation: r.violation } : null,
    replay: info,
  };
}
