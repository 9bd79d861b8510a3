/**
 * Under every design and every platform, no RDMA, GPU or CPU access ever reads bytes other
 * than the last ones written (a property test with a from-scratch oracle). Accesses go
 * through each device's own translation, faulting exactly as the drivers do; a page's data is
 * a 32-bit tag, the oracle remembers the last tag written to each page.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyParams, propertySeed, propertyTimeout } from '../../test/property/params.js';
import { checkInvariants } from '../check/invariants.js';
import { RdmaNic } from '../drivers/rdma.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../kernel/constants.js';
import { PciTopology } from '../kernel/p2pdma.js';
import { STUDY_PLATFORMS } from '../sim/design-study.js';
import { Machine } from '../uapi/machine.js';
import { DESIGN_NAMES } from './design.js';
import { createDesign } from './designs.js';

const PAGES = 64;
const MiB = 2 ** 20;

type Op = { who: 'cpu' | 'gpu' | 'nic'; write: boolean; page: number };

const opArb: fc.Arbitrary<Op> = fc.record({
  who: fc.constantFrom('cpu', 'gpu', 'nic'),
  write: fc.boolean(),
  page: fc.integer({ min: 0, max: PAGES - 1 }),
});

function world(designName: (typeof DESIGN_NAMES)[number], pci: unknown, barBytes: number) {
  const design = createDesign(designName);
  const m = new Machine({ ramBytes: 128 * MiB });
  const k = m.kernel;
  const topo = PciTopology.fromSpec(pci);
  const connectivity = { mapType: (g: string, c: string) => topo.p2pdmaMapType(g, c) };
  const gpu = m.addGpu({
    name: 'gpu0',
    vram: 8 * MiB,
    bar: barBytes,
    chunkSizes: [64 * 1024, PAGE_SIZE],
    owner: design.gpuOwner('gpu0', { connectivity, gpuNames: ['gpu0'] }),
  });
  const p = m.spawn();
  const a = p.mmap(0, PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  const mir = gpu.mirror(p.mm, a, PAGES * PAGE_SIZE);
  const nic = m.addNic(
    new RdmaNic(k, { name: 'nic0' }, design.bind({ kernel: k, gpus: [gpu], connectivity }, 'nic0'), () =>
      connectivity.mapType('gpu0', 'nic0'),
    ),
  );
  const mr = nic.registerOdpMr(p.mm, a, PAGES * PAGE_SIZE);
  return { m, k, gpu, p, a, mir, nic, mr };
}

function apply(w: ReturnType<typeof world>, op: Op, tag: number): number {
  const va = w.a + op.page * PAGE_SIZE;
  const f = w.k.frames;
  if (op.who === 'cpu') {
    if (op.write) {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, tag, true);
      w.p.store(va, b);
      return tag;
    }
    return new DataView(w.p.load(va, 4).buffer).getUint32(0, true);
  }
  let pfn: number;
  if (op.who === 'gpu') {
    if (!w.mir.translate(va, op.write)) w.gpu.serviceFaults(w.mir, [va], [op.write ? 1 : 0], 1);
    expect(w.mir.translate(va, op.write)).toBe(true);
    pfn = w.mir.devicePfn(va);
  } else {
    if (!w.mr.translate(va, op.write)) expect(w.nic.pageFault(w.mr, va, va + PAGE_SIZE, op.write)).toBe(0);
    const e = w.mr.translate(va, op.write)!;
    const v = w.gpu.vramPfnOfAlias(e.pfn);
    pfn = v >= 0 ? v : e.pfn;
  }
  if (op.write) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, tag, true);
    f.write(pfn, 0, 4, b, 0);
    return tag;
  }
  const out = new Uint8Array(4);
  f.read(pfn, 0, 4, out, 0);
  return new DataView(out.buffer).getUint32(0, true);
}

describe.each(DESIGN_NAMES.map((d) => [d]))(
  'design %s: every access reads the last bytes written',
  (design) => {
    for (const plat of STUDY_PLATFORMS) {
      const seed = propertySeed(20261125);
      it(
        `on ${plat.name} (seed ${seed})`,
        () => {
          fc.assert(
            fc.property(fc.array(opArb, { minLength: 10, maxLength: 60 }), (ops) => {
              const w = world(design, plat.pci, plat.bar ? 32 * 1024 : 8 * MiB);
              const last = new Map<number, number>();
              ops.forEach((op, i) => {
                const tag = (i + 1) * 7919;
                const got = apply(w, op, tag);
                if (op.write) last.set(op.page, tag);
                else expect(got).toBe(last.get(op.page) ?? 0);
              });
              expect(checkInvariants(w.m)).toEqual([]);
            }),
            propertyParams({ seed, numRuns: 12 }),
          );
        },
        propertyTimeout(60_000),
      );
    }
  },
);
