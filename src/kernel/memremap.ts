/**
 * ZONE_DEVICE memory: struct dev_pagemap, memremap_pages / memunmap_pages and the page
 * lifecycle of device pages (include/linux/memremap.h, mm/memremap.c; docs/kernel-model.md,
 * "Device memory").
 */
import type { MemoryType } from './constants.js';

/** struct vm_fault, as much of it as migrate_to_ram needs. */
export interface VmFault {
  /** The faulting mm's id and VMA. */
  mm: import('./mm.js').Mm;
  vma: import('./mm.js').Vma;
  /** Faulting address (not aligned). */
  address: number;
  /** The device page that faulted (vmf->page): head pfn for a PMD fault, else the page. */
  page: number;
  /** vmf->pte != NULL: false when the fault came through a device-private PMD entry. */
  pteMapped: boolean;
  /** FAULT_FLAG_* bits. */
  flags: number;
}

/** struct dev_pagemap_ops. */
export interface DevPagemapOps {
  /** Refcount of a folio reached zero: return it to the driver's allocator. */
  folioFree?(head: number): void;
  /** CPU fault on a DEVICE_PRIVATE page: migrate it to RAM. Returns a vm_fault_t (0 on success). */
  migrateToRam?(vmf: VmFault): number;
  /** A DEVICE_PRIVATE large folio is being split: `tail` becomes its own page. */
  folioSplit?(head: number, tail: number): void;
}

/** struct dev_pagemap: one physical range of device memory with an owner and ops. */
export class DevPagemap {
  /** Registry id (index in Kernel.pgmaps), 0 until memremap_pages. */
  id = 0;
  /** First pfn and number of pages (ranges[0]). */
  startPfn = 0;
  npages = 0;
  /** Outstanding page references (the percpu_ref): pages initialised and not yet freed. */
  refs = 0;
  /** percpu_ref_kill happened: no new pages may be initialised. */
  dying = false;
  constructor(
    readonly type: MemoryType,
    /** Compared with hmm_range.dev_private_owner and migrate_vma.pgmap_owner. */
    readonly owner: unknown,
    readonly ops: DevPagemapOps,
    /** A name for reports (e.g. "dmirror0 chunk 1"). */
    readonly name = '',
  ) {}
}

/** Thrown where the kernel would block forever: a driver bug the model refuses loudly. */
export class KernelHang extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KernelHang';
  }
}
