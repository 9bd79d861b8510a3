import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { crossings, layerOf, MAY_IMPORT } from '../../scripts/layers.mjs';

const table = MAY_IMPORT as Record<string, string[]>;

/** The table as docs/architecture.md ("What may import what") shows it: directory -> list. */
function documented(): Record<string, string[]> {
  const text = readFileSync(new URL('../../docs/architecture.md', import.meta.url), 'utf8');
  const section = text.split('## What may import what')[1]?.split('\n## ')[0] ?? '';
  const out: Record<string, string[]> = {};
  for (const m of section.matchAll(/^\| `([^`]+)`[^|]* \| (.+) \|$/gm)) {
    const dir = m[1]!.replace(/\/$/, '');
    out[dir] =
      m[2] === 'nothing' ? [] : [...m[2]!.matchAll(/`([^`]+)`/g)].map((x) => x[1]!.replace(/\/$/, ''));
  }
  return out;
}

describe('the layering of src/ (scripts/layers.mjs)', () => {
  it('has no runtime import across directories that the table does not allow', () => {
    const bad = (crossings() as { from: string; to: string; ok: boolean }[])
      .filter((c) => !c.ok)
      .map((c) => `${c.from} -> ${c.to}`);
    expect(bad).toEqual([]);
  });

  it('lists every directory of src/, and only those', () => {
    const dirs = readdirSync(new URL('../../src/', import.meta.url), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(Object.keys(table).sort()).toEqual([...dirs, '.'].sort());
    // What a directory may import is a listed directory, or one file of one.
    for (const allowed of Object.values(table)) {
      for (const to of allowed) expect(Object.keys(table)).toContain(layerOf(to) === '.' ? to : layerOf(to));
    }
  });

  it('is the table docs/architecture.md shows', () => {
    expect(documented()).toEqual(table);
  });

  it('allows imports downward and within a directory, and names the file an exception allows', () => {
    const graph = new Map([
      ['kernel/a.ts', ['kernel/b.ts', 'sim/c.ts']],
      ['sim/c.ts', ['kernel/a.ts']],
      ['drivers/d.ts', ['uapi/test_hmm_uapi.ts', 'uapi/process.ts']],
    ]);
    expect(crossings(graph)).toEqual([
      { from: 'kernel/a.ts', to: 'sim/c.ts', ok: false },
      { from: 'sim/c.ts', to: 'kernel/a.ts', ok: true },
      { from: 'drivers/d.ts', to: 'uapi/test_hmm_uapi.ts', ok: true },
      { from: 'drivers/d.ts', to: 'uapi/process.ts', ok: false },
    ]);
  });
});
