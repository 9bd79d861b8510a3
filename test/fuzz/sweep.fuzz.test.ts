/**
 * Sweep-file fuzzing (issue #12 item 8): the shipped sweep (over a shrunk copy of its scenario)
 * mutated like the scenario fuzzers mutate scenarios, and small generated sweeps over the tiny
 * scenarios whose grid and list values are drawn like the `--set` fuzzer's, each given to
 * `hmmlab sweep --jobs 1 --json` with a low --max-work. Each must exit 2 with every error line at
 * file:line:col, no stack trace and nothing stored; or exit 0 or 1 with every point accounted
 * for (stored, skipped or failed, the store holding exactly the new ones), exit 1 only with the
 * failed points named. The seed is in the test name; a failing case prints the sweep file.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { oneLine } from '../../src/scenario/messages.js';
import { ResultsStore } from '../../src/store/store.js';
import { mutate } from '../scenario/mutate.js';
import { bounded, cases, expectRefusal, prng, type Rng, seed, storeState } from './harness.js';
import { TINY_FULL, TINY_PROCESSES } from './scenarios.js';
import { leafPaths, randomBadPath, randomValue, SIM_CONFIG_PATHS } from './values.js';

const CASES = cases('SWEEP', 300);
const SEED = seed(0x5eeb022);
const MAX_WORK = '20000';
const SHIPPED = 'sweeps/rdma-designs-by-fault-batch.yaml';

/** A --set-style value text as the value a sweep file holds (YAML junk stays a string). */
function sweepValue(text: string): unknown {
  try {
    const v = parse(text, { logLevel: 'silent' }) as unknown;
    return v === undefined || v === null ? text : v;
  } catch {
    return text;
  }
}

/** A small generated sweep over tiny-full.yaml or tiny-processes.yaml, as YAML text. */
function generatedSweep(rng: Rng): string {
  const processes = rng.next() < 0.3;
  const keys = leafPaths(processes ? TINY_PROCESSES : TINY_FULL);
  const doc: Record<string, unknown> = {
    version: 1,
    scenario: processes ? 'tiny-processes.yaml' : 'tiny-full.yaml',
  };
  if (rng.next() < 0.3)
    doc.designs = rng.pick([['upstream'], ['upstream', 'pagemap-p2p'], ['rfc-callback'], ['nope'], []]);
  if (rng.next() < 0.3) doc.seeds = rng.pick([[1], [1, 2], [0], [-1], [1.5], ['x'], [2 ** 53]]);
  const key = (): string => {
    const roll = rng.int(100);
    if (roll < 65) return rng.pick(keys).key;
    if (roll < 80) return rng.pick(SIM_CONFIG_PATHS);
    return randomBadPath(
      rng,
      keys.map((k) => k.key),
    );
  };
  const value = (k: string): unknown => sweepValue(randomValue(rng, keys.find((x) => x.key === k)?.value));
  if (rng.next() < 0.6) {
    const grid: Record<string, unknown[]> = {};
    for (let i = 1 + rng.int(2); i > 0; i--) {
      const k = key();
      grid[k] = Array.from({ length: 1 + rng.int(2) }, () => value(k));
    }
    doc.grid = grid;
  } else {
    doc.list = Array.from({ length: 1 + rng.int(3) }, () => {
      const k = key();
      const point: Record<string, unknown> = { [k]: value(k) };
      if (rng.next() < 0.2) point.seed = rng.pick([1, 2, -1, 'x']);
      if (rng.next() < 0.2) point.design = rng.pick(['upstream', 'pagemap-p2p', 'bogus']);
      return point;
    });
  }
  if (rng.next() < 0.1) doc[rng.pick(['bogus', 'gird', 'name'])] = rng.pick([1, 'x', []]);
  let text = stringify(doc);
  // Sometimes damage the text as well.
  if (rng.next() < 0.2) text = mutate(text, rng);
  return text;
}

describe('sweep-file fuzzing', () => {
  it(`hmmlab sweep: ${CASES} mutated and generated sweep files exit 2 at file:line:col or account for every point, seed 0x${SEED.toString(16)}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hmmlab-sweep-fuzz-'));
    mkdirSync(join(dir, 'sweeps'));
    mkdirSync(join(dir, 'scenarios'));
    writeFileSync(join(dir, 'tiny-full.yaml'), TINY_FULL);
    writeFileSync(join(dir, 'tiny-processes.yaml'), TINY_PROCESSES);
    // The shipped sweep's scenario, shrunk so that its points run in milliseconds.
    const shipped = readFileSync(SHIPPED, 'utf8');
    writeFileSync(
      join(dir, 'scenarios', 'rdma-amd-root-ports.yaml'),
      readFileSync('scenarios/rdma-amd-root-ports.yaml', 'utf8')
        .replace('size: 512MiB', 'size: 2MiB')
        .replaceAll('messages: 8192', 'messages: 8')
        .replace('vram: 4GiB', 'vram: 64MiB'),
    );
    const db = join(dir, 'results.db');
    ResultsStore.open(db).close();
    let state = storeState(db);
    const rng = prng(SEED);
    const tally = { refused: 0, ok: 0, failedPoints: 0, stored: 0, skipped: 0 };
    for (let i = 0; i < CASES; i++) {
      let text: string;
      let file: string;
      if (rng.next() < 0.4) {
        text = shipped;
        for (let s = 1 + rng.int(3); s > 0; s--) text = mutate(text, rng);
        file = join(dir, 'sweeps', `case-${i}.yaml`);
      } else {
        text = generatedSweep(rng);
        file = join(dir, `case-${i}.yaml`);
      }
      writeFileSync(file, text);
      const args = ['sweep', file, '--db', db, '--jobs', '1', '--json', '--max-work', MAX_WORK];
      const context = () =>
        `case ${i} of seed 0x${SEED.toString(16)}: hmmlab ${args.join(' ')}\nsweep file:\n${text}`;
      const r = await bounded(context, ...args);
      const where = `${context()}\nexit ${r.code}\nstderr:\n${r.err}`;
      expect([0, 1, 2], where).toContain(r.code);
      const after = storeState(db);
      expect(after.check, where).toBe('ok');
      if (r.code === 2) {
        tally.refused++;
        const lines = expectRefusal(r, where);
        lines.forEach((line, n) => {
          const body = n === 0 ? line.slice('hmmlab: '.length) : line;
          // The sweep file, or the scenario file for an error a point's values caused there.
          expect(body, where).toMatch(/^\/\S*\.yaml:\d+:\d+: \S/);
        });
        expect(after.runs, where).toEqual(state.runs);
      } else {
        tally.ok++;
        const outcomes = JSON.parse(r.out) as { index: number; status: string; error?: string }[];
        const count = (s: string) => outcomes.filter((o) => o.status === s).length;
        const [stored, skipped, failed] = [count('stored'), count('skipped'), count('failed')];
        expect(stored + skipped + failed, where).toBe(outcomes.length);
        expect(
          outcomes.map((o) => o.index),
          where,
        ).toEqual(outcomes.map((_, k) => k));
        const summary = new RegExp(
          `^${outcomes.length} ${outcomes.length === 1 ? 'point' : 'points'}: ${stored} stored, ${skipped} skipped as already stored, ${failed} failed, in ${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`,
          'm',
        );
        expect(r.err, where).toMatch(summary);
        expect(after.runs, where).toHaveLength(state.runs.length + stored);
        expect(r.code, where).toBe(failed > 0 ? 1 : 0);
        for (const o of outcomes.filter((x) => x.status === 'failed')) {
          expect(r.err, where).toContain(`hmmlab: sweep point ${o.index} (`);
        }
        // Only the summary and the failed points on stderr.
        for (const line of r.err.trimEnd().split('\n')) {
          expect(line.startsWith('hmmlab: sweep point ') || summary.test(line), where).toBe(true);
        }
        expect(oneLine(r.err.trimEnd()).length, where).toBeGreaterThan(0);
        tally.failedPoints += failed;
        tally.stored += stored;
        tally.skipped += skipped;
      }
      state = after;
    }
    console.log(
      `sweep fuzz: ${CASES} cases, ${tally.refused} exit 2, ${tally.ok} ran (${tally.stored} points stored, ${tally.skipped} skipped, ${tally.failedPoints} failed)`,
    );
    expect(tally.refused).toBeGreaterThan(CASES / 4);
    expect(tally.ok).toBeGreaterThan(CASES / 20);
  }, 600_000);
});
