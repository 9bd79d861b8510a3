/**
 * GPU hot unplug. A 'safe' removal evicts the GPU's memory to RAM (peers invalidated first)
 * and charges the migrate_vma work on a CPU core; a 'surprise' removal loses what was in VRAM
 * and lists the peer mappings (NIC MRs, other GPUs' mirrors) that were left stale. Workloads on
 * the removed GPU stop (workloads/gpu.ts checks `removed`).
 *
 *   events: [{ kind: 'unplug', name: 'pull', gpu: 'gpu0', mode: 'surprise', after: 'k0' }]
 *
 * Linux counterpart: pci_stop_and_remove_bus_device driving the GPU driver's remove callback
 * (drm_pagemap's unbind rule for device-private memory: evict, then memunmap_pages). The
 * surprise case is what a hot-unplug or link-down leaves behind before the driver runs.
 */

import type { Transfer } from '../../drivers/gpu.js';
import type { SimAgent, SimContext } from '../agent.js';
import type { UnplugEvent } from '../config.js';
import type { Wait } from '../engine.js';
import { takeQueuedCopies } from '../platform.js';

/** The agent of unplug event `u`. */
export function unplugEvent(sim: SimContext, u: UnplugEvent): SimAgent {
  return { name: u.name, after: u.after, startNs: u.start, run: () => run(sim, u) };
}

function* run(sim: SimContext, u: UnplugEvent): Generator<Wait, void, unknown> {
  const { engine, platform: p, metrics, v } = sim;
  const g = p.gpus.get(u.gpu)!;
  const t0 = engine.now;
  // What was queued before the removal is the driver's to forget (its removal drops the queue).
  takeQueuedCopies(g, 'take');
  const r = p.machine.unplugGpu(u.gpu, u.mode);
  // The driver's removal path: migrate every page back (CPU work), copies over the link. The
  // removal's copies are dropped uncharged, as the driver did before it had a sink (pend stays
  // empty); charging them is a known gap (README) that changes results.
  const { entries } = takeQueuedCopies(g, 'take');
  const pend: Transfer[] = [];
  const core = yield* p.cpus.acquire();
  yield v.migrateVmaFixedNs + v.migrateVmaPerPageNs * entries;
  p.cpus.release(core);
  // Surprise removal: nothing is left to copy from; the pages come back as poison.
  if (u.mode === 'safe') {
    const sigs = pend.map((t) => {
      g.m.bytesToRam += t.bytes;
      return engine.spawn(p.copy(g, t), 'copy');
    });
    for (const sg of sigs) yield sg;
  }
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
