/**
 * Thrashing detection per 2 MiB VA block: a block that comes back to VRAM within a lapse of
 * its previous migration counts an event; enough consecutive events throttle the service (a
 * nap of one lapse); enough throttles pin the block in RAM, mapped remotely, for a while.
 *
 * Counterpart: nvidia-uvm's uvm_perf_thrashing.c (thrashing_lapse_usec, thrashing_threshold,
 * thrashing_pin_threshold, thrashing_pin_usec; its throttle and pin hints).
 * Deliberate difference: one history per VA block, not per page of the block.
 */
import { PMD_SIZE } from '../../kernel/constants.js';
import type { BatchResult, GpuOptions, GpuStats } from './types.js';

interface BlockHistory {
  lastIn: number;
  events: number;
  throttles: number;
  pinnedUntil: number;
}

export class ThrashingDetector {
  private readonly history = new Map<number, BlockHistory>();

  constructor(
    private readonly opts: GpuOptions,
    private readonly stats: GpuStats,
  ) {}

  /** VA blocks with a history. */
  get size(): number {
    return this.history.size;
  }

  /**
   * The VA block of va is serviced at time now: counts an event when the block comes back
   * within a lapse of its last migration, throttles at the threshold (adding the nap to
   * res.throttleNs), pins after enough throttles. Returns true while the block is pinned (do
   * not migrate it).
   */
  pinned(va: number, now: number, res: BatchResult): boolean {
    const lapse = this.opts.thrashingLapseNs ?? 500_000;
    const threshold = this.opts.thrashingThreshold ?? 3;
    const pinAfter = this.opts.thrashingPinThrottles ?? 10;
    const pinNs = this.opts.thrashingPinNs ?? 150_000_000;
    const key = Math.floor(va / PMD_SIZE);
    let h = this.history.get(key);
    if (!h) {
      h = { lastIn: -Infinity, events: 0, throttles: 0, pinnedUntil: -Infinity };
      this.history.set(key, h);
    }
    if (now < h.pinnedUntil) return true;
    if (now - h.lastIn <= lapse) {
      h.events++;
      this.stats.thrashingEvents++;
    } else h.events = 0;
    h.lastIn = now;
    if (h.events >= threshold) {
      h.events = 0;
      h.throttles++;
      this.stats.throttles++;
      res.throttleNs += lapse;
      if (h.throttles >= pinAfter) {
        h.throttles = 0;
        h.pinnedUntil = now + pinNs;
        this.stats.pinnedBlocks++;
        return true;
      }
    }
    return false;
  }
}
