/**
 * Opening the results store for the viewer without side effects: a missing file stays missing
 * (ResultsStore.open would create it), and a store of an older schema is not migrated (the
 * viewer is read-only); both, and a file that is not a database, become a message.
 */
import { existsSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { ResultsStore, SCHEMA_VERSION } from '../store/store.js';

export type StoreAccess =
  | { ok: true; store: ResultsStore; schemaVersion: number }
  | { ok: false; message: string };

/** Probes `path` read-only; opens it as a ResultsStore only when it is a store of today's schema. */
export function openStoreForReading(path: string): StoreAccess {
  if (path === ':memory:')
    return { ok: false, message: 'the viewer needs a results store file, not :memory:' };
  if (!existsSync(path))
    return { ok: false, message: `no results store at ${path}; run \`npm start\` first` };
  if (!statSync(path).isFile()) return { ok: false, message: `results store at ${path} is not a file` };
  let version: number;
  let probe: Database.Database | undefined;
  try {
    probe = new Database(path, { readonly: true, fileMustExist: true });
    version = probe.pragma('user_version', { simple: true }) as number;
    // user_version reads the header only; reading the schema catches a file that is not SQLite.
    probe.prepare('SELECT count(*) FROM sqlite_schema').get();
  } catch (e) {
    return { ok: false, message: `results store at ${path} cannot be read: ${(e as Error).message}` };
  } finally {
    probe?.close();
  }
  if (version === 0) {
    return {
      ok: false,
      message: `${path} is an empty database, not a results store; run \`npm start\` first`,
    };
  }
  if (version < SCHEMA_VERSION) {
    return {
      ok: false,
      message:
        `results store at ${path} has schema version ${version}, older than this hmmlab's ${SCHEMA_VERSION}; ` +
        'the viewer does not change it: run an hmmlab command that stores runs (e.g. `npm start`) to upgrade it',
    };
  }
  if (version > SCHEMA_VERSION) {
    return {
      ok: false,
      message: `results store at ${path} has schema version ${version}; this hmmlab knows up to ${SCHEMA_VERSION}`,
    };
  }
  try {
    return { ok: true, store: ResultsStore.open(path), schemaVersion: version };
  } catch (e) {
    return { ok: false, message: `results store at ${path} cannot be read: ${(e as Error).message}` };
  }
}
