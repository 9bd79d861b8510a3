/**
 * Error messages for scenario files, in one style: "expected <what>, found <what was there>",
 * "unknown key 'vrma' (did you mean 'vram'?)", "missing required key 'vram'". zod's issues are
 * turned into these by an error map passed to safeParse, so every issue's message is final text
 * and the loader only adds the file position.
 */
import type { z } from 'zod';
import { didYouMean } from '../util/did-you-mean.js';

/**
 * `s` with its control characters (and the Unicode line and paragraph separators) written as
 * escapes (\n, \t, \u0001), so that a message that quotes user text (a `--set` argument, a
 * key, an option value) stays on one line.
 */
export function oneLine(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  return s.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** How a value found in the file reads in a message: 'BUS', 42, true, a list, a map. */
export function describeFound(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null (an empty value)';
  if (typeof v === 'string') {
    const s = v.length > 60 ? `${v.slice(0, 57)}...` : v;
    return `'${s.replace(/\n/g, '\\n')}'`;
  }
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return '.nan';
    if (v === Number.POSITIVE_INFINITY) return '.inf';
    if (v === Number.NEGATIVE_INFINITY) return '-.inf';
    return String(v);
  }
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return v.length === 0 ? 'an empty list' : 'a list';
  if (typeof v === 'object') return 'a map';
  return typeof v;
}

/** A list of alternatives as a message writes them: "a, b, c". */
export function oneOf(values: readonly unknown[]): string {
  const items = values.map((v) => (typeof v === 'string' ? v : String(v)));
  return items.join(', ');
}

/** " (did you mean 'x'?)" when `input` is close to one of `candidates`, else "". */
export function didYouMeanSuffix(input: unknown, candidates: readonly string[]): string {
  if (typeof input !== 'string' || input === '') return '';
  const guess = didYouMean(input, candidates);
  return guess !== undefined && guess !== input ? ` (did you mean '${guess}'?)` : '';
}

const EXPECTED_TYPE: Record<string, string> = {
  number: 'a number',
  int: 'an integer',
  string: 'a string',
  boolean: 'true or false',
  object: 'a map',
  array: 'a list',
  record: 'a map',
  null: 'null',
};

/**
 * Marks the message of an unrecognized_keys issue: the loader splits it into one error per key,
 * each pointing at its key. The rest of the message is JSON: the keys the object allows.
 */
export const UNKNOWN_KEYS = '\u0000unknown-keys:';

/** The message for one unknown key, given the keys its object allows. */
export function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  // A typo ('vrma'), or the start of a longer key ('huge' for 'hugepage').
  const guess =
    didYouMean(key, allowed) ??
    (key.length >= 3 ? allowed.find((a) => a.toLowerCase().startsWith(key.toLowerCase())) : undefined);
  if (guess !== undefined) return `unknown key '${key}' (did you mean '${guess}'?)`;
  return allowed.length > 0
    ? `unknown key '${key}' (expected one of ${oneOf(allowed)})`
    : `unknown key '${key}'`;
}

type RawIssue = z.core.$ZodRawIssue;

function shapeKeys(inst: unknown): string[] {
  const def = (inst as { _zod?: { def?: { shape?: Record<string, unknown> } } })._zod?.def;
  return def?.shape ? Object.keys(def.shape) : [];
}

function bound(origin: unknown, isInt: boolean): string {
  if (origin === 'number' || origin === 'int') return isInt ? 'an integer' : 'a number';
  return 'a value';
}

/** The message of a zod issue that has none of its own (passed to safeParse as `error`). */
export function scenarioErrorMap(iss: RawIssue): string {
  const input = iss.input;
  const last = iss.path && iss.path.length > 0 ? iss.path[iss.path.length - 1] : undefined;
  if (
    input === undefined &&
    typeof last === 'string' &&
    (iss.code === 'invalid_type' || iss.code === 'invalid_union' || iss.code === 'invalid_value')
  ) {
    const u = iss as { discriminator?: string };
    if (u.discriminator === undefined) return `missing required key '${last}'`;
  }
  switch (iss.code) {
    case 'invalid_type': {
      const isInt = (iss.inst as { isInt?: boolean } | undefined)?.isInt === true;
      const expected = isInt ? EXPECTED_TYPE.int : (EXPECTED_TYPE[iss.expected] ?? iss.expected);
      return `expected ${expected}, found ${describeFound(input)}`;
    }
    case 'invalid_value': {
      const values = iss.values as readonly unknown[];
      const strings = values.filter((v): v is string => typeof v === 'string');
      if (values.length === 1) return `expected ${String(values[0])}, found ${describeFound(input)}`;
      return `expected one of ${oneOf(values)}, found ${describeFound(input)}${didYouMeanSuffix(input, strings)}`;
    }
    case 'too_small': {
      const min = Number(iss.minimum);
      if (iss.origin === 'array') {
        const n = Array.isArray(input) ? input.length : 0;
        return `expected at least ${min} item${min === 1 ? '' : 's'}, found ${n}`;
      }
      if (iss.origin === 'string') return `expected a non-empty string, found ${describeFound(input)}`;
      const isInt = Number.isInteger(input) && Number.isInteger(min);
      return `expected ${bound(iss.origin, isInt)} ${iss.inclusive ? '>=' : '>'} ${min}, found ${describeFound(input)}`;
    }
    case 'too_big': {
      const max = Number(iss.maximum);
      if (iss.origin === 'array') {
        const n = Array.isArray(input) ? input.length : 0;
        return `expected at most ${max} item${max === 1 ? '' : 's'}, found ${n}`;
      }
      if (iss.origin === 'string') return `expected at most ${max} characters`;
      const isInt = Number.isInteger(input) && Number.isInteger(max);
      return `expected ${bound(iss.origin, isInt)} ${iss.inclusive ? '<=' : '<'} ${max}, found ${describeFound(input)}`;
    }
    case 'not_multiple_of':
      return `expected a multiple of ${String(iss.divisor)}, found ${describeFound(input)}`;
    case 'invalid_format':
      return `expected a string matching ${String((iss as { pattern?: unknown }).pattern ?? iss.format)}, found ${describeFound(input)}`;
    case 'unrecognized_keys':
      return `${UNKNOWN_KEYS}${JSON.stringify(shapeKeys(iss.inst))}`;
    case 'invalid_union': {
      const u = iss as { discriminator?: string; options?: unknown[]; errors?: RawIssue[][] };
      if (u.discriminator !== undefined) {
        const options = (u.options ?? []).map(String);
        // zod reports a bad discriminator at the discriminator's own path with the object as input.
        const found =
          typeof input === 'object' && input !== null && !Array.isArray(input)
            ? (input as Record<string, unknown>)[u.discriminator]
            : input;
        if (found === undefined)
          return `missing required key '${u.discriminator}' (one of ${oneOf(options)})`;
        return `expected one of ${oneOf(options)}, found ${describeFound(found)}${didYouMeanSuffix(found, options)}`;
      }
      const expected = new Set<string>();
      for (const branch of u.errors ?? []) {
        const first = branch[0] as { code?: string; expected?: string } | undefined;
        if (first?.code === 'invalid_type' && first.expected) {
          expected.add(EXPECTED_TYPE[first.expected] ?? first.expected);
        }
      }
      const list = [...expected];
      const what =
        list.length > 1 ? `${list.slice(0, -1).join(', ')} or ${list.at(-1)}` : (list[0] ?? 'a valid value');
      return `expected ${what}, found ${describeFound(input)}`;
    }
    case 'invalid_key':
      return `invalid key ${describeFound(input)}`;
    case 'invalid_element':
      return `invalid element ${describeFound(input)}`;
    default:
      return `invalid value, found ${describeFound(input)}`;
  }
}
