import { describe, expect, it } from 'vitest';
import { type RunSummary, SimMetrics } from './metrics.js';

const zeroGpu = {
  faults: 0,
  duplicateFaults: 0,
  batches: 0,
  pagesToVram: 0,
  prefetchedPages: 0,
  evictedPages: 0,
  cpuFaultPages: 0,
  hmmCalls: 0,
  hmmPages: 0,
  hmmRetries: 0,
  invalidations: 0,
  tlbInvalidations: 0,
  thrashingEvents: 0,
  throttles: 0,
  pinnedBlocks: 0,
  remoteMapped: 0,
};

function summary(over: Partial<RunSummary> = {}): RunSummary {
  return {
    profile: 'p',
    seed: 7,
    endNs: 100,
    events: 3,
    gpus: [],
    nics: [],
    links: [],
    cpu: { cores: 1, busyNs: 0, waitNs: 0 },
    design: {
      name: 'upstream',
      callbacks: 0,
      locks: 0,
      mapTypeQueries: 0,
      p2pPages: 0,
      fallbackPages: 0,
      windowMisses: 0,
      aliasStructPageBytes: 0,
    },
    ...over,
  };
}

describe('SimMetrics', () => {
  it('records workloads in the order they open, and logs workload_end when they end', () => {
    const m = new SimMetrics(true);
    m.workloadStarted('b', 5);
    const a = m.workloadStarted('a', 10, true);
    a.pagesTouched = 4;
    m.workloadEnded('a', 30);
    expect(Object.keys(m.workloads)).toEqual(['b', 'a']);
    expect(m.workloads.a).toEqual({
      startNs: 10,
      endNs: 30,
      pagesTouched: 4,
      cpuFaults: 0,
      faultNs: 0,
      computeNs: 0,
      ioctls: 0,
      cpages: 0,
      ioctlErrors: 0,
    });
    expect(m.log).toEqual([{ t: 30, kind: 'workload_end', workload: 'a' }]);
  });

  it('keeps no log when asked not to, and the result then has no log key', () => {
    const m = new SimMetrics(false);
    m.event({ t: 0, kind: 'workload_end', workload: 'x' });
    expect(m.log).toBeNull();
    expect('log' in m.result(summary())).toBe(false);
  });

  it('gpu() and nic() return one counter object per name', () => {
    const m = new SimMetrics(false);
    m.gpu('g').stallNs += 5;
    m.nic('n').hmmNs += 2;
    expect(m.gpu('g').stallNs).toBe(5);
    expect(m.nic('n').hmmNs).toBe(2);
  });

  it('result: device counters net of initial placement over the simulator-owned ones; NIC CPU time by part', () => {
    const m = new SimMetrics(false);
    m.gpu('g').stallNs = 9;
    m.nic('n').faultCpuNs = 11;
    const r = m.result(
      summary({
        gpus: [
          { name: 'g', stats: { ...zeroGpu, faults: 10, remoteMapped: 3 }, base: { ...zeroGpu, faults: 4 } },
        ],
        nics: [
          {
            name: 'n',
            stats: {
              nicFaults: 1,
              hmmCalls: 1,
              hmmPages: 2,
              hmmRetries: 0,
              dmaMaps: 2,
              hostPages: 2,
              p2pPages: 0,
              fallbacks: 0,
              fallbackPages: 0,
              invalidations: 0,
            },
          },
        ],
        links: [{ name: 'l', bytesCarried: 8, busyNs: 2 }],
      }),
    );
    expect(r.devices.g).toMatchObject({ faults: 6, remoteMappedPages: 3, stallNs: 9 });
    expect(r.nics.n).toMatchObject({ nicFaults: 1, faultCpuNs: 11, hmmCpuNs: 0 });
    expect(r.links).toEqual({ l: { bytes: 8, busyNs: 2 } });
    expect(Object.keys(r)).toEqual([
      'profile',
      'seed',
      'endNs',
      'events',
      'devices',
      'workloads',
      'links',
      'cpu',
      'nics',
      'rdma',
      'unplugs',
      'design',
    ]);
  });
});
