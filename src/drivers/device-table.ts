/**
 * A device's translation table (a GPU page table, a NIC's MR table): per 2 MiB of virtual
 * address space, a pfn and a flags byte per page in typed arrays. A flags byte of 0 means no
 * entry; drivers define their own non-zero flag bits.
 *
 * A leaf starts compact: while its entries form one run [lo, hi) of consecutive pfns with the
 * same flags (what mapping a 2 MiB or 64 KiB chunk of VRAM or of a huge page gives) it holds
 * only the run, no arrays. The first entry that breaks the run gives it its arrays. Both forms
 * answer every query the same way.
 */
import { HPAGE_PMD_NR, PAGE_SIZE, PMD_SIZE } from '../kernel/constants.js';

interface Leaf {
  /** The per-page arrays; null while the leaf is compact. */
  pfn: Uint32Array | null;
  flags: Uint8Array | null;
  used: number;
  /** Compact form: entries lo <= i < hi map pfn base + i with flags fl. */
  lo: number;
  hi: number;
  base: number;
  fl: number;
}

/**
 * Heap per leaf (the Leaf object and its Map entry; with arrays, also two typed-array
 * headers), measured with --expose-gc on Node 20 (200,000 leaves): about 164 bytes compact,
 * 555 with arrays.
 */
const LEAF_OBJECT_BYTES = 164;
const LEAF_ARRAYS_OBJECT_BYTES = 391;

export class DeviceTable {
  readonly leaves = new Map<number, Leaf>();

  /** Model memory of the table, in bytes: 5 bytes per entry of each expanded leaf, plus objects. */
  memoryBytes(): number {
    let n = 0;
    for (const e of this.leaves.values()) {
      n += LEAF_OBJECT_BYTES;
      if (e.pfn) n += e.pfn.byteLength + e.flags!.byteLength + LEAF_ARRAYS_OBJECT_BYTES;
    }
    return n;
  }

  /** The last leaf looked up (or its absence): devices walk their tables in order. */
  private lastKey = -1;
  private lastLeaf: Leaf | undefined = undefined;

  private leaf(key: number): Leaf | undefined {
    if (key === this.lastKey) return this.lastLeaf;
    const e = this.leaves.get(key);
    this.lastKey = key;
    this.lastLeaf = e;
    return e;
  }

  /** The flags of va's entry (0: none). */
  flags(va: number): number {
    const e = this.leaf(Math.floor(va / PMD_SIZE));
    if (!e) return 0;
    const i = (va % PMD_SIZE) / PAGE_SIZE;
    if (e.flags) return e.flags[i]!;
    return i >= e.lo && i < e.hi ? e.fl : 0;
  }

  /** The pfn of va's entry (meaningful only when flags(va) != 0). */
  pfn(va: number): number {
    const e = this.leaf(Math.floor(va / PMD_SIZE));
    if (!e) return 0;
    const i = (va % PMD_SIZE) / PAGE_SIZE;
    if (e.pfn) return e.pfn[i]!;
    return i >= e.lo && i < e.hi ? e.base + i : 0;
  }

  /** Sets va's entry; `flags` must be non-zero. */
  set(va: number, pfn: number, flags: number): void {
    const key = Math.floor(va / PMD_SIZE);
    let e = this.leaf(key);
    const i = (va % PMD_SIZE) / PAGE_SIZE;
    if (!e) {
      e = { pfn: null, flags: null, used: 1, lo: i, hi: i + 1, base: pfn - i, fl: flags };
      this.leaves.set(key, e);
      this.lastLeaf = e;
      return;
    }
    if (!e.flags) {
      if (pfn === e.base + i && flags === e.fl) {
        // Extends the run at either end, or rewrites an entry of it.
        if (i === e.hi) e.hi++;
        else if (i === e.lo - 1) e.lo--;
        if (i >= e.lo && i < e.hi) {
          e.used = e.hi - e.lo;
          return;
        }
      }
      expand(e);
    }
    const fa = e.flags!;
    if (!fa[i]) e.used++;
    e.pfn![i] = pfn;
    fa[i] = flags;
  }

  /** Clears [start, end); returns how many entries were removed. */
  clear(start: number, end: number): number {
    let removed = 0;
    for (let a = start; a < end; ) {
      const key = Math.floor(a / PMD_SIZE);
      const next = Math.min(end, (key + 1) * PMD_SIZE);
      const e = this.leaf(key);
      if (e) {
        const from = (a % PMD_SIZE) / PAGE_SIZE;
        const to = from + (next - a) / PAGE_SIZE;
        if (!e.flags) {
          const lo = Math.max(from, e.lo);
          const hi = Math.min(to, e.hi);
          if (lo < hi) {
            if (lo === e.lo) e.lo = hi;
            else if (hi === e.hi) e.hi = lo;
            else expand(e); // a hole in the middle of the run
          }
        }
        if (e.flags) {
          for (let i = from; i < to; i++) {
            if (e.flags[i]) {
              e.flags[i] = 0;
              e.used--;
              removed++;
            }
          }
        } else {
          removed += e.used - (e.hi - e.lo);
          e.used = e.hi - e.lo;
        }
        if (e.used === 0) {
          this.leaves.delete(key);
          this.lastLeaf = undefined;
        }
      }
      a = next;
    }
    return removed;
  }

  /** Visits every entry: (va, pfn, flags). */
  forEach(visit: (va: number, pfn: number, flags: number) => void): void {
    for (const [key, e] of this.leaves) {
      if (!e.flags) {
        for (let i = e.lo; i < e.hi; i++) visit(key * PMD_SIZE + i * PAGE_SIZE, e.base + i, e.fl);
        continue;
      }
      for (let i = 0; i < HPAGE_PMD_NR; i++) {
        const fl = e.flags[i]!;
        if (fl) visit(key * PMD_SIZE + i * PAGE_SIZE, e.pfn![i]!, fl);
      }
    }
  }
}

/** Gives a compact leaf its per-page arrays, holding the same entries. */
function expand(e: Leaf): void {
  const pfn = new Uint32Array(HPAGE_PMD_NR);
  const flags = new Uint8Array(HPAGE_PMD_NR);
  for (let i = e.lo; i < e.hi; i++) {
    pfn[i] = e.base + i;
    flags[i] = e.fl;
  }
  e.pfn = pfn;
  e.flags = flags;
  e.used = e.hi - e.lo;
}
