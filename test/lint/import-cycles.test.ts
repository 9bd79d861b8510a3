import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { ALLOWED, cycles, importGraph, runtimeImports } from '../../scripts/import-cycles.mjs';

describe('import cycles in src/ (scripts/import-cycles.mjs)', () => {
  it('has no cycle of runtime imports beyond the allow-listed ones Linux has too', () => {
    const found: { members: string[]; edges: string[] }[] = cycles(importGraph());
    const edges = found.flatMap((c) => c.edges);
    expect(edges.filter((e) => !ALLOWED.has(e))).toEqual([]);
    // An allow-listed edge that no longer closes a cycle should leave the list.
    expect([...ALLOWED].filter((e) => !edges.includes(e))).toEqual([]);
  });

  it('finds a cycle and ignores type-only imports', () => {
    const g = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(cycles(g)).toEqual([
      { members: ['a.ts', 'b.ts', 'c.ts'], edges: ['a.ts -> b.ts', 'b.ts -> c.ts', 'c.ts -> a.ts'] },
    ]);
    const src = [
      "import type { A } from './a.js';",
      "import { type B, type C } from './b.js';",
      "import { type D, e } from './d.js';",
      "export { f } from './f.js';",
      "export type { G } from './g.js';",
      "import './side.js';",
    ].join('\n');
    expect(runtimeImports(src).sort()).toEqual(['./d.js', './f.js', './side.js']);
  });
});
