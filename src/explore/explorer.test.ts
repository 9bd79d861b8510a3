import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { model as exampleDriver } from '../../examples/race-driver.js';
import {
  type Agent,
  type AgentYield,
  decodeSchedule,
  encodeSchedule,
  explore,
  type RaceModel,
  replaySchedule,
  ScheduleError,
} from './explorer.js';
import { problemModel } from './problems.js';
import { raceModelOf } from './race-model.js';
import { loadRaceFile } from './scenario.js';

const RACES = join(import.meta.dirname, '../../scenarios/races');
const files = readdirSync(RACES)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

describe('race files (scenarios/races): the buggy variant gives a counterexample, the fixed one is clean', () => {
  it('has a buggy and a fixed file for each of the five problems, and anon-teardown', () => {
    const problems = [
      'multi-device-migrate',
      'cpu-fault-refcount',
      'hmm-spin-locked-folio',
      'skip-read-retry',
      'unplug-revoke',
    ];
    for (const p of problems) {
      expect(files).toContain(`${p}-buggy.yaml`);
      expect(files).toContain(`${p}-fixed.yaml`);
    }
    expect(files).toContain('anon-teardown.yaml');
  });

  for (const f of files) {
    it(`${f}: exhaustive exploration gives the verdict the file expects, and its schedule replays it`, async () => {
      const file = join(RACES, f);
      const loaded = loadRaceFile(readFileSync(file, 'utf8'), file);
      if (!loaded.ok) throw new Error(loaded.errors.map((e) => e.message).join('\n'));
      const race = loaded.race;
      const model = await raceModelOf(race, file);
      const r = explore(model, { mode: 'exhaustive', maxStates: race.explore?.maxStates ?? 100_000 });
      const verdict = r.counterexample?.violation.invariant ?? 'clean';
      expect(verdict).toBe(race.expect);
      if (r.counterexample) {
        expect(r.counterexample.steps.length).toBe(r.counterexample.schedule.length);
        const again = replaySchedule(model, r.counterexample.schedule);
        expect(again.counterexample?.violation.invariant).toBe(verdict);
        expect(again.counterexample?.steps).toEqual(r.counterexample.steps);
      } else {
        // Clean means every interleaving within the bounds was covered.
        expect(r.coverage.complete).toBe(true);
        expect(r.coverage.schedules).toBeGreaterThan(0);
      }
    });
  }
});

describe('the explorer', () => {
  it('is deterministic: the same model and options give the same result, byte for byte', () => {
    const m = problemModel({ problem: 'multi-device-migrate', variant: 'buggy' });
    expect(JSON.stringify(explore(m, { mode: 'exhaustive' }))).toBe(
      JSON.stringify(explore(m, { mode: 'exhaustive' })),
    );
    const r = problemModel({ problem: 'skip-read-retry', variant: 'buggy' });
    expect(JSON.stringify(explore(r, { mode: 'random', runs: 20, seed: 7 }))).toBe(
      JSON.stringify(explore(r, { mode: 'random', runs: 20, seed: 7 })),
    );
  });

  it('random mode finds the stale mapping within 50 seeded schedules, and none in the fixed driver', () => {
    const bug = explore(problemModel({ problem: 'skip-read-retry', variant: 'buggy' }), {
      mode: 'random',
      runs: 50,
      seed: 1,
    });
    expect(bug.counterexample?.violation.invariant).toBe('notifier-contract');
    const ok = explore(problemModel({ problem: 'skip-read-retry', variant: 'fixed' }), {
      mode: 'random',
      runs: 50,
      seed: 1,
    });
    expect(ok.counterexample).toBeNull();
    expect(ok.coverage.schedules).toBe(50);
  });

  it('random mode finds a livelock cycle too (the spinning hmm_range_fault)', () => {
    const r = explore(problemModel({ problem: 'hmm-spin-locked-folio', variant: 'buggy' }), {
      mode: 'random',
      runs: 200,
      seed: 3,
    });
    expect(r.counterexample?.violation.invariant).toBe('livelock');
    expect(r.counterexample?.violation.cycleStart).toBeGreaterThanOrEqual(0);
  });

  it('prints the shortest counterexample it recorded: the stale mapping in 4 steps', () => {
    const r = explore(problemModel({ problem: 'skip-read-retry', variant: 'buggy' }), { mode: 'exhaustive' });
    // read_begin, hmm_range_fault, munmap, then the unchecked page-table update and the access.
    expect(r.counterexample!.steps.map((s) => s.agent)).toEqual([
      'gpu0.fault',
      'gpu0.fault',
      'cpu0',
      'gpu0.fault',
    ]);
    expect(r.counterexample!.steps[2]!.change).toMatch(/pte\[1\]: ram pfn \d+ rw → none/);
  });

  it('livelocks made of two cycles that are each unfair are found through the strongly connected component', () => {
    const r = explore(problemModel({ problem: 'cpu-fault-refcount', variant: 'buggy' }), {
      mode: 'exhaustive',
    });
    const cx = r.counterexample!;
    expect(cx.violation.invariant).toBe('livelock');
    const cycle = cx.steps.slice(cx.violation.cycleStart);
    expect(new Set(cycle.map((s) => s.agent))).toEqual(new Set(['cpu0', 'cpu1']));
  });

  it('scales to three racing CPU threads', () => {
    const bug = explore(problemModel({ problem: 'cpu-fault-refcount', variant: 'buggy', threads: 3 }), {
      mode: 'exhaustive',
    });
    expect(bug.counterexample?.violation.invariant).toBe('livelock');
    const ok = explore(problemModel({ problem: 'cpu-fault-refcount', variant: 'fixed', threads: 3 }), {
      mode: 'exhaustive',
    });
    expect(ok.counterexample).toBeNull();
    expect(ok.coverage.complete).toBe(true);
  });

  it('reports a bound it hit instead of claiming completeness', () => {
    const r = explore(problemModel({ problem: 'multi-device-migrate', variant: 'fixed' }), {
      mode: 'exhaustive',
      maxStates: 20,
    });
    expect(r.coverage.complete).toBe(false);
    expect(r.coverage.boundHit).toBe('max-states');
    expect(r.counterexample).toBeNull();
  });

  it('finds a deadlock: two agents each waiting for the other', () => {
    const m: RaceModel = {
      name: 'ab-ba',
      description: 'lock order inversion',
      create() {
        const held = [false, false];
        let ops = 0;
        const taker = (first: number, second: number): Generator<AgentYield, void, void> =>
          (function* () {
            while (held[first]) yield { wait: `lock ${first}`, until: () => !held[first] };
            held[first] = true;
            yield `took ${first}`;
            while (held[second]) yield { wait: `lock ${second}`, until: () => !held[second] };
            held[second] = true;
            held[first] = held[second] = false;
            ops++;
          })();
        const agents: Agent[] = [
          { name: 'a', body: taker(0, 1) },
          { name: 'b', body: taker(1, 0) },
        ];
        return {
          agents,
          digest: () => held.join(),
          describe: () => new Map(held.map((h, i) => [`lock ${i}`, h ? 'held' : 'free'])),
          takeViolation: () => null,
          quiescent: () => null,
          opsDone: () => ops,
        };
      },
    };
    const r = explore(m, { mode: 'exhaustive' });
    expect(r.counterexample?.violation.invariant).toBe('deadlock');
    expect(r.counterexample?.schedule).toHaveLength(4);
  });

  it('checks a user driver module: the example driver is clean, and stale without its retry check', () => {
    expect(explore(exampleDriver({}), { mode: 'exhaustive' }).counterexample).toBeNull();
    const bad = explore(exampleDriver({ checkRetry: false }), { mode: 'exhaustive' });
    expect(bad.counterexample?.violation.invariant).toBe('notifier-contract');
  });

  it('schedule strings name agents 0-9a-zA-Z; a character naming no agent is an error', () => {
    expect(encodeSchedule([0, 1, 10, 35, 36])).toBe('01azA');
    expect(decodeSchedule('01az', 36)).toEqual([0, 1, 10, 35]);
    expect(() => decodeSchedule('012', 2)).toThrow(ScheduleError);
    expect(() => decodeSchedule('0-', 2)).toThrow(/character 2 '-' names no agent/);
  });
});

/**
 * Agent 0 spins until agent 1 sets a flag (in its second step). With `counting`, every check
 * changes the state and finishes an operation, so no state repeats.
 */
function spinModel(opts: { counting?: boolean } = {}): RaceModel {
  return {
    name: 'spin',
    description: 'agent 0 spins on a flag agent 1 sets',
    create() {
      let flag = false;
      let ops = 0;
      let count = 0;
      const agents: Agent[] = [
        {
          name: 'spinner',
          body: (function* (): Generator<AgentYield, void, void> {
            while (!flag) {
              if (opts.counting) {
                count++;
                ops++;
              }
              yield 'check flag';
            }
            ops++;
          })(),
        },
        {
          name: 'setter',
          body: (function* (): Generator<AgentYield, void, void> {
            yield 'about to set';
            flag = true;
            ops++;
          })(),
        },
      ];
      return {
        agents,
        digest: () => `${flag}|${count}`,
        describe: () => new Map([['flag', String(flag)]]),
        takeViolation: () => null,
        quiescent: () => null,
        opsDone: () => ops,
      };
    },
  };
}

describe('replaySchedule: partial, complete and over-long schedules', () => {
  it('a complete schedule runs as given; its timeline is in `replay` even when nothing failed', () => {
    const r = replaySchedule(spinModel(), '110');
    expect(r.counterexample).toBeNull();
    expect(r.replay).toEqual({ given: 3, continued: false, schedule: '110', steps: r.replay!.steps });
    expect(r.replay!.steps.map((s) => `${s.agent}:${s.step}`)).toEqual([
      'setter:about to set',
      'setter:done',
      'spinner:done',
    ]);
  });

  it('a partial schedule continues by the lowest-numbered agent that can run, and says so', () => {
    const m = problemModel({ problem: 'skip-read-retry', variant: 'fixed' });
    const r = replaySchedule(m, '1');
    expect(r.replay?.given).toBe(1);
    expect(r.replay?.continued).toBe(true);
    expect(r.replay?.stopped).toBeUndefined();
    // cpu0 (1) ran once; then gpu0.fault (0) runs to its end before cpu0 finishes.
    expect(r.replay?.schedule).toBe('100001');
    expect(r.replay?.steps.at(-1)?.step).toBe('done');
    expect(r.counterexample).toBeNull();
    // The full schedule replays the same run without continuing.
    const again = replaySchedule(m, r.replay!.schedule);
    expect(again.replay?.continued).toBe(false);
    expect(again.replay?.steps).toEqual(r.replay?.steps);
  });

  it('stops a continuation that would repeat a state forever, and one past the depth bound', () => {
    // From the start the default choice is the spinner, which checks the flag forever: the
    // cycle is not weakly fair (the setter is always enabled and never runs), so no livelock.
    const cyc = replaySchedule(spinModel(), '');
    expect(cyc.replay?.stopped).toBe('cycle');
    expect(cyc.counterexample).toBeNull();
    expect(cyc.replay?.schedule).toBe('00');
    // The same after a given prefix: a repeat of a state the prefix reached counts only once
    // the continuation has left it.
    const after = replaySchedule(spinModel(), '1');
    expect(after.replay?.stopped).toBe('cycle');
    expect(after.replay?.schedule).toBe('100');
    // A spinner whose every check changes the state and finishes an operation never repeats.
    const deep = replaySchedule(spinModel({ counting: true }), '', { maxDepth: 25 });
    expect(deep.replay?.stopped).toBe('max-depth');
    expect(deep.replay?.steps).toHaveLength(25);
  });

  it('a choice that cannot run is a ScheduleError naming it, not a progress violation', () => {
    const m = problemModel({ problem: 'skip-read-retry', variant: 'fixed' });
    expect(() => replaySchedule(m, '00001111')).toThrow(
      /the schedule is longer than the run: it has 8 choices, and every agent has finished after 6 steps/,
    );
    expect(() => replaySchedule(m, '00000')).toThrow(/step 5 schedules gpu0.fault, which has finished/);
    expect(() => replaySchedule(m, '00001111')).toThrow(ScheduleError);
  });
});

describe('race files', () => {
  it('bad input gives file:line:col messages with a suggestion', () => {
    const r = loadRaceFile(
      'version: 1\nkind: race\nname: x\nproblem: skip-read-retyr\nvariant: buggy\n',
      'r.yaml',
    );
    if (r.ok) throw new Error('accepted');
    expect(r.errors[0]).toMatchObject({ file: 'r.yaml', line: 4, col: 10 });
    expect(r.errors[0]!.message).toMatch(/did you mean 'skip-read-retry'/);
    const noVariant = loadRaceFile('version: 1\nkind: race\nname: x\nproblem: skip-read-retry\n', 'r.yaml');
    if (noVariant.ok) throw new Error('accepted');
    expect(noVariant.errors[0]!.message).toMatch(/needs 'variant: buggy' or 'variant: fixed'/);
    const both = loadRaceFile(
      'version: 1\nkind: race\nname: x\nproblem: anon-teardown\nmodule: a.ts\n',
      'r.yaml',
    );
    if (both.ok) throw new Error('accepted');
    expect(both.errors[0]).toMatchObject({ line: 5, message: "give 'problem' or 'module', not both" });
  });
});
