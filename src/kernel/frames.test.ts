import { describe, expect, it } from 'vitest';
import { checkInvariants } from '../check/invariants.js';
import { Machine } from '../uapi/machine.js';
import { MAP_ANONYMOUS, MAP_POPULATE, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE } from './constants.js';
import {
  FrameTable,
  PG_ANON,
  PG_DIRTY,
  PG_HEAD,
  PG_LOCKED,
  PG_TAIL,
  SECTION_FRAMES,
  SUBSECTION_SHIFT,
} from './frames.js';

const SUBSECTION_FRAMES = 1 << SUBSECTION_SHIFT;

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

// ---- the frame table on its own ----------------------------------------------------------

/** A frame table with the first two sections populated (sparse_add_section). */
function table(): FrameTable {
  const f = new FrameTable();
  f.populate(0, 2 * SECTION_FRAMES);
  return f;
}

describe('sparse_add_section (populate) and pfn_valid', () => {
  it('creates the sections covering a range, and only those', () => {
    const f = new FrameTable();
    expect(f.valid(0)).toBe(false);
    f.populate(SECTION_FRAMES + 5, SECTION_FRAMES); // straddles sections 1 and 2
    expect(f.populatedSections()).toEqual([SECTION_FRAMES, 2 * SECTION_FRAMES]);
    expect(f.sectionCount()).toBe(2);
    expect(f.valid(0)).toBe(false);
    expect(f.valid(SECTION_FRAMES)).toBe(true);
    expect(f.valid(3 * SECTION_FRAMES - 1)).toBe(true);
    expect(f.valid(3 * SECTION_FRAMES)).toBe(false);
    expect(f.valid(-1)).toBe(false);
    // A pfn of an unpopulated section has no struct page: reading it is a model bug.
    expect(() => f.ref(0)).toThrow(/never populated/);
    // Populating again keeps what the sections hold.
    f.setRef(SECTION_FRAMES, 3);
    f.populate(SECTION_FRAMES, 1);
    expect(f.ref(SECTION_FRAMES)).toBe(3);
    expect(f.sectionCount()).toBe(2);
  });

  it('a range that ends on a section boundary does not populate the next section', () => {
    const f = new FrameTable();
    f.populate(0, SECTION_FRAMES);
    expect(f.populatedSections()).toEqual([0]);
  });
});

describe('page_ref_count, page_ref_add, page_mapcount', () => {
  it('reads zero for a fresh frame and keeps what is set or added', () => {
    const f = table();
    expect(f.ref(7)).toBe(0);
    expect(f.mapcount(7)).toBe(0);
    f.setRef(7, 2);
    expect(f.addRef(7, 3)).toBe(5);
    expect(f.ref(7)).toBe(5);
    expect(f.addRef(7, -5)).toBe(0);
    expect(f.ref(7)).toBe(0);
    f.addMapcount(8, 512);
    f.addMapcount(8, -1);
    expect(f.mapcount(8)).toBe(511);
    // Neighbours are untouched.
    expect(f.ref(6)).toBe(0);
    expect(f.mapcount(9)).toBe(0);
  });

  it('a count below zero is a model bug (a put without a get)', () => {
    const f = table();
    expect(() => f.addRef(1, -1)).toThrow(/refcount of pfn 1 below zero/);
    f.addMapcount(1, 1);
    expect(() => f.addMapcount(1, -2)).toThrow(/mapcount of pfn 1 below zero/);
    expect(f.mapcount(1)).toBe(1);
  });
});

describe('page flags, folio order and compound_head', () => {
  it('sets, tests and clears flags one bit at a time', () => {
    const f = table();
    f.setFlags(3, PG_LOCKED);
    f.setFlag(3, PG_DIRTY);
    expect(f.hasFlag(3, PG_LOCKED)).toBe(true);
    expect(f.hasFlag(3, PG_DIRTY)).toBe(true);
    expect(f.hasFlag(3, PG_ANON)).toBe(false);
    f.clearFlag(3, PG_LOCKED);
    expect(f.hasFlag(3, PG_LOCKED)).toBe(false);
    expect(f.flags(3)).toBe(PG_DIRTY);
  });

  it('keeps the folio order beside the flags: folio_nr_pages and compound_head of each page', () => {
    const f = table();
    const head = 1024;
    f.setFlags(head, PG_HEAD | PG_ANON);
    f.setOrder(head, 9);
    for (const i of [1, 200, 511]) {
      f.setFlags(head + i, PG_TAIL);
      f.setOrder(head + i, 9);
    }
    expect(f.order(head)).toBe(9);
    expect(f.nrPages(head)).toBe(512);
    expect(f.hasFlag(head, PG_ANON)).toBe(true); // the order did not clobber the flags
    expect(f.head(head)).toBe(head);
    expect(f.head(head + 1)).toBe(head);
    expect(f.head(head + 511)).toBe(head);
    expect(f.head(head + 200)).toBe(head);
    // A small page is its own head; setting an order again replaces it.
    expect(f.head(5)).toBe(5);
    expect(f.nrPages(5)).toBe(1);
    f.setOrder(head, 0);
    expect(f.nrPages(head)).toBe(1);
    expect(f.hasFlag(head, PG_HEAD)).toBe(true);
  });
});

describe('page->mapping and page->index; the subsection pagemap id', () => {
  it('stores a mapping and an index per frame', () => {
    const f = table();
    f.setMapping(SECTION_FRAMES + 9, 77, 2 ** 32 - 1);
    expect(f.mapping(SECTION_FRAMES + 9)).toBe(77);
    expect(f.index(SECTION_FRAMES + 9)).toBe(2 ** 32 - 1);
    f.setMapping(SECTION_FRAMES + 9, 0, 0);
    expect(f.mapping(SECTION_FRAMES + 9)).toBe(0);
    expect(f.index(SECTION_FRAMES + 9)).toBe(0);
    f.setMapping(4, 0, 12);
    expect(f.index(4)).toBe(12);
  });

  it('records a dev_pagemap id per 2 MiB subsection, populating the sections', () => {
    const f = new FrameTable();
    const base = 4 * SECTION_FRAMES;
    expect(f.pgmapId(base)).toBe(0); // no section: no pagemap
    f.setPgmapId(base, 2 * SUBSECTION_FRAMES, 5);
    expect(f.valid(base)).toBe(true);
    expect(f.pgmapId(base)).toBe(5);
    expect(f.pgmapId(base + 2 * SUBSECTION_FRAMES - 1)).toBe(5);
    expect(f.pgmapId(base + 2 * SUBSECTION_FRAMES)).toBe(0);
    f.setPgmapId(base, SUBSECTION_FRAMES, 0);
    expect(f.pgmapId(base)).toBe(0);
    expect(f.pgmapId(base + SUBSECTION_FRAMES)).toBe(5);
  });
});

/** A page's bytes. */
function bytes(f: FrameTable, pfn: number, off = 0, len = PAGE_SIZE): number[] {
  const out = new Uint8Array(len);
  f.read(pfn, off, len, out, 0);
  return Array.from(out);
}

describe('page content: fills, written bytes and copy_highpage', () => {
  it('a fresh page reads as zeros; a fill tag reads as its 32-bit value repeated, little-endian', () => {
    const f = table();
    expect(bytes(f, 2, 0, 8)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    expect(f.fillTag(2)).toBe(0);
    f.fill(2, 0x04030201);
    expect(f.fillTag(2)).toBe(0x04030201);
    expect(bytes(f, 2, 0, 8)).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
    expect(bytes(f, 2, 3, 3)).toEqual([4, 1, 2]);
    expect(bytes(f, 2, PAGE_SIZE - 1, 1)).toEqual([4]);
    expect(() => f.fill(2, -1)).toThrow(/fill tag/);
    expect(() => f.fill(2, 2 ** 31)).toThrow(/fill tag/);
    f.fill(2, 0x7fffffff);
    expect(bytes(f, 2, 0, 4)).toEqual([0xff, 0xff, 0xff, 0x7f]);
  });

  it('a partial write keeps the rest of the page and gives it a buffer, released by a fill', () => {
    const f = table();
    f.fill(5, 0x01010101);
    f.write(5, 10, 3, Uint8Array.of(9, 8, 7, 6), 1);
    expect(f.fillTag(5)).toBe(-1);
    expect(f.liveBuffers).toBe(1);
    expect(f.bufferBytes()).toBe(PAGE_SIZE);
    expect(bytes(f, 5, 8, 6)).toEqual([1, 1, 8, 7, 6, 1]);
    // Reading into an offset of the destination.
    const out = new Uint8Array(5);
    f.read(5, 11, 2, out, 3);
    expect(Array.from(out)).toEqual([0, 0, 0, 7, 6]);
    f.fill(5, 0);
    expect(f.liveBuffers).toBe(0);
    expect(f.bufferBytes()).toBe(0);
    expect(bytes(f, 5, 8, 6)).toEqual([0, 0, 0, 0, 0, 0]);
    // A zero page written at an offset into the destination.
    const z = new Uint8Array(4).fill(9);
    f.read(5, 0, 2, z, 1);
    expect(Array.from(z)).toEqual([9, 0, 0, 9]);
    // A released buffer is reused.
    f.write(6, 0, 1, Uint8Array.of(1), 0);
    f.write(7, 0, 1, Uint8Array.of(2), 0);
    expect(f.liveBuffers).toBe(2);
    expect(bytes(f, 6, 0, 2)).toEqual([1, 0]);
    expect(bytes(f, 7, 0, 2)).toEqual([2, 0]);
  });

  it('a whole-page write of one repeated word stays a fill; any other whole page is stored byte for byte', () => {
    const f = table();
    const page = new Uint8Array(PAGE_SIZE + 4);
    const word = new Uint8Array(Uint32Array.of(0x11223344).buffer);
    for (let i = 4; i < page.length; i += 4) page.set(word, i);
    f.write(9, 0, PAGE_SIZE, page, 4);
    expect(f.fillTag(9)).toBe(0x11223344);
    expect(f.liveBuffers).toBe(0);
    for (const at of [5, 6, 7, PAGE_SIZE + 3]) {
      const other = page.slice();
      other[at] = 0;
      f.write(10, 0, PAGE_SIZE, other, 4);
      expect(f.fillTag(10)).toBe(-1);
      expect(bytes(f, 10)).toEqual(Array.from(other.subarray(4)));
      f.fill(10, 0);
    }
    // A word with the top bit set is not a fill tag.
    const high = new Uint8Array(PAGE_SIZE).fill(0x80);
    f.write(11, 0, PAGE_SIZE, high, 0);
    expect(f.fillTag(11)).toBe(-1);
    expect(bytes(f, 11, 0, 4)).toEqual([0x80, 0x80, 0x80, 0x80]);
    // A partial write of a repeated word is stored as bytes.
    f.write(12, 0, 8, high, 0);
    expect(f.fillTag(12)).toBe(-1);
    // Writing over a page that has a buffer changes the buffer.
    f.write(11, 1, 1, Uint8Array.of(5), 0);
    expect(bytes(f, 11, 0, 3)).toEqual([0x80, 5, 0x80]);
  });

  it('copy_highpage copies a fill in O(1) and written bytes into a buffer of its own', () => {
    const f = table();
    f.fill(20, 0x0a0b0c0d);
    f.copyPage(21, 20);
    expect(f.fillTag(21)).toBe(0x0a0b0c0d);
    f.write(22, 100, 2, Uint8Array.of(1, 2), 0);
    f.copyPage(23, 22);
    expect(bytes(f, 23, 99, 4)).toEqual([0, 1, 2, 0]);
    f.write(22, 100, 1, Uint8Array.of(7), 0);
    expect(bytes(f, 23, 100, 1)).toEqual([1]); // the copy is independent
    expect(f.liveBuffers).toBe(2);
  });

  it('contentHash is equal for equal bytes whether filled or written, and differs otherwise', () => {
    const f = table();
    expect(f.contentHash(30)).toBe(0);
    f.fill(31, 5);
    f.fill(32, 5);
    f.fill(33, 6);
    expect(f.contentHash(31)).toBe(f.contentHash(32));
    expect(f.contentHash(31)).not.toBe(f.contentHash(33));
    expect(f.contentHash(31)).not.toBe(0);
    f.write(34, 0, 1, Uint8Array.of(1), 0);
    f.write(35, 0, 1, Uint8Array.of(1), 0);
    f.write(36, 1, 1, Uint8Array.of(1), 0);
    expect(f.contentHash(34)).toBe(f.contentHash(35));
    expect(f.contentHash(34)).not.toBe(f.contentHash(36));
    expect(f.contentHash(34)).toBeGreaterThanOrEqual(0);
  });
});

describe('memory of the frame table', () => {
  it('a populated section costs its flags and pagemap ids until its frames set more fields', () => {
    const f = new FrameTable();
    const empty = f.memoryBytes();
    f.populate(0, 1);
    const flagsOnly = f.memoryBytes() - empty;
    // 4 bytes of flags a frame, a pagemap id per subsection, the section's objects and slot.
    expect(flagsOnly).toBeGreaterThanOrEqual(SECTION_FRAMES * 4);
    expect(flagsOnly).toBeLessThan(SECTION_FRAMES * 4 + 8192);
    f.setFlags(0, PG_LOCKED);
    f.setRef(1, 0);
    f.addRef(2, 0);
    f.addMapcount(3, 0);
    f.setMapping(4, 0, 0);
    f.fill(5, 0);
    expect(f.memoryBytes() - empty).toBe(flagsOnly); // zeros need no array of their own
    f.setRef(1, 1);
    expect(f.memoryBytes() - empty).toBe(flagsOnly + SECTION_FRAMES * 4);
    f.addMapcount(3, 1);
    f.setMapping(4, 9, 9);
    f.fill(5, 3);
    expect(f.memoryBytes() - empty).toBe(flagsOnly + 5 * SECTION_FRAMES * 4);
    // A written page adds its buffer.
    f.write(6, 0, 1, Uint8Array.of(1), 0);
    expect(f.memoryBytes() - empty).toBeGreaterThan(flagsOnly + 5 * SECTION_FRAMES * 4 + PAGE_SIZE);
  });

  it('noteUse: when a section has no frame in use, fields whose frames are all zero go back to the shared zeros', () => {
    const f = new FrameTable();
    f.populate(0, 2 * SECTION_FRAMES);
    const base = f.memoryBytes();
    f.noteUse(0, 1);
    f.setRef(0, 1);
    f.addMapcount(0, 1);
    f.setMapping(0, 3, 4);
    f.fill(0, 7);
    f.setRef(SECTION_FRAMES, 1); // the other section keeps its own
    expect(f.memoryBytes()).toBe(base + 6 * SECTION_FRAMES * 4);
    // Still in use: nothing is released.
    f.setRef(0, 0);
    f.addMapcount(0, -1);
    f.setMapping(0, 0, 0);
    f.fill(0, 0);
    expect(f.memoryBytes()).toBe(base + 6 * SECTION_FRAMES * 4);
    f.noteUse(0, -1);
    expect(f.memoryBytes()).toBe(base + SECTION_FRAMES * 4);
    // A frame not counted in use (a zero page) keeps the field it set.
    f.noteUse(0, 2);
    f.setRef(100, 1);
    f.fill(100, 3);
    f.noteUse(0, -2);
    expect(f.ref(100)).toBe(1);
    expect(f.fillTag(100)).toBe(3);
    expect(f.memoryBytes()).toBe(base + 3 * SECTION_FRAMES * 4);
    expect(() => f.noteUse(0, -1)).toThrow(/fewer frames in use than freed/);
  });
});
