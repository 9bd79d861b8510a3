import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../kernel/constants.js';
import { runAgent } from '../agent.js';
import type { GpuWorkload, SimConfig } from '../config.js';
import { buildSim } from '../simulate.js';
import { gpuWorkload } from './gpu.js';

const MiB = 2 ** 20;
const w: GpuWorkload = {
  kind: 'gpu',
  name: 'k',
  gpu: 'gpu0',
  buffer: 'b',
  op: 'read',
  pattern: 'sequential',
};
const config: SimConfig = {
  version: 1,
  profile: 'pcie4-a100',
  platform: { ram: 256 * MiB },
  devices: { gpus: [{ name: 'gpu0', vram: 64 * MiB }] },
  buffers: [{ name: 'b', size: 8 * MiB, place: 'ram' }],
  workloads: [w],
};

describe('gpu workload', () => {
  it('pulls a RAM buffer into VRAM in fault batches, stalling while they are serviced', () => {
    const sim = buildSim(config, { seed: 1, log: true });
    sim.engine.spawn(runAgent(sim, gpuWorkload(sim, w)), 'k');
    sim.engine.run();
    const g = sim.platform.gpus.get('gpu0')!;
    expect(g.dev.vramUsed).toBe((8 * MiB) / PAGE_SIZE);
    expect(g.m.bytesToVram).toBe(8 * MiB);
    expect(g.m.stallNs).toBeGreaterThan(0);
    expect(g.m.servicePasses).toBeGreaterThan(0);
    const batches = sim.metrics.log!.flatMap((e) => (e.kind === 'batch' ? [e] : []));
    expect(batches.length).toBeGreaterThan(0);
    for (const b of batches) {
      // The phases split the batch's CPU time exactly.
      expect(b.phases.reduce((s, [, ns]) => s + ns, 0)).toBeCloseTo(b.cpuNs, 6);
      expect(b.endNs).toBeGreaterThanOrEqual(b.cpuStartNs + b.cpuNs);
    }
    expect(sim.metrics.workloads.k!.pagesTouched).toBe((8 * MiB) / PAGE_SIZE);
  });

  it('stops when its GPU is removed', () => {
    const sim = buildSim(config, { seed: 1 });
    sim.platform.machine.unplugGpu('gpu0', 'safe');
    sim.engine.spawn(runAgent(sim, gpuWorkload(sim, w)), 'k');
    sim.engine.run();
    expect(sim.metrics.workloads.k!.pagesTouched).toBe(0);
    expect(sim.finished('k').fired).toBe(true);
  });
});
