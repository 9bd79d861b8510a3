/**
 * `hmmlab/kernel`: the model of Linux mm that drivers and race models are written against.
 * Errors are Linux errno values returned as negative numbers (`-EBUSY`, `-EFAULT`, ...; names
 * in constants.ts); an exception is a bug in the model, KernelHang for a driver bug the
 * kernel would hang on, or KernelOops for one it would oops on (highmem.ts).
 */

/** Linux constants with their names and values: errno (`EBUSY`, `errnoName`), mmap/madvise flags, FAULT_FLAG_*, VM_FAULT_*, HMM_PFN_*, MIGRATE_PFN_*, MEMORY_DEVICE_* types. */
export * from './constants.js';
/** DMA mapping and the HMM DMA helpers (hmmDmaMapPfn; DMA_MAPPING_ERROR, -ENOMEM via dmaMappingError). */
export {
  DMA_MAPPING_ERROR,
  DmaDevice,
  type DmaDeviceOptions,
  dmaMappingError,
  HmmDmaMap,
  hmmDmaMapAlloc,
  hmmDmaMapFree,
  hmmDmaMapPfn,
  hmmDmaUnmapPfn,
  type IommuMode,
} from './dma.js';
/** The frame table (struct page in typed arrays) and page flags (PG_LOCKED, PG_ANON, ...). */
export * from './frames.js';
/** highmem.h copies through a kernel mapping (memcpy_from_page, copy_highpage, ...); KernelOops on a device-private page. */
export {
  clearHighpage,
  copyHighpage,
  folioCopy,
  KernelOops,
  memcpyFromPage,
  memcpyToPage,
} from './highmem.js';
/** hmm_range_fault (0, -EBUSY, -EFAULT, -EPERM, -EINVAL for an empty range), its resumable steps, and the P2P hook for designs. */
export { HMM_P2P_FAULT, type HmmP2pHook, HmmRange, hmmRangeFault, hmmRangeFaultSteps } from './hmm.js';
/** __split_huge_pmd. */
export { splitHugePmdAt, splitHugePmdLocked } from './huge_memory.js';
/** The kernel: allocator, folio refcounts and locks, ZONE_DEVICE registry (memremapPages), rmap walk. */
export { Kernel, type KernelObserver, type KernelOptions, type ThpMode } from './kernel.js';
/** Faults (handleMmFault: a vm_fault_t), user accesses (userTouch) and GUP (getUserPages: pfns or -errno). */
export {
  getUserPages,
  handleMmFault,
  putUserPages,
  removeDeviceExclusiveEntry,
  tryRestoreExclusivePte,
  userTouch,
} from './memory.js';
/** dev_pagemap and its ops (folio_free, migrate_to_ram), VmFault, KernelHang. */
export { DevPagemap, type DevPagemapOps, KernelHang, type VmFault } from './memremap.js';
/** migrate_vma_* and migrate_device_* (setup returns -EINVAL for a bad range; migrateVmaSetupSteps is its resumable form), newMigrateVma, migrateToRamArgs, folio split, make_device_exclusive (makeDeviceExclusiveSteps sleeps on a locked folio; -EINTR on a fatal signal); migrateEntriesMoved counts what moved (entries, pages). */
export {
  type MigrateVma,
  makeDeviceExclusive,
  makeDeviceExclusiveSteps,
  migrateDeviceCoherentFolio,
  migrateDeviceFinalize,
  migrateDevicePages,
  migrateDevicePfns,
  migrateDeviceRange,
  migrateEntriesMoved,
  migratePfn,
  migratePfnToPfn,
  migrateToRamArgs,
  migrateVmaFinalize,
  migrateVmaPages,
  migrateVmaSetup,
  migrateVmaSetupSteps,
  newMigrateVma,
  splitFolio,
} from './migrate_device.js';
/** Address spaces: Mm, Vma, Inode and the VMA system calls (doMmap, doMunmap and its resumable doMunmapSteps: 0 or -EINVAL; doMprotect, doMadvise, doMremap, fork, exit). */
export {
  doMadvise,
  doMmap,
  doMprotect,
  doMremap,
  doMunmap,
  doMunmapSteps,
  dupMmap,
  exitMmap,
  Inode,
  Mm,
  populateRange,
  splitVma,
  Vma,
  zapRange,
} from './mm.js';
/** mmu interval notifiers and the sequence protocol (read_begin / read_retry, remove and invalidations as resumable steps; insert returns -EOVERFLOW for a bad range, a non-blockable start -EAGAIN). */
export {
  MmuIntervalNotifier,
  type MmuIntervalNotifierOps,
  type MmuNotifierRange,
  MmuNotifierSubscriptions,
  mmuIntervalCheckRetry,
  mmuIntervalNotifierRemoveSteps,
  mmuIntervalReadBegin,
  mmuIntervalReadBeginSteps,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
  type NotifyRange,
  notify,
  notifyEnd,
  notifySteps,
  runToCompletion,
} from './mmu_notifier.js';
/** PCI peer-to-peer connectivity: PciTopology, map types, errors for bad topology specs. */
export {
  type P2pdmaMapType,
  PciTopology,
  type PciTopologySpec,
  TopologySpecError,
  UnknownPciDeviceError,
} from './p2pdma.js';
/** Page tables: PTE/PMD kinds and bits, PteTable, PmdSlot, PageTable, pteIndex. */
export * from './pgtable.js';
/** anon_vma and folio_add_new_anon_rmap. */
export { AnonVma, anonVmaPrepare, setAnonRmap } from './rmap.js';
/** What resumable kernel steps yield: KernelYield (folio_locked, migration_entry, notifier_wait, invalidate, pmd_unlock, ...) and their names. */
export * from './wait.js';
