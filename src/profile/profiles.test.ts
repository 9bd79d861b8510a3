import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatScenarioError } from '../scenario/load.js';
import { BUILTIN_PROFILE_DATA } from '../sim/builtin-profiles/index.js';
import {
  BYTES_PER_NS_PER_GIB_S,
  COST_PARAMETER_NAMES,
  type CostParameterName,
  type CostProfileName,
  costProfileToData,
  PROFILES,
  parseCostProfile,
  profileNames,
  resolveProfile,
  transferBandwidth,
} from '../sim/costs.js';
import { withRecorded } from '../store/recorded.js';
import { renderBuiltinProfilesModules } from './generate.js';
import { loadProfile } from './load.js';
import { applyRecordedProfile, recordedProfile } from './record.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fileText = (name: string) => readFileSync(`${root}profiles/${name}.yaml`, 'utf8');
const A100 = fileText('pcie4-a100');

/** 1-based line of the first line of `text` that equals `line` after `from` (also a line). */
function lineOf(text: string, line: string, from?: string): number {
  const lines = text.split('\n');
  const start = from === undefined ? 0 : lines.indexOf(from);
  expect(start, `no line '${from}'`).toBeGreaterThanOrEqual(0);
  const i = lines.indexOf(line, start);
  expect(i, `no line '${line}' after '${from}'`).toBeGreaterThanOrEqual(0);
  return i + 1;
}

/** `text` with the first `line` after the line `from` replaced by `by` (lines, exactly). */
function editLine(text: string, from: string, line: string, by: string): string {
  const lines = text.split('\n');
  const i = lineOf(text, line, from) - 1;
  lines[i] = by;
  return lines.join('\n');
}

function errorsOf(text: string, opts?: { builtinNames?: boolean }): string[] {
  const r = loadProfile(text, 'my.yaml', opts);
  if (r.ok) throw new Error('expected errors, the profile loaded');
  return r.errors.map(formatScenarioError);
}

const MINE = A100.replace('\nname: pcie4-a100\n', '\nname: my-a100\n');

describe('the built-in profile files', () => {
  it('are exactly the built-ins, each named after its file, and load without errors', () => {
    for (const name of profileNames()) {
      const r = loadProfile(fileText(name), `profiles/${name}.yaml`);
      expect(r.ok, name).toBe(true);
      if (!r.ok) continue;
      expect(r.profile.name).toBe(name);
      // Every value is the identical double the simulator uses.
      for (const p of COST_PARAMETER_NAMES) {
        expect(Object.is(r.profile.values[p], PROFILES[name].values[p]), `${name}.${p}`).toBe(true);
      }
      expect(costProfileToData(r.profile)).toEqual(costProfileToData(PROFILES[name]));
    }
  });

  it('src/sim/builtin-profiles/ is what scripts/gen-profiles.mjs generates from them', () => {
    const data = profileNames().map((name) => {
      const r = loadProfile(fileText(name), name, { builtinNames: false });
      if (!r.ok) throw new Error(r.errors.map(formatScenarioError).join('\n'));
      return costProfileToData(r.profile);
    });
    const files = renderBuiltinProfilesModules(data);
    // If this fails, run `node scripts/gen-profiles.mjs` and commit src/sim/builtin-profiles/.
    expect(readdirSync(`${root}src/sim/builtin-profiles`).sort()).toEqual([...files.keys()].sort());
    for (const [name, text] of files) {
      expect(readFileSync(`${root}src/sim/builtin-profiles/${name}`, 'utf8') === text, name).toBe(true);
    }
    expect(BUILTIN_PROFILE_DATA.map((d) => d.name)).toEqual([...profileNames()]);
  });

  it('agrees with the script itself (--check)', () => {
    const r = spawnSync(process.execPath, [`${root}scripts/gen-profiles.mjs`, '--check'], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('keep the arithmetic of every derived number: each value is the double the derivation gives', () => {
    const MiB = 2 ** 20;
    const GiB = 2 ** 30;
    const pcieP2pEfficiency = 26.3 / 31.5;
    const h100PeerPcie = 63.0 * pcieP2pEfficiency;
    const uvm = PROFILES['uvmsmart-gtx1080ti'];
    const dmaSetup =
      4096 / transferBandwidth(uvm, 4096, 'hostToDevice') - 4096 / (12 * BYTES_PER_NS_PER_GIB_S);
    const derivations: Record<CostProfileName, Partial<Record<CostParameterName, number>>> = {
      'pcie4-a100': {
        pageWalkDescentNs: 1000 / 3,
        dmaMapIommuPerPageNs: 1000 / 8,
        dmaUnmapIommuPerPageNs: 1300 / 8,
        migrateVmaPerEntryNs: (719_000 - 22_000) / 511,
        migrateVmaPerPageNs: (22_000 - 5000 - (719_000 - 22_000) / 511) / 512,
        gpuFaultBatchFixedNs: 50_000 / 1,
        gpuFaultPerPageNs: 1000 / 1,
        gpuEvictionPerPageNs: 1000 / 1,
        gpuPageTableWalkNs: 200 / 1,
        vaBlockBytes: 2 * MiB,
        thrashingPinNs: 300 * 500_000,
        accessCounterGranularityBytes: 2 * MiB,
        dmaSetupLatencyNs: dmaSetup,
        uvmSmartHalvingThresholdBytes: 2 * MiB,
        peerLinkBandwidth: 300 * (376 / 450),
        intelHostBridgeP2pPenalty: 6 / 5,
        bar1ApertureBytes: 64 * GiB,
        hostMemoryBandwidth: 8 * 3.2 * 8,
        deviceMemoryBytes: 40 * GiB,
      },
      'pcie5-h100': {
        peerPcieBandwidth: h100PeerPcie,
        hostBridgeP2pBandwidth: h100PeerPcie / (6 / 5),
        bar1ApertureBytes: 128 * GiB,
        hostMemoryBandwidth: 8 * 4.8 * 8,
        deviceMemoryBytes: 81_559 * MiB,
      },
      'gh200-c2c': {
        deviceToHostBandwidth: 346 / 1.15,
        peerPcieBandwidth: h100PeerPcie,
        bar1ApertureBytes: 128 * GiB,
        deviceMemoryBytes: 96 * GiB,
      },
      'uvmsmart-gtx1080ti': {
        gpuFaultPerPageNs: 66_645 / 1.481,
        gpuPageTableWalkNs: 100 / 1.481,
        hostToDeviceBandwidth: 12 * BYTES_PER_NS_PER_GIB_S,
        deviceToHostBandwidth: 12 * BYTES_PER_NS_PER_GIB_S,
        peerPcieBandwidth: 15.7 * pcieP2pEfficiency,
        bar1ApertureBytes: 128 * MiB,
        hostMemoryBandwidth: 2 * 2.4 * 8,
        deviceMemoryBytes: 1 * GiB,
      },
    };
    let checked = 0;
    for (const [profile, values] of Object.entries(derivations)) {
      for (const [name, v] of Object.entries(values)) {
        const got = PROFILES[profile as CostProfileName].values[name as CostParameterName];
        expect(Object.is(got, v), `${profile}.${name}: ${got} vs ${v}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBe(36);
  });
});

describe('loadProfile errors (file:line:col, path, message)', () => {
  it('accepts a renamed copy of a built-in', () => {
    const r = loadProfile(MINE, 'my.yaml');
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.profile.name).toBe('my-a100');
  });

  it('an unknown parameter, with did-you-mean (and no second error for the one it replaces)', () => {
    const text = editLine(MINE, 'parameters:', '  hostToDeviceBandwidth:', '  hostToDeviceBandwith:');
    const line = lineOf(text, '  hostToDeviceBandwith:');
    expect(errorsOf(text)).toEqual([
      `my.yaml:${line}:3: parameters.hostToDeviceBandwith: unknown key 'hostToDeviceBandwith' (did you mean 'hostToDeviceBandwidth'?)`,
    ]);
  });

  it('a missing parameter', () => {
    const lines = MINE.split('\n');
    const at = lineOf(MINE, '  copyEngineCount:') - 1;
    lines.splice(at, 7);
    expect(lines[at]).toBe('  uvmSmartCurveA:');
    const text = lines.join('\n');
    expect(errorsOf(text)).toEqual([
      // At the parameters map (its first key): the key is not there to point at.
      `my.yaml:${lineOf(text, '  pageWalkDescentNs:')}:3: parameters.copyEngineCount: missing required key 'copyEngineCount'`,
    ]);
  });

  it('a wrong unit', () => {
    const text = editLine(MINE, '  hostToDeviceBandwidth:', '    unit: GB/s', '    unit: GiB/s');
    const line = lineOf(text, '    unit: GiB/s', '  hostToDeviceBandwidth:');
    expect(errorsOf(text)).toEqual([
      `my.yaml:${line}:11: parameters.hostToDeviceBandwidth.unit: expected GB/s, found 'GiB/s' (the unit of hostToDeviceBandwidth is fixed: convert the value to GB/s)`,
    ]);
  });

  it('a fraction where a count is due, a negative time, a zero bandwidth, an out-of-range batch', () => {
    let text = editLine(MINE, '  copyEngineCount:', '    value: 2', '    value: 1.5');
    text = editLine(text, '  cpuFaultEntryNs:', '    value: 1000 # 1 us', '    value: -1');
    text = editLine(text, '  deviceToHostBandwidth:', '    value: 25.13', '    value: 0');
    text = editLine(text, '  faultBatchSize:', '    value: 256', '    value: 100000');
    const at = (param: string, value: string) => lineOf(text, value, `  ${param}:`);
    expect(errorsOf(text)).toEqual([
      `my.yaml:${at('cpuFaultEntryNs', '    value: -1')}:12: parameters.cpuFaultEntryNs.value: expected a number >= 0 (ns), found -1`,
      `my.yaml:${at('faultBatchSize', '    value: 100000')}:12: parameters.faultBatchSize.value: expected a number <= 65536 (count), found 100000`,
      `my.yaml:${at('deviceToHostBandwidth', '    value: 0')}:12: parameters.deviceToHostBandwidth.value: expected a number > 0 (GB/s), found 0`,
      `my.yaml:${at('copyEngineCount', '    value: 1.5')}:12: parameters.copyEngineCount.value: expected a whole number (count), found 1.5`,
    ]);
  });

  it('a bad kind, with did-you-mean', () => {
    const text = editLine(MINE, '  iommuFlushQueueEntries:', '    kind: published', '    kind: publishd');
    const line = lineOf(text, '    kind: publishd');
    expect(errorsOf(text)).toEqual([
      `my.yaml:${line}:11: parameters.iommuFlushQueueEntries.kind: expected one of measured, published, derived, assumed, found 'publishd' (did you mean 'published'?)`,
    ]);
  });

  it('a derived or assumed value whose source lacks its prefix, and a prefix that contradicts the kind', () => {
    let text = editLine(MINE, '  iommuFlushQueueEntries:', '    kind: published', '    kind: derived');
    text = editLine(text, '  iommuFlushQueueTimeoutNs:', '    kind: published', '    kind: assumed');
    text = editLine(text, '  pageWalkPerPteNs:', '    kind: assumed', '    kind: measured');
    const sourceLine = (param: string) => {
      const lines = text.split('\n');
      const i = lines.findIndex((l, k) => k >= lineOf(text, `  ${param}:`) && l.startsWith('    source:'));
      return i + 1;
    };
    expect(errorsOf(text)).toEqual([
      `my.yaml:${lineOf(text, '    kind: measured', '  pageWalkPerPteNs:')}:11: parameters.pageWalkPerPteNs.kind: expected kind assumed for a source starting with "assumption:", found 'measured'`,
      `my.yaml:${sourceLine('iommuFlushQueueEntries')}:13: parameters.iommuFlushQueueEntries.source: the source of a derived value starts with "derived:" and shows the arithmetic`,
      `my.yaml:${sourceLine('iommuFlushQueueTimeoutNs')}:13: parameters.iommuFlushQueueTimeoutNs.source: the source of an assumed value starts with "assumption:" and gives the reasoning`,
    ]);
  });

  it("a changed copy that keeps a built-in's name", () => {
    const text = editLine(A100, '  hostToDeviceBandwidth:', '    value: 25.13', '    value: 20');
    expect(errorsOf(text)).toEqual([
      "my.yaml:16:7: name: 'pcie4-a100' is a built-in profile and this file differs from it (parameters.hostToDeviceBandwidth): give the profile a name of its own, so results say which numbers they used",
    ]);
    // An unchanged copy is the built-in: fine.
    expect(loadProfile(A100, 'copy.yaml').ok).toBe(true);
  });

  it('a YAML syntax error, an unknown version, a file that is not a map, a bad name', () => {
    expect(errorsOf('version: 1\nname: [x\n')[0]).toMatch(/^my\.yaml:\d+:\d+: YAML: /);
    expect(errorsOf(MINE.replace('\nversion: 1\n', '\nversion: 2\n'))).toEqual([
      `my.yaml:${lineOf(MINE, 'version: 1')}:10: version: unsupported version 2: this hmmlab reads cost profile version 1 (a file for a newer hmmlab?)`,
    ]);
    expect(errorsOf('- a\n- b\n')).toEqual(['my.yaml:1:1: expected a cost profile (a map), found a list']);
    expect(errorsOf(MINE.replace('\nname: my-a100\n', '\nname: ../x\n'))).toEqual([
      `my.yaml:16:7: name: expected a profile name (letters, digits, '.', '_', '+', '-'; at most 64; no path), found "../x"`,
    ]);
  });
});

describe('profiles for library users', () => {
  it('parseCostProfile takes plain data; resolveProfile takes names and objects, refuses paths', () => {
    const data = { ...costProfileToData(PROFILES['pcie5-h100']), name: 'mine' };
    const r = parseCostProfile(data);
    expect(r.ok).toBe(true);
    if (r.ok) expect(resolveProfile(r.profile)).toBe(r.profile);
    expect(resolveProfile('gh200-c2c')).toBe(PROFILES['gh200-c2c']);
    expect(() => resolveProfile('./mine.yaml')).toThrow(/is a file: read it first/);
    const broken = {
      ...PROFILES['pcie4-a100'],
      values: { ...PROFILES['pcie4-a100'].values, faultBatchSize: 2.5 },
    };
    expect(() => resolveProfile(broken)).toThrow(
      "cost profile 'pcie4-a100': faultBatchSize: expected a whole number (count), found 2.5; faultBatchSize: parameters.faultBatchSize.value differs from values.faultBatchSize",
    );
  });
});

describe('recording a profile in a stored scenario text', () => {
  const scenario = 'version: 1\nprofile: ./mine.yaml\n';

  it('round-trips a file profile, built-in names and --set lines beside it', () => {
    const r = loadProfile(MINE, 'mine.yaml');
    if (!r.ok) throw new Error('mine.yaml should load');
    const text = withRecorded(scenario, {
      profile: { label: './mine.yaml', text: MINE },
      sets: ['seed=2'],
    });
    expect(text.startsWith(`${scenario}# hmmlab --profile ./mine.yaml\n#| # Cost profile pcie4-a100`)).toBe(
      true,
    );
    const back = recordedProfile(text, 'run 1');
    expect(back.ok).toBe(true);
    if (!back.ok || back.choice === undefined) return;
    expect(back.choice.label).toBe('./mine.yaml');
    expect(costProfileToData(back.choice.profile as never)).toEqual(costProfileToData(r.profile));
    expect(back.choice.text).toBe(MINE);

    const named = withRecorded('version: 1\n', { profile: { label: 'gh200-c2c' } });
    expect(named).toBe('version: 1\n# hmmlab --profile gh200-c2c\n');
    const n = recordedProfile(named, 'run 2');
    expect(n.ok && n.choice?.profile).toBe('gh200-c2c');
    expect(withRecorded('version: 1\n', {})).toBe('version: 1\n');
  });

  it('refuses a stored text that names a profile file but holds no copy, or a broken copy', () => {
    const config = { version: 1 as const, profile: './mine.yaml', buffers: [], workloads: [] };
    const r = applyRecordedProfile(config, scenario, 'run 7');
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(formatScenarioError(r.errors[0]!)).toBe(
        "run 7:1:1: profile: the scenario names the profile file './mine.yaml' but the stored text holds no copy of it, so the run cannot be simulated again exactly",
      );
    }
    const broken = `${scenario}# hmmlab --profile ./mine.yaml\n#| version: 1\n#| name: x\n`;
    const b = recordedProfile(broken, 'run 8');
    expect(b.ok).toBe(false);
    if (!b.ok) expect(b.errors[0]!.file).toBe('run 8 (recorded profile ./mine.yaml)');
    const unknown = recordedProfile(`${scenario}# hmmlab --profile nope\n`, 'run 9');
    expect(unknown.ok).toBe(false);
  });
});

describe('reading a profile file', () => {
  it('goes through the one input reader: UTF-16 and oversize files are refused with the file named', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { readProfileRef } = await import('./read.js');
    const dir = mkdtempSync(join(tmpdir(), 'hmmlab-profile-read-'));
    const where = { file: '--profile', line: 0, col: 0, path: [] };
    const u16 = join(dir, 'u16.yaml');
    writeFileSync(u16, Buffer.from([0xff, 0xfe, 0x76, 0x00]));
    const r = readProfileRef(u16, '.', where);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]!.message).toMatch(/UTF-16/);
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `# ${'x'.repeat(2 * 2 ** 20)}\n`);
    const b = readProfileRef(big, '.', where);
    expect(b.ok).toBe(false);
    if (!b.ok) expect(b.errors[0]!.message).toMatch(/over the limit/);
    const missing = readProfileRef(join(dir, 'none.yaml'), '.', where);
    expect(missing.ok).toBe(false);
    if (!missing.ok)
      expect(missing.errors[0]!.message).toMatch(/^cannot read the profile file .*none\.yaml: ENOENT$/);
  });
});
