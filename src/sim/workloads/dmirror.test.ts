import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../kernel/constants.js';
import { runAgent } from '../agent.js';
import type { DmirrorWorkload, SimConfig } from '../config.js';
import { buildSim } from '../simulate.js';
import { dmirrorWorkload } from './dmirror.js';

const MiB = 2 ** 20;
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
    // dmirror's device memory is RAM: the copies go over host memory only.
    expect(sim.platform.hostMem[0].bytesCarried).toBe(2 * MiB);
  });
});
