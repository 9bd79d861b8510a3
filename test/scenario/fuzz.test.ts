/**
 * Seeded mutation fuzzing of the loader: each scenario file, mutated 200 ways (a key deleted, a
 * value of another type, huge and negative numbers, a referenced device renamed, an unknown
 * key, broken YAML), must load to either a config simulate() accepts or errors with a position.
 * Never an exception. The seed is in the test name; a failure prints the mutated text.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatScenarioError, loadScenario } from '../../src/scenario/load.js';
import { configProfile, parseConfig, simulate } from '../../src/sim/simulate.js';
import { mutate, prng, SCENARIO_FILES } from './mutate.js';

const FILES = SCENARIO_FILES;
// HMMLAB_FUZZ_RUNS=20000 HMMLAB_FUZZ_SEED=... for a long search; the defaults are what CI runs.
const RUNS = Number(process.env.HMMLAB_FUZZ_RUNS ?? 200);
const SEED = Number(process.env.HMMLAB_FUZZ_SEED ?? 0x5ce7a000);

describe('loader fuzzing', () => {
  FILES.forEach((file, index) => {
    const name = file.split('/').slice(-2).join('/');
    const seed = SEED + index;
    it(`${name}: ${RUNS} mutations, seed 0x${seed.toString(16)}`, () => {
      const rng = prng(seed);
      const original = readFileSync(file, 'utf8');
      let accepted = 0;
      for (let run = 0; run < RUNS; run++) {
        let text = original;
        const steps = 1 + rng.int(3);
        for (let s = 0; s < steps; s++) text = mutate(text, rng);
        const context = `run ${run} of seed 0x${seed.toString(16)}; mutated text:\n${text}`;
        const r = loadScenario(text, name);
        const lineCount = text.split('\n').length;
        if (r.ok) {
          accepted++;
          // Everything simulate() would reject, the loader rejects first: the config parses again
          // through the same schema, and its profile resolves.
          expect(() => configProfile(parseConfig(r.config)), context).not.toThrow();
          // And the config runs (a simulated microsecond: enough to build the machine).
          expect(() => simulate({ ...r.config, duration: 1000 }, { seed: r.seed }), context).not.toThrow();
        } else {
          expect(r.errors.length, context).toBeGreaterThan(0);
          for (const e of r.errors) {
            const where = `${formatScenarioError(e)}\n${context}`;
            expect(e.file, where).toBe(name);
            expect(e.line, where).toBeGreaterThanOrEqual(1);
            expect(e.col, where).toBeGreaterThanOrEqual(1);
            expect(e.line, where).toBeLessThanOrEqual(lineCount + 1);
            expect(e.message, where).not.toMatch(/^internal error|undefined|\[object/);
            expect(e.message.length, where).toBeGreaterThan(5);
          }
        }
      }
      // The mutations reach both sides.
      expect(accepted).toBeGreaterThan(0);
      expect(accepted).toBeLessThan(RUNS);
    });
  });
});
