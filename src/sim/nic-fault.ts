/**
 * The NIC side of RDMA: an ODP page fault (kernel work now, CPU time charged on a core by
 * part, migrate_to_ram copies waited for) and the links a NIC DMA crosses to reach a page.
 *
 *   const ret = yield* nicFault(sim, nic, mr, start, end, write);   // 0 or a negative errno
 *   const path = nicPath(sim, nic, mr.translate(addr, write)!, write);
 *
 * Linux counterpart: drivers/infiniband/core/umem_odp.c (ib_umem_odp_map_dma_and_lock) over
 * hmm_range_fault, and the PCIe routing of the DMA (pci_p2pdma map types, ACS, ATS).
 * Deliberate difference: the fault's CPU time is computed from the work it counted (hmm pages,
 * design decisions, DMA maps, invalidations) and charged after the kernel work is done; the
 * state it changed stays invisible until then (inflight.ts: the folios it migrated to every
 * accessor, the MR entries it installed to the NIC's queue pairs).
 */
import type { OdpMr } from '../drivers/rdma.js';
import { PAGE_SIZE } from '../kernel/constants.js';
import type { SimContext } from './agent.js';
import type { Wait, Waitable } from './engine.js';
import type { Link } from './links.js';
import { migrateCostNs } from './migrate-cost.js';
import { barEnd, deviceEnd, ramEnd } from './pci-fabric.js';
import { type SimNic, takeQueuedCopies } from './platform.js';

/**
 * Whether a NIC's P2P traffic to a GPU can go straight through their common switch although
 * ACS redirects it upstream: with ATS (enabled only for relaxed-ordering MRs, the series'
 * patch 5) and a translating IOMMU, the NIC sends already-translated requests, which the
 * switch may route directly (ACS Direct Translated P2P).
 */
function atsDirect(sim: SimContext, n: SimNic, gpu: string): boolean {
  if (!n.nic.atsEnabled || sim.config.platform?.iommu !== 'translate') return false;
  const c = sim.platform.p2pCalc(gpu, n.nic.name);
  return c !== undefined && c.mapType === 'THRU_HOST_BRIDGE' && c.commonUpstream !== null;
}

/**
 * The links a NIC DMA to (`write`) or from the page behind translation `e` crosses, along the
 * PCI tree (Platform.route): kind 1 is host memory, 2 a BAR page reachable through a common
 * switch (BUS_ADDR), anything else a BAR page whose traffic goes up through the host bridge
 * (unless ATS lets the switch route it directly).
 */
export function nicPath(
  sim: SimContext,
  n: SimNic,
  e: { pfn: number; kind: number },
  write: boolean,
): Link[] {
  const p = sim.platform;
  const nic = deviceEnd(n.cfg.name);
  if (e.kind === 1) return write ? p.route(nic, ramEnd(0)) : p.route(ramEnd(0), nic);
  let gpu = p.gpuList[0]!;
  for (const g of p.gpuList) if (g.dev.vramPfnOfAlias(e.pfn) >= 0) gpu = g;
  const bar = barEnd(gpu.cfg.name);
  const thru = !(e.kind === 2 || atsDirect(sim, n, gpu.cfg.name));
  return write ? p.route(nic, bar, thru) : p.route(bar, nic, thru);
}

/**
 * A NIC page fault on [start, end) of `mr`: the driver's work now, then its CPU time on a core
 * (fault entry, hmm_range_fault, the design's P2P decisions, DMA mapping, invalidations and
 * migrate_to_ram), then the migrate_to_ram copies, which run concurrently. Returns the
 * driver's answer (0 or a negative errno); counts the CPU time in the NIC's metrics.
 */
export function* nicFault(
  sim: SimContext,
  n: SimNic,
  mr: OdpMr,
  start: number,
  end: number,
  write: boolean,
): Generator<Wait, number, unknown> {
  const { engine, platform: p, metrics, v } = sim;
  const design = p.design;
  const st = n.nic.stats;
  const before = { ...st };
  const dc = { ...design.counters };
  const gpuBefore = p.gpuList.map((g) => ({
    inv: g.dev.stats.invalidations,
    tlb: g.dev.stats.tlbInvalidations,
  }));
  const ret = n.nic.pageFault(mr, start, end, write);
  // Time before state: the folios the fault migrated, and the MR entries it installed (seen by
  // this NIC's other queue pairs), become visible when its CPU work and copies are done.
  const held = sim.inflight.hold({ mm: mr.mm.id, start, end, only: n.nic.name });
  let invNs = 0;
  p.gpuList.forEach((g, i) => {
    invNs += (g.dev.stats.invalidations - gpuBefore[i]!.inv) * v.mmuNotifierInvalidateNs;
    invNs += (g.dev.stats.tlbInvalidations - gpuBefore[i]!.tlb) * v.gpuTlbInvalidationNs;
  });
  const dma =
    v.dmaMapDirectPerPageNs + (sim.config.platform?.iommu === 'translate' ? v.dmaMapIommuPerPageNs : 0);
  const hmmNs =
    (st.hmmCalls - before.hmmCalls) * v.hmmRangeFaultCallNs +
    (st.hmmPages - before.hmmPages) * v.hmmRangeFaultPerPteNs;
  const designNs =
    (design.counters.callbacks - dc.callbacks) * v.driverCallbackPerPageNs +
    (design.counters.locks - dc.locks) * v.driverLockPerPageNs +
    (design.counters.mapTypeQueries - dc.mapTypeQueries) * v.p2pdmaMapTypeUncachedNs +
    (design.counters.p2pPages - dc.p2pPages) * v.p2pdmaMapTypeCachedNs;
  const dmaNs = (st.dmaMaps - before.dmaMaps) * dma;
  n.m.hmmNs += hmmNs;
  n.m.designNs += designNs;
  n.m.dmaNs += dmaNs;
  let cpuNs = v.cpuFaultEntryNs + hmmNs + designNs + dmaNs + invNs;
  let migrateNs = 0;
  // Device-private pages the fault pulled back to RAM (migrate_to_ram), charged with the
  // migration cost model as on every other path: per migrate_vma call and per entry (a 2 MiB
  // folio moved whole is one), the copies by their bytes.
  const queued = p.gpuList.map((g) => [g, takeQueuedCopies(g)] as const);
  for (const [, q] of queued) migrateNs += migrateCostNs(v, q.calls, q.entries, q.pages);
  // A test_hmm device's pages the fault pulled back: its device memory is RAM.
  const dm = p.takeDmirrorMigrations();
  migrateNs += migrateCostNs(v, dm.calls, dm.entries, dm.pages);
  cpuNs += migrateNs;
  const t0 = engine.now;
  // (Everything above is counted before the first yield, so no other agent's work is in it.)
  // The copies start once the devices have stopped using the pages (drain).
  yield* sim.inflight.drain(held);
  const copies: Waitable[] = [];
  for (const [g, q] of queued)
    for (const t of q.transfers) {
      g.m.bytesToRam += t.bytes;
      copies.push(engine.spawn(p.copy(g, t), 'copy'));
    }
  if (dm.pages > 0) copies.push(sim.fabric.transfer([p.hostMem[0], p.hostMem[1]], dm.pages * PAGE_SIZE, 0));
  const core = yield* p.cpus.acquire();
  const cpuStartNs = engine.now;
  yield cpuNs;
  p.cpus.release(core);
  for (const c of copies) yield c;
  sim.inflight.release(held);
  n.m.faultCpuNs += cpuNs;
  if (metrics.log) {
    // In the kernel, migrate_to_ram and the notifier invalidations it triggers run inside
    // hmm_range_fault; here they are shown after it, as separate spans of the same CPU time.
    const phases: [string, number][] = [
      ['fault entry', v.cpuFaultEntryNs],
      ['hmm_range_fault', hmmNs],
      ['migrate_to_ram', migrateNs],
      ['mmu notifier invalidations', invNs],
      ['P2P design', designNs],
      ['DMA map', dmaNs],
    ];
    metrics.event({
      t: t0,
      kind: 'nic_fault',
      nic: n.nic.name,
      pages: (end - start) / PAGE_SIZE,
      cpuNs,
      cpuStartNs,
      core,
      phases: phases.filter((ph) => ph[1] > 0),
      endNs: engine.now,
      ramPages: p.kernel.alloc.used,
      vramPages: p.vramByGpu(),
    });
  }
  return ret;
}
