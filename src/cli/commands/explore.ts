/**
 * `hmmlab explore <race.yaml>`: explores a race file and prints the coverage, or the
 * counterexample found (shrunk) as a timeline with the schedule string that replays it. Exit
 * codes (EXIT_CODES_HELP): 0 clean, 1 a counterexample (a crash included), 2 bad input, 3
 * inconclusive (a bound stopped the search before it covered everything).
 */
import { writeFileSync } from 'node:fs';
import Table from 'cli-table3';
import type { Command } from 'commander';
import {
  explore,
  ModelError,
  modelInvariants,
  type RaceModel,
  replaySchedule,
  ScheduleError,
} from '../../explore/explorer.js';
import { ExploreInputError, raceModelOf } from '../../explore/race-model.js';
import { EXPECTABLE, loadRaceFile, type RaceFile } from '../../explore/scenario.js';
import { counterexampleTrace } from '../../explore/trace.js';
import type { ExploreResult, ExploreStep } from '../../explore/types.js';
import { formatScenarioError } from '../../scenario/load.js';
import { readInputFile } from '../../scenario/read.js';
import { checkStoreFile } from '../../store/file-check.js';
import { DEFAULT_DB_PATH, ResultsStore, SCHEMA_VERSION } from '../../store/store.js';
import { jsonOption, maxFileSizeOption, storeOptions } from '../common-options.js';
import type { CliContext } from '../context.js';
import { parseCount, parseMaxFileSize, parseSeed } from '../options.js';
import { checkOutputFile } from '../output-paths.js';
import { NO_ROW_RULES } from '../table.js';

interface ExploreCliOptions {
  exhaustive?: boolean;
  random?: string;
  seed?: string;
  maxStates?: string;
  maxDepth?: string;
  replay?: string;
  json?: boolean;
  trace?: string;
  db?: string;
  store?: boolean;
  /** Exit 0 when the verdict is the one the file's `expect:` names, 1 when not, 3 when inconclusive. */
  expect?: boolean;
  /** False with --no-shrink: keep the counterexample as found. */
  shrink?: boolean;
  /** The largest race file read (a size, default 1MiB). */
  maxFileSize?: string;
}

/** A count option (strict: see src/cli/options.ts), undefined when not given. */
function countOption(flag: string, v: string | undefined): number | undefined {
  return v === undefined ? undefined : parseCount(flag, v);
}

/** Exit codes of `hmmlab explore` (also in its --help and docs/explorer.md). */
export const EXIT_CODES_HELP = `Exit codes:
  0  clean: no invariant failed, and the search covered every interleaving within the bounds
     (exhaustive) or ran every schedule to its end (random); a replay in which nothing failed
  1  a counterexample (an invariant failed, or an agent threw: crash); with --expect, a verdict
     other than the file's expect:
  2  bad input (the race file, an option, a schedule that cannot run or is longer than the run,
     a model that cannot be explored as written)
  3  inconclusive: nothing failed, but --max-states or --max-depth stopped the search before it
     covered everything (with --expect too: raise the bound to decide)`;

async function exploreCommand(file: string, opts: ExploreCliOptions, version: string): Promise<number> {
  const read = readInputFile(file, parseMaxFileSize(opts.maxFileSize));
  if (!read.ok) throw new ExploreInputError(read.message);
  const text = read.text;
  const loaded = loadRaceFile(text, file);
  if (!loaded.ok) throw new ExploreInputError(loaded.errors.map(formatScenarioError).join('\n'));
  const race = loaded.race;
  if (opts.exhaustive && opts.random !== undefined)
    throw new ExploreInputError('give --exhaustive or --random <n>, not both');
  if (opts.replay !== undefined) {
    const other = [
      opts.exhaustive ? '--exhaustive' : null,
      opts.random !== undefined ? '--random' : null,
      opts.seed !== undefined ? '--seed' : null,
      opts.maxStates !== undefined ? '--max-states' : null,
      opts.shrink === false ? '--no-shrink' : null,
    ].filter((x) => x !== null);
    if (other.length > 0)
      throw new ExploreInputError(
        `--replay runs one schedule: ${other.join(', ')} ${other.length === 1 ? 'does' : 'do'} not apply to it`,
      );
  }
  const runs = countOption('--random', opts.random);
  const maxStates = countOption('--max-states', opts.maxStates);
  const maxDepthOpt = countOption('--max-depth', opts.maxDepth);
  const seedOpt = opts.seed === undefined ? undefined : parseSeed('--seed', opts.seed);
  if (opts.trace !== undefined) checkOutputFile('--trace', opts.trace);
  const model = await raceModelOf(race, file);
  if (race.expect !== undefined && !EXPECTABLE.includes(race.expect)) {
    let own: string[];
    try {
      own = modelInvariants(model);
    } catch (e) {
      if (e instanceof ModelError) throw new ExploreInputError(`${file}: ${e.message}`);
      throw e;
    }
    if (!own.includes(race.expect))
      throw new ExploreInputError(
        `${file}: expect: '${race.expect}' is not clean, a built-in invariant (${EXPECTABLE.slice(1).join(', ')}) or one the model declares (${own.length > 0 ? own.join(', ') : 'none'})`,
      );
  }
  const fromFile = race.explore ?? {};
  const mode = opts.exhaustive
    ? 'exhaustive'
    : runs !== undefined
      ? 'random'
      : (fromFile.mode ?? 'exhaustive');
  const maxStatesAll = maxStates ?? fromFile.maxStates;
  const maxDepth = maxDepthOpt ?? fromFile.maxDepth;
  const seed = seedOpt ?? fromFile.seed;
  let result: ExploreResult;
  let wallMs: number;
  const t0 = performance.now();
  try {
    if (opts.replay !== undefined) {
      result = replaySchedule(model, opts.replay, {
        ...(fromFile.maxOpSteps !== undefined ? { maxOpSteps: fromFile.maxOpSteps } : {}),
        ...(maxDepth !== undefined ? { maxDepth } : {}),
      });
    } else {
      result = explore(model, {
        mode,
        ...(runs !== undefined ? { runs } : fromFile.runs !== undefined ? { runs: fromFile.runs } : {}),
        ...(seed !== undefined ? { seed } : {}),
        ...(maxStatesAll !== undefined ? { maxStates: maxStatesAll } : {}),
        ...(maxDepth !== undefined ? { maxDepth } : {}),
        ...(fromFile.maxOpSteps !== undefined ? { maxOpSteps: fromFile.maxOpSteps } : {}),
        ...(opts.shrink === false ? { shrink: false } : {}),
      });
    }
  } catch (e) {
    if (e instanceof ScheduleError) throw new ExploreInputError(`--replay: ${e.message}`);
    if (e instanceof ModelError) throw new ExploreInputError(`${file}: ${e.message}`);
    throw e;
  }
  wallMs = performance.now() - t0;
  const verdict =
    result.verdict ?? (result.counterexample ? result.counterexample.violation.invariant : 'clean');

  if (opts.store !== false && opts.replay === undefined) {
    const store = ResultsStore.open(opts.db);
    try {
      store.saveExploration({
        scenarioName: race.name,
        scenarioText: text,
        hmmlabVersion: version,
        startedAt: new Date().toISOString(),
        result,
      });
    } finally {
      store.close();
    }
  }
  if (opts.trace !== undefined && result.counterexample) {
    try {
      writeFileSync(opts.trace, `${JSON.stringify(counterexampleTrace(result))}\n`);
    } catch (e) {
      throw new ExploreInputError(
        `cannot write ${opts.trace}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
  }
  if (opts.json) {
    process.stdout.write(
      `${JSON.stringify({ ...result, expected: race.expect ?? null, wallMs: Math.round(wallMs) }, null, 2)}\n`,
    );
  } else {
    printResult(result, race, model, file, wallMs);
  }
  if (race.expect !== undefined && opts.replay === undefined && !opts.json) {
    if (verdict === 'inconclusive')
      process.stdout.write(`note: ${file} expects ${race.expect}; this exploration was inconclusive\n`);
    else if (race.expect !== verdict)
      process.stdout.write(`note: ${file} expects ${race.expect}, this exploration found ${verdict}\n`);
    else if (opts.expect) process.stdout.write(`as expected: ${verdict}\n`);
  }
  if (opts.expect) {
    if (race.expect === undefined) throw new ExploreInputError(`--expect: ${file} has no 'expect:' verdict`);
    if (race.expect === verdict) return 0;
    return verdict === 'inconclusive' ? 3 : 1;
  }
  return result.counterexample ? 1 : verdict === 'inconclusive' ? 3 : 0;
}

/** The steps of a run as a table; steps from `cycle` on are marked as repeating. */
function timeline(steps: readonly ExploreStep[], cycle: number | undefined): string {
  const table = new Table({
    head: ['#', 'agent', 'step', 'call', 'state change'],
    style: { head: [], border: [] },
    chars: NO_ROW_RULES,
    colWidths: [5, 16, 34, 26, 60],
    wordWrap: true,
  });
  for (const s of steps)
    table.push([
      `${cycle !== undefined && s.index >= cycle ? '↻' : ''}${s.index}`,
      s.agent,
      s.step,
      s.call,
      s.change,
    ]);
  return table.toString();
}

function printResult(r: ExploreResult, race: RaceFile, model: RaceModel, file: string, wallMs: number): void {
  const c = r.coverage;
  const out = process.stdout;
  out.write(`${race.name}: ${race.description ?? model.description}\n`);
  out.write(`agents: ${r.agents.map((a, i) => `${i}=${a}`).join(' ')}\n`);
  const cx = r.counterexample;
  const rp = r.replay;
  if (rp) {
    out.write(`replay: ${rp.steps.length} steps, ${(wallMs / 1000).toFixed(2)} s\n`);
    if (rp.continued)
      out.write(
        `schedule ends after ${plural(rp.given, 'step')}; continued with the default choice (the lowest-numbered agent that can run) for ${rp.steps.length - rp.given} more\n`,
      );
    out.write(`${timeline(rp.steps, cx?.violation.cycleStart)}\n`);
    if (rp.stopped === 'max-depth')
      out.write(`stopped at ${rp.steps.length} steps (--max-depth) before every agent finished\n`);
    else if (rp.stopped === 'cycle')
      out.write(
        'stopped: the default choice came back to a state it had left and would repeat it forever (not a livelock: the cycle is not weakly fair, or an operation finishes in it)\n',
      );
  } else {
    out.write(
      `${r.mode}: ${c.states} states, ${c.transitions} steps, ${c.pruned} revisits pruned, ${c.reduced} local steps merged, ` +
        `depth ${c.maxDepth}, ${c.schedules} complete schedules, ${(wallMs / 1000).toFixed(2)} s` +
        (r.mode === 'exhaustive'
          ? c.complete
            ? ' (every interleaving within the bounds)'
            : ` (stopped at ${c.boundHit})`
          : '') +
        '\n',
    );
  }
  if (!cx) {
    if (!rp && r.verdict === 'inconclusive') {
      out.write(`INCONCLUSIVE: ${inconclusive(r)}\n`);
      return;
    }
    out.write(rp?.stopped ? 'no invariant failed in the steps run\n' : 'no invariant failed\n');
    if (rp) out.write(`schedule: ${rp.schedule}\n`);
    return;
  }
  const cycle = cx.violation.cycleStart;
  if (!rp) {
    out.write(`${timeline(cx.steps, cycle)}\n`);
    out.write(`${howShort(r)}\n`);
  }
  out.write(
    `VIOLATION ${cx.violation.invariant}${cx.violation.custom ? ' (an invariant of the model)' : ''}: ${cx.violation.message}\n`,
  );
  if (cycle !== undefined) out.write(`steps marked ↻ (from #${cycle}) repeat forever\n`);
  out.write(`schedule: ${cx.schedule}\nreplay:   hmmlab explore ${file} --replay ${cx.schedule}\n`);
}

/** What an inconclusive search covered, and which bound stopped it. */
function inconclusive(r: ExploreResult): string {
  const c = r.coverage;
  const b = r.bounds;
  const cut =
    c.depthCut !== undefined
      ? `${plural(c.depthCut, r.mode === 'random' ? 'schedule' : 'path')} cut at --max-depth ${b?.maxDepth ?? '?'}`
      : '';
  const what =
    r.mode === 'random'
      ? `no invariant failed in ${plural(c.schedules, 'random schedule')} (${plural(c.states, 'state')}, depth ${c.maxDepth} reached), but ${cut}`
      : c.boundHit === 'max-states'
        ? `no invariant failed in the ${plural(c.states, 'state')} searched (depth ${c.maxDepth} reached), but the search stopped at --max-states ${b?.maxStates ?? '?'} before it covered every interleaving${cut ? `, and ${cut}` : ''}`
        : `no invariant failed in the ${plural(c.states, 'state')} searched (depth ${c.maxDepth} reached), but ${cut}: what lies beyond was not explored`;
  return `${what}. Raise the bound to decide (exit 3).`;
}

/** How the counterexample came to be this short. */
function howShort(r: ExploreResult): string {
  const cx = r.counterexample!;
  const n = cx.steps.length;
  const first = r.mode === 'random' ? 'first found by a random schedule' : 'first found';
  const sh = cx.shrink;
  if (!sh) return `counterexample: ${first}, ${plural(n, 'step')} (not shrunk)`;
  if (n === sh.from)
    return `counterexample: ${first}, ${plural(n, 'step')}; shrinking found nothing shorter (${plural(sh.tries, 'replay')}${sh.minimal ? ', no single step can be removed' : ', budget spent'})`;
  return `counterexample: ${first} with ${plural(sh.from, 'step')}, shrunk to ${plural(n, 'step')} (${plural(sh.tries, 'replay')}${sh.minimal ? '; no single step can be removed' : '; budget spent, may shrink further'}); not necessarily the shortest of all`;
}

/** "1 step", "2 steps". */
function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Adds `hmmlab explore` to `program`. */
export function registerExplore(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('explore <race>')
    .description(
      'explore the interleavings of a race file (scenarios/races/) and check the mmu-notifier contract, data, revoked pagemaps, quiescence and progress',
    )
    .option('--exhaustive', 'every interleaving within the bounds (the default)')
    .option('--random <n>', 'n seeded random interleavings instead')
    .option('--seed <n>', 'seed of --random (default 1)')
    .option('--max-states <n>', 'stop after this many distinct states (default 100000)')
    .option('--max-depth <n>', 'longest schedule explored (default 400)')
    .option('--replay <schedule>', 'replay one schedule string and print its timeline, failing or not')
    .option('--no-shrink', 'keep the counterexample as first found instead of shrinking it')
    .option('--trace <file>', 'write the counterexample as Chrome trace-event JSON');
  jsonOption(cmd, 'print the result as JSON');
  storeOptions(cmd, 'do not save the result in the results store');
  cmd.option(
    '--expect',
    "exit 0 when the verdict is the file's `expect:` (a counterexample included), 3 when inconclusive, 1 otherwise",
  );
  maxFileSizeOption(cmd);
  cmd.addHelpText('after', `\n${EXIT_CODES_HELP}\n`);
  cmd.action(async (file: string, opts: ExploreCliOptions) => {
    // A store that will be refused is refused before the exploration, not after it.
    if (opts.store !== false && opts.replay === undefined) {
      checkStoreFile(opts.db ?? DEFAULT_DB_PATH, SCHEMA_VERSION, { quickCheck: true });
    }
    ctx.exitCode = await exploreCommand(file, opts, ctx.version);
  });
}
