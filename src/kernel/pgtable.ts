/**
 * Page tables of one mm. The model keeps two levels that matter to HMM: a PMD slot per 2 MiB
 * of address space (none, a PTE table, a huge mapping, a device-private or migration entry)
 * and 512-entry PTE tables in typed arrays (pfn + a byte of type and bits). Upper levels
 * (PGD/P4D/PUD) are not modelled: they only ever point at the next level here.
 */
import { HPAGE_PMD_NR, PAGE_SHIFT, PMD_SHIFT } from './constants.js';

// PTE types (low 3 bits): what kind of entry sits in the slot: a present PTE, or one of the
// swap-entry kinds of include/linux/swapops.h (device-private, device-exclusive, migration).
export const PTE_NONE = 0;
export const PTE_PRESENT = 1;
/** Device-private swap entry (make_writable_device_private_entry / readable). */
export const PTE_DEVICE_PRIVATE = 2;
/** Device-exclusive entry (make_device_exclusive). */
export const PTE_DEVICE_EXCLUSIVE = 3;
/** Migration entry (writable, readable or readable-exclusive). */
export const PTE_MIGRATION = 4;
/** Marker entries (uffd-wp, poison): not produced by the model yet, handled by the walkers. */
export const PTE_MARKER = 6;
export const PTE_TYPE_MASK = 0x7;
/** Writable (present: pte_write; device-private/migration: the writable entry variant). */
export const PTE_WRITE = 0x08;
export const PTE_DIRTY = 0x10;
/** pte_special: no struct page behind it for vm_normal_page() (the zero page uses this). */
export const PTE_SPECIAL = 0x20;
/** Migration entry made from an AnonExclusive page (readable-exclusive). */
export const PTE_ANON_EXCL = 0x40;

export class PteTable {
  readonly pfn = new Uint32Array(HPAGE_PMD_NR);
  readonly bits = new Uint8Array(HPAGE_PMD_NR);
  /** Number of entries that are not PTE_NONE. */
  used = 0;
}

// PMD kinds.
export const PMD_NONE = 0;
export const PMD_TABLE = 1;
/** A present huge mapping: THP, the huge zero folio or a hugetlb page. */
export const PMD_HUGE = 2;
export const PMD_DEVICE_PRIVATE = 3;
export const PMD_MIGRATION = 4;

export class PmdSlot {
  kind = PMD_NONE;
  /** Head pfn of a huge mapping or entry. */
  pfn = 0;
  /** PTE_WRITE / PTE_DIRTY / PTE_ANON_EXCL bits of a huge mapping or entry. */
  bits = 0;
  table: PteTable | null = null;
}

const PMD_BYTES = 2 ** PMD_SHIFT;

/** One mm's page tables, keyed by the PMD index (va >> 21). */
export class PageTable {
  readonly pmds = new Map<number, PmdSlot>();

  slot(va: number): PmdSlot | undefined {
    return this.pmds.get(Math.floor(va / PMD_BYTES));
  }

  /** The slot for va, created empty if missing (pmd_alloc). */
  slotAlloc(va: number): PmdSlot {
    const key = Math.floor(va / 2 ** PMD_SHIFT);
    let s = this.pmds.get(key);
    if (s === undefined) {
      s = new PmdSlot();
      this.pmds.set(key, s);
    }
    return s;
  }

  /** The PTE table for va, created if the slot is empty; null if the slot holds a huge entry. */
  tableAlloc(va: number): PteTable | null {
    const s = this.slotAlloc(va);
    if (s.kind === PMD_NONE) {
      s.kind = PMD_TABLE;
      s.table = new PteTable();
    }
    return s.kind === PMD_TABLE ? s.table : null;
  }

  /** Drops an empty slot (free_pte_range). */
  releaseIfEmpty(va: number): void {
    const key = Math.floor(va / 2 ** PMD_SHIFT);
    const s = this.pmds.get(key);
    if (s && (s.kind === PMD_NONE || (s.kind === PMD_TABLE && s.table!.used === 0))) this.pmds.delete(key);
  }
}

/**
 * Heap per PMD slot and per PTE table, beyond the tables' typed arrays: the PmdSlot object,
 * its Map entry, the PteTable object and its two typed-array headers. Measured with
 * --expose-gc on Node 20 (100,000 slots): about 92 bytes per slot, 508 with a PTE table.
 */
export const PMD_SLOT_OBJECT_BYTES = 92;
export const PTE_TABLE_OBJECT_BYTES = 416;

/** Model memory of one mm's page tables, in bytes (slots, PTE tables and their arrays). */
export function pageTableBytes(pt: PageTable): number {
  let n = 0;
  for (const s of pt.pmds.values()) {
    n += PMD_SLOT_OBJECT_BYTES;
    if (s.table) n += PTE_TABLE_OBJECT_BYTES + s.table.pfn.byteLength + s.table.bits.byteLength;
  }
  return n;
}

/** Index of va inside its PTE table. */
export function pteIndex(va: number): number {
  // The low 32 bits of the page number keep its low 9 bits: exact for any user address.
  return ((va / PAGE_BYTES) >>> 0) & (HPAGE_PMD_NR - 1);
}
const PAGE_BYTES = 2 ** PAGE_SHIFT;
