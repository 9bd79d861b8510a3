/**
 * Command-line fuzzing (issue 5): 1,000 mutated scenario files that the loader rejects, each given
 * to `hmmlab run` with a results store that already holds a run. Every one must exit 2 with every
 * error line in the form file:line:col, print no stack trace and nothing on stdout, and leave the
 * store as it was (same runs, integrity check "ok"). The seed is fixed; a failure prints the text.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/scenario/load.js';
import { ResultsStore } from '../../src/store/store.js';
import { mutate, prng, SCENARIO_FILES } from '../scenario/mutate.js';
import { cli } from './run-cli.js';

const CASES = Number(process.env.HMMLAB_CLI_FUZZ_CASES ?? 1000);
const SEED = 0xc11f022;

const small = `version: 1
name: fuzz-base
profile: pcie5-h100
seed: 1
platform: { ram: 256MiB }
devices:
  gpus: [{ name: gpu0, vram: 64MiB }]
buffers: [{ name: buf, size: 2MiB }]
workloads:
  - { kind: gpu, name: fill, gpu: gpu0, buffer: buf, op: write, pattern: sequential }
`;

describe('command-line fuzzing', () => {
  it(`hmmlab run: ${CASES} rejected mutations exit 2 with file:line:col, seed 0x${SEED.toString(16)}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hmmlab-cli-fuzz-'));
    const db = join(dir, 'results.db');
    const base = join(dir, 'base.yaml');
    writeFileSync(base, small);
    const first = await cli('run', base, '--db', db);
    expect(first.code, first.err).toBe(0);
    const before = ResultsStore.open(db);
    const runsBefore = before.listRuns();
    before.close();
    expect(runsBefore).toHaveLength(1);

    const originals = SCENARIO_FILES.map((f) => readFileSync(f, 'utf8'));
    const rng = prng(SEED);
    let rejected = 0;
    let tries = 0;
    while (rejected < CASES) {
      expect(tries++, 'the mutations stopped producing invalid scenarios').toBeLessThan(CASES * 20);
      const which = rng.int(originals.length);
      let text = originals[which]!;
      const steps = 1 + rng.int(3);
      for (let s = 0; s < steps; s++) text = mutate(text, rng);
      // Only the rejected ones: running the accepted ones is the loader fuzz test's job.
      if (loadScenario(text, 'x.yaml').ok) continue;
      const file = join(dir, `case-${rejected}.yaml`);
      writeFileSync(file, text);
      rejected++;
      const r = await cli('run', file, '--db', db);
      const context = `case ${rejected - 1} (from ${SCENARIO_FILES[which]}):\n${r.err}\nmutated text:\n${text}`;
      expect(r.code, context).toBe(2);
      expect(r.out, context).toBe('');
      const lines = r.err.trimEnd().split('\n');
      expect(lines.length, context).toBeGreaterThan(0);
      lines.forEach((line, i) => {
        const prefix = i === 0 ? 'hmmlab: ' : '';
        expect(line.startsWith(`${prefix}${file}:`), context).toBe(true);
        expect(line.slice(prefix.length + file.length), context).toMatch(/^:\d+:\d+: \S/);
      });
      expect(r.err, context).not.toMatch(/\n\s+at |Error:|\[object|undefined/);
    }

    const after = ResultsStore.open(db);
    try {
      expect(after.integrityCheck()).toBe('ok');
      expect(after.listRuns()).toEqual(runsBefore);
    } finally {
      after.close();
    }
  }, 120_000);
});
