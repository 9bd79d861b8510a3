#!/usr/bin/env node
/**
 * Lists import cycles among the modules of src/ (tests excluded): the strongly connected
 * components of the graph of runtime imports, each with the edges inside it. `import type` and
 * all-`type` specifier lists are erased by TypeScript, so they cannot make a cycle at load
 * time and do not count (`--types` shows them).
 *
 *   node scripts/import-cycles.mjs          print the components
 *   node scripts/import-cycles.mjs --check  exit 1 when an edge inside a cycle is not in ALLOWED
 *   node scripts/import-cycles.mjs --types  count type-only imports too (for reading; not checked)
 *
 * ALLOWED lists the edges of the cycles kept on purpose (each says why at its import); a new
 * cycle, or a new edge inside a kept one, fails the check (and test/lint/import-cycles.test.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..');
const SRC = join(ROOT, 'src');

/** Edges of cycles that Linux itself has, "from -> to" (paths relative to src/). */
export const ALLOWED = new Set([
  // GUP (memory.ts) migrates device-coherent pages away and splits device folios
  // (migrate_device_coherent_folio, split_folio); make_device_exclusive (migrate_device.ts)
  // takes its pages with GUP: mm/gup.c and mm/migrate_device.c / mm/rmap.c call each other.
  'kernel/memory.ts -> kernel/migrate_device.ts',
  'kernel/migrate_device.ts -> kernel/memory.ts',
]);

function walk(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/**
 * Every module specifier a module's source imports at run time (packages too): those of
 * `import`/`export ... from` not erased as types, and side-effect imports.
 */
export function runtimeSpecifiers(source, withTypes = false) {
  const out = [];
  const re = /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]/gms;
  for (const m of source.matchAll(re)) {
    if (m[2] && !withTypes) continue; // import type / export type
    const clause = m[3].trim();
    const braces = /^\{([\s\S]*)\}$/.exec(clause);
    if (braces) {
      const names = braces[1]
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (!withTypes && names.length > 0 && names.every((n) => n.startsWith('type '))) continue;
    }
    out.push(m[4]);
  }
  // import './x.js' for side effects
  for (const m of source.matchAll(/^\s*import\s+['"]([^'"]+)['"]/gm)) out.push(m[1]);
  return out;
}

/** Runtime imports of a module's source: relative specifiers not erased as types. */
export function runtimeImports(source, withTypes = false) {
  return runtimeSpecifiers(source, withTypes).filter((s) => s.startsWith('.'));
}

export function importGraph(withTypes = false) {
  const files = walk(SRC);
  const graph = new Map();
  for (const f of files) {
    const from = relative(SRC, f);
    const deps = new Set();
    for (const spec of runtimeImports(readFileSync(f, 'utf8'), withTypes)) {
      const to = relative(SRC, resolve(dirname(f), spec.replace(/\.js$/, '.ts')));
      if (!to.startsWith('..')) deps.add(to);
    }
    graph.set(from, [...deps].sort());
  }
  return graph;
}

/** Strongly connected components with more than one module (Tarjan), sorted. */
export function cycles(graph) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const sccs = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const c = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1) sccs.push(c.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v);
  return sccs.map((members) => {
    const set = new Set(members);
    const edges = [];
    for (const v of members) for (const w of graph.get(v)) if (set.has(w)) edges.push(`${v} -> ${w}`);
    return { members, edges };
  });
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  const found = cycles(importGraph(process.argv.includes('--types')));
  const bad = [];
  for (const c of found) {
    console.log(`cycle: ${c.members.join(', ')}`);
    for (const e of c.edges) {
      const ok = ALLOWED.has(e);
      if (!ok) bad.push(e);
      console.log(`  ${ok ? 'kept' : 'NEW '} ${e}`);
    }
  }
  if (found.length === 0) console.log('no import cycles');
  if (process.argv.includes('--check') && bad.length > 0) {
    console.error(`${bad.length} import edge(s) in a cycle not in ALLOWED (scripts/import-cycles.mjs)`);
    process.exit(1);
  }
}
