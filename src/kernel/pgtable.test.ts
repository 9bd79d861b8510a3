/**
 * The model's two page-table levels (pgtable.ts): PMD slots per 2 MiB, PTE tables of 512
 * entries, allocated on demand as pmd_alloc and pte_alloc do and freed when empty as
 * free_pte_range does, and pte_index.
 */
import { describe, expect, it } from 'vitest';
import { HPAGE_PMD_NR, PAGE_SIZE, PMD_SIZE } from './constants.js';
import {
  PageTable,
  PMD_DEVICE_PRIVATE,
  PMD_HUGE,
  PMD_NONE,
  PMD_SLOT_OBJECT_BYTES,
  PMD_TABLE,
  PTE_PRESENT,
  PTE_TABLE_OBJECT_BYTES,
  pageTableBytes,
  pteIndex,
} from './pgtable.js';

describe('pte_index', () => {
  it('is the page number within its 2 MiB PMD: 0..511', () => {
    expect(pteIndex(0)).toBe(0);
    expect(pteIndex(PAGE_SIZE)).toBe(1);
    expect(pteIndex(PAGE_SIZE - 1)).toBe(0);
    expect(pteIndex(PMD_SIZE - PAGE_SIZE)).toBe(HPAGE_PMD_NR - 1);
    expect(pteIndex(PMD_SIZE)).toBe(0);
    expect(pteIndex(PMD_SIZE + 5 * PAGE_SIZE + 123)).toBe(5);
  });

  it('is exact for user addresses above 2^32 (up to the 47-bit TASK_SIZE)', () => {
    const high = 2 ** 47 - PMD_SIZE;
    expect(pteIndex(high + 300 * PAGE_SIZE)).toBe(300);
    expect(pteIndex(2 ** 40 + 17 * PAGE_SIZE)).toBe(17);
    expect(pteIndex(2 ** 47 - PAGE_SIZE)).toBe(511);
  });
});

describe('PageTable: pmd_alloc, pte_alloc and free_pte_range', () => {
  it('slot() finds nothing where nothing was allocated; slotAlloc creates one empty slot per 2 MiB', () => {
    const pt = new PageTable();
    expect(pt.slot(0x40_0000)).toBeUndefined();
    const s = pt.slotAlloc(0x40_0000 + 3 * PAGE_SIZE);
    expect(s.kind).toBe(PMD_NONE);
    expect(s.table).toBeNull();
    // The same 2 MiB range: the same slot, found by either call.
    expect(pt.slotAlloc(0x40_0000 + PMD_SIZE - 1)).toBe(s);
    expect(pt.slot(0x40_0000)).toBe(s);
    // The next 2 MiB range has a slot of its own.
    expect(pt.slot(0x40_0000 + PMD_SIZE)).toBeUndefined();
    expect(pt.slotAlloc(0x40_0000 + PMD_SIZE)).not.toBe(s);
    expect(pt.pmds.size).toBe(2);
  });

  it('tableAlloc gives an empty slot a PTE table, returns the same table again, and null over a huge entry', () => {
    const pt = new PageTable();
    const t = pt.tableAlloc(PMD_SIZE)!;
    expect(t).not.toBeNull();
    expect(t.used).toBe(0);
    expect(t.pfn.length).toBe(HPAGE_PMD_NR);
    expect(t.bits.length).toBe(HPAGE_PMD_NR);
    expect(pt.slot(PMD_SIZE)!.kind).toBe(PMD_TABLE);
    expect(pt.tableAlloc(PMD_SIZE + 100 * PAGE_SIZE)).toBe(t);
    for (const kind of [PMD_HUGE, PMD_DEVICE_PRIVATE]) {
      const huge = pt.slotAlloc(4 * PMD_SIZE);
      huge.kind = kind;
      huge.pfn = 512;
      expect(pt.tableAlloc(4 * PMD_SIZE)).toBeNull();
      expect(huge.table).toBeNull();
    }
  });

  it('releaseIfEmpty drops an empty slot or a table with no entries, and keeps a used table or a huge entry', () => {
    const pt = new PageTable();
    pt.slotAlloc(0);
    pt.releaseIfEmpty(PAGE_SIZE);
    expect(pt.slot(0)).toBeUndefined();

    const t = pt.tableAlloc(PMD_SIZE)!;
    t.bits[3] = PTE_PRESENT;
    t.pfn[3] = 42;
    t.used = 1;
    pt.releaseIfEmpty(PMD_SIZE);
    expect(pt.slot(PMD_SIZE)!.table).toBe(t);
    t.bits[3] = 0;
    t.pfn[3] = 0;
    t.used = 0;
    pt.releaseIfEmpty(PMD_SIZE + 7 * PAGE_SIZE);
    expect(pt.slot(PMD_SIZE)).toBeUndefined();

    const huge = pt.slotAlloc(2 * PMD_SIZE);
    huge.kind = PMD_HUGE;
    huge.pfn = 1024;
    pt.releaseIfEmpty(2 * PMD_SIZE);
    expect(pt.slot(2 * PMD_SIZE)).toBe(huge);
    // Nothing there: nothing to do.
    pt.releaseIfEmpty(9 * PMD_SIZE);
    expect(pt.pmds.size).toBe(1);
  });
});

describe('pageTableBytes', () => {
  it('counts each slot, and each PTE table with its two typed arrays', () => {
    const pt = new PageTable();
    expect(pageTableBytes(pt)).toBe(0);
    pt.slotAlloc(0);
    expect(pageTableBytes(pt)).toBe(PMD_SLOT_OBJECT_BYTES);
    pt.tableAlloc(PMD_SIZE);
    // 512 4-byte pfns and 512 bytes of type and bits.
    const table = PTE_TABLE_OBJECT_BYTES + HPAGE_PMD_NR * 4 + HPAGE_PMD_NR;
    expect(pageTableBytes(pt)).toBe(2 * PMD_SLOT_OBJECT_BYTES + table);
    pt.tableAlloc(0);
    expect(pageTableBytes(pt)).toBe(2 * PMD_SLOT_OBJECT_BYTES + 2 * table);
  });
});
