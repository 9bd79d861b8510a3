/**
 * An RDMA NIC with On-Demand-Paging memory regions, modelled on ib_umem_odp and mlx5's ODP:
 * an MR mirrors a range of a process's address space in the NIC's translation table, filled
 * on NIC page faults with hmm_range_fault (REQ_FAULT, REQ_WRITE for writes into the MR) and
 * DMA mapping per page, and dropped on mmu interval notifier invalidations.
 *
 * How device-private pages of a GPU are reached depends on the P2P design the NIC is bound
 * to (src/designs/). When a page the design reported as P2P cannot be mapped (no P2P path,
 * pci_p2pdma map type NOT_SUPPORTED), the NIC falls back as the series proposed:
 * - 'rfc': clear ALLOW_P2P for the failing pfn only and fault it again (it migrates to RAM);
 * - 'v2':  fault the whole range again without P2P.
 */
import type { ClientBinding, P2pMapType } from '../designs/design.js';
import {
  EBUSY,
  EFAULT,
  HMM_PFN_HI_REQ_FAULT,
  HMM_PFN_HI_REQ_WRITE,
  HMM_PFN_HI_VALID,
  HMM_PFN_HI_WRITE,
  MEMORY_DEVICE_PCI_P2PDMA,
  PAGE_SIZE,
} from '../kernel/constants.js';
import { HmmRange, hmmRangeFault } from '../kernel/hmm.js';
import type { Kernel } from '../kernel/kernel.js';
import type { Mm } from '../kernel/mm.js';
import {
  MmuIntervalNotifier,
  type MmuNotifierRange,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
} from '../kernel/mmu_notifier.js';
import { DeviceTable } from './device-table.js';

/** What a NIC translation entry points at. */
export const NIC_HOST = 1;
export const NIC_P2P_BUS = 2;
export const NIC_P2P_HOST_BRIDGE = 3;
const NIC_WRITE = 4;

export interface RdmaOptions {
  name: string;
  /** What to do when a P2P page cannot be mapped (see the file comment). Default 'rfc'. */
  fallback?: 'rfc' | 'v2';
  /** The NIC supports ATS (PCIe Address Translation Services). */
  ats?: boolean;
  /** MRs are registered with relaxed ordering (IB_ACCESS_RELAXED_ORDERING). */
  relaxedOrdering?: boolean;
}

export interface RdmaStats {
  nicFaults: number;
  hmmCalls: number;
  hmmPages: number;
  hmmRetries: number;
  dmaMaps: number;
  dmaUnmaps: number;
  hostPages: number;
  p2pPages: number;
  /** Pages the fallback policy faulted again without P2P. */
  fallbackPages: number;
  fallbacks: number;
  invalidations: number;
  invalidatedPages: number;
}

/** An ODP memory region (ib_umem_odp). */
export class OdpMr {
  /** The translation table: flags are the kind (NIC_HOST, NIC_P2P_*) plus NIC_WRITE. */
  readonly table = new DeviceTable();
  readonly notifier: MmuIntervalNotifier;
  constructor(
    readonly nic: RdmaNic,
    readonly mm: Mm,
    readonly start: number,
    readonly end: number,
  ) {
    this.notifier = new MmuIntervalNotifier(
      { invalidate: (s, r, c) => this.invalidate(s, r, c) },
      mm.notifiers,
    );
    mm.notifiers.insert(this.notifier, start, end - start);
  }

  /** ib_umem_odp's invalidate: unmap and drop every translation in the range. */
  private invalidate(sub: MmuIntervalNotifier, range: MmuNotifierRange, cur: number): boolean {
    mmuIntervalSetSeq(sub, cur);
    const st = this.nic.stats;
    st.invalidations++;
    const n = this.table.clear(Math.max(range.start, this.start), Math.min(range.end, this.end));
    st.invalidatedPages += n;
    st.dmaUnmaps += n;
    return true;
  }

  /** The NIC's entry for va: kind (NIC_HOST, NIC_P2P_*), write bit, target pfn; null if none. */
  translate(va: number, write: boolean): { pfn: number; kind: number } | null {
    const fl = this.table.flags(va);
    if (!fl) return null;
    if (write && !(fl & NIC_WRITE)) return null;
    return { pfn: this.table.pfn(va), kind: fl & 3 };
  }

  /**
   * translate() without the object: the kind of va's entry (NIC_HOST, NIC_P2P_*), or 0 when
   * there is none (or it is read-only and `write` is asked). For per-page loops.
   */
  kindAt(va: number, write: boolean): number {
    const fl = this.table.flags(va);
    if (!fl || (write && !(fl & NIC_WRITE))) return 0;
    return fl & 3;
  }

  /** The target pfn of va's entry (meaningful only when kindAt(va, false) != 0). */
  pfnAt(va: number): number {
    return this.table.pfn(va);
  }

  /** Visits every translation: (va, pfn, kind without the write bit, writable). */
  forEach(visit: (va: number, pfn: number, kind: number, writable: boolean) => void): void {
    this.table.forEach((va, pfn, kind) => {
      visit(va, pfn, kind & 3, (kind & NIC_WRITE) !== 0);
    });
  }
}

/**
 * The RDMA NIC. `binding` says how device-private pages are handled (the P2P design);
 * `mapType(pfn)` gives the pci_p2pdma map type from the GPU owning a BAR pfn to this NIC.
 */
export class RdmaNic {
  readonly stats: RdmaStats = {
    nicFaults: 0,
    hmmCalls: 0,
    hmmPages: 0,
    hmmRetries: 0,
    dmaMaps: 0,
    dmaUnmaps: 0,
    hostPages: 0,
    p2pPages: 0,
    fallbackPages: 0,
    fallbacks: 0,
    invalidations: 0,
    invalidatedPages: 0,
  };
  readonly mrs: OdpMr[] = [];

  constructor(
    readonly k: Kernel,
    readonly opts: RdmaOptions,
    readonly binding: ClientBinding,
    readonly barMapType: (barPfn: number) => P2pMapType,
  ) {}

  get name(): string {
    return this.opts.name;
  }

  /** ATS is used only when the NIC has it and the MR uses relaxed ordering (the series' patch 5). */
  get atsEnabled(): boolean {
    return (this.opts.ats ?? false) && (this.opts.relaxedOrdering ?? false);
  }

  /** Model memory of the NIC, in bytes: its MRs' translation tables. */
  memoryBytes(): number {
    let n = 0;
    for (const mr of this.mrs) n += mr.table.memoryBytes();
    return n;
  }

  registerOdpMr(mm: Mm, start: number, length: number): OdpMr {
    const mr = new OdpMr(this, mm, start, start + length);
    this.mrs.push(mr);
    return mr;
  }

  /**
   * A NIC page fault over [start, end) (pagefault_real_mr / ib_umem_odp_map_dma_and_lock):
   * hmm_range_fault with the design's owner and hook, then DMA-map each page and program the
   * translation table under the notifier sequence check. Returns 0 or -errno (-EFAULT for an
   * address without a readable VMA, -EPERM for a write into a read-only one, -EBUSY after too
   * many invalidation retries).
   */
  pageFault(mr: OdpMr, start: number, end: number, write: boolean): number {
    this.stats.nicFaults++;
    let p2p = true;
    /** Pages that must be faulted again without P2P (the 'rfc' fallback). */
    for (let attempt = 0; attempt < 4; attempt++) {
      const r = this.faultOnce(mr, start, end, write, p2p);
      if (r.ret !== 0) return r.ret;
      if (r.failed.length === 0) return 0;
      this.stats.fallbacks++;
      if ((this.opts.fallback ?? 'rfc') === 'v2') {
        // v2: drop everything and fault the whole range again without P2P.
        p2p = false;
        this.stats.fallbackPages += (end - start) / PAGE_SIZE;
        continue;
      }
      // RFC: fault only the failing pages again, without P2P.
      for (const va of r.failed) {
        this.stats.fallbackPages++;
        const rr = this.faultOnce(mr, va, va + PAGE_SIZE, write, false);
        if (rr.ret !== 0) return rr.ret;
      }
      return 0;
    }
    return -EBUSY;
  }

  private faultOnce(
    mr: OdpMr,
    start: number,
    end: number,
    write: boolean,
    p2p: boolean,
  ): { ret: number; failed: number[] } {
    const k = this.k;
    const range = new HmmRange(
      mr.notifier,
      start,
      end,
      HMM_PFN_HI_REQ_FAULT | (write ? HMM_PFN_HI_REQ_WRITE : 0),
      0,
      p2p ? this.binding.owner : null,
    );
    range.p2p = p2p ? this.binding.hook : null;
    const n = (end - start) / PAGE_SIZE;
    for (let tries = 0; tries < 100; tries++) {
      range.notifierSeq = mmuIntervalReadBegin(mr.notifier);
      const ret = hmmRangeFault(k, mr.mm, range);
      this.stats.hmmCalls++;
      this.stats.hmmPages += n;
      if (ret === -EBUSY) {
        this.stats.hmmRetries++;
        continue;
      }
      if (ret) return { ret, failed: [] };
      // umem_mutex: map and program only if nothing was invalidated meanwhile.
      if (mmuIntervalReadRetry(mr.notifier, range.notifierSeq)) {
        this.stats.hmmRetries++;
        continue;
      }
      const failed: number[] = [];
      for (let i = 0; i < n; i++) {
        const hi = range.flags(i);
        if (!(hi & HMM_PFN_HI_VALID)) return { ret: -EFAULT, failed: [] };
        const va = start + i * PAGE_SIZE;
        const target = p2p ? this.binding.dmaTarget(range.pfn(i)) : range.pfn(i);
        if (target < 0) {
          failed.push(va);
          continue;
        }
        let kind = NIC_HOST;
        // A BAR alias page, or a BAR address the design resolved a device-private pfn to.
        const p2pTarget = target !== range.pfn(i) || k.pgmapOf(target)?.type === MEMORY_DEVICE_PCI_P2PDMA;
        if (p2pTarget) {
          const t = this.barMapType(target);
          if (t === 'NOT_SUPPORTED') {
            failed.push(va); // pci_p2pdma_state: the mapping fails
            continue;
          }
          kind = t === 'BUS_ADDR' ? NIC_P2P_BUS : NIC_P2P_HOST_BRIDGE;
          this.stats.p2pPages++;
        } else {
          this.stats.hostPages++;
        }
        this.stats.dmaMaps++;
        mr.table.set(va, target, kind | (hi & HMM_PFN_HI_WRITE ? NIC_WRITE : 0));
      }
      return { ret: 0, failed };
    }
    return { ret: -EBUSY, failed: [] };
  }
}
