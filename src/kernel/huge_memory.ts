/**
 * Splitting a huge PMD mapping into a PTE table (mm/huge_memory.c: __split_huge_pmd,
 * __split_huge_pmd_locked). The folio stays large; only its mapping is split.
 *
 * A leaf module (types only from mm.ts and kernel.ts) so that the fault and migration paths
 * (memory.ts, migrate_device.ts) can split PMDs without an import cycle through mm.ts.
 */
import { HPAGE_PMD_NR, MMU_NOTIFY_CLEAR, PMD_SIZE } from './constants.js';
import { PG_HUGETLB } from './frames.js';
import type { Kernel } from './kernel.js';
import type { Mm } from './mm.js';
import { notify, notifyEnd } from './mmu_notifier.js';
import {
  PMD_DEVICE_PRIVATE,
  PMD_HUGE,
  PMD_MIGRATION,
  PMD_TABLE,
  type PmdSlot,
  PTE_ANON_EXCL,
  PTE_DEVICE_PRIVATE,
  PTE_DIRTY,
  PTE_MIGRATION,
  PTE_PRESENT,
  PTE_SPECIAL,
  PTE_WRITE,
  PteTable,
} from './pgtable.js';

/**
 * __split_huge_pmd: turns the huge mapping or device-private PMD entry covering va into a PTE
 * table mapping the same folio page by page (the folio stays large). Notifies CLEAR over
 * the 2 MiB range, as the kernel does.
 */
export function splitHugePmdAt(k: Kernel, mm: Mm, va: number): void {
  const slot = mm.pt.slot(va);
  if (!slot || (slot.kind !== PMD_HUGE && slot.kind !== PMD_DEVICE_PRIVATE && slot.kind !== PMD_MIGRATION))
    return;
  const f = k.frames;
  if (slot.kind === PMD_HUGE && f.hasFlag(slot.pfn, PG_HUGETLB)) {
    throw new Error('model bug: hugetlb PMDs are never split');
  }
  const haddr = Math.floor(va / PMD_SIZE) * PMD_SIZE;
  const r = notify(mm, MMU_NOTIFY_CLEAR, haddr, haddr + PMD_SIZE);
  splitHugePmdLocked(k, slot);
  notifyEnd(mm, r);
}

/** The page-table part of a PMD split (caller notifies). */
export function splitHugePmdLocked(k: Kernel, slot: PmdSlot): void {
  const t = new PteTable();
  const head = slot.pfn;
  const zero = slot.kind === PMD_HUGE && head === k.hugeZeroPfn;
  const type =
    slot.kind === PMD_HUGE
      ? PTE_PRESENT
      : slot.kind === PMD_DEVICE_PRIVATE
        ? PTE_DEVICE_PRIVATE
        : PTE_MIGRATION;
  for (let i = 0; i < HPAGE_PMD_NR; i++) {
    if (zero) {
      t.pfn[i] = k.zeroPfn;
      t.bits[i] = PTE_PRESENT | PTE_SPECIAL;
    } else {
      t.pfn[i] = head + i;
      t.bits[i] = type | (slot.bits & (PTE_WRITE | PTE_DIRTY | PTE_ANON_EXCL));
    }
  }
  t.used = HPAGE_PMD_NR;
  // Each PTE mapping holds its own folio reference; the PMD held one. Migration entries hold
  // none (the migrating thread holds the folio).
  if (!zero && slot.kind !== PMD_MIGRATION) k.frames.addRef(head, HPAGE_PMD_NR - 1);
  slot.kind = PMD_TABLE;
  slot.table = t;
  slot.pfn = 0;
  slot.bits = 0;
}
