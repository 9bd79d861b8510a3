/**
 * measureCopyBandwidth(): the bandwidth of one uncontended host<->device copy through the
 * simulator's own path: a one-GPU platform of the profile, its route through the (default)
 * PCI tree, its copy engine and `Platform.copy`, the code every GPU workload's copies take.
 * A harness for one copy; docs/validation.md measures its inputs through whole `simulate()`
 * runs instead (validation.ts).
 *
 *   measureCopyBandwidth('pcie5-h100', 2 ** 30, 'h2d');   // GB/s, near the profile's peak
 *
 * No Linux counterpart.
 */
import { PAGE_SIZE } from '../kernel/constants.js';
import { configProfile, parseConfig } from './config.js';
import { Engine } from './engine.js';
import { Fabric } from './links.js';
import { SimMetrics } from './metrics.js';
import { Platform } from './platform.js';

/** The effective bandwidth (bytes/ns = GB/s) of one uncontended copy of `bytes` on profile `profileName`. */
export function measureCopyBandwidth(profileName: string, bytes: number, dir: 'h2d' | 'd2h'): number {
  const config = parseConfig({
    version: 1,
    profile: profileName,
    platform: { ram: 64 * PAGE_SIZE * 512 },
    devices: { gpus: [{ name: 'gpu0', vram: 64 * PAGE_SIZE * 512 }] },
    buffers: [{ name: 'b', size: PAGE_SIZE }],
    // Not run: a config needs one; only the platform is built.
    workloads: [{ kind: 'cpu', name: 'w', buffer: 'b', op: 'read', pattern: 'sequential' }],
  });
  const engine = new Engine();
  const p = new Platform(config, configProfile(config), engine, new Fabric(engine), new SimMetrics(false));
  let took = 0;
  engine.spawn(
    (function* () {
      took = yield* p.copy(p.gpus.get('gpu0')!, { bytes, dir });
    })(),
  );
  engine.run();
  return bytes / took;
}
