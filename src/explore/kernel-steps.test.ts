import { describe, expect, it } from 'vitest';
import { HMM_PFN_HI_VALID, PAGE_SIZE, PMD_SIZE } from '../kernel/constants.js';
import { HmmRange, hmmRangeFaultSteps } from '../kernel/hmm.js';
import { mmuIntervalReadBegin } from '../kernel/mmu_notifier.js';
import {
  FAULT_RETRY,
  type KernelYield,
  kernelYieldName,
  kernelYieldSleepsOn,
  MMAP_READ_LOCK,
  MMAP_READ_UNLOCK,
  NOTIFIER_WAIT,
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
  it('names every yield after the kernel function it stands for, and only folio waits sleep', () => {
    const all: KernelYield[] = [
      PMD_UNLOCK,
      FAULT_RETRY,
      WALK_RETRY,
      NOTIFIER_WAIT,
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
      'mmap_read_lock',
      'mmap_read_unlock',
      'folio_wait_locked',
      'migration_entry_wait',
    ]);
    expect(all.map(kernelYieldSleepsOn)).toEqual([-1, -1, -1, -1, -1, -1, 7, 9]);
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
});
