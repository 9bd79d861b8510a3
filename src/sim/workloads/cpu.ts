/**
 * A CPU workload: one user thread walking a buffer with loads or stores. A touch of a page the
 * CPU maps costs `nsPerPage`; any other goes through the kernel's fault path (userTouch), and
 * the fault is charged on a CPU core: entry, the device invalidations it caused (a write to a
 * mirrored page) and the migrate_to_ram of pages it pulled back from VRAM, whose copies the
 * thread waits for. Fault-free work is yielded in chunks of CHUNK pages.
 *
 *   workloads: [{ kind: 'cpu', name: 'c0', buffer: 'b', op: 'write', pattern: 'sequential' }]
 *
 * Linux counterpart: a user thread's loads and stores, handle_mm_fault and, for a
 * device-private page, dev_pagemap_ops.migrate_to_ram. Deliberate difference: the thread is
 * not preempted; its fault handling queues for one of the CPU pool's cores.
 */
import { PAGE_SIZE } from '../../kernel/constants.js';
import { userTouch } from '../../kernel/memory.js';
import type { SimAgent, SimContext } from '../agent.js';
import type { CpuWorkload } from '../config.js';
import { CHUNK, cpuMapped, pfnAt } from './access.js';
import { openStream } from './stream.js';

/** The agent of CPU workload `w`. */
export function cpuWorkload(sim: SimContext, w: CpuWorkload): SimAgent {
  return { name: w.name, after: w.after, startNs: w.start, run: () => run(sim, w) };
}

function* run(sim: SimContext, w: CpuWorkload) {
  const { engine, platform: p, metrics, v } = sim;
  const k = p.kernel;
  const { b, pages, next, wm, write } = openStream(sim, w);
  const perPage = w.nsPerPage ?? 100;
  let acc = 0;
  for (let pass = 0; pass < (w.passes ?? 1); pass++) {
    for (let i = 0; i < pages; i++) {
      const addr = b.addr + next(i) * PAGE_SIZE;
      wm.pagesTouched++;
      // A folio another operation is still migrating: the access meets its migration entry and
      // waits (migration_entry_wait) before it looks again.
      if (sim.inflight.blocking(b.mm.id, addr, addr + PAGE_SIZE, w.name))
        yield* sim.inflight.waitClear(b.mm.id, addr, addr + PAGE_SIZE, w.name);
      if (cpuMapped(b.mm, addr, write)) {
        if (write) k.frames.fill(pfnAt(b.mm, addr), (i + pass) & 0x7fffffff);
        acc += perPage;
      } else {
        // A page fault: entry cost plus whatever the fault moved (migrate_to_ram copies).
        const inv0 = p.gpuInvalidations();
        userTouch(k, b.mm, addr, write, (i + pass) & 0x7fffffff);
        const held = sim.inflight.pending ? sim.inflight.hold() : null;
        wm.cpuFaults++;
        // The fault, plus the device invalidations it caused (a write to a mirrored page)
        // and the migrate_to_ram copies of pages it pulled back from VRAM.
        // (The invalidations are counted before the copies: other work runs while they wait.)
        const invNs = p.invalidationNsSince(inv0);
        const back = yield* p.migratedToRam(held ? () => sim.inflight.drain(held) : undefined);
        const ns = v.cpuFaultEntryNs + invNs + back.cpuNs;
        acc += back.waitNs;
        const core = yield* p.cpus.acquire();
        yield ns;
        p.cpus.release(core);
        if (held) sim.inflight.release(held);
        wm.faultNs += ns;
        if (metrics.log)
          metrics.event({
            t: engine.now - ns,
            kind: 'cpu_fault',
            workload: w.name,
            pages: 1,
            cpuNs: ns,
            core,
            phases: (
              [
                ['fault entry', v.cpuFaultEntryNs],
                ['mmu notifier invalidations', invNs],
                ['migrate_to_ram', back.cpuNs],
              ] as [string, number][]
            ).filter((ph) => ph[1] > 0),
            ramPages: k.alloc.used,
            vramPages: p.vramByGpu(),
          });
        acc += perPage;
      }
      if (acc > 0 && wm.pagesTouched % CHUNK === 0) {
        wm.computeNs += acc;
        yield acc;
        acc = 0;
      }
    }
  }
  if (acc > 0) {
    wm.computeNs += acc;
    yield acc;
  }
  metrics.workloadEnded(w.name, engine.now);
}
