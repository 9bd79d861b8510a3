/**
 * What a stored run records of its overrides and profile (src/store/recorded.ts), end to end:
 * a scenario file's own comments that look like record lines, and `--set` values with newlines,
 * never change what `report <id>` simulates again; sweeps resume over such files.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ResultsStore, type StoredRun } from '../../src/store/store.js';
import { smallRdma } from '../fixtures/scenarios.js';
import { cli } from './run-cli.js';

afterEach(() => vi.restoreAllMocks());

const dir = mkdtempSync(join(tmpdir(), 'hmmlab-recorded-'));
const root = fileURLToPath(new URL('../../', import.meta.url));

/** A run of a few tens of milliseconds whose numbers depend on the profile. */
const scenario = (note: string, tail = '') => smallRdma({ name: 'recorded', before: note, after: tail });

function lastRun(db: string): StoredRun {
  const s = ResultsStore.open(db, { readOnly: true });
  try {
    const runs = s.listRuns();
    return s.getRun(runs[runs.length - 1]!.id)!;
  } finally {
    s.close();
  }
}

/** `report <id>` of the run: exit 0 and silent when it gives the stored metrics again. */
async function replays(db: string, id: number): Promise<void> {
  const r = await cli('report', String(id), '--db', db, '-o', join(dir, `report-${id}`));
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
}

describe('the record of a stored run', () => {
  it("report <id> gives the stored numbers when the scenario's own comments look like record lines", async () => {
    const file = join(dir, 'noted.yaml');
    // Notes in the middle of the file; they once replayed as an override and a profile.
    writeFileSync(file, scenario('# hmmlab --set platform.cpuCores=1\n# hmmlab --profile gh200-c2c\n'));
    const db = join(dir, 'noted.db');
    const run = await cli('run', file, '--design', 'upstream', '--json', '--db', db);
    expect(run.code, run.err).toBe(0);
    const stored = lastRun(db);
    expect(stored.scenarioText).toBe(
      scenario('# hmmlab --set platform.cpuCores=1\n# hmmlab --profile gh200-c2c\n'),
    );
    await replays(db, stored.id);
    // And with an override recorded after them.
    const set = await cli('run', file, '--design', 'upstream', '--set', 'seed=4', '--db', db);
    expect(set.code, set.err).toBe(0);
    await replays(db, lastRun(db).id);
  });

  it('a file that ends with record-looking lines is stored with a separator; report and sweep resume agree', async () => {
    const file = join(dir, 'tail.yaml');
    const text = scenario('', '# hmmlab --set profile=gh200-c2c\n');
    writeFileSync(file, text);
    const db = join(dir, 'tail.db');
    const run = await cli('run', file, '--design', 'upstream', '--db', db);
    expect(run.code, run.err).toBe(0);
    const stored = lastRun(db);
    expect(stored.scenarioText.startsWith(text)).toBe(true);
    expect(stored.scenarioText).toMatch(/\n# hmmlab: end of the scenario file[^\n]*\n$/);
    await replays(db, stored.id);

    const sweep = join(dir, 'tail-sweep.yaml');
    writeFileSync(sweep, 'version: 1\nscenario: tail.yaml\ndesigns: [upstream]\ngrid:\n  seed: [5, 6]\n');
    const first = await cli('sweep', sweep, '--jobs', '1', '--db', db);
    expect(first.code, first.err).toBe(0);
    expect(first.out).toContain('2 points: 2 stored, 0 skipped');
    await replays(db, lastRun(db).id);
    const again = await cli('sweep', sweep, '--jobs', '1', '--db', db);
    expect(again.code, again.err).toBe(0);
    expect(again.out).toContain('2 points: 0 stored, 2 skipped as already stored');
  });

  it('a --set value with a newline is recorded as one line and forges no override', async () => {
    const file = join(dir, 'plain.yaml');
    writeFileSync(file, scenario(''));
    const db = join(dir, 'newline.db');
    const value = 'description=a\n# hmmlab --set profile=gh200-c2c';
    const run = await cli('run', file, '--design', 'upstream', '--set', value, '--db', db);
    expect(run.code, run.err).toBe(0);
    const stored = lastRun(db);
    await replays(db, stored.id);
    expect(stored.scenarioText).toBe(
      `${scenario('')}# hmmlab --set "description=a\\n# hmmlab --set profile=gh200-c2c"\n`,
    );
  });

  it('a sweep point with a profile of its own is stored with it, not with the sweep --profile', async () => {
    writeFileSync(join(dir, 'plain.yaml'), scenario(''));
    const prof = join(dir, 'a100.yaml');
    writeFileSync(prof, readFileSync(join(root, 'profiles/pcie4-a100.yaml'), 'utf8'));
    const sweep = join(dir, 'profile-sweep.yaml');
    writeFileSync(
      sweep,
      'version: 1\nscenario: plain.yaml\ndesigns: [upstream]\ngrid:\n  profile: [gh200-c2c]\n',
    );
    const db = join(dir, 'profile-sweep.db');
    const first = await cli('sweep', sweep, '--profile', prof, '--jobs', '1', '--db', db);
    expect(first.code, first.err).toBe(0);
    const stored = lastRun(db);
    await replays(db, stored.id);
    expect(stored.scenarioText).toBe(`${scenario('')}# hmmlab --set profile="gh200-c2c"\n`);
    const again = await cli('sweep', sweep, '--profile', prof, '--jobs', '1', '--db', db);
    expect(again.out).toContain('1 point: 0 stored, 1 skipped as already stored');
  });
});
