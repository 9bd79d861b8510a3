/**
 * Test data for the viewer: a results store with runs of small scenarios (stored as the CLI
 * stores them: scenario text, design, seed and the comparison row) and race-explorer results
 * saved with saveExploration (the format of src/explore/types.ts; no explorer code involved).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DesignName } from '../../src/designs/design.js';
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

/** A livelock: the GPU fault handler retries hmm_range_fault while the CPU keeps invalidating. */
export const LIVELOCK: ExploreResult = {
  scenario: 'gpu-fault-vs-migrate',
  mode: 'exhaustive',
  agents: ['cpu0', 'gpu0.fault', 'nic0'],
  coverage: {
    states: 1843,
    transitions: 5210,
    pruned: 2950,
    reduced: 417,
    maxDepth: 23,
    schedules: 96,
    complete: false,
    boundHit: 'max-depth',
  },
  counterexample: {
    schedule: 'g.c.g.n.c.g.c.g',
    steps: [
      {
        index: 0,
        agent: 'gpu0.fault',
        step: 'mmu_interval_read_begin',
        call: 'hmm_range_fault',
        change: 'notifier seq 2 sampled',
      },
      {
        index: 1,
        agent: 'cpu0',
        step: 'migrate_lock_page',
        call: 'migrate_vma_setup',
        change: 'page 0x40 locked',
      },
      {
        index: 2,
        agent: 'gpu0.fault',
        step: 'hmm_walk_pmd_unlock',
        call: 'hmm_range_fault',
        change: 'migration entry at 0x40: wait',
      },
      { index: 3, agent: 'nic0', step: 'done', call: 'ib_umem_odp_map_dma', change: '' },
      {
        index: 4,
        agent: 'cpu0',
        step: 'invalidate_range_start',
        call: 'migrate_vma_setup',
        change: 'notifier seq 2 -> 3',
      },
      {
        index: 5,
        agent: 'gpu0.fault',
        step: 'mmu_interval_read_retry',
        call: 'hmm_range_fault',
        change: '-EBUSY: retry',
      },
      {
        index: 6,
        agent: 'cpu0',
        step: 'migrate_unlock_page',
        call: 'migrate_vma_finalize',
        change: 'page 0x40 back in RAM',
      },
      {
        index: 7,
        agent: 'gpu0.fault',
        step: 'mmu_interval_read_begin',
        call: 'hmm_range_fault',
        change: 'notifier seq 3 sampled',
      },
    ],
    violation: {
      invariant: 'livelock',
      message: 'gpu0.fault retries hmm_range_fault forever: cpu0 migrates the page back on every pass',
      cycleStart: 4,
    },
  },
};

/** A clean exhaustive run. */
export const CLEAN: ExploreResult = {
  scenario: 'nic-fault-vs-unplug',
  mode: 'exhaustive',
  agents: ['nic0', 'unplug'],
  coverage: {
    states: 212,
    transitions: 530,
    pruned: 301,
    reduced: 44,
    maxDepth: 14,
    schedules: 20,
    complete: true,
  },
  counterexample: null,
};

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
