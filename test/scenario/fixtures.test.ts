/**
 * Frozen fixtures: version-1 files as they were written when version 1 shipped. They must keep
 * loading, and mean the same configuration (what simulate() takes), whatever the format grows
 * into. Never edit a fixture to
 * make this pass: a change that breaks one needs a new format version and a migration.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatScenarioError, loadScenario } from '../../src/scenario/load.js';
import { type SimConfig, simulate } from '../../src/sim/simulate.js';

const KiB = 2 ** 10;
const MiB = 2 ** 20;
const GiB = 2 ** 30;

function load(name: string) {
  const file = join(import.meta.dirname, 'fixtures', name);
  const r = loadScenario(readFileSync(file, 'utf8'), name);
  if (!r.ok) throw new Error(r.errors.map(formatScenarioError).join('\n'));
  return r;
}

const EXPECTED: Record<string, { seed: number; config: SimConfig }> = {
  'v1-minimal.yaml': {
    seed: 1,
    config: {
      version: 1,
      profile: 'pcie4-a100',
      buffers: [{ name: 'buf', size: 64 * MiB }],
      workloads: [{ kind: 'cpu', name: 'touch', buffer: 'buf', op: 'write', pattern: 'sequential' }],
    },
  },
  'v1-full.yaml': {
    seed: 42,
    config: {
      version: 1,
      name: 'every-field',
      description: 'Every key of format version 1.',
      seed: 42,
      placement: 'first-touch',
      profile: 'pcie5-h100',
      overrides: { faultBatchSize: 128, hostMemoryBandwidth: 200 },
      platform: {
        ram: 2 * GiB,
        cpuCores: 4,
        thp: 'always',
        iommu: 'translate',
        p2p: {
          default: 'THRU_HOST_BRIDGE',
          pairs: { 'gpu0:nic0': 'BUS_ADDR', 'gpu1:nic0': 'NOT_SUPPORTED' },
        },
      },
      devices: {
        gpus: [
          {
            name: 'gpu0',
            vram: 256 * MiB,
            bar: 64 * MiB,
            faultBatchSize: 64,
            chunkSizes: [2 * MiB, 64 * KiB, 4 * KiB],
            prefetch: true,
            thrashing: true,
            link: { kind: 'pcie', gen: 4, lanes: 8 },
            socket: 0,
            placement: 'access-counter',
          },
          { name: 'gpu1', vram: 128 * MiB, link: { kind: 'c2c' }, socket: 1 },
        ],
        nics: [{ name: 'nic0', fallback: 'v2', socket: 1, ats: true, relaxedOrdering: true }],
      },
      buffers: [
        { name: 'a', size: 32 * MiB, hugepage: true },
        { name: 'b', size: 8 * MiB, hugepage: false },
      ],
      workloads: [
        {
          kind: 'cpu',
          name: 'init',
          buffer: 'a',
          op: 'write',
          pattern: 'strided',
          bytes: 16 * MiB,
          stride: 64 * KiB,
          passes: 2,
          start: 1000,
          nsPerPage: 50,
        },
        {
          kind: 'gpu',
          name: 'compute',
          buffer: 'a',
          op: 'read',
          pattern: 'random',
          after: 'init',
          gpu: 'gpu0',
          bytesPerNs: 1000,
        },
        {
          kind: 'rdma',
          name: 'send',
          buffer: 'a',
          op: 'write',
          pattern: 'sequential',
          after: 'compute',
          nic: 'nic0',
          messageSize: 64 * KiB,
          messages: 64,
          queueDepth: 4,
        },
        { kind: 'gpu', name: 'other', buffer: 'b', op: 'write', pattern: 'sequential', gpu: 'gpu1' },
      ],
      design: 'rfc-callback',
      rfcLockPerPage: true,
      duration: 10e9,
    },
  },
  'v1-processes.yaml': {
    seed: 1,
    config: {
      version: 1,
      name: 'processes',
      profile: 'pcie5-h100',
      platform: { ram: 512 * MiB, cpuCores: 2 },
      processes: [{ name: 'a' }, { name: 'b' }],
      devices: { gpus: [{ name: 'gpu0', vram: 64 * MiB }], dmirrors: [{ name: 'm1', minor: 1 }] },
      buffers: [
        { name: 'x', size: 16 * MiB, process: 'a', place: 'ram' },
        { name: 'y', size: 8 * MiB, process: 'b' },
      ],
      workloads: [
        { kind: 'gpu', name: 'g', gpu: 'gpu0', buffer: 'x', op: 'read', pattern: 'sequential' },
        {
          kind: 'dmirror',
          name: 'd',
          dmirror: 'm1',
          buffer: 'y',
          op: 'migrate',
          pattern: 'sequential',
          ioctlSize: 1048576,
        },
        {
          kind: 'dmirror',
          name: 'back',
          dmirror: 'm1',
          buffer: 'y',
          op: 'migrate-to-ram',
          pattern: 'sequential',
          after: 'd',
        },
      ],
    },
  },
  'v1-pci.yaml': {
    seed: 1,
    config: {
      version: 1,
      name: 'pci-topology',
      placement: 'first-touch',
      profile: 'pcie5-h100',
      platform: {
        ram: GiB,
        pci: {
          cpu: { vendor: 'amd', family: 0x19 },
          hostBridges: [
            {
              name: 'hb0',
              vendor: 0x1022,
              device: 0x1480,
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
                        { name: 'nic0', kind: 'endpoint' },
                      ],
                    },
                  ],
                },
              ],
            },
          ],
        },
      },
      devices: {
        gpus: [{ name: 'gpu0', vram: 64 * MiB }],
        nics: [{ name: 'nic0' }],
      },
      buffers: [{ name: 'buf', size: 16 * MiB, hugepage: true }],
      workloads: [
        { kind: 'gpu', name: 'fill', buffer: 'buf', op: 'write', pattern: 'sequential', gpu: 'gpu0' },
        {
          kind: 'rdma',
          name: 'put',
          buffer: 'buf',
          op: 'write',
          pattern: 'sequential',
          after: 'fill',
          nic: 'nic0',
          messageSize: 64 * KiB,
          messages: 256,
          queueDepth: 4,
        },
      ],
      design: 'pagemap-p2p',
    },
  },
  'v1-json.json': {
    seed: 7,
    config: {
      version: 1,
      name: 'json-form',
      description:
        'FROZEN fixture: a version-1 scenario written as JSON. Do not edit it; the loader must keep reading it.',
      seed: 7,
      profile: 'pcie4-a100',
      platform: { ram: GiB, p2p: { default: 'BUS_ADDR' } },
      devices: {
        gpus: [{ name: 'gpu0', vram: 64 * MiB, link: { kind: 'pcie', gen: 4 } }],
        nics: [{ name: 'nic0' }],
      },
      buffers: [{ name: 'buf', size: 16 * MiB, hugepage: true }],
      workloads: [
        { kind: 'gpu', name: 'fill', buffer: 'buf', op: 'write', pattern: 'sequential', gpu: 'gpu0' },
        {
          kind: 'rdma',
          name: 'put',
          buffer: 'buf',
          op: 'write',
          pattern: 'random',
          after: 'fill',
          nic: 'nic0',
          messageSize: 4096,
          messages: 128,
          queueDepth: 2,
        },
      ],
      duration: 1e9,
    },
  },
};

describe('frozen version-1 fixtures', () => {
  for (const [name, expected] of Object.entries(EXPECTED)) {
    it(`${name} loads to the same configuration and seed`, () => {
      const r = load(name);
      expect(r.config).toEqual(expected.config);
      expect(r.seed).toBe(expected.seed);
    });

    it(`${name} simulates`, () => {
      const r = load(name);
      const res = simulate(r.config, { seed: r.seed });
      expect(res.endNs).toBeGreaterThan(0);
    });
  }

  it('v1-pci.yaml: the topology puts GPU and NIC under one switch, so the NIC maps VRAM peer-to-peer', () => {
    const r = load('v1-pci.yaml');
    const res = simulate(r.config, { seed: r.seed });
    expect(res.nics.nic0!.p2pPages).toBeGreaterThan(0);
  });

  it('every fixture says it is frozen', () => {
    for (const name of Object.keys(EXPECTED)) {
      const text = readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');
      expect(text).toMatch(/FROZEN/);
    }
  });
});
