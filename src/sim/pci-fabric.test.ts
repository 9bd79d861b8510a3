import { describe, expect, it } from 'vitest';
import type { PciTopologySpec } from '../kernel/p2pdma.js';
import { BUILTIN_PROFILE_DATA } from './builtin-profiles/index.js';
import { configProfile, parseConfig, type SimConfigInput } from './config.js';
import { Engine } from './engine.js';
import { Fabric, type Link } from './links.js';
import { SimMetrics } from './metrics.js';
import {
  barEnd,
  defaultPciSpec,
  deviceEnd,
  fabricDevices,
  hostLinkBandwidths,
  PciFabric,
  pciBandwidths,
  ramEnd,
} from './pci-fabric.js';
import { Platform } from './platform.js';

const MiB = 2 ** 20;
const names = (path: readonly Link[]) => path.map((l) => l.name);

/**
 * socket 0: hb0 -> rp0 -> sw0 -> { gpu0, nic0 }, hb0 -> rp1 -> gpu1;
 * socket 1: hb1 -> rp2 -> gpu2.
 */
const tree: PciTopologySpec = {
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
              children: [
                { name: 'gpu0', kind: 'endpoint' },
                { name: 'nic0', kind: 'endpoint' },
              ],
            },
          ],
        },
        { name: 'rp1', kind: 'rootPort', children: [{ name: 'gpu1', kind: 'endpoint' }] },
        { name: 'nvme', kind: 'rootPort', children: [{ name: 'ssd', kind: 'endpoint' }] },
      ],
    },
    {
      name: 'hb1',
      children: [{ name: 'rp2', kind: 'rootPort', children: [{ name: 'gpu2', kind: 'endpoint' }] }],
    },
  ],
};

const treeConfig: SimConfigInput = {
  version: 1,
  profile: 'pcie5-h100',
  platform: { ram: 512 * MiB, pci: tree as unknown as Record<string, unknown> },
  devices: {
    gpus: [
      { name: 'gpu0', vram: 64 * MiB },
      { name: 'gpu1', vram: 64 * MiB },
      { name: 'gpu2', vram: 64 * MiB, socket: 1 },
    ],
    nics: [{ name: 'nic0' }],
  },
  buffers: [{ name: 'x', size: 4 * MiB }],
  workloads: [{ kind: 'cpu', name: 'w', buffer: 'x', op: 'read', pattern: 'sequential' }],
};

function fabricOf(input: SimConfigInput, spec?: unknown) {
  const c = parseConfig(input);
  const v = configProfile(c).values;
  return {
    f: new PciFabric(spec ?? c.platform?.pci ?? defaultPciSpec(c), fabricDevices(c), pciBandwidths(v, c)),
    v,
    c,
  };
}

describe('PciFabric routes', () => {
  const { f, v } = fabricOf(treeConfig);

  it('keeps switch-local P2P below the switch, and sends it through the host bridge when told (ACS redirect)', () => {
    expect(names(f.route(deviceEnd('nic0'), barEnd('gpu0')))).toEqual(['pci:nic0.up', 'pci:gpu0.down']);
    expect(names(f.route(barEnd('gpu0'), deviceEnd('nic0')))).toEqual(['pci:gpu0.up', 'pci:nic0.down']);
    expect(names(f.route(deviceEnd('nic0'), barEnd('gpu0'), { thruHostBridge: true }))).toEqual([
      'pci:nic0.up',
      'pci:sw0.up',
      'pci:rp0.up',
      'pci:rp0.p2p.write',
      'pci:rp0.down',
      'pci:sw0.down',
      'pci:gpu0.down',
    ]);
  });

  it('crosses the root complex between root ports: forwarded where the data enters, writes and reads apart', () => {
    expect(names(f.route(deviceEnd('gpu0'), barEnd('gpu1')))).toEqual([
      'pci:gpu0.up',
      'pci:sw0.up',
      'pci:rp0.up',
      'pci:rp0.p2p.write',
      'pci:rp1.down',
      'pci:gpu1.down',
    ]);
    // Writes the other way enter at rp1: the two directions do not share a forwarding link.
    expect(names(f.route(deviceEnd('gpu1'), barEnd('gpu0')))).toContain('pci:rp1.p2p.write');
    // A read of gpu1's BAR: the completions carry the data in at rp1.
    expect(names(f.route(barEnd('gpu1'), deviceEnd('gpu0')))).toEqual([
      'pci:gpu1.up',
      'pci:rp1.up',
      'pci:rp1.p2p.read',
      'pci:rp0.down',
      'pci:sw0.down',
      'pci:gpu0.down',
    ]);
  });

  it('goes up the whole tree to host memory and down from it', () => {
    expect(names(f.route(deviceEnd('gpu0'), ramEnd(0)))).toEqual([
      'pci:gpu0.up',
      'pci:sw0.up',
      'pci:rp0.up',
      'host-memory.write',
    ]);
    expect(names(f.route(ramEnd(0), deviceEnd('gpu1')))).toEqual([
      'host-memory.read',
      'pci:rp1.down',
      'pci:gpu1.down',
    ]);
  });

  it('crosses the socket interconnect to and from socket 1', () => {
    expect(names(f.route(ramEnd(0), deviceEnd('gpu2')))).toEqual([
      'host-memory.read',
      'socket-interconnect.0to1',
      'pci:rp2.down',
      'pci:gpu2.down',
    ]);
    expect(names(f.route(deviceEnd('gpu2'), ramEnd(0)))).toEqual([
      'pci:gpu2.up',
      'pci:rp2.up',
      'socket-interconnect.1to0',
      'host-memory.write',
    ]);
    expect(names(f.route(deviceEnd('nic0'), barEnd('gpu2')))).toEqual([
      'pci:nic0.up',
      'pci:sw0.up',
      'pci:rp0.up',
      'pci:rp0.p2p.write',
      'socket-interconnect.0to1',
      'socket-interconnect.p2p.0to1',
      'pci:rp2.down',
      'pci:gpu2.down',
    ]);
  });

  // Kills: NCCL's Intel root-complex penalty applied to an AMD host bridge.
  it('an AMD root complex forwards P2P without the Intel penalty; an Intel or unnamed one with it', () => {
    const amd = structuredClone(tree) as unknown as { hostBridges: { vendor?: number; device?: number }[] };
    amd.hostBridges[0]!.vendor = 0x1022;
    amd.hostBridges[0]!.device = 0x14d8;
    const { f: a, v: vv } = fabricOf(treeConfig, amd);
    expect(a.link('pci:rp1.p2p.write')!.capacityBytesPerNs).toBeCloseTo(
      vv.hostBridgeP2pBandwidth * vv.intelHostBridgeP2pPenalty,
      9,
    );
    expect(a.link('pci:rp1.p2p.read')!.capacityBytesPerNs).toBeCloseTo(
      vv.hostBridgeP2pReadBandwidth * vv.intelHostBridgeP2pPenalty,
      9,
    );
    amd.hostBridges[0]!.vendor = 0x8086;
    amd.hostBridges[0]!.device = 0x1234;
    const { f: i } = fabricOf(treeConfig, amd);
    expect(i.link('pci:rp1.p2p.write')!.capacityBytesPerNs).toBe(vv.hostBridgeP2pBandwidth);
    expect(f.link('pci:rp1.p2p.write')!.capacityBytesPerNs).toBe(vv.hostBridgeP2pBandwidth);
  });

  // Kills: a bridge's `link` ignored (the edge keeps the assumed largest-below rule).
  it("gives a bridge whose link the tree names that PCIe link's bandwidth (gen5 x8 uplink: half a gen5 x16)", () => {
    const narrow = structuredClone(tree) as unknown as {
      hostBridges: { children: { children?: { link?: unknown }[] }[] }[];
    };
    narrow.hostBridges[0]!.children[0]!.children![0]!.link = { gen: 5, lanes: 8 };
    const { f: g, v: vv } = fabricOf(treeConfig, narrow);
    expect(g.link('pci:sw0.up')!.capacityBytesPerNs).toBeCloseTo(vv.deviceToHostBandwidth / 2, 9);
    expect(g.link('pci:sw0.down')!.capacityBytesPerNs).toBeCloseTo(vv.hostToDeviceBandwidth / 2, 9);
    // A bad link is refused with its path.
    narrow.hostBridges[0]!.children[0]!.children![0]!.link = { gen: 6 };
    expect(() => fabricOf(treeConfig, narrow)).toThrow(/children\[0\]\.children\[0\]\.link\.gen/);
  });

  it("gives a bridge's edge the largest of the edges below it, per direction, and no link to a subtree without a device", () => {
    const up = Math.max(v.deviceToHostBandwidth, v.rdmaNicBandwidth);
    const down = Math.max(v.hostToDeviceBandwidth, v.rdmaNicBandwidth);
    expect(f.link('pci:sw0.up')!.capacityBytesPerNs).toBe(up);
    expect(f.link('pci:rp0.down')!.capacityBytesPerNs).toBe(down);
    expect(f.link('pci:gpu0.up')!.capacityBytesPerNs).toBe(v.deviceToHostBandwidth);
    expect(f.link('pci:gpu0.down')!.capacityBytesPerNs).toBe(v.hostToDeviceBandwidth);
    expect(f.link('pci:ssd.up')).toBeUndefined();
    expect(f.link('pci:nvme.up')).toBeUndefined();
  });

  it('refuses an unknown device, RAM to RAM, a device to itself, and one host bridge on two sockets', () => {
    expect(() => f.route(deviceEnd('gpu9'), ramEnd(0))).toThrow(/unknown device 'gpu9'/);
    expect(() => f.route(ramEnd(0), ramEnd(1))).toThrow(/RAM to RAM/);
    expect(() => f.route(deviceEnd('gpu0'), barEnd('gpu0'))).toThrow(/one endpoint 'gpu0'/);
    const c = parseConfig(treeConfig);
    const devs = fabricDevices(c).map((d) => (d.name === 'gpu1' ? { ...d, socket: 1 as const } : d));
    expect(() => new PciFabric(tree, devs, pciBandwidths(v, c))).toThrow(/under one host bridge 'hb0'/);
    expect(() => new PciFabric(tree, [{ name: 'ssd9', socket: 0 }], pciBandwidths(v, c))).toThrow(
      /'ssd9' is not an endpoint/,
    );
  });

  it("gives each function of a shared endpoint its own link, below the endpoint's, which carries the sum", () => {
    const spec = {
      hostBridges: [
        {
          name: 'hb0',
          children: [
            { name: 'rp0', kind: 'rootPort', children: [{ name: 'gpu0', kind: 'endpoint' }] },
            { name: 'rp1', kind: 'rootPort', children: [{ name: 'cx', kind: 'endpoint', functions: 2 }] },
          ],
        },
      ],
    };
    const bw = pciBandwidths(v, parseConfig(treeConfig));
    const endpoints = new Map([...bw.endpoints, ['cx.0', { up: 3, down: 4 }], ['cx.1', { up: 3, down: 4 }]]);
    const g = new PciFabric(
      spec,
      [
        { name: 'gpu0', socket: 0 },
        { name: 'cx.0', socket: 0 },
        { name: 'cx.1', socket: 0 },
      ],
      { ...bw, endpoints },
    );
    expect(names(g.route(deviceEnd('cx.1'), ramEnd(0)))).toEqual([
      'pci:cx.1.up',
      'pci:cx.up',
      'pci:rp1.up',
      'host-memory.write',
    ]);
    expect(g.link('pci:cx.1.up')!.capacityBytesPerNs).toBe(3);
    expect(g.link('pci:cx.up')!.capacityBytesPerNs).toBe(6);
    expect(() => g.route(deviceEnd('cx.0'), deviceEnd('cx.1'))).toThrow(/one endpoint 'cx'/);
  });

  it('names its links stably: the same tree gives the same names in the same order', () => {
    const again = fabricOf(treeConfig).f;
    expect(names(again.links())).toEqual(names(f.links()));
    expect(names(f.links())).toEqual([
      'pci:rp0.up',
      'pci:rp0.down',
      'pci:rp0.p2p.write',
      'pci:rp0.p2p.read',
      'pci:sw0.up',
      'pci:sw0.down',
      'pci:gpu0.up',
      'pci:gpu0.down',
      'pci:nic0.up',
      'pci:nic0.down',
      'pci:rp1.up',
      'pci:rp1.down',
      'pci:rp1.p2p.write',
      'pci:rp1.p2p.read',
      'pci:gpu1.up',
      'pci:gpu1.down',
      'pci:rp2.up',
      'pci:rp2.down',
      'pci:rp2.p2p.write',
      'pci:rp2.p2p.read',
      'pci:gpu2.up',
      'pci:gpu2.down',
      'host-memory.read',
      'host-memory.write',
      'socket-interconnect.0to1',
      'socket-interconnect.1to0',
      'socket-interconnect.p2p.0to1',
      'socket-interconnect.p2p.1to0',
    ]);
  });
});

describe('defaultPciSpec', () => {
  const devices = {
    gpus: [
      { name: 'gpu0', vram: 64 * MiB },
      { name: 'gpu1', vram: 64 * MiB, socket: 1 as const },
    ],
    nics: [{ name: 'nic0' }],
  };
  const input = (p2p?: {
    default?: 'BUS_ADDR' | 'THRU_HOST_BRIDGE';
    pairs?: Record<string, 'BUS_ADDR'>;
  }) => ({
    ...treeConfig,
    platform: { ram: 512 * MiB, ...(p2p ? { p2p } : {}) },
    devices,
  });

  it('puts each device on its own root port under its socket host bridge', () => {
    const spec = defaultPciSpec(parseConfig(input()));
    expect(spec).toEqual({
      hostBridges: [
        {
          name: 'socket0/host-bridge',
          children: [
            { name: 'gpu0/root-port', kind: 'rootPort', children: [{ name: 'gpu0', kind: 'endpoint' }] },
            { name: 'nic0/root-port', kind: 'rootPort', children: [{ name: 'nic0', kind: 'endpoint' }] },
          ],
        },
        {
          name: 'socket1/host-bridge',
          children: [
            { name: 'gpu1/root-port', kind: 'rootPort', children: [{ name: 'gpu1', kind: 'endpoint' }] },
          ],
        },
      ],
    });
  });

  it('puts the devices of BUS_ADDR pairs under a switch, and no other device', () => {
    const three = {
      gpus: [
        { name: 'gpu0', vram: 64 * MiB },
        { name: 'gpu1', vram: 64 * MiB },
        { name: 'gpu2', vram: 64 * MiB, link: { kind: 'c2c' as const } },
      ],
      nics: [{ name: 'nic0' }],
    };
    const spec = defaultPciSpec(
      parseConfig({
        ...treeConfig,
        platform: { ram: 512 * MiB, p2p: { pairs: { 'gpu0:nic0': 'BUS_ADDR' } } },
        devices: three,
      }),
    );
    expect(spec.hostBridges).toHaveLength(1);
    expect(spec.hostBridges[0]!.children).toEqual([
      {
        name: 'socket0/root-port0',
        kind: 'rootPort',
        children: [
          {
            name: 'socket0/switch0',
            kind: 'switch',
            children: [
              { name: 'gpu0', kind: 'endpoint' },
              { name: 'nic0', kind: 'endpoint' },
            ],
          },
        ],
      },
      { name: 'gpu1/root-port', kind: 'rootPort', children: [{ name: 'gpu1', kind: 'endpoint' }] },
      // NVLink-C2C is not PCIe: no root port above it.
      { name: 'gpu2', kind: 'endpoint' },
    ]);
  });

  it('adds no shared bottleneck: its bridges carry the sum of the links below', () => {
    const c = parseConfig({
      ...treeConfig,
      platform: { ram: 512 * MiB, p2p: { default: 'BUS_ADDR' } },
      devices: {
        gpus: [
          { name: 'gpu0', vram: 64 * MiB },
          { name: 'gpu1', vram: 64 * MiB },
        ],
        nics: [{ name: 'nic0' }],
      },
    });
    const v = configProfile(c).values;
    const g = new PciFabric(defaultPciSpec(c), fabricDevices(c), pciBandwidths(v, c), { bridgeEdges: 'sum' });
    expect(g.link('pci:socket0/switch0.down')!.capacityBytesPerNs).toBeCloseTo(
      2 * v.hostToDeviceBandwidth + v.rdmaNicBandwidth,
      9,
    );
  });
});

/**
 * The property that let the wiring keep results: on the default tree, every route the platform
 * takes (Platform.copy, peerCopies without a private link, nicPath) has the bottleneck of the
 * path the platform built before the fabric (per-device `pcie-<gpu>`/`nic-<name>` links, one
 * `host-bridge-p2p` pair, host memory and the interconnect; their bandwidths written out below
 * from the profile as they were), on every built-in profile, for both sockets and every p2p
 * mode. Cross-socket P2P is left out: the old paths ignored the interconnect there.
 */
describe('default tree: each path has the bottleneck of its path today', () => {
  const bottleneck = (path: readonly Link[]) => Math.min(...path.map((l) => l.capacityBytesPerNs));
  const modes = [undefined, { default: 'BUS_ADDR' as const }, { default: 'THRU_HOST_BRIDGE' as const }];
  for (const { name: profile } of BUILTIN_PROFILE_DATA) {
    for (const socket of [0, 1] as const) {
      for (const p2p of modes) {
        if (socket === 1 && profile === 'gh200-c2c') continue; // one socket: the schema refuses socket 1
        it(`${profile}, devices on socket ${socket}, p2p ${p2p?.default ?? 'none'}`, () => {
          const input: SimConfigInput = {
            ...treeConfig,
            profile,
            platform: { ram: 512 * MiB, ...(p2p ? { p2p } : {}) },
            devices: {
              gpus: [
                { name: 'gpu0', vram: 64 * MiB, socket },
                { name: 'gpu1', vram: 64 * MiB, socket, link: { kind: 'pcie', gen: 3, lanes: 8 } },
              ],
              nics: [{ name: 'nic0', socket }],
            },
          };
          const c = parseConfig(input);
          const engine = new Engine();
          const p = new Platform(c, configProfile(c), engine, new Fabric(engine), new SimMetrics(false));
          const v = p.v;
          // The old links' bandwidths.
          const mem = v.hostMemoryBandwidth;
          const sockBw =
            v.cpuSocketInterconnectBandwidth > 0 ? v.cpuSocketInterconnectBandwidth : v.hostMemoryBandwidth;
          const sock = socket === 1 ? [sockBw] : [];
          const nicBw = v.rdmaNicBandwidth;
          const hb = v.hostBridgeP2pBandwidth || v.peerPcieBandwidth || v.hostToDeviceBandwidth;
          // Read completions out of a BAR: the slower read forwarding (non-posted).
          const hbRead = v.hostBridgeP2pReadBandwidth || hb;
          const thru = p.mapType('gpu0', 'nic0') !== 'BUS_ADDR';
          const min = (xs: number[]) => Math.min(...xs);
          for (const g of p.gpuList) {
            const dev = deviceEnd(g.cfg.name);
            const { h2d, d2h } = hostLinkBandwidths(v, g.cfg);
            // Platform.copy
            expect(bottleneck(p.route(ramEnd(0), dev))).toBe(min([mem, ...sock, h2d]));
            expect(bottleneck(p.route(dev, ramEnd(0)))).toBe(min([d2h, ...sock, mem]));
            // nicPath to and from a BAR (kind 2 when BUS_ADDR, else through the host bridge)
            const nicW = thru ? [nicBw, hb, h2d] : [nicBw, h2d];
            const nicR = thru ? [nicBw, hbRead, d2h] : [nicBw, d2h];
            expect(bottleneck(p.route(deviceEnd('nic0'), barEnd(g.cfg.name), thru))).toBe(min(nicW));
            expect(bottleneck(p.route(barEnd(g.cfg.name), deviceEnd('nic0'), thru))).toBe(min(nicR));
            // peerCopies without a private link: always through the host bridge
            for (const peer of p.gpuList) {
              if (peer === g) continue;
              const pe = peer.cfg.name;
              const { h2d: peerH2d, d2h: peerD2h } = hostLinkBandwidths(v, peer.cfg);
              expect(bottleneck(p.route(dev, barEnd(pe), true))).toBe(min([d2h, hb, peerH2d]));
              expect(bottleneck(p.route(barEnd(pe), dev, true))).toBe(min([peerD2h, hbRead, h2d]));
            }
          }
          // nicPath to host memory
          expect(bottleneck(p.route(deviceEnd('nic0'), ramEnd(0)))).toBe(min([nicBw, ...sock, mem]));
          expect(bottleneck(p.route(ramEnd(0), deviceEnd('nic0')))).toBe(min([nicBw, ...sock, mem]));
        });
      }
    }
  }
});

// The relations real hosts show, for every built-in profile with P2P through its root complex:
// the per-hop numbers must order the paths as the measurements and the PCIe protocol do.
describe('per-hop data paths order as real hosts do', () => {
  const bottleneck = (path: readonly Link[]) => PciFabric.bottleneck(path);
  for (const { name: profile } of BUILTIN_PROFILE_DATA) {
    // gh200-c2c has one socket and no P2P through its root complex: nothing of this applies.
    if (profile === 'gh200-c2c') continue;
    const { f, v } = fabricOf({ ...treeConfig, profile: profile as SimConfigInput['profile'] });
    const p2pThroughRc = v.hostBridgeP2pBandwidth > 0;

    it(`${profile}: THRU_HOST_BRIDGE is no faster than BUS_ADDR between the same two devices`, () => {
      const bus = bottleneck(f.route(deviceEnd('nic0'), barEnd('gpu0')));
      const thru = bottleneck(f.route(deviceEnd('nic0'), barEnd('gpu0'), { thruHostBridge: true }));
      expect(thru).toBeLessThanOrEqual(bus);
      // And it crosses strictly more links: the root port edges and the forwarding.
      expect(f.route(deviceEnd('nic0'), barEnd('gpu0'), { thruHostBridge: true }).length).toBeGreaterThan(
        f.route(deviceEnd('nic0'), barEnd('gpu0')).length,
      );
    });

    it.skipIf(!p2pThroughRc)(
      `${profile}: a BAR read through the root complex is slower than a BAR write`,
      () => {
        const write = bottleneck(f.route(deviceEnd('gpu0'), barEnd('gpu1')));
        const read = bottleneck(f.route(barEnd('gpu1'), deviceEnd('gpu0')));
        expect(read).toBeLessThan(write);
        expect(f.link('pci:rp1.p2p.read')!.capacityBytesPerNs).toBe(v.hostBridgeP2pReadBandwidth);
      },
    );

    it.skipIf(!p2pThroughRc)(
      `${profile}: P2P across sockets is slower than P2P through one root complex`,
      () => {
        const same = bottleneck(f.route(deviceEnd('gpu0'), barEnd('gpu1')));
        const cross = bottleneck(f.route(deviceEnd('gpu0'), barEnd('gpu2')));
        expect(cross).toBeLessThanOrEqual(same);
        // Strictly, wherever the measured cross-socket rate is below this root complex's own.
        if (v.rdmaNicGpuCrossSocketBandwidth < same) expect(cross).toBeLessThan(same);
        // Bounded by the measured cross-socket GPUDirect rate, not by the interconnect's memory rate.
        expect(cross).toBeLessThanOrEqual(v.rdmaNicGpuCrossSocketBandwidth);
        // Host-memory traffic across the interconnect does not take the P2P forwarding.
        expect(names(f.route(ramEnd(0), deviceEnd('gpu2')))).not.toContain('socket-interconnect.p2p.0to1');
      },
    );
  }
});
