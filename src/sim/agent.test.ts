import { describe, expect, it } from 'vitest';
import { runAgent, type SimAgent } from './agent.js';
import type { SimConfig, WorkloadConfig } from './config.js';
import { EVENT_KINDS, eventNames } from './events/index.js';
import { buildSim } from './simulate.js';
import { WORKLOAD_KINDS, workloadAgent } from './workloads/index.js';

const MiB = 2 ** 20;

const config: SimConfig = {
  version: 1,
  profile: 'pcie4-a100',
  platform: { ram: 256 * MiB },
  devices: {
    gpus: [{ name: 'gpu0', vram: 64 * MiB }],
    nics: [{ name: 'nic0' }],
    dmirrors: [{ name: 'dm0', minor: 0 }],
  },
  buffers: [{ name: 'b', size: 4 * MiB }],
  workloads: [
    { kind: 'cpu', name: 'c', buffer: 'b', op: 'write', pattern: 'sequential' },
    { kind: 'gpu', name: 'g', gpu: 'gpu0', buffer: 'b', op: 'read', pattern: 'sequential' },
    {
      kind: 'rdma',
      name: 'r',
      nic: 'nic0',
      buffer: 'b',
      op: 'read',
      pattern: 'sequential',
      messageSize: 65536,
      messages: 4,
    },
    { kind: 'dmirror', name: 'd', dmirror: 'dm0', buffer: 'b', op: 'read', pattern: 'sequential' },
  ],
  events: [{ kind: 'unplug', name: 'u', gpu: 'gpu0', mode: 'safe', start: 5 }],
};

describe('runAgent', () => {
  it('waits for `after`, then for startNs, runs, then fires its finished signal', () => {
    const sim = buildSim(config, { seed: 1 });
    const { engine } = sim;
    const seen: string[] = [];
    const first: SimAgent = {
      name: 'c',
      *run() {
        yield 100;
        seen.push(`c done ${engine.now}`);
      },
    };
    const second: SimAgent = {
      name: 'g',
      after: 'c',
      startNs: 150,
      *run() {
        seen.push(`g starts ${engine.now}`);
        yield 0;
      },
    };
    const third: SimAgent = {
      name: 'r',
      after: 'c',
      startNs: 50, // already past when 'c' finishes: no wait
      *run() {
        seen.push(`r starts ${engine.now}`);
        yield 0;
      },
    };
    engine.spawn(runAgent(sim, second), 'g');
    engine.spawn(runAgent(sim, third), 'r');
    engine.spawn(runAgent(sim, first), 'c');
    engine.run();
    expect(seen).toEqual(['c done 100', 'r starts 100', 'g starts 150']);
    expect(sim.finished('g').fired).toBe(true);
  });
});

describe('the workload and event registries', () => {
  it('has a factory for every workload kind of the config type, and each names its agent after the workload', () => {
    expect(Object.keys(WORKLOAD_KINDS).sort()).toEqual(['cpu', 'dmirror', 'gpu', 'rdma']);
    const sim = buildSim(config, { seed: 1 });
    for (const w of sim.config.workloads as WorkloadConfig[]) {
      const a = workloadAgent(sim, { ...w, after: 'u', start: 7 });
      expect(a).toMatchObject({ name: w.name, after: 'u', startNs: 7 });
    }
  });

  it('creating agents touches nothing: the model and the clock are as the platform left them', () => {
    const sim = buildSim(config, { seed: 1 });
    const used = sim.platform.kernel.alloc.used;
    for (const w of sim.config.workloads) workloadAgent(sim, w);
    for (const k of EVENT_KINDS) for (const e of k.list(config)) k.agent(sim, e);
    expect(sim.platform.kernel.alloc.used).toBe(used);
    expect(sim.metrics.workloads).toEqual({});
    expect(sim.engine.now).toBe(0);
  });

  it('lists the configured events by name, and gives each a finished signal', () => {
    expect(eventNames(config)).toEqual(['u']);
    const sim = buildSim(config, { seed: 1 });
    expect(sim.finished('u').fired).toBe(false);
    expect(EVENT_KINDS.flatMap((k) => k.list(config).map((e) => k.agent(sim, e).name))).toEqual(['u']);
  });
});
