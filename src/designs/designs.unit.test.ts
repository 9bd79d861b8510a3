/**
 * Each design's binding asked directly, page by page, without a NIC in between: what the
 * hmm_range_fault hook returns for another owner's device-private page and what dmaTarget
 * returns for a reported pfn, on a page inside the BAR window, outside it (a small BAR), of a
 * GPU the client has no path to, of a device being removed, of a device the design does not
 * know, and for a RAM page; and the work each design counts for the cost model
 * (DesignCounters). The contract suite (designs.test.ts) runs the same designs end to end
 * through an RDMA NIC, which absorbs most of these differences (a negative dmaTarget and a
 * failed P2P map both end in a fault to RAM); this file holds each design to its own
 * description.
 */
import { describe, expect, it } from 'vitest';
import type { GpuDevice } from '../drivers/gpu.js';
import { EINVAL, ENOMEM, HPAGE_PMD_ORDER, MEMORY_DEVICE_PRIVATE } from '../kernel/constants.js';
import { HMM_P2P_FAULT, type HmmP2pHook } from '../kernel/hmm.js';
import { Machine } from '../uapi/machine.js';
import type { DesignEnv, DesignName, P2pMapType } from './design.js';
import {
  createDesign,
  DevicePrivateFlagDesign,
  OwnerRegistryDesign,
  PagemapP2pDesign,
  RfcCallbackDesign,
  UpstreamDesign,
} from './designs.js';

const MiB = 2 ** 20;

/**
 * One GPU with 4 MiB of VRAM (two 2 MiB blocks) behind a BAR of `barBytes`, one 2 MiB folio
 * allocated in each block: `inWindow` is the first (the BAR covers it), `outOfWindow` the
 * second (outside a 2 MiB BAR). `other` is a second GPU the design's environment does not
 * list. `ram` is a RAM page.
 */
function platform(name: DesignName, mapType: P2pMapType, barBytes = 4 * MiB) {
  const design = createDesign(name, { lockPerPage: true });
  const m = new Machine({ ramBytes: 64 * MiB, dmirrorDevices: false, hugetlbPages: 0 });
  const k = m.kernel;
  const connectivity = { mapType: (): P2pMapType => mapType };
  const owner = design.gpuOwner('gpu0', { connectivity, gpuNames: ['gpu0'] });
  const gpu = m.addGpu({ name: 'gpu0', vram: 4 * MiB, bar: barBytes, owner });
  const other = m.addGpu({ name: 'gpu1', vram: 4 * MiB, bar: 4 * MiB });
  const inWindow = gpu.allocPage(HPAGE_PMD_ORDER);
  const outOfWindow = gpu.allocPage(HPAGE_PMD_ORDER);
  const foreign = other.allocPage(HPAGE_PMD_ORDER);
  const ram = k.allocFolio(0);
  const env: DesignEnv = { kernel: k, gpus: [gpu], connectivity };
  return { design, m, k, gpu, other, env, inWindow, outOfWindow, foreign, ram, owner };
}

/** hmm_range_fault's call of the hook for a read fault on another owner's device-private page. */
function ask(hook: HmmP2pHook, pfn: number): number {
  return hook.devicePrivate(pfn, { owner: 'another' }, false);
}

/** The BAR page of a VRAM page (what a peer DMA-maps without an alias struct page). */
const barOf = (gpu: GpuDevice, vramPfn: number) => gpu.barBase + (vramPfn - gpu.vramPfnOfAlias(gpu.barBase));

describe('the platform the unit tests use', () => {
  it('holds device-private folios inside and outside a 2 MiB BAR window, and a RAM page', () => {
    const s = platform('upstream', 'BUS_ADDR', 2 * MiB);
    for (const pfn of [s.inWindow, s.outOfWindow, s.foreign]) {
      expect(pfn).toBeGreaterThan(0);
      expect(s.k.pgmapOf(pfn)?.type).toBe(MEMORY_DEVICE_PRIVATE);
    }
    expect(s.gpu.barPfn(s.inWindow)).toBe(barOf(s.gpu, s.inWindow));
    expect(s.gpu.barPfn(s.outOfWindow)).toBe(-ENOMEM);
    expect(s.k.pgmapOf(s.ram)).toBeUndefined();
  });
});

describe('createDesign', () => {
  it('builds each design by name, with the RFC options passed to rfc-callback', () => {
    expect(createDesign('upstream')).toBeInstanceOf(UpstreamDesign);
    expect(createDesign('pagemap-p2p')).toBeInstanceOf(PagemapP2pDesign);
    expect(createDesign('owner-registry')).toBeInstanceOf(OwnerRegistryDesign);
    expect(createDesign('device-private-flag')).toBeInstanceOf(DevicePrivateFlagDesign);
    const rfc = createDesign('rfc-callback', { lockPerPage: true });
    expect(rfc).toBeInstanceOf(RfcCallbackDesign);
    expect((rfc as RfcCallbackDesign).opts.lockPerPage).toBe(true);
  });
});

describe('upstream (mainline)', () => {
  it('adds no hook and no owner: hmm_range_fault faults every foreign device-private page', () => {
    const s = platform('upstream', 'BUS_ADDR');
    const b = s.design.bind(s.env, 'nic0');
    expect(b.owner).toBeNull();
    expect(b.hook).toBeNull();
    expect(s.owner).toBeUndefined();
    expect(b.dmaTarget(s.inWindow)).toBe(s.inWindow);
    expect(s.design.counters).toEqual({
      callbacks: 0,
      locks: 0,
      mapTypeQueries: 0,
      p2pPages: 0,
      fallbackPages: 0,
      windowMisses: 0,
    });
  });
});

describe('rfc-callback: get_dma_pfn_for_device per page', () => {
  it('returns the BAR alias pfn inside the window, with one callback (and one driver lock) per page', () => {
    const s = platform('rfc-callback', 'BUS_ADDR');
    const b = s.design.bind(s.env, 'nic0');
    expect(b.owner).toBeNull();
    const alias = ask(b.hook!, s.inWindow);
    expect(alias).toBe(s.gpu.barBase);
    expect(s.gpu.vramPfnOfAlias(alias)).toBe(s.inWindow);
    expect(ask(b.hook!, s.inWindow + 1)).toBe(s.gpu.barBase + 1);
    expect(s.design.counters).toMatchObject({
      callbacks: 2,
      locks: 2,
      p2pPages: 2,
      fallbackPages: 0,
      windowMisses: 0,
    });
    // The alias page maps as it is.
    expect(b.dmaTarget(alias)).toBe(alias);
  });

  it('takes no driver lock unless asked to (lockPerPage)', () => {
    const s = platform('rfc-callback', 'BUS_ADDR');
    const plain = createDesign('rfc-callback');
    const b = plain.bind(s.env, 'nic0');
    expect(ask(b.hook!, s.inWindow)).toBe(s.gpu.barBase);
    expect(plain.counters.callbacks).toBe(1);
    expect(plain.counters.locks).toBe(0);
  });

  it('-ENOMEM outside a small BAR: the page faults as mainline, counted as a window miss and a fallback', () => {
    const s = platform('rfc-callback', 'BUS_ADDR', 2 * MiB);
    const b = s.design.bind(s.env, 'nic0');
    expect(ask(b.hook!, s.outOfWindow)).toBe(HMM_P2P_FAULT);
    expect(ask(b.hook!, s.outOfWindow + 7)).toBe(HMM_P2P_FAULT);
    expect(s.design.counters).toMatchObject({ callbacks: 2, p2pPages: 0, fallbackPages: 2, windowMisses: 2 });
  });

  it('a device being removed gives no alias (-ENODEV): the page faults, neither P2P nor a window miss', () => {
    const m = new Machine({ ramBytes: 64 * MiB, dmirrorDevices: false, hugetlbPages: 0 });
    const gpu = m.addGpu({ name: 'gpu0', vram: 4 * MiB, bar: 4 * MiB });
    const design = createDesign('rfc-callback');
    const connectivity = { mapType: (): P2pMapType => 'BUS_ADDR' };
    const hook = design.bind({ kernel: m.kernel, gpus: [gpu], connectivity }, 'nic0').hook!;
    gpu.unplug('safe');
    expect(gpu.removing).toBe(true);
    const pfn = gpu.vramPfnOfAlias(gpu.barBase); // a VRAM page inside the BAR window
    expect(gpu.ownsVram(pfn)).toBe(true);
    expect(ask(hook, pfn)).toBe(HMM_P2P_FAULT);
    expect(design.counters).toMatchObject({ callbacks: 1, p2pPages: 0, fallbackPages: 0, windowMisses: 0 });
  });

  it('a device-private page of a GPU the design does not know faults without a callback', () => {
    const s = platform('rfc-callback', 'BUS_ADDR');
    const b = s.design.bind(s.env, 'nic0');
    expect(ask(b.hook!, s.foreign)).toBe(HMM_P2P_FAULT);
    expect(s.design.counters.callbacks).toBe(0);
  });
});

describe('pagemap-p2p: one pci_p2pdma_map_type decision per (pagemap, client)', () => {
  it('a reachable pagemap reports BAR alias pfns, asking the map type once', () => {
    const s = platform('pagemap-p2p', 'THRU_HOST_BRIDGE');
    const b = s.design.bind(s.env, 'nic0');
    expect(ask(b.hook!, s.inWindow)).toBe(s.gpu.barBase);
    expect(ask(b.hook!, s.inWindow + 3)).toBe(s.gpu.barBase + 3);
    expect(s.design.counters).toMatchObject({
      mapTypeQueries: 1,
      callbacks: 0,
      p2pPages: 2,
      fallbackPages: 0,
    });
  });

  it('an unreachable pagemap (NOT_SUPPORTED) faults every page, each counted as a fallback', () => {
    const s = platform('pagemap-p2p', 'NOT_SUPPORTED');
    const b = s.design.bind(s.env, 'nic0');
    for (let i = 0; i < 3; i++) expect(ask(b.hook!, s.inWindow + i)).toBe(HMM_P2P_FAULT);
    expect(s.design.counters).toMatchObject({
      mapTypeQueries: 1,
      p2pPages: 0,
      fallbackPages: 3,
      windowMisses: 0,
    });
    expect(s.gpu.aliasPagesCreated).toBe(0);
  });

  it('a small BAR splits the pagemap: pages beyond the window fault as window misses', () => {
    const s = platform('pagemap-p2p', 'BUS_ADDR', 2 * MiB);
    const b = s.design.bind(s.env, 'nic0');
    expect(ask(b.hook!, s.inWindow)).toBe(s.gpu.barBase);
    expect(ask(b.hook!, s.outOfWindow)).toBe(HMM_P2P_FAULT);
    expect(s.design.counters).toMatchObject({ p2pPages: 1, fallbackPages: 1, windowMisses: 1 });
  });
});

describe('owner-registry: drm_pagemap owner groups', () => {
  it('a client that reaches every GPU shares their owner and maps a VRAM page at its BAR address', () => {
    const s = platform('owner-registry', 'BUS_ADDR');
    const b = s.design.bind(s.env, 'nic0');
    expect(b.owner).toBe(s.owner);
    expect(b.owner).toBeDefined();
    expect(b.hook).toBeNull();
    expect(b.dmaTarget(s.inWindow)).toBe(barOf(s.gpu, s.inWindow));
    expect(s.design.counters).toMatchObject({
      mapTypeQueries: 1,
      p2pPages: 1,
      fallbackPages: 0,
      windowMisses: 0,
    });
    // No alias struct pages: dma_map_resource of the BAR address.
    expect(s.gpu.aliasPagesCreated).toBe(0);
  });

  it('RAM pages map as they are; a device-private page of a GPU outside the environment is -EINVAL', () => {
    const s = platform('owner-registry', 'BUS_ADDR');
    const b = s.design.bind(s.env, 'nic0');
    expect(b.dmaTarget(s.ram)).toBe(s.ram);
    expect(b.dmaTarget(s.foreign)).toBe(-EINVAL);
    expect(s.design.counters.p2pPages).toBe(0);
  });

  it('a page outside a small BAR has no BAR address: -ENOMEM, counted as a window miss and a fallback', () => {
    const s = platform('owner-registry', 'BUS_ADDR', 2 * MiB);
    const b = s.design.bind(s.env, 'nic0');
    expect(b.dmaTarget(s.outOfWindow)).toBe(-ENOMEM);
    expect(b.dmaTarget(s.inWindow)).toBe(barOf(s.gpu, s.inWindow));
    expect(s.design.counters).toMatchObject({ p2pPages: 1, fallbackPages: 1, windowMisses: 1 });
  });

  it('a client without a path to a member gets no owner: hmm_range_fault faults the pages to RAM', () => {
    const s = platform('owner-registry', 'NOT_SUPPORTED');
    const b = s.design.bind(s.env, 'nic0');
    expect(b.owner).toBeNull();
    expect(b.hook).toBeNull();
    expect(b.dmaTarget(s.inWindow)).toBe(s.inWindow);
  });

  it('drm_pagemap_acquire_owner: a GPU joins a group only if it reaches every member, both ways', () => {
    const d = new OwnerRegistryDesign();
    // g0 and g1 reach each other; g2 reaches g0 both ways but not g1; g3 reaches g0 and g1,
    // but they do not reach g3.
    const reach = new Set(['g0>g1', 'g1>g0', 'g2>g0', 'g0>g2', 'g3>g0', 'g3>g1']);
    const connectivity = {
      mapType: (): P2pMapType => 'BUS_ADDR',
      peerReachable: (a: string, b: string) => reach.has(`${a}>${b}`),
    };
    const [o0, o1, o2, o3] = ['g0', 'g1', 'g2', 'g3'].map((g) => d.gpuOwner(g, { connectivity }));
    expect(o1).toBe(o0);
    expect(o2).not.toBe(o0);
    expect(o3).not.toBe(o0);
    expect(o3).not.toBe(o2);
  });

  it('a client joins the group of the GPUs it is bound over; members outside its environment do not count', () => {
    const d = new OwnerRegistryDesign();
    // gpuA and gpuB cannot reach each other: two owner groups, gpuA's first. gpuC joins gpuB's.
    const connectivity = {
      mapType: (): P2pMapType => 'BUS_ADDR',
      peerReachable: (a: string, b: string) => a !== 'gpuA' && b !== 'gpuA',
    };
    const tokenA = d.gpuOwner('gpuA', { connectivity });
    const tokenB = d.gpuOwner('gpuB', { connectivity });
    expect(tokenB).not.toBe(tokenA);
    expect(d.gpuOwner('gpuC', { connectivity })).toBe(tokenB);
    const m = new Machine({ ramBytes: 64 * MiB, dmirrorDevices: false, hugetlbPages: 0 });
    const gpuB = m.addGpu({ name: 'gpuB', vram: 4 * MiB, bar: 4 * MiB, owner: tokenB });
    const b = d.bind({ kernel: m.kernel, gpus: [gpuB], connectivity }, 'nic0');
    expect(b.owner).toBe(tokenB);
  });

  it('GPUs that never asked for an owner (a bare design test) join groups when a client binds, by the same rule', () => {
    const d = new OwnerRegistryDesign();
    const m = new Machine({ ramBytes: 64 * MiB, dmirrorDevices: false, hugetlbPages: 0 });
    const gpus = ['g0', 'g1', 'g2'].map((name) => m.addGpu({ name, vram: 4 * MiB, bar: 4 * MiB }));
    const pairs: Record<string, P2pMapType> = {
      'g0:nic0': 'BUS_ADDR',
      'g1:nic0': 'BUS_ADDR',
      'g0:nic1': 'BUS_ADDR',
      'g2:nic2': 'BUS_ADDR',
    };
    const connectivity = {
      mapType: (p: string, c: string): P2pMapType => pairs[`${p}:${c}`] ?? 'NOT_SUPPORTED',
      // g2 has no interconnect with the others: a group of its own.
      peerReachable: (a: string, b: string) => a !== 'g2' && b !== 'g2',
    };
    const env = { kernel: m.kernel, gpus, connectivity };
    // nic1 has no path to g1: no owner.
    expect(d.bind(env, 'nic1').owner).toBeNull();
    const first = d.bind(env, 'nic0').owner;
    expect(first).not.toBeNull();
    expect(first).toBeDefined();
    // A second client that reaches them joins the same owner; a GPU asking later finds it too.
    expect(d.bind(env, 'nic0').owner).toBe(first);
    expect(d.gpuOwner('g1', { connectivity })).toBe(first);
    expect(d.bind(env, 'nic1').owner).toBeNull();
    // nic2 reaches only g2, which formed its own group.
    const own = d.bind(env, 'nic2').owner;
    expect(own).not.toBeNull();
    expect(own).not.toBe(first);
    expect(d.gpuOwner('g2', { connectivity })).toBe(own);
  });
});

describe('device-private-flag: the caller resolves HMM_PFN_DEVICE_PRIVATE pfns', () => {
  it('hmm_range_fault reports a known GPU page as it is; an unknown device faults', () => {
    const s = platform('device-private-flag', 'BUS_ADDR');
    const b = s.design.bind(s.env, 'nic0');
    expect(b.owner).toBeNull();
    expect(ask(b.hook!, s.inWindow)).toBe(s.inWindow);
    expect(ask(b.hook!, s.foreign)).toBe(HMM_P2P_FAULT);
    expect(s.design.counters.callbacks).toBe(0);
  });

  it('dmaTarget asks the owning driver for the BAR page: one query per page, one map type per GPU', () => {
    const s = platform('device-private-flag', 'BUS_ADDR');
    const b = s.design.bind(s.env, 'nic0');
    expect(b.dmaTarget(s.inWindow)).toBe(barOf(s.gpu, s.inWindow));
    expect(b.dmaTarget(s.inWindow + 1)).toBe(barOf(s.gpu, s.inWindow) + 1);
    expect(s.design.counters).toMatchObject({
      callbacks: 2,
      mapTypeQueries: 1,
      p2pPages: 2,
      fallbackPages: 0,
    });
    expect(s.gpu.aliasPagesCreated).toBe(0);
  });

  it('RAM pages map as they are; a device-private page of an unknown GPU is -EINVAL', () => {
    const s = platform('device-private-flag', 'BUS_ADDR');
    const b = s.design.bind(s.env, 'nic0');
    expect(b.dmaTarget(s.ram)).toBe(s.ram);
    expect(b.dmaTarget(s.foreign)).toBe(-EINVAL);
    expect(s.design.counters).toMatchObject({ callbacks: 0, p2pPages: 0, fallbackPages: 0 });
  });

  it('with no path (NOT_SUPPORTED) dmaTarget is -EINVAL and the page falls back to RAM', () => {
    const s = platform('device-private-flag', 'NOT_SUPPORTED');
    const b = s.design.bind(s.env, 'nic0');
    expect(b.dmaTarget(s.inWindow)).toBe(-EINVAL);
    expect(b.dmaTarget(s.inWindow + 1)).toBe(-EINVAL);
    expect(s.design.counters).toMatchObject({
      callbacks: 2,
      mapTypeQueries: 1,
      p2pPages: 0,
      fallbackPages: 2,
      windowMisses: 0,
    });
  });

  it('a page outside a small BAR is -ENOMEM, a window miss and a fallback', () => {
    const s = platform('device-private-flag', 'BUS_ADDR', 2 * MiB);
    const b = s.design.bind(s.env, 'nic0');
    expect(b.dmaTarget(s.outOfWindow)).toBe(-ENOMEM);
    expect(b.dmaTarget(s.inWindow)).toBe(barOf(s.gpu, s.inWindow));
    expect(s.design.counters).toMatchObject({ callbacks: 2, p2pPages: 1, fallbackPages: 1, windowMisses: 1 });
  });
});
