/**
 * Rows stored before the end-to-end metrics (issue #15 item 3): keys renamed since (peerBytes,
 * p2pPages, hostPages, fallbacks) are read under their new names, fields added since are absent
 * (printed as '-', never a wrong 0), and `run` results stored without the RDMA stall and byte
 * counters give rows without them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { printableRow, storedMetricsRow } from '../../src/sim/compare.js';
import { ResultsStore } from '../../src/store/store.js';
import { cli } from './run-cli.js';

/** A `compare` row as hmmlab stored it before the end-to-end metrics. */
const OLD_ROW = {
  design: 'pagemap-p2p',
  endNs: 116_060_000,
  rdma: { put: { gbps: 35.19, p50Ns: 14_900, p90Ns: 14_900, p99Ns: 14_900, maxNs: 15_000 } },
  nicFaultCpuNs: 28_840_000,
  nicHmmCpuNs: 1,
  nicDesignCpuNs: 2,
  nicDmaMapCpuNs: 3,
  gpuFaultCpuNs: 58_180_000,
  hmmCalls: 10,
  hmmPages: 20,
  hmmRetries: 0,
  callbacks: 0,
  locks: 0,
  mapTypeQueries: 5,
  aliasStructPageBytes: 16 * 2 ** 20,
  gpuFaults: 262_144,
  nicFaults: 16_384,
  cpuFaults: 0,
  pagesToRam: 0,
  pagesToVram: 262_144,
  peerBytes: 0,
  workloadNs: { put: 30_000_000 },
  p2pPages: 262_144,
  hostPages: 0,
  fallbacks: 0,
  linkBytes: { 'pci:nic0.up': 1024 },
};

/** A `run` result as hmmlab stored it before RdmaMetrics had stall and byte counters. */
const OLD_RESULT = {
  profile: 'pcie5-h100',
  seed: 1,
  endNs: 1000,
  events: 3,
  devices: {},
  workloads: { put: { startNs: 0, endNs: 1000, pagesTouched: 0, cpuFaults: 0, faultNs: 0, computeNs: 0 } },
  links: {},
  cpu: { cores: 4, busyNs: 0, waitNs: 0 },
  nics: {},
  rdma: {
    put: {
      messages: 1,
      bytes: 4096,
      gbps: 4,
      latencyP50Ns: 1,
      latencyP90Ns: 1,
      latencyP99Ns: 1,
      latencyMaxNs: 1,
    },
  },
  unplugs: {},
  design: {
    name: 'upstream',
    callbacks: 0,
    locks: 0,
    mapTypeQueries: 0,
    p2pPages: 0,
    fallbackPages: 0,
    windowMisses: 0,
    aliasStructPageBytes: 0,
  },
};

describe('stored rows from before the end-to-end metrics', () => {
  it('come back under the new key names, in their place, without the fields added since', () => {
    const row = storedMetricsRow(OLD_ROW)!;
    expect(printableRow(row)).toBe(true);
    expect(row.gpuPeerBytes).toBe(0);
    expect(row.nicP2pPagesMapped).toBe(262_144);
    expect(row.nicHostPagesMapped).toBe(0);
    expect(row.nicP2pFallbacks).toBe(0);
    expect(Object.keys(row)).not.toContain('p2pPages');
    expect(Object.keys(row).indexOf('nicP2pPagesMapped')).toBe(Object.keys(OLD_ROW).indexOf('p2pPages'));
    expect(row.bytesToVram).toBeUndefined();
    expect(storedMetricsRow({ params: {}, row: OLD_ROW })).toEqual(row);
  });

  it('a stored run result without the RDMA stall counters gives a row without them, not NaN or 0', () => {
    const row = storedMetricsRow(OLD_RESULT)!;
    expect(printableRow(row)).toBe(true);
    const json = JSON.parse(JSON.stringify(row));
    expect(json.rdma.put).toEqual({ gbps: 4, p50Ns: 1, p90Ns: 1, p99Ns: 1, maxNs: 1 });
    expect(json).not.toHaveProperty('nicFaultStallNs');
    expect(json).not.toHaveProperty('nicP2pBytes');
    expect(json.gpuStallNs).toBe(0); // no GPUs: a sum of nothing
  });

  const dir = mkdtempSync(join(tmpdir(), 'hmmlab-old-rows-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('compare --runs prints them, with - for what they lack, and --json gives the new keys', async () => {
    const db = join(dir, 'old.db');
    const store = ResultsStore.open(db);
    const save = (design: string, metrics: unknown) =>
      store.saveRun({
        scenarioName: 'old',
        scenarioText: 'version: 1\n',
        design,
        seed: 1,
        hmmlabVersion: '0.0.9',
        startedAt: '2026-01-01T00:00:00.000Z',
        metrics,
      });
    const a = save('pagemap-p2p', OLD_ROW);
    const b = save('upstream', OLD_RESULT);
    store.close();
    const table = await cli('compare', '--runs', `${a},${b}`, '--db', db, '--wide');
    expect(table.err).toBe('');
    // The comparison's row (run id, design, figures), not the identity table's (run id, scenario).
    const line = table.out.split('\n').find((l) => new RegExp(`^ *${a} +pagemap-p2p `).test(l))!;
    const cells = line.trim().split(/ +/);
    expect(cells).toContain('262144'); // NIC P2P pages mapped, stored as p2pPages
    expect(cells.filter((c) => c === '-').length).toBeGreaterThan(3); // bytes, stalls: not stored
    const json = await cli('compare', '--runs', `${a},${b}`, '--db', db, '--json');
    const rows = JSON.parse(json.out);
    expect(rows[0].nicP2pPagesMapped).toBe(262_144);
    expect(rows[0]).not.toHaveProperty('p2pPages');
  });
});
