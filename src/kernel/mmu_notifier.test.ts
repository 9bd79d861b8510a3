/**
 * The interval-notifier protocol of mm/mmu_notifier.c, tested directly against the model.
 *
 * Each test names the Linux function whose rule it checks. The rules, in short:
 * - the per-mm `invalidate_seq` starts at 2 (__mmu_notifier_register), is made odd by an
 *   invalidation that finds an overlapping interval (mn_itree_inv_start_range: `seq |= 1`),
 *   and is made even again only when the last active range ends (mn_itree_inv_end:
 *   `--active_invalidate_ranges` must reach 0 first, then `seq++`);
 * - every overlapping interval's `invalidate()` is handed that odd value as `cur_seq`, read
 *   after the sequence was made odd (mn_itree_inv_start_range returns it through `*seq`,
 *   mn_itree_invalidate passes it on), and stores it with mmu_interval_set_seq;
 * - mmu_interval_read_begin sleeps while the interval's own seq equals the mm's seq, until the
 *   mm's seq changes; mmu_interval_read_retry / mmu_interval_check_retry are `seq != sub seq`;
 * - inserts and removes while the sequence is odd go to `deferred_list`, which mn_itree_inv_end
 *   applies when it makes the sequence even (__mmu_interval_notifier_insert,
 *   mmu_interval_notifier_remove);
 * - a callback that refuses a non-blockable range makes mn_itree_invalidate end its own part
 *   (mn_itree_inv_end) and return -EAGAIN; the caller then does not call range_end.
 *
 * - an invalidation is resumable steps (invalidateRangeStartSteps, notifySteps): other threads
 *   run after the start and after each callback, as they do in Linux, where each callback takes
 *   its driver's lock and may sleep;
 * - mmu_interval_notifier_remove sleeps, when it had to defer the removal, until the sequence
 *   moves on (`wait_event(subscriptions->wq, mmu_interval_seq_released(subscriptions, seq))`),
 *   so once it returns no callback runs again (mmuIntervalNotifierRemoveSteps); the sequential
 *   remove, which cannot sleep, refuses to be called where it would.
 */
import { describe, expect, it } from 'vitest';
import {
  EAGAIN,
  EOVERFLOW,
  MMU_NOTIFIER_RANGE_BLOCKABLE,
  MMU_NOTIFY_CLEAR,
  MMU_NOTIFY_UNMAP,
} from './constants.js';
import { Mm } from './mm.js';
import {
  MmuIntervalNotifier,
  type MmuNotifierRange,
  MmuNotifierSubscriptions,
  mmuIntervalCheckRetry,
  mmuIntervalNotifierRemoveSteps,
  mmuIntervalReadBegin,
  mmuIntervalReadBeginSteps,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
  type NotifierObserver,
  notify,
  notifyEnd,
  notifySteps,
  runToCompletion,
} from './mmu_notifier.js';
import type { KernelYield, NotifierWait } from './wait.js';

const PAGE = 0x1000;

/** What one invalidate() callback saw when it ran. */
interface Call {
  name: string;
  curSeq: number;
  /** The mm's invalidate_seq at the time of the call. */
  mmSeq: number;
  /** The subscription's own seq before the callback stored cur_seq. */
  subSeqBefore: number;
  blockable: boolean;
}

/**
 * A subscription whose callback records what it saw, then does what a driver's invalidate
 * does (mmu_interval_set_seq with cur_seq, return true), or refuses when `refuse(range)` says so
 * (as a driver that would have to sleep on a non-blockable range: it returns false before
 * touching its seq).
 */
function subscriber(
  subs: MmuNotifierSubscriptions,
  name: string,
  log: Call[],
  refuse: (r: MmuNotifierRange) => boolean = () => false,
): MmuIntervalNotifier {
  return new MmuIntervalNotifier(
    {
      invalidate(sub, r, curSeq) {
        log.push({
          name,
          curSeq,
          mmSeq: subs.invalidateSeq,
          subSeqBefore: sub.invalidateSeq,
          blockable: (r.flags & MMU_NOTIFIER_RANGE_BLOCKABLE) !== 0,
        });
        if (refuse(r)) return false;
        mmuIntervalSetSeq(sub, curSeq);
        return true;
      },
    },
    subs,
  );
}

function range(start: number, end: number, blockable = true): MmuNotifierRange {
  return {
    mm: 1,
    start,
    end,
    flags: blockable ? MMU_NOTIFIER_RANGE_BLOCKABLE : 0,
    event: MMU_NOTIFY_CLEAR,
    owner: null,
  };
}

/** A fresh mm's subscriptions with one interval over [start, start + length). */
function withOne(start = 0x10 * PAGE, length = 4 * PAGE) {
  const subs = new MmuNotifierSubscriptions(1);
  const log: Call[] = [];
  const a = subscriber(subs, 'a', log);
  expect(subs.insert(a, start, length)).toBe(0);
  return { subs, log, a, start, end: start + length };
}

const names = (log: Call[]) => log.map((c) => c.name);

/** The sleep of read_begin or remove until the mm's sequence moves on from `seq`. */
function sleep(
  subs: MmuNotifierSubscriptions,
  seq: number,
  op: NotifierWait['op'] = 'read_begin',
): NotifierWait {
  return { kind: 'notifier_wait', op, subs, seq };
}

describe('invalidate_seq parity (mn_itree_inv_start_range, mn_itree_inv_end)', () => {
  it('starts at 2 and even, like __mmu_notifier_register leaves it', () => {
    const subs = new MmuNotifierSubscriptions(7);
    expect(subs.invalidateSeq).toBe(2);
    expect(subs.isInvalidating()).toBe(false);
    expect(subs.activeInvalidateRanges).toBe(0);
  });

  it('is odd while an invalidation that hits an interval runs and even once it ends', () => {
    // mn_itree_inv_start_range: `seq |= 1` when the tree has an overlapping node;
    // mn_itree_inv_end: `seq++` when the last range ends.
    const { subs, start, end } = withOne();
    const r = range(start, end);
    expect(subs.invalidateRangeStart(r)).toBe(0);
    expect(subs.invalidateSeq % 2).toBe(1);
    expect(subs.isInvalidating()).toBe(true);
    expect(subs.activeInvalidateRanges).toBe(1);
    subs.invalidateRangeEnd(r);
    expect(subs.invalidateSeq % 2).toBe(0);
    expect(subs.isInvalidating()).toBe(false);
    expect(subs.activeInvalidateRanges).toBe(0);
    // Each writer section moves the sequence forward: 2 -> 3 -> 4.
    expect(subs.invalidateSeq).toBe(4);
  });

  it('stays even for an invalidation that overlaps no interval (partially excluded) and calls nobody', () => {
    // mn_itree_inv_start_range only sets the odd bit when interval_tree_iter_first finds a
    // node; the range still counts in active_invalidate_ranges.
    const { subs, log, a, end } = withOne();
    const before = a.invalidateSeq;
    const r = range(end, end + PAGE); // [end, end + PAGE) starts where the interval stops
    expect(subs.invalidateRangeStart(r)).toBe(0);
    expect(subs.invalidateSeq).toBe(2);
    expect(subs.isInvalidating()).toBe(false);
    expect(subs.activeInvalidateRanges).toBe(1);
    expect(log).toEqual([]);
    subs.invalidateRangeEnd(r);
    expect(subs.invalidateSeq).toBe(2);
    expect(subs.activeInvalidateRanges).toBe(0);
    expect(a.invalidateSeq).toBe(before);
  });

  it('takes the range end as exclusive and the interval last byte as inclusive', () => {
    // mn_itree_inv_start_range searches [range->start, range->end - 1]; the interval tree
    // stores [start, start + length - 1] (__mmu_interval_notifier_insert).
    const { subs, log, start, end } = withOne();
    const below = range(start - PAGE, start); // ends exactly where the interval begins
    subs.invalidateRangeStart(below);
    subs.invalidateRangeEnd(below);
    expect(log).toEqual([]);
    const firstByte = range(start - PAGE, start + 1);
    subs.invalidateRangeStart(firstByte);
    subs.invalidateRangeEnd(firstByte);
    const lastByte = range(end - 1, end + PAGE);
    subs.invalidateRangeStart(lastByte);
    subs.invalidateRangeEnd(lastByte);
    expect(names(log)).toEqual(['a', 'a']);
  });
});

describe('cur_seq handed to the callbacks (mn_itree_invalidate, mmu_interval_set_seq)', () => {
  it('bug (a): every overlapping callback gets the odd in-progress sequence as cur_seq, set before it runs', () => {
    // mn_itree_inv_start_range makes the sequence odd and only then copies it to *seq;
    // mn_itree_invalidate hands that value to each ops->invalidate. A cur_seq read before the
    // odd bit is set would be the idle (even) value, which read_begin can never wait on.
    const subs = new MmuNotifierSubscriptions(1);
    const log: Call[] = [];
    const a = subscriber(subs, 'a', log);
    const b = subscriber(subs, 'b', log);
    const far = subscriber(subs, 'far', log);
    subs.insert(a, 0, 2 * PAGE);
    subs.insert(b, PAGE, 2 * PAGE);
    subs.insert(far, 100 * PAGE, PAGE);
    const farSeq = far.invalidateSeq;

    const r = range(0, 3 * PAGE);
    expect(subs.invalidateRangeStart(r)).toBe(0);
    expect(names(log).sort()).toEqual(['a', 'b']);
    for (const c of log) {
      expect(c.curSeq % 2).toBe(1);
      expect(c.curSeq).toBe(3);
      // The mm was already in the odd (writing) state when the callback ran.
      expect(c.mmSeq).toBe(c.curSeq);
      expect(c.subSeqBefore).not.toBe(c.curSeq);
    }
    // mmu_interval_set_seq stored it: both subscriptions now collide with the running writer.
    expect(a.invalidateSeq).toBe(subs.invalidateSeq);
    expect(b.invalidateSeq).toBe(subs.invalidateSeq);
    expect(subs.readBeginWouldWait(a)).toBe(true);
    expect(subs.readBeginWouldWait(b)).toBe(true);
    // The interval that does not overlap is neither called nor changed.
    expect(far.invalidateSeq).toBe(farSeq);
    expect(subs.readBeginWouldWait(far)).toBe(false);
    subs.invalidateRangeEnd(r);
  });

  it('gives nested invalidations the same odd cur_seq (seq |= 1 is idempotent)', () => {
    // A second mn_itree_inv_start_range while the sequence is already odd leaves it as is.
    const { subs, log, start, end } = withOne();
    const r1 = range(start, end);
    const r2 = range(start, start + PAGE);
    subs.invalidateRangeStart(r1);
    subs.invalidateRangeStart(r2);
    expect(log.map((c) => c.curSeq)).toEqual([3, 3]);
    subs.invalidateRangeEnd(r2);
    subs.invalidateRangeEnd(r1);
    // The next writer section gets the next odd value.
    const r3 = range(start, end);
    subs.invalidateRangeStart(r3);
    expect(log[2]!.curSeq).toBe(5);
    subs.invalidateRangeEnd(r3);
  });
});

describe('nested and concurrent invalidations (mn_itree_inv_end, active_invalidate_ranges)', () => {
  it('bug (b): the sequence becomes even only when the last of two nested invalidations ends', () => {
    // mn_itree_inv_end returns early while --active_invalidate_ranges is non-zero; only the
    // last end performs seq++ (and wakes read_begin sleepers).
    const { subs, a, start, end } = withOne();
    const outer = range(start, end);
    const inner = range(start + PAGE, start + 2 * PAGE);
    subs.invalidateRangeStart(outer);
    subs.invalidateRangeStart(inner);
    expect(subs.activeInvalidateRanges).toBe(2);
    const odd = subs.invalidateSeq;
    expect(odd % 2).toBe(1);

    subs.invalidateRangeEnd(inner);
    expect(subs.activeInvalidateRanges).toBe(1);
    expect(subs.invalidateSeq).toBe(odd);
    expect(subs.isInvalidating()).toBe(true);
    expect(subs.readBeginWouldWait(a)).toBe(true);

    subs.invalidateRangeEnd(outer);
    expect(subs.activeInvalidateRanges).toBe(0);
    expect(subs.invalidateSeq).toBe(odd + 1);
    expect(subs.isInvalidating()).toBe(false);
    expect(subs.readBeginWouldWait(a)).toBe(false);
  });

  it('bug (b), other order: the outer range ending first still leaves the inner one writing', () => {
    // Ranges run in parallel on several CPUs, so ends need not nest; only the count matters.
    const { subs, a, start, end } = withOne();
    const first = range(start, end);
    const second = range(start, end);
    subs.invalidateRangeStart(first);
    subs.invalidateRangeStart(second);
    subs.invalidateRangeEnd(first);
    expect(subs.isInvalidating()).toBe(true);
    expect(subs.readBeginWouldWait(a)).toBe(true);
    subs.invalidateRangeEnd(second);
    expect(subs.isInvalidating()).toBe(false);
  });

  it('keeps the sequence odd when a hitting range starts inside one that hit nothing, until both end', () => {
    // The outer range counted in active_invalidate_ranges without setting the odd bit; the
    // inner one sets it; the inner end is not the last, so mn_itree_inv_end returns early.
    const { subs, a, start, end } = withOne();
    const miss = range(end + PAGE, end + 2 * PAGE);
    const hit = range(start, end);
    subs.invalidateRangeStart(miss);
    expect(subs.isInvalidating()).toBe(false);
    subs.invalidateRangeStart(hit);
    expect(subs.isInvalidating()).toBe(true);
    subs.invalidateRangeEnd(hit);
    expect(subs.isInvalidating()).toBe(true);
    expect(subs.readBeginWouldWait(a)).toBe(true);
    subs.invalidateRangeEnd(miss);
    expect(subs.isInvalidating()).toBe(false);
    expect(subs.invalidateSeq).toBe(4);
  });

  it('refuses an end without a start (a model bug, not an errno)', () => {
    const subs = new MmuNotifierSubscriptions(1);
    expect(() => subs.invalidateRangeEnd(range(0, PAGE))).toThrow(/unbalanced/);
  });
});

describe('read side (mmu_interval_read_begin, mmu_interval_read_retry, mmu_interval_check_retry)', () => {
  it('read_begin outside any invalidation returns the interval seq at once, and read_retry is false', () => {
    const { subs, a } = withOne();
    expect(subs.readBeginWouldWait(a)).toBe(false);
    const steps = mmuIntervalReadBeginSteps(a);
    const first = steps.next();
    expect(first.done).toBe(true);
    expect(first.value).toBe(a.invalidateSeq);
    const seq = mmuIntervalReadBegin(a);
    expect(seq).toBe(a.invalidateSeq);
    expect(mmuIntervalReadRetry(a, seq)).toBe(false);
    expect(mmuIntervalCheckRetry(a, seq)).toBe(false);
  });

  it('read_begin during an invalidation of its interval waits until the last range ends', () => {
    // mmu_interval_read_begin: is_invalidating = (sub seq == mm seq); then
    // wait_event(mm seq != seq). The model yields a notifier_wait for each sleep.
    const { subs, a, start, end } = withOne();
    const outer = range(start, end);
    const inner = range(start, end);
    subs.invalidateRangeStart(outer);
    subs.invalidateRangeStart(inner);
    const steps = mmuIntervalReadBeginSteps(a);
    expect(steps.next()).toEqual({ done: false, value: sleep(subs, 3) });
    subs.invalidateRangeEnd(inner);
    // Still writing: it sleeps on.
    expect(steps.next()).toEqual({ done: false, value: sleep(subs, 3) });
    subs.invalidateRangeEnd(outer);
    const done = steps.next();
    expect(done.done).toBe(true);
    // It returns the seq read before sleeping: the cur_seq of the invalidation it waited out,
    // which is what the interval still holds, so the section that follows is valid.
    expect(done.value).toBe(3);
    expect(mmuIntervalReadRetry(a, done.value as number)).toBe(false);
  });

  it('the sequential read_begin refuses to wait forever inside an invalidation of its interval', () => {
    const { subs, a, start, end } = withOne();
    const r = range(start, end);
    subs.invalidateRangeStart(r);
    expect(() => mmuIntervalReadBegin(a)).toThrow(/wait forever/);
    subs.invalidateRangeEnd(r);
    expect(mmuIntervalReadBegin(a)).toBe(a.invalidateSeq);
  });

  it('read_begin does not wait for an invalidation that missed its interval', () => {
    // The interval's seq still holds an older value, so it differs from the mm's odd seq.
    const subs = new MmuNotifierSubscriptions(1);
    const log: Call[] = [];
    const a = subscriber(subs, 'a', log);
    const b = subscriber(subs, 'b', log);
    subs.insert(a, 0, PAGE);
    subs.insert(b, 10 * PAGE, PAGE);
    const r = range(10 * PAGE, 11 * PAGE);
    subs.invalidateRangeStart(r);
    expect(subs.isInvalidating()).toBe(true);
    expect(subs.readBeginWouldWait(a)).toBe(false);
    expect(mmuIntervalReadBeginSteps(a).next().done).toBe(true);
    expect(subs.readBeginWouldWait(b)).toBe(true);
    subs.invalidateRangeEnd(r);
  });

  it('read_retry and check_retry are true for a seq taken before an invalidation of the interval', () => {
    // mmu_interval_read_retry / mmu_interval_check_retry: sub seq != seq. The callback's
    // mmu_interval_set_seq changes the interval's seq, so the collision shows already while
    // the invalidation runs, and stays after it ends.
    const { subs, a, start, end } = withOne();
    const seq = mmuIntervalReadBegin(a);
    const r = range(start + PAGE, start + 2 * PAGE);
    subs.invalidateRangeStart(r);
    expect(mmuIntervalCheckRetry(a, seq)).toBe(true);
    expect(mmuIntervalReadRetry(a, seq)).toBe(true);
    subs.invalidateRangeEnd(r);
    expect(mmuIntervalReadRetry(a, seq)).toBe(true);
    expect(mmuIntervalCheckRetry(a, seq)).toBe(true);
    // A fresh read section after the end is valid until the next invalidation.
    const again = mmuIntervalReadBegin(a);
    expect(mmuIntervalReadRetry(a, again)).toBe(false);
    const r2 = range(start, end);
    subs.invalidateRangeStart(r2);
    subs.invalidateRangeEnd(r2);
    expect(mmuIntervalReadRetry(a, again)).toBe(true);
  });

  it('read_retry is false for a seq taken before an invalidation that missed the interval', () => {
    const { subs, a, end } = withOne();
    const seq = mmuIntervalReadBegin(a);
    const r = range(end, end + PAGE);
    subs.invalidateRangeStart(r);
    subs.invalidateRangeEnd(r);
    expect(mmuIntervalReadRetry(a, seq)).toBe(false);
    expect(mmuIntervalCheckRetry(a, seq)).toBe(false);
  });

  it('every writer section gives the interval a new odd seq, so no old read section passes', () => {
    const { subs, a, start, end } = withOne();
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) {
      const seq = mmuIntervalReadBegin(a);
      seen.push(seq);
      const r = range(start, end);
      subs.invalidateRangeStart(r);
      subs.invalidateRangeEnd(r);
      for (const old of seen) expect(mmuIntervalReadRetry(a, old)).toBe(true);
    }
    expect(new Set(seen).size).toBe(3);
    for (const s of seen) expect(s % 2).toBe(1);
  });
});

describe('insert and remove (__mmu_interval_notifier_insert, mmu_interval_notifier_remove)', () => {
  it('insert with no invalidation running puts the interval in the tree with an odd seq below the mm seq', () => {
    // __mmu_interval_notifier_insert, idle case: sub seq = mm seq - 1.
    const subs = new MmuNotifierSubscriptions(1);
    const a = subscriber(subs, 'a', []);
    expect(subs.insert(a, 3 * PAGE, 2 * PAGE)).toBe(0);
    expect(a.start).toBe(3 * PAGE);
    expect(a.last).toBe(5 * PAGE - 1);
    expect(a.inTree).toBe(true);
    expect(subs.itree).toContain(a);
    expect(a.invalidateSeq).toBe(subs.invalidateSeq - 1);
    expect(a.invalidateSeq % 2).toBe(1);
    expect(subs.readBeginWouldWait(a)).toBe(false);
  });

  it('insert of an empty interval fails with -EOVERFLOW and leaves the tree alone', () => {
    // __mmu_interval_notifier_insert: length == 0 (or start + length - 1 overflowing).
    const subs = new MmuNotifierSubscriptions(1);
    const a = subscriber(subs, 'a', []);
    expect(subs.insert(a, PAGE, 0)).toBe(-EOVERFLOW);
    expect(a.inTree).toBe(false);
    expect(subs.itree).toEqual([]);
  });

  it('insert while the tree is frozen is deferred to the last range end (deferred_list)', () => {
    const { subs, log, start, end } = withOne();
    const r = range(start, end);
    subs.invalidateRangeStart(r);
    const late = subscriber(subs, 'late', log);
    expect(subs.insert(late, start, PAGE)).toBe(0);
    // Not in the tree yet: the tree may not change while the sequence is odd.
    expect(late.inTree).toBe(false);
    expect(subs.itree).not.toContain(late);
    // The new interval is treated as being invalidated: read_begin on it waits.
    expect(late.invalidateSeq).toBe(subs.invalidateSeq);
    expect(subs.readBeginWouldWait(late)).toBe(true);
    // A nested invalidation over it does not reach it (it is not in the tree).
    const nested = range(start, start + PAGE);
    subs.invalidateRangeStart(nested);
    subs.invalidateRangeEnd(nested);
    expect(names(log)).toEqual(['a', 'a']);
    expect(late.inTree).toBe(false);

    subs.invalidateRangeEnd(r);
    // mn_itree_inv_end made the sequence even and applied the deferred insert.
    expect(late.inTree).toBe(true);
    expect(subs.itree).toContain(late);
    expect(subs.readBeginWouldWait(late)).toBe(false);
    const r2 = range(start, start + PAGE);
    subs.invalidateRangeStart(r2);
    subs.invalidateRangeEnd(r2);
    expect(names(log).slice(2).sort()).toEqual(['a', 'late']);
  });

  it('insert while ranges run but none hit an interval goes in at once and makes the sequence odd', () => {
    // __mmu_interval_notifier_insert, partially excluded case: seq |= 1, insert into the
    // tree, sub seq = the odd seq, so read_begin waits for the running ranges to end.
    const { subs, end } = withOne();
    const miss = range(end + 10 * PAGE, end + 11 * PAGE);
    subs.invalidateRangeStart(miss);
    expect(subs.isInvalidating()).toBe(false);
    const late = subscriber(subs, 'late', []);
    subs.insert(late, end + 10 * PAGE, PAGE);
    expect(late.inTree).toBe(true);
    expect(subs.isInvalidating()).toBe(true);
    expect(late.invalidateSeq).toBe(subs.invalidateSeq);
    const steps = mmuIntervalReadBeginSteps(late);
    expect(steps.next().value).toEqual(sleep(subs, subs.invalidateSeq));
    subs.invalidateRangeEnd(miss);
    expect(subs.isInvalidating()).toBe(false);
    expect(steps.next().done).toBe(true);
  });

  it('remove while the tree is frozen is deferred: the interval leaves the tree at the last range end', () => {
    // mmu_interval_notifier_remove, odd case: queue on deferred_list; mn_itree_inv_end
    // removes it from the tree when it makes the sequence even. The remover sleeps until then.
    const { subs, log, a, start, end } = withOne();
    const outer = range(start, end);
    const inner = range(start, end);
    subs.invalidateRangeStart(outer);
    subs.invalidateRangeStart(inner);
    const rm = mmuIntervalNotifierRemoveSteps(a);
    expect(rm.next()).toEqual({ done: false, value: sleep(subs, 3, 'remove') });
    expect(a.inTree).toBe(true);
    expect(subs.itree).toContain(a);
    subs.invalidateRangeEnd(inner);
    expect(a.inTree).toBe(true);
    expect(rm.next().done).toBe(false);
    subs.invalidateRangeEnd(outer);
    expect(a.inTree).toBe(false);
    expect(subs.itree).not.toContain(a);
    expect(rm.next().done).toBe(true);
    const after = range(start, end);
    subs.invalidateRangeStart(after);
    subs.invalidateRangeEnd(after);
    expect(names(log)).toEqual(['a', 'a']);
    // With no interval left, the later range did not make the sequence odd: 2 -> 3 -> 4 only.
    expect(subs.invalidateSeq).toBe(4);
  });

  it('remove sleeps until the invalidation ends; until it returns a nested range still calls the interval, after it none', () => {
    // mmu_interval_notifier_remove: `if (seq) wait_event(subscriptions->wq,
    // mmu_interval_seq_released(subscriptions, seq))`, so a caller may free the interval once it
    // returns. Before that the interval is still in the tree and mn_itree_invalidate of a range
    // that starts meanwhile calls it, as in Linux.
    const { subs, log, a, start, end } = withOne();
    const outer = range(start, end);
    subs.invalidateRangeStart(outer);
    const rm = mmuIntervalNotifierRemoveSteps(a);
    expect(rm.next().value).toEqual(sleep(subs, 3, 'remove'));
    const nested = range(start, start + PAGE);
    subs.invalidateRangeStart(nested);
    expect(names(log)).toEqual(['a', 'a']);
    subs.invalidateRangeEnd(nested);
    expect(rm.next().done).toBe(false);
    subs.invalidateRangeEnd(outer);
    expect(rm.next().done).toBe(true);
    const later = range(start, end);
    subs.invalidateRangeStart(later);
    subs.invalidateRangeEnd(later);
    expect(names(log)).toEqual(['a', 'a']);
  });

  it('the sequential remove refuses to wait forever inside an invalidation, and does not wait where Linux does not', () => {
    const { subs, a, start, end } = withOne();
    const r = range(start, end);
    subs.invalidateRangeStart(r);
    expect(subs.removeWouldWait(a)).toBe(true);
    expect(() => subs.remove(a)).toThrow(/would wait forever/);
    expect(a.inTree).toBe(true);
    expect(a.removed).toBe(false);
    // Cancelling a deferred insert does not wait (the interval never was in the tree).
    const late = subscriber(subs, 'late', []);
    subs.insert(late, start, PAGE);
    expect(subs.removeWouldWait(late)).toBe(false);
    const rm = mmuIntervalNotifierRemoveSteps(late);
    expect(rm.next().done).toBe(true);
    subs.invalidateRangeEnd(r);
    expect(late.inTree).toBe(false);
    subs.remove(a);
    expect(subs.itree).toEqual([]);
  });

  it('remove of an interval whose insert was deferred cancels the insert', () => {
    // mmu_interval_notifier_remove: the node is not in the tree yet, so it only comes off
    // deferred_list.
    const { subs, log, start, end } = withOne();
    const r = range(start, end);
    subs.invalidateRangeStart(r);
    const late = subscriber(subs, 'late', log);
    subs.insert(late, start, PAGE);
    subs.remove(late);
    subs.invalidateRangeEnd(r);
    expect(late.inTree).toBe(false);
    expect(subs.itree).not.toContain(late);
    const r2 = range(start, end);
    subs.invalidateRangeStart(r2);
    subs.invalidateRangeEnd(r2);
    expect(names(log)).toEqual(['a', 'a']);
  });

  it('remove cancels only its own deferred insert: the others queued before it still go in', () => {
    // mmu_interval_notifier_remove takes its own node off deferred_list, no other.
    const { subs, log, start, end } = withOne();
    const r = range(start, end);
    subs.invalidateRangeStart(r);
    const first = subscriber(subs, 'first', log);
    const second = subscriber(subs, 'second', log);
    subs.insert(first, start, PAGE);
    subs.insert(second, start + PAGE, PAGE);
    subs.remove(second);
    subs.invalidateRangeEnd(r);
    expect(first.inTree).toBe(true);
    expect(second.inTree).toBe(false);
    expect(subs.itree).toEqual(expect.arrayContaining([first]));
    expect(subs.itree).not.toContain(second);
    const r2 = range(start, end);
    subs.invalidateRangeStart(r2);
    subs.invalidateRangeEnd(r2);
    expect(names(log).slice(1).sort()).toEqual(['a', 'first']);
  });

  it('a subscription removed and inserted again goes back into the tree, also by a deferred insert', () => {
    // The struct belongs to the driver and may be reused: nouveau_svm_fault inserts, faults and
    // removes one on-stack notifier per fault batch. __mmu_interval_notifier_insert sets it up
    // afresh each time, so a deferred insert of a once-removed subscription is applied by
    // mn_itree_inv_end like any other.
    const { subs, log, start, end } = withOne();
    const again = subscriber(subs, 'again', log);
    subs.insert(again, start, PAGE);
    subs.remove(again);
    expect(again.inTree).toBe(false);
    const r = range(start, end);
    subs.invalidateRangeStart(r);
    subs.insert(again, start, PAGE);
    expect(again.inTree).toBe(false);
    subs.invalidateRangeEnd(r);
    expect(again.inTree).toBe(true);
    expect(subs.itree.filter((s) => s === again)).toHaveLength(1);
  });

  it('insert, remove and insert again while the tree is frozen leave the subscription in the tree once', () => {
    // The remove cancels the first deferred insert (hlist_del in mmu_interval_notifier_remove);
    // only the second one is applied at the end.
    const { subs, log, start, end } = withOne();
    const r = range(start, end);
    subs.invalidateRangeStart(r);
    const twice = subscriber(subs, 'twice', log);
    subs.insert(twice, start, PAGE);
    subs.remove(twice);
    subs.insert(twice, start, PAGE);
    subs.invalidateRangeEnd(r);
    expect(subs.itree.filter((s) => s === twice)).toHaveLength(1);
    const r2 = range(start, start + PAGE);
    subs.invalidateRangeStart(r2);
    subs.invalidateRangeEnd(r2);
    expect(names(log).slice(1).sort()).toEqual(['a', 'twice']);
  });

  it('remove with no invalidation running takes the interval out at once', () => {
    const { subs, log, a, start, end } = withOne();
    subs.remove(a);
    expect(a.inTree).toBe(false);
    expect(subs.itree).toEqual([]);
    const r = range(start, end);
    subs.invalidateRangeStart(r);
    expect(subs.isInvalidating()).toBe(false);
    subs.invalidateRangeEnd(r);
    expect(log).toEqual([]);
  });

  it('remove while ranges run but the sequence is even takes the interval out at once', () => {
    // mmu_interval_notifier_remove tests mn_itree_is_invalidating, not the active count.
    const { subs, a, end } = withOne();
    const miss = range(end, end + PAGE);
    subs.invalidateRangeStart(miss);
    subs.remove(a);
    expect(a.inTree).toBe(false);
    subs.invalidateRangeEnd(miss);
    expect(subs.itree).toEqual([]);
  });
});

describe('non-blockable ranges (mn_itree_invalidate, out_would_block)', () => {
  it('a callback refusing a non-blockable range makes the start return -EAGAIN and end that range itself', () => {
    // mn_itree_invalidate: !ret on a non-blockable range -> mn_itree_inv_end, return -EAGAIN,
    // and the intervals after the refusing one are not called.
    const subs = new MmuNotifierSubscriptions(1);
    const log: Call[] = [];
    const first = subscriber(subs, 'first', log);
    const refuser = subscriber(subs, 'refuser', log, (r) => (r.flags & MMU_NOTIFIER_RANGE_BLOCKABLE) === 0);
    const last = subscriber(subs, 'last', log);
    subs.insert(first, 0, PAGE);
    subs.insert(refuser, PAGE, PAGE);
    subs.insert(last, 2 * PAGE, PAGE);
    const seqFirst = mmuIntervalReadBegin(first);
    const seqLast = mmuIntervalReadBegin(last);
    const ends: MmuNotifierRange[] = [];
    subs.observer = { onInvalidateEnd: (r) => ends.push(r) };

    const r = range(0, 3 * PAGE, false);
    expect(subs.invalidateRangeStart(r)).toBe(-EAGAIN);
    expect(names(log)).toEqual(['first', 'refuser']);
    expect(log.every((c) => !c.blockable)).toBe(true);
    // Its own range is over: nothing active, the sequence even again, the end reported once.
    expect(subs.activeInvalidateRanges).toBe(0);
    expect(subs.isInvalidating()).toBe(false);
    expect(subs.invalidateSeq).toBe(4);
    expect(ends).toEqual([r]);
    // The interval called before the refusal saw the invalidation; the one never called did not.
    expect(mmuIntervalReadRetry(first, seqFirst)).toBe(true);
    expect(mmuIntervalReadRetry(last, seqLast)).toBe(false);
    // The caller must not call range_end after -EAGAIN; doing so is unbalanced.
    expect(() => subs.invalidateRangeEnd(r)).toThrow(/unbalanced/);
  });

  it('the same range, blockable, is accepted by every callback and returns 0', () => {
    const subs = new MmuNotifierSubscriptions(1);
    const log: Call[] = [];
    const refuser = subscriber(subs, 'refuser', log, (r) => (r.flags & MMU_NOTIFIER_RANGE_BLOCKABLE) === 0);
    subs.insert(refuser, 0, PAGE);
    const r = range(0, PAGE, true);
    expect(subs.invalidateRangeStart(r)).toBe(0);
    expect(subs.isInvalidating()).toBe(true);
    expect(subs.activeInvalidateRanges).toBe(1);
    subs.invalidateRangeEnd(r);
    expect(subs.isInvalidating()).toBe(false);
  });

  it('a refused non-blockable range nested in another ends only its own part', () => {
    const { subs, a, start, end } = withOne();
    const refuser = subscriber(subs, 'refuser', [], (r) => (r.flags & MMU_NOTIFIER_RANGE_BLOCKABLE) === 0);
    subs.insert(refuser, end + PAGE, PAGE);
    const outer = range(start, end);
    subs.invalidateRangeStart(outer);
    const odd = subs.invalidateSeq;
    expect(subs.invalidateRangeStart(range(end + PAGE, end + 2 * PAGE, false))).toBe(-EAGAIN);
    expect(subs.activeInvalidateRanges).toBe(1);
    expect(subs.invalidateSeq).toBe(odd);
    expect(subs.readBeginWouldWait(a)).toBe(true);
    subs.invalidateRangeEnd(outer);
    expect(subs.invalidateSeq).toBe(odd + 1);
  });

  it('the end done on -EAGAIN applies the deferred list when it is the last range', () => {
    const subs = new MmuNotifierSubscriptions(1);
    const late = subscriber(subs, 'late', []);
    const refuser = new MmuIntervalNotifier(
      {
        // A driver that must sleep, and inserts another interval before giving up.
        invalidate: () => {
          subs.insert(late, 5 * PAGE, PAGE);
          return false;
        },
      },
      subs,
    );
    subs.insert(refuser, 0, PAGE);
    expect(subs.invalidateRangeStart(range(0, PAGE, false))).toBe(-EAGAIN);
    expect(late.inTree).toBe(true);
    expect(subs.isInvalidating()).toBe(false);
  });

  it('a callback refusing a blockable range is a model bug (Linux: WARN_ON, then carries on)', () => {
    // Deliberate difference: mn_itree_invalidate WARNs and continues with the next interval;
    // the model treats a driver that refuses a blockable range as a bug in the model and throws.
    const subs = new MmuNotifierSubscriptions(1);
    const bad = subscriber(subs, 'bad', [], () => true);
    subs.insert(bad, 0, PAGE);
    expect(() => subs.invalidateRangeStart(range(0, PAGE, true))).toThrow(/refused a blockable/);
  });
});

describe('notify / notifyEnd (mmu_notifier_range_init + invalidate_range_start/end) and observers', () => {
  it('notify starts a blockable range on the mm and notifyEnd ends it; the observer sees both', () => {
    const mm = new Mm(9);
    const log: Call[] = [];
    const a = subscriber(mm.notifiers, 'a', log);
    const b = subscriber(mm.notifiers, 'b', log);
    mm.notifiers.insert(a, 0, 4 * PAGE);
    mm.notifiers.insert(b, 8 * PAGE, PAGE);
    const starts: [MmuNotifierRange, number][] = [];
    const ends: MmuNotifierRange[] = [];
    const observer: NotifierObserver = {
      onInvalidateStart: (r, n) => starts.push([r, n]),
      onInvalidateEnd: (r) => ends.push(r),
    };
    mm.notifiers.observer = observer;
    const owner = {};
    const r = notify(mm, MMU_NOTIFY_UNMAP, PAGE, 2 * PAGE, owner);
    expect(r).toEqual({
      mm: 9,
      start: PAGE,
      end: 2 * PAGE,
      flags: MMU_NOTIFIER_RANGE_BLOCKABLE,
      event: MMU_NOTIFY_UNMAP,
      owner,
    });
    expect(mm.notifiers.isInvalidating()).toBe(true);
    expect(names(log)).toEqual(['a']);
    expect(log[0]!.blockable).toBe(true);
    expect(starts).toEqual([[r, 1]]);
    expect(ends).toEqual([]);
    notifyEnd(mm, r);
    expect(ends).toEqual([r]);
    expect(mm.notifiers.isInvalidating()).toBe(false);
    expect(mm.notifiers.activeInvalidateRanges).toBe(0);
  });
});

describe('an invalidation as steps (mn_itree_inv_start_range, mn_itree_invalidate, mn_itree_inv_end)', () => {
  /** Runs steps until the next yield; returns it (or null when they returned). */
  function next<T>(g: Generator<KernelYield, T, void>): KernelYield | null {
    const r = g.next();
    return r.done ? null : r.value;
  }

  it('yields once the range is active and the sequence odd, before any callback, then after each callback', () => {
    const subs = new MmuNotifierSubscriptions(1);
    const log: Call[] = [];
    const a = subscriber(subs, 'a', log);
    const b = subscriber(subs, 'b', log);
    subs.insert(a, 0, 2 * PAGE);
    subs.insert(b, PAGE, 2 * PAGE);
    const g = subs.invalidateRangeStartSteps(range(0, 4 * PAGE));
    expect(next(g)).toEqual({ kind: 'invalidate', phase: 'start', done: 0, of: 2 });
    expect(subs.activeInvalidateRanges).toBe(1);
    expect(subs.invalidateSeq).toBe(3);
    expect(log).toEqual([]);
    expect(next(g)).toEqual({ kind: 'invalidate', phase: 'callback', done: 1, of: 2 });
    expect(names(log)).toEqual(['a']);
    expect(next(g)).toEqual({ kind: 'invalidate', phase: 'callback', done: 2, of: 2 });
    expect(names(log)).toEqual(['a', 'b']);
    const r = g.next();
    expect(r).toEqual({ done: true, value: 0 });
    // The end is the caller's, in its next step.
    expect(subs.isInvalidating()).toBe(true);
    subs.invalidateRangeEnd(range(0, 4 * PAGE));
    expect(subs.invalidateSeq).toBe(4);
  });

  it('read_begin between the start and the callback returns at once, and the callback then fails its read_retry', () => {
    // The diagram above mmu_interval_read_begin in mm/mmu_notifier.c: a reader that sampled the
    // interval's seq before ops->invalidate() ran must see mmu_interval_read_retry() == true.
    const { subs, a, start, end } = withOne();
    const g = subs.invalidateRangeStartSteps(range(start, end));
    next(g);
    expect(subs.readBeginWouldWait(a)).toBe(false);
    const rb = mmuIntervalReadBeginSteps(a);
    const first = rb.next();
    expect(first.done).toBe(true);
    const seq = first.value as number;
    next(g);
    expect(mmuIntervalReadRetry(a, seq)).toBe(true);
    expect(g.next().done).toBe(true);
    subs.invalidateRangeEnd(range(start, end));
  });

  it('read_begin after the callback sleeps until the end; the seq it returns then passes read_retry', () => {
    const { subs, a, start, end } = withOne();
    const r = range(start, end);
    const g = subs.invalidateRangeStartSteps(r);
    next(g);
    next(g);
    const rb = mmuIntervalReadBeginSteps(a);
    expect(rb.next()).toEqual({ done: false, value: sleep(subs, 3) });
    expect(g.next().done).toBe(true);
    expect(rb.next()).toEqual({ done: false, value: sleep(subs, 3) });
    subs.invalidateRangeEnd(r);
    const done = rb.next();
    expect(done).toEqual({ done: true, value: 3 });
    expect(mmuIntervalReadRetry(a, 3)).toBe(false);
  });

  it('a refused non-blockable range ends its own part in the callback step and returns -EAGAIN', () => {
    const subs = new MmuNotifierSubscriptions(1);
    const no = subscriber(subs, 'no', [], () => true);
    subs.insert(no, 0, PAGE);
    const g = subs.invalidateRangeStartSteps(range(0, PAGE, false));
    expect(next(g)).toMatchObject({ phase: 'start' });
    expect(g.next()).toEqual({ done: true, value: -EAGAIN });
    expect(subs.activeInvalidateRanges).toBe(0);
    expect(subs.isInvalidating()).toBe(false);
  });

  it('notifySteps run to completion is notify; runToCompletion refuses a sleep that nothing could end', () => {
    const mm = new Mm(3);
    const log: Call[] = [];
    mm.notifiers.insert(subscriber(mm.notifiers, 'a', log), 0, PAGE);
    const r = runToCompletion(notifySteps(mm, MMU_NOTIFY_UNMAP, 0, PAGE));
    expect(r).toEqual({
      mm: 3,
      start: 0,
      end: PAGE,
      flags: MMU_NOTIFIER_RANGE_BLOCKABLE,
      event: MMU_NOTIFY_UNMAP,
      owner: null,
    });
    expect(names(log)).toEqual(['a']);
    const sub = mm.notifiers.itree[0]!;
    expect(() => runToCompletion(mmuIntervalReadBeginSteps(sub))).toThrow(/read_begin would wait forever/);
    expect(() => runToCompletion(mmuIntervalNotifierRemoveSteps(sub))).toThrow(/remove would wait forever/);
    notifyEnd(mm, r);
  });
});
