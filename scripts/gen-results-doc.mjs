// Writes docs/results.md, the fields of `hmmlab run --json` and `hmmlab compare --json` with
// their meaning and unit, from src/sim/results-doc.ts (renderResultsMarkdown()).
//
//   node scripts/gen-results-doc.mjs          write docs/results.md
//   node scripts/gen-results-doc.mjs --check  exit 1 if docs/results.md is stale, write nothing
//
// No build needed: it imports the TypeScript sources (scripts/import-sources.mjs).
// src/sim/results-doc.test.ts fails while docs/results.md differs from what this script would
// write; test/cli/results-fields.test.ts while the JSON and the field lists differ.
import { importSources } from './import-sources.mjs';
import { writeOrCheck } from './write-or-check.mjs';

const [doc] = await importSources(import.meta.url, [
  new URL('../src/sim/results-doc.ts', import.meta.url).href,
]);
const text = doc.renderResultsMarkdown();
writeOrCheck('docs/results.md', text, 'scripts/gen-results-doc.mjs');
