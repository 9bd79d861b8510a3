import { describe, expect, it } from 'vitest';
import { gpuMemRegionBytes } from '../drivers/gpu.js';
import { PAGE_SIZE } from '../kernel/constants.js';
import { deviceRegionsEndPfn, Kernel, MAX_PHYS_PFN } from '../kernel/kernel.js';
import { loadScenario } from '../scenario/load.js';
import { ConfigError, configProfile, parseConfig, type SimConfig, type SimConfigInput } from './config.js';
import { type CostProfile, getProfile, withOverrides } from './costs.js';
import { simulate } from './simulate.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const TiB = 2 ** 40;

const input: SimConfigInput = {
  version: 1,
  profile: 'pcie4-a100',
  platform: { ram: '256MiB' },
  devices: { gpus: [{ name: 'gpu0', vram: '64MiB', bar: '32MiB' }] },
  buffers: [{ name: 'b', size: '4MiB' }],
  workloads: [{ kind: 'cpu', name: 'w', buffer: 'b', op: 'write', pattern: 'sequential', start: '1us' }],
  events: [{ kind: 'unplug', name: 'u', gpu: 'gpu0', mode: 'safe', after: 'w' }],
};

describe('parseConfig: a configuration built in code goes through the scenario schema', () => {
  it("gives the file's keys, sizes and durations as numbers", () => {
    const c = parseConfig(input);
    expect(c.platform?.ram).toBe(256 * MiB);
    expect(c.devices?.gpus?.[0]).toEqual({ name: 'gpu0', vram: 64 * MiB, bar: 32 * MiB });
    expect(c.buffers[0]!.size).toBe(4 * MiB);
    expect(c.workloads[0]!.start).toBe(1000);
  });

  it('is what loading the same scenario as a file gives, and parsing its output again changes nothing', () => {
    const text = `version: 1
profile: pcie4-a100
platform: { ram: 256MiB }
devices: { gpus: [{ name: gpu0, vram: 64MiB, bar: 32MiB }] }
buffers: [{ name: b, size: 4MiB }]
workloads: [{ kind: cpu, name: w, buffer: b, op: write, pattern: sequential, start: 1us }]
events: [{ kind: unplug, name: u, gpu: gpu0, mode: safe, after: w }]
`;
    const r = loadScenario(text, 's.yaml');
    if (!r.ok) throw new Error('does not load');
    const c = parseConfig(input);
    expect(r.config).toEqual(c);
    expect(parseConfig(c)).toEqual(c);
    expect(JSON.stringify(simulate(c, { seed: 1 }))).toBe(JSON.stringify(simulate(input, { seed: 1 })));
  });

  it('throws ConfigError listing every problem with its path, in the loader words', () => {
    let err: unknown;
    try {
      parseConfig({
        ...input,
        buffers: [{ name: 'b', size: '4MB' }],
        workloads: [{ kind: 'gpu', name: 'w', gpu: 'gpu9', buffer: 'b', op: 'read', pattern: 'sequential' }],
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.issues).toEqual([
      {
        path: ['buffers', 0, 'size'],
        message: expect.stringMatching(/^expected a size .*found '4MB' \(did you mean '4MiB'\?\)$/),
      },
    ]);
    expect(e.message).toMatch(/^buffers\[0\]\.size: expected a size/);
    // Once every part is valid, the cross-references are checked.
    expect(() =>
      parseConfig({
        ...input,
        workloads: [{ kind: 'gpu', name: 'w', gpu: 'gpu9', buffer: 'b', op: 'read', pattern: 'sequential' }],
      }),
    ).toThrow(/^workloads\[0\]\.gpu: no GPU named 'gpu9'/);
    expect(() => parseConfig({ ...input, version: undefined } as unknown as SimConfigInput)).toThrow(
      /^version: missing required key 'version'/,
    );
  });

  it('takes a CostProfile object as the profile (files name one), and checks it', () => {
    const mine = withOverrides(getProfile('pcie5-h100'), { cpuSocketInterconnectBandwidth: 0 }).profile!;
    const c = parseConfig({ ...input, profile: mine });
    expect(configProfile(c)).toBe(mine);
    // The profile object's own values decide what the machine may have: here one CPU socket.
    expect(() =>
      parseConfig({
        ...input,
        profile: mine,
        devices: { gpus: [{ name: 'gpu0', vram: '64MiB', socket: 1 }] },
      }),
    ).toThrow(/^devices\.gpus\[0\]\.socket: profile 'pcie5-h100' has one CPU socket/);
    const broken: CostProfile = { ...mine, values: { ...mine.values, faultBatchSize: 0 } };
    expect(() => parseConfig({ ...input, profile: broken })).toThrow(
      /^profile: cost profile 'pcie5-h100': faultBatchSize/,
    );
    expect(() => parseConfig({ ...input, profile: 7 } as unknown as SimConfigInput)).toThrow(
      /^profile: expected one of .* or a CostProfile object, found 7/,
    );
  });

  it('configProfile applies the overrides, and refuses a profile file that was not read', () => {
    const c: SimConfig = parseConfig({ ...input, overrides: { faultBatchSize: 64 } });
    expect(configProfile(c).values.faultBatchSize).toBe(64);
    const file = parseConfig({ ...input, profile: './mine.yaml' });
    expect(() => configProfile(file)).toThrow(ConfigError);
    expect(() => simulate(file, { seed: 1 })).toThrow(
      /^profile: profile '\.\/mine\.yaml' is a file: read it first/,
    );
  });
});

describe("the physical layout: the schema's check and the kernel place regions alike", () => {
  it('deviceRegionsEndPfn is where requestFreeMemRegion leaves its cursor', () => {
    const ram = 3 * GiB + 5 * PAGE_SIZE;
    const regions = [...gpuMemRegionBytes(64 * MiB + 123, 32 * MiB), ...gpuMemRegionBytes(6 * MiB, 1)];
    const k = new Kernel({ ramBytes: ram, thp: 'never', hugetlbPages: 0 });
    const starts = regions.map((b) => k.requestFreeMemRegion(b));
    // The next region starts where the layout says the last one ends.
    expect(k.requestFreeMemRegion(PAGE_SIZE)).toBe(deviceRegionsEndPfn(ram, regions));
    expect(starts[0]).toBe(deviceRegionsEndPfn(ram, []));
    expect(starts[1]).toBe(deviceRegionsEndPfn(ram, regions.slice(0, 1)));
  });

  it('a machine whose RAM, VRAM and BARs do not fit the model is refused at the last GPU', () => {
    const gpus = Array.from({ length: 8 }, (_, i) => ({ name: `gpu${i}`, vram: TiB }));
    const big = { ...input, platform: { ram: 8 * TiB - PAGE_SIZE }, devices: { gpus }, events: undefined };
    expect(
      deviceRegionsEndPfn(
        8 * TiB - PAGE_SIZE,
        gpus.flatMap((g) => gpuMemRegionBytes(g.vram)),
      ),
    ).toBeGreaterThan(MAX_PHYS_PFN);
    expect(() => parseConfig(big)).toThrow(
      /^devices\.gpus\[7\]\.vram: RAM plus every GPU's VRAM and BAR need 24TiB of physical address space; the model has 16TiB/,
    );
    expect(() => parseConfig({ ...big, devices: { gpus: gpus.slice(0, 3) } })).not.toThrow();
  });

  it("counts the two test_hmm mirrors' first chunks the machine always makes before any GPU", () => {
    // The reviewer's case: it fits without the mirrors' 512 MiB and not with them. Before, the
    // schema passed it and building the platform died with a model bug.
    const MiBs = (n: number) => n * MiB;
    const gpus = Array.from({ length: 8 }, (_, i) => ({
      name: `gpu${i}`,
      vram: i < 7 ? TiB : MiBs(1048064),
      bar: 2 * MiB,
    }));
    const ram = MiBs(8388607);
    const gpuRegions = gpus.flatMap((g) => gpuMemRegionBytes(g.vram, g.bar));
    expect(deviceRegionsEndPfn(ram, gpuRegions)).toBeLessThan(MAX_PHYS_PFN);
    expect(deviceRegionsEndPfn(ram, [256 * MiB, 256 * MiB, ...gpuRegions])).toBeGreaterThanOrEqual(
      MAX_PHYS_PFN,
    );
    expect(() => parseConfig({ ...input, platform: { ram }, devices: { gpus }, events: undefined })).toThrow(
      /^devices\.gpus\[7\]\.vram: RAM plus every GPU's VRAM and BAR need/,
    );
  });

  it('request_free_mem_region with no room left gives -ERANGE and takes nothing', () => {
    const k = new Kernel({ ramBytes: GiB, thp: 'never', hugetlbPages: 0 });
    const before = k.requestFreeMemRegion(PAGE_SIZE);
    expect(k.requestFreeMemRegion(MAX_PHYS_PFN * PAGE_SIZE)).toBe(-34);
    expect(k.requestFreeMemRegion(PAGE_SIZE)).toBeGreaterThan(before);
  });
});
