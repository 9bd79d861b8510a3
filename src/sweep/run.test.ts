/**
 * storeSweep and what the store already has: points another sweep stores while this one runs
 * (two processes on one store) are stored once, and points stored by an older hmmlab (params in
 * the metrics, no `# hmmlab --set` lines in the text) are recognised on resume.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tinyGpu } from '../../test/fixtures/scenarios.js';
import { formatScenarioError, prepareScenario } from '../scenario/index.js';
import { type CompareRow, compareRow } from '../sim/compare.js';
import { simulate } from '../sim/simulate.js';
import { ResultsStore, scenarioHash } from '../store/store.js';
import { type PointOutcome, pointScenarioText, storedPointHash, storeSweep } from './run.js';
import { expandSweep, parseSweep, type SweepPoint } from './sweep.js';

const dir = mkdtempSync(join(tmpdir(), 'hmmlab-store-sweep-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TINY = tinyGpu('tiny');

/** Six points: two designs by three fault batch sizes. */
function points(): SweepPoint[] {
  const base = prepareScenario(TINY, 'tiny.yaml');
  if (!base.ok) throw new Error(base.errors.map(formatScenarioError).join('\n'));
  const sweep = parseSweep(
    `version: 1
scenario: tiny.yaml
designs: [upstream, pagemap-p2p]
grid:
  "gpus.gpu0.faultBatchSize": [16, 64, 256]
`,
    'sweep.yaml',
  );
  if (!sweep.ok) throw new Error(sweep.errors.map(formatScenarioError).join('\n'));
  const r = expandSweep(sweep.sweep, base.base);
  if (!r.ok) throw new Error(r.errors.map(formatScenarioError).join('\n'));
  expect(r.points).toHaveLength(6);
  return r.points;
}

function rowOf(p: SweepPoint): CompareRow {
  return compareRow(simulate(p.config, { seed: p.seed }));
}

const options = (store: ResultsStore, resume = true) => ({
  store,
  scenarioName: 'tiny',
  scenarioText: TINY,
  hmmlabVersion: '9.9.9',
  startedAt: '2026-01-01T00:00:00.000Z',
  jobs: 1,
  resume,
});

/** The stored runs, as (point text hash, design, seed) -> how many. */
function counts(db: string): Map<string, number> {
  const s = ResultsStore.open(db, { readOnly: true });
  try {
    const out = new Map<string, number>();
    for (const r of s.listRuns()) {
      const k = `${r.scenarioHash} ${r.design} ${r.seed}`;
      out.set(k, (out.get(k) ?? 0) + 1);
    }
    return out;
  } finally {
    s.close();
  }
}

const keyOf = (p: SweepPoint) => `${scenarioHash(pointScenarioText(TINY, p))} ${p.design} ${p.seed}`;

describe('storeSweep with another sweep storing into the same store', () => {
  it('a point stored by another handle after the plan is not stored again: it is skipped, with that run', async () => {
    const db = join(dir, 'between.db');
    const pts = points();
    const store = ResultsStore.open(db);
    const other = ResultsStore.open(db);
    const theirs = new Map<number, number>();
    let outcomes: PointOutcome[];
    try {
      outcomes = await storeSweep(pts, {
        ...options(store),
        // Between the plan and the first insert, another process stores points 0 and 3; and
        // point 5 with metrics the table cannot print (a damaged row), which does not count.
        onPlan: (toRun, skipped) => {
          expect([toRun, skipped]).toEqual([6, 0]);
          for (const i of [0, 3, 5]) {
            const p = pts[i]!;
            theirs.set(
              i,
              other.saveRun({
                scenarioName: 'tiny',
                scenarioText: pointScenarioText(TINY, p),
                design: p.design,
                seed: p.seed,
                hmmlabVersion: '9.9.9',
                startedAt: '2026-01-01T00:00:00.000Z',
                metrics: { params: p.params, row: i === 5 ? { design: p.design } : rowOf(p) },
              }),
            );
          }
        },
      });
    } finally {
      other.close();
      store.close();
    }
    expect(outcomes.map((o) => o.status)).toEqual([
      'skipped',
      'stored',
      'stored',
      'skipped',
      'stored',
      'stored',
    ]);
    for (const i of [0, 3]) {
      expect(outcomes[i]).toEqual({ index: i, status: 'skipped', runId: theirs.get(i), row: rowOf(pts[i]!) });
    }
    const c = counts(db);
    for (const [i, p] of pts.entries()) expect(c.get(keyOf(p)), `point ${i}`).toBe(i === 5 ? 2 : 1);
  }, 60_000);

  it('two sweeps of the same points started at once on two handles store each point once', async () => {
    const db = join(dir, 'race.db');
    const pts = points();
    const a = ResultsStore.open(db);
    const b = ResultsStore.open(db);
    let both: PointOutcome[][];
    try {
      both = await Promise.all([storeSweep(pts, options(a)), storeSweep(pts, options(b))]);
    } finally {
      a.close();
      b.close();
    }
    const [x, y] = both as [PointOutcome[], PointOutcome[]];
    expect([x.length, y.length]).toEqual([pts.length, pts.length]); // so x[i] and y[i] below exist
    for (const [i, p] of pts.entries()) {
      const pair: [PointOutcome, PointOutcome] = [x[i]!, y[i]!];
      expect(pair.map((o) => o.status).sort(), `point ${i}`).toEqual(['skipped', 'stored']);
      const [stored, skipped] = pair[0].status === 'stored' ? pair : [pair[1], pair[0]];
      if (stored.status !== 'stored' || skipped.status !== 'skipped') throw new Error('unreachable');
      expect(skipped.runId).toBe(stored.runId);
      expect(skipped.row).toEqual(stored.row);
      expect(stored.row).toEqual(rowOf(p));
    }
    const c = counts(db);
    expect([...c.values()]).toEqual([1, 1, 1, 1, 1, 1]);
    for (const p of pts) expect(c.get(keyOf(p))).toBe(1);
  }, 60_000);

  it('--no-resume (resume: false) still stores every point, even one stored meanwhile', async () => {
    const db = join(dir, 'no-resume.db');
    const pts = points();
    const a = ResultsStore.open(db);
    const b = ResultsStore.open(db);
    let both: PointOutcome[][];
    try {
      both = await Promise.all([storeSweep(pts, options(a, false)), storeSweep(pts, options(b, false))]);
    } finally {
      a.close();
      b.close();
    }
    expect(both.flat().every((o) => o.status === 'stored')).toBe(true);
    const c = counts(db);
    for (const p of pts) expect(c.get(keyOf(p))).toBe(2);
  }, 60_000);
});

describe('storeSweep resuming from points stored by an older hmmlab', () => {
  /**
   * A sweep row as hmmlab before 7af8303 stored it: the sweep's scenario text as read (no
   * `# hmmlab --set` lines), the point's params (design included) beside the row in the metrics.
   */
  const oldRun = (p: SweepPoint, scenarioName = 'tiny') => ({
    scenarioName,
    scenarioText: TINY,
    design: p.design,
    seed: p.seed,
    hmmlabVersion: '0.1.0',
    startedAt: '2025-06-01T00:00:00.000Z',
    metrics: { params: p.params, row: rowOf(p) },
    durationMs: 3,
  });

  it('storedPointHash gives an old row the hash the point has now, and leaves other rows theirs', () => {
    const p = points()[4]!;
    const now = pointScenarioText(TINY, p);
    expect(now).not.toBe(TINY);
    expect(
      storedPointHash({ scenarioText: TINY, scenarioHash: scenarioHash(TINY), metrics: oldRun(p).metrics }),
    ).toBe(scenarioHash(now));
    // A row of this hmmlab's sweeps (overrides in the text), and a `hmmlab run` row (no params).
    expect(
      storedPointHash({ scenarioText: now, scenarioHash: scenarioHash(now), metrics: oldRun(p).metrics }),
    ).toBe(scenarioHash(now));
    expect(storedPointHash({ scenarioText: TINY, scenarioHash: scenarioHash(TINY), metrics: rowOf(p) })).toBe(
      scenarioHash(TINY),
    );
  });

  it('skips the points the old rows have, and stores only the others', async () => {
    const db = join(dir, 'old.db');
    const pts = points();
    const fixture = ResultsStore.open(db);
    const old = new Map<number, number>();
    try {
      for (const i of [0, 2, 4]) old.set(i, fixture.saveRun(oldRun(pts[i]!)));
      // An old row of another scenario name with point 1's text, params, design and seed: not this sweep's.
      fixture.saveRun(oldRun(pts[1]!, 'other'));
    } finally {
      fixture.close();
    }
    const store = ResultsStore.open(db);
    let outcomes: PointOutcome[];
    let plan: number[] = [];
    try {
      outcomes = await storeSweep(pts, { ...options(store), onPlan: (t, s) => (plan = [t, s]) });
    } finally {
      store.close();
    }
    expect(plan).toEqual([3, 3]);
    expect(outcomes.map((o) => o.status)).toEqual([
      'skipped',
      'stored',
      'skipped',
      'stored',
      'skipped',
      'stored',
    ]);
    for (const i of [0, 2, 4]) {
      expect(outcomes[i]).toEqual({ index: i, status: 'skipped', runId: old.get(i), row: rowOf(pts[i]!) });
    }
    const s = ResultsStore.open(db, { readOnly: true });
    try {
      const runs = s.listRuns({ scenario: 'tiny' });
      expect(runs).toHaveLength(6); // three old, three new
      // The old rows are counted under the hash their params give; every point once.
      const seen = runs.map((r) => `${storedPointHash(s.getRun(r.id)!)} ${r.design} ${r.seed}`);
      expect(new Set(seen).size).toBe(6);
      expect(new Set(seen)).toEqual(new Set(pts.map(keyOf)));
    } finally {
      s.close();
    }
  }, 60_000);
});
