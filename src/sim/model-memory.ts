/**
 * modelMemoryBytes(): what the model itself holds for a simulated machine (frame table, page
 * tables, device state). No Linux counterpart; the nearest is what /proc/meminfo's PageTables
 * and the struct page array (memmap) cost a real kernel.
 *
 *   simulate(config, { seed: 1, inspect: (m) => console.log(modelMemoryBytes(m).total) });
 */
import type { Machine } from '../uapi/machine.js';

/** Model memory of a simulated machine, in bytes, by part (see modelMemoryBytes). */
export interface ModelMemory {
  /** The frame table (struct pages of RAM, VRAM and BAR alias pages in use) and page contents. */
  frames: number;
  /** Every process's CPU page tables. */
  pageTables: number;
  /** GPU and NIC state: device page tables, MR translation tables, VRAM block state. */
  devices: number;
  total: number;
}

/**
 * What the model holds for a machine, in bytes: typed arrays counted exactly, the JS objects
 * around them estimated (constants measured on Node 20). Not process RSS: a counter of the
 * model's own state, which grows with the pages touched and not with the memory declared.
 * Pass it to simulate() through `inspect` to read it at the end of a run.
 */
export function modelMemoryBytes(machine: Machine): ModelMemory {
  const { frames, pageTables } = machine.kernel.memoryBytes();
  let devices = 0;
  for (const g of machine.gpus) devices += g.memoryBytes();
  for (const n of machine.nics) devices += n.memoryBytes();
  return { frames, pageTables, devices, total: frames + pageTables + devices };
}
