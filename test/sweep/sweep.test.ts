import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  formatScenarioError,
  loadScenario,
  type PreparedScenario,
  prepareScenario,
} from '../../src/scenario/index.js';
import { compareRow } from '../../src/sim/compare.js';
import { simulate } from '../../src/sim/simulate.js';
import { readRecorded } from '../../src/store/recorded.js';
import {
  expandSweep,
  loadSweepFile,
  parseSweep,
  progressReporter,
  runSweep,
  type Sweep,
  type SweepPoint,
} from '../../src/sweep/index.js';
import { pointScenarioText, pointSets } from '../../src/sweep/run.js';
import { tinyGpu } from '../fixtures/scenarios.js';

const MiB = 2 ** 20;

const TINY = tinyGpu();

function tiny(): PreparedScenario {
  const r = prepareScenario(TINY, 'tiny.yaml');
  if (!r.ok) throw new Error(r.errors.map(formatScenarioError).join('\n'));
  return r.base;
}

function sweepOf(text: string): Sweep {
  const r = parseSweep(text, 'sweep.yaml');
  if (!r.ok) throw new Error(r.errors.map(formatScenarioError).join('\n'));
  return r.sweep;
}

/** The points of a sweep text over `base`, failing the test on an error. */
function expand(text: string, base: PreparedScenario = tiny(), baseSeed?: number): SweepPoint[] {
  const r = expandSweep(sweepOf(text), base, { baseSeed });
  if (!r.ok) throw new Error(r.errors.map(formatScenarioError).join('\n'));
  return r.points;
}

/** The errors of a sweep text over `base`, as printed, positions in 'sweep.yaml'. */
function expandErrors(text: string, base: PreparedScenario = tiny()): string[] {
  const parsed = parseSweep(text, 'sweep.yaml');
  if (!parsed.ok) throw new Error(parsed.errors.map(formatScenarioError).join('\n'));
  const r = expandSweep(parsed.sweep, base, { errorAt: parsed.errorAt });
  if (r.ok) throw new Error('expected errors');
  return r.errors.map(formatScenarioError);
}

describe('expandSweep', () => {
  it('runs designs x grid x seeds, designs outermost, first grid key slowest, seeds innermost', () => {
    const text = `
version: 1
scenario: s.yaml
designs: [upstream, pagemap-p2p]
seeds: [1, 2]
grid:
  "gpus.0.faultBatchSize": [64, 256]
  "buffers.buf.hugepage": [false, true]
`;
    const base = tiny();
    const data = structuredClone(base.parsed.data);
    const points = expand(text, base);
    expect(points).toHaveLength(2 * 2 * 2 * 2);
    expect(points.map((p) => p.index)).toEqual([...Array(16).keys()]);
    expect(
      points
        .slice(0, 5)
        .map((p) => [p.design, p.params['gpus.0.faultBatchSize'], p.params['buffers.buf.hugepage'], p.seed]),
    ).toEqual([
      ['upstream', 64, false, 1],
      ['upstream', 64, false, 2],
      ['upstream', 64, true, 1],
      ['upstream', 64, true, 2],
      ['upstream', 256, false, 1],
    ]);
    expect(points[8]!.design).toBe('pagemap-p2p');
    const p = points[15]!;
    expect(p.params).toEqual({
      design: 'pagemap-p2p',
      'gpus.0.faultBatchSize': 256,
      'buffers.buf.hugepage': true,
    });
    expect(p.config.design).toBe('pagemap-p2p');
    expect(p.config.devices!.gpus![0]!.faultBatchSize).toBe(256);
    expect(p.config.buffers[0]!.hugepage).toBe(true);
    // The base document is left alone.
    expect(base.parsed.data).toEqual(data);
    // Deterministic.
    expect(expand(text)).toEqual(points);
  });

  it('runs list points in file order, with per-point seeds, creating overrides and parsing sizes', () => {
    const points = expand(
      `
version: 1
scenario: s.yaml
list:
  - { "overrides.faultBatchSize": 64, design: rfc-callback }
  - { "buffers.0.bytes": 8MiB, seed: 7 }
`,
      tiny(),
      3,
    );
    expect(points.map((p) => [p.index, p.design, p.seed])).toEqual([
      [0, 'rfc-callback', 3],
      [1, 'upstream', 7],
    ]);
    expect(points[0]!.config.overrides).toEqual({ faultBatchSize: 64 });
    expect(points[1]!.config.buffers[0]!.size).toBe(8 * MiB);
    expect(points[1]!.params).toEqual({ 'buffers.0.bytes': '8MiB' });
  });

  it('without grid or list, runs the designs and seeds axes alone', () => {
    const points = expand('version: 1\nscenario: s.yaml\nseeds: [4, 5, 6]\n');
    expect(points.map((p) => p.seed)).toEqual([4, 5, 6]);
  });

  it('bounds a seed in list or grid as the seeds axis does, at its place', () => {
    expect(
      expandErrors('version: 1\nscenario: s.yaml\nlist:\n  - { seed: 100000000000000000000 }\n'),
    ).toEqual([
      'sweep.yaml:4:13: list[0].seed: expected a seed (an integer <= 9007199254740991), found 100000000000000000000',
    ]);
    expect(expandErrors('version: 1\nscenario: s.yaml\ngrid:\n  seed: [1, 1e30]\n')).toEqual([
      'sweep.yaml:4:9: grid.seed: expected a seed (an integer <= 9007199254740991), found 1e+30',
    ]);
    expect(expandErrors('version: 1\nscenario: s.yaml\ngrid:\n  seed: [-1]\n')).toEqual([
      'sweep.yaml:4:9: grid.seed: expected a seed (an integer >= 0), found -1',
    ]);
    expect(
      expand(`version: 1\nscenario: s.yaml\nlist:\n  - { seed: ${Number.MAX_SAFE_INTEGER} }\n`)[0]?.seed,
    ).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('names a path the scenario does not have, at its grid key or list entry', () => {
    expect(expandErrors('version: 1\nscenario: s.yaml\ngrid:\n  "gpus.0.faultBatchSise": [1]\n')).toEqual([
      "sweep.yaml:4:3: grid[\"gpus.0.faultBatchSise\"]: point 0 (gpus.0.faultBatchSise=1, seed=1): unknown key 'faultBatchSise' (did you mean 'faultBatchSize'?)",
    ]);
    expect(expandErrors('version: 1\nscenario: s.yaml\ngrid:\n  "gpus.1.vramBytes": [1]\n')).toEqual([
      'sweep.yaml:4:3: grid["gpus.1.vramBytes"]: point 0 (gpus.1.vramBytes=1, seed=1): no gpus.1 in the scenario (it has 1 item: gpus.0 to gpus.0 (gpu0))',
    ]);
    expect(
      expandErrors('version: 1\nscenario: s.yaml\nlist:\n  - { seed: 2 }\n  - { profile: 3 }\n'),
    ).toEqual([
      'sweep.yaml:5:7: list[1].profile: point 1 (profile=3, seed=1): expected one of pcie4-a100, pcie5-h100, gh200-c2c, uvmsmart-gtx1080ti or a profile file (a path ending in .yaml, like ./my-machine.yaml), found 3',
    ]);
  });

  it('checks each point with the scenario schema, naming the point', () => {
    expect(expandErrors('version: 1\nscenario: s.yaml\ngrid:\n  "gpus.0.faultBatchSize": [64, 0]\n')).toEqual(
      [
        'sweep.yaml:4:3: grid["gpus.0.faultBatchSize"]: point 1 (gpus.0.faultBatchSize=0, seed=1): expected an integer >= 1, found 0',
      ],
    );
    expect(
      expandErrors('version: 1\nscenario: s.yaml\nlist:\n  - { overrides.noSuchThing: 1 }\n')[0],
    ).toMatch(
      /^sweep\.yaml:4:7: list\[0\]\["overrides\.noSuchThing"\]: point 0 \(overrides\.noSuchThing=1, seed=1\): unknown cost parameter 'noSuchThing'/,
    );
    // A grid that crashed simulate() before: refused before anything runs.
    expect(expandErrors('version: 1\nscenario: s.yaml\ngrid:\n  cpuCores: [4, 0]\n')).toEqual([
      'sweep.yaml:4:3: grid.cpuCores: point 1 (cpuCores=0, seed=1): expected an integer >= 1, found 0',
    ]);
    // An error elsewhere in the scenario that a point caused: at its place in the scenario file.
    expect(
      expandErrors('version: 1\nscenario: s.yaml\ngrid:\n  "devices.gpus.gpu0.name": [gpu0, gpuX]\n')[0],
    ).toMatch(
      /^tiny\.yaml:8:\d+: workloads\[1\]\.gpu: no GPU named 'gpu0' .*\(with point 1 \(devices\.gpus\.gpu0\.name="gpuX", seed=1\) of the sweep sweep\.yaml:3:1\)$/,
    );
  });

  it('refuses a sweep of more points than the limit before building any', () => {
    const grid = `version: 1\nscenario: s.yaml\nseeds: [1, 2]\ngrid:\n  a: [${[...Array(400).keys()].join(', ')}]\n  b: [${[...Array(200).keys()].join(', ')}]\n`;
    expect(expandErrors(grid)).toEqual([
      'sweep.yaml:4:1: grid: the sweep has 160000 points; at most 100000 are allowed (split it into several sweep files)',
    ]);
  });

  it('gives the same runs for the file path and the SimConfig path of a value', () => {
    const file = expand(
      'version: 1\nscenario: s.yaml\ngrid:\n  "buffers.buf.size": [8MiB]\n  "devices.gpus.gpu0.vram": [32MiB]\n',
    );
    const sim = expand(
      'version: 1\nscenario: s.yaml\ngrid:\n  "buffers.0.bytes": [8388608]\n  "gpus.gpu0.vramBytes": [32MiB]\n',
    );
    expect(sim.map((p) => p.config)).toEqual(file.map((p) => p.config));
    expect(file[0]!.config.buffers[0]!.size).toBe(8 * MiB);
  });
});

describe('parseSweep', () => {
  it('reports errors as file:line:col: path: message', () => {
    const r = parseSweep(
      'version: 1\nscenario: s.yaml\ndesigns: [upstream, pagemap]\nseeds: [1]\ngrids:\n  a: [1]\nlist:\n  - { seed: 2 }\n',
      'sw.yaml',
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map(formatScenarioError)).toEqual([
      "sw.yaml:3:21: designs[1]: expected one of upstream, rfc-callback, pagemap-p2p, owner-registry, device-private-flag, found 'pagemap'",
      "sw.yaml:5:1: grids: unknown key 'grids' (did you mean 'grid'?)",
    ]);
    const axis = parseSweep('version: 1\nscenario: s.yaml\nseeds: [1]\nlist:\n  - { seed: 2 }\n', 'sw.yaml');
    expect(axis.ok ? [] : axis.errors.map(formatScenarioError)).toEqual([
      "sw.yaml:5:7: list[0].seed: 'seed' is already an axis (seeds): set it in one place",
    ]);
  });

  it('rejects a missing version, YAML errors and grid with list', () => {
    const fmt = (text: string) => {
      const r = parseSweep(text, 'f');
      return r.ok ? [] : r.errors.map(formatScenarioError);
    };
    expect(fmt('scenario: s.yaml\n')[0]).toMatch(/^f:1:1: missing required key 'version'/);
    expect(fmt('version: 1\nscenario: [\n')[0]).toMatch(/^f:\d+:\d+: YAML: /);
    expect(fmt('version: 1\nscenario: s\ngrid: { a: [1] }\nlist: [{ a: 1 }]\n')).toEqual([
      'f:4:7: list: give either grid or list, not both',
    ]);
  });
});

describe('loadSweepFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hmmlab-sweep-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the scenario relative to the sweep file and locates point errors in the sweep', async () => {
    writeFileSync(
      join(dir, 'tiny.yaml'),
      `version: 1
seed: 5
profile: pcie4-a100
platform: { ram: 256MiB }
devices: { gpus: [{ name: gpu0, vram: 64MiB }] }
buffers: [{ name: buf, size: 4MiB }]
workloads:
  - { kind: gpu, name: w, gpu: gpu0, buffer: buf, op: write, pattern: sequential }
`,
    );
    writeFileSync(
      join(dir, 'ok.yaml'),
      'version: 1\nscenario: ./tiny.yaml\ndesigns: [upstream, rfc-callback]\n',
    );
    const ok = await loadSweepFile(join(dir, 'ok.yaml'));
    expect(ok.ok && ok.points.map((p) => [p.design, p.seed])).toEqual([
      ['upstream', 5],
      ['rfc-callback', 5],
    ]);
    writeFileSync(
      join(dir, 'bad.yaml'),
      'version: 1\nscenario: tiny.yaml\ngrid:\n  "gpus.0.vramBytes": [1MiB]\n',
    );
    const bad = await loadSweepFile(join(dir, 'bad.yaml'));
    expect(bad.ok ? [] : bad.errors.map(formatScenarioError)).toEqual([
      `${join(dir, 'bad.yaml')}:4:3: grid["gpus.0.vramBytes"]: point 0 (gpus.0.vramBytes="1MiB", seed=5): expected a size of at least 2MiB, found '1MiB'`,
    ]);
    writeFileSync(join(dir, 'missing.yaml'), 'version: 1\nscenario: nope.yaml\n');
    const missing = await loadSweepFile(join(dir, 'missing.yaml'));
    expect(missing.ok ? '' : formatScenarioError(missing.errors[0]!)).toMatch(
      /:2:11: scenario: cannot read the scenario/,
    );
  });
});

describe('runSweep', () => {
  it('a sweep of 64 runs on 2 workers finishes, each run once, in index order, as in-process', async () => {
    const sweep = sweepOf(`
version: 1
scenario: s.yaml
designs: [upstream, pagemap-p2p]
seeds: [1, 2, 3, 4]
grid:
  "gpus.0.faultBatchSize": [32, 64, 128, 256]
  "buffers.0.hugepage": [false, true]
`);
    const r = expandSweep(sweep, tiny());
    if (!r.ok) throw new Error(r.errors.map(formatScenarioError).join('\n'));
    const points = r.points;
    expect(points).toHaveLength(64);
    const progress: number[] = [];
    const t0 = performance.now();
    const results = await runSweep(points, {
      jobs: 2,
      onProgress: (done, total) => progress.push(done / total),
    });
    const ms = performance.now() - t0;
    expect(results).toHaveLength(64);
    expect(results.map((r) => r.index)).toEqual([...Array(64).keys()]);
    expect(new Set(results.map((r) => r.index)).size).toBe(64);
    expect(progress).toHaveLength(64);
    expect(progress.at(-1)).toBe(1);
    for (const i of [0, 17, 63]) {
      const p = points[i]!;
      expect(results[i]!.result).toEqual(compareRow(simulate(p.config, { seed: p.seed })));
    }
    console.log(
      `64 runs on 2 workers: ${ms.toFixed(0)} ms wall, ${results.reduce((s, r) => s + r.ms, 0).toFixed(0)} ms in runs`,
    );
  }, 30_000);

  it('an empty sweep resolves at once; a failing run rejects', async () => {
    expect(await runSweep([])).toEqual([]);
    const bad = {
      index: 0,
      design: 'upstream' as const,
      seed: 1,
      params: {},
      config: { ...expand('version: 1\nscenario: s.yaml\n')[0]!.config, profile: 'nope' },
    };
    await expect(runSweep([bad], { jobs: 1 })).rejects.toThrow(/nope/);
  });
});

describe('sweep points as recorded overrides', () => {
  it('pointSets gives --set strings that loadScenario turns back into exactly the point config', () => {
    const sweep = sweepOf(`
version: 1
scenario: s.yaml
designs: [upstream, pagemap-p2p]
list:
  - { "gpus.0.faultBatchSize": 64, "buffers.0.hugepage": true }
  - { "gpus.0.vramBytes": "128MiB", "buffers.buf.bytes": 2097152, "ramBytes": "512MiB", seed: 9 }
  - { "workloads.read.pattern": "sequential", "gpus.gpu0.faultBatchSize": 7 }
`);
    const r = expandSweep(sweep, tiny());
    if (!r.ok) throw new Error(r.errors.map(formatScenarioError).join('\n'));
    const points = r.points;
    expect(points).toHaveLength(6);
    for (const p of points) {
      const sets = pointSets(p.params);
      expect(sets.some((x) => x.startsWith('design='))).toBe(false); // its own column
      const again = loadScenario(TINY, 'tiny.yaml', { sets });
      if (!again.ok) throw new Error(again.errors.map(formatScenarioError).join('\n'));
      expect({ ...again.config, design: p.design }).toEqual({ ...p.config, design: p.design });
      const rec = readRecorded(pointScenarioText('name: s\n', p), 'point');
      expect(rec.ok && rec.recorded.sets).toEqual(sets);
    }
    expect(
      pointSets({ design: 'upstream', 'gpus.0.vramBytes': '128MiB', 'buffers.0.hugepage': true }),
    ).toEqual(['gpus.0.vramBytes="128MiB"', 'buffers.0.hugepage=true']);
  });
});

describe('runSweep with onFailure', () => {
  it('a failing run fails alone: the others finish and are reported, in point order', async () => {
    const good = expand('version: 1\nscenario: s.yaml\nseeds: [1, 2, 3]\n');
    const bad = { ...good[1]!, index: 1, config: { ...good[1]!.config, profile: 'nope' } };
    const points = [good[0]!, bad, { ...good[2]!, index: 2 }];
    const finished: number[] = [];
    const failures: { index: number; error: string }[] = [];
    const results = await runSweep(points, {
      jobs: 1,
      onResult: (r) => finished.push(r.index),
      onFailure: (f) => failures.push(f),
    });
    expect(results.map((r) => r.index)).toEqual([0, 2]);
    expect(finished).toEqual([0, 2]); // --jobs 1 hands points out in order
    expect(failures).toHaveLength(1);
    expect(failures[0]!.index).toBe(1);
    expect(failures[0]!.error).toMatch(/nope/);
  });
});

describe('progressReporter', () => {
  it('is a no-op when stderr is not a terminal', () => {
    const writes: unknown[] = [];
    const stream = { isTTY: false, write: (s: unknown) => writes.push(s) } as unknown as NodeJS.WriteStream;
    const r = progressReporter(10, stream);
    r.update(5);
    r.stop();
    expect(writes).toEqual([]);
  });
});
