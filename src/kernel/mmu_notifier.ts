/**
 * MMU interval notifiers and their collision-retry sequence protocol (mm/mmu_notifier.c:
 * mmu_interval_read_begin, mn_itree_inv_start_range, mn_itree_inv_end; docs/kernel-model.md,
 * "Notifiers"). The per-mm sequence starts at 2 and is even while no invalidation
 * overlapping an interval runs; a subscription's own sequence is always odd.
 *
 * An invalidation, mmu_interval_read_begin and mmu_interval_notifier_remove are resumable
 * steps (invalidateRangeStartSteps / notifySteps, mmuIntervalReadBeginSteps,
 * mmuIntervalNotifierRemoveSteps) that yield where Linux lets other threads run or sleeps, so
 * the race explorer can put another thread inside an invalidation; the sequential API
 * (notify, invalidateRangeStart, mmuIntervalReadBegin, remove) runs them to completion.
 */
import { EAGAIN, EOVERFLOW, MMU_NOTIFIER_RANGE_BLOCKABLE, type MmuNotifierEvent } from './constants.js';
import type { Mm } from './mm.js';
import type { InvalidateBoundary, KernelSteps, KernelYield, NotifierWait } from './wait.js';

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
   * range was refused (the caller must then not change the page tables). Runs
   * invalidateRangeStartSteps to completion.
   */
  invalidateRangeStart(range: MmuNotifierRange): number {
    return runToCompletion(this.invalidateRangeStartSteps(range));
  }

  /**
   * mmu_notifier_invalidate_range_start as resumable steps (mn_itree_inv_start_range, then
   * mn_itree_invalidate): the range is counted active and the sequence made odd if an interval
   * overlaps, then it yields `{ kind: 'invalidate', phase: 'start' }`; each overlapping
   * interval's invalidate() is called in its own step, followed by a `callback` yield. Other
   * threads may run at every yield, as in Linux, where each callback takes its driver's lock
   * and may sleep: an mmu_interval_read_begin there waits for the end if the interval has been
   * called back (its seq is the mm's), and returns at once if not (its callback, still to come,
   * makes its read_retry fail). The tree cannot change while the sequence is odd (inserts and
   * removes are deferred), so the overlapping intervals are those found at the start.
   * Returns as invalidateRangeStart.
   */
  *invalidateRangeStartSteps(range: MmuNotifierRange): KernelSteps {
    this.activeInvalidateRanges++;
    const hit = this.overlapping(range.start, range.end - 1);
    if (hit.length > 0) this.invalidateSeq |= 1;
    const curSeq = this.invalidateSeq;
    this.observer?.onInvalidateStart?.(range, hit.length);
    yield invalidateYield('start', 0, hit.length);
    for (let i = 0; i < hit.length; i++) {
      const sub = hit[i]!;
      const ok = sub.ops.invalidate(sub, range, curSeq);
      if (!ok) {
        if (range.flags & MMU_NOTIFIER_RANGE_BLOCKABLE) {
          throw new Error('model bug: an interval notifier refused a blockable invalidation');
        }
        this.invalidateRangeEnd(range);
        return -EAGAIN;
      }
      yield invalidateYield('callback', i + 1, hit.length);
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
   * mmu_interval_notifier_remove for callers that cannot sleep (the sequential model, where no
   * invalidation is ever half done when a driver removes its interval): takes the interval
   * out of the tree, or cancels its deferred insert. Removing an interval in the tree while
   * the sequence is odd must wait for the invalidation to end (mmuIntervalNotifierRemoveSteps):
   * here that would wait forever, so it is a model bug.
   */
  remove(sub: MmuIntervalNotifier): void {
    if (this.removeWouldWait(sub)) {
      throw new Error(
        'model bug: mmu_interval_notifier_remove would wait forever (called inside an invalidation; use mmuIntervalNotifierRemoveSteps)',
      );
    }
    this.removeStart(sub);
  }

  /** Whether removing `sub` now has to defer it and wait for the sequence to move on. */
  removeWouldWait(sub: MmuIntervalNotifier): boolean {
    return this.isInvalidating() && !this.deferred.some((x) => x.sub === sub && x.insert) && sub.inTree;
  }

  /**
   * The locked part of mmu_interval_notifier_remove: returns the sequence to wait out (the
   * removal was deferred to the end of the running invalidation), or 0 (done now).
   */
  removeStart(sub: MmuIntervalNotifier): number {
    sub.removed = true;
    if (this.isInvalidating()) {
      const d = this.deferred.findIndex((x) => x.sub === sub && x.insert);
      if (d >= 0) this.deferred.splice(d, 1);
      else if (sub.inTree) {
        this.deferred.push({ sub, insert: false });
        return this.invalidateSeq;
      }
    } else {
      this.removeFromTree(sub);
    }
    return 0;
  }

  /** Deferred inserts and removes waiting for the last range to end (for state digests). */
  deferredCount(): number {
    return this.deferred.length;
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
 * mmu_interval_read_begin as resumable steps: sleeps (yields a `notifier_wait`) while an
 * invalidation that has already called this interval back is running, until it ends, then
 * returns the sequence to pass to read_retry.
 */
export function* mmuIntervalReadBeginSteps(sub: MmuIntervalNotifier): KernelSteps {
  const s = sub.invalidateSeq;
  while (s === sub.subs.invalidateSeq) yield notifierWait('read_begin', sub.subs, s);
  return s;
}

/**
 * mmu_interval_notifier_remove as resumable steps (mm/mmu_notifier.c): when an invalidation
 * is running (the sequence is odd) and the interval is in the tree, the removal is deferred to
 * the end of it and the caller sleeps (a `notifier_wait`) until the sequence moves on, so once
 * it returns no callback of the interval runs or will run. Until then a callback may still
 * be called, a nested range's included, as in Linux. No wait when the interval is removed at
 * once or only its deferred insert is cancelled.
 */
export function* mmuIntervalNotifierRemoveSteps(sub: MmuIntervalNotifier): KernelSteps<void> {
  const seq = sub.subs.removeStart(sub);
  if (seq === 0) return;
  while (sub.subs.invalidateSeq === seq) yield notifierWait('remove', sub.subs, seq);
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

/** The range notify() started, to hand to notifyEnd. */
export type NotifyRange = MmuNotifierRange;

/**
 * mmu_notifier_invalidate_range_start for [start, end) of mm (include/linux/mmu_notifier.h:
 * mmu_notifier_range_init + mmu_notifier_invalidate_range_start): a blockable range, returned
 * for notifyEnd. Runs notifySteps to completion.
 */
export function notify(
  mm: Mm,
  event: MmuNotifierEvent,
  start: number,
  end: number,
  owner: unknown = null,
): NotifyRange {
  return runToCompletion(notifySteps(mm, event, start, end, owner));
}

/**
 * notify() as resumable steps (invalidateRangeStartSteps): the kernel operations an explorer
 * runs step by step (munmap, migrate_vma_setup) start their invalidation through it; the
 * caller changes the page tables and calls notifyEnd in the step after the last yield.
 */
export function* notifySteps(
  mm: Mm,
  event: MmuNotifierEvent,
  start: number,
  end: number,
  owner: unknown = null,
): KernelSteps<NotifyRange> {
  const range = { mm: mm.id, start, end, flags: MMU_NOTIFIER_RANGE_BLOCKABLE, event, owner };
  yield* mm.notifiers.invalidateRangeStartSteps(range);
  return range;
}

/** mmu_notifier_invalidate_range_end for a range notify() started. */
export function notifyEnd(mm: Mm, range: NotifyRange): void {
  mm.notifiers.invalidateRangeEnd(range);
}

/**
 * Runs resumable kernel steps to their end, ignoring the boundaries they yield: the
 * sequential model, where no other thread runs at a yield. A sleep on the notifier sequence
 * would never end there (nothing else can finish the invalidation): a model bug.
 */
export function runToCompletion<T>(g: Generator<KernelYield, T, void>): T {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
    if (r.value.kind === 'notifier_wait')
      throw new Error(`model bug: ${r.value.op} would wait forever for an invalidation to end`);
  }
}

function invalidateYield(phase: InvalidateBoundary['phase'], done: number, of: number): InvalidateBoundary {
  return { kind: 'invalidate', phase, done, of };
}

function notifierWait(op: NotifierWait['op'], subs: MmuNotifierSubscriptions, seq: number): NotifierWait {
  return { kind: 'notifier_wait', op, subs, seq };
}
