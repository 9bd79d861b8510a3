/**
 * The shared world of a race model: a real hmmlab kernel (src/kernel) with one process and a
 * few pages, devices written against the kernel API (SvmDevice below: a device-private
 * pagemap, an mmu interval notifier and a device page table, in the manner of test_hmm,
 * nouveau and Xe), and the checks the explorer runs after every step:
 *
 * - the notifier contract: a device access goes through a translation equal to the CPU page
 *   table at that moment (same page), or the device has none;
 * - data: every read returns the bytes last written (an oracle of fill tags per page);
 * - no access to memory of a revoked or removed pagemap;
 * - at quiescence: the kernel's own invariants (refcounts, mapcounts, rmap; src/check), no
 *   folio left locked, and no device translation that disagrees with the CPU page table.
 *
 * Digests name pages by order of first appearance instead of by pfn, so that two states that
 * differ only in which free frame the allocator handed out hash the same (they behave alike).
 */
import { checkInvariants } from '../check/invariants.js';
import {
  EBUSY,
  HMM_PFN_HI_VALID,
  HMM_PFN_HI_WRITE,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  MEMORY_DEVICE_PRIVATE,
  MIGRATE_PFN_MIGRATE,
  MIGRATE_PFN_WRITE,
  MIGRATE_VMA_SELECT_SYSTEM,
  MMU_NOTIFY_MIGRATE,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  VM_FAULT_SIGBUS,
} from '../kernel/constants.js';
import { PG_LOCKED } from '../kernel/frames.js';
import { HmmRange, hmmRangeFaultSteps } from '../kernel/hmm.js';
import type { Kernel } from '../kernel/kernel.js';
import { userTouch } from '../kernel/memory.js';
import { DevPagemap, type VmFault } from '../kernel/memremap.js';
import {
  migratePfn,
  migratePfnToPfn,
  migrateToRamArgs,
  migrateVmaFinalize,
  migrateVmaPages,
  migrateVmaSetup,
  migrateVmaSetupSteps,
  newMigrateVma,
} from '../kernel/migrate_device.js';
import type { Mm } from '../kernel/mm.js';
import {
  MmuIntervalNotifier,
  type MmuNotifierRange,
  mmuIntervalReadBeginSteps,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
} from '../kernel/mmu_notifier.js';
import {
  PTE_DEVICE_PRIVATE,
  PTE_MIGRATION,
  PTE_PRESENT,
  PTE_TYPE_MASK,
  PTE_WRITE,
  pteIndex,
} from '../kernel/pgtable.js';
import {
  type KernelSteps,
  kernelYieldName,
  kernelYieldSeqReleased,
  kernelYieldSleepsOn,
} from '../kernel/wait.js';
import { Machine, type Process } from '../uapi/machine.js';
import type { AgentYield, Wait } from './explorer.js';
import type { Violation } from './types.js';

/** A device's translation of one virtual page. */
export interface DeviceEntry {
  pfn: number;
  write: boolean;
}

/** What the CPU page table holds for a virtual address. */
export interface CpuPte {
  kind: 'none' | 'ram' | 'device-private' | 'migration' | 'other';
  pfn: number;
  write: boolean;
}

/** The base of every race model's world. */
export class KernelWorld {
  readonly machine: Machine;
  readonly k: Kernel;
  readonly proc: Process;
  readonly mm: Mm;
  /** The buffer the agents race on: `pages` pages at `base`. */
  readonly base: number;
  readonly pages: number;
  /** The fill tag last written to each page (the data oracle). */
  readonly oracle: Int32Array;
  readonly devices: SvmDevice[] = [];
  /** Translations held by devices that are not SvmDevices (a NIC's MR), by name. */
  readonly views = new Map<string, Map<number, DeviceEntry>>();
  /** Pagemaps revoked (removed from use) by hot unplug. */
  readonly revoked = new Set<DevPagemap>();
  private violation: Violation | null = null;
  private ops = 0;
  private nextTag = 100;

  constructor(pages: number, opts: { dmirror?: boolean } = {}) {
    this.machine = new Machine({
      ramBytes: 64 * 2 ** 20,
      thp: 'never',
      coherentDevices: false,
      dmirrorDevices: opts.dmirror ?? false,
      hugetlbPages: 0,
    });
    this.k = this.machine.kernel;
    this.proc = this.machine.spawn();
    this.mm = this.proc.mm;
    this.pages = pages;
    this.base = this.proc.mmap(0, pages * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    if (this.base < 0) throw new Error(`model bug: mmap failed (${this.base})`);
    this.oracle = new Int32Array(pages);
    // Populate every page with a known tag, as a test does before racing.
    for (let i = 0; i < pages; i++) this.cpuWrite(i);
  }

  va(i: number): number {
    return this.base + i * PAGE_SIZE;
  }

  /** One operation finished (for the explorer's progress and livelock checks). */
  opDone(): void {
    this.ops++;
  }

  opsDone(): number {
    return this.ops;
  }

  fail(invariant: Violation['invariant'], message: string): void {
    this.violation ??= { invariant, message };
  }

  takeViolation(): Violation | null {
    const v = this.violation;
    this.violation = null;
    return v;
  }

  /** A CPU store of a fresh tag over page i (faulting as needed). */
  cpuWrite(i: number): number {
    const tag = this.nextTag++;
    userTouch(this.k, this.mm, this.va(i), true, tag);
    this.oracle[i] = tag;
    return tag;
  }

  /** A CPU load of page i (faulting as needed), checked against the oracle. */
  cpuRead(i: number, who: string): void {
    const pfn = userTouch(this.k, this.mm, this.va(i), false);
    const got = this.k.frames.fillTag(pfn);
    if (got !== this.oracle[i])
      this.fail('data', `${who} read page ${i} and got tag ${got}, not ${this.oracle[i]} (the last written)`);
  }

  cpuPte(va: number): CpuPte {
    const slot = this.mm.pt.slot(va);
    if (!slot?.table) return { kind: 'none', pfn: -1, write: false };
    const j = pteIndex(va);
    const bits = slot.table.bits[j]!;
    const pfn = slot.table.pfn[j]!;
    const type = bits & PTE_TYPE_MASK;
    const write = (bits & PTE_WRITE) !== 0;
    if (bits === 0) return { kind: 'none', pfn: -1, write: false };
    if (type === PTE_PRESENT) return { kind: 'ram', pfn, write };
    if (type === PTE_DEVICE_PRIVATE) return { kind: 'device-private', pfn, write };
    if (type === PTE_MIGRATION) return { kind: 'migration', pfn, write };
    return { kind: 'other', pfn, write };
  }

  /**
   * A device access to page i through `entry` (its translation; undefined: none). Checks the
   * notifier contract, revoked pagemaps and, for reads, the data; a write stores a new tag.
   */
  deviceAccess(who: string, i: number, entry: DeviceEntry | undefined, write: boolean): void {
    if (!entry) return; // no translation: the device would fault, not access
    const cpu = this.cpuPte(this.va(i));
    const pgmap = this.k.pgmapOf(entry.pfn);
    if (
      (pgmap && (this.revoked.has(pgmap) || pgmap.dying)) ||
      (this.k.frames.pgmapId(entry.pfn) === 0 && entry.pfn >= this.k.ramPages)
    ) {
      this.fail(
        'revoked-pagemap',
        `${who} accessed page ${i} at pfn ${entry.pfn}, memory of a revoked or removed pagemap`,
      );
      return;
    }
    if (cpu.pfn !== entry.pfn || (cpu.kind !== 'ram' && cpu.kind !== 'device-private')) {
      this.fail(
        'notifier-contract',
        `${who} accessed page ${i} through a stale translation (pfn ${entry.pfn}); the CPU page table has ${cpu.kind}${cpu.pfn >= 0 ? ` pfn ${cpu.pfn}` : ''}: the invalidation that changed it was not honoured`,
      );
      return;
    }
    if (write) {
      if (!entry.write) return;
      const tag = this.nextTag++;
      this.k.frames.fill(entry.pfn, tag);
      this.oracle[i] = tag;
    } else {
      const got = this.k.frames.fillTag(entry.pfn);
      if (got !== this.oracle[i])
        this.fail('data', `${who} read page ${i} and got tag ${got}, not ${this.oracle[i]}`);
    }
  }

  /**
   * What an hmm_range in flight means for the future, without absolute pfn or sequence values:
   * whether its notifier sequence is still valid, and for each entry whether it is filled and
   * still the page the CPU page table has. Put it in an agent's `local()`.
   */
  rangeState(range: HmmRange | null): string {
    if (!range) return '-';
    const parts = [mmuIntervalReadRetry(range.notifier, range.notifierSeq) ? 'stale' : 'valid'];
    const n = (range.end - range.start) / PAGE_SIZE;
    for (let i = 0; i < n; i++) {
      const hi = range.words[2 * i + 1]!;
      if (!(hi & HMM_PFN_HI_VALID)) parts.push('-');
      else
        parts.push(
          range.words[2 * i] === this.cpuPte(range.start + i * PAGE_SIZE).pfn
            ? `c${hi >>> 30}`
            : `o${hi >>> 30}`,
        );
    }
    return parts.join('.');
  }

  /** Model-specific state for the digest (rwsems, flags); override. */
  protected extraDigest(): string {
    return '';
  }

  digest(): string {
    const k = this.k;
    const f = k.frames;
    const names = new Map<number, number>();
    const name = (pfn: number) => {
      if (pfn < 0) return '-';
      let n = names.get(pfn);
      if (n === undefined) {
        n = names.size;
        names.set(pfn, n);
      }
      return `p${n}`;
    };
    // Sequence numbers only matter relative to the reads in flight (SvmDevice.inflight).
    const out: string[] = [`ram${k.alloc.used} ops${this.ops}`];
    for (let i = 0; i < this.pages; i++) {
      const pte = this.cpuPte(this.va(i));
      out.push(`${i}:${pte.kind}/${name(pte.pfn)}/${pte.write ? 'w' : 'r'}/o${this.oracle[i]}`);
    }
    for (const d of this.devices) {
      const inflight = this.rangeState(d.inflight);
      out.push(
        `${d.name}:${[...d.pt].map(([v, e]) => `${v}=${name(e.pfn)}${e.write ? 'w' : 'r'}`).join(',')} in:${inflight}`,
      );
    }
    for (const [n, v] of this.views)
      out.push(`${n}:${[...v].map(([p, e]) => `${p}=${name(e.pfn)}${e.write ? 'w' : 'r'}`).join(',')}`);
    const mn = this.notifierState();
    if (mn) out.push(mn);
    for (const [n, pt] of this.dmirrorTables())
      out.push(`${n}:${[...pt].map(([v, e]) => `${v}=${name(Math.floor(e / 4))}/${e % 4}`).join(',')}`);
    for (const [pfn, n] of [...names].sort((a, b) => a[1] - b[1])) {
      if (pfn < 0) continue;
      const pg = k.pgmapOf(pfn);
      out.push(
        `p${n}:r${f.ref(pfn)} m${f.mapcount(pfn)} ${f.hasFlag(pfn, PG_LOCKED) ? 'L' : 'u'} t${f.fillTag(pfn)} ${pg ? pg.name : 'ram'}`,
      );
    }
    out.push(this.extraDigest());
    return out.join('\n');
  }

  /**
   * The mm's notifier state while an invalidation runs, without absolute sequence numbers: the
   * active ranges, whether the sequence is odd, the deferred inserts and removes, and for each
   * interval in the tree whether it has been called back (its seq is the mm's: read_begin on
   * it waits). Empty when none runs, so states outside invalidations hash as they always did.
   */
  notifierState(): string {
    const subs = this.mm.notifiers;
    const odd = subs.isInvalidating();
    if (subs.activeInvalidateRanges === 0 && !odd && subs.deferredCount() === 0) return '';
    const called = subs.itree.map((s) => (s.invalidateSeq === subs.invalidateSeq ? 'c' : '-')).join('');
    return `mn:${subs.activeInvalidateRanges}${odd ? 'odd' : 'even'} d${subs.deferredCount()} ${called}`;
  }

  /** The page tables of the open dmirror files (test_hmm's mirrors), named hmm_dmirrorN#k. */
  private dmirrorTables(): [string, Map<number, number>][] {
    const out: [string, Map<number, number>][] = [];
    for (const dev of this.machine.devices) {
      if (!dev) continue;
      let i = 0;
      for (const dm of dev.opens) out.push([`${dev.name}#${i++}`, dm.pt]);
    }
    return out;
  }

  describe(): Map<string, string> {
    const k = this.k;
    const f = k.frames;
    const m = new Map<string, string>();
    const pfns = new Set<number>();
    for (let i = 0; i < this.pages; i++) {
      const pte = this.cpuPte(this.va(i));
      m.set(
        `pte[${i}]`,
        pte.kind === 'none' ? 'none' : `${pte.kind} pfn ${pte.pfn}${pte.write ? ' rw' : ' ro'}`,
      );
      if (pte.pfn >= 0) pfns.add(pte.pfn);
    }
    for (const d of this.devices) {
      for (const [v, e] of d.pt) {
        m.set(`${d.name}.pt[${v - this.base / PAGE_SIZE}]`, `pfn ${e.pfn}${e.write ? ' rw' : ' ro'}`);
        pfns.add(e.pfn);
      }
    }
    for (const [n, v] of this.views) {
      for (const [p, e] of v) {
        m.set(`${n}.map[${p - this.base / PAGE_SIZE}]`, `pfn ${e.pfn}${e.write ? ' rw' : ' ro'}`);
        pfns.add(e.pfn);
      }
    }
    for (const [n, pt] of this.dmirrorTables()) {
      for (const [v, e] of pt) {
        const pfn = Math.floor(e / 4);
        m.set(`${n}.pt[${v - this.base / PAGE_SIZE}]`, `pfn ${pfn}${e % 4 === 3 ? ' rw' : ' ro'}`);
        pfns.add(pfn);
      }
    }
    for (const pfn of [...pfns].sort((a, b) => a - b)) {
      m.set(
        `folio ${pfn}`,
        `ref ${f.ref(pfn)} map ${f.mapcount(pfn)}${f.hasFlag(pfn, PG_LOCKED) ? ' locked' : ''}`,
      );
    }
    const subs = this.mm.notifiers;
    if (subs.activeInvalidateRanges > 0 || subs.isInvalidating()) {
      // Only while an invalidation runs, so timelines outside one read as they always did.
      const called = subs.itree
        .filter((s) => s.invalidateSeq === subs.invalidateSeq)
        .map((s) => this.devices.find((d) => d.notifier === s)?.name ?? 'another interval');
      m.set(
        'invalidation',
        `${subs.activeInvalidateRanges} range${subs.activeInvalidateRanges === 1 ? '' : 's'} running, sequence ${subs.isInvalidating() ? 'odd' : 'even'}${called.length ? `; called back: ${called.join(', ')}` : ''}`,
      );
    }
    for (const [key, value] of this.extraDescribe()) m.set(key, value);
    return m;
  }

  protected extraDescribe(): [string, string][] {
    return [];
  }

  quiescent(): Violation | null {
    const errors = checkInvariants(this.machine);
    if (errors.length > 0) return { invariant: 'quiescence', message: errors.slice(0, 3).join('; ') };
    const f = this.k.frames;
    for (let i = 0; i < this.pages; i++) {
      const pte = this.cpuPte(this.va(i));
      if (pte.pfn >= 0 && f.hasFlag(f.head(pte.pfn), PG_LOCKED))
        return { invariant: 'quiescence', message: `page ${i}'s folio (pfn ${pte.pfn}) is still locked` };
      if (pte.kind === 'migration')
        return { invariant: 'quiescence', message: `page ${i} still has a migration entry` };
    }
    for (const d of this.devices) {
      for (const [v, e] of d.pt) {
        const i = (v * PAGE_SIZE - this.base) / PAGE_SIZE;
        const pte = this.cpuPte(v * PAGE_SIZE);
        if (pte.pfn !== e.pfn)
          return {
            invariant: 'notifier-contract',
            message: `${d.name} still maps page ${i} to pfn ${e.pfn}; the CPU page table has ${pte.kind}${pte.pfn >= 0 ? ` pfn ${pte.pfn}` : ''}`,
          };
      }
    }
    return this.extraQuiescent();
  }

  protected extraQuiescent(): Violation | null {
    return null;
  }
}

/**
 * Runs a kernel generator (hmmRangeFaultSteps, an ioctl's steps, munmap's) inside an agent: a
 * yield that sleeps on a folio (`folio_locked`, `migration_entry`) becomes a wait until that
 * folio is unlocked, one that sleeps on the notifier sequence (`notifier_wait`: read_begin or
 * remove during an invalidation) a wait until the invalidation ends, any other a step named
 * after the kernel function (kernelYieldName); `call` names the call for the timeline.
 */
export function* kernelSteps<T>(k: Kernel, call: string, g: KernelSteps<T>): Generator<AgentYield, T, void> {
  for (;;) {
    const r = g.next();
    if (r.done) return r.value;
    const y = r.value;
    const pfn = kernelYieldSleepsOn(y);
    const released = kernelYieldSeqReleased(y);
    if (pfn >= 0) {
      const w: Wait = {
        wait: `${kernelYieldName(y)} (pfn ${pfn})`,
        call,
        until: () => !k.frames.hasFlag(pfn, PG_LOCKED),
      };
      yield w;
    } else if (released) {
      yield { wait: kernelYieldName(y), call, until: released };
    } else {
      yield { step: kernelYieldName(y), call };
    }
  }
}

/** A counting fence: a device completion a sleeping agent waits for. */
export class Fence {
  signalled = false;
}

/**
 * A device with device-private memory, written against the kernel API the way HMM drivers
 * are: a DevPagemap whose migrate_to_ram moves a page back (dmirror_devmem_fault), an mmu
 * interval notifier whose invalidate callback clears the device page table under the driver
 * lock (atomic here), hmm_range_fault to mirror pages, migrate_vma_* to move them in.
 */
export class SvmDevice {
  readonly pgmap: DevPagemap;
  readonly notifier: MmuIntervalNotifier;
  /** Device page table: virtual page number -> translation. */
  readonly pt = new Map<number, DeviceEntry>();
  private free: number[] = [];
  /** The hmm_range_fault this device's driver has in flight (for state hashing). */
  inflight: HmmRange | null = null;
  /** Pre-fix do_swap_page: migrate_to_ram trylocks the fault page itself (see cpuFaultSteps). */
  trylockInMigrateToRam = false;
  invalidations = 0;

  constructor(
    readonly world: KernelWorld,
    readonly name: string,
    devicePages = 8,
  ) {
    const k = world.k;
    const start = k.requestFreeMemRegion(devicePages * PAGE_SIZE);
    if (start < 0) throw new Error('model bug: no physical space for a race model device');
    this.pgmap = new DevPagemap(
      MEMORY_DEVICE_PRIVATE,
      this,
      { folioFree: (head) => void this.free.push(head), migrateToRam: (vmf) => this.migrateToRam(vmf) },
      `${name} vram`,
    );
    if (k.memremapPages(this.pgmap, start, devicePages) < 0) throw new Error('model bug: memremap failed');
    for (let p = start + devicePages - 1; p >= start; p--) this.free.push(p);
    this.notifier = new MmuIntervalNotifier(
      { invalidate: (sub, range, cur) => this.invalidate(sub, range, cur) },
      world.mm.notifiers,
    );
    world.mm.notifiers.insert(this.notifier, world.base, world.pages * PAGE_SIZE);
    world.devices.push(this);
  }

  private invalidate(sub: MmuIntervalNotifier, range: MmuNotifierRange, cur: number): boolean {
    // Every invalidation bumps the sequence and drops the range, our own migrations included:
    // a driver that skips MMU_NOTIFY_MIGRATE events it owns (as test_hmm does) must then
    // update its page table in the migration itself, and an hmm_range_fault in flight on
    // another thread would not see the change.
    void MMU_NOTIFY_MIGRATE;
    mmuIntervalSetSeq(sub, cur);
    this.invalidations++;
    for (let v = range.start / PAGE_SIZE; v < range.end / PAGE_SIZE; v++) this.pt.delete(v);
    return true;
  }

  /** A locked, referenced device page, or -1. */
  allocPage(): number {
    const pfn = this.free.pop();
    if (pfn === undefined) return -1;
    this.world.k.zoneDeviceFolioInit(pfn, 0);
    return pfn;
  }

  /** migrate_to_ram (dmirror_devmem_fault): one page back to a new RAM page. */
  migrateToRam(vmf: VmFault): number {
    const k = this.world.k;
    if (this.trylockInMigrateToRam) {
      // Before "mm/migrate: Trylock device page in do_swap_page", do_swap_page called
      // migrate_to_ram with the page unlocked and migrate_vma_collect trylocked it.
      if (!k.folioTrylock(vmf.page)) return 0;
    }
    const args = migrateToRamArgs(k, vmf, this);
    const start = args.start;
    let ret = 0;
    if (migrateVmaSetup(k, args) < 0) ret = VM_FAULT_SIGBUS;
    else {
      const s = args.src[0]!;
      const spfn = migratePfnToPfn(s);
      if (spfn >= 0 && s & MIGRATE_PFN_MIGRATE) {
        const d = k.allocFolio(0);
        if (d < 0) throw new Error('model bug: no RAM');
        k.folioTrylock(d);
        k.frames.copyPage(d, spfn);
        args.dst[0] = migratePfn(d) + (s & MIGRATE_PFN_WRITE ? MIGRATE_PFN_WRITE : 0);
        this.pt.delete(start / PAGE_SIZE);
      }
      migrateVmaPages(k, args);
      migrateVmaFinalize(k, args);
    }
    if (this.trylockInMigrateToRam) k.folioUnlock(vmf.page);
    return ret;
  }

  /**
   * Migrates pages [from, to) of the world's buffer into device memory, as steps:
   * migrate_vma_setup (its MIGRATE invalidation yields at its start and after each interval's
   * callback; with `atomicSetup` it runs as one step, as before invalidations were split),
   * then the copy (sleeping on `fence` if one is given), then pages and finalize, which map
   * what moved. Returns the number of pages now in device memory.
   */
  *migrateToDevice(
    from: number,
    to: number,
    fence?: Fence,
    atomicSetup = false,
  ): Generator<AgentYield, number, void> {
    const w = this.world;
    const k = w.k;
    const n = to - from;
    const vma = w.mm.vmaLookup(w.va(from));
    if (!vma) return 0;
    const args = newMigrateVma(vma, w.va(from), w.va(to), this, MIGRATE_VMA_SELECT_SYSTEM);
    const setup = atomicSetup
      ? migrateVmaSetup(k, args)
      : yield* kernelSteps(k, 'migrate_vma_setup', migrateVmaSetupSteps(k, args));
    if (setup < 0) return 0;
    yield { step: `collected ${args.cpages} of ${n}`, call: 'migrate_vma_setup' };
    for (let i = 0; i < n; i++) {
      const s = args.src[i]!;
      if (!(s & MIGRATE_PFN_MIGRATE)) continue;
      const d = this.allocPage();
      if (d < 0) continue;
      const spfn = migratePfnToPfn(s);
      if (spfn >= 0) k.frames.copyPage(d, spfn);
      else k.frames.fill(d, 0);
      args.dst[i] = migratePfn(d) + (s & MIGRATE_PFN_WRITE ? MIGRATE_PFN_WRITE : 0);
    }
    if (fence) {
      const f = fence;
      yield { wait: 'copy fence', call: 'dma_fence_wait', until: () => f.signalled };
    }
    migrateVmaPages(k, args);
    migrateVmaFinalize(k, args);
    let moved = 0;
    for (let i = 0; i < n; i++) {
      const d = migratePfnToPfn(args.dst[i]!);
      if (d >= 0 && args.src[i]! & MIGRATE_PFN_MIGRATE) {
        moved++;
        this.pt.set(w.va(from + i) / PAGE_SIZE, { pfn: d, write: (args.dst[i]! & MIGRATE_PFN_WRITE) !== 0 });
      }
    }
    yield { step: `migrated ${moved} of ${n}`, call: 'migrate_vma_finalize' };
    return moved;
  }

  /**
   * Mirrors pages [from, to): mmu_interval_read_begin, hmm_range_fault (faulting them in;
   * this device's own private pages are reported, not faulted), then under the driver lock
   * the mmu_interval_read_retry check and the device page table update. With `skipRetry`,
   * the driver programs what it got without the check: the bug of problem 4. With
   * `readBeginNoWait`, it takes the interval's sequence without mmu_interval_read_begin's wait:
   * the bug of read-begin-nowait.
   * Returns 0, -EBUSY (invalidated meanwhile: the caller retries) or hmm_range_fault's error.
   * `own` receives whether every page ended up in this device's memory.
   */
  *mirror(
    from: number,
    to: number,
    opts: { write: boolean; skipRetry?: boolean; readBeginNoWait?: boolean },
  ): Generator<AgentYield, { ret: number; own: boolean }, void> {
    const w = this.world;
    const range = new HmmRange(
      this.notifier,
      w.va(from),
      w.va(to),
      HMM_PFN_HI_VALID | (opts.write ? HMM_PFN_HI_WRITE : 0),
      0,
      this,
    );
    range.notifierSeq = opts.readBeginNoWait
      ? // The bug of read-begin-nowait: READ_ONCE(sub->invalidate_seq), without waiting out an
        // invalidation that has already called this interval back.
        this.notifier.invalidateSeq
      : yield* kernelSteps(w.k, 'mmu_interval_read_begin', mmuIntervalReadBeginSteps(this.notifier));
    this.inflight = range;
    yield { step: 'mmu_interval_read_begin', call: 'mirror' };
    const ret = yield* kernelSteps(w.k, 'hmm_range_fault', hmmRangeFaultSteps(w.k, w.mm, range));
    if (ret < 0) {
      this.inflight = null;
      return { ret, own: false };
    }
    yield { step: 'hmm_range_fault done', call: 'mirror' };
    this.inflight = null;
    // mutex_lock(&driver->lock): the rest is atomic.
    if (!opts.skipRetry && mmuIntervalReadRetry(this.notifier, range.notifierSeq))
      return { ret: -EBUSY, own: false };
    let own = true;
    for (let i = 0; i < to - from; i++) {
      const hi = range.words[2 * i + 1]!;
      const pfn = range.words[2 * i]!;
      if (!(hi & HMM_PFN_HI_VALID)) continue;
      const pg = w.k.pgmapOf(pfn);
      if (pg !== this.pgmap) own = false;
      this.pt.set(w.va(from + i) / PAGE_SIZE, { pfn, write: (hi & HMM_PFN_HI_WRITE) !== 0 });
    }
    return { ret: 0, own };
  }

  /** The device touches page i through its page table. */
  access(i: number, write: boolean): void {
    this.world.deviceAccess(this.name, i, this.pt.get(this.world.va(i) / PAGE_SIZE), write);
  }
}
