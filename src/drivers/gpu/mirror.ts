/**
 * One address space mirrored by the SVM GPU: its device page table, the mmu interval
 * notifier that keeps it coherent with the CPU page tables, and the mapping of a range into
 * it with hmm_range_fault under the notifier sequence protocol.
 *
 * Counterparts: nouveau's svmm (drivers/gpu/drm/nouveau/nouveau_svm.c:
 * nouveau_svmm_invalidate, nouveau_range_fault) and Xe's drm_gpusvm
 * (drivers/gpu/drm/drm_gpusvm.c: drm_gpusvm_notifier_invalidate, drm_gpusvm_range_get_pages),
 * following Documentation/mm/hmm.rst's driver loop (mmu_interval_read_begin,
 * hmm_range_fault, then mmu_interval_read_retry under the driver lock).
 * Deliberate difference: the device page table is the model's DeviceTable (device-table.ts);
 * one TLB invalidation is counted per notifier callback that removed something.
 */
import {
  EBUSY,
  HMM_PFN_HI_REQ_FAULT,
  HMM_PFN_HI_REQ_WRITE,
  HMM_PFN_HI_VALID,
  HMM_PFN_HI_WRITE,
  PAGE_SIZE,
} from '../../kernel/constants.js';
import { HmmRange, hmmRangeFault } from '../../kernel/hmm.js';
import type { Kernel } from '../../kernel/kernel.js';
import type { Mm } from '../../kernel/mm.js';
import {
  MmuIntervalNotifier,
  type MmuNotifierRange,
  mmuIntervalReadBegin,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
} from '../../kernel/mmu_notifier.js';
import { DeviceTable } from '../device-table.js';
import type { GpuDevice } from './device.js';
import type { BatchResult, GpuStats } from './types.js';

/** Device page table flags. */
export const PT_VALID = 1;
export const PT_WRITE = 2;

/** How many times mapRange retries hmm_range_fault on -EBUSY before giving up with -EBUSY. */
const MAP_RETRIES = 100;

/** One address space mirrored by the GPU (an SVM "VM"). */
export class GpuMirror {
  /** The device page table: flags PT_VALID | PT_WRITE. */
  readonly pt = new DeviceTable();
  readonly notifier: MmuIntervalNotifier;
  constructor(
    readonly gpu: GpuDevice,
    readonly mm: Mm,
    readonly start: number,
    readonly end: number,
  ) {
    this.notifier = new MmuIntervalNotifier(
      { invalidate: (sub, range, cur) => this.invalidate(sub, range, cur) },
      mm.notifiers,
    );
    mm.notifiers.insert(this.notifier, start, end - start);
  }

  /** The notifier callback: drop device mappings (own migrations are handled by the driver). */
  private invalidate(sub: MmuIntervalNotifier, range: MmuNotifierRange, cur: number): boolean {
    mmuIntervalSetSeq(sub, cur);
    // Unlike test_hmm, our own migrations invalidate too: the chunk is remapped right after,
    // and a page that fails to move must not keep a stale translation.
    const s = this.gpu.stats;
    s.invalidations++;
    const removed = this.pt.clear(Math.max(range.start, this.start), Math.min(range.end, this.end));
    if (removed > 0) {
      s.invalidatedPages += removed;
      s.tlbInvalidations++;
    }
    return true;
  }

  /** Visits every valid device mapping: (va, pfn, writable). */
  forEach(visit: (va: number, pfn: number, writable: boolean) => void): void {
    this.pt.forEach((va, pfn, fl) => {
      visit(va, pfn, (fl & PT_WRITE) !== 0);
    });
  }

  /** Whether the GPU can access va (with write permission if asked) without faulting. */
  translate(va: number, write: boolean): boolean {
    const f = this.pt.flags(va);
    return (f & PT_VALID) !== 0 && (!write || (f & PT_WRITE) !== 0);
  }

  /** The pfn the device page table maps at va (0 when none). */
  devicePfn(va: number): number {
    return this.pt.flags(va) ? this.pt.pfn(va) : 0;
  }

  remove(): void {
    this.mm.notifiers.remove(this.notifier);
    this.pt.clear(this.start, this.end);
  }
}

/** What mapRange needs of the device. */
export interface MapTarget {
  readonly k: Kernel;
  readonly owner: unknown;
  readonly stats: GpuStats;
  ownsVram(pfn: number): boolean;
}

/**
 * hmm_range_fault over [start, end) (faulting, and for write if asked) and program the device
 * page table under the driver lock. Returns 0, -EBUSY after MAP_RETRIES invalidated attempts,
 * or hmm_range_fault's error.
 */
export function mapRange(
  dev: MapTarget,
  m: GpuMirror,
  start: number,
  end: number,
  write: boolean,
  res: BatchResult,
): number {
  const range = new HmmRange(
    m.notifier,
    start,
    end,
    HMM_PFN_HI_REQ_FAULT | (write ? HMM_PFN_HI_REQ_WRITE : 0),
    0,
    dev.owner,
  );
  for (let tries = 0; tries < MAP_RETRIES; tries++) {
    range.notifierSeq = mmuIntervalReadBegin(m.notifier);
    const ret = hmmRangeFault(dev.k, m.mm, range);
    dev.stats.hmmCalls++;
    const n = (end - start) / PAGE_SIZE;
    dev.stats.hmmPages += n;
    res.hmmPages += n;
    if (ret === -EBUSY) {
      dev.stats.hmmRetries++;
      res.hmmRetries++;
      continue;
    }
    if (ret) return ret;
    // driver lock
    if (mmuIntervalReadRetry(m.notifier, range.notifierSeq)) {
      dev.stats.hmmRetries++;
      res.hmmRetries++;
      continue;
    }
    for (let i = 0; i < n; i++) {
      const hi = range.flags(i);
      if (!(hi & HMM_PFN_HI_VALID)) continue;
      const pfn = range.pfn(i);
      m.pt.set(start + i * PAGE_SIZE, pfn, PT_VALID | (hi & HMM_PFN_HI_WRITE ? PT_WRITE : 0));
      if (!dev.ownsVram(pfn)) dev.stats.remoteMapped++;
    }
    dev.stats.ptesWritten += n;
    return 0;
  }
  return -EBUSY;
}
