/**
 * Sparse memory: the model's memory grows with the pages touched, not with the sizes declared.
 * A 2 TiB, 8 x 80 GiB machine that touches little must cost little, and buffers anywhere in a
 * 2^47-byte address space (up to TASK_SIZE) must work: mmap, fault, hmm_range_fault, migrate.
 * Memory is the model's own counter (modelMemoryBytes: typed arrays of frame sections, page
 * tables and device tables), never process RSS.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkInvariants } from '../check/invariants.js';
import {
  EBUSY,
  HMM_PFN_HI_REQ_FAULT,
  HMM_PFN_HI_REQ_WRITE,
  HMM_PFN_HI_VALID,
  HMM_PFN_HI_WRITE,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  PAGE_SIZE,
  PMD_SIZE,
  PROT_READ,
  PROT_WRITE,
  TASK_SIZE,
} from '../kernel/constants.js';
import { HmmRange, hmmRangeFault } from '../kernel/hmm.js';
import { mmuIntervalReadBegin } from '../kernel/mmu_notifier.js';
import { loadScenario } from '../scenario/index.js';
import { Machine } from '../uapi/machine.js';
import { type ModelMemory, modelMemoryBytes, type SimConfig, simulate } from './simulate.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const TiB = 2 ** 40;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

/** scenarios/dgx-class.yaml (2 TiB RAM, 8 x 80 GiB GPUs, 8 NICs) with each share cut to `shareBytes`. */
function dgx(shareBytes: number): SimConfig {
  const file = new URL('../../scenarios/dgx-class.yaml', import.meta.url);
  const r = loadScenario(readFileSync(file, 'utf8'), 'scenarios/dgx-class.yaml');
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  const c = structuredClone(r.config);
  const k = shareBytes / c.buffers[0]!.size;
  for (const b of c.buffers) b.size = shareBytes;
  for (const w of c.workloads) {
    if (w.bytes !== undefined)
      w.bytes = Math.max(PAGE_SIZE, Math.round((w.bytes * k) / PAGE_SIZE) * PAGE_SIZE);
    if (w.kind === 'rdma') w.messages = Math.max(1, Math.round(w.messages * k));
  }
  return c;
}

function run(config: SimConfig): { mem: ModelMemory; touched: number } {
  let mem: ModelMemory | undefined;
  const r = simulate(config, {
    seed: 1,
    inspect: (m) => {
      mem = modelMemoryBytes(m);
    },
  });
  let touched = 0;
  for (const [name, w] of Object.entries(r.workloads))
    if (name.startsWith('compute')) touched += w.pagesTouched;
  return { mem: mem!, touched };
}

describe('sparse memory', () => {
  it('declares 2 TiB of RAM and 8 x 80 GiB of VRAM but pays only for what it touches', () => {
    const config = dgx(16 * MiB);
    expect(config.platform?.ram).toBe(2 * TiB);
    expect(config.devices?.gpus).toHaveLength(8);
    for (const g of config.devices!.gpus!) expect(g.vram).toBe(80 * GiB);
    for (const design of ['upstream', 'pagemap-p2p', 'owner-registry'] as const) {
      const { mem, touched } = run({ ...config, design });
      expect(touched).toBe((8 * 16 * MiB) / PAGE_SIZE);
      // Fully populated, the declared memory would need 24 bytes of frame state per page of
      // RAM, VRAM and BAR: (2 TiB + 2 x 640 GiB) / 4 KiB x 24 = 19.5 GiB. The model holds the
      // frame sections (128 MiB each) and VRAM pagemap regions (1 GiB) it touched.
      expect(mem.total).toBeLessThan(128 * MiB);
      expect(mem.frames + mem.pageTables + mem.devices).toBe(mem.total);
    }
  });

  it('costs the same whatever RAM and VRAM are declared, for the same pages touched', () => {
    const big = dgx(64 * MiB);
    const small = structuredClone(big);
    small.platform = { ...small.platform, ram: 32 * GiB };
    for (const g of small.devices!.gpus!) {
      g.vram = 4 * GiB;
      g.bar = 4 * GiB;
    }
    const a = run(big).mem;
    const b = run(small).mem;
    // Page tables are exactly equal. Frames differ only by the frame-section array's slots
    // below the pages in use (8 bytes per declared 128 MiB of RAM, VRAM and BAR: about 1 KiB
    // per 16 GiB), and device state by the per-block VRAM bookkeeping (block state, LRU links
    // and the free-block list: 20 bytes per declared 2 MiB, 160 KiB per 16 GiB).
    expect(a.pageTables).toBe(b.pageTables);
    const sections = (2 * TiB - 32 * GiB + 8 * 2 * (80 - 4) * GiB) / (128 * MiB);
    expect(a.frames - b.frames).toBeGreaterThanOrEqual(0);
    expect(a.frames - b.frames).toBeLessThanOrEqual(8 * sections);
    const blocks = (8 * (80 - 4) * GiB) / PMD_SIZE;
    expect(a.devices - b.devices).toBeGreaterThan(0);
    expect(a.devices - b.devices).toBeLessThanOrEqual(24 * blocks);
  });

  it('grows in proportion to the pages touched', () => {
    const one = run({ ...dgx(256 * MiB), design: 'owner-registry' });
    const four = run({ ...dgx(1024 * MiB), design: 'owner-registry' });
    expect(four.touched).toBe(4 * one.touched);
    // Each extra page touched costs its share of a frame section (24 bytes a frame), a CPU
    // page-table entry and the GPU's and NIC's table entries (5 bytes each); pagemap regions
    // (1 GiB) and sections (128 MiB) come in steps, so the increment is measured over 3 x.
    const perPage = (four.mem.total - one.mem.total) / (four.touched - one.touched);
    expect(perPage).toBeGreaterThan(0);
    expect(perPage).toBeLessThan(48);
  });

  it('maps, faults, mirrors and migrates a buffer just below 2^47', () => {
    const m = new Machine({ ramBytes: 2 * TiB, thp: 'never', coherentDevices: false });
    const p = m.spawn();
    const before = modelMemoryBytes(m).total;
    // The last 1 GiB of the 47-bit user address space (TASK_SIZE = 2^47 - 4 KiB).
    const len = GiB - PAGE_SIZE;
    const addr = 2 ** 47 - GiB;
    expect(addr + len).toBe(TASK_SIZE);
    expect(p.mmap(addr, len, RW, ANON | MAP_FIXED)).toBe(addr);
    // A buffer at the bottom too: the page tables stay sparse across the whole space.
    const low = 2 ** 20;
    expect(p.mmap(low, 4 * PAGE_SIZE, RW, ANON | MAP_FIXED)).toBe(low);
    p.store(low, new Uint8Array([1, 2, 3, 4]));

    // CPU faults at both ends of the high buffer.
    const last = addr + len - PAGE_SIZE;
    p.store(addr, new Uint8Array(PAGE_SIZE).fill(7));
    p.store(last, new Uint8Array(PAGE_SIZE).fill(9));
    expect(p.load(last, 4)).toEqual(new Uint8Array([9, 9, 9, 9]));

    // A GPU (80 GiB declared) mirrors the buffer and migrates 1 MiB at each end into VRAM.
    const gpu = m.addGpu({ name: 'gpu0', vram: 80 * GiB, chunkSizes: [64 * 1024, PAGE_SIZE] });
    const mir = gpu.mirror(p.mm, addr, len);
    for (const start of [addr, TASK_SIZE - MiB]) {
      const addrs: number[] = [];
      for (let a = start; a < start + MiB; a += PAGE_SIZE) addrs.push(a);
      const r = gpu.serviceFaults(mir, addrs, new Array(addrs.length).fill(1), addrs.length);
      // 64 KiB chunks around the faults (4 KiB where a chunk would cross the VMA's end).
      expect(r.pagesToVram).toBeGreaterThanOrEqual(MiB / PAGE_SIZE);
      for (const a of addrs) expect(gpu.isVramMapped(mir, a)).toBe(true);
    }
    expect(gpu.isVramMapped(mir, last)).toBe(true);
    expect(p.pagemap(last) & (1n << 62n)).not.toBe(0n); // a device-private (swap) entry

    // hmm_range_fault by another mirror (a NIC-like client without the GPU's owner) over the
    // top 2 MiB: device-private pages fault back to RAM; the rest are faulted in writable.
    const top = TASK_SIZE - 2 * MiB;
    const range = new HmmRange(
      mir.notifier,
      top,
      TASK_SIZE,
      HMM_PFN_HI_REQ_FAULT | HMM_PFN_HI_REQ_WRITE,
      0,
      null,
    );
    // The walk's migrate_to_ram invalidates the mirror: -EBUSY, and the caller walks again.
    let ret = -EBUSY;
    for (let tries = 0; tries < 4 && ret === -EBUSY; tries++) {
      range.notifierSeq = mmuIntervalReadBegin(mir.notifier);
      ret = hmmRangeFault(m.kernel, p.mm, range);
    }
    expect(ret).toBe(0);
    for (let i = 0; i < range.hmmPfns.length; i++) {
      expect(range.flags(i) & HMM_PFN_HI_VALID).not.toBe(0);
      expect(range.flags(i) & HMM_PFN_HI_WRITE).not.toBe(0);
      expect(m.kernel.isDevicePrivate(range.pfn(i))).toBe(false);
    }
    // The data came back with the pages: the last page still reads 9s, the first 7s.
    expect(p.load(last, 4)).toEqual(new Uint8Array([9, 9, 9, 9]));
    expect(p.load(addr, 4)).toEqual(new Uint8Array([7, 7, 7, 7]));
    expect(p.load(low, 4)).toEqual(new Uint8Array([1, 2, 3, 4]));
    expect(checkInvariants(m)).toEqual([]);

    // A few MiB touched in a 2 TiB machine with an 80 GiB GPU, at both ends of the address
    // space: a handful of frame sections, a few page-table and device-table leaves.
    const mem = modelMemoryBytes(m);
    expect(mem.total - before).toBeLessThan(16 * MiB);
    expect(mem.pageTables).toBeLessThan(16 * 1024);
  });
});
