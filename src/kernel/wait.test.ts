/**
 * The yields of the kernel model's resumable steps (wait.ts): the Linux function each stands
 * for in timelines, schedules and state hashes, what a sleeping yield waits on, and the
 * condition that wakes an mmu_interval_read_begin or mmu_interval_notifier_remove sleeper.
 */
import { describe, expect, it } from 'vitest';
import {
  FAULT_RETRY,
  type KernelYield,
  kernelYieldName,
  kernelYieldSeqReleased,
  kernelYieldSleepsOn,
  MMAP_READ_LOCK,
  MMAP_READ_UNLOCK,
  PMD_UNLOCK,
  WALK_RETRY,
} from './wait.js';

describe('kernelYieldName: the Linux function a yield stands for', () => {
  const subs = { invalidateSeq: 3 };
  const cases: [KernelYield, string][] = [
    [{ kind: 'folio_locked', pfn: 7 }, 'folio_wait_locked'],
    [{ kind: 'migration_entry', pfn: 7 }, 'migration_entry_wait'],
    // A walk that met a migration entry with no folio to sleep on restarts: Linux's
    // hmm_vma_walk_pmd calls migration_entry_wait (pmd_migration_entry_wait) and retries.
    [WALK_RETRY, 'migration_entry_wait'],
    [PMD_UNLOCK, 'hmm_walk_pmd_unlock'],
    [FAULT_RETRY, 'hmm_fault_done'],
    [{ kind: 'notifier_wait', op: 'read_begin', subs, seq: 3 }, 'mmu_interval_read_begin_wait'],
    [{ kind: 'notifier_wait', op: 'remove', subs, seq: 3 }, 'mmu_interval_notifier_remove_wait'],
    [{ kind: 'invalidate', phase: 'start', done: 0, of: 2 }, 'mmu_notifier_invalidate_range_start'],
    [{ kind: 'invalidate', phase: 'callback', done: 1, of: 2 }, 'mn_itree_invalidate 1/2'],
    [{ kind: 'invalidate', phase: 'callback', done: 2, of: 2 }, 'mn_itree_invalidate 2/2'],
    [MMAP_READ_LOCK, 'mmap_read_lock'],
    [MMAP_READ_UNLOCK, 'mmap_read_unlock'],
  ];
  it.each(cases)('%o is %s', (y, name) => {
    expect(kernelYieldName(y)).toBe(name);
  });

  it('the boundaries without data are shared frozen objects of their kind', () => {
    const kinds = [PMD_UNLOCK, FAULT_RETRY, WALK_RETRY, MMAP_READ_LOCK, MMAP_READ_UNLOCK].map((y) => y.kind);
    expect(kinds).toEqual(['pmd_unlock', 'fault_retry', 'walk_retry', 'mmap_read_lock', 'mmap_read_unlock']);
    for (const y of [PMD_UNLOCK, FAULT_RETRY, WALK_RETRY, MMAP_READ_LOCK, MMAP_READ_UNLOCK])
      expect(Object.isFrozen(y)).toBe(true);
  });
});

describe('kernelYieldSleepsOn: the folio a sleeping yield waits on', () => {
  it('folio_wait_locked and migration_entry_wait sleep on the folio head they name', () => {
    expect(kernelYieldSleepsOn({ kind: 'folio_locked', pfn: 512 })).toBe(512);
    expect(kernelYieldSleepsOn({ kind: 'migration_entry', pfn: 1024 })).toBe(1024);
  });

  it('lock boundaries, notifier waits and invalidation points sleep on no folio (-1)', () => {
    const others: KernelYield[] = [
      PMD_UNLOCK,
      FAULT_RETRY,
      WALK_RETRY,
      MMAP_READ_LOCK,
      MMAP_READ_UNLOCK,
      { kind: 'notifier_wait', op: 'read_begin', subs: { invalidateSeq: 1 }, seq: 1 },
      { kind: 'invalidate', phase: 'start', done: 0, of: 1 },
    ];
    for (const y of others) expect(kernelYieldSleepsOn(y)).toBe(-1);
  });
});

describe("kernelYieldSeqReleased: mmu_notifier.c's wait_event(invalidate_seq != seq)", () => {
  it('wakes a mmu_interval_read_begin sleeper once mn_itree_inv_end moves invalidate_seq on', () => {
    const subs = { invalidateSeq: 5 };
    const released = kernelYieldSeqReleased({ kind: 'notifier_wait', op: 'read_begin', subs, seq: 5 })!;
    expect(released).not.toBeNull();
    expect(released()).toBe(false);
    subs.invalidateSeq = 6;
    expect(released()).toBe(true);
  });

  it('the condition reads the live sequence, for a mmu_interval_notifier_remove sleeper too', () => {
    const subs = { invalidateSeq: 9 };
    const released = kernelYieldSeqReleased({ kind: 'notifier_wait', op: 'remove', subs, seq: 7 })!;
    expect(released()).toBe(true);
    subs.invalidateSeq = 7;
    expect(released()).toBe(false);
  });

  it('is null for a yield that does not sleep on the sequence', () => {
    expect(kernelYieldSeqReleased(PMD_UNLOCK)).toBeNull();
    expect(kernelYieldSeqReleased({ kind: 'folio_locked', pfn: 1 })).toBeNull();
    expect(kernelYieldSeqReleased({ kind: 'invalidate', phase: 'callback', done: 1, of: 1 })).toBeNull();
  });
});
