// Writes docs/costs.md from the cost profile files profiles/*.yaml (renderCostsMarkdown() in
// src/sim/costs-doc.ts), in the order profileNames() gives.
//
//   node scripts/gen-costs-doc.mjs          write docs/costs.md
//   node scripts/gen-costs-doc.mjs --check  exit 1 if docs/costs.md is stale, write nothing
//
// No build needed: it imports the TypeScript sources (scripts/import-sources.mjs).
// src/sim/costs.test.ts fails
// while docs/costs.md differs from what this script would write.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { importSources } from './import-sources.mjs';
import { writeOrCheck } from './write-or-check.mjs';

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
writeOrCheck('docs/costs.md', text, 'scripts/gen-costs-doc.mjs');
