/**
 * Peer copies: a GPU's accesses to another GPU's VRAM that it maps through a shared pagemap
 * owner (the owner-registry design). They go over the private GPU link between the two when
 * there is one (NVLink/xGMI-like), else through PCIe and the host bridge.
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
import type { SimGpu } from './platform.js';

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
        ? [g.d2h, p.hostBridgeP2p[0], peer.h2d]
        : [peer.d2h, p.hostBridgeP2p[1], g.h2d];
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
