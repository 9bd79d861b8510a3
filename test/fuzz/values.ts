/**
 * What the fuzzers write as an override value or an option value: wrong types, negative, zero,
 * huge, fractional, unit strings good and bad, empty, lists, maps, YAML syntax junk, unicode.
 * Text, as `--set key=<text>` takes it (read as YAML there); the sweep fuzzer parses it back.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { Rng } from './harness.js';

const NUMBERS = [
  '0',
  '1',
  '-1',
  '2',
  '3',
  '4',
  '7',
  '64',
  '128',
  '1000',
  '4096',
  '65536',
  '-0',
  '0.5',
  '1.5',
  '-2.5',
  '1e3',
  '1e9',
  '1e21',
  '1e308',
  '1e309',
  '-1e309',
  '.inf',
  '-.inf',
  '.nan',
  '2147483648',
  '4294967297',
  '9007199254740993',
  '18446744073709551616',
  '0x10',
  '0o17',
  '010',
  '1_000',
  '+5',
  '5.',
  '.5',
  '1e-300',
];
const UNITS = [
  '4KiB',
  '64KiB',
  '2MiB',
  '1MiB',
  '16MiB',
  '256MiB',
  '1GiB',
  '2GiB',
  '1TiB',
  '1PiB',
  '1EiB',
  '4096B',
  '1.5MiB',
  '0.5KiB',
  '-2MiB',
  '0MiB',
  '2 MiB',
  '2mib',
  '2MB',
  '2Mi',
  'MiB',
  '2MiBs',
  '1e3MiB',
  '99999999999999GiB',
  '1us',
  '5ms',
  '3s',
  '10ns',
  '-1us',
  '1.5us',
  '2h',
  '1e400s',
  '64KiB/s',
  '12.8GiB',
];
const WORDS = [
  '',
  ' ',
  'text',
  'true',
  'false',
  'yes',
  'no',
  'on',
  'null',
  '~',
  'gpu0',
  'gpu1',
  'nic0',
  'a',
  'b',
  'x',
  'y',
  'm1',
  'init',
  'compute',
  'send',
  'BUS_ADDR',
  'THRU_HOST_BRIDGE',
  'NOT_SUPPORTED',
  'upstream',
  'pagemap-p2p',
  'rfc-callback',
  'always',
  'never',
  'madvise',
  'off',
  'translate',
  'passthrough',
  'c2c',
  'pcie',
  'nvlink',
  'read',
  'write',
  'migrate',
  'sequential',
  'random',
  'strided',
  'first-touch',
  'remote',
  'access-counter',
  'pinned',
  'rfc',
  'v2',
  'surprise',
  'ram',
  'vram',
  'cpu',
  'gpu',
  'rdma',
  'dmirror',
  'unplug',
  'amd',
  'intel',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
];
const UNICODE = [
  'é',
  '日本語',
  '🙂',
  '\u200b',
  '\u0000',
  '\u202e',
  '\ufeff',
  'Ω',
  'ﬁ',
  '\ud800',
  '２MiB',
  '٣',
  'ＧＰＵ0',
  'gpu0\u0301',
  '\u00a0',
  '\t',
  '\r\n',
  '\n',
];
const COLLECTIONS = [
  '[]',
  '{}',
  '[1]',
  '[1, 2]',
  '[2MiB, 64KiB]',
  '[4KiB]',
  '[0]',
  '[-1]',
  '[[1]]',
  '[a, b]',
  '{a: 1}',
  '{kind: pcie, gen: 5}',
  '{kind: c2c}',
  '{kind: pcie, gen: 9, lanes: 3}',
  '{name: gpu0}',
  '{name: gpu9, vram: 64MiB}',
  '[{name: q}]',
  '{default: BUS_ADDR}',
  '{"gpu0:nic0": BUS_ADDR}',
  '{__proto__: {polluted: 1}}',
  '{constructor: {prototype: {x: 1}}}',
  '[1, [2, [3, [4]]]]',
  '{a: {b: {c: {d: {e: 1}}}}}',
];
const JUNK = [
  ':',
  '[',
  ']',
  '{',
  '}',
  '&a',
  '*a',
  '&a [1, *a]',
  '!!str 5',
  '!!int x',
  '!!binary AAAA',
  '!custom 1',
  '|',
  '>',
  '"',
  "'",
  '#',
  '# comment',
  '- ',
  '- 1',
  '? a',
  '%YAML 1.2',
  '---',
  '...',
  '@',
  '`',
  'a: b',
  'a: b: c',
  '[1, 2',
  '{a: 1',
  '"unterminated',
  "'x''",
  '"\\u0000"',
  '"\\xff"',
  '=',
  '==',
  'a=b',
  '*',
  '&',
  '!',
  '!!',
  'key: [a, {b: c}]',
  '<<: *a',
  '{<<: {a: 1}}',
  '- - - x',
  '&a [1, *a]',
  '&m {x: *m}',
];

/** A value for a key, as `--set` text; `original` is the value the scenario has there, if any. */
export function randomValue(rng: Rng, original?: unknown): string {
  const roll = rng.int(100);
  if (roll < 25 && typeof original === 'number') {
    const f = rng.pick([0, -1, 0.5, 2, 2, 4, 0.25, 10, 1e6, 1e12, 1.0001]);
    return String(original * f);
  }
  // The value the scenario has, or a neighbour of it: mostly valid, so that runs happen.
  if (roll < 50 && original !== undefined) {
    if (typeof original === 'string' && /^\d+(\.\d+)?[KMGT]iB$/.test(original)) {
      const n = Number.parseFloat(original);
      return `${rng.pick([n, n * 2, n / 2, n * 4])}${original.replace(/^[\d.]+/, '')}`;
    }
    if (typeof original === 'boolean') return String(rng.next() < 0.5);
    return typeof original === 'string' ? original : JSON.stringify(original);
  }
  if (roll < 45) return rng.pick(NUMBERS);
  if (roll < 60) return rng.pick(UNITS);
  if (roll < 72) return rng.pick(WORDS);
  if (roll < 78) return rng.pick(UNICODE) + (rng.next() < 0.5 ? rng.pick(WORDS) : '');
  if (roll < 88) return rng.pick(COLLECTIONS);
  if (roll < 96) return rng.pick(JUNK);
  // Long strings, and text with control characters.
  return rng.pick(['x'.repeat(10_000), '9'.repeat(400), 'a,'.repeat(2000), '\u0001\u0002', '['.repeat(200)]);
}

type Path = (string | number)[];

/**
 * Every leaf path of a scenario file in file form, list items by name where they have one
 * (`devices.gpus.gpu0.vram`), with the leaf value.
 */
export function leafPaths(text: string): { key: string; value: unknown }[] {
  const data = parseDocument(text).toJS() as unknown;
  const out: { key: string; value: unknown }[] = [];
  const walk = (v: unknown, path: Path): void => {
    if (Array.isArray(v)) {
      if (v.length === 0 || v.every((x) => typeof x !== 'object' || x === null))
        out.push({ key: path.join('.'), value: v });
      v.forEach((item, i) => {
        const name =
          typeof item === 'object' && item !== null && typeof (item as { name?: unknown }).name === 'string'
            ? (item as { name: string }).name
            : i;
        walk(item, [...path, name]);
      });
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
    } else if (path.length > 0) out.push({ key: path.join('.'), value: v });
  };
  walk(data, []);
  return out;
}

/** The leaf paths of several files, each key once (the first value seen). */
export function leafPathsOf(files: readonly string[]): { key: string; value: unknown }[] {
  const seen = new Map<string, unknown>();
  for (const f of files)
    for (const { key, value } of leafPaths(readFileSync(f, 'utf8'))) if (!seen.has(key)) seen.set(key, value);
  return [...seen].map(([key, value]) => ({ key, value }));
}

/** SimConfig-form paths (as older sweeps and stored runs write them), over the tiny scenarios' names. */
export const SIM_CONFIG_PATHS: readonly string[] = [
  'cpuCores',
  'ramBytes',
  'thp',
  'iommu',
  'p2p',
  'p2p.default',
  'p2p.pairs',
  'pci',
  'durationNs',
  'gpus',
  'gpus.0',
  'gpus.gpu0',
  'gpus.gpu0.vramBytes',
  'gpus.0.barBytes',
  'gpus.gpu0.faultBatchSize',
  'gpus.gpu1.chunkSizes',
  'gpus.gpu0.link',
  'gpus.gpu0.link.gen',
  'gpus.gpu1.socket',
  'nics',
  'nics.nic0',
  'nics.nic0.fallback',
  'nics.0.ats',
  'dmirrors',
  'dmirrors.m1.minor',
  'gpuLinks',
  'buffers.a.bytes',
  'buffers.0.bytes',
  'buffers.b',
  'workloads.init.strideBytes',
  'workloads.init.startNs',
  'workloads.send.messageBytes',
  'workloads.d.ioctlPages',
  'workloads.0',
  'unplugs',
  'unplugs.u.startNs',
  'unplugs.0.mode',
  'processes',
  'processes.0',
];

/** Paths that are not in any scenario: misspelt, invented, malformed, prototype keys. */
export function randomBadPath(rng: Rng, known: readonly string[]): string {
  const base = rng.pick(known);
  const segs = base.split('.');
  switch (rng.int(9)) {
    case 0: // A misspelt segment.
      return segs
        .map((s, i) => (i === rng.int(segs.length) && s.length > 1 ? s.slice(1) + s[0] : s))
        .join('.');
    case 1:
      return `${base}.${rng.pick(['bogus', 'x', '0', '99', 'name', 'vram', '__proto__', 'constructor', 'length'])}`;
    case 2:
      return rng.pick([
        'bogus',
        'gpu',
        'Platform',
        'devices.gpus.gpu9.vram',
        'buffers.99.size',
        'workloads.-1.op',
        'events.9',
      ]);
    case 3:
      return rng.pick([
        '__proto__',
        '__proto__.polluted',
        'constructor.prototype.x',
        'platform.__proto__.x',
        'devices.gpus.__proto__',
        'toString',
        'buffers.a.__proto__.size',
        'hasOwnProperty',
      ]);
    case 4:
      return rng.pick([
        'a..b',
        '.',
        '..',
        'platform.',
        '.platform',
        ' ',
        'platform. ram',
        'platform.ram ',
        'devices.gpus.gpu0..vram',
      ]);
    case 5:
      return segs.map((s) => s.toUpperCase()).join('.');
    case 6:
      return `${'x.'.repeat(rng.int(300))}y`;
    case 7:
      return `${base}${rng.pick(['é', '🙂', '\u0000', '\u200b', '[0]', '/0', '*'])}`;
    default:
      return segs
        .slice(0, Math.max(1, segs.length - 1))
        .concat(['9', 'nope'])
        .join('.');
  }
}
