/**
 * Two pagemap owners in one address space: cases in the style of hmm-tests.c (fixture `hmm2`:
 * /dev/hmm_dmirror0 and 1, or 2 and 3 for device-coherent memory) that hmm-tests.c itself does
 * not have. lib/test_hmm.c gives every dmirror device its own owner (the device, `mdevice`),
 * used as the dev_pagemap owner of its memory, as `hmm_range.dev_private_owner` of its
 * hmm_range_fault calls and as `migrate_vma.pgmap_owner` of its migrations; so device 0 and
 * device 1 here are two owners.
 *
 * What each case rests on (mm/migrate_device.c, mm/hmm.c, read at torvalds/linux and
 * linux-mm/linux-mm):
 * - migrate_vma_collect_pmd() selects a device-private entry only when the migration asks for
 *   MIGRATE_VMA_SELECT_DEVICE_PRIVATE and the page's pgmap owner equals migrate->pgmap_owner;
 *   a present device-coherent page likewise needs MIGRATE_VMA_SELECT_DEVICE_COHERENT and the
 *   same owner. Anything else leaves a 0 source entry: not collected, not unmapped.
 * - hmm_vma_handle_pte() reports a device-private entry as a pfn (never faulting it) only when
 *   its pgmap owner equals range->dev_private_owner; another owner's entry gives 0 when no
 *   fault is requested, and a fault (do_swap_page -> the owner's migrate_to_ram) when one is.
 * - hmm_vma_handle_absent_pmd() is the same decision for a PMD-sized device-private entry,
 *   except that another owner's entry with no fault requested fills HMM_PFN_ERROR, not 0.
 * - hmm_vma_fault() (hmm_do_fault() in the newest tree) refuses a needed write fault with
 *   -EPERM when the VMA lacks VM_WRITE, before handle_mm_fault() runs: nothing migrates.
 * - dmirror_migrate_to_system() counts as cpages the source entries that are both VALID and
 *   MIGRATE after migrate_vma_pages(); dmirror_mkentry() turns hmm pfns into the snapshot
 *   bytes (PROT_NONE for an entry without VALID, PROT_ERROR for HMM_PFN_ERROR, LOCAL/REMOTE
 *   by comparing the page's pgmap owner with the device's own).
 */
import {
  EPERM,
  MADV_COLLAPSE,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
} from '../kernel/constants.js';
import type { Process } from '../uapi/machine.js';
import {
  HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL,
  HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE,
  HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL,
  HMM_DMIRROR_PROT_ERROR,
  HMM_DMIRROR_PROT_NONE,
  HMM_DMIRROR_PROT_PMD,
  HMM_DMIRROR_PROT_READ,
  HMM_DMIRROR_PROT_WRITE,
  HMM_DMIRROR_READ,
  HMM_DMIRROR_SNAPSHOT,
  HMM_DMIRROR_WRITE,
} from '../uapi/test_hmm_uapi.js';
import { assertEq, type HmmFixture, type SelftestCase } from './harness.js';
import {
  alignUp,
  bufferFree,
  expectInts,
  fillInts,
  type HmmBuffer,
  hmmDmirrorCmd,
  mapped,
  migrateDevToSys,
  migrateSysToDev,
  newBuffer,
  readPmdPagesize,
} from './hmm-tests.js';

const RW = PROT_READ | PROT_WRITE;
const PRIV_ANON = MAP_PRIVATE | MAP_ANONYMOUS;

/** SNAPSHOT of `npages` pages from b.ptr through `fd`: the snapshot bytes (mirror is a byte per page). */
function snapshot(p: Process, fd: number, b: HmmBuffer, npages: number, what: string): Uint8Array {
  assertEq(hmmDmirrorCmd(p, fd, HMM_DMIRROR_SNAPSHOT, b, npages), 0, `SNAPSHOT ${what}`);
  assertEq(b.cpages, npages, `SNAPSHOT ${what} cpages`);
  return p.load(b.mirror, npages).slice();
}

/** Every snapshot byte in [from, to) equals want (first mismatch fails, with its index). */
function expectBytes(m: Uint8Array, from: number, to: number, want: number, what: string): void {
  for (let i = from; i < to; i++) if (m[i] !== want) assertEq(m[i], want, `${what} m[${i}]`);
}

/**
 * The snapshot byte of a page that `fd`'s device holds in its own memory (local) or that the
 * other device holds (remote), writable or not, in this variant. A device-private page of
 * another owner is not reported at all by a snapshot (hmm_vma_handle_pte: 0, no fault).
 */
function onDevice(f: HmmFixture, local: boolean, write: boolean): number {
  const perm = write ? HMM_DMIRROR_PROT_WRITE : HMM_DMIRROR_PROT_READ;
  if (f.variant === 'device_coherent') {
    return (local ? HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL : HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE) | perm;
  }
  return local ? HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL | perm : HMM_DMIRROR_PROT_NONE;
}

export const OWNER_TESTS: SelftestCase[] = [
  {
    // hmm2.migrate_to_sys_other_owner: pages 0-3 live on device 0, pages 4-7 on device 1.
    // MIGRATE_TO_SYS through device 0 over all eight pages moves only device 0's four
    // (migrate_vma_collect_pmd: owner mismatch -> not collected); device 1 still holds its
    // pages, and only its own MIGRATE_TO_SYS brings them back. Data is intact throughout.
    name: 'migrate_to_sys_other_owner',
    fixture: 'hmm2',
    run(f) {
      const { p, fd0, fd1, pageSize: ps } = f;
      const npages = 8;
      const half = npages / 2;
      const size = npages * ps;
      const b = newBuffer(p, size, size);
      b.ptr = mapped(p.mmap(0, size, RW, PRIV_ANON, -1, 0), 'mmap');
      const base = b.ptr;
      fillInts(p, b.ptr, size / 4, (i) => i);

      assertEq(migrateSysToDev(p, fd0, b, half), 0, 'MIGRATE_TO_DEV pages 0-3 to device 0');
      assertEq(b.cpages, half, 'MIGRATE_TO_DEV pages 0-3 cpages');
      b.ptr = base + half * ps;
      assertEq(migrateSysToDev(p, fd1, b, half), 0, 'MIGRATE_TO_DEV pages 4-7 to device 1');
      assertEq(b.cpages, half, 'MIGRATE_TO_DEV pages 4-7 cpages');
      b.ptr = base;

      let m = snapshot(p, fd1, b, npages, 'through device 1 before');
      expectBytes(m, 0, half, onDevice(f, false, true), 'device 1 snapshot (pages on device 0)');
      expectBytes(m, half, npages, onDevice(f, true, true), 'device 1 snapshot (pages on device 1)');

      assertEq(migrateDevToSys(p, fd0, b, npages), 0, 'MIGRATE_TO_SYS through device 0');
      assertEq(b.cpages, half, 'MIGRATE_TO_SYS through device 0 cpages (its own pages only)');

      m = snapshot(p, fd1, b, npages, 'through device 1 after device 0 migrated');
      expectBytes(m, 0, half, HMM_DMIRROR_PROT_WRITE, 'device 1 snapshot (back in RAM)');
      expectBytes(m, half, npages, onDevice(f, true, true), 'device 1 snapshot (still on device 1)');
      m = snapshot(p, fd0, b, npages, 'through device 0 after it migrated');
      expectBytes(m, 0, half, HMM_DMIRROR_PROT_WRITE, 'device 0 snapshot (back in RAM)');
      expectBytes(m, half, npages, onDevice(f, false, true), 'device 0 snapshot (on device 1)');

      assertEq(migrateDevToSys(p, fd1, b, npages), 0, 'MIGRATE_TO_SYS through device 1');
      assertEq(b.cpages, half, 'MIGRATE_TO_SYS through device 1 cpages');
      m = snapshot(p, fd1, b, npages, 'through device 1 at the end');
      expectBytes(m, 0, npages, HMM_DMIRROR_PROT_WRITE, 'device 1 snapshot (all in RAM)');

      expectInts(p, b.ptr, 0, size / 4, (i) => i, 'ptr');
      bufferFree(p, b);
    },
  },

  {
    // hmm2.read_other_owner: every page lives on device 1. A faulting READ through device 0
    // returns the right data in one fault pass. For private memory the fault migrates the
    // pages back to RAM (hmm_vma_handle_pte: another owner's entry with a fault requested
    // faults, and do_swap_page calls device 1's migrate_to_ram), so device 1 no longer holds
    // them; coherent pages are mapped by present PTEs, so device 0 reads them in place and they
    // stay on device 1.
    name: 'read_other_owner',
    fixture: 'hmm2',
    run(f) {
      const { p, fd0, fd1, pageSize: ps } = f;
      const npages = 8;
      const size = npages * ps;
      const b = newBuffer(p, size, size);
      b.ptr = mapped(p.mmap(0, size, RW, PRIV_ANON, -1, 0), 'mmap');
      fillInts(p, b.ptr, size / 4, (i) => i);

      assertEq(migrateSysToDev(p, fd1, b, npages), 0, 'MIGRATE_TO_DEV to device 1');
      assertEq(b.cpages, npages, 'MIGRATE_TO_DEV cpages');

      let m = snapshot(p, fd0, b, npages, 'through device 0 before its READ');
      expectBytes(m, 0, npages, onDevice(f, false, true), 'device 0 snapshot');

      assertEq(hmmDmirrorCmd(p, fd0, HMM_DMIRROR_READ, b, npages), 0, 'device 0 READ');
      assertEq(b.cpages, npages, 'device 0 READ cpages');
      assertEq(b.faults, 1, 'device 0 READ faults');
      expectInts(p, b.mirror, 0, size / 4, (i) => i, 'device 0 mirror');

      m = snapshot(p, fd1, b, npages, 'through device 1 after device 0 read');
      const after = f.variant === 'device_coherent' ? onDevice(f, true, true) : HMM_DMIRROR_PROT_WRITE;
      expectBytes(m, 0, npages, after, 'device 1 snapshot');

      expectInts(p, b.ptr, 0, size / 4, (i) => i, 'ptr');
      bufferFree(p, b);
    },
  },

  {
    // hmm2.write_other_owner_readonly: every page lives on device 1, then the range becomes
    // read-only. A WRITE through device 0 needs a write fault on another owner's pages, which
    // hmm_vma_fault refuses with -EPERM before any fault runs: the pages stay on device 1,
    // read-only. A READ through device 0 still succeeds (migrating private pages back).
    name: 'write_other_owner_readonly',
    fixture: 'hmm2',
    run(f) {
      const { p, fd0, fd1, pageSize: ps } = f;
      const npages = 8;
      const size = npages * ps;
      const b = newBuffer(p, size, size);
      b.ptr = mapped(p.mmap(0, size, RW, PRIV_ANON, -1, 0), 'mmap');
      fillInts(p, b.ptr, size / 4, (i) => i);

      assertEq(migrateSysToDev(p, fd1, b, npages), 0, 'MIGRATE_TO_DEV to device 1');
      assertEq(b.cpages, npages, 'MIGRATE_TO_DEV cpages');
      assertEq(p.mprotect(b.ptr, size, PROT_READ), 0, 'mprotect(PROT_READ)');

      let m = snapshot(p, fd1, b, npages, 'through device 1 after mprotect');
      expectBytes(m, 0, npages, onDevice(f, true, false), 'device 1 snapshot');

      assertEq(hmmDmirrorCmd(p, fd0, HMM_DMIRROR_WRITE, b, npages), -EPERM, 'device 0 WRITE');

      m = snapshot(p, fd1, b, npages, 'through device 1 after the refused WRITE');
      expectBytes(m, 0, npages, onDevice(f, true, false), 'device 1 snapshot');

      assertEq(hmmDmirrorCmd(p, fd0, HMM_DMIRROR_READ, b, npages), 0, 'device 0 READ');
      assertEq(b.cpages, npages, 'device 0 READ cpages');
      expectInts(p, b.mirror, 0, size / 4, (i) => i, 'device 0 mirror');
      m = snapshot(p, fd1, b, npages, 'through device 1 after device 0 read');
      const after = f.variant === 'device_coherent' ? onDevice(f, true, false) : HMM_DMIRROR_PROT_READ;
      expectBytes(m, 0, npages, after, 'device 1 snapshot');

      expectInts(p, b.ptr, 0, size / 4, (i) => i, 'ptr');
      bufferFree(p, b);
    },
  },

  {
    // hmm2.migrate_huge_other_owner: a collapsed THP migrates to device 1. Private memory
    // takes it as one device THP (a device-private PMD); the coherent test device has only
    // small pages (test_hmm allocates its one coherent chunk without large folios), so there
    // the THP lands as 512 pages. MIGRATE_TO_SYS through device 0 collects none of it (the
    // owner check, at PMD level for the device THP); a non-faulting snapshot through device 0
    // reports HMM_PFN_ERROR for every page of another owner's device-private PMD
    // (hmm_vma_handle_absent_pmd), while device 1 sees its own mapping. Device 1's
    // MIGRATE_TO_SYS then brings it all back (one COMPOUND source entry for the device THP:
    // dmirror_successful_migrated_pages counts entries, not pages).
    name: 'migrate_huge_other_owner',
    fixture: 'hmm2',
    run(f) {
      const { p, fd0, fd1, pageSize: ps } = f;
      const size = readPmdPagesize();
      const npages = size / ps;
      const b = newBuffer(p, 2 * size, size);
      b.ptr = mapped(p.mmap(0, 2 * size, RW, PRIV_ANON, -1, 0), 'mmap');
      const oldPtr = b.ptr;
      b.ptr = alignUp(b.ptr, size);
      fillInts(p, b.ptr, size / 4, (i) => i);
      assertEq(p.madvise(b.ptr, size, MADV_COLLAPSE), 0, 'madvise(MADV_COLLAPSE)');

      assertEq(migrateSysToDev(p, fd1, b, npages), 0, 'MIGRATE_TO_DEV to device 1');
      assertEq(b.cpages, npages, 'MIGRATE_TO_DEV cpages');

      const thp = f.variant === 'device_private';
      const local = onDevice(f, true, true) | (thp ? HMM_DMIRROR_PROT_PMD : 0);
      const remote = thp ? HMM_DMIRROR_PROT_ERROR : onDevice(f, false, true);
      let m = snapshot(p, fd1, b, npages, 'through device 1');
      expectBytes(m, 0, npages, local, 'device 1 snapshot');
      m = snapshot(p, fd0, b, npages, 'through device 0');
      expectBytes(m, 0, npages, remote, 'device 0 snapshot');

      assertEq(migrateDevToSys(p, fd0, b, npages), 0, 'MIGRATE_TO_SYS through device 0');
      assertEq(b.cpages, 0, 'MIGRATE_TO_SYS through device 0 cpages');
      m = snapshot(p, fd1, b, npages, 'through device 1 after device 0 migrated');
      expectBytes(m, 0, npages, local, 'device 1 snapshot');

      assertEq(migrateDevToSys(p, fd1, b, npages), 0, 'MIGRATE_TO_SYS through device 1');
      assertEq(b.cpages, thp ? 1 : npages, 'MIGRATE_TO_SYS through device 1 cpages (entries)');
      m = snapshot(p, fd1, b, npages, 'through device 1 at the end');
      const ram = HMM_DMIRROR_PROT_WRITE | (thp ? HMM_DMIRROR_PROT_PMD : 0);
      expectBytes(m, 0, npages, ram, 'device 1 snapshot');

      expectInts(p, b.ptr, 0, size / 4, (i) => i, 'ptr');
      b.ptr = oldPtr;
      bufferFree(p, b);
    },
  },
];
