import { describe, expect, it } from 'vitest';
import { checkInvariants } from '../check/invariants.js';
import {
  MADV_HUGEPAGE,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PAGE_SIZE,
  PMD_SIZE,
  PROT_READ,
  PROT_WRITE,
} from '../kernel/constants.js';
import { Machine } from '../uapi/machine.js';
import { DISCARD_TRANSFERS, TransferQueue } from './gpu.js';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) new DataView(b.buffer).setUint32(i, (i * 2654435761 + seed) >>> 0, true);
  return b;
}

/** Index of the first differing byte, or -1 (vitest's toEqual on megabytes is too slow). */
function firstDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function faultAll(
  gpu: ReturnType<Machine['addGpu']>,
  mir: ReturnType<ReturnType<Machine['addGpu']>['mirror']>,
  start: number,
  pages: number,
  batch = 256,
  write = 0,
) {
  const addrs: number[] = [];
  const writes: number[] = [];
  let batches = 0;
  for (let i = 0; i < pages; i++) {
    const a = start + i * PAGE_SIZE;
    if (mir.translate(a, write !== 0)) continue;
    addrs.push(a);
    writes.push(write);
    if (addrs.length === batch) {
      gpu.serviceFaults(mir, addrs, writes, addrs.length);
      batches++;
      addrs.length = 0;
      writes.length = 0;
    }
  }
  if (addrs.length) {
    gpu.serviceFaults(mir, addrs, writes, addrs.length);
    batches++;
  }
  return batches;
}

describe('SVM GPU driver', () => {
  it('migrates faulted 2 MiB chunks to VRAM, maps them, and gives the data back on CPU access', () => {
    const m = new Machine({ ramBytes: 256 * 2 ** 20 });
    const p = m.spawn();
    const len = 4 * PMD_SIZE;
    const a = p.mmap(0, len, RW, ANON);
    const data = pattern(len, 7);
    p.store(a, data);
    const gpu = m.addGpu({ name: 'gpu0', vram: 64 * 2 ** 20 });
    const mir = gpu.mirror(p.mm, a, len);
    faultAll(gpu, mir, a, len / PAGE_SIZE);
    expect(gpu.stats.pagesToVram).toBe(len / PAGE_SIZE);
    expect(gpu.vramUsed).toBe(len / PAGE_SIZE);
    for (let i = 0; i < len / PAGE_SIZE; i++) expect(mir.translate(a + i * PAGE_SIZE, false)).toBe(true);
    // One migrate_vma call per 2 MiB chunk: faults were coalesced by chunk.
    expect(gpu.stats.migrateCalls).toBe(4);
    expect(checkInvariants(m)).toEqual([]);
    // The CPU reads everything back: each page returns through migrate_to_ram.
    expect(firstDiff(p.load(a, len), data)).toBe(-1);
    expect(gpu.stats.cpuFaults).toBeGreaterThan(0);
    expect(gpu.vramUsed).toBe(0);
    expect(checkInvariants(m)).toEqual([]);
  });

  it('keeps THP-backed memory huge in VRAM (device-private PMD) and reads it back whole', () => {
    const m = new Machine({ ramBytes: 256 * 2 ** 20 });
    const p = m.spawn();
    const raw = p.mmap(0, 3 * PMD_SIZE, RW, ANON);
    const a = Math.ceil(raw / PMD_SIZE) * PMD_SIZE;
    expect(p.madvise(a, PMD_SIZE, MADV_HUGEPAGE)).toBe(0);
    const data = pattern(PMD_SIZE, 3);
    p.store(a, data);
    const gpu = m.addGpu({ name: 'gpu0', vram: 16 * 2 ** 20 });
    const mir = gpu.mirror(p.mm, a, PMD_SIZE);
    faultAll(gpu, mir, a, 512);
    expect(p.pagemap(a) & (1n << 62n)).not.toBe(0n);
    expect(p.load(a + 100 * PAGE_SIZE, 8)).toEqual(data.slice(100 * PAGE_SIZE, 100 * PAGE_SIZE + 8));
    // The PMD-mapped device folio came back in one migration.
    expect(gpu.stats.cpuFaults).toBe(1);
    expect(gpu.stats.cpuFaultPages).toBe(512);
    expect(checkInvariants(m)).toEqual([]);
  });

  it('evicts least recently allocated blocks when VRAM is oversubscribed, without losing data', () => {
    const m = new Machine({ ramBytes: 256 * 2 ** 20 });
    const p = m.spawn();
    const len = 12 * PMD_SIZE;
    const a = p.mmap(0, len, RW, ANON);
    const data = pattern(len, 11);
    p.store(a, data);
    const gpu = m.addGpu({ name: 'gpu0', vram: 8 * PMD_SIZE });
    const mir = gpu.mirror(p.mm, a, len);
    faultAll(gpu, mir, a, len / PAGE_SIZE, 64);
    expect(gpu.stats.evictedBlocks).toBe(4);
    expect(gpu.vramUsed).toBe(8 * 512);
    expect(checkInvariants(m)).toEqual([]);
    // The first 4 blocks were evicted: the GPU no longer maps them, the CPU has them in RAM.
    expect(mir.translate(a, false)).toBe(false);
    expect(mir.translate(a + 11 * PMD_SIZE, false)).toBe(true);
    expect(firstDiff(p.load(a, len), data)).toBe(-1);
    expect(checkInvariants(m)).toEqual([]);
  });

  it('prefetches a whole 2 MiB block once more than 51% of it is faulting (64 KiB chunks)', () => {
    const m = new Machine({ ramBytes: 256 * 2 ** 20 });
    const p = m.spawn();
    const a0 = p.mmap(0, 2 * PMD_SIZE, RW, ANON);
    const a = Math.ceil(a0 / PMD_SIZE) * PMD_SIZE;
    p.store(a0, new Uint8Array(2 * PMD_SIZE).fill(1));
    const gpu = m.addGpu({
      name: 'gpu0',
      vram: 16 * 2 ** 20,
      chunkSizes: [64 * 1024, PAGE_SIZE],
      prefetch: true,
    });
    const mir = gpu.mirror(p.mm, a0, 2 * PMD_SIZE);
    // Fault 60% of the 64 KiB leaves of the block in one batch.
    const addrs: number[] = [];
    for (let leaf = 0; leaf < 20; leaf++) addrs.push(a + leaf * 64 * 1024);
    gpu.serviceFaults(
      mir,
      addrs,
      addrs.map(() => 0),
      addrs.length,
    );
    expect(gpu.stats.prefetchedPages).toBeGreaterThan(0);
    for (let i = 0; i < 512; i++) expect(mir.translate(a + i * PAGE_SIZE, false)).toBe(true);
    expect(checkInvariants(m)).toEqual([]);
  });

  it('drops device mappings when the CPU unmaps or write-protects the range', () => {
    const m = new Machine({ ramBytes: 256 * 2 ** 20 });
    const p = m.spawn();
    const len = 32 * PAGE_SIZE;
    const a = p.mmap(0, len, RW, ANON);
    p.store(a, new Uint8Array(len).fill(5));
    const gpu = m.addGpu({ name: 'gpu0', vram: 16 * 2 ** 20 });
    const mir = gpu.mirror(p.mm, a, len);
    faultAll(gpu, mir, a, 32);
    expect(p.munmap(a, 4 * PAGE_SIZE)).toBe(0);
    expect(mir.translate(a, false)).toBe(false);
    expect(gpu.stats.tlbInvalidations).toBeGreaterThan(0);
    expect(checkInvariants(m)).toEqual([]);
  });
});

describe('SVM GPU driver: copies outside a pass go to its TransferSink', () => {
  it('hands evictions and migrate_to_ram copies to the sink with their migrate work, pass copies to the result', () => {
    const m = new Machine({ ramBytes: 256 * 2 ** 20 });
    const p = m.spawn();
    const len = 6 * PMD_SIZE;
    const a = p.mmap(0, len, RW, ANON);
    p.store(a, pattern(len, 5));
    const sink = new TransferQueue();
    const gpu = m.addGpu({ name: 'gpu0', vram: 4 * PMD_SIZE, chunkSizes: [PAGE_SIZE], sink });
    const mir = gpu.mirror(p.mm, a, len);
    // Fill VRAM: 4 blocks of small pages, no eviction yet.
    const first = Array.from({ length: 4 * 512 }, (_, i) => a + i * PAGE_SIZE);
    const r1 = gpu.serviceFaults(mir, first, new Array(first.length).fill(0), first.length);
    expect(r1.transfers.every((t) => t.dir === 'h2d')).toBe(true);
    expect(r1.transfers.reduce((s, t) => s + t.bytes, 0)).toBe(4 * PMD_SIZE);
    expect(r1.migratedEntries).toBe(4 * 512); // small pages: one entry each
    expect(sink.empty).toBe(true);
    // One more block's worth: the oldest block is evicted to make room.
    const more = Array.from({ length: 512 }, (_, i) => a + 4 * PMD_SIZE + i * PAGE_SIZE);
    const r2 = gpu.serviceFaults(mir, more, new Array(512).fill(0), 512);
    expect(r2.transfers.every((t) => t.dir === 'h2d')).toBe(true);
    expect(gpu.stats.evictedBlocks).toBe(1);
    // One migrate_device_pfns sequence of 512 small-page entries, and its 2 MiB copy.
    expect(sink.take()).toEqual({
      transfers: [{ bytes: PMD_SIZE, dir: 'd2h' }],
      calls: 1,
      entries: 512,
      pages: 512,
    });
    expect(sink.empty).toBe(true);
    // A CPU read of a page in VRAM: migrate_to_ram moves that page, one call of one entry.
    p.load(a + 4 * PMD_SIZE, 8);
    expect(sink.take()).toEqual({
      transfers: [{ bytes: PAGE_SIZE, dir: 'd2h' }],
      calls: 1,
      entries: 1,
      pages: 1,
    });
    expect(checkInvariants(m)).toEqual([]);
  });

  it('a THP moved whole is one migrate entry both ways, and comes back as one 2 MiB copy', () => {
    const m = new Machine({ ramBytes: 256 * 2 ** 20 });
    const p = m.spawn();
    const a = p.mmap(0, 2 * PMD_SIZE, RW, ANON);
    const thp = Math.ceil(a / PMD_SIZE) * PMD_SIZE;
    expect(p.madvise(thp, PMD_SIZE, MADV_HUGEPAGE)).toBe(0);
    p.store(thp, pattern(PMD_SIZE, 3));
    const sink = new TransferQueue();
    const gpu = m.addGpu({ name: 'gpu0', vram: 4 * PMD_SIZE, sink });
    const mir = gpu.mirror(p.mm, thp, PMD_SIZE);
    const r = gpu.serviceFaults(mir, [thp], [0], 1);
    expect(r.migrateCalls).toBe(1);
    expect(r.migratedEntries).toBe(1);
    expect(r.transfers).toEqual([{ bytes: PMD_SIZE, dir: 'h2d' }]);
    // The CPU touches it: do_huge_pmd_device_private, migrate_to_ram of the whole folio.
    p.load(thp + 5 * PAGE_SIZE, 8);
    expect(sink.take()).toEqual({
      transfers: [{ bytes: PMD_SIZE, dir: 'd2h' }],
      calls: 1,
      entries: 1,
      pages: 512,
    });
    expect(checkInvariants(m)).toEqual([]);
  });

  it('without a sink the work is still counted in stats', () => {
    const m = new Machine({ ramBytes: 256 * 2 ** 20 });
    const p = m.spawn();
    const a = p.mmap(0, PMD_SIZE, RW, ANON);
    p.store(a, pattern(PMD_SIZE, 1));
    const gpu = m.addGpu({ name: 'gpu0', vram: 4 * PMD_SIZE });
    expect(gpu.sink).toBe(DISCARD_TRANSFERS);
    const mir = gpu.mirror(p.mm, a, PMD_SIZE);
    faultAll(gpu, mir, a, 512);
    p.load(a, 8);
    expect(gpu.stats.cpuFaults).toBeGreaterThan(0);
    expect(gpu.stats.cpuFaultPages).toBeGreaterThan(0);
  });
});
