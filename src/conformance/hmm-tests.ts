/**
 * The kernel's HMM selftests (tools/testing/selftests/mm/hmm-tests.c), all 38 of them, in the
 * C file's order, re-expressed against hmmlab's process interface. The buffer and ioctl helpers
 * are exported for the two-owner cases (owner-tests.ts), which use the same fixtures.
 *
 * Conventions:
 * - The C test's `malloc`'d mirror lives in the test process too (an anonymous private
 *   mapping); the driver copies to and from it through `cmd.ptr`.
 * - "ptr[i] = i" means every 4-byte int `i` of the buffer holds `i` (C `int`, so values are
 *   compared as signed 32-bit).
 * - fork(): the model is sequential, so the child's code runs to completion on the child
 *   process first, then the child exits (`_exit(0)`), then the parent carries on and checks
 *   that the child "exited with status 0" (no failure was recorded in it).
 * - Where C reads or writes memory with plain loads/stores, the model does it with
 *   `p.load`/`p.store`, which take the same faults the CPU would.
 */
import {
  EFAULT,
  EINTR,
  EINVAL,
  ENOENT,
  EPERM,
  errnoName,
  MADV_COLLAPSE,
  MADV_FREE,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MAP_ANONYMOUS,
  MAP_HUGETLB,
  MAP_PRIVATE,
  MAP_SHARED,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  O_EXCL,
  O_RDWR,
  O_TMPFILE,
  PAGE_SIZE,
  PMD_SIZE,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from '../kernel/constants.js';
import type { KernelYield } from '../kernel/wait.js';
import { type Process, SegvError } from '../uapi/machine.js';
import {
  HMM_DMIRROR_CHECK_EXCLUSIVE,
  HMM_DMIRROR_EXCLUSIVE,
  HMM_DMIRROR_FLAG_FAIL_ALLOC,
  HMM_DMIRROR_FLAGS,
  HMM_DMIRROR_MIGRATE_TO_DEV,
  HMM_DMIRROR_MIGRATE_TO_SYS,
  HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL,
  HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE,
  HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL,
  HMM_DMIRROR_PROT_ERROR,
  HMM_DMIRROR_PROT_NONE,
  HMM_DMIRROR_PROT_PMD,
  HMM_DMIRROR_PROT_PUD,
  HMM_DMIRROR_PROT_READ,
  HMM_DMIRROR_PROT_WRITE,
  HMM_DMIRROR_PROT_ZERO,
  HMM_DMIRROR_READ,
  HMM_DMIRROR_RELEASE,
  HMM_DMIRROR_SNAPSHOT,
  HMM_DMIRROR_WRITE,
  type HmmDmirrorCmd,
} from '../uapi/test_hmm_uapi.js';
import {
  assertEq,
  assertNe,
  type HmmFixture,
  type SelftestCase,
  SelftestFailure,
  SelftestSkip,
} from './harness.js';

// ---------------------------------------------------------------------------------------------
// Constants and helpers (the C file's hmm_buffer, hmm_dmirror_cmd, hmm_buffer_free, ...)
// ---------------------------------------------------------------------------------------------

/** 1024 pages of 4 KiB. */
const HMM_BUFFER_SIZE = 1024 << 12;
const NTIMES = 10;
const TWOMEG = 1 << 21;
const INT_MAX = 2 ** 31 - 1;
const RW = PROT_READ | PROT_WRITE;
const PRIV_ANON = MAP_PRIVATE | MAP_ANONYMOUS;
/** /proc/PID/pagemap bits (tools/testing/selftests/mm/vm_util.h). */
const PM_SWAP = 1n << 62n;
const PAGEMAP_PRESENT = 1n << 63n;

/** The device path the C `hmm_open(unit)` builds. */
function hmmDevice(unit: number): string {
  return `/dev/hmm_dmirror${unit}`;
}

/** ALIGN(x, a) for a power-of-two `a`; exact for addresses up to 2^53. */
export function alignUp(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

/** read_pmd_pagesize(): the model always has THP, with 2 MiB PMDs. */
export function readPmdPagesize(): number {
  return PMD_SIZE;
}

/** default_huge_page_size(): the model's default hugetlb size is 2 MiB. */
function defaultHugePageSize(): number {
  return PMD_SIZE;
}

/** Page count of the standard 4 MiB test buffer (C: ALIGN(HMM_BUFFER_SIZE, ps) >> shift). */
function stdNpages(f: HmmFixture): number {
  const npages = alignUp(HMM_BUFFER_SIZE, f.pageSize) / f.pageSize;
  assertNe(npages, 0, 'npages');
  return npages;
}

/** ASSERT_GE. */
function assertGe(actual: number, min: number, what: string): void {
  if (!(actual >= min)) {
    const shown = actual < 0 ? `${actual} (${errnoName(actual)})` : String(actual);
    throw new SelftestFailure(`${what}: expected >= ${min}, got ${shown}`);
  }
}

/** ASSERT_NE(addr, MAP_FAILED): the model's mmap/mremap return -errno on failure. */
export function mapped(addr: number, what: string): number {
  if (addr < 0) throw new SelftestFailure(`${what}: failed with ${errnoName(addr)}`);
  return addr;
}

/** struct hmm_buffer; `mirror` is an address in the test process. */
export interface HmmBuffer {
  ptr: number;
  mirror: number;
  /** Bytes the C test mallocs for the mirror (mapped rounded up to whole pages). */
  mirrorSize: number;
  size: number;
  fd: number;
  cpages: number;
  faults: number;
}

/** malloc(struct hmm_buffer) + malloc(mirrorSize) for the mirror; ptr is set by the caller. */
export function newBuffer(p: Process, size: number, mirrorSize: number): HmmBuffer {
  const mirror = mapped(
    p.mmap(0, alignUp(mirrorSize, PAGE_SIZE), RW, PRIV_ANON, -1, 0),
    `malloc(${mirrorSize}) for the mirror`,
  );
  return { ptr: 0, mirror, mirrorSize, size, fd: -1, cpages: 0, faults: 0 };
}

/** hmm_buffer_free(): unmap ptr (if still set) and free the mirror. */
export function bufferFree(p: Process, b: HmmBuffer): void {
  if (b.ptr) {
    p.munmap(b.ptr, b.size);
    b.ptr = 0;
  }
  p.munmap(b.mirror, alignUp(b.mirrorSize, PAGE_SIZE));
}

/**
 * hmm_dmirror_cmd(): issue one dmirror ioctl on `buffer` (retrying on EINTR). On error the
 * buffer's counters are left alone and -errno is returned; on success they are updated.
 */
export function hmmDmirrorCmd(
  p: Process,
  fd: number,
  req: number,
  buffer: HmmBuffer,
  npages: number,
): number {
  const cmd: HmmDmirrorCmd = { addr: buffer.ptr, ptr: buffer.mirror, npages, cpages: 0, faults: 0 };
  for (;;) {
    const ret = p.ioctl(fd, req, cmd);
    if (ret === 0) break;
    if (ret === -EINTR) continue;
    return ret;
  }
  buffer.cpages = cmd.cpages;
  buffer.faults = cmd.faults;
  return 0;
}

export function migrateSysToDev(p: Process, fd: number, b: HmmBuffer, npages: number): number {
  return hmmDmirrorCmd(p, fd, HMM_DMIRROR_MIGRATE_TO_DEV, b, npages);
}

export function migrateDevToSys(p: Process, fd: number, b: HmmBuffer, npages: number): number {
  return hmmDmirrorCmd(p, fd, HMM_DMIRROR_MIGRATE_TO_SYS, b, npages);
}

/** hmm_create_file(): an unnamed tmpfs file of `size` bytes, or -1. */
function createFile(p: Process, size: number): number {
  const fd = p.open('/tmp', O_TMPFILE | O_EXCL | O_RDWR);
  if (fd >= 0) {
    let r: number;
    do {
      r = p.ftruncate(fd, size);
    } while (r === -EINTR);
    if (r === 0) return fd;
    p.close(fd);
  }
  return -1;
}

/** An Int32Array of `count` ints where int i = f(i) (wrapped to C int). */
function seqInts(count: number, f: (i: number) => number): Int32Array {
  const a = new Int32Array(count);
  for (let i = 0; i < count; i++) a[i] = f(i);
  return a;
}

/** CPU stores of int i = f(i) for `count` ints at addr (the C "ptr[i] = f(i)" loops). */
export function fillInts(p: Process, addr: number, count: number, f: (i: number) => number): void {
  storeInts(p, addr, seqInts(count, f));
}

/** CPU stores of `values` at addr (ints in native little-endian order, as C writes them). */
function storeInts(p: Process, addr: number, values: Int32Array): void {
  p.store(addr, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
}

/** CPU loads of `count` ints at addr: exactly `count` values (a short load throws). */
function loadInts(p: Process, addr: number, count: number): Int32Array {
  const bytes = p.load(addr, count * 4).slice();
  return new Int32Array(bytes.buffer, 0, count);
}

/** The CPU load of one int at addr (C's `*ptr`). */
function loadInt(p: Process, addr: number): number {
  return loadInts(p, addr, 1)[0]!; // loadInts returns exactly one value here
}

/**
 * Checks values[j] == want(base + j) for every j, failing at the first mismatch with
 * `${what}[${base + j}]` (like the C loops' ASSERT_EQ, which stop at the first failure).
 */
function checkInts(values: Int32Array, want: (i: number) => number, what: string, base = 0): void {
  for (let j = 0; j < values.length; j++) {
    const w = want(base + j) | 0;
    if (values[j] !== w) assertEq(values[j], w, `${what}[${base + j}]`);
  }
}

/** Loads `count` ints starting at int index `first` of `addr` and checks them against want(i). */
export function expectInts(
  p: Process,
  addr: number,
  first: number,
  count: number,
  want: (i: number) => number,
  what: string,
): void {
  if (count <= 0) return;
  checkInts(loadInts(p, addr + first * 4, count), want, what, first);
}

/** memset() of process memory. */
function fillBytes(p: Process, addr: number, len: number, value: number): void {
  p.store(addr, new Uint8Array(len).fill(value));
}

/**
 * Runs a forked child's code to completion, then exits it (the C `_exit(0)`). A failed
 * assertion or a SIGSEGV in the child ends the child abnormally in C; here it is recorded and
 * returned, and the parent fails on it when it "waits" for the child.
 */
function runChild(child: Process, body: () => void): string | null {
  let failure: string | null = null;
  try {
    body();
  } catch (e) {
    if (e instanceof SelftestFailure || e instanceof SegvError) failure = e.message;
    else throw e;
  }
  if (child.alive) child.exit();
  return failure;
}

/** waitpid() + WIFEXITED + WEXITSTATUS == 0. */
function assertChildExited(child: Process, failure: string | null): void {
  assertEq(child.alive, false, 'waitpid: child has exited');
  if (failure !== null) throw new SelftestFailure(`child did not exit with status 0: ${failure}`);
}

/**
 * The `ptr[i]++` loop (checking the old value is i) followed by the check that every int is
 * now i + 1. Done a page at a time: read the page, then write it back incremented.
 */
function incrementAndCheck(p: Process, ptr: number, size: number, pageSize: number, who: string): void {
  const perPage = pageSize / 4;
  for (let off = 0; off < size; off += pageSize) {
    const vals = loadInts(p, ptr + off, perPage);
    checkInts(vals, (i) => i, `${who} ptr (before ++)`, off / 4);
    for (let j = 0; j < perPage; j++) vals[j] = vals[j]! + 1;
    storeInts(p, ptr + off, vals);
  }
  expectInts(p, ptr, 0, size / 4, (i) => i + 1, `${who} ptr (after ++)`);
}

// ---------------------------------------------------------------------------------------------
// Shared bodies
// ---------------------------------------------------------------------------------------------

/**
 * One round of anon_teardown: the C test's second thread munmaps the upper half of the buffer
 * while the device READ runs. `landAt` is the number of READ steps (generator resumptions) to
 * run before that munmap: 0 = before the READ starts, j = while paused at its j-th lock
 * boundary, more than the boundary count = after the READ has completed. `null` = no munmap
 * (the dry run that counts the boundaries). Returns the number of boundaries the READ yielded.
 */
function teardownRound(
  f: HmmFixture,
  npages: number,
  size: number,
  c: number,
  landAt: number | null,
): number {
  const { p, fd } = f;
  const b = newBuffer(p, size, size);
  b.ptr = mapped(p.mmap(0, size, RW, PRIV_ANON, -1, 0), 'mmap');
  fillInts(p, b.ptr, size / 4, (i) => i + c);

  const cmd: HmmDmirrorCmd = { addr: b.ptr, ptr: b.mirror, npages, cpages: 0, faults: 0 };
  const g = p.ioctlSteps(fd, HMM_DMIRROR_READ, cmd);
  let yields = 0;
  let r: IteratorResult<KernelYield, number> | null = null;
  const before = landAt ?? Number.POSITIVE_INFINITY;
  for (let s = 0; s < before; s++) {
    r = g.next();
    if (r.done) break;
    yields++;
  }
  if (landAt !== null) {
    // The other thread: unmap the second half (its return value is not checked in C).
    p.munmap(b.ptr + size / 2, size / 2);
  }
  if (r === null || !r.done) {
    r = g.next();
    while (!r.done) {
      yields++;
      r = g.next();
    }
  }
  const rc = r.value;

  if (landAt === null) {
    // Nothing raced with this READ: it must succeed (as in anon_read_multiple).
    assertEq(rc, 0, 'READ (no concurrent munmap)');
  }
  if (rc === 0) {
    assertEq(cmd.cpages, npages, `READ cpages (c=${c}, munmap at step ${landAt})`);
    assertEq(cmd.faults, 1, `READ faults (c=${c}, munmap at step ${landAt})`);
    expectInts(p, b.mirror, 0, size / 4, (i) => i + c, `mirror (c=${c}, munmap at step ${landAt})`);
  }
  if (landAt !== null) {
    // The thread cleared buffer->ptr, so the first half stays mapped (as in C).
    b.ptr = 0;
  }
  bufferFree(p, b);
  return yields;
}

/**
 * run_migration_benchmark() without the clock: map, advise, fill, a warm-up round trip and
 * `iterations` timed round trips (here untimed). Returns 0 or the first failure, like C.
 */
function runMigrationBenchmark(
  f: HmmFixture,
  useThp: boolean,
  bufferSize: number,
  iterations: number,
): number {
  const { p, fd } = f;
  const npages = Math.floor(bufferSize / f.pageSize);
  const b = newBuffer(p, bufferSize, bufferSize);
  fillBytes(p, b.mirror, bufferSize, 0xff);

  const ptr = p.mmap(0, bufferSize, RW, PRIV_ANON, -1, 0);
  if (ptr < 0) return -1;
  b.ptr = ptr;

  let ret = p.madvise(ptr, bufferSize, useThp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  if (ret) return ret;

  fillInts(p, ptr, bufferSize / 4, (i) => i & 0xff);

  ret = migrateSysToDev(p, fd, b, npages);
  if (ret) return ret;
  ret = migrateDevToSys(p, fd, b, npages);
  if (ret) return ret;

  for (let i = 0; i < iterations; i++) {
    ret = migrateSysToDev(p, fd, b, npages);
    if (ret) return ret;
    ret = migrateDevToSys(p, fd, b, npages);
    if (ret) return ret;
  }

  bufferFree(p, b);
  return 0;
}

// ---------------------------------------------------------------------------------------------
// The 38 tests, in hmm-tests.c order
// ---------------------------------------------------------------------------------------------

export const HMM_TESTS: SelftestCase[] = [
  {
    // hmm.open_close: only the fixture's open and close of the device file; nothing in between.
    name: 'open_close',
    fixture: 'hmm',
    run() {},
  },

  {
    // hmm.anon_read: the device reads a read-only private anonymous buffer whose page 0 is
    // unpopulated and page 1 maps the zero page; one fault pass covers all 1024 pages and the
    // device sees zeros in the first two pages and the CPU's values elsewhere.
    name: 'anon_read',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      const npages = stdNpages(f);
      const size = npages * pageSize;
      const b = newBuffer(p, size, size);
      b.ptr = mapped(p.mmap(0, size, RW, PRIV_ANON, -1, 0), 'mmap');

      // Fill everything except the first two pages.
      const first = (2 * pageSize) / 4;
      const n = size / 4;
      fillInts(p, b.ptr + first * 4, n - first, (j) => first + j);

      assertEq(p.mprotect(b.ptr, size, PROT_READ), 0, 'mprotect(PROT_READ)');

      // A CPU read of page 1 maps the shared zero page there.
      assertEq(loadInts(p, b.ptr + pageSize, 1)[0], 0, 'CPU read of page 1');

      assertEq(hmmDmirrorCmd(p, fd, HMM_DMIRROR_READ, b, npages), 0, 'READ');
      assertEq(b.cpages, npages, 'READ cpages');
      assertEq(b.faults, 1, 'READ faults');

      const m = loadInts(p, b.mirror, n);
      checkInts(m.subarray(0, first), () => 0, 'mirror');
      checkInts(m.subarray(first), (i) => i, 'mirror', first);

      bufferFree(p, b);
    },
  },

  {
    // hmm.anon_read_prot: a device read of a PROT_NONE buffer must fail with -EFAULT and must
    // not copy anything into the mirror; the CPU data stays intact.
    name: 'anon_read_prot',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      const npages = stdNpages(f);
      const size = npages * pageSize;
      const b = newBuffer(p, size, size);
      b.ptr = mapped(p.mmap(0, size, RW, PRIV_ANON, -1, 0), 'mmap');

      fillInts(p, b.ptr, size / 4, (i) => i);
      fillInts(p, b.mirror, size / 4, (i) => -i);

      assertEq(p.mprotect(b.ptr, size, PROT_NONE), 0, 'mprotect(PROT_NONE)');
      assertEq(hmmDmirrorCmd(p, fd, HMM_DMIRROR_READ, b, npages), -EFAULT, 'READ of PROT_NONE');

      assertEq(p.mprotect(b.ptr, size, PROT_READ), 0, 'mprotect(PROT_READ)');
      expectInts(p, b.ptr, 0, size / 4, (i) => i, 'ptr');
      expectInts(p, b.mirror, 0, size / 4, (i) => -i, 'mirror (must be untouched)');

      bufferFree(p, b);
    },
  },

  {
    // hmm.anon_write: the device writes an untouched private anonymous buffer; write faults
    // allocate the pages in one fault pass and the CPU then sees the device's data.
    name: 'anon_write',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      const npages = stdNpages(f);
      const size = npages * pageSize;
      const b = newBuffer(p, size, size);
      b.ptr = mapped(p.mmap(0, size, RW, PRIV_ANON, -1, 0), 'mmap');

      fillInts(p, b.mirror, size / 4, (i) => i);

      assertEq(hmmDmirrorCmd(p, fd, HMM_DMIRROR_WRITE, b, npages), 0, 'WRITE');
      assertEq(b.cpages, npages, 'WRITE cpages');
      assertEq(b.faults, 1, 'WRITE faults');

      expectInts(p, b.ptr, 0, size / 4, (i) => i, 'ptr');

      bufferFree(p, b);
    },
  },

  {
    // hmm.anon_write_prot: in a read-only mapping the device may read (zero page) but a write
    // needs a write fault the VMA forbids, so it fails with -EPERM and writes nothing; once the
    // mapping is made writable the same write succeeds and replaces the zero pages.
    name: 'anon_write_prot',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      const npages = stdNpages(f);
      const size = npages * pageSize;
      const b = newBuffer(p, size, size);
      b.ptr = mapped(p.mmap(0, size, PROT_READ, PRIV_ANON, -1, 0), 'mmap');

      assertEq(hmmDmirrorCmd(p, fd, HMM_DMIRROR_READ, b, 1), 0, 'READ of one zero page');
      assertEq(b.cpages, 1, 'READ cpages');
      assertEq(b.faults, 1, 'READ faults');

      fillInts(p, b.mirror, size / 4, (i) => i);

      assertEq(hmmDmirrorCmd(p, fd, HMM_DMIRROR_WRITE, b, npages), -EPERM, 'WRITE to PROT_READ');
      expectInts(p, b.ptr, 0, size / 4, () => 0, 'ptr (nothing written)');

      assertEq(p.mprotect(b.ptr, size, PROT_WRITE | PROT_READ), 0, 'mprotect(PROT_READ|PROT_WRITE)');

      assertEq(hmmDmirrorCmd(p, fd, HMM_DMIRROR_WRITE, b, npages), 0, 'WRITE after mprotect');
      assertEq(b.cpages, npages, 'WRITE cpages');
      assertEq(b.faults, 1, 'WRITE faults');
      expectInts(p, b.ptr, 0, size / 4, (i) => i, 'ptr');

      bufferFree(p, b);
    },
  },

  {
    // hmm.anon_write_child: after fork, a device write through the child's own dmirror file
    // (always device 0) must copy-on-write: the child sees the device's data, the parent keeps
    // its own. Four rounds: with and without a prior migration to this fixture's device, and
    // with a normal or a THP-aligned MADV_HUGEPAGE buffer.
    name: 'anon_write_child',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      for (let migrate = 0; migrate < 2; migrate++) {
        for (let useThp = 0; useThp < 2; useThp++) {
          const round = `migrate=${migrate} use_thp=${useThp}`;
          const npages = alignUp(useThp ? readPmdPagesize() : HMM_BUFFER_SIZE, pageSize) / pageSize;
          assertNe(npages, 0, 'npages');
          const size = npages * pageSize;

          const b = newBuffer(p, size * 2, size);
          b.ptr = mapped(p.mmap(0, size * 2, RW, PRIV_ANON, -1, 0), 'mmap');
          const oldPtr = b.ptr;
          if (useThp) {
            const map = alignUp(b.ptr, size);
            assertEq(p.madvise(map, size, MADV_HUGEPAGE), 0, 'madvise(MADV_HUGEPAGE)');
            b.ptr = map;
          }

          fillInts(p, b.ptr, size / 4, (i) => i);
          fillInts(p, b.mirror, size / 4, (i) => -i);

          if (migrate) {
            assertEq(migrateSysToDev(p, fd, b, npages), 0, `MIGRATE_TO_DEV (${round})`);
            assertEq(b.cpages, npages, `MIGRATE_TO_DEV cpages (${round})`);
          }

          const child = p.fork();
          // The child has its own copy of the buffer struct.
          const cb: HmmBuffer = { ...b };
          const failure = runChild(child, () => {
            expectInts(child, cb.ptr, 0, size / 4, (i) => i, `child ptr (${round})`);
            if (!migrate) expectInts(child, cb.mirror, 0, size / 4, (i) => -i, `child mirror (${round})`);

            const childFd = child.open(hmmDevice(0), O_RDWR);
            assertGe(childFd, 0, `child open ${hmmDevice(0)}`);

            assertEq(
              hmmDmirrorCmd(child, childFd, HMM_DMIRROR_WRITE, cb, npages),
              0,
              `child WRITE (${round})`,
            );
            assertEq(cb.cpages, npages, `child WRITE cpages (${round})`);
            assertEq(cb.faults, 1, `child WRITE faults (${round})`);

            if (!migrate) {
              expectInts(child, cb.ptr, 0, size / 4, (i) => -i, `child ptr after WRITE (${round})`);
            }

            child.close(childFd);
          });

          assertChildExited(child, failure);
          expectInts(p, b.ptr, 0, size / 4, (i) => i, `parent ptr (${round})`);

          b.ptr = oldPtr;
          bufferFree(p, b);
        }
      }
    },
  },

  {
    // hmm.anon_write_child_shared: same as anon_write_child on a MAP_SHARED anonymous buffer:
    // there is no copy-on-write, so the parent sees what the device wrote through the child.
    name: 'anon_write_child_shared',
    fixture: 'hmm',
    run(f) {
      const { p, pageSize } = f;
      const npages = stdNpages(f);
      const size = npages * pageSize;
      const b = newBuffer(p, size, size);
      b.ptr = mapped(p.mmap(0, size, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0), 'mmap');

      fillInts(p, b.ptr, size / 4, (i) => i);
      fillInts(p, b.mirror, size / 4, (i) => -i);

      const child = p.fork();
      const cb: HmmBuffer = { ...b };
      const failure = runChild(child, () => {
        expectInts(child, cb.ptr, 0, size / 4, (i) => i, 'child ptr');
        expectInts(child, cb.mirror, 0, size / 4, (i) => -i, 'child mirror');

        const childFd = child.open(hmmDevice(0), O_RDWR);
        assertGe(childFd, 0, `child open ${hmmDevice(0)}`);

        assertEq(hmmDmirrorCmd(child, childFd, HMM_DMIRROR_WRITE, cb, npages), 0, 'child WRITE');
        assertEq(cb.cpages, npages, 'child WRITE cpages');
        assertEq(cb.faults, 1, 'child WRITE faults');

        expectInts(child, cb.ptr, 0, size / 4, (i) => -i, 'child ptr after WRITE');

        child.close(childFd);
      });

      assertChildExited(child, failure);
      expectInts(p, b.ptr, 0, size / 4, (i) => -i, 'parent ptr (shared: sees the write)');

      bufferFree(p, b);
    },
  },

  {
    // hmm.anon_write_huge: a device write into a PMD-aligned MADV_HUGEPAGE range (the fault may
    // allocate a THP); same results as for small pages: 512 pages, one fault pass.
    name: 'anon_write_huge',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      let size = 2 * readPmdPagesize();
      const b = newBuffer(p, size, size);
      b.ptr = mapped(p.mmap(0, size, RW, PRIV_ANON, -1, 0), 'mmap');

      size /= 2;
      const npages = size / pageSize;
      const map = alignUp(b.ptr, size);
      assertEq(p.madvise(map, size, MADV_HUGEPAGE), 0, 'madvise(MADV_HUGEPAGE)');
      const oldPtr = b.ptr;
      b.ptr = map;

      fillInts(p, b.mirror, size / 4, (i) => i);

      assertEq(hmmDmirrorCmd(p, fd, HMM_DMIRROR_WRITE, b, npages), 0, 'WRITE');
      assertEq(b.cpages, npages, 'WRITE cpages');
      assertEq(b.faults, 1, 'WRITE faults');

      expectInts(p, b.ptr, 0, size / 4, (i) => i, 'ptr');

      b.ptr = oldPtr;
      bufferFree(p, b);
    },
  },

  {
    // hmm.anon_write_hugetlbfs: a device write into a MAP_HUGETLB mapping goes through the
    // hugetlb fault path; all pages written in one pass. SKIPs without free huge pages.
    name: 'anon_write_hugetlbfs',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      const hsize = defaultHugePageSize();
      if (f.machine.hugetlbFreePages() === 0) throw new SelftestSkip('Not enough huge pages');

      const size = alignUp(TWOMEG, hsize);
      const npages = size / pageSize;

      const ptr = p.mmap(0, size, RW, PRIV_ANON | MAP_HUGETLB, -1, 0);
      if (ptr < 0) throw new SelftestSkip(`Huge page could not be allocated (mmap: ${errnoName(ptr)})`);

      const b = newBuffer(p, size, size);
      b.ptr = ptr;

      fillInts(p, b.mirror, size / 4, (i) => i);

      assertEq(hmmDmirrorCmd(p, fd, HMM_DMIRROR_WRITE, b, npages), 0, 'WRITE');
      assertEq(b.cpages, npages, 'WRITE cpages');
      assertEq(b.faults, 1, 'WRITE faults');

      expectInts(p, b.ptr, 0, size / 4, (i) => i, 'ptr');

      p.munmap(b.ptr, b.size);
      b.ptr = 0;
      bufferFree(p, b);
    },
  },

  {
    // hmm.file_read: the device reads a read-only shared mapping of a tmpfs file and sees the
    // file's contents (page-cache pages), in one fault pass.
    name: 'file_read',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      const npages = stdNpages(f);
      const size = npages * pageSize;

      const file = createFile(p, size);
      assertGe(file, 0, 'hmm_create_file');

      const b = newBuffer(p, size, size);
      b.fd = file;

      // Write the file's initial contents from the mirror, then clear the mirror.
      fillInts(p, b.mirror, size / 4, (i) => i);
      assertEq(p.pwrite(file, p.load(b.mirror, size), 0), size, 'pwrite');
      fillBytes(p, b.mirror, size, 0);

      b.ptr = mapped(p.mmap(0, size, PROT_READ, MAP_SHARED, b.fd, 0), 'mmap of the file');

      assertEq(hmmDmirrorCmd(p, fd, HMM_DMIRROR_READ, b, npages), 0, 'READ');
      assertEq(b.cpages, npages, 'READ cpages');
      assertEq(b.faults, 1, 'READ faults');

      expectInts(p, b.mirror, 0, size / 4, (i) => i, 'mirror');

      bufferFree(p, b);
    },
  },

  {
    // hmm.file_write: the device writes a shared writable file mapping; the CPU mapping and
    // the file itself (pread) both show the device's data.
    name: 'file_write',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      const npages = stdNpages(f);
      const size = npages * pageSize;

      const file = createFile(p, size);
      assertGe(file, 0, 'hmm_create_file');

      const b = newBuffer(p, size, size);
      b.fd = file;
      b.ptr = mapped(p.mmap(0, size, RW, MAP_SHARED, b.fd, 0), 'mmap of the file');

      fillInts(p, b.mirror, size / 4, (i) => i);

      assertEq(hmmDmirrorCmd(p, fd, HMM_DMIRROR_WRITE, b, npages), 0, 'WRITE');
      assertEq(b.cpages, npages, 'WRITE cpages');
      assertEq(b.faults, 1, 'WRITE faults');

      expectInts(p, b.ptr, 0, size / 4, (i) => i, 'ptr');

      // The device wrote the page cache: read the file back (into the mirror, as C does).
      const got = p.pread(file, size, 0);
      assertEq(typeof got === 'number' ? got : got.length, size, 'pread');
      if (typeof got !== 'number') {
        p.store(b.mirror, got);
        expectInts(p, b.mirror, 0, size / 4, (i) => i, 'file contents');
      }

      bufferFree(p, b);
    },
  },

  {
    // hmm.migrate: migrating a populated private anonymous buffer to the device moves all
    // 1024 pages and the read-back shows the data.
    name: 'migrate',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      const npages = stdNpages(f);
      const size = npages * pageSize;
      const b = newBuffer(p, size, size);
      b.ptr = mapped(p.mmap(0, size, RW, PRIV_ANON, -1, 0), 'mmap');

      fillInts(p, b.ptr, size / 4, (i) => i);

      assertEq(migrateSysToDev(p, fd, b, npages), 0, 'MIGRATE_TO_DEV');
      assertEq(b.cpages, npages, 'MIGRATE_TO_DEV cpages');
      expectInts(p, b.mirror, 0, size / 4, (i) => i, 'mirror');

      bufferFree(p, b);
    },
  },

  {
    // hmm.migrate_file_private: CPU writes to a MAP_PRIVATE file mapping create anonymous COW
    // pages, and those migrate to the device like any anonymous page.
    name: 'migrate_file_private',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      const npages = stdNpages(f);
      const size = npages * pageSize;

      const file = createFile(p, size);
      assertGe(file, 0, 'hmm_create_file');

      const b = newBuffer(p, size, size);
      b.fd = file;
      b.ptr = mapped(p.mmap(0, size, RW, MAP_PRIVATE, b.fd, 0), 'mmap of the file');

      fillInts(p, b.ptr, size / 4, (i) => i);

      assertEq(migrateSysToDev(p, fd, b, npages), 0, 'MIGRATE_TO_DEV');
      assertEq(b.cpages, npages, 'MIGRATE_TO_DEV cpages');
      expectInts(p, b.mirror, 0, size / 4, (i) => i, 'mirror');

      bufferFree(p, b);
    },
  },

  {
    // hmm.migrate_fault: after a full migration the CPU touches the first half (device-private
    // pages fault back to RAM; coherent ones don't need to); migrating the now mixed range again
    // still reports all 1024 pages, because the pages still on this device keep their entries.
    name: 'migrate_fault',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      const npages = stdNpages(f);
      const size = npages * pageSize;
      const b = newBuffer(p, size, size);
      b.ptr = mapped(p.mmap(0, size, RW, PRIV_ANON, -1, 0), 'mmap');

      fillInts(p, b.ptr, size / 4, (i) => i);

      assertEq(migrateSysToDev(p, fd, b, npages), 0, 'MIGRATE_TO_DEV');
      assertEq(b.cpages, npages, 'MIGRATE_TO_DEV cpages');
      expectInts(p, b.mirror, 0, size / 4, (i) => i, 'mirror');

      expectInts(p, b.ptr, 0, size / 8, (i) => i, 'ptr (first half, faulted back)');

      assertEq(migrateSysToDev(p, fd, b, npages), 0, 'second MIGRATE_TO_DEV');
      assertEq(b.cpages, npages, 'second MIGRATE_TO_DEV cpages');
      expectInts(p, b.mirror, 0, size / 4, (i) => i, 'mirror after second migration');

      bufferFree(p, b);
    },
  },

  {
    // hmm.migrate_release: RELEASE evicts and frees all of the device's memory; the data is
    // back in RAM and the CPU reads it without any device involvement.
    name: 'migrate_release',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      const npages = stdNpages(f);
      const size = npages * pageSize;
      const b = newBuffer(p, size, size);
      b.ptr = mapped(p.mmap(0, size, RW, PRIV_ANON, -1, 0), 'mmap');

      fillInts(p, b.ptr, size / 4, (i) => i);

      assertEq(migrateSysToDev(p, fd, b, npages), 0, 'MIGRATE_TO_DEV');
      assertEq(b.cpages, npages, 'MIGRATE_TO_DEV cpages');
      expectInts(p, b.mirror, 0, size / 4, (i) => i, 'mirror');

      assertEq(hmmDmirrorCmd(p, fd, HMM_DMIRROR_RELEASE, b, npages), 0, 'RELEASE');

      expectInts(p, b.ptr, 0, size / 8, (i) => i, 'ptr (first half)');

      bufferFree(p, b);
    },
  },

  {
    // hmm.migrate_shared: a shared anonymous (shmem) mapping is not migratable: its holes are
    // skipped, nothing lands in the device page table, and the read-back fails with -ENOENT.
    name: 'migrate_shared',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      const npages = stdNpages(f);
      const size = npages * pageSize;
      const b = newBuffer(p, size, size);
      b.ptr = mapped(p.mmap(0, size, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0), 'mmap');

      assertEq(migrateSysToDev(p, fd, b, npages), -ENOENT, 'MIGRATE_TO_DEV of shared anon');

      bufferFree(p, b);
    },
  },

  {
    // hmm2.migrate_mixed: migration refuses an unreadable VMA and a range with a hole (-EINVAL);
    // a zero page, a read-only page and two writable pages migrate to device 1 (4 pages);
    // device 0 then cannot take page 5 from device 1, so its read-back fails with -ENOENT.
    name: 'migrate_mixed',
    fixture: 'hmm2',
    run(f) {
      const { p, fd0, fd1, pageSize: ps } = f;
      const npages = 6;
      const size = npages * ps;
      const b = newBuffer(p, size, size);
      b.ptr = mapped(p.mmap(0, size, PROT_NONE, PRIV_ANON, -1, 0), 'mmap');
      const base = b.ptr;

      assertEq(migrateSysToDev(p, fd1, b, npages), -EINVAL, 'MIGRATE_TO_DEV of PROT_NONE');

      assertEq(p.munmap(b.ptr + ps, ps), 0, 'munmap page 1');

      assertEq(migrateSysToDev(p, fd1, b, 3), -EINVAL, 'MIGRATE_TO_DEV over a hole');

      // Page 2: read-only zero page.
      assertEq(p.mprotect(b.ptr + 2 * ps, ps, PROT_READ), 0, 'mprotect page 2 PROT_READ');
      const val = loadInt(p, b.ptr + 2 * ps) + 3;
      assertEq(val, 3, 'CPU read of page 2 (+3)');

      // Page 3: written, then read-only.
      assertEq(p.mprotect(b.ptr + 3 * ps, ps, RW), 0, 'mprotect page 3 PROT_READ|PROT_WRITE');
      storeInts(p, b.ptr + 3 * ps, Int32Array.of(val));
      assertEq(p.mprotect(b.ptr + 3 * ps, ps, PROT_READ), 0, 'mprotect page 3 PROT_READ');

      // Pages 4-5: writable, first int written.
      assertEq(p.mprotect(b.ptr + 4 * ps, 2 * ps, RW), 0, 'mprotect pages 4-5 PROT_READ|PROT_WRITE');
      storeInts(p, b.ptr + 4 * ps, Int32Array.of(val));
      storeInts(p, b.ptr + 5 * ps, Int32Array.of(val));

      b.ptr = base + 2 * ps;
      assertEq(migrateSysToDev(p, fd1, b, 4), 0, 'MIGRATE_TO_DEV pages 2-5 to device 1');
      assertEq(b.cpages, 4, 'MIGRATE_TO_DEV cpages');

      b.ptr = base + 5 * ps;
      assertEq(migrateSysToDev(p, fd0, b, 1), -ENOENT, 'MIGRATE_TO_DEV page 5 (on device 1) to device 0');

      b.ptr = base;
      bufferFree(p, b);
    },
  },

  {
    // hmm.migrate_multiple: ten rounds of migrate-to-device and back. Private pages come back by
    // CPU faults; coherent pages never fault, so that variant migrates them back explicitly.
    name: 'migrate_multiple',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      const npages = stdNpages(f);
      const size = npages * pageSize;

      for (let c = 0; c < NTIMES; c++) {
        const b = newBuffer(p, size, size);
        b.ptr = mapped(p.mmap(0, size, RW, PRIV_ANON, -1, 0), 'mmap');

        fillInts(p, b.ptr, size / 4, (i) => i);

        assertEq(migrateSysToDev(p, fd, b, npages), 0, `MIGRATE_TO_DEV (round ${c})`);
        assertEq(b.cpages, npages, `MIGRATE_TO_DEV cpages (round ${c})`);
        expectInts(p, b.mirror, 0, size / 4, (i) => i, `mirror (round ${c})`);

        if (f.variant === 'device_coherent') {
          assertEq(migrateDevToSys(p, fd, b, npages), 0, `MIGRATE_TO_SYS (round ${c})`);
          assertEq(b.cpages, npages, `MIGRATE_TO_SYS cpages (round ${c})`);
        }

        expectInts(p, b.ptr, 0, size / 4, (i) => i, `ptr (round ${c})`);

        bufferFree(p, b);
      }
    },
  },

  {
    // hmm.anon_read_multiple: ten device reads of fresh buffers with different contents; each
    // is one fault pass over all pages and returns exactly that round's data.
    name: 'anon_read_multiple',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      const npages = stdNpages(f);
      const size = npages * pageSize;

      for (let c = 0; c < NTIMES; c++) {
        const b = newBuffer(p, size, size);
        b.ptr = mapped(p.mmap(0, size, RW, PRIV_ANON, -1, 0), 'mmap');

        fillInts(p, b.ptr, size / 4, (i) => i + c);

        assertEq(hmmDmirrorCmd(p, fd, HMM_DMIRROR_READ, b, npages), 0, `READ (round ${c})`);
        assertEq(b.cpages, npages, `READ cpages (round ${c})`);
        assertEq(b.faults, 1, `READ faults (round ${c})`);
        expectInts(p, b.mirror, 0, size / 4, (i) => i + c, `mirror (round ${c})`);

        bufferFree(p, b);
      }
    },
  },

  {
    // hmm.anon_teardown: the upper half of the buffer is unmapped while a device READ of the
    // whole buffer runs. The READ may fail, but if it reports success it must have copied every
    // page (one fault pass) with the right data. The C test races a thread with a random delay;
    // here the munmap is placed deterministically at the READ's lock boundaries: the C test's ten
    // rounds land at boundary c mod (boundaries + 2), then one sweep covers every landing point
    // (before the READ, at each boundary, after it).
    name: 'anon_teardown',
    fixture: 'hmm',
    run(f) {
      const npages = stdNpages(f);
      const size = npages * f.pageSize;

      // Dry run without the munmap to count the READ's lock boundaries.
      const boundaries = teardownRound(f, npages, size, 0, null);
      assertGe(boundaries, 2, 'READ lock boundaries (ioctlSteps yields)');
      const landingPoints = boundaries + 2;

      for (let c = 0; c < NTIMES; c++) teardownRound(f, npages, size, c, c % landingPoints);
      for (let k = 0; k < landingPoints; k++) teardownRound(f, npages, size, k % NTIMES, k);
    },
  },

  {
    // hmm.mixedmap: the device file's own mmap inserts a normal kernel page (VM_MIXEDMAP); in a
    // private mapping it is mapped read-only, so the snapshot reports plain READ.
    name: 'mixedmap',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      const npages = 1;
      const size = npages * pageSize;
      const b = newBuffer(p, size, npages);
      b.ptr = mapped(p.mmap(0, size, RW, MAP_PRIVATE, fd, 0), 'mmap of the device file');

      assertEq(hmmDmirrorCmd(p, fd, HMM_DMIRROR_SNAPSHOT, b, npages), 0, 'SNAPSHOT');
      assertEq(b.cpages, npages, 'SNAPSHOT cpages');

      const m = p.load(b.mirror, npages);
      assertEq(m[0], HMM_DMIRROR_PROT_READ, 'snapshot m[0]');

      bufferFree(p, b);
    },
  },

  {
    // hmm2.snapshot: a non-faulting snapshot of seven pages in seven different states: no
    // access, no VMA, zero page, read-only data, writable data, on this device, on the other
    // device (invisible for private memory, a remote coherent page otherwise).
    name: 'snapshot',
    fixture: 'hmm2',
    run(f) {
      const { p, fd0, fd1, pageSize: ps } = f;
      const npages = 7;
      const size = npages * ps;
      const b = newBuffer(p, size, npages);
      b.ptr = mapped(p.mmap(0, size, PROT_NONE, PRIV_ANON, -1, 0), 'mmap');
      const base = b.ptr;

      assertEq(p.munmap(b.ptr + ps, ps), 0, 'munmap page 1');

      // Page 2: read-only zero page.
      assertEq(p.mprotect(b.ptr + 2 * ps, ps, PROT_READ), 0, 'mprotect page 2 PROT_READ');
      const val = loadInt(p, b.ptr + 2 * ps) + 3;
      assertEq(val, 3, 'CPU read of page 2 (+3)');

      // Page 3: written, then read-only.
      assertEq(p.mprotect(b.ptr + 3 * ps, ps, RW), 0, 'mprotect page 3 PROT_READ|PROT_WRITE');
      storeInts(p, b.ptr + 3 * ps, Int32Array.of(val));
      assertEq(p.mprotect(b.ptr + 3 * ps, ps, PROT_READ), 0, 'mprotect page 3 PROT_READ');

      // Pages 4-6: writable; only page 4 is written.
      assertEq(p.mprotect(b.ptr + 4 * ps, 3 * ps, RW), 0, 'mprotect pages 4-6 PROT_READ|PROT_WRITE');
      storeInts(p, b.ptr + 4 * ps, Int32Array.of(val));

      b.ptr = base + 5 * ps;
      assertEq(migrateSysToDev(p, fd0, b, 1), 0, 'MIGRATE_TO_DEV page 5 to device 0');
      assertEq(b.cpages, 1, 'MIGRATE_TO_DEV page 5 cpages');

      b.ptr = base + 6 * ps;
      assertEq(migrateSysToDev(p, fd1, b, 1), 0, 'MIGRATE_TO_DEV page 6 to device 1');
      assertEq(b.cpages, 1, 'MIGRATE_TO_DEV page 6 cpages');

      b.ptr = base;
      assertEq(hmmDmirrorCmd(p, fd0, HMM_DMIRROR_SNAPSHOT, b, npages), 0, 'SNAPSHOT');
      assertEq(b.cpages, npages, 'SNAPSHOT cpages');

      const m = p.load(b.mirror, npages);
      assertEq(m[0], HMM_DMIRROR_PROT_ERROR, 'm[0] (PROT_NONE)');
      assertEq(m[1], HMM_DMIRROR_PROT_ERROR, 'm[1] (unmapped)');
      assertEq(m[2], HMM_DMIRROR_PROT_ZERO | HMM_DMIRROR_PROT_READ, 'm[2] (zero page)');
      assertEq(m[3], HMM_DMIRROR_PROT_READ, 'm[3] (read-only)');
      assertEq(m[4], HMM_DMIRROR_PROT_WRITE, 'm[4] (writable)');
      if (f.variant !== 'device_coherent') {
        assertEq(m[5], HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL | HMM_DMIRROR_PROT_WRITE, 'm[5] (on device 0)');
        assertEq(m[6], HMM_DMIRROR_PROT_NONE, 'm[6] (on device 1)');
      } else {
        assertEq(m[5], HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL | HMM_DMIRROR_PROT_WRITE, 'm[5] (on device 0)');
        assertEq(m[6], HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE | HMM_DMIRROR_PROT_WRITE, 'm[6] (on device 1)');
      }

      bufferFree(p, b);
    },
  },

  {
    // hmm.compound: a hugetlb page is reported with its mapping level (PMD for 2 MiB, PUD for
    // 1 GiB) on every one of its pages, writable at first and read-only after mprotect.
    // SKIPs without free huge pages.
    name: 'compound',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      const hsize = defaultHugePageSize();
      if (f.machine.hugetlbFreePages() === 0) throw new SelftestSkip('Not enough huge pages');

      const size = alignUp(TWOMEG, hsize);
      const npages = size / pageSize;

      const ptr = p.mmap(0, size, RW, PRIV_ANON | MAP_HUGETLB, -1, 0);
      if (ptr < 0) {
        // C returns here without SKIP (so the run counts as passed); a skip keeps it visible.
        throw new SelftestSkip(`hugetlb mmap failed (${errnoName(ptr)}); the C test returns early here`);
      }

      const b = newBuffer(p, size, npages);
      b.ptr = ptr;

      fillInts(p, b.ptr, size / 4, (i) => i);

      assertEq(hmmDmirrorCmd(p, fd, HMM_DMIRROR_SNAPSHOT, b, npages), 0, 'SNAPSHOT');
      assertEq(b.cpages, npages, 'SNAPSHOT cpages');
      // npages bytes, and npages (a huge page's worth) is at least 1: m[0] exists.
      let m = p.load(b.mirror, npages);
      let prot =
        HMM_DMIRROR_PROT_WRITE | (m[0]! & HMM_DMIRROR_PROT_PUD ? HMM_DMIRROR_PROT_PUD : HMM_DMIRROR_PROT_PMD);
      for (let i = 0; i < npages; i++) if (m[i] !== prot) assertEq(m[i], prot, `snapshot m[${i}]`);

      assertEq(p.mprotect(b.ptr, size, PROT_READ), 0, 'mprotect(PROT_READ)');

      assertEq(hmmDmirrorCmd(p, fd, HMM_DMIRROR_SNAPSHOT, b, npages), 0, 'SNAPSHOT after mprotect');
      assertEq(b.cpages, npages, 'SNAPSHOT cpages after mprotect');
      m = p.load(b.mirror, npages);
      prot =
        HMM_DMIRROR_PROT_READ | (m[0]! & HMM_DMIRROR_PROT_PUD ? HMM_DMIRROR_PROT_PUD : HMM_DMIRROR_PROT_PMD);
      for (let i = 0; i < npages; i++) {
        if (m[i] !== prot) assertEq(m[i], prot, `snapshot after mprotect m[${i}]`);
      }

      p.munmap(b.ptr, b.size);
      b.ptr = 0;
      bufferFree(p, b);
    },
  },

  {
    // hmm2.double_map: two devices read the same read-only pages; then device 1 migrates them,
    // which invalidates device 0's mirror, and device 0 can still read them (fault back for
    // private memory, direct mapping for coherent memory) in one fault pass.
    name: 'double_map',
    fixture: 'hmm2',
    run(f) {
      const { p, fd0, fd1, pageSize } = f;
      const npages = 6;
      const size = npages * pageSize;
      const b = newBuffer(p, size, size);
      b.ptr = mapped(p.mmap(0, size, RW, PRIV_ANON, -1, 0), 'mmap');

      fillInts(p, b.ptr, size / 4, (i) => i);

      assertEq(p.mprotect(b.ptr, size, PROT_READ), 0, 'mprotect(PROT_READ)');

      assertEq(hmmDmirrorCmd(p, fd0, HMM_DMIRROR_READ, b, npages), 0, 'device 0 READ');
      assertEq(b.cpages, npages, 'device 0 READ cpages');
      assertEq(b.faults, 1, 'device 0 READ faults');
      expectInts(p, b.mirror, 0, size / 4, (i) => i, 'device 0 mirror');

      assertEq(hmmDmirrorCmd(p, fd1, HMM_DMIRROR_READ, b, npages), 0, 'device 1 READ');
      assertEq(b.cpages, npages, 'device 1 READ cpages');
      assertEq(b.faults, 1, 'device 1 READ faults');
      expectInts(p, b.mirror, 0, size / 4, (i) => i, 'device 1 mirror');

      assertEq(migrateSysToDev(p, fd1, b, npages), 0, 'MIGRATE_TO_DEV to device 1');
      assertEq(b.cpages, npages, 'MIGRATE_TO_DEV cpages');

      assertEq(hmmDmirrorCmd(p, fd0, HMM_DMIRROR_READ, b, npages), 0, 'device 0 READ after migration');
      assertEq(b.cpages, npages, 'device 0 READ cpages after migration');
      assertEq(b.faults, 1, 'device 0 READ faults after migration');
      expectInts(p, b.mirror, 0, size / 4, (i) => i, 'device 0 mirror after migration');

      bufferFree(p, b);
    },
  },

  {
    // hmm.exclusive: the device takes exclusive (atomic) access to every page; each CPU access
    // reverts the page to a normal mapping and revokes the device's atomic mapping, so the
    // increments land and CHECK_EXCLUSIVE then finds no atomic entry left.
    name: 'exclusive',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      const npages = stdNpages(f);
      const size = npages * pageSize;
      const b = newBuffer(p, size, size);
      b.ptr = mapped(p.mmap(0, size, RW, PRIV_ANON, -1, 0), 'mmap');

      fillInts(p, b.ptr, size / 4, (i) => i);

      assertEq(hmmDmirrorCmd(p, fd, HMM_DMIRROR_EXCLUSIVE, b, npages), 0, 'EXCLUSIVE');
      assertEq(b.cpages, npages, 'EXCLUSIVE cpages');
      expectInts(p, b.mirror, 0, size / 4, (i) => i, 'mirror');

      incrementAndCheck(p, b.ptr, size, pageSize, 'CPU');

      assertEq(hmmDmirrorCmd(p, fd, HMM_DMIRROR_CHECK_EXCLUSIVE, b, npages), 0, 'CHECK_EXCLUSIVE');

      bufferFree(p, b);
    },
  },

  {
    // hmm.exclusive_mprotect: after exclusive access, mprotect(PROT_READ) makes a device write
    // impossible: it needs a write fault the VMA forbids (-EPERM).
    name: 'exclusive_mprotect',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      const npages = stdNpages(f);
      const size = npages * pageSize;
      const b = newBuffer(p, size, size);
      b.ptr = mapped(p.mmap(0, size, RW, PRIV_ANON, -1, 0), 'mmap');

      fillInts(p, b.ptr, size / 4, (i) => i);

      assertEq(hmmDmirrorCmd(p, fd, HMM_DMIRROR_EXCLUSIVE, b, npages), 0, 'EXCLUSIVE');
      assertEq(b.cpages, npages, 'EXCLUSIVE cpages');
      expectInts(p, b.mirror, 0, size / 4, (i) => i, 'mirror');

      assertEq(p.mprotect(b.ptr, size, PROT_READ), 0, 'mprotect(PROT_READ)');

      assertEq(hmmDmirrorCmd(p, fd, HMM_DMIRROR_WRITE, b, npages), -EPERM, 'WRITE to PROT_READ');

      bufferFree(p, b);
    },
  },

  {
    // hmm.exclusive_cow: fork restores device-exclusive entries to normal (COW) mappings;
    // parent and child then each increment every int privately and both see i + 1.
    name: 'exclusive_cow',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      const npages = stdNpages(f);
      const size = npages * pageSize;
      const b = newBuffer(p, size, size);
      b.ptr = mapped(p.mmap(0, size, RW, PRIV_ANON, -1, 0), 'mmap');

      fillInts(p, b.ptr, size / 4, (i) => i);

      assertEq(hmmDmirrorCmd(p, fd, HMM_DMIRROR_EXCLUSIVE, b, npages), 0, 'EXCLUSIVE');
      assertEq(b.cpages, npages, 'EXCLUSIVE cpages');

      const child = p.fork();
      const failure = runChild(child, () => {
        incrementAndCheck(child, b.ptr, size, pageSize, 'child');
      });

      incrementAndCheck(p, b.ptr, size, pageSize, 'parent');

      assertChildExited(child, failure);

      bufferFree(p, b);
    },
  },

  {
    // hmm.hmm_gup_test: get_user_pages on device pages. Plain (and fast) GUP faults private
    // pages back to RAM but leaves coherent pages in place; long-term pins move both kinds to
    // RAM. The snapshot shows where each page ended up; the data must be intact.
    name: 'hmm_gup_test',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize: ps } = f;
      const npages = 4;
      const size = npages * ps;
      const b = newBuffer(p, size, size);
      b.ptr = mapped(p.mmap(0, size, RW, PRIV_ANON, -1, 0), 'mmap');

      fillInts(p, b.ptr, size / 4, (i) => i);

      assertEq(migrateSysToDev(p, fd, b, npages), 0, 'MIGRATE_TO_DEV');
      assertEq(b.cpages, npages, 'MIGRATE_TO_DEV cpages');
      expectInts(p, b.mirror, 0, size / 4, (i) => i, 'mirror');

      // One page each, all with FOLL_WRITE, as the C test's four gup_test commands.
      const gup = (page: number, longterm: boolean, fast: boolean, what: string) =>
        assertEq(f.machine.gupTest(p, b.ptr + page * ps, 1, { longterm, fast }), 0, `gup_test ${what}`);
      gup(0, false, false, 'GUP_BASIC_TEST (page 0)');
      gup(1, false, true, 'GUP_FAST_BENCHMARK (page 1)');
      gup(2, true, true, 'PIN_FAST_BENCHMARK with FOLL_LONGTERM (page 2)');
      gup(3, true, false, 'PIN_LONGTERM_BENCHMARK (page 3)');

      assertEq(hmmDmirrorCmd(p, fd, HMM_DMIRROR_SNAPSHOT, b, npages), 0, 'SNAPSHOT');
      assertEq(b.cpages, npages, 'SNAPSHOT cpages');
      const m = p.load(b.mirror, npages);
      if (f.variant === 'device_coherent') {
        assertEq(m[0], HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL | HMM_DMIRROR_PROT_WRITE, 'm[0]');
        assertEq(m[1], HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL | HMM_DMIRROR_PROT_WRITE, 'm[1]');
      } else {
        assertEq(m[0], HMM_DMIRROR_PROT_WRITE, 'm[0]');
        assertEq(m[1], HMM_DMIRROR_PROT_WRITE, 'm[1]');
      }
      assertEq(m[2], HMM_DMIRROR_PROT_WRITE, 'm[2]');
      assertEq(m[3], HMM_DMIRROR_PROT_WRITE, 'm[3]');

      expectInts(p, b.ptr, 0, size / 4, (i) => i, 'ptr');

      bufferFree(p, b);
    },
  },

  {
    // hmm.hmm_cow_in_device: after fork, the parent's writes to device-resident pages must
    // copy-on-write into system memory (private pages first fault back to RAM; coherent pages
    // are copied directly); the snapshot then shows plain writable system pages.
    name: 'hmm_cow_in_device',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      const npages = 4;
      const size = npages * pageSize;
      const b = newBuffer(p, size, size);
      b.ptr = mapped(p.mmap(0, size, RW, PRIV_ANON, -1, 0), 'mmap');

      fillInts(p, b.ptr, size / 4, (i) => i);

      assertEq(migrateSysToDev(p, fd, b, npages), 0, 'MIGRATE_TO_DEV');
      assertEq(b.cpages, npages, 'MIGRATE_TO_DEV cpages');

      // The child spins until killed: it stays alive while the parent writes.
      const child = p.fork();

      fillInts(p, b.ptr, size / 4, (i) => i);

      child.kill();
      assertEq(child.alive, false, 'kill(child, SIGKILL) + waitpid: child is gone');

      assertEq(hmmDmirrorCmd(p, fd, HMM_DMIRROR_SNAPSHOT, b, npages), 0, 'SNAPSHOT');
      assertEq(b.cpages, npages, 'SNAPSHOT cpages');
      const m = p.load(b.mirror, npages);
      for (let i = 0; i < npages; i++) assertEq(m[i], HMM_DMIRROR_PROT_WRITE, `m[${i}]`);

      bufferFree(p, b);
    },
  },

  {
    // hmm.migrate_anon_huge_empty: an untouched, PMD-aligned, read-only MADV_HUGEPAGE range is
    // one compound hole; it migrates as a whole (a zero-filled device THP) and reads back zeros.
    name: 'migrate_anon_huge_empty',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      const size = readPmdPagesize();
      const b = newBuffer(p, 2 * size, size);
      fillBytes(p, b.mirror, size, 0xff);
      b.ptr = mapped(p.mmap(0, 2 * size, PROT_READ, PRIV_ANON, -1, 0), 'mmap');

      const npages = size / pageSize;
      const map = alignUp(b.ptr, size);
      assertEq(p.madvise(map, size, MADV_HUGEPAGE), 0, 'madvise(MADV_HUGEPAGE)');
      const oldPtr = b.ptr;
      b.ptr = map;

      assertEq(migrateSysToDev(p, fd, b, npages), 0, 'MIGRATE_TO_DEV');
      assertEq(b.cpages, npages, 'MIGRATE_TO_DEV cpages');
      expectInts(p, b.mirror, 0, size / 4, () => 0, 'mirror');

      b.ptr = oldPtr;
      bufferFree(p, b);
    },
  },

  {
    // hmm.migrate_anon_huge_zero: a CPU read maps the huge zero page in a PMD-aligned
    // read-only range; the range migrates as a whole, reads back zeros, and faults back to
    // zeros on CPU access.
    name: 'migrate_anon_huge_zero',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      const size = readPmdPagesize();
      const b = newBuffer(p, 2 * size, size);
      fillBytes(p, b.mirror, size, 0xff);
      b.ptr = mapped(p.mmap(0, 2 * size, PROT_READ, PRIV_ANON, -1, 0), 'mmap');

      const npages = size / pageSize;
      const map = alignUp(b.ptr, size);
      assertEq(p.madvise(map, size, MADV_HUGEPAGE), 0, 'madvise(MADV_HUGEPAGE)');
      const oldPtr = b.ptr;
      b.ptr = map;

      assertEq(loadInts(p, b.ptr, 1)[0], 0, 'CPU read (huge zero page)');

      assertEq(migrateSysToDev(p, fd, b, npages), 0, 'MIGRATE_TO_DEV');
      assertEq(b.cpages, npages, 'MIGRATE_TO_DEV cpages');
      expectInts(p, b.mirror, 0, size / 4, () => 0, 'mirror');

      expectInts(p, b.ptr, 0, size / 4, () => 0, 'ptr (faulted back)');

      b.ptr = oldPtr;
      bufferFree(p, b);
    },
  },

  {
    // hmm.migrate_anon_huge_free: a populated THP range migrates to the device and can then be
    // MADV_FREE'd while device-resident.
    name: 'migrate_anon_huge_free',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      const size = readPmdPagesize();
      const b = newBuffer(p, 2 * size, size);
      fillBytes(p, b.mirror, size, 0xff);
      b.ptr = mapped(p.mmap(0, 2 * size, RW, PRIV_ANON, -1, 0), 'mmap');

      const npages = size / pageSize;
      const map = alignUp(b.ptr, size);
      assertEq(p.madvise(map, size, MADV_HUGEPAGE), 0, 'madvise(MADV_HUGEPAGE)');
      const oldPtr = b.ptr;
      b.ptr = map;

      fillInts(p, b.ptr, size / 4, (i) => i);

      assertEq(migrateSysToDev(p, fd, b, npages), 0, 'MIGRATE_TO_DEV');
      assertEq(b.cpages, npages, 'MIGRATE_TO_DEV cpages');
      expectInts(p, b.mirror, 0, size / 4, (i) => i, 'mirror');

      assertEq(p.madvise(map, size, MADV_FREE), 0, 'madvise(MADV_FREE)');

      b.ptr = oldPtr;
      bufferFree(p, b);
    },
  },

  {
    // hmm.migrate_anon_huge_fault: a collapsed THP migrates as one device THP. For private
    // memory the snapshot shows a local, writable, PMD-sized device mapping on every page and
    // pagemap shows non-present swap-type entries; a CPU read faults the whole THP back.
    name: 'migrate_anon_huge_fault',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      const size = readPmdPagesize();
      const b = newBuffer(p, 2 * size, size);
      fillBytes(p, b.mirror, size, 0xff);
      b.ptr = mapped(p.mmap(0, 2 * size, RW, PRIV_ANON, -1, 0), 'mmap');

      const npages = size / pageSize;
      const map = alignUp(b.ptr, size);
      const oldPtr = b.ptr;
      b.ptr = map;

      fillInts(p, b.ptr, size / 4, (i) => i);

      assertEq(p.madvise(map, size, MADV_COLLAPSE), 0, 'madvise(MADV_COLLAPSE)');

      assertEq(migrateSysToDev(p, fd, b, npages), 0, 'MIGRATE_TO_DEV');
      assertEq(b.cpages, npages, 'MIGRATE_TO_DEV cpages');
      expectInts(p, b.mirror, 0, size / 4, (i) => i, 'mirror');

      if (f.variant !== 'device_coherent') {
        assertEq(hmmDmirrorCmd(p, fd, HMM_DMIRROR_SNAPSHOT, b, npages), 0, 'SNAPSHOT');
        assertEq(b.cpages, npages, 'SNAPSHOT cpages');
        const m = p.load(b.mirror, npages);
        const want = HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL | HMM_DMIRROR_PROT_WRITE | HMM_DMIRROR_PROT_PMD;
        for (let i = 0; i < npages; i++) if (m[i] !== want) assertEq(m[i], want, `snapshot m[${i}]`);

        for (let i = 0; i < npages; i++) {
          const entry = p.pagemap(b.ptr + i * pageSize);
          assertNe(entry & PM_SWAP, 0n, `pagemap[${i}] PM_SWAP`);
          assertEq(entry & PAGEMAP_PRESENT, 0n, `pagemap[${i}] present bit`);
        }
      }

      expectInts(p, b.ptr, 0, size / 4, (i) => i, 'ptr (faulted back)');

      b.ptr = oldPtr;
      bufferFree(p, b);
    },
  },

  {
    // hmm.migrate_partial_unmap_fault: after migrating a PMD-sized range (THP or small pages),
    // unmapping half of it at three different offsets splits the device mapping; the remaining
    // pages still fault back with intact data.
    name: 'migrate_partial_unmap_fault',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      let size = readPmdPagesize();
      if (!size) size = TWOMEG;
      const unmapSize = size / 2;
      const offsets = [0, size / 4, size / 2];

      for (let useThp = 0; useThp < 2; useThp++) {
        for (const offset of offsets) {
          const round = `use_thp=${useThp} offset=${offset}`;
          const b = newBuffer(p, 2 * size, size);
          fillBytes(p, b.mirror, size, 0xff);
          b.ptr = mapped(p.mmap(0, 2 * size, RW, PRIV_ANON, -1, 0), 'mmap');

          const npages = size / pageSize;
          const map = alignUp(b.ptr, size);
          assertEq(p.madvise(map, size, useThp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE), 0, `madvise (${round})`);
          const oldPtr = b.ptr;
          b.ptr = map;

          fillInts(p, b.ptr, size / 4, (i) => i);

          assertEq(migrateSysToDev(p, fd, b, npages), 0, `MIGRATE_TO_DEV (${round})`);
          assertEq(b.cpages, npages, `MIGRATE_TO_DEV cpages (${round})`);
          expectInts(p, b.mirror, 0, size / 4, (i) => i, `mirror (${round})`);

          // Return value not checked in C.
          p.munmap(b.ptr + offset, unmapSize);

          // Read every int outside the unmapped window.
          expectInts(p, b.ptr, 0, offset / 4, (i) => i, `ptr (${round})`);
          const after = (offset + unmapSize) / 4;
          expectInts(p, b.ptr, after, size / 4 - after, (i) => i, `ptr (${round})`);

          b.ptr = oldPtr;
          bufferFree(p, b);
        }
      }
    },
  },

  {
    // hmm.migrate_remap_fault: device-resident memory (THP or small pages) moved by mremap,
    // before or after the migration, with or without MREMAP_DONTUNMAP, to a destination that
    // may not be PMD-aligned: the data must read back intact at the new address.
    name: 'migrate_remap_fault',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      let size = readPmdPagesize();
      if (!size) size = TWOMEG;
      const offsets = [0, size / 4, size / 2];

      for (let before = 0; before < 2; before++) {
        for (let dontUnmap = 0; dontUnmap < 2; dontUnmap++) {
          for (let useThp = 0; useThp < 2; useThp++) {
            for (const offset of offsets) {
              const round = `before=${before} dont_unmap=${dontUnmap} use_thp=${useThp} offset=${offset}`;
              let flags = MREMAP_MAYMOVE | MREMAP_FIXED;
              if (dontUnmap) flags |= MREMAP_DONTUNMAP;

              const b = newBuffer(p, 8 * size, size);
              fillBytes(p, b.mirror, size, 0xff);
              b.ptr = mapped(p.mmap(0, b.size, RW, PRIV_ANON, -1, 0), 'mmap');

              const npages = size / pageSize;
              const map = alignUp(b.ptr, size);
              assertEq(
                p.madvise(map, size, useThp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE),
                0,
                `madvise (${round})`,
              );
              const oldPtr = b.ptr;
              // Make room after the range (return value not checked in C).
              p.munmap(map + size, size * 2);
              b.ptr = map;

              fillInts(p, b.ptr, size / 4, (i) => i);

              let newPtr = 0;
              if (before) {
                newPtr = mapped(p.mremap(map, size, size, flags, map + size + offset), `mremap (${round})`);
                b.ptr = newPtr;
              }

              assertEq(migrateSysToDev(p, fd, b, npages), 0, `MIGRATE_TO_DEV (${round})`);
              assertEq(b.cpages, npages, `MIGRATE_TO_DEV cpages (${round})`);
              expectInts(p, b.mirror, 0, size / 4, (i) => i, `mirror (${round})`);

              if (!before) {
                newPtr = mapped(p.mremap(map, size, size, flags, map + size + offset), `mremap (${round})`);
                b.ptr = newPtr;
              }

              expectInts(p, b.ptr, 0, size / 4, (i) => i, `ptr at the new address (${round})`);

              p.munmap(newPtr, size);
              b.ptr = oldPtr;
              bufferFree(p, b);
            }
          }
        }
      }
    },
  },

  {
    // hmm.migrate_anon_huge_err: with the device's THP allocation forced to fail once, a THP
    // still migrates (as 512 small device pages, splitting the THP); with the system THP
    // allocation forced to fail on the way back, the device THP is split and still returns.
    // A single 4 KiB page faults back correctly in both cases.
    name: 'migrate_anon_huge_err',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      const size = readPmdPagesize();
      const b = newBuffer(p, 2 * size, 2 * size);
      fillBytes(p, b.mirror, 2 * size, 0xff);

      let oldPtr = mapped(p.mmap(0, 2 * size, RW, PRIV_ANON, -1, 0), 'mmap');
      const npages = size / pageSize;
      let map = alignUp(oldPtr, size);
      assertEq(p.madvise(map, size, MADV_HUGEPAGE), 0, 'madvise(MADV_HUGEPAGE)');
      b.ptr = map;

      fillInts(p, b.ptr, size / 4, (i) => i);

      assertEq(
        hmmDmirrorCmd(p, fd, HMM_DMIRROR_FLAGS, b, HMM_DMIRROR_FLAG_FAIL_ALLOC),
        0,
        'FLAGS(FAIL_ALLOC)',
      );
      assertEq(migrateSysToDev(p, fd, b, npages), 0, 'MIGRATE_TO_DEV (device THP allocation fails)');
      assertEq(b.cpages, npages, 'MIGRATE_TO_DEV cpages');
      expectInts(p, b.mirror, 0, size / 4, (i) => i, 'mirror');

      // Fault back one small page (int 2048 is in page 2).
      assertEq(loadInts(p, b.ptr + 2048 * 4, 1)[0], 2048, 'ptr[2048]');

      assertEq(p.munmap(oldPtr, 2 * size), 0, 'munmap');
      oldPtr = mapped(p.mmap(0, 2 * size, RW, PRIV_ANON, -1, 0), 'second mmap');
      map = alignUp(oldPtr, size);
      assertEq(p.madvise(map, size, MADV_HUGEPAGE), 0, 'second madvise(MADV_HUGEPAGE)');
      b.ptr = map;

      fillInts(p, b.ptr, size / 4, (i) => i);

      assertEq(migrateSysToDev(p, fd, b, npages), 0, 'MIGRATE_TO_DEV (device THP)');
      assertEq(b.cpages, npages, 'MIGRATE_TO_DEV cpages (device THP)');

      assertEq(
        hmmDmirrorCmd(p, fd, HMM_DMIRROR_FLAGS, b, HMM_DMIRROR_FLAG_FAIL_ALLOC),
        0,
        'FLAGS(FAIL_ALLOC)',
      );
      assertEq(migrateDevToSys(p, fd, b, npages), 0, 'MIGRATE_TO_SYS (system THP allocation fails)');
      assertEq(loadInts(p, b.ptr + 2048 * 4, 1)[0], 2048, 'ptr[2048] after MIGRATE_TO_SYS');

      b.ptr = oldPtr;
      bufferFree(p, b);
    },
  },

  {
    // hmm.migrate_anon_huge_zero_err: a compound hole migrates through the small-page fallback
    // when the device THP allocation fails (zeros everywhere); then a huge zero page migrates
    // the same way and faults back as zeros.
    name: 'migrate_anon_huge_zero_err',
    fixture: 'hmm',
    run(f) {
      const { p, fd, pageSize } = f;
      const size = readPmdPagesize();
      const b = newBuffer(p, 2 * size, 2 * size);
      fillBytes(p, b.mirror, 2 * size, 0xff);

      let oldPtr = mapped(p.mmap(0, 2 * size, PROT_READ, PRIV_ANON, -1, 0), 'mmap');
      const npages = size / pageSize;
      let map = alignUp(oldPtr, size);
      assertEq(p.madvise(map, size, MADV_HUGEPAGE), 0, 'madvise(MADV_HUGEPAGE)');
      b.ptr = map;

      assertEq(
        hmmDmirrorCmd(p, fd, HMM_DMIRROR_FLAGS, b, HMM_DMIRROR_FLAG_FAIL_ALLOC),
        0,
        'FLAGS(FAIL_ALLOC)',
      );
      assertEq(migrateSysToDev(p, fd, b, npages), 0, 'MIGRATE_TO_DEV (device THP allocation fails)');
      assertEq(b.cpages, npages, 'MIGRATE_TO_DEV cpages');
      expectInts(p, b.mirror, 0, size / 4, () => 0, 'mirror');

      // Fault back one small page.
      const prevPtr = b.ptr;
      assertEq(loadInts(p, prevPtr + 2048 * 4, 1)[0], 0, 'ptr[2048]');

      assertEq(p.munmap(oldPtr, 2 * size), 0, 'munmap');
      oldPtr = mapped(p.mmap(0, 2 * size, PROT_READ, PRIV_ANON, -1, 0), 'second mmap');
      map = alignUp(oldPtr, size);
      assertEq(p.madvise(map, size, MADV_HUGEPAGE), 0, 'second madvise(MADV_HUGEPAGE)');
      b.ptr = map;

      // As in C, this read goes through the previous range's pointer: it relies on the new
      // mapping landing at the same address, where it maps the huge zero page.
      assertEq(loadInts(p, prevPtr, 1)[0], 0, 'ptr[0] (huge zero page)');

      assertEq(
        hmmDmirrorCmd(p, fd, HMM_DMIRROR_FLAGS, b, HMM_DMIRROR_FLAG_FAIL_ALLOC),
        0,
        'FLAGS(FAIL_ALLOC)',
      );
      assertEq(migrateSysToDev(p, fd, b, npages), 0, 'second MIGRATE_TO_DEV (device THP allocation fails)');
      assertEq(b.cpages, npages, 'second MIGRATE_TO_DEV cpages');

      expectInts(p, b.ptr, 0, size / 4, () => 0, 'ptr (faulted back)');

      b.ptr = oldPtr;
      bufferFree(p, b);
    },
  },

  {
    // hmm.benchmark_thp_migration: round trips (to the device and back) of buffers from a
    // quarter THP up to many THPs, with and without THP; every migration must succeed. The C
    // test times them; the model has no clock, so nothing is timed. Runtime cuts: 2 timed
    // rounds instead of 5, and the largest size is 16 THPs instead of 128 (cpages is never
    // checked, so only the amount of work changes).
    name: 'benchmark_thp_migration',
    fixture: 'hmm',
    run(f) {
      let thpSize = readPmdPagesize();
      if (!thpSize) thpSize = TWOMEG;
      const iterations = 2;

      const testSizes = [
        thpSize / 4,
        thpSize / 2,
        thpSize,
        thpSize * 2,
        thpSize * 4,
        thpSize * 8,
        thpSize * 16, // C: thpSize * 128
      ];

      for (const size of testSizes) {
        if (size > INT_MAX) break;
        assertEq(runMigrationBenchmark(f, true, size, iterations), 0, `benchmark with THP (${size} bytes)`);
        assertEq(
          runMigrationBenchmark(f, false, size, iterations),
          0,
          `benchmark without THP (${size} bytes)`,
        );
      }
    },
  },
];
