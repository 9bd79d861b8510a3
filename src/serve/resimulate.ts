/**
 * Stored runs keep the scenario text, design and seed, not the event log; the viewer and
 * `hmmlab report <run ids>` simulate a run again to draw it (runs are deterministic), both
 * through resimulateRun, which also checks the metrics against the stored ones. The viewer keeps
 * results in a small in-memory cache keyed by what determines them (ResultCache).
 */
import { DESIGN_NAMES, type DesignName } from '../designs/design.js';
import { applyRecordedProfile, formatProfileError } from '../profile/index.js';
import {
  formatScenarioError,
  loadScenario,
  parseSetArgument,
  type ScenarioOverride,
} from '../scenario/index.js';
import { type CompareRow, compareRow, storedMetricsRow } from '../sim/compare.js';
import { ConfigError, type SimConfig, type SimResult, simulate } from '../sim/simulate.js';
import { readRecorded } from '../store/recorded.js';
import { type StoredRun, scenarioHash } from '../store/store.js';
import { pointSets, storedPointParams } from '../sweep/run.js';

/** A stored run this hmmlab cannot simulate again (its scenario no longer loads, an unknown design). */
export class ResimulateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResimulateError';
  }
}

/** The `--set` strings a stored scenario text recorded (src/store/recorded.ts); ResimulateError if damaged. */
function recordedSets(text: string, label: string): readonly string[] {
  const r = readRecorded(text, label);
  if (!r.ok) throw new ResimulateError(r.errors.map(formatScenarioError).join('\n'));
  return r.recorded.sets;
}

/**
 * Recorded `--set` strings as override records labelled as recorded, so that a message about
 * one names the stored run (`run 7: its recorded override '--set X=1': unknown key`), not the
 * command line's `--set`. ResimulateError for a string that is not key=value.
 */
function recordedOverrides(sets: readonly string[], label: string): ScenarioOverride[] {
  const errors: string[] = [];
  const out: ScenarioOverride[] = [];
  for (const s of sets) {
    const what = `${label}: its recorded override '--set ${s}'`;
    const o = parseSetArgument(s);
    if ('error' in o) errors.push(`${what}: wants key=value (the store is damaged)`);
    else out.push({ ...o, label: what });
  }
  if (errors.length > 0) throw new ResimulateError(errors.join('\n'));
  return out;
}

/**
 * Checks what a stored run must hold before it is simulated again: a scenario text whose hash
 * is the stored one, a seed, a design this hmmlab knows. ResimulateError (the store is damaged,
 * or the design unknown) otherwise.
 */
export function checkStoredRun(
  run: Pick<StoredRun, 'id' | 'scenarioText' | 'scenarioHash' | 'seed' | 'design'>,
): void {
  if (typeof run.scenarioText !== 'string' || scenarioHash(run.scenarioText) !== run.scenarioHash) {
    throw new ResimulateError(
      `run ${run.id}: its stored scenario text does not match its stored hash: the store is damaged`,
    );
  }
  const seed: unknown = run.seed;
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0) {
    const shown =
      typeof seed === 'string' ? `'${seed}'` : typeof seed === 'bigint' ? `${seed}` : JSON.stringify(seed);
    throw new ResimulateError(
      `run ${run.id}: its stored seed ${shown} is not a seed (a safe integer >= 0): the store is damaged`,
    );
  }
  storedRunDesign(run);
}

/**
 * The configuration of a stored scenario text, with the profile and the --set overrides it
 * recorded (or, when it recorded no overrides, `extraSets`).
 */
export function storedConfig(
  text: string,
  label: string,
  extraSets: readonly string[] = [],
): { config: SimConfig; name: string } {
  const recorded = recordedSets(text, label);
  // The overrides go through the scenario schema with the text; no work limit: the run ran.
  const r = loadScenario(text, label, {
    sets: recordedOverrides(recorded.length > 0 ? recorded : extraSets, label),
    maxWork: Number.POSITIVE_INFINITY,
  });
  if (!r.ok) throw new ResimulateError(r.errors.map(formatScenarioError).join('\n'));
  const p = applyRecordedProfile(r.config, text, label);
  if (!p.ok) throw new ResimulateError(p.errors.map(formatProfileError).join('\n'));
  return { config: p.config, name: r.scenario.name ?? label };
}

/**
 * The overrides a stored run was simulated with, as `--set` strings: the `# hmmlab --set`
 * lines its scenario text recorded, or, for a sweep point stored before sweeps recorded them
 * there, the `params` its metrics keep. ResimulateError when the record is damaged.
 */
export function storedRunSets(run: Pick<StoredRun, 'id' | 'scenarioText' | 'metrics'>): string[] {
  const recorded = recordedSets(run.scenarioText, `run ${run.id}`);
  if (recorded.length > 0) return [...recorded];
  const params = storedPointParams(run.metrics);
  return params === undefined ? [] : pointSets(params);
}

/** The configuration a stored run was simulated with (scenario text, overrides; not its design). */
export function storedRunConfig(run: StoredRun): { config: SimConfig; name: string; sets: string[] } {
  checkStoredRun(run);
  const sets = storedRunSets(run);
  return { ...storedConfig(run.scenarioText, `run ${run.id}`, sets), sets };
}

/** The numeric leaves of a row, by dotted path (rdma.put.gbps, workloadNs.fill, endNs...). */
function leaves(value: unknown, prefix: string, out: Map<string, unknown>): Map<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) leaves(v, prefix === '' ? k : `${prefix}.${k}`, out);
  } else out.set(prefix, value);
  return out;
}

/**
 * Null when a stored run's metrics equal those it gives when simulated again (`again`);
 * otherwise one line that says what differs: the metrics (stored and new values, the first
 * few), the hmmlab version that stored the run and this one, and the scenario hash, so that
 * the cause can be told apart (a model change between versions, or a stored text that does
 * not say everything the run used).
 */
export function metricsDifference(run: StoredRun, again: CompareRow, hmmlabVersion: string): string | null {
  const read = storedMetricsRow(run.metrics);
  if (read === null) {
    return `run ${run.id}: its stored metrics cannot be read by hmmlab ${hmmlabVersion}, so they cannot be checked against the run simulated again`;
  }
  // Runs stored before link bytes were reported whole kept the fabric's float sums
  // (536870911.99998): the same bytes. A copy: the stored run's metrics are left as they are.
  const stored =
    read.linkBytes === undefined
      ? read
      : {
          ...read,
          linkBytes: Object.fromEntries(
            Object.entries(read.linkBytes)
              .map(([k, v]) => [k, typeof v === 'number' ? Math.round(v) : v] as const)
              .filter(([, v]) => v !== 0),
          ),
        };
  if (JSON.stringify(stored) === JSON.stringify(again)) return null;
  const a = leaves(stored, '', new Map());
  const b = leaves(again, '', new Map());
  const keys = [...new Set([...a.keys(), ...b.keys()])].filter(
    (k) => JSON.stringify(a.get(k)) !== JSON.stringify(b.get(k)),
  );
  const show = (v: unknown) => (v === undefined ? 'absent' : JSON.stringify(v));
  const listed = keys
    .slice(0, 4)
    .map((k) => `${k} ${show(a.get(k))} stored, ${show(b.get(k))} now`)
    .join('; ');
  const more = keys.length > 4 ? ` and ${keys.length - 4} more` : '';
  const versions =
    run.hmmlabVersion === hmmlabVersion
      ? `stored under this hmmlab's version number (${hmmlabVersion}): either the model changed since without a new version number, or the stored scenario text does not say all the run used`
      : `stored by hmmlab ${run.hmmlabVersion}, simulated again by hmmlab ${hmmlabVersion}`;
  // Key order alone (JSON.stringify differs, no leaf does) is reported as such.
  const what = keys.length === 0 ? 'the same values in another key order' : `${listed}${more}`;
  return `run ${run.id} (scenario ${run.scenarioName}, hash ${run.scenarioHash.slice(0, 12)}, design ${run.design}, seed ${run.seed}) gives different metrics when simulated again: ${what}; ${versions}`;
}

/** A stored run's metrics as a comparison row, or null (src/sim/compare.ts storedMetricsRow). */
export const storedRow = storedMetricsRow;

/** A run simulated again: the result with its event log, its row, and whether it matches the stored one. */
export interface Resimulated {
  result: SimResult;
  row: CompareRow;
  /** The design it ran (the stored run's). */
  design: DesignName;
  /** False when the stored metrics differ from today's (or cannot be read). */
  matchesStored: boolean;
  /** When they differ: what differs (metricsDifference), else null. */
  difference: string | null;
}

/** The design a stored run used; ResimulateError when this hmmlab does not know it. */
export function storedRunDesign(run: Pick<StoredRun, 'id' | 'design'>): DesignName {
  if (typeof run.design !== 'string' || !(DESIGN_NAMES as readonly string[]).includes(run.design)) {
    throw new ResimulateError(`run ${run.id} used design '${run.design}', which this hmmlab does not know`);
  }
  return run.design as DesignName;
}

/** Whether `row` (a run simulated again) matches the metrics `run` stored, and if not, what differs. */
function checked(
  run: StoredRun,
  row: CompareRow,
  hmmlabVersion: string,
): Pick<Resimulated, 'matchesStored' | 'difference'> {
  const difference = metricsDifference(run, row, hmmlabVersion);
  return { matchesStored: difference === null, difference };
}

/**
 * Simulates a stored run again, with its event log, from its scenario text and overrides
 * (storedRunConfig; or `config`, when the caller has read them already), design and seed, and
 * checks the metrics against the stored ones (metricsDifference). The one place stored runs are
 * simulated again: the viewer (ResultCache) and `hmmlab report <run ids>` both come here.
 * ResimulateError when the run's design is unknown, its scenario no longer loads or the model
 * refuses its configuration (naming the run).
 */
export function resimulateRun(run: StoredRun, hmmlabVersion: string, config?: SimConfig): Resimulated {
  checkStoredRun(run);
  const design = storedRunDesign(run);
  let result: SimResult;
  try {
    result = simulate({ ...(config ?? storedRunConfig(run).config), design }, { seed: run.seed, log: true });
  } catch (e) {
    // A configuration the model refuses (a profile a stored text cannot supply, say): the run's.
    if (e instanceof ConfigError) throw new ResimulateError(`run ${run.id}: ${e.message}`);
    throw e;
  }
  const row = compareRow(result);
  return { result, row, design, ...checked(run, row, hmmlabVersion) };
}

/** An LRU cache of re-simulated runs, keyed by scenario hash, overrides, design and seed. */
export class ResultCache {
  private readonly entries = new Map<string, { result: SimResult; row: CompareRow }>();
  /** Simulations run (cache misses), for tests. */
  simulations = 0;

  constructor(
    private readonly capacity = 6,
    /** The version named in `difference` messages. */
    private readonly hmmlabVersion = 'this version',
  ) {}

  /** Simulates `run` again (resimulateRun), or returns the cached result. Throws ResimulateError. */
  get(run: StoredRun): Resimulated {
    checkStoredRun(run);
    const design = storedRunDesign(run);
    const key = `${run.scenarioHash}:${storedRunSets(run).join('\n')}:${design}:${run.seed}`;
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return { ...hit, design, ...checked(run, hit.row, this.hmmlabVersion) };
    }
    const { config } = storedRunConfig(run);
    let again: Resimulated;
    try {
      again = resimulateRun(run, this.hmmlabVersion, config);
    } catch (e) {
      if (e instanceof ConfigError) throw new ResimulateError(`run ${run.id}: ${e.message}`);
      throw e;
    }
    this.simulations++;
    while (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { result: again.result, row: again.row });
    return again;
  }
}
