/**
 * Running a sensitivity analysis (src/sim/sensitivity.ts) on worker threads: one baseline run
 * per design that records the cost parameters it reads, then every perturbed run, on `jobs`
 * threads (the sweep's pool, run.ts).
 */
import type { DesignName } from '../designs/design.js';
import type { CompareRow } from '../sim/compare.js';
import { configProfile, type SimConfig } from '../sim/config.js';
import {
  type RunOutcome,
  type SensitivityResult,
  sensitivityInputs,
  sensitivityResult,
  sensitivityRuns,
  type VerdictMetric,
} from '../sim/sensitivity.js';
import { runSweep } from './run.js';

/** Options of runSensitivity. */
export interface RunSensitivityOptions {
  designs: readonly DesignName[];
  seed: number;
  metric: VerdictMetric;
  /** Keep only these inputs (cost parameter names, scenario paths); all when absent. */
  only?: ReadonlySet<string>;
  /** Worker threads (default os.availableParallelism()). */
  jobs?: number;
  /** Called once the runs are known (baselines included), before the perturbed ones start. */
  onPlan?: (total: number) => void;
  /** Called after each run with the number done so far, baselines included. */
  onProgress?: (done: number) => void;
}

/** A baseline run that threw: the analysis has nothing to compare with. */
export class BaselineError extends Error {}

/**
 * The sensitivity of `config`'s verdict (see src/sim/sensitivity.ts). Rejects with a
 * BaselineError when a design's baseline run throws; a perturbed run that throws is reported in
 * its entry (lowError, highError) and the others go on.
 */
export async function runSensitivity(
  config: SimConfig,
  options: RunSensitivityOptions,
): Promise<SensitivityResult> {
  const { designs, seed, jobs } = options;
  const baseline: CompareRow[] = new Array(designs.length);
  const reads = new Map<DesignName, ReadonlySet<string>>();
  const failed: string[] = [];
  let done = 0;
  await runSweep(
    designs.map((design, index) => ({ index, config: { ...config, design }, seed, costReads: true })),
    {
      jobs,
      onResult: (r) => {
        baseline[r.index] = r.result;
        reads.set(designs[r.index]!, new Set(r.costReads));
        options.onProgress?.(++done);
      },
      onFailure: (f) => {
        failed.push(`the baseline run of ${designs[f.index]} failed: ${f.error}`);
      },
    },
  );
  if (failed.length > 0) throw new BaselineError(failed.join('; '));
  // Map order is the designs' (Perturbation.designs keeps it), not the order runs finished in.
  const ordered = new Map(designs.map((d) => [d, reads.get(d)!]));
  const inputs = sensitivityInputs(config, configProfile(config), ordered, options.only);
  const runs = sensitivityRuns(config, inputs);
  options.onPlan?.(designs.length + runs.length);
  const outcomes: RunOutcome[] = new Array(runs.length);
  await runSweep(
    runs.map((r, index) => ({ index, config: r.config, seed })),
    {
      jobs,
      onResult: (r) => {
        outcomes[r.index] = { row: r.result };
        options.onProgress?.(++done);
      },
      onFailure: (f) => {
        outcomes[f.index] = { error: f.error };
        options.onProgress?.(++done);
      },
    },
  );
  return sensitivityResult({ designs, metric: options.metric, inputs, baseline, runs, outcomes });
}
