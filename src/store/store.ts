/**
 * The results store: every simulated run, kept in a SQLite file (`.hmmlab/results.db` by default).
 *
 * - The schema is versioned with `PRAGMA user_version` and moved forward by an ordered list of
 *   migrations, all in one transaction, so a store is never left between two versions.
 * - The file is opened in WAL mode, and each run is saved in one transaction: a process killed
 *   halfway through `saveRun` leaves no row behind.
 * - The store never reads the clock: the caller passes `startedAt` (and `durationMs`), so tests
 *   and golden outputs stay deterministic.
 * - A store is marked with `PRAGMA application_id` (HMMLAB_APPLICATION_ID) when it is made, or
 *   the first time a command writes to an older unmarked one. Every open checks the file first
 *   (file-check.ts) and refuses, without changing it, anything that is not an hmmlab store of a
 *   known schema, or is damaged. `open(path, { readOnly: true })` never creates, migrates or
 *   marks anything.
 */

import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { ExploreResult } from '../explore/types.js';
import { makeDirs } from '../util/make-dirs.js';
import {
  checkStoreFile,
  emptyFileMessage,
  HMMLAB_APPLICATION_ID,
  openForReading,
  StoreError,
  salvageAdvice,
} from './file-check.js';

export { HMMLAB_APPLICATION_ID, StoreError } from './file-check.js';

/** Where the command line keeps its results store unless `--db` names another file. */
export const DEFAULT_DB_PATH = '.hmmlab/results.db';

/** One schema step: `sql` moves a store from `version - 1` to `version`. */
export interface Migration {
  version: number;
  sql: string;
}

/**
 * The schema history, oldest first. Never edit a shipped entry: append a new one.
 *
 * - v1: the `runs` table.
 * - v2: `runs.duration_ms` (wall time of the run, if the caller measured it) and an index for
 *   listing runs by scenario and design.
 * - v3: the `explorations` table: race-explorer results (src/explore/types.ts `ExploreResult`).
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        scenario_name TEXT NOT NULL,
        scenario_hash TEXT NOT NULL,
        scenario_text TEXT NOT NULL,
        design TEXT NOT NULL,
        seed INTEGER NOT NULL,
        hmmlab_version TEXT NOT NULL,
        started_at TEXT NOT NULL,
        metrics TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    sql: `
      ALTER TABLE runs ADD COLUMN duration_ms REAL;
      CREATE INDEX runs_by_scenario_design ON runs (scenario_name, design, id);
    `,
  },
  {
    version: 3,
    sql: `
      CREATE TABLE explorations (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        scenario_name TEXT NOT NULL,
        scenario_hash TEXT NOT NULL,
        scenario_text TEXT NOT NULL,
        mode TEXT NOT NULL,
        verdict TEXT NOT NULL,
        hmmlab_version TEXT NOT NULL,
        started_at TEXT NOT NULL,
        result TEXT NOT NULL
      );
    `,
  },
];

/** The message for a read-only command run where there is no store yet. */
export function noStoreMessage(path: string): string {
  return `no results store at ${path}: run \`hmmlab run <scenario>\` (or compare, report, sweep) first, or name one with --db`;
}

/** The newest schema version this hmmlab knows. */
export const SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** A run to save. `metrics` is any JSON-serialisable value (a `SimResult` or a `CompareRow`). */
export interface NewRun {
  scenarioName: string;
  /** The scenario file's text, exactly as read; its sha256 becomes the scenario hash. */
  scenarioText: string;
  design: string;
  seed: number;
  hmmlabVersion: string;
  /** When the run started, as an ISO 8601 string chosen by the caller. */
  startedAt: string;
  metrics: unknown;
  /** Wall time of the run in milliseconds, if the caller measured it. */
  durationMs?: number;
}

/** One line of `listRuns`: everything but the scenario text and the metrics. */
export interface RunSummary {
  id: number;
  scenarioName: string;
  /** sha256 of the scenario text, in lower-case hex. */
  scenarioHash: string;
  design: string;
  seed: number;
  hmmlabVersion: string;
  startedAt: string;
  /** Absent when the run was saved without one (or by a v1 store). */
  durationMs?: number;
}

/** A whole saved run, metrics parsed back from JSON. */
export interface StoredRun extends RunSummary {
  scenarioText: string;
  metrics: unknown;
}

/** Filters for `listRuns`; each one given must match exactly. */
export interface RunFilter {
  scenario?: string;
  design?: string;
}

/** A race-explorer result to save. */
export interface NewExploration {
  scenarioName: string;
  scenarioText: string;
  hmmlabVersion: string;
  startedAt: string;
  result: ExploreResult;
}

/** One line of `listExplorations`. */
export interface ExplorationSummary {
  id: number;
  scenarioName: string;
  scenarioHash: string;
  mode: ExploreResult['mode'];
  /** `'clean'`, or the invariant that failed. */
  verdict: string;
  hmmlabVersion: string;
  startedAt: string;
}

/** A whole saved exploration. */
export interface StoredExploration extends ExplorationSummary {
  scenarioText: string;
  result: ExploreResult;
}

interface ExplorationRow {
  id: number;
  scenario_name: string;
  scenario_hash: string;
  scenario_text?: string;
  mode: string;
  verdict: string;
  hmmlab_version: string;
  started_at: string;
  result?: string;
}

const EXPLORATION_COLUMNS = 'id, scenario_name, scenario_hash, mode, verdict, hmmlab_version, started_at';

function explorationSummaryOf(row: ExplorationRow): ExplorationSummary {
  return {
    id: row.id,
    scenarioName: row.scenario_name,
    scenarioHash: row.scenario_hash,
    mode: row.mode as ExploreResult['mode'],
    verdict: row.verdict,
    hmmlabVersion: row.hmmlab_version,
    startedAt: row.started_at,
  };
}

/** sha256 of a scenario text, in lower-case hex. */
export function scenarioHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

interface RunRow {
  id: number;
  scenario_name: string;
  scenario_hash: string;
  scenario_text?: string;
  design: string;
  seed: number;
  hmmlab_version: string;
  started_at: string;
  metrics?: string;
  duration_ms: number | null;
}

const SUMMARY_COLUMNS =
  'id, scenario_name, scenario_hash, design, seed, hmmlab_version, started_at, duration_ms';
/** The same columns from a v1 store, which has no duration_ms (read-only opens do not migrate). */
const SUMMARY_COLUMNS_V1 =
  'id, scenario_name, scenario_hash, design, seed, hmmlab_version, started_at, NULL AS duration_ms';

function summaryOf(row: RunRow): RunSummary {
  const s: RunSummary = {
    id: row.id,
    scenarioName: row.scenario_name,
    scenarioHash: row.scenario_hash,
    design: row.design,
    seed: row.seed,
    hmmlabVersion: row.hmmlab_version,
    startedAt: row.started_at,
  };
  if (row.duration_ms !== null) s.durationMs = row.duration_ms;
  return s;
}

function validate(run: NewRun): string {
  if (!Number.isSafeInteger(run.seed)) throw new StoreError(`seed must be an integer, not ${run.seed}`);
  if (run.durationMs !== undefined && !Number.isFinite(run.durationMs)) {
    throw new StoreError(`durationMs must be a finite number, not ${run.durationMs}`);
  }
  const json = JSON.stringify(run.metrics);
  if (json === undefined) throw new StoreError('metrics must be a JSON-serialisable value');
  return json;
}

/**
 * Inserts one run row on `db` without opening a transaction of its own; returns the run id.
 * `ResultsStore.saveRun` wraps it in a transaction. Exported for the crash-safety test, which
 * runs it inside a transaction that never commits.
 * @internal
 */
export function insertRunRow(db: Database.Database, run: NewRun): number {
  const metrics = validate(run);
  const info = db
    .prepare<[string, string, string, string, number, string, string, string, number | null]>(
      `INSERT INTO runs (scenario_name, scenario_hash, scenario_text, design, seed, hmmlab_version,
                         started_at, metrics, duration_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(
      run.scenarioName,
      scenarioHash(run.scenarioText),
      run.scenarioText,
      run.design,
      run.seed,
      run.hmmlabVersion,
      run.startedAt,
      metrics,
      run.durationMs ?? null,
    );
  return Number(info.lastInsertRowid);
}

/**
 * Brings `db` up to `SCHEMA_VERSION` and marks it with hmmlab's application_id, in one
 * transaction; throws if the file is newer than that.
 */
function migrate(db: Database.Database, path: string): void {
  const state = () => {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > SCHEMA_VERSION) {
      throw new StoreError(
        `${path}: results store schema version ${current}; this hmmlab knows up to ${SCHEMA_VERSION} (use a newer hmmlab)`,
      );
    }
    const marked = (db.pragma('application_id', { simple: true }) as number) === HMMLAB_APPLICATION_ID;
    return { pending: MIGRATIONS.filter((m) => m.version > current), marked };
  };
  const first = state();
  if (first.pending.length === 0 && first.marked) return;
  db.transaction(() => {
    // Read again under the write lock: another process (a second sweep started at the same
    // time) may have made or migrated the store since the first look.
    const { pending, marked } = state();
    for (const m of pending) {
      db.exec(m.sql);
      // PRAGMA takes no bound parameters; the version is an integer from MIGRATIONS.
      db.pragma(`user_version = ${m.version}`);
    }
    // Stores made before the marker have application_id 0; a store opened to write gets it.
    if (!marked) db.pragma(`application_id = ${HMMLAB_APPLICATION_ID}`);
  }).immediate();
}

/** How to open a store. */
export interface OpenOptions {
  /**
   * Read only: the file must already be a results store (a missing file is a StoreError, never
   * created); it is opened read-only and not migrated (an older store is read as it is).
   */
  readOnly?: boolean;
  /** Run `PRAGMA quick_check` on an existing file before using it (default: true). */
  quickCheck?: boolean;
}

/** A results store on one SQLite file. Synchronous; close it when done. */
/**
 * How long a write waits for another process's write lock (better-sqlite3's `timeout`, SQLite's
 * busy timeout) before it gives up: long enough for a merge of a large store or a concurrent
 * sweep, so that a finished run is not lost to a short wait.
 */
export const STORE_BUSY_TIMEOUT_MS = 10 * 60_000;

export class ResultsStore {
  private constructor(
    private readonly db: Database.Database,
    /** The file this store was opened on. */
    readonly path: string,
    /** True when opened with `readOnly`: saving is refused. */
    readonly readOnly: boolean,
    private readonly version: number,
  ) {}

  /**
   * Opens the store at `path`. Before anything is written or read, the file is checked
   * (src/store/file-check.ts): a file that is not an hmmlab results store, a damaged store or
   * one with a newer schema is a StoreError with a one-line message, and the file is left
   * byte for byte as it was.
   *
   * Without `readOnly`, a missing file (and its folder) is created, marked with hmmlab's
   * application_id, switched to WAL and brought to the newest schema. With `readOnly`, a
   * missing file is a StoreError and nothing is created or migrated.
   */
  static open(path: string = DEFAULT_DB_PATH, options: OpenOptions = {}): ResultsStore {
    const readOnly = options.readOnly ?? false;
    if (path === ':memory:') {
      if (readOnly) throw new StoreError('a read-only results store needs a file, not :memory:');
      const db = new Database(path);
      migrate(db, path);
      return new ResultsStore(db, path, false, SCHEMA_VERSION);
    }
    const state = checkStoreFile(path, SCHEMA_VERSION, { quickCheck: options.quickCheck ?? true });
    if (readOnly) {
      if (state.kind === 'missing') throw new StoreError(noStoreMessage(path));
      if (state.kind === 'empty') {
        throw new StoreError(emptyFileMessage(path, state, ' yet: run `hmmlab run <scenario>` first'));
      }
      let db: Database.Database;
      try {
        db = openForReading(path);
      } catch (e) {
        throw new StoreError(`${path}: cannot open it (${(e as Error).message})`);
      }
      return new ResultsStore(db, path, true, state.schemaVersion);
    }
    let db: Database.Database;
    try {
      if (state.kind === 'missing') makeDirs(dirname(path));
      db = new Database(path, { timeout: STORE_BUSY_TIMEOUT_MS });
    } catch (e) {
      throw new StoreError(
        `${path}: cannot open it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
    }
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      migrate(db, path);
    } catch (e) {
      db.close();
      if (e instanceof StoreError) throw e;
      throw new StoreError(
        `${path}: cannot open it as a results store (${(e as Error).message.split('\n')[0]})`,
      );
    }
    return new ResultsStore(db, path, false, SCHEMA_VERSION);
  }

  /** Closes the database file. The store cannot be used afterwards. */
  close(): void {
    this.db.close();
  }

  /** The schema version of the open file (`SCHEMA_VERSION` once opened to write). */
  schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  /** `PRAGMA application_id` of the file (`HMMLAB_APPLICATION_ID`, or 0 for an older store read-only). */
  applicationId(): number {
    return this.db.pragma('application_id', { simple: true }) as number;
  }

  private writable(): void {
    if (this.readOnly) throw new StoreError(`${this.path}: opened read-only; nothing can be saved`);
  }

  private summaryColumns(): string {
    return this.version >= 2 ? SUMMARY_COLUMNS : SUMMARY_COLUMNS_V1;
  }

  /** The journal mode SQLite reports (`'wal'` for a file store). */
  journalMode(): string {
    return this.db.pragma('journal_mode', { simple: true }) as string;
  }

  /** Saves one run in one transaction and returns its id. */
  saveRun(run: NewRun): number {
    this.writable();
    return this.saving('the run', () => this.db.transaction(() => insertRunRow(this.db, run)).immediate());
  }

  /**
   * Saves one run unless the store already has it: a run of the same scenario name, scenario
   * hash (of the text), design and seed that `accept` takes (default: any). The look and the
   * insert are one IMMEDIATE transaction, so the write lock is held before the look: of two
   * processes saving the same run at once, the second waits for the first to commit (up to the
   * connection's busy timeout, 5 s) and then finds its run. Returns the new run's id,
   * or with the stored run found, the oldest `accept` takes (a row that cannot be read, in a
   * damaged store, is passed over).
   */
  saveRunUnlessStored(
    run: NewRun,
    accept: (existing: StoredRun) => boolean = () => true,
  ): { stored: true; id: number } | { stored: false; run: StoredRun } {
    this.writable();
    const hash = scenarioHash(run.scenarioText);
    return this.saving('the run', () =>
      this.db
        .transaction((): { stored: true; id: number } | { stored: false; run: StoredRun } => {
          const ids = this.db
            .prepare<[string, string, string, number], { id: number }>(
              `SELECT id FROM runs
               WHERE scenario_name = ? AND scenario_hash = ? AND design = ? AND seed = ?
               ORDER BY id`,
            )
            .all(run.scenarioName, hash, run.design, run.seed);
          for (const { id } of ids) {
            let existing: StoredRun | undefined;
            try {
              existing = this.getRun(id);
            } catch (e) {
              if (e instanceof StoreError) continue;
              throw e;
            }
            if (existing !== undefined && accept(existing)) return { stored: false, run: existing };
          }
          return { stored: true, id: insertRunRow(this.db, run) };
        })
        .immediate(),
    );
  }

  /**
   * Runs a write; an SQLite error (a read-only file, a full disk, a damaged page met on the
   * way) is a StoreError naming the file, not a crash with exit 70.
   */
  private saving<T>(what: string, write: () => T): T {
    try {
      return write();
    } catch (e) {
      if (e instanceof StoreError || !(e instanceof Database.SqliteError)) throw e;
      const damaged = e.code === 'SQLITE_CORRUPT' || e.code === 'SQLITE_NOTADB';
      const why =
        e.code === 'SQLITE_BUSY'
          ? `another process held the store's write lock for more than ${STORE_BUSY_TIMEOUT_MS / 60_000} minutes (a merge into it, or a sweep?)`
          : e.message.split('\n')[0];
      throw new StoreError(
        `${this.path}: cannot save ${what} (${why})${damaged ? `; ${salvageAdvice(this.path)}` : ''}`,
        damaged,
      );
    }
  }

  /** Saved runs, oldest first, optionally only those of one scenario name and/or design. */
  listRuns(filter: RunFilter = {}): RunSummary[] {
    const rows = this.db
      .prepare<[{ scenario: string | null; design: string | null }], RunRow>(
        `SELECT ${this.summaryColumns()} FROM runs
         WHERE (@scenario IS NULL OR scenario_name = @scenario) AND (@design IS NULL OR design = @design)
         ORDER BY id`,
      )
      .all({ scenario: filter.scenario ?? null, design: filter.design ?? null });
    return rows.map(summaryOf);
  }

  /** One saved run with its scenario text and metrics, or `undefined` if there is no such id. */
  getRun(id: number): StoredRun | undefined {
    const row = this.db
      .prepare<[number], RunRow>(
        `SELECT ${this.summaryColumns()}, scenario_text, metrics FROM runs WHERE id = ?`,
      )
      .get(id);
    if (row === undefined) return undefined;
    return {
      ...summaryOf(row),
      scenarioText: this.storedText(row.scenario_text, `run ${id}'s scenario text`),
      metrics: this.storedJson(row.metrics, `run ${id}'s metrics`),
    };
  }

  /**
   * A text column as read, or a StoreError (damaged) when it is not text: SQLite does not
   * check what a page holds, so a flipped bit can turn a value into another type (the store
   * fuzzer found it).
   */
  private storedText(value: unknown, what: string): string {
    if (typeof value === 'string') return value;
    throw new StoreError(
      `${this.path}: the results store is damaged (${what} is not text); ${salvageAdvice(this.path)}`,
      true,
    );
  }

  /** A JSON column parsed, or a StoreError (damaged) when a flipped bit left it unreadable. */
  private storedJson(value: unknown, what: string): unknown {
    try {
      return JSON.parse(this.storedText(value, what));
    } catch (e) {
      if (e instanceof StoreError) throw e;
      throw new StoreError(
        `${this.path}: the results store is damaged (${what} is not valid JSON); ${salvageAdvice(this.path)}`,
        true,
      );
    }
  }

  /** Saves one race-explorer result in one transaction and returns its id. */
  saveExploration(e: NewExploration): number {
    this.writable();
    const verdict =
      e.result.verdict ??
      (e.result.counterexample === null ? 'clean' : e.result.counterexample.violation.invariant);
    return this.saving('the exploration', () =>
      this.db
        .transaction(() =>
          Number(
            this.db
              .prepare<[string, string, string, string, string, string, string, string]>(
                `INSERT INTO explorations (scenario_name, scenario_hash, scenario_text, mode, verdict,
                                         hmmlab_version, started_at, result)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
              )
              .run(
                e.scenarioName,
                scenarioHash(e.scenarioText),
                e.scenarioText,
                e.result.mode,
                verdict,
                e.hmmlabVersion,
                e.startedAt,
                JSON.stringify(e.result),
              ).lastInsertRowid,
          ),
        )
        .immediate(),
    );
  }

  /** Saved explorations, oldest first. */
  listExplorations(): ExplorationSummary[] {
    if (this.version < 3) return [];
    return this.db
      .prepare<[], ExplorationRow>(`SELECT ${EXPLORATION_COLUMNS} FROM explorations ORDER BY id`)
      .all()
      .map(explorationSummaryOf);
  }

  /** One saved exploration, or `undefined` if there is no such id. */
  getExploration(id: number): StoredExploration | undefined {
    if (this.version < 3) return undefined;
    const row = this.db
      .prepare<[number], ExplorationRow>(
        `SELECT ${EXPLORATION_COLUMNS}, scenario_text, result FROM explorations WHERE id = ?`,
      )
      .get(id);
    if (row === undefined) return undefined;
    return {
      ...explorationSummaryOf(row),
      scenarioText: this.storedText(row.scenario_text, `exploration ${id}'s race text`),
      result: this.storedJson(row.result, `exploration ${id}'s result`) as ExploreResult,
    };
  }

  /** `PRAGMA integrity_check`'s verdict: `'ok'` for a sound file. */
  integrityCheck(): string {
    return this.db.pragma('integrity_check', { simple: true }) as string;
  }
}
