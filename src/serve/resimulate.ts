/**
 * Stored runs keep the scenario text, design and seed, not the event log; the viewer simulates
 * a run again to draw its time series, as `hmmlab report <run ids>` does (runs are
 * deterministic). Results are kept in a small in-memory cache keyed by what determines them.
 */
import { DESIGN_NAMES, type DesignName } from '../designs/design.js';
import { applyRecordedProfile, formatProfileError } from '../profile/index.js';
import { formatScenarioError, loadScenario } from '../scenario/index.js';
import { type CompareRow, compareRow, storedMetricsRow } from '../sim/compare.js';
import { ConfigError, type SimConfig, type SimResult, simulate } from '../sim/simulate.js';
import type { StoredRun } from '../store/store.js';
import { recordedSets } from '../sweep/overrides.js';
import { pointSets, storedPointParams } from '../sweep/run.js';

/** A stored run this hmmlab cannot simulate again (its scenario no longer loads, an unknown design). */
export class ResimulateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResimulateError';
  }
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
  const recorded = recordedSets(text);
  // The overrides go through the scenario schema with the text; no work limit: the run ran.
  const r = loadScenario(text, label, {
    sets: recorded.length > 0 ? recorded : [...extraSets],
    maxWork: Number.POSITIVE_INFINITY,
  });
  if (!r.ok) throw new ResimulateError(r.errors.map(formatScenarioError).join('\n'));
  const p = applyRecordedProfile(r.config, text, label);
  if (!p.ok) throw new ResimulateError(p.errors.map(formatProfileError).join('\n'));
  return { config: p.config, name: r.scenario.name ?? label };
}

/**
 * The overrides a stored run was simulated with, as `--set` strings: the `# hmmlab --set`
 * lines of its scenario text, or, for a sweep point stored before sweeps recorded them there,
 * the `params` its metrics keep.
 */
export function storedRunSets(run: Pick<StoredRun, 'scenarioText' | 'metrics'>): string[] {
  const recorded = recordedSets(run.scenarioText);
  if (recorded.length > 0) return recorded;
  const params = storedPointParams(run.metrics);
  return params === undefined ? [] : pointSets(params);
}

/** The configuration a stored run was simulated with (scenario text, overrides; not its design). */
export function storedRunConfig(run: StoredRun): { config: SimConfig; name: string; sets: string[] } {
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
  const stored = storedMetricsRow(run.metrics);
  if (stored === null) {
    return `run ${run.id}: its stored metrics cannot be read by hmmlab ${hmmlabVersion}, so they cannot be checked against the run simulated again`;
  }
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
      ? `stored by this hmmlab version (${hmmlabVersion}), so the model did not change between versions: the stored scenario text does not say all the run used, or the model changed without a version change`
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
  /** False when the stored metrics differ from today's (or cannot be read). */
  matchesStored: boolean;
  /** When they differ: what differs (metricsDifference), else null. */
  difference: string | null;
}

/** An LRU cache of re-simulated runs, keyed by scenario hash, design and seed. */
export class ResultCache {
  private readonly entries = new Map<string, { result: SimResult; row: CompareRow }>();
  /** Simulations run (cache misses), for tests. */
  simulations = 0;

  constructor(
    private readonly capacity = 6,
    /** The version named in `difference` messages. */
    private readonly hmmlabVersion = 'this version',
  ) {}

  /** Simulates `run` again, or returns the cached result. Throws ResimulateError. */
  get(run: StoredRun): Resimulated {
    if (!(DESIGN_NAMES as readonly string[]).includes(run.design)) {
      throw new ResimulateError(`run ${run.id} used design '${run.design}', which this hmmlab does not know`);
    }
    const key = `${run.scenarioHash}:${storedRunSets(run).join('\n')}:${run.design}:${run.seed}`;
    let hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
    } else {
      const { config } = storedRunConfig(run);
      let result: SimResult;
      try {
        result = simulate({ ...config, design: run.design as DesignName }, { seed: run.seed, log: true });
      } catch (e) {
        if (e instanceof ConfigError) throw new ResimulateError(`run ${run.id}: ${e.message}`);
        throw e;
      }
      this.simulations++;
      hit = { result, row: compareRow(result) };
      while (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(key, hit);
    const difference = metricsDifference(run, hit.row, this.hmmlabVersion);
    return { ...hit, matchesStored: difference === null, difference };
  }
}
