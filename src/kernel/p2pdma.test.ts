import { describe, expect, it } from 'vitest';
import { EINVAL, ENOMEM } from './constants.js';
import {
  type HostBridgeSpec,
  P2pdmaProvider,
  type PciNodeSpec,
  PciTopology,
  type PciTopologySpec,
  TopologySpecError,
  UnknownPciDeviceError,
} from './p2pdma.js';

const ep = (name: string, extra: Partial<PciNodeSpec> = {}): PciNodeSpec => ({
  name,
  kind: 'endpoint',
  ...extra,
});
const sw = (name: string, children: PciNodeSpec[], extra: Partial<PciNodeSpec> = {}): PciNodeSpec => ({
  name,
  kind: 'switch',
  children,
  ...extra,
});
const rp = (name: string, children: PciNodeSpec[], extra: Partial<PciNodeSpec> = {}): PciNodeSpec => ({
  name,
  kind: 'rootPort',
  children,
  ...extra,
});
const hb = (name: string, vendor: number, device: number, children: PciNodeSpec[]): HostBridgeSpec => ({
  name,
  vendor,
  device,
  children,
});

const ZEN = { vendor: 'amd', family: 0x19 } as const;
const INTEL = { vendor: 'intel' } as const;
/** An Intel host bridge that is not on the allowlist. */
const INTEL_UNLISTED = 0x1234;

/** The issue's example: one switch under one root port, gpu0 and nic0 below it. */
function issueExample(cpu: PciTopologySpec['cpu'] = ZEN, device = 0x2020, acs = false): PciTopology {
  return PciTopology.fromSpec({
    cpu,
    hostBridges: [
      {
        name: 'hb0',
        vendor: 0x8086,
        device,
        children: [
          {
            name: 'rp0',
            kind: 'rootPort',
            acsRedirect: false,
            children: [
              {
                name: 'sw0',
                kind: 'switch',
                acsRedirect: acs,
                children: [
                  { name: 'gpu0', kind: 'endpoint', functions: 1 },
                  { name: 'nic0', kind: 'endpoint' },
                ],
              },
            ],
          },
        ],
      },
    ],
  });
}

/** gpu0 on rp0, nic0 on rp1, one host bridge. */
function acrossRootPorts(cpu: PciTopologySpec['cpu'], vendor: number, device: number): PciTopology {
  return PciTopology.fromSpec({
    cpu,
    hostBridges: [hb('hb0', vendor, device, [rp('rp0', [ep('gpu0')]), rp('rp1', [ep('nic0')])])],
  });
}

/** gpu0 under hb0, nic0 under hb1. */
function acrossHostBridges(
  cpu: PciTopologySpec['cpu'],
  a: [number, number],
  b: [number, number],
  underSwitch = false,
): PciTopology {
  const gpu = underSwitch ? sw('sw0', [ep('gpu0')]) : ep('gpu0');
  return PciTopology.fromSpec({
    cpu,
    hostBridges: [
      hb('hb0', a[0], a[1], [rp('rp0', [gpu])]),
      hb('hb1', b[0], b[1], [rp('rp1', [ep('nic0')])]),
    ],
  });
}

describe('p2pdma distance and map type (calc_map_type_and_dist)', () => {
  it('T1 same switch: BUS_ADDR, distance 4 (A -> DSP0 -> USP -> DSP1 -> B), both directions', () => {
    const t = issueExample();
    expect(t.p2pdmaDistance('gpu0', 'nic0')).toEqual({ mapType: 'BUS_ADDR', distance: 4 });
    expect(t.p2pdmaDistance('nic0', 'gpu0')).toEqual({ mapType: 'BUS_ADDR', distance: 4 });
    expect(t.calcMapTypeAndDist('gpu0', 'nic0')).toEqual({
      mapType: 'BUS_ADDR',
      distance: 4,
      acsCount: 0,
      acsPath: [],
      commonUpstream: 'sw0',
    });
    // A switch below a non-allowlisted Intel host bridge is still BUS_ADDR: no host bridge involved.
    expect(issueExample(INTEL, INTEL_UNLISTED).p2pdmaDistance('gpu0', 'nic0')).toEqual({
      mapType: 'BUS_ADDR',
      distance: 4,
    });
    expect(t.upstreamChain('gpu0')).toEqual(['gpu0.0', 'sw0.dsp0', 'sw0', 'rp0']);
  });

  it('T2 two functions of one device: distance 2, under a switch and directly on a root port', () => {
    const t = PciTopology.fromSpec({
      cpu: INTEL,
      hostBridges: [
        hb('hb0', 0x8086, INTEL_UNLISTED, [
          rp('rp0', [sw('sw0', [ep('gpu0', { functions: 2 })])]),
          rp('rp1', [ep('nic0', { functions: 4 })]),
        ]),
      ],
    });
    expect(t.p2pdmaDistance('gpu0.0', 'gpu0.1')).toEqual({ mapType: 'BUS_ADDR', distance: 2 });
    expect(t.p2pdmaDistance('nic0.3', 'nic0.1')).toEqual({ mapType: 'BUS_ADDR', distance: 2 });
    expect(t.calcMapTypeAndDist('gpu0.1', 'gpu0.0').commonUpstream).toBe('sw0.dsp0');
    expect(t.functions()).toEqual(['gpu0.0', 'gpu0.1', 'nic0.0', 'nic0.1', 'nic0.2', 'nic0.3']);
  });

  it('T3 same function: distance 0, BUS_ADDR; the plain name is function 0', () => {
    const t = issueExample(INTEL, INTEL_UNLISTED);
    expect(t.p2pdmaDistance('gpu0', 'gpu0')).toEqual({ mapType: 'BUS_ADDR', distance: 0 });
    expect(t.p2pdmaDistance('gpu0', 'gpu0.0')).toEqual({ mapType: 'BUS_ADDR', distance: 0 });
  });

  it('T4 ACS redirect on the switch downstream ports: THRU_HOST_BRIDGE on AMD Zen, NOT_SUPPORTED on unlisted Intel', () => {
    const zen = issueExample(ZEN, INTEL_UNLISTED, true);
    expect(zen.p2pdmaDistance('gpu0', 'nic0')).toEqual({ mapType: 'THRU_HOST_BRIDGE', distance: 4 });
    const c = zen.calcMapTypeAndDist('gpu0', 'nic0');
    expect(c.acsCount).toBe(2);
    expect(c.acsPath).toEqual(['sw0.dsp0', 'sw0.dsp1']);
    expect(c.commonUpstream).toBe('sw0');
    const intel = issueExample(INTEL, INTEL_UNLISTED, true);
    expect(intel.p2pdmaDistance('gpu0', 'nic0')).toEqual({ mapType: 'NOT_SUPPORTED', distance: -1 });
    expect(intel.calcMapTypeAndDist('gpu0', 'nic0').distance).toBe(4);
    // Allowlisted Intel host bridge: the redirected traffic may go through it.
    expect(issueExample(INTEL, 0x2020, true).p2pdmaDistance('gpu0', 'nic0')).toEqual({
      mapType: 'THRU_HOST_BRIDGE',
      distance: 4,
    });
  });

  it('T5 ACS redirect on one downstream port only (portAcsRedirect override)', () => {
    const t = PciTopology.fromSpec({
      cpu: INTEL,
      hostBridges: [
        hb('hb0', 0x8086, INTEL_UNLISTED, [
          rp('rp0', [sw('sw0', [ep('gpu0'), ep('nic0', { portAcsRedirect: true }), ep('nvme0')])]),
        ]),
      ],
    });
    expect(t.p2pdmaDistance('gpu0', 'nvme0')).toEqual({ mapType: 'BUS_ADDR', distance: 4 });
    expect(t.p2pdmaDistance('gpu0', 'nic0')).toEqual({ mapType: 'NOT_SUPPORTED', distance: -1 });
    expect(t.calcMapTypeAndDist('gpu0', 'nic0').acsPath).toEqual(['sw0.dsp1']);
    // A switch with ACS on, one port turned off: only the pair through ports without it is BUS_ADDR.
    const u = PciTopology.fromSpec({
      cpu: ZEN,
      hostBridges: [
        hb('hb0', 0x1022, 0x1480, [
          rp('rp0', [
            sw(
              'sw0',
              [ep('gpu0', { portAcsRedirect: false }), ep('nic0', { portAcsRedirect: false }), ep('nvme0')],
              {
                acsRedirect: true,
              },
            ),
          ]),
        ]),
      ],
    });
    expect(u.p2pdmaDistance('gpu0', 'nic0')).toEqual({ mapType: 'BUS_ADDR', distance: 4 });
    expect(u.p2pdmaDistance('gpu0', 'nvme0')).toEqual({ mapType: 'THRU_HOST_BRIDGE', distance: 4 });
  });

  it('T6 AMD Zen across root ports: THRU_HOST_BRIDGE with the hops counted (no common upstream device)', () => {
    const t = acrossRootPorts(ZEN, 0x1022, 0x1480);
    expect(t.p2pdmaDistance('gpu0', 'nic0')).toEqual({ mapType: 'THRU_HOST_BRIDGE', distance: 4 });
    expect(t.calcMapTypeAndDist('gpu0', 'nic0').commonUpstream).toBeNull();
    // Zen 1 (family 0x17) is the first family allowed.
    expect(
      acrossRootPorts({ vendor: 'amd', family: 0x17 }, 0x1022, 0x1450).p2pdmaMapType('gpu0', 'nic0'),
    ).toBe('THRU_HOST_BRIDGE');
    // Deeper on one side: gpu0.0, sw0.dsp0, sw0, rp0 (4) + nic0.0, rp1 (2).
    const d = PciTopology.fromSpec({
      cpu: ZEN,
      hostBridges: [
        hb('hb0', 0x1022, 0x1480, [rp('rp0', [sw('sw0', [ep('gpu0')])]), rp('rp1', [ep('nic0')])]),
      ],
    });
    expect(d.p2pdmaDistance('gpu0', 'nic0')).toEqual({ mapType: 'THRU_HOST_BRIDGE', distance: 6 });
  });

  it('T7 AMD pre-Zen (family 0x15) across root ports, host bridge not allowlisted: NOT_SUPPORTED', () => {
    const t = acrossRootPorts({ vendor: 'amd', family: 0x15 }, 0x1022, 0x1450);
    expect(t.cpuSupportsP2pdma).toBe(false);
    expect(t.p2pdmaDistance('gpu0', 'nic0')).toEqual({ mapType: 'NOT_SUPPORTED', distance: -1 });
    expect(t.calcMapTypeAndDist('gpu0', 'nic0').distance).toBe(4);
  });

  it('T8 Intel not allowlisted across root ports: NOT_SUPPORTED', () => {
    const t = acrossRootPorts(INTEL, 0x8086, INTEL_UNLISTED);
    expect(t.p2pdmaDistance('gpu0', 'nic0')).toEqual({ mapType: 'NOT_SUPPORTED', distance: -1 });
    expect(t.p2pdmaMapType('gpu0', 'nic0')).toBe('NOT_SUPPORTED');
    // An Intel CPU gets no CPU allowance whatever its family.
    expect(acrossRootPorts({ vendor: 'intel', family: 0x19 }, 0x8086, INTEL_UNLISTED).cpuSupportsP2pdma).toBe(
      false,
    );
  });

  it('T9 Intel allowlisted host bridges across root ports: THRU_HOST_BRIDGE (0x2020, 0x2030-0x2033, 0x09a2, 0x3c00, 0x2f01)', () => {
    for (const dev of [0x2020, 0x2030, 0x2031, 0x2032, 0x2033, 0x09a2, 0x3c00, 0x3c01, 0x2f00, 0x2f01]) {
      const t = acrossRootPorts(INTEL, 0x8086, dev);
      expect(t.p2pdmaDistance('gpu0', 'nic0'), dev.toString(16)).toEqual({
        mapType: 'THRU_HOST_BRIDGE',
        distance: 4,
      });
    }
    // The device id alone is not enough: the vendor must be Intel.
    expect(acrossRootPorts(INTEL, 0x1022, 0x2020).p2pdmaMapType('gpu0', 'nic0')).toBe('NOT_SUPPORTED');
  });

  it('T10 allowlisted host bridges on different host bridges: REQ_SAME_HOST_BRIDGE entries refuse', () => {
    const both2020 = acrossHostBridges(INTEL, [0x8086, 0x2020], [0x8086, 0x2020]);
    expect(both2020.p2pdmaDistance('gpu0', 'nic0')).toEqual({ mapType: 'THRU_HOST_BRIDGE', distance: 4 });
    const mixedSkylake = acrossHostBridges(INTEL, [0x8086, 0x2020], [0x8086, 0x09a2]);
    expect(mixedSkylake.p2pdmaMapType('gpu0', 'nic0')).toBe('THRU_HOST_BRIDGE');
    for (const dev of [0x3c00, 0x3c01, 0x2f00, 0x2f01]) {
      const t = acrossHostBridges(INTEL, [0x8086, dev], [0x8086, dev]);
      expect(t.p2pdmaDistance('gpu0', 'nic0'), dev.toString(16)).toEqual({
        mapType: 'NOT_SUPPORTED',
        distance: -1,
      });
    }
    // One REQ_SAME_HOST_BRIDGE side is enough to refuse; so is one unlisted side.
    expect(acrossHostBridges(INTEL, [0x8086, 0x2020], [0x8086, 0x3c00]).p2pdmaMapType('gpu0', 'nic0')).toBe(
      'NOT_SUPPORTED',
    );
    expect(
      acrossHostBridges(INTEL, [0x8086, 0x2020], [0x8086, INTEL_UNLISTED]).p2pdmaMapType('gpu0', 'nic0'),
    ).toBe('NOT_SUPPORTED');
    // The same 0x3c00 host bridge across its root ports is fine.
    expect(acrossRootPorts(INTEL, 0x8086, 0x3c00).p2pdmaMapType('gpu0', 'nic0')).toBe('THRU_HOST_BRIDGE');
  });

  it('T11 Google host bridge: any device id is allowlisted, across host bridges too', () => {
    expect(acrossRootPorts({ vendor: 'arm' }, 0x1ae0, 0xabcd).p2pdmaDistance('gpu0', 'nic0')).toEqual({
      mapType: 'THRU_HOST_BRIDGE',
      distance: 4,
    });
    expect(acrossHostBridges({ vendor: 'arm' }, [0x1ae0, 1], [0x1ae0, 2]).p2pdmaMapType('gpu0', 'nic0')).toBe(
      'THRU_HOST_BRIDGE',
    );
    expect(acrossRootPorts({ vendor: 'arm' }, 0x10de, 0x22b2).p2pdmaMapType('gpu0', 'nic0')).toBe(
      'NOT_SUPPORTED',
    );
  });

  it('T12 nested switches: distance through the nearest common switch', () => {
    const t = PciTopology.fromSpec({
      cpu: INTEL,
      hostBridges: [
        hb('hb0', 0x8086, INTEL_UNLISTED, [
          rp('rp0', [sw('swA', [sw('swB', [ep('gpu0'), ep('gpu1')]), ep('nic0')])]),
        ]),
      ],
    });
    // gpu0.0, swB.dsp0, swB, swA.dsp0 (4) to swA; nic0.0, swA.dsp1 (2).
    expect(t.p2pdmaDistance('gpu0', 'nic0')).toEqual({ mapType: 'BUS_ADDR', distance: 6 });
    expect(t.calcMapTypeAndDist('gpu0', 'nic0').commonUpstream).toBe('swA');
    expect(t.p2pdmaDistance('gpu0', 'gpu1')).toEqual({ mapType: 'BUS_ADDR', distance: 4 });
    expect(t.upstreamChain('gpu1')).toEqual(['gpu1.0', 'swB.dsp1', 'swB', 'swA.dsp0', 'swA', 'rp0']);
  });

  it('T13 endpoint directly on a root port vs one under a switch on the same root port', () => {
    const spec = (rpAcs: boolean): PciTopologySpec => ({
      cpu: INTEL,
      hostBridges: [
        hb('hb0', 0x8086, INTEL_UNLISTED, [
          rp('rp0', [ep('gpu0'), sw('sw0', [ep('nic0')])], { acsRedirect: rpAcs }),
        ]),
      ],
    });
    const t = PciTopology.fromSpec(spec(false));
    // gpu0.0 (1) to rp0; nic0.0, sw0.dsp0, sw0 (3).
    expect(t.p2pdmaDistance('gpu0', 'nic0')).toEqual({ mapType: 'BUS_ADDR', distance: 4 });
    expect(t.calcMapTypeAndDist('gpu0', 'nic0').commonUpstream).toBe('rp0');
    // The common device's own ACS bits count (the provider-side walk checks it before matching).
    const acs = PciTopology.fromSpec(spec(true));
    expect(acs.calcMapTypeAndDist('gpu0', 'nic0')).toMatchObject({
      mapType: 'NOT_SUPPORTED',
      acsPath: ['rp0'],
    });
  });

  it('T14 no common parent, different host bridges, AMD Zen: dist_a + dist_b, THRU_HOST_BRIDGE', () => {
    const t = acrossHostBridges(ZEN, [0x1022, 0x1480], [0x1022, 0x1480], true);
    // gpu0.0, sw0.dsp0, sw0, rp0 (4) + nic0.0, rp1 (2).
    expect(t.p2pdmaDistance('gpu0', 'nic0')).toEqual({ mapType: 'THRU_HOST_BRIDGE', distance: 6 });
    expect(t.p2pdmaDistance('nic0', 'gpu0')).toEqual({ mapType: 'THRU_HOST_BRIDGE', distance: 6 });
    expect(t.hostBridgeOf('gpu0')).toBe('hb0');
    expect(t.hostBridgeOf('nic0.0')).toBe('hb1');
  });

  it('T15 root-complex integrated endpoints on the root bus: distance 2 through the host bridge', () => {
    const mk = (device: number) =>
      PciTopology.fromSpec({
        cpu: INTEL,
        hostBridges: [hb('hb0', 0x8086, device, [ep('dsa0'), ep('iax0')])],
      });
    expect(mk(0x09a2).p2pdmaDistance('dsa0', 'iax0')).toEqual({ mapType: 'THRU_HOST_BRIDGE', distance: 2 });
    expect(mk(INTEL_UNLISTED).p2pdmaDistance('dsa0', 'iax0')).toEqual({
      mapType: 'NOT_SUPPORTED',
      distance: -1,
    });
    expect(mk(0x09a2).upstreamChain('dsa0')).toEqual(['dsa0.0']);
  });

  it('T16 host bridge without a 00.0 device: its first root port stands in for the allowlist', () => {
    const spec = (first: Partial<PciNodeSpec>): PciTopologySpec => ({
      cpu: INTEL,
      hostBridges: [{ name: 'hb0', children: [rp('rp0', [ep('gpu0')], first), rp('rp1', [ep('nic0')])] }],
    });
    expect(PciTopology.fromSpec(spec({ vendor: 0x8086, device: 0x2030 })).p2pdmaMapType('gpu0', 'nic0')).toBe(
      'THRU_HOST_BRIDGE',
    );
    expect(PciTopology.fromSpec(spec({})).p2pdmaMapType('gpu0', 'nic0')).toBe('NOT_SUPPORTED');
  });

  it('T17 ACS on the functions themselves and on a switch upstream port count too', () => {
    // The provider's own ACS control is read: even the same function is not BUS_ADDR then.
    const selfAcs = PciTopology.fromSpec({
      cpu: ZEN,
      hostBridges: [
        hb('hb0', 0x1022, 0x1480, [
          rp('rp0', [sw('sw0', [ep('gpu0', { acsRedirect: true, functions: 2 })])]),
        ]),
      ],
    });
    expect(selfAcs.p2pdmaDistance('gpu0', 'gpu0')).toEqual({ mapType: 'THRU_HOST_BRIDGE', distance: 0 });
    expect(selfAcs.calcMapTypeAndDist('gpu0.0', 'gpu0.1').acsPath).toEqual(['gpu0.0', 'gpu0.1']);
    // ACS on the switch's downstream ports: two functions of one device meet at their port.
    const dspAcs = PciTopology.fromSpec({
      cpu: INTEL,
      hostBridges: [
        hb('hb0', 0x8086, INTEL_UNLISTED, [
          rp('rp0', [sw('sw0', [ep('gpu0', { functions: 2 })], { acsRedirect: true })]),
        ]),
      ],
    });
    expect(dspAcs.p2pdmaDistance('gpu0.0', 'gpu0.1')).toEqual({ mapType: 'NOT_SUPPORTED', distance: -1 });
    // ACS on the upstream port: it is the common device for two devices under the switch.
    const uspAcs = PciTopology.fromSpec({
      cpu: INTEL,
      hostBridges: [
        hb('hb0', 0x8086, 0x2020, [
          rp('rp0', [sw('sw0', [ep('gpu0'), ep('nic0')], { upstreamAcsRedirect: true })]),
        ]),
      ],
    });
    expect(uspAcs.calcMapTypeAndDist('gpu0', 'nic0')).toMatchObject({
      mapType: 'THRU_HOST_BRIDGE',
      distance: 4,
      acsPath: ['sw0'],
    });
  });
});

describe('pci_p2pdma_distance_many and platform devices', () => {
  const spec: PciTopologySpec = {
    cpu: INTEL,
    hostBridges: [
      hb('hb0', 0x8086, INTEL_UNLISTED, [
        rp('rp0', [sw('sw0', [ep('gpu0'), ep('nic0'), ep('nvme0')])]),
        rp('rp1', [ep('far0')]),
      ]),
    ],
    platformDevices: [
      { name: 'mlx5_ib0', parent: 'nic0' },
      { name: 'rdma0', parent: 'mlx5_ib0' },
      { name: 'dsp0' },
    ],
  };

  it('sums the distances of all clients', () => {
    const t = PciTopology.fromSpec(spec);
    expect(t.p2pdmaDistanceMany('gpu0', ['nic0', 'gpu0', 'nvme0'])).toBe(8);
    expect(t.p2pdmaDistanceMany('gpu0', ['gpu0'])).toBe(0);
  });

  it('-1 for no clients, an unsupported pair, or a client with no PCI ancestor', () => {
    const t = PciTopology.fromSpec(spec);
    expect(t.p2pdmaDistanceMany('gpu0', [])).toBe(-1);
    expect(t.p2pdmaDistanceMany('gpu0', ['nic0', 'far0', 'nvme0'])).toBe(-1);
    expect(t.p2pdmaDistanceMany('gpu0', ['nic0', 'dsp0'])).toBe(-1);
    expect(t.p2pdmaDistance('gpu0', 'dsp0')).toEqual({ mapType: 'NOT_SUPPORTED', distance: -1 });
  });

  it('non-verbose stops at the first unsupported client; verbose computes (and caches) them all', () => {
    const t = PciTopology.fromSpec(spec);
    t.p2pdmaDistanceMany('gpu0', ['far0', 'nic0', 'nvme0']);
    expect(t.stats.calcs).toBe(1);
    const v = PciTopology.fromSpec(spec);
    expect(v.p2pdmaDistanceMany('gpu0', ['far0', 'nic0', 'nvme0'], true)).toBe(-1);
    expect(v.stats.calcs).toBe(3);
  });

  it('a platform device resolves to its PCI parent for distances, but is NOT_SUPPORTED as a map-type client', () => {
    const t = PciTopology.fromSpec(spec);
    expect(t.p2pdmaDistance('gpu0', 'mlx5_ib0')).toEqual({ mapType: 'BUS_ADDR', distance: 4 });
    expect(t.p2pdmaDistance('gpu0', 'rdma0')).toEqual({ mapType: 'BUS_ADDR', distance: 4 });
    expect(t.p2pdmaDistanceMany('gpu0', ['rdma0', 'nvme0'])).toBe(8);
    // pci_p2pdma_map_type checks dev_is_pci() and does not walk up.
    expect(t.p2pdmaMapType('gpu0', 'mlx5_ib0')).toBe('NOT_SUPPORTED');
    expect(t.p2pdmaMapType('gpu0', null)).toBe('NOT_SUPPORTED');
    expect(t.isPci('mlx5_ib0')).toBe(false);
    expect(t.isPci('nic0')).toBe(true);
  });
});

describe('map-type cache (provider->p2pdma->map_types)', () => {
  it('counts uncached computations and cache hits', () => {
    const t = issueExample();
    expect(t.p2pdmaMapType('gpu0', 'nic0')).toBe('BUS_ADDR');
    expect(t.stats).toEqual({ calcs: 1, mapTypeLookups: 1, cacheHits: 0 });
    expect(t.p2pdmaMapType('gpu0', 'nic0')).toBe('BUS_ADDR');
    expect(t.p2pdmaMapType('gpu0.0', 'nic0.0')).toBe('BUS_ADDR');
    expect(t.stats).toEqual({ calcs: 1, mapTypeLookups: 3, cacheHits: 2 });
    // The cache is per (provider, client): the reverse pair is computed once.
    t.p2pdmaMapType('nic0', 'gpu0');
    expect(t.stats).toEqual({ calcs: 2, mapTypeLookups: 4, cacheHits: 2 });
  });

  it('distance queries always compute and fill the cache; clearing it forces a recompute', () => {
    const t = issueExample();
    t.p2pdmaDistance('gpu0', 'nic0');
    t.p2pdmaDistance('gpu0', 'nic0');
    expect(t.stats.calcs).toBe(2);
    expect(t.p2pdmaMapType('gpu0', 'nic0')).toBe('BUS_ADDR');
    expect(t.stats).toEqual({ calcs: 2, mapTypeLookups: 1, cacheHits: 1 });
    t.clearMapTypeCache();
    t.p2pdmaMapType('gpu0', 'nic0');
    expect(t.stats).toEqual({ calcs: 3, mapTypeLookups: 2, cacheHits: 1 });
  });

  it('a provider object of the topology is accepted and keyed by its owning function', () => {
    const t = issueExample();
    const p = t.p2pdmaAddResource('gpu0', { startPfn: 0x10_0000, npages: 16, busOffset: 0x1000_0000 });
    expect(p).toBeInstanceOf(P2pdmaProvider);
    const prov = p as P2pdmaProvider;
    expect(prov.owner).toBe('gpu0.0');
    expect(t.p2pdmaMapType(prov, 'nic0')).toBe('BUS_ADDR');
    expect(t.p2pdmaMapType('gpu0', 'nic0')).toBe('BUS_ADDR');
    expect(t.stats.cacheHits).toBe(1);
    const other = issueExample();
    expect(() => other.p2pdmaMapType(prov, 'nic0')).toThrow(UnknownPciDeviceError);
  });
});

describe('P2P memory resources', () => {
  it('finds the provider of a pfn and refuses bad or overlapping ranges', () => {
    const t = issueExample();
    const a = t.p2pdmaAddResource('gpu0', { startPfn: 1000, npages: 10, busOffset: 4096 }) as P2pdmaProvider;
    const b = t.p2pdmaAddResource('nic0', { startPfn: 100, npages: 5 }) as P2pdmaProvider;
    expect(t.p2pdmaProviderOf(1000)).toBe(a);
    expect(t.p2pdmaProviderOf(1009)).toBe(a);
    expect(t.p2pdmaProviderOf(1010)).toBeNull();
    expect(t.p2pdmaProviderOf(104)).toBe(b);
    expect(t.p2pdmaProviderOf(99)).toBeNull();
    expect(t.p2pdmaProviderOf(500)).toBeNull();
    expect(t.p2pdmaAddResource('nic0', { startPfn: 1005, npages: 10 })).toBe(-ENOMEM);
    expect(t.p2pdmaAddResource('nic0', { startPfn: 10, npages: 0 })).toBe(-EINVAL);
    expect(t.p2pdmaAddResource('sw0', { startPfn: 10, npages: 1 })).toBe(-EINVAL);
    expect(() => t.p2pdmaAddResource('gpu9', { startPfn: 10, npages: 1 })).toThrow(UnknownPciDeviceError);
  });
});

describe('bad specs and unknown names', () => {
  const bad = (spec: unknown): string => {
    try {
      PciTopology.fromSpec(spec);
    } catch (e) {
      expect(e).toBeInstanceOf(TopologySpecError);
      return (e as Error).message;
    }
    throw new Error('spec was accepted');
  };

  it('unknown kind names the path', () => {
    const msg = bad({
      cpu: ZEN,
      hostBridges: [
        {
          name: 'hb0',
          vendor: 0x8086,
          device: 0x2020,
          children: [rp('rp0', []), { name: 'x', kind: 'swtch' }],
        },
      ],
    });
    expect(msg).toBe(
      "hostBridges[0].children[1].kind: unknown kind 'swtch' (expected rootPort, switch, endpoint)",
    );
    expect(bad({ hostBridges: [hb('hb0', 1, 2, [rp('rp0', [{ name: 'e' } as never])])] })).toBe(
      'hostBridges[0].children[0].children[0].kind: unknown kind nothing (expected rootPort, switch, endpoint)',
    );
  });

  it('duplicate names, function names included', () => {
    expect(bad({ hostBridges: [hb('hb0', 1, 2, [rp('rp0', [sw('sw0', [ep('nic0'), ep('nic0')])])])] })).toBe(
      "hostBridges[0].children[0].children[0].children[1].name: duplicate name 'nic0' (first at hostBridges[0].children[0].children[0].children[0].name)",
    );
    expect(
      bad({
        hostBridges: [
          hb('hb0', 1, 2, [rp('rp0', [sw('sw0', [ep('gpu0', { functions: 2 }), ep('gpu0.1')])])]),
        ],
      }),
    ).toMatch(
      /^hostBridges\[0\]\.children\[0\]\.children\[0\]\.children\[1\]\.name: duplicate name 'gpu0\.1'/,
    );
    expect(bad({ hostBridges: [hb('x', 1, 2, []), hb('x', 1, 2, [])] })).toMatch(
      /^hostBridges\[1\]\.name: duplicate/,
    );
  });

  it('missing children arrays and misplaced kinds', () => {
    expect(bad({ hostBridges: [hb('hb0', 1, 2, [rp('rp0', [{ name: 'sw0', kind: 'switch' }])])] })).toBe(
      'hostBridges[0].children[0].children[0].children: expected an array, got nothing',
    );
    expect(bad({ hostBridges: [{ name: 'hb0' }] })).toBe(
      'hostBridges[0].children: expected an array, got nothing',
    );
    expect(bad({})).toBe('hostBridges: expected an array, got nothing');
    expect(bad({ hostBridges: [hb('hb0', 1, 2, [sw('sw0', [])])] })).toMatch(
      /^hostBridges\[0\]\.children\[0\]\.kind: a switch cannot sit on the root bus/,
    );
    expect(bad({ hostBridges: [hb('hb0', 1, 2, [rp('rp0', [rp('rp1', [])])])] })).toMatch(
      /^hostBridges\[0\]\.children\[0\]\.children\[0\]\.kind: a root port sits on a host bridge/,
    );
    expect(
      bad({ hostBridges: [hb('hb0', 1, 2, [rp('rp0', [{ name: 'e', kind: 'endpoint', children: [] }])])] }),
    ).toBe('hostBridges[0].children[0].children[0].children: an endpoint has no children');
  });

  it('unknown platform parent, parent cycle, bad fields and numbers', () => {
    const base = [hb('hb0', 1, 2, [rp('rp0', [ep('nic0')])])];
    expect(bad({ hostBridges: base, platformDevices: [{ name: 'ib0', parent: 'nic9' }] })).toBe(
      "platformDevices[0].parent: unknown parent 'nic9'",
    );
    expect(
      bad({
        hostBridges: base,
        platformDevices: [
          { name: 'a', parent: 'b' },
          { name: 'b', parent: 'a' },
        ],
      }),
    ).toMatch(/^platformDevices\[0\]\.parent: parent cycle/);
    expect(
      bad({ hostBridges: [hb('hb0', 1, 2, [rp('rp0', [ep('e', { acsRedirct: true } as never)])])] }),
    ).toMatch(/^hostBridges\[0\]\.children\[0\]\.children\[0\]\.acsRedirct: unknown field 'acsRedirct'/);
    expect(bad({ hostBridges: [hb('hb0', 1, 2, [rp('rp0', [ep('e', { functions: 0 })])])] })).toBe(
      'hostBridges[0].children[0].children[0].functions: expected an integer in 1..256, got 0',
    );
    expect(
      bad({ hostBridges: [hb('hb0', 1, 2, [rp('rp0', [ep('e', { portAcsRedirect: true })])])] }),
    ).toMatch(/^hostBridges\[0\]\.children\[0\]\.children\[0\]\.portAcsRedirect: only a child of a switch/);
    expect(bad({ cpu: { vendor: 'amd' }, hostBridges: [] })).toMatch(/^cpu\.family: required/);
    expect(bad({ cpu: { vendor: 'via' }, hostBridges: [] })).toMatch(/^cpu\.vendor: expected one of/);
    expect(bad({ hostBridges: [{ name: 'hb0', vendor: 0x10000, device: 1, children: [] }] })).toMatch(
      /^hostBridges\[0\]\.vendor: expected an integer in 0\.\.65535/,
    );
    expect(bad(null)).toBe('(spec): expected an object, got null');
    expect(bad({ hostBridges: [], extra: 1 })).toMatch(/^extra: unknown field 'extra'/);
  });

  it('unknown device names in queries throw UnknownPciDeviceError', () => {
    const t = issueExample();
    expect(() => t.p2pdmaDistance('gpu0', 'nic9')).toThrow(UnknownPciDeviceError);
    expect(() => t.p2pdmaDistance('gpu9', 'nic0')).toThrow("p2pdmaDistance: unknown device 'gpu9'");
    expect(() => t.p2pdmaDistance('gpu0', 'hb0')).toThrow("p2pdmaDistance: 'hb0' is a host bridge");
    expect(() => t.p2pdmaDistance('gpu0.1', 'nic0')).toThrow(UnknownPciDeviceError);
    expect(() => t.p2pdmaMapType('gpu0', 'nic9')).toThrow(UnknownPciDeviceError);
    expect(() => t.p2pdmaDistanceMany('gpu0', ['nic9'])).toThrow(UnknownPciDeviceError);
    expect(() => t.upstreamChain('nope')).toThrow(UnknownPciDeviceError);
  });

  it('describe() draws the tree', () => {
    const t = issueExample(ZEN, 0x2020, true);
    expect(t.describe()).toBe(
      [
        'hb0 8086:2020 (allowlisted)',
        '  rp0 (root port)',
        '    sw0 (switch upstream port)',
        '      sw0.dsp0 (switch downstream port) [ACS redirect]',
        '        gpu0.0 (function)',
        '      sw0.dsp1 (switch downstream port) [ACS redirect]',
        '        nic0.0 (function)',
      ].join('\n'),
    );
  });
});
