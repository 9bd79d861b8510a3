/**
 * simulate(): runs workloads on the kernel model in simulated time. It only wires the parts:
 *
 *   config.ts      SimConfig (the scenario schema's output) and its parts; the cost profile
 *   platform.ts    the machine, processes and buffers, GPUs, NICs, dmirror devices' host,
 *                  CPU pool, links and PCI connectivity, the P2P design; the shared copy path
 *   workloads/     one agent per workload kind (cpu, gpu, rdma, dmirror) and their registry
 *   events/        events that act on the platform (GPU hot unplug) and their registry
 *   nic-fault.ts   the NIC's ODP fault path and DMA routes; peer.ts: GPU peer copies
 *   metrics.ts     SimResult, the event log, and the recorder the parts report to
 *
 * CPU threads and GPU kernels walk access streams over buffers; page faults go through the
 * real fault paths of the kernel model and the SVM GPU driver, and the work they do is charged
 * with the cost profile: CPU time on fault-handling cores, copies over PCIe links that share
 * bandwidth max-min fairly, GPU stalls while a fault batch is serviced. Events are per batch
 * and per transfer, never per page.
 *
 *   const r = simulate({ version: 1, profile: 'pcie5-h100', devices: { gpus: [{ name: 'gpu0', vram: '1GiB' }] },
 *     buffers: [{ name: 'b', size: '64MiB' }],
 *     workloads: [{ kind: 'gpu', name: 'k0', gpu: 'gpu0', buffer: 'b', op: 'read', pattern: 'sequential' }] },
 *     { seed: 1 });
 *   r.devices.gpu0.faults;       // the GPU's far faults
 *
 * The result is plain JSON; the same config and seed give a byte-identical result. The order
 * parts are created in is part of that: the engine breaks ties by creation order.
 * No Linux counterpart (a test harness that boots a machine and runs a benchmark on it).
 */

import type { Machine } from '../uapi/machine.js';
import { runAgent, type SimAgent, type SimContext } from './agent.js';
import { configProfile, DEFAULT_SEED, parseConfig, type SimConfigInput } from './config.js';
import type { CostProfile } from './costs.js';
import { Engine, type Signal } from './engine.js';
import { EVENT_KINDS, eventNames } from './events/index.js';
import { InFlight } from './inflight.js';
import { Fabric } from './links.js';
import { SimMetrics, type SimResult } from './metrics.js';
import { Platform } from './platform.js';
import { Rng } from './rng.js';
import { workloadAgent } from './workloads/index.js';

export * from './config.js';
export { hostDeviceCopy } from './copy.js';
export { measureCopyBandwidth } from './copy-bandwidth.js';
export * from './metrics.js';
export { type ModelMemory, modelMemoryBytes } from './model-memory.js';

export interface SimOptions {
  /**
   * The run's seed; default the config's own `seed` (a scenario file's `seed:`), else 1 (as a
   * scenario file without `seed:` gets). The command line passes `--seed` here.
   */
  seed?: number;
  /** Keep the raw event log in the result (for checks and traces). */
  log?: boolean;
  /** Called with the simulated machine when the run ends (for checks; not part of the result). */
  inspect?: (machine: Machine) => void;
  /**
   * Records the name of every cost parameter the run reads from its resolved profile (with the
   * config's overrides applied), after validation: which numbers a result can depend on
   * (`hmmlab sensitivity` perturbs only those). Slows the run a little (a Proxy on the values).
   */
  costReads?: Set<string>;
  /**
   * Called every `progressEvery` events (default 65536) with the simulated time and the events
   * run so far, for a progress line (`hmmlab run` on a terminal). An observer of the engine: it
   * reads the clock and changes nothing, so the result is the same with it as without.
   */
  onProgress?: (p: SimProgress) => void;
  /** Events between two onProgress calls (default 65536). */
  progressEvery?: number;
}

/** What onProgress is told. */
export interface SimProgress {
  /** Simulated time in ns. */
  nowNs: number;
  /** Events run so far. */
  events: number;
  /** The run's `duration` (ns) when it has one: it ends there at the latest. */
  endNs?: number;
}

/**
 * Runs a configuration (a parsed scenario, or one built in code: it goes through the scenario
 * schema, parseConfig) to completion, or to its `duration`. Deterministic: the result depends
 * only on config and seed. Throws ConfigError for an invalid configuration (or one the
 * machine cannot hold: an mmap that fails).
 */
export function simulate(input: SimConfigInput, options: SimOptions = {}): SimResult {
  const sim = buildSim(input, options);
  const { config, engine, fabric, platform: p, metrics } = sim;
  const profile = p.profile;
  // Agents in configuration order: workloads, then events of each kind.
  const agents: SimAgent[] = config.workloads.map((w) => workloadAgent(sim, w));
  for (const kind of EVENT_KINDS) for (const e of kind.list(config)) agents.push(kind.agent(sim, e));
  for (const a of agents) engine.spawn(runAgent(sim, a), a.name);

  const onProgress = options.onProgress;
  if (onProgress !== undefined) {
    const every = Math.max(1, Math.floor(options.progressEvery ?? 65536));
    const endNs = config.duration;
    let n = 0;
    const inner = engine.observer;
    engine.observer = {
      onEvent(t, seq, label) {
        inner?.onEvent?.(t, seq, label);
        if (++n < every) return;
        n = 0;
        onProgress({ nowNs: t, events: engine.eventsProcessed, ...(endNs === undefined ? {} : { endNs }) });
      },
    };
  }
  engine.run(config.duration ?? Infinity);
  fabric.sync();

  let busy = 0;
  for (let c = 0; c < p.cpus.channels; c++) busy += p.cpus.busyTime(c);
  const result = metrics.result({
    profile: profile.name,
    seed: sim.seed,
    endNs: engine.now,
    events: engine.eventsProcessed,
    gpus: p.gpuList.map((g) => ({
      name: g.cfg.name,
      stats: g.dev.stats,
      base: p.statsBase.get(g.cfg.name)!,
    })),
    nics: [...p.nics].map(([name, n]) => ({ name, stats: n.nic.stats })),
    links: p.links,
    cpu: { cores: p.cpus.channels, busyNs: busy, waitNs: p.cpus.waitNs },
    design: {
      name: p.design.name,
      ...p.design.counters,
      // Counted from the alias (PCI_P2PDMA) pages the run's BAR pagemaps were given, whichever
      // design asked for them. Linux's pci_p2pdma_add_resource creates struct pages for the
      // whole BAR at probe; the model creates them per pagemap region (1 GiB) on first use, so
      // for a design that creates alias pages and a BAR of one region this is BAR pages x
      // structPageBytes, and a run that never maps an alias page counts none.
      aliasStructPageBytes:
        p.gpuList.reduce((sum, g) => sum + g.dev.aliasPagesCreated, 0) * profile.values.structPageBytes,
    },
  });
  options.inspect?.(p.machine);
  return result;
}

/**
 * The run before its clock starts: parses `input` through the scenario schema (ConfigError),
 * builds the platform, and gives every configured workload and event its `finished` signal.
 * simulate() spawns the agents on it; a test can spawn one agent alone.
 *
 *   const sim = buildSim(config, { seed: 1, log: true });
 *   sim.engine.spawn(runAgent(sim, cpuWorkload(sim, sim.config.workloads[0])), 'c0');
 *   sim.engine.run();
 */
export function buildSim(input: SimConfigInput, options: SimOptions = {}): SimContext {
  const config = parseConfig(input);
  const resolved = configProfile(config);
  const profile = options.costReads ? recordingReads(resolved, options.costReads) : resolved;
  const engine = new Engine();
  const fabric = new Fabric(engine);
  const seed = options.seed ?? config.seed ?? DEFAULT_SEED;
  const rng = new Rng(seed);
  const metrics = new SimMetrics(options.log ?? false);
  const platform = new Platform(config, profile, engine, fabric, metrics);
  const inflight = new InFlight(engine);
  // Every folio a migration moves is held (not visible) until the operation that moved it is done.
  platform.kernel.observer = {
    ...platform.kernel.observer,
    onFolioMoved: (mm, start, end) => inflight.noteMoved(mm, start, end),
  };
  const finished = new Map<string, Signal<void>>();
  for (const name of [...config.workloads.map((w) => w.name), ...eventNames(config)])
    finished.set(name, engine.signal());
  return {
    config,
    platform,
    engine,
    fabric,
    v: profile.values,
    seed,
    rng,
    metrics,
    inflight,
    finished: (name) => finished.get(name)!,
  };
}

/** `profile` whose `values` add the name of each parameter read to `reads`. */
function recordingReads(profile: CostProfile, reads: Set<string>): CostProfile {
  const values = new Proxy(profile.values, {
    get(target, key, receiver) {
      if (typeof key === 'string' && Object.hasOwn(target, key)) reads.add(key);
      return Reflect.get(target, key, receiver);
    },
  });
  return { ...profile, values };
}
