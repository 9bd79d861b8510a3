/**
 * `--set` fuzzing (issue #12 item 8): every leaf key of the shipped scenarios and fixtures in file
 * form, a sample of SimConfig-form keys and invented, misspelt and malformed keys, each with a
 * random value (wrong types, negative, zero, huge, fractional, unit strings good and bad, empty,
 * lists, maps, YAML junk, unicode), given to `hmmlab run` on a tiny scenario with a low
 * --max-work. Each case must exit 2 with one line per error, each naming the override, no
 * stack trace, and the store as it was; or exit 0 with one more run stored. The seed is in the
 * test name; a failing case prints its arguments.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { oneLine } from '../../src/scenario/messages.js';
import { SCENARIO_FILES } from '../scenario/mutate.js';
import { bounded, cases, expectRefusal, prng, seed, show, storeState } from './harness.js';
import { TINY_FULL, TINY_PROCESSES, writeTinyScenarios } from './scenarios.js';
import { leafPaths, leafPathsOf, randomBadPath, randomValue, SIM_CONFIG_PATHS } from './values.js';

const CASES = cases('SET', 1000);
const SEED = seed(0x5e7f022);
const MAX_WORK = '20000';

describe('--set fuzzing', () => {
  it(`hmmlab run --set: ${CASES} random key=value cases exit 2 naming the override or store a run, seed 0x${SEED.toString(16)}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hmmlab-set-fuzz-'));
    const tiny = writeTinyScenarios(dir);
    const db = join(dir, 'results.db');
    const first = await bounded(() => 'the first run', 'run', tiny.full, '--db', db, '--max-work', MAX_WORK);
    expect(first.code, first.err).toBe(0);
    let state = storeState(db);
    expect(state.runs).toHaveLength(1);

    const keys = leafPathsOf([
      ...SCENARIO_FILES,
      ...readdirSync('scenarios')
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => join('scenarios', f)),
    ]);
    const tinyKeys = [...leafPaths(TINY_FULL), ...leafPaths(TINY_PROCESSES)];
    const allKeys = [...tinyKeys, ...keys].map((k) => k.key);
    const rng = prng(SEED);
    const tally = { refused: 0, ran: 0 };
    for (let i = 0; i < CASES; i++) {
      const scenario = rng.next() < 0.7 ? tiny.full : tiny.processes;
      const sets: string[] = [];
      const count = rng.next() < 0.9 ? 1 : 2;
      for (let s = 0; s < count; s++) {
        const roll = rng.int(100);
        let key: string;
        let original: unknown;
        if (roll < 50) ({ key, value: original } = rng.pick(tinyKeys));
        else if (roll < 68) ({ key, value: original } = rng.pick(keys));
        else if (roll < 82) key = rng.pick(SIM_CONFIG_PATHS);
        else key = randomBadPath(rng, allKeys);
        sets.push(`${key}=${randomValue(rng, original)}`);
      }
      const args = [
        'run',
        scenario,
        ...sets.flatMap((s) => ['--set', s]),
        '--db',
        db,
        '--max-work',
        MAX_WORK,
      ];
      const context = () => `case ${i} of seed 0x${SEED.toString(16)}: hmmlab ${show(args)}`;
      const r = await bounded(context, ...args);
      const where = `${context()}\nexit ${r.code}\nstderr:\n${r.err}`;
      expect([0, 2], where).toContain(r.code);
      const after = storeState(db);
      expect(after.check, where).toBe('ok');
      if (r.code === 2) {
        tally.refused++;
        const lines = expectRefusal(r, where);
        // Each error line names an override (its own, or, for an error it caused elsewhere in
        // the file, "(with --set ...)").
        for (const line of lines) {
          expect(
            line.includes('--set') && sets.some((s) => line.includes(oneLine(s))),
            `a line that names no override:\n${line}\n${where}`,
          ).toBe(true);
        }
        expect(after.runs, where).toEqual(state.runs);
      } else {
        tally.ran++;
        expect(r.out.length, where).toBeGreaterThan(0);
        // stderr says only which run it stored (`hmmlab run` names the id).
        expect(r.err, where).toMatch(/^stored run \d+ in .+\n$/);
        expect(after.runs, where).toHaveLength(state.runs.length + 1);
        expect(after.runs.slice(0, state.runs.length), where).toEqual(state.runs);
      }
      state = after;
    }
    console.log(`--set fuzz: ${CASES} cases, ${tally.refused} exit 2, ${tally.ran} valid runs stored`);
    // Both outcomes are reached.
    expect(tally.refused).toBeGreaterThan(CASES / 4);
    expect(tally.ran).toBeGreaterThan(CASES / 20);
  }, 600_000);
});
