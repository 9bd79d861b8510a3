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

/** A driver module (plain JavaScript) whose reader throws once the writer has run. */
const CRASHING_MODULE = `
export const model = {
  name: 'crashing-driver',
  description: 'a reader that throws when it finds the flag set',
  create() {
    let flag = false;
    let ops = 0;
    const agents = [
      { name: 'writer', body: (function* () { flag = true; ops++; yield 'set flag'; })() },
      { name: 'reader', body: (function* () {
        if (flag) throw new TypeError('cannot read the mirror: flag set');
        ops++;
        yield 'read flag';
      })() },
    ];
    return {
      agents,
      digest: () => String(flag),
      describe: () => new Map([['flag', String(flag)]]),
      takeViolation: () => null,
      quiescent: () => null,
      opsDone: () => ops,
    };
  },
};
`;

describe('hmmlab explore: an explorer users can trust', () => {
  it('an exception in an agent is a crash violation: exit 1, the message, no stack trace, a schedule that replays it', async () => {
    writeFileSync(join(dir, 'crashing-driver.mjs'), CRASHING_MODULE);
    const race = join(dir, 'crash.yaml');
    writeFileSync(race, 'version: 1\nkind: race\nname: crash\nmodule: crashing-driver.mjs\nexpect: crash\n');
    const r = await cli('explore', race, '--no-store');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /VIOLATION crash: reader threw TypeError: cannot read the mirror: flag set \(at .*crashing-driver\.mjs:\d+:\d+\)/,
    );
    expect(r.out + r.err).not.toMatch(/\n\s+at /);
    const schedule = /schedule: (\S+)/.exec(r.out)![1]!;
    expect(schedule).toBe('01');
    const again = await cli('explore', race, '--replay', schedule);
    expect(again.code).toBe(1);
    expect(again.out).toContain('VIOLATION crash: reader threw TypeError: cannot read the mirror: flag set');
    expect(again.out).toMatch(/│ 1 +│ reader +│ threw TypeError/);
    const expected = await cli('explore', race, '--no-store', '--expect');
    expect(expected.code).toBe(0);
    expect(expected.out).toContain('as expected: crash');
  });

  it('a model that cannot be explored as written is bad input (exit 2), with a message and no stack trace', async () => {
    writeFileSync(
      join(dir, 'no-world.mjs'),
      "export const model = { name: 'no-world', description: '', create() { throw new Error('no world today'); } };\n",
    );
    const race = join(dir, 'no-world.yaml');
    writeFileSync(race, 'version: 1\nkind: race\nname: nw\nmodule: no-world.mjs\n');
    const r = await cli('explore', race, '--no-store');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /no-world\.yaml: model 'no-world': create\(\) threw Error: no world today \(at .*no-world\.mjs:1:\d+\)/,
    );
    expect(r.err).not.toMatch(/\n\s+at /);
    writeFileSync(
      join(dir, 'taken-name.mjs'),
      CRASHING_MODULE.replace(
        'opsDone: () => ops,',
        "opsDone: () => ops, invariants: [{ name: 'data', check: () => null }],",
      ),
    );
    const taken = join(dir, 'taken-name.yaml');
    writeFileSync(taken, 'version: 1\nkind: race\nname: t\nmodule: taken-name.mjs\n');
    const t = await cli('explore', taken, '--no-store');
    expect(t.code).toBe(2);
    expect(t.err).toMatch(/invariant name 'data' is a built-in invariant's/);
  });

  it('a search stopped by --max-states is inconclusive: exit 3, what it covered, which bound; --expect clean fails', async () => {
    const fixed = 'scenarios/races/multi-device-migrate-fixed.yaml';
    const r = await cli('explore', fixed, '--max-states', '20', '--no-store');
    expect(r.code).toBe(3);
    expect(r.out).toMatch(
      /INCONCLUSIVE: no invariant failed in the 20 states searched \(depth \d+ reached\), but the search stopped at --max-states 20 before it covered every interleaving/,
    );
    expect(r.out).not.toContain('no invariant failed\n');
    const expect3 = await cli('explore', fixed, '--max-states', '20', '--no-store', '--expect');
    expect(expect3.code).toBe(3);
    expect(expect3.out).toContain(`note: ${fixed} expects clean; this exploration was inconclusive`);
    expect(expect3.out).not.toContain('as expected');
    const json = await cli('explore', fixed, '--max-states', '20', '--no-store', '--json');
    expect(json.code).toBe(3);
    expect(JSON.parse(json.out)).toMatchObject({
      verdict: 'inconclusive',
      bounds: { maxStates: 20, maxDepth: 400 },
      coverage: { states: 20, complete: false, boundHit: 'max-states' },
    });
  });

  it('a search cut by --max-depth is inconclusive too, and the results store says so', async () => {
    const store = join(dir, 'depth.db');
    const r = await cli(
      'explore',
      'scenarios/races/skip-read-retry-fixed.yaml',
      '--max-depth',
      '3',
      '--db',
      store,
    );
    expect(r.code).toBe(3);
    expect(r.out).toMatch(
      /INCONCLUSIVE: no invariant failed in the \d+ states searched \(depth 3 reached\), but \d+ paths? cut at --max-depth 3/,
    );
    const s = ResultsStore.open(store);
    const saved = s.listExplorations();
    s.close();
    expect(saved.map((e) => e.verdict)).toEqual(['inconclusive']);
  });

  it('--help lists the exit codes', async () => {
    const r = await cli('explore', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Exit codes:\n\s+0 +clean/);
    expect(r.out).toMatch(/\n\s+3 +inconclusive/);
    expect(r.out).toContain('--no-shrink');
  });

  it('--replay prints the timeline of a schedule that does not fail, and refuses one longer than the run (exit 2)', async () => {
    const ok = await cli('explore', 'scenarios/races/skip-read-retry-fixed.yaml', '--replay', '000111');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/│ #\s+│ agent/);
    expect(ok.out).toMatch(/│ 5 +│ cpu0 +│ munmap page 1/);
    expect(ok.out).toContain('no invariant failed');
    // Past the end: every agent finished.
    const done = await cli('explore', 'scenarios/races/skip-read-retry-fixed.yaml', '--replay', '0001110111');
    expect(done.code).toBe(2);
    expect(done.err).toMatch(
      /--replay: the schedule is longer than the run: it has 10 choices, and every agent has finished after 8 steps/,
    );
    // Past the end: an invariant failed at step 6, the seventh choice is left over.
    const past = await cli('explore', 'scenarios/races/skip-read-retry-buggy.yaml', '--replay', '0011101');
    expect(past.code).toBe(2);
    expect(past.err).toMatch(
      /--replay: the schedule is longer than the run: it has 7 choices, and the run ends after 6 steps, where notifier-contract fails \(the first 6 choices replay it: 001110\)/,
    );
    expect(past.out).toBe('');
    expect(past.err).not.toMatch(/\n\s+at /);
  });

  it("a model's own invariant is the verdict by its name, and a race file may expect it", async () => {
    const driver = join(process.cwd(), 'examples/race-driver.ts');
    const race = join(dir, 'own-invariant.yaml');
    writeFileSync(
      race,
      `version: 1\nkind: race\nname: own\nmodule: ${driver}\nparams: { checkRetry: false }\nexpect: mydev-coherent\n`,
    );
    const r = await cli('explore', race, '--no-store', '--expect');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(
      /VIOLATION mydev-coherent \(an invariant of the model\): mydev maps page 1 to pfn \d+/,
    );
    expect(r.out).toContain('as expected: mydev-coherent');
    const typo = join(dir, 'typo.yaml');
    writeFileSync(typo, `version: 1\nkind: race\nname: own\nmodule: ${driver}\nexpect: mydev-coherant\n`);
    const bad = await cli('explore', typo, '--no-store');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(
      /expect: 'mydev-coherant' is not clean, a built-in invariant \(.*\) or one the model declares \(mydev-coherent\)/,
    );
    // A built-in problem's file expects a built-in invariant, checked by the schema.
    const builtin = join(dir, 'builtin.yaml');
    writeFileSync(
      builtin,
      'version: 1\nkind: race\nname: b\nproblem: skip-read-retry\nvariant: buggy\nexpect: notifier-contrac\n',
    );
    const b = await cli('explore', builtin, '--no-store');
    expect(b.code).toBe(2);
    expect(b.err).toMatch(
      /:6:9: expect: expected one of clean, .*found 'notifier-contrac' \(did you mean 'notifier-contract'\?\)/,
    );
  });

  it('says how the counterexample was shortened: first found, then shrunk (or not, with --no-shrink)', async () => {
    const buggy = 'scenarios/races/multi-device-migrate-buggy.yaml';
    const r = await cli('explore', buggy, '--no-store');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(
      /counterexample: first found with 43 steps, shrunk to 29 steps \(\d+ replays; no single step can be removed\); not necessarily the shortest of all/,
    );
    expect(/schedule: (\S+)/.exec(r.out)![1]).toHaveLength(29);
    const raw = await cli('explore', buggy, '--no-store', '--no-shrink');
    expect(raw.code).toBe(1);
    expect(raw.out).toContain('counterexample: first found, 43 steps (not shrunk)');
    const replayNoShrink = await cli('explore', buggy, '--replay', '0', '--no-shrink');
    expect(replayNoShrink.code).toBe(2);
    expect(replayNoShrink.err).toMatch(/--no-shrink does not apply/);
  });
});
