/**
 * Physical memory: every page frame's state in struct-of-arrays typed arrays, grouped in
 * sections of 2^15 frames (128 MiB, the x86-64 SPARSEMEM section size) that are created only
 * when a frame in them is first used, so a machine with terabytes of RAM costs nothing until
 * pages are touched (mm/sparse.c does the same with mem_section[]).
 *
 * Per frame (24 bytes): refcount, mapcount, flags (page flags and folio order), content, the
 * rmap mapping (anon_vma or inode id) and index. There is no object per page. A field that no
 * frame of a section has set yet costs nothing (a shared zero array stands for it), and when
 * every frame of a section is free again its fields go back to the shared zeros (noteUse), so
 * a section of free frames costs their flags, 4 bytes a frame.
 *
 * Folios: a large folio of order n covers 2^n naturally aligned frames. Its refcount lives on
 * the head frame only (every reference is a folio reference, as in Linux); mapcount is kept
 * per frame (a PMD mapping adds one to each of its 512 frames).
 *
 * Content is byte-exact where bytes were written and O(1) for pages never written: a
 * non-negative content word is a fill tag (the page reads as that 32-bit value repeated,
 * little-endian; tag 0 is a zeroed page), a negative one is the bitwise NOT of an index into a
 * table of 4 KiB buffers, created on the first partial write.
 */
import { PAGE_SIZE } from './constants.js';

export const SECTION_SHIFT = 15;
export const SECTION_FRAMES = 1 << SECTION_SHIFT;
const SECTION_MASK = SECTION_FRAMES - 1;
/** ZONE_DEVICE ranges are tracked per 2 MiB subsection (Linux: SUBSECTION_SHIFT = 21). */
export const SUBSECTION_SHIFT = 9;

// Page flags (a subset of enum pageflags, plus model bits). Bits 16..20 hold the folio order.
export const PG_LOCKED = 1 << 0;
export const PG_ANON = 1 << 1;
export const PG_HEAD = 1 << 2;
export const PG_TAIL = 1 << 3;
export const PG_LRU = 1 << 4;
export const PG_DIRTY = 1 << 5;
export const PG_ANON_EXCLUSIVE = 1 << 6;
export const PG_ZERO = 1 << 7;
export const PG_DEVICE = 1 << 8;
export const PG_HUGETLB = 1 << 9;
export const PG_LAZYFREE = 1 << 10;
export const PG_KERNEL = 1 << 11;
export const PG_ALLOCATED = 1 << 12;
const ORDER_SHIFT = 16;
const ORDER_MASK = 0x1f << ORDER_SHIFT;

/**
 * JS heap around a section's typed arrays (the Section object, 7 typed-array and buffer
 * headers), measured with --expose-gc on Node 20: about 2.2 KiB per section.
 */
const SECTION_OBJECT_BYTES = 2240;
/** Heap of one 4 KiB content buffer's Uint8Array and ArrayBuffer objects (estimate). */
const BUFFER_OBJECT_BYTES = 160;
/** One element of a JS array (a pointer, no pointer compression in Node 20). */
export const SLOT_BYTES = 8;

/**
 * Shared all-zero arrays that stand for a field no frame of a section has set yet: reads need
 * no check, and the first non-zero write gives the section its own array (see own*). Never
 * written: every store goes through an own* helper, which only skips the copy for a zero.
 */
const ZERO_I32 = new Int32Array(SECTION_FRAMES);
const ZERO_U32 = new Uint32Array(SECTION_FRAMES);

/**
 * One section's frames. `flags` and `pgmap` are its own from the start; the other fields share
 * the zero arrays until a frame sets them, so sections of ZONE_DEVICE pages that only ever get
 * flags (PCI_P2PDMA BAR alias pages) cost 4 bytes a frame instead of 24.
 */
class Section {
  refcount = ZERO_I32;
  mapcount = ZERO_I32;
  readonly flags = new Uint32Array(SECTION_FRAMES);
  content = ZERO_I32;
  mapping = ZERO_I32;
  index = ZERO_U32;
  /** dev_pagemap id per subsection (0: none). */
  readonly pgmap = new Uint16Array(SECTION_FRAMES >> SUBSECTION_SHIFT);

  /** Typed-array bytes this section owns. */
  bytes(): number {
    let n = this.flags.byteLength + this.pgmap.byteLength;
    for (const a of [this.refcount, this.mapcount, this.content, this.mapping, this.index])
      if (a !== ZERO_I32 && a !== ZERO_U32) n += a.byteLength;
    return n;
  }
}

function ownRefcount(s: Section): Int32Array {
  if (s.refcount === ZERO_I32) s.refcount = new Int32Array(SECTION_FRAMES);
  return s.refcount;
}
function ownMapcount(s: Section): Int32Array {
  if (s.mapcount === ZERO_I32) s.mapcount = new Int32Array(SECTION_FRAMES);
  return s.mapcount;
}
function ownContent(s: Section): Int32Array {
  if (s.content === ZERO_I32) s.content = new Int32Array(SECTION_FRAMES);
  return s.content;
}
function ownMapping(s: Section): Int32Array {
  if (s.mapping === ZERO_I32) s.mapping = new Int32Array(SECTION_FRAMES);
  return s.mapping;
}
function ownIndex(s: Section): Uint32Array {
  if (s.index === ZERO_U32) s.index = new Uint32Array(SECTION_FRAMES);
  return s.index;
}

/** The frame table (struct page array) plus page contents. */
export class FrameTable {
  private readonly sections: (Section | undefined)[] = [];
  /**
   * Frames in use per section (allocated RAM folios, initialised ZONE_DEVICE folios), kept by
   * the kernel through noteUse. When a section has none left, the fields its free frames no
   * longer need go back to the shared zero arrays (releaseIdle): memory follows the pages in
   * use, not the pages ever used.
   */
  private readonly inUse: number[] = [];
  private readonly buffers: (Uint8Array | undefined)[] = [];
  private readonly freeBuffers: number[] = [];
  /** Number of live 4 KiB content buffers (pages with written bytes). */
  liveBuffers = 0;

  private sec(pfn: number): Section {
    const s = this.sections[pfn >>> SECTION_SHIFT];
    if (s === undefined) throw new Error(`model bug: pfn ${pfn} in a section that was never populated`);
    return s;
  }

  /** Creates the sections covering [pfn, pfn + n) (sparse_add_section). */
  populate(pfn: number, n: number): void {
    const first = pfn >>> SECTION_SHIFT;
    const last = (pfn + n - 1) >>> SECTION_SHIFT;
    // Keep the array dense (explicit undefined up to the highest section): a store far past
    // its end would turn it into a dictionary, and every frame access into a hash lookup.
    while (this.sections.length <= last) {
      this.sections.push(undefined);
      this.inUse.push(0);
    }
    for (let i = first; i <= last; i++) if (this.sections[i] === undefined) this.sections[i] = new Section();
  }

  /**
   * `n` frames from `pfn` (within one section: folios are naturally aligned and smaller than
   * a section) came into use (n > 0) or were freed (n < 0).
   */
  noteUse(pfn: number, n: number): void {
    const idx = pfn >>> SECTION_SHIFT;
    const v = this.inUse[idx]! + n;
    if (v < 0) throw new Error(`model bug: section ${idx} has fewer frames in use than freed`);
    this.inUse[idx] = v;
    if (v === 0) this.releaseIdle(idx);
  }

  /**
   * A section with no frame in use: every field array whose frames are all zero again (free
   * frames keep only flags, and for ZONE_DEVICE their pagemap) returns to the shared zeros.
   * Frames that are not counted (the zero pages, BAR alias pages) keep whatever they set.
   */
  private releaseIdle(idx: number): void {
    const s = this.sections[idx];
    if (s === undefined) return;
    const zero = (a: Int32Array | Uint32Array) => {
      for (let i = 0; i < a.length; i++) if (a[i] !== 0) return false;
      return true;
    };
    if (s.refcount !== ZERO_I32 && zero(s.refcount)) s.refcount = ZERO_I32;
    if (s.mapcount !== ZERO_I32 && zero(s.mapcount)) s.mapcount = ZERO_I32;
    if (s.content !== ZERO_I32 && zero(s.content)) s.content = ZERO_I32;
    if (s.mapping !== ZERO_I32 && zero(s.mapping)) s.mapping = ZERO_I32;
    if (s.index !== ZERO_U32 && zero(s.index)) s.index = ZERO_U32;
  }

  valid(pfn: number): boolean {
    return pfn >= 0 && this.sections[pfn >>> SECTION_SHIFT] !== undefined;
  }

  ref(pfn: number): number {
    return this.sec(pfn).refcount[pfn & SECTION_MASK]!;
  }
  setRef(pfn: number, v: number): void {
    const s = this.sec(pfn);
    if (v === 0 && s.refcount === ZERO_I32) return;
    ownRefcount(s)[pfn & SECTION_MASK] = v;
  }
  addRef(pfn: number, d: number): number {
    const s = this.sec(pfn);
    const i = pfn & SECTION_MASK;
    const v = s.refcount[i]! + d;
    if (v < 0) throw new Error(`model bug: refcount of pfn ${pfn} below zero`);
    if (v !== 0 || s.refcount !== ZERO_I32) ownRefcount(s)[i] = v;
    return v;
  }
  mapcount(pfn: number): number {
    return this.sec(pfn).mapcount[pfn & SECTION_MASK]!;
  }
  addMapcount(pfn: number, d: number): void {
    const s = this.sec(pfn);
    const i = pfn & SECTION_MASK;
    const v = s.mapcount[i]! + d;
    if (v < 0) throw new Error(`model bug: mapcount of pfn ${pfn} below zero`);
    if (v !== 0 || s.mapcount !== ZERO_I32) ownMapcount(s)[i] = v;
  }
  flags(pfn: number): number {
    return this.sec(pfn).flags[pfn & SECTION_MASK]!;
  }
  setFlags(pfn: number, f: number): void {
    this.sec(pfn).flags[pfn & SECTION_MASK] = f;
  }
  hasFlag(pfn: number, f: number): boolean {
    return (this.sec(pfn).flags[pfn & SECTION_MASK]! & f) !== 0;
  }
  setFlag(pfn: number, f: number): void {
    this.sec(pfn).flags[pfn & SECTION_MASK]! |= f;
  }
  clearFlag(pfn: number, f: number): void {
    this.sec(pfn).flags[pfn & SECTION_MASK]! &= ~f;
  }
  order(pfn: number): number {
    return (this.sec(pfn).flags[pfn & SECTION_MASK]! & ORDER_MASK) >>> ORDER_SHIFT;
  }
  setOrder(pfn: number, order: number): void {
    const s = this.sec(pfn);
    const i = pfn & SECTION_MASK;
    s.flags[i] = (s.flags[i]! & ~ORDER_MASK) | (order << ORDER_SHIFT);
  }
  /** Head frame of the folio containing pfn. */
  head(pfn: number): number {
    const f = this.flags(pfn);
    if ((f & PG_TAIL) === 0) return pfn;
    const order = (f & ORDER_MASK) >>> ORDER_SHIFT;
    return pfn - (pfn % 2 ** order);
  }
  nrPages(head: number): number {
    return 2 ** this.order(head);
  }
  mapping(pfn: number): number {
    return this.sec(pfn).mapping[pfn & SECTION_MASK]!;
  }
  index(pfn: number): number {
    return this.sec(pfn).index[pfn & SECTION_MASK]!;
  }
  setMapping(pfn: number, mapping: number, index: number): void {
    const s = this.sec(pfn);
    const i = pfn & SECTION_MASK;
    if (mapping !== 0 || s.mapping !== ZERO_I32) ownMapping(s)[i] = mapping;
    if (index !== 0 || s.index !== ZERO_U32) ownIndex(s)[i] = index;
  }
  pgmapId(pfn: number): number {
    const s = this.sections[pfn >>> SECTION_SHIFT];
    if (s === undefined) return 0;
    return s.pgmap[(pfn & SECTION_MASK) >>> SUBSECTION_SHIFT]!;
  }
  setPgmapId(pfn: number, n: number, id: number): void {
    this.populate(pfn, n);
    for (let p = pfn; p < pfn + n; p += 1 << SUBSECTION_SHIFT) {
      this.sec(p).pgmap[(p & SECTION_MASK) >>> SUBSECTION_SHIFT] = id;
    }
  }

  // ---- content -------------------------------------------------------------------------

  /** Sets a page to read as `tag` repeated (tag 0: zeroed), releasing any buffer. */
  fill(pfn: number, tag: number): void {
    const s = this.sec(pfn);
    const i = pfn & SECTION_MASK;
    const c = s.content[i]!;
    if (c < 0) this.releaseBuffer(~c);
    if (!(tag >= 0 && tag <= 0x7fffffff)) throw new Error(`model bug: fill tag ${tag} outside 0..2^31-1`);
    if (tag !== 0 || s.content !== ZERO_I32) ownContent(s)[i] = tag;
  }

  /** The fill tag of a page, or -1 when it holds written bytes. */
  fillTag(pfn: number): number {
    const c = this.sec(pfn).content[pfn & SECTION_MASK]!;
    return c >= 0 ? c : -1;
  }

  private releaseBuffer(b: number): void {
    this.buffers[b] = undefined;
    this.freeBuffers.push(b);
    this.liveBuffers--;
  }

  /** The page's bytes as a writable buffer (materialised on first use). */
  private bufferFor(pfn: number): Uint8Array {
    const s = this.sec(pfn);
    const i = pfn & SECTION_MASK;
    const c = s.content[i]!;
    if (c < 0) return this.buffers[~c]!;
    const buf = new Uint8Array(PAGE_SIZE);
    if (c !== 0) new Uint32Array(buf.buffer).fill(c);
    const b = this.freeBuffers.length > 0 ? this.freeBuffers.pop()! : this.buffers.length;
    this.buffers[b] = buf;
    this.liveBuffers++;
    ownContent(s)[i] = ~b;
    return buf;
  }

  /** Copies `len` bytes of the page at `off` into `out` at `outOff`. */
  read(pfn: number, off: number, len: number, out: Uint8Array, outOff: number): void {
    const c = this.sec(pfn).content[pfn & SECTION_MASK]!;
    if (c < 0) {
      out.set(this.buffers[~c]!.subarray(off, off + len), outOff);
    } else if (c === 0) {
      out.fill(0, outOff, outOff + len);
    } else {
      for (let k = 0; k < len; k++) out[outOff + k] = (c >>> (((off + k) & 3) * 8)) & 0xff;
    }
  }

  /** Writes `len` bytes from `src` at `srcOff` into the page at `off`. */
  write(pfn: number, off: number, len: number, src: Uint8Array, srcOff: number): void {
    if (off === 0 && len === PAGE_SIZE) {
      // A whole-page write of one repeated 32-bit word keeps the page compact.
      const w = src[srcOff]! | (src[srcOff + 1]! << 8) | (src[srcOff + 2]! << 16) | (src[srcOff + 3]! << 24);
      if (w >= 0 && isRepeated(src, srcOff, w)) {
        this.fill(pfn, w);
        return;
      }
    }
    this.bufferFor(pfn).set(src.subarray(srcOff, srcOff + len), off);
  }

  /** Copies page content (copy_highpage): O(1) for fill-tagged pages. */
  copyPage(dst: number, src: number): void {
    const c = this.sec(src).content[src & SECTION_MASK]!;
    if (c >= 0) {
      this.fill(dst, c);
    } else {
      const from = this.buffers[~c]!;
      this.bufferFor(dst).set(from);
    }
  }

  /**
   * Model memory of the frame table, in bytes: the populated sections' typed arrays (24 bytes
   * per frame, 4 in sections whose frames only ever got flags, plus the subsection pagemap
   * ids), the content buffers of pages holding written
   * bytes, the section and buffer slots, and an estimate of the JS objects around them
   * (SECTION_OBJECT_BYTES). Grows with the sections in use, never with the RAM declared.
   */
  memoryBytes(): number {
    let n = 0;
    for (const s of this.sections) if (s !== undefined) n += s.bytes() + SECTION_OBJECT_BYTES;
    return (
      n +
      this.liveBuffers * (PAGE_SIZE + BUFFER_OBJECT_BYTES) +
      (this.sections.length + this.buffers.length + this.freeBuffers.length) * SLOT_BYTES
    );
  }

  /** Bytes held by content buffers (for memory accounting). */
  bufferBytes(): number {
    return this.liveBuffers * PAGE_SIZE;
  }

  /** First pfns of the populated sections, ascending. */
  populatedSections(): number[] {
    const out: number[] = [];
    this.sections.forEach((s, i) => {
      if (s !== undefined) out.push(i * SECTION_FRAMES);
    });
    return out;
  }

  /** A 32-bit FNV-1a hash of the page's bytes (for digests and oracles). */
  contentHash(pfn: number): number {
    const c = this.sec(pfn).content[pfn & SECTION_MASK]!;
    if (c >= 0) return c === 0 ? 0 : (c ^ 0x9e3779b9) >>> 0;
    const b = this.buffers[~c]!;
    let h = 0x811c9dc5;
    for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
    return h >>> 0;
  }

  /** Number of populated sections. */
  sectionCount(): number {
    let n = 0;
    for (const s of this.sections) if (s !== undefined) n++;
    return n;
  }
}

function isRepeated(src: Uint8Array, off: number, w: number): boolean {
  const b0 = w & 0xff;
  const b1 = (w >>> 8) & 0xff;
  const b2 = (w >>> 16) & 0xff;
  const b3 = (w >>> 24) & 0xff;
  for (let k = 0; k < PAGE_SIZE; k += 4) {
    if (
      src[off + k] !== b0 ||
      src[off + k + 1] !== b1 ||
      src[off + k + 2] !== b2 ||
      src[off + k + 3] !== b3
    ) {
      return false;
    }
  }
  return true;
}
