/**
 * Access-counter placement: pages stay in RAM, mapped remotely, until a region has had enough
 * remote accesses; then the next fault on the notified page migrates it.
 *
 * Counterpart: nvidia-uvm's access counters (uvm_gpu_access_counters.c: the counter
 * notification per granularity region, uvm_perf_access_counter_threshold, and the migration
 * its service starts). Deliberate difference: counting is done by the simulator's GPU
 * workload calling `note`, not by hardware; the notification only marks the page, and the
 * migration happens on the next service of that address.
 */
import { PAGE_SIZE, PMD_SIZE } from '../../kernel/constants.js';
import type { GpuMirror } from './mirror.js';
import type { GpuOptions } from './types.js';

export class AccessCounters {
  /** Remote accesses per region. */
  private readonly counts = new Map<number, number>();
  /** Page addresses whose next service must migrate (access-counter notifications). */
  readonly forceMigrate = new Set<number>();

  constructor(private readonly opts: GpuOptions) {}

  /** Regions with a count. */
  get size(): number {
    return this.counts.size;
  }

  /**
   * A GPU access to a remotely mapped page: counts it for its region; when the region crosses
   * the threshold, marks the page for migration, drops its remote mapping (so that the next
   * access faults) and returns true.
   */
  note(m: GpuMirror, va: number): boolean {
    const gran = this.opts.accessCounterGranularityBytes ?? PMD_SIZE;
    const key = Math.floor(va / gran);
    const c = (this.counts.get(key) ?? 0) + 1;
    if (c >= (this.opts.accessCounterThreshold ?? 256)) {
      this.counts.delete(key);
      const page = Math.floor(va / PAGE_SIZE) * PAGE_SIZE;
      this.forceMigrate.add(page);
      // Drop the remote mapping so that the next access faults and migrates.
      m.pt.clear(page, page + PAGE_SIZE);
      return true;
    }
    this.counts.set(key, c);
    return false;
  }
}
