#!/usr/bin/env node
// `npm run test:deep`: every fast-check property of the suite (the test files that call
// fc.assert) with many more runs and seeds `npm test` never uses (test/property/params.ts reads
// the two variables):
//
//   HMMLAB_PROPERTY_SCALE  run counts, time bounds and test timeouts multiplied (default here 10)
//   HMMLAB_PROPERTY_SEED   added to every property's fixed seed (default here: a new one per run)
//
// It prints both first, and every property prints the seed and run count it uses; a failure
// replays with the same two variables. Arguments replace the file list (vitest filters):
// `npm run test:deep -- test/property`.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Test files under dir that run a property. */
function propertyFiles(dir) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== 'node_modules') out.push(...propertyFiles(p));
    } else if (e.name.endsWith('.test.ts') && readFileSync(p, 'utf8').includes('fc.assert(')) {
      out.push(relative(root, p));
    }
  }
  return out;
}

const scale = process.env.HMMLAB_PROPERTY_SCALE || '10';
const seed = process.env.HMMLAB_PROPERTY_SEED || String(Date.now() % 2 ** 31);
const args = process.argv.slice(2);
const files =
  args.length > 0 ? args : ['src', 'test', 'examples'].flatMap((d) => propertyFiles(join(root, d)));

console.log(`test:deep: HMMLAB_PROPERTY_SCALE=${scale} HMMLAB_PROPERTY_SEED=${seed}`);
console.log(
  `test:deep: replay with HMMLAB_PROPERTY_SEED=${seed} HMMLAB_PROPERTY_SCALE=${scale} npm run test:deep`,
);
console.log(`test:deep: ${files.length} files: ${files.join(' ')}`);
const r = spawnSync(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, HMMLAB_PROPERTY_SCALE: scale, HMMLAB_PROPERTY_SEED: seed },
});
console.log(`test:deep: HMMLAB_PROPERTY_SCALE=${scale} HMMLAB_PROPERTY_SEED=${seed}: exit ${r.status}`);
process.exit(r.status ?? 1);
