/**
 * The SVM GPU driver (nouveau dmem, Xe drm_gpusvm / drm_pagemap, nvidia-uvm), split by
 * concern: device.ts (the device and its fault-service pass), fault-buffer.ts, migrate.ts,
 * mirror.ts, vram.ts, eviction.ts, prefetch.ts, thrashing.ts, access-counters.ts, types.ts.
 * This is its public surface; src/drivers/gpu.ts re-exports it.
 */
export { GpuDevice } from './device.js';
export { GpuMirror } from './mirror.js';
export {
  type BatchResult,
  DISCARD_TRANSFERS,
  type GpuOptions,
  type GpuStats,
  type MigrateWork,
  PLACEMENT_POLICIES,
  type PlacementPolicy,
  type QueuedMigrations,
  type Transfer,
  TransferQueue,
  type TransferSink,
} from './types.js';
export { gpuMemRegionBytes } from './vram.js';
