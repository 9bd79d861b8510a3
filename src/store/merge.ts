/**
 * Merging results stores: the runs (and race-explorer results) of several stores copied into
 * one, for sweeps sharded across machines (`hmmlab sweep --shard i/n` on each, then
 * `hmmlab merge out.db shard-*.db`).
 *
 * - Every input is opened read-only and checked before the output is touched: a missing file,
 *   a file that is not SQLite, a failed integrity check, a store without a `runs` table or one
 *   with a newer schema than this hmmlab knows is a StoreError, and the output stays as it was.
 * - The output is opened (created, or migrated to the current schema) like any store, then all
 *   rows go in one transaction: a merge is all or nothing.
 * - Rows keep everything but their id: scenario name, text and hash, design, seed, version,
 *   start time, metrics, duration. A row equal in all of those to one already in the output
 *   (from an earlier merge, another input, or the same input) is skipped.
 * - Order is deterministic: inputs in the order given, rows in id order.
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
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
}

/** What a merge did, in total and per input. */
export interface MergeReport {
  output: string;
  inputs: MergeInputReport[];
  runsCopied: number;
  runsSkipped: number;
  explorationsCopied: number;
  explorationsSkipped: number;
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
}

function tableNames(db: Database.Database): Set<string> {
  const rows = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all();
  return new Set(rows.map((r) => r.name));
}

/** Opens `path` read-only, checks it is a results store this hmmlab can read, reads its rows. */
function readInput(path: string): CheckedInput {
  if (!existsSync(path)) throw new StoreError(`${path}: no such file`);
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw new StoreError(`${path}: cannot open: ${(e as Error).message}`);
  }
  try {
    let version: number;
    let integrity: string;
    try {
      version = db.pragma('user_version', { simple: true }) as number;
      integrity = db.pragma('integrity_check', { simple: true }) as string;
    } catch (e) {
      throw new StoreError(`${path}: not a results store (${(e as Error).message})`);
    }
    if (integrity !== 'ok') throw new StoreError(`${path}: the integrity check failed (${integrity})`);
    if (version > SCHEMA_VERSION) {
      throw new StoreError(
        `${path}: results store schema version ${version}; this hmmlab knows up to ${SCHEMA_VERSION} (merge with a newer hmmlab)`,
      );
    }
    const tables = tableNames(db);
    if (version < 1 || !tables.has('runs'))
      throw new StoreError(`${path}: not an hmmlab results store (no runs table)`);
    const duration = version >= 2 ? 'duration_ms' : 'NULL AS duration_ms';
    let runs: RunRow[];
    let explorations: ExplorationRow[] = [];
    try {
      runs = db
        .prepare<[], RunRow>(
          `SELECT scenario_name, scenario_hash, scenario_text, design, seed, hmmlab_version, started_at,
                  metrics, ${duration} FROM runs ORDER BY id`,
        )
        .all();
      if (version >= 3 && tables.has('explorations')) {
        explorations = db
          .prepare<[], ExplorationRow>(
            `SELECT scenario_name, scenario_hash, scenario_text, mode, verdict, hmmlab_version, started_at,
                    result FROM explorations ORDER BY id`,
          )
          .all();
      }
    } catch (e) {
      throw new StoreError(`${path}: cannot read its runs (${(e as Error).message})`);
    }
    return { path, schemaVersion: version, runs, explorations };
  } finally {
    db.close();
  }
}

/**
 * Merges the stores `inputs` into the store at `output` (created if missing) and reports what
 * was copied and skipped. Throws StoreError, before writing anything, for an input that is
 * missing, corrupt, not a results store or newer than this hmmlab, or an output that is newer.
 */
export function mergeStores(output: string, inputs: readonly string[]): MergeReport {
  if (inputs.length === 0) throw new StoreError('merge needs at least one input store');
  const checked = inputs.map(readInput);
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
      }
    }).immediate();
    return report;
  } finally {
    db.close();
  }
}
