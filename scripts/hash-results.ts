/**
 * Hashes every shipped scenario under every design and two seeds, with its event log, plus every
 * race file's exploration and the selftests: the proof a refactor changes no result.
 *
 *   npx tsx scripts/hash-results.ts > before.txt     # on the commit before the change
 *   npx tsx scripts/hash-results.ts > after.txt      # after it
 *   diff before.txt after.txt                        # no output: byte-identical
 *
 * Options: --quick leaves out scenarios/dgx-class.yaml (minutes on its own); --only <substring>
 * keeps the scenario or race files whose path contains it; --dump <dir> also writes each
 * scenario result's JSON to <dir> (one file per scenario, design and seed), to see which
 * figures moved where hashes differ (`npx tsx scripts/diff-results.ts before/ after/`). Each line is
 * `<sha256 of the JSON result> <what>`, in a fixed order; the last line hashes all of them.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSelftest, VARIANTS } from '../src/conformance/harness.js';
import { HMM_TESTS } from '../src/conformance/hmm-tests.js';
import { DESIGN_NAMES } from '../src/designs/design.js';
import { explore } from '../src/explore/explorer.js';
import { raceModelOf } from '../src/explore/race-model.js';
import { loadRaceFile } from '../src/explore/scenario.js';
import { loadScenario } from '../src/scenario/index.js';
import { simulate } from '../src/sim/simulate.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args[onlyAt + 1] : undefined;
const dumpAt = args.indexOf('--dump');
const dump = dumpAt >= 0 ? args[dumpAt + 1] : undefined;
if (dump !== undefined) mkdirSync(dump, { recursive: true });
const SEEDS = [1, 2];

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const all = createHash('sha256');
function line(hash: string, what: string): void {
  all.update(`${hash} ${what}\n`);
  process.stdout.write(`${hash} ${what}\n`);
}

const scenarioFiles = readdirSync('scenarios')
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => join('scenarios', f))
  .filter((f) => !(quick && f.includes('dgx-class')))
  .filter((f) => only === undefined || f.includes(only));

for (const file of scenarioFiles) {
  const r = loadScenario(readFileSync(file, 'utf8'), file);
  if (!r.ok) throw new Error(`${file} does not load`);
  for (const design of DESIGN_NAMES) {
    for (const seed of SEEDS) {
      const result = simulate({ ...structuredClone(r.config), design }, { seed, log: true });
      const json = JSON.stringify(result);
      line(sha(json), `${file} ${design} seed ${seed}`);
      if (dump !== undefined)
        writeFileSync(
          join(dump, `${file.replace(/^scenarios\//, '').replace(/\.yaml$/, '')}.${design}.${seed}.json`),
          json,
        );
    }
  }
}

const raceDir = join('scenarios', 'races');
const raceFiles = readdirSync(raceDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => join(raceDir, f))
  .filter((f) => only === undefined || f.includes(only));
for (const file of raceFiles) {
  const loaded = loadRaceFile(readFileSync(file, 'utf8'), file);
  if (!loaded.ok) throw new Error(`${file} does not load`);
  const model = await raceModelOf(loaded.race, file);
  const result = explore(model, { mode: 'exhaustive' });
  line(sha(JSON.stringify(result)), `${file} exhaustive`);
}

if (only === undefined) {
  const selftests = [];
  for (const c of HMM_TESTS) for (const v of VARIANTS) selftests.push(runSelftest(c, v));
  line(sha(JSON.stringify(selftests)), 'selftests');
}
process.stdout.write(`${all.digest('hex')} ALL\n`);
