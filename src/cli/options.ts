/**
 * Strict parsers for the command line's option values. Each bad value throws OptionError with
 * one line naming the option and the value; the CLI prints it and exits 2. Every integer goes
 * through one parser (decimalInteger): plain decimal digits, no sign, no hex (`0x1`), no
 * exponent (`1e1`), no fraction, no spaces, no leading zeros, never empty, at most 2^53 - 1
 * (the largest integer a double holds exactly). Sizes add a binary unit (`100MiB`) to the same
 * digits; `--max-work` also takes the word `unlimited`.
 */
import { DESIGN_NAMES, type DesignName } from '../designs/design.js';
import { didYouMeanSuffix } from '../scenario/messages.js';
import { DEFAULT_MAX_FILE_BYTES } from '../scenario/read.js';
import { parseSize, SIZE_UNITS } from '../scenario/units.js';
import { parseShard, type Shard, ShardSpecError } from '../sweep/index.js';

/** A bad option value: the message names the option and the value. */
export class OptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptionError';
  }
}

/** The largest seed: every integer up to it is exact in a double (2^53 - 1). */
export const MAX_SEED = Number.MAX_SAFE_INTEGER;

const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** `'x'` with JSON's escapes, so an empty or odd value shows plainly in a message. */
function shown(value: string): string {
  return `'${JSON.stringify(value).slice(1, -1)}'`;
}

/**
 * The one integer parser: `value` as a number when it is plain decimal digits (no sign, no
 * leading zero, no blank) of at most 2^53 - 1, else undefined.
 */
export function decimalInteger(value: string): number | undefined {
  if (!DECIMAL.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * A decimal integer from `min` to `max`. `what` completes "<option> must be ..." when the
 * default ("an integer from min to max") says too little.
 */
export function parseInteger(option: string, value: string, min: number, max: number, what?: string): number {
  const n = decimalInteger(value) ?? Number.NaN;
  if (!(n >= min && n <= max)) {
    throw new OptionError(
      `${option} must be ${what ?? `a decimal integer from ${min} to ${max}`}, not ${shown(value)}`,
    );
  }
  return n;
}

/** A seed: a decimal integer from 0 to 2^53 - 1. */
export function parseSeed(option: string, value: string): number {
  return parseInteger(option, value, 0, MAX_SEED);
}

/** A count of at least 1 (--random, --max-states, --max-depth), at most `max`. */
export function parseCount(option: string, value: string, max = MAX_SEED): number {
  return parseInteger(option, value, 1, max);
}

/** The most worker threads `sweep --jobs` takes. */
export const MAX_JOBS = 256;

/** `--jobs n`: 1 to MAX_JOBS. */
export function parseJobs(value: string): number {
  return parseCount('--jobs', value, MAX_JOBS);
}

/** `--port n`: 0 to 65535 (0: any free port). */
export function parsePort(value: string): number {
  return parseInteger('--port', value, 0, 65535, 'an integer from 0 to 65535 (0: any free port)');
}

/** `--max-work n`: page accesses, 1 to 2^53 - 1, or `unlimited` (Infinity). */
export function parseMaxWork(value: string): number {
  if (value === 'unlimited') return Number.POSITIVE_INFINITY;
  return parseInteger(
    '--max-work',
    value,
    1,
    Number.MAX_SAFE_INTEGER,
    "a positive integer (page accesses, in decimal digits) or 'unlimited'",
  );
}

/** A size on the command line: decimal digits and an optional binary unit (B, KiB, MiB, GiB, TiB). */
const SIZE = /^([0-9]+)(B|KiB|MiB|GiB|TiB)?$/;

/**
 * A size option (`100MiB`, `1048576`) in bytes, from `min` to `max`: the digits as any integer
 * option's, then the unit. `what` completes "<option> must be ...".
 */
export function parseSizeOption(
  option: string,
  value: string,
  min: number,
  max: number,
  what: string,
): number {
  const m = SIZE.exec(value);
  const n = m ? decimalInteger(m[1]!) : undefined;
  const bytes = n === undefined ? Number.NaN : n * SIZE_UNITS[m![2] ?? 'B']!;
  if (!(Number.isSafeInteger(bytes) && bytes >= min && bytes <= max)) {
    // A near-miss unit ("1MB", "4gib"): name the one meant.
    const unit = /^[0-9]+([A-Za-z]+)$/.test(value) ? parseSize(value) : undefined;
    const hint = unit && !unit.ok && unit.suggestion ? ` (did you mean '${unit.suggestion}'?)` : '';
    throw new OptionError(`${option} must be ${what}, not ${shown(value)}${hint}`);
  }
  return bytes;
}

/** `--max-file-size size`: 1B to 2GiB; absent, the default (1MiB). */
export function parseMaxFileSize(value: string | undefined): number {
  if (value === undefined) return DEFAULT_MAX_FILE_BYTES;
  return parseSizeOption(
    '--max-file-size',
    value,
    1,
    2 ** 31,
    'a size from 1B to 2GiB in decimal digits with an optional unit B, KiB, MiB or GiB (like 4MiB)',
  );
}

/**
 * The items of a comma-separated list; an empty list or an empty item is an error. `trim`
 * drops blanks around items (names); numbers keep them, so that they are refused.
 */
function listItems(option: string, value: string, what: string, trim = true): string[] {
  if (value.trim() === '') {
    throw new OptionError(`${option} needs a comma-separated list of ${what}, not ${shown(value)}`);
  }
  const items = value.split(',').map((x) => (trim ? x.trim() : x));
  const empty = items.indexOf('');
  if (empty >= 0) {
    throw new OptionError(`${option}: item ${empty + 1} of ${shown(value)} is empty`);
  }
  return items;
}

/** A duplicate in a list is an error (a listed run or design counts once, so say so). */
function noDuplicates(option: string, value: string, items: readonly (string | number)[]): void {
  const seen = new Set<string | number>();
  for (const x of items) {
    if (seen.has(x)) throw new OptionError(`${option}: ${x} is listed twice in ${shown(value)}`);
    seen.add(x);
  }
}

/** What a run id list is, for messages. */
const RUN_ID_LIST = 'run ids are positive decimal integers separated by commas, like 3,4 (see hmmlab runs)';

/** Run ids (`1,5`): positive decimal integers, comma-separated, no blanks, none twice; no ranges. */
export function parseRunIds(option: string, value: string): number[] {
  const items = listItems(option, value, 'run ids (see hmmlab runs)', false);
  const ids = items.map((x) => {
    const n = decimalInteger(x);
    if (n !== undefined && n >= 1) return n;
    // A range (3-5) is a natural guess: say how to write it.
    const range = /^([1-9][0-9]*)-([1-9][0-9]*)$/.exec(x);
    const hint =
      range && Number(range[2]) > Number(range[1]) && Number(range[2]) - Number(range[1]) < 10
        ? `; ranges are not taken: list them (${Array.from({ length: Number(range[2]) - Number(range[1]) + 1 }, (_, i) => Number(range[1]) + i).join(',')})`
        : range
          ? '; ranges are not taken: list the ids'
          : '';
    throw new OptionError(
      items.length === 1
        ? `${option}: ${shown(value)} is not a run id list: ${RUN_ID_LIST}${hint}`
        : `${option}: ${shown(value)} is not a run id list: ${shown(x)} is not a run id (a positive decimal integer, see hmmlab runs)${hint}`,
    );
  });
  noDuplicates(option, value, ids);
  return ids;
}

/**
 * True when a `report` argument that names no file is meant as run ids rather than a scenario
 * file: it starts with a digit, a sign or a blank before a digit, and has no folder and no
 * scenario file extension. Such an argument is then parsed strictly (parseRunIds), so `0x1`,
 * `1-3` or `1e1` is refused as "not a run id list" rather than looked for as a file.
 */
export function looksLikeRunIds(value: string): boolean {
  return /^\s*[+-]?[0-9]/.test(value) && !/[/\\]/.test(value) && !/\.(ya?ml|json)$/i.test(value);
}

/** One design name, with a did-you-mean for a near miss. */
export function parseDesign(option: string, value: string): DesignName {
  if ((DESIGN_NAMES as readonly string[]).includes(value)) return value as DesignName;
  throw new OptionError(
    `${option}: unknown design ${shown(value)}${didYouMeanSuffix(value, DESIGN_NAMES)} (known: ${DESIGN_NAMES.join(', ')})`,
  );
}

/** A comma-separated design list: each a known design, none twice, no empty item. */
export function parseDesignList(option: string, value: string): DesignName[] {
  const designs = listItems(option, value, `designs (${DESIGN_NAMES.join(', ')})`).map((d) =>
    parseDesign(option, d),
  );
  noDuplicates(option, value, designs);
  return designs;
}

/**
 * A comma-separated list of names, each one of `known` (with a did-you-mean for a near miss),
 * none twice, no empty item. `what` names the items in messages ("inputs").
 */
export function parseNameList(
  option: string,
  value: string,
  known: readonly string[],
  what: string,
): string[] {
  const names = listItems(option, value, what);
  for (const n of names) {
    if (!known.includes(n)) {
      throw new OptionError(
        `${option}: unknown ${what.replace(/s$/, '')} ${shown(n)}${didYouMeanSuffix(n, known)}`,
      );
    }
  }
  noDuplicates(option, value, names);
  return names;
}

/** One of a few words (`--metric time`), with a did-you-mean for a near miss. */
export function parseChoice<T extends string>(option: string, value: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new OptionError(
    `${option} must be one of ${choices.join(', ')}, not ${shown(value)}${didYouMeanSuffix(value, choices)}`,
  );
}

/** `--shard i/n`: decimal i and n, 1 <= i <= n. */
export function parseShardOption(value: string): Shard {
  const m = /^([0-9]+)\/([0-9]+)$/.exec(value);
  if (!m || decimalInteger(m[1]!) === undefined || decimalInteger(m[2]!) === undefined) {
    throw new OptionError(
      `--shard: expected i/n in decimal digits (like 2/4: the second of 4 shards), not ${shown(value)}`,
    );
  }
  try {
    return parseShard(value);
  } catch (e) {
    if (e instanceof ShardSpecError) throw new OptionError(`--shard: ${e.message}`);
    throw e;
  }
}
