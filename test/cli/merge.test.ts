/**
 * `hmmlab merge <out.db> <in.db>...` on the command line: exit 0 with a summary, exit 2 with a
 * message and no stack trace for a missing, corrupt, foreign or newer input, and then the output
 * store is left exactly as it was.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type NewRun, ResultsStore, SCHEMA_VERSION } from '../../src/store/store.js';
import { cli } from './run-cli.js';

afterEach(() => vi.restoreAllMocks());

function run(i: number): NewRun {
  return {
    scenarioName: 'merge-test',
    scenarioText: `version: 1\nname: merge-test\n# ${i}\n`,
    design: 'upstream',
    seed: i,
    hmmlabVersion: '0.1.0',
    startedAt: '2026-01-01T00:00:00.000Z',
    metrics: { i },
    durationMs: i,
  };
}

function store(path: string, seeds: number[]): void {
  const s = ResultsStore.open(path);
  for (const i of seeds) s.saveRun(run(i));
  s.close();
}

describe('hmmlab merge', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hmmlab-merge-cli-'));
  const a = join(dir, 'a.db');
  const b = join(dir, 'b.db');
  store(a, [1, 2, 3]);
  store(b, [3, 4]);

  it('merges stores into a new one and counts what it copied and skipped', async () => {
    const out = join(dir, 'out.db');
    const r = await cli('merge', out, a, b);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain(`merged 2 stores into ${out}: 4 runs copied, 1 duplicates skipped`);
    const runs = JSON.parse((await cli('runs', '--db', out, '--json')).out) as { seed: number }[];
    expect(runs.map((x) => x.seed)).toEqual([1, 2, 3, 4]);
  });

  it('a missing, corrupt, foreign or newer input exits 2 and leaves the output untouched', async () => {
    const out = join(dir, 'kept.db');
    store(out, [9]);
    const before = readFileSync(out);
    const corrupt = join(dir, 'corrupt.db');
    writeFileSync(corrupt, Buffer.alloc(8192, 0x5a));
    const foreign = join(dir, 'foreign.db');
    const f = new Database(foreign);
    f.exec('CREATE TABLE notes (t TEXT)');
    f.close();
    const newer = join(dir, 'newer.db');
    copyFileSync(a, newer);
    const n = new Database(newer);
    n.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    n.close();
    for (const [bad, message] of [
      [join(dir, 'missing.db'), /missing\.db: no such file/],
      [corrupt, /corrupt\.db: not an hmmlab results store: it is a text file/],
      [foreign, /foreign\.db: not an hmmlab results store: an SQLite database without hmmlab's runs table/],
      [newer, /newer\.db: results store schema version \d+; this hmmlab knows up to \d+/],
    ] as const) {
      const r = await cli('merge', out, a, bad);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toMatch(/^hmmlab: /);
      expect(r.err).toMatch(message);
      expect(r.err).not.toMatch(/\n\s+at /);
      expect(r.out).toBe('');
      expect(readFileSync(out).equals(before)).toBe(true);
    }
    // Nor is a missing output created.
    const none = join(dir, 'none.db');
    expect((await cli('merge', none, corrupt)).code).toBe(2);
    expect(existsSync(none)).toBe(false);
    // A merge needs an output and at least one input.
    expect((await cli('merge', none)).code).toBe(2);
  });
});
