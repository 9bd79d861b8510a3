import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../kernel/constants.js';
import { runAgent } from '../agent.js';
import type { SimConfig, UnplugEvent } from '../config.js';
import { buildSim } from '../simulate.js';
import { unplugEvent } from './unplug.js';

const MiB = 2 ** 20;

function run(mode: 'safe' | 'surprise') {
  const u: UnplugEvent = { kind: 'unplug', name: 'u', gpu: 'gpu0', mode, start: 1000 };
  const config: SimConfig = {
    version: 1,
    profile: 'pcie4-a100',
    platform: { ram: 256 * MiB },
    devices: { gpus: [{ name: 'gpu0', vram: 64 * MiB }] },
    buffers: [{ name: 'b', size: 4 * MiB, place: 'gpu0' }],
    // A scenario has a workload; this one is not spawned (the event runs alone).
    workloads: [{ kind: 'cpu', name: 'idle', buffer: 'b', op: 'read', pattern: 'sequential' }],
    events: [u],
  };
  const sim = buildSim(config, { seed: 1 });
  sim.engine.spawn(runAgent(sim, unplugEvent(sim, u)), 'u');
  sim.engine.run();
  return sim;
}

describe('unplug event', () => {
  it('safe: evicts every page back to RAM, loses nothing, charges the migration on a core', () => {
    const sim = run('safe');
    const m = sim.metrics.unplugs.u!;
    expect(m).toMatchObject({
      gpu: 'gpu0',
      mode: 'safe',
      atNs: 1000,
      lostPages: 0,
      evictedPages: (4 * MiB) / PAGE_SIZE,
    });
    expect(m.endNs).toBeGreaterThan(m.atNs);
    expect(sim.platform.gpus.get('gpu0')!.dev.removed).toBe(true);
    expect(sim.finished('u').fired).toBe(true);
  });

  it('surprise: reports the pages that were in VRAM as lost', () => {
    const m = run('surprise').metrics.unplugs.u!;
    expect(m.lostPages).toBe((4 * MiB) / PAGE_SIZE);
    expect(m.staleMappings).toBe(0);
  });
});
