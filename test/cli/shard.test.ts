/**
 * `hmmlab sweep --shard i/n` across "machines" (separate results stores), then `hmmlab merge`:
 * the shards run disjoint sets of points that together are the whole sweep, and the merged store
 * holds what one unsharded sweep stores. Bad --shard values exit 2 with a message.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cli } from './run-cli.js';

afterEach(() => vi.restoreAllMocks());

const scenario = `version: 1
name: shard-test
profile: pcie4-a100
seed: 1
platform: { ram: 256MiB }
devices:
  gpus: [{ name: gpu0, vram: 64MiB }]
buffers: [{ name: buf, size: 4MiB }]
workloads:
  - { kind: cpu, name: init, buffer: buf, op: write, pattern: sequential }
  - { kind: gpu, name: read, gpu: gpu0, buffer: buf, op: read, pattern: random, after: init }
`;
const sweep = `version: 1
scenario: s.yaml
designs: [upstream, pagemap-p2p]
seeds: [1, 2, 3]
grid:
  "gpus.gpu0.faultBatchSize": [64, 256]
`;

interface Point {
  index: number;
  design: string;
  seed: number;
  params: Record<string, unknown>;
}
const key = (p: { design: string; seed: number; params?: unknown }) => `${p.design}/${p.seed}`;

describe('hmmlab sweep --shard and hmmlab merge', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hmmlab-shard-'));
  writeFileSync(join(dir, 's.yaml'), scenario);
  const file = join(dir, 'sweep.yaml');
  writeFileSync(file, sweep);

  it('three shards run disjoint points that make up the sweep; merge gives the whole sweep', async () => {
    const whole = await cli('sweep', file, '--jobs', '2', '--db', join(dir, 'whole.db'), '--json');
    expect(whole.code, whole.err).toBe(0);
    const all = JSON.parse(whole.out) as Point[];
    expect(all).toHaveLength(12);

    const seen: Point[] = [];
    const dbs: string[] = [];
    for (let i = 1; i <= 3; i++) {
      const db = join(dir, `shard-${i}.db`);
      dbs.push(db);
      const r = await cli('sweep', file, '--shard', `${i}/3`, '--jobs', '1', '--db', db, '--json');
      expect(r.code, r.err).toBe(0);
      const pts = JSON.parse(r.out) as Point[];
      expect(pts).toHaveLength(4);
      for (const p of pts) expect(p.index % 3).toBe(i - 1);
      seen.push(...pts);
    }
    // Disjoint, and together every point of the sweep with the same results.
    expect(new Set(seen.map((p) => p.index)).size).toBe(12);
    expect(seen.sort((a, b) => a.index - b.index)).toEqual(all);

    const out = join(dir, 'merged.db');
    const m = await cli('merge', out, ...dbs, '--json');
    expect(m.code, m.err).toBe(0);
    const report = JSON.parse(m.out);
    expect(report.runsCopied).toBe(12);
    expect(report.runsSkipped).toBe(0);
    const merged = JSON.parse((await cli('runs', '--db', out, '--json')).out) as Point[];
    const single = JSON.parse((await cli('runs', '--db', join(dir, 'whole.db'), '--json')).out) as Point[];
    expect(merged).toHaveLength(12);
    expect(merged.map(key).sort()).toEqual(single.map(key).sort());

    // A second merge of the same shards copies nothing; the table says so.
    const again = await cli('merge', out, ...dbs);
    expect(again.code, again.err).toBe(0);
    expect(again.out).toContain('0 runs copied, 12 duplicates skipped');
  }, 120_000);

  it('the text output names the shard', async () => {
    const r = await cli('sweep', file, '--shard', '2/5', '--jobs', '1', '--db', join(dir, 'text.db'));
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(
      /3 points \(shard 2\/5 of a 12-point sweep\): 3 stored, 0 skipped as already stored, 0 failed, in .*text\.db\n/,
    );
  }, 60_000);

  it('bad --shard values exit 2 with a clear message and run nothing', async () => {
    for (const bad of ['0/3', '4/3', '1/0', 'two/3', '1', '-1/3', '1.5/3']) {
      const db = join(dir, 'bad.db');
      const r = await cli('sweep', file, '--shard', bad, '--db', db);
      expect(r.code, bad).toBe(2);
      expect(r.err, bad).toMatch(/^hmmlab: --shard: /);
      expect(r.err, bad).toContain(`'${bad}'`);
      expect(r.err, bad).not.toMatch(/\n\s+at /);
      expect(r.out, bad).toBe('');
    }
  });
});
