/**
 * Under every design and every platform, no RDMA, GPU or CPU access ever reads bytes other
 * than the last ones written (a property test with a from-scratch oracle). Accesses go
 * through each device's own translation, faulting exactly as the drivers do; a page's data is
 * a 32-bit tag, the oracle remembers the last tag written to each page. It runs on the study
 * platforms (one GPU, one NIC) and on per-pair platforms with two GPUs and two NICs, where one
 * NIC has no path to one GPU; there every P2P translation a NIC holds must also go to a GPU its
 * pair reaches, with that pair's map type.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyParams, propertySeed, propertyTimeout } from '../../test/property/params.js';
import { checkInvariants } from '../check/invariants.js';
import type { GpuDevice } from '../drivers/gpu.js';
import { NIC_P2P_BUS, NIC_P2P_HOST_BRIDGE, RdmaNic } from '../drivers/rdma.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../kernel/constants.js';
import { PciTopology } from '../kernel/p2pdma.js';
import { STUDY_PLATFORMS } from '../sim/design-study.js';
import { Machine } from '../uapi/machine.js';
import { DESIGN_NAMES, type P2pMapType } from './design.js';
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

// ---- Two GPUs, two NICs, per-pair connectivity ---------------------------------------------

/**
 * Per-pair platforms: nic0 reaches gpu0 over a switch and has no path to gpu1; nic1 reaches
 * gpu0 over the switch and gpu1 through the host bridge; the GPUs reach each other. Pairs not
 * listed have no path. With a full BAR, and with a 32 KiB one (most VRAM outside the window).
 */
const PAIRS: Readonly<Record<string, P2pMapType>> = {
  'gpu0:nic0': 'BUS_ADDR',
  'gpu0:nic1': 'BUS_ADDR',
  'gpu1:nic1': 'THRU_HOST_BRIDGE',
  'gpu0:gpu1': 'BUS_ADDR',
  'gpu1:gpu0': 'BUS_ADDR',
};
const pairMapType = (provider: string, client: string): P2pMapType =>
  PAIRS[`${provider}:${client}`] ?? 'NOT_SUPPORTED';
const PAIR_PLATFORMS = [
  { name: 'per-pair (nic0 reaches gpu0 only, nic1 both)', bar: 8 * MiB },
  { name: 'per-pair with a 32 KiB BAR', bar: 32 * 1024 },
];

type Op2 = { who: 'cpu' | 'gpu0' | 'gpu1' | 'nic0' | 'nic1'; write: boolean; page: number };

const op2Arb: fc.Arbitrary<Op2> = fc.record({
  who: fc.constantFrom('cpu', 'gpu0', 'gpu1', 'nic0', 'nic1'),
  write: fc.boolean(),
  page: fc.integer({ min: 0, max: PAGES - 1 }),
});

function world2(designName: (typeof DESIGN_NAMES)[number], barBytes: number) {
  const design = createDesign(designName);
  const m = new Machine({ ramBytes: 128 * MiB });
  const k = m.kernel;
  const connectivity = { mapType: pairMapType };
  const gpuNames = ['gpu0', 'gpu1'];
  const gpus = gpuNames.map((name) =>
    m.addGpu({
      name,
      vram: 8 * MiB,
      bar: barBytes,
      chunkSizes: [64 * 1024, PAGE_SIZE],
      owner: design.gpuOwner(name, { connectivity, gpuNames }),
    }),
  );
  const p = m.spawn();
  const a = p.mmap(0, PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  const mirs = gpus.map((g) => g.mirror(p.mm, a, PAGES * PAGE_SIZE));
  const nics = ['nic0', 'nic1'].map((client) => {
    const nic = m.addNic(
      new RdmaNic(k, { name: client }, design.bind({ kernel: k, gpus, connectivity }, client), (bar) => {
        const g = gpus.find((d) => d.vramPfnOfAlias(bar) >= 0);
        return g ? pairMapType(g.name, client) : 'NOT_SUPPORTED';
      }),
    );
    return { nic, mr: nic.registerOdpMr(p.mm, a, PAGES * PAGE_SIZE) };
  });
  return { m, k, gpus, p, a, mirs, nics };
}

/** The VRAM page behind a BAR page of any GPU, and that GPU; or the pfn itself. */
function behindBar(gpus: GpuDevice[], pfn: number): { pfn: number; gpu: GpuDevice | undefined } {
  for (const g of gpus) {
    const v = g.vramPfnOfAlias(pfn);
    if (v >= 0) return { pfn: v, gpu: g };
  }
  return { pfn, gpu: undefined };
}

function apply2(w: ReturnType<typeof world2>, op: Op2, tag: number): number {
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
  if (op.who === 'gpu0' || op.who === 'gpu1') {
    const g = op.who === 'gpu0' ? 0 : 1;
    const gpu = w.gpus[g]!;
    const mir = w.mirs[g]!;
    if (!mir.translate(va, op.write)) gpu.serviceFaults(mir, [va], [op.write ? 1 : 0], 1);
    expect(mir.translate(va, op.write)).toBe(true);
    pfn = mir.devicePfn(va);
  } else {
    const { nic, mr } = w.nics[op.who === 'nic0' ? 0 : 1]!;
    if (!mr.translate(va, op.write)) expect(nic.pageFault(mr, va, va + PAGE_SIZE, op.write)).toBe(0);
    pfn = behindBar(w.gpus, mr.translate(va, op.write)!.pfn).pfn;
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

/** Every P2P translation a NIC holds goes to a GPU its pair reaches, with that pair's map type. */
function expectReachableP2p(w: ReturnType<typeof world2>): void {
  for (const { nic, mr } of w.nics) {
    mr.forEach((_va, pfn, kind) => {
      if (kind !== NIC_P2P_BUS && kind !== NIC_P2P_HOST_BRIDGE) return;
      const gpu = behindBar(w.gpus, pfn).gpu;
      expect(gpu).toBeDefined();
      const t = pairMapType(gpu!.name, nic.name);
      expect(t).not.toBe('NOT_SUPPORTED');
      expect(kind).toBe(t === 'BUS_ADDR' ? NIC_P2P_BUS : NIC_P2P_HOST_BRIDGE);
    });
  }
}

describe.each(DESIGN_NAMES.map((d) => [d]))(
  'design %s, two GPUs and two NICs: every access reads the last bytes written',
  (design) => {
    for (const plat of PAIR_PLATFORMS) {
      it(`on ${plat.name} (seed 20261126)`, () => {
        fc.assert(
          fc.property(fc.array(op2Arb, { minLength: 10, maxLength: 60 }), (ops) => {
            const w = world2(design, plat.bar);
            const last = new Map<number, number>();
            ops.forEach((op, i) => {
              const tag = (i + 1) * 7919;
              const got = apply2(w, op, tag);
              if (op.write) last.set(op.page, tag);
              else expect(got).toBe(last.get(op.page) ?? 0);
              expectReachableP2p(w);
            });
            expect(checkInvariants(w.m)).toEqual([]);
          }),
          { seed: 20261126, numRuns: 12 },
        );
      });
    }
  },
);
