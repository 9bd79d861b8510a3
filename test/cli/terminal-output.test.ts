/**
 * Output a person reads (issue 18): comparison tables that fit the terminal ($COLUMNS), runs
 * that say which id they were stored under, `runs` and `compare --runs` that tell runs apart
 * (seed, overrides) and give their key figures, byte counts as whole numbers, and a selftest
 * summary that fits on a screen.
 */
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { aPoint } from '../../src/cli/commands/sweep.js';
import { loadScenario } from '../../src/scenario/load.js';
import { metricsDifference } from '../../src/serve/resimulate.js';
import { compareRow } from '../../src/sim/compare.js';
import { simulate } from '../../src/sim/simulate.js';
import type { StoredRun } from '../../src/store/store.js';
import { loadSweepFile } from '../../src/sweep/index.js';
import { smallRdma } from '../fixtures/scenarios.js';
import { cli } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'hmmlab-terminal-'));
/** Two RDMA workloads (put, get), as the seed scenario has: a comparison two groups wide. */
const scenario = join(dir, 'two-rdma.yaml');
writeFileSync(
  scenario,
  smallRdma({
    name: 'two-rdma',
    after:
      '  - { kind: rdma, name: get, nic: nic0, buffer: buf, op: read, pattern: sequential, messageSize: 64KiB, messages: 256, queueDepth: 4, after: put }\n',
  }),
);

let columns: string | undefined;
beforeEach(() => {
  columns = process.env.COLUMNS;
});
afterEach(() => {
  if (columns === undefined) delete process.env.COLUMNS;
  else process.env.COLUMNS = columns;
  vi.restoreAllMocks();
});

const widest = (text: string) => Math.max(...text.split('\n').map((l) => [...l].length));

/** Every numeric field whose key names bytes, with its path, anywhere in `v`. */
function byteFields(v: unknown, path = ''): [string, number][] {
  if (v !== null && typeof v === 'object')
    return Object.entries(v).flatMap(([k, x]) => byteFields(x, path === '' ? k : `${path}.${k}`));
  return typeof v === 'number' && /bytes/i.test(path) ? [[path, v]] : [];
}

describe('compare fitted to the terminal', () => {
  it('COLUMNS=120: every line fits, split per RDMA workload and the whole run, no rules between rows', async () => {
    process.env.COLUMNS = '120';
    const db = join(dir, 'compare.db');
    const r = await cli('compare', scenario, '--db', db, '--legend');
    expect(r.code, r.err).toBe(0);
    expect(widest(r.out)).toBeLessThanOrEqual(120);
    // No box drawing: header lines, then a line per design.
    expect(r.out).not.toMatch(/[│─┼┌└]/);
    const blocks = r.out.split('\n\n');
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    // Every block names the design of each row.
    for (const b of blocks.slice(0, -1)) expect(b).toMatch(/^upstream /m);
    // Numbers right-aligned: a column's cells end where its unit does.
    const [, units, ...rows] = blocks[0]!.split('\n');
    const end = units!.indexOf('GB/s') + 'GB/s'.length;
    for (const row of rows.slice(0, 5)) expect(row[end - 1]).toMatch(/\d/);
    // The legend wraps to the width too.
    expect(r.out).toMatch(/^ {2}<rdma> GB\/s +RDMA workload/m);
    // The ids it stored, on stderr.
    expect(r.err).toMatch(/^stored runs 1,2,3,4,5 in .*compare\.db$/m);
  });

  it('no COLUMNS and not a terminal: one block, however wide', async () => {
    delete process.env.COLUMNS;
    const r = await cli('compare', scenario, '--no-store', '--wide', '--designs', 'upstream');
    expect(r.code, r.err).toBe(0);
    const table = r.out.split('\n--legend')[0]!;
    expect(table.split('\n\n')).toHaveLength(1);
    expect(widest(table)).toBeGreaterThan(200);
    expect(r.err).toBe('');
  });
});

describe('runs that identify themselves', () => {
  it('run says the id it stored, on stderr (stdout stays one JSON document); runs and compare --runs show id, seed, overrides and figures', async () => {
    process.env.COLUMNS = '200';
    const db = join(dir, 'runs.db');
    const a = await cli('run', scenario, '--db', db, '--json');
    expect(a.code, a.err).toBe(0);
    expect(() => JSON.parse(a.out)).not.toThrow();
    expect(a.err).toMatch(/^stored run 1 in .*runs\.db\n$/);
    const b = await cli(
      'run',
      scenario,
      '--db',
      db,
      '--seed',
      '9',
      '--set',
      'devices.gpus.gpu0.faultBatchSize=64',
    );
    expect(b.err).toMatch(/^stored run 2 in /);

    const runs = await cli('runs', '--db', db);
    expect(runs.code, runs.err).toBe(0);
    expect(runs.out).toMatch(/^run +scenario +design +seed +overrides +ms +GB\/s +started +hmmlab$/m);
    expect(runs.out).toMatch(/^ {2}1 +two-rdma +upstream +3 +- +\d+\.\d\d +\d+\.\d\d /m);
    expect(runs.out).toMatch(/^ {2}2 +two-rdma +upstream +9 +devices\.gpus\.gpu0\.faultBatchSize=64 +\d/m);
    expect(runs.out).toMatch(/^2 runs$/m);

    const json = JSON.parse((await cli('runs', '--db', db, '--json')).out);
    expect(json[1]).toMatchObject({ id: 2, seed: 9, overrides: ['devices.gpus.gpu0.faultBatchSize=64'] });
    expect(json[1].endNs).toBeGreaterThan(0);
    expect(json[1].rdmaGbps).toBeGreaterThan(0);

    const both = await cli('compare', '--runs', '1,2', '--db', db);
    expect(both.code, both.err).toBe(0);
    expect(both.out).toMatch(/^ {2}2 +two-rdma +upstream +9 +devices\.gpus\.gpu0\.faultBatchSize=64$/m);
    // The comparison's rows carry the run id beside the design.
    expect(both.out).toMatch(/^ {2}1 +upstream +\d/m);
    expect(both.out).toMatch(/^ {2}2 +upstream +\d/m);
    const bothJson = JSON.parse((await cli('compare', '--runs', '1,2', '--db', db, '--json')).out);
    expect(bothJson[1]).toMatchObject({
      id: 2,
      scenario: 'two-rdma',
      design: 'upstream',
      seed: 9,
      overrides: ['devices.gpus.gpu0.faultBatchSize=64'],
    });
  });
});

describe('clean numbers', () => {
  it('byte counts in JSON are whole numbers, under every design', async () => {
    const r = await cli('compare', scenario, '--no-store', '--json');
    const fields = byteFields(JSON.parse(r.out));
    expect(fields.length).toBeGreaterThan(20);
    for (const [path, v] of fields) expect(Number.isInteger(v), `${path} = ${v}`).toBe(true);
    const run = await cli('run', scenario, '--no-store', '--json', '--design', 'pagemap-p2p');
    for (const [path, v] of byteFields(JSON.parse(run.out)))
      expect(Number.isInteger(v), `${path} = ${v}`).toBe(true);
  });

  it('a sweep is a 4-point, an 8-point, an 11-point, an 18-point, an 80-point, a 180-point sweep', () => {
    expect([1, 4, 8, 11, 12, 18, 80, 180, 800, 1100, 11000, 18000, 110000].map(aPoint)).toEqual([
      'a 1-point',
      'a 4-point',
      'an 8-point',
      'an 11-point',
      'a 12-point',
      'an 18-point',
      'an 80-point',
      'a 180-point',
      'an 800-point',
      'a 1100-point',
      'an 11000-point',
      'an 18000-point',
      'a 110000-point',
    ]);
  });

  it('the shipped sweeps are named for what they vary, and one varies the platform', async () => {
    const varied = new Map<string, string[]>();
    for (const f of readdirSync('sweeps').filter((n) => n.endsWith('.yaml'))) {
      const r = await loadSweepFile(join('sweeps', f));
      if (!r.ok) throw new Error(`${f}: ${JSON.stringify(r.errors)}`);
      const keys = new Set(
        r.points.flatMap((p) => Object.keys(p.params)).filter((k) => k !== 'design' && k !== 'seed'),
      );
      varied.set(f, [...keys]);
    }
    expect(Object.fromEntries(varied)).toEqual({
      'rdma-designs-by-fault-batch.yaml': ['gpus.gpu0.faultBatchSize'],
      'rdma-designs-by-cpu-vendor.yaml': ['platform.pci.cpu.vendor'],
    });
  });

  it('a run stored with the float link bytes of before still matches the run simulated again', () => {
    const loaded = loadScenario(smallRdma({ name: 'old-bytes' }), 'old-bytes.yaml');
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
    const row = compareRow(simulate({ ...loaded.config, design: 'pagemap-p2p' }));
    expect(Object.keys(row.linkBytes).length).toBeGreaterThan(0);
    const stored = (shift: number) =>
      ({
        id: 1,
        hmmlabVersion: '0.1.0',
        scenarioHash: 'x',
        metrics: {
          ...row,
          linkBytes: Object.fromEntries(Object.entries(row.linkBytes).map(([k, v]) => [k, v + shift])),
        },
      }) as unknown as StoredRun;
    expect(metricsDifference(stored(-0.00002), row, '0.1.0')).toBeNull();
    expect(metricsDifference(stored(1), row, '0.1.0')).toMatch(/linkBytes/);
  });
});
