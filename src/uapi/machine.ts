/**
 * What a process sees: a machine with RAM, four dmirror devices and a tmpfs, and processes
 * with the Linux system calls HMM cares about. Calls return Linux values (an address, a
 * count, 0) or -errno, and never throw for bad input; CPU loads and stores throw SegvError
 * where Linux would deliver SIGSEGV or SIGBUS.
 */

import { type Dmirror, DmirrorDevice } from '../drivers/dmirror.js';
import { GpuDevice, type GpuOptions } from '../drivers/gpu.js';
import type { RdmaNic } from '../drivers/rdma.js';
import {
  EACCES,
  EBADF,
  EFAULT,
  EFBIG,
  EINVAL,
  EISDIR,
  ENODEV,
  ENOENT,
  ENOSPC,
  ENOTDIR,
  ENOTTY,
  FOLL_GET,
  FOLL_LONGTERM,
  FOLL_PIN,
  FOLL_WRITE,
  MAP_ANONYMOUS,
  MEMORY_DEVICE_COHERENT,
  MEMORY_DEVICE_PRIVATE,
  MMU_NOTIFY_CLEAR,
  O_ACCMODE,
  O_CREAT,
  O_DIRECTORY,
  O_RDONLY,
  O_RDWR,
  O_TMPFILE,
  O_TRUNC,
  O_WRONLY,
  PAGE_SIZE,
  PMD_SIZE,
} from '../kernel/constants.js';
import { Kernel, type ThpMode } from '../kernel/kernel.js';
import {
  getUserPages,
  putUserPages,
  shmemGetPage,
  UserFault,
  userRead,
  userWrite,
} from '../kernel/memory.js';
import {
  doMadvise,
  doMmap,
  doMprotect,
  doMremap,
  doMunmap,
  doMunmapSteps,
  dupMmap,
  exitMmap,
  Inode,
  Mm,
  type MmapFile,
  notify,
  notifyEnd,
  zapRange,
} from '../kernel/mm.js';
import {
  PMD_DEVICE_PRIVATE,
  PMD_HUGE,
  PMD_MIGRATION,
  PMD_TABLE,
  PTE_DEVICE_EXCLUSIVE,
  PTE_DEVICE_PRIVATE,
  PTE_MIGRATION,
  PTE_PRESENT,
  PTE_TYPE_MASK,
  pteIndex,
} from '../kernel/pgtable.js';
import type { KernelSteps } from '../kernel/wait.js';
import type { HmmDmirrorCmd } from './test_hmm_uapi.js';

export interface MachineOptions {
  /** RAM size in bytes (default 8 GiB). Memory is only spent on pages that are touched. */
  ramBytes?: number;
  /**
   * Transparent huge pages: 'always', 'madvise' or 'never'. `true` means 'madvise' (THP only
   * where MADV_HUGEPAGE asks for it, the setting many distributions ship); `false` is 'never'.
   */
  thp?: boolean | ThpMode;
  /** Create /dev/hmm_dmirror2 and 3 (DEVICE_COHERENT), as test_hmm does with spm_addr_dev0/1. */
  coherentDevices?: boolean;
  /**
   * Create the test_hmm devices at all (default true). The race explorer builds a machine per
   * replayed schedule and leaves them out where no agent uses them.
   */
  dmirrorDevices?: boolean;
  /** Default-size (2 MiB) hugetlb pages reserved (vm.nr_hugepages). Default 16. */
  hugetlbPages?: number;
}

/**
 * A CPU access that Linux would answer with SIGSEGV (or SIGBUS, or the OOM killer's SIGKILL, see
 * `signal`).
 */
export class SegvError extends Error {
  constructor(
    public readonly addr: number,
    public readonly signal: 'SIGSEGV' | 'SIGBUS' | 'SIGKILL' = 'SIGSEGV',
  ) {
    super(`${signal} at 0x${addr.toString(16)}`);
    this.name = 'SegvError';
  }
}

type OpenFile =
  | { kind: 'dmirror'; refs: number; flags: number; dmirror: Dmirror }
  | { kind: 'file'; refs: number; flags: number; inode: Inode }
  | { kind: 'dir'; refs: number; flags: number };

const DIRECTORIES = new Set(['/', '/tmp', '/dev', '/dev/shm']);

export class Machine {
  readonly kernel: Kernel;
  /** dmirror devices by minor (2 and 3 only with coherentDevices). */
  readonly devices: (DmirrorDevice | undefined)[] = [];
  /** Named tmpfs files. */
  private readonly files = new Map<string, Inode>();
  private nextPid = 1;
  readonly processes: Process[] = [];
  /** SVM GPUs attached with addGpu (their mirrors are checked by the invariant checker). */
  readonly gpus: GpuDevice[] = [];
  /** RDMA NICs attached with addNic (their MRs are checked by the invariant checker). */
  readonly nics: RdmaNic[] = [];

  constructor(options: MachineOptions = {}) {
    const thp: ThpMode =
      options.thp === undefined || options.thp === true
        ? 'madvise'
        : options.thp === false
          ? 'never'
          : options.thp;
    this.kernel = new Kernel({
      ramBytes: options.ramBytes ?? 8 * 2 ** 30,
      thp,
      hugetlbPages: options.hugetlbPages ?? 16,
    });
    const k = this.kernel;
    if (options.dmirrorDevices === false) return;
    this.devices[0] = new DmirrorDevice(k, 0, MEMORY_DEVICE_PRIVATE);
    this.devices[1] = new DmirrorDevice(k, 1, MEMORY_DEVICE_PRIVATE);
    if (options.coherentDevices ?? true) {
      this.devices[2] = new DmirrorDevice(k, 2, MEMORY_DEVICE_COHERENT);
      this.devices[3] = new DmirrorDevice(k, 3, MEMORY_DEVICE_COHERENT);
    }
  }

  /** Attaches an SVM GPU whose VRAM is DEVICE_PRIVATE memory. */
  addGpu(options: GpuOptions): GpuDevice {
    const g = new GpuDevice(this.kernel, options);
    this.gpus.push(g);
    return g;
  }

  /** Attaches an RDMA NIC (built with the P2P design binding it uses). */
  addNic(nic: RdmaNic): RdmaNic {
    this.nics.push(nic);
    return nic;
  }

  /**
   * Hot-unplugs a GPU (GpuDevice.unplug). For a surprise removal, also lists the peer
   * mappings that pointed at the device when it vanished (RDMA MR entries on its BAR or VRAM,
   * other GPUs mapping its VRAM): DMA through them until the removal path invalidated them
   * was lost. A safe removal invalidates peers before the memory goes, so it lists none.
   */
  unplugGpu(
    name: string,
    mode: 'safe' | 'surprise',
  ): { lostPages: number; evictedPages: number; staleMappings: { device: string; va: number }[] } {
    const gpu = this.gpus.find((g) => g.name === name);
    if (!gpu) throw new Error(`no GPU named ${name}`);
    const stale: { device: string; va: number }[] = [];
    if (mode === 'surprise') {
      for (const nic of this.nics) {
        for (const mr of nic.mrs) {
          mr.forEach((va, pfn) => {
            if (gpu.vramPfnOfAlias(pfn) >= 0 || gpu.ownsVram(pfn)) stale.push({ device: nic.name, va });
          });
        }
      }
      for (const other of this.gpus) {
        if (other === gpu) continue;
        for (const mir of other.mirrors) {
          mir.forEach((va, pfn) => {
            if (gpu.ownsVram(pfn)) stale.push({ device: other.name, va });
          });
        }
      }
    }
    const r = gpu.unplug(mode);
    return { ...r, staleMappings: stale };
  }

  /** A new process with an empty address space. */
  spawn(): Process {
    const p = new Process(this, new Mm(this.kernel.newId()), this.nextPid++);
    this.kernel.mms.set(p.mm.id, p.mm);
    this.processes.push(p);
    return p;
  }

  /** @internal */
  forkProcess(parent: Process): Process {
    const mm = new Mm(this.kernel.newId());
    this.kernel.mms.set(mm.id, mm);
    const child = new Process(this, mm, this.nextPid++);
    const r = dupMmap(this.kernel, parent.mm, mm);
    if (r < 0) throw new Error('model bug: fork ran out of memory');
    this.processes.push(child);
    return child;
  }

  /**
   * The gup_test ioctl (mm/gup_test.c): pins `npages` pages at addr with FOLL_WRITE (a
   * long-term pin with FOLL_PIN | FOLL_LONGTERM, else a plain FOLL_GET reference), then
   * releases them. Device-private pages are faulted back to RAM; long-term pins move
   * device-coherent pages to RAM. `fast` selects the *_fast variants, which fall back to the
   * same slow path for anything but present pages. Returns 0 or -errno.
   */
  gupTest(p: Process, addr: number, npages: number, opts: { longterm: boolean; fast: boolean }): number {
    if (!p.alive) return -EINVAL;
    if (!Number.isInteger(addr) || !Number.isInteger(npages) || npages <= 0 || addr % PAGE_SIZE !== 0)
      return -EINVAL;
    const flags = FOLL_WRITE | (opts.longterm ? FOLL_PIN | FOLL_LONGTERM : FOLL_GET);
    const got = getUserPages(this.kernel, p.mm, addr, npages, flags);
    if (typeof got === 'number') return got;
    putUserPages(this.kernel, got, flags);
    return 0;
  }

  /** Free default-size hugetlb pages (HugePages_Free). */
  hugetlbFreePages(): number {
    return this.kernel.hugetlbFree;
  }

  /** @internal tmpfs lookup / create. */
  lookupFile(path: string, create: boolean): Inode | number {
    let inode = this.files.get(path);
    if (inode) return inode;
    if (!create) return -ENOENT;
    inode = new Inode(this.kernel.newId(), path);
    this.kernel.inodes.set(inode.id, inode);
    this.files.set(path, inode);
    return inode;
  }

  /** @internal an unnamed tmpfs file (O_TMPFILE). */
  tmpfile(): Inode {
    const inode = new Inode(this.kernel.newId(), '(unnamed)');
    this.kernel.inodes.set(inode.id, inode);
    return inode;
  }
}

export class Process {
  private readonly fds: (OpenFile | undefined)[] = [];
  alive = true;

  constructor(
    readonly machine: Machine,
    readonly mm: Mm,
    readonly pid: number,
  ) {}

  private get k(): Kernel {
    return this.machine.kernel;
  }

  private file(fd: number): OpenFile | undefined {
    if (!Number.isInteger(fd) || fd < 0) return undefined;
    return this.fds[fd];
  }

  private installFd(f: OpenFile): number {
    let fd = 0;
    while (this.fds[fd] !== undefined) fd++;
    this.fds[fd] = f;
    return fd;
  }

  /** mmap: the address, or -EINVAL / -ENOMEM / -EBADF / -EACCES / -ENODEV. */
  mmap(addr: number, length: number, prot: number, flags: number, fd = -1, offset = 0): number {
    if (!this.alive) return -EINVAL;
    let file: MmapFile | null = null;
    if (!(flags & MAP_ANONYMOUS)) {
      const f = this.file(fd);
      if (!f) return -EBADF;
      const acc = f.flags & O_ACCMODE;
      const readable = acc === O_RDONLY || acc === O_RDWR;
      const writable = acc === O_WRONLY || acc === O_RDWR;
      if (f.kind === 'dir') return -ENODEV;
      if (f.kind === 'file') file = { inode: f.inode, readable, writable };
      else file = { driverMmap: (vma) => f.dmirror.mmap(vma), readable, writable };
      if (!readable) return -EACCES;
    }
    return doMmap(this.k, this.mm, addr, length, prot, flags, file, offset);
  }

  /** munmap: 0 or -EINVAL. */
  munmap(addr: number, length: number): number {
    if (!this.alive) return -EINVAL;
    return doMunmap(this.k, this.mm, addr, length);
  }

  /**
   * munmap as resumable steps (doMunmapSteps): yields at the start of its invalidation and
   * after each interval's callback, for the race explorer. 0 or -EINVAL.
   */
  *munmapSteps(addr: number, length: number): KernelSteps {
    if (!this.alive) return -EINVAL;
    return yield* doMunmapSteps(this.k, this.mm, addr, length);
  }

  /** mprotect: 0 or -EINVAL / -ENOMEM / -EACCES. */
  mprotect(addr: number, length: number, prot: number): number {
    if (!this.alive) return -EINVAL;
    return doMprotect(this.k, this.mm, addr, length, prot);
  }

  /** madvise: 0 or -EINVAL / -ENOMEM / -EAGAIN. */
  madvise(addr: number, length: number, advice: number): number {
    if (!this.alive) return -EINVAL;
    return doMadvise(this.k, this.mm, addr, length, advice);
  }

  /** mremap: the new address or -EINVAL / -EFAULT / -ENOMEM. */
  mremap(oldAddr: number, oldLength: number, newLength: number, flags: number, newAddr?: number): number {
    if (!this.alive) return -EINVAL;
    return doMremap(this.k, this.mm, oldAddr, oldLength, newLength, flags, newAddr);
  }

  /**
   * open: an fd or -ENOENT / -ENOTDIR / -EINVAL / -EISDIR / -EMFILE. '/dev/hmm_dmirrorN'
   * opens a device; a directory with O_TMPFILE gives an unnamed tmpfs file; any other path
   * is a tmpfs file (created with O_CREAT).
   */
  open(path: string, flags: number): number {
    if (!this.alive) return -EINVAL;
    if (typeof path !== 'string' || !Number.isInteger(flags)) return -EINVAL;
    const m = /^\/dev\/hmm_dmirror(\d+)$/.exec(path);
    if (m) {
      const dev = this.machine.devices[Number(m[1])];
      if (!dev) return -ENOENT;
      const dmirror = dev.open(this.mm);
      return this.installFd({ kind: 'dmirror', refs: 1, flags, dmirror });
    }
    const isDir = DIRECTORIES.has(path.replace(/\/+$/, '') || '/');
    if ((flags & O_TMPFILE) === O_TMPFILE) {
      const acc = flags & O_ACCMODE;
      if (acc !== O_WRONLY && acc !== O_RDWR) return -EINVAL;
      if (!isDir) return this.machine.lookupFile(path, false) instanceof Inode ? -ENOTDIR : -ENOENT;
      return this.installFd({ kind: 'file', refs: 1, flags, inode: this.machine.tmpfile() });
    }
    if (isDir) {
      if ((flags & O_ACCMODE) !== O_RDONLY) return -EISDIR;
      return this.installFd({ kind: 'dir', refs: 1, flags });
    }
    if (flags & O_DIRECTORY) return -ENOTDIR;
    const inode = this.machine.lookupFile(path, (flags & O_CREAT) !== 0);
    if (typeof inode === 'number') return inode;
    const fd = this.installFd({ kind: 'file', refs: 1, flags, inode });
    if (flags & O_TRUNC && (flags & O_ACCMODE) !== O_RDONLY) truncate(this.k, inode, 0);
    return fd;
  }

  /** close: 0 or -EBADF. Closing the last reference to a dmirror file evicts its device memory. */
  close(fd: number): number {
    const f = this.file(fd);
    if (!f) return -EBADF;
    this.fds[fd] = undefined;
    releaseFile(f);
    return 0;
  }

  /** ftruncate: 0 or -EBADF / -EINVAL. */
  ftruncate(fd: number, length: number): number {
    const f = this.file(fd);
    if (!f) return -EBADF;
    if (f.kind !== 'file' || !Number.isInteger(length) || length < 0) return -EINVAL;
    const acc = f.flags & O_ACCMODE;
    if (acc !== O_WRONLY && acc !== O_RDWR) return -EINVAL;
    if (length > 2 ** 50) return -EFBIG;
    truncate(this.k, f.inode, length);
    return 0;
  }

  /** pwrite: bytes written or -EBADF / -EINVAL. */
  pwrite(fd: number, bytes: Uint8Array, offset: number): number {
    const f = this.file(fd);
    if (!f) return -EBADF;
    if (f.kind === 'dir') return -EISDIR;
    if (f.kind !== 'file' || !(bytes instanceof Uint8Array)) return -EINVAL;
    const acc = f.flags & O_ACCMODE;
    if (acc !== O_WRONLY && acc !== O_RDWR) return -EBADF;
    if (!Number.isInteger(offset) || offset < 0 || offset + bytes.length > 2 ** 50) return -EINVAL;
    const k = this.k;
    let done = 0;
    while (done < bytes.length) {
      const pos = offset + done;
      const index = Math.floor(pos / PAGE_SIZE);
      const off = pos % PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - off, bytes.length - done);
      const pfn = shmemGetPage(k, f.inode, index, true);
      if (pfn < 0) return done > 0 ? done : -ENOSPC;
      k.frames.write(pfn, off, n, bytes, done);
      done += n;
    }
    f.inode.size = Math.max(f.inode.size, offset + bytes.length);
    return bytes.length;
  }

  /** pread: the bytes read (fewer at end of file) or -EBADF / -EINVAL. */
  pread(fd: number, length: number, offset: number): Uint8Array | number {
    const f = this.file(fd);
    if (!f) return -EBADF;
    if (f.kind === 'dir') return -EISDIR;
    if (f.kind !== 'file') return -EINVAL;
    const acc = f.flags & O_ACCMODE;
    if (acc !== O_RDONLY && acc !== O_RDWR) return -EBADF;
    if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(length) || length < 0) return -EINVAL;
    const n = Math.max(0, Math.min(length, f.inode.size - offset));
    const out = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      const pos = offset + done;
      const index = Math.floor(pos / PAGE_SIZE);
      const off = pos % PAGE_SIZE;
      const c = Math.min(PAGE_SIZE - off, n - done);
      const pfn = shmemGetPage(this.k, f.inode, index, false);
      if (pfn >= 0) this.k.frames.read(pfn, off, c, out, done);
      done += c;
    }
    return out;
  }

  /**
   * ioctl: 0 or -errno (-EBADF, -ENOTTY for a file that is not a device, or the driver's
   * error). On success the driver writes cpages and faults into cmd; on error cmd is left
   * as it was, as the kernel does not copy the command back.
   */
  ioctl(fd: number, request: number, cmd: HmmDmirrorCmd): number {
    const g = this.ioctlSteps(fd, request, cmd);
    let r = g.next();
    while (!r.done) r = g.next();
    return r.value;
  }

  /**
   * The same ioctl as resumable steps: each yield names a kernel lock boundary at which a
   * concurrent thread could run (no mmap lock or driver lock is held there).
   */
  *ioctlSteps(fd: number, request: number, cmd: HmmDmirrorCmd): KernelSteps {
    if (!this.alive) return -EBADF;
    const f = this.file(fd);
    if (!f) return -EBADF;
    if (f.kind !== 'dmirror') return -ENOTTY;
    if (typeof cmd !== 'object' || cmd === null) return -EFAULT;
    f.dmirror.currentMm = this.mm;
    return yield* f.dmirror.ioctlSteps(request, cmd);
  }

  /** CPU loads: `length` bytes at addr. Throws SegvError. */
  load(addr: number, length: number): Uint8Array {
    if (!this.alive) throw new Error('load from a process that has exited');
    if (!Number.isInteger(addr) || !Number.isInteger(length) || length < 0) throw new SegvError(addr);
    try {
      return userRead(this.k, this.mm, addr, length);
    } catch (e) {
      if (e instanceof UserFault) throw new SegvError(e.addr, e.signal);
      throw e;
    }
  }

  /** CPU stores. Throws SegvError (bytes before the faulting page are stored, as on Linux). */
  store(addr: number, bytes: Uint8Array): void {
    if (!this.alive) throw new Error('store to a process that has exited');
    if (!Number.isInteger(addr)) throw new SegvError(addr);
    try {
      userWrite(this.k, this.mm, addr, bytes);
    } catch (e) {
      if (e instanceof UserFault) throw new SegvError(e.addr, e.signal);
      throw e;
    }
  }

  /** fork: the child process, with a copy-on-write copy of the address space and the fds. */
  fork(): Process {
    if (!this.alive) throw new Error('fork of a process that has exited');
    const child = this.machine.forkProcess(this);
    this.fds.forEach((f, fd) => {
      if (f) {
        f.refs++;
        child.fds[fd] = f;
      }
    });
    return child;
  }

  /** exit: the address space is torn down (exit_mmap), then every fd is closed. */
  exit(): void {
    if (!this.alive) return;
    this.alive = false;
    exitMmap(this.k, this.mm);
    this.fds.forEach((f, fd) => {
      if (f) {
        this.fds[fd] = undefined;
        releaseFile(f);
      }
    });
    this.k.mms.delete(this.mm.id);
  }

  /** kill(SIGKILL): the process dies as with exit(). */
  kill(): void {
    this.exit();
  }

  /**
   * The /proc/PID/pagemap entry of addr: bit 63 present (with the PFN in bits 0-54), bit 62
   * swapped (device-private, migration and device-exclusive entries count, as swap entries
   * do; the offset field holds the pfn).
   */
  pagemap(addr: number): bigint {
    const PRESENT = 1n << 63n;
    const SWAP = 1n << 62n;
    const slot = this.mm.pt.slot(addr);
    if (!slot || !this.mm.vmaLookup(addr)) return 0n;
    const idx = pteIndex(addr);
    if (slot.kind === PMD_HUGE) return PRESENT | BigInt(slot.pfn + idx);
    if (slot.kind === PMD_DEVICE_PRIVATE || slot.kind === PMD_MIGRATION)
      return SWAP | (BigInt(slot.pfn + idx) << 5n);
    if (slot.kind !== PMD_TABLE) return 0n;
    const t = slot.table!;
    const type = t.bits[idx]! & PTE_TYPE_MASK;
    if (type === PTE_PRESENT) return PRESENT | BigInt(t.pfn[idx]!);
    if (type === PTE_DEVICE_PRIVATE || type === PTE_MIGRATION || type === PTE_DEVICE_EXCLUSIVE) {
      return SWAP | (BigInt(t.pfn[idx]!) << 5n);
    }
    return 0n;
  }
}

function releaseFile(f: OpenFile): void {
  f.refs--;
  if (f.refs > 0) return;
  if (f.kind === 'dmirror') f.dmirror.release();
}

/** Truncates a tmpfs file: mappings beyond the new size are zapped (CLEAR), pages dropped. */
function truncate(k: Kernel, inode: Inode, length: number): void {
  if (length < inode.size) {
    const firstGone = Math.ceil(length / PAGE_SIZE);
    for (const vma of [...inode.mappings]) {
      const from = vma.start + (firstGone - vma.pgoff) * PAGE_SIZE;
      const s = Math.max(vma.start, from);
      if (s >= vma.end) continue;
      const r = notify(vma.mm, MMU_NOTIFY_CLEAR, s, vma.end);
      zapRange(k, vma.mm, s, vma.end);
      notifyEnd(vma.mm, r);
    }
    for (const [index, pfn] of [...inode.pages]) {
      if (index >= firstGone) {
        inode.pages.delete(index);
        k.folioPut(pfn);
      } else if (index === firstGone - 1 && length % PAGE_SIZE !== 0) {
        // Zero the tail of the last page.
        const off = length % PAGE_SIZE;
        k.frames.write(pfn, off, PAGE_SIZE - off, new Uint8Array(PAGE_SIZE - off), 0);
      }
    }
  }
  inode.size = length;
  void PMD_SIZE;
}
