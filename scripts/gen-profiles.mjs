// Writes src/sim/builtin-profiles.ts from the built-in cost profiles in profiles/*.yaml, so that
// the pure simulator has them without reading files.
//
//   node scripts/gen-profiles.mjs          write src/sim/builtin-profiles.ts
//   node scripts/gen-profiles.mjs --check  exit 1 if it is stale, write nothing
//
// Every file is validated as `--profile` validates a user's file (errors as file:line:col, exit
// 2); its `name` must be its file name, and the files must be exactly the built-ins that
// src/sim/costs.ts names (profileNames()), which fixes their order. No build needed: it imports
// the TypeScript sources (scripts/import-sources.mjs).
// src/profile/profiles.test.ts fails while the module differs from what this script would write.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { importSources } from './import-sources.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const outPath = fileURLToPath(new URL('../src/sim/builtin-profiles.ts', import.meta.url));
const check = process.argv.includes('--check');

const [costs, load, generate] = await importSources(import.meta.url, [
  new URL('../src/sim/costs.ts', import.meta.url).href,
  new URL('../src/profile/load.ts', import.meta.url).href,
  new URL('../src/profile/generate.ts', import.meta.url).href,
]);
const { formatScenarioError } = await import('../src/scenario/load.ts');

const names = costs.profileNames();
const files = readdirSync(`${root}profiles`)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();
const expected = names.map((n) => `${n}.yaml`).sort();
if (JSON.stringify(files) !== JSON.stringify(expected)) {
  console.error(
    `profiles/ holds ${files.join(', ') || 'nothing'}; the built-ins (profileNames() in src/sim/costs.ts) are ${expected.join(', ')}`,
  );
  process.exit(2);
}
const data = [];
let bad = false;
for (const name of names) {
  const file = `profiles/${name}.yaml`;
  const r = load.loadProfile(readFileSync(`${root}${file}`, 'utf8'), file, { builtinNames: false });
  if (!r.ok) {
    for (const e of r.errors) console.error(formatScenarioError(e));
    bad = true;
    continue;
  }
  if (r.profile.name !== name) {
    console.error(`${file}: name '${r.profile.name}' is not the file's name '${name}'`);
    bad = true;
    continue;
  }
  data.push(costs.costProfileToData(r.profile));
}
if (bad) process.exit(2);

const text = generate.renderBuiltinProfilesModule(data);
if (check) {
  let current = '';
  try {
    current = readFileSync(outPath, 'utf8');
  } catch {
    // missing file: stale
  }
  if (current !== text) {
    console.error('src/sim/builtin-profiles.ts is stale: run `node scripts/gen-profiles.mjs`');
    process.exit(1);
  }
  console.log('src/sim/builtin-profiles.ts is up to date');
} else {
  writeFileSync(outPath, text);
  console.log(`wrote src/sim/builtin-profiles.ts (${data.length} profiles, ${text.length} characters)`);
}
