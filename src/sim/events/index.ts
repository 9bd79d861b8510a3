/**
 * The event registry: events are agents that act on the platform rather than run a workload
 * (today GPU hot unplug). Each kind takes its own entries of the config's `events`; a new kind
 * is an entry in the scenario schema's `events`, one file in this folder, and one line here.
 *
 *   for (const kind of EVENT_KINDS) for (const e of kind.list(config)) kind.agent(sim, e);
 */
import type { SimAgent, SimContext } from '../agent.js';
import type { SimConfig } from '../config.js';
import { unplugEvent } from './unplug.js';

/** The events of one kind: where the config lists them, and the agent of each. */
export interface EventKind<E extends { name: string }> {
  list(config: SimConfig): readonly E[];
  /** The agent of event `e`. It must not touch the model (see SimAgent.run). */
  agent(sim: SimContext, e: E): SimAgent;
}

function kind<E extends { name: string }>(k: EventKind<E>): EventKind<{ name: string }> {
  return k as unknown as EventKind<{ name: string }>;
}

/** Every kind of event, in the order their agents are spawned. */
export const EVENT_KINDS: readonly EventKind<{ name: string }>[] = [
  kind({ list: (c) => (c.events ?? []).filter((e) => e.kind === 'unplug'), agent: unplugEvent }),
];

/** The names of every configured event, in spawn order. */
export function eventNames(config: SimConfig): string[] {
  return EVENT_KINDS.flatMap((k) => k.list(config).map((e) => e.name));
}
