/**
 * The one migration cost model. Every path that migrates pages charges its CPU time here: a GPU
 * fault pass (workloads/gpu.ts), a CPU fault's or a dmirror ioctl's migrate_to_ram
 * (Platform.migratedToRam), a NIC fault's migrate_to_ram (nic-fault.ts), the evictions a pass
 * or a removal makes (workloads/gpu.ts, events/unplug.ts) and the dmirror ioctls
 * (workloads/dmirror.ts). The same operation costs the same on every path:
 *
 *   cpuNs = migrateVmaFixedNs x calls + migrateVmaPerEntryNs x entries + migrateVmaPerPageNs x pages
 *
 * where `calls` counts migrate sequences (migrate_vma_setup .. migrate_vma_finalize, or
 * migrate_device_pfns/range .. migrate_device_finalize) and `entries` the migrate entries they
 * moved, as the drivers count them (migrateEntriesMoved in kernel/migrate_device.ts): a
 * PMD-size folio moved whole (MIGRATE_PFN_COMPOUND) is one entry in either direction, a folio
 * the driver could not move whole is split first by the core and is one entry per page. The
 * copy is not in this sum: it is charged by its bytes on its own path (Platform.copy over the
 * GPU's link for VRAM, host memory for dmirror's RAM-backed device memory).
 *
 *   migrateCostNs(v, 1, 1, 512)     // one 2 MiB THP moved whole
 *   migrateCostNs(v, 1, 512, 512)   // a 2 MiB range of small pages (or a THP split first)
 *   migrateCostNs(v, 1, 1, 1)       // one 4 KiB page
 *
 * `pages` counts the 4 KiB pages the entries cover: the per-page term is what a folio moved
 * whole still does per subpage. Both per-entry and per-page costs are derived from Xe's 2 MiB
 * fault with and without device THP (docs/costs.md).
 *
 * Linux counterpart: the work of mm/migrate_device.c per entry (collect: one PMD migration entry
 * for a THP, migrate_vma_collect_huge_pmd; unmap: migrate_device_unmap, one folio; pages:
 * __migrate_device_pages, one folio_migrate_mapping for a compound entry with a compound
 * destination; finalize: remove_migration_ptes per folio). docs/costs.md says per path what
 * the model assumes and where the parameters come from.
 */
import type { CostProfile } from './costs.js';

/** The CPU time of `calls` migrate sequences that moved `entries` migrate entries covering `pages` pages, in ns. */
export function migrateCostNs(
  v: Pick<CostProfile['values'], 'migrateVmaFixedNs' | 'migrateVmaPerEntryNs' | 'migrateVmaPerPageNs'>,
  calls: number,
  entries: number,
  pages: number,
): number {
  return v.migrateVmaFixedNs * calls + v.migrateVmaPerEntryNs * entries + v.migrateVmaPerPageNs * pages;
}
