/**
 * Opening the results store for the viewer without side effects: read-only, through the same
 * checks as every command (src/store/file-check.ts). A missing file stays missing, a store of
 * an older schema is read as it is (not migrated, not marked), and anything that is not an
 * hmmlab store, or a damaged one, becomes a one-line message.
 */
import { ResultsStore, StoreError } from '../store/store.js';

export type StoreAccess =
  | { ok: true; store: ResultsStore; schemaVersion: number }
  | { ok: false; message: string };

/**
 * Opens `path` read-only as a ResultsStore. `quickCheck` reads every page first (the status
 * route and the server start do; the per-request opens skip it, a damaged page still ends in a
 * message when a request reads it).
 */
export function openStoreForReading(path: string, options: { quickCheck?: boolean } = {}): StoreAccess {
  if (path === ':memory:')
    return { ok: false, message: 'the viewer needs a results store file, not :memory:' };
  try {
    const store = ResultsStore.open(path, { readOnly: true, quickCheck: options.quickCheck ?? false });
    return { ok: true, store, schemaVersion: store.schemaVersion() };
  } catch (e) {
    if (e instanceof StoreError) return { ok: false, message: e.message };
    return { ok: false, message: `${path}: cannot read it (${(e as Error).message.split('\n')[0]})` };
  }
}
