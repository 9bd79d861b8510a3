import { describe, expect, it } from 'vitest';
import { runAgent } from '../agent.js';
import type { RdmaWorkload, SimConfig } from '../config.js';
import { buildSim } from '../simulate.js';
import { rdmaWorkload } from './rdma.js';

const MiB = 2 ** 20;
const w: RdmaWorkload = {
  kind: 'rdma',
  name: 'r',
  nic: 'nic0',
  buffer: 'b',
  op: 'write',
  pattern: 'sequential',
  messageSize: 256 * 1024,
  messages: 16,
  queueDepth: 2,
};
const config: SimConfig = {
  version: 1,
  profile: 'pcie4-a100',
  platform: { ram: 256 * MiB },
  devices: { gpus: [], nics: [{ name: 'nic0' }] },
  buffers: [{ name: 'b', size: 4 * MiB, place: 'ram' }],
  workloads: [w],
};

describe('rdma workload', () => {
  it('sends every message over host memory, faulting the MR in first; latencies are ordered', () => {
    const sim = buildSim(config, { seed: 1, log: true });
    sim.engine.spawn(runAgent(sim, rdmaWorkload(sim, w)), 'r');
    sim.engine.run();
    const r = sim.metrics.rdma.r!;
    expect(r.messages).toBe(16);
    expect(r.bytes).toBe(16 * 256 * 1024);
    expect(r.latencyP50Ns).toBeLessThanOrEqual(r.latencyP90Ns);
    expect(r.latencyP90Ns).toBeLessThanOrEqual(r.latencyP99Ns);
    expect(r.latencyP99Ns).toBeLessThanOrEqual(r.latencyMaxNs);
    const n = sim.platform.nics.get('nic0')!;
    expect(n.nic.stats.nicFaults).toBeGreaterThan(0);
    expect(n.m.faultCpuNs).toBeGreaterThan(0);
    expect(sim.platform.hostMem[1].bytesCarried).toBe(16 * 256 * 1024);
    expect(sim.metrics.log!.filter((e) => e.kind === 'message')).toHaveLength(16);
    expect(sim.metrics.workloads.r).toMatchObject({ startNs: 0, endNs: sim.engine.now });
  });
});
