// Writes src/sim/builtin-profiles/ (a module per profile, and index.ts) from the built-in cost profiles in profiles/*.yaml, so that
// the pure simulator has them without reading files.
//
//   node scripts/gen-profiles.mjs          write src/sim/builtin-profiles/
//   node scripts/gen-profiles.mjs --check  exit 1 if it is stale, write nothing
//
// Every file is validated as `--profile` validates a user's file (errors as file:line:col, exit
// 2); its `name` must be its file name, and the files must be exactly the built-ins that
// src/sim/costs.ts names (profileNames()), which fixes their order. No build needed: it imports
// the TypeScript sources (scripts/import-sources.mjs).
// src/profile/profiles.test.ts fails while the module differs from what this script would write.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { importSources } from './import-sources.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = fileURLToPath(new URL('../src/sim/builtin-profiles', import.meta.url));
// The single module this script wrote before the profiles were one module each.
const oldPath = fileURLToPath(new URL('../src/sim/builtin-profiles.ts', import.meta.url));
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

const modules = generate.renderBuiltinProfilesModules(data);
const stale = [];
for (const [name, text] of modules) {
  let current = '';
  try {
    current = readFileSync(`${outDir}/${name}`, 'utf8');
  } catch {
    // missing file: stale
  }
  if (current !== text) stale.push(name);
}
const extra = existsSync(outDir) ? readdirSync(outDir).filter((f) => !modules.has(f)) : [];
if (check) {
  if (stale.length > 0 || extra.length > 0 || existsSync(oldPath)) {
    console.error('src/sim/builtin-profiles/ is stale: run `node scripts/gen-profiles.mjs`');
    process.exit(1);
  }
  console.log('src/sim/builtin-profiles/ is up to date');
} else {
  mkdirSync(outDir, { recursive: true });
  for (const [name, text] of modules) writeFileSync(`${outDir}/${name}`, text);
  for (const f of extra) rmSync(`${outDir}/${f}`);
  rmSync(oldPath, { force: true });
  console.log(`wrote src/sim/builtin-profiles/ (${data.length} profiles, ${modules.size} modules)`);
}
