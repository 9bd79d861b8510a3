import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../kernel/constants.js';
import { configProfile, parseConfig, type SimConfig, type SimConfigInput } from './config.js';
import { getProfile, transferTimeNs } from './costs.js';
import { Engine } from './engine.js';
import { Fabric } from './links.js';
import { SimMetrics } from './metrics.js';
import { hostLinkBandwidths, Platform, takeQueuedCopies } from './platform.js';

const MiB = 2 ** 20;

function build(input: SimConfigInput, log = false) {
  const c = parseConfig(input);
  const engine = new Engine();
  const metrics = new SimMetrics(log);
  const p = new Platform(c, configProfile(c), engine, new Fabric(engine), metrics);
  return { engine, metrics, p };
}

const base: SimConfig = {
  version: 1,
  profile: 'pcie4-a100',
  platform: { ram: 512 * MiB, p2p: { default: 'THRU_HOST_BRIDGE', pairs: { 'gpu1:nic0': 'BUS_ADDR' } } },
  processes: [{ name: 'a' }, { name: 'b' }],
  devices: {
    gpus: [
      { name: 'gpu0', vram: 64 * MiB },
      { name: 'gpu1', vram: 64 * MiB, link: { kind: 'pcie', gen: 3, lanes: 8 } },
    ],
    nics: [{ name: 'nic0' }],
    gpuLinks: [{ a: 'gpu0', b: 'gpu1' }],
  },
  buffers: [
    { name: 'x', size: 4 * MiB, place: 'gpu0' },
    { name: 'y', size: 2 * MiB + PAGE_SIZE, process: 'b', place: 'ram' },
  ],
  // Not spawned: the platform alone is built.
  workloads: [{ kind: 'cpu', name: 'w', buffer: 'x', op: 'read', pattern: 'sequential' }],
};
const baseDevices = base.devices!;

describe('Platform', () => {
  it('lists links in result order: the PCI tree (each edge top down, then a root port P2P forwarding), host memory, sockets, private links', () => {
    const { p } = build(base);
    // base makes gpu1:nic0 BUS_ADDR: the default tree puts those two under a switch, gpu0 on its
    // own root port; every child of the host bridge has the root complex's P2P forwarding.
    expect(p.links.map((l) => l.name)).toEqual([
      'pci:gpu0/root-port.up',
      'pci:gpu0/root-port.down',
      'pci:gpu0/root-port.p2p.write',
      'pci:gpu0/root-port.p2p.read',
      'pci:gpu0.up',
      'pci:gpu0.down',
      'pci:socket0/root-port0.up',
      'pci:socket0/root-port0.down',
      'pci:socket0/root-port0.p2p.write',
      'pci:socket0/root-port0.p2p.read',
      'pci:socket0/switch0.up',
      'pci:socket0/switch0.down',
      'pci:gpu1.up',
      'pci:gpu1.down',
      'pci:nic0.up',
      'pci:nic0.down',
      'host-memory.read',
      'host-memory.write',
      'socket-interconnect.0to1',
      'socket-interconnect.1to0',
      'socket-interconnect.p2p.0to1',
      'socket-interconnect.p2p.1to0',
      'gpulink-gpu0-gpu1.gpu0togpu1',
      'gpulink-gpu0-gpu1.gpu1togpu0',
    ]);
    expect(p.peerLinks.get('gpu1>gpu0')!.name).toBe('gpulink-gpu0-gpu1.gpu1togpu0');
  });

  it('maps buffers into their processes; devices mirror every process with buffers', () => {
    const { p } = build(base);
    expect(p.buffers.get('y')).toMatchObject({ bytes: 2 * MiB + PAGE_SIZE, proc: 'b' });
    expect(p.buffers.get('x')!.proc).toBe('a');
    expect([...p.gpus.get('gpu0')!.mirs.keys()]).toEqual(['a', 'b']);
    expect([...p.nics.get('nic0')!.mrs.keys()]).toEqual(['a', 'b']);
  });

  it('places buffers before the clock: statsBase counts what placement did, the clock did not move', () => {
    const { p, engine } = build(base);
    const g0 = p.gpus.get('gpu0')!;
    expect(g0.dev.vramUsed).toBe((4 * MiB) / PAGE_SIZE);
    expect(p.statsBase.get('gpu0')!.pagesToVram).toBe(g0.dev.stats.pagesToVram);
    expect(p.statsBase.get('gpu0')!.pagesToVram).toBeGreaterThan(0);
    expect(p.kernel.alloc.used).toBeGreaterThanOrEqual((2 * MiB) / PAGE_SIZE);
    expect(engine.now).toBe(0);
  });

  it('takes map types from the p2p table, or from the PCI topology when there is one', () => {
    const { p } = build(base);
    expect(p.mapType('gpu1', 'nic0')).toBe('BUS_ADDR');
    expect(p.mapType('gpu0', 'nic0')).toBe('THRU_HOST_BRIDGE');
    const pci = {
      hostBridges: [
        {
          name: 'hb0',
          vendor: 0x8086,
          device: 0x1234,
          children: [
            {
              name: 'rp0',
              kind: 'rootPort',
              children: [
                {
                  name: 'sw0',
                  kind: 'switch',
                  acsRedirect: false,
                  children: [
                    { name: 'gpu0', kind: 'endpoint' },
                    { name: 'gpu1', kind: 'endpoint' },
                    { name: 'nic0', kind: 'endpoint' },
                  ],
                },
              ],
            },
          ],
        },
      ],
    };
    const t = build({ ...base, platform: { ...base.platform, p2p: undefined, pci } }).p;
    expect(t.mapType('gpu0', 'nic0')).toBe('BUS_ADDR');
  });

  it('scales a GPU link of another PCIe generation by the profile efficiency; C2C runs at its own rate', () => {
    const v = getProfile('pcie4-a100').values;
    const gen3x8 = hostLinkBandwidths(v, {
      name: 'g',
      vram: 1,
      link: { kind: 'pcie', gen: 3, lanes: 8 },
    });
    expect(gen3x8.h2d).toBeCloseTo(
      (v.hostToDeviceBandwidth / v.pcieLinkRawBandwidth) * v.pcieGen3x16Bandwidth * 0.5,
    );
    expect(hostLinkBandwidths(v, { name: 'g', vram: 1 })).toEqual({
      h2d: v.hostToDeviceBandwidth,
      d2h: v.deviceToHostBandwidth,
    });
    expect(hostLinkBandwidths(v, { name: 'g', vram: 1, link: { kind: 'c2c' } }).d2h).toBe(
      v.nvlinkC2cBandwidth,
    );
  });

  it('copy: an uncontended copy takes the profile transfer time, and is logged with its copy engine', () => {
    const c: SimConfig = {
      ...base,
      platform: { ...base.platform, p2p: undefined },
      devices: { gpus: [baseDevices.gpus![0]!], gpuLinks: [], nics: [] },
    };
    const { p, engine, metrics } = build(c, true);
    let took = -1;
    engine.spawn(
      (function* () {
        took = yield* p.copy(p.gpus.get('gpu0')!, { bytes: 2 * MiB, dir: 'h2d' });
      })(),
    );
    engine.run();
    expect(took).toBeCloseTo(transferTimeNs(p.profile, 2 * MiB, 'hostToDevice'), 6);
    expect(metrics.log).toEqual([
      expect.objectContaining({ kind: 'transfer', link: 'pci:gpu0.down', bytes: 2 * MiB, ce: 'gpu0.ce0' }),
    ]);
  });

  it('vramByGpu and invalidation counts read every GPU', () => {
    const { p } = build(base);
    expect(p.vramByGpu()).toEqual({ gpu0: (4 * MiB) / PAGE_SIZE, gpu1: 0 });
    const before = p.gpuInvalidations();
    expect(p.invalidationNsSince(before)).toBe(0);
  });
});

describe('takeQueuedCopies', () => {
  it('takes the copies with their migrate work, once', () => {
    const { p } = build(base);
    const g = p.gpus.get('gpu0')!;
    g.sink.transfer({ bytes: PAGE_SIZE, dir: 'd2h' }, { calls: 1, entries: 1, pages: 1 });
    g.sink.transfer({ bytes: 0, dir: 'd2h' }, { calls: 1, entries: 0, pages: 0 }); // a failed migrate_to_ram
    expect(takeQueuedCopies(g)).toEqual({
      transfers: [{ bytes: PAGE_SIZE, dir: 'd2h' }],
      calls: 2,
      entries: 1,
      pages: 1,
    });
    expect(takeQueuedCopies(g)).toEqual({ transfers: [], calls: 0, entries: 0, pages: 0 });
  });
});
