import * as h from '../src/index.js';

/** A toy device: what the fault handler below needs. */
export interface Device {
  kernel: h.Kernel;
  mm: h.Mm;
  /** The interval notifier covering the mirrored range. */
  sub: h.MmuIntervalNotifier;
  /** dev_private_owner of the device's own memory. */
  owner: unknown;
  /** The driver lock, taken by the fault path and by the notifier's invalidate(). */
  lock: { take(): void; release(): void };
  /** The device page table: virtual page number to pfn and permission. */
  pt: Map<number, { pfn: number; writable: boolean }>;
}

/** A device fault handler: mirror [start, end) into dev.pt (Documentation/mm/hmm.rst). */
export function deviceFault(dev: Device, start: number, end: number): number {
  const range = new h.HmmRange(dev.sub, start, end, h.HMM_PFN_HI_REQ_FAULT, 0, dev.owner);
  for (;;) {
    range.notifierSeq = h.mmuIntervalReadBegin(dev.sub); // sample the notifier sequence
    const ret = h.hmmRangeFault(dev.kernel, dev.mm, range); // under mmap_read_lock in Linux
    if (ret === -h.EBUSY) continue; // invalidated during the walk: try again
    if (ret !== 0) return ret; // -EFAULT or -EPERM: fail the device access
    dev.lock.take(); // the same lock dev.sub's invalidate() takes
    if (h.mmuIntervalReadRetry(dev.sub, range.notifierSeq)) {
      dev.lock.release(); // invalidated since read_begin: try again
      continue;
    }
    for (let i = 0; i < range.hmmPfns.length; i++) {
      const writable = (range.flags(i) & h.HMM_PFN_HI_WRITE) !== 0;
      dev.pt.set(start / h.PAGE_SIZE + i, { pfn: range.pfn(i), writable }); // program the device
    }
    dev.lock.release();
    return 0;
  }
}
