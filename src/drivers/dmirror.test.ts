/**
 * dmirror as lib/test_hmm.c keeps device memory: a device-private page is a struct page only,
 * its data lives in a backing system page (dmirror_devmem_alloc_page sets
 * dpage->zone_device_data = rpage; BACKING_PAGE(page)), every copy goes through that page, and
 * a copy through a kernel mapping of the device-private page itself is the oops it is in Linux.
 */
import { describe, expect, it } from 'vitest';
import { checkInvariants } from '../check/invariants.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, O_RDWR, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../kernel/constants.js';
import { KernelOops } from '../kernel/highmem.js';
import { PTE_DEVICE_PRIVATE, PTE_TYPE_MASK } from '../kernel/pgtable.js';
import { Machine } from '../uapi/machine.js';
import {
  HMM_DMIRROR_MIGRATE_TO_DEV,
  HMM_DMIRROR_MIGRATE_TO_SYS,
  HMM_DMIRROR_READ,
  HMM_DMIRROR_RELEASE,
  HMM_DMIRROR_WRITE,
} from '../uapi/test_hmm_uapi.js';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
const NPAGES = 4;

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) new DataView(b.buffer).setUint32(i, (i * 2654435761 + seed) >>> 0, true);
  return b;
}

/** A process with a written buffer of NPAGES pages and a bounce buffer, and dmirror0 open once or twice. */
function setup(files = 1) {
  const m = new Machine({ ramBytes: 256 * 2 ** 20, thp: 'never', coherentDevices: false });
  const k = m.kernel;
  const p = m.spawn();
  const size = NPAGES * PAGE_SIZE;
  const buf = p.mmap(0, size, RW, ANON);
  const bounce = p.mmap(0, size, RW, ANON);
  const data = pattern(size, 7);
  p.store(buf, data);
  p.store(bounce, new Uint8Array(size)); // populated, so RAM counts below are the buffer's
  const fds = Array.from({ length: files }, () => p.open('/dev/hmm_dmirror0', O_RDWR));
  const dev = m.devices[0]!;
  const cmd = () => ({ addr: buf, ptr: bounce, npages: NPAGES, cpages: 0, faults: 0 });
  /** The CPU's pfn at page i and whether it is a device-private entry. */
  const cpu = (i: number) => {
    const slot = p.mm.pt.slot(buf + i * PAGE_SIZE)!;
    const j = (buf / PAGE_SIZE + i) % 512;
    return {
      pfn: slot.table!.pfn[j]!,
      devicePrivate: (slot.table!.bits[j]! & PTE_TYPE_MASK) === PTE_DEVICE_PRIVATE,
    };
  };
  return { m, k, p, buf, bounce, data, fds, dev, cmd, cpu, size };
}

function pageBytes(k: Machine['kernel'], pfn: number): Uint8Array {
  const out = new Uint8Array(PAGE_SIZE);
  k.frames.read(pfn, 0, PAGE_SIZE, out, 0);
  return out;
}

describe('dmirror keeps device-private data in backing system pages (lib/test_hmm.c)', () => {
  it('dmirror_migrate_alloc_and_copy: copy_highpage into BACKING_PAGE(dpage); the device page holds no bytes', () => {
    const { m, k, p, data, fds, dev, cmd, cpu } = setup();
    expect(p.ioctl(fds[0]!, HMM_DMIRROR_MIGRATE_TO_DEV, cmd())).toBe(0);
    for (let i = 0; i < NPAGES; i++) {
      const { pfn, devicePrivate } = cpu(i);
      expect(devicePrivate).toBe(true);
      expect(k.frames.fillTag(pfn)).toBe(0); // never written: no CPU-readable bytes
      const rpage = dev.backingPage(pfn);
      expect(rpage).toBeLessThan(k.ramPages);
      expect(pageBytes(k, rpage)).toEqual(data.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE));
    }
    expect(checkInvariants(m)).toEqual([]);
  });

  it('dmirror_migrate_finalize_and_map: the migrating file mirrors the backing page, and READ/WRITE copy through it', () => {
    const { m, k, p, bounce, fds, dev, cmd, cpu, size } = setup();
    expect(p.ioctl(fds[0]!, HMM_DMIRROR_MIGRATE_TO_DEV, cmd())).toBe(0);
    const dm = [...dev.opens][0]!;
    const vpn0 = cmd().addr / PAGE_SIZE;
    for (let i = 0; i < NPAGES; i++)
      expect(Math.floor(dm.pt.get(vpn0 + i)! / 4)).toBe(dev.backingPage(cpu(i).pfn));
    const fresh = pattern(size, 99);
    p.store(bounce, fresh);
    const c = cmd();
    expect(p.ioctl(fds[0]!, HMM_DMIRROR_WRITE, c)).toBe(0);
    expect(c.faults).toBe(0); // written through the mirror, no fault
    expect(k.frames.fillTag(cpu(0).pfn)).toBe(0);
    expect(pageBytes(k, dev.backingPage(cpu(0).pfn))).toEqual(fresh.subarray(0, PAGE_SIZE));
    expect(checkInvariants(m)).toEqual([]);
  });

  it('dmirror_devmem_fault: a CPU fault copies from the backing page, and dmirror_devmem_free frees it', () => {
    const { m, k, p, buf, data, fds, dev, cmd } = setup();
    const before = k.alloc.used;
    expect(p.ioctl(fds[0]!, HMM_DMIRROR_MIGRATE_TO_DEV, cmd())).toBe(0);
    // NPAGES backing pages allocated, the NPAGES system pages freed.
    expect(k.alloc.used).toBe(before);
    expect(dev.zoneDeviceData.size).toBe(NPAGES);
    expect(p.load(buf, NPAGES * PAGE_SIZE)).toEqual(data);
    expect(dev.zoneDeviceData.size).toBe(0);
    expect(k.alloc.used).toBe(before);
    expect(checkInvariants(m)).toEqual([]);
  });

  it('dmirror_migrate_to_system and dmirror_device_evict_chunk copy from BACKING_PAGE(spage)', () => {
    const { m, k, p, buf, data, fds, dev, cmd } = setup();
    expect(p.ioctl(fds[0]!, HMM_DMIRROR_MIGRATE_TO_DEV, cmd())).toBe(0);
    expect(p.ioctl(fds[0]!, HMM_DMIRROR_MIGRATE_TO_SYS, cmd())).toBe(0);
    expect(dev.zoneDeviceData.size).toBe(0);
    expect(p.load(buf, NPAGES * PAGE_SIZE)).toEqual(data);
    expect(p.ioctl(fds[0]!, HMM_DMIRROR_MIGRATE_TO_DEV, cmd())).toBe(0);
    expect(p.ioctl(fds[0]!, HMM_DMIRROR_RELEASE, cmd())).toBe(0);
    expect(dev.zoneDeviceData.size).toBe(0);
    expect(p.load(buf, NPAGES * PAGE_SIZE)).toEqual(data);
    expect(k.oopses).toEqual([]);
    expect(checkInvariants(m)).toEqual([]);
  });

  it('the invariant checker reports a dmirror device-private page that holds bytes', () => {
    const { m, k, p, fds, cmd, cpu } = setup();
    expect(p.ioctl(fds[0]!, HMM_DMIRROR_MIGRATE_TO_DEV, cmd())).toBe(0);
    k.frames.fill(cpu(0).pfn, 5);
    expect(checkInvariants(m).join('\n')).toMatch(/device-private page holds bytes/);
  });
});

describe('a second file on the same device (dmirror_do_fault stores the device-private page)', () => {
  it("B's first READ of a page A migrated is an oops: memcpy_from_page of a page with no kernel mapping", () => {
    const { m, k, p, fds, cmd } = setup(2);
    expect(p.ioctl(fds[0]!, HMM_DMIRROR_MIGRATE_TO_DEV, cmd())).toBe(0);
    expect(() => p.ioctl(fds[1]!, HMM_DMIRROR_READ, cmd())).toThrow(KernelOops);
    expect(k.oopses).toHaveLength(1);
    expect(k.oopses[0]).toMatch(/memcpy_from_page: pfn \d+ is a MEMORY_DEVICE_PRIVATE page/);
    expect(checkInvariants(m).join('\n')).toMatch(
      /kernel oops: BUG: unable to handle page fault in memcpy_from_page/,
    );
  });

  it('WRITE through B is the same oops (memcpy_to_page)', () => {
    const { p, fds, cmd } = setup(2);
    expect(p.ioctl(fds[0]!, HMM_DMIRROR_MIGRATE_TO_DEV, cmd())).toBe(0);
    expect(() => p.ioctl(fds[1]!, HMM_DMIRROR_WRITE, cmd())).toThrow(/memcpy_to_page/);
  });

  it('faultMapsBackingPage (not in test_hmm): B mirrors BACKING_PAGE(page) and reads the data', () => {
    const { m, p, bounce, data, fds, dev, cmd, cpu, size } = setup(2);
    dev.faultMapsBackingPage = true;
    expect(p.ioctl(fds[0]!, HMM_DMIRROR_MIGRATE_TO_DEV, cmd())).toBe(0);
    p.store(bounce, new Uint8Array(size));
    expect(p.ioctl(fds[1]!, HMM_DMIRROR_READ, cmd())).toBe(0);
    const dmB = [...dev.opens][1]!;
    expect(Math.floor(dmB.pt.get(cmd().addr / PAGE_SIZE)! / 4)).toBe(dev.backingPage(cpu(0).pfn));
    expect(p.load(bounce, size)).toEqual(data);
    expect(checkInvariants(m)).toEqual([]);
  });

  it('the genuine stale read: B mirrors the page in RAM, A migrates it, B READs the freed system page', () => {
    const { m, p, buf, bounce, fds, cmd, size } = setup(2);
    expect(p.ioctl(fds[1]!, HMM_DMIRROR_READ, cmd())).toBe(0);
    expect(p.ioctl(fds[0]!, HMM_DMIRROR_MIGRATE_TO_DEV, cmd())).toBe(0);
    // dmirror_interval_invalidate skipped the MMU_NOTIFY_MIGRATE its device owns: B still
    // mirrors the system pages migrate_vma_finalize freed.
    expect(checkInvariants(m).join('\n')).toMatch(/mirror maps .* the CPU maps pfn/);
    const fresh = pattern(size, 3);
    p.store(buf, fresh); // CPU write: dmirror_devmem_fault brings the pages back first
    expect(p.ioctl(fds[1]!, HMM_DMIRROR_READ, cmd())).toBe(0);
    expect(p.load(bounce, size)).not.toEqual(fresh);
  });

  it('invalidateOwnMigrate alone is no fix: B loses the entry, faults the device page in, and oopses', () => {
    const { p, fds, dev, cmd } = setup(2);
    dev.invalidateOwnMigrate = true;
    expect(p.ioctl(fds[1]!, HMM_DMIRROR_READ, cmd())).toBe(0);
    expect(p.ioctl(fds[0]!, HMM_DMIRROR_MIGRATE_TO_DEV, cmd())).toBe(0);
    expect(() => p.ioctl(fds[1]!, HMM_DMIRROR_READ, cmd())).toThrow(KernelOops);
  });

  it('with both invalidateOwnMigrate and faultMapsBackingPage, B reads what the CPU wrote', () => {
    const { m, p, buf, bounce, fds, dev, cmd, size } = setup(2);
    dev.invalidateOwnMigrate = true;
    dev.faultMapsBackingPage = true;
    expect(p.ioctl(fds[1]!, HMM_DMIRROR_READ, cmd())).toBe(0);
    expect(p.ioctl(fds[0]!, HMM_DMIRROR_MIGRATE_TO_DEV, cmd())).toBe(0);
    expect(checkInvariants(m)).toEqual([]);
    const fresh = pattern(size, 3);
    p.store(buf, fresh);
    expect(p.ioctl(fds[1]!, HMM_DMIRROR_READ, cmd())).toBe(0);
    expect(p.load(bounce, size)).toEqual(fresh);
    expect(checkInvariants(m)).toEqual([]);
  });
});
