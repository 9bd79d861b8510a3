/**
 * Merging results stores: the runs (and race-explorer results) of several stores copied into
 * one, for sweeps sharded across machines (`hmmlab sweep --shard i/n` on each, then
 * `hmmlab merge out.db shard-*.db`).
 *
 * - Every input is opened read-only and checked before the output is touched
 *   (src/store/file-check.ts, `PRAGMA quick_check` included): a missing file, a file that is not
 *   an hmmlab store, a damaged store or one with a newer schema than this hmmlab knows is a
 *   StoreError, and the output stays as it was.
 * - With `salvage`, a damaged input (truncated, a bad page) is read row by row instead (see
 *   salvageInput): the rows SQLite can still read are copied, a row SQLite cannot reach is looked
 *   for in a scan of the file's pages (page-scan.ts), and the rest are counted as unreadable; the
 *   report says, per input, how many runs were found, copied and lost, and what was damaged. An
 *   input of which nothing at all can be read is an error ("could not read <file>: <why>; 0 runs
 *   recovered"), never a merge of 0 runs. This is how the runs of a damaged store are kept:
 *   `hmmlab merge --salvage repaired.db damaged.db`.
 * - The output is opened (created, or migrated to the current schema) like any store, then all
 *   rows go in one transaction: a merge is all or nothing.
 * - Rows keep everything but their id: scenario name, text and hash, design, seed, version,
 *   start time, metrics, duration. A row equal in all of those to one already in the output
 *   (from an earlier merge, another input, or the same input) is skipped.
 * - Order is deterministic: inputs in the order given, rows in id order.
 */
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import {
  checkStoreFile,
  emptyFileMessage,
  HMMLAB_APPLICATION_ID,
  openForReading,
  salvageAdvice,
} from './file-check.js';
import { type RecordValue, type ScannedRecord, scanPages } from './page-scan.js';
import { ResultsStore, SCHEMA_VERSION, StoreError, scenarioHash } from './store.js';

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
  /** Rows the input holds as far as can be told: those read and those that could not be. */
  runsFound: number;
  explorationsFound: number;
  /**
   * What was wrong with a salvaged input and what could not be read of it, one line each (the
   * first is what the store check said); empty for a sound input.
   */
  damage: string[];
  /** True when how many runs (explorations) a salvaged input held is unknown: more may be lost. */
  runsUncounted: boolean;
  explorationsUncounted: boolean;
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
  runsFound: number;
  explorationsFound: number;
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
  /** What salvage found wrong (empty for a sound input). */
  damage: string[];
  runsUncounted: boolean;
  explorationsUncounted: boolean;
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
  if (state.kind === 'empty') throw new StoreError(emptyFileMessage(path, state));
  const version = state.schemaVersion;
  const db = openReadOnly(path);
  try {
    const duration = version >= 2 ? 'duration_ms' : 'NULL AS duration_ms';
    const runs = db.prepare<[], RunRow>(`SELECT ${RUN_COLUMNS}, ${duration} FROM runs ORDER BY id`).all();
    const explorations =
      version >= 3
        ? db.prepare<[], ExplorationRow>(`SELECT ${EXPLORATION_COLUMNS} FROM explorations ORDER BY id`).all()
        : [];
    // A run whose text no longer has its hash (bytes overwritten on disk, which SQLite does
    // not notice) is damaged: refused here as any damage is, copied by --salvage without it.
    const mismatched = runs.filter((r) => !runHashOk(r)).length;
    if (mismatched > 0) {
      throw new StoreError(
        `${path}: the results store is damaged: ${mismatchedRuns(mismatched)}; ${salvageAdvice(path)}`,
        true,
      );
    }
    return {
      path,
      schemaVersion: version,
      runs,
      explorations,
      runsUnreadable: 0,
      explorationsUnreadable: 0,
      damage: [],
      runsUncounted: false,
      explorationsUncounted: false,
    };
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

/** Whether a run's stored scenario text still has its stored hash (scenarioHash). */
function runHashOk(row: Pick<RunRow, 'scenario_text' | 'scenario_hash'>): boolean {
  return typeof row.scenario_text === 'string' && scenarioHash(row.scenario_text) === row.scenario_hash;
}

/** What `n` runs whose text does not match their hash are, said once for both messages. */
function mismatchedRuns(n: number): string {
  return `${n === 1 ? '1 run has a' : `${n} runs have a`} scenario text that does not match ${n === 1 ? 'its' : 'their'} stored hash`;
}

/** A damaged input's checkStoreFile message without its file name and its advice to salvage. */
function damageOf(path: string, message: string): string {
  let m = message.startsWith(`${path}: `) ? message.slice(path.length + 2) : message;
  const advice = m.indexOf('; `hmmlab merge --salvage');
  if (advice >= 0) m = m.slice(0, advice);
  return m;
}

/**
 * Why page 1 of `path` is not whole (the file is shorter than the header's page size, or than
 * a header), or undefined when it is (or the header is too damaged to tell).
 */
function firstPageCut(path: string): string | undefined {
  let size: number;
  let head: Buffer;
  try {
    size = statSync(path).size;
    const fd = openSync(path, 'r');
    try {
      head = Buffer.alloc(100);
      head = head.subarray(0, readSync(fd, head, 0, 100, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  if (size < 100) return `its first page, which holds the table list, is cut at ${size} bytes`;
  const raw = head.readUInt16BE(16);
  const pageSize = raw === 1 ? 65536 : raw;
  if (pageSize >= 512 && (pageSize & (pageSize - 1)) === 0 && size < pageSize) {
    return `its first page, which holds the table list, is cut at ${size} of ${pageSize} bytes`;
  }
  return undefined;
}

/**
 * A read-only SQLite connection to what is left of a damaged store: an in-memory copy of its
 * whole pages, so that SQLite never reads a page cut halfway (it would read the missing end as
 * zeros: a sqlite_sequence that looks empty, a leaf that looks empty) and never opens the file
 * itself (no side files, no write). The copy's header says rollback journal (WAL cannot be used
 * in memory). A store with a non-empty -wal beside it is opened in place instead, so that SQLite
 * reads the pages that are still only in the -wal; so is a store over 1 GiB.
 */
function openSalvageCopy(path: string): Database.Database {
  let walPending = false;
  try {
    walPending = statSync(`${path}-wal`).size > 0;
  } catch {
    // No -wal: the copy has everything.
  }
  // A store over 1 GiB is read in place rather than copied into memory (twice: Buffer, SQLite).
  if (walPending || statSync(path).size > 1 << 30) return openForReading(path);
  const bytes = readFileSync(path);
  const raw = bytes.length >= 100 ? bytes.readUInt16BE(16) : 0;
  const pageSize = raw === 1 ? 65536 : raw;
  const whole =
    pageSize >= 512 && (pageSize & (pageSize - 1)) === 0
      ? bytes.subarray(0, bytes.length - (bytes.length % pageSize))
      : bytes;
  if (whole.length >= 100) {
    whole[18] = 1;
    whole[19] = 1;
  }
  return new Database(whole, { readonly: true });
}

/** SQLite's message, one line. */
function sqliteMessage(e: unknown): string {
  return ((e as Error).message ?? String(e)).split('\n')[0]!;
}

/** A record of the page scan as a runs row, when it has that shape (9 columns in v1, 10 after). */
function asRunRow(v: readonly RecordValue[]): RunRow | undefined {
  if (v.length !== 9 && v.length !== 10) return undefined;
  if (v[0] !== null) return undefined; // the id column is the rowid: stored as NULL
  const text = [1, 2, 3, 4, 6, 7, 8].every((i) => typeof v[i] === 'string');
  const duration = v[9] ?? null;
  if (!text || !Number.isSafeInteger(v[5]) || (duration !== null && typeof duration !== 'number')) {
    return undefined;
  }
  return {
    scenario_name: v[1] as string,
    scenario_hash: v[2] as string,
    scenario_text: v[3] as string,
    design: v[4] as string,
    seed: v[5] as number,
    hmmlab_version: v[6] as string,
    started_at: v[7] as string,
    metrics: v[8] as string,
    duration_ms: duration,
  };
}

/** A record of the page scan as an explorations row, when it has that shape. */
function asExplorationRow(v: readonly RecordValue[]): ExplorationRow | undefined {
  if (v.length !== 9 || v[0] !== null || !v.slice(1).every((x) => typeof x === 'string')) return undefined;
  const [, scenario_name, scenario_hash, scenario_text, mode, verdict, hmmlab_version, started_at, result] =
    v as string[];
  return {
    scenario_name: scenario_name!,
    scenario_hash: scenario_hash!,
    scenario_text: scenario_text!,
    mode: mode!,
    verdict: verdict!,
    hmmlab_version: hmmlab_version!,
    started_at: started_at!,
    result: result!,
  };
}

function jsonOk(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** What a salvaged table gave: its readable rows, the rows it had that could not be read, notes. */
interface SalvagedTable<T> {
  rows: T[];
  unreadable: number;
  notes: string[];
  /** How many rows the table held is unknown: more than `unreadable` may be lost. */
  uncounted: boolean;
}

/**
 * Reads what can still be read of a damaged store (`damage`: what checkStoreFile said of it).
 *
 * - Through SQLite first, with `writable_schema` on (and SQLite's defensive mode off, which
 *   otherwise ignores it): only then does SQLite open a file shorter than its header says,
 *   reading the pages that are there (without it every read of a truncated store fails, even
 *   of page 1). Rows are read by id, from 1 to the largest id the store handed out, each in one
 *   statement, so a row is never half read.
 * - A row SQLite cannot reach (a lost interior page orphans the intact leaves below it; a
 *   damaged page 1 loses the table list) is looked up in a scan of the file's pages
 *   (page-scan.ts), by its id; a row SQLite says does not exist is not taken from the scan.
 * - Rows whose JSON did not survive count as unreadable. Where how many rows a table held is
 *   unknown (its table list and sqlite_sequence are unreadable), a note says so.
 *
 * Throws StoreError when nothing was recovered from a store that could not be read in full:
 * "could not read <file>: <why>; 0 runs recovered", before the output is touched.
 */
function salvageInput(path: string, damage: string): CheckedInput {
  const notes: string[] = [];
  let db: Database.Database | undefined;
  // SQLite reads the missing end of a page cut halfway as zeros: from a cut page 1, a table list
  // that looks empty. So a page 1 that is not whole is not read through SQLite at all.
  const cut = firstPageCut(path);
  if (cut) {
    notes.push(cut);
  } else {
    try {
      db = openSalvageCopy(path);
      db.unsafeMode(true);
      db.pragma('writable_schema = ON');
    } catch (e) {
      db?.close();
      db = undefined;
      notes.push(`SQLite cannot open it (${sqliteMessage(e)})`);
    }
  }
  try {
    type Got<T> = { row: T | undefined } | { error: string };
    const tryGet = <T>(sql: string, ...args: unknown[]): Got<T> => {
      if (!db) return { error: 'SQLite cannot open it' };
      try {
        return { row: db.prepare(sql).get(...args) as T | undefined };
      } catch (e) {
        return { error: sqliteMessage(e) };
      }
    };
    const value = <T>(g: Got<T>): T | undefined => ('row' in g ? g.row : undefined);
    const applicationId = value(
      tryGet<{ a: number }>('SELECT application_id AS a FROM pragma_application_id'),
    )?.a;
    let version = value(tryGet<{ v: number }>('SELECT user_version AS v FROM pragma_user_version'))?.v;
    if (version !== undefined && version > SCHEMA_VERSION) {
      throw new StoreError(
        `${path}: results store schema version ${version}; this hmmlab knows up to ${SCHEMA_VERSION} (merge with a newer hmmlab)`,
      );
    }
    let tables: Set<string> | undefined;
    let tablesError = '';
    if (db) {
      try {
        tables = new Set(
          db
            .prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table'")
            .all()
            .map((t) => t.name),
        );
      } catch (e) {
        tablesError = sqliteMessage(e);
      }
    }
    const marked = applicationId !== undefined && applicationId >>> 0 === HMMLAB_APPLICATION_ID;
    if (applicationId !== undefined && applicationId !== 0 && !marked) {
      throw new StoreError(
        `${path}: not an hmmlab results store: another application's SQLite database (application_id 0x${(applicationId >>> 0).toString(16).padStart(8, '0')}); hmmlab leaves it as it is`,
      );
    }
    if (tables && !tables.has('runs') && !marked) {
      throw new StoreError(
        `${path}: not an hmmlab results store: an SQLite database without hmmlab's runs table`,
      );
    }
    if (!tables && db) notes.push(`its table list cannot be read (${tablesError})`);
    if (version === undefined) version = tables?.has('explorations') ? 3 : 0;

    let scanned: ScannedRecord[] = [];
    try {
      scanned = scanPages(path).records;
    } catch (e) {
      notes.push(
        `its pages cannot be scanned (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      );
    }
    let fileSize = 0;
    try {
      fileSize = statSync(path).size;
    } catch {
      // Scanned or not, the ids read below stop at the largest one found.
    }

    const salvageTable = <T>(
      table: 'runs' | 'explorations',
      columns: string,
      shape: (v: readonly RecordValue[]) => T | undefined,
      json: (row: T) => string,
      hashOk: (row: T) => boolean = () => true,
    ): SalvagedTable<T> => {
      const noun = table === 'runs' ? 'runs' : 'explorations';
      const out: SalvagedTable<T> = { rows: [], unreadable: 0, notes: [], uncounted: false };
      // Rows of this table's shape found in the pages, by id; an id found twice with different
      // contents is not guessed at (null).
      const fromPages = new Map<number, T | null>();
      for (const r of scanned) {
        const row = shape(r.values);
        if (!row || r.rowid < 1) continue;
        const had = fromPages.get(r.rowid);
        if (had === undefined) fromPages.set(r.rowid, row);
        else if (had !== null && JSON.stringify(had) !== JSON.stringify(row)) fromPages.set(r.rowid, null);
      }
      let stmt: Database.Statement<[number], T> | undefined;
      let sqliteError = '';
      if (db && tables?.has(table)) {
        try {
          stmt = db.prepare<[number], T>(`SELECT ${columns} FROM ${table} WHERE id = ?`);
        } catch (e) {
          sqliteError = sqliteMessage(e);
        }
      } else {
        sqliteError = tables ? `its table list has no ${table} table` : 'its table list cannot be read';
      }
      const seq = tryGet<{ seq: number }>('SELECT seq FROM sqlite_sequence WHERE name = ?', table);
      const max = stmt ? tryGet<{ m: number | null }>(`SELECT max(id) AS m FROM ${table}`) : undefined;
      if (max && 'error' in max) sqliteError = max.error;
      // Every id up to `handedOut` was given to a row (AUTOINCREMENT; hmmlab deletes no row), so
      // a row SQLite does not find there is lost, not absent (a page cut halfway reads as zeros).
      const handedOut =
        'row' in seq ? (seq.row?.seq ?? 0) : max && 'row' in max ? (max.row?.m ?? 0) : undefined;
      let last = Math.max(handedOut ?? 0, ...fromPages.keys());
      // Ids from a damaged sqlite_sequence: a store of n rows is more than n bytes.
      if (fileSize > 0) last = Math.min(last, fileSize);
      let sqliteFailed = 0;
      let mismatched = 0;
      for (let id = 1; id <= last; id++) {
        let row: T | undefined;
        if (stmt) {
          let failed = false;
          try {
            row = stmt.get(id);
          } catch (e) {
            failed = true;
            sqliteError = sqliteMessage(e);
          }
          // SQLite read the page where the row would be, and it is not there: no such row.
          if (row === undefined && !failed && handedOut !== undefined && id > handedOut) continue;
        }
        if (row === undefined || !jsonOk(json(row))) {
          if (stmt) sqliteFailed++;
          const scannedRow = fromPages.get(id);
          row = scannedRow && jsonOk(json(scannedRow)) ? scannedRow : undefined;
        }
        // A text that no longer has its hash was damaged where SQLite cannot tell: unreadable.
        if (row !== undefined && !hashOk(row)) {
          mismatched++;
          row = undefined;
        }
        if (row === undefined) out.unreadable++;
        else out.rows.push(row);
      }
      const expected = table === 'runs' || version >= 3;
      const count = (n: number) => `${n} ${n === 1 ? noun.slice(0, -1) : noun}`;
      if (!stmt && expected) {
        const lost = out.unreadable > 0 ? ` (${out.unreadable} of ids 1 to ${last} missing)` : '';
        out.notes.push(
          `${tables ? `its table list has no ${table} table; ` : ''}scanning its pages found ${count(out.rows.length)}${lost}`,
        );
      } else if (sqliteFailed > 0) {
        out.notes.push(
          `${count(sqliteFailed)} cannot be read through SQLite (${sqliteError || 'not where its id says'}); scanning its pages found ${sqliteFailed - out.unreadable} of them`,
        );
      }
      if (mismatched > 0) out.notes.push(`${mismatchedRuns(mismatched)}: damaged`);
      if (handedOut === undefined && expected) {
        // Neither sqlite_sequence nor the table itself says how many rows there were.
        out.uncounted = true;
        out.notes.push(
          `how many ${noun} it held is unknown${stmt ? ` (${sqliteError})` : ''}${last === 0 ? '' : `: ${noun} after id ${last}, if there were any, are lost uncounted`}`,
        );
      }
      return out;
    };
    const runColumns =
      version >= 2 || value(tryGet("SELECT 1 FROM pragma_table_info('runs') WHERE name = 'duration_ms'"))
        ? `${RUN_COLUMNS}, duration_ms`
        : `${RUN_COLUMNS}, NULL AS duration_ms`;
    const runs = salvageTable<RunRow>('runs', runColumns, asRunRow, (r) => r.metrics, runHashOk);
    const explorations =
      version >= 3 || !tables
        ? salvageTable<ExplorationRow>('explorations', EXPLORATION_COLUMNS, asExplorationRow, (r) => r.result)
        : { rows: [], unreadable: 0, notes: [], uncounted: false };
    const recovered = runs.rows.length + explorations.rows.length;
    if (recovered === 0 && (runs.unreadable > 0 || runs.uncounted || notes.length + runs.notes.length > 0)) {
      // Nothing to copy from a store that could not be read: an error, never a merge of 0 runs.
      throw new StoreError(
        `could not read ${path}: ${[damage, ...notes, ...runs.notes].join('; ')}; 0 runs recovered`,
        true,
      );
    }
    notes.push(...runs.notes, ...explorations.notes);
    return {
      path,
      schemaVersion: version,
      runs: runs.rows,
      explorations: explorations.rows,
      runsUnreadable: runs.unreadable,
      explorationsUnreadable: explorations.unreadable,
      damage: [damage, ...notes],
      runsUncounted: runs.uncounted,
      explorationsUncounted: explorations.uncounted,
    };
  } finally {
    db?.close();
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
      if (options.salvage && e instanceof StoreError && e.damaged) {
        return salvageInput(path, damageOf(path, e.message));
      }
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
      runsFound: 0,
      explorationsFound: 0,
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
          runsFound: input.runs.length + input.runsUnreadable,
          explorationsFound: input.explorations.length + input.explorationsUnreadable,
          damage: input.damage,
          runsUncounted: input.runsUncounted,
          explorationsUncounted: input.explorationsUncounted,
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
        report.runsFound += r.runsFound;
        report.explorationsFound += r.explorationsFound;
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
