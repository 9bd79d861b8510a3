/**
 * Sweep files: a scenario and the parameter values to run it with, as a grid (a cartesian
 * product) or a list of points, expanded into one SimConfig per run.
 *
 * ```yaml
 * version: 1
 * scenario: ../scenarios/rdma-into-gpu.yaml     # relative to the sweep file
 * designs: [upstream, pagemap-p2p]              # optional axis: config.design
 * seeds: [1, 2]                                 # optional axis: the simulation seed
 * grid:                                         # SimConfig paths and their values
 *   "overrides.faultBatchSize": [64, 256]
 *   "gpus.0.faultBatchSize": [128]              # or gpus.gpu0.faultBatchSize
 * # list:                                       # instead of grid: explicit points
 * #   - { "overrides.faultBatchSize": 64, design: upstream, seed: 3 }
 * ```
 *
 * Parsing is pure (the caller reads files) and returns errors as data, as
 * `file:line:col: path: message` like the scenario loader; loadSweepFile() does the reading.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { z } from 'zod';
import { DESIGN_NAMES, type DesignName } from '../designs/design.js';
import { type ProfileChoice, resolveConfigProfile } from '../profile/index.js';
import {
  DEFAULT_SEED,
  formatScenarioError,
  loadScenario,
  type ScenarioError,
  type ScenarioPath,
} from '../scenario/index.js';
import { describeFound, scenarioErrorMap, UNKNOWN_KEYS, unknownKeyMessage } from '../scenario/messages.js';
import { parseDuration, parseSize } from '../scenario/units.js';
import {
  type BufferConfig,
  type CpuWorkload,
  type DmirrorWorkload,
  type GpuConfig,
  type GpuWorkload,
  type NicConfig,
  type RdmaWorkload,
  type SimConfig,
  SimConfigError,
  type UnplugEvent,
  validateConfig,
} from '../sim/simulate.js';

/** The sweep format versions this hmmlab reads. */
export const SWEEP_VERSIONS = [1] as const;

/** A list point's value for a key: anything YAML can write. */
const anyValue = z.unknown();

/** Sweep format version 1 (see the module comment). */
export const SweepSchemaV1 = z
  .strictObject({
    version: z.literal(1),
    name: z.string().max(200).optional(),
    description: z.string().optional(),
    /** The scenario file, relative to the sweep file. */
    scenario: z.string().min(1),
    /** Designs to run each point under (sets config.design). */
    designs: z
      .array(z.enum(DESIGN_NAMES as [DesignName, ...DesignName[]]))
      .min(1)
      .optional(),
    /** Seeds to run each point with. */
    seeds: z.array(z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)).min(1).optional(),
    /** SimConfig path -> values; every combination is a point (the first key varies slowest). */
    grid: z.record(z.string().min(1), z.array(anyValue).min(1)).optional(),
    /** Explicit points: SimConfig path -> value (plus `seed`). */
    list: z
      .array(z.record(z.string().min(1), anyValue))
      .min(1)
      .optional(),
  })
  .superRefine((s, ctx) => {
    if (s.grid !== undefined && s.list !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['list'], message: 'give either grid or list, not both' });
    }
    const points: [ScenarioPath, Record<string, unknown>][] = [];
    if (s.grid !== undefined) points.push([['grid'], s.grid]);
    s.list?.forEach((p, i) => {
      points.push([['list', i], p]);
    });
    for (const [path, point] of points) {
      for (const [axis, key] of [
        ['designs', 'design'],
        ['seeds', 'seed'],
      ] as const) {
        if (s[axis] !== undefined && Object.hasOwn(point, key)) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, key],
            message: `'${key}' is already an axis (${axis}): set it in one place`,
            params: { at: 'key' },
          });
        }
      }
    }
  });

/** A parsed sweep file. */
export type Sweep = z.output<typeof SweepSchemaV1>;

/** One run of a sweep. */
export interface SweepPoint {
  /** Position in the sweep's deterministic order, from 0. */
  index: number;
  /** config.design (the SimConfig's default, 'upstream', when it sets none). */
  design: DesignName;
  seed: number;
  /** What this point set: SimConfig path -> value (`design` from the designs axis included). */
  params: Record<string, unknown>;
  /** The full configuration; it passed validateConfig. */
  config: SimConfig;
}

/** A problem expanding a sweep; `path` is where in the sweep file (e.g. ['grid', key]). */
export class SweepExpandError extends Error {
  constructor(
    message: string,
    readonly path: ScenarioPath,
    readonly at: 'key' | 'value' = 'value',
  ) {
    super(message);
    this.name = 'SweepExpandError';
  }
}

// ---- setting SimConfig paths ---------------------------------------------------------------

/** Keys of each SimConfig object; `satisfies` keeps these lists in step with the interfaces. */
const t = true as const;
const SIM_KEYS = Object.keys({
  profile: t,
  overrides: t,
  ramBytes: t,
  cpuCores: t,
  thp: t,
  gpus: t,
  processes: t,
  buffers: t,
  workloads: t,
  nics: t,
  dmirrors: t,
  gpuLinks: t,
  unplugs: t,
  design: t,
  rfcLockPerPage: t,
  p2p: t,
  pci: t,
  iommu: t,
  durationNs: t,
} satisfies Record<keyof SimConfig, true>);
const GPU_KEYS = Object.keys({
  name: t,
  vramBytes: t,
  faultBatchSize: t,
  chunkSizes: t,
  prefetch: t,
  thrashing: t,
  link: t,
  socket: t,
  barBytes: t,
  placement: t,
} satisfies Record<keyof GpuConfig, true>);
const WORKLOAD_KEYS = Object.keys({
  kind: t,
  name: t,
  buffer: t,
  op: t,
  pattern: t,
  bytes: t,
  strideBytes: t,
  passes: t,
  after: t,
  startNs: t,
  nsPerPage: t,
  gpu: t,
  bytesPerNs: t,
  nic: t,
  messageBytes: t,
  messages: t,
  queueDepth: t,
  dmirror: t,
  ioctlPages: t,
} satisfies Record<keyof CpuWorkload | keyof GpuWorkload | keyof RdmaWorkload | keyof DmirrorWorkload, true>);

/** Keys allowed by the shape of each object, by its path with list indexes as `*`. */
const SHAPES: Record<string, readonly string[] | 'any'> = {
  '': SIM_KEYS,
  overrides: 'any',
  'gpus.*': GPU_KEYS,
  'gpus.*.link': ['kind', 'gen', 'lanes'],
  'buffers.*': Object.keys({ name: t, bytes: t, hugepage: t, place: t, process: t } satisfies Record<
    keyof BufferConfig,
    true
  >),
  'workloads.*': WORKLOAD_KEYS,
  'dmirrors.*': ['name', 'minor'],
  'nics.*': Object.keys({
    name: t,
    fallback: t,
    socket: t,
    ats: t,
    relaxedOrdering: t,
  } satisfies Record<keyof NicConfig, true>),
  'unplugs.*': Object.keys({
    name: t,
    gpu: t,
    mode: t,
    after: t,
    startNs: t,
  } satisfies Record<keyof UnplugEvent, true>),
  'gpuLinks.*': ['a', 'b'],
  p2p: ['default', 'pairs'],
  'p2p.pairs': 'any',
};
/** Optional maps that a path may create when the scenario has none. */
const CREATABLE = new Set(['overrides', 'p2p', 'p2p.pairs']);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value for `key` as SimConfig wants it: size strings for *Bytes, durations for *Ns. */
function coerce(key: string, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const parse = /bytes$/i.test(key) ? parseSize : /Ns$/.test(key) ? parseDuration : undefined;
  if (!parse) return value;
  const r = parse(value);
  return r.ok ? r.value : value;
}

/**
 * Sets the dotted SimConfig path `key` to `value` in `config` (mutated). Numeric segments index
 * lists; a name indexes a list of named things (`gpus.gpu0.faultBatchSize`). Throws an Error
 * saying what is wrong for a path that the config doesn't have and can't take.
 */
export function setConfigPath(config: SimConfig, key: string, value: unknown): void {
  const segs = key.split('.');
  let node: unknown = config;
  const shape: string[] = [];
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    const here = segs.slice(0, i).join('.');
    const last = i === segs.length - 1;
    if (Array.isArray(node)) {
      let idx = /^\d+$/.test(seg) ? Number(seg) : node.findIndex((e) => isObject(e) && e.name === seg);
      if (idx < 0 || idx >= node.length) {
        const names = node
          .filter(isObject)
          .map((e) => e.name)
          .filter((n) => typeof n === 'string');
        const has =
          node.length === 0
            ? 'it is empty'
            : `it has ${node.length} item${node.length === 1 ? '' : 's'}: ${here}.0 to ${here}.${node.length - 1}${names.length > 0 ? ` (${names.join(', ')})` : ''}`;
        throw new Error(`'${key}': no ${here}.${seg} in the scenario (${has})`);
      }
      idx = Math.trunc(idx);
      shape.push('*');
      if (last) {
        node[idx] = value;
        return;
      }
      node = node[idx];
    } else if (isObject(node)) {
      const allowed = SHAPES[shape.join('.')];
      const exists = Object.hasOwn(node, seg);
      if (!exists && (allowed === undefined || (allowed !== 'any' && !allowed.includes(seg)))) {
        const where = here === '' ? 'the config' : here;
        const keys = allowed ?? Object.keys(node);
        throw new Error(`'${key}': ${unknownKeyMessage(seg, keys)} in ${where}`);
      }
      shape.push(seg);
      if (last) {
        const v = coerce(seg, value);
        const old = node[seg];
        if (old !== undefined && v !== undefined && typeof old !== typeof v) {
          throw new Error(
            `'${key}': expected ${typeof old === 'object' ? (Array.isArray(old) ? 'a list' : 'a map') : `a ${typeof old}`} like the scenario's value, found ${describeFound(v)}`,
          );
        }
        node[seg] = v;
        return;
      }
      if (node[seg] === undefined && CREATABLE.has(shape.join('.'))) node[seg] = {};
      if (node[seg] === undefined) {
        throw new Error(`'${key}': the scenario sets no ${[here, seg].filter((s) => s !== '').join('.')}`);
      }
      node = node[seg];
    } else {
      throw new Error(`'${key}': ${here} is ${describeFound(node)}, which has no '${seg}'`);
    }
  }
}

// ---- expansion -----------------------------------------------------------------------------

function cartesian(axes: [string, unknown[]][]): Record<string, unknown>[] {
  let out: Record<string, unknown>[] = [{}];
  for (const [key, values] of axes) {
    const next: Record<string, unknown>[] = [];
    for (const p of out) for (const v of values) next.push({ ...p, [key]: v });
    out = next;
  }
  return out;
}

function describePoint(params: Record<string, unknown>, seed: number): string {
  const parts = Object.entries(params).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return [...parts, `seed=${seed}`].join(', ');
}

/**
 * The runs of `sweep` over `base` (the scenario's SimConfig, not modified), in a deterministic
 * order: designs (outermost), then grid combinations (first key slowest) or list points in file
 * order, then seeds (innermost). Seeds default to `baseSeed`. Throws SweepExpandError for a
 * path the config doesn't have, or a point whose config fails validateConfig (naming it).
 */
export function expandSweep(sweep: Sweep, base: SimConfig, baseSeed: number = DEFAULT_SEED): SweepPoint[] {
  const sets: { params: Record<string, unknown>; at: ScenarioPath }[] =
    sweep.list !== undefined
      ? sweep.list.map((p, i) => ({ params: p, at: ['list', i] }))
      : cartesian(Object.entries(sweep.grid ?? {})).map((params) => ({
          params,
          at: sweep.grid === undefined ? [] : ['grid'],
        }));
  const designs: (DesignName | undefined)[] = sweep.designs ?? [undefined];
  const out: SweepPoint[] = [];
  for (const design of designs) {
    for (const { params: set, at } of sets) {
      const params: Record<string, unknown> = design === undefined ? {} : { design };
      let pointSeed: number | undefined;
      for (const [k, v] of Object.entries(set)) {
        if (k === 'seed') {
          if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
            throw new SweepExpandError(`expected a seed (an integer >= 0), found ${describeFound(v)}`, [
              ...at,
              'seed',
            ]);
          }
          pointSeed = v;
        } else params[k] = v;
      }
      for (const seed of sweep.seeds ?? [pointSeed ?? baseSeed]) {
        const config = structuredClone(base);
        for (const [k, v] of Object.entries(params)) {
          try {
            setConfigPath(config, k, v);
          } catch (e) {
            const where: ScenarioPath = k === 'design' && design !== undefined ? ['designs'] : [...at, k];
            throw new SweepExpandError((e as Error).message, where, 'key');
          }
        }
        try {
          validateConfig(config);
        } catch (e) {
          if (!(e instanceof SimConfigError)) throw e;
          throw new SweepExpandError(
            `point ${out.length} (${describePoint(params, seed)}): ${e.message}`,
            at,
          );
        }
        out.push({ index: out.length, design: config.design ?? 'upstream', seed, params, config });
      }
    }
  }
  return out;
}

// ---- parsing -------------------------------------------------------------------------------

/** The result of parseSweep: the sweep, and where a path of it is in the file (for errors). */
export type SweepParseResult =
  | {
      ok: true;
      sweep: Sweep;
      errorAt: (path: ScenarioPath, message: string, at?: 'key' | 'value') => ScenarioError;
    }
  | { ok: false; errors: ScenarioError[] };

/**
 * Parses and validates sweep `text` (YAML or JSON); `file` names it in errors. Pure; never
 * throws for bad input.
 */
export function parseSweep(text: string, file: string): SweepParseResult {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const errorAt = (path: ScenarioPath, message: string, at: 'key' | 'value' = 'value'): ScenarioError => {
    let node: unknown = doc.contents;
    let target: Node | undefined = node as Node | undefined;
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find(
          (p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg),
        );
        if (!pair) break;
        node = pair.value;
        target = (at === 'key' && seg === path.at(-1) ? pair.key : (pair.value ?? pair.key)) as Node;
      } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
        node = node.items[seg];
        target = node as Node;
      } else break;
    }
    const p = lineCounter.linePos(target?.range?.[0] ?? 0);
    return { file, line: Math.max(1, p.line), col: Math.max(1, p.col), path, message };
  };

  const syntax = [...doc.errors, ...doc.warnings].sort((a, b) => a.pos[0] - b.pos[0])[0];
  if (syntax !== undefined) {
    const p = lineCounter.linePos(syntax.pos[0]);
    const message = `YAML: ${syntax.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?\s*$/, '')}`;
    return {
      ok: false,
      errors: [{ file, line: Math.max(1, p.line), col: Math.max(1, p.col), path: [], message }],
    };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    return { ok: false, errors: [errorAt([], `YAML: ${(e as Error).message}`)] };
  }
  if (!isObject(data)) {
    return {
      ok: false,
      errors: [errorAt([], `expected a sweep (a map with version: 1), found ${describeFound(data)}`)],
    };
  }
  if (data.version !== 1) {
    const message =
      data.version === undefined
        ? `missing required key 'version' (this hmmlab reads sweep version ${SWEEP_VERSIONS.join(', ')})`
        : `unsupported sweep version ${describeFound(data.version)} (this hmmlab reads ${SWEEP_VERSIONS.join(', ')})`;
    return { ok: false, errors: [errorAt(data.version === undefined ? [] : ['version'], message)] };
  }
  const r = SweepSchemaV1.safeParse(data, { error: scenarioErrorMap });
  if (r.success) return { ok: true, sweep: r.data, errorAt };
  const errors: ScenarioError[] = [];
  for (const iss of r.error.issues) {
    const path = iss.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    if (iss.code === 'unrecognized_keys' && iss.message.startsWith(UNKNOWN_KEYS)) {
      let allowed: string[] = [];
      try {
        allowed = JSON.parse(iss.message.slice(UNKNOWN_KEYS.length)) as string[];
      } catch {}
      for (const key of iss.keys)
        errors.push(errorAt([...path, key], unknownKeyMessage(key, allowed), 'key'));
    } else {
      errors.push(
        errorAt(path, iss.message, iss.code === 'custom' && iss.params?.at === 'key' ? 'key' : 'value'),
      );
    }
  }
  return { ok: false, errors: errors.sort((a, b) => a.line - b.line || a.col - b.col) };
}

/** A sweep file loaded with its scenario and expanded. */
export type SweepLoadResult =
  | {
      ok: true;
      sweep: Sweep;
      scenarioFile: string;
      points: SweepPoint[];
      /** The profile read from a file or named by `opts.profile`, to record with stored runs. */
      profile: ProfileChoice | undefined;
    }
  | { ok: false; errors: ScenarioError[] };

/**
 * Reads the sweep file `file`, the scenario it names (relative to it) and its cost profile
 * (`opts.profile`, a `--profile` value; or a profile file the scenario names), and expands it.
 * Errors (the sweep's, the scenario's, the profile's, or a point's) come back as data; print
 * them with formatProfileError. Never throws for bad input.
 */
export async function loadSweepFile(file: string, opts: { profile?: string } = {}): Promise<SweepLoadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return {
      ok: false,
      errors: [{ file, line: 1, col: 1, path: [], message: `cannot read: ${(e as Error).message}` }],
    };
  }
  const parsed = parseSweep(text, file);
  if (!parsed.ok) return parsed;
  const scenarioFile = resolve(dirname(file), parsed.sweep.scenario);
  let scenarioText: string;
  try {
    scenarioText = await readFile(scenarioFile, 'utf8');
  } catch (e) {
    return {
      ok: false,
      errors: [parsed.errorAt(['scenario'], `cannot read the scenario: ${(e as Error).message}`)],
    };
  }
  const scenario = loadScenario(scenarioText, scenarioFile);
  if (!scenario.ok) return scenario;
  // The profile: `opts.profile` (--profile), or a profile file the scenario names.
  const prof = resolveConfigProfile(scenario.config, scenarioFile, opts.profile, scenarioText);
  if (!prof.ok) return prof;
  try {
    const points = expandSweep(parsed.sweep, prof.config, scenario.seed);
    return { ok: true, sweep: parsed.sweep, scenarioFile, points, profile: prof.choice };
  } catch (e) {
    if (!(e instanceof SweepExpandError)) throw e;
    return { ok: false, errors: [parsed.errorAt(e.path, e.message, e.at)] };
  }
}

export { formatScenarioError as formatSweepError };
