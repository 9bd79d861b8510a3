/**
 * The reader's bounds on a YAML document (src/scenario/yaml-bounds.ts): nesting depth, token
 * count and alias count, each refused with the position where the limit is passed, for every
 * kind of file that goes through the reader (scenario, sweep, race, profile), before the yaml
 * package's recursive, memory-hungry or quadratic steps run. And the aliases of a document
 * resolved in one pass (src/scenario/yaml-cycles.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isCollection, parseDocument, visit } from 'yaml';
import { loadRaceFile } from '../../src/explore/scenario.js';
import { loadProfile } from '../../src/profile/load.js';
import {
  formatScenarioError,
  loadScenario,
  MAX_NESTING_DEPTH,
  MAX_YAML_ALIASES,
  MAX_YAML_TOKENS,
  parseSetArgument,
  parseYamlText,
  type ScenarioError,
} from '../../src/scenario/index.js';
import { parseBounded, tooDeepOffset } from '../../src/scenario/yaml-bounds.js';
import { aliasTargets } from '../../src/scenario/yaml-cycles.js';
import { parseSweep } from '../../src/sweep/sweep.js';
import { cli } from '../cli/run-cli.js';

const NESTING = 'the document nests too deeply (at most 64 levels of maps and lists)';

const scenario = `version: 1
profile: pcie4-a100
buffers:
  - { name: buf, size: 4MiB }
workloads:
  - { kind: cpu, name: init, buffer: buf, op: write, pattern: sequential }
`;

/** The first error of each kind of file for `text`, formatted. */
function firstErrors(text: string): string[] {
  const first = (r: { ok: true } | { ok: false; errors: ScenarioError[] }) =>
    r.ok ? 'ok' : formatScenarioError(r.errors[0]!);
  return [
    first(loadScenario(text, 'f.yaml')),
    first(parseSweep(text, 'f.yaml')),
    first(loadRaceFile(text, 'f.yaml')),
    first(loadProfile(text, 'f.yaml')),
  ];
}

/** Where (1-based line:col) `offset` is in `text`. */
function at(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

/**
 * The offset of the first map or list (document order) more than 64 levels deep, found the plain
 * way: compose with the yaml package (fine at these depths) and walk it, without aliases.
 */
function referenceTooDeep(text: string): number | undefined {
  let found: number | undefined;
  const doc = parseDocument(text);
  visit(doc, {
    Node(_, node, path) {
      if (!isCollection(node)) return undefined;
      const depth = path.filter((p) => isCollection(p)).length + 1;
      if (depth > MAX_NESTING_DEPTH) {
        found = node.range?.[0];
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

describe('nesting depth', () => {
  // Each shape at `n` levels; the text up to level 65 is the same whatever `n` is above it.
  const indented = (n: number, line: (i: number) => string) =>
    `${Array.from({ length: n }, (_, i) => `${'  '.repeat(i)}${line(i)}`).join('\n')} x\nz: 1\n`;
  const shapes: Record<string, (n: number) => string> = {
    'block lists': (n) => `${'- '.repeat(n)}x\n`,
    'block lists, then a line back at the left': (n) => `${'- '.repeat(n)}x\n- y\n`,
    'flow lists': (n) => `${'['.repeat(n)}x${']'.repeat(n)}\n`,
    'flow maps': (n) => `${'{a: '.repeat(n)}x${'}'.repeat(n)}\n`,
    'indented maps': (n) => indented(n, (i) => `k${i}:`),
    // k: / - / k: / - ...: a map, its value a list, its item a map, ...
    'maps and lists by indentation': (n) => indented(n, (i) => (i % 2 === 0 ? 'k:' : '-')),
    'block lists, flow lists and flow maps': (n) => {
      const lists = Math.min(n, 30);
      const flows = Math.min(Math.max(n - 30, 0), 20);
      const maps = Math.max(n - 50, 0);
      return `${'- '.repeat(lists)}${'[ '.repeat(flows)}${'{a: '.repeat(maps)}x${' }'.repeat(maps)}${' ]'.repeat(flows)}\n`;
    },
  };

  it('3,000 levels in any shape are an error at the node 65 levels deep, for every kind of file, never a stack overflow', () => {
    for (const [name, shape] of Object.entries(shapes)) {
      const text = shape(3000);
      // Where level 65 starts: at 66 levels the yaml package composes the text without trouble,
      // and a plain walk finds the first node past 64 levels.
      const expected = referenceTooDeep(shape(66));
      expect(expected, name).toBeDefined();
      expect(firstErrors(text), name).toEqual(Array(4).fill(`f.yaml:${at(text, expected!)}: ${NESTING}`));
    }
    // Unclosed: refused at the 65th bracket, before the missing ones are noticed.
    expect(firstErrors('['.repeat(3000))[0]).toBe(`f.yaml:1:65: ${NESTING}`);
  });

  it('the position is the first node past 64 levels, as a plain walk of the composed document finds it', () => {
    for (const [name, shape] of Object.entries(shapes)) {
      for (const n of [63, 64, 65, 66, 90, 120]) {
        const text = shape(n);
        const expected = referenceTooDeep(text);
        const r = parseYamlText(text, 'f.yaml');
        const got = r.ok ? 'ok' : formatScenarioError(r.errors[0]!);
        if (expected === undefined) expect(got, `${name} ${n}`).not.toContain('nests too deeply');
        else expect(got, `${name} ${n}`).toBe(`f.yaml:${at(text, expected)}: ${NESTING}`);
        expect(expected === undefined, `${name} ${n}`).toBe(n <= 64);
      }
    }
  });

  it('`[a: b]` in a list is a map one level below the list: counted on the composed document', () => {
    // 40 flow lists, each holding a pair: 80 levels of data in 40 levels of brackets.
    const text = `${'[a: '.repeat(40)}x${']'.repeat(40)}\n`;
    const r = parseYamlText(text, 'f.yaml');
    expect(r.ok ? 'ok' : formatScenarioError(r.errors[0]!)).toBe(
      `f.yaml:${at(text, referenceTooDeep(text)!)}: ${NESTING}`,
    );
  });

  it("an alias counts as its anchor's node where it stands: data deeper than 64 levels through aliases is refused at the alias", () => {
    // Each anchor wraps the one before in 40 levels: 40 anchors make data 1,600 levels deep.
    const lines = ['a0: &a0 [x]'];
    for (let i = 1; i < 40; i++) lines.push(`a${i}: &a${i} ${'['.repeat(40)}*a${i - 1}${']'.repeat(40)}`);
    const text = `${lines.join('\n')}\n`;
    // a1's alias stands at depth 42 (the top map, a1's 40 lists, then the alias) for a0's one
    // level: 42. a2's alias stands at 42 for a1's 41 levels: 82, the first past 64.
    const alias = text.indexOf('*a1');
    expect(firstErrors(text)).toEqual(Array(4).fill(`f.yaml:${at(text, alias)}: ${NESTING}`));
    // a's lists are levels 2 and 3; b's alias stands at level 3 for two levels: 4.
    const small = 'a: &a [[1]]\nb: [*a]\n';
    expect(tooDeepOffset(parseDocument(small), 3)).toBe(small.indexOf('*a'));
    expect(tooDeepOffset(parseDocument(small), 4)).toBeUndefined();
  });

  it('a sweep whose grid value is data deeper than 64 levels through aliases exits 2, not 70 from JSON.stringify', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hmmlab-bounds-'));
    try {
      writeFileSync(join(dir, 's.yaml'), scenario);
      const values = ['&a0 [x]'];
      for (let i = 1; i < 400; i++) values.push(`&a${i} ${'['.repeat(60)}*a${i - 1}${']'.repeat(60)}`);
      const text = `version: 1\nscenario: s.yaml\ngrid:\n  name:\n${values.map((v) => `    - ${v}\n`).join('')}  description: [*a399]\n`;
      const file = join(dir, 'deep.yaml');
      writeFileSync(file, text);
      const r = await cli('sweep', file, '--db', join(dir, 'r.db'), '--jobs', '1');
      expect(r.code).toBe(2);
      expect(r.err).toBe(`hmmlab: ${file}:${at(text, text.indexOf('*a1'))}: ${NESTING}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('64 levels are fine as YAML (the schema then says what it expected)', () => {
    const text = `${scenario}description: ${'['.repeat(63)}${']'.repeat(63)}\n`;
    expect(firstErrors(text)[0]).toBe('f.yaml:7:14: description: expected a string, found a list');
  });
});

describe('token count', () => {
  it('a document of more than MAX_YAML_TOKENS tokens is refused where it passes the limit, before it is parsed', () => {
    // 8 tokens (`version` `:` ` ` `1` `\n` `buffers` `:` `\n`), then 18 a line (indent, `-`,
    // space, `{`, space, name, `:`, space, value, `,`, space, size, `:`, space, value, space,
    // `}`, line break).
    const head = 'version: 1\nbuffers:\n';
    const lines = Math.ceil((MAX_YAML_TOKENS - 8) / 18) + 1000;
    const parts = [head];
    for (let i = 0; i < lines; i++) parts.push(`  - { name: b${i}, size: 4KiB }\n`);
    const text = parts.join('');
    // Token MAX + 1 is the ((MAX - 8) % 18 + 1)th of line 3 + floor((MAX - 8) / 18).
    const line = 3 + Math.floor((MAX_YAML_TOKENS - 8) / 18);
    const nth = ((MAX_YAML_TOKENS - 8) % 18) + 1;
    const lineText = `  - { name: b${line - 3}, size: 4KiB }\n`;
    const tokens = lineText.match(/ +|[-{},:\n]|[^ \-{},:\n]+/g)!;
    const col = tokens.slice(0, nth - 1).join('').length + 1;
    const started = performance.now();
    const r = loadScenario(text, 'big.yaml');
    const ms = performance.now() - started;
    expect(r.ok ? [] : r.errors.map(formatScenarioError)).toEqual([
      `big.yaml:${line}:${col}: the document holds more than ${MAX_YAML_TOKENS} YAML tokens (keys, values, punctuation, comments and line breaks) by here, the most hmmlab reads; a scenario needs a few thousand`,
    ]);
    // Composing this many took most of a minute and gigabytes; counting takes a few seconds.
    expect(ms).toBeLessThan(30_000);
  }, 60_000);

  it('counts every token: spaces, comments and line breaks too', () => {
    const limits = { maxDepth: 64, maxTokens: 10, maxAliases: 10 };
    // 11 tokens: `a` `:` ` ` `1` ` ` `# c` `\n`, `\n`, `\n`, `b` `:`.
    const text = 'a: 1 # c\n\n\nb: 2\n';
    expect(parseBounded(text, undefined, limits)).toMatchObject({ ok: false, offset: text.indexOf(':', 3) });
    expect(parseBounded('\n'.repeat(10), undefined, limits).ok).toBe(true);
    expect(parseBounded('\n'.repeat(11), undefined, limits)).toMatchObject({ ok: false, offset: 10 });
  });

  it('through the command line: a 4 MB scenario given --max-file-size 100MiB exits 2 at once with the position', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hmmlab-bounds-'));
    try {
      const file = join(dir, 'big.yaml');
      const parts = ['version: 1\nbuffers:\n'];
      for (let i = 0; i < 120_000; i++) parts.push(`  - { name: b${i}, size: 4KiB }\n`);
      writeFileSync(file, parts.join(''));
      const r = await cli('run', file, '--no-store', '--max-file-size', '100MiB');
      expect(r.code).toBe(2);
      expect(r.err).toMatch(
        new RegExp(
          `^hmmlab: ${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: the document holds more than ${MAX_YAML_TOKENS} YAML tokens`,
        ),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('aliases', () => {
  const aliasing = (n: number) => {
    // Two anchors, each used fewer than yaml's 1,000 expansions per anchor.
    const uses = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? '*a' : '*b'));
    return `${scenario}x: [&a 1, &b 2]\ny: [${uses.join(', ')}]\n`;
  };

  it('more than MAX_YAML_ALIASES aliases are refused at the first one past the limit', () => {
    const text = aliasing(MAX_YAML_ALIASES + 1);
    const last = text.lastIndexOf('*');
    const message = `the document holds more than ${MAX_YAML_ALIASES} aliases (*name), the most hmmlab reads`;
    expect(firstErrors(text)).toEqual(Array(4).fill(`f.yaml:${at(text, last)}: ${message}`));
    // As many as the limit are read (the scenario schema then refuses the unknown keys).
    expect(firstErrors(aliasing(MAX_YAML_ALIASES))[0]).toMatch(/^f\.yaml:7:1: x: unknown key 'x'/);
  });

  it('aliasTargets resolves as the yaml package does: the last anchor of that name before the alias', () => {
    const doc = parseDocument('a: &x 1\nb: *x\nc: &x [*x, {&x k: *x}]\nd: *x\ne: *nope\n');
    const mine = aliasTargets(doc).map(([alias, target]) => [alias.range![0], target?.range?.[0]]);
    const theirs: [number, number | undefined][] = [];
    visit(doc, {
      Alias(_, node) {
        theirs.push([node.range![0], node.resolve(doc)?.range?.[0]]);
      },
    });
    expect(mine).toEqual(theirs);
    expect(mine).toHaveLength(5);
  });

  it('a --set value of 20,000 aliases is read at once (resolving each alias by walking the document took two minutes)', () => {
    const raw = `[&a 1, ${Array(20_000).fill('*a').join(', ')}]`;
    const started = performance.now();
    const o = parseSetArgument(`description=${raw}`);
    // Over yaml's 100 expansions for a --set value: the plain string.
    expect(o).toMatchObject({ key: 'description', value: raw });
    expect(performance.now() - started).toBeLessThan(10_000);
  }, 60_000);

  it('errors found through an alias are placed without walking the document per error', () => {
    // 1,000 bad buffers behind one alias, in a document of 100,000 nodes: each error's position
    // is found through the alias (resolving it by walking the document per error took minutes).
    const bad = Array.from({ length: 1000 }, (_, i) => `  - { name: b${i}, size: 1 }`).join('\n');
    const pad = Array(100_000).fill('0').join(',');
    const text = `version: 1\nprofile: pcie4-a100\nx-list: &bufs\n${bad}\nx-pad: [${pad}]\nbuffers: *bufs\nworkloads: [{ kind: cpu, name: w, buffer: b0, op: read, pattern: sequential }]\n`;
    const started = performance.now();
    const r = loadScenario(text, 'f.yaml');
    expect(performance.now() - started).toBeLessThan(10_000);
    const errors = r.ok ? [] : r.errors.map(formatScenarioError);
    expect(errors.slice(0, 2)).toEqual([
      "f.yaml:3:1: x-list: unknown key 'x-list' (expected one of version, name, description, seed, profile, overrides, design, rfcLockPerPage, placement, platform, devices, processes, buffers, workloads, events, duration)",
      'f.yaml:4:23: buffers[0].size: expected a multiple of 4KiB (the page size), found 1',
    ]);
    expect(errors).toHaveLength(101);
  }, 60_000);
});
