/**
 * What the kernel model's resumable steps yield: typed points where Linux drops a lock or
 * sleeps, for a scheduler (the race explorer's `kernelSteps`, src/explore/world.ts) to
 * interleave other agents at, without parsing strings.
 *
 * Linux counterparts: the page-table lock dropped between PMDs of a page walk
 * (walk_pmd_range in mm/pagewalk.c, hmm_vma_walk_pmd in mm/hmm.c), migration_entry_wait
 * (mm/migrate.c), the folio-lock sleep a device-private fault takes before it retries
 * (do_swap_page in mm/memory.c, with "mm: Fix a hmm_range_fault() livelock / starvation
 * problem"), mmu_interval_read_begin's wait_event (mm/mmu_notifier.c) and mmap_read_lock /
 * mmap_read_unlock (include/linux/mmap_lock.h).
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
    | 'notifier_wait' // mmu_interval_read_begin waits while an invalidation of the interval runs
    | 'mmap_read_lock'
    | 'mmap_read_unlock';
}

/** One yield of a resumable kernel or driver step. */
export type KernelYield = FolioLockedWait | MigrationEntryWait | KernelBoundary;

/** Resumable kernel steps: yield KernelYields, return an errno-style number. */
export type KernelSteps<T = number> = Generator<KernelYield, T, void>;

// The boundaries carry no data: one frozen object each, so a yield allocates nothing.
export const PMD_UNLOCK: KernelBoundary = Object.freeze({ kind: 'pmd_unlock' });
export const FAULT_RETRY: KernelBoundary = Object.freeze({ kind: 'fault_retry' });
export const WALK_RETRY: KernelBoundary = Object.freeze({ kind: 'walk_retry' });
export const NOTIFIER_WAIT: KernelBoundary = Object.freeze({ kind: 'notifier_wait' });
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
      return 'mmu_interval_read_begin_wait';
    case 'mmap_read_lock':
      return 'mmap_read_lock';
    case 'mmap_read_unlock':
      return 'mmap_read_unlock';
  }
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
