/**
 * Seeded scenario mutations shared by the loader fuzz test and the command-line fuzz test: a key
 * deleted, a value of another type, huge and negative numbers, a referenced device renamed, an
 * unknown key, broken YAML.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';

/** mulberry32: a small seeded PRNG. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick<T>(xs: readonly T[]): T {
      return xs[Math.floor(next() * xs.length)]!;
    },
  };
}
export type Rng = ReturnType<typeof prng>;
type Path = (string | number)[];

/** Every path in the document's data (maps and lists included). */
function paths(data: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  if (Array.isArray(data)) {
    data.forEach((v, i) => {
      out.push([...prefix, i]);
      paths(v, [...prefix, i], out);
    });
  } else if (data !== null && typeof data === 'object') {
    for (const [k, v] of Object.entries(data)) {
      out.push([...prefix, k]);
      paths(v, [...prefix, k], out);
    }
  }
  return out;
}

const VALUES: readonly unknown[] = [
  'text',
  '',
  'gpu0',
  'nic0',
  'buf',
  'fill',
  'BUS_ADDR',
  'c2c',
  'rdma',
  '2MiB',
  '12.8GiB',
  '-1GiB',
  '1GB',
  '3s',
  'gpu0:nic0',
  0,
  1,
  -1,
  1.5,
  -0.5,
  2 ** 31,
  2 ** 53,
  1e300,
  -1e300,
  true,
  false,
  null,
  [],
  {},
  [1, 2],
  { kind: 'pcie', gen: 5 },
];
const KEYS = ['bogus', 'vrma', 'sise', 'kind', 'name', 'after', 'gpu', 'nic', 'bar', 'version', 'pci'];
const BREAKERS = [
  ':',
  '[',
  ']',
  '{',
  '}',
  '&a',
  '*a',
  '!',
  '|',
  '>',
  '"',
  "'",
  '#',
  '\t',
  '- ',
  '\n  x',
  '%',
  '@',
];

/** One mutation of `text`. */
export function mutate(text: string, rng: Rng): string {
  if (rng.next() < 0.75) {
    try {
      const edited = mutateDocument(text, rng);
      if (edited !== undefined) return edited;
    } catch {
      // The document is too damaged (by an earlier mutation) to edit as a tree.
    }
  }
  return mutateText(text, rng);
}

/** A mutation of the document tree, or undefined when it cannot be parsed. */
function mutateDocument(text: string, rng: Rng): string | undefined {
  const doc = parseDocument(text);
  if (doc.errors.length === 0) {
    const data = doc.toJS() as unknown;
    const all = paths(data);
    if (all.length > 0) {
      const path = rng.pick(all);
      switch (rng.int(7)) {
        case 0:
          doc.deleteIn(path);
          break;
        case 1:
        case 2:
          doc.setIn(path, rng.pick(VALUES));
          break;
        case 3: {
          // Huge or negative numbers where there are numbers.
          const node = doc.getIn(path, true);
          const v = isScalar(node) ? node.value : undefined;
          const n = typeof v === 'number' ? v : 4096;
          doc.setIn(path, rng.pick([-n, n * 1e12, 0, -1, n + 0.25, 2 ** 63, Number.MAX_SAFE_INTEGER + 2]));
          break;
        }
        case 4: {
          // Rename a device or buffer that workloads refer to.
          const named = all.filter((p) => p.at(-1) === 'name');
          if (named.length > 0) doc.setIn(rng.pick(named), rng.pick(['gpu1', 'nic1', 'buf2', 'fill', 'x']));
          break;
        }
        case 5: {
          // An unknown (or misspelt, or duplicated) key in some map.
          const maps = [[], ...all].filter((p) => isMap(p.length === 0 ? doc.contents : doc.getIn(p, true)));
          if (maps.length > 0) doc.setIn([...rng.pick(maps), rng.pick(KEYS)], rng.pick(VALUES));
          break;
        }
        case 6: {
          // A list item twice (duplicate names), or a list emptied.
          const lists = all.filter((p) => isSeq(doc.getIn(p, true)));
          if (lists.length > 0) {
            const p = rng.pick(lists);
            const items = doc.getIn(p) as { toJSON(): unknown[] };
            const arr = items.toJSON();
            doc.setIn(p, rng.next() < 0.5 ? [...arr, ...arr.slice(0, 1)] : []);
          }
          break;
        }
      }
      return doc.toString();
    }
  }
  return undefined;
}

/** Damage to the text. */
function mutateText(text: string, rng: Rng): string {
  const lines = text.split('\n');
  switch (rng.int(5)) {
    case 0: {
      const at = rng.int(text.length + 1);
      return text.slice(0, at) + rng.pick(BREAKERS) + text.slice(at);
    }
    case 1:
      lines.splice(rng.int(lines.length), 1);
      return lines.join('\n');
    case 2: {
      const i = rng.int(lines.length);
      lines.splice(i, 0, lines[i]!);
      return lines.join('\n');
    }
    case 3:
      return text.slice(0, rng.int(text.length + 1));
    default: {
      const i = rng.int(lines.length);
      const j = rng.int(lines.length);
      [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      return lines.join('\n');
    }
  }
}

const DIRS = [join(import.meta.dirname, '../../scenarios'), join(import.meta.dirname, 'fixtures')];

/** Every scenario file the fuzzers start from (the shipped ones and the test fixtures). */
export const SCENARIO_FILES: readonly string[] = DIRS.flatMap((d) =>
  readdirSync(d)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map((f) => join(d, f)),
);
