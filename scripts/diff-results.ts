/**
 * Compares two directories of results written by `hash-results.ts --dump` and prints, per
 * result that differs, each figure that moved (a dotted path, before -> after). Link names
 * that exist on one side only are listed once per result; event logs are compared by count
 * and by the first event that differs.
 *
 *   npx tsx scripts/hash-results.ts --quick --dump /tmp/before   # on the old commit
 *   npx tsx scripts/hash-results.ts --quick --dump /tmp/after    # on the new one
 *   npx tsx scripts/diff-results.ts /tmp/before /tmp/after [--ignore-links]
 *
 * --ignore-links leaves out `links` and the `link` field of events (for a change that renames
 * links: what remains shows whether anything but names moved).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [a, b] = process.argv.slice(2).filter((x) => !x.startsWith('--'));
const ignoreLinks = process.argv.includes('--ignore-links');
if (a === undefined || b === undefined) {
  process.stderr.write('usage: diff-results.ts <before-dir> <after-dir> [--ignore-links]\n');
  process.exit(2);
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function strip(r: Record<string, Json>): Record<string, Json> {
  if (!ignoreLinks) return r;
  const { links: _links, ...rest } = r;
  const events = rest.log;
  if (Array.isArray(events))
    rest.log = events.map((e) => {
      if (e && typeof e === 'object' && !Array.isArray(e) && 'link' in e) {
        const { link: _l, ...ev } = e;
        return ev;
      }
      return e;
    });
  return rest;
}

function walk(x: Json | undefined, y: Json | undefined, path: string, out: string[]): void {
  if (out.length > 40) return;
  if (Array.isArray(x) && Array.isArray(y) && path === 'log') {
    if (x.length !== y.length) out.push(`${path}: ${x.length} -> ${y.length} events`);
    const n = Math.min(x.length, y.length);
    for (let i = 0; i < n; i++)
      if (JSON.stringify(x[i]) !== JSON.stringify(y[i])) {
        out.push(`${path}[${i}] first differs: ${JSON.stringify(x[i])} -> ${JSON.stringify(y[i])}`);
        break;
      }
    return;
  }
  if (x && y && typeof x === 'object' && typeof y === 'object') {
    const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
    for (const k of keys)
      walk((x as Record<string, Json>)[k], (y as Record<string, Json>)[k], path ? `${path}.${k}` : k, out);
    return;
  }
  if (JSON.stringify(x) !== JSON.stringify(y))
    out.push(`${path}: ${JSON.stringify(x) ?? '(none)'} -> ${JSON.stringify(y) ?? '(none)'}`);
}

let moved = 0;
const files = readdirSync(a)
  .filter((f) => f.endsWith('.json'))
  .sort();
for (const f of files) {
  const before = strip(JSON.parse(readFileSync(join(a, f), 'utf8')));
  let afterText: string;
  try {
    afterText = readFileSync(join(b, f), 'utf8');
  } catch {
    process.stdout.write(`${f}: missing in ${b}\n`);
    moved++;
    continue;
  }
  const after = strip(JSON.parse(afterText));
  const out: string[] = [];
  walk(before, after, '', out);
  if (out.length === 0) continue;
  moved++;
  process.stdout.write(`${f}\n${out.map((l) => `  ${l}`).join('\n')}\n`);
}
process.stdout.write(`${moved} of ${files.length} results differ\n`);
