import { describe, expect, it } from 'vitest';
import { runAgent } from '../agent.js';
import type { RdmaWorkload, SimConfig } from '../config.js';
import { buildSim, simulate } from '../simulate.js';
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

/** Upstream, a 16 MiB THP buffer the GPU wrote (so in VRAM): every NIC fault migrates a folio back. */
function fromVram(qps: number, queueDepth: number): SimConfig {
  return {
    version: 1,
    profile: 'pcie5-h100',
    design: 'upstream',
    platform: { ram: 512 * MiB, cpuCores: 8, p2p: { default: 'BUS_ADDR' } },
    devices: { gpus: [{ name: 'gpu0', vram: 256 * MiB }], nics: [{ name: 'nic0' }] },
    buffers: [{ name: 'b', size: 16 * MiB, hugepage: true, place: 'gpu0' }],
    workloads: [{ ...w, pattern: 'sequential', messageSize: 64 * 1024, messages: 256, queueDepth, qps }],
  } as SimConfig;
}

function runRdma(config: SimConfig) {
  const sim = buildSim(config, { seed: 1, log: true });
  sim.engine.spawn(runAgent(sim, rdmaWorkload(sim, config.workloads[0] as RdmaWorkload)), 'r');
  sim.engine.run();
  return { sim, r: sim.metrics.rdma.r!, msgs: sim.metrics.log!.filter((e) => e.kind === 'message') };
}

describe('rdma workload: reliable-connected queue pairs', () => {
  it('one QP completes its messages in order, and its faults stall it (stall time within the run)', () => {
    const { sim, r, msgs } = runRdma(fromVram(1, 4));
    expect(r.messages).toBe(256);
    expect(r.faultStalls).toBeGreaterThan(0);
    // Posted in order (t), completed in order (endNs).
    for (let i = 1; i < msgs.length; i++) {
      const a = msgs[i - 1]! as { t: number; endNs: number };
      const b = msgs[i]! as { t: number; endNs: number };
      expect(b.t).toBeGreaterThanOrEqual(a.t);
      expect(b.endNs).toBeGreaterThanOrEqual(a.endNs);
    }
    // One QP: its faults never overlap, so their stall fits in the run.
    expect(r.faultStallNs).toBeGreaterThan(0);
    expect(r.faultStallNs).toBeLessThanOrEqual(sim.engine.now);
  });

  it('never keeps more than queueDepth messages of a QP outstanding', () => {
    const { msgs } = runRdma(fromVram(1, 2));
    const events = msgs as { t: number; endNs: number }[];
    for (const m of events) {
      // Messages posted before m completes, m included, posted no later than m: at most 2 outstanding at m's post.
      const outstanding = events.filter((o) => o.t <= m.t && o.endNs > m.t).length;
      expect(outstanding).toBeLessThanOrEqual(2);
    }
  });

  it('more queue pairs overlap their faults: upstream moves the same bytes sooner', () => {
    const one = runRdma(fromVram(1, 4));
    const four = runRdma(fromVram(4, 4));
    expect(four.r.messages).toBe(256);
    expect(four.r.gbps).toBeGreaterThan(one.r.gbps * 1.05);
    // Summed over QPs, the stall can exceed the run: the faults overlapped.
    expect(four.r.faultStalls).toBeGreaterThan(0);
  });
});

describe('rdma workload: in-order completion across paths', () => {
  // Half the buffer in VRAM on a GPU of the other socket (P2P crosses the socket link, slow),
  // half in RAM (fast): with several messages in flight, a later message to RAM would finish
  // before an earlier one to VRAM; an RC QP completes them in order anyway.
  const config = {
    version: 1,
    profile: 'pcie5-h100',
    design: 'owner-registry',
    platform: { ram: 512 * MiB, cpuCores: 8, p2p: { default: 'THRU_HOST_BRIDGE' } },
    devices: { gpus: [{ name: 'gpu0', vram: 256 * MiB, socket: 1 }], nics: [{ name: 'nic0' }] },
    buffers: [{ name: 'b', size: 16 * MiB, hugepage: true, place: 'ram' }],
    workloads: [
      {
        kind: 'gpu',
        name: 'half',
        gpu: 'gpu0',
        buffer: 'b',
        op: 'write',
        pattern: 'sequential',
        bytes: 8 * MiB,
      },
      { ...w, pattern: 'random', messageSize: 64 * 1024, messages: 256, queueDepth: 8, after: 'half' },
    ],
  } as SimConfig;

  it('a message never completes before the one posted ahead of it on its QP', () => {
    const r = simulate(config, { seed: 1, log: true });
    const msgs = (r.log ?? []).filter((e) => e.kind === 'message') as { t: number; endNs: number }[];
    expect(msgs).toHaveLength(256);
    expect(r.rdma.r!.p2pBytes).toBeGreaterThan(0);
    expect(r.rdma.r!.hostBytes).toBeGreaterThan(0);
    // The log lists messages as they complete; in the order they were posted (a stable sort
    // keeps completion order among messages posted at one time), completions never go back.
    const posted = [...msgs].sort((a, b) => a.t - b.t);
    for (let i = 1; i < posted.length; i++)
      expect(posted[i]!.endNs).toBeGreaterThanOrEqual(posted[i - 1]!.endNs);
  });
});

describe('rdma workload: RNR NAK on a responder fault', () => {
  const at = (rnr: number, op: 'read' | 'write') => {
    const c = fromVram(1, 4);
    (c as { overrides?: Record<string, number> }).overrides = { rdmaRnrTimerNs: rnr };
    (c.workloads[0] as RdmaWorkload).op = op;
    return runRdma(c).r;
  };
  // Kills: the RNR retry charged on reads, or not at all, or not as whole timer periods.
  it('a write that faulted waits whole RNR periods; a read does not', () => {
    const none = at(0, 'write');
    const rnr = at(640_000, 'write');
    expect(rnr.faultStalls).toBe(none.faultStalls);
    expect(rnr.faultStallNs).toBeGreaterThanOrEqual(rnr.faultStalls * 640_000);
    expect(rnr.faultStallNs).toBeLessThan(none.faultStallNs + rnr.faultStalls * 640_000 + 1);
    const readNone = at(0, 'read');
    const readRnr = at(640_000, 'read');
    expect(readRnr.faultStallNs).toBe(readNone.faultStallNs);
  });
});
