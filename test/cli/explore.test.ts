import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ResultsStore } from '../../src/store/store.js';
import { cli } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'hmmlab-explore-'));
const db = join(dir, 'r.db');

describe('hmmlab explore', () => {
  it('exits 1 with the counterexample, its schedule and a replay command for a buggy driver', async () => {
    const r = await cli('explore', 'scenarios/races/skip-read-retry-buggy.yaml', '--db', db);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/VIOLATION notifier-contract: gpu0 accessed page 1 through a stale translation/);
    const schedule = /schedule: (\S+)/.exec(r.out)![1]!;
    expect(r.out).toContain(`hmmlab explore scenarios/races/skip-read-retry-buggy.yaml --replay ${schedule}`);
    // The replay reproduces it exactly.
    const again = await cli(
      'explore',
      'scenarios/races/skip-read-retry-buggy.yaml',
      '--replay',
      schedule,
      '--json',
    );
    expect(again.code).toBe(1);
    expect(JSON.parse(again.out).counterexample.violation.invariant).toBe('notifier-contract');
  });

  it('exits 0 with the coverage figures for the fixed driver, and stores both results', async () => {
    const r = await cli('explore', 'scenarios/races/skip-read-retry-fixed.yaml', '--db', db);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/exhaustive: \d+ states, \d+ steps.*\(every interleaving within the bounds\)/);
    expect(r.out).toContain('no invariant failed');
    const store = ResultsStore.open(db);
    const saved = store.listExplorations();
    store.close();
    expect(saved.map((e) => [e.scenarioName, e.verdict])).toEqual([
      ['skip-read-retry-buggy', 'notifier-contract'],
      ['skip-read-retry-fixed', 'clean'],
    ]);
  });

  it('--random n, --json and --trace', async () => {
    const trace = join(dir, 'cx.json');
    const r = await cli(
      'explore',
      'scenarios/races/unplug-revoke-buggy.yaml',
      '--random',
      '100',
      '--seed',
      '2',
      '--json',
      '--trace',
      trace,
      '--no-store',
    );
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out);
    expect(j.mode).toBe('random');
    expect(j.counterexample.violation.invariant).toBe('revoked-pagemap');
    const t = JSON.parse(readFileSync(trace, 'utf8'));
    const slices = t.traceEvents.filter((e: { ph: string }) => e.ph === 'X');
    expect(slices.length).toBe(j.counterexample.steps.length);
    expect(t.traceEvents.some((e: { name: string }) => e.name.startsWith('revoked-pagemap:'))).toBe(true);
  });

  it('bad input exits 2 with a message and no stack trace', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'version: 1\nkind: race\nname: x\nproblem: skip-read-retry\nvariant: maybe\n');
    const r = await cli('explore', bad, '--no-store');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      new RegExp(
        `${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5:10: variant: expected one of buggy, fixed, found 'maybe'`,
      ),
    );
    expect(r.err).not.toMatch(/\n\s+at /);
    const replay = await cli(
      'explore',
      'scenarios/races/skip-read-retry-buggy.yaml',
      '--replay',
      '01x',
      '--no-store',
    );
    expect(replay.code).toBe(2);
    expect(replay.err).toMatch(/--replay: schedule character 3 'x' names no agent/);
    const both = await cli(
      'explore',
      'scenarios/races/skip-read-retry-buggy.yaml',
      '--exhaustive',
      '--random',
      '3',
    );
    expect(both.code).toBe(2);
    const missing = await cli('explore', join(dir, 'nope.yaml'));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/cannot read .*nope.yaml: ENOENT/);
    const mod = join(dir, 'mod.yaml');
    writeFileSync(mod, 'version: 1\nkind: race\nname: m\nmodule: missing-driver.ts\n');
    const m = await cli('explore', mod, '--no-store');
    expect(m.code).toBe(2);
    expect(m.err).toMatch(/module 'missing-driver.ts' not found/);
    expect(existsSync(join(dir, 'nope.yaml'))).toBe(false);
  });

  it('explores a driver module of your own (examples/race-driver.yaml)', async () => {
    const r = await cli('explore', 'examples/race-driver.yaml', '--no-store');
    expect(r.code).toBe(0);
    expect(r.out).toContain('no invariant failed');
  });
});

describe('hmmlab explore --expect', () => {
  it("exits 0 when the verdict is the file's expect (a counterexample included), 1 when it is not", async () => {
    const buggy = await cli(
      'explore',
      'scenarios/races/skip-read-retry-buggy.yaml',
      '--expect',
      '--no-store',
    );
    expect(buggy.code).toBe(0);
    expect(buggy.out).toContain('as expected: notifier-contract');
    const wrong = join(dir, 'wrong.yaml');
    writeFileSync(
      wrong,
      'version: 1\nkind: race\nname: w\nproblem: skip-read-retry\nvariant: buggy\nexpect: clean\n',
    );
    const r = await cli('explore', wrong, '--expect', '--no-store');
    expect(r.code).toBe(1);
    expect(r.out).toContain(`note: ${wrong} expects clean, this exploration found notifier-contract`);
  });
});
