/**
 * Issue #12, "every input checked", through the command line in-process: `--set` overrides and
 * sweep values go through the scenario schema (exit 2, the schema's message naming the override,
 * no stack trace, nothing stored); input files are size- and encoding-checked before they are
 * parsed; the work guard refuses a scenario that would run for hours.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { smallRdma } from '../fixtures/scenarios.js';
import { cli } from './run-cli.js';

afterEach(() => vi.restoreAllMocks());

const small = smallRdma({
  name: 'validation-test',
  firstWorkloads: '  - { kind: cpu, name: init, buffer: buf, op: write, pattern: sequential }\n',
  messages: 64,
});

const dir = mkdtempSync(join(tmpdir(), 'hmmlab-validation-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 's.yaml');
writeFileSync(file, small);

/** Exit 2, the message, one line per error, no stack trace, nothing on stdout. */
function refused(r: { code: number; out: string; err: string }, message: RegExp | string): void {
  expect(r.code, r.err).toBe(2);
  expect(r.out).toBe('');
  if (typeof message === 'string') expect(r.err).toContain(message);
  else expect(r.err).toMatch(message);
  expect(r.err).not.toMatch(/^\s+at /m);
  expect(r.err).not.toMatch(/undefined|Maximum call stack/);
}

describe('--set goes through the scenario schema', () => {
  const db = join(dir, 'set.db');

  it.each([
    ['workloads.put.op=eat', "--set workloads.put.op=eat: expected one of read, write, found 'eat'"],
    ['workloads.put.pattern=zigzag', "expected one of sequential, random, strided, found 'zigzag'"],
    ['workloads.put.queueDepth=0', '--set workloads.put.queueDepth=0: expected an integer >= 1, found 0'],
    ['thp=sometimes', "--set thp=sometimes: expected one of always, madvise, never, found 'sometimes'"],
    ['platform.iommu=maybe', "expected one of off, passthrough, translate, found 'maybe'"],
    ['placement=nowhere', "expected one of first-touch, remote, access-counter, pinned, found 'nowhere'"],
    ['nics.nic0.fallback=bogus', "--set nics.nic0.fallback=bogus: expected one of rfc, v2, found 'bogus'"],
    ['gpus.gpu0.socket=5', '--set gpus.gpu0.socket=5: expected one of 0, 1, found 5'],
    ['gpus.gpu0.barBytes=-1', '--set gpus.gpu0.barBytes=-1: expected a size > 0, found -1'],
    ['workloads.fill.passes=0', '--set workloads.fill.passes=0: expected an integer >= 1, found 0'],
    ['workloads.init.nsPerPage=-1', '--set workloads.init.nsPerPage=-1: expected an integer >= 0, found -1'],
    ['gpus.gpu0.prefetch=yes', "--set gpus.gpu0.prefetch=yes: expected true or false, found 'yes'"],
    // These crashed with a stack trace (exit 70) before.
    ['cpuCores=0', '--set cpuCores=0: expected an integer >= 1, found 0'],
    ['cpuCores=-1', '--set cpuCores=-1: expected an integer >= 1, found -1'],
    ['cpuCores=1.5', '--set cpuCores=1.5: expected an integer, found 1.5'],
    ['gpus.gpu0.chunkSizes=2097152', '--set gpus.gpu0.chunkSizes=2097152: expected a list, found 2097152'],
    // Ran for minutes before.
    ['workloads.fill.passes=1e9', '--set workloads.fill.passes=1e9: expected an integer <= 1000000'],
    // Said "gpus.undefined.vramBytes" before.
    ['gpus.gpu0=1', '--set gpus.gpu0=1: expected a map, found 1'],
    [
      'gpus.gpu7.faultBatchSize=4',
      '--set gpus.gpu7.faultBatchSize=4: no gpus.gpu7 in the scenario (did you mean gpus.gpu0?)',
    ],
    [
      'devices.gpuz.gpu0.vram=1GiB',
      "--set devices.gpuz.gpu0.vram=1GiB: unknown key 'gpuz' (did you mean 'gpus'?) in devices",
    ],
    [
      'workloads.put.messageSize=64GiB',
      "--set workloads.put.messageSize=64GiB: expected a message size of at most the size of buffer 'buf' (16MiB), found 64GiB",
    ],
    [
      'workloads.fill.bytes=2GiB',
      "--set workloads.fill.bytes=2GiB: expected at most the size of buffer 'buf' (16MiB), found 2GiB",
    ],
    [
      'buffers.buf.size=4097',
      '--set buffers.buf.size=4097: expected a multiple of 4KiB (the page size), found 4097',
    ],
    ['gpus.gpu0.bar=12345', '--set gpus.gpu0.bar=12345: expected a size of at least 2MiB, found 12345'],
    ['gpus.gpu0.bar=3MiB', "expected a multiple of 2MiB (the BAR maps VRAM in 2MiB chunks), found '3MiB'"],
  ])('run --set %s exits 2 and stores nothing', async (set, message) => {
    const r = await cli('run', file, '--db', db, '--set', set);
    refused(r, message);
    expect(existsSync(db)).toBe(false);
  });

  it('a valid override in either spelling runs, with the same result', async () => {
    const run = async (...sets: string[]) => {
      const r = await cli('run', file, '--json', '--no-store', ...sets.flatMap((s) => ['--set', s]));
      expect(r.code, r.err).toBe(0);
      return JSON.parse(r.out);
    };
    const fileForm = await run(
      'devices.gpus.gpu0.vram=128MiB',
      'buffers.buf.size=8MiB',
      'platform.cpuCores=2',
      'workloads.put.messageSize=128KiB',
      'devices.gpus.gpu0.chunkSizes=[2MiB,64KiB]',
    );
    const configForm = await run(
      'gpus.gpu0.vramBytes=134217728',
      'buffers.buf.bytes=8MiB',
      'cpuCores=2',
      'workloads.put.messageBytes=131072',
      'gpus.0.chunkSizes=[2097152, 65536]',
    );
    expect(configForm).toEqual(fileForm);
    const plain = await run();
    expect(fileForm).not.toEqual(plain);
  });

  it('report and compare check --set the same way', async () => {
    refused(
      await cli('compare', file, '--no-store', '--set', 'workloads.put.op=eat'),
      '--set workloads.put.op=eat',
    );
    refused(
      await cli('report', file, '--no-store', '-o', join(dir, 'r'), '--set', 'cpuCores=0'),
      '--set cpuCores=0: expected an integer >= 1',
    );
    refused(
      await cli('trace', file, '-o', join(dir, 't.json'), '--set', 'thp=sometimes'),
      '--set thp=sometimes',
    );
    expect(existsSync(join(dir, 't.json'))).toBe(false);
  });

  it('an error elsewhere that an override caused is reported in the file, naming the override', async () => {
    const r = await cli('run', file, '--no-store', '--set', 'devices.gpus.gpu0.name=gpuX');
    refused(
      r,
      /s\.yaml:\d+:\d+: workloads\[1\]\.gpu: no GPU named 'gpu0' .*\(with --set devices\.gpus\.gpu0\.name=gpuX\)/,
    );
  });
});

describe('bounded work', () => {
  it('refuses a scenario over the work limit, naming the workload; --max-work raises the limit', async () => {
    const r = await cli('run', file, '--no-store', '--set', 'workloads.fill.passes=1000000');
    refused(
      r,
      /s\.yaml:\d+:\d+: workloads\[1\]: workload 'fill' would simulate about 4096000000 page accesses \(4096 pages x 1000000 passes\).*the limit is 1073741824 \(raise it with --max-work/,
    );
    refused(
      await cli('run', file, '--no-store', '--max-work', '100'),
      // 64 messages of 64 KiB: an RDMA message counts 200 page accesses besides its pages.
      "workload 'put' would simulate about 13824 page accesses (64 messages x (16 pages + 200 per message))",
    );
    expect((await cli('run', file, '--no-store', '--max-work', '100000')).code).toBe(0);
    refused(
      await cli('run', file, '--no-store', '--max-work', 'lots'),
      '--max-work must be a positive integer',
    );
  });
});

describe('input files', () => {
  it('refuses a file over the size limit before parsing it; --max-file-size raises the limit', async () => {
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `${small}${'# a comment that goes on and on\n'.repeat(40_000)}`);
    const db = join(dir, 'big.db');
    for (const cmd of [
      ['run', big, '--db', db],
      ['compare', big, '--db', db],
      ['report', big, '--db', db, '-o', join(dir, 'big-report')],
      ['trace', big, '-o', join(dir, 'big.json')],
    ]) {
      refused(
        await cli(...cmd),
        /big\.yaml:1:1: the file is \d+ bytes, over the limit of 1MiB for an input file \(raise it with --max-file-size\)/,
      );
    }
    expect(existsSync(db)).toBe(false);
    const ok = await cli('run', big, '--no-store', '--max-file-size', '2MiB');
    expect(ok.code, ok.err).toBe(0);
    refused(await cli('run', big, '--no-store', '--max-file-size', 'huge'), '--max-file-size must be a size');
  });

  it('sweep and explore read their files through the same checks', async () => {
    const sweep = join(dir, 'sweep.yaml');
    writeFileSync(sweep, `version: 1\nscenario: s.yaml\n${'# padding\n'.repeat(200_000)}`);
    refused(await cli('sweep', sweep, '--db', join(dir, 'sw.db')), 'over the limit of 1MiB');
    const race = join(dir, 'race.yaml');
    writeFileSync(race, `kind: race\n${'# padding\n'.repeat(200_000)}`);
    refused(await cli('explore', race, '--no-store'), 'over the limit of 1MiB');
  });

  it('a sweep grid value the schema refuses exits 2 with its sweep position and stores nothing', async () => {
    const sweep = join(dir, 'cores.yaml');
    writeFileSync(sweep, 'version: 1\nscenario: s.yaml\ngrid:\n  cpuCores: [4, 0]\n');
    const db = join(dir, 'cores.db');
    refused(
      await cli('sweep', sweep, '--db', db, '--jobs', '1'),
      'cores.yaml:4:3: grid.cpuCores: point 1 (cpuCores=0, seed=3): expected an integer >= 1, found 0',
    );
    expect(existsSync(db)).toBe(false);
    // The work guard applies to every point; the sweep file gets the one-document check too.
    writeFileSync(
      join(dir, 'passes.yaml'),
      'version: 1\nscenario: s.yaml\ngrid:\n  workloads.fill.passes: [1, 5]\n',
    );
    refused(
      await cli('sweep', join(dir, 'passes.yaml'), '--db', db, '--max-work', '30000'),
      /s\.yaml:\d+:\d+: workloads\[1\]: workload 'fill' would simulate about 20480 page accesses .*\(with point 1 \(workloads\.fill\.passes=5, seed=3\) of the sweep .*passes\.yaml:3:1\)/,
    );
    // A seed in a list entry has the bound of the seeds axis: refused before any run.
    writeFileSync(
      join(dir, 'seed.yaml'),
      'version: 1\nscenario: s.yaml\nlist:\n  - { seed: 100000000000000000000 }\n',
    );
    refused(
      await cli('sweep', join(dir, 'seed.yaml'), '--db', db),
      /seed\.yaml:4:13: list\[0\]\.seed: expected a seed \(an integer <= 9007199254740991\), found 100000000000000000000/,
    );
    writeFileSync(join(dir, 'docs.yaml'), 'version: 1\nscenario: s.yaml\n---\nversion: 1\n');
    refused(
      await cli('sweep', join(dir, 'docs.yaml'), '--db', db),
      /docs\.yaml:3:1: a sweep file holds one YAML document; found a second at line 3/,
    );
    expect(existsSync(db)).toBe(false);
  });

  it('a second YAML document, deep nesting, UTF-16 and NUL bytes are refused with a position; a BOM is dropped', async () => {
    const at = (name: string, content: string | Buffer) => {
      const f = join(dir, name);
      writeFileSync(f, content);
      return f;
    };
    refused(
      await cli('run', at('two.yaml', `${small}---\nversion: 1\n`), '--no-store'),
      /two\.yaml:16:1: a scenario file holds one YAML document; found a second at line 16/,
    );
    refused(
      await cli(
        'run',
        at('deep.yaml', `${small}description: ${'['.repeat(5000)}${']'.repeat(5000)}\n`),
        '--no-store',
      ),
      /deep\.yaml:16:\d+: the document nests too deeply \(at most 64 levels of maps and lists\)/,
    );
    refused(
      await cli(
        'run',
        at('deep2.yaml', `${small}description: ${'['.repeat(100)}${']'.repeat(100)}\n`),
        '--no-store',
      ),
      /deep2\.yaml:16:\d+: the document nests too deeply/,
    );
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(small, 'utf16le')]);
    refused(await cli('run', at('u16.yaml', utf16), '--no-store'), 'u16.yaml:1:1: the file is UTF-16');
    const utf16NoBom = Buffer.from(small, 'utf16le');
    refused(
      await cli('run', at('u16n.yaml', utf16NoBom), '--no-store'),
      'u16n.yaml:1:2: the file holds a NUL byte',
    );
    refused(
      await cli('run', at('latin1.yaml', Buffer.from(`${small}# caf\xe9\n`, 'latin1')), '--no-store'),
      /latin1\.yaml:16:6: the file is not UTF-8 \(byte 0xe9/,
    );
    const bom = await cli('run', at('bom.yaml', `\ufeff${small}`), '--json', '--no-store');
    expect(bom.code, bom.err).toBe(0);
    const plain = await cli('run', file, '--json', '--no-store');
    expect(JSON.parse(bom.out)).toEqual(JSON.parse(plain.out));
  });

  it('positions cross-field errors in the file', async () => {
    const bad = small
      .replace('size: 16MiB', 'size: 4097')
      .replace('vram: 256MiB }', 'vram: 256MiB, bar: 12345 }');
    writeFileSync(join(dir, 'x.yaml'), bad);
    const e = await cli('run', join(dir, 'x.yaml'), '--no-store');
    refused(e, /x\.yaml:9:\d+: devices\.gpus\[0\]\.bar: expected a size of at least 2MiB, found 12345/);
    expect(e.err).toMatch(
      /x\.yaml:11:\d+: buffers\[0\]\.size: expected a multiple of 4KiB \(the page size\), found 4097/,
    );
    writeFileSync(join(dir, 'y.yaml'), small.replace('messageSize: 64KiB', 'messageSize: 64GiB'));
    refused(
      await cli('run', join(dir, 'y.yaml'), '--no-store'),
      /y\.yaml:15:\d+: workloads\[2\]\.messageSize: expected a message size of at most the size of buffer 'buf' \(16MiB\), found 64GiB/,
    );
    expect(readFileSync(join(dir, 'y.yaml'), 'utf8')).toContain('64GiB');
  });

  it('a buffer larger than RAM is refused up front; a process that runs out of RAM dies with a clear message', async () => {
    writeFileSync(join(dir, 'ram.yaml'), small.replace('size: 16MiB', 'size: 2GiB'));
    refused(
      await cli('run', join(dir, 'ram.yaml'), '--no-store'),
      /ram\.yaml:11:\d+: buffers\[0\]\.size: buffer 'buf' \(2GiB\) is larger than the platform's RAM \(1GiB\)/,
    );
    // Two buffers of 1 GiB each fit the heuristic alone but not in 1 GiB of RAM together: the
    // CPU's writes run RAM out, and the OOM killer's SIGKILL ends the simulated process.
    const two = small
      .replace(
        'buffers: [{ name: buf, size: 16MiB, hugepage: true }]',
        'buffers: [{ name: buf, size: 16MiB, hugepage: true }, { name: a, size: 1GiB }, { name: b, size: 1GiB }]',
      )
      .replace(
        'workloads:\n',
        'workloads:\n  - { kind: cpu, name: wa, buffer: a, op: write, pattern: sequential }\n  - { kind: cpu, name: wb, buffer: b, op: write, pattern: sequential, after: wa }\n',
      );
    writeFileSync(join(dir, 'oom.yaml'), two);
    const r = await cli('run', join(dir, 'oom.yaml'), '--no-store');
    expect(r.code, r.err).toBe(1);
    expect(r.err).toMatch(
      /^hmmlab: the simulated process died in workload 'w[ab]' at [\d.]+ ms: SIGKILL \(out of memory\) at 0x[0-9a-f]+: no free RAM page/,
    );
    expect(r.err).not.toMatch(/^\s+at /m);
  });
});
