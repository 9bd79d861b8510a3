#!/usr/bin/env node
/**
 * The layering of src/: which directory may import which, at run time (type-only imports are
 * erased and do not count). docs/architecture.md ("What may import what") shows the same table;
 * test/lint/layers.test.ts checks that it matches.
 *
 *   node scripts/layers.mjs          print the imports between directories, marking those not allowed
 *   node scripts/layers.mjs --check  exit 1 when a module imports from a directory its own may not
 */
import { resolve } from 'node:path';
import { importGraph } from './import-cycles.mjs';

/**
 * What each directory of src/ may import besides itself ('.' is src/index.ts and its siblings).
 * Lower layers never import upper ones: the kernel model imports nothing of hmmlab's, drivers
 * and designs only the kernel (and a driver its uapi header), simulated time the model below it,
 * and the edges (command line, viewer) whatever they need.
 */
/** Every library directory: what the edges (the command line, the package entry) may import. */
const EDGE = [
  'util',
  'kernel',
  'check',
  'designs',
  'drivers',
  'uapi',
  'conformance',
  'sim',
  'scenario',
  'profile',
  'report',
  'store',
  'sweep',
  'explore',
  'serve',
];

export const MAY_IMPORT = {
  util: [],
  kernel: [],
  check: ['kernel'],
  designs: ['kernel'],
  // drivers/dmirror.ts includes its uapi header (uapi/test_hmm_uapi.ts), as lib/test_hmm.c does.
  drivers: ['kernel', 'uapi/test_hmm_uapi.ts'],
  uapi: ['kernel', 'drivers'],
  conformance: ['kernel', 'check', 'uapi'],
  // The configuration simulate() takes is the scenario format (the schema's output):
  // sim/config.ts re-exports the scenario loader's parseConfig and ConfigError. The scenario
  // layer uses only the cost profile catalogue of sim/ (costs.ts), so no module cycle.
  sim: ['util', 'kernel', 'drivers', 'designs', 'uapi', 'scenario/load.ts'],
  scenario: ['util', 'kernel', 'drivers', 'designs', 'sim'],
  // profile/record.ts reads a stored run's profile from the record block store/recorded.ts writes.
  profile: ['sim', 'scenario', 'store'],
  report: ['sim', 'util'],
  store: ['util'],
  sweep: ['designs', 'sim', 'scenario', 'profile', 'store'],
  explore: ['kernel', 'check', 'uapi', 'drivers', 'designs', 'sim', 'scenario'],
  serve: ['kernel', 'designs', 'sim', 'scenario', 'profile', 'report', 'store', 'sweep'],
  cli: EDGE,
  // The package's entry points: every library layer, not the command line or the viewer server.
  '.': EDGE.filter((d) => d !== 'serve'),
};

/** The directory of a module path relative to src/ ('.' for a file at the top). */
export function layerOf(path) {
  const i = path.indexOf('/');
  return i < 0 ? '.' : path.slice(0, i);
}

/** Every runtime import across directories, with whether the table allows it. */
export function crossings(graph = importGraph()) {
  const out = [];
  for (const [from, deps] of graph) {
    const a = layerOf(from);
    for (const to of deps) {
      const b = layerOf(to);
      if (a === b) continue;
      const allowed = MAY_IMPORT[a] ?? [];
      out.push({ from, to, ok: allowed.includes(b) || allowed.includes(to) });
    }
  }
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  const all = crossings();
  const unknown = [...new Set(all.map((c) => layerOf(c.from)))].filter((l) => !(l in MAY_IMPORT));
  const bad = all.filter((c) => !c.ok);
  if (process.argv.includes('--check')) {
    for (const l of unknown)
      console.error(`src/${l}/ is not in MAY_IMPORT (scripts/layers.mjs): say what it may import`);
    for (const c of bad)
      console.error(
        `src/${c.from} imports src/${c.to}: src/${layerOf(c.from)}/ may not import src/${layerOf(c.to)}/ (scripts/layers.mjs)`,
      );
    process.exit(bad.length > 0 || unknown.length > 0 ? 1 : 0);
  }
  const count = new Map();
  for (const c of all) {
    const k = `${layerOf(c.from)} -> ${layerOf(c.to)}${c.ok ? '' : '   NOT ALLOWED'}`;
    count.set(k, (count.get(k) ?? 0) + 1);
  }
  for (const [k, n] of [...count].sort()) console.log(`${k}  (${n})`);
}
