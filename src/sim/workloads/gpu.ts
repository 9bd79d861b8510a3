/**
 * A GPU workload: a kernel on an SVM GPU walking a buffer. Resident pages run at the GPU's
 * memory rate; pages the GPU maps remotely (system memory, zero-copy) or in a peer's VRAM
 * cross its links; a page it does not map is a far fault. The warps in flight keep running and
 * fault too, until the fault buffer is full; the driver then fetches batches of up to
 * faultBatchSize and services up to faultBatchesPerService of them before one replay. Each
 * batch is charged on a CPU core phase by phase, then its copies run on the GPU's copy
 * engines while the GPU stalls.
 *
 *   workloads: [{ kind: 'gpu', name: 'k0', gpu: 'gpu0', buffer: 'b', op: 'read', pattern: 'random' }]
 *
 * Linux counterpart: nvidia-uvm's replayable fault servicing (uvm_gpu_replayable_faults.c)
 * over drivers/gpu.ts, which follows the SVM drivers (amdgpu_svm, xe_svm). Deliberate
 * differences: a GPU is one stream of accesses (no SMs or warps), and a removed GPU's work
 * simply stops.
 */
import { PAGE_SIZE, PMD_SIZE } from '../../kernel/constants.js';
import type { SimAgent, SimContext } from '../agent.js';
import type { GpuWorkload } from '../config.js';
import { migrateCostNs } from '../migrate-cost.js';
import { peerCopies } from '../peer.js';
import { servicePass } from '../platform.js';
import { CHUNK } from './access.js';
import { openStream } from './stream.js';

const alignDown = (a: number) => Math.floor(a / PMD_SIZE) * PMD_SIZE;

/** The agent of GPU workload `w`. */
export function gpuWorkload(sim: SimContext, w: GpuWorkload): SimAgent {
  return { name: w.name, after: w.after, startNs: w.start, run: () => run(sim, w) };
}

function* run(sim: SimContext, w: GpuWorkload) {
  const { engine, platform: p, metrics, v } = sim;
  const log = metrics.log;
  const { b, pages, next, wm, write } = openStream(sim, w);
  const g = p.gpus.get(w.gpu)!;
  const mir = g.mirs.get(b.proc)!;
  const rate = w.bytesPerNs ?? v.deviceMemoryBandwidth;
  const pageNs = PAGE_SIZE / rate;
  // The GPU keeps running other warps until its fault buffer is full; the driver then
  // fetches batches of up to faultBatchSize (clamped to the buffer, as nvidia-uvm does) and
  // services up to faultBatchesPerService of them before one replay (uvm_gpu_replayable_faults.c).
  const window = Math.max(1, Math.round(v.faultBufferEntries));
  const batch = Math.min(g.cfg.faultBatchSize ?? v.faultBatchSize, window);
  const perPass = Math.max(1, Math.round(v.faultBatchesPerService));
  const addrs = new Float64Array(window);
  const writes = new Uint8Array(window);
  const total = pages * (w.passes ?? 1);
  let i = 0;
  let acc = 0;
  let remoteBytes = 0;
  const peerBytes = new Map<string, number>();
  while (i < total) {
    if (g.dev.removed) break; // the GPU was unplugged: its work stops
    const addr = b.addr + next(i % pages) * PAGE_SIZE;
    if (mir.translate(addr, write)) {
      wm.pagesTouched++;
      i++;
      if (g.dev.isVramMapped(mir, addr)) acc += pageNs;
      else {
        const peer = p.gpuOfVram(mir.devicePfn(addr));
        if (peer && peer !== g) {
          // A peer GPU's VRAM, mapped through a shared pagemap owner.
          peerBytes.set(peer.cfg.name, (peerBytes.get(peer.cfg.name) ?? 0) + PAGE_SIZE);
        } else {
          // A remote (zero-copy) access to system memory: the bytes cross the GPU's link.
          remoteBytes += PAGE_SIZE;
          g.dev.noteRemoteAccess(mir, addr);
        }
      }
      if (wm.pagesTouched % CHUNK === 0) {
        // Peer and remote copies are waited for here (yield*); what they took counts as compute
        // time with the chunk's own, which is then waited for alone.
        if (peerBytes.size > 0) wm.computeNs += yield* peerCopies(sim, g, peerBytes, write);
        if (remoteBytes > 0) {
          const t = remoteBytes;
          remoteBytes = 0;
          wm.computeNs += yield* p.copy(g, { bytes: t, dir: write ? 'd2h' : 'h2d' });
          g.m.remoteBytes += t;
        }
        wm.computeNs += acc;
        yield acc;
        acc = 0;
      }
      continue;
    }
    // A far fault: the warps in flight keep running and fault too, until the fault buffer
    // is full or the window of in-flight accesses is exhausted.
    let n = 0;
    for (let j = i; j < total && j < i + window && n < window; j++) {
      const a = b.addr + next(j % pages) * PAGE_SIZE;
      if (!mir.translate(a, write)) {
        addrs[n] = a;
        writes[n] = write ? 1 : 0;
        n++;
      }
    }
    if (acc > 0) {
      wm.computeNs += acc;
      yield acc;
      acc = 0;
    }
    const t0 = engine.now;
    g.m.servicePasses++;
    for (let off = 0, inPass = 0; off < n; off += batch, inPass++) {
      if (inPass === perPass) {
        // A full pass: the driver replays, and the faults still pending come back as a new pass.
        g.m.servicePasses++;
        inPass = 0;
      }
      const nb = Math.min(batch, n - off);
      // Folios another operation is still migrating: the driver's migrate_vma_setup would find
      // them locked (migration entries) and hmm_range_fault would wait for them
      // (migration_entry_wait); the batch waits until that work is done, for each 2 MiB region
      // it faults in (the largest chunk it may migrate around a fault).
      for (let j = off; j < off + nb; j++) {
        const r = alignDown(addrs[j]!);
        if (sim.inflight.blocking(b.mm.id, r, r + PMD_SIZE, g.cfg.name))
          yield* sim.inflight.waitClear(b.mm.id, r, r + PMD_SIZE, g.cfg.name);
      }
      const bt0 = engine.now;
      const inv0 = g.dev.stats.invalidations;
      const tlb0 = g.dev.stats.tlbInvalidations;
      const r = servicePass(
        g,
        mir,
        addrs.subarray(off, off + nb),
        writes.subarray(off, off + nb),
        nb,
        engine.now,
      );
      // What the pass migrated becomes visible when its CPU work and copies are done.
      const held = sim.inflight.pending ? sim.inflight.hold() : null;
      // Notifier callbacks and GPU TLB invalidations caused by this batch (evictions, splits).
      const invNs =
        (g.dev.stats.invalidations - inv0) * v.mmuNotifierInvalidateNs +
        (g.dev.stats.tlbInvalidations - tlb0) * v.gpuTlbInvalidationNs;
      const migrateNs = migrateCostNs(v, r.migrateCalls, r.migratedEntries, r.migratedPages);
      const phases: [string, number][] | null = log && [
        // Per serviced fault: later faults on a chunk serviced in the same batch coalesce.
        ['fault buffer fetch', v.gpuFaultBatchFixedNs + v.gpuFaultPerPageNs * r.serviced],
        ['eviction', v.gpuEvictionPerPageNs * r.evictedPages],
        ['mmu notifier invalidations', invNs],
        // The migration cost model (migrate-cost.ts): per call and per entry, a 2 MiB folio
        // moved whole being one entry; the pass's evictions are in it too.
        ['migrate_vma', migrateNs],
        [
          'hmm_range_fault',
          v.hmmRangeFaultCallNs * (r.hmmPages > 0 ? 1 : 0) + v.hmmRangeFaultPerPteNs * r.hmmPages,
        ],
        ['thrashing throttle', r.throttleNs],
      ];
      // Summed in this order (not over phases) so that results stay bit-identical.
      const cpuNs =
        v.gpuFaultBatchFixedNs +
        v.gpuFaultPerPageNs * r.serviced +
        v.hmmRangeFaultCallNs * (r.hmmPages > 0 ? 1 : 0) +
        v.hmmRangeFaultPerPteNs * r.hmmPages +
        migrateNs +
        v.gpuEvictionPerPageNs * r.evictedPages +
        invNs +
        r.throttleNs;
      // The pass's invalidations return only when the devices stopped using the pages it moves.
      if (held) yield* sim.inflight.drain(held);
      const core = yield* p.cpus.acquire();
      const cpuStartNs = engine.now;
      yield cpuNs;
      p.cpus.release(core);
      g.m.faultCpuNs += cpuNs;
      const c0 = engine.now;
      // Evictions first (they free VRAM), then the copies in; both directions overlap.
      const sigs = r.transfers.map((t) => {
        if (t.dir === 'h2d') g.m.bytesToVram += t.bytes;
        else g.m.bytesToRam += t.bytes;
        return engine.spawn(p.copy(g, t), 'copy');
      });
      for (const sg of sigs) yield sg;
      if (held) sim.inflight.release(held);
      g.m.copyWaitNs += engine.now - c0;
      if (phases)
        metrics.event({
          t: bt0,
          kind: 'batch',
          gpu: g.cfg.name,
          faults: r.faults,
          uniquePages: r.uniquePages,
          pagesToVram: r.pagesToVram,
          evictedPages: r.evictedPages,
          hmmPages: r.hmmPages,
          cpuNs,
          cpuStartNs,
          core,
          phases: phases.filter((ph) => ph[1] > 0),
          endNs: engine.now,
          vramPages: g.dev.vramUsed,
          ramPages: p.kernel.alloc.used,
        });
    }
    g.m.stallNs += engine.now - t0;
    if (n === 0) break; // nothing could fault: defensive, never loops
  }
  if (peerBytes.size > 0) wm.computeNs += yield* peerCopies(sim, g, peerBytes, write);
  if (remoteBytes > 0) {
    wm.computeNs += yield* p.copy(g, { bytes: remoteBytes, dir: write ? 'd2h' : 'h2d' });
    g.m.remoteBytes += remoteBytes;
  }
  if (acc > 0) {
    wm.computeNs += acc;
    yield acc;
  }
  metrics.workloadEnded(w.name, engine.now);
}
