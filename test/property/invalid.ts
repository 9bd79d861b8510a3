/**
 * Invalid calls for the "bad input leaves the model unchanged" property. Each case names the
 * Linux rule it exercises and the errno Linux returns (or the signal for a CPU access).
 */
import fc from 'fast-check';
import { checkInvariants, stateDigest } from '../../src/check/invariants.js';
import {
  EACCES,
  EBADF,
  EEXIST,
  EFAULT,
  EINVAL,
  ENODEV,
  ENOENT,
  ENOMEM,
  ENOTTY,
  EPERM,
  errnoName,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_FIXED_NOREPLACE,
  MAP_HUGETLB,
  MAP_PRIVATE,
  MAP_SHARED,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  O_CREAT,
  O_RDONLY,
  O_RDWR,
  PAGE_SIZE,
  PMD_SIZE,
  PROT_READ,
  PROT_WRITE,
  TASK_SIZE,
} from '../../src/kernel/constants.js';
import { type Process, SegvError } from '../../src/uapi/machine.js';
import {
  HMM_DMIRROR_CHECK_EXCLUSIVE,
  HMM_DMIRROR_EXCLUSIVE,
  HMM_DMIRROR_FLAGS,
  HMM_DMIRROR_MIGRATE_TO_DEV,
  HMM_DMIRROR_MIGRATE_TO_SYS,
  HMM_DMIRROR_READ,
  HMM_DMIRROR_RELEASE,
  HMM_DMIRROR_SNAPSHOT,
  HMM_DMIRROR_WRITE,
  type HmmDmirrorCmd,
} from '../../src/uapi/test_hmm_uapi.js';
import { opArb } from './arbitraries.js';
import { FIXED_BASE, HOLE_BASE, type Op, World } from './world.js';

const PS = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const PRIV_ANON = MAP_PRIVATE | MAP_ANONYMOUS;

const ALL_REQUESTS = [
  HMM_DMIRROR_READ,
  HMM_DMIRROR_WRITE,
  HMM_DMIRROR_MIGRATE_TO_DEV,
  HMM_DMIRROR_MIGRATE_TO_SYS,
  HMM_DMIRROR_SNAPSHOT,
  HMM_DMIRROR_EXCLUSIVE,
  HMM_DMIRROR_CHECK_EXCLUSIVE,
  HMM_DMIRROR_RELEASE,
  HMM_DMIRROR_FLAGS,
];

/** What an invalid call works with, set up before the digest is taken. */
export interface InvalidCtx {
  p: Process;
  /** An 8-page private anonymous RW mapping, two pages of it populated. */
  mapped: number;
  /** End of the VMA that contains `mapped` (it may have merged with a neighbour). */
  mappedVmaEnd: number;
  /** A buffer for cmd.ptr (RW, populated). */
  scratch: number;
  /** Never mapped. */
  hole: number;
  /** A dmirror fd of p. */
  devFd: number;
  /** A tmpfs file opened O_RDWR (4 pages), the same file O_RDONLY, and /tmp. */
  fileFd: number;
  roFd: number;
  dirFd: number;
  /** MAP_SHARED PROT_READ mapping of roFd (4 pages, populated). */
  roMap: number;
}

export interface InvalidCall {
  what: string;
  /** The expected errno (negative), or the expected signal of a CPU access. */
  expect: number | 'SIGSEGV';
  run: () => number;
}

const cmdAt = (addr: number, ptr: number, npages: number): HmmDmirrorCmd => ({
  addr,
  ptr,
  npages,
  cpages: 0,
  faults: 0,
});

const hx = (n: number) => `0x${n.toString(16)}`;

type Builder = (c: InvalidCtx, r: number, r2: number) => InvalidCall;

/** Every invalid call, by name. `r` and `r2` vary offsets, lengths and flag choices. */
export const INVALID_CASES: Record<string, Builder> = {
  munmap_unaligned: (c, r) => {
    const a = c.mapped + 1 + (r % (PS - 1));
    return { what: `munmap(${hx(a)}, 1p)`, expect: -EINVAL, run: () => c.p.munmap(a, PS) };
  },
  munmap_zero_len: (c) => ({
    what: 'munmap(mapped, 0)',
    expect: -EINVAL,
    run: () => c.p.munmap(c.mapped, 0),
  }),
  munmap_negative_len: (c, r) => {
    const len = -(1 + (r % 16)) * PS;
    return { what: `munmap(mapped, ${len})`, expect: -EINVAL, run: () => c.p.munmap(c.mapped, len) };
  },
  munmap_past_task_size: (c, r) => {
    const a = TASK_SIZE - (1 + (r % 4)) * PS;
    return { what: `munmap(${hx(a)}, 8p)`, expect: -EINVAL, run: () => c.p.munmap(a, 8 * PS) };
  },
  munmap_non_integer: (c) => ({
    what: 'munmap(mapped + 0.5, 1p)',
    expect: -EINVAL,
    run: () => c.p.munmap(c.mapped + 0.5, PS),
  }),
  mmap_zero_len: (c) => ({
    what: 'mmap(0, 0, RW, PRIVATE|ANON)',
    expect: -EINVAL,
    run: () => c.p.mmap(0, 0, RW, PRIV_ANON),
  }),
  mmap_no_map_type: (c) => ({
    what: 'mmap(0, 1p, RW, ANON) (neither SHARED nor PRIVATE)',
    expect: -EINVAL,
    run: () => c.p.mmap(0, PS, RW, MAP_ANONYMOUS),
  }),
  mmap_fixed_unaligned: (c, r) => {
    const a = FIXED_BASE + 1 + (r % (PS - 1));
    return {
      what: `mmap(${hx(a)}, 1p, RW, PRIVATE|ANON|FIXED)`,
      expect: -EINVAL,
      run: () => c.p.mmap(a, PS, RW, PRIV_ANON | MAP_FIXED),
    };
  },
  mmap_bad_fd: (c, r) => {
    const fd = 100 + (r % 100);
    return {
      what: `mmap(0, 1p, R, SHARED, fd ${fd})`,
      expect: -EBADF,
      run: () => c.p.mmap(0, PS, PROT_READ, MAP_SHARED, fd),
    };
  },
  mmap_directory: (c) => ({
    what: 'mmap(0, 1p, R, SHARED, /tmp)',
    expect: -ENODEV,
    run: () => c.p.mmap(0, PS, PROT_READ, MAP_SHARED, c.dirFd),
  }),
  mmap_fixed_noreplace_over_mapping: (c, r) => {
    const a = c.mapped + (r % 8) * PS;
    return {
      what: `mmap(${hx(a)}, 1p, RW, PRIVATE|ANON|FIXED_NOREPLACE)`,
      expect: -EEXIST,
      run: () => c.p.mmap(a, PS, RW, PRIV_ANON | MAP_FIXED_NOREPLACE),
    };
  },
  mmap_file_unaligned_offset: (c, r) => {
    const off = 1 + (r % (PS - 1));
    return {
      what: `mmap(0, 1p, R, SHARED, file, offset ${off})`,
      expect: -EINVAL,
      run: () => c.p.mmap(0, PS, PROT_READ, MAP_SHARED, c.fileFd, off),
    };
  },
  mmap_shared_write_of_readonly_fd: (c) => ({
    what: 'mmap(0, 1p, RW, SHARED, O_RDONLY file)',
    expect: -EACCES,
    run: () => c.p.mmap(0, PS, RW, MAP_SHARED, c.roFd),
  }),
  mmap_hugetlb_with_file: (c) => ({
    what: 'mmap(0, 2M, R, SHARED|HUGETLB, tmpfs file)',
    expect: -EINVAL,
    run: () => c.p.mmap(0, PMD_SIZE, PROT_READ, MAP_SHARED | MAP_HUGETLB, c.fileFd),
  }),
  mmap_larger_than_address_space: (c) => ({
    what: 'mmap(0, 2^48, RW, PRIVATE|ANON)',
    expect: -ENOMEM,
    run: () => c.p.mmap(0, 2 ** 48, RW, PRIV_ANON),
  }),
  mprotect_unaligned: (c, r) => {
    const a = c.mapped + 1 + (r % (PS - 1));
    return { what: `mprotect(${hx(a)}, 1p, R)`, expect: -EINVAL, run: () => c.p.mprotect(a, PS, PROT_READ) };
  },
  mprotect_negative_len: (c) => ({
    what: 'mprotect(mapped, -1p, R)',
    expect: -EINVAL,
    run: () => c.p.mprotect(c.mapped, -PS, PROT_READ),
  }),
  mprotect_unknown_prot_bits: (c, r) => {
    // Not PROT_SEM (0x8), which x86 accepts, nor PROT_GROWSDOWN/UP.
    const bit = [0x10, 0x20, 0x40, 0x80, 0x100, 0x1000][r % 6]!;
    return {
      what: `mprotect(mapped, 1p, R|0x${bit.toString(16)})`,
      expect: -EINVAL,
      run: () => c.p.mprotect(c.mapped, PS, PROT_READ | bit),
    };
  },
  mprotect_unmapped: (c, r) => {
    const n = 1 + (r % 8);
    return {
      what: `mprotect(hole, ${n}p, R)`,
      expect: -ENOMEM,
      run: () => c.p.mprotect(c.hole, n * PS, PROT_READ),
    };
  },
  mprotect_write_on_readonly_shared_file: (c) => ({
    what: 'mprotect(read-only shared file mapping, 1p, RW)',
    expect: -EACCES,
    run: () => c.p.mprotect(c.roMap, PS, RW),
  }),
  madvise_unaligned: (c, r) => {
    const a = c.mapped + 1 + (r % (PS - 1));
    return {
      what: `madvise(${hx(a)}, 1p, DONTNEED)`,
      expect: -EINVAL,
      run: () => c.p.madvise(a, PS, MADV_DONTNEED),
    };
  },
  madvise_unknown_advice: (c, r) => {
    // 5-7 are unassigned; 26+ and 1000 are not advice values (the model has no MADV_REMOVE etc.).
    const advice = [5, 6, 7, 26, 27, 50, 99, 1000, -1][r % 9]!;
    return {
      what: `madvise(mapped, 1p, ${advice})`,
      expect: -EINVAL,
      run: () => c.p.madvise(c.mapped, PS, advice),
    };
  },
  madvise_negative_len: (c) => ({
    what: 'madvise(mapped, -1p, DONTNEED)',
    expect: -EINVAL,
    run: () => c.p.madvise(c.mapped, -PS, MADV_DONTNEED),
  }),
  madvise_unmapped: (c, r, r2) => {
    const n = 1 + (r % 8);
    const advice = [MADV_DONTNEED, MADV_FREE, MADV_HUGEPAGE, MADV_NOHUGEPAGE][r2 % 4]!;
    return {
      what: `madvise(hole, ${n}p, ${advice})`,
      expect: -ENOMEM,
      run: () => c.p.madvise(c.hole, n * PS, advice),
    };
  },
  madvise_free_on_file_mapping: (c) => ({
    what: 'madvise(shared file mapping, 1p, FREE)',
    expect: -EINVAL,
    run: () => c.p.madvise(c.roMap, PS, MADV_FREE),
  }),
  mremap_unknown_flags: (c, r) => {
    const f = [8, 16, 0x80, 0x100][r % 4]!;
    return {
      what: `mremap(mapped, 1p, 1p, 0x${f.toString(16)})`,
      expect: -EINVAL,
      run: () => c.p.mremap(c.mapped, PS, PS, f),
    };
  },
  mremap_fixed_without_maymove: (c) => ({
    what: 'mremap(mapped, 1p, 1p, FIXED, FIXED_BASE)',
    expect: -EINVAL,
    run: () => c.p.mremap(c.mapped, PS, PS, MREMAP_FIXED, FIXED_BASE),
  }),
  mremap_dontunmap_without_maymove: (c) => ({
    what: 'mremap(mapped, 1p, 1p, DONTUNMAP)',
    expect: -EINVAL,
    run: () => c.p.mremap(c.mapped, PS, PS, MREMAP_DONTUNMAP),
  }),
  mremap_dontunmap_resize: (c, r) => {
    const n = 2 + (r % 4);
    return {
      what: `mremap(mapped, 1p, ${n}p, MAYMOVE|DONTUNMAP)`,
      expect: -EINVAL,
      run: () => c.p.mremap(c.mapped, PS, n * PS, MREMAP_MAYMOVE | MREMAP_DONTUNMAP),
    };
  },
  mremap_unaligned: (c, r) => {
    const a = c.mapped + 1 + (r % (PS - 1));
    return {
      what: `mremap(${hx(a)}, 1p, 2p, MAYMOVE)`,
      expect: -EINVAL,
      run: () => c.p.mremap(a, PS, 2 * PS, MREMAP_MAYMOVE),
    };
  },
  mremap_zero_new_len: (c) => ({
    what: 'mremap(mapped, 1p, 0, MAYMOVE)',
    expect: -EINVAL,
    run: () => c.p.mremap(c.mapped, PS, 0, MREMAP_MAYMOVE),
  }),
  mremap_unmapped: (c) => ({
    what: 'mremap(hole, 1p, 2p, MAYMOVE)',
    expect: -EFAULT,
    run: () => c.p.mremap(c.hole, PS, 2 * PS, MREMAP_MAYMOVE),
  }),
  mremap_fixed_overlapping: (c, r) => {
    const to = c.mapped + (1 + (r % 3)) * PS;
    return {
      what: `mremap(mapped, 4p, 4p, MAYMOVE|FIXED, ${hx(to)})`,
      expect: -EINVAL,
      run: () => c.p.mremap(c.mapped, 4 * PS, 4 * PS, MREMAP_MAYMOVE | MREMAP_FIXED, to),
    };
  },
  mremap_fixed_unaligned_target: (c, r) => {
    const to = FIXED_BASE + 1 + (r % (PS - 1));
    return {
      what: `mremap(mapped, 1p, 1p, MAYMOVE|FIXED, ${hx(to)})`,
      expect: -EINVAL,
      run: () => c.p.mremap(c.mapped, PS, PS, MREMAP_MAYMOVE | MREMAP_FIXED, to),
    };
  },
  mremap_old_range_past_vma: (c, r) => {
    const len = c.mappedVmaEnd - c.mapped + (1 + (r % 4)) * PS;
    return {
      what: `mremap(mapped, ${len / PS}p (past the VMA end), +1p, MAYMOVE)`,
      expect: -EFAULT,
      run: () => c.p.mremap(c.mapped, len, len + PS, MREMAP_MAYMOVE),
    };
  },
  close_bad_fd: (c, r) => {
    const fd = [-1, 999, 1.5, Number.NaN, 64][r % 5]!;
    return { what: `close(${fd})`, expect: -EBADF, run: () => c.p.close(fd) };
  },
  ioctl_bad_fd: (c, r) => {
    const req = ALL_REQUESTS[r % ALL_REQUESTS.length]!;
    return {
      what: 'ioctl(999, dmirror request)',
      expect: -EBADF,
      run: () => c.p.ioctl(999, req, cmdAt(c.mapped, c.scratch, 1)),
    };
  },
  ioctl_on_tmpfs_file: (c, r) => {
    const req = ALL_REQUESTS[r % ALL_REQUESTS.length]!;
    return {
      what: 'ioctl(tmpfs fd, dmirror request)',
      expect: -ENOTTY,
      run: () => c.p.ioctl(c.fileFd, req, cmdAt(c.mapped, c.scratch, 1)),
    };
  },
  ioctl_on_directory: (c) => ({
    what: 'ioctl(/tmp fd, READ)',
    expect: -ENOTTY,
    run: () => c.p.ioctl(c.dirFd, HMM_DMIRROR_READ, cmdAt(c.mapped, c.scratch, 1)),
  }),
  ioctl_unknown_request: (c, r) => {
    // _IOWR('H', nr, struct hmm_dmirror_cmd) with an unassigned nr, or unrelated numbers.
    const req = [3 * 2 ** 30 + 40 * 2 ** 16 + 0x48 * 2 ** 8 + 9 + (r % 50), 0x1234, 0, 0x5401][r % 4]!;
    return {
      what: `ioctl(dmirror fd, 0x${req.toString(16)})`,
      expect: -EINVAL,
      run: () => c.p.ioctl(c.devFd, req, cmdAt(c.mapped, c.scratch, 1)),
    };
  },
  ioctl_unaligned_addr: (c, r, r2) => {
    const req = ALL_REQUESTS[r2 % ALL_REQUESTS.length]!;
    const a = c.mapped + 1 + (r % (PS - 1));
    return {
      what: `ioctl(dmirror fd, request #${r2 % ALL_REQUESTS.length}, addr ${hx(a)})`,
      expect: -EINVAL,
      run: () => c.p.ioctl(c.devFd, req, cmdAt(a, c.scratch, 1)),
    };
  },
  ioctl_zero_npages: (c, r) => {
    const req = ALL_REQUESTS[r % ALL_REQUESTS.length]!;
    return {
      what: `ioctl(dmirror fd, request #${r % ALL_REQUESTS.length}, npages 0)`,
      expect: -EINVAL,
      run: () => c.p.ioctl(c.devFd, req, cmdAt(c.mapped, c.scratch, 0)),
    };
  },
  ioctl_npages_overflow: (c, r) => {
    const req = ALL_REQUESTS[r % ALL_REQUESTS.length]!;
    return {
      what: `ioctl(dmirror fd, request #${r % ALL_REQUESTS.length}, npages 2^52 (addr + size wraps))`,
      expect: -EINVAL,
      run: () => c.p.ioctl(c.devFd, req, cmdAt(c.mapped, c.scratch, 2 ** 52)),
    };
  },
  ioctl_null_cmd: (c) => ({
    what: 'ioctl(dmirror fd, READ, NULL)',
    expect: -EFAULT,
    run: () => c.p.ioctl(c.devFd, HMM_DMIRROR_READ, null as unknown as HmmDmirrorCmd),
  }),
  ioctl_read_unmapped: (c, r) => ({
    what: `ioctl(READ, hole, ${1 + (r % 8)}p)`,
    expect: -EFAULT,
    run: () => c.p.ioctl(c.devFd, HMM_DMIRROR_READ, cmdAt(c.hole, c.scratch, 1 + (r % 8))),
  }),
  ioctl_write_unmapped: (c, r) => ({
    what: `ioctl(WRITE, hole, ${1 + (r % 8)}p)`,
    expect: -EFAULT,
    run: () => c.p.ioctl(c.devFd, HMM_DMIRROR_WRITE, cmdAt(c.hole, c.scratch, 1 + (r % 8))),
  }),
  ioctl_migrate_unmapped: (c, r) => {
    const req = r % 2 ? HMM_DMIRROR_MIGRATE_TO_DEV : HMM_DMIRROR_MIGRATE_TO_SYS;
    return {
      what: `ioctl(MIGRATE_TO_${r % 2 ? 'DEV' : 'SYS'}, hole)`,
      expect: -EINVAL,
      run: () => c.p.ioctl(c.devFd, req, cmdAt(c.hole, c.scratch, 1 + (r % 8))),
    };
  },
  ioctl_exclusive_unmapped: (c) => ({
    what: 'ioctl(EXCLUSIVE, hole)',
    expect: -EFAULT,
    run: () => c.p.ioctl(c.devFd, HMM_DMIRROR_EXCLUSIVE, cmdAt(c.hole, c.scratch, 1)),
  }),
  ioctl_write_readonly_mapping: (c, r) => ({
    what: `ioctl(WRITE, read-only shared file mapping, ${1 + (r % 4)}p)`,
    expect: -EPERM,
    run: () => c.p.ioctl(c.devFd, HMM_DMIRROR_WRITE, cmdAt(c.roMap, c.scratch, 1 + (r % 4))),
  }),
  ioctl_write_unmapped_buffer: (c) => ({
    what: 'ioctl(WRITE, mapped, ptr = hole)',
    expect: -EFAULT,
    run: () => c.p.ioctl(c.devFd, HMM_DMIRROR_WRITE, cmdAt(c.mapped, c.hole, 1)),
  }),
  ioctl_exclusive_readonly_mapping: (c) => ({
    what: 'ioctl(EXCLUSIVE, read-only shared file mapping)',
    expect: -EFAULT,
    run: () => c.p.ioctl(c.devFd, HMM_DMIRROR_EXCLUSIVE, cmdAt(c.roMap, c.scratch, 1)),
  }),
  gup_zero_pages: (c) => ({
    what: 'gupTest(mapped, 0 pages)',
    expect: -EINVAL,
    run: () => c.p.machine.gupTest(c.p, c.mapped, 0, { longterm: false, fast: false }),
  }),
  gup_unaligned: (c, r) => ({
    what: 'gupTest(mapped + off, 1)',
    expect: -EINVAL,
    run: () =>
      c.p.machine.gupTest(c.p, c.mapped + 1 + (r % (PS - 1)), 1, { longterm: r % 2 === 0, fast: false }),
  }),
  gup_unmapped: (c, r) => ({
    what: 'gupTest(hole, n)',
    expect: -EFAULT,
    run: () => c.p.machine.gupTest(c.p, c.hole, 1 + (r % 4), { longterm: r % 2 === 0, fast: r % 3 === 0 }),
  }),
  gup_write_readonly_mapping: (c, r) => ({
    what: 'gupTest(read-only shared file mapping, 1) (FOLL_WRITE)',
    expect: -EFAULT,
    run: () => c.p.machine.gupTest(c.p, c.roMap, 1, { longterm: r % 2 === 0, fast: r % 3 === 0 }),
  }),
  open_missing_file: (c, r) => ({
    what: 'open(missing tmpfs file, O_RDWR)',
    expect: -ENOENT,
    run: () => c.p.open(`/tmp/missing-${r}`, O_RDWR),
  }),
  open_missing_device: (c, r) => ({
    what: `open(/dev/hmm_dmirror${4 + (r % 5)})`,
    expect: -ENOENT,
    run: () => c.p.open(`/dev/hmm_dmirror${4 + (r % 5)}`, O_RDWR),
  }),
  ftruncate_bad_fd: (c) => ({
    what: 'ftruncate(999, 1p)',
    expect: -EBADF,
    run: () => c.p.ftruncate(999, PS),
  }),
  ftruncate_device: (c) => ({
    what: 'ftruncate(dmirror fd, 1p)',
    expect: -EINVAL,
    run: () => c.p.ftruncate(c.devFd, PS),
  }),
  ftruncate_readonly_fd: (c) => ({
    what: 'ftruncate(O_RDONLY fd, 0)',
    expect: -EINVAL,
    run: () => c.p.ftruncate(c.roFd, 0),
  }),
  pwrite_readonly_fd: (c) => ({
    what: 'pwrite(O_RDONLY fd)',
    expect: -EBADF,
    run: () => c.p.pwrite(c.roFd, new Uint8Array(8), 0),
  }),
  pread_bad_fd: (c) => ({
    what: 'pread(999)',
    expect: -EBADF,
    run: () => {
      const r = c.p.pread(999, 8, 0);
      return typeof r === 'number' ? r : 0;
    },
  }),
  store_unmapped: (c, r) => ({
    what: 'store(hole)',
    expect: 'SIGSEGV',
    run: () => {
      c.p.store(c.hole + (r % PS), new Uint8Array(1 + (r % 64)).fill(0x77));
      return 0;
    },
  }),
  load_unmapped: (c, r) => ({
    what: 'load(hole)',
    expect: 'SIGSEGV',
    run: () => {
      c.p.load(c.hole + (r % PS), 1 + (r % 64));
      return 0;
    },
  }),
  store_readonly_mapping: (c, r) => ({
    what: 'store(read-only shared file mapping)',
    expect: 'SIGSEGV',
    run: () => {
      c.p.store(c.roMap + (r % (4 * PS - 64)), new Uint8Array(1 + (r % 64)).fill(0x77));
      return 0;
    },
  }),
};

export const INVALID_CASE_NAMES = Object.keys(INVALID_CASES);

/** Sets up the context: a mapping, a tmpfs file and its read-only shared mapping, and fds. */
export function setupInvalidCtx(p: Process, devFd: number, scratch: number, tag: number): InvalidCtx {
  const must = (r: number, what: string) => {
    if (r < 0) throw new Error(`invalid-input setup: ${what} failed with ${r}`);
    return r;
  };
  const mapped = must(p.mmap(0, 8 * PS, RW, PRIV_ANON), 'mmap');
  p.store(mapped + 10, Uint8Array.of(1, 2, 3));
  p.store(mapped + 3 * PS, Uint8Array.of(4, 5, 6));
  const path = `/tmp/invalid-${tag}`;
  const fileFd = must(p.open(path, O_CREAT | O_RDWR), 'open file');
  must(p.ftruncate(fileFd, 4 * PS), 'ftruncate');
  must(p.pwrite(fileFd, new Uint8Array(100).fill(9), PS), 'pwrite');
  const roFd = must(p.open(path, O_RDONLY), 'open O_RDONLY');
  const roMap = must(p.mmap(0, 4 * PS, PROT_READ, MAP_SHARED, roFd, 0), 'mmap read-only file');
  p.load(roMap, 4 * PS);
  const dirFd = must(p.open('/tmp', O_RDONLY), 'open /tmp');
  // WRITE copies cmd.ptr in first (copy_from_user faults the buffer in): populate it, so that
  // a failing WRITE has nothing left to change.
  for (let i = 0; i < 16; i++) p.store(scratch + i * PS, Uint8Array.of(i + 1));
  const vma = p.mm.vmaLookup(mapped)!;
  return {
    p,
    mapped,
    mappedVmaEnd: vma.end,
    scratch,
    hole: HOLE_BASE + 0x1000_0000,
    devFd,
    fileFd,
    roFd,
    dirFd,
    roMap,
  };
}

/**
 * The invalid-input scenario: a few valid ops to build state (checked by the data oracle),
 * a context, then 1-4 invalid calls, each compared against stateDigest before and after.
 */
export const invalidArb = fc.record({
  prefix: fc.array(opArb, { minLength: 0, maxLength: 12 }),
  pi: fc.nat({ max: 5 }),
  calls: fc.array(fc.record({ kind: fc.constantFrom(...INVALID_CASE_NAMES), r: fc.nat(), r2: fc.nat() }), {
    minLength: 1,
    maxLength: 4,
  }),
});

let tag = 0;
export type InvalidScenario = { prefix: Op[]; pi: number; calls: { kind: string; r: number; r2: number }[] };

export function runInvalid({ prefix, pi, calls }: InvalidScenario): void {
  const w = new World(); // the oracle checks each step; invariants are checked at the end
  const log: string[] = [];
  const fail = (msg: string): never => {
    throw new Error(
      `${msg}\n--- valid prefix ---\n${w.log.join('\n')}\n--- invalid calls ---\n${log.join('\n')}`,
    );
  };
  try {
    for (const op of [
      { t: 'mmap', pi: 0, shared: false, huge: false, thp: false, pages: 4, prot: 3, fixed: -1 } as Op,
      ...prefix,
    ])
      w.step(op);
  } catch (e) {
    fail(`the valid prefix failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  const ps = w.procs[pi % w.procs.length]!;
  // A device fd that mirrors this process (an inherited one mirrors its parent).
  let devFd = [...ps.fds].find(([, d]) => d.opener === ps)?.[0];
  if (devFd === undefined) devFd = ps.p.open('/dev/hmm_dmirror0', O_RDWR);
  const c = setupInvalidCtx(ps.p, devFd, ps.scratch, tag++);
  for (const { kind, r, r2 } of calls) {
    const call = INVALID_CASES[kind]!(c, r, r2);
    const before = stateDigest(w.m);
    let got: number | string;
    try {
      got = call.run();
    } catch (e) {
      if (e instanceof SegvError) got = e.signal;
      else fail(`${kind}: ${call.what} threw ${e instanceof Error ? e.stack : String(e)}`);
    }
    const show = (x: number | string) => (typeof x === 'number' ? (x < 0 ? errnoName(x) : String(x)) : x);
    log.push(`${kind}: ${call.what} -> ${show(got!)}`);
    if (got! !== call.expect)
      fail(`${kind}: ${call.what} returned ${show(got!)}, expected ${show(call.expect)}`);
    const after = stateDigest(w.m);
    if (after !== before) {
      const b = before.split('\n');
      const a = after.split('\n');
      const diff = [
        ...b.filter((l) => !a.includes(l)).map((l) => `- ${l}`),
        ...a.filter((l) => !b.includes(l)).map((l) => `+ ${l}`),
      ];
      fail(`${kind}: ${call.what} changed the model state:\n${diff.slice(0, 30).join('\n')}`);
    }
  }
  const v = checkInvariants(w.m);
  if (v.length > 0) fail(`invariants violated after the invalid calls:\n${v.join('\n')}`);
}
