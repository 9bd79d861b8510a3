import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cli } from '../../test/cli/run-cli.js';
import { smallRdma } from '../../test/fixtures/scenarios.js';

afterEach(() => vi.restoreAllMocks());

const small = smallRdma({ name: 'cli-test' });

describe('hmmlab command line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hmmlab-cli-'));
  const file = join(dir, 's.yaml');
  writeFileSync(file, small);
  const db = join(dir, 'results.db');

  it('compare --json gives one row per design with the stable keys', async () => {
    const r = await cli('compare', file, '--designs', 'upstream,pagemap-p2p', '--json', '--db', db);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.out);
    expect(rows.map((x: { design: string }) => x.design)).toEqual(['upstream', 'pagemap-p2p']);
    for (const k of [
      'rdma',
      'pagesToRam',
      'pagesToVram',
      'bytesToRam',
      'bytesToVram',
      'nicP2pPagesMapped',
      'nicP2pBytes',
      'gpuStallNs',
      'nicFaultStallNs',
      'callbacks',
      'aliasStructPageBytes',
      'linkBytes',
    ]) {
      expect(rows[1]).toHaveProperty(k);
    }
    expect(rows[1].nicP2pPagesMapped).toBe(4096);
    expect(rows[1]).not.toHaveProperty('p2pPages'); // renamed: what it counts is the NIC's mappings
    expect(rows[0].pagesToRam).toBe(4096);
    expect(rows[0].bytesToRam).toBe(4096 * 4096);
  });

  it('run is deterministic: the same scenario and seed print the same bytes', async () => {
    const a = await cli('run', file, '--json', '--no-store');
    const b = await cli('run', file, '--json', '--no-store');
    expect(a.code).toBe(0);
    expect(a.out).toBe(b.out);
    expect(JSON.parse(a.out).seed).toBe(3);
  });

  it('bad input exits 2 with file:line:col and no stack trace', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, small.replace('vram: 256MiB', 'vrma: 256MiB'));
    const r = await cli('compare', bad, '--db', db);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /bad\.yaml:9:\d+: devices\.gpus\[0\]\.vrma: unknown key 'vrma' \(did you mean 'vram'\?\)/,
    );
    expect(r.err).not.toMatch(/\n\s+at /);
    expect((await cli('compare', join(dir, 'missing.yaml'), '--db', db)).code).toBe(2);
    expect((await cli('compare', file, '--designs', 'nope', '--db', db)).code).toBe(2);
    expect((await cli('run', file, '--seed', '-1', '--db', db)).code).toBe(2);
    expect((await cli('sweep', join(dir, 'missing-sweep.yaml'), '--db', db)).code).toBe(2);
    expect((await cli('frobnicate')).code).toBe(2);
  });

  it('sweep runs every point on workers and stores each run once; runs lists them', async () => {
    const sdb = join(dir, 'sweep.db');
    const sweep = join(dir, 'sweep.yaml');
    writeFileSync(sweep, 'version: 1\nscenario: s.yaml\ndesigns: [upstream, pagemap-p2p]\nseeds: [1, 2]\n');
    const r = await cli('sweep', sweep, '--jobs', '2', '--db', sdb, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toHaveLength(4);
    const runs = await cli('runs', '--db', sdb, '--json');
    expect(runs.code).toBe(0);
    const list = JSON.parse(runs.out);
    expect(list).toHaveLength(4);
    expect(list.map((x: { design: string; seed: number }) => `${x.design}/${x.seed}`).sort()).toEqual([
      'pagemap-p2p/1',
      'pagemap-p2p/2',
      'upstream/1',
      'upstream/2',
    ]);
    expect((await cli('runs', '--db', sdb, '--design', 'upstream', '--json')).out).toContain('upstream');
  });

  it('compare stores one run per design', async () => {
    const cdb = join(dir, 'compare.db');
    expect((await cli('compare', file, '--designs', 'upstream,owner-registry', '--db', cdb)).code).toBe(0);
    expect(JSON.parse((await cli('runs', '--db', cdb, '--json')).out)).toHaveLength(2);
  });

  it('report writes a self-contained HTML page and stores the runs', async () => {
    const rdb = join(dir, 'report.db');
    const out = join(dir, 'report');
    const r = await cli('report', file, '--designs', 'upstream,pagemap-p2p', '-o', out, '--db', rdb);
    expect(r.code).toBe(0);
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('data-design="pagemap-p2p"');
    expect(JSON.parse((await cli('runs', '--db', rdb, '--json')).out)).toHaveLength(2);
  });

  it('run --set overrides a config value, records it in the stored scenario text, rejects bad paths', async () => {
    const sdb = join(dir, 'set.db');
    const plain = JSON.parse((await cli('run', file, '--json', '--no-store')).out);
    const r = await cli('run', file, '--json', '--db', sdb, '--set', 'gpus.gpu0.faultBatchSize=4');
    expect(r.code, r.err).toBe(0);
    const small = JSON.parse(r.out);
    // 4096 faults in batches of at most 4 instead of the default.
    expect(plain.devices.gpu0.faults).toBe(4096);
    expect(plain.devices.gpu0.batches).toBeLessThan(64);
    expect(small.devices.gpu0.batches).toBe(1024);
    const runs = JSON.parse((await cli('runs', '--db', sdb, '--json')).out);
    expect(runs).toHaveLength(1);
    const bad = await cli('run', file, '--no-store', '--set', 'gpus.gpu7.faultBatchSize=4');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/no gpus\.gpu7 in the scenario/);
    expect((await cli('run', file, '--no-store', '--set', 'nokey')).code).toBe(2);
    const invalid = await cli('run', file, '--no-store', '--set', 'gpus.gpu0.faultBatchSize=0');
    expect(invalid.code).toBe(2);
    expect(invalid.err).toMatch(/faultBatchSize/);
  });

  it('report <run ids> simulates stored runs again, --set included, and gives the same rows', async () => {
    const rdb = join(dir, 'report-runs.db');
    const set = ['--set', 'gpus.gpu0.faultBatchSize=4'];
    expect((await cli('run', file, '--db', rdb, '--design', 'upstream', ...set)).code).toBe(0);
    expect((await cli('run', file, '--db', rdb, '--design', 'pagemap-p2p', ...set)).code).toBe(0);
    expect((await cli('run', file, '--db', rdb, '--design', 'upstream')).code).toBe(0);
    const stored = JSON.parse((await cli('compare', '--runs', '1,2', '--db', rdb, '--json')).out);
    const out = join(dir, 'report-runs');
    const r = await cli('report', '1,2', '--db', rdb, '-o', out);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe('');
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    expect(html).toContain('data-design="pagemap-p2p"');
    expect(html).toContain('# hmmlab --set gpus.gpu0.faultBatchSize=4');
    expect(stored.map((x: { design: string }) => x.design)).toEqual(['upstream', 'pagemap-p2p']);
    // No new runs stored; runs 1 and 3 differ by the --set, so they are not one scenario.
    expect(JSON.parse((await cli('runs', '--db', rdb, '--json')).out)).toHaveLength(3);
    const mixed = await cli('report', '1,3', '--db', rdb, '-o', out);
    expect(mixed.code).toBe(2);
    expect(mixed.err).toMatch(/different scenario texts/);
    expect((await cli('report', '9', '--db', rdb, '-o', out)).code).toBe(2);
  });

  it('trace writes a Chrome trace-event file', async () => {
    const out = join(dir, 't.json');
    const r = await cli('trace', file, '-o', out);
    expect(r.code).toBe(0);
    const t = JSON.parse(readFileSync(out, 'utf8'));
    expect(t.traceEvents.length).toBeGreaterThan(0);
    expect((await cli('trace', file)).code).toBe(2); // -o is required
  });

  it('schema prints a JSON Schema', async () => {
    const r = await cli('schema');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).$schema).toMatch(/json-schema/);
  });
});
