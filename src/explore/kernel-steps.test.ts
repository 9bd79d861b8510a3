import { describe, expect, it } from 'vitest';
import { HMM_PFN_HI_VALID, MIGRATE_VMA_SELECT_SYSTEM, PAGE_SIZE, PMD_SIZE } from '../kernel/constants.js';
import { HmmRange, hmmRangeFaultSteps } from '../kernel/hmm.js';
import { migrateVmaSetup, migrateVmaSetupSteps, newMigrateVma } from '../kernel/migrate_device.js';
import { mmuIntervalReadBegin } from '../kernel/mmu_notifier.js';
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
} from '../kernel/wait.js';
import { KernelWorld, kernelSteps, SvmDevice } from './world.js';

/** One page in gpu0's device-private memory, its folio locked; gpu1 about to fault it. */
function lockedDevicePage(fixed: boolean) {
  const w = new KernelWorld(1);
  w.k.fixes.hmmWaitOnLockedFolio = fixed;
  const gpu0 = new SvmDevice(w, 'gpu0');
  const gpu1 = new SvmDevice(w, 'gpu1');
  const mig = gpu0.migrateToDevice(0, 1);
  while (!mig.next().done);
  const pte = w.cpuPte(w.va(0));
  expect(pte.kind).not.toBe('ram');
  const page = pte.pfn;
  expect(w.k.folioTrylock(page)).toBe(true);
  const range = new HmmRange(gpu1.notifier, w.va(0), w.va(1), HMM_PFN_HI_VALID, 0, gpu1);
  range.notifierSeq = mmuIntervalReadBegin(gpu1.notifier);
  return { w, page, range };
}

describe('typed kernel yields (kernel/wait.ts)', () => {
  it('names every yield after the kernel function it stands for, and only folio waits sleep on a folio', () => {
    const subs = { invalidateSeq: 3 };
    const all: KernelYield[] = [
      PMD_UNLOCK,
      FAULT_RETRY,
      WALK_RETRY,
      { kind: 'notifier_wait', op: 'read_begin', subs, seq: 3 },
      { kind: 'notifier_wait', op: 'remove', subs, seq: 3 },
      { kind: 'invalidate', phase: 'start', done: 0, of: 2 },
      { kind: 'invalidate', phase: 'callback', done: 1, of: 2 },
      MMAP_READ_LOCK,
      MMAP_READ_UNLOCK,
      { kind: 'folio_locked', pfn: 7 },
      { kind: 'migration_entry', pfn: 9 },
    ];
    expect(all.map(kernelYieldName)).toEqual([
      'hmm_walk_pmd_unlock',
      'hmm_fault_done',
      'migration_entry_wait',
      'mmu_interval_read_begin_wait',
      'mmu_interval_notifier_remove_wait',
      'mmu_notifier_invalidate_range_start',
      'mn_itree_invalidate 1/2',
      'mmap_read_lock',
      'mmap_read_unlock',
      'folio_wait_locked',
      'migration_entry_wait',
    ]);
    expect(all.map(kernelYieldSleepsOn)).toEqual([-1, -1, -1, -1, -1, -1, -1, -1, -1, 7, 9]);
    // Only the notifier waits sleep on the sequence, until it moves on from theirs.
    const released = all.map(kernelYieldSeqReleased);
    expect(released.map((r) => r !== null)).toEqual([
      false,
      false,
      false,
      true,
      true,
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(released[3]!()).toBe(false);
    subs.invalidateSeq = 4;
    expect(released[3]!()).toBe(true);
    expect(released[4]!()).toBe(true);
  });

  it('hmm_range_fault on a locked device-private folio yields folio_locked with its head pfn (fix on)', () => {
    const { w, page, range } = lockedDevicePage(true);
    const g = hmmRangeFaultSteps(w.k, w.mm, range);
    const r = g.next();
    expect(r.done).toBe(false);
    expect(r.value).toEqual({ kind: 'folio_locked', pfn: page });
  });

  it('without the fix it retries at once (fault_retry), never sleeping', () => {
    const { w, range } = lockedDevicePage(false);
    const g = hmmRangeFaultSteps(w.k, w.mm, range);
    for (let i = 0; i < 3; i++) expect(g.next().value).toBe(FAULT_RETRY);
  });

  it('kernelSteps turns folio_locked into a wait that holds until the folio is unlocked', () => {
    const { w, page, range } = lockedDevicePage(true);
    const agentSteps = kernelSteps(w.k, 'hmm_range_fault', hmmRangeFaultSteps(w.k, w.mm, range));
    const y = agentSteps.next().value;
    expect(y).toMatchObject({ wait: `folio_wait_locked (pfn ${page})`, call: 'hmm_range_fault' });
    if (typeof y !== 'object' || y === null || !('until' in y)) throw new Error('expected a Wait');
    expect(y.until()).toBe(false);
    w.k.folioUnlock(page);
    expect(y.until()).toBe(true);
  });

  it('a walk over two PMDs yields pmd_unlock between them', () => {
    const w = new KernelWorld(1024);
    const gpu = new SvmDevice(w, 'gpu0');
    const range = new HmmRange(gpu.notifier, w.va(0), w.va(1024), 0, 0, gpu);
    range.notifierSeq = mmuIntervalReadBegin(gpu.notifier);
    const g = hmmRangeFaultSteps(w.k, w.mm, range);
    const ys: KernelYield[] = [];
    let r = g.next();
    while (!r.done) {
      ys.push(r.value);
      r = g.next();
    }
    expect(r.value).toBe(0);
    // 4 MiB of VA crosses at least one 2 MiB boundary; nothing faults, so nothing else is yielded.
    expect(ys.length).toBeGreaterThanOrEqual(Math.floor((1024 * PAGE_SIZE) / PMD_SIZE) - 1);
    for (const y of ys) expect(y).toBe(PMD_UNLOCK);
  });

  /** Runs steps to the end, recording what they yield. */
  function drain<T>(
    g: Generator<KernelYield, T, void>,
    each?: (y: KernelYield) => void,
  ): { ys: string[]; ret: T } {
    const ys: string[] = [];
    for (;;) {
      const r = g.next();
      if (r.done) return { ys, ret: r.value };
      each?.(r.value);
      ys.push(kernelYieldName(r.value));
    }
  }

  it('munmap as steps: VMAs gone before the start, one step per callback, the zap and the end after; same result as munmap', () => {
    const a = new KernelWorld(2);
    new SvmDevice(a, 'gpu0');
    new SvmDevice(a, 'gpu1');
    const b = new KernelWorld(2);
    new SvmDevice(b, 'gpu0');
    new SvmDevice(b, 'gpu1');
    expect(a.proc.munmap(a.va(1), PAGE_SIZE)).toBe(0);
    const seen: string[] = [];
    const { ys, ret } = drain(b.proc.munmapSteps(b.va(1), PAGE_SIZE), () => {
      // Inside the invalidation: the VMA is out of the address space (a fault finds none), the
      // page still mapped until the zap, the sequence odd.
      seen.push(
        `${b.mm.vmaLookup(b.va(1)) ? 'vma' : 'no vma'} ${b.cpuPte(b.va(1)).kind} ${b.mm.notifiers.isInvalidating() ? 'odd' : 'even'}`,
      );
    });
    expect(ret).toBe(0);
    expect(ys).toEqual([
      'mmu_notifier_invalidate_range_start',
      'mn_itree_invalidate 1/2',
      'mn_itree_invalidate 2/2',
    ]);
    expect(seen).toEqual(['no vma ram odd', 'no vma ram odd', 'no vma ram odd']);
    expect(b.mm.notifiers.isInvalidating()).toBe(false);
    expect(b.digest()).toBe(a.digest());
    expect([...b.describe()]).toEqual([...a.describe()]);
  });

  it('migrate_vma_setup as steps: MIGRATE start and callbacks are steps, the collection after; same result as the call', () => {
    const setup = (w: KernelWorld, dev: SvmDevice) =>
      newMigrateVma(w.mm.vmaLookup(w.va(0))!, w.va(0), w.va(2), dev, MIGRATE_VMA_SELECT_SYSTEM);
    const a = new KernelWorld(2);
    const aDev = new SvmDevice(a, 'gpu0');
    const aArgs = setup(a, aDev);
    expect(migrateVmaSetup(a.k, aArgs)).toBe(0);
    const b = new KernelWorld(2);
    const bDev = new SvmDevice(b, 'gpu0');
    const bArgs = setup(b, bDev);
    const kinds: string[] = [];
    const { ys, ret } = drain(migrateVmaSetupSteps(b.k, bArgs), () => kinds.push(b.cpuPte(b.va(0)).kind));
    expect(ret).toBe(0);
    expect(ys).toEqual(['mmu_notifier_invalidate_range_start', 'mn_itree_invalidate 1/1']);
    // Nothing collected until the step after the last callback.
    expect(kinds).toEqual(['ram', 'ram']);
    expect(b.cpuPte(b.va(0)).kind).toBe('migration');
    expect(bArgs.cpages).toBe(aArgs.cpages);
    expect([...bArgs.src.slice(0, 2)]).toEqual([...aArgs.src.slice(0, 2)]);
    expect(b.digest()).toBe(a.digest());
  });
});
