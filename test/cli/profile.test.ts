/**
 * Cost profiles from files, end to end through the command line: `--profile <name|file>` (a
 * path relative to the working directory) and a scenario's `profile: ./x.yaml` (relative to the
 * scenario file); bad profile files exit 2 with file:line:col; stored runs replay exactly with
 * `report <id>`, from the copy of the profile recorded in the stored text.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadScenario } from '../../src/scenario/index.js';
import { compareRow } from '../../src/sim/compare.js';
import { parseCostProfile } from '../../src/sim/costs.js';
import { simulate } from '../../src/sim/simulate.js';
import { ResultsStore } from '../../src/store/store.js';
import { smallRdma } from '../fixtures/scenarios.js';
import { cli } from './run-cli.js';

afterEach(() => vi.restoreAllMocks());

const root = fileURLToPath(new URL('../../', import.meta.url));
const H100 = readFileSync(join(root, 'profiles/pcie5-h100.yaml'), 'utf8');

const scenario = (profile: string) => smallRdma({ name: 'profile-test', profile });

/** pcie5-h100 renamed, with its GPU fault service at `ns` per page (it is 1000). */
function myH100(ns: number): string {
  const text = H100.replace('\nname: pcie5-h100\n', '\nname: my-h100\n').replace(
    /(\n {2}gpuFaultPerPageNs:\n {4}value: )1000\n/,
    `$1${ns}\n`,
  );
  expect(text).toContain(`\n  gpuFaultPerPageNs:\n    value: ${ns}\n`);
  return text;
}

/** The same profile built in-process, for the expected result. */
function profileOf(text: string) {
  const r = parseCostProfile(parseYaml(text));
  if (!r.ok) throw new Error(r.error.message);
  return r.profile;
}

const noStack = (err: string) => expect(err).not.toMatch(/\n\s+at /);

describe('--profile and profile files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hmmlab-profile-'));
  const sFile = join(dir, 's.yaml');
  writeFileSync(sFile, scenario('pcie5-h100'));
  const mine = join(dir, 'my-h100.yaml');
  writeFileSync(mine, myH100(4000));
  const db = join(dir, 'results.db');

  it('--profile ./my.yaml (relative to the working directory) changes the result, to what simulate() gives with that profile', async () => {
    const base = await cli('run', sFile, '--json', '--no-store');
    expect(base.code, base.err).toBe(0);
    const rel = relative(process.cwd(), mine);
    const r = await cli('run', sFile, '--profile', rel, '--json', '--no-store');
    expect(r.code, r.err).toBe(0);
    const got = JSON.parse(r.out);
    const before = JSON.parse(base.out);
    expect(got.profile).toBe('my-h100');
    expect(before.profile).toBe('pcie5-h100');
    // Slower GPU fault service makes the GPU's first touch, and so the run, longer.
    expect(got.endNs).toBeGreaterThan(before.endNs);

    const loaded = loadScenario(scenario('pcie5-h100'), 's.yaml');
    if (!loaded.ok) throw new Error('scenario should load');
    const expected = simulate({ ...loaded.config, profile: profileOf(myH100(4000)) }, { seed: 3 });
    expect(r.out).toBe(`${JSON.stringify(expected, null, 2)}\n`);
  });

  it('--profile with a built-in name is that built-in', async () => {
    const a = await cli('run', sFile, '--json', '--no-store');
    const b = await cli('run', sFile, '--profile', 'pcie5-h100', '--json', '--no-store');
    expect(b.code, b.err).toBe(0);
    expect(b.out).toBe(a.out);
    const c = await cli('run', sFile, '--profile', 'gh200-c2c', '--json', '--no-store');
    expect(c.code, c.err).toBe(0);
    expect(JSON.parse(c.out).profile).toBe('gh200-c2c');
  });

  it('a bad profile file exits 2 with every error at file:line:col and no stack trace', async () => {
    const bad = join(dir, 'bad.yaml');
    const text = myH100(8)
      .replace('\n  faultBatchSize:\n    value: 256\n', '\n  faultBatchSize:\n    value: 25.5\n')
      .replace('\n  cpuFaultEntryNs:\n    value: 1000 # 1 us\n', '\n  cpuFaultEntryNs:\n    value: -3\n')
      .replace(
        '\n  deviceMemoryBandwidth:\n    value: 2000\n    unit: GB/s\n',
        '\n  deviceMemoryBandwidth:\n    value: 2000\n    unit: TB/s\n',
      )
      .replace('\n  peerLinkBandwidth:', '\n  peerLinkBandwith:');
    writeFileSync(bad, text);
    const r = await cli('run', sFile, '--profile', bad, '--no-store');
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    noStack(r.err);
    const lines = r.err.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    const lineNo = (needle: string) => text.split('\n').indexOf(needle) + 1;
    expect(lines[0]).toBe(
      `hmmlab: ${bad}:${lineNo('    value: -3')}:12: parameters.cpuFaultEntryNs.value: expected a number >= 0 (ns), found -3`,
    );
    expect(lines[1]).toBe(
      `${bad}:${lineNo('    value: 25.5')}:12: parameters.faultBatchSize.value: expected a whole number (count), found 25.5`,
    );
    expect(lines[2]).toBe(
      `${bad}:${lineNo('  peerLinkBandwith:')}:3: parameters.peerLinkBandwith: unknown key 'peerLinkBandwith' (did you mean 'peerLinkBandwidth'?)`,
    );
    expect(lines[3]).toBe(
      `${bad}:${lineNo('    unit: TB/s')}:11: parameters.deviceMemoryBandwidth.unit: expected GB/s, found 'TB/s' (the unit of deviceMemoryBandwidth is fixed: convert the value to GB/s)`,
    );
  });

  it('a --profile that is neither a built-in nor a readable file exits 2 with a message', async () => {
    const typo = await cli('compare', sFile, '--profile', 'pcie5-h10', '--no-store');
    expect(typo.code).toBe(2);
    expect(typo.err).toBe(
      "hmmlab: --profile: expected one of pcie4-a100, pcie5-h100, gh200-c2c, uvmsmart-gtx1080ti or a profile file (a path ending in .yaml, like ./my-machine.yaml), found 'pcie5-h10' (did you mean 'pcie5-h100'?)\n",
    );
    const missing = await cli('trace', sFile, '-o', join(dir, 't.json'), '--profile', './nope.yaml');
    expect(missing.code).toBe(2);
    expect(missing.err).toBe('hmmlab: --profile: cannot read the profile file ./nope.yaml: ENOENT\n');
  });

  it('profile: ./x.yaml in a scenario is relative to the scenario file; report <id> replays it from the store, even after the file changes', async () => {
    const sub = join(dir, 'sub');
    mkdirSync(sub);
    const prof = join(sub, 'x.yaml');
    writeFileSync(prof, myH100(12));
    const s2 = join(sub, 's2.yaml');
    writeFileSync(s2, scenario('./x.yaml'));

    const run = await cli('run', s2, '--json', '--db', db);
    expect(run.code, run.err).toBe(0);
    expect(JSON.parse(run.out).profile).toBe('my-h100');
    const stored = ResultsStore.open(db);
    let id: number;
    let text: string;
    try {
      const runs = stored.listRuns({});
      id = runs[runs.length - 1]!.id;
      text = stored.getRun(id)!.scenarioText;
    } finally {
      stored.close();
    }
    expect(
      text.startsWith(`${scenario('./x.yaml')}# hmmlab --profile ./x.yaml\n#| # Cost profile pcie5-h100`),
    ).toBe(true);

    // The file changes (and then goes): the stored copy is what the run used.
    writeFileSync(prof, myH100(30));
    const out = join(dir, 'report');
    const rep = await cli('report', String(id), '-o', out, '--db', db);
    expect(rep.err).toBe('');
    expect(rep.code).toBe(0);
    rmSync(prof);
    const again = await cli('report', String(id), '-o', out, '--db', db);
    expect(again.err).toBe('');
    expect(again.code).toBe(0);

    // And the stored metrics are what simulate() gives with the original profile.
    const loaded = loadScenario(scenario('./x.yaml'), 's2.yaml');
    if (!loaded.ok) throw new Error('scenario should load');
    const expected = simulate({ ...loaded.config, profile: profileOf(myH100(12)) }, { seed: 3 });
    expect(JSON.parse(run.out)).toEqual(JSON.parse(JSON.stringify(expected)));
    expect(compareRow(expected).endNs).toBe(JSON.parse(run.out).endNs);
  });

  it('--profile ./my.yaml with report stores the copy; replaying it does not need the flag or the file', async () => {
    const copy = join(dir, 'copy.yaml');
    writeFileSync(copy, myH100(20));
    const db2 = join(dir, 'r2.db');
    const first = await cli(
      'report',
      sFile,
      '--designs',
      'upstream',
      '--profile',
      copy,
      '-o',
      join(dir, 'r1'),
      '--db',
      db2,
    );
    expect(first.code, first.err).toBe(0);
    rmSync(copy);
    const rep = await cli('report', '1', '-o', join(dir, 'r2'), '--db', db2);
    expect(rep.err).toBe('');
    expect(rep.code).toBe(0);
    expect(rep.out).toBe(first.out.replace(join(dir, 'r1'), join(dir, 'r2')));
    const withFlag = await cli('report', '1', '--profile', 'pcie4-a100', '--db', db2);
    expect(withFlag.code).toBe(2);
    expect(withFlag.err).toContain('--profile and --set apply to a scenario file, not to stored runs');
  });

  it('a scenario naming a missing or broken profile file exits 2 at the scenario key or the profile file', async () => {
    const s3 = join(dir, 's3.yaml');
    writeFileSync(s3, scenario('./absent.yaml'));
    const r = await cli('run', s3, '--no-store');
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `hmmlab: ${s3}:3:10: profile: cannot read the profile file ${join(dir, 'absent.yaml')}: ENOENT\n`,
    );

    writeFileSync(
      join(dir, 'broken.yaml'),
      myH100(8).replace('\n    kind: measured\n', '\n    kind: guessed\n'),
    );
    writeFileSync(s3, scenario('./broken.yaml'));
    const b = await cli('run', s3, '--no-store');
    expect(b.code).toBe(2);
    noStack(b.err);
    expect(b.err).toMatch(
      new RegExp(
        `^hmmlab: ${join(dir, 'broken.yaml').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:11: parameters\\.\\w+\\.kind: expected one of measured, published, derived, assumed, found 'guessed'\n$`,
      ),
    );
  });

  it('sweep --profile runs every point with the file and records it with each stored run', async () => {
    const sw = join(dir, 'sweep.yaml');
    writeFileSync(sw, 'version: 1\nscenario: s.yaml\ndesigns: [upstream]\nseeds: [3]\n');
    const db3 = join(dir, 'sweep.db');
    const r = await cli('sweep', sw, '--jobs', '1', '--profile', mine, '--db', db3, '--json');
    expect(r.code, r.err).toBe(0);
    const [point] = JSON.parse(r.out);
    const loaded = loadScenario(scenario('pcie5-h100'), 's.yaml');
    if (!loaded.ok) throw new Error('scenario should load');
    const expected = compareRow(
      simulate({ ...loaded.config, profile: profileOf(myH100(4000)) }, { seed: 3 }),
    );
    expect(point.result).toEqual(JSON.parse(JSON.stringify(expected)));
    const store = ResultsStore.open(db3);
    try {
      const text = store.getRun(store.listRuns({})[0]!.id)!.scenarioText;
      expect(text).toContain(`# hmmlab --profile ${mine}\n#| # Cost profile pcie5-h100`);
    } finally {
      store.close();
    }
  });

  it('--set profile=<file> is relative to the working directory and its errors name the override', async () => {
    const missing = await cli('run', sFile, '--set', 'profile=./no-such-profile.yaml', '--no-store');
    expect(missing.code, missing.err).toBe(2);
    expect(missing.err).toBe(
      'hmmlab: --set profile=./no-such-profile.yaml: cannot read the profile file ./no-such-profile.yaml: ENOENT\n',
    );
    const viaSet = await cli('run', sFile, '--set', `profile=${mine}`, '--json', '--no-store');
    const viaFlag = await cli('run', sFile, '--profile', mine, '--json', '--no-store');
    expect(viaSet.code, viaSet.err).toBe(0);
    expect(JSON.parse(viaSet.out)).toEqual(JSON.parse(viaFlag.out));
  });

  it('control characters in an echoed file name are escaped, not written to the terminal', async () => {
    const r = await cli('run', sFile, '--profile', './\u001b[31mred.yaml', '--no-store');
    expect(r.code).toBe(2);
    expect(r.err).toBe('hmmlab: --profile: cannot read the profile file ./\\u001b[31mred.yaml: ENOENT\n');
  });

  it('a profile file in a sweep grid is read before any run: a missing one exits 2 at its place in the sweep', async () => {
    const sw = join(dir, 'grid.yaml');
    writeFileSync(
      sw,
      'version: 1\nscenario: s.yaml\ndesigns: [upstream]\nseeds: [3]\ngrid:\n  profile: [pcie5-h100, ./nope.yaml]\n',
    );
    const dbg = join(dir, 'grid.db');
    const r = await cli('sweep', sw, '--jobs', '1', '--db', dbg);
    expect(r.code, r.err).toBe(2);
    expect(r.err).toBe(
      `hmmlab: ${sw}:6:25: grid.profile[1]: cannot read the profile file ${join(dir, 'nope.yaml')}: ENOENT\n`,
    );
    noStack(r.err);
  });
  it('the profile in effect (--profile, or a file the scenario names) judges the scenario: errors point into the file', async () => {
    // A GPU on socket 1 is fine on the scenario's pcie5-h100, not on one-socket gh200-c2c.
    const two = join(dir, 'socket1.yaml');
    const text = scenario('pcie5-h100').replace(
      'gpus: [{ name: gpu0, vram: 256MiB }]',
      'gpus: [{ name: gpu0, vram: 256MiB, socket: 1 }]',
    );
    expect(text).toContain('socket: 1');
    writeFileSync(two, text);
    const line = text.split('\n').findIndex((l) => l.includes('socket: 1')) + 1;
    const r = await cli('run', two, '--profile', 'gh200-c2c', '--no-store');
    expect(r.code).toBe(2);
    noStack(r.err);
    expect(r.err).toContain(`${two}:${line}:`);
    expect(r.err).toContain(
      "devices.gpus[0].socket: profile 'gh200-c2c' has one CPU socket (with --profile gh200-c2c)",
    );
    // The same through a profile file the scenario names.
    writeFileSync(join(dir, 'gh.yaml'), readFileSync(join(root, 'profiles/gh200-c2c.yaml'), 'utf8'));
    const named = join(dir, 'socket1-file.yaml');
    writeFileSync(named, text.replace('profile: pcie5-h100', 'profile: ./gh.yaml'));
    const f = await cli('run', named, '--no-store');
    expect(f.code).toBe(2);
    noStack(f.err);
    expect(f.err).toContain(`${named}:${line}:`);
    expect(f.err).toContain('(with profile ./gh.yaml)');
  });
});
