/**
 * The executor of the random-operation property: a Machine plus the test's own bookkeeping
 * (processes, fds, and the data shadow of shadow.ts). Each `step` resolves an abstract op
 * against the current state, runs it, checks the result against what Linux would do, and
 * updates the shadow. A mismatch throws OracleFailure; `checkAll` runs the cross-cutting
 * checks (the model's invariants and VMA layout against the shadow).
 */
import { checkInvariants } from '../../src/check/invariants.js';
import {
  EAGAIN,
  EFAULT,
  EINVAL,
  ENOENT,
  ENOMEM,
  EOPNOTSUPP,
  EPERM,
  errnoName,
  MADV_COLLAPSE,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_HUGEPAGE,
  MADV_NOHUGEPAGE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  MREMAP_DONTUNMAP,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  O_RDWR,
  PAGE_SIZE,
  PMD_SIZE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  VM_SHARED,
} from '../../src/kernel/constants.js';
import {
  PMD_DEVICE_PRIVATE,
  PMD_TABLE,
  PTE_DEVICE_PRIVATE,
  PTE_TYPE_MASK,
  PTE_WRITE,
  pteIndex,
} from '../../src/kernel/pgtable.js';
import { Machine, type Process, SegvError } from '../../src/uapi/machine.js';
import {
  HMM_DMIRROR_CHECK_EXCLUSIVE,
  HMM_DMIRROR_EXCLUSIVE,
  HMM_DMIRROR_FLAG_FAIL_ALLOC,
  HMM_DMIRROR_FLAGS,
  HMM_DMIRROR_MIGRATE_TO_DEV,
  HMM_DMIRROR_MIGRATE_TO_SYS,
  HMM_DMIRROR_READ,
  HMM_DMIRROR_RELEASE,
  HMM_DMIRROR_SNAPSHOT,
  HMM_DMIRROR_WRITE,
  type HmmDmirrorCmd,
} from '../../src/uapi/test_hmm_uapi.js';
import {
  beyondEof,
  describeState,
  deviceMaybeWrote,
  deviceWrote,
  hexPrefix,
  isReadable,
  isWritable,
  newSharedObj,
  observe,
  type PageMap,
  type PageState,
  storeInto,
  ZERO_STATE,
} from './shadow.js';

export const PS = PAGE_SIZE;
/** Per-process buffer for the ioctls' cmd.ptr (the C tests' malloc'd mirror). RWX so it never merges. */
export const SCRATCH_PAGES = 512;
/** Never mapped: "bad" addresses. */
export const HOLE_BASE = 0x3000_0000_0000;
/** MAP_FIXED / MREMAP_FIXED targets: slots of 8 MiB, away from where mmap places mappings. */
export const FIXED_BASE = 0x5000_0000_0000;
export const FIXED_SLOT = 4 * PMD_SIZE;
export const MAX_PROCS = 3;
const RW = PROT_READ | PROT_WRITE;
const RWX = RW | PROT_EXEC;

export class OracleFailure extends Error {
  constructor(msg: string) {
    super(msg);
    this.name = 'OracleFailure';
  }
}

/** How an op picks an address range. */
export interface Sel {
  /** Which mapping (index into the process's VMAs, scratch excluded). */
  v: number;
  /** First page within it (modulo its size). */
  off: number;
  /** Pages (modulo what is left, unless `bad`). */
  len: number;
  /** The whole mapping from its start. */
  whole: boolean;
  /** A PMD-aligned 2 MiB block of the mapping, where it has one (THP paths). */
  pmd: boolean;
  /** 0: inside one mapping; 1: runs past the mapping's end; 2: an address never mapped. */
  bad: 0 | 1 | 2;
}

export type IoctlKind =
  | 'READ'
  | 'WRITE'
  | 'MIGRATE_TO_DEV'
  | 'MIGRATE_TO_SYS'
  | 'SNAPSHOT'
  | 'EXCLUSIVE'
  | 'CHECK_EXCLUSIVE'
  | 'RELEASE'
  | 'FLAGS';

export type MremapMode = 'shrink' | 'grow' | 'inplace' | 'fixed' | 'dontunmap';

export type Op =
  | {
      t: 'mmap';
      pi: number;
      shared: boolean;
      huge: boolean;
      thp: boolean;
      pages: number;
      prot: number;
      fixed: number;
    }
  | { t: 'munmap'; pi: number; sel: Sel }
  | { t: 'mprotect'; pi: number; sel: Sel; prot: number }
  | { t: 'madvise'; pi: number; sel: Sel; advice: number }
  | { t: 'mremap'; pi: number; sel: Sel; mode: MremapMode; delta: number; slot: number; alt: boolean }
  | { t: 'store'; pi: number; sel: Sel; off: number; len: number }
  | { t: 'load'; pi: number; sel: Sel; off: number; len: number }
  | { t: 'fork'; pi: number }
  | { t: 'exit'; pi: number }
  | { t: 'ioctl'; pi: number; fd: number; req: IoctlKind; sel: Sel }
  | { t: 'reopen'; pi: number; fd: number; minor: number }
  | { t: 'gup'; pi: number; sel: Sel; longterm: boolean; fast: boolean };

const REQUESTS: Record<IoctlKind, number> = {
  READ: HMM_DMIRROR_READ,
  WRITE: HMM_DMIRROR_WRITE,
  MIGRATE_TO_DEV: HMM_DMIRROR_MIGRATE_TO_DEV,
  MIGRATE_TO_SYS: HMM_DMIRROR_MIGRATE_TO_SYS,
  SNAPSHOT: HMM_DMIRROR_SNAPSHOT,
  EXCLUSIVE: HMM_DMIRROR_EXCLUSIVE,
  CHECK_EXCLUSIVE: HMM_DMIRROR_CHECK_EXCLUSIVE,
  RELEASE: HMM_DMIRROR_RELEASE,
  FLAGS: HMM_DMIRROR_FLAGS,
};

const ADVICE_NAMES: Record<number, string> = {
  [MADV_DONTNEED]: 'DONTNEED',
  [MADV_FREE]: 'FREE',
  [MADV_HUGEPAGE]: 'HUGEPAGE',
  [MADV_NOHUGEPAGE]: 'NOHUGEPAGE',
  [MADV_COLLAPSE]: 'COLLAPSE',
};

const PROT_NAMES = ['NONE', 'R', 'W', 'RW', 'X', 'RX', 'WX', 'RWX'];

/** An open file description of a dmirror device. */
interface FileDesc {
  id: number;
  minor: number;
  opener: ProcState;
  refs: number;
}

export interface ProcState {
  p: Process;
  name: string;
  /** Virtual page number -> what the page maps (the scratch buffer included). */
  pages: Map<number, PageMap>;
  scratch: number;
  fds: Map<number, FileDesc>;
}

const hex = (n: number) => (n < 0 ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`);
const res = (r: number) => (r < 0 ? errnoName(r) : r >= 0x10000 ? hex(r) : String(r));

export class World {
  readonly m: Machine;
  readonly procs: ProcState[] = [];
  readonly log: string[] = [];
  private stamp = 0;
  private nextDesc = 1;
  /** Open dmirror files with at least one fd. */
  private readonly descs = new Set<FileDesc>();

  constructor() {
    this.m = new Machine({ ramBytes: 256 * 2 ** 20 });
    // test_hmm oopses on a READ/WRITE that faults in a device-private page of its own device
    // (dmirror_do_fault stores it, dmirror_do_read's memcpy_from_page has no kernel mapping to
    // use: KernelOops). Random sequences reach that often; mirror the backing page instead, so
    // the properties keep checking the kernel model rather than stopping at test_hmm's bug.
    for (const dev of this.m.devices) if (dev) dev.faultMapsBackingPage = true;
    const p = this.m.spawn();
    const ps: ProcState = { p, name: `P${p.pid}`, pages: new Map(), scratch: 0, fds: new Map() };
    const s = p.mmap(0, SCRATCH_PAGES * PS, RWX, MAP_PRIVATE | MAP_ANONYMOUS);
    if (s < 0) throw new Error(`setup: scratch mmap failed ${errnoName(s)}`);
    ps.scratch = s;
    for (let i = 0; i < SCRATCH_PAGES; i++)
      ps.pages.set(s / PS + i, { kind: 'priv', prot: RWX, st: ZERO_STATE });
    this.procs.push(ps);
    for (const minor of [0, 1]) this.openDev(ps, minor);
    this.log.push(`setup: ${ps.name} scratch ${hex(s)}, fds ${[...ps.fds.keys()].join(',')}`);
  }

  private openDev(ps: ProcState, minor: number): number {
    const fd = ps.p.open(`/dev/hmm_dmirror${minor}`, O_RDWR);
    if (fd < 0) throw new OracleFailure(`${ps.name}: open /dev/hmm_dmirror${minor} failed ${errnoName(fd)}`);
    if (ps.fds.has(fd)) throw new OracleFailure(`${ps.name}: open returned fd ${fd}, which is already open`);
    const d: FileDesc = { id: this.nextDesc++, minor, opener: ps, refs: 1 };
    ps.fds.set(fd, d);
    this.descs.add(d);
    return fd;
  }

  fail(msg: string): never {
    throw new OracleFailure(msg);
  }

  private expectEq(what: string, got: number, want: number): void {
    if (got !== want) this.fail(`${what}: returned ${res(got)}, expected ${res(want)}`);
  }

  private expectIn(what: string, got: number, allowed: number[]): void {
    if (!allowed.includes(got))
      this.fail(`${what}: returned ${res(got)}, expected one of ${allowed.map(res).join(', ')}`);
  }

  private proc(pi: number): ProcState {
    return this.procs[pi % this.procs.length]!;
  }

  private nextPattern(len: number): Uint8Array {
    const s = ++this.stamp;
    const b = new Uint8Array(len);
    for (let i = 0; i < len; i++) b[i] = (s * 97 + i * 31 + (i >>> 8) * 7 + 1) & 0xff;
    // A stamp every 64 bytes makes every store recognisable wherever it lands.
    for (let i = 0; i + 4 <= len; i += 64) {
      b[i] = 0xa5;
      b[i + 1] = s & 0xff;
      b[i + 2] = (s >>> 8) & 0xff;
      b[i + 3] = 0x5a;
    }
    return b;
  }

  // ---- address selection ------------------------------------------------------------------

  /** The process's mappings (model VMAs) other than the scratch buffer. */
  private intervals(ps: ProcState): [number, number][] {
    return ps.p.mm.vmas
      .filter((v) => v.start !== ps.scratch)
      .map((v) => [v.start, v.end] as [number, number]);
  }

  /** Resolves a selection to [addr, npages], never touching the scratch buffer. */
  resolve(ps: ProcState, sel: Sel, cap: number): [number, number] {
    const iv = this.intervals(ps);
    let addr: number;
    let n: number;
    if (sel.bad === 2 || iv.length === 0) {
      addr = HOLE_BASE + (sel.off % 64) * PS;
      n = Math.max(1, Math.min(cap, sel.len));
    } else {
      let pick = sel.v % iv.length;
      const hasBlock = ([s, e]: [number, number]) => Math.ceil(s / PMD_SIZE) * PMD_SIZE + PMD_SIZE <= e;
      if (sel.pmd) {
        // The next mapping (cyclically) that holds a whole aligned 2 MiB block.
        for (let k = 0; k < iv.length; k++) {
          if (hasBlock(iv[(pick + k) % iv.length]!)) {
            pick = (pick + k) % iv.length;
            break;
          }
        }
      }
      const [s, e] = iv[pick]!;
      const vp = (e - s) / PS;
      const block = Math.ceil(s / PMD_SIZE) * PMD_SIZE;
      if (sel.pmd && block + PMD_SIZE <= e) {
        addr = block;
        n = Math.min(PMD_SIZE / PS + (sel.bad === 1 ? sel.len : 0), cap);
      } else if (sel.whole) {
        addr = s;
        n = Math.min(vp + (sel.bad === 1 ? sel.len : 0), cap);
      } else {
        const first = sel.off % vp;
        addr = s + first * PS;
        n = sel.bad === 1 ? vp - first + sel.len : 1 + ((sel.len - 1) % (vp - first));
        n = Math.max(1, Math.min(cap, n));
      }
    }
    const sEnd = ps.scratch + SCRATCH_PAGES * PS;
    if (addr < ps.scratch && addr + n * PS > ps.scratch) n = (ps.scratch - addr) / PS;
    if (addr >= ps.scratch && addr < sEnd) throw new Error('test bug: selection inside the scratch buffer');
    return [addr, n];
  }

  // ---- shadow helpers ---------------------------------------------------------------------

  private pm(ps: ProcState, va: number): PageMap | undefined {
    return ps.pages.get(Math.floor(va / PS));
  }

  private stateOf(pm: PageMap): PageState {
    return pm.kind === 'priv' ? pm.st : (pm.obj.pages.get(pm.index) ?? ZERO_STATE);
  }

  private setState(ps: ProcState, vpn: number, st: PageState): void {
    const pm = ps.pages.get(vpn)!;
    if (pm.kind === 'priv') ps.pages.set(vpn, { kind: 'priv', prot: pm.prot, st });
    else pm.obj.pages.set(pm.index, st);
  }

  private unmapShadow(ps: ProcState, addr: number, n: number): void {
    for (let i = 0; i < n; i++) ps.pages.delete(addr / PS + i);
  }

  /** Checks `len` observed bytes of [addr, addr+len) against the shadow and narrows it. */
  private checkData(ps: ProcState, addr: number, data: Uint8Array, what: string): void {
    let done = 0;
    while (done < data.length) {
      const a = addr + done;
      const off = a % PS;
      const n = Math.min(PS - off, data.length - done);
      const vpn = Math.floor(a / PS);
      const pm = ps.pages.get(vpn);
      if (!pm) this.fail(`${what}: data check at ${hex(a)}, which the shadow says is unmapped`);
      const st = this.stateOf(pm);
      const next = observe(st, off, data, done, n);
      if (!next) {
        let firstDiff = -1;
        const c0 = st.cands[0] ?? null;
        for (let i = 0; i < n; i++) {
          const want = c0 ? c0[off + i]! : 0;
          if (data[done + i] !== want) {
            firstDiff = i;
            break;
          }
        }
        this.fail(
          `${what}: data mismatch in ${ps.name} page ${hex(vpn * PS)} (bytes ${off}..${off + n}):\n` +
            `  observed [${hexPrefix(data.subarray(done, done + n))}] (first difference from candidate 0 at byte ${off + firstDiff})\n` +
            `  expected ${describeState(st)} (slice at ${off}: [${st.cands
              .map((c) => (c ? hexPrefix(c.subarray(off, off + n)) : 'zero'))
              .join('] | [')}])`,
        );
      }
      if (next !== st) this.setState(ps, vpn, next);
      done += n;
    }
  }

  /** The exact content of a page (it must have a single candidate), for WRITE's source buffer. */
  private exactPage(ps: ProcState, va: number): Uint8Array {
    const pm = this.pm(ps, va)!;
    const st = this.stateOf(pm);
    if (st.cands.length !== 1 || st.lazy) throw new Error(`test bug: scratch page ${hex(va)} is ambiguous`);
    return st.cands[0] ?? new Uint8Array(PS);
  }

  // ---- the ops ------------------------------------------------------------------------------

  step(op: Op): void {
    const i = this.log.length;
    let line: string;
    try {
      line = this.run(op);
    } catch (e) {
      this.log.push(`#${i} FAILED at ${JSON.stringify(op)}`);
      throw e;
    }
    this.log.push(`#${i} ${line}`);
  }

  private run(op: Op): string {
    switch (op.t) {
      case 'mmap':
        return this.doMmap(op);
      case 'munmap':
        return this.doMunmap(op);
      case 'mprotect':
        return this.doMprotect(op);
      case 'madvise':
        return this.doMadvise(op);
      case 'mremap':
        return this.doMremap(op);
      case 'store':
        return this.doStore(op);
      case 'load':
        return this.doLoad(op);
      case 'fork':
        return this.doFork(op);
      case 'exit':
        return this.doExit(op);
      case 'ioctl':
        return this.doIoctl(op);
      case 'reopen':
        return this.doReopen(op);
      case 'gup':
        return this.doGup(op);
    }
  }

  private doMmap(op: Extract<Op, { t: 'mmap' }>): string {
    const ps = this.proc(op.pi);
    const n = op.huge ? 512 : op.pages;
    const fixed = op.fixed >= 0;
    const want = fixed ? FIXED_BASE + op.fixed * FIXED_SLOT + (op.huge ? 0 : (op.fixed % 3) * 5 * PS) : 0;
    const flags = (op.shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS | (fixed ? MAP_FIXED : 0);
    const call = `${ps.name}.mmap(${hex(want)}, ${n}p, ${PROT_NAMES[op.prot]}, ${op.shared ? 'SHARED' : 'PRIVATE'}|ANON${fixed ? '|FIXED' : ''})`;
    const r = ps.p.mmap(want, n * PS, op.prot, flags);
    if (r < 0 || r % PS !== 0) this.fail(`${call}: returned ${res(r)}`);
    if (fixed && r !== want) this.fail(`${call}: MAP_FIXED returned ${hex(r)}`);
    if (!fixed) {
      for (let i = 0; i < n; i++)
        if (ps.pages.has(r / PS + i))
          this.fail(`${call}: returned ${hex(r)}, overlapping an existing mapping`);
    }
    this.unmapShadow(ps, r, n);
    const obj = op.shared ? newSharedObj(n) : null;
    for (let i = 0; i < n; i++) {
      ps.pages.set(
        r / PS + i,
        obj
          ? { kind: 'shared', prot: op.prot, obj, index: i }
          : { kind: 'priv', prot: op.prot, st: ZERO_STATE },
      );
    }
    let extra = '';
    if (op.thp && !op.shared) {
      const a = ps.p.madvise(r, n * PS, MADV_HUGEPAGE);
      this.expectEq(`${call} then madvise(HUGEPAGE)`, a, 0);
      extra = ' +HUGEPAGE';
    }
    return `${call} -> ${hex(r)}${extra}`;
  }

  private doMunmap(op: Extract<Op, { t: 'munmap' }>): string {
    const ps = this.proc(op.pi);
    const [a, n] = this.resolve(ps, op.sel, 1024);
    const call = `${ps.name}.munmap(${hex(a)}, ${n}p)`;
    const r = ps.p.munmap(a, n * PS);
    this.expectEq(call, r, 0);
    this.unmapShadow(ps, a, n);
    return `${call} -> ${res(r)}`;
  }

  private doMprotect(op: Extract<Op, { t: 'mprotect' }>): string {
    const ps = this.proc(op.pi);
    let [a, n] = this.resolve(ps, op.sel, 1024);
    // Linux changes the VMAs before a hole in the middle of the range, the model documents
    // that it checks first; only holes at the start (no change on either) are generated.
    let mapped = 0;
    while (mapped < n && this.pm(ps, a + mapped * PS)) mapped++;
    if (mapped > 0) n = mapped;
    const call = `${ps.name}.mprotect(${hex(a)}, ${n}p, ${PROT_NAMES[op.prot]})`;
    const r = ps.p.mprotect(a, n * PS, op.prot);
    if (mapped === 0) {
      this.expectEq(call, r, -ENOMEM);
      return `${call} -> ${res(r)}`;
    }
    this.expectEq(call, r, 0);
    for (let i = 0; i < n; i++) {
      const vpn = a / PS + i;
      const pm = ps.pages.get(vpn)!;
      ps.pages.set(vpn, { ...pm, prot: op.prot });
    }
    return `${call} -> ${res(r)}`;
  }

  private doMadvise(op: Extract<Op, { t: 'madvise' }>): string {
    const ps = this.proc(op.pi);
    const [a, n] = this.resolve(ps, op.sel, 1024);
    const call = `${ps.name}.madvise(${hex(a)}, ${n}p, ${ADVICE_NAMES[op.advice]})`;
    const pms = Array.from({ length: n }, (_, i) => this.pm(ps, a + i * PS));
    const hole = pms.some((p) => !p);
    const r = ps.p.madvise(a, n * PS, op.advice);
    switch (op.advice) {
      case MADV_DONTNEED:
        this.expectEq(call, r, hole ? -ENOMEM : 0);
        for (let i = 0; i < n; i++) {
          const pm = pms[i];
          if (pm?.kind === 'priv') this.setState(ps, a / PS + i, ZERO_STATE);
        }
        break;
      case MADV_FREE: {
        const sharedAt = pms.findIndex((p) => p?.kind === 'shared');
        this.expectEq(call, r, sharedAt >= 0 ? -EINVAL : hole ? -ENOMEM : 0);
        // Linux advises the VMAs before a shared one before it fails; the model validates
        // first. Both are allowed: pages before it may (not must) have become lazily free.
        const upto = sharedAt >= 0 ? sharedAt : n;
        for (let i = 0; i < upto; i++) {
          const pm = pms[i];
          if (pm?.kind === 'priv') this.setState(ps, a / PS + i, { cands: pm.st.cands, lazy: true });
        }
        break;
      }
      case MADV_HUGEPAGE:
      case MADV_NOHUGEPAGE:
        this.expectEq(call, r, hole ? -ENOMEM : 0);
        break;
      case MADV_COLLAPSE:
        this.expectIn(call, r, [0, -EINVAL, -EAGAIN, -ENOMEM]);
        break;
      default:
        throw new Error(`test bug: advice ${op.advice}`);
    }
    return `${call} -> ${res(r)}`;
  }

  private doMremap(op: Extract<Op, { t: 'mremap' }>): string {
    const ps = this.proc(op.pi);
    const sel: Sel = { ...op.sel, bad: op.sel.bad === 2 ? 2 : 0 };
    const [old, n] = this.resolve(ps, sel, 1024);
    let mode = op.mode;
    const first = this.pm(ps, old);
    if (mode === 'dontunmap' && first?.kind === 'shared') mode = 'grow';
    let newPages: number;
    let flags: number;
    let target: number | undefined;
    const fixedAddr = FIXED_BASE + op.slot * FIXED_SLOT + (op.delta % 3 === 0 ? 0 : (op.delta % 5) * PS);
    switch (mode) {
      case 'shrink':
        newPages = n === 1 ? 1 : Math.max(1, n - 1 - (op.delta % n));
        flags = op.alt ? MREMAP_MAYMOVE : 0;
        break;
      case 'grow':
        newPages = n + 1 + (op.delta % 16);
        flags = MREMAP_MAYMOVE;
        break;
      case 'inplace':
        newPages = n + 1 + (op.delta % 16);
        flags = 0;
        break;
      case 'fixed':
        newPages = Math.max(1, n + (op.delta % 9) - 4);
        flags = MREMAP_MAYMOVE | MREMAP_FIXED;
        target = fixedAddr;
        break;
      case 'dontunmap':
        newPages = n;
        flags = MREMAP_MAYMOVE | MREMAP_DONTUNMAP | (op.alt ? MREMAP_FIXED : 0);
        if (op.alt) target = fixedAddr;
        break;
    }
    const fl = [
      flags & MREMAP_MAYMOVE ? 'MAYMOVE' : '',
      flags & MREMAP_FIXED ? 'FIXED' : '',
      flags & MREMAP_DONTUNMAP ? 'DONTUNMAP' : '',
    ]
      .filter(Boolean)
      .join('|');
    const call = `${ps.name}.mremap(${hex(old)}, ${n}p, ${newPages}p, ${fl || '0'}${target !== undefined ? `, ${hex(target)}` : ''})`;
    const r = ps.p.mremap(old, n * PS, newPages * PS, flags, target);
    if (!first) {
      this.expectEq(call, r, -EFAULT);
      return `${call} -> ${res(r)}`;
    }
    // Expected outcome, from the shadow.
    const overlaps = target !== undefined && target < old + n * PS && old < target + newPages * PS;
    const freeAfter = (() => {
      for (let i = n; i < newPages; i++) if (this.pm(ps, old + i * PS)) return false;
      return true;
    })();
    if (overlaps) {
      this.expectEq(call, r, -EINVAL);
      return `${call} -> ${res(r)}`;
    }
    if (mode === 'inplace') {
      this.expectEq(call, r, freeAfter ? old : -ENOMEM);
      if (r < 0) return `${call} -> ${res(r)}`;
    }
    if (r < 0 || r % PS !== 0) this.fail(`${call}: returned ${res(r)}`);
    if (target !== undefined && r !== target) this.fail(`${call}: MREMAP_FIXED returned ${hex(r)}`);
    if (mode === 'shrink' && r !== old) this.fail(`${call}: shrinking moved the mapping to ${hex(r)}`);
    if (mode === 'grow' && freeAfter && r !== old)
      this.fail(`${call}: moved to ${hex(r)} though it could grow in place`);
    if ((mode === 'grow' && !freeAfter) || mode === 'dontunmap') {
      if (r === old) this.fail(`${call}: returned the old address`);
    }
    const moved = r !== old;
    if (moved && target === undefined) {
      for (let i = 0; i < newPages; i++)
        if (this.pm(ps, r + i * PS)) this.fail(`${call}: moved to ${hex(r)}, over an existing mapping`);
    }
    // Apply to the shadow.
    const keep = Math.min(n, newPages);
    const src: PageMap[] = [];
    for (let i = 0; i < keep; i++) src.push(this.pm(ps, old + i * PS)!);
    const last = this.pm(ps, old + (n - 1) * PS)!;
    const grown = (j: number): PageMap =>
      last.kind === 'priv'
        ? { kind: 'priv', prot: last.prot, st: ZERO_STATE }
        : { kind: 'shared', prot: last.prot, obj: last.obj, index: last.index + j };
    if (!moved) {
      if (newPages < n) this.unmapShadow(ps, old + newPages * PS, n - newPages);
      for (let i = n; i < newPages; i++) ps.pages.set(old / PS + i, grown(i - n + 1));
    } else {
      if (target !== undefined) this.unmapShadow(ps, target, newPages);
      this.unmapShadow(ps, old, n);
      if (mode === 'dontunmap') {
        for (let i = 0; i < n; i++)
          ps.pages.set(old / PS + i, { kind: 'priv', prot: src[i]!.prot, st: ZERO_STATE });
      }
      for (let i = 0; i < keep; i++) ps.pages.set(r / PS + i, src[i]!);
      for (let i = keep; i < newPages; i++) ps.pages.set(r / PS + i, grown(i - n + 1));
    }
    return `${call} -> ${res(r)}`;
  }

  /** Where a CPU access of [addr, addr+len) should fault, from the shadow. */
  private expectedFault(ps: ProcState, addr: number, len: number, write: boolean): SegvError | null {
    for (let pg = Math.floor(addr / PS); pg * PS < addr + len; pg++) {
      const a = Math.max(addr, pg * PS);
      const pm = ps.pages.get(pg);
      if (!(write ? isWritable(pm) : isReadable(pm))) return new SegvError(a, 'SIGSEGV');
      if (beyondEof(pm)) return new SegvError(a, 'SIGBUS');
    }
    return null;
  }

  private checkFault(call: string, got: SegvError | null, want: SegvError | null): void {
    const show = (e: SegvError | null) => (e ? `${e.signal} at ${hex(e.addr)}` : 'success');
    if (
      (got === null) !== (want === null) ||
      (got && want && (got.addr !== want.addr || got.signal !== want.signal))
    )
      this.fail(`${call}: got ${show(got)}, expected ${show(want)}`);
  }

  private doStore(op: Extract<Op, { t: 'store' }>): string {
    const ps = this.proc(op.pi);
    const [a0, n] = this.resolve(ps, op.sel, 4);
    const addr = a0 + (op.off % PS);
    const len = Math.max(1, Math.min(op.len, a0 + n * PS - addr));
    const bytes = this.nextPattern(len);
    const call = `${ps.name}.store(${hex(addr)}, ${len} bytes [${hexPrefix(bytes, 4)}..])`;
    const want = this.expectedFault(ps, addr, len, true);
    let got: SegvError | null = null;
    try {
      ps.p.store(addr, bytes);
    } catch (e) {
      if (!(e instanceof SegvError)) throw e;
      got = e;
    }
    this.checkFault(call, got, want);
    const end = got ? got.addr : addr + len;
    for (let x = addr; x < end; ) {
      const off = x % PS;
      const c = Math.min(PS - off, end - x);
      const vpn = Math.floor(x / PS);
      const pm = ps.pages.get(vpn)!;
      this.setState(ps, vpn, storeInto(this.stateOf(pm), off, bytes, x - addr, c));
      x += c;
    }
    return `${call} -> ${got ? `${got.signal} at ${hex(got.addr)}` : 'ok'}`;
  }

  private doLoad(op: Extract<Op, { t: 'load' }>): string {
    const ps = this.proc(op.pi);
    const [a0, n] = this.resolve(ps, op.sel, 4);
    const addr = a0 + (op.off % PS);
    const len = Math.max(1, Math.min(op.len, a0 + n * PS - addr));
    const call = `${ps.name}.load(${hex(addr)}, ${len} bytes)`;
    const want = this.expectedFault(ps, addr, len, false);
    let got: SegvError | null = null;
    let data: Uint8Array | null = null;
    try {
      data = ps.p.load(addr, len);
    } catch (e) {
      if (!(e instanceof SegvError)) throw e;
      got = e;
    }
    this.checkFault(call, got, want);
    if (data) {
      if (data.length !== len) this.fail(`${call}: returned ${data.length} bytes`);
      this.checkData(ps, addr, data, call);
    }
    return `${call} -> ${got ? `${got.signal} at ${hex(got.addr)}` : `[${hexPrefix(data!, 4)}..]`}`;
  }

  private doFork(op: Extract<Op, { t: 'fork' }>): string {
    const ps = this.proc(op.pi);
    if (this.procs.length >= MAX_PROCS) return `${ps.name}.fork() skipped (${MAX_PROCS} processes)`;
    const c = ps.p.fork();
    const cs: ProcState = {
      p: c,
      name: `P${c.pid}`,
      pages: new Map(ps.pages),
      scratch: ps.scratch,
      fds: new Map(ps.fds),
    };
    for (const d of cs.fds.values()) d.refs++;
    this.procs.push(cs);
    return `${ps.name}.fork() -> ${cs.name}`;
  }

  private doExit(op: Extract<Op, { t: 'exit' }>): string {
    const ps = this.proc(op.pi);
    if (this.procs.length <= 1) return `${ps.name}.exit() skipped (last process)`;
    ps.p.exit();
    for (const d of ps.fds.values()) this.dropRef(d);
    ps.fds.clear();
    this.procs.splice(this.procs.indexOf(ps), 1);
    return `${ps.name}.exit()`;
  }

  private doReopen(op: Extract<Op, { t: 'reopen' }>): string {
    const ps = this.proc(op.pi);
    const fds = [...ps.fds.keys()].sort((x, y) => x - y);
    let closed = '';
    if (fds.length > 0) {
      const fd = fds[op.fd % fds.length]!;
      const r = ps.p.close(fd);
      this.expectEq(`${ps.name}.close(${fd})`, r, 0);
      this.dropRef(ps.fds.get(fd)!);
      ps.fds.delete(fd);
      closed = `close(${fd}) -> 0, `;
    }
    // At most one open file per (device, mirrored mm): test_hmm's invalidate callback skips
    // MMU_NOTIFY_MIGRATE events whose owner is the *device*, so a second open file of the
    // same device on the same mm keeps stale entries when the first one migrates pages
    // (see the pinned finding in model.property.test.ts). Pick a device not yet open.
    const busy = (minor: number) => [...this.descs].some((d) => d.opener === ps && d.minor === minor);
    const minor = [op.minor, 0, 1, 2].find((x) => !busy(x));
    if (minor === undefined)
      return `${ps.name}.${closed}open skipped (every device already mirrors ${ps.name})`;
    const nfd = this.openDev(ps, minor);
    return `${ps.name}.${closed}open(/dev/hmm_dmirror${minor}) -> ${nfd}`;
  }

  private dropRef(d: FileDesc): void {
    d.refs--;
    if (d.refs === 0) this.descs.delete(d);
  }

  private doGup(op: Extract<Op, { t: 'gup' }>): string {
    const ps = this.proc(op.pi);
    const [a, n] = this.resolve(ps, op.sel, 64);
    const call = `${ps.name}.gupTest(${hex(a)}, ${n}p, ${op.longterm ? 'PIN_LONGTERM' : 'GET'}${op.fast ? ' fast' : ''})`;
    let ok = true;
    for (let i = 0; i < n; i++) {
      const pm = this.pm(ps, a + i * PS);
      if (!isReadable(pm) || !isWritable(pm) || beyondEof(pm)) ok = false;
    }
    const r = this.m.gupTest(ps.p, a, n, { longterm: op.longterm, fast: op.fast });
    this.expectEq(call, r, ok ? 0 : -EFAULT);
    return `${call} -> ${res(r)}`;
  }

  private doIoctl(op: Extract<Op, { t: 'ioctl' }>): string {
    const ps = this.proc(op.pi);
    const fds = [...ps.fds.keys()].sort((x, y) => x - y);
    if (fds.length === 0) return `${ps.name}.ioctl skipped (no fd)`;
    const fd = fds[op.fd % fds.length]!;
    const desc = ps.fds.get(fd)!;
    const target = this.procs.includes(desc.opener) ? desc.opener : null;
    const req = op.req;
    const dev = `dmirror${desc.minor}`;
    if (req === 'RELEASE' || req === 'FLAGS') {
      const cmd: HmmDmirrorCmd = {
        addr: 0,
        ptr: ps.scratch,
        npages: req === 'FLAGS' ? HMM_DMIRROR_FLAG_FAIL_ALLOC : 1,
        cpages: 0,
        faults: 0,
      };
      const call = `${ps.name}.ioctl(${fd}:${dev}, ${req}${req === 'FLAGS' ? ' FAIL_ALLOC' : ''})`;
      const r = ps.p.ioctl(fd, REQUESTS[req], cmd);
      this.expectEq(call, r, 0);
      return `${call} -> ${res(r)}`;
    }
    if (!target) {
      // The opener has exited. READ and WRITE would spin forever, as test_hmm does
      // (dmirror_fault returns 0 when mmget_not_zero fails): not generated.
      if (req === 'READ' || req === 'WRITE')
        return `${ps.name}.ioctl(${fd}:${dev}, ${req}) skipped (opener exited)`;
      const [a, n] = this.resolve(ps, op.sel, SCRATCH_PAGES);
      const cmd: HmmDmirrorCmd = { addr: a, ptr: ps.scratch, npages: n, cpages: 0, faults: 0 };
      const call = `${ps.name}.ioctl(${fd}:${dev} of exited ${desc.opener.name}, ${req}, ${hex(a)}, ${n}p)`;
      const r = ps.p.ioctl(fd, REQUESTS[req], cmd);
      if (req === 'CHECK_EXCLUSIVE') this.expectIn(call, r, [0, -EPERM]);
      else this.expectEq(call, r, -EINVAL);
      return `${call} -> ${res(r)}`;
    }
    const [a, n] = this.resolve(target, op.sel, SCRATCH_PAGES);
    const cmd: HmmDmirrorCmd = { addr: a, ptr: ps.scratch, npages: n, cpages: 0, faults: 0 };
    const on = target === ps ? '' : ` on ${target.name}`;
    const call = `${ps.name}.ioctl(${fd}:${dev}${on}, ${req}, ${hex(a)}, ${n}p)`;
    const pms = Array.from({ length: n }, (_, i) => this.pm(target, a + i * PS));
    const firstIdx = (bad: (pm: PageMap | undefined) => boolean) => pms.findIndex(bad);

    if (req === 'WRITE') {
      // Fill the source buffer: a fresh header on every page, the rest as it was.
      for (let i = 0; i < n; i++) {
        const hdr = this.nextPattern(32);
        const va = ps.scratch + i * PS;
        ps.p.store(va, hdr);
        this.setState(ps, va / PS, storeInto(this.stateOf(this.pm(ps, va)!), 0, hdr, 0, 32));
      }
      const src = Array.from({ length: n }, (_, i) => this.exactPage(ps, ps.scratch + i * PS));
      let bad = firstIdx((pm) => !isReadable(pm) || !isWritable(pm) || beyondEof(pm));
      if (bad < 0) bad = n;
      const shadowErr =
        bad === n ? 0 : !isReadable(pms[bad]) ? -EFAULT : !isWritable(pms[bad]) ? -EPERM : -EFAULT;
      // hmm_range_fault reports a device-private page of the caller's own device as it is,
      // without faulting: if its entry is read-only (COW-shared after fork, or mprotect),
      // HMM_PFN_WRITE is missing and dmirror_do_fault fails with -EFAULT (WARN_ON in
      // test_hmm) - unless an earlier page of the same walk needed a fault, in which case
      // hmm_vma_fault faults the rest of the walk too (the page comes back to RAM) and the
      // WRITE goes on. Both outcomes are Linux's; where a page lives is not in the shadow,
      // so it is read from the model.
      let own = -1;
      for (let i = 0; i <= Math.min(bad, n - 1); i++) {
        if (this.ownReadOnlyDevicePrivate(target, a + i * PS, desc.minor)) {
          own = i;
          break;
        }
      }
      const allowed = own >= 0 ? [...new Set([-EFAULT, shadowErr])] : [shadowErr];
      const r = ps.p.ioctl(fd, HMM_DMIRROR_WRITE, cmd);
      this.expectIn(call, r, allowed);
      if (r === 0) {
        this.expectEq(`${call} cpages`, cmd.cpages, n);
        for (let i = 0; i < n; i++)
          this.setState(target, a / PS + i, deviceWrote(this.stateOf(pms[i]!), src[i]!));
      } else {
        // Pages before the failure point may or may not have been written.
        const upto = own >= 0 ? Math.min(own, bad) : bad;
        for (let i = 0; i < upto; i++)
          this.setState(target, a / PS + i, deviceMaybeWrote(this.stateOf(pms[i]!), src[i]!));
      }
      return `${call} -> ${res(r)}${own >= 0 ? ` (own read-only device page at +${own})` : ''}`;
    }

    let want: number[];
    switch (req) {
      case 'READ':
        want = [firstIdx((pm) => !isReadable(pm) || beyondEof(pm)) < 0 ? 0 : -EFAULT];
        break;
      case 'MIGRATE_TO_DEV':
        want = firstIdx((pm) => !isReadable(pm)) < 0 ? [0, -ENOENT] : [-EINVAL];
        break;
      case 'MIGRATE_TO_SYS':
        want = [firstIdx((pm) => !isReadable(pm)) < 0 ? 0 : -EINVAL];
        break;
      case 'SNAPSHOT':
        want = [0];
        break;
      case 'EXCLUSIVE': {
        const bad = firstIdx(
          (pm) => !isReadable(pm) || !isWritable(pm) || beyondEof(pm) || pm?.kind === 'shared',
        );
        const b = pms[bad];
        const shmem = b?.kind === 'shared' && isReadable(b) && isWritable(b) && !beyondEof(b);
        want = [bad < 0 ? 0 : shmem ? -EOPNOTSUPP : -EFAULT];
        break;
      }
      case 'CHECK_EXCLUSIVE':
        want = [0, -EPERM];
        break;
      default:
        throw new Error(`test bug: ${req}`);
    }
    const r = ps.p.ioctl(fd, REQUESTS[req], cmd);
    this.expectIn(call, r, want);
    let extra = '';
    if (r === 0 && (req === 'READ' || req === 'MIGRATE_TO_DEV' || req === 'EXCLUSIVE')) {
      this.expectEq(`${call} cpages`, cmd.cpages, n);
      // The driver copied the mirrored pages to cmd.ptr: that must be the data of the range.
      const got = ps.p.load(ps.scratch, n * PS);
      this.checkData(target, a, got, `${call} (mirror contents)`);
      for (let i = 0; i < n; i++)
        this.setState(ps, ps.scratch / PS + i, { cands: [got.slice(i * PS, (i + 1) * PS)], lazy: false });
      extra = ` faults ${cmd.faults}`;
    } else if (r === 0 && req === 'SNAPSHOT') {
      this.expectEq(`${call} cpages`, cmd.cpages, n);
      const got = ps.p.load(ps.scratch, n);
      this.checkSnapshot(call, target, a, got, desc.minor);
      this.setState(ps, ps.scratch / PS, storeInto(this.stateOf(this.pm(ps, ps.scratch)!), 0, got, 0, n));
      extra = ` [${hexPrefix(got, 8)}${n > 8 ? ' ..' : ''}]`;
    } else if (r === 0 && req === 'MIGRATE_TO_SYS') {
      extra = ` cpages ${cmd.cpages}`;
      if (cmd.cpages > n) this.fail(`${call}: cpages ${cmd.cpages} > npages`);
    }
    return `${call} -> ${res(r)}${extra}`;
  }

  /** Whether the model maps va with a read-only device-private entry of /dev/hmm_dmirror<minor>. */
  private ownReadOnlyDevicePrivate(ps: ProcState, va: number, minor: number): boolean {
    const slot = ps.p.mm.pt.slot(va);
    let pfn = -1;
    let bits = 0;
    if (slot?.kind === PMD_DEVICE_PRIVATE) {
      pfn = slot.pfn + pteIndex(va);
      bits = slot.bits;
    } else if (slot?.kind === PMD_TABLE) {
      const i = pteIndex(va);
      if ((slot.table!.bits[i]! & PTE_TYPE_MASK) !== PTE_DEVICE_PRIVATE) return false;
      pfn = slot.table!.pfn[i]!;
      bits = slot.table!.bits[i]!;
    } else return false;
    if (bits & PTE_WRITE) return false;
    return this.m.kernel.pgmapOf(pfn)?.owner === this.m.devices[minor];
  }

  /** Whether the model maps va with a device-private PMD of a device other than <minor>. */
  private foreignDevicePmd(ps: ProcState, va: number, minor: number): boolean {
    const slot = ps.p.mm.pt.slot(va);
    if (slot?.kind !== PMD_DEVICE_PRIVATE) return false;
    return this.m.kernel.pgmapOf(slot.pfn)?.owner !== this.m.devices[minor];
  }

  /** Each snapshot byte must agree with the shadow's protections (test_hmm's dmirror_mkentry). */
  private checkSnapshot(call: string, target: ProcState, a: number, bytes: Uint8Array, minor: number): void {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      const va = a + i * PS;
      const pm = this.pm(target, va);
      const why = (m: string) =>
        this.fail(`${call}: snapshot byte ${i} (${hex(va)}) is 0x${b.toString(16)}: ${m}`);
      if (!isReadable(pm)) {
        if (b !== 0xff) why('the page is unmapped or PROT_NONE, expected 0xff (ERROR)');
        continue;
      }
      // hmm_vma_handle_absent_pmd reports a PMD-mapped device-private folio of another
      // device as HMM_PFN_ERROR when no fault is requested (a PTE-mapped one as 0).
      if (b === 0xff && !this.foreignDevicePmd(target, va, minor))
        why('the page is mapped readable (and not a PMD-mapped page of another device)');
      if (b === 0xff) continue;
      if (b === 0) continue;
      const perm = b & 0x03;
      if (perm !== 1 && perm !== 2) why('neither READ nor WRITE');
      if (perm === 2 && !isWritable(pm)) why('WRITE on a read-only page');
      const type = b & 0xf0;
      if (type === 0x30) why('DEV_PRIVATE_REMOTE is never reported (not owned => not valid)');
      if (type === 0x10) {
        if (perm === 2) why('a writable zero page');
        if (!observe(this.stateOf(pm!), 0, new Uint8Array(PS), 0, PS))
          why(`the zero page, but the page holds ${describeState(this.stateOf(pm!))}`);
      }
    }
  }

  // ---- cross-cutting checks -----------------------------------------------------------------

  /** The model's VMAs cover exactly the shadow's pages, with the same protections and sharing. */
  checkLayout(): void {
    for (const ps of this.procs) {
      let count = 0;
      for (const v of ps.p.mm.vmas) {
        const prot = v.flags & 7;
        const shared = (v.flags & VM_SHARED) !== 0;
        for (let x = v.start; x < v.end; x += PS) {
          count++;
          const pm = ps.pages.get(x / PS);
          if (!pm)
            this.fail(
              `layout: ${ps.name} maps ${hex(x)} (VMA ${hex(v.start)}-${hex(v.end)}), the shadow does not`,
            );
          if (pm.prot !== prot)
            this.fail(
              `layout: ${ps.name} ${hex(x)} has prot ${PROT_NAMES[prot]}, expected ${PROT_NAMES[pm.prot]}`,
            );
          if ((pm.kind === 'shared') !== shared)
            this.fail(`layout: ${ps.name} ${hex(x)} is ${shared ? '' : 'not '}shared in the model`);
        }
      }
      if (count !== ps.pages.size) {
        const missing = [...ps.pages.keys()].find((vpn) => !ps.p.mm.vmaLookup(vpn * PS));
        this.fail(
          `layout: ${ps.name} has ${count} mapped pages, the shadow ${ps.pages.size}` +
            (missing !== undefined ? ` (e.g. ${hex(missing * PS)} is unmapped in the model)` : ''),
        );
      }
    }
  }

  checkAll(): void {
    const v = checkInvariants(this.m);
    if (v.length > 0)
      this.fail(
        `invariants violated:\n  ${v.slice(0, 20).join('\n  ')}${v.length > 20 ? `\n  ... ${v.length - 20} more` : ''}`,
      );
    this.checkLayout();
  }

  /** A full data check: every readable shadow page of every process read back by the CPU. */
  sweep(): void {
    for (const ps of this.procs) {
      for (const [vpn, pm] of [...ps.pages]) {
        if (!isReadable(pm) || beyondEof(pm)) continue;
        const va = vpn * PS;
        const call = `final sweep ${ps.name}.load(${hex(va)}, ${PS})`;
        let data: Uint8Array;
        try {
          data = ps.p.load(va, PS);
        } catch (e) {
          this.fail(`${call} threw ${e instanceof Error ? e.message : String(e)}`);
        }
        this.checkData(ps, va, data, call);
      }
    }
  }
}
