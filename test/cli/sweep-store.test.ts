/**
 * Sweeps and the store: each point is stored with its overrides (so `report <id>` simulates
 * exactly that point again), as it finishes, once; a bad point fails alone; a second run
 * resumes; a sweep killed with SIGKILL keeps what it finished.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { storedMetricsRow } from '../../src/sim/compare.js';
import { ResultsStore, type StoredRun, scenarioHash } from '../../src/store/store.js';
import { pointScenarioText } from '../../src/sweep/run.js';
import { smallRdma } from '../fixtures/scenarios.js';
import { cli } from './run-cli.js';

afterEach(() => vi.restoreAllMocks());

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'hmmlab-sweep-store-'));

/** A run of a few tens of milliseconds: a GPU fills a buffer, a NIC writes into it. */
const scenario = smallRdma({ name: 'sweep-store' });
writeFileSync(join(dir, 's.yaml'), scenario);

interface PointJson {
  index: number;
  design: string;
  seed: number;
  params: Record<string, unknown>;
  status: 'stored' | 'skipped' | 'failed';
  result?: unknown;
  error?: string;
}

function allRuns(db: string): StoredRun[] {
  const s = ResultsStore.open(db, { readOnly: true });
  try {
    return s.listRuns().map((r) => s.getRun(r.id)!);
  } finally {
    s.close();
  }
}

/** The stored run of a sweep point, found by what identifies it (ids follow finishing order). */
function runOf(
  runs: StoredRun[],
  p: Pick<PointJson, 'params' | 'design' | 'seed'>,
  text = scenario,
): StoredRun {
  const hash = scenarioHash(pointScenarioText(text, p));
  const found = runs.filter((r) => r.scenarioHash === hash && r.design === p.design && r.seed === p.seed);
  expect(found).toHaveLength(1);
  return found[0]!;
}

describe('hmmlab sweep and the store', () => {
  it('stores each point with its overrides, so report <id> reproduces it; bad points fail alone; a rerun resumes', async () => {
    const db = join(dir, 'grid.db');
    const sweep = join(dir, 'grid.yaml');
    // Under upstream the NIC's faults move the 16 MiB buffer to RAM, which 16 MiB of RAM cannot
    // hold: those four points fail in the simulation (they pass validation), the twelve others run.
    writeFileSync(
      sweep,
      `version: 1
scenario: s.yaml
designs: [upstream, pagemap-p2p]
grid:
  "gpus.gpu0.faultBatchSize": [8, 256]
  "buffers.buf.hugepage": [false, true]
  "ramBytes": [1GiB, 16MiB]
`,
    );
    const first = await cli('sweep', sweep, '--jobs', '2', '--db', db, '--json');
    expect(first.code, first.err).toBe(1);
    const points = JSON.parse(first.out) as PointJson[];
    expect(points).toHaveLength(16);
    const bad = (p: PointJson) => p.design === 'upstream' && p.params.ramBytes === '16MiB';
    expect(points.filter(bad).map((p) => p.status)).toEqual(['failed', 'failed', 'failed', 'failed']);
    expect(points.filter((p) => !bad(p)).every((p) => p.status === 'stored')).toBe(true);
    for (const p of points.filter(bad)) {
      expect(p.error).toMatch(/could not map its buffer/);
      expect(first.err).toContain(
        `hmmlab: sweep point ${p.index} (design ${p.design}, seed ${p.seed}, params ${JSON.stringify(p.params)}) failed: `,
      );
    }
    expect(first.err).toContain(`16 points: 12 stored, 0 skipped as already stored, 4 failed, in ${db}\n`);

    const runs = allRuns(db);
    expect(runs).toHaveLength(12);
    for (const p of points.filter((x) => !bad(x))) {
      const run = runOf(runs, p);
      expect(storedMetricsRow(run.metrics)).toEqual(p.result);
      expect(run.scenarioText).toContain(
        `# hmmlab --set gpus.gpu0.faultBatchSize=${p.params['gpus.gpu0.faultBatchSize']}\n`,
      );
      expect(run.scenarioText).toContain(`# hmmlab --set ramBytes="${p.params.ramBytes}"\n`);
    }
    // Every stored point, simulated again from the store alone, gives its stored metrics.
    for (const run of runs) {
      const r = await cli('report', String(run.id), '--db', db, '-o', join(dir, `report-${run.id}`));
      expect(r.code, r.err).toBe(0);
      expect(r.err).toBe('');
    }

    // Run again: the stored points are skipped, the bad ones fail again, nothing is stored twice.
    const again = await cli('sweep', sweep, '--jobs', '2', '--db', db);
    expect(again.code).toBe(1);
    expect(again.out).toContain(`16 points: 0 stored, 12 skipped as already stored, 4 failed, in ${db}\n`);
    expect(allRuns(db)).toHaveLength(12);
    // --no-resume runs (and stores) its points again.
    const forced = await cli('sweep', sweep, '--jobs', '1', '--shard', '1/8', '--no-resume', '--db', db);
    expect(forced.code, forced.err).toBe(0);
    expect(forced.out).toContain('2 points (shard 1/8 of a 16-point sweep): 2 stored, 0 skipped');
    expect(allRuns(db)).toHaveLength(14);
  }, 120_000);

  it('the shipped rdma-designs-by-fault-batch sweep: run 1 is reported as itself, not as the scenario without its grid values', async () => {
    // A shortened copy of the sweep's scenario (fewer messages), and of the sweep pointing at it.
    const folder = join(dir, 'shipped');
    mkdirSync(join(folder, 'scenarios'), { recursive: true });
    mkdirSync(join(folder, 'sweeps'), { recursive: true });
    const text = readFileSync(join(root, 'scenarios/rdma-amd-root-ports.yaml'), 'utf8')
      .replaceAll('messages: 8192', 'messages: 256')
      .replace('size: 512MiB', 'size: 16MiB');
    expect(text).toContain('messages: 256');
    writeFileSync(join(folder, 'scenarios/rdma-amd-root-ports.yaml'), text);
    const sweep = join(folder, 'sweeps/rdma-designs-by-fault-batch.yaml');
    writeFileSync(sweep, readFileSync(join(root, 'sweeps/rdma-designs-by-fault-batch.yaml')));
    const db = join(folder, 'm.db');
    const r = await cli('sweep', sweep, '--jobs', '1', '--db', db, '--json');
    expect(r.code, r.err).toBe(0);
    const points = JSON.parse(r.out) as PointJson[];
    expect(points).toHaveLength(8);
    const runs = allRuns(db);
    // --jobs 1 stores in point order: run 1 is point 0 (upstream, batch 64), run 5 point 4
    // (pagemap-p2p, batch 64), run 3 point 2 (upstream, batch 256).
    const [p0, p2, p4] = [points[0]!, points[2]!, points[4]!];
    expect([p0.design, p0.params['gpus.gpu0.faultBatchSize'], p0.seed]).toEqual(['upstream', 64, 1]);
    expect([p2.design, p2.params['gpus.gpu0.faultBatchSize'], p2.seed]).toEqual(['upstream', 256, 1]);
    expect([p4.design, p4.params['gpus.gpu0.faultBatchSize'], p4.seed]).toEqual(['pagemap-p2p', 64, 1]);
    expect(runOf(runs, p0, text).id).toBe(1);
    expect(runOf(runs, p2, text).id).toBe(3);
    expect(runOf(runs, p4, text).id).toBe(5);
    const endOf = (x: unknown) => (x as { endNs: number }).endNs;
    // The grid value matters: batch 64 and batch 256 end at different times.
    expect(endOf(p0.result)).not.toBe(endOf(p2.result));

    const out = join(folder, 'report');
    const rep = await cli('report', '1,5', '--db', db, '-o', out);
    expect(rep.code, rep.err).toBe(0);
    expect(rep.err).toBe('');
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    expect(html).toContain('# hmmlab --set gpus.gpu0.faultBatchSize=64');
    const cmp = JSON.parse((await cli('compare', '--runs', '1,3,5', '--db', db, '--json')).out) as unknown[];
    expect(cmp.map(endOf)).toEqual([endOf(p0.result), endOf(p2.result), endOf(p4.result)]);
    // Runs 1 and 3 differ by their grid value: one report does not cover both.
    const mixed = await cli('report', '1,3', '--db', db, '-o', out);
    expect(mixed.code).toBe(2);
    expect(mixed.err).toMatch(
      /different scenario texts .*gpus\.gpu0\.faultBatchSize=64.*gpus\.gpu0\.faultBatchSize=256/,
    );

    // A point stored by an older hmmlab sweep (scenario text without the overrides, params in
    // its metrics) is simulated again with its params too.
    const store = ResultsStore.open(db);
    const legacy = store.saveRun({
      scenarioName: 'rdma-amd-root-ports',
      scenarioText: text,
      design: 'upstream',
      seed: 1,
      hmmlabVersion: '0.1.0',
      startedAt: '2026-01-01T00:00:00.000Z',
      metrics: { params: p0.params, row: p0.result },
    });
    // And one whose stored metrics are not what the run gives: the warning says what differs.
    const tampered = store.saveRun({
      scenarioName: 'rdma-amd-root-ports',
      scenarioText: pointScenarioText(text, p0),
      design: 'upstream',
      seed: 1,
      hmmlabVersion: '0.0.9',
      startedAt: '2026-01-01T00:00:00.000Z',
      metrics: { params: p0.params, row: { ...(p0.result as object), endNs: 1234, pagesToRam: 7 } },
    });
    store.close();
    // A store that has only such old rows, one for each point: the sweep resumes from them,
    // running and storing nothing again.
    const oldDb = join(folder, 'old.db');
    const oldStore = ResultsStore.open(oldDb);
    const oldIds = points.map((p) =>
      oldStore.saveRun({
        scenarioName: 'rdma-amd-root-ports',
        scenarioText: text,
        design: p.design,
        seed: p.seed,
        hmmlabVersion: '0.1.0',
        startedAt: '2026-01-01T00:00:00.000Z',
        metrics: { params: p.params, row: p.result },
      }),
    );
    oldStore.close();
    const resumed = await cli('sweep', sweep, '--jobs', '1', '--db', oldDb, '--json');
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.err).toContain(`8 points: 0 stored, 8 skipped as already stored, 0 failed, in ${oldDb}\n`);
    expect((JSON.parse(resumed.out) as PointJson[]).map((p) => p.result)).toEqual(
      points.map((p) => p.result),
    );
    expect(allRuns(oldDb).map((r) => r.id)).toEqual(oldIds);

    const old = await cli('report', String(legacy), '--db', db, '-o', out);
    expect(old.code, old.err).toBe(0);
    expect(old.err).toBe('');
    const warned = await cli('report', String(tampered), '--db', db, '-o', out);
    expect(warned.code).toBe(1);
    expect(warned.err).toBe(
      `hmmlab: run ${tampered} (scenario rdma-amd-root-ports, hash ${scenarioHash(pointScenarioText(text, p0)).slice(0, 12)}, design upstream, seed 1) gives different metrics when simulated again: endNs 1234 stored, ${endOf(p0.result)} now; pagesToRam 7 stored, ${(p0.result as { pagesToRam: number }).pagesToRam} now; stored by hmmlab 0.0.9, simulated again by hmmlab 0.1.0; the report shows the new ones\n`,
    );
  }, 120_000);

  it('two sweeps of one file started at once into one store (two processes) store each point once', async () => {
    const sweep = join(dir, 'twice.yaml');
    // 12 points of a few tens of milliseconds each, on one worker per process.
    writeFileSync(
      sweep,
      `version: 1
scenario: s.yaml
designs: [upstream, pagemap-p2p]
seeds: [1, 2]
grid:
  "gpus.gpu0.faultBatchSize": [8, 32, 256]
`,
    );
    /** Runs the sweep in a child process; resolves with its exit code and output. */
    const start = (db: string, ...more: string[]) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const child = spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            join(root, 'test/cli/launch.mjs'),
            'sweep',
            sweep,
            '--jobs',
            '1',
            '--db',
            db,
            ...more,
          ],
          { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
        });
        child.stderr.on('data', (d: Buffer) => {
          err += d.toString();
        });
        child.on('exit', (code) => resolve({ code, out, err }));
      });
    const summary = /12 points: (\d+) stored, (\d+) skipped as already stored, 0 failed/;
    for (const fresh of [true, false]) {
      // Into a store that does not exist yet, and into one that does (and has other runs).
      const db = join(dir, fresh ? 'twice-new.db' : 'twice-old.db');
      if (!fresh) {
        const s = ResultsStore.open(db);
        s.saveRun({
          scenarioName: 'other',
          scenarioText: 'name: other\n',
          design: 'upstream',
          seed: 1,
          hmmlabVersion: '0.1.0',
          startedAt: '2026-01-01T00:00:00.000Z',
          metrics: {},
        });
        s.close();
      }
      const [a, b] = await Promise.all([start(db), start(db)]);
      expect(a.code, a.err).toBe(0);
      expect(b.code, b.err).toBe(0);
      const [sa, sb] = [summary.exec(a.out), summary.exec(b.out)];
      expect(sa, a.out).not.toBeNull();
      expect(sb, b.out).not.toBeNull();
      // Between them, every point stored once, and skipped once (before it ran, or after).
      expect(Number(sa![1]) + Number(sb![1])).toBe(12);
      expect(Number(sa![2]) + Number(sb![2])).toBe(12);
      const runs = allRuns(db).filter((r) => r.scenarioName === 'sweep-store');
      expect(runs).toHaveLength(12);
      const keys = new Set(runs.map((r) => `${r.scenarioHash} ${r.design} ${r.seed}`));
      expect(keys.size).toBe(12);
      // --no-resume still stores every point, from each process.
      if (!fresh) {
        const [c, d] = await Promise.all([
          start(db, '--no-resume', '--shard', '1/6'),
          start(db, '--no-resume', '--shard', '1/6'),
        ]);
        expect([c.code, d.code], c.err + d.err).toEqual([0, 0]);
        expect(c.out).toContain('2 points (shard 1/6 of a 12-point sweep): 2 stored, 0 skipped');
        expect(d.out).toContain('2 points (shard 1/6 of a 12-point sweep): 2 stored, 0 skipped');
        expect(allRuns(db).filter((r) => r.scenarioName === 'sweep-store')).toHaveLength(16);
      }
    }
  }, 120_000);

  it('a sweep killed with SIGKILL keeps the runs it finished; run again, it stores every point exactly once', async () => {
    const db = join(dir, 'killed.db');
    const sweep = join(dir, 'killed.yaml');
    // 24 points of a few tens of milliseconds each on one worker.
    writeFileSync(
      sweep,
      `version: 1
scenario: s.yaml
designs: [upstream, pagemap-p2p]
seeds: [1, 2, 3]
grid:
  "gpus.gpu0.faultBatchSize": [8, 16, 32, 256]
`,
    );
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'test/cli/launch.mjs'), 'sweep', sweep, '--jobs', '1', '--db', db],
      { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
      child.on('exit', (code, sig) => resolve(sig ?? code)),
    );
    let finished: NodeJS.Signals | number | null | undefined;
    void exited.then((x) => {
      finished = x;
    });
    // Poll the store (read-only) until it has a run, then kill the sweep at once.
    const stored = (): number => {
      if (!existsSync(db)) return 0;
      try {
        const r = new Database(db, { readonly: true, fileMustExist: true });
        try {
          return (r.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n;
        } finally {
          r.close();
        }
      } catch {
        return 0; // still being created
      }
    };
    while (finished === undefined && stored() < 1) await new Promise((r) => setTimeout(r, 10));
    expect(finished, `the sweep ended before it was killed: ${stderr}`).toBeUndefined();
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const kept = allRuns(db);
    expect(kept.length).toBeGreaterThanOrEqual(1);
    expect(kept.length).toBeLessThan(24); // the kill interrupted it
    const again = await cli('sweep', sweep, '--jobs', '2', '--db', db, '--json');
    expect(again.code, again.err).toBe(0);
    const points = JSON.parse(again.out) as PointJson[];
    expect(points.filter((p) => p.status === 'skipped')).toHaveLength(kept.length);
    expect(again.err).toContain(
      `24 points: ${24 - kept.length} stored, ${kept.length} skipped as already stored, 0 failed`,
    );
    const runs = allRuns(db);
    expect(runs).toHaveLength(24);
    for (const p of points) expect(storedMetricsRow(runOf(runs, p).metrics)).toEqual(p.result);
    // The runs stored before the kill are still there, unchanged.
    for (const k of kept) expect(runs.find((r) => r.id === k.id)).toEqual(k);
  }, 120_000);
});
