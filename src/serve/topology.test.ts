/**
 * The topology view against the kernel model's PciTopology: paths and map types on a tree with
 * a switch, an ACS port, two host bridges, a two-function endpoint and a platform device; the
 * p2p table of a scenario without platform.pci; bad picks.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../test/e2e/fixtures.js';
import { loadScenario } from '../scenario/index.js';
import type { SimConfig } from '../sim/simulate.js';
import { CPU_NODE, MAP_TYPE_COLORS, TopologyQueryError, topologyView } from './topology.js';

function config(file: string): SimConfig {
  const r = loadScenario(readFileSync(join(ROOT, file), 'utf8'), file);
  if (!r.ok) throw new Error(r.errors[0]!.message);
  return r.config;
}

const sw = config('test/e2e/fixtures/switch-topology.yaml');
const path = (a: string, b: string) => topologyView(sw, 'switch-topology', { a, b }).path!;

describe('PCI topology', () => {
  it('lists the tree parents first, with switch ports, functions and platform devices', () => {
    const t = topologyView(sw, 'switch-topology');
    expect(t.source).toBe('pci');
    const names = t.nodes.map((n) => n.name);
    for (const n of t.nodes)
      if (n.parent !== null) expect(names.indexOf(n.parent)).toBeLessThan(names.indexOf(n.name));
    expect(t.nodes[0]).toEqual({ name: CPU_NODE, kind: 'cpu', parent: null, acsRedirect: false });
    expect(t.nodes.find((n) => n.name === 'sw0.dsp2')).toMatchObject({
      kind: 'switchPort',
      acsRedirect: true,
    });
    expect(t.nodes.find((n) => n.name === 'sw0.dsp0')).toMatchObject({ acsRedirect: false });
    expect(t.nodes.find((n) => n.name === 'nic1')).toMatchObject({ kind: 'endpoint', role: 'nic' });
    expect(t.nodes.find((n) => n.name === 'nic1.1')).toMatchObject({ kind: 'function', parent: 'nic1' });
    expect(t.nodes.find((n) => n.name === 'ib0')).toMatchObject({ kind: 'platform', parent: 'nic0' });
    expect(t.endpoints).toEqual(['gpu0', 'nic0', 'gpu1', 'nic1.0', 'nic1.1', 'gpu2', 'ib0']);
    expect(t.describe).toContain('sw0.dsp2 (switch downstream port) [ACS redirect]');
  });

  it('walks the paths pci_p2pdma_distance walks, with its map type and distance', () => {
    expect(path('gpu0', 'nic0')).toEqual({
      provider: 'gpu0',
      client: 'nic0',
      mapType: 'BUS_ADDR',
      distance: 4,
      nodes: ['gpu0', 'sw0.dsp0', 'sw0', 'sw0.dsp1', 'nic0'],
      commonUpstream: 'sw0',
      acsPath: [],
    });
    // ACS redirect on gpu1's port: the TLPs go up to the host bridge.
    expect(path('gpu1', 'nic0')).toMatchObject({
      mapType: 'THRU_HOST_BRIDGE',
      distance: 4,
      acsPath: ['sw0.dsp2'],
      nodes: ['gpu1', 'sw0.dsp2', 'sw0', 'rp0', 'hb0', 'rp0', 'sw0', 'sw0.dsp1', 'nic0'],
    });
    // Two host bridges on an Intel CPU, hb1 off the allowlist.
    expect(path('gpu2', 'nic0')).toMatchObject({
      mapType: 'NOT_SUPPORTED',
      distance: -1,
      commonUpstream: null,
      nodes: ['gpu2', 'rp2', 'hb1', CPU_NODE, 'hb0', 'rp0', 'sw0', 'sw0.dsp1', 'nic0'],
    });
    // Two functions of one device: distance 2, through the device.
    expect(path('nic1.0', 'nic1.1')).toMatchObject({
      mapType: 'BUS_ADDR',
      distance: 2,
      nodes: ['nic1.0', 'nic1', 'nic1.1'],
    });
    // A multi-function endpoint named as a whole is its function 0.
    expect(path('nic1', 'gpu0')).toMatchObject({ provider: 'nic1.0', mapType: 'THRU_HOST_BRIDGE' });
    // A platform client is reached through its PCI parent.
    expect(path('gpu0', 'ib0')).toMatchObject({
      mapType: 'BUS_ADDR',
      nodes: ['gpu0', 'sw0.dsp0', 'sw0', 'sw0.dsp1', 'nic0', 'ib0'],
    });
    expect(path('gpu0', 'gpu0')).toMatchObject({ distance: 0, nodes: ['gpu0'] });
  });

  it('colours the path by its map type in the figure', () => {
    for (const [a, mapType] of [
      ['gpu0', 'BUS_ADDR'],
      ['gpu1', 'THRU_HOST_BRIDGE'],
      ['gpu2', 'NOT_SUPPORTED'],
    ] as const) {
      const t = topologyView(sw, 'switch-topology', { a, b: 'nic0' });
      expect(t.path!.mapType).toBe(mapType);
      expect(t.figure!.svg).toContain(`stroke-width="4" stroke="${MAP_TYPE_COLORS[mapType]}"`);
      expect(t.figure!.caption).toMatch(new RegExp(`^${a} → nic0: ${mapType}, distance `));
    }
  });

  it('gives every GPU-NIC pair the map type the simulation uses', () => {
    expect(topologyView(sw, 's').pairs).toEqual([
      { gpu: 'gpu0', nic: 'nic0', mapType: 'BUS_ADDR' },
      { gpu: 'gpu0', nic: 'nic1', mapType: 'THRU_HOST_BRIDGE' },
      { gpu: 'gpu1', nic: 'nic0', mapType: 'THRU_HOST_BRIDGE' },
      { gpu: 'gpu1', nic: 'nic1', mapType: 'THRU_HOST_BRIDGE' },
      { gpu: 'gpu2', nic: 'nic0', mapType: 'NOT_SUPPORTED' },
      { gpu: 'gpu2', nic: 'nic1', mapType: 'NOT_SUPPORTED' },
    ]);
  });

  it('rejects picks that are not path ends', () => {
    const bad = (a: string, b: string) => () => topologyView(sw, 's', { a, b });
    expect(bad('gpu9', 'nic0')).toThrow(TopologyQueryError);
    expect(bad('gpu9', 'nic0')).toThrow(
      /^provider 'gpu9' is not a device of this topology \(pick one of gpu0, /,
    );
    expect(bad('gpu0', 'sw0')).toThrow(/^client 'sw0' is not an endpoint/);
    expect(bad('ib0', 'gpu0')).toThrow(/^provider 'ib0' is a platform device/);
  });

  it('draws the shipped scenarios with platform.pci', () => {
    const amd = topologyView(config('scenarios/rdma-amd-root-ports.yaml'), 'amd');
    expect(amd.path).toMatchObject({
      mapType: 'THRU_HOST_BRIDGE',
      nodes: ['gpu0', 'rp0', 'hb0', 'rp1', 'nic0'],
    });
    const intel = topologyView(config('scenarios/rdma-intel-not-allowlisted.yaml'), 'intel');
    expect(intel.path).toMatchObject({ mapType: 'NOT_SUPPORTED', distance: -1 });
  });
});

describe('p2p table', () => {
  it('shows the devices and the map types of a scenario without platform.pci', () => {
    const t = topologyView(config('scenarios/rdma-into-gpu.yaml'), 'rdma-into-gpu');
    expect(t).toMatchObject({
      source: 'p2p-table',
      gpus: ['gpu0'],
      nics: ['nic0'],
      nodes: [],
      path: null,
      figure: null,
    });
    expect(t.pairs).toEqual([{ gpu: 'gpu0', nic: 'nic0', mapType: 'BUS_ADDR' }]);
    expect(() => topologyView(config('scenarios/rdma-into-gpu.yaml'), 'x', { a: 'gpu0' })).toThrow(
      /has no platform.pci: there is no path to draw/,
    );
  });
});
