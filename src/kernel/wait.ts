/**
 * What the kernel model's resumable steps yield: typed points where Linux drops a lock or
 * sleeps, for a scheduler (the race explorer's `kernelSteps`, src/explore/world.ts) to
 * interleave other agents at, without parsing strings.
 *
 * Linux counterparts: the page-table lock dropped between PMDs of a page walk
 * (walk_pmd_range in mm/pagewalk.c, hmm_vma_walk_pmd in mm/hmm.c), migration_entry_wait
 * (mm/migrate.c), the folio-lock sleep a device-private fault takes before it retries
 * (do_swap_page in mm/memory.c, with "mm: Fix a hmm_range_fault() livelock / starvation
 * problem"), mmu_interval_read_begin's and mmu_interval_notifier_remove's wait_event
 * (mm/mmu_notifier.c), the points of an invalidation where other threads run
 * (mmu_notifier_invalidate_range_start once the sequence is odd, each interval's
 * ops->invalidate in mn_itree_invalidate; the caller's page-table change and
 * mmu_notifier_invalidate_range_end follow) and mmap_read_lock / mmap_read_unlock
 * (include/linux/mmap_lock.h).
 *
 * Deliberate difference: Linux sleeps inside these calls; the model returns to its caller's
 * scheduler at each of them, which decides who runs next. The sequential API (hmmRangeFault,
 * the dmirror ioctls) runs the steps to completion and ignores what they yield.
 *
 * A leaf module: it imports nothing, so every kernel file and driver may use it.
 */

/** A sleep until the folio whose head is `pfn` is unlocked. */
export interface FolioLockedWait {
  /** A fault met a locked device-private folio (do_swap_page's trylock failed). */
  readonly kind: 'folio_locked';
  readonly pfn: number;
}

/** A sleep on a migration entry: until the folio under migration (head `pfn`) is unlocked. */
export interface MigrationEntryWait {
  readonly kind: 'migration_entry';
  readonly pfn: number;
}

/** A lock boundary without a sleep: the caller's scheduler may run others, then resumes it. */
export interface KernelBoundary {
  readonly kind:
    | 'pmd_unlock' // the page-table lock is dropped between two PMDs of hmm_range_fault's walk
    | 'fault_retry' // hmm_vma_fault returned -EBUSY: the walk restarts after re-checking the notifier
    | 'walk_retry' // the walk returned -EBUSY with no folio to sleep on: it restarts at once
    | 'mmap_read_lock'
    | 'mmap_read_unlock';
}

/**
 * A sleep in mm/mmu_notifier.c's `wait_event(subscriptions->wq, invalidate_seq != seq)`: until
 * the mm's invalidate_seq moves on from `seq`, which mn_itree_inv_end does when the last
 * running invalidation ends. `op` says who sleeps: mmu_interval_read_begin on an interval an
 * invalidation has already called back, or mmu_interval_notifier_remove that had to defer
 * its removal.
 */
export interface NotifierWait {
  readonly kind: 'notifier_wait';
  readonly op: 'read_begin' | 'remove';
  /** The mm's notifier state (MmuNotifierSubscriptions), read for its invalidate_seq. */
  readonly subs: { readonly invalidateSeq: number };
  readonly seq: number;
}

/**
 * A point inside an invalidation (mmu_notifier_invalidate_range_start) where other threads
 * run: `start` once the range is active and the sequence odd (mn_itree_inv_start_range), before
 * any callback; `callback` after the `done`-th of `of` overlapping intervals' invalidate()
 * returned (mn_itree_invalidate; each runs under its driver's lock, so it is atomic). The
 * caller's page-table change and mmu_notifier_invalidate_range_end come in the step after.
 */
export interface InvalidateBoundary {
  readonly kind: 'invalidate';
  readonly phase: 'start' | 'callback';
  /** Callbacks run so far (0 at `start`). */
  readonly done: number;
  /** Overlapping intervals the range calls back. */
  readonly of: number;
}

/** One yield of a resumable kernel or driver step. */
export type KernelYield =
  | FolioLockedWait
  | MigrationEntryWait
  | NotifierWait
  | InvalidateBoundary
  | KernelBoundary;

/** Resumable kernel steps: yield KernelYields, return an errno-style number. */
export type KernelSteps<T = number> = Generator<KernelYield, T, void>;

// The boundaries carry no data: one frozen object each, so a yield allocates nothing.
export const PMD_UNLOCK: KernelBoundary = Object.freeze({ kind: 'pmd_unlock' });
export const FAULT_RETRY: KernelBoundary = Object.freeze({ kind: 'fault_retry' });
export const WALK_RETRY: KernelBoundary = Object.freeze({ kind: 'walk_retry' });
export const MMAP_READ_LOCK: KernelBoundary = Object.freeze({ kind: 'mmap_read_lock' });
export const MMAP_READ_UNLOCK: KernelBoundary = Object.freeze({ kind: 'mmap_read_unlock' });

/**
 * The name of a yield in timelines, schedules and state hashes: the Linux function it stands
 * for (`hmm_walk_pmd_unlock`, `folio_wait_locked`, `migration_entry_wait`, ...). These names are
 * part of the explorer's outputs; changing one changes every stored exploration.
 */
export function kernelYieldName(y: KernelYield): string {
  switch (y.kind) {
    case 'folio_locked':
      return 'folio_wait_locked';
    case 'migration_entry':
    case 'walk_retry':
      return 'migration_entry_wait';
    case 'pmd_unlock':
      return 'hmm_walk_pmd_unlock';
    case 'fault_retry':
      return 'hmm_fault_done';
    case 'notifier_wait':
      return y.op === 'read_begin' ? 'mmu_interval_read_begin_wait' : 'mmu_interval_notifier_remove_wait';
    case 'invalidate':
      return y.phase === 'start'
        ? 'mmu_notifier_invalidate_range_start'
        : `mn_itree_invalidate ${y.done}/${y.of}`;
    case 'mmap_read_lock':
      return 'mmap_read_lock';
    case 'mmap_read_unlock':
      return 'mmap_read_unlock';
  }
}

/**
 * For a yield that sleeps until the mm's invalidate_seq changes (`notifier_wait`): the
 * condition that wakes it; null for any other yield.
 */
export function kernelYieldSeqReleased(y: KernelYield): (() => boolean) | null {
  if (y.kind !== 'notifier_wait') return null;
  const { subs, seq } = y;
  return () => subs.invalidateSeq !== seq;
}

/** The folio head a yield sleeps on until it is unlocked, or -1 when it does not sleep. */
export function kernelYieldSleepsOn(y: KernelYield): number {
  return y.kind === 'folio_locked' || y.kind === 'migration_entry' ? y.pfn : -1;
}

/**
 * Filled by handle_mm_fault when it returns VM_FAULT_RETRY because the fault met a locked
 * device-private folio and would sleep on its lock (do_swap_page's
 * softleaf_entry_wait_on_locked, with Kernel.fixes.hmmWaitOnLockedFolio): the folio's head.
 * The caller owns it and passes it down; Linux sleeps inside the fault instead.
 */
export interface FaultWait {
  folio: number;
}
