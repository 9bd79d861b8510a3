/**
 * Test data for the viewer: a results store with runs of small scenarios (stored as the CLI
 * stores them: scenario text, design, seed and the comparison row) and race-explorer results
 * run by the explorer and saved with saveExploration, as `hmmlab explore` does.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DesignName } from '../../src/designs/design.js';
import { explore } from '../../src/explore/explorer.js';
import { problemModel } from '../../src/explore/problems.js';
import type { ExploreResult } from '../../src/explore/types.js';
import { loadScenario } from '../../src/scenario/index.js';
import { compareRow } from '../../src/sim/compare.js';
import { simulate } from '../../src/sim/simulate.js';
import type { ResultsStore } from '../../src/store/store.js';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Scenario files by a short name. */
export const SCENARIOS = {
  /** NIC and GPU on two root ports of an AMD host: THRU_HOST_BRIDGE (0.5 s a run). */
  amd: 'scenarios/rdma-amd-root-ports.yaml',
  /** Two host bridges, a switch with an ACS port, a two-function NIC, a platform device. */
  switch: 'test/e2e/fixtures/switch-topology.yaml',
  /** No platform.pci: the p2p map-type table. */
  p2p: 'test/e2e/fixtures/p2p-table.yaml',
} as const;

export interface SeedRun {
  scenario: keyof typeof SCENARIOS;
  design: DesignName;
  /** Default: the scenario's seed. */
  seed?: number;
}

/** Stores `runs` (simulating each once, as `hmmlab run` does) and returns their ids. */
export function seedRuns(store: ResultsStore, runs: readonly SeedRun[]): number[] {
  return runs.map((r, i) => {
    const file = SCENARIOS[r.scenario];
    const text = readFileSync(join(ROOT, file), 'utf8');
    const loaded = loadScenario(text, file);
    if (!loaded.ok) throw new Error(`fixture ${file} does not load: ${loaded.errors[0]?.message}`);
    const seed = r.seed ?? loaded.seed;
    const result = simulate({ ...loaded.config, design: r.design }, { seed });
    return store.saveRun({
      scenarioName: loaded.scenario.name ?? file,
      scenarioText: text,
      design: r.design,
      seed,
      hmmlabVersion: '0.1.0',
      startedAt: `2026-11-26T10:${String(i).padStart(2, '0')}:00.000Z`,
      metrics: compareRow(result),
      durationMs: 100 + i,
    });
  });
}

/**
 * Real race-explorer results: the livelock of two CPU threads holding references on one
 * device page (scenarios/races/cpu-fault-refcount-buggy.yaml) and the fixed driver of
 * skip-read-retry, explored clean.
 */
export const LIVELOCK: ExploreResult = explore(
  problemModel({ problem: 'cpu-fault-refcount', variant: 'buggy' }),
  {
    mode: 'exhaustive',
  },
);
export const CLEAN: ExploreResult = explore(problemModel({ problem: 'skip-read-retry', variant: 'fixed' }), {
  mode: 'exhaustive',
});

/** Saves LIVELOCK then CLEAN; returns their ids. */
export function seedExplorations(store: ResultsStore): number[] {
  return [LIVELOCK, CLEAN].map((result, i) =>
    store.saveExploration({
      scenarioName: result.scenario,
      scenarioText: `# explorer scenario ${result.scenario}\nversion: 1\n`,
      hmmlabVersion: '0.1.0',
      startedAt: `2026-11-26T11:0${i}:00.000Z`,
      result,
    }),
  );
}
