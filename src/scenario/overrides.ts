/**
 * Overrides of a scenario: `--set key=value` on the command line and the grid and list values of
 * a sweep file. Each is applied to the scenario DOCUMENT (the plain data parsed from YAML, before
 * validation), so that the whole document then goes through the same schema as the file does:
 * one validation path, the same messages.
 *
 * A key is a dotted path in the scenario file, with list items chosen by name or index
 * (`platform.cpuCores`, `devices.gpus.gpu0.vram`, `buffers.buf.size`,
 * `workloads.put.queueDepth`), or, as older sweep files and stored runs write them, a path in
 * the configuration simulate() took before it read the file's own keys (`cpuCores`,
 * `gpus.gpu0.vramBytes`, `buffers.buf.bytes`, `workloads.w.ioctlPages`, `unplugs.u.startNs`):
 * such an old ("SimConfig") path is translated to the file's path by the tables below (the old
 * toSimConfig mapping, read backwards). Values are in the file's units (`vram=16GiB`), except
 * that an old path keeps its own (`ioctlPages` counts 4 KiB pages).
 *
 * Pure; never throws for bad input.
 */
import { parseDocument } from 'yaml';
import { didYouMean } from '../util/did-you-mean.js';
import { describeFound, unknownKeyMessage } from './messages.js';
import { recursiveAliasOffset } from './yaml-cycles.js';

export type OverridePath = (string | number)[];

/** One override. */
export interface ScenarioOverride {
  /** The dotted path, as written: a scenario-file path or a SimConfig path. */
  key: string;
  /** The value (for `--set`, the text after '=' read as a YAML scalar or flow collection). */
  value: unknown;
  /** How messages name it; default `--set key=value`. */
  label?: string;
  /**
   * Where it was written (a sweep file's grid key or list entry): errors about it are reported
   * there. Without it they are reported under the label alone.
   */
  at?: { file: string; line: number; col: number; path: OverridePath };
}

/** `key=value` (a `--set` argument) as an override, or a message saying what is wrong with it. */
export function parseSetArgument(set: string): ScenarioOverride | { error: string } {
  const eq = set.indexOf('=');
  if (eq <= 0 || set.slice(0, eq).trim() === '') return { error: `--set wants key=value, not '${set}'` };
  const raw = set.slice(eq + 1);
  let value: unknown = raw;
  try {
    // parseDocument, not parse: parse() prints a YAML warning (an unknown tag, `!x 1`) on
    // stderr through process.emitWarning. A value with a warning or an error is the plain string.
    const doc = parseDocument(raw);
    // A circular value (`&a [1, *a]`) is the plain string too.
    if (doc.errors.length === 0 && doc.warnings.length === 0 && recursiveAliasOffset(doc) === undefined) {
      value = doc.toJS({ maxAliasCount: 100 }) ?? raw;
    }
  } catch {
    // Not YAML: the value is the plain string.
  }
  return { key: set.slice(0, eq).trim(), value, label: `--set ${set}` };
}

/** The label of an override in messages. */
export function overrideLabel(o: ScenarioOverride): string {
  return o.label ?? `--set ${o.key}=${typeof o.value === 'string' ? o.value : JSON.stringify(o.value)}`;
}

// ---- SimConfig paths -> file paths ----------------------------------------------------------

/** Top-level keys of a scenario file. */
const FILE_TOP = [
  'version',
  'name',
  'description',
  'seed',
  'profile',
  'overrides',
  'design',
  'rfcLockPerPage',
  'placement',
  'platform',
  'devices',
  'processes',
  'buffers',
  'workloads',
  'events',
  'duration',
];

/** SimConfig top-level keys that the file spells differently, and where the file has them. */
const SIM_TOP: Record<string, string[]> = {
  ramBytes: ['platform', 'ram'],
  cpuCores: ['platform', 'cpuCores'],
  thp: ['platform', 'thp'],
  iommu: ['platform', 'iommu'],
  pci: ['platform', 'pci'],
  p2p: ['platform', 'p2p'],
  gpus: ['devices', 'gpus'],
  nics: ['devices', 'nics'],
  dmirrors: ['devices', 'dmirrors'],
  gpuLinks: ['devices', 'gpuLinks'],
  unplugs: ['events'],
  durationNs: ['duration'],
};

/** A SimConfig key inside a list item that the file spells differently; `scale` converts the value. */
interface Rename {
  key: string;
  scale?: number;
  /** What the SimConfig value counts, for messages. */
  unit?: string;
}
/** Per list (by its file path), the SimConfig item keys the file spells differently. */
const ITEM_RENAMES: Record<string, Record<string, Rename>> = {
  'devices.gpus': { vramBytes: { key: 'vram' }, barBytes: { key: 'bar' } },
  buffers: { bytes: { key: 'size' } },
  workloads: {
    strideBytes: { key: 'stride' },
    startNs: { key: 'start' },
    messageBytes: { key: 'messageSize' },
    ioctlPages: { key: 'ioctlSize', scale: 4096, unit: 'pages' },
  },
  events: { startNs: { key: 'start' } },
};

/** Maps that an override may create when the scenario has none (by file path, items as `*`). */
const CREATABLE = new Set([
  'platform',
  'platform.p2p',
  'platform.p2p.pairs',
  'devices',
  'overrides',
  'devices.gpus.*.link',
]);

/** Keys of the maps an override may walk through, for a message when one is misspelt. */
const MAP_KEYS: Record<string, readonly string[]> = {
  '': FILE_TOP,
  platform: ['ram', 'cpuCores', 'thp', 'iommu', 'p2p', 'pci'],
  'platform.p2p': ['default', 'pairs'],
  devices: ['gpus', 'nics', 'dmirrors', 'gpuLinks'],
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A whole SimConfig item (or list of them) written as the file writes it. */
function renameItem(list: string, item: unknown, simForm: boolean): unknown {
  if (!simForm) return item;
  if (list === 'processes') return typeof item === 'string' ? { name: item } : item;
  const renames = ITEM_RENAMES[list];
  if (!isObject(item)) return item;
  const out: Record<string, unknown> = {};
  if (list === 'events' && !Object.hasOwn(item, 'kind')) out.kind = 'unplug';
  for (const [k, v] of Object.entries(item)) {
    const r = renames?.[k];
    const key = r?.key ?? k;
    const value = r?.scale !== undefined && typeof v === 'number' ? v * r.scale : v;
    Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Where an override lands in the document, with its value as the file writes it. */
export type ResolvedOverride =
  | { ok: true; path: OverridePath; value: unknown }
  | { ok: false; message: string };

const LIST_PATHS = new Set([
  'devices.gpus',
  'devices.nics',
  'devices.dmirrors',
  'devices.gpuLinks',
  'processes',
  'buffers',
  'workloads',
  'events',
]);

/**
 * Applies `o` to `doc` (mutated: the plain data of a scenario document). Returns the file path it
 * set, or why it cannot: a path the document does not have and cannot take, with a suggestion.
 */
export function applyOverride(doc: Record<string, unknown>, o: ScenarioOverride): ResolvedOverride {
  const key = o.key;
  const segs = key.split('.');
  if (segs.some((s) => s === '')) return { ok: false, message: `'${key}' is not a dotted path` };
  let simForm = false;
  let file: string[] = [];
  const first = segs[0]!;
  if (FILE_TOP.includes(first)) file = [first];
  else if (Object.hasOwn(SIM_TOP, first)) {
    file = [...SIM_TOP[first]!];
    simForm = true;
  } else {
    const guess = didYouMean(first, [...FILE_TOP, 'platform.cpuCores', ...Object.keys(SIM_TOP)]);
    return {
      ok: false,
      message: `unknown key '${first}'${guess !== undefined ? ` (did you mean '${guess}'?)` : ''}: a key is a path in the scenario file, like platform.cpuCores or devices.gpus.gpu0.vram`,
    };
  }
  if (first === 'buffers' || first === 'workloads' || first === 'processes') simForm = true; // both spell the list alike
  let value = o.value;

  // Walk: `node` is the document part at `path`; `shape` names it with list items as `*`.
  let node: unknown = doc;
  const path: OverridePath = [];
  const shape: string[] = [];
  // The file segments for the top-level key, then the rest of the user's segments.
  const rest = segs.slice(1);
  const written: string[] = [first];
  const steps: { seg: string; user: boolean }[] = [
    ...file.map((s) => ({ seg: s, user: false })),
    ...rest.map((s) => ({ seg: s, user: true })),
  ];
  for (let i = 0; i < steps.length; i++) {
    let seg = steps[i]!.seg;
    const last = i === steps.length - 1;
    const here = shape.join('.');
    const userSoFar = written.join('.');
    if (Array.isArray(node)) {
      // A list item by index, or by name (a name may hold dots: try the longest first).
      let idx = -1;
      let used = 1;
      if (/^\d+$/.test(seg)) idx = Number(seg);
      else {
        for (let n = steps.length - i; n >= 1 && idx < 0; n--) {
          const name = steps
            .slice(i, i + n)
            .map((s) => s.seg)
            .join('.');
          idx = node.findIndex((e) => isObject(e) && e.name === name);
          if (idx >= 0) used = n;
        }
      }
      if (idx < 0 || idx >= node.length) {
        const names = node
          .filter(isObject)
          .map((e) => e.name)
          .filter((n): n is string => typeof n === 'string');
        const guess = /^\d+$/.test(seg) ? undefined : didYouMean(seg, names);
        const has =
          node.length === 0
            ? 'it is empty'
            : guess !== undefined
              ? `did you mean ${userSoFar}.${guess}?`
              : `it has ${node.length} item${node.length === 1 ? '' : 's'}: ${userSoFar}.0 to ${userSoFar}.${node.length - 1}${names.length > 0 ? ` (${names.join(', ')})` : ''}`;
        return { ok: false, message: `no ${userSoFar}.${seg} in the scenario (${has})` };
      }
      for (let k = 0; k < used; k++) written.push(steps[i + k]!.seg);
      i += used - 1;
      path.push(idx);
      shape.push('*');
      if (i === steps.length - 1) {
        node[idx] = renameItem(here, value, simForm);
        return { ok: true, path, value: node[idx] };
      }
      node = node[idx];
      continue;
    }
    if (!isObject(node)) {
      return {
        ok: false,
        message: `${userSoFar} is ${describeFound(node)}, which has no '${seg}'`,
      };
    }
    // A SimConfig item key the file spells differently.
    const listPath = shape.slice(0, -1).join('.');
    if (simForm && shape.at(-1) === '*' && steps[i]!.user) {
      const r = ITEM_RENAMES[listPath]?.[seg];
      if (r !== undefined && !Object.hasOwn(node, seg)) {
        if (r.scale !== undefined && last) {
          if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
            return {
              ok: false,
              message: `expected a number of ${r.unit} (an integer >= 1), found ${describeFound(value)}`,
            };
          }
          value = value * r.scale;
        }
        seg = r.key;
      }
    }
    if (steps[i]!.user) written.push(steps[i]!.seg);
    path.push(seg);
    shape.push(seg);
    if (last) {
      if (simForm && LIST_PATHS.has(shape.join('.')) && Array.isArray(value)) {
        const list = shape.join('.');
        value = value.map((item) => renameItem(list, item, true));
      }
      Object.defineProperty(node, seg, { value, enumerable: true, writable: true, configurable: true });
      return { ok: true, path, value };
    }
    if (!Object.hasOwn(node, seg) || node[seg] === undefined || node[seg] === null) {
      const known = MAP_KEYS[shape.slice(0, -1).join('.')];
      if (known !== undefined && !known.includes(seg)) {
        const where = written.slice(0, -1).join('.');
        return {
          ok: false,
          message: `${unknownKeyMessage(seg, known)}${where === '' ? '' : ` in ${where}`}`,
        };
      }
      if (CREATABLE.has(shape.join('.'))) {
        Object.defineProperty(node, seg, { value: {}, enumerable: true, writable: true, configurable: true });
      } else {
        return { ok: false, message: `the scenario sets no ${written.join('.')}` };
      }
    }
    node = node[seg];
  }
  return { ok: false, message: `'${key}' is not a dotted path` };
}
