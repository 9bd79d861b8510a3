/**
 * include/linux/highmem.h: the kernel's copies through a kernel mapping of a page
 * (`memcpy_from_page`, `memcpy_to_page`, `copy_highpage`, `clear_highpage`). Drivers use
 * these where their Linux twins do; a device's own copy engine (DMA) writes frames directly.
 *
 * A MEMORY_DEVICE_PRIVATE page has a struct page but no kernel mapping: memremap_pages()
 * (mm/memremap.c, pagemap_range) adds such a range with add_pages() and never with
 * arch_add_memory(), "as the device memory is un-accessible". kmap_local_page() of one is
 * page_address() of a pfn the direct map does not cover, and the memcpy after it faults in
 * kernel mode. The model reports that as the oops it is: it records it in `k.oopses` (the
 * invariant checker's `kernel oops`) and throws KernelOops, whatever the caller catches.
 */
import type { Kernel } from './kernel.js';

/**
 * Thrown where kernel code touches memory through a mapping that does not exist (Linux:
 * "BUG: unable to handle page fault for address ..." and an oops). A driver bug, never bad
 * input: the model refuses it loudly, as KernelHang does for a hang.
 */
export class KernelOops extends Error {
  constructor(
    /** The kernel function that dereferenced the missing mapping (e.g. memcpy_from_page). */
    readonly fn: string,
    readonly pfn: number,
  ) {
    super(
      `BUG: unable to handle page fault in ${fn}: pfn ${pfn} is a MEMORY_DEVICE_PRIVATE page, which has no kernel mapping (memremap_pages adds device-private ranges with add_pages, not arch_add_memory)`,
    );
    this.name = 'KernelOops';
  }
}

/** kmap_local_page(pfn) for `fn`: the oops when the page has no kernel mapping. */
function kmap(k: Kernel, pfn: number, fn: string): void {
  if (k.isDevicePrivate(pfn)) {
    const e = new KernelOops(fn, pfn);
    k.oopses.push(e.message);
    throw e;
  }
}

/** memcpy_from_page: `len` bytes of page `pfn` at `off` into `out` at `outOff`. Throws KernelOops. */
export function memcpyFromPage(
  k: Kernel,
  out: Uint8Array,
  outOff: number,
  pfn: number,
  off: number,
  len: number,
): void {
  kmap(k, pfn, 'memcpy_from_page');
  k.frames.read(pfn, off, len, out, outOff);
}

/** memcpy_to_page: `len` bytes of `src` at `srcOff` into page `pfn` at `off`. Throws KernelOops. */
export function memcpyToPage(
  k: Kernel,
  pfn: number,
  off: number,
  src: Uint8Array,
  srcOff: number,
  len: number,
): void {
  kmap(k, pfn, 'memcpy_to_page');
  k.frames.write(pfn, off, len, src, srcOff);
}

/** copy_highpage(dst, src): one page through two kernel mappings. Throws KernelOops. */
export function copyHighpage(k: Kernel, dst: number, src: number): void {
  kmap(k, src, 'copy_highpage');
  kmap(k, dst, 'copy_highpage');
  k.frames.copyPage(dst, src);
}

/** clear_highpage(pfn): zeroes one page through a kernel mapping. Throws KernelOops. */
export function clearHighpage(k: Kernel, pfn: number): void {
  kmap(k, pfn, 'clear_highpage');
  k.frames.fill(pfn, 0);
}

/** folio_copy(dst, src): copy_highpage over each page of a folio of 2^order pages. */
export function folioCopy(k: Kernel, dst: number, src: number, order: number): void {
  for (let i = 0; i < 2 ** order; i++) copyHighpage(k, dst + i, src + i);
}
