/**
 * struct dev_pagemap through its lifecycle (memremap.ts, with Kernel.memremapPages and
 * memunmapPages): memremap_pages registers the range, zone_device_page_init hands out pages
 * while the pagemap's percpu_ref is alive, memunmap_pages kills it and waits for every page,
 * which the model turns into a KernelHang when the driver did not evict them first.
 */
import { describe, expect, it } from 'vitest';
import { Machine } from '../uapi/machine.js';
import { MEMORY_DEVICE_PRIVATE } from './constants.js';
import { DevPagemap, KernelHang } from './memremap.js';

const NPAGES = 1024;

function pagemap(name?: string) {
  const k = new Machine({ ramBytes: 64 * 2 ** 20, dmirrorDevices: false, hugetlbPages: 0 }).kernel;
  const ops = { folioFree: () => {}, migrateToRam: () => 0 };
  const pgmap =
    name === undefined
      ? new DevPagemap(MEMORY_DEVICE_PRIVATE, 'owner', ops)
      : new DevPagemap(MEMORY_DEVICE_PRIVATE, 'owner', ops, name);
  const start = k.requestFreeMemRegion(NPAGES * 4096);
  return { k, pgmap, start };
}

describe('struct dev_pagemap', () => {
  it('is unregistered until memremap_pages: no id, no range, no page references, alive', () => {
    const { pgmap } = pagemap();
    expect(pgmap.id).toBe(0);
    expect(pgmap.startPfn).toBe(0);
    expect(pgmap.npages).toBe(0);
    expect(pgmap.refs).toBe(0);
    expect(pgmap.dying).toBe(false);
    expect(pgmap.name).toBe('');
    expect(pgmap.owner).toBe('owner');
    expect(pgmap.type).toBe(MEMORY_DEVICE_PRIVATE);
  });

  it('memremap_pages gives it an id and its range; zone_device_page_init takes page references', () => {
    const { k, pgmap, start } = pagemap('dev0 chunk 0');
    expect(k.memremapPages(pgmap, start, NPAGES)).toBe(0);
    expect(pgmap.id).toBeGreaterThan(0);
    expect(pgmap.startPfn).toBe(start);
    expect(pgmap.npages).toBe(NPAGES);
    expect(k.pgmapOf(start + NPAGES - 1)).toBe(pgmap);
    k.zoneDeviceFolioInit(start, 0);
    expect(pgmap.refs).toBe(1);
  });
});

describe('memunmap_pages', () => {
  it('with every page freed: the pagemap dies and its range is no longer ZONE_DEVICE memory', () => {
    const { k, pgmap, start } = pagemap('dev0 chunk 0');
    expect(k.memremapPages(pgmap, start, NPAGES)).toBe(0);
    k.memunmapPages(pgmap);
    expect(pgmap.dying).toBe(true);
    expect(k.pgmapOf(start)).toBeUndefined();
  });

  it('with a page still in use would wait forever: KernelHang names the pagemap and the pages in use', () => {
    const { k, pgmap, start } = pagemap('dev0 chunk 0');
    expect(k.memremapPages(pgmap, start, NPAGES)).toBe(0);
    k.zoneDeviceFolioInit(start, 0);
    let err: unknown;
    try {
      k.memunmapPages(pgmap);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KernelHang);
    expect(err).toBeInstanceOf(Error);
    const hang = err as KernelHang;
    expect(hang.name).toBe('KernelHang');
    expect(hang.message).toMatch(
      /^memunmap_pages\(dev0 chunk 0\) with 1 pages still in use would wait forever/,
    );
    expect(String(hang)).toMatch(/^KernelHang: memunmap_pages/);
    // percpu_ref_kill happened: no new page of it may be initialised.
    expect(pgmap.dying).toBe(true);
    expect(() => k.zoneDeviceFolioInit(start + 1, 0)).toThrow(/dying/);
  });

  it('a pagemap without a name is reported by its id', () => {
    const { k, pgmap, start } = pagemap();
    expect(k.memremapPages(pgmap, start, NPAGES)).toBe(0);
    k.zoneDeviceFolioInit(start, 0);
    expect(() => k.memunmapPages(pgmap)).toThrow(`memunmap_pages(pgmap ${pgmap.id})`);
  });
});
