/**
 * The data path from the PCI tree (pci-fabric.ts wired by Platform.route): transfers that share
 * a bridge edge share its bandwidth, P2P turns at the lowest common bridge, and P2P between
 * sockets crosses the interconnect. Each case compares two runs that differ in the tree only.
 */
import { describe, expect, it } from 'vitest';
import { gpuFillThenRdmaWrite, twoGpuReads } from '../../test/fixtures/configs.js';
import type { PciNodeSpec } from '../kernel/p2pdma.js';
import { simulate } from './simulate.js';

const MiB = 2 ** 20;
const ep = (name: string): PciNodeSpec => ({ name, kind: 'endpoint' });

describe('data path from the PCI tree', () => {
  // Two GPUs each write-fault a 64 MiB buffer the CPU wrote first (so each is copied H2D).
  const twoFills = (children: PciNodeSpec[]): ReturnType<typeof simulate> =>
    simulate(
      {
        version: 1,
        profile: 'pcie5-h100',
        platform: {
          ram: 1024 * MiB,
          pci: { cpu: { vendor: 'amd', family: 0x19 }, hostBridges: [{ name: 'hb0', children }] },
        },
        devices: {
          gpus: [
            { name: 'gpu0', vram: 256 * MiB },
            { name: 'gpu1', vram: 256 * MiB },
          ],
        },
        buffers: [
          { name: 'a', size: 64 * MiB, hugepage: true, place: 'ram' },
          { name: 'b', size: 64 * MiB, hugepage: true, place: 'ram' },
        ],
        workloads: [
          { kind: 'gpu', name: 'fa', gpu: 'gpu0', buffer: 'a', op: 'write', pattern: 'sequential' },
          { kind: 'gpu', name: 'fb', gpu: 'gpu1', buffer: 'b', op: 'write', pattern: 'sequential' },
        ],
      },
      { seed: 1 },
    );

  it('two GPUs below one switch share its uplink; on their own root ports they do not', () => {
    const shared = twoFills([
      {
        name: 'rp0',
        kind: 'rootPort',
        children: [{ name: 'sw0', kind: 'switch', children: [ep('gpu0'), ep('gpu1')] }],
      },
    ]);
    const apart = twoFills([
      { name: 'rp0', kind: 'rootPort', children: [ep('gpu0')] },
      { name: 'rp1', kind: 'rootPort', children: [ep('gpu1')] },
    ]);
    // Every H2D byte of both GPUs crosses the switch's uplink (sw0.down) and the root port's edge.
    expect(shared.links['pci:sw0.down']!.bytes).toBe(128 * MiB);
    expect(shared.links['pci:rp0.down']!.bytes).toBe(128 * MiB);
    expect(shared.links['pci:gpu0.down']!.bytes).toBe(64 * MiB);
    expect(apart.links['pci:rp0.down']!.bytes).toBe(64 * MiB);
    expect(apart.links['pci:rp1.down']!.bytes).toBe(64 * MiB);
    // The uplink has one GPU link's bandwidth, so the copies take longer when they share it.
    expect(shared.workloads.fa!.endNs).toBeGreaterThan(apart.workloads.fa!.endNs * 1.3);
    expect(shared.links['host-memory.read']!.bytes).toBe(apart.links['host-memory.read']!.bytes);
  });

  // A GPU fills a buffer in VRAM, then a NIC RDMA-writes into it through its BAR (pagemap-p2p).
  const nicIntoBar = (
    hostBridges: { name: string; vendor?: number; device?: number; children: PciNodeSpec[] }[],
    nicSocket: 0 | 1,
  ) => {
    const config = gpuFillThenRdmaWrite({
      design: 'pagemap-p2p',
      platform: { ram: 1024 * MiB, pci: { cpu: { vendor: 'amd', family: 0x19 }, hostBridges } },
      vram: 256 * MiB,
      size: 16 * MiB,
      messages: 256,
      nicSocket,
    });
    return simulate(config, { seed: 1 });
  };
  // AMD Zen host bridges are on the p2pdma allowlist: P2P between root ports is THRU_HOST_BRIDGE.
  const amd = { vendor: 0x1022, device: 0x14d8 };

  it('P2P between root ports of one host bridge crosses the root complex, posted writes forwarded where they enter', () => {
    const r = nicIntoBar(
      [
        {
          name: 'hb0',
          ...amd,
          children: [
            { name: 'rp0', kind: 'rootPort', children: [ep('gpu0')] },
            { name: 'rp1', kind: 'rootPort', children: [ep('nic0')] },
          ],
        },
      ],
      0,
    );
    expect(r.nics.nic0!.p2pPages).toBe(4096);
    expect(r.links['pci:rp1.p2p.write']!.bytes).toBe(16 * MiB);
    expect(r.links['pci:rp1.p2p.read']!.bytes).toBe(0);
    expect(r.links['pci:rp0.p2p.write']!.bytes).toBe(0);
    expect(r.links['pci:rp1.up']!.bytes).toBe(16 * MiB);
    expect(r.links['pci:rp0.down']!.bytes).toBeGreaterThanOrEqual(16 * MiB);
    expect(r.links['socket-interconnect.1to0']!.bytes).toBe(0);
  });

  it('P2P between host bridges of two sockets also crosses the socket interconnect', () => {
    const r = nicIntoBar(
      [
        { name: 'hb0', ...amd, children: [{ name: 'rp0', kind: 'rootPort', children: [ep('gpu0')] }] },
        { name: 'hb1', ...amd, children: [{ name: 'rp1', kind: 'rootPort', children: [ep('nic0')] }] },
      ],
      1,
    );
    expect(r.nics.nic0!.p2pPages).toBe(4096);
    // Up from the NIC, forwarded by socket 1's root complex, across to socket 0, down to the GPU.
    expect(r.links['pci:rp1.p2p.write']!.bytes).toBe(16 * MiB);
    expect(r.links['socket-interconnect.1to0']!.bytes).toBe(16 * MiB);
    expect(r.links['pci:rp0.down']!.bytes).toBeGreaterThanOrEqual(16 * MiB);
  });
  // owner-registry: gpu0 reads a buffer into its VRAM, then gpu1 reads gpu0's VRAM as a peer.
  const peerRead = (
    iommu: 'off' | 'translate',
    hostBridges?: { name: string; vendor?: number; device?: number; children: PciNodeSpec[] }[],
    cpu: { vendor: 'amd' | 'intel'; family?: number } = { vendor: 'amd', family: 0x19 },
  ) =>
    simulate(
      twoGpuReads({
        design: 'owner-registry',
        platform: {
          ram: 512 * MiB,
          iommu,
          pci: {
            cpu,
            hostBridges: hostBridges ?? [
              {
                name: 'hb0',
                ...amd,
                children: [
                  {
                    name: 'rp0',
                    kind: 'rootPort',
                    children: [{ name: 'sw0', kind: 'switch', children: [ep('gpu0'), ep('gpu1')] }],
                  },
                ],
              },
            ],
          },
        },
      }),
      { seed: 1 },
    );

  it('peer reads under a common switch (BUS_ADDR) turn at the switch; under a translating IOMMU they go up to the root complex', () => {
    const direct = peerRead('off');
    expect(direct.devices.gpu1!.peerBytes).toBe(16 * MiB);
    expect(direct.links['pci:gpu0.up']!.bytes).toBe(16 * MiB);
    expect(direct.links['pci:sw0.up']!.bytes).toBe(0);
    expect(direct.links['pci:rp0.p2p.read']!.bytes).toBe(0);
    // dma_map_resource gives an IOVA, which the switch cannot route to gpu0's BAR.
    const viaIommu = peerRead('translate');
    expect(viaIommu.devices.gpu1!.peerBytes).toBe(16 * MiB);
    expect(viaIommu.links['pci:sw0.up']!.bytes).toBe(16 * MiB);
    expect(viaIommu.links['pci:rp0.p2p.read']!.bytes).toBe(16 * MiB);
  });
  it('owner-registry: GPUs that cannot reach each other (p2pdma NOT_SUPPORTED) get different owners, so no peer access', () => {
    // An Intel host bridge that is not on the p2pdma allowlist, GPUs on two root ports.
    const r = peerRead(
      'off',
      [
        {
          name: 'hb0',
          vendor: 0x8086,
          device: 0x0001,
          children: [
            { name: 'rp0', kind: 'rootPort', children: [ep('gpu0')] },
            { name: 'rp1', kind: 'rootPort', children: [ep('gpu1')] },
          ],
        },
      ],
      { vendor: 'intel' },
    );
    expect(r.devices.gpu1!.peerBytes).toBe(0);
    expect(r.devices.gpu1!.pagesToVram).toBe(4096);
    expect(r.links['pci:rp0.p2p.read']!.bytes).toBe(0);
  });
});
