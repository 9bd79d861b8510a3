/**
 * Regression tests for what the command-line fuzzers in test/fuzz/ found, each named after the
 * fuzzer and the case that found it.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { cli } from '../cli/run-cli.js';
import { TINY_FULL, writeTinyScenarios } from './scenarios.js';

afterEach(() => vi.restoreAllMocks());

const dir = mkdtempSync(join(tmpdir(), 'hmmlab-fuzz-findings-'));
const tiny = writeTinyScenarios(dir);

describe('--set fuzzer findings', () => {
  it('case 206 of seed 0x5e7f022: a --set value holding a newline gives one line per error, the newline escaped', async () => {
    const r = await cli(
      'run',
      tiny.full,
      '--no-store',
      '--set',
      'buffers.weights.process=1_000',
      '--set',
      'workloads.g.op=\n',
    );
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      'hmmlab: --set buffers.weights.process=1_000: no buffers.weights in the scenario (it has 2 items: buffers.0 to buffers.1 (a, b))\n' +
        '--set workloads.g.op=\\n: no workloads.g in the scenario (it has 4 items: workloads.0 to workloads.3 (init, compute, send, other))\n',
    );
  });

  it('a --set key holding a control character is escaped too', async () => {
    const r = await cli('run', tiny.full, '--no-store', '--set', 'plat\u0001form.ram=1GiB');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^hmmlab: --set plat\\u0001form\.ram=1GiB: unknown key 'plat\\u0001form'[^\n]*\n$/);
  });

  it("case 'workloads.g.op=!custom 1': a --set value with an unknown YAML tag prints no Node warning, and is the plain string", async () => {
    const warn = vi.spyOn(process, 'emitWarning');
    const r = await cli('run', tiny.full, '--no-store', '--set', 'workloads.send.op=!custom 1');
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      "hmmlab: --set workloads.send.op=!custom 1: expected one of read, write, found '!custom 1'\n",
    );
    const tagged = await cli('run', tiny.full, '--no-store', '--set', 'platform.cpuCores=!!int x');
    expect(tagged.code).toBe(2);
    expect(warn).not.toHaveBeenCalled();
  });
});

describe('sweep fuzzer findings', () => {
  it('HMMLAB_FUZZ_SEED=991: a circular list value (&a1 [1, *a1]) exits 2 at the alias, not 70 from JSON.stringify', async () => {
    const sweep = join(dir, 'circular.yaml');
    writeFileSync(
      sweep,
      'version: 1\nscenario: tiny-full.yaml\nlist:\n  - design:\n    - rfc-callback\n    - &a1\n      - 1\n      - *a1\n',
    );
    const db = join(dir, 'circular.db');
    const r = await cli('sweep', sweep, '--db', db, '--jobs', '1');
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `hmmlab: ${sweep}:8:9: list[0].design[1][1]: an alias inside the node its anchor names makes circular data, which hmmlab does not read\n`,
    );
    expect(existsSync(db)).toBe(false);
  });

  it('a circular value in a scenario file or a --set value is refused the same way (or read as a string)', async () => {
    const scenario = join(dir, 'circular-scenario.yaml');
    writeFileSync(scenario, `${TINY_FULL}x-notes: &d [1, *d]\n`);
    const r = await cli('run', scenario, '--no-store');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /circular-scenario\.yaml:\d+:\d+: x-notes\[1\]: an alias inside the node its anchor names/,
    );
    const set = await cli('run', tiny.full, '--no-store', '--set', 'overrides=&a {x: *a}');
    expect(set.code).toBe(2);
    expect(set.err).toBe("hmmlab: --set overrides=&a {x: *a}: expected a map, found '&a {x: *a}'\n");
  });
});

describe('argument fuzzer findings', () => {
  it('case 75 of seed 0xa26f022: merge "" <store> exits 2 (it threw SqliteError "no such table: runs", exit 70)', async () => {
    const store = join(dir, 'merge-input.db');
    expect((await cli('run', tiny.processes, '--db', store)).code).toBe(0);
    const r = await cli('merge', '', store, '--json');
    expect(r).toEqual({
      code: 2,
      out: '',
      err: 'hmmlab: an empty path is not a results store: name a file (--db <path>)\n',
    });
    const memory = await cli('merge', ':memory:', store);
    expect(memory.code).toBe(2);
    expect(memory.err).toBe("hmmlab: merge writes a results store file; ':memory:' is not one\n");
  });

  it('run --db "" exits 2 instead of storing the run in a temporary database that vanishes', async () => {
    const r = await cli('run', tiny.processes, '--db', '');
    expect(r.code).toBe(2);
    expect(r.err).toBe('hmmlab: an empty path is not a results store: name a file (--db <path>)\n');
    expect((await cli('runs', '--db', '')).code).toBe(2);
    expect((await cli('merge', join(dir, 'never.db'), '')).code).toBe(2);
    expect(existsSync(join(dir, 'never.db'))).toBe(false);
  });

  it('case 679 of seed 5: trace -o <results store> exits 2 and leaves the store, instead of writing the trace over it', async () => {
    const store = join(dir, 'trace-target.db');
    expect((await cli('run', tiny.processes, '--db', store)).code).toBe(0);
    const before = readFileSync(store);
    const r = await cli('trace', tiny.processes, '--output', store);
    expect(r).toEqual({
      code: 2,
      out: '',
      err: `hmmlab: -o ${store}: is an SQLite database (a results store?); hmmlab does not write over it\n`,
    });
    expect(readFileSync(store).equals(before)).toBe(true);
    const explore = await cli(
      'explore',
      'scenarios/races/skip-read-retry-buggy.yaml',
      '--no-store',
      '--trace',
      store,
    );
    expect(explore.code).toBe(2);
    expect(explore.err).toContain('is an SQLite database');
    expect(readFileSync(store).equals(before)).toBe(true);
    // Any other existing file is still replaced.
    const old = join(dir, 'old-trace.json');
    writeFileSync(old, '{}');
    expect((await cli('trace', tiny.processes, '-o', old)).code).toBe(0);
    expect(readFileSync(old, 'utf8')).toContain('traceEvents');
  });
});

describe('store fuzzer findings', () => {
  it("case 16 of seed 0x5707e022: a flipped bit in a run's metrics JSON (SQLite cannot see it) exits 2 naming the file, not 70 from JSON.parse", async () => {
    const store = join(dir, 'bad-json.db');
    expect(
      (await cli('compare', tiny.processes, '--designs', 'upstream,pagemap-p2p', '--db', store)).code,
    ).toBe(0);
    const raw = new Database(store);
    raw
      .prepare("UPDATE runs SET metrics = substr(metrics, 1, 40) || '\"' || substr(metrics, 42) WHERE id = 1")
      .run();
    raw.prepare("UPDATE runs SET scenario_text = X'00ff' WHERE id = 2").run();
    raw.close();
    const before = readFileSync(store);
    const salvage = `; \`hmmlab merge --salvage repaired.db ${store}\` copies the runs that can still be read into a new store\n`;
    for (const args of [
      ['compare', '--runs', '1', '--db', store],
      ['report', '1', '-o', join(dir, 'bad-json-report'), '--db', store],
    ]) {
      const r = await cli(...args);
      expect(r).toEqual({
        code: 2,
        out: '',
        err: `hmmlab: ${store}: the results store is damaged (run 1's metrics is not valid JSON)${salvage}`,
      });
    }
    const text = await cli('compare', '--runs', '2', '--db', store);
    expect(text.code).toBe(2);
    expect(text.err).toBe(
      `hmmlab: ${store}: the results store is damaged (run 2's scenario text is not text)${salvage}`,
    );
    expect(readFileSync(store).equals(before)).toBe(true);
  });

  it('case 11 of seed 0xca: header bits 18.4 and 65.7 flipped (write version 0x12) exit 2 naming the file, leave no -wal or -shm behind (and run no longer crashes saving into a read-only database)', async () => {
    for (const flips of [
      [
        [18, 4],
        [65, 7],
      ],
      [[18, 4]],
    ] as const) {
      const folder = mkdtempSync(join(dir, 'write-version-'));
      const store = join(folder, 'results.db');
      expect(
        (await cli('compare', tiny.processes, '--designs', 'upstream,pagemap-p2p', '--db', store)).code,
      ).toBe(0);
      const bytes = readFileSync(store);
      for (const [at, bit] of flips) bytes[at] = bytes[at]! ^ (1 << bit);
      writeFileSync(store, bytes);
      for (const args of [
        ['runs', '--db', store],
        ['compare', '--runs', '1,2', '--db', store],
        ['run', tiny.processes, '--db', store],
        ['merge', join(dir, `never-${flips.length}.db`), store],
      ]) {
        const r = await cli(...args);
        expect(r.err, args.join(' ')).not.toMatch(/^\s+at /m);
        expect(readdirSync(folder), args.join(' ')).toEqual(['results.db']);
        expect(readFileSync(store).equals(bytes), args.join(' ')).toBe(true);
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.err, args.join(' ')).toBe(
          `hmmlab: ${store}: the results store is damaged: its SQLite header has file format versions 18 and 2 (1 or 2 expected); \`hmmlab merge --salvage repaired.db ${store}\` copies the runs that can still be read into a new store\n`,
        );
      }
    }
  });

  it('case 478 of seed 0x194: metrics JSON with a damaged key (still JSON) exits 2 naming the file and run, not 70 from compareRow', async () => {
    const store = join(dir, 'bad-key.db');
    expect((await cli('run', tiny.processes, '--db', store)).code).toBe(0);
    expect((await cli('compare', tiny.processes, '--designs', 'upstream', '--db', store)).code).toBe(0);
    const raw = new Database(store);
    // Run 1 holds a SimResult, run 2 a row: one key of each renamed, as a flipped bit does.
    raw
      .prepare(`UPDATE runs SET metrics = replace(metrics, '"workloads"', '"workloadw"') WHERE id = 1`)
      .run();
    raw.prepare(`UPDATE runs SET metrics = replace(metrics, '"rdma"', '"rdmi"') WHERE id = 2`).run();
    raw.close();
    for (const id of [1, 2]) {
      const r = await cli('compare', '--runs', String(id), '--db', store);
      expect(r).toEqual({
        code: 2,
        out: '',
        err: `hmmlab: ${store}: run ${id} has metrics this hmmlab cannot read (stored by hmmlab 0.1.0, or damaged)\n`,
      });
    }
    // report simulates again and says the stored metrics cannot be checked (exit 1).
    const report = await cli('report', '1', '-o', join(dir, 'bad-key-report'), '--db', store);
    expect(report.code).toBe(1);
    expect(report.err).toContain('run 1: its stored metrics cannot be read by hmmlab 0.1.0');
  });
});
