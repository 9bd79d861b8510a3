import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance } from '../util/did-you-mean.js';
import {
  modelledValidationBandwidth,
  TRANSFER_VALIDATION_POINTS,
  UNPARAMETERISED_ANCHORS,
} from './cost-anchors.js';
import {
  BYTES_PER_NS_PER_GIB_S,
  COST_KINDS,
  COST_PARAMETER_NAMES,
  type CostProfile,
  DEFAULT_PROFILE_NAME,
  formatNumber,
  getProfile,
  isProfileName,
  PROFILES,
  profileNames,
  TRANSFER_DIRECTIONS,
  transferBandwidth,
  transferTimeNs,
  withOverrides,
} from './costs.js';
import { renderCostsMarkdown } from './costs-doc.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

function within(actual: number, expected: number, fraction: number): boolean {
  return Math.abs(actual - expected) <= fraction * Math.abs(expected);
}

const allProfiles = (): CostProfile[] => profileNames().map((n) => PROFILES[n]);

describe('cost parameters', () => {
  it('has the four named profiles, the default among them', () => {
    expect(profileNames()).toEqual(['pcie4-a100', 'pcie5-h100', 'gh200-c2c', 'uvmsmart-gtx1080ti']);
    expect(isProfileName(DEFAULT_PROFILE_NAME)).toBe(true);
    expect(Object.keys(PROFILES).sort()).toEqual([...profileNames()].sort());
  });

  it('gives every parameter of every profile a value, unit, kind, conditions and source', () => {
    for (const profile of allProfiles()) {
      expect(Object.keys(profile.parameters).sort()).toEqual([...COST_PARAMETER_NAMES].sort());
      expect(Object.keys(profile.values).sort()).toEqual([...COST_PARAMETER_NAMES].sort());
      for (const name of COST_PARAMETER_NAMES) {
        const p = profile.parameters[name];
        const where = `${profile.name}.${name}`;
        expect(p.name, where).toBe(name);
        expect(p.unit.trim(), where).not.toBe('');
        expect(p.conditions.trim(), where).not.toBe('');
        expect(p.source.trim(), where).not.toBe('');
        expect(COST_KINDS, where).toContain(p.kind);
        expect(profile.values[name], where).toBe(p.value);
      }
    }
  });

  it('labels derived and assumed numbers in their source, and cites the others', () => {
    for (const profile of allProfiles()) {
      for (const name of COST_PARAMETER_NAMES) {
        const p = profile.parameters[name];
        const where = `${profile.name}.${name}: ${p.source}`;
        if (p.kind === 'assumed') expect(p.source.startsWith('assumption:'), where).toBe(true);
        else if (p.kind === 'derived') expect(p.source.startsWith('derived:'), where).toBe(true);
        else expect(p.source, where).toMatch(/https?:\/\/|\(anchors\.md|kernel\.md/);
      }
    }
  });

  it('has finite, non-negative values, whole numbers for counts and bytes', () => {
    for (const profile of allProfiles()) {
      for (const name of COST_PARAMETER_NAMES) {
        const p = profile.parameters[name];
        const where = `${profile.name}.${name} = ${p.value}`;
        expect(Number.isFinite(p.value), where).toBe(true);
        expect(p.value, where).toBeGreaterThanOrEqual(0);
        if (p.unit === 'count' || p.unit === 'B') expect(Number.isInteger(p.value), where).toBe(true);
      }
    }
  });

  it('freezes the built-in profiles', () => {
    const p = PROFILES['pcie5-h100'];
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.values)).toBe(true);
    expect(Object.isFrozen(p.parameters.faultBatchSize)).toBe(true);
  });

  it('carries the published anchors', () => {
    const base = PROFILES['pcie4-a100'].values;
    expect(base.faultBatchSize).toBe(256);
    expect(base.faultBatchesPerService).toBe(20);
    expect(base.faultBufferEntries).toBe(512);
    expect(base.structPageBytes).toBe(64);
    expect(base.vaBlockBytes).toBe(2 * MiB);
    expect(base.pcieGen3x16Bandwidth).toBe(15.7);
    expect(base.pcieGen4x16Bandwidth).toBe(31.5);
    expect(base.pcieGen5x16Bandwidth).toBe(63);
    expect(base.nvlinkC2cBandwidth).toBe(450);
    expect(base.gpuFaultBatchFixedNs).toBe(50_000);
    expect(base.gpuFaultPerPageNs).toBe(1000);
    expect(within(base.pageWalkDescentNs, 333.3, 0.01)).toBe(true);
    expect(base.dmaMapIommuPerPageNs).toBe(125);
    const uvm = PROFILES['uvmsmart-gtx1080ti'].values;
    expect(within(uvm.gpuFaultPerPageNs, 45_000, 0.001)).toBe(true);
    expect(uvm.gpuFaultBatchFixedNs).toBe(0);
    expect(uvm.deviceMemoryBytes).toBe(GiB);
  });
});

describe('transfer model', () => {
  it('reproduces the UVMSmart curve at 4 KiB, 64 KiB and 2 MiB within 5 %', () => {
    const p = getProfile('uvmsmart-gtx1080ti');
    const cases: [number, number, number][] = [
      // bytes, GiB/s (the curve's unit), published time in ns
      [4 * KiB, 2.17, 1800],
      [64 * KiB, 10.4, 5900],
      [2 * MiB, 5.97, 327_000],
    ];
    for (const [bytes, gibps, ns] of cases) {
      for (const dir of ['hostToDevice', 'deviceToHost'] as const) {
        const bw = transferBandwidth(p, bytes, dir) / BYTES_PER_NS_PER_GIB_S;
        expect(within(bw, gibps, 0.05), `${bytes} B ${dir}: ${bw} GiB/s`).toBe(true);
        const t = transferTimeNs(p, bytes, dir);
        expect(within(t, ns, 0.05), `${bytes} B ${dir}: ${t} ns`).toBe(true);
      }
    }
  });

  it('halves the UVMSmart bandwidth from 2 MiB on', () => {
    const p = PROFILES['uvmsmart-gtx1080ti'];
    const below = transferBandwidth(p, 2 * MiB - 4 * KiB, 'hostToDevice');
    const at = transferBandwidth(p, 2 * MiB, 'hostToDevice');
    expect(within(at, below / 2, 0.01)).toBe(true);
  });

  it('gives a large pcie5-h100 copy 35.2 GB/s H2D and 52.8 GB/s D2H within 5 %', () => {
    const p = getProfile('pcie5-h100');
    expect(within(transferBandwidth(p, GiB, 'hostToDevice'), 35.2, 0.05)).toBe(true);
    expect(within(transferBandwidth(p, GiB, 'deviceToHost'), 52.8, 0.05)).toBe(true);
    expect(within(GiB / transferTimeNs(p, GiB, 'hostToDevice'), 35.2, 0.05)).toBe(true);
  });

  it('reproduces every published validation point within 5 %', () => {
    for (const point of TRANSFER_VALIDATION_POINTS) {
      const bw = modelledValidationBandwidth(point);
      expect(
        within(bw, point.publishedBandwidth, 0.05),
        `${point.profile} ${point.direction} ${point.bytes}`,
      ).toBe(true);
    }
  });

  it('is consistent: time = bytes / bandwidth, monotone in size, 0 for an empty transfer', () => {
    const sizes = [1, 512, 4 * KiB, 60 * KiB, 64 * KiB, MiB, 2 * MiB - 1, 2 * MiB, 64 * MiB, GiB];
    for (const p of allProfiles()) {
      for (const dir of TRANSFER_DIRECTIONS) {
        if (dir === 'peerLink' && p.values.peerLinkBandwidth === 0) continue;
        if (dir === 'hostBridgeP2p' && p.values.hostBridgeP2pBandwidth === 0) continue;
        expect(transferTimeNs(p, 0, dir)).toBe(0);
        expect(transferBandwidth(p, 0, dir)).toBe(0);
        let last = 0;
        for (const bytes of sizes) {
          const t = transferTimeNs(p, bytes, dir);
          expect(t, `${p.name} ${dir} ${bytes}`).toBeGreaterThan(0);
          expect(within(t, bytes / transferBandwidth(p, bytes, dir), 1e-12)).toBe(true);
          // Time never decreases with size, except the UVMSmart curve's halving step, which only adds.
          expect(t, `${p.name} ${dir} ${bytes}`).toBeGreaterThanOrEqual(last);
          last = t;
        }
      }
    }
  });

  it('throws for a path the profile does not have and for a bad size', () => {
    expect(() => transferTimeNs(PROFILES['uvmsmart-gtx1080ti'], MiB, 'peerLink')).toThrow(/no peerLink path/);
    expect(() => transferTimeNs(PROFILES['gh200-c2c'], MiB, 'hostBridgeP2p')).toThrow(
      /hostBridgeP2pBandwidth = 0/,
    );
    expect(() => transferTimeNs(PROFILES['pcie4-a100'], -1, 'hostToDevice')).toThrow(RangeError);
    expect(() => transferBandwidth(PROFILES['pcie4-a100'], Number.NaN, 'hostToDevice')).toThrow(RangeError);
  });

  it('charges a device-local copy at half the memory bandwidth', () => {
    const p = PROFILES['pcie5-h100'];
    expect(within(transferBandwidth(p, GiB, 'deviceLocal'), p.values.deviceMemoryBandwidth / 2, 0.05)).toBe(
      true,
    );
  });
});

describe('profile lookup and overrides', () => {
  it("refuses an override outside the parameter's catalogue range, as a profile file's value", () => {
    const p = getProfile('pcie4-a100');
    expect(withOverrides(p, { deviceToHostBandwidth: 0 }).error).toBe(
      'cost parameter "deviceToHostBandwidth": expected a number > 0 (GB/s), found 0',
    );
    expect(withOverrides(p, { prefetchThresholdPercent: 500 }).error).toMatch(/<= 100/);
    expect(withOverrides(p, { prefetchThresholdPercent: 50 }).error).toBeUndefined();
  });

  it('getProfile returns the frozen profile and throws with the valid names', () => {
    expect(getProfile('gh200-c2c')).toBe(PROFILES['gh200-c2c']);
    expect(() => getProfile('pcie5-h10')).toThrow(
      'unknown cost profile "pcie5-h10" (did you mean "pcie5-h100"?); valid profiles: pcie4-a100, pcie5-h100, gh200-c2c, uvmsmart-gtx1080ti',
    );
    expect(() => getProfile('toString')).toThrow(/valid profiles: pcie4-a100/);
    expect(isProfileName('toString')).toBe(false);
  });

  it('applies valid overrides to a copy and marks them assumed', () => {
    const base = PROFILES['pcie4-a100'];
    const r = withOverrides(base, { gpuFaultBatchFixedNs: 20_000, faultBatchSize: 128 });
    expect(r.error).toBeUndefined();
    const p = r.profile!;
    expect(p.values.gpuFaultBatchFixedNs).toBe(20_000);
    expect(p.values.faultBatchSize).toBe(128);
    expect(p.parameters.faultBatchSize.kind).toBe('assumed');
    expect(p.parameters.faultBatchSize.source.startsWith('assumption:')).toBe(true);
    expect(p.parameters.faultBatchSize.note).toMatch(/replaces 256 count/);
    expect(p.overrides).toEqual({ gpuFaultBatchFixedNs: 20_000, faultBatchSize: 128 });
    expect(p.values.hostToDeviceBandwidth).toBe(base.values.hostToDeviceBandwidth);
    expect(base.values.faultBatchSize).toBe(256);
    expect(Object.isFrozen(p.values)).toBe(true);
    // Overrides stack.
    const again = withOverrides(p, { hostToDeviceBandwidth: 20 });
    expect(again.profile?.overrides).toEqual({
      gpuFaultBatchFixedNs: 20_000,
      faultBatchSize: 128,
      hostToDeviceBandwidth: 20,
    });
    // And they reach the transfer model.
    expect(within(transferBandwidth(again.profile!, GiB, 'hostToDevice'), 20, 0.01)).toBe(true);
  });

  it('accepts 0 and normalises -0', () => {
    const r = withOverrides(PROFILES['pcie5-h100'], { peerLinkBandwidth: -0 });
    expect(Object.is(r.profile?.values.peerLinkBandwidth, 0)).toBe(true);
  });

  it('rejects unknown names with a suggestion', () => {
    const r = withOverrides(PROFILES['pcie4-a100'], { gpuFaultBatchFixedNS: 1 });
    expect(r.profile).toBeUndefined();
    expect(r.error).toBe(
      'unknown cost parameter "gpuFaultBatchFixedNS"; did you mean "gpuFaultBatchFixedNs"?',
    );
    expect(withOverrides(PROFILES['pcie4-a100'], { hostToDeviceBandwith: 1 }).error).toMatch(
      /did you mean "hostToDeviceBandwidth"/,
    );
    expect(withOverrides(PROFILES['pcie4-a100'], { frobnicate: 1 }).error).toBe(
      'unknown cost parameter "frobnicate"',
    );
  });

  it('rejects negative, non-finite, non-numeric and fractional-count values, listing all problems', () => {
    const bad = { hostToDeviceBandwidth: -1, dmaSetupLatencyNs: Number.NaN, pageWalkPerPteNs: Infinity };
    const r = withOverrides(PROFILES['pcie4-a100'], bad);
    expect(r.error).toContain('"hostToDeviceBandwidth" must be a finite, non-negative number (got -1)');
    expect(r.error).toContain('"dmaSetupLatencyNs" must be a finite, non-negative number (got NaN)');
    expect(r.error).toContain('"pageWalkPerPteNs" must be a finite, non-negative number (got Infinity)');
    const notNumber = withOverrides(PROFILES['pcie4-a100'], { faultBatchSize: '256' as unknown as number });
    expect(notNumber.error).toContain('(got "256")');
    expect(withOverrides(PROFILES['pcie4-a100'], { faultBatchSize: 2.5 }).error).toContain(
      'must be a whole number',
    );
  });

  it('suggests by edit distance', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(didYouMean('pcie4-a10', profileNames())).toBe('pcie4-a100');
    expect(didYouMean('PCIE5-H100', profileNames())).toBe('pcie5-h100');
    expect(didYouMean('zzz', profileNames())).toBeUndefined();
  });
});

describe('docs/costs.md', () => {
  const docPath = fileURLToPath(new URL('../../docs/costs.md', import.meta.url));

  it('is exactly what scripts/gen-costs-doc.mjs generates', () => {
    const onDisk = readFileSync(docPath, 'utf8');
    // If this fails, run `node scripts/gen-costs-doc.mjs` and commit docs/costs.md.
    expect(onDisk === renderCostsMarkdown()).toBe(true);
  });

  it('agrees with the script itself (--check)', () => {
    const script = fileURLToPath(new URL('../../scripts/gen-costs-doc.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('lists every parameter, every profile and every unparameterised anchor', () => {
    const md = renderCostsMarkdown();
    for (const name of COST_PARAMETER_NAMES) expect(md).toContain(`\`${name}\``);
    for (const name of profileNames()) expect(md).toContain(`### \`${name}\``);
    for (const a of UNPARAMETERISED_ANCHORS) expect(md).toContain(a.quantity.replace(/\|/g, '\\|'));
    expect(md.startsWith('<!-- Generated by `node scripts/gen-costs-doc.mjs`')).toBe(true);
  });

  it('formats numbers without a locale', () => {
    expect(formatNumber(10_000_000)).toBe('10,000,000');
    expect(formatNumber(333.3333333)).toBe('333.33');
    expect(formatNumber(0.07292)).toBe('0.07292');
    expect(formatNumber(0)).toBe('0');
    expect(formatNumber(-1234.5)).toBe('-1,234.5');
  });
});
