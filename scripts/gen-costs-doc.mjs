// Writes docs/costs.md from the cost profile files profiles/*.yaml (renderCostsMarkdown() in
// src/sim/costs-doc.ts), in the order profileNames() gives.
//
//   node scripts/gen-costs-doc.mjs          write docs/costs.md
//   node scripts/gen-costs-doc.mjs --check  exit 1 if docs/costs.md is stale, write nothing
//
// No build needed: the script imports the TypeScript source, not dist/. Node 20 cannot load .ts
// itself, so under plain `node` the script re-runs itself once with `--import tsx` (a dev
// dependency); `npx tsx scripts/gen-costs-doc.mjs` works directly. src/sim/costs.test.ts fails
// while docs/costs.md differs from what this script would write.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const REEXEC_ENV = 'HMMLAB_GEN_COSTS_DOC_UNDER_TSX';
const outPath = fileURLToPath(new URL('../docs/costs.md', import.meta.url));
const check = process.argv.includes('--check');

let costs;
let doc;
let load;
try {
  costs = await import('../src/sim/costs.ts');
  doc = await import('../src/sim/costs-doc.ts');
  load = await import('../src/profile/load.ts');
} catch (err) {
  if (err?.code !== 'ERR_UNKNOWN_FILE_EXTENSION' || process.env[REEXEC_ENV]) throw err;
  const tsx = import.meta.resolve('tsx');
  const result = spawnSync(
    process.execPath,
    ['--import', tsx, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit', env: { ...process.env, [REEXEC_ENV]: '1' } },
  );
  process.exit(result.status ?? 1);
}

const { formatScenarioError } = await import('../src/scenario/load.ts');
const profiles = [];
for (const name of costs.profileNames()) {
  const file = `profiles/${name}.yaml`;
  const r = load.loadProfile(
    readFileSync(fileURLToPath(new URL(`../${file}`, import.meta.url)), 'utf8'),
    file,
    {
      builtinNames: false,
    },
  );
  if (!r.ok) {
    for (const e of r.errors) console.error(formatScenarioError(e));
    process.exit(2);
  }
  profiles.push(r.profile);
}
const text = doc.renderCostsMarkdown(profiles);
if (check) {
  let current = '';
  try {
    current = readFileSync(outPath, 'utf8');
  } catch {
    // missing file: stale
  }
  if (current !== text) {
    console.error('docs/costs.md is stale: run `node scripts/gen-costs-doc.mjs`');
    process.exit(1);
  }
  console.log('docs/costs.md is up to date');
} else {
  writeFileSync(outPath, text);
  console.log(`wrote docs/costs.md (${text.length} characters)`);
}
