/**
 * Store-file fuzzing (issue #12 item 8): a sound results store holding runs and an exploration,
 * damaged at random (truncated at a random length, bits flipped in the header or anywhere, a
 * page of random bytes), or replaced (random bytes, an empty file, text, another application's
 * SQLite database with random tables, a newer schema version), given to every command that
 * opens a store: run, runs, compare --runs, report <ids>, explore, merge (as input and as
 * output). A file SQLite and hmmlab's checks refuse must give exit 2 with one line naming it;
 * a damage that leaves a sound store (a flip in a byte no check reads) may give any normal
 * answer. Either way: no stack trace, no side files, and the file byte for byte as it was
 * unless the command stores and succeeded. The seed is in the test name; a failing case names
 * its damage and keeps the damaged file.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { checkStoreFile } from '../../src/store/file-check.js';
import { ResultsStore, SCHEMA_VERSION } from '../../src/store/store.js';
import { bounded, cases, expectCleanMessage, listing, prng, type Rng, seed, sha256 } from './harness.js';
import { writeTinyScenarios } from './scenarios.js';

const CASES = cases('STORE', 200);
const SEED = seed(0x5707e022);
const RACE = 'scenarios/races/skip-read-retry-fixed.yaml';

/** Damage, as a name (for messages) and the file's new bytes. */
function damage(good: Buffer, rng: Rng, scratch: string): { what: string; bytes: Buffer } {
  const pageSize = good.readUInt16BE(16);
  const flip = (bytes: Buffer, lo: number, hi: number, n: number): string[] => {
    const at: string[] = [];
    for (let i = 0; i < n; i++) {
      const offset = lo + rng.int(hi - lo);
      const bit = rng.int(8);
      bytes[offset] = bytes[offset]! ^ (1 << bit);
      at.push(`${offset}.${bit}`);
    }
    return at;
  };
  switch (rng.int(10)) {
    case 0: {
      const length = rng.next() < 0.5 ? rng.int(good.length) : pageSize * rng.int(good.length / pageSize);
      return { what: `truncated to ${length} bytes`, bytes: good.subarray(0, length) };
    }
    case 1: {
      const bytes = Buffer.from(good);
      return { what: `header bits flipped at ${flip(bytes, 0, 100, 1 + rng.int(3)).join(', ')}`, bytes };
    }
    case 2:
    case 3: {
      const bytes = Buffer.from(good);
      return { what: `bits flipped at ${flip(bytes, 0, bytes.length, 1 + rng.int(8)).join(', ')}`, bytes };
    }
    case 4: {
      const bytes = Buffer.from(good);
      const page = 1 + rng.int(bytes.length / pageSize - 1);
      for (let i = 0; i < pageSize; i++) bytes[page * pageSize + i] = rng.int(256);
      return { what: `page ${page + 1} of random bytes`, bytes };
    }
    case 5: {
      const bytes = Buffer.alloc(rng.pick([1, 17, 100, 4096, 8192, 50_000]));
      for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256);
      if (rng.next() < 0.5) Buffer.from('SQLite format 3\0', 'latin1').copy(bytes);
      return { what: `${bytes.length} random bytes`, bytes };
    }
    case 6:
      return { what: 'an empty file', bytes: Buffer.alloc(0) };
    case 7: {
      const text = rng.pick([
        'name,value\nalpha,1\n',
        '{"runs": []}\n',
        '# results\n',
        'é'.repeat(300),
        'SQLite format 3',
      ]);
      return { what: `text ${JSON.stringify(text.slice(0, 20))}`, bytes: Buffer.from(text) };
    }
    case 8: {
      // Another application's database: random tables, sometimes one called runs, sometimes
      // an application_id or a user_version.
      const path = join(scratch, `foreign-${rng.int(1e9)}.db`);
      const db = new Database(path);
      const tables: string[] = [];
      for (let t = rng.int(4); t >= 0; t--) {
        const name = rng.pick(['runs', 'notes', 'people', 'explorations', 'meta', `t${rng.int(100)}`]);
        if (tables.includes(name)) continue;
        const cols = rng.pick([
          'id INTEGER PRIMARY KEY, x TEXT',
          'a, b, c',
          'id INTEGER PRIMARY KEY, scenario_name TEXT, metrics TEXT',
        ]);
        db.exec(`CREATE TABLE "${name}" (${cols})`);
        tables.push(name);
        if (rng.next() < 0.5) db.exec(`INSERT INTO "${name}" DEFAULT VALUES`);
      }
      const pragmas: string[] = [];
      if (rng.next() < 0.4) pragmas.push(`application_id = ${rng.pick([0x0f055ee1, 1, -1, 0x686d6d6c])}`);
      if (rng.next() < 0.4) pragmas.push(`user_version = ${rng.pick([1, 2, 3, 99, -1])}`);
      if (rng.next() < 0.3) pragmas.push('journal_mode = WAL');
      for (const p of pragmas) db.pragma(p);
      db.close();
      const bytes = readFileSync(path);
      rmSync(path);
      return {
        what: `a foreign SQLite database (tables ${tables.join(', ')}; ${pragmas.join(', ') || 'no pragmas'})`,
        bytes,
      };
    }
    default: {
      const path = join(scratch, `newer-${rng.int(1e9)}.db`);
      writeFileSync(path, good);
      const db = new Database(path);
      const version = SCHEMA_VERSION + 1 + rng.int(100);
      db.pragma(`user_version = ${version}`);
      if (rng.next() < 0.3) db.pragma('application_id = 0');
      db.close();
      const bytes = readFileSync(path);
      rmSync(path);
      return { what: `schema version ${version}`, bytes };
    }
  }
}

describe('store-file fuzzing', () => {
  it(`${CASES} damaged stores x 8 commands: exit 2 naming the file or a sound store, the file unchanged, seed 0x${SEED.toString(16)}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hmmlab-store-fuzz-'));
    const tiny = writeTinyScenarios(dir);
    const scratch = join(dir, 'scratch');
    mkdirSync(scratch);
    // The sound store: runs (with scenario texts spanning pages) and an exploration.
    const goodPath = join(dir, 'good.db');
    for (const args of [
      ['run', tiny.processes, '--db', goodPath],
      ['compare', tiny.processes, '--designs', 'upstream,pagemap-p2p', '--db', goodPath],
      ['explore', RACE, '--db', goodPath],
    ]) {
      const r = await bounded(() => args.join(' '), ...args);
      expect(r.code, r.err).toBe(0);
    }
    const s = ResultsStore.open(goodPath);
    for (let i = 0; i < 6; i++) {
      s.saveRun({
        scenarioName: 'padding',
        scenarioText: `# ${i}\n${'x'.repeat(5000)}\n`,
        design: 'upstream',
        seed: i,
        hmmlabVersion: '0.1.0',
        startedAt: '2026-01-01T00:00:00.000Z',
        metrics: { pagesToRam: i },
      });
    }
    s.close();
    const good = readFileSync(goodPath);
    expect(existsSync(`${goodPath}-wal`)).toBe(false);
    const mergeInput = join(dir, 'merge-input.db');
    writeFileSync(mergeInput, good);
    const mergeInputHash = sha256(mergeInput);

    const rng = prng(SEED);
    const tally = { refused: 0, sound: 0, invocations: 0 };
    for (let i = 0; i < CASES; i++) {
      const { what, bytes } = damage(good, rng, scratch);
      const folder = join(dir, `case-${i}`);
      mkdirSync(folder);
      // Kept for a failure to be reproduced; removed when the case passes.
      const kept = join(dir, `case-${i}-damaged.db`);
      writeFileSync(kept, bytes);
      const file = join(folder, 'results.db');
      // What hmmlab's own check says of it (on a copy, in a folder of its own).
      const probeDir = join(scratch, `probe-${i}`);
      mkdirSync(probeDir);
      writeFileSync(join(probeDir, 'results.db'), bytes);
      let state: string;
      try {
        state = checkStoreFile(join(probeDir, 'results.db'), SCHEMA_VERSION, { quickCheck: true }).kind;
      } catch {
        state = 'refused';
      }
      rmSync(probeDir, { recursive: true });
      const mergeOut = join(dir, `merged-${i}.db`);
      const commands: { args: string[]; stores: boolean; salvage?: boolean }[] = [
        { args: ['run', tiny.processes, '--db', file], stores: true },
        { args: ['runs', '--db', file], stores: false },
        { args: ['compare', '--runs', '1,2', '--db', file], stores: false },
        { args: ['report', '2,3', '-o', join(dir, 'report'), '--db', file], stores: false },
        { args: ['explore', RACE, '--db', file], stores: true },
        { args: ['merge', mergeOut, file], stores: false },
        { args: ['merge', file, mergeInput], stores: true },
        { args: ['merge', '--salvage', mergeOut, file], stores: false, salvage: true },
      ];
      for (const { args, stores, salvage } of commands) {
        writeFileSync(file, bytes);
        const before = sha256(file);
        const context = () =>
          `case ${i} of seed 0x${SEED.toString(16)} (${what}; hmmlab's check: ${state}; the file is kept at ${kept}): hmmlab ${args.join(' ')}`;
        const r = await bounded(context, ...args);
        tally.invocations++;
        const where = `${context()}\nexit ${r.code}\nstderr:\n${r.err.slice(0, 2000)}`;
        const fail = (m: string) => `${m}: ${where}`;
        expect([0, 1, 2], fail('exit code')).toContain(r.code);
        expectCleanMessage(r.err, fail('message'));
        expect(listing(folder), fail('side files')).toEqual(['results.db']);
        expect(sha256(mergeInput), fail('the merge input changed')).toBe(mergeInputHash);
        if (salvage) {
          // Salvage copies what can be read and counts the rest, or says it could read nothing
          // (or that the file is not an hmmlab store): never a silent merge of nothing.
          expect([0, 2], fail('salvage exit code')).toContain(r.code);
          if (r.code === 2) {
            expect(r.err, fail('not one line')).toMatch(/^hmmlab: [^\n]+\n$/);
            expect(r.err, fail('does not name the file')).toContain(file);
            tally.refused++;
          } else {
            const m =
              /: (\d+) runs found, (\d+) copied, (\d+) duplicates skipped, (\d+) could not be read.*; (\d+) explorations found, (\d+) copied, (\d+) duplicates skipped, (\d+) could not be read/.exec(
                r.out,
              );
            expect(m, fail('no salvage summary')).not.toBeNull();
            const [found, copied, skipped, lost, eFound, eCopied, eSkipped, eLost] = m!.slice(1).map(Number);
            expect(copied! + skipped! + lost!, fail('runs found but not accounted for')).toBe(found);
            expect(eCopied! + eSkipped! + eLost!, fail('explorations not accounted for')).toBe(eFound);
            expect(copied! + eCopied!, fail('a salvage that copied nothing exited 0')).toBeGreaterThan(0);
            expect(checkStoreFile(mergeOut, SCHEMA_VERSION, { quickCheck: true }).kind, fail('output')).toBe(
              'store',
            );
            tally.sound++;
          }
        } else if (state === 'refused' || (state === 'empty' && !stores)) {
          // Refused: one line naming the file.
          expect(r.code, fail('not refused')).toBe(2);
          expect(r.err, fail('not one line')).toMatch(/^hmmlab: [^\n]+\n$/);
          expect(r.err, fail('does not name the file')).toContain(file);
          tally.refused++;
        } else tally.sound++;
        if (r.code === 2 || !stores) expect(sha256(file), fail('the file changed')).toBe(before);
        if (r.code === 2 && args[1] === mergeOut)
          expect(existsSync(mergeOut), fail('merge wrote an output')).toBe(false);
        rmSync(mergeOut, { force: true });
      }
      rmSync(folder, { recursive: true });
      rmSync(kept);
    }
    console.log(
      `store fuzz: ${CASES} damaged files x 8 commands = ${tally.invocations} invocations, ${tally.refused} refused (exit 2 naming the file), ${tally.sound} on a file that is still a sound store (or empty, for the commands that store)`,
    );
    expect(tally.refused).toBeGreaterThan(tally.invocations / 3);
  }, 600_000);
});
