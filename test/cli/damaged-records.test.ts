/**
 * Damage inside a stored run's record, where SQLite sees nothing wrong (bytes of its scenario
 * text overwritten on disk, a seed that is not one, a recorded override that does not read), and
 * a WAL-mode store copied without its -wal file: merge and report refuse with exit 2 and one
 * line that says the store is damaged (and which run), never a stack trace or a silent copy.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../src/serve/app.js';
import { ResultCache } from '../../src/serve/resimulate.js';
import { ResultsStore, scenarioHash } from '../../src/store/store.js';
import { gpuFill } from '../fixtures/scenarios.js';
import { cli } from './run-cli.js';

afterEach(() => vi.restoreAllMocks());

const dir = mkdtempSync(join(tmpdir(), 'hmmlab-damaged-records-'));
const scenario = join(dir, 's.yaml');
writeFileSync(scenario, gpuFill('damaged'));

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** A store with `n` runs of the scenario (ids 1..n), made through the command line. */
async function store(name: string, n: number): Promise<string> {
  const db = join(dir, name);
  for (let i = 0; i < n; i++) {
    const r = await cli('run', scenario, '--db', db, '--seed', String(i + 1));
    expect(r.code, r.err).toBe(0);
  }
  return db;
}

function sql(db: string, statement: string, ...args: unknown[]): void {
  const d = new Database(db);
  try {
    d.prepare(statement).run(...args);
  } finally {
    d.close();
  }
}

/** What the viewer answers for run 1 of `db` (and its topology): 422 with the error, not 500. */
async function viewerSays(db: string, message: string): Promise<void> {
  const app = createApp({ dbPath: db, webRoot: null, hmmlabVersion: '0.1.0' });
  for (const path of ['/api/runs/1', '/api/runs/1/topology']) {
    const res = await app.request(path);
    const body = await res.text();
    expect(res.status, body).toBe(422);
    expect((JSON.parse(body) as { error: string }).error).toContain(message);
  }
}

function expectRefused(r: { code: number; err: string }, message: RegExp | string): void {
  expect(r.code, r.err).toBe(2);
  expect(r.err.trimEnd().split('\n'), r.err).toHaveLength(1);
  if (typeof message === 'string') expect(r.err).toBe(`hmmlab: ${message}\n`);
  else expect(r.err).toMatch(message);
  expect(r.err).not.toMatch(/model bug|at .*\.ts:/);
}

describe('a stored scenario text that no longer matches its hash', () => {
  it('merge refuses the input (exit 2, output untouched); --salvage counts the run as damaged', async () => {
    const db = await store('hash.db', 3);
    // Bytes overwritten on disk read back as U+FFFD; the hash stays.
    sql(db, "UPDATE runs SET scenario_text = replace(scenario_text, 'damaged', 'dam\uFFFDged') WHERE id = 2");
    const before = sha(db);
    const out = join(dir, 'hash-out.db');
    const refused = await cli('merge', out, db);
    expectRefused(
      refused,
      `${db}: the results store is damaged: 1 run has a scenario text that does not match its stored hash; \`hmmlab merge --salvage repaired.db ${db}\` copies the runs that can still be read into a new store`,
    );
    expect(existsSync(out)).toBe(false);
    const r = await cli('merge', '--salvage', out, db);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(
      /3 runs found, 2 copied, 0 duplicates skipped, 1 could not be read \(damaged, lost\)/,
    );
    expect(r.err).toContain('1 run has a scenario text that does not match its stored hash');
    expect(sha(db)).toBe(before);
    const merged = ResultsStore.open(out, { readOnly: true });
    expect(merged.listRuns().map((x) => x.seed)).toEqual([1, 3]);
    merged.close();
  });

  it('report and the viewer say the store is damaged', async () => {
    const db = await store('hash-report.db', 1);
    sql(db, "UPDATE runs SET scenario_text = replace(scenario_text, 'damaged', 'dam\uFFFDged') WHERE id = 1");
    const message = 'run 1: its stored scenario text does not match its stored hash: the store is damaged';
    expectRefused(await cli('report', '1', '--db', db, '-o', join(dir, 'hash-report')), `${message}`);
    const s = ResultsStore.open(db, { readOnly: true });
    const run = s.getRun(1)!;
    s.close();
    expect(() => new ResultCache().get(run)).toThrow(message);
    await viewerSays(db, 'its stored scenario text does not match its stored hash: the store is damaged');
  });
});

describe('a stored seed that is not a seed', () => {
  for (const [value, shown] of [
    [1.5, '1.5'],
    ['abc', "'abc'"],
    [-1, '-1'],
  ] as const) {
    it(`report says so for seed ${shown} (exit 2, not a model bug)`, async () => {
      const db = await store(`seed-${String(value)}.db`, 1);
      sql(db, 'UPDATE runs SET seed = ? WHERE id = 1', value);
      expectRefused(
        await cli('report', '1', '--db', db, '-o', join(dir, `seed-report-${String(value)}`)),
        `run 1: its stored seed ${shown} is not a seed (a safe integer >= 0): the store is damaged`,
      );
      await viewerSays(
        db,
        `its stored seed ${shown} is not a seed (a safe integer >= 0): the store is damaged`,
      );
    });
  }

  it('an integer beyond 2^53', async () => {
    const db = await store('seed-big.db', 1);
    sql(db, 'UPDATE runs SET seed = 9007199254740993 WHERE id = 1');
    expectRefused(
      await cli('report', '1', '--db', db, '-o', join(dir, 'seed-report-big')),
      /^hmmlab: run 1: its stored seed \d+ is not a seed \(a safe integer >= 0\): the store is damaged\n$/,
    );
  });
});

describe('a recorded override that does not read', () => {
  const recorded = async (name: string, line: string) => {
    const db = await store(name, 1);
    const d = new Database(db);
    const text = `${(d.prepare('SELECT scenario_text AS t FROM runs WHERE id = 1').get() as { t: string }).t}${line}\n`;
    d.prepare('UPDATE runs SET scenario_text = ?, scenario_hash = ? WHERE id = 1').run(
      text,
      scenarioHash(text),
    );
    d.close();
    return db;
  };

  it('an empty one names the run, not --set', async () => {
    const db = await recorded('set-empty.db', '# hmmlab --set ');
    const r = await cli('report', '1', '--db', db, '-o', join(dir, 'set-empty'));
    expectRefused(r, /^hmmlab: run 1: its recorded override '--set ': wants key=value/);
    expect(r.err).not.toMatch(/^hmmlab: --set/);
  });

  it('an unknown key names the run and says the override was recorded', async () => {
    const db = await recorded('set-key.db', '# hmmlab --set X=1');
    const r = await cli('report', '1', '--db', db, '-o', join(dir, 'set-key'));
    expectRefused(r, /^hmmlab: run 1: its recorded override '--set X=1': .*unknown key/);
  });
});

describe('a WAL-mode store copied without its -wal file', () => {
  it('says its -wal file was probably left behind (runs, merge, merge --salvage)', async () => {
    // A copy made while the store was in use: the main file before any checkpoint.
    const copy = join(dir, 'wal-copy.db');
    const w = new Database(join(dir, 'wal-src.db'));
    w.pragma('journal_mode = WAL');
    w.pragma('wal_autocheckpoint = 0');
    copyFileSync(join(dir, 'wal-src.db'), copy);
    w.close();
    expect(readFileSync(copy).length).toBe(4096);
    const message = `${copy}: not a results store: an SQLite database that holds no tables, in WAL mode; if it was copied from a store that was in use, its -wal file (${copy}-wal, which holds the runs) was probably left behind: copy that file beside it too`;
    expectRefused(await cli('runs', '--db', copy), message);
    const out = join(dir, 'wal-out.db');
    expectRefused(await cli('merge', out, copy), message);
    expectRefused(await cli('merge', '--salvage', out, copy), message);
    expect(existsSync(out)).toBe(false);
    // A 0-byte file keeps its message.
    const empty = join(dir, 'zero.db');
    writeFileSync(empty, '');
    expectRefused(await cli('merge', out, empty), `${empty}: an empty file, not a results store`);
  });
});
