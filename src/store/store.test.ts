import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS, type NewRun, ResultsStore, SCHEMA_VERSION, scenarioHash } from './store.js';

const SCENARIO = 'name: rdma-into-gpu\nseed: 7\ndevices:\n  - { name: gpu0, kind: gpu }\n';

function run(over: Partial<NewRun> = {}): NewRun {
  return {
    scenarioName: 'rdma-into-gpu',
    scenarioText: SCENARIO,
    design: 'baseline',
    seed: 7,
    hmmlabVersion: '0.1.0',
    startedAt: '2026-01-02T03:04:05.000Z',
    metrics: { design: 'baseline', endNs: 123456, rdma: { w0: { gbps: 11.5, p50Ns: 900 } } },
    ...over,
  };
}

let dir: string;
let dbPath: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'hmmlab-store-'));
  dbPath = join(dir, 'nested', 'results.db');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('ResultsStore', () => {
  it('creates the folder and the file, in WAL mode, at the newest schema version', () => {
    const store = ResultsStore.open(dbPath);
    expect(existsSync(dbPath)).toBe(true);
    expect(store.journalMode()).toBe('wal');
    expect(store.schemaVersion()).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBe(3);
    store.close();
    const raw = new Database(dbPath, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });

  it('round-trips a run through save, list and get', () => {
    const store = ResultsStore.open(dbPath);
    const id = store.saveRun(run({ durationMs: 42.5 }));
    expect(store.listRuns()).toEqual([
      {
        id,
        scenarioName: 'rdma-into-gpu',
        scenarioHash: scenarioHash(SCENARIO),
        design: 'baseline',
        seed: 7,
        hmmlabVersion: '0.1.0',
        startedAt: '2026-01-02T03:04:05.000Z',
        durationMs: 42.5,
      },
    ]);
    const got = store.getRun(id);
    expect(got?.scenarioText).toBe(SCENARIO);
    expect(got?.metrics).toEqual(run().metrics);
    expect(store.getRun(id + 1)).toBeUndefined();
    store.close();
    // Still there after reopening.
    const again = ResultsStore.open(dbPath);
    expect(again.getRun(id)?.metrics).toEqual(run().metrics);
    again.close();
  });

  it('leaves durationMs out when the run had none', () => {
    const store = ResultsStore.open(dbPath);
    const id = store.saveRun(run());
    expect(store.getRun(id)).not.toHaveProperty('durationMs');
    store.close();
  });

  it('filters by scenario and by design, oldest first', () => {
    const store = ResultsStore.open(dbPath);
    const a = store.saveRun(run({ design: 'baseline' }));
    const b = store.saveRun(run({ design: 'p2p-direct' }));
    const c = store.saveRun(
      run({ scenarioName: 'other', scenarioText: 'name: other\n', design: 'baseline' }),
    );
    const ids = (f?: { scenario?: string; design?: string }) => store.listRuns(f).map((r) => r.id);
    expect(ids()).toEqual([a, b, c]);
    expect(ids({ scenario: 'rdma-into-gpu' })).toEqual([a, b]);
    expect(ids({ design: 'baseline' })).toEqual([a, c]);
    expect(ids({ scenario: 'rdma-into-gpu', design: 'p2p-direct' })).toEqual([b]);
    expect(ids({ scenario: 'missing' })).toEqual([]);
    store.close();
  });

  it('hashes the scenario text with sha256, stably', () => {
    expect(scenarioHash('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(scenarioHash(SCENARIO)).toBe(scenarioHash(`${SCENARIO}`));
    expect(scenarioHash(SCENARIO)).not.toBe(scenarioHash(`${SCENARIO} `));
    const store = ResultsStore.open(dbPath);
    const a = store.saveRun(run());
    const b = store.saveRun(run({ seed: 8 }));
    expect(store.getRun(a)?.scenarioHash).toBe(store.getRun(b)?.scenarioHash);
    expect(store.getRun(a)?.scenarioHash).toMatch(/^[0-9a-f]{64}$/);
    store.close();
  });

  it('rejects a non-integer seed and metrics that are not JSON, saving nothing', () => {
    const store = ResultsStore.open(dbPath);
    expect(() => store.saveRun(run({ seed: 1.5 }))).toThrow(/seed must be an integer/);
    expect(() => store.saveRun(run({ metrics: undefined }))).toThrow(/JSON-serialisable/);
    expect(store.listRuns()).toEqual([]);
    store.close();
  });

  it('saveRunUnlessStored saves a run once: same name, text, design and seed find the stored one', () => {
    const store = ResultsStore.open(dbPath);
    const other = ResultsStore.open(dbPath); // another process's handle on the same file
    const first = store.saveRunUnlessStored(run({ durationMs: 5 }));
    expect(first).toEqual({ stored: true, id: 1 });
    const again = other.saveRunUnlessStored(run({ hmmlabVersion: '0.2.0', metrics: { other: true } }));
    expect(again).toEqual({ stored: false, run: other.getRun(1) });
    // Any one of them different is another run.
    expect(store.saveRunUnlessStored(run({ scenarioName: 'b' }))).toEqual({ stored: true, id: 2 });
    expect(store.saveRunUnlessStored(run({ scenarioText: `${SCENARIO}# x\n` }))).toEqual({
      stored: true,
      id: 3,
    });
    expect(store.saveRunUnlessStored(run({ design: 'd' }))).toEqual({ stored: true, id: 4 });
    expect(store.saveRunUnlessStored(run({ seed: 8 }))).toEqual({ stored: true, id: 5 });
    // A stored run `accept` refuses (say, metrics the caller cannot use) does not count.
    const seen: number[] = [];
    const refused = store.saveRunUnlessStored(run(), (r) => {
      seen.push(r.id);
      return false;
    });
    expect(seen).toEqual([1]);
    expect(refused).toEqual({ stored: true, id: 6 });
    // The oldest accepted one is found.
    expect(store.saveRunUnlessStored(run(), (r) => r.id === 6)).toEqual({
      stored: false,
      run: store.getRun(6),
    });
    expect(store.listRuns()).toHaveLength(6);
    other.close();
    store.close();
    const ro = ResultsStore.open(dbPath, { readOnly: true });
    expect(() => ro.saveRunUnlessStored(run({ seed: 99 }))).toThrow(/opened read-only/);
    ro.close();
  });

  it('migrates a v1 database to the newest version, keeping its runs', () => {
    // A frozen v1 store, built from the v1 SQL exactly as a v1 hmmlab would have written it.
    const v1 = MIGRATIONS.find((m) => m.version === 1)!;
    const raw = new Database(join(dir, 'v1.db'));
    raw.pragma('journal_mode = WAL');
    raw.exec(v1.sql);
    raw.pragma('user_version = 1');
    raw
      .prepare(
        `INSERT INTO runs (scenario_name, scenario_hash, scenario_text, design, seed, hmmlab_version,
                           started_at, metrics) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        'old',
        scenarioHash('name: old\n'),
        'name: old\n',
        'baseline',
        3,
        '0.0.9',
        '2025-12-31T00:00:00Z',
        '{"endNs":1}',
      );
    raw.close();

    const store = ResultsStore.open(join(dir, 'v1.db'));
    expect(store.schemaVersion()).toBe(SCHEMA_VERSION);
    expect(store.listRuns()).toEqual([
      {
        id: 1,
        scenarioName: 'old',
        scenarioHash: scenarioHash('name: old\n'),
        design: 'baseline',
        seed: 3,
        hmmlabVersion: '0.0.9',
        startedAt: '2025-12-31T00:00:00Z',
      },
    ]);
    expect(store.getRun(1)?.metrics).toEqual({ endNs: 1 });
    // The v2 column and index exist and work.
    const id = store.saveRun(run({ durationMs: 5 }));
    expect(store.getRun(id)?.durationMs).toBe(5);
    expect(store.integrityCheck()).toBe('ok');
    store.close();
    const check = new Database(join(dir, 'v1.db'), { readonly: true });
    const idx = check
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'runs'")
      .all();
    expect(idx).toContainEqual({ name: 'runs_by_scenario_design' });
    check.close();
  });

  it('saves and reads back race-explorer results, with the verdict as a column', () => {
    const store = ResultsStore.open(dbPath);
    const base = {
      scenarioName: 'races',
      scenarioText: 'version: 1\n',
      hmmlabVersion: '0.1.0',
      startedAt: 't',
    };
    const coverage = {
      states: 3,
      transitions: 4,
      pruned: 1,
      reduced: 0,
      maxDepth: 2,
      schedules: 1,
      complete: true,
    };
    const clean = store.saveExploration({
      ...base,
      result: { scenario: 'races', mode: 'exhaustive', agents: ['a'], coverage, counterexample: null },
    });
    const bad = store.saveExploration({
      ...base,
      result: {
        scenario: 'races',
        mode: 'random',
        agents: ['a', 'b'],
        coverage,
        counterexample: {
          schedule: 'ab',
          steps: [{ index: 0, agent: 'a', step: 'x', call: 'y', change: '' }],
          violation: { invariant: 'livelock', message: 'm', cycleStart: 0 },
        },
      },
    });
    expect(store.listExplorations().map((e) => [e.id, e.verdict, e.mode])).toEqual([
      [clean, 'clean', 'exhaustive'],
      [bad, 'livelock', 'random'],
    ]);
    expect(store.getExploration(bad)?.result.counterexample?.schedule).toBe('ab');
    expect(store.getExploration(bad)?.scenarioHash).toBe(scenarioHash('version: 1\n'));
    expect(store.getExploration(999)).toBeUndefined();
    store.close();
  });

  it('refuses a database with a newer schema version, with a clear message', () => {
    const path = join(dir, 'newer.db');
    ResultsStore.open(path).close();
    const raw = new Database(path);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    const before = readFileSync(path);
    expect(() => ResultsStore.open(path)).toThrow(
      `${path}: results store schema version ${SCHEMA_VERSION + 1}; this hmmlab knows up to ${SCHEMA_VERSION} (use a newer hmmlab)`,
    );
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('opens a store another process makes at the same time (it migrates first; this open then finds it made)', async () => {
    // An SQLite file with no tables yet, as a store being made is at first.
    mkdirSync(dirname(dbPath), { recursive: true });
    const empty = new Database(dbPath);
    empty.pragma('journal_mode = WAL');
    empty.close();
    // The child takes the write lock, says "ready", and makes the store half a second later.
    const child = join(dir, 'maker-child.mjs');
    writeFileSync(
      child,
      `import { createRequire } from 'node:module';
const [storeUrl, dbPath] = process.argv.slice(2);
const { MIGRATIONS, HMMLAB_APPLICATION_ID } = await import(storeUrl);
const Database = createRequire(new URL(storeUrl))('better-sqlite3');
const db = new Database(dbPath);
db.exec('BEGIN IMMEDIATE');
process.stdout.write('ready\\n');
setTimeout(() => {
  for (const m of MIGRATIONS) {
    db.exec(m.sql);
    db.pragma('user_version = ' + m.version);
  }
  db.pragma('application_id = ' + HMMLAB_APPLICATION_ID);
  db.exec('COMMIT');
  db.close();
}, 500);
`,
    );
    const storeUrl = new URL('./store.ts', import.meta.url).href;
    const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
    const proc = spawn(process.execPath, ['--import', 'tsx', child, storeUrl, dbPath], {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      proc.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) resolve();
      });
      proc.on('exit', (code) => reject(new Error(`child exited (${code}) before ready: ${stderr}`)));
    });
    // This open sees a store with no tables, then waits for the child's lock: it must find the
    // store made, not make its tables a second time ("table runs already exists").
    const store = ResultsStore.open(dbPath);
    expect(store.schemaVersion()).toBe(SCHEMA_VERSION);
    expect(store.saveRun(run())).toBe(1);
    store.close();
    expect(await exited, stderr).toBe(0);
  });

  it('leaves no half-written run when the process is killed inside the transaction', async () => {
    const store = ResultsStore.open(dbPath);
    const committed = store.saveRun(run({ design: 'committed' }));
    store.close();

    // The child opens the store, starts a transaction, inserts a large run with the store's own
    // insert, and reports "ready" without committing. A tiny page cache makes SQLite spill the
    // uncommitted pages into the WAL file, so the kill really happens with half a run on disk.
    const child = join(dir, 'crash-child.mjs');
    writeFileSync(
      child,
      `import { createRequire } from 'node:module';
const [storeUrl, dbPath] = process.argv.slice(2);
const { ResultsStore, insertRunRow } = await import(storeUrl);
ResultsStore.open(dbPath).close();
const Database = createRequire(new URL(storeUrl))('better-sqlite3');
const db = new Database(dbPath);
db.pragma('cache_size = 16');
db.exec('BEGIN IMMEDIATE');
const id = insertRunRow(db, {
  scenarioName: 'crash', scenarioText: 'name: crash\\n', design: 'killed', seed: 1,
  hmmlabVersion: '0.1.0', startedAt: '2026-01-01T00:00:00Z', metrics: { blob: 'x'.repeat(4_000_000) },
});
const n = db.prepare('SELECT count(*) AS n FROM runs').get().n;
process.stdout.write('ready ' + id + ' ' + n + '\\n');
setInterval(() => {}, 1000);
`,
    );
    const storeUrl = new URL('./store.ts', import.meta.url).href;
    const projectRoot = fileURLToPath(new URL('../..', import.meta.url));
    const proc = spawn(process.execPath, ['--import', 'tsx', child, storeUrl, dbPath], {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      proc.on('exit', (_code, sig) => resolve(sig)),
    );
    const ready = await new Promise<string>((resolve, reject) => {
      let out = '';
      proc.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.trim());
      });
      proc.on('exit', (code) => reject(new Error(`child exited (${code}) before ready: ${stderr}`)));
    });
    const [word, childId, countInside] = ready.split(' ');
    expect(word).toBe('ready');
    expect(Number(countInside)).toBe(2); // the child sees its own uncommitted row
    expect(statSync(`${dbPath}-wal`).size).toBeGreaterThan(1_000_000); // the half run reached the WAL

    // Another connection meanwhile sees only committed runs.
    const reader = new Database(dbPath, { readonly: true });
    expect(reader.prepare('SELECT id FROM runs').all()).toEqual([{ id: committed }]);
    reader.close();

    proc.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const after = ResultsStore.open(dbPath);
    expect(after.integrityCheck()).toBe('ok');
    expect(after.listRuns().map((r) => r.id)).toEqual([committed]);
    expect(after.listRuns({ design: 'killed' })).toEqual([]);
    expect(after.getRun(Number(childId))).toBeUndefined();
    // The store still takes new runs afterwards.
    const next = after.saveRun(run({ design: 'after' }));
    expect(after.listRuns().map((r) => r.design)).toEqual(['committed', 'after']);
    expect(after.getRun(next)?.design).toBe('after');
    after.close();
  });
});
