/**
 * Stored runs keep the scenario text, design and seed, not the event log; the viewer simulates
 * a run again to draw its time series, as `hmmlab report <run ids>` does (runs are
 * deterministic). Results are kept in a small in-memory cache keyed by what determines them.
 */
import { DESIGN_NAMES, type DesignName } from '../designs/design.js';
import { applyRecordedProfile, formatProfileError } from '../profile/index.js';
import { formatScenarioError, loadScenario } from '../scenario/index.js';
import { type CompareRow, compareRow, storedMetricsRow } from '../sim/compare.js';
import { type SimConfig, SimConfigError, type SimResult, simulate } from '../sim/simulate.js';
import type { StoredRun } from '../store/store.js';
import { applySets, OverrideError, recordedSets } from '../sweep/overrides.js';

/** A stored run this hmmlab cannot simulate again (its scenario no longer loads, an unknown design). */
export class ResimulateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResimulateError';
  }
}

/** The configuration of a stored scenario text, with the profile and --set overrides it recorded. */
export function storedConfig(text: string, label: string): { config: SimConfig; name: string } {
  const r = loadScenario(text, label);
  if (!r.ok) throw new ResimulateError(r.errors.map(formatScenarioError).join('\n'));
  const p = applyRecordedProfile(r.config, text, label);
  if (!p.ok) throw new ResimulateError(p.errors.map(formatProfileError).join('\n'));
  try {
    return { config: applySets(p.config, recordedSets(text)), name: r.scenario.name ?? label };
  } catch (e) {
    if (e instanceof OverrideError) throw new ResimulateError(`${label}: recorded ${e.message}`);
    if (e instanceof SimConfigError) throw new ResimulateError(`${label}: ${e.message}`);
    throw e;
  }
}

/** A stored run's metrics as a comparison row, or null (src/sim/compare.ts storedMetricsRow). */
export const storedRow = storedMetricsRow;

/** A run simulated again: the result with its event log, its row, and whether it matches the stored one. */
export interface Resimulated {
  result: SimResult;
  row: CompareRow;
  /** False when the stored metrics differ from today's (or cannot be read). */
  matchesStored: boolean;
}

/** An LRU cache of re-simulated runs, keyed by scenario hash, design and seed. */
export class ResultCache {
  private readonly entries = new Map<string, { result: SimResult; row: CompareRow }>();
  /** Simulations run (cache misses), for tests. */
  simulations = 0;

  constructor(private readonly capacity = 6) {}

  /** Simulates `run` again, or returns the cached result. Throws ResimulateError. */
  get(run: StoredRun): Resimulated {
    if (!(DESIGN_NAMES as readonly string[]).includes(run.design)) {
      throw new ResimulateError(`run ${run.id} used design '${run.design}', which this hmmlab does not know`);
    }
    const key = `${run.scenarioHash}:${run.design}:${run.seed}`;
    let hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
    } else {
      const { config } = storedConfig(run.scenarioText, `run ${run.id}`);
      let result: SimResult;
      try {
        result = simulate({ ...config, design: run.design as DesignName }, { seed: run.seed, log: true });
      } catch (e) {
        if (e instanceof SimConfigError) throw new ResimulateError(`run ${run.id}: ${e.message}`);
        throw e;
      }
      this.simulations++;
      hit = { result, row: compareRow(result) };
      while (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(key, hit);
    const stored = storedRow(run.metrics);
    return { ...hit, matchesStored: stored !== null && JSON.stringify(stored) === JSON.stringify(hit.row) };
  }
}
