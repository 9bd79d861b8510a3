/**
 * What every workload and every event of a simulation is: an agent with a name, start
 * conditions, and a run. The simulator spawns one engine process per agent, in configuration
 * order (workloads, then events); each waits for its start conditions, runs, and fires its
 * `finished` signal, which other agents can wait for by name (`after`).
 *
 *   const agent: SimAgent = {
 *     name: 'w0',
 *     after: 'warmup',                       // start when 'warmup' has finished
 *     startNs: 1000,                         // and not before 1000 ns
 *     *run() { yield 500; },                 // the work
 *   };
 *   engine.spawn(runAgent(sim, agent), agent.name);
 *
 * SimContext is what an agent sees of the run: the platform, the engine and fabric, the cost
 * profile's values, the run's random streams and the metrics recorder. No Linux counterpart:
 * an agent stands for a user thread, a GPU kernel, an RDMA queue pair or an operator's action.
 */
import { UserFault } from '../kernel/memory.js';
import type { SimConfig } from './config.js';
import type { CostProfile } from './costs.js';
import type { Engine, Signal, Wait } from './engine.js';
import type { InFlight } from './inflight.js';
import type { Fabric } from './links.js';
import type { SimMetrics } from './metrics.js';
import type { Platform } from './platform.js';
import type { Rng } from './rng.js';

/** What an agent sees of the run. */
export interface SimContext {
  readonly config: SimConfig;
  readonly platform: Platform;
  readonly engine: Engine;
  readonly fabric: Fabric;
  /** The cost profile's values. */
  readonly v: CostProfile['values'];
  /** The run's seed (SimOptions.seed, else the config's `seed`, else 1). */
  readonly seed: number;
  /** The run's root stream, seeded with `seed`: an agent forks its own by name (`rng.fork(name)`). */
  readonly rng: Rng;
  readonly metrics: SimMetrics;
  /** Ranges whose new state is not visible yet (time before state): accessors wait on them. */
  readonly inflight: InFlight;
  /** The signal fired when the workload or event `name` finishes (every configured name has one). */
  finished(name: string): Signal<void>;
}

/** A workload or an event: a name, start conditions, and the work. */
export interface SimAgent {
  readonly name: string;
  /** Start when the workload or event of this name has finished. */
  readonly after?: string;
  /** Start no earlier than this time (ns). */
  readonly startNs?: number;
  /**
   * The work, from the start conditions met to the end. It must not touch the model before its
   * first step: agents are created before the clock starts, in configuration order.
   */
  run(): Generator<Wait, void, unknown>;
}

/**
 * The engine process of an agent: waits for its start conditions (in that order: `after`,
 * then `startNs`), runs it, then fires its `finished` signal.
 */
export function* runAgent(sim: SimContext, agent: SimAgent): Generator<Wait, void, unknown> {
  if (agent.after) yield sim.finished(agent.after);
  if (agent.startNs && agent.startNs > sim.engine.now) yield agent.startNs - sim.engine.now;
  try {
    yield* agent.run();
  } catch (e) {
    if (e instanceof UserFault) throw new SimulatedProcessDied(agent.name, sim.engine.now, e);
    throw e;
  }
  sim.finished(agent.name).fire(undefined);
}

/**
 * A workload's CPU access raised a signal that ends the simulated process (SIGSEGV, SIGBUS, or
 * the OOM killer's SIGKILL when RAM ran out: the model has no swap). The run cannot go on; the
 * command line reports it as the scenario's outcome, not as an internal error.
 */
export class SimulatedProcessDied extends Error {
  constructor(
    readonly workload: string,
    readonly atNs: number,
    readonly fault: UserFault,
  ) {
    const why =
      fault.signal === 'SIGKILL'
        ? ': no free RAM page for the fault (the model has no swap; Linux would OOM-kill the process)'
        : '';
    super(
      `the simulated process died in workload '${workload}' at ${(atNs / 1e6).toFixed(3)} ms: ${fault.message}${why}`,
    );
    this.name = 'SimulatedProcessDied';
  }
}
