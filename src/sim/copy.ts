/**
 * One host<->device copy through the fabric, charged with the cost profile's transfer curve,
 * and measureCopyBandwidth(), the bandwidth of one uncontended copy through the simulator's
 * own path (for validation.ts). Linux counterpart: none in the kernel (a GPU driver's copy
 * engine submission); the curve is the measured one of docs/costs.md.
 *
 *   engine.spawn((function* () {
 *     const r = yield* hostDeviceCopy(fabric, profile, [hostRead, pcieH2d], { bytes: 2 ** 21, dir: 'h2d' });
 *   })());
 *   measureCopyBandwidth('pcie5-h100', 2 ** 30, 'h2d');   // GB/s, near the profile's peak
 */
import type { Transfer } from '../drivers/gpu.js';
import { type CostProfile, getProfile, transferTimeNs } from './costs.js';
import { Engine, type Wait } from './engine.js';
import { Fabric, Link, type TransferResult } from './links.js';

/**
 * One host<->device copy over `path`. Its fixed part (the profile's transfer time minus the
 * bytes at the profile's host link bandwidth) is charged as latency; the bytes share the
 * path's bandwidth with concurrent copies. Uncontended on the profile's own link, the time is
 * exactly transferTimeNs.
 */
export function* hostDeviceCopy(
  fabric: Fabric,
  profile: CostProfile,
  path: Link[],
  t: Transfer,
): Generator<Wait, TransferResult, unknown> {
  const dir = t.dir === 'h2d' ? 'hostToDevice' : 'deviceToHost';
  // The fixed part of a copy is the profile's transfer time minus the bytes at the profile's
  // own link bandwidth; the bytes then flow at whatever the path's links give.
  const profilePeak =
    t.dir === 'h2d' ? profile.values.hostToDeviceBandwidth : profile.values.deviceToHostBandwidth;
  const latency = Math.max(0, transferTimeNs(profile, t.bytes, dir) - t.bytes / profilePeak);
  return (yield fabric.transfer(path, t.bytes, latency)) as TransferResult;
}

/**
 * The effective bandwidth (bytes/ns = GB/s) of one uncontended copy of `bytes` through the
 * simulator's own path (engine, fabric, host memory and PCIe links), for validation.
 */
export function measureCopyBandwidth(profileName: string, bytes: number, dir: 'h2d' | 'd2h'): number {
  const profile = getProfile(profileName);
  const v = profile.values;
  const engine = new Engine();
  const fabric = new Fabric(engine);
  const memOut = new Link('host-memory.read', v.hostMemoryBandwidth);
  const memIn = new Link('host-memory.write', v.hostMemoryBandwidth);
  const h2d = new Link('pcie.h2d', v.hostToDeviceBandwidth);
  const d2h = new Link('pcie.d2h', v.deviceToHostBandwidth);
  const path = dir === 'h2d' ? [memOut, h2d] : [d2h, memIn];
  let end = 0;
  engine.spawn(
    (function* () {
      const r = yield* hostDeviceCopy(fabric, profile, path, { bytes, dir });
      end = r.endNs;
    })(),
  );
  engine.run();
  return bytes / end;
}
