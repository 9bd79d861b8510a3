// writeOrCheck(): how a doc generator ends (scripts/gen-results-doc.mjs, gen-costs-doc.mjs):
// write the doc, or with --check write nothing and fail while the doc on disk is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Writes `text` to `doc` (a path from the repository root, say 'docs/results.md'); with `--check`
 * on the command line writes nothing and exits 1 when the file differs from `text` or is
 * missing. `script` ('scripts/gen-results-doc.mjs') is what the stale message says to run.
 */
export function writeOrCheck(doc, text, script) {
  const outPath = fileURLToPath(new URL(`../${doc}`, import.meta.url));
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(outPath, 'utf8');
    } catch {
      // missing file: stale
    }
    if (current !== text) {
      console.error(`${doc} is stale: run \`node ${script}\``);
      process.exit(1);
    }
    console.log(`${doc} is up to date`);
  } else {
    writeFileSync(outPath, text);
    console.log(`wrote ${doc} (${text.length} characters)`);
  }
}
