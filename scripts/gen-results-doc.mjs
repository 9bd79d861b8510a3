// Writes docs/results.md, the fields of `hmmlab run --json` and `hmmlab compare --json` with
// their meaning and unit, from src/sim/results-doc.ts (renderResultsMarkdown()).
//
//   node scripts/gen-results-doc.mjs          write docs/results.md
//   node scripts/gen-results-doc.mjs --check  exit 1 if docs/results.md is stale, write nothing
//
// No build needed: it imports the TypeScript sources (scripts/import-sources.mjs).
// src/sim/results-doc.test.ts fails while docs/results.md differs from what this script would
// write; test/cli/results-fields.test.ts while the JSON and the field lists differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { importSources } from './import-sources.mjs';

const outPath = fileURLToPath(new URL('../docs/results.md', import.meta.url));
const check = process.argv.includes('--check');

const [doc] = await importSources(import.meta.url, [
  new URL('../src/sim/results-doc.ts', import.meta.url).href,
]);
const text = doc.renderResultsMarkdown();
if (check) {
  let current = '';
  try {
    current = readFileSync(outPath, 'utf8');
  } catch {
    // missing file: stale
  }
  if (current !== text) {
    console.error('docs/results.md is stale: run `node scripts/gen-results-doc.mjs`');
    process.exit(1);
  }
  console.log('docs/results.md is up to date');
} else {
  writeFileSync(outPath, text);
  console.log(`wrote docs/results.md (${text.length} characters)`);
}
