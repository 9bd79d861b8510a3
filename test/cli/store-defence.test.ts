/**
 * The results store, defended: every command that opens a store refuses a file that is not an
 * hmmlab store (truncated, random header, text, another application's SQLite database, a newer
 * schema, a damaged page) with exit 2 and one line naming the file, and leaves it byte for
 * byte as it was; the commands that only read never create a store.
 */
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openStoreForReading } from '../../src/serve/store-access.js';
import { HMMLAB_APPLICATION_ID, ResultsStore, SCHEMA_VERSION } from '../../src/store/store.js';
import { gpuFill } from '../fixtures/scenarios.js';
import { cli } from './run-cli.js';

afterEach(() => vi.restoreAllMocks());

const dir = mkdtempSync(join(tmpdir(), 'hmmlab-store-defence-'));

const scenario = join(dir, 's.yaml');
writeFileSync(scenario, gpuFill('defence'));
const sweep = join(dir, 'sweep.yaml');
writeFileSync(sweep, 'version: 1\nscenario: s.yaml\ndesigns: [upstream]\n');
const race = 'scenarios/races/skip-read-retry-fixed.yaml';

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** A sound store with `n` runs whose scenario texts fill several pages each. */
function goodStore(path: string, n: number): void {
  const s = ResultsStore.open(path);
  for (let i = 0; i < n; i++) {
    s.saveRun({
      scenarioName: 'defence',
      scenarioText: `# run ${i}\n${'x'.repeat(6000)}\n`,
      design: 'upstream',
      seed: i,
      hmmlabVersion: '0.1.0',
      startedAt: '2026-01-01T00:00:00.000Z',
      metrics: { pagesToRam: i },
    });
  }
  s.close();
}

/** The bad files, each in its own folder, with the message each must give. */
function badFiles(): { name: string; path: string; message: RegExp }[] {
  const out: { name: string; path: string; message: RegExp }[] = [];
  const make = (name: string, message: RegExp, write: (path: string) => void) => {
    const folder = join(dir, name);
    mkdirSync(folder, { recursive: true });
    const path = join(folder, 'results.db');
    write(path);
    out.push({ name, path, message });
  };
  make(
    'truncated',
    /results\.db: the results store is truncated \(\d+ bytes, its header says \d+\); `hmmlab merge --salvage/,
    (p) => {
      goodStore(p, 20);
      const bytes = readFileSync(p);
      writeFileSync(p, bytes.subarray(0, Math.floor(bytes.length / 2 / 4096) * 4096));
    },
  );
  make('random-header', /results\.db: not an hmmlab results store: not an SQLite database/, (p) => {
    goodStore(p, 3);
    const bytes = readFileSync(p);
    // A fixed pseudo-random header (a small LCG), so the test is the same every time.
    let x = 12345;
    for (let i = 0; i < 100; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      bytes[i] = x & 0xff;
    }
    writeFileSync(p, bytes);
  });
  make('text', /results\.db: not an hmmlab results store: it is a text file, not an SQLite database$/, (p) =>
    writeFileSync(p, 'name,value\nalpha,1\nbeta,2\n'),
  );
  make(
    'foreign',
    /results\.db: not an hmmlab results store: an SQLite database without hmmlab's runs table \(it has tables notes, people\); hmmlab leaves it as it is$/,
    (p) => {
      const db = new Database(p);
      db.exec(
        "CREATE TABLE notes (t TEXT); CREATE TABLE people (name TEXT); INSERT INTO notes VALUES ('keep me')",
      );
      db.close();
    },
  );
  make(
    'foreign-app-id',
    /results\.db: not an hmmlab results store: another application's SQLite database \(application_id 0x0f055ee1\)/,
    (p) => {
      const db = new Database(p);
      db.pragma('application_id = 0x0f055ee1');
      db.exec('CREATE TABLE runs (id INTEGER PRIMARY KEY)');
      db.close();
    },
  );
  make(
    'newer',
    new RegExp(
      `results\\.db: results store schema version ${SCHEMA_VERSION + 1}; this hmmlab knows up to ${SCHEMA_VERSION} \\(use a newer hmmlab\\)$`,
    ),
    (p) => {
      goodStore(p, 2);
      const db = new Database(p);
      db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
      db.close();
    },
  );
  make(
    'bad-page',
    /results\.db: the results store is damaged \(.*\); `hmmlab merge --salvage repaired\.db .*results\.db` copies the runs that can still be read into a new store$/,
    (p) => {
      goodStore(p, 20);
      const bytes = readFileSync(p);
      const page = bytes.readUInt16BE(16);
      const at = page * Math.floor(bytes.length / page / 2);
      for (let i = 0; i < page; i++) bytes[at + i] = (i * 37 + 11) & 0xff;
      writeFileSync(p, bytes);
    },
  );
  return out;
}

/** Every command that opens a store, pointed at `db`. */
function commands(db: string): string[][] {
  const out = join(dir, 'report-out');
  return [
    ['run', scenario, '--db', db],
    ['runs', '--db', db],
    ['compare', scenario, '--designs', 'upstream', '--db', db],
    ['compare', '--runs', '1', '--db', db],
    ['report', scenario, '--designs', 'upstream', '-o', out, '--db', db],
    ['report', '1', '-o', out, '--db', db],
    ['sweep', sweep, '--jobs', '1', '--db', db],
    ['explore', race, '--db', db],
    ['merge', join(dir, 'merged.db'), db],
    ['merge', db, sweepStore],
  ];
}

const sweepStore = join(dir, 'good.db');
goodStore(sweepStore, 1);

function expectRefused(r: { code: number; out: string; err: string }, message: RegExp, what: string): void {
  expect(r.code, `${what}: ${r.err}`).toBe(2);
  expect(r.err, what).toMatch(/^hmmlab: [^\n]*\n$/); // one line
  expect(r.err.trimEnd(), what).toMatch(message);
  expect(r.err, what).not.toMatch(/\bat .*\.(ts|js):\d+/); // no stack trace
  expect(r.err, what).not.toMatch(/SqliteError/);
}

describe('a file that is not a sound hmmlab store', () => {
  const files = badFiles();

  for (const { name, path, message } of files) {
    it(`${name}: every command exits 2 with one line naming the file, and leaves it as it was`, async () => {
      const before = sha(path);
      const listing = readdirSync(join(dir, name)).sort();
      for (const args of commands(path)) {
        const r = await cli(...args);
        expectRefused(r, message, args.join(' '));
        expect(r.err).toContain(path);
        expect(sha(path), `${args.join(' ')} changed the file`).toBe(before);
        expect(readdirSync(join(dir, name)).sort(), `${args.join(' ')} left files beside it`).toEqual(
          listing,
        );
      }
      expect(existsSync(join(dir, 'merged.db'))).toBe(false);
      // The viewer's store access says the same, and changes nothing either.
      const access = openStoreForReading(path, { quickCheck: true });
      expect(access.ok).toBe(false);
      if (!access.ok) expect(access.message).toMatch(message);
      expect(sha(path)).toBe(before);
    }, 60_000);
  }
});

describe('the commands that only read', () => {
  it('never create a store: no file, no folder, exit 2 and a message saying what to run', async () => {
    const empty = join(dir, 'no-store-here');
    mkdirSync(empty);
    const db = join(empty, '.hmmlab', 'results.db');
    for (const args of [
      ['runs', '--db', db],
      ['compare', '--runs', '1,2', '--db', db],
      ['report', '1', '-o', join(empty, 'out'), '--db', db],
    ]) {
      const r = await cli(...args);
      expectRefused(
        r,
        /no results store at .*\.hmmlab\/results\.db: run `hmmlab run <scenario>` \(or compare, report, sweep\) first, or name one with --db$/,
        args[0]!,
      );
    }
    expect(readdirSync(empty)).toEqual([]);
    const access = openStoreForReading(db);
    expect(access.ok).toBe(false);
    expect(readdirSync(empty)).toEqual([]);
  });

  it('with no --db, runs in a folder without a store creates no .hmmlab folder', async () => {
    const folder = join(dir, 'cwd-without-store');
    mkdirSync(folder);
    const cwd = process.cwd();
    process.chdir(folder);
    try {
      const r = await cli('runs');
      expectRefused(
        r,
        /^hmmlab: no results store at \.hmmlab\/results\.db: run `hmmlab run <scenario>`/,
        'runs',
      );
      const c = await cli('compare', '--runs', '1');
      expectRefused(c, /no results store at \.hmmlab\/results\.db/, 'compare --runs');
    } finally {
      process.chdir(cwd);
    }
    expect(readdirSync(folder)).toEqual([]);
  });

  it('read an older, unmarked store without changing it; a command that stores marks it', async () => {
    const path = join(dir, 'unmarked.db');
    goodStore(path, 2);
    const raw = new Database(path);
    raw.pragma('application_id = 0');
    raw.close();
    const before = sha(path);
    const runs = await cli('runs', '--db', path, '--json');
    expect(runs.code, runs.err).toBe(0);
    expect(JSON.parse(runs.out)).toHaveLength(2);
    expect((await cli('compare', '--runs', '1,2', '--db', path, '--json')).code).toBe(0);
    expect(sha(path)).toBe(before);
    expect(readdirSync(dir).filter((f) => f.startsWith('unmarked.db'))).toEqual(['unmarked.db']);
    expect((await cli('run', scenario, '--db', path)).code).toBe(0);
    const after = ResultsStore.open(path, { readOnly: true });
    expect(after.applicationId()).toBe(HMMLAB_APPLICATION_ID);
    expect(after.listRuns()).toHaveLength(3);
    after.close();
  });

  it('a new store is marked with hmmlab application_id', async () => {
    const path = join(dir, 'fresh', 'results.db');
    expect((await cli('run', scenario, '--db', path)).code).toBe(0);
    const db = new Database(path, { readonly: true });
    expect(db.pragma('application_id', { simple: true })).toBe(HMMLAB_APPLICATION_ID);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    db.close();
  });
});

describe('hmmlab merge --salvage', () => {
  it('keeps the runs a damaged store can still read, and says how many were lost', async () => {
    const damaged = join(dir, 'salvage-input.db');
    goodStore(damaged, 20);
    const copy = join(dir, 'salvage-copy.db');
    copyFileSync(damaged, copy);
    const bytes = readFileSync(damaged);
    const page = bytes.readUInt16BE(16);
    const at = page * Math.floor(bytes.length / page / 2);
    for (let i = 0; i < page; i++) bytes[at + i] = (i * 37 + 11) & 0xff;
    writeFileSync(damaged, bytes);
    const before = sha(damaged);
    const out = join(dir, 'salvaged.db');
    const refused = await cli('merge', out, damaged);
    expectRefused(refused, /the results store is damaged/, 'merge');
    expect(existsSync(out)).toBe(false);
    const r = await cli('merge', '--salvage', out, damaged);
    expect(r.code, r.err).toBe(0);
    const summary = new RegExp(
      `merged 1 store into ${escapeRegExp(out)}: 20 runs found, (\\d+) copied, 0 duplicates skipped, (\\d+) could not be read \\(damaged, lost\\); 0 explorations found, 0 copied, 0 duplicates skipped, 0 could not be read\n$`,
    ).exec(r.out);
    expect(summary, r.out).not.toBeNull();
    const lost = Number(summary![2]);
    expect(Number(summary![1]) + lost).toBe(20);
    // What was wrong with the input, and what of it could not be read, is said on stderr.
    expect(r.err).toContain(`hmmlab: ${damaged}: the results store is damaged`);
    expect(r.err).toMatch(/runs? cannot be read through SQLite/);
    expect(lost).toBeGreaterThan(0);
    expect(lost).toBeLessThan(20);
    expect(sha(damaged)).toBe(before);
    // What was kept is exactly what the undamaged copy has for those runs.
    const kept = ResultsStore.open(out, { readOnly: true });
    const orig = ResultsStore.open(copy, { readOnly: true });
    const runs = kept.listRuns();
    expect(runs).toHaveLength(20 - lost);
    for (const run of runs) {
      const full = kept.getRun(run.id)!;
      const match = orig.listRuns().find((o) => o.seed === run.seed)!;
      expect(full.scenarioText).toBe(orig.getRun(match.id)!.scenarioText);
      expect(full.metrics).toEqual(orig.getRun(match.id)!.metrics);
    }
    kept.close();
    orig.close();
  });

  it('a truncated store: the runs before the cut are kept; nothing readable is exit 2, never a silent 0', async () => {
    const store = join(dir, 'truncate-me.db');
    goodStore(store, 10);
    const bytes = readFileSync(store);
    const page = bytes.readUInt16BE(16);
    const cut = join(dir, 'truncated-input.db');
    writeFileSync(cut, bytes.subarray(0, bytes.length - page - 7));
    const out = join(dir, 'truncated-salvaged.db');
    const r = await cli('merge', '--salvage', out, cut);
    expect(r.code, r.err).toBe(0);
    const m =
      /: 10 runs found, (\d+) copied, 0 duplicates skipped, (\d+) could not be read \(damaged, lost\);/.exec(
        r.out,
      );
    expect(m, r.out).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(8);
    expect(Number(m![1]) + Number(m![2])).toBe(10);
    expect(r.err).toContain(`hmmlab: ${cut}: the results store is truncated`);

    // Cut inside its first page, or before its first run's page: nothing can be read.
    const kept = join(dir, 'truncated-kept.db');
    goodStore(kept, 1);
    const before = sha(kept);
    for (const size of [64, 1000, 2 * page]) {
      writeFileSync(cut, bytes.subarray(0, size));
      const refused = await cli('merge', '--salvage', kept, cut);
      expectRefused(
        refused,
        new RegExp(
          `^hmmlab: could not read ${escapeRegExp(cut)}: the results store is truncated .*; 0 runs recovered$`,
        ),
        `size ${size}`,
      );
      expect(sha(kept)).toBe(before);
      expect(existsSync(`${cut}-wal`)).toBe(false);
    }
  });
});
