import { describe, expect, it } from 'vitest';
import { MAP_ANONYMOUS, MAP_PRIVATE, O_RDWR, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../kernel/constants.js';
import { Machine } from '../uapi/machine.js';
import { HMM_DMIRROR_MIGRATE_TO_DEV, HMM_DMIRROR_READ } from '../uapi/test_hmm_uapi.js';
import { checkInvariants, stateDigest } from './invariants.js';

describe('invariant checker', () => {
  it('accepts a consistent machine after faults, migration and fork', () => {
    const m = new Machine({ ramBytes: 64 * 2 ** 20 });
    const p = m.spawn();
    const fd = p.open('/dev/hmm_dmirror0', O_RDWR);
    const a = p.mmap(0, 16 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    const mirror = p.mmap(0, 16 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    p.store(a, new Uint8Array(16 * PAGE_SIZE).fill(7));
    const cmd = { addr: a, ptr: mirror, npages: 16, cpages: 0, faults: 0 };
    expect(p.ioctl(fd, HMM_DMIRROR_READ, cmd)).toBe(0);
    expect(checkInvariants(m)).toEqual([]);
    expect(p.ioctl(fd, HMM_DMIRROR_MIGRATE_TO_DEV, cmd)).toBe(0);
    const c = p.fork();
    expect(checkInvariants(m)).toEqual([]);
    c.exit();
    p.close(fd);
    expect(checkInvariants(m)).toEqual([]);
  });

  it('reports a refcount that does not match the mappings', () => {
    const m = new Machine({ ramBytes: 64 * 2 ** 20 });
    const p = m.spawn();
    const a = p.mmap(0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    p.store(a, Uint8Array.of(1));
    const pfn = Number(p.pagemap(a) & ((1n << 55n) - 1n));
    m.kernel.frames.addRef(pfn, 1); // a leaked reference
    expect(checkInvariants(m).join('\n')).toMatch(/refcount 2, but mappings and caches hold 1/);
  });

  it('reports a device mirror entry that the CPU no longer maps (a missed invalidation)', () => {
    const m = new Machine({ ramBytes: 64 * 2 ** 20 });
    const p = m.spawn();
    const fd = p.open('/dev/hmm_dmirror0', O_RDWR);
    const a = p.mmap(0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    const mirror = p.mmap(0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    p.store(a, Uint8Array.of(1));
    expect(p.ioctl(fd, HMM_DMIRROR_READ, { addr: a, ptr: mirror, npages: 1, cpages: 0, faults: 0 })).toBe(0);
    const d = [...m.devices[0]!.opens][0]!;
    d.pt.set(a / PAGE_SIZE, 12345 * 4); // the mirror points somewhere else
    expect(checkInvariants(m).join('\n')).toMatch(/mirror maps .* to pfn 12345/);
  });

  it('gives equal digests for equal states and different ones after a change', () => {
    const m = new Machine({ ramBytes: 64 * 2 ** 20 });
    const p = m.spawn();
    const a = p.mmap(0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
    const d1 = stateDigest(m);
    expect(stateDigest(m)).toBe(d1);
    p.store(a, Uint8Array.of(1));
    expect(stateDigest(m)).not.toBe(d1);
  });
});
