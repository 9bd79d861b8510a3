/**
 * Running a sweep's points on worker threads (piscina), with a progress bar on stderr when it
 * is a terminal, and storing each run as it finishes (storeSweep).
 *
 * Runs come back from the workers to the main thread, which alone writes the store: one
 * writer, one transaction per run, so a sweep killed at any moment keeps every run it
 * finished, and a run is never half stored.
 */
import { availableParallelism } from 'node:os';
import { SingleBar } from 'cli-progress';
import { Piscina } from 'piscina';
import { type CompareRow, printableRow, storedMetricsRow } from '../sim/compare.js';
import { type RecordedProfileRef, readRecorded, withRecorded } from '../store/recorded.js';
import { type ResultsStore, type StoredRun, StoreError, scenarioHash } from '../store/store.js';
import type { SweepPoint } from './sweep.js';
import type { SweepResult, SweepTask } from './worker.js';

export type { SweepResult } from './worker.js';

/** A point that threw in its worker: its index and the error's message. */
export interface SweepFailure {
  index: number;
  error: string;
}

/** Options of runSweep. */
export interface RunSweepOptions {
  /** Worker threads (default os.availableParallelism()). */
  jobs?: number;
  /** Called after each run (finished or failed) with the number done so far and the total. */
  onProgress?: (done: number, total: number) => void;
  /** Called on the main thread as each run finishes, in the order they finish. */
  onResult?: (result: SweepResult) => void;
  /**
   * Called on the main thread for each run that throws. Without it, runSweep rejects with the
   * first run's error; with it, the other runs go on and runSweep resolves with the results of
   * those that finished.
   */
  onFailure?: (failure: SweepFailure) => void;
}

/** `Name: message` of an error thrown in a worker (its class arrives as a plain Error). */
function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const name = e.name && e.name !== 'Error' ? `${e.name}: ` : '';
  return `${name}${e.message.split('\n')[0]}`;
}

/**
 * The worker module: worker.ts when this module runs as TypeScript (tsx, vitest), worker.js
 * from the compiled dist/. A `.ts` worker needs tsx's loader in the worker thread too.
 */
function workerSource(): { filename: string; execArgv: string[] } {
  const ts = import.meta.url.endsWith('.ts');
  const filename = new URL(ts ? './worker.ts' : './worker.js', import.meta.url).href;
  return { filename, execArgv: ts ? [...process.execArgv, '--import', 'tsx'] : [...process.execArgv] };
}

/**
 * Runs every point on `jobs` worker threads. Resolves with one result per point that finished,
 * in the points' order whatever order they finished in. A run that throws rejects the whole
 * sweep (with its error), unless `onFailure` is given (the pool is closed either way).
 */
export async function runSweep(
  points: readonly (Pick<SweepPoint, 'index' | 'config' | 'seed'> & Pick<SweepTask, 'costReads'>)[],
  options: RunSweepOptions = {},
): Promise<SweepResult[]> {
  const jobs = Math.max(1, Math.floor(options.jobs ?? availableParallelism()));
  const total = points.length;
  if (total === 0) return [];
  const pool = new Piscina<SweepTask, SweepResult>({
    ...workerSource(),
    minThreads: Math.min(jobs, total),
    maxThreads: Math.min(jobs, total),
    idleTimeout: 1000,
  });
  const results: (SweepResult | undefined)[] = new Array(total);
  let done = 0;
  // At most `jobs` runs in flight, handed out in the points' order (so that with --jobs 1 runs
  // finish, and are stored, in that order).
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < total) {
      const slot = next++;
      const p = points[slot]!;
      let r: SweepResult;
      try {
        r = await pool.run({
          index: p.index,
          config: p.config,
          seed: p.seed,
          ...(p.costReads ? { costReads: true } : {}),
        });
      } catch (e) {
        if (!options.onFailure) throw e;
        done++;
        options.onFailure({ index: p.index, error: describeError(e) });
        options.onProgress?.(done, total);
        continue;
      }
      results[slot] = r;
      done++;
      options.onResult?.(r);
      options.onProgress?.(done, total);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, total) }, lane));
  } finally {
    await pool.destroy();
  }
  return results.filter((r): r is SweepResult => r !== undefined);
}

/**
 * The overrides of a sweep point as `--set` strings, `path=<value as JSON>` (JSON is YAML, so
 * applySets parses each back to the same value), in the point's own order. `design` is left
 * out: a stored run keeps it in its own column, as it keeps the seed.
 */
export function pointSets(params: Readonly<Record<string, unknown>>): string[] {
  return Object.entries(params)
    .filter(([k]) => k !== 'design')
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
}

/**
 * The scenario text a sweep point is stored with: the sweep's scenario text with the sweep's
 * profile (when it came from `--profile` or a file) and the point's overrides recorded as
 * `hmmlab run --set` records its own (src/store/recorded.ts), so that `hmmlab report <id>` and
 * the viewer simulate exactly that point again. Resume finds stored points by this text's hash.
 * A point that sets `profile` itself ran with that profile, not the sweep's (loadSweepFile), so
 * the sweep's is not recorded for it: a recorded profile would win over the override on replay.
 */
export function pointScenarioText(
  scenarioText: string,
  point: Pick<SweepPoint, 'params'> & { profile?: RecordedProfileRef },
  profile?: RecordedProfileRef,
): string {
  // A point's own profile file (point.profile, read by loadSweepFile) is recorded with its copy,
  // so that replaying the point needs neither the file nor the sweep.
  const own = Object.hasOwn(point.params, 'profile');
  return withRecorded(scenarioText, {
    profile: own ? point.profile : profile,
    sets: pointSets(point.params),
  });
}

/**
 * The params a sweep point stored by an older hmmlab keeps in its metrics: such a sweep stored
 * `{ params, row }` with the sweep's scenario text as it was, without `# hmmlab --set` lines
 * (src/serve/resimulate.ts storedRunSets). Undefined when the metrics have no params object.
 */
export function storedPointParams(metrics: unknown): Record<string, unknown> | undefined {
  const m = metrics as { params?: unknown } | null;
  if (m && typeof m === 'object' && m.params && typeof m.params === 'object' && !Array.isArray(m.params)) {
    return m.params as Record<string, unknown>;
  }
  return undefined;
}

/**
 * The scenario hash a stored run has, or would have if stored by this hmmlab's sweep: the hash of
 * its text, except for a sweep point stored by an older hmmlab (no recorded overrides in the
 * text, params in the metrics), whose overrides are recorded first, as pointScenarioText does.
 */
export function storedPointHash(run: Pick<StoredRun, 'scenarioText' | 'scenarioHash' | 'metrics'>): string {
  const recorded = readRecorded(run.scenarioText, 'a stored run');
  // A damaged record, or one with overrides, is this hmmlab's format: its hash is its own.
  if (!recorded.ok || recorded.recorded.sets.length > 0) return run.scenarioHash;
  const params = storedPointParams(run.metrics);
  if (params === undefined) return run.scenarioHash;
  return scenarioHash(pointScenarioText(run.scenarioText, { params }));
}

/** A stored run's metrics as a row the sweep table can print, or null (a damaged or foreign row). */
function usableRow(run: Pick<StoredRun, 'metrics'>): CompareRow | null {
  const row = storedMetricsRow(run.metrics);
  return row !== null && printableRow(row) ? row : null;
}

/** What storeSweep did with one point. */
export type PointOutcome =
  /** Run and stored now as run `runId`. */
  | { index: number; status: 'stored'; runId: number; row: CompareRow; ms: number }
  /**
   * Not stored: run `runId` has it, stored before the sweep (the point was not run), by another
   * sweep into the same store while this one ran it (run, then not stored twice), or by an
   * identical point of this sweep.
   */
  | { index: number; status: 'skipped'; runId: number; row: CompareRow }
  /** The run threw; nothing stored. */
  | { index: number; status: 'failed'; error: string };

/** Options of storeSweep. */
export interface StoreSweepOptions extends Pick<RunSweepOptions, 'jobs' | 'onProgress'> {
  store: ResultsStore;
  scenarioName: string;
  /** The sweep's scenario file's text, exactly as read. */
  scenarioText: string;
  /** The profile to record in each point's stored text (from `--profile` or a profile file). */
  profile?: RecordedProfileRef;
  hmmlabVersion: string;
  /** When the sweep started (ISO 8601), chosen by the caller. */
  startedAt: string;
  /**
   * Skip the points the store already has (default true): a run of the same scenario name,
   * scenario hash (the text with the point's overrides; for a point stored by an older hmmlab,
   * the text its params would give, storedPointHash), design and seed. The store is looked at
   * once before any runs, and again as each run is saved, in the same transaction as the
   * insert: a point another sweep (another process) stored meanwhile is not stored twice, it is
   * reported as skipped. False runs and stores every point.
   */
  resume?: boolean;
  /** Called on the main thread for each point that fails, as it fails. */
  onFailure?: (point: SweepPoint, error: string) => void;
  /** Called with the number of points to run (after skipping) before any runs. */
  onPlan?: (toRun: number, skipped: number) => void;
}

/**
 * Runs a sweep's points and stores each run as it finishes, in its own transaction. With
 * `resume` (the default), points the store already has are not run again, and a point equal to
 * an earlier point of the same sweep runs once. A point that throws fails alone: the others
 * still run and are stored. Resolves with one outcome per point, in the points' order.
 */
export async function storeSweep(
  points: readonly SweepPoint[],
  options: StoreSweepOptions,
): Promise<PointOutcome[]> {
  const { store } = options;
  const resume = options.resume ?? true;
  const keyOf = (hash: string, design: string, seed: number) => `${hash}\u0000${design}\u0000${seed}`;
  // Key -> the oldest stored run of it whose row the table can print. A stored row it cannot
  // print, or one that cannot be read at all (a damaged store), is passed over: run again.
  const stored = new Map<string, { id: number; row: CompareRow }>();
  if (resume) {
    for (const r of store.listRuns({ scenario: options.scenarioName })) {
      let run: StoredRun | undefined;
      try {
        run = store.getRun(r.id);
      } catch (e) {
        if (e instanceof StoreError) continue;
        throw e;
      }
      const row = run === undefined ? null : usableRow(run);
      if (run === undefined || row === null) continue;
      const k = keyOf(storedPointHash(run), r.design, r.seed);
      if (!stored.has(k)) stored.set(k, { id: r.id, row });
    }
  }
  const outcomes: (PointOutcome | undefined)[] = new Array(points.length);
  const texts = new Map<number, string>();
  const firstOf = new Map<string, number>(); // key -> slot of the point that runs it
  const duplicates: { slot: number; of: number }[] = [];
  const toRun: SweepPoint[] = [];
  const slotOf = new Map<number, number>(); // point index -> slot
  points.forEach((p, slot) => {
    slotOf.set(p.index, slot);
    const text = pointScenarioText(options.scenarioText, p, options.profile);
    const k = keyOf(scenarioHash(text), p.design, p.seed);
    const found = stored.get(k);
    if (found !== undefined) {
      outcomes[slot] = { index: p.index, status: 'skipped', runId: found.id, row: found.row };
      return;
    }
    const first = resume ? firstOf.get(k) : undefined;
    if (first !== undefined) {
      duplicates.push({ slot, of: first });
      return;
    }
    firstOf.set(k, slot);
    texts.set(p.index, text);
    toRun.push(p);
  });
  options.onPlan?.(toRun.length, points.length - toRun.length);
  await runSweep(toRun, {
    jobs: options.jobs,
    onProgress: options.onProgress,
    onResult: (res) => {
      const slot = slotOf.get(res.index)!;
      const p = points[slot]!;
      const run = {
        scenarioName: options.scenarioName,
        scenarioText: texts.get(p.index)!,
        design: p.design,
        seed: p.seed,
        hmmlabVersion: options.hmmlabVersion,
        startedAt: options.startedAt,
        metrics: { params: p.params, row: res.result },
        durationMs: res.ms,
      };
      if (!resume) {
        const runId = store.saveRun(run);
        outcomes[slot] = { index: p.index, status: 'stored', runId, row: res.result, ms: res.ms };
        return;
      }
      // Looked at again under the write lock: another sweep into this store may have stored
      // the point since the plan.
      const saved = store.saveRunUnlessStored(run, (existing) => usableRow(existing) !== null);
      outcomes[slot] = saved.stored
        ? { index: p.index, status: 'stored', runId: saved.id, row: res.result, ms: res.ms }
        : { index: p.index, status: 'skipped', runId: saved.run.id, row: usableRow(saved.run)! };
    },
    onFailure: (f) => {
      const slot = slotOf.get(f.index)!;
      outcomes[slot] = { index: f.index, status: 'failed', error: f.error };
      options.onFailure?.(points[slot]!, f.error);
    },
  });
  for (const { slot, of } of duplicates) {
    const first = outcomes[of]!;
    const index = points[slot]!.index;
    outcomes[slot] =
      first.status === 'failed'
        ? { index, status: 'failed', error: first.error }
        : { index, status: 'skipped', runId: first.runId, row: first.row };
  }
  return outcomes as PointOutcome[];
}

/** A progress display: update(done) after each run, stop() at the end. */
export interface ProgressReporter {
  update(done: number): void;
  stop(): void;
}

/**
 * A progress bar of `total` runs on stderr, or a reporter that does nothing when stderr is not
 * a terminal (so piped and CI output stays clean).
 */
export function progressReporter(
  total: number,
  stream: NodeJS.WriteStream = process.stderr,
  label = 'sweep',
): ProgressReporter {
  if (!stream.isTTY) return { update() {}, stop() {} };
  const bar = new SingleBar({
    stream,
    format: `${label} [{bar}] {value}/{total} runs | {percentage}% | eta {eta_formatted}`,
    hideCursor: true,
    clearOnComplete: false,
  });
  bar.start(total, 0);
  return {
    update: (done) => bar.update(done),
    stop: () => bar.stop(),
  };
}
