/**
 * Is this file an hmmlab results store? Checked before hmmlab writes to a file, or reads it, so
 * that a file that is not one (a text file, random bytes, a truncated copy, another
 * application's SQLite database, a store of a newer hmmlab, a damaged store) is refused with a
 * one-line message, and never modified.
 *
 * The order of the checks matters: what can be told from the file's first 100 bytes (the
 * SQLite header: magic string, page size, page count) is told without SQLite; only a file whose
 * header is sound is opened, without writing (openForReading), to read its application_id,
 * user_version and tables and, if asked, run `PRAGMA quick_check`.
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';

/**
 * `PRAGMA application_id` of an hmmlab results store: the bytes 'hmml'. Stores made before it
 * was set have 0 there and are recognised by their tables.
 */
export const HMMLAB_APPLICATION_ID = 0x686d6d6c;

/** Thrown when a store cannot be opened or a run cannot be saved, with a one-line message for the user. */
export class StoreError extends Error {
  constructor(
    message: string,
    /** True when the file is an hmmlab store, or was one, that is damaged (truncated, a bad page). */
    readonly damaged = false,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

/** What checkStoreFile found at a path that is (or may become) a results store. */
export type StoreFileState =
  /** No file there. */
  | { kind: 'missing' }
  /**
   * An empty file, or (`tableless`) an SQLite database with no tables at all: nothing to lose,
   * a store can be made there. `wal`: the tableless database is in WAL mode (a copy of a store
   * in use, made without its -wal file, looks like that).
   */
  | { kind: 'empty'; tableless?: { wal: boolean } }
  /** An hmmlab results store; `marked` is false for a store made before application_id was set. */
  | { kind: 'store'; schemaVersion: number; marked: boolean };

/** The columns every version of the `runs` table has (v1); a table without them is not hmmlab's. */
const RUNS_COLUMNS = [
  'id',
  'scenario_name',
  'scenario_hash',
  'scenario_text',
  'design',
  'seed',
  'hmmlab_version',
  'started_at',
  'metrics',
];

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * Why an `empty` file (checkStoreFile) is not a results store to read, one line: a 0-byte file
 * is `an empty file`; an SQLite database with no tables says so, and, in WAL mode, that a
 * `-wal` file that held its runs was probably left behind when it was copied. `yet` is added
 * to the first (`not a results store yet: ...`).
 */
export function emptyFileMessage(
  path: string,
  state: { kind: 'empty'; tableless?: { wal: boolean } },
  yet = '',
): string {
  if (!state.tableless) return `${path}: an empty file, not a results store${yet}`;
  if (state.tableless.wal) {
    return `${path}: not a results store: an SQLite database that holds no tables, in WAL mode; if it was copied from a store that was in use, its -wal file (${path}-wal, which holds the runs) was probably left behind: copy that file beside it too`;
  }
  return `${path}: an SQLite database that holds no tables, not a results store${yet}`;
}

/** What to do about a damaged store, said once for every message that reports one. */
export function salvageAdvice(path: string): string {
  return `\`hmmlab merge --salvage repaired.db ${path}\` copies the runs that can still be read into a new store`;
}

function looksLikeText(bytes: Buffer): boolean {
  if (bytes.length === 0) return false;
  for (const b of bytes) {
    if (b === 0) return false;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return false;
  }
  return true;
}

/** A message of SQLite's (some span lines, quick_check's does) as one line of at most 160 characters. */
function firstLine(s: string): string {
  const line = s
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^\*\*\* in database \w+ \*\*\*$/.test(l))
    .join(' ');
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}

/** The first `n` bytes of a file (fewer if it is shorter). */
function head(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(n);
    const got = readSync(fd, buf, 0, n, 0);
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/**
 * Opens an existing SQLite file to read it, changing nothing in it.
 *
 * A read-only connection to a WAL database creates `-wal` and `-shm` files beside it and,
 * being read-only, cannot remove them when it closes. So a WAL file with no `-wal` beside it
 * (no other connection, nothing left to checkpoint) is opened read-write with
 * `PRAGMA query_only`: it writes nothing, and the last connection to close removes the side
 * files as SQLite always does. Anything else (a rollback-journal file, where a read-write
 * connection could roll back a hot journal, or a WAL file in use) is opened read-only.
 */
export function openForReading(path: string): Database.Database {
  let wal = false;
  try {
    const h = head(path, 20);
    // The read version (byte 19) is what makes a reader use WAL; the write version (byte 18)
    // may be anything (a damaged header: 0x12 there made SQLite read-only, and a read-only
    // connection left -wal and -shm behind; found by the store fuzzer).
    wal = h.length === 20 && h.subarray(0, 16).equals(SQLITE_MAGIC) && h[19] === 2;
  } catch {
    // Unreadable: the read-only open below reports it.
  }
  if (wal && !existsSync(`${path}-wal`)) {
    try {
      const db = new Database(path, { fileMustExist: true });
      db.pragma('query_only = ON');
      return db;
    } catch {
      // A read-only file or folder: fall back to a read-only connection.
    }
  }
  return new Database(path, { readonly: true, fileMustExist: true });
}

/** Checks the SQLite header of `path` (`size` bytes): an SQLite file, whole. */
function checkHeader(path: string, size: number): void {
  const h = head(path, 100);
  const magicLength = Math.min(h.length, SQLITE_MAGIC.length);
  if (!h.subarray(0, magicLength).equals(SQLITE_MAGIC.subarray(0, magicLength))) {
    throw new StoreError(
      looksLikeText(h)
        ? `${path}: not an hmmlab results store: it is a text file, not an SQLite database`
        : `${path}: not an hmmlab results store: not an SQLite database (its first bytes are not an SQLite header)`,
    );
  }
  if (h.length < 100) {
    throw new StoreError(
      `${path}: the results store is truncated (${size} bytes, shorter than an SQLite header); ${salvageAdvice(path)}`,
      true,
    );
  }
  // File format write and read versions: 1 (rollback journal) or 2 (WAL). Anything else makes
  // SQLite refuse the file or open it read-only, so that saving a run fails after the work
  // (found by the store fuzzer: a flipped bit in byte 18).
  if (![1, 2].includes(h[18]!) || ![1, 2].includes(h[19]!)) {
    throw new StoreError(
      `${path}: the results store is damaged: its SQLite header has file format versions ${h[18]} and ${h[19]} (1 or 2 expected); ${salvageAdvice(path)}`,
      true,
    );
  }
  const rawPageSize = h.readUInt16BE(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) {
    throw new StoreError(
      `${path}: the results store is damaged: its SQLite header has page size ${rawPageSize}`,
      true,
    );
  }
  const pages = h.readUInt32BE(28);
  // The page count in the header is valid when "version-valid-for" equals the change counter.
  const pagesValid = h.readUInt32BE(92) === h.readUInt32BE(24) && pages > 0;
  // A checkpoint killed halfway can leave the file shorter than its header says while the -wal
  // file still holds the pages: SQLite recovers that, so it is not called truncated here.
  const walPending = (() => {
    try {
      return statSync(`${path}-wal`).size > 0;
    } catch {
      return false;
    }
  })();
  if (size % pageSize !== 0 || (pagesValid && !walPending && size < pages * pageSize)) {
    throw new StoreError(
      `${path}: the results store is truncated (${size} bytes${pagesValid ? `, its header says ${pages * pageSize}` : `, not a whole number of ${pageSize}-byte pages`}); ${salvageAdvice(path)}`,
      true,
    );
  }
}

/**
 * Checks that `path` is a results store this hmmlab can use, without changing it: returns
 * `missing`, `empty` or `store`, and throws StoreError (one line, naming the file) for
 * anything else: a folder, a text file, random bytes, a truncated file, another application's
 * SQLite database, a store with a newer schema than `newestVersion`, a damaged store.
 *
 * `quickCheck` runs `PRAGMA quick_check` (reads every page: linear in the file's size).
 */
export function checkStoreFile(
  path: string,
  newestVersion: number,
  options: { quickCheck?: boolean } = {},
): StoreFileState {
  // SQLite reads '' as a private temporary database: a run "stored" there is lost at exit.
  if (path === '') throw new StoreError('an empty path is not a results store: name a file (--db <path>)');
  let size: number;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new StoreError(`${path}: a folder, not a results store file`);
    if (!st.isFile()) throw new StoreError(`${path}: not a regular file, not a results store`);
    size = st.size;
  } catch (e) {
    if (e instanceof StoreError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'missing' };
    throw new StoreError(`${path}: cannot read it (${code ?? (e as Error).message})`);
  }
  if (size === 0) return { kind: 'empty' };
  try {
    checkHeader(path, size);
  } catch (e) {
    if (e instanceof StoreError) throw e;
    throw new StoreError(
      `${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  let db: Database.Database | undefined;
  try {
    db = openForReading(path);
    // Read through SQLite, not from the header bytes: in a WAL database the newest page 1 may
    // still be in the -wal file.
    const applicationId = (db.pragma('application_id', { simple: true }) as number) >>> 0;
    const userVersion = db.pragma('user_version', { simple: true }) as number;
    if (applicationId !== 0 && applicationId !== HMMLAB_APPLICATION_ID) {
      throw new StoreError(
        `${path}: not an hmmlab results store: another application's SQLite database (application_id 0x${applicationId.toString(16).padStart(8, '0')}); hmmlab leaves it as it is`,
      );
    }
    const marked = applicationId === HMMLAB_APPLICATION_ID;
    if (userVersion > newestVersion && marked) {
      throw new StoreError(
        `${path}: results store schema version ${userVersion}; this hmmlab knows up to ${newestVersion} (use a newer hmmlab)`,
      );
    }
    const objects = db
      .prepare<[], { type: string; name: string }>(
        "SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY name",
      )
      .all();
    const tables = objects.filter((o) => o.type === 'table').map((o) => o.name);
    if (objects.length === 0 && userVersion === 0 && !marked) {
      if (options.quickCheck) quickCheck(db, path);
      const h = head(path, 20);
      return { kind: 'empty', tableless: { wal: h.length === 20 && h[19] === 2 } };
    }
    const runsColumns = tables.includes('runs')
      ? db
          .prepare<[], { name: string }>("SELECT name FROM pragma_table_info('runs')")
          .all()
          .map((c) => c.name)
      : [];
    const hasRuns = RUNS_COLUMNS.every((c) => runsColumns.includes(c));
    if (!marked && (!hasRuns || userVersion < 1)) {
      const has = tables.length === 0 ? 'no tables' : `tables ${tables.slice(0, 5).join(', ')}`;
      throw new StoreError(
        `${path}: not an hmmlab results store: an SQLite database without hmmlab's runs table (it has ${has}); hmmlab leaves it as it is`,
      );
    }
    if (userVersion > newestVersion) {
      throw new StoreError(
        `${path}: results store schema version ${userVersion}; this hmmlab knows up to ${newestVersion} (use a newer hmmlab)`,
      );
    }
    if (userVersion < 1 || !hasRuns || (userVersion >= 3 && !tables.includes('explorations'))) {
      throw new StoreError(
        `${path}: the results store is damaged: schema version ${userVersion} without the tables it needs`,
        true,
      );
    }
    if (options.quickCheck) quickCheck(db, path);
    return { kind: 'store', schemaVersion: userVersion, marked };
  } catch (e) {
    if (e instanceof StoreError) throw e;
    const code = (e as { code?: string }).code;
    if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') {
      throw new StoreError(
        `${path}: the results store is damaged (${firstLine((e as Error).message)}); ${salvageAdvice(path)}`,
        true,
      );
    }
    throw new StoreError(`${path}: cannot read it as a results store (${firstLine((e as Error).message)})`);
  } finally {
    db?.close();
  }
}

function quickCheck(db: Database.Database, path: string): void {
  const rows = db.pragma('quick_check(1)') as { quick_check: string }[];
  const verdict = rows[0]?.quick_check ?? 'ok';
  if (verdict !== 'ok') {
    throw new StoreError(
      `${path}: the results store is damaged (quick_check: ${firstLine(verdict)}); ${salvageAdvice(path)}`,
      true,
    );
  }
}
