import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../kernel/constants.js';
import { runAgent } from '../agent.js';
import type { DmirrorWorkload, SimConfig } from '../config.js';
import { getProfile } from '../costs.js';
import { buildSim } from '../simulate.js';
import { dmirrorWorkload } from './dmirror.js';

const MiB = 2 ** 20;
const v = getProfile('pcie4-a100').values;
const w: DmirrorWorkload = {
  kind: 'dmirror',
  name: 'd',
  dmirror: 'dm0',
  buffer: 'b',
  op: 'migrate',
  pattern: 'sequential',
  ioctlSize: 128 * PAGE_SIZE,
};
const config: SimConfig = {
  version: 1,
  profile: 'pcie4-a100',
  platform: { ram: 256 * MiB },
  devices: { gpus: [], dmirrors: [{ name: 'dm0', minor: 0 }] },
  buffers: [{ name: 'b', size: 2 * MiB, place: 'ram' }],
  workloads: [w],
};

describe('dmirror workload', () => {
  it('migrates the buffer in ioctls of ioctlSize bytes, each on a CPU core with its memcpy', () => {
    const sim = buildSim(config, { seed: 1, log: true });
    sim.engine.spawn(runAgent(sim, dmirrorWorkload(sim, w)), 'd');
    sim.engine.run();
    const pages = (2 * MiB) / PAGE_SIZE;
    expect(sim.metrics.workloads.d).toMatchObject({ ioctls: pages / 128, cpages: pages, ioctlErrors: 0 });
    const ioctls = sim.metrics.log!.flatMap((e) => (e.kind === 'dmirror_ioctl' ? [e] : []));
    expect(ioctls.map((e) => e.cpages)).toEqual([128, 128, 128, 128]);
    expect(ioctls.every((e) => e.ret === 0 && e.device === 'dm0')).toBe(true);
    // dmirror's device memory is RAM: the copies go over host memory only, the migration's
    // and the read-back of the migrated data into the bounce buffer (dmirror_migrate_to_device).
    expect(sim.platform.hostMem[0].bytesCarried).toBe(2 * (2 * MiB));
    // Each ioctl is one migrate_vma call of 128 small-page entries.
    for (const e of ioctls)
      expect(e.phases).toContainEqual([
        'migrate_vma',
        v.migrateVmaFixedNs + 128 * v.migrateVmaPerEntryNs + 128 * v.migrateVmaPerPageNs,
      ]);
  });

  // Kills: MIGRATE_TO_SYS copying `cpages` x 4 KiB (test_hmm counts a THP coming back as one
  // page in cpages) instead of the bytes it moved.
  it('a THP going to the device and coming back copies 2 MiB and is one migrate entry each way', () => {
    const thp: SimConfig = {
      ...config,
      buffers: [{ name: 'b', size: 2 * MiB, hugepage: true, place: 'ram' }],
      workloads: [
        { ...w, name: 'in', ioctlSize: 2 * MiB },
        { ...w, name: 'out', op: 'migrate-to-ram', ioctlSize: 2 * MiB, after: 'in' },
      ],
    };
    const sim = buildSim(thp, { seed: 1, log: true });
    sim.engine.spawn(runAgent(sim, dmirrorWorkload(sim, thp.workloads[0] as DmirrorWorkload)), 'in');
    sim.engine.run();
    const afterIn = sim.platform.hostMem[0].bytesCarried;
    sim.engine.spawn(runAgent(sim, dmirrorWorkload(sim, thp.workloads[1] as DmirrorWorkload)), 'out');
    sim.engine.run();
    const ioctls = sim.metrics.log!.flatMap((e) => (e.kind === 'dmirror_ioctl' ? [e] : []));
    expect(ioctls.map((e) => [e.op, e.cpages])).toEqual([
      ['migrate', 512], // test_hmm: the pages read back
      ['migrate-to-ram', 1], // test_hmm: dmirror_successful_migrated_pages, one per THP entry
    ]);
    // Out: the 2 MiB migration; in: the 2 MiB migration and its 2 MiB read-back.
    expect(sim.platform.hostMem[0].bytesCarried - afterIn).toBe(2 * MiB);
    expect(afterIn).toBe(4 * MiB);
    const entry = v.migrateVmaFixedNs + v.migrateVmaPerEntryNs + 512 * v.migrateVmaPerPageNs;
    for (const e of ioctls) expect(e.phases).toContainEqual(['migrate_vma', entry]);
  });
});
