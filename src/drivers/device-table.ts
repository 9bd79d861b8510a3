/**
 * A device's translation table (a GPU page table, a NIC's MR table): per 2 MiB of virtual
 * address space, a pfn and a flags byte per page in typed arrays. A flags byte of 0 means no
 * entry; drivers define their own non-zero flag bits.
 */
import { HPAGE_PMD_NR, PAGE_SIZE, PMD_SIZE } from '../kernel/constants.js';

interface Leaf {
  pfn: Uint32Array;
  flags: Uint8Array;
  used: number;
}

/**
 * Heap per leaf beyond its typed arrays (the Leaf object, its Map entry, two typed-array
 * headers), measured with --expose-gc on Node 20 (100,000 leaves): about 455 bytes.
 */
const LEAF_OBJECT_BYTES = 456;

export class DeviceTable {
  readonly leaves = new Map<number, Leaf>();

  /** Model memory of the table, in bytes: 5 bytes per entry of each 2 MiB leaf, plus its objects. */
  memoryBytes(): number {
    return this.leaves.size * (HPAGE_PMD_NR * 5 + LEAF_OBJECT_BYTES);
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
    return e ? e.flags[(va % PMD_SIZE) / PAGE_SIZE]! : 0;
  }

  /** The pfn of va's entry (meaningful only when flags(va) != 0). */
  pfn(va: number): number {
    const e = this.leaf(Math.floor(va / PMD_SIZE));
    return e ? e.pfn[(va % PMD_SIZE) / PAGE_SIZE]! : 0;
  }

  /** Sets va's entry; `flags` must be non-zero. */
  set(va: number, pfn: number, flags: number): void {
    const key = Math.floor(va / PMD_SIZE);
    let e = this.leaf(key);
    if (!e) {
      e = { pfn: new Uint32Array(HPAGE_PMD_NR), flags: new Uint8Array(HPAGE_PMD_NR), used: 0 };
      this.leaves.set(key, e);
      this.lastLeaf = e;
    }
    const i = (va % PMD_SIZE) / PAGE_SIZE;
    if (!e.flags[i]) e.used++;
    e.pfn[i] = pfn;
    e.flags[i] = flags;
  }

  /** Clears [start, end); returns how many entries were removed. */
  clear(start: number, end: number): number {
    let removed = 0;
    for (let a = start; a < end; ) {
      const key = Math.floor(a / PMD_SIZE);
      const next = Math.min(end, (key + 1) * PMD_SIZE);
      const e = this.leaf(key);
      if (e) {
        for (let i = (a % PMD_SIZE) / PAGE_SIZE, n = (next - a) / PAGE_SIZE; n > 0; i++, n--) {
          if (e.flags[i]) {
            e.flags[i] = 0;
            e.used--;
            removed++;
          }
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
      for (let i = 0; i < HPAGE_PMD_NR; i++) {
        const fl = e.flags[i]!;
        if (fl) visit(key * PMD_SIZE + i * PAGE_SIZE, e.pfn[i]!, fl);
      }
    }
  }
}
