/**
 * Sweep files: a scenario and the parameter values to run it with, as a grid (a cartesian
 * product) or a list of points, expanded into one SimConfig per run.
 *
 * ```yaml
 * version: 1
 * scenario: ../scenarios/rdma-into-gpu.yaml     # relative to the sweep file
 * designs: [upstream, pagemap-p2p]              # optional axis: config.design
 * seeds: [1, 2]                                 # optional axis: the simulation seed
 * grid:                                         # scenario paths and their values
 *   "overrides.faultBatchSize": [64, 256]
 *   "devices.gpus.gpu0.faultBatchSize": [128]   # or gpus.0.faultBatchSize (a SimConfig path)
 * # list:                                       # instead of grid: explicit points
 * #   - { "overrides.faultBatchSize": 64, design: upstream, seed: 3 }
 * ```
 *
 * Keys are what `--set` takes (src/scenario/overrides.ts): scenario-file paths with list items by
 * name or index, or SimConfig paths. Each point's values are applied to the scenario document and
 * the whole is validated like the file. Parsing is pure (the caller reads files) and returns
 * errors as data, as `file:line:col: path: message` like the scenario loader; loadSweepFile()
 * does the reading.
 */
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { DESIGN_NAMES, type DesignName } from '../designs/design.js';
import { type ProfileChoice, readProfileRef, resolveConfigProfile } from '../profile/index.js';
import {
  applyOverrides,
  DEFAULT_SEED,
  formatScenarioError,
  type PreparedScenario,
  parseYamlText,
  prepareScenario,
  type ScenarioError,
  type ScenarioPath,
} from '../scenario/load.js';
import { describeFound, scenarioErrorMap, UNKNOWN_KEYS, unknownKeyMessage } from '../scenario/messages.js';
import type { ScenarioOverride } from '../scenario/overrides.js';
import { DEFAULT_MAX_FILE_BYTES, readInputFile } from '../scenario/read.js';
import { isProfileName } from '../sim/costs.js';
import type { SimConfig } from '../sim/simulate.js';

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
      .max(64)
      .optional(),
    /** Seeds to run each point with. */
    seeds: z.array(z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)).min(1).max(10_000).optional(),
    /** Scenario path -> values; every combination is a point (the first key varies slowest). */
    grid: z.record(z.string().min(1), z.array(anyValue).min(1).max(10_000)).optional(),
    /** Explicit points: scenario path -> value (plus `seed`). */
    list: z
      .array(z.record(z.string().min(1), anyValue))
      .min(1)
      .max(100_000)
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
  /** What this point set: path -> value as the sweep wrote it (`design` from the designs axis included). */
  params: Record<string, unknown>;
  /** The full configuration; its scenario passed the scenario schema and the work guard. */
  config: SimConfig;
  /**
   * The profile file this point names (`profile: [./my.yaml]` in a grid or list), read when the
   * sweep was loaded, to record with its stored run; undefined for a built-in or no profile.
   */
  profile?: ProfileChoice;
}

// ---- expansion -----------------------------------------------------------------------------

/** The most runs one sweep file may expand into (checked before any is built). */
export const MAX_SWEEP_POINTS = 100_000;

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

/** What expandSweep takes besides the sweep and its scenario. */
export interface ExpandOptions {
  /** The seed of points that set none and of a sweep without seeds (default the scenario's). */
  baseSeed?: number;
  /** Where a path of the sweep file is (parseSweep gives it); without it errors have no position. */
  errorAt?: (path: ScenarioPath, message: string, at?: 'key' | 'value') => ScenarioError;
  /** The work guard of each point (loadScenario's maxWork). */
  maxWork?: number;
  /** The most points (default MAX_SWEEP_POINTS). */
  maxPoints?: number;
  /** A `--profile` value (a built-in name, or a file relative to the working directory). */
  profile?: string;
}

export type ExpandResult = { ok: true; points: SweepPoint[] } | { ok: false; errors: ScenarioError[] };

/** The number of runs a sweep expands into, without building them. */
export function countSweepPoints(sweep: Sweep): number {
  const sets =
    sweep.list !== undefined
      ? sweep.list.length
      : Object.values(sweep.grid ?? {}).reduce((n, values) => n * values.length, 1);
  return (sweep.designs?.length ?? 1) * sets * (sweep.seeds?.length ?? 1);
}

/**
 * The runs of `sweep` over the scenario `base`, in a deterministic order: designs (outermost),
 * then grid combinations (first key slowest) or list points in file order, then seeds
 * (innermost). Each point's values are applied to the scenario document as overrides and the
 * whole is validated like the file (src/scenario/load.ts applyOverrides): an error at a value
 * the point set is reported at its grid key or list entry in the sweep file, naming the point;
 * any other at its place in the scenario file. Pure; errors as data.
 */
export function expandSweep(sweep: Sweep, base: PreparedScenario, options: ExpandOptions = {}): ExpandResult {
  const errorAt =
    options.errorAt ??
    ((path: ScenarioPath, message: string): ScenarioError => ({
      file: 'sweep',
      line: 0,
      col: 0,
      path,
      message,
    }));
  const maxPoints = options.maxPoints ?? MAX_SWEEP_POINTS;
  const count = countSweepPoints(sweep);
  if (count > maxPoints) {
    const where: ScenarioPath =
      sweep.list !== undefined ? ['list'] : sweep.grid !== undefined ? ['grid'] : ['seeds'];
    return {
      ok: false,
      errors: [
        errorAt(
          where,
          `the sweep has ${count} points; at most ${maxPoints} are allowed (split it into several sweep files)`,
          'key',
        ),
      ],
    };
  }
  const baseSeed = options.baseSeed ?? base.scenario.seed ?? DEFAULT_SEED;
  const sets: { params: Record<string, unknown>; at: ScenarioPath; grid: boolean }[] =
    sweep.list !== undefined
      ? sweep.list.map((p, i) => ({ params: p, at: ['list', i], grid: false }))
      : cartesian(Object.entries(sweep.grid ?? {})).map((params) => ({
          params,
          at: sweep.grid === undefined ? [] : ['grid'],
          grid: true,
        }));
  const designs: (DesignName | undefined)[] = sweep.designs ?? [undefined];
  const out: SweepPoint[] = [];
  for (const design of designs) {
    for (const { params: set, at, grid } of sets) {
      const params: Record<string, unknown> = design === undefined ? {} : { design };
      let pointSeed: number | undefined;
      for (const [k, v] of Object.entries(set)) {
        if (k === 'seed') {
          // The bounds of the seeds axis and of the scenario's seed: the Rng takes safe integers.
          if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > Number.MAX_SAFE_INTEGER) {
            const bound =
              typeof v === 'number' && v > Number.MAX_SAFE_INTEGER ? `<= ${Number.MAX_SAFE_INTEGER}` : '>= 0';
            return {
              ok: false,
              errors: [
                errorAt([...at, 'seed'], `expected a seed (an integer ${bound}), found ${describeFound(v)}`),
              ],
            };
          }
          pointSeed = v;
        } else params[k] = v;
      }
      const seeds = sweep.seeds ?? [pointSeed ?? baseSeed];
      const label = `point ${out.length} (${describePoint(params, seeds[0]!)})`;
      const where = (path: ScenarioPath) => {
        const e = errorAt(path, '', 'key');
        return { file: e.file, line: e.line, col: e.col, path };
      };
      const overrides: ScenarioOverride[] = Object.entries(params).map(([key, value]) => ({
        key,
        value,
        label,
        at: where(
          key === 'design' && design !== undefined ? ['designs'] : grid ? [...at, key] : [...at, key],
        ),
      }));
      const first = where(at);
      const r = applyOverrides(base, overrides, {
        maxWork: options.maxWork,
        context: `with ${label} of the sweep ${first.file}${first.line > 0 ? `:${first.line}:${first.col}` : ''}`,
      });
      if (!r.ok) return r;
      for (const seed of seeds) {
        const config = structuredClone(r.config);
        out.push({ index: out.length, design: config.design ?? 'upstream', seed, params, config });
      }
    }
  }
  return { ok: true, points: out };
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
  const p = parseYamlText(text, file, 'a sweep');
  if (!p.ok) return p;
  const { data, errorAt } = p.parsed;
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
      scenarioText: string;
      points: SweepPoint[];
      /** The profile read from a file or named by `profile` (--profile), to record with stored runs. */
      profile: ProfileChoice | undefined;
    }
  | { ok: false; errors: ScenarioError[] };

/** Limits of loadSweepFile. */
export interface SweepLoadOptions {
  /** The largest sweep or scenario file read (default DEFAULT_MAX_FILE_BYTES). */
  maxFileBytes?: number;
  /** The work guard of each point (default DEFAULT_MAX_WORK). */
  maxWork?: number;
  /** The most points (default MAX_SWEEP_POINTS). */
  maxPoints?: number;
  /** A `--profile` value (a built-in name, or a file relative to the working directory). */
  profile?: string;
}

/**
 * Reads the sweep file `file`, the scenario it names (relative to it) and its cost profile
 * (`opts.profile`, a `--profile` value; or a profile file the scenario names), and expands it.
 * Errors (the sweep's, the scenario's, the profile's, or a point's) come back as data; print
 * them with formatProfileError. Never throws for bad input.
 */
export async function loadSweepFile(file: string, options: SweepLoadOptions = {}): Promise<SweepLoadResult> {
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const read = readInputFile(file, maxBytes);
  if (!read.ok) return { ok: false, errors: [read.error] };
  const parsed = parseSweep(read.text, file);
  if (!parsed.ok) return parsed;
  const scenarioFile = resolve(dirname(file), parsed.sweep.scenario);
  const scenarioRead = readInputFile(scenarioFile, maxBytes);
  if (!scenarioRead.ok) {
    const e = scenarioRead.error;
    return {
      ok: false,
      errors: [
        e.message.startsWith('cannot read:')
          ? parsed.errorAt(
              ['scenario'],
              `cannot read the scenario: ${e.message.slice('cannot read: '.length)}`,
            )
          : e,
      ],
    };
  }
  const scenario = prepareScenario(scenarioRead.text, scenarioFile);
  if (!scenario.ok) return scenario;
  // The profile: `options.profile` (--profile), or a profile file the scenario names; every
  // point runs with it unless the point sets a profile of its own.
  const prof = resolveConfigProfile(scenario.base.scenario, scenarioFile, options.profile, scenarioRead.text);
  if (!prof.ok) return prof;
  const r = expandSweep(parsed.sweep, scenario.base, {
    errorAt: parsed.errorAt,
    maxWork: options.maxWork,
    maxPoints: options.maxPoints,
  });
  if (!r.ok) return r;
  // Profile files the points name (relative to the sweep file, where they are written), each
  // read once before any run, with its place in the sweep file when it cannot be read.
  const pointProfiles = readPointProfiles(parsed.sweep, dirname(file), parsed.errorAt);
  if (!pointProfiles.ok) return pointProfiles;
  const choice = prof.choice;
  const points = r.points.map((p): SweepPoint => {
    if (!Object.hasOwn(p.params, 'profile')) {
      return choice === undefined ? p : { ...p, config: { ...p.config, profile: choice.profile } };
    }
    const own = pointProfiles.byRef.get(p.params.profile as string);
    return own === undefined ? p : { ...p, config: { ...p.config, profile: own.profile }, profile: own };
  });
  return {
    ok: true,
    sweep: parsed.sweep,
    scenarioFile,
    scenarioText: scenarioRead.text,
    points,
    profile: choice,
  };
}

/**
 * The profile files a sweep's grid or list names, read (size, encoding and schema checked) and
 * keyed by the value as written; built-in names are left to the scenario schema. An unreadable
 * or invalid file is an error at the value's place in the sweep file.
 */
function readPointProfiles(
  sweep: Sweep,
  baseDir: string,
  errorAt: (path: ScenarioPath, message: string, at?: 'key' | 'value') => ScenarioError,
): { ok: true; byRef: Map<string, ProfileChoice> } | { ok: false; errors: ScenarioError[] } {
  const refs: { ref: string; at: ScenarioPath }[] = [];
  const grid = sweep.grid?.profile;
  if (Array.isArray(grid))
    grid.forEach((v, i) => {
      refs.push({ ref: v as string, at: ['grid', 'profile', i] });
    });
  sweep.list?.forEach((p, i) => {
    if (Object.hasOwn(p, 'profile')) refs.push({ ref: p.profile as string, at: ['list', i, 'profile'] });
  });
  const byRef = new Map<string, ProfileChoice>();
  const errors: ScenarioError[] = [];
  for (const { ref, at } of refs) {
    if (typeof ref !== 'string' || isProfileName(ref) || byRef.has(ref)) continue;
    const where = errorAt(at, '');
    const r = readProfileRef(ref, baseDir, { file: where.file, line: where.line, col: where.col, path: at });
    if (r.ok) byRef.set(ref, r.choice);
    else errors.push(...r.errors);
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, byRef };
}

export { formatScenarioError as formatSweepError };
