/**
 * Small parts for writing race models (scenarios/races/, examples/race-driver.ts): a RaceWorld
 * over a KernelWorld, an agent whose local state is a record, and the driver locks agents
 * sleep on (a mutex, a read-write semaphore).
 *
 * Counterparts: struct mutex (kernel/locking/mutex.c: mutex_lock, mutex_unlock) and struct
 * rw_semaphore (kernel/locking/rwsem.c: down_read, down_write, up_read, up_write).
 * Deliberate difference: a lock is a flag and a counter; a contended lock makes the agent
 * yield a Wait until it is free, and an uncontended one is no step of its own. A lock's state
 * is not in the world's digest: keep it in an agent's `local` record when it matters for
 * state hashing.
 */
import type { Agent, AgentYield, RaceWorld } from './explorer.js';
import type { NamedInvariant, Violation } from './types.js';
import type { KernelWorld } from './world.js';

/**
 * The RaceWorld of a KernelWorld and its agents: digest, describe, violations and operations
 * come from the world; `extra.quiescent` adds a check of the model's own at quiescence, and
 * `extra.invariants` named invariants checked after every step (a violation carries the name).
 */
export function raceWorld(
  w: KernelWorld,
  agents: Agent[],
  extra: { quiescent?: () => Violation | null; invariants?: readonly NamedInvariant[] } = {},
): RaceWorld {
  const rw: RaceWorld = {
    agents,
    digest: () => w.digest(),
    describe: () => w.describe(),
    takeViolation: () => w.takeViolation(),
    quiescent: () => w.quiescent() ?? extra.quiescent?.() ?? null,
    opsDone: () => w.opsDone(),
  };
  if (extra.invariants) rw.invariants = extra.invariants;
  return rw;
}

/**
 * An agent whose local state (for state hashing) is the record `ctx` it keeps up to date,
 * plus `more()` when given; pinned to `cpu` when given.
 */
export function agent(
  name: string,
  ctx: Record<string, unknown>,
  body: Generator<AgentYield, void, void>,
  cpu?: number,
  more?: () => string,
): Agent {
  const a: Agent = {
    name,
    body,
    local: more ? () => `${JSON.stringify(ctx)}|${more()}` : () => JSON.stringify(ctx),
  };
  if (cpu !== undefined) a.cpu = cpu;
  return a;
}

/** A driver-wide read-write semaphore (e.g. Xe's migration serialisation). */
export class Rwsem {
  readers = 0;
  writer = false;
  /** down_read / down_write: sleeps (a Wait) only while the semaphore is taken. */
  *down(mode: 'read' | 'write', call: string): Generator<AgentYield, void, void> {
    // Sleeps only when the semaphore is taken (an uncontended down is no step of its own).
    const free = mode === 'read' ? () => !this.writer : () => !this.writer && this.readers === 0;
    while (!free()) yield { wait: mode === 'read' ? 'down_read' : 'down_write', call, until: free };
    if (mode === 'read') this.readers++;
    else this.writer = true;
  }
  /** up_read / up_write. */
  up(mode: 'read' | 'write'): void {
    if (mode === 'read') this.readers--;
    else this.writer = false;
  }
}

/** A driver mutex (e.g. a mirror driver's page-table lock held across a sleep). */
export class Mutex {
  locked = false;
  /** mutex_lock: sleeps (a Wait) only while another agent holds it. */
  *lock(call: string): Generator<AgentYield, void, void> {
    const free = () => !this.locked;
    while (!free()) yield { wait: 'mutex_lock', call, until: free };
    this.locked = true;
  }
  /** mutex_unlock. Unlocking a free mutex is a bug in the model. */
  unlock(): void {
    if (!this.locked) throw new Error('model bug: mutex_unlock of an unlocked mutex');
    this.locked = false;
  }
}
