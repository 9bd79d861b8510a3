/**
 * Overrides at the library level (issue #12): loadScenario(text, file, { sets }) applies them to
 * the document and validates the whole with the scenario schema; a scenario-file path and the
 * SimConfig path it translates to give the same config (and so the same run); input limits
 * (work guard, nesting depth, one document, encodings) with positions.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  applyOverride,
  DEFAULT_MAX_WORK,
  decodeInput,
  estimateWork,
  formatScenarioError,
  type LoadResult,
  loadScenario,
  parseSetArgument,
  prepareScenario,
  readInputFile,
} from '../../src/scenario/index.js';
import { simulate } from '../../src/sim/simulate.js';

const text = `version: 1
profile: pcie4-a100
platform: { ram: 256MiB }
processes: [{ name: main }, { name: other }]
devices:
  gpus: [{ name: gpu0, vram: 64MiB }]
  nics: [{ name: nic0 }]
  dmirrors: [{ name: mirror0 }]
buffers:
  - { name: buf, size: 4MiB }
  - { name: buf.two, size: 2MiB, process: other }
workloads:
  - { kind: cpu, name: init, buffer: buf, op: write, pattern: sequential }
  - { kind: gpu, name: read, gpu: gpu0, buffer: buf, op: read, pattern: random, after: init }
  - { kind: dmirror, name: mig, dmirror: mirror0, buffer: buf.two, op: migrate, pattern: sequential }
  - { kind: rdma, name: put, nic: nic0, buffer: buf, op: write, pattern: sequential, messageSize: 64KiB, messages: 16 }
events:
  - { kind: unplug, name: gone, gpu: gpu0, mode: safe, after: read }
`;

function load(...sets: string[]): LoadResult {
  return loadScenario(text, 's.yaml', { sets });
}
function errors(...sets: string[]): string[] {
  const r = load(...sets);
  return r.ok ? [] : r.errors.map(formatScenarioError);
}
function config(...sets: string[]) {
  const r = load(...sets);
  if (!r.ok) throw new Error(r.errors.map(formatScenarioError).join('\n'));
  return r.config;
}

describe('overrides go through the scenario schema', () => {
  it('without overrides, loads as before', () => {
    expect(load().ok).toBe(true);
  });

  it.each([
    // [scenario-file path, SimConfig path]
    ['platform.cpuCores=2', 'cpuCores=2'],
    ['platform.ram=512MiB', 'ramBytes=536870912'],
    ['platform.thp=never', 'thp=never'],
    ['platform.iommu=translate', 'iommu=translate'],
    ['platform.p2p.default=BUS_ADDR', 'p2p.default=BUS_ADDR'],
    ['platform.p2p.pairs.gpu0:nic0=BUS_ADDR', 'p2p.pairs.gpu0:nic0=BUS_ADDR'],
    ['devices.gpus.gpu0.vram=32MiB', 'gpus.gpu0.vramBytes=33554432'],
    ['devices.gpus.0.bar=32MiB', 'gpus.0.barBytes=32MiB'],
    ['devices.gpus.gpu0.chunkSizes=[2MiB,64KiB]', 'gpus.gpu0.chunkSizes=[2097152,65536]'],
    ['devices.gpus.gpu0.faultBatchSize=32', 'gpus.gpu0.faultBatchSize=32'],
    ['devices.nics.nic0.fallback=v2', 'nics.nic0.fallback=v2'],
    ['buffers.buf.size=8MiB', 'buffers.buf.bytes=8388608'],
    ['buffers.buf.two.hugepage=true', 'buffers.1.hugepage=true'],
    ['workloads.read.stride=128KiB', 'workloads.read.strideBytes=131072'],
    ['workloads.read.start=1ms', 'workloads.read.startNs=1000000'],
    ['workloads.put.messageSize=128KiB', 'workloads.put.messageBytes=128KiB'],
    ['workloads.mig.ioctlSize=64KiB', 'workloads.mig.ioctlPages=16'],
    ['events.gone.start=2us', 'unplugs.gone.startNs=2000'],
    ['duration=5ms', 'durationNs=5000000'],
    ['processes.0.name=first', 'processes.0=first'],
    ['overrides.faultBatchSize=64', 'overrides.faultBatchSize=64'],
  ])('%s and %s give the same config', (fileForm, simForm) => {
    const a = config(fileForm);
    expect(config(simForm)).toEqual(a);
    expect(a).not.toEqual(config());
  });

  it('the same config gives the same run', () => {
    const a = config('devices.gpus.gpu0.vram=32MiB', 'buffers.buf.size=8MiB');
    const b = config('gpus.gpu0.vramBytes=32MiB', 'buffers.buf.bytes=8MiB');
    expect(JSON.stringify(simulate(b, { seed: 1 }))).toBe(JSON.stringify(simulate(a, { seed: 1 })));
  });

  it('whole items and lists written as SimConfig are translated too', () => {
    expect(config('gpus.gpu0={name: gpu0, vramBytes: 32MiB}')).toEqual(
      config('devices.gpus.gpu0.vram=32MiB'),
    );
    expect(config('unplugs=[{name: gone, gpu: gpu0, mode: safe, after: read, startNs: 5}]')).toEqual(
      config('events.gone.start=5'),
    );
    expect(config('processes=[first, other]')).toEqual(config('processes.0.name=first'));
  });

  it('names the override in errors at what it set, and the overrides in effect elsewhere', () => {
    expect(errors('workloads.put.op=eat')).toEqual([
      "--set workloads.put.op=eat: expected one of read, write, found 'eat' (did you mean 'read'?)",
    ]);
    expect(errors('workloads.mig.ioctlPages=1.5')).toEqual([
      '--set workloads.mig.ioctlPages=1.5: expected a number of pages (an integer >= 1), found 1.5',
    ]);
    expect(errors('devices.gpus.gpu0.chunkSizes=[2MiB,3KiB]')).toEqual([
      "--set devices.gpus.gpu0.chunkSizes=[2MiB,3KiB]: devices.gpus[0].chunkSizes[1]: expected a size of at least 4KiB, found '3KiB'",
    ]);
    expect(errors('buffers.buf.size=1MiB', 'workloads.put.bytes=2MiB')).toEqual([
      "--set workloads.put.bytes=2MiB: expected at most the size of buffer 'buf' (1MiB), found 2MiB",
    ]);
    // An error in the file's own text that an override caused: at its place, naming the overrides.
    expect(errors('buffers.buf.size=32KiB')).toEqual([
      "s.yaml:16:99: workloads[3].messageSize: expected a message size of at most the size of buffer 'buf' (32KiB), found 64KiB (with --set buffers.buf.size=32KiB)",
    ]);
    // A later override of the same path wins; its label is the one named.
    expect(errors('platform.cpuCores=4', 'cpuCores=0')).toEqual([
      '--set cpuCores=0: expected an integer >= 1, found 0',
    ]);
  });

  it('refuses paths the scenario does not have, with a suggestion, and malformed --set', () => {
    expect(errors('gpus.gpu1.vram=1GiB')).toEqual([
      '--set gpus.gpu1.vram=1GiB: no gpus.gpu1 in the scenario (did you mean gpus.gpu0?)',
    ]);
    expect(errors('buffers.7.size=1MiB')).toEqual([
      '--set buffers.7.size=1MiB: no buffers.7 in the scenario (it has 2 items: buffers.0 to buffers.1 (buf, buf.two))',
    ]);
    expect(errors('platfrom.cpuCores=2')[0]).toMatch(
      /^--set platfrom\.cpuCores=2: unknown key 'platfrom' \(did you mean 'platform'\?\)/,
    );
    expect(errors('workloads.put.op.x=1')).toEqual([
      "--set workloads.put.op.x=1: workloads.put.op is 'write', which has no 'x'",
    ]);
    expect(errors('gpuLinks.0.a=gpu0')).toEqual(['--set gpuLinks.0.a=gpu0: the scenario sets no gpuLinks']);
    expect(errors('nokey')).toEqual(["--set: wants key=value, not 'nokey'"]);
    expect(errors('a..b=1')).toEqual(["--set a..b=1: 'a..b' is not a dotted path"]);
    // No prototype is touched by a key named like one.
    expect(errors('__proto__.x=1')[0]).toMatch(/unknown key '__proto__'/);
    expect(errors('platform.__proto__=1')[0]).toMatch(
      /^--set platform\.__proto__=1: unknown key '__proto__'/,
    );
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('--set values are YAML: sizes stay strings for the schema, lists and maps are parsed', () => {
    expect(parseSetArgument('a=16GiB')).toEqual({ key: 'a', value: '16GiB', label: '--set a=16GiB' });
    expect(parseSetArgument('a=[2MiB, 64KiB]')).toMatchObject({ value: ['2MiB', '64KiB'] });
    expect(parseSetArgument('a= 3')).toMatchObject({ value: 3 });
    expect(parseSetArgument('a=[unclosed')).toMatchObject({ value: '[unclosed' });
    expect(parseSetArgument('=3')).toEqual({ error: "--set wants key=value, not '=3'" });
    const doc: Record<string, unknown> = { version: 1 };
    expect(applyOverride(doc, { key: 'platform.cpuCores', value: 2 })).toEqual({
      ok: true,
      path: ['platform', 'cpuCores'],
      value: 2,
    });
    expect(doc).toEqual({ version: 1, platform: { cpuCores: 2 } });
  });
});

describe('the work guard', () => {
  it('estimates page accesses per workload', () => {
    const p = prepareScenario(text, 's.yaml');
    if (!p.ok) throw new Error('does not load');
    const w = estimateWork(p.base.scenario);
    expect(w.workloads.map((x) => [x.name, x.estimate, x.detail])).toEqual([
      ['init', 1024, '1024 pages x 1 pass'],
      ['read', 1024, '1024 pages x 1 pass'],
      ['mig', 512, '512 pages x 1 pass'],
      // A message costs RDMA_MESSAGE_WORK (200) page accesses on top of its pages.
      ['put', 16 * (16 + 200), '16 messages x (16 pages + 200 per message)'],
    ]);
    expect(w.total).toBe(1024 + 1024 + 512 + 16 * 216);
    // A message size that is not a whole number of pages can straddle one more page.
    const odd = loadScenario(text, 's.yaml', { sets: ['workloads.put.messageSize=6KiB'] });
    if (!odd.ok) throw new Error('does not load');
    const put = estimateWork(odd.scenario).workloads.find((x) => x.name === 'put');
    expect([put?.estimate, put?.detail]).toEqual([
      16 * 203,
      '16 messages x (at most 3 pages + 200 per message)',
    ]);
  });

  it('refuses over the limit, naming the biggest workload, at its place', () => {
    const sets = ['workloads.read.passes=1000000', 'workloads.init.passes=100000'];
    const r = loadScenario(text, 's.yaml', { sets });
    expect(r.ok ? [] : r.errors.map(formatScenarioError)).toEqual([
      `s.yaml:14:5: workloads[1]: workload 'read' would simulate about 1024000000 page accesses (1024 pages x 1000000 passes); all workloads together: 1126403968; the limit is ${DEFAULT_MAX_WORK} (raise it with --max-work, or make the workload smaller) (with --set workloads.read.passes=1000000, --set workloads.init.passes=100000)`,
    ]);
    // A billion RDMA messages: hours of simulation and a latency per message; at the default limit
    // a 4 KiB-message workload has at most 2^30 / 201 (about 5.3e6) messages.
    const rdma = (n: number) =>
      loadScenario(text, 's.yaml', {
        sets: [`workloads.put.messages=${n}`, 'workloads.put.messageSize=4KiB'],
      });
    const many = rdma(1_000_000_000);
    expect(many.ok ? [] : many.errors.map(formatScenarioError)).toEqual([
      expect.stringContaining(
        "workload 'put' would simulate about 201000000000 page accesses (1000000000 messages x (1 page + 200 per message))",
      ),
    ]);
    expect(rdma(Math.floor(DEFAULT_MAX_WORK / 201) - 20).ok).toBe(true);
    expect(rdma(Math.floor(DEFAULT_MAX_WORK / 201) + 1).ok).toBe(false);
    expect(loadScenario(text, 's.yaml', { maxWork: 6015 }).ok).toBe(false);
    expect(loadScenario(text, 's.yaml', { maxWork: 6016 }).ok).toBe(true);
    expect(
      loadScenario(text, 's.yaml', {
        sets: ['workloads.read.passes=1000000'],
        maxWork: Number.POSITIVE_INFINITY,
      }).ok,
    ).toBe(true);
  });
});

describe('parsing limits', () => {
  const fmt = (t: string) => {
    const r = loadScenario(t, 'f.yaml');
    return r.ok ? [] : r.errors.map(formatScenarioError);
  };

  it('one document per file, with the line of the second', () => {
    expect(fmt(`${text}---\nversion: 1\n`)).toEqual([
      "f.yaml:19:1: a scenario file holds one YAML document; found a second at line 19 (a '---' line starts one)",
    ]);
  });

  it('nesting deeper than 64 levels is an error at the node, never a stack overflow', () => {
    for (const depth of [65, 1000, 100_000]) {
      const [e] = fmt(`${text}description: ${'['.repeat(depth)}${']'.repeat(depth)}\n`);
      expect(e).toMatch(
        /^f\.yaml:19:\d+: the document nests too deeply \(at most 64 levels of maps and lists\)$/,
      );
    }
    const blocks = `${text}description:\n${Array.from({ length: 80 }, (_, i) => `${' '.repeat(i + 1)}- `).join('\n')}1\n`;
    expect(fmt(blocks)[0]).toMatch(/nests too deeply/);
    // 64 levels are fine as YAML (the schema then says what it expected).
    expect(fmt(`${text}description: ${'['.repeat(60)}${']'.repeat(60)}\n`)).toEqual([
      'f.yaml:19:14: description: expected a string, found a list',
    ]);
  });

  it('a UTF-8 byte order mark is dropped', () => {
    expect(loadScenario(`\ufeff${text}`, 'f.yaml')).toEqual(loadScenario(text, 'f.yaml'));
  });

  it('reports at most 100 errors and says how many more', () => {
    const many = `version: 1\nprofile: pcie4-a100\nbuffers:\n${Array.from({ length: 150 }, (_, i) => `  - { name: b${i}, size: 4097 }`).join('\n')}\nworkloads: [{ kind: cpu, name: w, buffer: b0, op: read, pattern: sequential }]\n`;
    const e = fmt(many);
    expect(e).toHaveLength(101);
    expect(e.at(-1)).toMatch(/: \.\.\. and 50 more errors$/);
  });
});

describe('reading input files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hmmlab-read-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('checks the size before reading; reads UTF-8, drops a BOM, refuses UTF-16, NUL and bad bytes', () => {
    const f = join(dir, 'a.yaml');
    writeFileSync(f, 'x'.repeat(2000));
    expect(readInputFile(f, 1000)).toMatchObject({
      ok: false,
      message: `${f}:1:1: the file is 2000 bytes, over the limit of 1000B for an input file (raise it with --max-file-size)`,
    });
    expect(readInputFile(f, 2000)).toEqual({ ok: true, text: 'x'.repeat(2000) });
    expect(readInputFile(join(dir, 'none.yaml'))).toMatchObject({
      ok: false,
      message: `cannot read ${join(dir, 'none.yaml')}: ENOENT`,
    });
    expect(readInputFile(dir)).toMatchObject({
      ok: false,
      error: { message: 'cannot read: it is a directory' },
    });
    const enc = new TextEncoder();
    expect(decodeInput(enc.encode('\ufeffa: é\n'), 'f')).toEqual({ ok: true, text: 'a: é\n' });
    expect(decodeInput(new Uint8Array([0xfe, 0xff, 0, 0x61]), 'f')).toMatchObject({
      ok: false,
      error: {
        line: 1,
        col: 1,
        message: 'the file is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8',
      },
    });
    expect(decodeInput(enc.encode('a: 1\nbé: \u0000'), 'f')).toMatchObject({
      ok: false,
      error: { line: 2, col: 5 },
    });
    expect(decodeInput(new Uint8Array([0x61, 0x0a, 0x62, 0xc3, 0x28]), 'f')).toMatchObject({
      ok: false,
      error: { line: 2, col: 2, message: 'the file is not UTF-8 (byte 0xc3 at offset 3); save it as UTF-8' },
    });
    // An overlong encoding and a lone surrogate are not UTF-8 either.
    expect(decodeInput(new Uint8Array([0xe0, 0x80, 0xaf]), 'f').ok).toBe(false);
    expect(decodeInput(new Uint8Array([0xed, 0xa0, 0x80]), 'f').ok).toBe(false);
  });
});
