import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as h from '../src/index.js';
import { type Device, deviceFault } from './fault-path.js';

function makeDevice(m: h.Machine, p: h.Process, start: number, length: number): Device {
  let held = false;
  const lock = {
    take() {
      if (held) throw new Error('driver lock taken twice');
      held = true;
    },
    release() {
      held = false;
    },
  };
  const pt = new Map<number, { pfn: number; writable: boolean }>();
  const sub = new h.MmuIntervalNotifier(
    {
      invalidate(s, range, cur) {
        lock.take();
        h.mmuIntervalSetSeq(s, cur);
        for (let v = range.start / h.PAGE_SIZE; v < range.end / h.PAGE_SIZE; v++) pt.delete(v);
        lock.release();
        return true;
      },
    },
    p.mm.notifiers,
  );
  p.mm.notifiers.insert(sub, start, length);
  return { kernel: m.kernel, mm: p.mm, sub, owner: null, lock, pt };
}

describe('README fault-path example', () => {
  it('mirrors a range, drops it on invalidation, and fails on an unmapped page', () => {
    const m = new h.Machine({ ramBytes: 64 * 2 ** 20 });
    const p = m.spawn();
    const len = 8 * h.PAGE_SIZE;
    const a = p.mmap(0, len, h.PROT_READ | h.PROT_WRITE, h.MAP_PRIVATE | h.MAP_ANONYMOUS);
    p.store(a, new Uint8Array(len).fill(1));
    const dev = makeDevice(m, p, a, len);
    expect(deviceFault(dev, a, a + len)).toBe(0);
    expect(dev.pt.size).toBe(8);
    const e = dev.pt.get(a / h.PAGE_SIZE)!;
    expect(e.writable).toBe(true);
    expect(e.pfn).toBe(Number(p.pagemap(a) & ((1n << 55n) - 1n)));
    // fork write-protects the parent's pages: the notifier drops the device mappings.
    p.fork();
    expect(dev.pt.size).toBe(0);
    // After munmap of the first page, the fault fails with -EFAULT.
    p.munmap(a, h.PAGE_SIZE);
    expect(deviceFault(dev, a, a + len)).toBe(-h.EFAULT);
  });

  it('is quoted verbatim in the README', () => {
    const code = readFileSync(new URL('./fault-path.ts', import.meta.url), 'utf8');
    const body = code.slice(code.indexOf('/** A device fault handler'));
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(body.trim());
  });
});
