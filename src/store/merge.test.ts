import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { mergeStores } from './merge.js';
import { type NewRun, ResultsStore, SCHEMA_VERSION, StoreError, scenarioHash } from './store.js';

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
      scenarioHash('t'),
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
    expect(only).toMatchObject({
      scenarioName: 'old',
      scenarioHash: scenarioHash('t'),
      design: 'upstream',
      seed: 1,
    });
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

describe('mergeStores with salvage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hmmlab-salvage-'));

  /** A store of `n` runs whose scenario texts overflow their page (as real runs do). */
  function bigStore(path: string, n: number, textBytes = 5000): NewRun[] {
    const runs = Array.from({ length: n }, (_, i) =>
      run(i + 1, { scenarioText: `# run ${i + 1}\n${'x'.repeat(textBytes)}\n` }),
    );
    store(path, runs);
    return runs;
  }

  /** The runs of a store, without ids, as a set of JSON strings. */
  function runSet(path: string): Set<string> {
    return new Set(contents(path).map((r) => JSON.stringify(r)));
  }

  /** The input as it was, byte for byte, and no side files left beside it. */
  function expectUntouched(path: string, bytes: Buffer): void {
    expect(readFileSync(path).equals(bytes)).toBe(true);
    expect(existsSync(`${path}-wal`)).toBe(false);
    expect(existsSync(`${path}-shm`)).toBe(false);
  }

  it('a truncated store: the runs on its intact pages are copied, the rest counted, never a silent 0', () => {
    const full = join(dir, 'full.db');
    bigStore(full, 12);
    const original = runSet(full);
    const bytes = readFileSync(full);
    const page = bytes.readUInt16BE(16);
    const sizes = new Set<number>([1, 50, 99, 100, 101, 1000]);
    for (let at = page; at < bytes.length; at += page) {
      sizes.add(at);
      sizes.add(at + 1);
      sizes.add(at + Math.floor(page / 2));
    }
    sizes.add(bytes.length - 1);
    let partly = 0;
    for (const size of [...sizes].sort((a, b) => a - b)) {
      const cut = join(dir, `cut-${size}.db`);
      writeFileSync(cut, bytes.subarray(0, size));
      const out = join(dir, `out-${size}.db`);
      let r: ReturnType<typeof mergeStores> | undefined;
      try {
        r = mergeStores(out, [cut], { salvage: true });
      } catch (e) {
        // Nothing recoverable: said so, and no output made.
        expect(e, `size ${size}`).toBeInstanceOf(StoreError);
        expect((e as Error).message, `size ${size}`).toMatch(
          new RegExp(`^could not read ${cut.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*; 0 runs recovered$`),
        );
        expect(existsSync(out), `size ${size}`).toBe(false);
        expectUntouched(cut, bytes.subarray(0, size));
        continue;
      }
      const input = r.inputs[0]!;
      expect(r.runsCopied, `size ${size}`).toBeGreaterThan(0);
      // Every run is either copied or counted as lost.
      expect(input.runsUncounted, `size ${size}`).toBe(false);
      expect(input.runsFound, `size ${size}`).toBe(12);
      expect(r.runsCopied + r.runsUnreadable, `size ${size}`).toBe(12);
      expect(input.damage[0], `size ${size}`).toMatch(/^the results store is truncated/);
      if (r.runsUnreadable > 0) partly++;
      // What was copied is exactly what the store had.
      for (const x of runSet(out)) expect(original.has(x), `size ${size}`).toBe(true);
      expect(runSet(out).size).toBe(r.runsCopied);
      expectUntouched(cut, bytes.subarray(0, size));
    }
    // Cut one page short, the store keeps all but the last run or two.
    expect(partly).toBeGreaterThan(3);
    const oneShort = mergeStores(join(dir, 'one-short.db'), [join(dir, `cut-${bytes.length - page}.db`)], {
      salvage: true,
    });
    expect(oneShort.runsCopied).toBeGreaterThanOrEqual(10);
  });

  it('a damaged page 1 (the table list): the runs are found by scanning the pages', () => {
    const path = join(dir, 'page1.db');
    bigStore(path, 8);
    const original = runSet(path);
    const bytes = readFileSync(path);
    const page = bytes.readUInt16BE(16);
    for (let i = 100; i < page; i++) bytes[i] = (i * 131 + 7) & 0xff;
    writeFileSync(path, bytes);
    expect(() => mergeStores(join(dir, 'refused.db'), [path])).toThrow(/damaged/);
    const out = join(dir, 'from-page1.db');
    const r = mergeStores(out, [path], { salvage: true });
    expect(r.runsCopied).toBe(8);
    expect(runSet(out)).toEqual(original);
    // How many runs there were cannot be told without sqlite_sequence: said so.
    expect(r.inputs[0]!.runsUncounted).toBe(true);
    expect(r.inputs[0]!.damage.join('\n')).toMatch(/its table list cannot be read/);
    expect(r.inputs[0]!.damage.join('\n')).toMatch(
      /how many runs it held is unknown: runs after id 8, if there were any, are lost uncounted/,
    );
    expectUntouched(path, bytes);
  });

  it('a lost interior page: the intact leaves below it are found by scanning the pages', () => {
    const path = join(dir, 'interior.db');
    // Many small runs: the runs b-tree's root (page 2) is an interior page over many leaves.
    bigStore(path, 150, 10);
    const original = runSet(path);
    const bytes = readFileSync(path);
    const page = bytes.readUInt16BE(16);
    expect(bytes[page]).toBe(0x05); // page 2: an interior table page
    bytes.fill(0, page, 2 * page);
    writeFileSync(path, bytes);
    const out = join(dir, 'from-interior.db');
    const r = mergeStores(out, [path], { salvage: true });
    expect(r.runsFound).toBe(150);
    expect(r.runsUnreadable).toBe(0);
    expect(r.runsCopied).toBe(150);
    expect(runSet(out)).toEqual(original);
    expect(r.inputs[0]!.damage.join('\n')).toMatch(
      /150 runs cannot be read through SQLite \(.*\); scanning its pages found 150 of them/,
    );
    expectUntouched(path, bytes);
  });

  it('nothing recoverable: exit-2 error naming the file and why, the output left as it was', () => {
    const full = join(dir, 'nothing.db');
    bigStore(full, 4);
    const bytes = readFileSync(full);
    const page = bytes.readUInt16BE(16);
    const out = join(dir, 'kept.db');
    store(out, [run(99)]);
    const kept = readFileSync(out);
    const cases: [number, RegExp][] = [
      [
        60,
        /the results store is truncated \(60 bytes, shorter than an SQLite header\); its first page, which holds the table list, is cut at 60 bytes; .*how many runs it held is unknown; 0 runs recovered$/,
      ],
      [
        1000,
        /.*; its first page, which holds the table list, is cut at 1000 of \d+ bytes; .*0 runs recovered$/,
      ],
      [page, /.*; how many runs it held is unknown \(database disk image is malformed\); 0 runs recovered$/],
      [
        3 * page,
        /.*; 4 runs cannot be read through SQLite \(database disk image is malformed\); scanning its pages found 0 of them; 0 runs recovered$/,
      ],
    ];
    for (const [size, message] of cases) {
      const cut = join(dir, `nothing-${size}.db`);
      writeFileSync(cut, bytes.subarray(0, size));
      expect(() => mergeStores(out, [cut], { salvage: true })).toThrow(StoreError);
      expect(() => mergeStores(out, [cut], { salvage: true })).toThrow(
        new RegExp(`^could not read ${cut.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ${message.source}`),
      );
      expect(readFileSync(out).equals(kept)).toBe(true);
    }
  });
});
