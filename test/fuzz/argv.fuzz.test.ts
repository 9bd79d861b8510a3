/**
 * Command-line argument fuzzing (issue #12 item 8): random argv for every command (serve only
 * with --port values refused before it listens): known options with random values, unknown
 * options, missing and extra arguments, repeated options, empty strings, very long strings,
 * numbers in odd forms. Every case must exit 0, 1 or 2 (never an exception, exit 70 from the
 * binary), print no stack trace, say why on stderr when it exits 2, and leave the results
 * store byte for byte as it was unless the command stores runs and succeeded; no `-wal` or
 * `-shm` file is left beside it. Inputs are tiny and numbers that bound work are drawn small,
 * so a valid case runs in well under a second. The seed is in the test name; a failing case
 * prints its argv.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DESIGN_NAMES } from '../../src/designs/design.js';
import { ResultsStore } from '../../src/store/store.js';
import {
  bounded,
  cases,
  expectCleanMessage,
  prng,
  type Rng,
  seed,
  sha256,
  show,
  storeState,
} from './harness.js';
import { writeTinyScenarios } from './scenarios.js';

const CASES = cases('ARGV', 600);
const SEED = seed(0xa26f022);

type Kind =
  | 'flag'
  | 'scenario'
  | 'sweep'
  | 'race'
  | 'db'
  | 'outFile'
  | 'outDir'
  | 'design'
  | 'designs'
  | 'seed'
  | 'ids'
  | 'small'
  | 'size'
  | 'work'
  | 'profile'
  | 'set'
  | 'shard'
  | 'jobs'
  | 'port'
  | 'text'
  | 'schedule'
  | 'filter'
  | 'variant'
  | 'scenarioOrIds';

interface CommandSpec {
  positional: Kind[];
  variadic?: Kind;
  options: [string, Kind][];
  /** Stores runs when it succeeds (with its store, not --no-store). */
  stores: boolean;
}

const SCENARIO_OPTIONS: [string, Kind][] = [
  ['--seed', 'seed'],
  ['--set', 'set'],
  ['--profile', 'profile'],
  ['--max-file-size', 'size'],
  ['--max-work', 'work'],
];
const COMMANDS: Record<string, CommandSpec> = {
  selftest: {
    positional: [],
    options: [
      ['--json', 'flag'],
      ['--filter', 'filter'],
      ['--variant', 'variant'],
    ],
    stores: false,
  },
  run: {
    positional: ['scenario'],
    options: [
      ['--design', 'design'],
      ...SCENARIO_OPTIONS,
      ['--json', 'flag'],
      ['--db', 'db'],
      ['--no-store', 'flag'],
    ],
    stores: true,
  },
  compare: {
    positional: ['scenario'],
    options: [
      ['--runs', 'ids'],
      ['--designs', 'designs'],
      ...SCENARIO_OPTIONS,
      ['--json', 'flag'],
      ['--db', 'db'],
      ['--no-store', 'flag'],
    ],
    stores: true,
  },
  report: {
    positional: ['scenarioOrIds'],
    options: [
      ['--designs', 'designs'],
      ...SCENARIO_OPTIONS,
      ['-o', 'outDir'],
      ['--output', 'outDir'],
      ['--png', 'flag'],
      ['--db', 'db'],
      ['--no-store', 'flag'],
    ],
    stores: true,
  },
  trace: {
    positional: ['scenario'],
    options: [['-o', 'outFile'], ['--output', 'outFile'], ['--design', 'design'], ...SCENARIO_OPTIONS],
    stores: false,
  },
  sweep: {
    positional: ['sweep'],
    options: [
      ['--jobs', 'jobs'],
      ['--shard', 'shard'],
      ['--db', 'db'],
      ['--no-resume', 'flag'],
      ['--profile', 'profile'],
      ['--json', 'flag'],
      ['--max-file-size', 'size'],
      ['--max-work', 'work'],
    ],
    stores: true,
  },
  merge: {
    positional: ['db'],
    variadic: 'db',
    options: [
      ['--json', 'flag'],
      ['--salvage', 'flag'],
    ],
    stores: true,
  },
  runs: {
    positional: [],
    options: [
      ['--db', 'db'],
      ['--scenario', 'text'],
      ['--design', 'design'],
      ['--json', 'flag'],
    ],
    stores: false,
  },
  explore: {
    positional: ['race'],
    options: [
      ['--exhaustive', 'flag'],
      ['--random', 'small'],
      ['--seed', 'seed'],
      ['--max-states', 'small'],
      ['--max-depth', 'small'],
      ['--replay', 'schedule'],
      ['--trace', 'outFile'],
      ['--json', 'flag'],
      ['--db', 'db'],
      ['--no-store', 'flag'],
      ['--expect', 'flag'],
      ['--no-shrink', 'flag'],
      ['--max-file-size', 'size'],
    ],
    stores: true,
  },
  schema: { positional: [], options: [], stores: false },
  serve: {
    positional: [],
    options: [
      ['--db', 'db'],
      ['--port', 'port'],
    ],
    stores: false,
  },
};

const ODD_NUMBERS = [
  '',
  ' ',
  '0',
  '-0',
  '-1',
  '1.5',
  '1e3',
  '1e21',
  '0x10',
  '0o7',
  '0b1',
  '+1',
  '01',
  '1_000',
  '9007199254740993',
  'NaN',
  'Infinity',
  '-Infinity',
  '١',
  '１',
  '1 ',
  ' 1',
  '1\t',
  '1,2',
  '1/2',
  '2^10',
  '9'.repeat(400),
  '-',
  '=',
];
const LONG = ['x'.repeat(5000), 'é'.repeat(3000), '--'.repeat(2000), `${'a/'.repeat(2000)}b`];
const UNKNOWN = [
  '--bogus',
  '--dbb',
  '-x',
  '-',
  '--',
  '---',
  '--json=1',
  '--no-json',
  '--set',
  '--db',
  '-o',
  '--help-me',
  '--SEED',
  '-vv',
  '--=',
  '--no-',
  '—db',
];

describe('command-line argument fuzzing', () => {
  it(`every command: ${CASES} random argv exit 0, 1 or 2 (explore: 3 when inconclusive) with no stack trace and the store as it was, seed 0x${SEED.toString(16)}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hmmlab-argv-fuzz-'));
    const tiny = writeTinyScenarios(dir);
    const cwd = join(dir, 'cwd');
    mkdirSync(cwd);
    mkdirSync(join(dir, 'store'));
    mkdirSync(join(dir, 'out'));
    const db = join(dir, 'store', 'results.db');
    const repo = process.cwd();
    const race = (f: string) => resolve(repo, 'scenarios/races', f);
    const sweep = join(dir, 'sweep.yaml');
    writeFileSync(sweep, 'version: 1\nscenario: tiny-processes.yaml\ndesigns: [upstream, pagemap-p2p]\n');
    const textFile = join(dir, 'notes.txt');
    writeFileSync(textFile, 'not a store\n');
    const empty = join(dir, 'empty.yaml');
    writeFileSync(empty, '');
    const binary = join(dir, 'binary.yaml');
    writeFileSync(binary, Buffer.from([0xff, 0xfe, 0, 1, 2, 0x80]));

    // A store holding runs of the tiny scenarios (ids 1 to 4), and a copy for merge inputs.
    for (const args of [
      ['run', tiny.full, '--db', db],
      ['run', tiny.processes, '--db', db],
      ['compare', tiny.processes, '--designs', 'upstream,pagemap-p2p', '--db', db],
    ]) {
      const r = await bounded(() => args.join(' '), ...args);
      expect(r.code, r.err).toBe(0);
    }
    const other = join(dir, 'other.db');
    copyFileSync(db, other);
    expect(storeState(db).runs).toHaveLength(4);

    let mergeOut = 0;
    const value = (kind: Kind, rng: Rng): string => {
      const roll = rng.next();
      // A selftest filter stays narrow: an empty or broad one runs every selftest (twenty seconds).
      if (kind !== 'filter' && roll < 0.08) return rng.pick(ODD_NUMBERS);
      if (kind !== 'filter' && roll < 0.11) return rng.pick(LONG);
      switch (kind) {
        case 'scenario':
          return rng.pick([
            tiny.full,
            tiny.processes,
            tiny.processes,
            join(dir, 'missing.yaml'),
            dir,
            sweep,
            race('skip-read-retry-fixed.yaml'),
            empty,
            binary,
            '1',
            'scenarios/nope.yaml',
          ]);
        case 'scenarioOrIds':
          return rng.pick([
            tiny.processes,
            tiny.full,
            '1',
            '3,4',
            '1,2',
            '99',
            '0',
            '1,,2',
            '3,3',
            join(dir, 'missing.yaml'),
            sweep,
          ]);
        case 'sweep':
          return rng.pick([
            sweep,
            sweep,
            tiny.full,
            join(dir, 'missing.yaml'),
            race('skip-read-retry-fixed.yaml'),
            empty,
            dir,
          ]);
        case 'race':
          return rng.pick([
            race('skip-read-retry-fixed.yaml'),
            race('skip-read-retry-buggy.yaml'),
            race('multi-device-migrate-buggy.yaml'),
            tiny.full,
            sweep,
            join(dir, 'missing.yaml'),
            empty,
            binary,
          ]);
        case 'db':
          return rng.pick([
            db,
            db,
            db,
            db,
            other,
            join(dir, 'nowhere', 'results.db'),
            textFile,
            dir,
            join(dir, `merged-${mergeOut++}.db`),
            '',
            ':memory:',
          ]);
        case 'outFile':
          return rng.pick([
            join(dir, 'out', 'trace.json'),
            join(dir, 'out'),
            join(dir, 'missing-dir', 'x', 'trace.json'),
            textFile,
            '',
            db,
          ]);
        case 'outDir':
          return rng.pick([
            join(dir, 'out', 'report'),
            join(dir, 'out', 'deep', 'a'),
            textFile,
            '',
            db,
            join(dir, 'store'),
          ]);
        case 'design':
          return rng.pick([...DESIGN_NAMES, 'bogus', 'Upstream', 'upstream ', '']);
        case 'designs':
          return rng.pick([
            ...DESIGN_NAMES,
            'upstream,pagemap-p2p',
            'bogus',
            '',
            ',',
            'upstream,',
            'upstream,upstream',
            'all',
          ]);
        case 'seed':
          return rng.pick(['1', '2', '42', '0', '9007199254740991', '9007199254740992', '-1', '1.0', 'seed']);
        case 'ids':
          return rng.pick(['1', '1,2', '3,4', '4,3', '99', '0', '', '1,,2', '2,2', 'a', ' 1']);
        case 'small':
          return rng.pick(['1', '2', '3', '10', '50', '0', '-1', '1.5', 'many']);
        case 'size':
          return rng.pick([
            '1MiB',
            '2MiB',
            '64KiB',
            '1KiB',
            '10B',
            '0',
            '-1MiB',
            'huge',
            '1GB',
            '1e3',
            '1.5MiB',
          ]);
        case 'work':
          return rng.pick([
            '20000',
            '100',
            '1',
            'unlimited',
            ' unlimited',
            '0',
            '-1',
            '1.5',
            'lots',
            '1e5',
            '',
          ]);
        case 'profile':
          return rng.pick([
            'pcie5-h100',
            'gh200-c2c',
            'pcie4-a100',
            resolve(repo, 'profiles/pcie4-a100.yaml'),
            'bogus',
            join(dir, 'missing.yaml'),
            tiny.full,
            textFile,
            '',
          ]);
        case 'set':
          // Values that cannot make the work large (the --set fuzzer covers values at large).
          return rng.pick([
            'platform.cpuCores=2',
            'thp=never',
            'cpuCores=0',
            'buffers.x.size=4097',
            'bogus=1',
            '=1',
            'x',
            '',
            'platform.ram=1GiB',
            'devices.gpus.gpu0.vram=bad',
            'seed=3',
            'a.b.c=',
          ]);
        case 'shard':
          return rng.pick(['1/1', '1/2', '2/2', '0/2', '3/2', '1/0', 'a/b', '1', '', '1/2/3', '01/2']);
        case 'jobs':
          return rng.pick(['1', '2', '0', '-1', '1.5', '99999', 'auto', '']);
        case 'port':
          // Only values refused before serve listens.
          return rng.pick(['', '-1', '65536', 'http', '1.5', '0x50', '99999', 'eighty', '80 80', ' ']);
        case 'schedule':
          return rng.pick(['', '0', '0,1,0', '0.1', 'garbage', '9'.repeat(100), '0,'.repeat(500)]);
        case 'filter':
          // Never empty or broad: every selftest would run (twenty seconds).
          return rng.pick([
            'anon_read',
            'hmm.open_close',
            'no-such-test',
            'anon_write_huge',
            'hmm2.migrate_anon',
          ]);
        case 'variant':
          return rng.pick(['private', 'coherent', 'both', '', 'Private']);
        case 'text':
          return rng.pick(['tiny-full', 'tiny-processes', 'nope', '', '%', "'; DROP TABLE runs; --", 'é']);
        default:
          return 'x';
      }
    };

    /** An argv for `name`, with some damage. */
    const argvFor = (name: string, rng: Rng): string[] => {
      const spec = COMMANDS[name]!;
      const args: string[] = [name];
      for (const k of spec.positional) if (rng.next() < 0.92) args.push(value(k, rng));
      if (spec.variadic !== undefined)
        for (let n = rng.int(3); n > 0; n--) args.push(value(spec.variadic, rng));
      const options = [...spec.options];
      for (let n = rng.int(4); n > 0 && options.length > 0; n--) {
        const [flag, kind] = rng.pick(options);
        if (name === 'serve' && flag !== '--port') continue;
        if (kind === 'flag') args.push(flag);
        else if (rng.next() < 0.1) args.push(`${flag}=${value(kind, rng)}`);
        else args.push(flag, value(kind, rng));
      }
      if (name === 'serve' && !args.includes('--port')) args.push('--port', value('port', rng));
      if (name === 'selftest' && !args.includes('--filter')) args.push('--filter', value('filter', rng));
      // Damage: an unknown option, an extra argument, a dropped last word, a repeated option.
      const damage = rng.int(10);
      if (damage === 0) args.splice(1 + rng.int(args.length), 0, rng.pick(UNKNOWN));
      else if (damage === 1) args.push(rng.pick(['extra', '', '1', ...LONG.slice(0, 1)]));
      else if (damage === 2 && args.length > 1) args.pop();
      else if (damage === 3 && args.length > 2) args.push(...args.slice(-2));
      return args;
    };

    const rng = prng(SEED);
    const names = Object.keys(COMMANDS);
    const byCode = { 0: 0, 1: 0, 2: 0, 3: 0 } as Record<number, number>;
    let unguarded = 0;
    const before = process.cwd();
    process.chdir(cwd);
    try {
      for (let i = 0; i < CASES; i++) {
        const name = rng.pick(names);
        const args = argvFor(name, rng);
        // serve and selftest need their guards whatever the damage did.
        const serveUnguarded = name === 'serve' && (!args.includes('--port') || args.at(-1) === '--port');
        if (
          serveUnguarded ||
          (name === 'selftest' && (!args.includes('--filter') || args.at(-1) === '--filter'))
        ) {
          unguarded++;
          continue;
        }
        const hashBefore = sha256(db);
        const context = () => `case ${i} of seed 0x${SEED.toString(16)}: hmmlab ${show(args)}`;
        // Sweep workers load tsx from the working directory when they run TypeScript (not
        // from dist/): a sweep runs from the repository, with a --db when it names none.
        if (name === 'sweep') {
          process.chdir(repo);
          if (!args.some((a) => a === '--db' || a.startsWith('--db=')))
            args.push('--db', join(dir, 'default.db'));
        }
        let r: Awaited<ReturnType<typeof bounded>>;
        try {
          r = await bounded(context, ...args);
        } finally {
          process.chdir(cwd);
        }
        const where = `${context()}\nexit ${r.code}\nstderr:\n${r.err.slice(0, 2000)}`;
        // explore exits 3 when a bound (--max-states, --max-depth) cut its search short.
        expect(name === 'explore' ? [0, 1, 2, 3] : [0, 1, 2], where).toContain(r.code);
        byCode[r.code]!++;
        expectCleanMessage(r.err, where);
        if (r.code === 2) {
          expect(r.err.trim().length, where).toBeGreaterThan(0);
          expect(sha256(db), `exit 2 changed the store: ${where}`).toBe(hashBefore);
        }
        const usesMain =
          args.includes(db) || args.includes(`--db=${db}`) || (name === 'merge' && args[1] === db);
        const mayStore = COMMANDS[name]!.stores && !args.includes('--no-store') && r.code !== 2;
        if (!(usesMain && mayStore)) expect(sha256(db), `the store changed: ${where}`).toBe(hashBefore);
        // No -wal, -shm or -journal file left beside the store (`report -o` may write its
        // files into the store's folder: that is what it was told).
        expect(
          readdirSync(join(dir, 'store')).filter((f) => f.startsWith('results.db')),
          where,
        ).toEqual(['results.db']);
        if (sha256(db) !== hashBefore) expect(storeState(db).check, where).toBe('ok');
      }
    } finally {
      process.chdir(before);
    }
    console.log(
      `argv fuzz: ${CASES} cases (${unguarded} skipped: serve or selftest lost its guard), exit 0: ${byCode[0]}, exit 1: ${byCode[1]}, exit 2: ${byCode[2]}, exit 3: ${byCode[3]}`,
    );
    expect(byCode[2]).toBeGreaterThan(CASES / 4);
    expect(byCode[0]).toBeGreaterThan(CASES / 20);
    const s = ResultsStore.open(db, { readOnly: true });
    expect(s.integrityCheck()).toBe('ok');
    s.close();
  }, 600_000);
});
