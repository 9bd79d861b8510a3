// Writes docs/costs.md from the cost profile files profiles/*.yaml (renderCostsMarkdown() in
// src/sim/costs-doc.ts), in the order profileNames() gives.
//
//   node scripts/gen-costs-doc.mjs          write docs/costs.md
//   node scripts/gen-costs-doc.mjs --check  exit 1 if docs/costs.md is stale, write nothing
//
// No build needed: it imports the TypeScript sources (scripts/import-sources.mjs).
// src/sim/costs.test.ts fails
// while docs/costs.md differs from what this script would write.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { importSources } from './import-sources.mjs';

const outPath = fileURLToPath(new URL('../docs/costs.md', import.meta.url));
const check = process.argv.includes('--check');

const [costs, doc, load] = await importSources(import.meta.url, [
  new URL('../src/sim/costs.ts', import.meta.url).href,
  new URL('../src/sim/costs-doc.ts', import.meta.url).href,
  new URL('../src/profile/load.ts', import.meta.url).href,
]);

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
