/**
 * Opening the results store for a command, and reading stored runs back: a store that is not
 * an hmmlab store, a missing run or metrics this hmmlab cannot read are bad input (exit 2).
 */
import { type CompareRow, printableRow, storedMetricsRow } from '../sim/compare.js';
import { DEFAULT_DB_PATH, ResultsStore, type StoredRun } from '../store/store.js';
import type { StoreOptions } from './common-options.js';
import { UsageError } from './context.js';

/**
 * Opens the results store to write (unless --no-store), checked first: a file that is not an
 * hmmlab store is a StoreError (exit 2) before any work is done, and is left as it was.
 */
export function withStore<T>(opts: StoreOptions, f: (store: ResultsStore | null) => T): T {
  if (opts.store === false) return f(null);
  const store = ResultsStore.open(opts.db ?? DEFAULT_DB_PATH);
  try {
    return f(store);
  } finally {
    store.close();
  }
}

/** What a command that simulates stores with each run besides its design and metrics. */
export interface RunRecord {
  scenarioName: string;
  scenarioText: string;
  seed: number;
  hmmlabVersion: string;
  startedAt: string;
}

/**
 * Stores one simulated run (run, compare), unless --no-store left no store; returns its id,
 * null when not stored.
 */
export function saveSimulatedRun(
  store: ResultsStore | null,
  record: RunRecord,
  design: string,
  metrics: unknown,
): number | null {
  return store?.saveRun({ ...record, design, metrics }) ?? null;
}

/**
 * Says on stderr which runs a command stored, by id ('stored run 12 in .hmmlab/results.db'):
 * the ids `runs`, `compare --runs` and `report` take. stderr, so that stdout stays one JSON
 * document with --json.
 */
export function reportStored(ids: readonly (number | null)[], db: string | undefined): void {
  const stored = ids.filter((id): id is number => id !== null);
  if (stored.length === 0) return;
  // Comma-separated, as --runs and report take them.
  process.stderr.write(
    `stored ${stored.length === 1 ? 'run' : 'runs'} ${stored.join(',')} in ${db ?? DEFAULT_DB_PATH}\n`,
  );
}

/**
 * Opens the results store read-only for the commands that only read it (runs, compare --runs,
 * report <ids>): it must exist (it is never created) and pass its checks and quick_check.
 */
export function withReadStore<T>(db: string | undefined, f: (store: ResultsStore) => T): T {
  const store = ResultsStore.open(db ?? DEFAULT_DB_PATH, { readOnly: true });
  try {
    return f(store);
  } finally {
    store.close();
  }
}

/** The stored runs `ids`, in that order; a missing one is a UsageError. */
export function storedRuns(ids: readonly number[], db: string | undefined): StoredRun[] {
  return withReadStore(db, (store) =>
    ids.map((id) => {
      const run = store.getRun(id);
      if (!run) throw new UsageError(`no stored run ${id} in ${db ?? DEFAULT_DB_PATH}`);
      return run;
    }),
  );
}

/** A stored run's metrics as a comparison row (run stores a SimResult, compare a row, sweep both). */
export function storedRow(run: StoredRun, db: string | undefined, printed: boolean): CompareRow {
  const row = storedMetricsRow(run.metrics);
  if (!row || (printed && !printableRow(row))) {
    throw new UsageError(
      `${db ?? DEFAULT_DB_PATH}: run ${run.id} has metrics this hmmlab cannot read (stored by hmmlab ${run.hmmlabVersion}, or damaged)`,
    );
  }
  return row;
}
