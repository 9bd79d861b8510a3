/**
 * Peer copies: a GPU's accesses to another GPU's VRAM that it maps through a shared pagemap
 * owner (the owner-registry design). They go over the private GPU link between the two when
 * there is one (NVLink/xGMI-like), else through the PCI tree from one GPU to the other's BAR:
 * below their common switch when `platform.pci` gives the pair BUS_ADDR and no IOMMU
 * translates, else up through the root complex (and the socket interconnect between sockets).
 * Without `platform.pci` the map type of a GPU pair is not given (`p2p` names GPU:NIC pairs),
 * and peer traffic goes through the root complex.
 *
 *   const pending = new Map([['gpu1', 2 ** 21]]);        // bytes read from gpu1's VRAM
 *   const ns = yield* peerCopies(sim, gpu0, pending, false);
 *
 * Linux counterpart: none in the kernel; the data path of a GPU load from a peer's BAR
 * (pci_p2pdma) or over NVLink. Deliberate difference: accesses are batched per chunk of work
 * into one transfer per peer.
 */
import type { SimContext } from './agent.js';
import type { Wait } from './engine.js';
import { barEnd, deviceEnd } from './pci-fabric.js';
import type { Platform, SimGpu } from './platform.js';

/**
 * Whether peer traffic between `provider`'s BAR and `client` goes up to the root complex: not
 * when `platform.pci` makes the pair BUS_ADDR and no IOMMU translates the address. The
 * owner-registry design maps a peer's VRAM with dma_map_resource (as xe's
 * drm_pagemap_device_map does), so under `iommu: translate` the GPU sends an IOVA, which a
 * switch cannot route to the peer's BAR: it goes up to the root complex and its IOMMU.
 */
function peerThruHostBridge(p: Platform, provider: string, client: string): boolean {
  const t = p.p2pCalc(provider, client)?.mapType;
  // The design gives GPUs that cannot reach each other different owners (peerReachable).
  if (t === 'NOT_SUPPORTED') throw new Error(`peer access from ${client} to ${provider}: NOT_SUPPORTED`);
  if (p.config.platform?.iommu === 'translate') return true;
  return t !== 'BUS_ADDR';
}

/**
 * Moves the bytes `g` accessed in each peer's VRAM (`pending`, by peer name; cleared), all
 * peers at once; returns the time until the last is done. Counts them in g's peerBytes.
 */
export function* peerCopies(
  sim: SimContext,
  g: SimGpu,
  pending: Map<string, number>,
  write: boolean,
): Generator<Wait, number, unknown> {
  const { engine, fabric, platform: p, v } = sim;
  const t0 = engine.now;
  const spawned: ReturnType<typeof engine.spawn>[] = [];
  for (const [name, bytes] of pending) {
    const peer = p.gpus.get(name)!;
    const link = write ? p.peerLinks.get(`${g.cfg.name}>${name}`) : p.peerLinks.get(`${name}>${g.cfg.name}`);
    const path = link
      ? [link]
      : write
        ? p.route(deviceEnd(g.cfg.name), barEnd(peer.cfg.name), peerThruHostBridge(p, name, g.cfg.name))
        : p.route(barEnd(peer.cfg.name), deviceEnd(g.cfg.name), peerThruHostBridge(p, name, g.cfg.name));
    g.m.peerBytes += bytes;
    spawned.push(
      engine.spawn(
        (function* () {
          yield fabric.transfer(path, bytes, v.dmaSetupLatencyNs);
        })(),
        'peer',
      ),
    );
  }
  pending.clear();
  for (const sp of spawned) yield sp;
  return engine.now - t0;
}
