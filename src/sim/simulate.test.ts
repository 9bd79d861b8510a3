import { describe, expect, it } from 'vitest';
import { gpuFillThenRdmaWrite, twoGpuReads } from '../../test/fixtures/configs.js';
import { checkInvariants } from '../check/invariants.js';
import { type CostParameterName, type CostProfile, getProfile } from './costs.js';
import { ConfigError, measureCopyBandwidth, type SimConfig, type SimEvent, simulate } from './simulate.js';

const MiB = 2 ** 20;
const GB = 1e9;

function streaming(overrides: Partial<SimConfig> = {}, bufferBytes = 64 * MiB, vram = 256 * MiB): SimConfig {
  return {
    version: 1,
    profile: 'pcie4-a100',
    platform: { ram: 1024 * MiB },
    devices: { gpus: [{ name: 'gpu0', vram: vram }] },
    buffers: [{ name: 'buf', size: bufferBytes }],
    workloads: [
      { kind: 'cpu', name: 'init', buffer: 'buf', op: 'write', pattern: 'sequential' },
      {
        kind: 'gpu',
        name: 'stream',
        gpu: 'gpu0',
        buffer: 'buf',
        op: 'read',
        pattern: 'sequential',
        after: 'init',
      },
    ],
    ...overrides,
  };
}

describe('simulate', () => {
  it('is deterministic: same config and seed, byte-identical result', () => {
    const c = streaming({
      workloads: [
        { kind: 'cpu', name: 'init', buffer: 'buf', op: 'write', pattern: 'random' },
        {
          kind: 'gpu',
          name: 'stream',
          gpu: 'gpu0',
          buffer: 'buf',
          op: 'read',
          pattern: 'random',
          after: 'init',
        },
      ],
    });
    const a = JSON.stringify(simulate(c, { seed: 7, log: true }));
    const b = JSON.stringify(simulate(c, { seed: 7, log: true }));
    expect(a).toBe(b);
    expect(JSON.stringify(simulate(c, { seed: 8 }))).not.toBe(JSON.stringify(simulate(c, { seed: 7 })));
  });

  it("without a seed option, runs with the config's seed, else 1", () => {
    const c = streaming({
      workloads: [{ kind: 'cpu', name: 'init', buffer: 'buf', op: 'write', pattern: 'random' }],
    });
    const seven = simulate(c, { seed: 7 });
    expect(simulate({ ...c, seed: 7 })).toEqual(seven);
    expect(simulate({ ...c, seed: 7 }).seed).toBe(7);
    expect(simulate(c)).toEqual(simulate(c, { seed: 1 }));
    expect(simulate(c)).not.toEqual(seven); // the seed matters to this run
    // The option wins over the config's seed (as --seed over a scenario's `seed:`).
    expect(simulate({ ...c, seed: 3 }, { seed: 7 })).toEqual(seven);
  });

  it('streams a buffer the CPU first touched into VRAM, page for page', () => {
    const r = simulate(streaming(), { seed: 1 });
    const d = r.devices.gpu0!;
    expect(d.pagesToVram).toBe((64 * MiB) / 4096);
    expect(d.bytesToVram).toBe(64 * MiB);
    expect(r.links['pci:gpu0.down']!.bytes).toBe(64 * MiB);
    expect(r.workloads.stream!.endNs).toBeGreaterThan(r.workloads.init!.endNs);
    expect(r.workloads.init!.cpuFaults).toBe((64 * MiB) / 4096);
  });

  it('evicts to RAM when the buffer is 25% larger than VRAM, and stays consistent', () => {
    const r = simulate(streaming({}, 80 * MiB, 64 * MiB), { seed: 1 });
    const d = r.devices.gpu0!;
    expect(d.evictedPages).toBeGreaterThan(0);
    expect(d.bytesToRam).toBe(d.evictedPages * 4096);
    expect(d.pagesToVram).toBe((80 * MiB) / 4096);
  });

  it('metrics recomputed from the raw event log equal the incremental ones', () => {
    const r = simulate(streaming({}, 80 * MiB, 64 * MiB), { seed: 3, log: true });
    const log = r.log as SimEvent[];
    const d = r.devices.gpu0!;
    let batches = 0;
    let faults = 0;
    let toVram = 0;
    let evicted = 0;
    let cpuNs = 0;
    let stall = 0;
    const linkBytes: Record<string, number> = {};
    let cpuFaults = 0;
    for (const e of log) {
      if (e.kind === 'batch') {
        batches++;
        faults += e.faults;
        toVram += e.pagesToVram;
        evicted += e.evictedPages;
        cpuNs += e.cpuNs;
        stall += e.endNs - e.t;
      } else if (e.kind === 'transfer') {
        linkBytes[e.link] = (linkBytes[e.link] ?? 0) + e.bytes;
      } else if (e.kind === 'cpu_fault') cpuFaults += e.pages;
    }
    expect(batches).toBe(d.batches);
    expect(faults).toBe(d.faults);
    expect(toVram).toBe(d.pagesToVram);
    expect(evicted).toBe(d.evictedPages);
    expect(cpuNs).toBeCloseTo(d.faultCpuNs, 3);
    expect(stall).toBeCloseTo(d.stallNs, 3);
    expect(linkBytes['pci:gpu0.down']).toBe(r.links['pci:gpu0.down']!.bytes);
    expect(linkBytes['pci:gpu0.up']).toBe(r.links['pci:gpu0.up']!.bytes);
    expect(cpuFaults).toBe(r.workloads.init!.cpuFaults);
  });

  it('rejects a bad configuration with a message naming the field', () => {
    expect(() => simulate(streaming({ profile: 'pcie9' }), { seed: 1 })).toThrow(ConfigError);
    expect(() => simulate(streaming({ overrides: { faultBatchSiz: 3 } }), { seed: 1 })).toThrow(
      /faultBatchSize/,
    );
    const bad = streaming();
    bad.workloads[1] = { ...bad.workloads[1]!, buffer: 'nope' };
    expect(() => simulate(bad, { seed: 1 })).toThrow(/workloads\[1\]\.buffer: no buffer named 'nope'/);
  });
});

describe('checks against published numbers (the engine reproduces its inputs)', () => {
  // UVMSmart's curve fit, PCIe 3.0 x16 (GTX 1080 Ti): 2.17 / 10.4 / 5.97 at 4 KiB / 64 KiB / 2 MiB,
  // in GiB/s as UVMSmart computes it (src/gpgpu-sim/gpu-sim.cc gmmu_t::calculate_transfer_time).
  const GiBps = 2 ** 30 / 1e9;
  it.each([
    [4096, 2.17],
    [65536, 10.4],
    [2 * MiB, 5.97],
  ])('uvmsmart-gtx1080ti: %i-byte transfers at %f GiB/s (within 5%)', (bytes, want) => {
    const got = measureCopyBandwidth('uvmsmart-gtx1080ti', bytes, 'h2d') / GiBps;
    expect(Math.abs(got - want) / want).toBeLessThan(0.05);
  });

  it('pcie5-h100: a large copy runs at 35.2 GB/s host-to-device and 52.8 GB/s device-to-host (within 5%)', () => {
    const h2d = (measureCopyBandwidth('pcie5-h100', 2 ** 30, 'h2d') * 1e9) / GB;
    const d2h = (measureCopyBandwidth('pcie5-h100', 2 ** 30, 'd2h') * 1e9) / GB;
    expect(Math.abs(h2d - 35.2) / 35.2).toBeLessThan(0.05);
    expect(Math.abs(d2h - 52.8) / 52.8).toBeLessThan(0.05);
  });

  it('leaves the kernel model consistent after an oversubscribed run with CPU read-back', () => {
    let violations: string[] = ['not inspected'];
    const c = streaming({}, 16 * MiB, 8 * MiB);
    c.workloads.push({
      kind: 'cpu',
      name: 'check',
      buffer: 'buf',
      op: 'read',
      pattern: 'sequential',
      after: 'stream',
    });
    const r = simulate(c, {
      seed: 5,
      inspect: (m) => {
        violations = checkInvariants(m);
      },
    });
    expect(r.devices.gpu0!.evictedPages).toBeGreaterThan(0);
    expect(r.devices.gpu0!.cpuFaultPages).toBeGreaterThan(0);
    expect(violations).toEqual([]);
  });
});

describe('thrashing detection', () => {
  function pingPong(thrashing: boolean) {
    const workloads: SimConfig['workloads'] = [
      { kind: 'cpu', name: 'w0', buffer: 'buf', op: 'write', pattern: 'sequential' },
    ];
    for (let i = 1; i <= 80; i++) {
      workloads.push(
        i % 2
          ? {
              kind: 'gpu',
              name: `w${i}`,
              gpu: 'gpu0',
              buffer: 'buf',
              op: 'write',
              pattern: 'sequential',
              after: `w${i - 1}`,
            }
          : {
              kind: 'cpu',
              name: `w${i}`,
              buffer: 'buf',
              op: 'write',
              pattern: 'sequential',
              after: `w${i - 1}`,
            },
      );
    }
    return simulate(
      {
        version: 1,
        profile: 'pcie4-a100',
        overrides: { thrashingLapseNs: 50_000_000, thrashingPinThrottles: 3 },
        platform: { ram: 256 * MiB },
        devices: { gpus: [{ name: 'gpu0', vram: 64 * MiB, thrashing }] },
        buffers: [{ name: 'buf', size: 4 * MiB }],
        workloads,
      },
      { seed: 1 },
    );
  }

  it('pins a block that ping-pongs between CPU and GPU, then maps it remotely', () => {
    const off = pingPong(false).devices.gpu0!;
    const on = pingPong(true).devices.gpu0!;
    expect(off.pinnedBlocks).toBe(0);
    expect(on.thrashingEvents).toBeGreaterThan(0);
    expect(on.throttles).toBeGreaterThan(0);
    expect(on.pinnedBlocks).toBeGreaterThan(0);
    expect(on.remoteMappedPages).toBeGreaterThan(0);
    expect(on.pagesToVram).toBeLessThan(off.pagesToVram);
  });
});

describe('links', () => {
  const base = (gpu: Partial<import('./simulate.js').GpuConfig>) =>
    simulate(
      {
        version: 1,
        profile: 'pcie4-a100',
        platform: { ram: 512 * MiB },
        devices: { gpus: [{ name: 'gpu0', vram: 256 * MiB, ...gpu }] },
        buffers: [{ name: 'buf', size: 64 * MiB, hugepage: true }],
        workloads: [
          { kind: 'cpu', name: 'init', buffer: 'buf', op: 'write', pattern: 'sequential' },
          {
            kind: 'gpu',
            name: 'stream',
            gpu: 'gpu0',
            buffer: 'buf',
            op: 'read',
            pattern: 'sequential',
            after: 'init',
          },
        ],
      },
      { seed: 1 },
    );

  it('a narrower or older PCIe link makes the copies slower; C2C makes them faster', () => {
    const x16 = base({});
    const x4 = base({ link: { kind: 'pcie', gen: 4, lanes: 4 } });
    const gen3 = base({ link: { kind: 'pcie', gen: 3 } });
    const c2c = base({ link: { kind: 'c2c' } });
    const copy = (r: ReturnType<typeof base>) => r.devices.gpu0!.copyWaitNs;
    expect(copy(x4)).toBeGreaterThan(3 * copy(x16));
    expect(copy(gen3)).toBeGreaterThan(1.5 * copy(x16));
    expect(copy(c2c)).toBeLessThan(copy(x16));
    expect(c2c.links['c2c:gpu0.down']!.bytes).toBe(64 * MiB);
  });

  it('a GPU on the other socket sends its copies over the socket interconnect', () => {
    const r = base({ socket: 1 });
    expect(r.links['socket-interconnect.0to1']!.bytes).toBe(64 * MiB);
    expect(base({}).links['socket-interconnect.0to1']!.bytes).toBe(0);
  });
});

describe('RDMA into GPU memory under the P2P designs', () => {
  const run = (design: import('../designs/design.js').DesignName, mapType: 'BUS_ADDR' | 'NOT_SUPPORTED') =>
    simulate(
      gpuFillThenRdmaWrite({
        design,
        platform: { ram: 1024 * MiB, p2p: { default: mapType } },
        vram: 256 * MiB,
        size: 16 * MiB,
        messages: 256,
        queueDepth: 4,
      }),
      {
        seed: 1,
        inspect: (m) => {
          expect(checkInvariants(m)).toEqual([]);
        },
      },
    );

  it('upstream migrates the buffer to RAM for the NIC; P2P designs leave it in VRAM', () => {
    const up = run('upstream', 'BUS_ADDR');
    expect(up.devices.gpu0!.cpuFaultPages).toBe(4096);
    expect(up.nics.nic0!.p2pPages).toBe(0);
    for (const d of ['rfc-callback', 'pagemap-p2p', 'owner-registry', 'device-private-flag'] as const) {
      const r = run(d, 'BUS_ADDR');
      expect(r.devices.gpu0!.cpuFaultPages).toBe(0);
      expect(r.nics.nic0!.p2pPages).toBe(4096);
      expect(r.rdma.put!.messages).toBe(256);
      // Peer-to-peer writes never cross host memory.
      expect(r.links['host-memory.write']!.bytes).toBe(0);
      // (A link's byte count is a sum of fair-share progress: exact to rounding.)
      expect(r.links['pci:gpu0.down']!.bytes).toBeGreaterThanOrEqual(16 * MiB * (1 - 1e-12));
    }
  });

  it('without a P2P path every design falls back to migration', () => {
    for (const d of ['rfc-callback', 'pagemap-p2p', 'owner-registry', 'device-private-flag'] as const) {
      const r = run(d, 'NOT_SUPPORTED');
      expect(r.nics.nic0!.p2pPages).toBe(0);
      expect(r.devices.gpu0!.cpuFaultPages).toBe(4096);
    }
  });

  it('counts alias struct pages from the pagemaps the run created, not from the design name', () => {
    // pagemap-p2p never asks for an alias page when the NIC cannot reach the GPU.
    expect(run('pagemap-p2p', 'NOT_SUPPORTED').design.aliasStructPageBytes).toBe(0);
    // rfc-callback's callback hands out alias pages before the DMA map finds no path.
    expect(run('rfc-callback', 'NOT_SUPPORTED').design.aliasStructPageBytes).toBe((256 * MiB * 64) / 4096);
  });

  it('reports the alias struct-page memory only for the designs that create alias pages', () => {
    expect(run('rfc-callback', 'BUS_ADDR').design.aliasStructPageBytes).toBe((256 * MiB * 64) / 4096);
    expect(run('pagemap-p2p', 'BUS_ADDR').design.aliasStructPageBytes).toBe((256 * MiB * 64) / 4096);
    expect(run('owner-registry', 'BUS_ADDR').design.aliasStructPageBytes).toBe(0);
    expect(run('rfc-callback', 'BUS_ADDR').design.callbacks).toBe(4096);
    expect(run('pagemap-p2p', 'BUS_ADDR').design.callbacks).toBe(0);
  });
});

describe('configuration checks', () => {
  const base = (): SimConfig => ({
    version: 1,
    profile: 'pcie4-a100',
    platform: { ram: 256 * MiB },
    devices: { gpus: [{ name: 'gpu0', vram: 64 * MiB }] },
    buffers: [{ name: 'buf', size: 4 * MiB }],
    workloads: [{ kind: 'cpu', name: 'init', buffer: 'buf', op: 'write', pattern: 'sequential' }],
  });

  it('the gh200-c2c profile (one CPU socket) simulates', () => {
    const r = simulate({ ...base(), profile: 'gh200-c2c' }, { seed: 1 });
    expect(r.workloads.init!.pagesTouched).toBe(1024);
  });

  it.each([
    [
      { overrides: { hostToDeviceBandwidth: 0 } },
      /overrides\.hostToDeviceBandwidth: expected a bandwidth > 0 \(GB\/s\), found 0/,
    ],
    [
      // A profile object with a value the catalogue refuses (withOverrides refuses it too, so it
      // is edited by hand, as a library user could).
      { profile: withValue(getProfile('pcie4-a100'), 'deviceToHostBandwidth', 0) },
      /profile: cost profile 'pcie4-a100': deviceToHostBandwidth: expected a number > 0/,
    ],
    [{ platform: { ram: 1024 } }, /platform\.ram: expected a size of at least 16MiB/],
    [{ buffers: [] }, /buffers: expected at least 1 item/],
    [{ devices: { gpus: [{ name: 'gpu0', vram: 64 * MiB, faultBatchSize: 0.5 }] } }, /faultBatchSize/],
    [{ devices: { gpus: [{ name: 'gpu0', vram: 64 * MiB, chunkSizes: [3000] }] } }, /chunkSizes/],
    [
      {
        version: 1,
        profile: 'gh200-c2c',
        devices: { gpus: [{ name: 'gpu0', vram: 64 * MiB, socket: 1 as const }] },
      },
      /one CPU socket/,
    ],
  ] as [Partial<SimConfig>, RegExp][])('rejects a config with %s', (patch, msg) => {
    expect(() => simulate({ ...base(), ...patch }, { seed: 1 })).toThrow(msg);
  });
});

describe('two GPUs sharing a buffer', () => {
  const twoGpus = (design: import('../designs/design.js').DesignName, linked: boolean) => {
    let violations: string[] = ['not inspected'];
    const r = simulate(
      twoGpuReads({
        design,
        platform: { ram: 512 * MiB },
        gpuLinks: linked ? [{ a: 'gpu0', b: 'gpu1' }] : [],
        check: true,
      }),
      {
        seed: 1,
        inspect: (m) => {
          violations = checkInvariants(m);
        },
      },
    );
    return { r, violations };
  };

  it('upstream: the second GPU pulls the pages through RAM into its own VRAM', () => {
    const { r, violations } = twoGpus('upstream', true);
    expect(violations).toEqual([]);
    expect(r.devices.gpu0!.cpuFaultPages).toBe(4096);
    expect(r.devices.gpu1!.pagesToVram).toBe(4096);
    expect(r.devices.gpu1!.peerBytes).toBe(0);
    expect(r.links['gpulink-gpu0-gpu1.gpu0togpu1']!.bytes).toBe(0);
  });

  it('owner-registry: the second GPU reads the VRAM of the first over the private link', () => {
    const { r, violations } = twoGpus('owner-registry', true);
    expect(violations).toEqual([]);
    expect(r.devices.gpu1!.pagesToVram).toBe(0);
    expect(r.devices.gpu1!.peerBytes).toBe(16 * MiB);
    expect(r.links['gpulink-gpu0-gpu1.gpu0togpu1']!.bytes).toBe(16 * MiB);
  });

  it('owner-registry without a private link: peer reads go through PCIe', () => {
    const { r, violations } = twoGpus('owner-registry', false);
    expect(violations).toEqual([]);
    expect(r.devices.gpu1!.peerBytes).toBe(16 * MiB);
    expect(r.links['pci:gpu0.up']!.bytes).toBeGreaterThanOrEqual(16 * MiB);
    // Reads out of gpu0's BAR: read completions enter the root complex at gpu0's root port (no
    // platform.pci: a GPU pair has no map type, so peer traffic goes through the root complex).
    expect(r.links['pci:gpu0/root-port.p2p.read']!.bytes).toBe(16 * MiB);
    expect(r.links['pci:gpu0/root-port.p2p.write']!.bytes).toBe(0);
  });
});

describe('ATS for ODP memory (the series patch 5)', () => {
  // NIC and GPU under one switch whose downstream ports redirect P2P upstream (ACS): the map
  // type is THRU_HOST_BRIDGE. With a translating IOMMU, an ATS-capable NIC with a relaxed-
  // ordering MR sends translated requests that the switch routes directly.
  const pci = {
    cpu: { vendor: 'amd', family: 0x19 },
    hostBridges: [
      {
        name: 'hb0',
        children: [
          {
            name: 'rp0',
            kind: 'rootPort',
            children: [
              {
                name: 'sw0',
                kind: 'switch',
                acsRedirect: true,
                children: [
                  { name: 'gpu0', kind: 'endpoint' },
                  { name: 'nic0', kind: 'endpoint' },
                ],
              },
            ],
          },
        ],
      },
    ],
  };
  const run = (ats: boolean, relaxedOrdering: boolean) =>
    simulate(
      {
        version: 1,
        profile: 'pcie5-h100',
        platform: { ram: 1024 * MiB, iommu: 'translate', pci: pci },
        design: 'pagemap-p2p',
        devices: {
          gpus: [{ name: 'gpu0', vram: 256 * MiB }],
          nics: [{ name: 'nic0', ats, relaxedOrdering }],
        },
        buffers: [{ name: 'buf', size: 16 * MiB, hugepage: true }],
        workloads: [
          { kind: 'gpu', name: 'fill', gpu: 'gpu0', buffer: 'buf', op: 'write', pattern: 'sequential' },
          {
            kind: 'rdma',
            name: 'put',
            nic: 'nic0',
            buffer: 'buf',
            op: 'write',
            pattern: 'sequential',
            messageSize: 65536,
            messages: 256,
            after: 'fill',
          },
        ],
      },
      { seed: 1 },
    );

  it('routes P2P through the host bridge without ATS, and through the switch with it', () => {
    const noAts = run(false, true);
    // Redirected: up the switch's uplink and the root port, through the host bridge, back down.
    for (const l of ['pci:rp0.p2p.write', 'pci:sw0.up', 'pci:rp0.up', 'pci:rp0.down', 'pci:sw0.down'])
      expect(noAts.links[l]!.bytes, l).toBe(16 * MiB);
    expect(run(true, false).links['pci:rp0.p2p.write']!.bytes).toBe(16 * MiB); // no relaxed ordering: no ATS
    const ats = run(true, true);
    // Translated requests turn at the switch: nothing crosses its uplink.
    expect(ats.links['pci:rp0.p2p.write']!.bytes).toBe(0);
    expect(ats.links['pci:sw0.up']!.bytes).toBe(0);
    expect(ats.links['pci:nic0.up']!.bytes).toBe(16 * MiB);
    expect(ats.links['pci:gpu0.down']!.bytes).toBe(16 * MiB);
    expect(ats.nics.nic0!.p2pPages).toBe(4096);
  });
});

describe('hot unplug during a run', () => {
  const run = (mode: 'safe' | 'surprise') => {
    let violations: string[] = ['not inspected'];
    const r = simulate(
      {
        version: 1,
        profile: 'pcie5-h100',
        platform: { ram: 1024 * MiB, p2p: { default: 'BUS_ADDR' } },
        design: 'pagemap-p2p',
        devices: { gpus: [{ name: 'gpu0', vram: 256 * MiB }], nics: [{ name: 'nic0' }] },
        buffers: [{ name: 'buf', size: 16 * MiB, hugepage: true }],
        workloads: [
          { kind: 'gpu', name: 'fill', gpu: 'gpu0', buffer: 'buf', op: 'write', pattern: 'sequential' },
          {
            kind: 'rdma',
            name: 'put',
            nic: 'nic0',
            buffer: 'buf',
            op: 'write',
            pattern: 'sequential',
            messageSize: 65536,
            messages: 256,
            after: 'fill',
          },
          {
            kind: 'cpu',
            name: 'after-unplug',
            buffer: 'buf',
            op: 'read',
            pattern: 'sequential',
            after: 'unplug',
          },
          {
            kind: 'gpu',
            name: 'too-late',
            gpu: 'gpu0',
            buffer: 'buf',
            op: 'read',
            pattern: 'sequential',
            after: 'unplug',
          },
        ],
        events: [{ kind: 'unplug', name: 'unplug', gpu: 'gpu0', mode, after: 'put' }],
      },
      {
        seed: 1,
        inspect: (m) => {
          violations = checkInvariants(m);
        },
      },
    );
    return { r, violations };
  };

  it('safe removal: pages come back to RAM, nothing is lost, peers were invalidated first', () => {
    const { r, violations } = run('safe');
    expect(violations).toEqual([]);
    const u = r.unplugs.unplug!;
    expect(u.lostPages).toBe(0);
    expect(u.evictedPages).toBe(4096);
    expect(u.staleMappings).toBe(0);
    expect(r.workloads['after-unplug']!.pagesTouched).toBe(4096);
    expect(r.workloads['too-late']!.pagesTouched).toBe(0);
  });

  it('surprise removal: the run reports the lost pages and the stale NIC mappings', () => {
    const { r, violations } = run('surprise');
    expect(violations).toEqual([]);
    const u = r.unplugs.unplug!;
    expect(u.lostPages).toBe(4096);
    expect(u.staleMappings).toBe(4096);
    expect(u.staleDevices).toEqual(['nic0']);
  });
});

/** A copy of `profile` with parameter `name` set to `value`, unchecked. */
function withValue(profile: CostProfile, name: CostParameterName, value: number): CostProfile {
  const copy = structuredClone(profile) as {
    values: Record<string, number>;
    parameters: Record<string, { value: number }>;
  };
  copy.values[name] = value;
  copy.parameters[name]!.value = value;
  return copy as unknown as CostProfile;
}
