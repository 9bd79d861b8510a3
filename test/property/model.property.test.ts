/**
 * Property tests of the whole model (fast-check), with fixed seeds so that runs repeat.
 *
 * 1. Random syscall sequences (world.ts, arbitraries.ts) across 1-3 processes and the dmirror
 *    devices: after every step checkInvariants() must be empty and the model's VMAs must match
 *    the test's own bookkeeping; every CPU load and every device read-back must match the
 *    data shadow (shadow.ts); a final sweep reads back every readable page.
 * 2. Invalid calls (invalid.ts) return the Linux errno (or signal), never throw, and leave
 *    stateDigest() unchanged.
 *
 * A failing run reports the shrunk op sequence as an op log (one resolved call per line).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkInvariants, stateDigest } from '../../src/check/invariants.js';
import {
  ENOMEM,
  MADV_FREE,
  MADV_HUGEPAGE,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MAP_SHARED,
  O_RDWR,
  PAGE_SIZE,
  PMD_SIZE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/kernel/constants.js';
import {
  HMM_DMIRROR_MIGRATE_TO_DEV,
  HMM_DMIRROR_READ,
  HMM_DMIRROR_WRITE,
} from '../../src/uapi/test_hmm_uapi.js';
import { scenarioArb } from './arbitraries.js';
import { INVALID_CASE_NAMES, invalidArb, runInvalid } from './invalid.js';
import { propertyParams, propertySeed, propertyTimeout } from './params.js';
import { type Op, World } from './world.js';

/** Fixed seeds (moved by HMMLAB_PROPERTY_SEED under `npm run test:deep`, see params.ts). */
const SEEDS = [1, 2, 3].map(propertySeed);
/** Runs per seed of the random-sequence property: about 0.5 s each when the model passes. */
const RUNS = 15;
const INVALID_RUNS = 40;
/**
 * Bounds a property (generation and shrinking). Shrinking a failure replays whole scenarios,
 * so without a bound a model bug costs minutes per seed; when it interrupts, fast-check still
 * reports the failure with the counterexample shrunk so far. A property that reaches the bound
 * before its runs are done fails (it used to pass with the runs it had made), so the bound is
 * several times what the runs take on a loaded 2-core machine (10-15 s for RUNS there).
 */
const TIME_LIMIT = 60_000;
/** The vitest timeout: the bound plus the run or shrink step in progress when it is reached. */
const TEST_TIMEOUT = propertyTimeout(2 * TIME_LIMIT);

/** Runs one scenario; throws with the op log on the first violation. */
function runScenario(ops: Op[]): void {
  const w = new World();
  try {
    w.checkAll();
    for (const op of ops) {
      w.step(op);
      w.checkAll();
    }
    w.sweep();
    w.checkAll();
  } catch (e) {
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    throw new Error(`${msg}\n--- op log (${w.log.length} lines) ---\n${w.log.join('\n')}`);
  }
}

const scenarioProp = fc.property(scenarioArb, (ops) => runScenario(ops));

describe('random syscall sequences', () => {
  for (const seed of SEEDS) {
    it(
      `random syscalls keep the model consistent (seed ${seed})`,
      () => {
        fc.assert(scenarioProp, propertyParams({ seed, numRuns: RUNS, timeLimitMs: TIME_LIMIT }));
      },
      TEST_TIMEOUT,
    );
  }
});

const invalidProp = fc.property(invalidArb, runInvalid);

describe('invalid input', () => {
  for (const seed of SEEDS) {
    it(
      `invalid calls return -errno and leave the model unchanged (seed ${seed})`,
      () => {
        fc.assert(invalidProp, propertyParams({ seed, numRuns: INVALID_RUNS, timeLimitMs: TIME_LIMIT }));
      },
      TEST_TIMEOUT,
    );
  }

  it('every invalid case, once each on a fresh machine', () => {
    for (const kind of INVALID_CASE_NAMES) runInvalid({ prefix: [], pi: 0, calls: [{ kind, r: 7, r2: 3 }] });
  });
});

// ---------------------------------------------------------------------------------------------
// Model bugs the properties found, pinned as regressions (they fail until the model is fixed).
// ---------------------------------------------------------------------------------------------

const PS = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const PRIV_ANON = MAP_PRIVATE | MAP_ANONYMOUS;

describe('regressions found by the properties', () => {
  it('regression: a CPU fault on MAP_SHARED memory at an unaligned address uses a fractional page-cache index', () => {
    // Found by seeds 1, 2 and 3 of the random property. Vma.linearPageIndex computes
    // pgoff + (va - start) / PAGE_SIZE without flooring and doFileFault passes the unaligned
    // fault address, so shmem pages are looked up and created under keys like 0.0039: two
    // processes that first touch the same page of a shared mapping at different offsets get
    // different pages (and pread/truncate never see them).
    const w = new World();
    const p = w.procs[0]!.p;
    const b = p.mmap(0, PS, RW, MAP_SHARED | MAP_ANONYMOUS);
    expect(b).toBeGreaterThan(0);
    const child = p.fork();
    p.store(b + 0x10, Uint8Array.of(0x42)); // the parent's first touch: offset 0x10
    expect(Array.from(child.load(b + 0x8, 16))[8]).toBe(0x42); // the child's first touch: offset 0x8
    expect(checkInvariants(w.m)).toEqual([]);
  });

  it('regression: seed 1 path 6:0:0:2:0:0:0:1:0:3:3:3:4:3:3:4:4:4:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1 of the random property (shared anonymous memory across fork)', () => {
    // The shrunk counterexample of seed 1 (the unaligned shared fault above), replayed once.
    // fc.assert with this path would go on with the value's shrink siblings once it passes
    // (a path of several steps has no run limit), so the value is drawn by a property that
    // stops at the first one, then run on its own.
    const drawn = fc.check(
      fc.property(scenarioArb, (_ops: Op[]) => false),
      {
        seed: 1,
        path: '6:0:0:2:0:0:0:1:0:3:3:3:4:3:3:4:4:4:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1:1',
        endOnFailure: true,
      },
    );
    const ops = drawn.counterexample?.[0];
    expect(ops?.length).toBeGreaterThan(0);
    runScenario(ops!);
  }, 60_000);

  it('regression: madvise(MADV_FREE) over an unmapped range sends an MMU notifier invalidation', () => {
    // Found by seeds 1 and 3 of the invalid-input property. madviseFree notifies
    // MMU_NOTIFY_CLEAR over [start, end) unconditionally; Linux invalidates per VMA
    // (madvise_free_single_vma), so an unmapped range sends nothing. Mirrors see a spurious
    // invalidation, and test_hmm's inclusive end erases the page just above the range.
    const w = new World();
    const p = w.procs[0]!.p;
    const fd = [...w.procs[0]!.fds.keys()][0]!;
    const a = p.mmap(0, 2 * PS, RW, PRIV_ANON);
    p.store(a + PS, Uint8Array.of(5));
    const cmd = { addr: a + PS, ptr: w.procs[0]!.scratch, npages: 1, cpages: 0, faults: 0 };
    expect(p.ioctl(fd, HMM_DMIRROR_READ, cmd)).toBe(0); // the mirror now holds a + PS
    expect(p.munmap(a, PS)).toBe(0); // a is a hole directly below the mirrored page
    const before = stateDigest(w.m);
    expect(p.madvise(a, PS, MADV_FREE)).toBe(-ENOMEM);
    expect(stateDigest(w.m)).toBe(before);
  });

  it('regression: a CPU access to a device THP that a forked child has split never completes migrate_to_ram', () => {
    // Found by the random property (exploration seed 22, with the fractional-index bug worked
    // around). A PMD-mapped device-private THP shared with a child by fork, split in the child
    // (mprotect of part of it): the parent's load faults forever, and the model throws
    // "model bug: user access ... keeps faulting (a migration entry left behind?)".
    const w = new World();
    const ps = w.procs[0]!;
    const p = ps.p;
    const fd = [...ps.fds.keys()][0]!;
    const a = p.mmap(0, PMD_SIZE, RW, PRIV_ANON);
    expect(p.madvise(a, PMD_SIZE, MADV_HUGEPAGE)).toBe(0);
    p.store(a + 5, new Uint8Array(10).fill(3));
    const cmd = { addr: a, ptr: ps.scratch, npages: PMD_SIZE / PS, cpages: 0, faults: 0 };
    expect(p.ioctl(fd, HMM_DMIRROR_MIGRATE_TO_DEV, cmd)).toBe(0);
    const child = p.fork();
    expect(child.mprotect(a + 0x3e000, 8 * PS, PROT_NONE)).toBe(0);
    expect(checkInvariants(w.m)).toEqual([]);
    expect(Array.from(p.load(a + 5, 4))).toEqual([3, 3, 3, 3]);
    expect(Array.from(child.load(a + 5, 4))).toEqual([3, 3, 3, 3]);
    expect(checkInvariants(w.m)).toEqual([]);
  });
});

describe('Linux behaviour the properties met (documented; the random property steers around it)', () => {
  it('two open files of one device on one mm: a migration through one leaves the other mirror stale, as test_hmm does', () => {
    // dmirror_interval_invalidate skips MMU_NOTIFY_MIGRATE whenever range->owner is the
    // *device*, so a second open file of the same device keeps the entries of pages the first
    // one migrated (in Linux they point at freed pages). checkInvariants reports it as a
    // notifier-contract violation; the random property never opens a device twice per mm.
    const w = new World();
    const ps = w.procs[0]!;
    const p = ps.p;
    const fdA = p.open('/dev/hmm_dmirror0', O_RDWR);
    const fdB = p.open('/dev/hmm_dmirror0', O_RDWR);
    p.store(ps.scratch, Uint8Array.of(0)); // populate the buffer first (no frame reuse below)
    const a = p.mmap(0, PS, RW, PRIV_ANON);
    p.store(a, Uint8Array.of(1, 2, 3));
    const cmd = () => ({ addr: a, ptr: ps.scratch, npages: 1, cpages: 0, faults: 0 });
    expect(p.ioctl(fdA, HMM_DMIRROR_READ, cmd())).toBe(0);
    expect(p.ioctl(fdB, HMM_DMIRROR_MIGRATE_TO_DEV, cmd())).toBe(0);
    p.store(ps.scratch, Uint8Array.of(9, 9, 9));
    expect(p.ioctl(fdB, HMM_DMIRROR_WRITE, cmd())).toBe(0);
    expect(p.ioctl(fdA, HMM_DMIRROR_READ, cmd())).toBe(0);
    expect(Array.from(p.load(ps.scratch, 3))).not.toEqual([9, 9, 9]); // stale: the freed RAM page
    expect(Array.from(p.load(a, 3))).toEqual([9, 9, 9]); // what the CPU (and device B) see
  });
});
