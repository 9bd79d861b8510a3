/**
 * One host<->device copy through the fabric, charged with the cost profile's transfer curve
 * (measureCopyBandwidth in copy-bandwidth.ts measures it through a platform). Linux
 * counterpart: none in the kernel (a GPU driver's copy engine submission); the curve is the
 * measured one of docs/costs.md.
 *
 *   engine.spawn((function* () {
 *     const path = platform.route(ramEnd(0), deviceEnd('gpu0'));
 *     const r = yield* hostDeviceCopy(fabric, profile, path, { bytes: 2 ** 21, dir: 'h2d' });
 *   })());
 */
import type { Transfer } from '../drivers/gpu.js';
import { type CostProfile, transferTimeNs } from './costs.js';
import type { Wait } from './engine.js';
import type { Fabric, Link, TransferResult } from './links.js';

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
