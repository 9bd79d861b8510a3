import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { mergeStores } from './merge.js';
import { type NewRun, ResultsStore, SCHEMA_VERSION, StoreError } from './store.js';

function run(i: number, extra: Partial<NewRun> = {}): NewRun {
  return {
    scenarioName: `s${i % 3}`,
    scenarioText: `version: 1\nname: s${i % 3}\n# ${i}\n`,
    design: i % 2 ? 'upstream' : 'pagemap-p2p',
    seed: i,
    hmmlabVersion: '0.1.0',
    startedAt: `2026-01-0${1 + (i % 9)}T00:00:00.000Z`,
    metrics: { endNs: i * 1000, rows: [i, i + 1] },
    durationMs: i % 4 === 0 ? undefined : i * 1.5,
    ...extra,
  };
}

function store(path: string, runs: NewRun[]): void {
  const s = ResultsStore.open(path);
  for (const r of runs) s.saveRun(r);
  s.close();
}

/** Everything of every run but its id, in id order. */
function contents(path: string) {
  const s = ResultsStore.open(path);
  try {
    return s.listRuns().map(({ id, ...rest }) => ({ ...rest, ...pick(s.getRun(id)!) }));
  } finally {
    s.close();
  }
}
function pick(r: { scenarioText: string; metrics: unknown }) {
  return { scenarioText: r.scenarioText, metrics: r.metrics };
}

function addExploration(path: string, n: number): void {
  const db = new Database(path);
  const ins = db.prepare(
    `INSERT INTO explorations (scenario_name, scenario_hash, scenario_text, mode, verdict, hmmlab_version, started_at, result)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  ins.run(`race${n}`, 'h', 'text', 'exhaustive', 'clean', '0.1.0', '2026-01-01T00:00:00.000Z', `{"n":${n}}`);
  db.close();
}

describe('mergeStores', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hmmlab-merge-'));

  it('merges two stores into one, keeping every field, skipping exact duplicates', () => {
    const a = join(dir, 'a.db');
    const b = join(dir, 'b.db');
    const out = join(dir, 'out.db');
    store(a, [run(1), run(2), run(3)]);
    // b repeats run 2 exactly, and has a run 3 that differs only in its metrics: not a duplicate.
    store(b, [run(2), run(3, { metrics: { endNs: -1 } }), run(4), run(5)]);
    addExploration(a, 1);
    addExploration(b, 1);
    addExploration(b, 2);
    const r = mergeStores(out, [a, b]);
    expect(r.runsCopied).toBe(6);
    expect(r.runsSkipped).toBe(1);
    expect(r.inputs.map((i) => [i.runs, i.runsCopied, i.runsSkipped])).toEqual([
      [3, 3, 0],
      [4, 3, 1],
    ]);
    expect(r.explorationsCopied).toBe(2);
    expect(r.explorationsSkipped).toBe(1);
    const merged = contents(out);
    expect(merged).toEqual([...contents(a), ...contents(b).filter((_, i) => i !== 0)]);
    // Scenario hashes come along as they were.
    const s = ResultsStore.open(out);
    expect(s.listExplorations().map((e) => e.scenarioName)).toEqual(['race1', 'race2']);
    expect(s.integrityCheck()).toBe('ok');
    s.close();

    // Merging again copies nothing: every row is already there.
    const again = mergeStores(out, [a, b]);
    expect(again.runsCopied).toBe(0);
    expect(again.runsSkipped).toBe(7);
    expect(again.explorationsCopied).toBe(0);
    expect(contents(out)).toEqual(merged);
  });

  it('reads a version-1 store (no duration, no explorations)', () => {
    const v1 = join(dir, 'v1.db');
    const db = new Database(v1);
    db.exec(`CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, scenario_name TEXT NOT NULL,
      scenario_hash TEXT NOT NULL, scenario_text TEXT NOT NULL, design TEXT NOT NULL, seed INTEGER NOT NULL,
      hmmlab_version TEXT NOT NULL, started_at TEXT NOT NULL, metrics TEXT NOT NULL)`);
    db.prepare('INSERT INTO runs VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?)').run(
      'old',
      'hh',
      't',
      'upstream',
      1,
      '0.0.1',
      'then',
      '{}',
    );
    db.pragma('user_version = 1');
    db.close();
    const out = join(dir, 'from-v1.db');
    const r = mergeStores(out, [v1]);
    expect(r.inputs[0]!.schemaVersion).toBe(1);
    expect(r.runsCopied).toBe(1);
    const s = ResultsStore.open(out);
    const [only] = s.listRuns();
    expect(only).toMatchObject({ scenarioName: 'old', scenarioHash: 'hh', design: 'upstream', seed: 1 });
    expect(only!.durationMs).toBeUndefined();
    s.close();
  });

  it('refuses a missing, corrupt, foreign or newer input before touching the output', () => {
    const good = join(dir, 'good.db');
    store(good, [run(7)]);
    const out = join(dir, 'kept.db');
    store(out, [run(8)]);
    const bytes = readFileSync(out);
    const corrupt = join(dir, 'corrupt.db');
    writeFileSync(
      corrupt,
      'this is not an SQLite file, just some text that is long enough to look like one'.repeat(20),
    );
    const empty = join(dir, 'empty.db');
    writeFileSync(empty, '');
    const newer = join(dir, 'newer.db');
    copyFileSync(good, newer);
    const db = new Database(newer);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const cases: [string, RegExp][] = [
      [join(dir, 'missing.db'), /no such file/],
      [corrupt, /corrupt\.db: not an hmmlab results store: it is a text file, not an SQLite database$/],
      [empty, /empty\.db: an empty file, not a results store$/],
      [newer, new RegExp(`schema version ${SCHEMA_VERSION + 1}; this hmmlab knows up to ${SCHEMA_VERSION}`)],
    ];
    for (const [bad, message] of cases) {
      expect(() => mergeStores(out, [good, bad])).toThrow(StoreError);
      expect(() => mergeStores(out, [good, bad])).toThrow(message);
      expect(readFileSync(out).equals(bytes)).toBe(true);
    }
    // No output is created when an input is bad.
    const fresh = join(dir, 'never.db');
    expect(() => mergeStores(fresh, [corrupt])).toThrow(StoreError);
    expect(existsSync(fresh)).toBe(false);
    expect(() => mergeStores(fresh, [])).toThrow(/at least one input/);
  });
});
