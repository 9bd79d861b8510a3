/**
 * Merging results stores: the runs (and race-explorer results) of several stores copied into
 * one, for sweeps sharded across machines (`hmmlab sweep --shard i/n` on each, then
 * `hmmlab merge out.db shard-*.db`).
 *
 * - Every input is opened read-only and checked before the output is touched
 *   (src/store/file-check.ts, `PRAGMA quick_check` included): a missing file, a file that is not
 *   an hmmlab store, a damaged store or one with a newer schema than this hmmlab knows is a
 *   StoreError, and the output stays as it was.
 * - With `salvage`, a damaged input (truncated, a bad page) is read row by row instead: the rows
 *   SQLite can still read are copied, the others counted as unreadable. This is how the runs of
 *   a damaged store are kept: `hmmlab merge --salvage repaired.db damaged.db`.
 * - The output is opened (created, or migrated to the current schema) like any store, then all
 *   rows go in one transaction: a merge is all or nothing.
 * - Rows keep everything but their id: scenario name, text and hash, design, seed, version,
 *   start time, metrics, duration. A row equal in all of those to one already in the output
 *   (from an earlier merge, another input, or the same input) is skipped.
 * - Order is deterministic: inputs in the order given, rows in id order.
 */
import Database from 'better-sqlite3';
import { checkStoreFile, openForReading, salvageAdvice } from './file-check.js';
import { ResultsStore, SCHEMA_VERSION, StoreError } from './store.js';

/** What merging one input did. */
export interface MergeInputReport {
  path: string;
  schemaVersion: number;
  runs: number;
  runsCopied: number;
  runsSkipped: number;
  explorations: number;
  explorationsCopied: number;
  explorationsSkipped: number;
  /** Rows of a damaged input that could not be read (`salvage` only; else 0). */
  runsUnreadable: number;
  explorationsUnreadable: number;
}

/** What a merge did, in total and per input. */
export interface MergeReport {
  output: string;
  inputs: MergeInputReport[];
  runsCopied: number;
  runsSkipped: number;
  explorationsCopied: number;
  explorationsSkipped: number;
  runsUnreadable: number;
  explorationsUnreadable: number;
}

interface RunRow {
  scenario_name: string;
  scenario_hash: string;
  scenario_text: string;
  design: string;
  seed: number;
  hmmlab_version: string;
  started_at: string;
  metrics: string;
  duration_ms: number | null;
}

interface ExplorationRow {
  scenario_name: string;
  scenario_hash: string;
  scenario_text: string;
  mode: string;
  verdict: string;
  hmmlab_version: string;
  started_at: string;
  result: string;
}

/** An input store opened read-only and checked; its rows, read before the output is opened. */
interface CheckedInput {
  path: string;
  schemaVersion: number;
  runs: RunRow[];
  explorations: ExplorationRow[];
  runsUnreadable: number;
  explorationsUnreadable: number;
}

const RUN_COLUMNS =
  'scenario_name, scenario_hash, scenario_text, design, seed, hmmlab_version, started_at, metrics';
const EXPLORATION_COLUMNS =
  'scenario_name, scenario_hash, scenario_text, mode, verdict, hmmlab_version, started_at, result';

function openReadOnly(path: string): Database.Database {
  try {
    return openForReading(path);
  } catch (e) {
    throw new StoreError(`${path}: cannot open it (${(e as Error).message})`);
  }
}

/** Opens `path` read-only, checks it is a results store this hmmlab can read, reads its rows. */
function readInput(path: string): CheckedInput {
  const state = checkStoreFile(path, SCHEMA_VERSION, { quickCheck: true });
  if (state.kind === 'missing') throw new StoreError(`${path}: no such file`);
  if (state.kind === 'empty') throw new StoreError(`${path}: an empty file, not a results store`);
  const version = state.schemaVersion;
  const db = openReadOnly(path);
  try {
    const duration = version >= 2 ? 'duration_ms' : 'NULL AS duration_ms';
    const runs = db.prepare<[], RunRow>(`SELECT ${RUN_COLUMNS}, ${duration} FROM runs ORDER BY id`).all();
    const explorations =
      version >= 3
        ? db.prepare<[], ExplorationRow>(`SELECT ${EXPLORATION_COLUMNS} FROM explorations ORDER BY id`).all()
        : [];
    return { path, schemaVersion: version, runs, explorations, runsUnreadable: 0, explorationsUnreadable: 0 };
  } catch (e) {
    if (e instanceof StoreError) throw e;
    throw new StoreError(
      `${path}: cannot read its runs (${(e as Error).message}); ${salvageAdvice(path)}`,
      true,
    );
  } finally {
    db.close();
  }
}

/**
 * Reads what can still be read of a damaged store: every row by its id, from 1 to the largest
 * id the store handed out, skipping (and counting) the rows SQLite cannot read. Rows on a
 * damaged page are lost; rows on sound pages are kept whole (a row is read in one statement,
 * so a row is never half read).
 */
function salvageInput(path: string): CheckedInput {
  const db = openReadOnly(path);
  try {
    const tryGet = <T>(sql: string, ...args: unknown[]): T | undefined | null => {
      try {
        return db.prepare(sql).get(...args) as T | undefined;
      } catch {
        return null;
      }
    };
    const version = (tryGet<{ v: number }>('SELECT user_version AS v FROM pragma_user_version')?.v ??
      0) as number;
    if (version > SCHEMA_VERSION) {
      throw new StoreError(
        `${path}: results store schema version ${version}; this hmmlab knows up to ${SCHEMA_VERSION} (merge with a newer hmmlab)`,
      );
    }
    const lastId = (table: string): number => {
      const seq = tryGet<{ seq: number }>('SELECT seq FROM sqlite_sequence WHERE name = ?', table);
      const max = tryGet<{ m: number | null }>(`SELECT max(id) AS m FROM ${table}`);
      return Math.max(seq?.seq ?? 0, max?.m ?? 0);
    };
    const readAll = <T>(table: string, columns: string): { rows: T[]; unreadable: number } => {
      const rows: T[] = [];
      let unreadable = 0;
      const last = lastId(table);
      let stmt: Database.Statement<[number], T>;
      try {
        stmt = db.prepare<[number], T>(`SELECT ${columns} FROM ${table} WHERE id = ?`);
      } catch {
        return { rows, unreadable: last };
      }
      for (let id = 1; id <= last; id++) {
        try {
          const row = stmt.get(id);
          if (row !== undefined) rows.push(row);
        } catch {
          unreadable++;
        }
      }
      return { rows, unreadable };
    };
    const duration = version >= 2 ? 'duration_ms' : 'NULL AS duration_ms';
    const runs = readAll<RunRow>('runs', `${RUN_COLUMNS}, ${duration}`);
    const explorations =
      version >= 3
        ? readAll<ExplorationRow>('explorations', EXPLORATION_COLUMNS)
        : { rows: [], unreadable: 0 };
    // Rows that read but whose JSON did not survive are damaged too.
    const jsonOk = (text: string) => {
      try {
        JSON.parse(text);
        return true;
      } catch {
        return false;
      }
    };
    const goodRuns = runs.rows.filter((r) => jsonOk(r.metrics));
    const goodExplorations = explorations.rows.filter((r) => jsonOk(r.result));
    return {
      path,
      schemaVersion: version,
      runs: goodRuns,
      explorations: goodExplorations,
      runsUnreadable: runs.unreadable + runs.rows.length - goodRuns.length,
      explorationsUnreadable: explorations.unreadable + explorations.rows.length - goodExplorations.length,
    };
  } finally {
    db.close();
  }
}

/** Options of mergeStores. */
export interface MergeOptions {
  /**
   * Copy what can still be read from a damaged input (truncated, a bad page) instead of
   * refusing it; the report counts the rows that could not be read.
   */
  salvage?: boolean;
}

/**
 * Merges the stores `inputs` into the store at `output` (created if missing) and reports what
 * was copied and skipped. Throws StoreError, before writing anything, for an input that is
 * missing, corrupt, not a results store or newer than this hmmlab, or an output that is newer.
 */
export function mergeStores(
  output: string,
  inputs: readonly string[],
  options: MergeOptions = {},
): MergeReport {
  if (inputs.length === 0) throw new StoreError('merge needs at least one input store');
  // The output is opened twice (created, then written): an in-memory database would be two.
  if (output === ':memory:') throw new StoreError("merge writes a results store file; ':memory:' is not one");
  const checked = inputs.map((path) => {
    try {
      return readInput(path);
    } catch (e) {
      if (options.salvage && e instanceof StoreError && e.damaged) return salvageInput(path);
      throw e;
    }
  });
  // Creates the output or brings it to the current schema (refusing a newer one), as any store.
  try {
    ResultsStore.open(output).close();
  } catch (e) {
    if (e instanceof StoreError) throw e;
    throw new StoreError(`${output}: cannot open as a results store (${(e as Error).message})`);
  }
  const db = new Database(output, { fileMustExist: true });
  try {
    db.pragma('journal_mode = WAL');
    const runExists = db.prepare<RunRow, { one: number }>(
      `SELECT 1 AS one FROM runs
       WHERE scenario_name = @scenario_name AND scenario_hash = @scenario_hash AND design = @design
         AND seed = @seed AND hmmlab_version = @hmmlab_version AND started_at = @started_at
         AND scenario_text = @scenario_text AND metrics = @metrics AND duration_ms IS @duration_ms
       LIMIT 1`,
    );
    const insertRun = db.prepare<RunRow>(
      `INSERT INTO runs (scenario_name, scenario_hash, scenario_text, design, seed, hmmlab_version,
                         started_at, metrics, duration_ms)
       VALUES (@scenario_name, @scenario_hash, @scenario_text, @design, @seed, @hmmlab_version,
               @started_at, @metrics, @duration_ms)`,
    );
    const explorationExists = db.prepare<ExplorationRow, { one: number }>(
      `SELECT 1 AS one FROM explorations
       WHERE scenario_name = @scenario_name AND scenario_hash = @scenario_hash AND mode = @mode
         AND verdict = @verdict AND hmmlab_version = @hmmlab_version AND started_at = @started_at
         AND scenario_text = @scenario_text AND result = @result
       LIMIT 1`,
    );
    const insertExploration = db.prepare<ExplorationRow>(
      `INSERT INTO explorations (scenario_name, scenario_hash, scenario_text, mode, verdict,
                                 hmmlab_version, started_at, result)
       VALUES (@scenario_name, @scenario_hash, @scenario_text, @mode, @verdict, @hmmlab_version,
               @started_at, @result)`,
    );
    const report: MergeReport = {
      output,
      inputs: [],
      runsCopied: 0,
      runsSkipped: 0,
      explorationsCopied: 0,
      explorationsSkipped: 0,
      runsUnreadable: 0,
      explorationsUnreadable: 0,
    };
    db.transaction(() => {
      for (const input of checked) {
        const r: MergeInputReport = {
          path: input.path,
          schemaVersion: input.schemaVersion,
          runs: input.runs.length,
          runsCopied: 0,
          runsSkipped: 0,
          explorations: input.explorations.length,
          explorationsCopied: 0,
          explorationsSkipped: 0,
          runsUnreadable: input.runsUnreadable,
          explorationsUnreadable: input.explorationsUnreadable,
        };
        for (const row of input.runs) {
          if (runExists.get(row)) r.runsSkipped++;
          else {
            insertRun.run(row);
            r.runsCopied++;
          }
        }
        for (const row of input.explorations) {
          if (explorationExists.get(row)) r.explorationsSkipped++;
          else {
            insertExploration.run(row);
            r.explorationsCopied++;
          }
        }
        report.inputs.push(r);
        report.runsCopied += r.runsCopied;
        report.runsSkipped += r.runsSkipped;
        report.explorationsCopied += r.explorationsCopied;
        report.explorationsSkipped += r.explorationsSkipped;
        report.runsUnreadable += r.runsUnreadable;
        report.explorationsUnreadable += r.explorationsUnreadable;
      }
    }).immediate();
    return report;
  } catch (e) {
    // A write that SQLite refuses (a read-only file, a full disk): the transaction rolled back.
    if (e instanceof Database.SqliteError) {
      throw new StoreError(`${output}: cannot write the merged runs (${e.message.split('\n')[0]})`);
    }
    throw e;
  } finally {
    db.close();
  }
}
