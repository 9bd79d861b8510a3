/**
 * GPU hot unplug. A 'safe' removal evicts the GPU's memory to RAM (peers invalidated first),
 * charges the migrate work on a CPU core (migrateCostNs) and the copies on the GPU's copy
 * engines; a 'surprise' removal loses what was in VRAM (its migrate work is still charged, its
 * copies are not: there is no device to copy from) and lists the peer mappings (NIC MRs, other
 * GPUs' mirrors) that were left stale. Workloads on the removed GPU stop (workloads/gpu.ts
 * checks `removed`).
 *
 *   events: [{ kind: 'unplug', name: 'pull', gpu: 'gpu0', mode: 'surprise', after: 'k0' }]
 *
 * Linux counterpart: pci_stop_and_remove_bus_device driving the GPU driver's remove callback
 * (drm_pagemap's unbind rule for device-private memory: evict, then memunmap_pages). The
 * surprise case is what a hot-unplug or link-down leaves behind before the driver runs.
 */

import type { SimAgent, SimContext } from '../agent.js';
import type { UnplugEvent } from '../config.js';
import type { Wait } from '../engine.js';
import { migrateCostNs } from '../migrate-cost.js';
import { takeQueuedCopies } from '../platform.js';

/** The agent of unplug event `u`. */
export function unplugEvent(sim: SimContext, u: UnplugEvent): SimAgent {
  return { name: u.name, after: u.after, startNs: u.start, run: () => run(sim, u) };
}

function* run(sim: SimContext, u: UnplugEvent): Generator<Wait, void, unknown> {
  const { engine, platform: p, metrics, v } = sim;
  const g = p.gpus.get(u.gpu)!;
  const t0 = engine.now;
  const r = p.machine.unplugGpu(u.gpu, u.mode);
  // The driver's removal path: every block evicted back to RAM (migrate_device_pfns), charged
  // with the migration cost model on a core, as on every other path: per migrate sequence and
  // per entry (a 2 MiB folio evicted whole is one). (Every other path drains the sink as soon
  // as its kernel work is done, so the sink held nothing before the removal.)
  const q = takeQueuedCopies(g);
  // The evicted folios become visible in RAM when the copies are done (inflight.ts).
  const held = sim.inflight.pending ? sim.inflight.hold() : null;
  if (held) yield* sim.inflight.drain(held);
  const core = yield* p.cpus.acquire();
  yield migrateCostNs(v, q.calls, q.entries, q.pages);
  p.cpus.release(core);
  // The copies over the GPU's link, by their bytes. Surprise removal: the device is gone, there
  // is nothing to copy from (the pages come back as poison).
  if (u.mode === 'safe') {
    const sigs = q.transfers.map((t) => {
      g.m.bytesToRam += t.bytes;
      return engine.spawn(p.copy(g, t), 'copy');
    });
    for (const sg of sigs) yield sg;
  }
  if (held) sim.inflight.release(held);
  metrics.unplugFinished(u.name, {
    gpu: u.gpu,
    mode: u.mode,
    atNs: t0,
    endNs: engine.now,
    lostPages: r.lostPages,
    evictedPages: r.evictedPages,
    staleMappings: r.staleMappings.length,
    staleDevices: [...new Set(r.staleMappings.map((m) => m.device))].sort(),
  });
}
