/**
 * The contract every P2P design runs (hono's common.case pattern): a NIC reads a buffer whose
 * pages live in a GPU's device-private memory, on platforms where the GPU is reachable by the
 * NIC over a switch (BUS_ADDR), through the host bridge (THRU_HOST_BRIDGE), or not at all
 * (NOT_SUPPORTED), with a full or a small BAR. The same contract runs again with two GPUs and
 * two NICs whose connectivity is per pair (one NIC reaches only one of the GPUs), so that a
 * design answering for "any GPU" where it must answer per pagemap or per owner group fails.
 * Deviations of a design from the common expectations are listed with their reason.
 */
import { describe, expect, it } from 'vitest';
import { checkInvariants } from '../check/invariants.js';
import type { GpuDevice } from '../drivers/gpu.js';
import { NIC_HOST, NIC_P2P_BUS, NIC_P2P_HOST_BRIDGE, RdmaNic } from '../drivers/rdma.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PAGE_SIZE, PROT_READ, PROT_WRITE } from '../kernel/constants.js';
import { Machine } from '../uapi/machine.js';
import { DESIGN_NAMES, type DesignName, type P2pMapType } from './design.js';
import { createDesign } from './designs.js';

const MiB = 2 ** 20;
const PAGES = 1024; // 4 MiB

function setup(name: DesignName, mapType: P2pMapType, barBytes: number, fallback: 'rfc' | 'v2' = 'rfc') {
  const design = createDesign(name);
  const m = new Machine({ ramBytes: 256 * MiB });
  const k = m.kernel;
  const connectivity = { mapType: () => mapType };
  const gpu = m.addGpu({
    name: 'gpu0',
    vram: 64 * MiB,
    bar: barBytes,
    owner: design.gpuOwner('gpu0', { connectivity, gpuNames: ['gpu0'] }),
  });
  const p = m.spawn();
  const a = p.mmap(0, PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  const data = new Uint8Array(PAGES * PAGE_SIZE);
  for (let i = 0; i < data.length; i += 4) new DataView(data.buffer).setUint32(i, i * 31 + 7, true);
  p.store(a, data);
  // The GPU pulls the whole buffer into VRAM.
  const mir = gpu.mirror(p.mm, a, PAGES * PAGE_SIZE);
  const addrs: number[] = [];
  for (let i = 0; i < PAGES; i++) addrs.push(a + i * PAGE_SIZE);
  gpu.serviceFaults(
    mir,
    addrs,
    addrs.map(() => 0),
    addrs.length,
  );
  const binding = design.bind({ kernel: k, gpus: [gpu], connectivity }, 'nic0');
  const nic = m.addNic(new RdmaNic(k, { name: 'nic0', fallback }, binding, () => mapType));
  const mr = nic.registerOdpMr(p.mm, a, PAGES * PAGE_SIZE);
  return { design, m, k, gpu, p, a, data, nic, mr };
}

/** What the NIC reads through its translation of va (a BAR page reads the VRAM behind it). */
function nicRead(s: ReturnType<typeof setup>, va: number): number {
  const e = s.mr.translate(va, false)!;
  const v = s.gpu.vramPfnOfAlias(e.pfn);
  const out = new Uint8Array(4);
  s.k.frames.read(v >= 0 ? v : e.pfn, 0, 4, out, 0);
  return new DataView(out.buffer).getUint32(0, true);
}

describe.each(DESIGN_NAMES.map((d) => [d]))('P2P design contract: %s', (name) => {
  // What the design says of itself; every test below holds it to that.
  const p2pDesign = createDesign(name).p2p;

  it.each([['BUS_ADDR'], ['THRU_HOST_BRIDGE']] as const)(
    'a NIC fault over VRAM-resident pages succeeds with correct data and consistent mappings (%s)',
    (mapType) => {
      const s = setup(name, mapType, 64 * MiB);
      expect(s.gpu.vramUsed).toBe(PAGES);
      expect(s.nic.pageFault(s.mr, s.a, s.a + PAGES * PAGE_SIZE, false)).toBe(0);
      for (let i = 0; i < PAGES; i += 97)
        expect(nicRead(s, s.a + i * PAGE_SIZE)).toBe(i * PAGE_SIZE * 31 + 7);
      expect(checkInvariants(s.m)).toEqual([]);
      if (p2pDesign) {
        // Pages stay in VRAM and the NIC reaches them peer to peer.
        expect(s.nic.stats.p2pPages).toBe(PAGES);
        expect(s.gpu.stats.cpuFaultPages).toBe(0);
        expect(s.mr.translate(s.a, false)!.kind).toBe(mapType === 'BUS_ADDR' ? 2 : 3);
      } else {
        // Mainline: every page migrates back to RAM first.
        expect(s.nic.stats.p2pPages).toBe(0);
        expect(s.gpu.stats.cpuFaultPages).toBe(PAGES);
      }
    },
  );

  it('with no P2P path (NOT_SUPPORTED) every page ends in RAM, data intact', () => {
    const s = setup(name, 'NOT_SUPPORTED', 64 * MiB);
    expect(s.nic.pageFault(s.mr, s.a, s.a + PAGES * PAGE_SIZE, false)).toBe(0);
    expect(s.nic.stats.p2pPages).toBe(0);
    expect(s.nic.stats.hostPages).toBe(PAGES);
    expect(s.gpu.vramUsed).toBe(0);
    for (let i = 0; i < PAGES; i += 97) expect(nicRead(s, s.a + i * PAGE_SIZE)).toBe(i * PAGE_SIZE * 31 + 7);
    expect(checkInvariants(s.m)).toEqual([]);
  });

  it('with a small BAR, pages outside the window migrate and the rest go peer to peer', () => {
    // A 2 MiB BAR exposes the first VRAM block only; the 4 MiB buffer uses two blocks.
    const s = setup(name, 'BUS_ADDR', 2 * MiB);
    expect(s.nic.pageFault(s.mr, s.a, s.a + PAGES * PAGE_SIZE, false)).toBe(0);
    expect(s.nic.stats.p2pPages + s.nic.stats.hostPages).toBe(PAGES);
    if (p2pDesign) {
      expect(s.nic.stats.p2pPages).toBe(512);
      expect(s.gpu.stats.cpuFaultPages).toBe(512);
    }
    for (let i = 0; i < PAGES; i += 97) expect(nicRead(s, s.a + i * PAGE_SIZE)).toBe(i * PAGE_SIZE * 31 + 7);
    expect(checkInvariants(s.m)).toEqual([]);
  });

  it('drops the NIC translations the CPU invalidates (mprotect; a CPU touch of a VRAM page)', () => {
    const s = setup(name, 'BUS_ADDR', 64 * MiB);
    expect(s.nic.pageFault(s.mr, s.a, s.a + PAGES * PAGE_SIZE, false)).toBe(0);
    expect(s.p.mprotect(s.a, PAGE_SIZE, PROT_READ)).toBe(0);
    expect(s.mr.translate(s.a, false)).toBeNull();
    expect(s.mr.translate(s.a + PAGE_SIZE, false)).not.toBeNull();
    // Under a P2P design the page is still in VRAM: a CPU write migrates it back to RAM,
    // and the NIC must drop its P2P translation of it.
    s.p.store(s.a + 8 * PAGE_SIZE, Uint8Array.of(1, 2, 3, 4));
    if (p2pDesign) expect(s.mr.translate(s.a + 8 * PAGE_SIZE, false)).toBeNull();
    expect(checkInvariants(s.m)).toEqual([]);
  });
});

// ---- Two GPUs, two NICs, per-pair connectivity ---------------------------------------------

/**
 * pci_p2pdma_map_type per (provider, client) pair: nic0 reaches gpu0 over a switch but has no
 * path to gpu1; nic1 reaches gpu0 over the switch and gpu1 through the host bridge; the two
 * GPUs reach each other (so under owner-registry they form one owner group). Pairs not listed
 * have no path.
 */
const PAIRS: Readonly<Record<string, P2pMapType>> = {
  'gpu0:nic0': 'BUS_ADDR',
  'gpu1:nic0': 'NOT_SUPPORTED',
  'gpu0:nic1': 'BUS_ADDR',
  'gpu1:nic1': 'THRU_HOST_BRIDGE',
  'gpu0:gpu1': 'BUS_ADDR',
  'gpu1:gpu0': 'BUS_ADDR',
};
const pairMapType = (provider: string, client: string): P2pMapType =>
  PAIRS[`${provider}:${client}`] ?? 'NOT_SUPPORTED';

/**
 * Designs that decide for the whole owner group, not per pagemap: a client reaches the
 * group's memory peer to peer only if it reaches every member, else none of it.
 * owner-registry: drm_pagemap_acquire_owner joins a peer to an owner group only when
 * has_interconnect holds with every member, so nic0 (no path to gpu1) gets an owner of its
 * own and hmm_range_fault faults every GPU page to RAM for it. Every other P2P design asks
 * per pagemap (or per page) and reaches gpu0 while gpu1's pages fall back.
 */
const GROUP_WIDE: ReadonlySet<DesignName> = new Set<DesignName>(['owner-registry']);

const HALF = PAGES / 2;

/**
 * gpu0 pulls the first half of a 2 MiB-aligned 4 MiB buffer into its VRAM, gpu1 the second
 * half; then nic0 and nic1 are bound and register an MR over the whole buffer.
 */
function setupTwo(name: DesignName) {
  const design = createDesign(name);
  const m = new Machine({ ramBytes: 256 * MiB });
  const k = m.kernel;
  const connectivity = { mapType: pairMapType };
  const gpuNames = ['gpu0', 'gpu1'];
  const gpus = gpuNames.map((g) =>
    m.addGpu({
      name: g,
      vram: 64 * MiB,
      bar: 64 * MiB,
      owner: design.gpuOwner(g, { connectivity, gpuNames }),
    }),
  );
  const [gpu0, gpu1] = gpus as [GpuDevice, GpuDevice];
  const p = m.spawn();
  const raw = p.mmap(0, PAGES * PAGE_SIZE + 2 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
  const a = Math.ceil(raw / (2 * MiB)) * 2 * MiB;
  const data = new Uint8Array(PAGES * PAGE_SIZE);
  for (let i = 0; i < data.length; i += 4) new DataView(data.buffer).setUint32(i, i * 31 + 7, true);
  p.store(a, data);
  gpus.forEach((gpu, g) => {
    const mir = gpu.mirror(p.mm, a, PAGES * PAGE_SIZE);
    const addrs: number[] = [];
    for (let i = g * HALF; i < (g + 1) * HALF; i++) addrs.push(a + i * PAGE_SIZE);
    gpu.serviceFaults(
      mir,
      addrs,
      addrs.map(() => 0),
      addrs.length,
    );
  });
  const nic = (client: string) => {
    const binding = design.bind({ kernel: k, gpus, connectivity }, client);
    const n = m.addNic(
      new RdmaNic(k, { name: client }, binding, (bar) => {
        const g = gpus.find((d) => d.vramPfnOfAlias(bar) >= 0);
        return g ? pairMapType(g.name, client) : 'NOT_SUPPORTED';
      }),
    );
    return { nic: n, mr: n.registerOdpMr(p.mm, a, PAGES * PAGE_SIZE) };
  };
  const nic0 = nic('nic0');
  const nic1 = nic('nic1');
  return { design, m, k, gpus, gpu0, gpu1, p, a, nic0, nic1 };
}

/** What a NIC reads through its translation of va (a BAR page reads the VRAM behind it). */
function nicReadTwo(s: ReturnType<typeof setupTwo>, mr: ReturnType<RdmaNic['registerOdpMr']>, va: number) {
  const e = mr.translate(va, false)!;
  let pfn = e.pfn;
  for (const g of s.gpus) if (g.vramPfnOfAlias(e.pfn) >= 0) pfn = g.vramPfnOfAlias(e.pfn);
  const out = new Uint8Array(4);
  s.k.frames.read(pfn, 0, 4, out, 0);
  return new DataView(out.buffer).getUint32(0, true);
}

function expectData(s: ReturnType<typeof setupTwo>, mr: ReturnType<RdmaNic['registerOdpMr']>): void {
  for (let i = 0; i < PAGES; i += 61)
    expect(nicReadTwo(s, mr, s.a + i * PAGE_SIZE)).toBe(i * PAGE_SIZE * 31 + 7);
  expect(nicReadTwo(s, mr, s.a + (PAGES - 1) * PAGE_SIZE)).toBe((PAGES - 1) * PAGE_SIZE * 31 + 7);
}

describe.each(DESIGN_NAMES.map((d) => [d]))('P2P design contract, two GPUs and two NICs: %s', (name) => {
  const p2pDesign = createDesign(name).p2p;
  const groupWide = GROUP_WIDE.has(name);

  it('each GPU holds its half of the buffer before any NIC faults', () => {
    const s = setupTwo(name);
    expect(s.gpu0.vramUsed).toBe(HALF);
    expect(s.gpu1.vramUsed).toBe(HALF);
    expect(checkInvariants(s.m)).toEqual([]);
  });

  it("a NIC that reaches both GPUs maps each GPU's pages with that pair's map type", () => {
    const s = setupTwo(name);
    const { nic, mr } = s.nic1;
    expect(nic.pageFault(mr, s.a, s.a + PAGES * PAGE_SIZE, false)).toBe(0);
    expectData(s, mr);
    expect(checkInvariants(s.m)).toEqual([]);
    if (p2pDesign) {
      expect(nic.stats.p2pPages).toBe(PAGES);
      expect(s.gpu0.stats.cpuFaultPages).toBe(0);
      expect(s.gpu1.stats.cpuFaultPages).toBe(0);
      expect(mr.translate(s.a, false)!.kind).toBe(NIC_P2P_BUS);
      expect(mr.translate(s.a + HALF * PAGE_SIZE, false)!.kind).toBe(NIC_P2P_HOST_BRIDGE);
    } else {
      expect(nic.stats.p2pPages).toBe(0);
      expect(s.gpu0.stats.cpuFaultPages).toBe(HALF);
      expect(s.gpu1.stats.cpuFaultPages).toBe(HALF);
      expect(mr.translate(s.a, false)!.kind).toBe(NIC_HOST);
    }
  });

  it("a NIC with no path to gpu1 ends with gpu1's pages in RAM; gpu0's stay in VRAM unless the design is group-wide", () => {
    const s = setupTwo(name);
    const { nic, mr } = s.nic0;
    expect(nic.pageFault(mr, s.a, s.a + PAGES * PAGE_SIZE, false)).toBe(0);
    expectData(s, mr);
    expect(checkInvariants(s.m)).toEqual([]);
    // Never a P2P translation to the GPU nic0 cannot reach.
    expect(s.gpu1.stats.cpuFaultPages).toBe(HALF);
    expect(s.gpu1.vramUsed).toBe(0);
    for (let i = HALF; i < PAGES; i++) expect(mr.kindAt(s.a + i * PAGE_SIZE, false)).toBe(NIC_HOST);
    if (p2pDesign && !groupWide) {
      expect(nic.stats.p2pPages).toBe(HALF);
      expect(nic.stats.hostPages).toBe(HALF);
      expect(s.gpu0.stats.cpuFaultPages).toBe(0);
      expect(s.gpu0.vramUsed).toBe(HALF);
      for (let i = 0; i < HALF; i++) expect(mr.kindAt(s.a + i * PAGE_SIZE, false)).toBe(NIC_P2P_BUS);
    } else {
      // Mainline, or a client outside the owner group: everything migrates to RAM.
      expect(nic.stats.p2pPages).toBe(0);
      expect(nic.stats.hostPages).toBe(PAGES);
      expect(s.gpu0.stats.cpuFaultPages).toBe(HALF);
      expect(s.gpu0.vramUsed).toBe(0);
      expect(s.design.counters.p2pPages).toBe(0);
    }
    if (groupWide) expect(nic.binding.owner).not.toBe(s.gpu0.owner);
  });

  it('when the NIC without a path to gpu1 faults, the NIC that reached it peer to peer loses those translations and re-faults to RAM', () => {
    const s = setupTwo(name);
    expect(s.nic1.nic.pageFault(s.nic1.mr, s.a, s.a + PAGES * PAGE_SIZE, false)).toBe(0);
    expect(s.nic0.nic.pageFault(s.nic0.mr, s.a, s.a + PAGES * PAGE_SIZE, false)).toBe(0);
    expect(checkInvariants(s.m)).toEqual([]);
    const gpu0Kept = p2pDesign && !groupWide;
    if (p2pDesign) {
      // gpu1's pages moved to RAM under nic1: its P2P translations of them are gone.
      expect(s.nic1.mr.translate(s.a + HALF * PAGE_SIZE, false)).toBeNull();
      expect(s.nic1.nic.stats.invalidatedPages).toBe(gpu0Kept ? HALF : PAGES);
    } else {
      // Mainline moved everything to RAM at nic1's fault; nic0's fault moved nothing more.
      expect(s.nic1.nic.stats.invalidatedPages).toBe(0);
    }
    if (gpu0Kept) expect(s.nic1.mr.kindAt(s.a, false)).toBe(NIC_P2P_BUS);
    else expect(s.nic1.mr.kindAt(s.a, false)).toBe(p2pDesign ? 0 : NIC_HOST);
    expect(s.nic1.nic.pageFault(s.nic1.mr, s.a, s.a + PAGES * PAGE_SIZE, false)).toBe(0);
    expect(s.nic1.mr.kindAt(s.a + HALF * PAGE_SIZE, false)).toBe(NIC_HOST);
    expect(s.nic1.mr.kindAt(s.a, false)).toBe(gpu0Kept ? NIC_P2P_BUS : NIC_HOST);
    expectData(s, s.nic1.mr);
    expectData(s, s.nic0.mr);
    expect(checkInvariants(s.m)).toEqual([]);
  });
});

describe('what each design costs', () => {
  const run = (name: DesignName) => {
    const s = setup(name, 'BUS_ADDR', 64 * MiB);
    s.nic.pageFault(s.mr, s.a, s.a + PAGES * PAGE_SIZE, false);
    return s;
  };

  it('rfc-callback calls the driver once per page and creates alias struct pages', () => {
    const s = run('rfc-callback');
    expect(s.design.counters.callbacks).toBe(PAGES);
    expect(s.gpu.aliasPagesCreated).toBeGreaterThan(0);
  });

  it('pagemap-p2p decides once per (pagemap, client), with no per-page callback', () => {
    const s = run('pagemap-p2p');
    expect(s.design.counters.mapTypeQueries).toBe(1);
    expect(s.design.counters.callbacks).toBe(0);
    expect(s.gpu.aliasPagesCreated).toBeGreaterThan(0);
  });

  it('owner-registry groups GPUs by interconnect: a GPU that cannot reach every member gets an owner of its own', () => {
    const d = createDesign('owner-registry');
    const reach = new Set(['gpu0>gpu1', 'gpu1>gpu0']);
    const env = {
      connectivity: {
        mapType: (): P2pMapType => 'BUS_ADDR',
        peerReachable: (a: string, b: string) => reach.has(`${a}>${b}`),
      },
      gpuNames: ['gpu0', 'gpu1', 'gpu2'],
    };
    const [o0, o1, o2] = ['gpu0', 'gpu1', 'gpu2'].map((g) => d.gpuOwner(g, env));
    expect(o1).toBe(o0);
    expect(o2).not.toBe(o0);
    expect(d.gpuOwner('gpu2', env)).toBe(o2); // asked again: the same owner
    // Without an answer about GPU pairs, every GPU shares one owner.
    const all = createDesign('owner-registry');
    const one = { connectivity: { mapType: (): P2pMapType => 'BUS_ADDR' }, gpuNames: ['a', 'b'] };
    expect(all.gpuOwner('a', one)).toBe(all.gpuOwner('b', one));
  });

  it('owner-registry needs no alias struct pages: it maps the BAR address directly', () => {
    const s = run('owner-registry');
    expect(s.gpu.aliasPagesCreated).toBe(0);
    expect(s.design.counters.p2pPages).toBe(PAGES);
  });

  it('upstream migrates every page (two copies per round trip if the GPU touches them again)', () => {
    const s = run('upstream');
    expect(s.gpu.stats.cpuFaultPages).toBe(PAGES);
    expect(s.design.counters.p2pPages).toBe(0);
  });
});

describe('RDMA fallback policies on a failed P2P mapping (rfc-callback, NOT_SUPPORTED)', () => {
  it("the RFC's policy re-faults only the failing pages; v2 re-faults the whole range", () => {
    const rfc = setup('rfc-callback', 'NOT_SUPPORTED', 64 * MiB, 'rfc');
    const v2 = setup('rfc-callback', 'NOT_SUPPORTED', 64 * MiB, 'v2');
    const n = 64;
    expect(rfc.nic.pageFault(rfc.mr, rfc.a, rfc.a + n * PAGE_SIZE, false)).toBe(0);
    expect(v2.nic.pageFault(v2.mr, v2.a, v2.a + n * PAGE_SIZE, false)).toBe(0);
    expect(rfc.nic.stats.fallbackPages).toBe(n);
    expect(v2.nic.stats.fallbackPages).toBe(n);
    expect(rfc.nic.stats.hmmCalls).toBeGreaterThan(v2.nic.stats.hmmCalls);
    expect(checkInvariants(rfc.m)).toEqual([]);
    expect(checkInvariants(v2.m)).toEqual([]);
  });
});

describe('hot unplug of the GPU while a NIC reaches its memory peer to peer', () => {
  it('safe removal: every page comes back to RAM, peers drop their mappings, no data is lost', () => {
    const s = setup('pagemap-p2p', 'BUS_ADDR', 64 * MiB);
    expect(s.nic.pageFault(s.mr, s.a, s.a + PAGES * PAGE_SIZE, false)).toBe(0);
    expect(s.nic.stats.p2pPages).toBe(PAGES);
    const vramPfn = s.gpu.vramPfnOfAlias(s.mr.translate(s.a, false)!.pfn);
    const r = s.m.unplugGpu('gpu0', 'safe');
    expect(r.lostPages).toBe(0);
    expect(r.staleMappings).toEqual([]);
    expect(r.evictedPages).toBe(PAGES);
    expect(s.mr.translate(s.a, false)).toBeNull();
    expect(s.k.pgmapOf(vramPfn)).toBeUndefined();
    expect(checkInvariants(s.m)).toEqual([]);
    // The NIC faults again and now reaches RAM; the data is intact.
    expect(s.nic.pageFault(s.mr, s.a, s.a + PAGES * PAGE_SIZE, false)).toBe(0);
    for (let i = 0; i < PAGES; i += 61) expect(nicRead(s, s.a + i * PAGE_SIZE)).toBe(i * PAGE_SIZE * 31 + 7);
    expect(new Uint32Array(s.p.load(s.a, PAGES * PAGE_SIZE).buffer)[1000]).toBe(4000 * 31 + 7);
    expect(checkInvariants(s.m)).toEqual([]);
  });

  it('surprise removal: pages that were in VRAM are reported lost and read as poison', () => {
    const s = setup('owner-registry', 'BUS_ADDR', 64 * MiB);
    expect(s.nic.pageFault(s.mr, s.a, s.a + PAGES * PAGE_SIZE, false)).toBe(0);
    const r = s.m.unplugGpu('gpu0', 'surprise');
    expect(r.lostPages).toBe(PAGES);
    // Every NIC translation pointed into the vanished BAR: all were stale.
    expect(r.staleMappings.length).toBe(PAGES);
    expect(r.staleMappings[0]!.device).toBe('nic0');
    expect(s.mr.translate(s.a, false)).toBeNull();
    expect(new Uint32Array(s.p.load(s.a, 8).buffer)[0]).toBe(0x7fffffff);
    expect(checkInvariants(s.m)).toEqual([]);
  });

  it('after removal starts no new migration reaches the device', () => {
    const s = setup('upstream', 'BUS_ADDR', 64 * MiB);
    s.gpu.unplug('safe');
    expect(s.gpu.vramUsed).toBe(0);
    expect(s.gpu.removed).toBe(true);
  });
});
