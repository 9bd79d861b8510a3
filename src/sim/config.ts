/**
 * The simulator's input is the scenario format: SimConfig is what the scenario schema
 * (src/scenario/schema.ts) gives for a file or for a configuration built in code
 * (parseConfig), with the file's own keys (`devices.gpus[].vram`, `buffers[].size`,
 * `workloads[].start`, `events`, ...). This module names its parts for the code that reads
 * them, and resolves its cost profile. No Linux counterpart: this is the description of a machine
 * and what runs on it, as a test harness would set it up.
 *
 *   const config = parseConfig({ version: 1, profile: 'pcie5-h100', buffers: [{ name: 'b', size: '64MiB' }],
 *     workloads: [{ kind: 'cpu', name: 'w', buffer: 'b', op: 'write', pattern: 'sequential' }] });
 *   // parseConfig throws ConfigError('buffers[0].size: expected a size > 0, found 0') for a bad buffer
 */
import { ConfigError } from '../scenario/load.js';
import type { SimConfig } from '../scenario/schema.js';
import { type CostProfile, resolveProfile, withOverrides } from './costs.js';

export { ConfigError, type ConfigIssue, DEFAULT_SEED, parseConfig } from '../scenario/load.js';
export type { SimConfig, SimConfigInput } from '../scenario/schema.js';

type Devices = NonNullable<SimConfig['devices']>;
/** An SVM GPU (`devices.gpus[]`). */
export type GpuConfig = NonNullable<Devices['gpus']>[number];
/** An RDMA NIC (`devices.nics[]`). */
export type NicConfig = NonNullable<Devices['nics']>[number];
/** A test_hmm mirror device (`devices.dmirrors[]`): /dev/hmm_dmirror<minor>, device-private. */
export type DmirrorConfig = NonNullable<Devices['dmirrors']>[number];
/** A buffer (`buffers[]`): one private anonymous mmap() in one process. */
export type BufferConfig = SimConfig['buffers'][number];
/** A workload (`workloads[]`), by its `kind`. */
export type WorkloadConfig = SimConfig['workloads'][number];
export type CpuWorkload = Extract<WorkloadConfig, { kind: 'cpu' }>;
export type GpuWorkload = Extract<WorkloadConfig, { kind: 'gpu' }>;
export type RdmaWorkload = Extract<WorkloadConfig, { kind: 'rdma' }>;
/**
 * ioctls on a test_hmm mirror device (/dev/hmm_dmirrorN, src/drivers/dmirror.ts), from the
 * buffer's process: READ/WRITE mirror pages through hmm_range_fault and copy them through a
 * bounce buffer; MIGRATE moves them into the device's private memory (migrate_vma), TO_SYS
 * back; EXCLUSIVE takes device-exclusive entries.
 */
export type DmirrorWorkload = Extract<WorkloadConfig, { kind: 'dmirror' }>;
export type DmirrorOp = DmirrorWorkload['op'];
export type AccessPattern = WorkloadConfig['pattern'];
/** An event (`events[]`), by its `kind`. */
export type EventConfig = NonNullable<SimConfig['events']>[number];
/** A GPU hot unplug (`events[]` of kind `unplug`). */
export type UnplugEvent = Extract<EventConfig, { kind: 'unplug' }>;

/**
 * The cost profile a configuration runs with: its `profile` (a built-in's name or a CostProfile
 * object) with its `overrides` applied. Throws ConfigError at `profile` for a profile file that
 * was not read (simulate() reads no files: src/profile/ reads it at the edge).
 */
export function configProfile(config: SimConfig): CostProfile {
  let profile: CostProfile;
  try {
    profile = resolveProfile(config.profile);
  } catch (e) {
    throw new ConfigError([{ path: ['profile'], message: (e as Error).message }]);
  }
  if (config.overrides === undefined) return profile;
  const r = withOverrides(profile, config.overrides);
  if (r.error !== undefined) throw new ConfigError([{ path: ['overrides'], message: r.error }]);
  return r.profile;
}

/**
 * A ConfigError at the item named `name` of the list at `list` (['buffers'], ['workloads'],
 * ['devices', 'dmirrors']): a configuration the machine cannot hold (an mmap or an open that
 * failed while building or running it).
 */
export function configErrorAt(
  config: SimConfig,
  list: readonly ['buffers'] | readonly ['workloads'] | readonly ['devices', 'dmirrors'],
  name: string,
  message: string,
): ConfigError {
  let items: readonly { name: string }[] = [];
  if (list[0] === 'buffers') items = config.buffers;
  else if (list[0] === 'workloads') items = config.workloads;
  else items = config.devices?.dmirrors ?? [];
  const i = items.findIndex((x) => x.name === name);
  return new ConfigError([{ path: i < 0 ? [...list] : [...list, i], message }]);
}
