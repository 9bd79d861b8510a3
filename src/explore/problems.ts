/**
 * The race models behind `scenarios/races/`: five problems driver developers met in
 * 2025-2026 (docs/explorer.md, "The race files"), each in a buggy and a fixed variant, the
 * selftest anon_teardown, and two findings: read-begin-nowait (a read section begun inside an
 * invalidation, which only split invalidations reach) and dmirror-own-migrate. Agents are
 * written against the kernel model's API; a buggy variant leaves out the one rule its fix added.
 */
import { EBUSY, MIGRATE_PFN_MIGRATE, MMU_NOTIFY_MIGRATE, O_RDWR, PAGE_SIZE } from '../kernel/constants.js';
import { PG_LOCKED } from '../kernel/frames.js';
import { HMM_P2P_FAULT, HmmRange, hmmRangeFaultSteps } from '../kernel/hmm.js';
import {
  migrateDeviceFinalize,
  migrateDevicePages,
  migrateDeviceRange,
  migratePfn,
  migratePfnToPfn,
} from '../kernel/migrate_device.js';
import {
  MmuIntervalNotifier,
  mmuIntervalReadBeginSteps,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
} from '../kernel/mmu_notifier.js';
import { HMM_DMIRROR_MIGRATE_TO_DEV, HMM_DMIRROR_READ } from '../uapi/test_hmm_uapi.js';
import type { Agent, AgentYield, RaceModel } from './explorer.js';
import { agent, Rwsem, raceWorld } from './kit.js';
import { type DeviceEntry, Fence, KernelWorld, kernelSteps, SvmDevice } from './world.js';

export type Variant = 'buggy' | 'fixed';

/** A race model by problem name, with its parameters. */
export interface ProblemSpec {
  problem: ProblemName;
  variant: Variant;
  /** Pages of the buffer (problem-specific default). */
  pages?: number;
  /** CPU threads or devices racing (problem-specific default). */
  threads?: number;
}

export const PROBLEMS = {
  'multi-device-migrate':
    'Several devices migrate the same range into their own memory at once and livelock on -EBUSY, without Xe’s serialisation (a driver-wide rwsem taken for writing after the first -EBUSY).',
  'cpu-fault-refcount':
    'Many CPU faults each take a reference on a device page and abort its migration to RAM, without the trylock in do_swap_page.',
  'hmm-spin-locked-folio':
    'hmm_range_fault spins on a locked device-private folio and starves the holder on the same CPU, without sleeping on the folio unlock.',
  'skip-read-retry':
    'A driver that programs its page table without mmu_interval_read_retry under its lock keeps a stale mapping after an invalidation.',
  'unplug-revoke':
    'Hot unplug that revokes the P2P provider before invalidating peers (not serialised against the hmm_range_fault-to-notifier window) lets a peer DMA into removed memory.',
  'anon-teardown':
    'The selftest anon_teardown: a dmirror READ against a concurrent munmap of the buffer, over every interleaving.',
  'read-begin-nowait':
    'A driver that samples its interval’s sequence without mmu_interval_read_begin’s wait can start a read section inside an invalidation that has already called it back: mmu_interval_read_retry then passes, and it maps a page the invalidation is about to migrate.',
  'dmirror-own-migrate':
    'test_hmm ignores MMU_NOTIFY_MIGRATE events its device owns: with two files open on one device, a file that mirrored a page in RAM keeps mirroring that freed system page after the other file migrates it into the device, and its READ returns stale bytes.',
} as const;

export type ProblemName = keyof typeof PROBLEMS;

/** Puts pages [from, to) into `dev`'s memory before the race starts. */
function place(dev: SvmDevice, from: number, to: number): void {
  const g = dev.migrateToDevice(from, to);
  while (!g.next().done) {}
}

/** hmm_range_fault with REQ_FAULT for no owner: pulls device-private pages of [from, to) back to RAM. */
function* faultToRam(
  w: KernelWorld,
  dev: SvmDevice,
  from: number,
  to: number,
): Generator<AgentYield, number, void> {
  const range = new HmmRange(dev.notifier, w.va(from), w.va(to), 0x8000_0000, 0, null);
  range.notifierSeq = yield* kernelSteps(
    w.k,
    'mmu_interval_read_begin',
    mmuIntervalReadBeginSteps(dev.notifier),
  );
  return yield* kernelSteps(w.k, 'hmm_range_fault (evict)', hmmRangeFaultSteps(w.k, w.mm, range));
}

// ---- 1. several devices migrating one range -----------------------------------------------

function multiDeviceMigrate(variant: Variant, pages: number, devices: number): RaceModel {
  return {
    name: `multi-device-migrate-${variant}`,
    description: PROBLEMS['multi-device-migrate'],
    create() {
      const w = new KernelWorld(pages);
      const sem = new Rwsem();
      const agents: Agent[] = [];
      for (let d = 0; d < devices; d++) {
        const dev = new SvmDevice(w, `gpu${d}`);
        const ctx = { mode: 'read' as 'read' | 'write' };
        // A GPU fault on the range (drm_gpusvm / drm_pagemap): migrate it into our memory,
        // then get its pages; if either finds the range elsewhere (-EBUSY), evict and retry.
        const body = (function* (): Generator<AgentYield, void, void> {
          for (;;) {
            const mode = ctx.mode;
            yield* sem.down(mode, 'drm_pagemap_populate_mm');
            yield* dev.migrateToDevice(0, pages);
            const r = yield* dev.mirror(0, pages, { write: true });
            if (r.ret === 0 && r.own) {
              sem.up(mode);
              dev.access(0, true);
              w.opDone();
              yield { step: 'bound and accessed', call: 'gpu fault' };
              return;
            }
            // -EBUSY: the range is (partly) in another device. Evict it to RAM and retry.
            yield* faultToRam(w, dev, 0, pages);
            sem.up(mode);
            if (variant === 'fixed') ctx.mode = 'write';
            yield { step: '-EBUSY: retry', call: 'gpu fault' };
          }
        })();
        agents.push(agent(`gpu${d}`, ctx, body));
      }
      return raceWorld(w, agents);
    },
  };
}

// ---- 2. CPU faults holding references on a device page --------------------------------------

function cpuFaultRefcount(variant: Variant, threads: number): RaceModel {
  return {
    name: `cpu-fault-refcount-${variant}`,
    description: PROBLEMS['cpu-fault-refcount'],
    create() {
      const w = new KernelWorld(1);
      const dev = new SvmDevice(w, 'gpu0');
      place(dev, 0, 1);
      // Pre-fix, migrate_vma_collect trylocked the fault page itself.
      dev.trylockInMigrateToRam = variant === 'buggy';
      const k = w.k;
      const agents: Agent[] = [];
      for (let t = 0; t < threads; t++) {
        const name = `cpu${t}`;
        const ctx = {};
        const body = (function* (): Generator<AgentYield, void, void> {
          for (;;) {
            const pte = w.cpuPte(w.va(0));
            if (pte.kind === 'ram') {
              w.cpuRead(0, name);
              w.opDone();
              return;
            }
            if (pte.kind === 'migration') {
              const pfn = pte.pfn;
              yield {
                wait: 'migration_entry_wait',
                call: 'do_swap_page',
                until: () => !k.frames.hasFlag(pfn, PG_LOCKED),
              };
              continue;
            }
            const page = pte.pfn;
            const vma = w.mm.vmaLookup(w.va(0))!;
            const vmf = { mm: w.mm, vma, address: w.va(0), page, pteMapped: true, flags: 0 };
            if (variant === 'buggy') {
              // mm/memory.c before 1afaeb8293c9: take a reference, drop the PTE lock, migrate.
              k.folioGet(page);
              yield { step: 'get_page, pte_unmap_unlock', call: 'do_swap_page' };
              dev.pgmap.ops.migrateToRam!(vmf);
              k.folioPut(page);
              yield { step: 'migrate_to_ram returned, put_page', call: 'do_swap_page' };
            } else {
              // The fix: only the thread that gets the folio lock takes a reference and migrates.
              if (!k.folioTrylock(page)) {
                yield { step: 'trylock_page failed: retry the fault', call: 'do_swap_page' };
                continue;
              }
              k.folioGet(page);
              yield { step: 'trylock_page, get_page, pte_unmap_unlock', call: 'do_swap_page' };
              dev.pgmap.ops.migrateToRam!(vmf);
              k.folioUnlock(page);
              k.folioPut(page);
              yield { step: 'migrate_to_ram returned, unlock, put_page', call: 'do_swap_page' };
            }
          }
        })();
        agents.push(agent(name, ctx, body));
      }
      return raceWorld(w, agents);
    },
  };
}

// ---- 3. hmm_range_fault spinning on a locked device-private folio --------------------------

function hmmSpinLockedFolio(variant: Variant): RaceModel {
  return {
    name: `hmm-spin-locked-folio-${variant}`,
    description: PROBLEMS['hmm-spin-locked-folio'],
    create() {
      const w = new KernelWorld(1);
      w.k.fixes.hmmWaitOnLockedFolio = variant === 'fixed';
      const gpu0 = new SvmDevice(w, 'gpu0');
      const gpu1 = new SvmDevice(w, 'gpu1');
      place(gpu0, 0, 1);
      const k = w.k;
      const fence = new Fence();
      // A CPU fault on gpu0's page (on CPU 0): locks the folio (do_swap_page's trylock), then
      // sleeps until the GPU's copy engine is done with the page before migrating it.
      const faultCtx = {};
      const fault = (function* (): Generator<AgentYield, void, void> {
        for (;;) {
          const pte = w.cpuPte(w.va(0));
          if (pte.kind === 'ram') break;
          const page = pte.pfn;
          if (!k.folioTrylock(page)) {
            yield {
              wait: 'folio lock',
              call: 'do_swap_page',
              until: () => !k.frames.hasFlag(page, PG_LOCKED),
            };
            continue;
          }
          k.folioGet(page);
          yield { step: 'trylock_page, get_page', call: 'do_swap_page' };
          yield { wait: 'copy fence', call: 'migrate_to_ram', until: () => fence.signalled };
          const vma = w.mm.vmaLookup(w.va(0))!;
          gpu0.pgmap.ops.migrateToRam!({ mm: w.mm, vma, address: w.va(0), page, pteMapped: true, flags: 0 });
          k.folioUnlock(page);
          k.folioPut(page);
          yield { step: 'migrated, unlock, put_page', call: 'do_swap_page' };
        }
        w.cpuRead(0, 'cpu-fault');
        w.opDone();
      })();
      // gpu0's copy engine finishes the copy the fault waits for (no CPU needed).
      const copy = (function* (): Generator<AgentYield, void, void> {
        fence.signalled = true;
        yield { step: 'fence signalled', call: 'copy engine' };
      })();
      // gpu1 mirrors the page (a userptr bind) on the same CPU: hmm_range_fault with REQ_FAULT.
      const hmmCtx = {};
      const hmm = (function* (): Generator<AgentYield, void, void> {
        for (;;) {
          const r = yield* gpu1.mirror(0, 1, { write: false });
          if (r.ret === -EBUSY) continue;
          break;
        }
        gpu1.access(0, false);
        w.opDone();
      })();
      return raceWorld(w, [
        agent('cpu-fault', faultCtx, fault, 0),
        agent('copy-engine', {}, copy),
        agent('gpu1.hmm', hmmCtx, hmm, 0),
      ]);
    },
  };
}

// ---- 4. a driver that skips mmu_interval_read_retry ----------------------------------------

function skipReadRetry(variant: Variant, pages: number): RaceModel {
  return {
    name: `skip-read-retry-${variant}`,
    description: PROBLEMS['skip-read-retry'],
    create() {
      const w = new KernelWorld(pages);
      const dev = new SvmDevice(w, 'gpu0');
      const ctx = { result: 0 };
      const gpu = (function* (): Generator<AgentYield, void, void> {
        for (;;) {
          const r = yield* dev.mirror(0, pages, { write: false, skipRetry: variant === 'buggy' });
          ctx.result = r.ret;
          if (r.ret === -EBUSY) {
            yield { step: 'mmu_interval_read_retry: retry', call: 'gpu fault' };
            continue;
          }
          break;
        }
        for (let i = 0; i < pages; i++) dev.access(i, false);
        w.opDone();
        yield { step: 'device reads the pages', call: 'device access' };
      })();
      const cpu = (function* (): Generator<AgentYield, void, void> {
        // munmap's invalidation is steps: its start, gpu0's callback, then the zap and its end.
        yield* kernelSteps(w.k, 'munmap', w.proc.munmapSteps(w.va(pages - 1), PAGE_SIZE));
        w.oracle[pages - 1] = 0;
        w.opDone();
        yield { step: `munmap page ${pages - 1}`, call: 'munmap' };
      })();
      return raceWorld(w, [agent('gpu0.fault', ctx, gpu), agent('cpu0', {}, cpu)]);
    },
  };
}

// ---- 5. hot unplug against a peer's P2P mapping --------------------------------------------

function unplugRevoke(variant: Variant): RaceModel {
  return {
    name: `unplug-revoke-${variant}`,
    description: PROBLEMS['unplug-revoke'],
    create() {
      const w = new KernelWorld(1);
      const gpu = new SvmDevice(w, 'gpu0');
      place(gpu, 0, 1);
      const k = w.k;
      const st = { removing: false };
      // The NIC: an ODP MR with its own notifier and translation table.
      const nicView = new Map<number, DeviceEntry>();
      w.views.set('nic0', nicView);
      const nicNotifier = new MmuIntervalNotifier(
        {
          invalidate: (sub, range, cur) => {
            mmuIntervalSetSeq(sub, cur);
            if (range.event === MMU_NOTIFY_MIGRATE && range.owner === gpu) {
              // A migration by the GPU still changes where the page is: the NIC must drop it.
            }
            for (let v = range.start / PAGE_SIZE; v < range.end / PAGE_SIZE; v++) nicView.delete(v);
            return true;
          },
        },
        w.mm.notifiers,
      );
      w.mm.notifiers.insert(nicNotifier, w.base, PAGE_SIZE);
      const nicCtx = {};
      let inflight: HmmRange | null = null;
      const nic = (function* (): Generator<AgentYield, void, void> {
        for (;;) {
          const range = new HmmRange(nicNotifier, w.va(0), w.va(1), 0xc000_0000, 0, null);
          inflight = range;
          // The P2P design: a GPU page is mapped through the BAR unless the GPU is going away.
          range.p2p = { devicePrivate: (pfn) => (st.removing ? HMM_P2P_FAULT : pfn) };
          range.notifierSeq = yield* kernelSteps(
            k,
            'mmu_interval_read_begin',
            mmuIntervalReadBeginSteps(nicNotifier),
          );
          yield { step: 'mmu_interval_read_begin', call: 'ib_umem_odp' };
          const ret = yield* kernelSteps(k, 'hmm_range_fault', hmmRangeFaultSteps(k, w.mm, range));
          if (ret < 0) return;
          yield { step: 'hmm_range_fault done', call: 'ib_umem_odp' };
          if (mmuIntervalReadRetry(nicNotifier, range.notifierSeq)) continue;
          nicView.set(w.va(0) / PAGE_SIZE, { pfn: range.words[0]!, write: true });
          break;
        }
        inflight = null;
        yield { step: 'MR mapped', call: 'ib_umem_odp' };
        w.deviceAccess('nic0', 0, nicView.get(w.va(0) / PAGE_SIZE), true);
        w.opDone();
        yield { step: 'RDMA write', call: 'nic DMA' };
      })();
      const evict = () => {
        const src = new Float64Array(gpu.pgmap.npages);
        const dst = new Float64Array(gpu.pgmap.npages);
        migrateDeviceRange(k, src, gpu.pgmap.startPfn, gpu.pgmap.npages);
        for (let i = 0; i < src.length; i++) {
          const s = migratePfnToPfn(src[i]!);
          if (s < 0 || !(src[i]! & MIGRATE_PFN_MIGRATE)) continue;
          const d = k.allocFolio(0);
          k.folioTrylock(d);
          k.frames.copyPage(d, s);
          dst[i] = migratePfn(d);
        }
        migrateDevicePages(k, src, dst, src.length);
        migrateDeviceFinalize(k, src, dst, src.length);
      };
      const unplug = (function* (): Generator<AgentYield, void, void> {
        if (variant === 'buggy') {
          w.revoked.add(gpu.pgmap);
          yield { step: 'P2P provider revoked (BAR gone)', call: 'pci_remove' };
          st.removing = true;
          evict();
          yield { step: 'VRAM evicted to RAM (peers invalidated)', call: 'drm_pagemap_evict' };
        } else {
          st.removing = true;
          evict();
          yield {
            step: 'refuse new P2P; VRAM evicted to RAM (peers invalidated)',
            call: 'drm_pagemap_evict',
          };
          w.revoked.add(gpu.pgmap);
          yield { step: 'P2P provider revoked (BAR gone)', call: 'pci_remove' };
        }
        k.memunmapPages(gpu.pgmap);
        w.opDone();
        yield { step: 'memunmap_pages', call: 'pci_remove' };
      })();
      return raceWorld(w, [
        agent('nic0', nicCtx, nic, undefined, () => w.rangeState(inflight)),
        agent('unplug', st, unplug),
      ]);
    },
  };
}

// ---- a read section begun inside an invalidation ------------------------------------------

/**
 * gpu0 binds the page (a userptr mirror: read_begin, hmm_range_fault, then read_retry and the
 * device page table under its lock) while gpu1 migrates it into its own memory. The buggy
 * driver takes the interval's sequence as it is (READ_ONCE(sub->invalidate_seq)) instead of
 * calling mmu_interval_read_begin, which waits while an invalidation that has already called
 * the interval back runs (mm/mmu_notifier.c explains why: such a reader's read_retry would
 * compare equal). The stale mapping needs gpu0 to begin between gpu1's callback to gpu0 and
 * the collection that follows it, a state only split invalidations reach: with
 * `atomicInvalidation` (migrate_vma_setup as one step) the buggy driver is clean.
 */
export function readBeginNoWait(variant: Variant, atomicInvalidation = false): RaceModel {
  return {
    name: `read-begin-nowait-${variant}`,
    description: PROBLEMS['read-begin-nowait'],
    create() {
      const w = new KernelWorld(1);
      const gpu0 = new SvmDevice(w, 'gpu0');
      const gpu1 = new SvmDevice(w, 'gpu1');
      const ctx = { result: 0 };
      const bind = (function* (): Generator<AgentYield, void, void> {
        for (;;) {
          const r = yield* gpu0.mirror(0, 1, { write: false, readBeginNoWait: variant === 'buggy' });
          ctx.result = r.ret;
          if (r.ret === -EBUSY) {
            yield { step: 'mmu_interval_read_retry: retry', call: 'gpu0 bind' };
            continue;
          }
          break;
        }
        gpu0.access(0, false);
        w.opDone();
        yield { step: 'device reads the page', call: 'device access' };
      })();
      const migCtx = { moved: -1 };
      const migrate = (function* (): Generator<AgentYield, void, void> {
        migCtx.moved = yield* gpu1.migrateToDevice(0, 1, undefined, atomicInvalidation);
        w.opDone();
      })();
      return raceWorld(w, [agent('gpu0.bind', ctx, bind), agent('gpu1.migrate', migCtx, migrate)]);
    },
  };
}

// ---- the selftest anon_teardown -------------------------------------------------------------

function anonTeardown(pages: number): RaceModel {
  return {
    name: 'anon-teardown',
    description: PROBLEMS['anon-teardown'],
    create() {
      const w = new KernelWorld(pages, { dmirror: true });
      const fd = w.proc.open('/dev/hmm_dmirror0', O_RDWR);
      const bounce = w.proc.mmap(0, pages * PAGE_SIZE, 3, 0x22);
      // The READ's state inside the driver (its hmm_range and bounce buffer) is not visible to
      // the explorer, so its local state records, step by step, whether the munmap had happened:
      // two interleavings are never merged (the configuration is a small tree anyway).
      const ctx = { ret: 1, seen: '' };
      let unmapped = false;
      // Steps the munmap has taken (its invalidation's start and callbacks): recorded by the
      // READ with each of its own steps, so that a READ step run before the munmap began and
      // one run inside it are told apart.
      let unmapSteps = 0;
      const written = Array.from(w.oracle);
      const read = (function* (): Generator<AgentYield, void, void> {
        const cmd = { addr: w.base, ptr: bounce, npages: pages, cpages: 0, faults: 0 };
        const steps = kernelSteps(w.k, 'HMM_DMIRROR_READ', w.proc.ioctlSteps(fd, HMM_DMIRROR_READ, cmd));
        let ret: number;
        for (;;) {
          const r = steps.next();
          if (r.done) {
            ret = r.value;
            break;
          }
          ctx.seen += unmapped ? 'u' : unmapSteps === 0 ? 'm' : String(unmapSteps);
          yield r.value;
        }
        ctx.ret = ret;
        if (ret === 0) {
          // The READ saw the buffer before the munmap: the bounce buffer holds its bytes.
          for (let i = 0; i < pages; i++) {
            const b = w.proc.load(bounce + i * PAGE_SIZE, 4);
            const got = new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
            if (got !== written[i])
              w.fail('data', `READ returned 0 but page ${i} reads ${got}, not ${written[i]}`);
          }
          if (cmd.cpages !== pages) w.fail('data', `READ returned 0 with cpages ${cmd.cpages}, not ${pages}`);
        }
        w.opDone();
        yield { step: `READ returned ${ret}`, call: 'HMM_DMIRROR_READ' };
      })();
      const unmap = (function* (): Generator<AgentYield, void, void> {
        const steps = kernelSteps(w.k, 'munmap', w.proc.munmapSteps(w.base, pages * PAGE_SIZE));
        for (let r = steps.next(); !r.done; r = steps.next()) {
          unmapSteps++;
          yield r.value;
        }
        unmapped = true;
        for (let i = 0; i < pages; i++) w.oracle[i] = 0;
        w.opDone();
        yield { step: 'munmap the buffer', call: 'munmap' };
      })();
      return raceWorld(w, [agent('dmirror.read', ctx, read), agent('cpu0', {}, unmap)], {
        quiescent: () => {
          // The mirror must not keep a translation the CPU page table no longer has.
          const dm = [...(w.machine.devices[0]?.opens ?? [])][0];
          for (const [vpn, e] of dm?.pt ?? []) {
            const pte = w.cpuPte(vpn * PAGE_SIZE);
            if (pte.pfn !== Math.floor(e / 4))
              return {
                invariant: 'notifier-contract',
                message: `dmirror still maps ${vpn * PAGE_SIZE} to pfn ${Math.floor(e / 4)}; the CPU page table has ${pte.kind}`,
              };
          }
          return null;
        },
      });
    },
  };
}

// ---- test_hmm's own-migration window ------------------------------------------------------

function dmirrorOwnMigrate(variant: Variant): RaceModel {
  return {
    name: `dmirror-own-migrate-${variant}`,
    description: PROBLEMS['dmirror-own-migrate'],
    create() {
      const w = new KernelWorld(1, { dmirror: true });
      const dev = w.machine.devices[0]!;
      // The fix needs both: B's table must lose the page when A migrates it, and B's next fault
      // must then mirror the backing page, not the device page it cannot copy from.
      dev.invalidateOwnMigrate = variant === 'fixed';
      dev.faultMapsBackingPage = variant === 'fixed';
      // Two files on /dev/hmm_dmirror0: B mirrors the page while it is in RAM; A migrates it.
      const fdA = w.proc.open('/dev/hmm_dmirror0', O_RDWR);
      const fdB = w.proc.open('/dev/hmm_dmirror0', O_RDWR);
      const bounceA = w.proc.mmap(0, PAGE_SIZE, 3, 0x22);
      const bounceB = w.proc.mmap(0, PAGE_SIZE, 3, 0x22);
      const cmd = (ptr: number) => ({ addr: w.base, ptr, npages: 1, cpages: 0, faults: 0 });
      if (w.proc.ioctl(fdB, HMM_DMIRROR_READ, cmd(bounceB)) !== 0) throw new Error('model bug: READ failed');
      const readTag = (): number => {
        const b = w.proc.load(bounceB, 4);
        return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
      };
      let written = false;
      // Each agent's progress, for state hashing.
      const ctxA = { steps: 0 };
      const ctxB = { steps: 0 };
      // A migrates the page into the device (migrate_vma_setup sends MMU_NOTIFY_MIGRATE owned by
      // the device, which B's dmirror_interval_invalidate ignores).
      const migrate = (function* (): Generator<AgentYield, void, void> {
        const steps = kernelSteps(
          w.k,
          'HMM_DMIRROR_MIGRATE_TO_DEV',
          w.proc.ioctlSteps(fdA, HMM_DMIRROR_MIGRATE_TO_DEV, cmd(bounceA)),
        );
        let x = steps.next();
        for (; !x.done; x = steps.next()) {
          ctxA.steps++;
          yield x.value;
        }
        if (x.value !== 0) throw new Error(`model bug: MIGRATE_TO_DEV returned ${x.value}`);
        w.opDone();
        yield { step: 'MIGRATE_TO_DEV returned 0', call: 'HMM_DMIRROR_MIGRATE_TO_DEV' };
      })();
      // A CPU write to the page (in RAM, or on the device: do_swap_page, dmirror_devmem_fault).
      const cpu = (function* (): Generator<AgentYield, void, void> {
        w.cpuWrite(0);
        written = true;
        w.opDone();
        yield { step: 'write', call: 'store' };
      })();
      // B reads the page after the CPU write, and must see it.
      const read = (function* (): Generator<AgentYield, void, void> {
        yield { wait: 'the CPU write', call: 'test', until: () => written };
        const steps = kernelSteps(
          w.k,
          'HMM_DMIRROR_READ',
          w.proc.ioctlSteps(fdB, HMM_DMIRROR_READ, cmd(bounceB)),
        );
        let x = steps.next();
        for (; !x.done; x = steps.next()) yield x.value;
        if (x.value === 0 && readTag() !== w.oracle[0])
          w.fail(
            'data',
            `READ after the CPU write returned tag ${readTag()}, not ${w.oracle[0]}: B still mirrors the system page A migrated away`,
          );
        w.opDone();
        yield { step: `READ returned ${x.value}`, call: 'HMM_DMIRROR_READ' };
      })();
      return raceWorld(
        w,
        [
          agent('dmirrorA.migrate', ctxA, migrate),
          agent('cpu0', {}, cpu),
          agent('dmirrorB.read', ctxB, read),
        ],
        {
          quiescent: () => {
            for (const dm of dev.opens) {
              for (const [vpn, e] of dm.pt) {
                const pte = w.cpuPte(vpn * PAGE_SIZE);
                const pfn = Math.floor(e / 4);
                const backing = pte.kind === 'device-private' ? dev.backingPage(pte.pfn) : pte.pfn;
                if (pte.pfn !== pfn && backing !== pfn)
                  return {
                    invariant: 'notifier-contract',
                    message: `a dmirror file still maps the page to pfn ${pfn}; the CPU page table has ${pte.kind} pfn ${pte.pfn}`,
                  };
              }
            }
            return null;
          },
        },
      );
    },
  };
}

/** Builds the race model of a problem. */
export function problemModel(spec: ProblemSpec): RaceModel {
  switch (spec.problem) {
    case 'multi-device-migrate':
      return multiDeviceMigrate(spec.variant, spec.pages ?? 1, spec.threads ?? 2);
    case 'cpu-fault-refcount':
      return cpuFaultRefcount(spec.variant, spec.threads ?? 2);
    case 'hmm-spin-locked-folio':
      return hmmSpinLockedFolio(spec.variant);
    case 'skip-read-retry':
      return skipReadRetry(spec.variant, spec.pages ?? 2);
    case 'unplug-revoke':
      return unplugRevoke(spec.variant);
    case 'anon-teardown':
      return anonTeardown(spec.pages ?? 2);
    case 'read-begin-nowait':
      return readBeginNoWait(spec.variant);
    case 'dmirror-own-migrate':
      return dmirrorOwnMigrate(spec.variant);
  }
}
