import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../kernel/constants.js';
import { runAgent } from '../agent.js';
import type { CpuWorkload, SimConfig } from '../config.js';
import { buildSim } from '../simulate.js';
import { cpuWorkload } from './cpu.js';

const MiB = 2 ** 20;
const w: CpuWorkload = { kind: 'cpu', name: 'c', buffer: 'b', op: 'write', pattern: 'sequential', passes: 2 };
const config: SimConfig = {
  version: 1,
  profile: 'pcie4-a100',
  platform: { ram: 256 * MiB, thp: 'never' },
  devices: { gpus: [] },
  buffers: [{ name: 'b', size: 1 * MiB }],
  workloads: [w],
};

describe('cpu workload', () => {
  it('faults each page once, then runs at nsPerPage; the time is compute plus fault entries', () => {
    const sim = buildSim(config, { seed: 1, log: true });
    sim.engine.spawn(runAgent(sim, cpuWorkload(sim, w)), 'c');
    sim.engine.run();
    const pages = MiB / PAGE_SIZE;
    const wm = sim.metrics.workloads.c!;
    expect(wm.pagesTouched).toBe(2 * pages);
    expect(wm.cpuFaults).toBe(pages);
    expect(wm.computeNs).toBe(2 * pages * 100);
    expect(wm.faultNs).toBe(pages * sim.v.cpuFaultEntryNs);
    expect(wm.endNs).toBeCloseTo(wm.computeNs + wm.faultNs, 6);
    const log = sim.metrics.log!;
    expect(log.filter((e) => e.kind === 'cpu_fault')).toHaveLength(pages);
    expect(log.at(-1)).toEqual({ t: wm.endNs, kind: 'workload_end', workload: 'c' });
    expect(sim.finished('c').fired).toBe(true);
  });
});
