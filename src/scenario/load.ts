/**
 * Loading a scenario file: YAML (or JSON, which is YAML) text in, a validated scenario (which is
 * the configuration simulate() takes) out, or errors as data, each with the file, line and
 * column, the path in the document, and a message saying what was expected and what was found.
 * And parseConfig: a configuration built in code through the same schema.
 *
 * Pure: the caller reads the file. Never throws for bad input (parseConfig throws ConfigError).
 */
import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, type Node } from 'yaml';
import type { z } from 'zod';
import { describeFound, oneLine, scenarioErrorMap, UNKNOWN_KEYS, unknownKeyMessage } from './messages.js';
import { applyOverride, overrideLabel, parseSetArgument, type ScenarioOverride } from './overrides.js';
import {
  ConfigSchema,
  CURRENT_SCENARIO_VERSION,
  SCENARIO_VERSIONS,
  type Scenario,
  ScenarioSchemaV1,
  type SimConfig,
  type SimConfigInput,
} from './schema.js';
import { DEFAULT_MAX_WORK, estimateWork, formatCount } from './work.js';
import { MAX_NESTING_DEPTH, nestingMessage, parseBounded, tooDeepOffset } from './yaml-bounds.js';
import { aliasTargets, recursiveAliasOffset } from './yaml-cycles.js';

export { MAX_NESTING_DEPTH, MAX_YAML_ALIASES, MAX_YAML_TOKENS } from './yaml-bounds.js';

export type ScenarioPath = (string | number)[];

/**
 * One problem in a scenario file. `line` and `col` are 1-based; both are 0 for a problem with
 * no place in a file (a `--set` override: `file` is then its label, `--set k=v`).
 */
export interface ScenarioError {
  file: string;
  line: number;
  col: number;
  /** Where in the document (keys and list indexes); empty for the document itself. */
  path: ScenarioPath;
  message: string;
}

/**
 * A loaded scenario, or its errors. `config` is the scenario itself (the configuration
 * simulate() takes), typed as one.
 */
export type LoadResult =
  | { ok: true; scenario: Scenario; config: SimConfig; seed: number }
  | { ok: false; errors: ScenarioError[] };

/** The seed of a scenario that sets none. */
export const DEFAULT_SEED = 1;

/** `devices.gpus[0].vram`, `platform.p2p.pairs["gpu0:nic0"]`. */
export function formatPath(path: ScenarioPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/**
 * `file:line:col: path.to.key: message` (no path part for the document itself). An error with
 * no position (line 0: an override given on the command line) is `--set k=v: message`.
 */
export function formatScenarioError(e: ScenarioError): string {
  const path = formatPath(e.path);
  const where = e.line > 0 ? `${e.file}:${e.line}:${e.col}` : e.file;
  // One line, whatever the file name, key or value it quotes holds.
  return oneLine(`${where}: ${path === '' ? '' : `${path}: `}${e.message}`);
}

// ---- positions ----------------------------------------------------------------------------

function keyString(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

function deref(targetOf: ReadonlyMap<unknown, Node | undefined>, node: unknown): unknown {
  // An alias stands for its anchor's node; follow it (a bad alias leaves the alias itself).
  for (let i = 0; i < 8 && isAlias(node); i++) {
    const target = targetOf.get(node);
    if (!target) return node;
    node = target;
  }
  return node;
}

/**
 * The offset in the text of `path`: the value there, or its key when `at` is 'key' (or when the
 * value is empty), or the nearest enclosing node when the path goes past what the file has.
 */
function offsetOf(
  doc: Document,
  targetOf: ReadonlyMap<unknown, Node | undefined>,
  path: ScenarioPath,
  at: 'key' | 'value',
): number {
  let node: unknown = doc.contents;
  let keyNode: Node | undefined;
  let found = true;
  for (const seg of path) {
    const here = deref(targetOf, node);
    if (isMap(here)) {
      const pair = here.items.find((p) => keyString(p.key) === String(seg));
      if (!pair) {
        found = false;
        node = here;
        break;
      }
      keyNode = isScalar(pair.key) || isMap(pair.key) || isSeq(pair.key) ? (pair.key as Node) : undefined;
      node = pair.value ?? keyNode;
    } else if (isSeq(here) && typeof seg === 'number' && seg < here.items.length) {
      keyNode = undefined;
      node = here.items[seg];
    } else {
      found = false;
      node = here;
      break;
    }
  }
  const target = found && at === 'key' && keyNode ? keyNode : (node as Node | null | undefined);
  const range = target?.range ?? keyNode?.range;
  return range ? range[0] : 0;
}

/** The path of the innermost node at `offset` (for YAML syntax errors). */
function pathAt(doc: Document, offset: number): ScenarioPath {
  const path: ScenarioPath = [];
  let node: unknown = doc.contents;
  for (let depth = 0; depth < 64; depth++) {
    if (isMap(node)) {
      const pair = node.items.find((p) => {
        const k = p.key as Node | null;
        const v = p.value as Node | null;
        const start = k?.range?.[0] ?? v?.range?.[0] ?? -1;
        const end = v?.range?.[2] ?? k?.range?.[2] ?? -1;
        return offset >= start && offset < end;
      });
      if (!pair) break;
      path.push(keyString(pair.key));
      const v = pair.value as Node | null;
      if (!v?.range || offset < v.range[0]) break;
      node = v;
    } else if (isSeq(node)) {
      const i = node.items.findIndex((n) => {
        const r = (n as Node | null)?.range;
        return r != null && offset >= r[0] && offset < r[2];
      });
      if (i < 0) break;
      path.push(i);
      node = node.items[i];
    } else break;
  }
  return path;
}

// ---- loading ------------------------------------------------------------------------------

interface Located {
  path: ScenarioPath;
  message: string;
  at: 'key' | 'value';
}

/** zod issues as located messages: one per unknown key, each pointing at its key. */
function fromIssues(issues: readonly z.core.$ZodIssue[]): Located[] {
  const out: Located[] = [];
  for (const iss of issues) {
    const path = iss.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    if (iss.code === 'unrecognized_keys' && iss.message.startsWith(UNKNOWN_KEYS)) {
      let allowed: string[] = [];
      try {
        allowed = JSON.parse(iss.message.slice(UNKNOWN_KEYS.length)) as string[];
      } catch {
        allowed = [];
      }
      for (const key of iss.keys) {
        out.push({ path: [...path, key], message: unknownKeyMessage(key, allowed), at: 'key' });
      }
      continue;
    }
    const at = iss.code === 'custom' && iss.params?.at === 'key' ? 'key' : 'value';
    out.push({ path, message: iss.message, at });
  }
  // 'vrma' for 'vram' is one mistake: keep "unknown key 'vrma' (did you mean 'vram'?)" and drop
  // "missing required key 'vram'" beside it.
  const meant = new Set<string>();
  for (const l of out) {
    const m = /^unknown key '.*' \(did you mean '(.*)'\?\)$/.exec(l.message);
    if (m) meant.add(JSON.stringify([...l.path.slice(0, -1), m[1]]));
  }
  return out.filter(
    (l) => !(l.message.startsWith('missing required key') && meant.has(JSON.stringify(l.path))),
  );
}

/** At most this many errors are reported for one file; a last one says how many more there were. */
export const MAX_REPORTED_ERRORS = 100;

function yamlMessage(
  e: { code: string; message: string; pos: [number, number] },
  text: string,
  lineOf: (offset: number) => number,
  what: string,
): string {
  const first = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?\s*$/, '');
  if (e.code === 'DUPLICATE_KEY') {
    const key = /^[^:\n]*/.exec(text.slice(e.pos[0]))![0].trim();
    return `duplicate key '${key}' (keys must be unique)`;
  }
  if (e.code === 'MULTIPLE_DOCS') {
    return `${what} file holds one YAML document; found a second at line ${lineOf(e.pos[0])} (a '---' line starts one)`;
  }
  if (e.code === 'RESOURCE_EXHAUSTION' && /call stack/i.test(first)) {
    // parseBounded keeps the composer within MAX_NESTING_DEPTH; kept as a last defence.
    return nestingMessage(MAX_NESTING_DEPTH);
  }
  return `YAML: ${first}`;
}

/**
 * A YAML text parsed but not validated: the plain data, and where each part is in the text (for
 * errors). What loadScenario and the sweep loader apply overrides to.
 */
export interface ParsedText {
  file: string;
  /** The document as plain data (a map: anything else is an error before this). */
  data: Record<string, unknown>;
  /** The error at `path` in the text (its value, or its key when `at` is 'key'). */
  errorAt(path: ScenarioPath, message: string, at?: 'key' | 'value'): ScenarioError;
}

/** Line and column (1-based, in UTF-16 units as LineCounter gives them) of `offset` in `text`. */
function lineColAt(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: offset - start + 1 };
}

/** Strips a UTF-8 byte order mark (a file read as UTF-8 starts with U+FEFF then). */
function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Parses YAML (or JSON) `text` into plain data with positions: one document of at most
 * MAX_YAML_TOKENS tokens and MAX_YAML_ALIASES aliases, a map, nested at most MAX_NESTING_DEPTH
 * levels (aliases followed), aliases' expansion capped; each limit is an error at the place it
 * is passed. `what` names the kind of file in messages ("a scenario", "a race file", "a
 * sweep").
 */
export function parseYamlText(
  text: string,
  file: string,
  what = 'a scenario',
): { ok: true; parsed: ParsedText } | { ok: false; errors: ScenarioError[] } {
  text = withoutBom(text);
  const lineCounter = new LineCounter();
  // Tokens, aliases and nesting depth are counted while parsing, before anything is composed.
  const bounded = parseBounded(text, lineCounter);
  if (!bounded.ok) {
    return {
      ok: false,
      errors: [{ file, ...lineColAt(text, bounded.offset), path: [], message: bounded.message }],
    };
  }
  const doc = bounded.doc;
  const pos = (offset: number) => {
    const p = lineCounter.linePos(Math.max(0, Math.min(offset, text.length)));
    return { line: Math.max(1, p.line), col: Math.max(1, p.col) };
  };
  const errorAtOffset = (offset: number, path: ScenarioPath, message: string): ScenarioError => ({
    file,
    ...pos(offset),
    path,
    message,
  });

  // The first syntax error only: after one, a parser's further complaints mostly echo it.
  const syntax = [...doc.errors, ...doc.warnings].sort((a, b) => a.pos[0] - b.pos[0])[0];
  if (syntax !== undefined) {
    // No path: the parser notices a problem where it stops making sense, which may be a line
    // after the mistake, and the node there need not be the one at fault. (A duplicate key is
    // exact: it has its path.)
    const path = syntax.code === 'DUPLICATE_KEY' ? pathAt(doc, syntax.pos[0]) : [];
    const message = yamlMessage(syntax, text, (o) => pos(o).line, what.replace(/^an? /, 'a '));
    return { ok: false, errors: [errorAtOffset(syntax.pos[0], path, message)] };
  }
  // Each alias's node, found once (yaml's Alias.resolve walks the whole document per call).
  const targets = aliasTargets(doc);
  const targetOf = new Map<unknown, Node | undefined>(targets);
  // The depth again on the composed document, following aliases (see tooDeepOffset).
  const deep = tooDeepOffset(doc, MAX_NESTING_DEPTH, targets);
  if (deep !== undefined) {
    return { ok: false, errors: [errorAtOffset(deep, [], nestingMessage(MAX_NESTING_DEPTH))] };
  }
  const cycle = recursiveAliasOffset(doc, targets);
  if (cycle !== undefined) {
    return {
      ok: false,
      errors: [
        errorAtOffset(
          cycle,
          pathAt(doc, cycle),
          'an alias inside the node its anchor names makes circular data, which hmmlab does not read',
        ),
      ],
    };
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    // At the first alias without an anchor, or else the last alias.
    let offset = 0;
    for (const [alias, target] of targets) {
      offset = alias.range?.[0] ?? 0;
      if (target === undefined) break;
    }
    return {
      ok: false,
      errors: [errorAtOffset(offset, pathAt(doc, offset), `YAML: ${(e as Error).message}`)],
    };
  }

  if (data === null || data === undefined) {
    return {
      ok: false,
      errors: [
        errorAtOffset(
          0,
          [],
          `the file is empty: expected ${what}, a map starting with version: ${CURRENT_SCENARIO_VERSION}`,
        ),
      ],
    };
  }
  if (typeof data !== 'object' || Array.isArray(data)) {
    return {
      ok: false,
      errors: [
        errorAtOffset(
          offsetOf(doc, targetOf, [], 'value'),
          [],
          `expected ${what} (a map), found ${describeFound(data)}`,
        ),
      ],
    };
  }
  return {
    ok: true,
    parsed: {
      file,
      data: data as Record<string, unknown>,
      errorAt: (path, message, at = 'value') =>
        errorAtOffset(offsetOf(doc, targetOf, path, at), path, message),
    },
  };
}

/** Errors sorted by position, duplicates dropped, at most MAX_REPORTED_ERRORS of them. */
function tidy(errors: ScenarioError[]): ScenarioError[] {
  const seen = new Set<string>();
  const out = errors
    .filter((e) => {
      const k = formatScenarioError(e);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort((a, b) => a.line - b.line || a.col - b.col);
  if (out.length <= MAX_REPORTED_ERRORS) return out;
  const more = out.length - MAX_REPORTED_ERRORS;
  const last = out[MAX_REPORTED_ERRORS - 1]!;
  return [
    ...out.slice(0, MAX_REPORTED_ERRORS),
    { ...last, path: [], message: `... and ${more} more error${more === 1 ? '' : 's'}` },
  ];
}

/**
 * Validates parsed `data` with the parser of its `version`: the version checks, then the schema.
 * `locate` places an issue (the file's position, or an override's).
 */
function validateVersioned<T>(
  data: Record<string, unknown>,
  versions: Record<number, (data: unknown) => z.ZodSafeParseResult<T>>,
  locate: (path: ScenarioPath, message: string, at: 'key' | 'value') => ScenarioError,
  format = 'scenario',
): { ok: true; data: T } | { ok: false; errors: ScenarioError[] } {
  const version = data.version;
  const reads = `this hmmlab reads ${format} version ${format === 'scenario' ? SCENARIO_VERSIONS.join(', ') : Object.keys(versions).join(', ')}`;
  if (version === undefined) {
    return { ok: false, errors: [locate([], `missing required key 'version' (${reads})`, 'value')] };
  }
  const parse =
    typeof version === 'number' && Object.hasOwn(versions, version) ? versions[version] : undefined;
  if (!parse) {
    const message =
      typeof version === 'number'
        ? `unsupported version ${version}: ${reads}${version > CURRENT_SCENARIO_VERSION ? ' (a file for a newer hmmlab?)' : ''}`
        : `expected a version number, found ${describeFound(version)} (${reads})`;
    return { ok: false, errors: [locate(['version'], message, 'value')] };
  }
  const r = parse(data);
  if (!r.success) {
    return {
      ok: false,
      errors: tidy(fromIssues(r.error.issues).map((l) => locate(l.path, l.message, l.at))),
    };
  }
  return { ok: true, data: r.data };
}

/**
 * Parses YAML (or JSON) `text` and validates it with the parser of its `version`, giving
 * errors with file:line:col and the document path. Shared by scenario files, race files and
 * cost profile files; `what` names the expected document and `format` the versioned format in
 * messages.
 */
export function loadVersioned<T>(
  text: string,
  file: string,
  versions: Record<number, (data: unknown) => z.ZodSafeParseResult<T>>,
  what = 'a scenario',
  format = 'scenario',
): { ok: true; data: T } | { ok: false; errors: ScenarioError[] } {
  const p = parseYamlText(text, file, what);
  if (!p.ok) return p;
  return validateVersioned(p.parsed.data, versions, p.parsed.errorAt, format);
}

const VERSIONS: Record<number, (data: unknown) => z.ZodSafeParseResult<Scenario>> = {
  // A newer format adds its schema here and migrates the older ones' results to the newest.
  1: (data) => ScenarioSchemaV1.safeParse(data, { error: scenarioErrorMap }),
};

/** What loadScenario takes besides the text. */
export interface LoadOptions {
  /**
   * Overrides applied to the document before it is validated (`--set key=value` strings or
   * records). Errors at a path an override set name the override.
   */
  sets?: readonly (string | ScenarioOverride)[];
  /**
   * The most simulated work (page accesses, see estimateWork) the scenario may ask for; default
   * DEFAULT_MAX_WORK, Infinity for no limit.
   */
  maxWork?: number;
  /**
   * How an error elsewhere in the file names the overrides in effect (default: their labels,
   * "with --set a=1, --set b=2").
   */
  context?: string;
}

/** A scenario file parsed and validated as it is, ready for overrides (the sweep loader's base). */
export interface PreparedScenario {
  parsed: ParsedText;
  scenario: Scenario;
}

/** Parses and validates `text` without overrides; errors as loadScenario gives them. */
export function prepareScenario(
  text: string,
  file: string,
): { ok: true; base: PreparedScenario } | { ok: false; errors: ScenarioError[] } {
  return guarded(file, () => {
    const p = parseYamlText(text, file);
    if (!p.ok) return p;
    const r = validateVersioned(p.parsed.data, VERSIONS, p.parsed.errorAt);
    if (!r.ok) return r;
    return { ok: true, base: { parsed: p.parsed, scenario: r.data } };
  });
}

/** The result, or an internal error as data: a CLI prints it instead of a stack. */
function guarded<T extends { ok: boolean }>(
  file: string,
  f: () => T | { ok: false; errors: ScenarioError[] },
) {
  try {
    return f();
  } catch (e) {
    // A bug in the loader, not in the file.
    return {
      ok: false as const,
      errors: [
        {
          file,
          line: 1,
          col: 1,
          path: [],
          message: `internal error in the scenario loader: ${(e as Error)?.message ?? String(e)}`,
        },
      ],
    };
  }
}

function startsWith(path: ScenarioPath, prefix: ScenarioPath): boolean {
  return prefix.length <= path.length && prefix.every((s, i) => s === path[i]);
}

/**
 * Applies `overrides` to a prepared scenario and validates the result as a whole, with the same
 * schema and messages as the file. An error at (or under) a path an override set is reported
 * at the override (its sweep position, or its label); any other error at its place in the file,
 * naming the overrides in effect. Then the work guard (estimateWork against maxWork).
 */
export function applyOverrides(
  base: PreparedScenario,
  overrides: readonly ScenarioOverride[],
  options: Omit<LoadOptions, 'sets'> = {},
): LoadResult {
  const { parsed } = base;
  return guarded(parsed.file, (): LoadResult => {
    const context = options.context ?? `with ${overrides.map(overrideLabel).join(', ')}`;
    let scenario = base.scenario;
    const setPaths: { path: ScenarioPath; o: ScenarioOverride }[] = [];
    const atOverride = (o: ScenarioOverride, path: ScenarioPath, target: ScenarioPath, message: string) => {
      const inner = path.length > target.length ? `${formatPath(path)}: ` : '';
      if (o.at !== undefined) return { ...o.at, message: `${overrideLabel(o)}: ${inner}${message}` };
      return {
        file: overrideLabel(o),
        line: 0,
        col: 0,
        path: path.length > target.length ? path : [],
        message,
      };
    };
    if (overrides.length > 0) {
      const data = structuredClone(parsed.data);
      const errors: ScenarioError[] = [];
      for (const o of overrides) {
        const r = applyOverride(data, o);
        if (!r.ok) errors.push(atOverride(o, [], [], r.message));
        else setPaths.push({ path: r.path, o });
      }
      if (errors.length > 0) return { ok: false, errors };
      const locate = (path: ScenarioPath, message: string, at: 'key' | 'value'): ScenarioError => {
        // The last override whose path holds this one set the value at fault.
        for (let i = setPaths.length - 1; i >= 0; i--) {
          const s = setPaths[i]!;
          if (startsWith(path, s.path)) return atOverride(s.o, path, s.path, message);
        }
        return parsed.errorAt(path, `${message} (${context})`, at);
      };
      const r = validateVersioned(data, VERSIONS, locate);
      if (!r.ok) return r;
      scenario = r.data;
    }
    const maxWork = options.maxWork ?? DEFAULT_MAX_WORK;
    const work = estimateWork(scenario);
    if (work.total > maxWork) {
      const w = work.workloads.reduce((a, b) => (b.estimate > a.estimate ? b : a));
      const totalNote =
        work.workloads.length > 1 ? `; all workloads together: ${formatCount(work.total)}` : '';
      const message =
        `workload '${w.name}' would simulate about ${formatCount(w.estimate)} page accesses (${w.detail})${totalNote}; ` +
        `the limit is ${formatCount(maxWork)} (raise it with --max-work, or make the workload smaller)`;
      const path: ScenarioPath = ['workloads', w.index];
      return {
        ok: false,
        errors: [parsed.errorAt(path, overrides.length > 0 ? `${message} (${context})` : message, 'value')],
      };
    }
    return { ok: true, scenario, config: scenario, seed: scenario.seed ?? DEFAULT_SEED };
  });
}

/** `--set` strings and override records as records (a malformed string is an error). */
export function overridesOf(
  sets: readonly (string | ScenarioOverride)[],
): { ok: true; overrides: ScenarioOverride[] } | { ok: false; errors: ScenarioError[] } {
  const overrides: ScenarioOverride[] = [];
  const errors: ScenarioError[] = [];
  for (const s of sets) {
    if (typeof s !== 'string') overrides.push(s);
    else {
      const o = parseSetArgument(s);
      if ('error' in o)
        errors.push({ file: '--set', line: 0, col: 0, path: [], message: o.error.replace(/^--set /, '') });
      else overrides.push(o);
    }
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, overrides };
}

/**
 * Parses and validates scenario `text` (YAML or JSON); `file` names it in errors. With
 * `options.sets`, applies the overrides to the document and validates the whole again (see
 * applyOverrides); then checks the simulated work against `options.maxWork`. Returns the
 * scenario (which is the configuration simulate() takes) and its seed, or every error found
 * (sorted by position). Never throws.
 */
export function loadScenario(text: string, file: string, options: LoadOptions = {}): LoadResult {
  const sets = overridesOf(options.sets ?? []);
  if (!sets.ok) return sets;
  const p = prepareScenario(text, file);
  if (!p.ok) return p;
  return applyOverrides(p.base, sets.overrides, options);
}

// ---- configurations built in code ------------------------------------------------------------

/** One problem parseConfig found: where in the configuration, and what is wrong. */
export interface ConfigIssue {
  path: ScenarioPath;
  message: string;
}

/**
 * Thrown by parseConfig (and so by simulate()) for a configuration the schema refuses: every
 * problem it found, each with its path, as the scenario loader words them. The message has
 * one `path: message` line per issue.
 */
export class ConfigError extends Error {
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(
      issues.map((i) => (i.path.length === 0 ? i.message : `${formatPath(i.path)}: ${i.message}`)).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/**
 * Runs a configuration built in code through the scenario schema (ConfigSchema: the file's
 * keys, sizes and durations as numbers or strings like '64MiB', `profile` a built-in name, a
 * profile file path or a CostProfile object) and returns the SimConfig simulate() takes.
 * Parsing a SimConfig again gives an equal one. Throws ConfigError listing every problem.
 *
 *   const config = parseConfig({ version: 1, profile: 'pcie5-h100',
 *     devices: { gpus: [{ name: 'gpu0', vram: '1GiB' }] }, buffers: [{ name: 'b', size: '64MiB' }],
 *     workloads: [{ kind: 'gpu', name: 'k0', gpu: 'gpu0', buffer: 'b', op: 'read', pattern: 'sequential' }] });
 */
export function parseConfig(input: SimConfigInput): SimConfig {
  const r = ConfigSchema.safeParse(input, { error: scenarioErrorMap });
  if (r.success) return r.data;
  throw new ConfigError(fromIssues(r.error.issues).map((l) => ({ path: l.path, message: l.message })));
}
