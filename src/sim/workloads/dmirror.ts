/**
 * A dmirror workload: ioctls on a test_hmm mirror device (/dev/hmm_dmirrorN,
 * drivers/dmirror.ts) from the buffer's process, `ioctlSize` bytes each. READ and WRITE
 * mirror pages through hmm_range_fault and copy them through a user bounce buffer (cmd.ptr),
 * as the selftests do; MIGRATE moves them into the device's private memory (migrate_vma),
 * MIGRATE_TO_SYS back; EXCLUSIVE takes device-exclusive entries. Each ioctl runs on a CPU
 * core: the syscall, the walk or migration, the faults it took, the invalidations it sent, GPU
 * pages it pulled back to RAM, then the driver's memcpy over host memory (dmirror's "device
 * memory" is RAM).
 *
 *   devices: { dmirrors: [{ name: 'dm0', minor: 0 }] }
 *   workloads: [{ kind: 'dmirror', name: 'd0', dmirror: 'dm0', buffer: 'b', op: 'migrate',
 *                 pattern: 'sequential', ioctlSize: '2MiB' }]
 *
 * Linux counterpart: tools/testing/selftests/mm/hmm-tests.c driving lib/test_hmm.c.
 * Deliberate difference: each process opens each device once, on its first ioctl.
 */
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  O_RDWR,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
} from '../../kernel/constants.js';
import {
  HMM_DMIRROR_EXCLUSIVE,
  HMM_DMIRROR_MIGRATE_TO_DEV,
  HMM_DMIRROR_MIGRATE_TO_SYS,
  HMM_DMIRROR_READ,
  HMM_DMIRROR_WRITE,
} from '../../uapi/test_hmm_uapi.js';
import type { SimAgent, SimContext } from '../agent.js';
import { configErrorAt, type DmirrorOp, type DmirrorWorkload } from '../config.js';
import type { Wait } from '../engine.js';
import { migrateCostNs } from '../migrate-cost.js';
import type { Platform } from '../platform.js';
import { pageIndexes } from './access.js';

const DMIRROR_REQUEST: Record<DmirrorOp, number> = {
  read: HMM_DMIRROR_READ,
  write: HMM_DMIRROR_WRITE,
  migrate: HMM_DMIRROR_MIGRATE_TO_DEV,
  'migrate-to-ram': HMM_DMIRROR_MIGRATE_TO_SYS,
  exclusive: HMM_DMIRROR_EXCLUSIVE,
};

/** Open file descriptors of each run, by "device\0process" (each process opens a device once). */
const openFds = new WeakMap<Platform, Map<string, number>>();

function dmirrorFd(sim: SimContext, dev: string, procName: string): number {
  let fds = openFds.get(sim.platform);
  if (!fds) {
    fds = new Map();
    openFds.set(sim.platform, fds);
  }
  const key = `${dev}\0${procName}`;
  let fd = fds.get(key);
  if (fd === undefined) {
    const minor = sim.config.devices!.dmirrors!.find((d) => d.name === dev)!.minor ?? 0;
    fd = sim.platform.procs.get(procName)!.proc.open(`/dev/hmm_dmirror${minor}`, O_RDWR);
    if (fd < 0) throw configErrorAt(sim.config, ['devices', 'dmirrors'], dev, `open failed (${fd})`);
    fds.set(key, fd);
  }
  return fd;
}

/** The agent of dmirror workload `w`. */
export function dmirrorWorkload(sim: SimContext, w: DmirrorWorkload): SimAgent {
  return { name: w.name, after: w.after, startNs: w.start, run: () => run(sim, w) };
}

function* run(sim: SimContext, w: DmirrorWorkload): Generator<Wait, void, unknown> {
  const { engine, fabric, platform: p, metrics, v } = sim;
  const b = p.buffers.get(w.buffer)!;
  const proc = p.procs.get(b.proc)!.proc;
  const fd = dmirrorFd(sim, w.dmirror, b.proc);
  const per = Math.max(1, w.ioctlSize === undefined ? 512 : w.ioctlSize / PAGE_SIZE);
  const pages = Math.ceil(Math.min(w.bytes ?? b.bytes, b.bytes) / PAGE_SIZE);
  const chunks = Math.ceil(pages / per);
  // READ and WRITE copy through a user bounce buffer (cmd.ptr), as the selftests do.
  const bounce = proc.mmap(0, per * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  if (bounce < 0)
    throw configErrorAt(sim.config, ['workloads'], w.name, `mmap of the bounce buffer failed (${bounce})`);
  const next = pageIndexes(
    w.pattern,
    chunks,
    Math.max(1, (w.stride ?? 65536) / PAGE_SIZE / per),
    sim.rng.fork(w.name),
  );
  const wm = metrics.workloadStarted(w.name, engine.now, true);
  const request = DMIRROR_REQUEST[w.op];
  for (let pass = 0; pass < (w.passes ?? 1); pass++) {
    for (let c = 0; c < chunks; c++) {
      const first = next(c) * per;
      const n = Math.min(per, pages - first);
      const cmd = { addr: b.addr + first * PAGE_SIZE, ptr: bounce, npages: n, cpages: 0, faults: 0 };
      const inv0 = p.gpuInvalidations();
      const ret = proc.ioctl(fd, request, cmd);
      wm.ioctls!++;
      wm.pagesTouched += n;
      if (ret < 0) wm.ioctlErrors!++;
      else {
        wm.cpages! += cmd.cpages;
        wm.cpuFaults += cmd.faults;
      }
      const done = ret < 0 ? 0 : cmd.cpages;
      // What the device's migrations moved (MIGRATE, MIGRATE_TO_SYS, RELEASE, and the
      // migrate_to_ram of its pages a READ faulted back), taken now, before anything yields.
      const mig = p.takeDmirrorMigrations();
      // What the ioctl migrated becomes visible when its work is done (inflight.ts).
      const held = sim.inflight.pending ? sim.inflight.hold() : null;
      // The ioctl's CPU work: the syscall and hmm_range_fault walk, the faults it took, the
      // invalidations it sent, its migrations (the migration cost model: per migrate_vma call
      // and per entry, a THP moved whole being one entry both ways), and GPU pages it pulled
      // back to RAM.
      const invNs = p.invalidationNsSince(inv0);
      const migrateNs = migrateCostNs(v, mig.calls, mig.entries, mig.pages);
      const walks = w.op === 'read' || w.op === 'write' || w.op === 'exclusive';
      const hmmNs = walks ? v.hmmRangeFaultCallNs + n * v.hmmRangeFaultPerPteNs : 0;
      const faultsNs = walks ? (ret < 0 ? 0 : cmd.faults) * v.cpuFaultEntryNs : 0;
      let ns = v.cpuFaultEntryNs + invNs + migrateNs + hmmNs + faultsNs;
      const back = yield* p.migratedToRam(held ? () => sim.inflight.drain(held) : undefined);
      ns += back.cpuNs;
      const waited = back.waitNs;
      const core = yield* p.cpus.acquire();
      const t0 = engine.now;
      yield ns;
      // The driver's memcpy over host memory: a migration into or out of its (RAM-backed)
      // device pages by the bytes it moved (a THP is 2 MiB either way), and the bounce buffer
      // (`cpages` pages) of READ, WRITE and MIGRATE (which reads the migrated data back, as
      // dmirror_migrate_to_device does); EXCLUSIVE's read-back is not charged.
      const bounced = w.op === 'read' || w.op === 'write' || w.op === 'migrate' ? done : 0;
      const bytes = (bounced + mig.pages) * PAGE_SIZE;
      const tc = engine.now;
      if (bytes > 0) yield fabric.transfer([p.hostMem[0], p.hostMem[1]], bytes, 0);
      const memcpyNs = engine.now - tc;
      p.cpus.release(core);
      if (held) sim.inflight.release(held);
      const cpuNs = engine.now - t0;
      wm.faultNs += cpuNs;
      wm.computeNs += waited;
      if (metrics.log)
        metrics.event({
          t: t0,
          kind: 'dmirror_ioctl',
          workload: w.name,
          device: w.dmirror,
          op: w.op,
          pages: n,
          cpages: done,
          faults: ret < 0 ? 0 : cmd.faults,
          cpuNs,
          core,
          phases: (
            [
              ['syscall', v.cpuFaultEntryNs],
              ['hmm_range_fault', hmmNs],
              ['CPU faults', faultsNs],
              ['mmu notifier invalidations', invNs],
              ['migrate_vma', migrateNs],
              ['migrate_to_ram', back.cpuNs],
              ['memcpy', memcpyNs],
            ] as [string, number][]
          ).filter((ph) => ph[1] > 0),
          ret,
          ramPages: p.kernel.alloc.used,
          vramPages: p.vramByGpu(),
        });
    }
  }
  metrics.workloadEnded(w.name, engine.now);
}
