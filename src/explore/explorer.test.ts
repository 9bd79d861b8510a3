import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { model as exampleDriver } from '../../examples/race-driver.js';
import { PAGE_SIZE } from '../kernel/constants.js';
import { mmuIntervalNotifierRemoveSteps, mmuIntervalReadBeginSteps } from '../kernel/mmu_notifier.js';
import {
  type Agent,
  type AgentYield,
  decodeSchedule,
  encodeSchedule,
  explore,
  ModelError,
  modelInvariants,
  type RaceModel,
  replay,
  replaySchedule,
  ScheduleError,
} from './explorer.js';
import { agent, raceWorld } from './kit.js';
import { problemModel, readBeginNoWait } from './problems.js';
import { raceModelOf } from './race-model.js';
import { loadRaceFile } from './scenario.js';
import type { NamedInvariant } from './types.js';
import { KernelWorld, kernelSteps, SvmDevice } from './world.js';

const RACES = join(import.meta.dirname, '../../scenarios/races');
const files = readdirSync(RACES)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

describe('race files (scenarios/races): the buggy variant gives a counterexample, the fixed one is clean', () => {
  it('has a buggy and a fixed file for each problem, and anon-teardown', () => {
    const problems = [
      'multi-device-migrate',
      'cpu-fault-refcount',
      'hmm-spin-locked-folio',
      'skip-read-retry',
      'unplug-revoke',
      'read-begin-nowait',
      'dmirror-own-migrate',
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

  it('prints a short counterexample: the stale mapping in 6 steps', () => {
    const r = explore(problemModel({ problem: 'skip-read-retry', variant: 'buggy' }), { mode: 'exhaustive' });
    // read_begin, hmm_range_fault, munmap (the start of its invalidation, gpu0's callback, then
    // the zap and the end), then the unchecked page-table update and the access.
    expect(r.counterexample!.steps.map((s) => `${s.agent} ${s.step}`)).toEqual([
      'gpu0.fault mmu_interval_read_begin',
      'gpu0.fault hmm_range_fault done',
      'cpu0 mmu_notifier_invalidate_range_start',
      'cpu0 mn_itree_invalidate 1/1',
      'cpu0 munmap page 1',
      'gpu0.fault device reads the pages',
    ]);
    expect(r.counterexample!.steps[4]!.change).toMatch(/pte\[1\]: ram pfn \d+ rw → none/);
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
    const bad = explore(exampleDriver({ checkRetry: false, coherentInvariant: false }), {
      mode: 'exhaustive',
    });
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
    // cpu0 (1) ran once (the start of munmap's invalidation); then gpu0.fault (0) runs to its
    // end before cpu0 finishes (gpu0's callback, the zap and the end, done).
    expect(r.replay?.schedule).toBe('10000111');
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
    expect(() => replaySchedule(m, '000011111')).toThrow(
      /the schedule is longer than the run: it has 9 choices, and every agent has finished after 8 steps/,
    );
    expect(() => replaySchedule(m, '00000')).toThrow(/step 5 schedules gpu0.fault, which has finished/);
    expect(() => replaySchedule(m, '000011111')).toThrow(ScheduleError);
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

/**
 * A model in which agent `noise` takes `noise` steps that touch nothing, `writer` sets a flag
 * and `reader` reads it; `throwAt` makes the reader throw after the writer ran (or `where`
 * names another place that throws); `invariant` declares a named invariant broken once the
 * reader saw the flag.
 */
function flagModel(
  opts: {
    noise?: number;
    throwAt?: 'body' | 'until' | 'local' | 'check';
    invariant?: boolean;
    invariants?: { name: unknown; check: () => string | null }[];
  } = {},
): RaceModel {
  return {
    name: 'flag',
    description: 'a reader, a writer and some noise',
    create() {
      let flag = false;
      let seen = false;
      let ops = 0;
      const agents: Agent[] = [
        {
          name: 'noise',
          body: (function* (): Generator<AgentYield, void, void> {
            for (let i = 0; i < (opts.noise ?? 0); i++) yield `noise ${i}`;
            ops++;
          })(),
        },
        {
          name: 'writer',
          body: (function* (): Generator<AgentYield, void, void> {
            flag = true;
            ops++;
            yield 'set flag';
          })(),
        },
        {
          name: 'reader',
          local: () => {
            if (opts.throwAt === 'local' && seen) throw new RangeError('local blew up');
            return String(seen);
          },
          body: (function* (): Generator<AgentYield, void, void> {
            if (opts.throwAt === 'until')
              yield {
                wait: 'flag',
                until: () => {
                  if (flag) throw new Error('until blew up');
                  return false;
                },
              };
            if (flag) {
              seen = true;
              if (opts.throwAt === 'body') throw new TypeError('reader found the flag set');
            }
            ops++;
            yield 'read flag';
          })(),
        },
      ];
      const world: ReturnType<RaceModel['create']> = {
        agents,
        digest: () => `${flag}|${seen}`,
        describe: () =>
          new Map([
            ['flag', String(flag)],
            ['seen', String(seen)],
          ]),
        takeViolation: () => null,
        quiescent: () => null,
        opsDone: () => ops,
      };
      if (opts.invariant)
        world.invariants = [
          { name: 'reader-never-sees-flag', check: () => (seen ? 'the reader saw the flag set' : null) },
        ];
      if (opts.throwAt === 'check')
        world.invariants = [
          {
            name: 'checker',
            check: () => {
              if (seen) throw new Error('check blew up');
              return null;
            },
          },
        ];
      if (opts.invariants) world.invariants = opts.invariants as NamedInvariant[];
      return world;
    },
  };
}

describe('an exception inside an agent is a crash violation, not the end of the run', () => {
  it('exhaustive: the crash, the error message (no stack) and a schedule that replays it', () => {
    const r = explore(flagModel({ throwAt: 'body' }), { mode: 'exhaustive' });
    const cx = r.counterexample!;
    expect(r.verdict).toBe('crash');
    expect(cx.violation.invariant).toBe('crash');
    expect(cx.violation.message).toMatch(
      /^reader threw TypeError: reader found the flag set \(at .+:\d+:\d+\)$/,
    );
    expect(cx.violation.message).not.toMatch(/\n/);
    expect(cx.schedule).toBe('12');
    expect(cx.steps.at(-1)).toMatchObject({ agent: 'reader', step: 'threw TypeError' });
    const again = replaySchedule(flagModel({ throwAt: 'body' }), cx.schedule);
    expect(again.counterexample?.violation).toEqual(cx.violation);
    expect(again.counterexample?.steps).toEqual(cx.steps);
  });

  it('random mode reports the crash too', () => {
    const r = explore(flagModel({ throwAt: 'body' }), { mode: 'random', runs: 50, seed: 1 });
    expect(r.counterexample?.violation.invariant).toBe('crash');
    expect(replaySchedule(flagModel({ throwAt: 'body' }), r.counterexample!.schedule).verdict).toBe('crash');
  });

  it('a throwing wait condition, local() or named invariant is a crash naming where it came from', () => {
    const cases: [NonNullable<Parameters<typeof flagModel>[0]>['throwAt'], RegExp][] = [
      ['until', /^reader's wait condition \(flag\) threw Error: until blew up/],
      ['local', /^reader's local\(\) threw RangeError: local blew up/],
      ['check', /^invariant 'checker' threw Error: check blew up/],
    ];
    for (const [throwAt, message] of cases) {
      const r = explore(flagModel({ throwAt }), { mode: 'exhaustive' });
      expect(r.counterexample?.violation.invariant, throwAt).toBe('crash');
      expect(r.counterexample?.violation.message, throwAt).toMatch(message);
      const again = replaySchedule(flagModel({ throwAt }), r.counterexample!.schedule);
      expect(again.counterexample?.violation.message, throwAt).toMatch(message);
    }
  });

  it('a model whose create() throws is a ModelError', () => {
    const m: RaceModel = {
      name: 'broken',
      description: '',
      create() {
        throw new Error('no world today');
      },
    };
    expect(() => explore(m, { mode: 'exhaustive' })).toThrow(ModelError);
    expect(() => explore(m, { mode: 'exhaustive' })).toThrow(
      /model 'broken': create\(\) threw Error: no world today/,
    );
  });
});

describe('a search cut short by a bound is inconclusive, not clean', () => {
  it('--max-states: verdict inconclusive, what was covered, and which bound stopped it', () => {
    const r = explore(problemModel({ problem: 'multi-device-migrate', variant: 'fixed' }), {
      mode: 'exhaustive',
      maxStates: 20,
    });
    expect(r.verdict).toBe('inconclusive');
    expect(r.bounds).toEqual({ maxStates: 20, maxDepth: 400 });
    expect(r.coverage).toMatchObject({ states: 20, complete: false, boundHit: 'max-states' });
    expect(r.coverage.maxDepth).toBeGreaterThan(0);
  });

  it('--max-depth: paths cut at the depth bound make it inconclusive and are counted', () => {
    const r = explore(problemModel({ problem: 'skip-read-retry', variant: 'fixed' }), {
      mode: 'exhaustive',
      maxDepth: 3,
    });
    expect(r.verdict).toBe('inconclusive');
    expect(r.coverage.boundHit).toBe('max-depth');
    expect(r.coverage.depthCut).toBeGreaterThan(0);
    expect(r.coverage.maxDepth).toBe(3);
    const full = explore(problemModel({ problem: 'skip-read-retry', variant: 'fixed' }), {
      mode: 'exhaustive',
    });
    expect(full.verdict).toBe('clean');
    expect(full.coverage.depthCut).toBeUndefined();
  });

  it('random mode: schedules cut at the depth bound make it inconclusive; all run to the end is clean', () => {
    const cut = explore(problemModel({ problem: 'skip-read-retry', variant: 'fixed' }), {
      mode: 'random',
      runs: 10,
      maxDepth: 3,
    });
    expect(cut.verdict).toBe('inconclusive');
    expect(cut.coverage.depthCut).toBe(10);
    expect(cut.coverage.schedules).toBe(0);
    const ok = explore(problemModel({ problem: 'skip-read-retry', variant: 'fixed' }), {
      mode: 'random',
      runs: 10,
    });
    expect(ok.verdict).toBe('clean');
  });

  it('a counterexample found before a bound stopped the search is still the verdict', () => {
    const r = explore(problemModel({ problem: 'skip-read-retry', variant: 'buggy' }), {
      mode: 'exhaustive',
      maxDepth: 6,
    });
    expect(r.verdict).toBe('notifier-contract');
  });
});

describe('replay of a schedule the model cannot run is an error, on every path', () => {
  it('choices left over after an invariant failed: a schedule longer than the run', () => {
    const m = problemModel({ problem: 'skip-read-retry', variant: 'buggy' });
    expect(() => replaySchedule(m, '0011101')).toThrow(ScheduleError);
    expect(() => replaySchedule(m, '0011101')).toThrow(
      /the schedule is longer than the run: it has 7 choices, and the run ends after 6 steps, where notifier-contract fails \(the first 6 choices replay it: 001110\)/,
    );
    expect(replaySchedule(m, '001110').verdict).toBe('notifier-contract');
  });

  it('the library function replay() throws ScheduleError too, instead of reporting a progress violation', () => {
    const m = problemModel({ problem: 'skip-read-retry', variant: 'fixed' });
    expect(() => replay(m, [0, 0, 0, 0, 1, 1, 1, 1, 1])).toThrow(/the schedule is longer than the run/);
    expect(() => replay(m, [0, 0, 0, 0, 0])).toThrow(/step 5 schedules gpu0.fault, which has finished/);
  });

  it('a replay that fails nowhere still has its timeline, and says clean', () => {
    const r = replaySchedule(problemModel({ problem: 'skip-read-retry', variant: 'fixed' }), '00011101');
    expect(r.verdict).toBe('clean');
    expect(r.counterexample).toBeNull();
    expect(r.replay?.steps.map((s) => s.agent)).toEqual([
      'gpu0.fault',
      'gpu0.fault',
      'gpu0.fault',
      'cpu0',
      'cpu0',
      'cpu0',
      'gpu0.fault',
      'cpu0',
    ]);
  });
});

describe("a model's own named invariants", () => {
  it('the example driver names its invariant in the violation (instead of a built-in one)', () => {
    const r = explore(exampleDriver({ checkRetry: false }), { mode: 'exhaustive' });
    expect(r.verdict).toBe('mydev-coherent');
    expect(r.counterexample?.violation).toMatchObject({
      invariant: 'mydev-coherent',
      custom: true,
      message: expect.stringMatching(/^mydev maps page 1 to pfn \d+, the CPU page table has ram pfn \d+$/),
    });
    // Caught as the page table is programmed, a step before the stale access.
    expect(r.counterexample?.steps.at(-1)?.step).toBe('page table programmed');
    expect(replaySchedule(exampleDriver({ checkRetry: false }), r.counterexample!.schedule).verdict).toBe(
      'mydev-coherent',
    );
    // The fixed driver keeps it.
    expect(explore(exampleDriver({}), { mode: 'exhaustive' }).verdict).toBe('clean');
    expect(modelInvariants(exampleDriver({}))).toEqual(['mydev-coherent']);
  });

  it('random mode and a world of agents without the kernel report it by name too', () => {
    expect(explore(flagModel({ invariant: true }), { mode: 'random', runs: 20 }).verdict).toBe(
      'reader-never-sees-flag',
    );
    const r = explore(flagModel({ invariant: true }), { mode: 'exhaustive' });
    expect(r.counterexample?.violation).toEqual({
      invariant: 'reader-never-sees-flag',
      message: 'the reader saw the flag set',
      custom: true,
    });
  });

  it('names must be names of their own: a ModelError otherwise', () => {
    const bad = (name: unknown) =>
      explore(flagModel({ invariants: [{ name, check: () => null }] }), { mode: 'exhaustive' });
    expect(() => bad('data')).toThrow(/invariant name 'data' is a built-in invariant's/);
    expect(() => bad('crash')).toThrow(ModelError);
    expect(() => bad('two words')).toThrow(/is not a name/);
    expect(() => bad(7)).toThrow(/is not a name/);
    expect(() =>
      explore(
        flagModel({
          invariants: [
            { name: 'a', check: () => null },
            { name: 'a', check: () => null },
          ],
        }),
        { mode: 'exhaustive' },
      ),
    ).toThrow(/two invariants are named 'a'/);
  });
});

describe('counterexamples are shrunk, and say so', () => {
  it('steps that do not matter are removed: first found with the noise, shrunk without it', () => {
    const found = explore(flagModel({ noise: 6, throwAt: 'body' }), { mode: 'exhaustive', shrink: false });
    expect(found.counterexample?.schedule).toBe('0000000112');
    expect(found.counterexample?.shrink).toBeUndefined();
    const r = explore(flagModel({ noise: 6, throwAt: 'body' }), { mode: 'exhaustive' });
    expect(r.counterexample?.schedule).toBe('12');
    expect(r.counterexample?.shrink).toEqual({ from: 10, tries: expect.any(Number), minimal: true });
    expect(r.counterexample?.steps.map((s) => s.agent)).toEqual(['writer', 'reader']);
  });

  it('the multi-device livelock: 43 steps as found, 29 shrunk, and the shrunk one replays it', () => {
    const m = problemModel({ problem: 'multi-device-migrate', variant: 'buggy' });
    const found = explore(m, { mode: 'exhaustive', shrink: false }).counterexample!;
    const cx = explore(m, { mode: 'exhaustive' }).counterexample!;
    expect(found.steps).toHaveLength(43);
    expect(cx.steps).toHaveLength(29);
    expect(cx.shrink).toMatchObject({ from: 43, minimal: true });
    expect(cx.violation.invariant).toBe('livelock');
    const again = replaySchedule(m, cx.schedule);
    expect(again.counterexample?.violation).toEqual(cx.violation);
  });

  it('a random counterexample shrinks far below the length it was found at', () => {
    const r = explore(flagModel({ noise: 30, throwAt: 'body' }), { mode: 'random', runs: 20, seed: 5 });
    expect(r.counterexample!.shrink!.from).toBeGreaterThan(2);
    expect(r.counterexample!.schedule).toBe('12');
  });

  it('a budget of tries that runs out says the result is not minimal', () => {
    const r = explore(flagModel({ noise: 6, throwAt: 'body' }), { mode: 'exhaustive', shrink: 1 });
    expect(r.counterexample?.shrink).toMatchObject({ tries: 1, minimal: false });
  });
});

/** What one reader saw of its mmu_interval_read_begin (readBeginDuringMunmap). */
interface ReadBeginProbe {
  /** Called while an invalidation that had already called the interval back was running. */
  during: boolean;
  /** It slept (a notifier_wait) before returning. */
  slept: boolean;
  /** When it returned, the invalidation it began in had ended (the mm's sequence moved on). */
  endedFirst: boolean;
  /** When it returned, no invalidation was running. */
  quiet: boolean;
}

/**
 * A reader (mmu_interval_read_begin, then read_retry under a lock) against a munmap of its one
 * page, every probe the reader takes recorded in `probes` (one per world the explorer builds).
 * With `atomicMunmap` the munmap is the sequential one, a single step, as every invalidation
 * was before they were split.
 */
function readBeginDuringMunmap(probes: ReadBeginProbe[], atomicMunmap = false): RaceModel {
  return {
    name: 'read-begin-during-munmap',
    description: 'mmu_interval_read_begin against a munmap of the interval',
    create() {
      const w = new KernelWorld(1);
      const dev = new SvmDevice(w, 'gpu0');
      const subs = w.mm.notifiers;
      const ctx = { seq: 0, retry: false };
      const reader = (function* (): Generator<AgentYield, void, void> {
        const during = subs.readBeginWouldWait(dev.notifier) && subs.isInvalidating();
        const seqAtEntry = subs.invalidateSeq;
        let slept = false;
        const steps = kernelSteps(w.k, 'mmu_interval_read_begin', mmuIntervalReadBeginSteps(dev.notifier));
        let r = steps.next();
        while (!r.done) {
          if (typeof r.value === 'object' && 'wait' in r.value) slept = true;
          yield r.value;
          r = steps.next();
        }
        ctx.seq = r.value;
        probes.push({
          during,
          slept,
          endedFirst: subs.invalidateSeq !== seqAtEntry,
          quiet: subs.activeInvalidateRanges === 0 && !subs.isInvalidating(),
        });
        yield { step: 'mmu_interval_read_begin returned', call: 'reader' };
        ctx.retry = dev.notifier.invalidateSeq !== ctx.seq;
        w.opDone();
      })();
      const unmapper = (function* (): Generator<AgentYield, void, void> {
        if (atomicMunmap) w.proc.munmap(w.va(0), PAGE_SIZE);
        else yield* kernelSteps(w.k, 'munmap', w.proc.munmapSteps(w.va(0), PAGE_SIZE));
        w.oracle[0] = 0;
        w.opDone();
        yield { step: 'munmap done', call: 'munmap' };
      })();
      return raceWorld(w, [agent('reader', ctx, reader), agent('cpu0', {}, unmapper)]);
    },
  };
}

describe('invalidations are steps: another agent runs between their start, callbacks and end', () => {
  it('the explorer reaches read_begin inside a munmap after the callback, and the reader sleeps until the end', () => {
    const probes: ReadBeginProbe[] = [];
    const r = explore(readBeginDuringMunmap(probes), { mode: 'exhaustive' });
    expect(r.verdict).toBe('clean');
    expect(r.coverage.complete).toBe(true);
    const inside = probes.filter((p) => p.during);
    expect(inside.length).toBeGreaterThan(0);
    // Every one of them slept, and returned only once the invalidation had ended.
    for (const p of inside) expect(p).toEqual({ during: true, slept: true, endedFirst: true, quiet: true });
    // Outside one (before the callback included: its seq is older than the mm's), it never sleeps.
    for (const p of probes.filter((q) => !q.during)) expect(p.slept).toBe(false);
  });

  it('the timeline: the reader sleeps in mmu_interval_read_begin_wait and cannot run until munmap ends', () => {
    const m = readBeginDuringMunmap([]);
    // cpu0: range start, gpu0's callback; the reader begins and sleeps.
    const r = replaySchedule(m, '110');
    const steps = r.replay!.steps.map((s) => `${s.agent} ${s.step}`);
    expect(steps.slice(0, 6)).toEqual([
      'cpu0 mmu_notifier_invalidate_range_start',
      'cpu0 mn_itree_invalidate 1/1',
      'reader sleep: mmu_interval_read_begin_wait',
      'cpu0 munmap done',
      'reader mmu_interval_read_begin returned',
      'reader done',
    ]);
    expect(r.replay!.steps[1]!.change).toContain('called back: gpu0');
    expect(r.replay!.steps[3]!.change).toContain('invalidation: gone');
    // Asleep, the reader is not a choice before the end.
    expect(() => replaySchedule(m, '1100')).toThrow(ScheduleError);
    expect(() => replaySchedule(m, '1100')).toThrow(/reader/);
  });

  it('with the munmap as one step (as before the split) no read_begin ever begins inside an invalidation', () => {
    const probes: ReadBeginProbe[] = [];
    const r = explore(readBeginDuringMunmap(probes, true), { mode: 'exhaustive' });
    expect(r.verdict).toBe('clean');
    expect(probes.length).toBeGreaterThan(0);
    expect(probes.filter((p) => p.during)).toEqual([]);
  });

  it('read-begin-nowait: a driver bug only split invalidations expose (clean when migrate_vma_setup is one step)', () => {
    const atomic = explore(readBeginNoWait('buggy', true), { mode: 'exhaustive' });
    expect(atomic.verdict).toBe('clean');
    expect(atomic.coverage.complete).toBe(true);
    const split = explore(readBeginNoWait('buggy'), { mode: 'exhaustive' });
    expect(split.verdict).toBe('notifier-contract');
    const steps = split.counterexample!.steps.map((s) => `${s.agent} ${s.step}`);
    // gpu0's read section begins after gpu1's invalidation called gpu0 back and before the
    // collection that ends it.
    const calledBack = steps.indexOf('gpu1.migrate mn_itree_invalidate 1/2');
    const collected = steps.indexOf('gpu1.migrate collected 1 of 1');
    const begins = steps
      .map((s, i) => (s === 'gpu0.bind mmu_interval_read_begin' ? i : -1))
      .filter((i) => i >= 0);
    expect(calledBack).toBeGreaterThanOrEqual(0);
    expect(begins.some((i) => i > calledBack && i < collected)).toBe(true);
    expect(split.counterexample!.violation.message).toMatch(/stale translation .* migration pfn/);
    // The same driver with mmu_interval_read_begin is clean over every interleaving.
    const fixed = explore(readBeginNoWait('fixed'), { mode: 'exhaustive' });
    expect(fixed.verdict).toBe('clean');
    expect(fixed.coverage.complete).toBe(true);
  });

  it('mmu_interval_notifier_remove inside a munmap sleeps until it ends, and its interval is never called once it returned', () => {
    // mm/mmu_notifier.c, mmu_interval_notifier_remove: a removal deferred while the sequence is
    // odd waits for mmu_interval_seq_released, so the caller may free the interval afterwards.
    let slept = 0;
    const m: RaceModel = {
      name: 'remove-during-munmap',
      description: 'mmu_interval_notifier_remove against a munmap of the interval',
      create() {
        const w = new KernelWorld(1);
        const dev = new SvmDevice(w, 'gpu0');
        const ctx = { removed: false, calls: -1 };
        const remover = (function* (): Generator<AgentYield, void, void> {
          const steps = kernelSteps(
            w.k,
            'mmu_interval_notifier_remove',
            mmuIntervalNotifierRemoveSteps(dev.notifier),
          );
          for (let r = steps.next(); !r.done; r = steps.next()) {
            slept++;
            yield r.value;
          }
          ctx.removed = true;
          ctx.calls = dev.invalidations;
          w.opDone();
          yield { step: 'removed', call: 'driver teardown' };
        })();
        const unmapper = (function* (): Generator<AgentYield, void, void> {
          yield* kernelSteps(w.k, 'munmap', w.proc.munmapSteps(w.va(0), PAGE_SIZE));
          w.oracle[0] = 0;
          w.opDone();
          yield { step: 'munmap done', call: 'munmap' };
        })();
        const notCalled: NamedInvariant = {
          name: 'removed-not-called',
          check: () =>
            ctx.removed && dev.invalidations !== ctx.calls
              ? 'an interval was called back after mmu_interval_notifier_remove returned'
              : null,
        };
        return raceWorld(w, [agent('remover', ctx, remover), agent('cpu0', {}, unmapper)], {
          invariants: [notCalled],
        });
      },
    };
    const r = explore(m, { mode: 'exhaustive' });
    expect(r.verdict).toBe('clean');
    expect(r.coverage.complete).toBe(true);
    expect(slept).toBeGreaterThan(0);
    const t = replaySchedule(m, '110');
    expect(t.replay!.steps.map((x) => `${x.agent} ${x.step}`).slice(0, 4)).toEqual([
      'cpu0 mmu_notifier_invalidate_range_start',
      'cpu0 mn_itree_invalidate 1/1',
      'remover sleep: mmu_interval_notifier_remove_wait',
      'cpu0 munmap done',
    ]);
  });
});
