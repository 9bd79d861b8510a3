/**
 * Option values and output paths are parsed strictly: each bad one exits 2 at once with one line
 * naming the option and the value, no stack trace, and nothing simulated or written.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tinyGpu } from '../fixtures/scenarios.js';
import { cli } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'hmmlab-strict-'));
const db = join(dir, 'never.db');
const SCENARIO = 'scenarios/rdma-into-gpu.yaml';
const RACE = 'scenarios/races/skip-read-retry-fixed.yaml';

/** Runs the CLI and checks the one-line exit-2 answer that names `option` and `value`. */
async function refuses(args: string[], option: string, value: string, extra?: RegExp): Promise<string> {
  const r = await cli(...args);
  const what = args.join(' ');
  expect(r.code, what).toBe(2);
  expect(r.out, what).toBe('');
  expect(r.err, what).toMatch(/^hmmlab: [^\n]+\n$/);
  expect(r.err, what).toContain(option);
  expect(r.err, what).toContain(`'${value}'`);
  expect(r.err, what).not.toMatch(/\n\s+at /);
  if (extra) expect(r.err, what).toMatch(extra);
  // Nothing ran: the store a run would have written does not exist.
  expect(existsSync(db), what).toBe(false);
  return r.err;
}

describe('seeds: decimal integers from 0 to 2^53 - 1', () => {
  for (const bad of ['', '0x1', '1e1', '-1', '+1', '1.5', ' 1', '01', '9007199254740992', 'one']) {
    it(`--seed '${bad}' is refused`, async () => {
      await refuses(['run', SCENARIO, '--seed', bad, '--db', db], '--seed', bad);
      await refuses(['explore', RACE, '--random', '2', '--seed', bad, '--db', db], '--seed', bad);
    });
  }
  it('the largest seed is accepted (explore --random, no store)', async () => {
    const r = await cli('explore', RACE, '--random', '1', '--seed', '9007199254740991', '--no-store');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('run ids: positive decimal integers, comma-separated; an empty list or item or a duplicate is an error', () => {
  for (const bad of ['0x1', '1e1', '0', '-1', '1.0']) {
    it(`--runs '${bad}' is refused`, async () => {
      await refuses(['compare', '--runs', bad, '--db', db], '--runs', bad, /run ids/);
    });
  }
  it('an empty list, an empty item and a duplicate are refused, naming the item', async () => {
    await refuses(['compare', '--runs', '', '--db', db], '--runs', '');
    await refuses(['compare', '--runs', '1,,5', '--db', db], '--runs', '1,,5', /item 2 of '1,,5' is empty/);
    await refuses(['compare', '--runs', '1,', '--db', db], '--runs', '1,', /item 2 of '1,' is empty/);
    await refuses(['compare', '--runs', ',1', '--db', db], '--runs', ',1', /item 1 of ',1' is empty/);
    await refuses(['compare', '--runs', '1,5,5', '--db', db], '--runs', '1,5,5', /5 is listed twice/);
    await refuses(
      ['compare', '--runs', '1,0x1', '--db', db],
      '--runs',
      '0x1',
      /'1,0x1' is not a run id list: '0x1' is not a run id/,
    );
  });
  it('blanks, signs and ids past 2^53 - 1 are refused (a leading blank used to be accepted)', async () => {
    for (const bad of [' 1', '1 ', '1, 2', '+1', '9007199254740992', '\t1'])
      await refuses(['compare', '--runs', bad, '--db', db], '--runs', JSON.stringify(bad).slice(1, -1));
  });
  it('report takes run ids as its argument with the same rules', async () => {
    const out = join(dir, 'report-ids');
    await refuses(['report', '1,,2', '-o', out, '--db', db], 'report <run ids>', '1,,2', /item 2/);
    await refuses(['report', '3,3', '-o', out, '--db', db], 'report <run ids>', '3,3', /3 is listed twice/);
    expect(existsSync(out)).toBe(false);
  });
  it('report: what looks like run ids but is not is "not a run id list", not a missing file', async () => {
    const out = join(dir, 'report-not-ids');
    // These used to be looked for as scenario files ("cannot read 0x1: ENOENT").
    for (const bad of ['0x1', '1e1', '1-3', ' 1', '+1', '1.5', '1,2x', '9007199254740992']) {
      await refuses(
        ['report', bad, '-o', out, '--db', db],
        'report <run ids>',
        bad,
        /is not a run id list: .*; nor is it a file\n$/,
      );
    }
    const range = await refuses(['report', '1-3', '-o', out, '--db', db], 'report <run ids>', '1-3');
    expect(range).toContain('ranges are not taken: list them (1,2,3)');
    expect(existsSync(out)).toBe(false);
    // A scenario file name is still a file name, even one that starts with a digit.
    const r = await cli('report', '7.yaml', '-o', out, '--db', db);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cannot read 7\.yaml/);
    expect(r.err).not.toMatch(/run id/);
  });
});

describe('designs: each a known design, with a did-you-mean', () => {
  it('--designs "" runs nothing (it used to run all five)', async () => {
    await refuses(['compare', SCENARIO, '--designs', '', '--db', db], '--designs', '');
  });
  it('an empty item, an unknown design and a duplicate are refused', async () => {
    await refuses(
      ['compare', SCENARIO, '--designs', 'upstream,', '--db', db],
      '--designs',
      'upstream,',
      /item 2/,
    );
    await refuses(
      ['compare', SCENARIO, '--designs', 'upstream,pagemap-p2q', '--db', db],
      '--designs',
      'pagemap-p2q',
      /did you mean 'pagemap-p2p'/,
    );
    await refuses(
      ['report', SCENARIO, '--designs', 'upstream,upstream', '-o', join(dir, 'rep'), '--db', db],
      '--designs',
      'upstream,upstream',
      /upstream is listed twice/,
    );
  });
  it('--design takes one design, not a list', async () => {
    await refuses(
      ['run', SCENARIO, '--design', 'upstream,pagemap-p2p', '--db', db],
      '--design',
      'upstream,pagemap-p2p',
    );
    await refuses(['run', SCENARIO, '--design', '', '--db', db], '--design', '');
    await refuses(
      ['trace', SCENARIO, '--design', 'upstrem', '-o', join(dir, 't.json')],
      '--design',
      'upstrem',
      /did you mean 'upstream'/,
    );
  });
});

describe('--max-work and --max-file-size: decimal digits (and a unit for sizes), nothing else', () => {
  // --max-work took anything Number() takes: 0x10, 1e9, ' 1', 1.0.
  for (const bad of [
    '0x10',
    '1e9',
    ' 1',
    '1 ',
    '+5',
    '-5',
    '0',
    '01',
    '1.0',
    '',
    '9007199254740992',
    ' unlimited',
  ]) {
    it(`--max-work '${bad}' is refused`, async () => {
      await refuses(['run', SCENARIO, '--max-work', bad, '--db', db], '--max-work', bad);
      await refuses(
        ['sweep', 'sweeps/rdma-designs-by-fault-batch.yaml', '--max-work', bad, '--db', db],
        '--max-work',
        bad,
      );
    });
  }
  // --max-file-size took blanks and fractions.
  for (const bad of [
    '1.5MiB',
    ' 1MiB',
    '1 MiB',
    '1MiB ',
    '0x100000',
    '1e6',
    '-1MiB',
    '01MiB',
    '',
    '3GiB',
    '0',
    '2097153KiB',
    '9007199254740993',
  ]) {
    it(`--max-file-size '${bad}' is refused`, async () => {
      await refuses(['run', SCENARIO, '--max-file-size', bad, '--db', db], '--max-file-size', bad);
      await refuses(['explore', RACE, '--max-file-size', bad, '--db', db], '--max-file-size', bad);
    });
  }
  it('a near-miss size unit is named', async () => {
    await refuses(
      ['run', SCENARIO, '--max-file-size', '4MB', '--db', db],
      '--max-file-size',
      '4MB',
      /did you mean '4MiB'/,
    );
  });
  it('plain digits, a unit, and unlimited are accepted', async () => {
    for (const args of [
      ['--max-work', 'unlimited', '--max-file-size', '2GiB'],
      ['--max-work', '9007199254740991', '--max-file-size', '1048576'],
      ['--max-work', '100000000', '--max-file-size', '64KiB'],
    ]) {
      const r = await cli('run', SCENARIO, '--no-store', '--json', ...args);
      expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(0);
    }
  });
});

describe('counts, ports and shards', () => {
  it('explore --random, --max-states and --max-depth take decimal integers of at least 1', async () => {
    for (const [opt, bad] of [
      ['--random', '0x1'],
      ['--random', '0'],
      ['--random', ''],
      ['--max-states', '1e3'],
      ['--max-depth', '-1'],
      ['--max-depth', '2.5'],
    ] as const) {
      await refuses(['explore', RACE, opt, bad, '--db', db], opt, bad);
    }
  });
  it('sweep --jobs takes 1 to 256, --shard i/n in decimal digits', async () => {
    const sweep = 'sweeps/rdma-designs-by-fault-batch.yaml';
    for (const bad of ['0', '257', '1.0', '0x2', ''])
      await refuses(['sweep', sweep, '--jobs', bad, '--db', db], '--jobs', bad);
    for (const bad of [' 1/2', '01/2', '1/2 ', '1/0x2'])
      await refuses(['sweep', sweep, '--shard', bad, '--db', db], '--shard', bad);
  });
  it('serve --port takes 0 to 65535 and refuses before listening', async () => {
    for (const bad of ['0x10', '65536', '', '80.0', '-1'])
      await refuses(['serve', '--port', bad, '--db', db], '--port', bad);
  });
});

describe('output paths that cannot be written exit 2 at once, before any simulation', () => {
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  const folder = join(dir, 'a-folder');
  mkdirSync(folder);

  it.runIf(process.platform === 'linux')(
    'report -o /proc/x and trace -o /proc/x (procfs: mkdir says ENOENT under an existing folder; this used to spin forever)',
    async () => {
      const r = await cli('report', SCENARIO, '-o', '/proc/x', '--db', db);
      expect(r.code).toBe(2);
      expect(r.err).toBe('hmmlab: -o /proc/x: cannot write a folder there (ENOENT)\n');
      const t = await cli('trace', SCENARIO, '-o', '/proc/x');
      expect(t.code).toBe(2);
      expect(t.err).toBe('hmmlab: -o /proc/x: cannot write there (ENOENT)\n');
      expect(existsSync(db)).toBe(false);
    },
  );

  it('report -o a file, or a folder under a file', async () => {
    const r = await cli('report', SCENARIO, '-o', file, '--db', db);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`hmmlab: -o ${file}: ${file} is a file, not a folder\n`);
    const under = await cli('report', SCENARIO, '-o', join(file, 'sub'), '--db', db);
    expect(under.code).toBe(2);
    expect(under.err).toBe(`hmmlab: -o ${join(file, 'sub')}: ${file} is a file, not a folder\n`);
    expect(existsSync(db)).toBe(false);
  });

  it('trace -o and explore --trace: a folder, a missing folder, a file in the way', async () => {
    const t = await cli('trace', SCENARIO, '-o', folder);
    expect(t.code).toBe(2);
    expect(t.err).toBe(`hmmlab: -o ${folder}: is a folder, not a file\n`);
    const missing = join(dir, 'no-such-folder', 'trace.json');
    const m = await cli('trace', SCENARIO, '-o', missing);
    expect(m.code).toBe(2);
    expect(m.err).toBe(`hmmlab: -o ${missing}: its folder ${join(dir, 'no-such-folder')} does not exist\n`);
    expect(existsSync(join(dir, 'no-such-folder'))).toBe(false);
    const x = await cli('explore', RACE, '--trace', join(file, 'cx.json'), '--db', db);
    expect(x.code).toBe(2);
    expect(x.err).toBe(`hmmlab: --trace ${join(file, 'cx.json')}: ${file} is a file, not a folder\n`);
    const f = await cli('explore', RACE, '--trace', folder, '--db', db);
    expect(f.code).toBe(2);
    expect(f.err).toBe(`hmmlab: --trace ${folder}: is a folder, not a file\n`);
    expect(existsSync(db)).toBe(false);
  });

  it('a good output path is left as it was: the check leaves no probe file or folder behind', async () => {
    const nested = join(dir, 'new', 'report');
    // A bad design after a good -o: the -o check ran (it comes first) and must leave nothing.
    const r = await cli('report', SCENARIO, '-o', nested, '--designs', 'nope', '--db', db);
    expect(r.code).toBe(2);
    expect(existsSync(join(dir, 'new'))).toBe(false);
    const before = readdirSync(folder);
    const t = await cli('trace', SCENARIO, '-o', join(folder, 't.json'), '--seed', 'x');
    expect(t.code).toBe(2);
    expect(readdirSync(folder)).toEqual(before);
  });
});

describe('explore --replay', () => {
  it('a partial schedule runs the rest by the default choice, says so, and prints its timeline', async () => {
    // cpu0's munmap: the start of its invalidation, gpu0's callback, the zap and the end.
    const r = await cli('explore', RACE, '--replay', '111', '--no-store');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      'schedule ends after 3 steps; continued with the default choice (the lowest-numbered agent that can run) for 5 more',
    );
    // The timeline: every step, with the agents and their last step.
    expect(r.out).toMatch(/│ 0\s+│ cpu0\s+│ mmu_notifier_invalidate_range_s/);
    expect(r.out).toMatch(/│ 2\s+│ cpu0\s+│ munmap page 1/);
    expect(r.out).toMatch(/│ 7\s+│ cpu0\s+│ done/);
    expect(r.out).toContain('no invariant failed');
    expect(r.out).toContain('schedule: 11100001\n');
    const json = await cli('explore', RACE, '--replay', '111', '--json', '--no-store');
    const j = JSON.parse(json.out);
    expect(j.replay.continued).toBe(true);
    expect(j.replay.schedule).toBe('11100001');
    expect(j.replay.steps).toHaveLength(8);
  });

  it('a complete schedule that fails nothing prints its timeline too, without the continuation note', async () => {
    const r = await cli('explore', RACE, '--replay', '11100001', '--no-store');
    expect(r.code).toBe(0);
    expect(r.out).not.toContain('schedule ends after');
    expect(r.out).toMatch(/│ 7\s+│ cpu0\s+│ done/);
    expect(r.out).toContain('no invariant failed');
  });

  it('a partial prefix of a counterexample finds the violation by the default choice', async () => {
    const full = await cli('explore', 'scenarios/races/skip-read-retry-buggy.yaml', '--no-store');
    expect(full.code).toBe(1);
    const schedule = /schedule: (\S+)/.exec(full.out)![1]!;
    const prefix = schedule.slice(0, -1);
    const r = await cli(
      'explore',
      'scenarios/races/skip-read-retry-buggy.yaml',
      '--replay',
      prefix,
      '--no-store',
    );
    expect(r.code).toBe(1);
    expect(r.out).toContain(`schedule ends after ${prefix.length} step`);
    expect(r.out).toMatch(/VIOLATION notifier-contract/);
    expect(r.out).toContain(`schedule: ${schedule}\n`);
  });

  it('an over-long schedule, or a choice of an agent that cannot run, is bad input (exit 2), not a violation', async () => {
    const long = await cli('explore', RACE, '--replay', '1110000111', '--no-store');
    expect(long.code).toBe(2);
    expect(long.out).toBe('');
    expect(long.err).toBe(
      'hmmlab: --replay: the schedule is longer than the run: it has 10 choices, and every agent has finished after 8 steps\n',
    );
    const done = await cli('explore', RACE, '--replay', '00000', '--no-store');
    expect(done.code).toBe(2);
    expect(done.err).toBe('hmmlab: --replay: step 5 schedules gpu0.fault, which has finished\n');
  });

  it('options of a search do not apply to a replay', async () => {
    const r = await cli('explore', RACE, '--replay', '1', '--random', '3', '--seed', '2', '--no-store');
    expect(r.code).toBe(2);
    expect(r.err).toBe('hmmlab: --replay runs one schedule: --random, --seed do not apply to it\n');
  });
});

describe('output paths', () => {
  it('an empty -o or --trace is refused before anything runs (it would mean the working directory)', async () => {
    await refuses(['report', SCENARIO, '-o', '', '--db', db], '-o', '');
    await refuses(['trace', SCENARIO, '-o', ''], '-o', '');
  });
});

describe('terminal control characters', () => {
  it("commander's own errors escape them, as hmmlab's do", async () => {
    const r = await cli('run', SCENARIO, '--x\u001b[2J');
    expect(r.code).toBe(2);
    expect(r.err).toContain('\\u001b[2J');
    expect(r.err).not.toContain('\u001b');
  });

  it('hmmlab runs escapes them in stored names (a store may come from another machine)', async () => {
    const f = join(dir, 'tiny.yaml');
    writeFileSync(f, tinyGpu('tiny'));
    const store = join(dir, 'esc.db');
    const r = await cli('run', f, '--set', 'name=x\u001b[31mRED', '--db', store);
    expect(r.code, r.err).toBe(0);
    const list = await cli('runs', '--db', store);
    expect(list.out).toContain('x\\u001b[31mRED');
    expect(list.out).not.toContain('\u001b');
  });
});

describe('compare --runs takes nothing that would change a simulation', () => {
  it('a scenario file, --designs, --seed, --profile or --set beside --runs exit 2, as report <run ids> does', async () => {
    for (const extra of [[SCENARIO], ['--designs', 'upstream'], ['--seed', '2'], ['--set', 'seed=2']]) {
      const r = await cli('compare', '--runs', '1', ...extra, '--db', db);
      expect(r.code, extra.join(' ')).toBe(2);
      expect(r.err).toMatch(
        /^hmmlab: (--runs compares stored runs|--designs, --seed, --profile and --set apply)/,
      );
      expect(existsSync(db)).toBe(false);
    }
  });
});
