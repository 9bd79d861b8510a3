import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as h from '../index.js';
import { claimVerdict, rdmaSummary, STUDY_PLATFORMS, seedScenario } from './design-study.js';

const MiB = 2 ** 20;

describe('the design study (docs/designs.md) on a 32 MiB buffer', () => {
  const small = (name: string) => {
    const p = STUDY_PLATFORMS.find((x) => x.name === name)!;
    return h.compare(seedScenario(p, { bufferBytes: 32 * MiB, rounds: 1 }), h.DESIGN_NAMES, 1);
  };

  it('the platforms get the map types the kernel p2pdma rules give them', () => {
    const t = (name: string) => h.PciTopology.fromSpec(STUDY_PLATFORMS.find((x) => x.name === name)!.pci);
    expect(t('same-switch').p2pdmaMapType('gpu0', 'nic0')).toBe('BUS_ADDR');
    expect(t('amd-root-ports').p2pdmaMapType('gpu0', 'nic0')).toBe('THRU_HOST_BRIDGE');
    expect(t('intel-not-allowlisted').p2pdmaMapType('gpu0', 'nic0')).toBe('NOT_SUPPORTED');
  });

  it('P2P designs beat migration on bandwidth where a path exists, and tie where none does', () => {
    const sw = claimVerdict(small('same-switch'));
    expect(sw.bandwidthRatio).toBeGreaterThan(1.5);
    expect(sw.p99Ratio).toBeGreaterThan(10);
    const blocked = claimVerdict(small('intel-not-allowlisted'));
    expect(blocked.bandwidthRatio).toBeCloseTo(1, 1);
    expect(blocked.verdict).toBe('refuted');
  });

  it('every P2P design moves the same pages; they differ in callbacks and alias memory', () => {
    const rows = small('same-switch');
    const p2p = rows.filter((r) => r.design !== 'upstream');
    for (const r of p2p) {
      expect(r.p2pPages).toBe(p2p[0]!.p2pPages);
      expect(r.pagesToRam).toBe(0);
      expect(rdmaSummary(r).gbps).toBeGreaterThan(rdmaSummary(rows[0]!).gbps);
    }
    const by = Object.fromEntries(rows.map((r) => [r.design, r]));
    expect(by['rfc-callback']!.callbacks).toBe(by['rfc-callback']!.p2pPages);
    expect(by['pagemap-p2p']!.callbacks).toBe(0);
    expect(by['owner-registry']!.aliasStructPageBytes).toBe(0);
    expect(by['pagemap-p2p']!.aliasStructPageBytes).toBeGreaterThan(0);
  });

  it('docs/designs.md is generated (by scripts/gen-designs.mjs) and states a verdict', () => {
    const doc = readFileSync(new URL('../../docs/designs.md', import.meta.url), 'utf8');
    expect(doc).toContain('node scripts/gen-designs.mjs');
    expect(doc).toMatch(/## Verdict/);
    for (const p of STUDY_PLATFORMS) expect(doc).toContain(`### ${p.name}`);
  });
});
