/**
 * Properties of the model stated as relations between runs (or between a run and its cost
 * profile), not as pinned numbers: each holds for any correct set of costs of its kind, so a
 * correct change in the model's numbers leaves them green, and each fails for a plausible bug
 * (named at the test, each checked by planting the bug and watching the test fail).
 */
import { describe, expect, it } from 'vitest';
import { DESIGN_NAMES, type DesignName } from '../designs/design.js';
import { getProfile, transferTimeNs } from './costs.js';
import { type SimConfigInput, type SimEvent, type SimResult, simulate } from './simulate.js';

const MiB = 2 ** 20;
const KiB = 1024;
const profile = getProfile('pcie5-h100');
const v = profile.values;

type Transfer = Extract<SimEvent, { kind: 'transfer' }>;
const transfers = (r: SimResult): Transfer[] =>
  (r.log ?? []).filter((e): e is Transfer => e.kind === 'transfer');
/** Time a copy took on its copy engine (from when it got the engine to its last byte). */
const copyNs = (t: Transfer) => t.endNs - t.ceStartNs;

/**
 * A copy-only stream: a GPU reads (or writes) a buffer in RAM that it maps remotely (placement
 * `remote`, zero-copy): nothing migrates, and the data crosses the GPU's link as host<->device
 * copies, H2D for reads and D2H for writes, one after the other. The two directions take the
 * same faults on the same pages and copy the same sizes: they differ only in the copies.
 */
function zeroCopyStream(op: 'read' | 'write', bytes = 16 * MiB): SimResult {
  return simulate(
    {
      version: 1,
      profile: 'pcie5-h100',
      placement: 'remote',
      platform: { ram: 256 * MiB },
      devices: { gpus: [{ name: 'gpu0', vram: 64 * MiB }] },
      buffers: [{ name: 'buf', size: bytes, hugepage: true, place: 'ram' }],
      workloads: [{ kind: 'gpu', name: 'stream', gpu: 'gpu0', buffer: 'buf', op, pattern: 'sequential' }],
    },
    { seed: 1, log: true },
  );
}

/**
 * A CPU reads a buffer that lives in VRAM: each CPU fault pulls its page back to RAM
 * (migrate_to_ram), a 4 KiB D2H copy each, one after the other.
 */
function cpuPullsBack(): SimResult {
  return simulate(
    {
      version: 1,
      profile: 'pcie5-h100',
      platform: { ram: 256 * MiB },
      devices: { gpus: [{ name: 'gpu0', vram: 64 * MiB }] },
      buffers: [{ name: 'buf', size: MiB, place: 'gpu0' }],
      workloads: [{ kind: 'cpu', name: 'check', buffer: 'buf', op: 'read', pattern: 'sequential' }],
    },
    { seed: 1, log: true },
  );
}

describe('host<->device copies', () => {
  const h2d = zeroCopyStream('read');
  const d2h = zeroCopyStream('write');

  // Kills: H2D and D2H bandwidths swapped in pciBandwidths (pci-fabric.ts), or in the profile.
  it('D2H is faster than H2D on pcie5-h100 (the profile measures 52.8 against 35.2 GB/s)', () => {
    expect(v.deviceToHostBandwidth).toBeGreaterThan(v.hostToDeviceBandwidth); // the premise
    const down = transfers(h2d);
    const up = transfers(d2h);
    // Same copies but for their direction; the same fault work in both runs.
    expect(down.length).toBeGreaterThan(0);
    expect(down.every((t) => t.dir === 'h2d')).toBe(true);
    expect(up.every((t) => t.dir === 'd2h')).toBe(true);
    expect(up.map((t) => t.bytes)).toEqual(down.map((t) => t.bytes));
    expect(d2h.devices.gpu0!.faultCpuNs).toBe(h2d.devices.gpu0!.faultCpuNs);
    // Each D2H copy is faster than the H2D copy of the same size, and so is the whole stream.
    up.forEach((t, i) => {
      expect(copyNs(t)).toBeLessThan(copyNs(down[i]!));
    });
    const stream = (r: SimResult) => r.workloads.stream!.endNs - r.workloads.stream!.startNs;
    expect(stream(d2h)).toBeLessThan(stream(h2d));
  });

  // Kills: bandwidths swapped in pciBandwidths; the copy's fixed part taken from the other
  // direction's peak in hostDeviceCopy (copy.ts); latency charged twice or not at all.
  it('an uncontended copy takes bytes / bandwidth + latency (transferTimeNs) within 0.1%', () => {
    const pulls = cpuPullsBack();
    const uneven = zeroCopyStream('read', 5 * MiB + 12 * KiB); // two 2 MiB copies and a smaller last one
    const all = [h2d, d2h, pulls, uneven].flatMap(transfers);
    const sizes = new Set(all.map((t) => `${t.dir} ${t.bytes}`));
    expect(sizes).toContain(`d2h ${4 * KiB}`);
    expect(sizes).toContain(`h2d ${MiB + 12 * KiB}`);
    expect(sizes).toContain(`h2d ${2 * MiB}`);
    expect(sizes).toContain(`d2h ${2 * MiB}`);
    for (const r of [h2d, d2h, pulls, uneven]) {
      // The premise: the run's copies never overlap, so none shares a link with another.
      const ts = transfers(r).sort((a, b) => a.ceStartNs - b.ceStartNs);
      for (let i = 1; i < ts.length; i++) expect(ts[i]!.ceStartNs).toBeGreaterThanOrEqual(ts[i - 1]!.endNs);
    }
    for (const t of all) {
      const bw = t.dir === 'h2d' ? v.hostToDeviceBandwidth : v.deviceToHostBandwidth;
      const expected = t.bytes / bw + v.dmaSetupLatencyNs;
      // The profile's transfer model is that formula on this latency-bandwidth profile.
      expect(transferTimeNs(profile, t.bytes, t.dir === 'h2d' ? 'hostToDevice' : 'deviceToHost')).toBeCloseTo(
        expected,
        6,
      );
      expect(Math.abs(copyNs(t) - expected) / expected).toBeLessThan(0.001);
    }
  });
});

describe('a GPU workload accounts for its time once', () => {
  // Kills: a zero-copy or peer copy waited for (yield*) and then waited for again as compute.
  it('a zero-copy stream lasts its fault stalls plus its compute and copy time, no more', () => {
    for (const op of ['read', 'write'] as const) {
      const r = zeroCopyStream(op);
      const w = r.workloads.stream!;
      const copies = transfers(r).reduce((sum, t) => sum + (t.endNs - t.t), 0);
      expect(copies).toBeGreaterThan(0);
      // The workload's time is its fault stalls and its compute time, which includes the copies.
      expect(w.endNs - w.startNs).toBeCloseTo(r.devices.gpu0!.stallNs + w.computeNs, 0);
      expect(w.computeNs).toBeGreaterThanOrEqual(copies);
    }
  });
});

describe('P2P against a path through RAM', () => {
  /**
   * The NIC RDMA-writes a buffer that lives in the GPU's VRAM (a GPU kernel wrote it), then a
   * GPU kernel reads it: a peer pushes data in for the GPU to use. BUS_ADDR puts the NIC and the
   * GPU under one switch (defaultPciSpec), so the P2P write turns at the switch.
   */
  const pushThenUse = (design: DesignName, messageSize: number, queueDepth: number): SimResult => {
    const bytes = 8 * MiB;
    const config: SimConfigInput = {
      version: 1,
      profile: 'pcie5-h100',
      design,
      platform: { ram: 256 * MiB, p2p: { default: 'BUS_ADDR' } },
      devices: { gpus: [{ name: 'gpu0', vram: 64 * MiB }], nics: [{ name: 'nic0' }] },
      buffers: [{ name: 'buf', size: bytes, hugepage: true }],
      workloads: [
        { kind: 'gpu', name: 'fill', gpu: 'gpu0', buffer: 'buf', op: 'write', pattern: 'sequential' },
        {
          kind: 'rdma',
          name: 'push',
          nic: 'nic0',
          buffer: 'buf',
          op: 'write',
          pattern: 'sequential',
          messageSize,
          messages: bytes / messageSize,
          queueDepth,
          after: 'fill',
        },
        {
          kind: 'gpu',
          name: 'use',
          gpu: 'gpu0',
          buffer: 'buf',
          op: 'read',
          pattern: 'sequential',
          after: 'push',
        },
      ],
    };
    return simulate(config, { seed: 1 });
  };

  /**
   * The metric is the time to deliver the data to its consumer: from the start of the RDMA
   * write to the end of the GPU's read of the buffer. That is what makes "P2P is never slower"
   * true. The P2P write crosses nic0.up and gpu0.down (turning at the switch); the way through
   * RAM crosses nic0.up into host memory, and gpu0.down only when the GPU pulls the pages back
   * (plus gpu0.up when the NIC's fault first pulls them out of VRAM). Measured to the same end,
   * the data in VRAM, the way through RAM crosses every link the P2P path crosses and more, so
   * it cannot be faster. The RDMA write's own time or bandwidth is not such a metric: a write
   * into RAM ends when the bytes are in RAM and leaves its second leg to the GPU's next access,
   * so it can beat a P2P write whose GPU link is slower than the NIC's.
   *
   * Kills: the map-type cache ignored (p2pdmaMapTypeUncachedNs charged per P2P page in
   * nic-fault.ts); BUS_ADDR traffic sent up through the root complex (nicPath), which breaks the
   * premise that both ways cross the same links.
   */
  it('P2P delivers data into the GPU no slower than migration through RAM, for every P2P design', () => {
    const delivery = (r: SimResult) => r.workloads.use!.endNs - r.workloads.push!.startNs;
    const p2pDesigns = DESIGN_NAMES.filter((d) => d !== 'upstream');
    for (const [messageSize, queueDepth] of [
      [4 * KiB, 1],
      [64 * KiB, 4],
      [MiB, 8],
    ] as const) {
      const ram = pushThenUse('upstream', messageSize, queueDepth);
      expect(ram.nics.nic0!.p2pPages).toBe(0);
      for (const design of p2pDesigns) {
        const p2p = pushThenUse(design, messageSize, queueDepth);
        const what = `${design}, ${messageSize}-byte messages, ${queueDepth} in flight`;
        expect(p2p.nics.nic0!.p2pPages, what).toBe((8 * MiB) / 4096);
        // The premise: every link the P2P run used, the run through RAM used for as many bytes
        // (a link's byte count is a sum of rate x time, exact only to rounding: 1e-9 relative).
        for (const [name, l] of Object.entries(p2p.links)) {
          if (l.bytes === 0) continue;
          expect(ram.links[name]?.bytes ?? 0, `${what}: ${name}`).toBeGreaterThanOrEqual(
            l.bytes * (1 - 1e-9),
          );
        }
        expect(delivery(p2p), what).toBeLessThanOrEqual(delivery(ram));
      }
    }
  });
});

describe('one migration cost model on every path', () => {
  /**
   * A THP-backed buffer the CPU wrote, then faulted into VRAM by a GPU (each 2 MiB folio moves
   * whole: one migrate_vma call of one entry), then pulled back to RAM by `back`.
   */
  const thereAndBack = (back: 'cpu' | 'nic'): SimResult => {
    const bytes = 8 * MiB;
    const config: SimConfigInput = {
      version: 1,
      profile: 'pcie5-h100',
      platform: { ram: 256 * MiB },
      devices: { gpus: [{ name: 'gpu0', vram: 64 * MiB }], nics: [{ name: 'nic0' }] },
      buffers: [{ name: 'buf', size: bytes, hugepage: true, place: 'ram' }],
      workloads: [
        { kind: 'gpu', name: 'in', gpu: 'gpu0', buffer: 'buf', op: 'read', pattern: 'sequential' },
        back === 'cpu'
          ? { kind: 'cpu', name: 'out', buffer: 'buf', op: 'read', pattern: 'sequential', after: 'in' }
          : {
              kind: 'rdma',
              name: 'out',
              nic: 'nic0',
              buffer: 'buf',
              op: 'read',
              pattern: 'sequential',
              messageSize: 64 * KiB,
              messages: bytes / (64 * KiB),
              queueDepth: 1,
              after: 'in',
            },
      ],
    };
    return simulate(config, { seed: 1, log: true });
  };
  const phase = (e: { phases: [string, number][] }, name: string) =>
    e.phases.filter(([n]) => n === name).reduce((s, [, ns]) => s + ns, 0);
  type Batch = Extract<SimEvent, { kind: 'batch' }>;
  type CpuFault = Extract<SimEvent, { kind: 'cpu_fault' }>;
  type NicFault = Extract<SimEvent, { kind: 'nic_fault' }>;
  type Ioctl = Extract<SimEvent, { kind: 'dmirror_ioctl' }>;
  const batches = (r: SimResult) => (r.log ?? []).filter((e): e is Batch => e.kind === 'batch');
  const folios = 4; // 8 MiB of 2 MiB folios

  /** The GPU fault path's charge for one THP moved whole into VRAM (one call, one entry). */
  const intoVram = (r: SimResult): number => {
    const b = batches(r).filter((e) => e.pagesToVram > 0);
    const migrate = b.reduce((s, e) => s + phase(e, 'migrate_vma'), 0);
    expect(r.devices.gpu0!.pagesToVram).toBe((folios * 2 * MiB) / 4096);
    return migrate / folios;
  };

  // Kills: migrate_to_ram of a CPU fault charged per 4 KiB page (Platform.migratedToRam), or its
  // entries left for the GPU's next fault pass; the copy of a THP coming back cut to 4 KiB.
  it('a THP moved into VRAM by a GPU fault and back by a CPU fault costs the same per entry both ways', () => {
    const r = thereAndBack('cpu');
    const perFolioIn = intoVram(r);
    // All the CPU's fault time is at most its fault entries, the migrations at the cost they
    // had going in, and every GPU invalidation of the run.
    const gpu = r.devices.gpu0!;
    const invalidations =
      gpu.invalidations * v.mmuNotifierInvalidateNs + gpu.tlbInvalidations * v.gpuTlbInvalidationNs;
    const w = r.workloads.out!;
    expect(w.faultNs).toBeLessThanOrEqual(
      w.cpuFaults * v.cpuFaultEntryNs + folios * perFolioIn + invalidations,
    );
    const faults = (r.log ?? []).filter(
      (e): e is CpuFault => e.kind === 'cpu_fault' && phase(e, 'migrate_to_ram') > 0,
    );
    // One CPU fault per folio (do_huge_pmd_device_private: the whole folio comes back).
    expect(faults).toHaveLength(folios);
    for (const f of faults) expect(phase(f, 'migrate_to_ram')).toBe(perFolioIn);
    // The copies differ only in direction: 2 MiB each way.
    const t = transfers(r);
    expect(t.filter((x) => x.dir === 'h2d').map((x) => x.bytes)).toEqual(new Array(folios).fill(2 * MiB));
    expect(t.filter((x) => x.dir === 'd2h').map((x) => x.bytes)).toEqual(new Array(folios).fill(2 * MiB));
  });

  // Kills: a NIC fault's migrate_to_ram charged per 4 KiB page of its copies (nic-fault.ts).
  it('a THP moved into VRAM by a GPU fault and back by a NIC fault costs the same per entry both ways', () => {
    const r = thereAndBack('nic');
    const perFolioIn = intoVram(r);
    const faults = (r.log ?? []).filter(
      (e): e is NicFault => e.kind === 'nic_fault' && phase(e, 'migrate_to_ram') > 0,
    );
    expect(faults.length).toBeGreaterThan(0);
    const back = faults.reduce((s, f) => s + phase(f, 'migrate_to_ram'), 0);
    expect(r.devices.gpu0!.bytesToRam).toBe(folios * 2 * MiB);
    expect(back).toBe(folios * perFolioIn);
    for (const f of faults) expect(phase(f, 'migrate_to_ram') % perFolioIn).toBe(0);
  });

  // Kills: the dmirror workload charging migrateVmaPerEntryNs per page of `cpages` (512 for a
  // THP going to the device, 1 coming back) instead of per migrate entry.
  it('a THP moved by dmirror MIGRATE and back by MIGRATE_TO_SYS costs per entry what the GPU path charges', () => {
    const gpuPerFolio = intoVram(thereAndBack('cpu'));
    const r = simulate(
      {
        version: 1,
        profile: 'pcie5-h100',
        platform: { ram: 256 * MiB },
        devices: { dmirrors: [{ name: 'dm0', minor: 0 }] },
        buffers: [{ name: 'buf', size: 8 * MiB, hugepage: true, place: 'ram' }],
        workloads: [
          {
            kind: 'dmirror',
            name: 'in',
            dmirror: 'dm0',
            buffer: 'buf',
            op: 'migrate',
            pattern: 'sequential',
          },
          {
            kind: 'dmirror',
            name: 'out',
            dmirror: 'dm0',
            buffer: 'buf',
            op: 'migrate-to-ram',
            pattern: 'sequential',
            after: 'in',
          },
        ],
      },
      { seed: 1, log: true },
    );
    // Going in copies twice (the migration and test_hmm's read-back of the migrated data),
    // coming back once; the migrate work is the same: going in takes at most twice as long.
    expect(r.workloads.in!.faultNs).toBeLessThanOrEqual(2 * r.workloads.out!.faultNs);
    const ioctls = (r.log ?? []).filter((e): e is Ioctl => e.kind === 'dmirror_ioctl');
    // One 2 MiB ioctl per folio each way (the default ioctlSize), test_hmm's cpages as it counts.
    expect(ioctls.map((e) => [e.op, e.cpages])).toEqual([
      ...new Array(folios).fill(['migrate', 512]),
      ...new Array(folios).fill(['migrate-to-ram', 1]),
    ]);
    for (const e of ioctls) expect(phase(e, 'migrate_vma')).toBe(gpuPerFolio);
  });
});

describe('THP mode and chunk sizes reach the result', () => {
  /** A CPU writes a THP-eligible buffer (or the GPU writes it first), then a GPU reads it into VRAM. */
  const run = (o: { thp?: 'always' | 'madvise' | 'never'; chunkSizes?: string[]; gpuFirst?: boolean }) =>
    simulate(
      {
        version: 1,
        profile: 'pcie5-h100',
        platform: { ram: 256 * MiB, ...(o.thp ? { thp: o.thp } : {}) },
        devices: {
          gpus: [{ name: 'gpu0', vram: 64 * MiB, ...(o.chunkSizes ? { chunkSizes: o.chunkSizes } : {}) }],
        },
        buffers: [{ name: 'buf', size: 8 * MiB, hugepage: true }],
        workloads: o.gpuFirst
          ? [{ kind: 'gpu', name: 'in', gpu: 'gpu0', buffer: 'buf', op: 'write', pattern: 'sequential' }]
          : [
              { kind: 'cpu', name: 'init', buffer: 'buf', op: 'write', pattern: 'sequential' },
              {
                kind: 'gpu',
                name: 'in',
                gpu: 'gpu0',
                buffer: 'buf',
                op: 'read',
                pattern: 'sequential',
                after: 'init',
              },
            ],
      } as SimConfigInput,
      { seed: 1 },
    );

  // Kills: platform.thp not reaching the kernel (Kernel.thp), or the GPU driver migrating 2 MiB
  // whole whatever the source folio is.
  it('thp: never makes the CPU-written buffer small pages: the GPU migrates 512 entries per 2 MiB, at a higher CPU cost', () => {
    const huge = run({ thp: 'madvise' });
    const small = run({ thp: 'never' });
    expect(small.devices.gpu0!.pagesToVram).toBe(huge.devices.gpu0!.pagesToVram);
    expect(small.devices.gpu0!.faultCpuNs).toBeGreaterThan(huge.devices.gpu0!.faultCpuNs * 2);
    expect(small.endNs).toBeGreaterThan(huge.endNs);
  });

  // Linux: migrate_vma_collect_hole collects an aligned 2 MiB hole as one compound entry when
  // thp_migration_supported() and the driver asks MIGRATE_VMA_SELECT_COMPOUND, and
  // migrate_vma_insert_huge_pmd_page checks only thp_vma_suitable_order (alignment), not the
  // sysfs THP mode: a buffer the GPU touches first becomes device THP even under thp: never.
  it('a GPU-first buffer becomes device THP whatever the THP mode (the sysfs mode is not read there)', () => {
    const never = run({ thp: 'never', gpuFirst: true });
    const madvise = run({ thp: 'madvise', gpuFirst: true });
    expect(never.devices.gpu0!.faultCpuNs).toBe(madvise.devices.gpu0!.faultCpuNs);
    expect(never.endNs).toBe(madvise.endNs);
  });

  // Kills: migrateToRam: 'chunk' ignored (Xe's __drm_pagemap_migrate_to_ram moves the devmem
  // allocation around the fault in one migrate_vma call; test_hmm and nouveau move one page).
  it("migrateToRam: 'chunk' brings a 64 KiB chunk back per CPU fault, 'folio' one 4 KiB page", () => {
    const back = (mode: 'folio' | 'chunk') =>
      simulate(
        {
          version: 1,
          profile: 'pcie5-h100',
          platform: { ram: 256 * MiB },
          devices: {
            gpus: [{ name: 'gpu0', vram: 64 * MiB, chunkSizes: ['64KiB', '4KiB'], migrateToRam: mode }],
          },
          buffers: [{ name: 'buf', size: 8 * MiB }],
          workloads: [
            { kind: 'gpu', name: 'in', gpu: 'gpu0', buffer: 'buf', op: 'write', pattern: 'sequential' },
            { kind: 'cpu', name: 'out', buffer: 'buf', op: 'read', pattern: 'sequential', after: 'in' },
          ],
        } as SimConfigInput,
        { seed: 1 },
      );
    const folio = back('folio');
    const chunk = back('chunk');
    const pages = (8 * MiB) / 4096;
    expect(folio.devices.gpu0!.cpuFaultPages).toBe(pages);
    expect(chunk.devices.gpu0!.cpuFaultPages).toBe(pages);
    expect(folio.workloads.out!.cpuFaults).toBe(pages);
    expect(chunk.workloads.out!.cpuFaults).toBe(pages / 16);
    expect(chunk.workloads.out!.faultNs).toBeLessThan(folio.workloads.out!.faultNs);
  });

  // Kills: a GPU's chunkSizes ignored by the driver (chunkFor).
  it('64 KiB / 4 KiB chunks (no device THP) cost more fault CPU time than 2 MiB chunks', () => {
    const thp = run({ gpuFirst: true });
    const small = run({ gpuFirst: true, chunkSizes: ['64KiB', '4KiB'] });
    expect(small.devices.gpu0!.faultCpuNs).toBeGreaterThan(thp.devices.gpu0!.faultCpuNs * 2);
  });
});
