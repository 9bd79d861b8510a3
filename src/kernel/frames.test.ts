import { describe, expect, it } from 'vitest';
import { checkInvariants } from '../check/invariants.js';
import { Machine } from '../uapi/machine.js';
import { MAP_ANONYMOUS, MAP_POPULATE, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE } from './constants.js';
import { SECTION_FRAMES } from './frames.js';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

describe('frame sections follow the pages in use', () => {
  it('a section whose frames are all free again keeps only its flags (4 bytes a frame)', () => {
    const m = new Machine({ ramBytes: 2 ** 30, thp: 'never', dmirrorDevices: false, hugetlbPages: 0 });
    const p = m.spawn();
    const k = m.kernel;
    const before = k.frames.memoryBytes();
    // Three sections' worth of pages: the middle one is certain to be wholly ours.
    const bytes = 3 * SECTION_FRAMES * PAGE_SIZE;
    const addr = p.mmap(0, bytes, RW, ANON | MAP_POPULATE);
    expect(addr).toBeGreaterThan(0);
    p.store(addr + 5 * PAGE_SIZE, new Uint8Array([1, 2, 3]));
    const used = k.frames.memoryBytes() - before;
    // Populated pages cost their refcount, mapcount, flags, content, mapping and index.
    expect(used).toBeGreaterThanOrEqual(3 * SECTION_FRAMES * 20);
    expect(p.munmap(addr, bytes)).toBe(0);
    const after = k.frames.memoryBytes() - before;
    expect(after).toBeLessThan(used / 4);
    expect(checkInvariants(m)).toEqual([]);
    // The frames come back into use as they were: zeroed pages, fresh counts.
    const again = p.mmap(0, bytes, RW, ANON | MAP_POPULATE);
    expect(Array.from(p.load(again + 5 * PAGE_SIZE, 3))).toEqual([0, 0, 0]);
    expect(checkInvariants(m)).toEqual([]);
    // As much as the first time, but for the content array and the buffer the store had made.
    expect(k.frames.memoryBytes() - before).toBeGreaterThanOrEqual(used - SECTION_FRAMES * 4 - 2 * PAGE_SIZE);
  });
});
