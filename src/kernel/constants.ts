/**
 * Linux constants the model reproduces, with Linux's names and values (x86-64).
 * Sources: include/uapi/asm-generic/{errno-base,errno,mman-common,fcntl}.h,
 * include/uapi/linux/mman.h, include/linux/mm.h, include/linux/mmu_notifier.h,
 * include/linux/hmm.h, include/linux/migrate.h, include/linux/memremap.h.
 */

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
export const PMD_SHIFT = 21;
export const PMD_SIZE = 2 * 1024 * 1024;
/** Pages per PMD (HPAGE_PMD_NR). */
export const HPAGE_PMD_NR = 512;
export const HPAGE_PMD_ORDER = 9;
export const PUD_SHIFT = 30;
export const PUD_SIZE = 1024 * 1024 * 1024;
export const HPAGE_PUD_ORDER = 18;
/** User address space top on x86-64 with 4-level paging (TASK_SIZE). */
export const TASK_SIZE = 2 ** 47 - PAGE_SIZE;

// errno (include/uapi/asm-generic/errno-base.h, errno.h)
export const EPERM = 1;
export const ENOENT = 2;
export const ESRCH = 3;
export const EINTR = 4;
export const EIO = 5;
export const ENXIO = 6;
export const EBADF = 9;
export const ECHILD = 10;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const ENOTDIR = 20;
export const EISDIR = 21;
export const EINVAL = 22;
export const EMFILE = 24;
export const ENOTTY = 25;
export const EFBIG = 27;
export const ENOSPC = 28;
export const ESPIPE = 29;
export const ERANGE = 34;
export const ENOSYS = 38;
export const EOVERFLOW = 75;
export const EOPNOTSUPP = 95;
export const EHWPOISON = 133;

const ERRNO_NAMES: Record<number, string> = {
  [EPERM]: 'EPERM',
  [ENOENT]: 'ENOENT',
  [ESRCH]: 'ESRCH',
  [EINTR]: 'EINTR',
  [EIO]: 'EIO',
  [ENXIO]: 'ENXIO',
  [EBADF]: 'EBADF',
  [ECHILD]: 'ECHILD',
  [EAGAIN]: 'EAGAIN',
  [ENOMEM]: 'ENOMEM',
  [EACCES]: 'EACCES',
  [EFAULT]: 'EFAULT',
  [EBUSY]: 'EBUSY',
  [EEXIST]: 'EEXIST',
  [ENODEV]: 'ENODEV',
  [ENOTDIR]: 'ENOTDIR',
  [EISDIR]: 'EISDIR',
  [EINVAL]: 'EINVAL',
  [EMFILE]: 'EMFILE',
  [ENOTTY]: 'ENOTTY',
  [EFBIG]: 'EFBIG',
  [ENOSPC]: 'ENOSPC',
  [ESPIPE]: 'ESPIPE',
  [ENOSYS]: 'ENOSYS',
  [EOVERFLOW]: 'EOVERFLOW',
  [EOPNOTSUPP]: 'EOPNOTSUPP',
  [EHWPOISON]: 'EHWPOISON',
};

/** Name of a (positive or negative) errno value, e.g. errnoName(-14) === '-EFAULT'. */
export function errnoName(e: number): string {
  const n = ERRNO_NAMES[Math.abs(e)];
  if (!n) return String(e);
  return e < 0 ? `-${n}` : n;
}

// mmap protections and flags (mman-common.h, mman.h)
export const PROT_NONE = 0x0;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
export const PROT_EXEC = 0x4;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_SHARED_VALIDATE = 0x03;
export const MAP_TYPE = 0x0f;
export const MAP_FIXED = 0x10;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;
export const MAP_POPULATE = 0x8000;
export const MAP_HUGETLB = 0x40000;
export const MAP_FIXED_NOREPLACE = 0x100000;
/** The error value mmap returns as an address in C; the model returns -errno instead. */
export const MAP_FAILED = -1;

export const MADV_NORMAL = 0;
export const MADV_RANDOM = 1;
export const MADV_SEQUENTIAL = 2;
export const MADV_WILLNEED = 3;
export const MADV_DONTNEED = 4;
export const MADV_FREE = 8;
export const MADV_DONTFORK = 10;
export const MADV_DOFORK = 11;
export const MADV_HUGEPAGE = 14;
export const MADV_NOHUGEPAGE = 15;
export const MADV_COLLAPSE = 25;

export const MREMAP_MAYMOVE = 1;
export const MREMAP_FIXED = 2;
export const MREMAP_DONTUNMAP = 4;

// open flags (asm-generic/fcntl.h, octal in the header)
export const O_RDONLY = 0o0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_ACCMODE = 0o3;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_TRUNC = 0o1000;
export const O_DIRECTORY = 0o200000;
export const O_CLOEXEC = 0o2000000;
const __O_TMPFILE = 0o20000000;
export const O_TMPFILE = __O_TMPFILE | O_DIRECTORY;

// vm_flags (include/linux/mm.h)
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_MAYREAD = 0x10;
export const VM_MAYWRITE = 0x20;
export const VM_MAYEXEC = 0x40;
export const VM_MAYSHARE = 0x80;
export const VM_PFNMAP = 0x400;
export const VM_IO = 0x4000;
export const VM_DONTCOPY = 0x20000;
export const VM_DONTEXPAND = 0x40000;
export const VM_HUGETLB = 0x400000;
export const VM_HUGEPAGE = 0x20000000;
export const VM_NOHUGEPAGE = 0x40000000;
export const VM_MIXEDMAP = 0x10000000;
export const VM_SPECIAL = VM_IO | VM_DONTEXPAND | VM_PFNMAP | VM_MIXEDMAP;

// mmu notifier events (include/linux/mmu_notifier.h)
export const MMU_NOTIFY_UNMAP = 0;
export const MMU_NOTIFY_CLEAR = 1;
export const MMU_NOTIFY_PROTECTION_VMA = 2;
export const MMU_NOTIFY_PROTECTION_PAGE = 3;
export const MMU_NOTIFY_SOFT_DIRTY = 4;
export const MMU_NOTIFY_RELEASE = 5;
export const MMU_NOTIFY_MIGRATE = 6;
export const MMU_NOTIFY_EXCLUSIVE = 7;
export type MmuNotifierEvent = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;
export const MMU_NOTIFY_EVENT_NAMES = [
  'UNMAP',
  'CLEAR',
  'PROTECTION_VMA',
  'PROTECTION_PAGE',
  'SOFT_DIRTY',
  'RELEASE',
  'MIGRATE',
  'EXCLUSIVE',
] as const;
export const MMU_NOTIFIER_RANGE_BLOCKABLE = 1;

/**
 * HMM pfn flags (include/linux/hmm.h), as Linux's 64-bit values. The model stores an hmm_pfns
 * array as a BigUint64Array (exact Linux values) and walks it through a Uint32Array view of the
 * same buffer: word 2i is the pfn, word 2i+1 the upper 32 bits (the flags). HMM_PFN_HI_* are
 * the same flags shifted down by 32 for that view.
 */
export const HMM_PFN_VALID = 1n << 63n;
export const HMM_PFN_WRITE = 1n << 62n;
export const HMM_PFN_ERROR = 1n << 61n;
export const HMM_PFN_DMA_MAPPED = 1n << 60n;
export const HMM_PFN_P2PDMA = 1n << 59n;
export const HMM_PFN_P2PDMA_BUS = 1n << 58n;
export const HMM_PFN_ORDER_SHIFT = 53;
export const HMM_PFN_REQ_FAULT = HMM_PFN_VALID;
export const HMM_PFN_REQ_WRITE = HMM_PFN_WRITE;
export const HMM_PFN_FLAGS = ~((1n << BigInt(HMM_PFN_ORDER_SHIFT)) - 1n) & 0xffff_ffff_ffff_ffffn;

export const HMM_PFN_HI_VALID = 0x8000_0000;
export const HMM_PFN_HI_WRITE = 0x4000_0000;
export const HMM_PFN_HI_ERROR = 0x2000_0000;
export const HMM_PFN_HI_DMA_MAPPED = 0x1000_0000;
export const HMM_PFN_HI_P2PDMA = 0x0800_0000;
export const HMM_PFN_HI_P2PDMA_BUS = 0x0400_0000;
/** Order field (5 bits) in the upper word: bits 53..57 of the u64 are bits 21..25 here. */
export const HMM_PFN_HI_ORDER_SHIFT = HMM_PFN_ORDER_SHIFT - 32;
export const HMM_PFN_HI_REQ_FAULT = HMM_PFN_HI_VALID;
export const HMM_PFN_HI_REQ_WRITE = HMM_PFN_HI_WRITE;
/** The sticky in/out bits preserved by the walk (HMM_PFN_INOUT_FLAGS in mm/hmm.c). */
export const HMM_PFN_HI_INOUT_FLAGS = HMM_PFN_HI_DMA_MAPPED | HMM_PFN_HI_P2PDMA | HMM_PFN_HI_P2PDMA_BUS;

/** migrate_pfn encoding (include/linux/migrate.h): (pfn << 6) | flags, exact in a double. */
export const MIGRATE_PFN_VALID = 1 << 0;
export const MIGRATE_PFN_MIGRATE = 1 << 1;
export const MIGRATE_PFN_WRITE = 1 << 3;
export const MIGRATE_PFN_COMPOUND = 1 << 4;
export const MIGRATE_PFN_SHIFT = 6;
export const MIGRATE_VMA_SELECT_SYSTEM = 1 << 0;
export const MIGRATE_VMA_SELECT_DEVICE_PRIVATE = 1 << 1;
export const MIGRATE_VMA_SELECT_DEVICE_COHERENT = 1 << 2;
export const MIGRATE_VMA_SELECT_COMPOUND = 1 << 3;

// enum memory_type (include/linux/memremap.h)
export const MEMORY_DEVICE_PRIVATE = 1;
export const MEMORY_DEVICE_COHERENT = 2;
export const MEMORY_DEVICE_FS_DAX = 3;
export const MEMORY_DEVICE_GENERIC = 4;
export const MEMORY_DEVICE_PCI_P2PDMA = 5;
export type MemoryType = 1 | 2 | 3 | 4 | 5;

// vm_fault_t bits (include/linux/mm_types.h)
export const VM_FAULT_OOM = 0x000001;
export const VM_FAULT_SIGBUS = 0x000002;
export const VM_FAULT_MAJOR = 0x000004;
export const VM_FAULT_HWPOISON = 0x000010;
export const VM_FAULT_SIGSEGV = 0x000040;
export const VM_FAULT_NOPAGE = 0x000100;
export const VM_FAULT_LOCKED = 0x000200;
export const VM_FAULT_RETRY = 0x000400;
export const VM_FAULT_FALLBACK = 0x000800;
export const VM_FAULT_ERROR = VM_FAULT_OOM | VM_FAULT_SIGBUS | VM_FAULT_SIGSEGV | VM_FAULT_HWPOISON;

// fault flags (include/linux/mm_types.h enum fault_flag)
export const FAULT_FLAG_WRITE = 1 << 0;
export const FAULT_FLAG_REMOTE = 1 << 7;
export const FAULT_FLAG_USER = 1 << 6;

// gup flags (include/linux/mm_types.h)
export const FOLL_WRITE = 0x01;
export const FOLL_GET = 0x04;
export const FOLL_LONGTERM = 0x100;
export const FOLL_PIN = 0x40000;
/** Bias GUP pins add to the refcount of a small folio (GUP_PIN_COUNTING_BIAS). */
export const GUP_PIN_COUNTING_BIAS = 1024;
/** FOLL_SPLIT_PMD (mm/internal.h): split a huge PMD before returning the page. */
export const FOLL_SPLIT_PMD = 1 << 13;
