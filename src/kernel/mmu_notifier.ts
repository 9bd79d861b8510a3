/**
 * MMU interval notifiers and their collision-retry sequence protocol (mm/mmu_notifier.c:
 * mmu_interval_read_begin, mn_itree_inv_start_range, mn_itree_inv_end; docs/kernel-model.md,
 * "Notifiers"). The per-mm sequence starts at 2 and is even while no invalidation
 * overlapping an interval runs; a subscription's own sequence is always odd.
 */
import { EAGAIN, EOVERFLOW, MMU_NOTIFIER_RANGE_BLOCKABLE, type MmuNotifierEvent } from './constants.js';
import type { Mm } from './mm.js';
import { type KernelSteps, NOTIFIER_WAIT } from './wait.js';

export interface MmuNotifierRange {
  /** The mm's id. */
  mm: number;
  start: number;
  /** Exclusive. */
  end: number;
  flags: number;
  event: MmuNotifierEvent;
  /** Owner token (MMU_NOTIFY_MIGRATE / EXCLUSIVE); null when none. */
  owner: unknown;
}

export interface MmuIntervalNotifierOps {
  /**
   * Called at invalidate_range_start for an overlapping range. Must call
   * mmuIntervalSetSeq(sub, curSeq) under the driver lock and stop using every device mapping
   * in the range before returning true. Returns false only when it would have to sleep and
   * the range is not blockable.
   */
  invalidate(sub: MmuIntervalNotifier, range: MmuNotifierRange, curSeq: number): boolean;
}

export class MmuIntervalNotifier {
  /** Inclusive interval [start, last]. */
  start = 0;
  last = 0;
  invalidateSeq = 0;
  inTree = false;
  removed = false;
  constructor(
    readonly ops: MmuIntervalNotifierOps,
    readonly subs: MmuNotifierSubscriptions,
  ) {}
}

/** Observer of notifier traffic (metrics, traces, the race checker). */
export interface NotifierObserver {
  onInvalidateStart?(range: MmuNotifierRange, subscribers: number): void;
  onInvalidateEnd?(range: MmuNotifierRange): void;
}

/** Per-mm notifier state (struct mmu_notifier_subscriptions). */
export class MmuNotifierSubscriptions {
  invalidateSeq = 2;
  activeInvalidateRanges = 0;
  readonly itree: MmuIntervalNotifier[] = [];
  private readonly deferred: { sub: MmuIntervalNotifier; insert: boolean }[] = [];
  observer: NotifierObserver | null = null;

  constructor(readonly mmId: number) {}

  private overlapping(start: number, last: number): MmuIntervalNotifier[] {
    const out: MmuIntervalNotifier[] = [];
    for (const s of this.itree) if (s.start <= last && s.last >= start) out.push(s);
    return out;
  }

  /** True while an invalidation that hit an interval is running (the tree is frozen). */
  isInvalidating(): boolean {
    return (this.invalidateSeq & 1) === 1;
  }

  /**
   * mmu_notifier_invalidate_range_start: bumps the sequence to odd if an interval overlaps,
   * then calls every overlapping subscription. Returns 0, or -EAGAIN when a non-blockable
   * range was refused (the caller must then not change the page tables).
   */
  invalidateRangeStart(range: MmuNotifierRange): number {
    this.activeInvalidateRanges++;
    const hit = this.overlapping(range.start, range.end - 1);
    if (hit.length > 0) this.invalidateSeq |= 1;
    const curSeq = this.invalidateSeq;
    this.observer?.onInvalidateStart?.(range, hit.length);
    for (const sub of hit) {
      const ok = sub.ops.invalidate(sub, range, curSeq);
      if (!ok) {
        if (range.flags & MMU_NOTIFIER_RANGE_BLOCKABLE) {
          throw new Error('model bug: an interval notifier refused a blockable invalidation');
        }
        this.invalidateRangeEnd(range);
        return -EAGAIN;
      }
    }
    return 0;
  }

  /** mmu_notifier_invalidate_range_end. */
  invalidateRangeEnd(range: MmuNotifierRange): void {
    this.activeInvalidateRanges--;
    if (this.activeInvalidateRanges < 0) throw new Error('model bug: unbalanced invalidate_range_end');
    if (this.activeInvalidateRanges === 0 && this.isInvalidating()) {
      this.invalidateSeq++;
      // Apply deferred inserts and removes now that the tree may change.
      for (const d of this.deferred.splice(0)) {
        if (d.insert) {
          if (!d.sub.removed) {
            this.itree.push(d.sub);
            d.sub.inTree = true;
          }
        } else {
          this.removeFromTree(d.sub);
        }
      }
    }
    this.observer?.onInvalidateEnd?.(range);
  }

  private removeFromTree(sub: MmuIntervalNotifier): void {
    const i = this.itree.indexOf(sub);
    if (i >= 0) this.itree.splice(i, 1);
    sub.inTree = false;
  }

  /** mmu_interval_notifier_insert: 0 or -EOVERFLOW for an empty or wrapping interval. */
  insert(sub: MmuIntervalNotifier, start: number, length: number): number {
    if (length <= 0 || start + length - 1 < start) return -EOVERFLOW;
    sub.start = start;
    sub.last = start + length - 1;
    // A driver may insert the same subscription again after removing it (nouveau_svm_fault does,
    // once per fault batch): it is live again, so a deferred insert of it must be applied.
    sub.removed = false;
    if (this.activeInvalidateRanges > 0) {
      if (this.isInvalidating()) {
        this.deferred.push({ sub, insert: true });
      } else {
        this.invalidateSeq |= 1;
        this.itree.push(sub);
        sub.inTree = true;
      }
      // Treated as if the new range were being invalidated: read_begin waits for the end.
      sub.invalidateSeq = this.invalidateSeq;
    } else {
      sub.invalidateSeq = this.invalidateSeq - 1;
      this.itree.push(sub);
      sub.inTree = true;
    }
    return 0;
  }

  /**
   * mmu_interval_notifier_remove. In the kernel it sleeps until running callbacks finish;
   * the model's callbacks run to completion inside one step, so after this returns no callback
   * runs or will run.
   */
  remove(sub: MmuIntervalNotifier): void {
    sub.removed = true;
    if (this.isInvalidating()) {
      const d = this.deferred.findIndex((x) => x.sub === sub && x.insert);
      if (d >= 0) this.deferred.splice(d, 1);
      else if (sub.inTree) this.deferred.push({ sub, insert: false });
    } else {
      this.removeFromTree(sub);
    }
  }

  /** Whether `sub` would have to wait in read_begin (it collided with the running writer). */
  readBeginWouldWait(sub: MmuIntervalNotifier): boolean {
    return sub.invalidateSeq === this.invalidateSeq;
  }
}

/** mmu_interval_set_seq: called by invalidate() under the driver lock. */
export function mmuIntervalSetSeq(sub: MmuIntervalNotifier, curSeq: number): void {
  sub.invalidateSeq = curSeq;
}

/**
 * mmu_interval_read_begin as resumable steps: waits (yields NOTIFIER_WAIT)
 * while an invalidation that hit this interval is running, then returns the sequence to pass
 * to read_retry.
 */
export function* mmuIntervalReadBeginSteps(sub: MmuIntervalNotifier): KernelSteps {
  const s = sub.invalidateSeq;
  while (s === sub.subs.invalidateSeq) yield NOTIFIER_WAIT;
  return s;
}

/**
 * mmu_interval_read_begin for callers that cannot wait. In the sequential model nothing can
 * be mid-invalidation when a driver begins a read, so waiting would be a deadlock: a model bug.
 */
export function mmuIntervalReadBegin(sub: MmuIntervalNotifier): number {
  const s = sub.invalidateSeq;
  if (s === sub.subs.invalidateSeq) {
    throw new Error('model bug: mmu_interval_read_begin would wait forever (called inside an invalidation)');
  }
  return s;
}

/** mmu_interval_read_retry: true if the range was invalidated since read_begin (under the driver lock). */
export function mmuIntervalReadRetry(sub: MmuIntervalNotifier, seq: number): boolean {
  return sub.invalidateSeq !== seq;
}

/** mmu_interval_check_retry: the lockless hint used by hmm_range_fault. */
export function mmuIntervalCheckRetry(sub: MmuIntervalNotifier, seq: number): boolean {
  return sub.invalidateSeq !== seq;
}

/**
 * mmu_notifier_invalidate_range_start for [start, end) of mm (include/linux/mmu_notifier.h:
 * mmu_notifier_range_init + mmu_notifier_invalidate_range_start): a blockable range, returned
 * for notifyEnd.
 */
export function notify(
  mm: Mm,
  event: MmuNotifierEvent,
  start: number,
  end: number,
  owner: unknown = null,
): { mm: number; start: number; end: number; flags: number; event: MmuNotifierEvent; owner: unknown } {
  const range = { mm: mm.id, start, end, flags: MMU_NOTIFIER_RANGE_BLOCKABLE, event, owner };
  mm.notifiers.invalidateRangeStart(range);
  return range;
}

/** mmu_notifier_invalidate_range_end for a range notify() started. */
export function notifyEnd(mm: Mm, range: ReturnType<typeof notify>): void {
  mm.notifiers.invalidateRangeEnd(range);
}
