/** fast-check generators of the abstract ops that world.ts resolves against the current state. */
import fc from 'fast-check';
import {
  MADV_COLLAPSE,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/kernel/constants.js';
import type { IoctlKind, MremapMode, Op, Sel } from './world.js';

const RW = PROT_READ | PROT_WRITE;

function weighted<T>(...pairs: [T, number][]): fc.Arbitrary<T> {
  return fc.oneof(...pairs.map(([v, weight]) => ({ arbitrary: fc.constant(v), weight })));
}

const pi = fc.nat({ max: 5 });

function selWith(pmdWeight: number): fc.Arbitrary<Sel> {
  return fc.record({
    v: fc.nat({ max: 15 }),
    off: fc.nat({ max: 1023 }),
    len: fc.oneof(
      { arbitrary: fc.integer({ min: 1, max: 4 }), weight: 4 },
      { arbitrary: fc.integer({ min: 1, max: 40 }), weight: 2 },
      { arbitrary: fc.constant(512), weight: 1 },
    ),
    whole: weighted<boolean>([false, 3], [true, 1]),
    pmd: weighted<boolean>([false, 6], [true, pmdWeight]),
    bad: weighted<0 | 1 | 2>([0, 12], [1, 1], [2, 1]),
  });
}

export const selArb = selWith(1);
/** Device ops pick whole aligned 2 MiB blocks more often, so that THP migration paths run. */
const devSelArb = selWith(3);

export const mmapArb: fc.Arbitrary<Op> = fc.record({
  t: fc.constant('mmap' as const),
  pi,
  shared: weighted<boolean>([false, 3], [true, 1]),
  huge: weighted<boolean>([false, 3], [true, 1]),
  thp: weighted<boolean>([true, 3], [false, 1]),
  pages: fc.integer({ min: 1, max: 16 }),
  prot: weighted<number>([RW, 8], [PROT_READ, 1], [PROT_NONE, 1]),
  fixed: fc.oneof(
    { arbitrary: fc.constant(-1), weight: 4 },
    { arbitrary: fc.integer({ min: 0, max: 7 }), weight: 1 },
  ),
});

const ioctlKind = weighted<IoctlKind>(
  ['READ', 6],
  ['WRITE', 6],
  ['MIGRATE_TO_DEV', 8],
  ['MIGRATE_TO_SYS', 4],
  ['SNAPSHOT', 3],
  ['EXCLUSIVE', 3],
  ['CHECK_EXCLUSIVE', 2],
  ['RELEASE', 1],
  ['FLAGS', 1],
);

const mremapMode = weighted<MremapMode>(
  ['shrink', 2],
  ['grow', 2],
  ['inplace', 1],
  ['fixed', 2],
  ['dontunmap', 1],
);

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: mmapArb, weight: 6 },
  { arbitrary: fc.record({ t: fc.constant('munmap' as const), pi, sel: selArb }), weight: 2 },
  {
    arbitrary: fc.record({
      t: fc.constant('mprotect' as const),
      pi,
      sel: selArb,
      prot: weighted<number>([RW, 2], [PROT_READ, 2], [PROT_NONE, 1]),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      t: fc.constant('madvise' as const),
      pi,
      sel: selArb,
      advice: weighted<number>(
        [MADV_DONTNEED, 3],
        [MADV_FREE, 3],
        [MADV_HUGEPAGE, 1],
        [MADV_NOHUGEPAGE, 1],
        [MADV_COLLAPSE, 1],
      ),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      t: fc.constant('mremap' as const),
      pi,
      sel: selArb,
      mode: mremapMode,
      delta: fc.nat({ max: 63 }),
      slot: fc.nat({ max: 7 }),
      alt: fc.boolean(),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      t: fc.constant('store' as const),
      pi,
      sel: selArb,
      off: fc.nat({ max: 4095 }),
      len: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 3 * 4096 })),
    }),
    weight: 10,
  },
  {
    arbitrary: fc.record({
      t: fc.constant('load' as const),
      pi,
      sel: selArb,
      off: fc.nat({ max: 4095 }),
      len: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 4 * 4096 })),
    }),
    weight: 8,
  },
  { arbitrary: fc.record({ t: fc.constant('fork' as const), pi }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant('exit' as const), pi }), weight: 1 },
  {
    arbitrary: fc.record({
      t: fc.constant('ioctl' as const),
      pi,
      fd: fc.nat({ max: 7 }),
      req: ioctlKind,
      sel: devSelArb,
    }),
    weight: 16,
  },
  {
    arbitrary: fc.record({
      t: fc.constant('reopen' as const),
      pi,
      fd: fc.nat({ max: 7 }),
      minor: weighted<number>([0, 3], [1, 3], [2, 1]),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      t: fc.constant('gup' as const),
      pi,
      sel: selArb,
      longterm: fc.boolean(),
      fast: fc.boolean(),
    }),
    weight: 2,
  },
);

/** A scenario: one to three mappings first (so there is something to work on), then the ops. */
export const scenarioArb: fc.Arbitrary<Op[]> = fc
  .tuple(fc.array(mmapArb, { minLength: 1, maxLength: 3 }), fc.array(opArb, { minLength: 20, maxLength: 60 }))
  .map(([a, b]) => [...a, ...b]);
