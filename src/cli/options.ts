/**
 * Strict parsers for the command line's option values. Each bad value throws OptionError with
 * one line naming the option and the value; the CLI prints it and exits 2. Numbers are plain
 * decimal digits: no sign, no hex (`0x1`), no exponent (`1e1`), no fraction, no spaces, no
 * leading zeros, never empty.
 */
import { DESIGN_NAMES, type DesignName } from '../designs/design.js';
import { didYouMeanSuffix } from '../scenario/messages.js';
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
 * A decimal integer from `min` to `max`. `what` completes "<option> must be ..." when the
 * default ("an integer from min to max") says too little.
 */
export function parseInteger(option: string, value: string, min: number, max: number, what?: string): number {
  const n = DECIMAL.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
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

/** The items of a comma-separated list; an empty list or an empty item is an error. */
function listItems(option: string, value: string, what: string): string[] {
  if (value.trim() === '') throw new OptionError(`${option} needs a comma-separated list of ${what}, not ''`);
  const items = value.split(',').map((x) => x.trim());
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

/** Run ids (`1,5`): positive decimal integers, comma-separated, none twice. */
export function parseRunIds(option: string, value: string): number[] {
  const items = listItems(option, value, 'run ids (see hmmlab runs)');
  const ids = items.map((x) => {
    const n = DECIMAL.test(x) ? Number(x) : Number.NaN;
    if (Number.isSafeInteger(n) && n >= 1) return n;
    throw new OptionError(
      items.length === 1
        ? `${option} must list run ids (positive decimal integers, see hmmlab runs), not ${shown(value)}`
        : `${option}: ${shown(x)} in ${shown(value)} is not a run id (a positive decimal integer, see hmmlab runs)`,
    );
  });
  noDuplicates(option, value, ids);
  return ids;
}

/** True when a `report` argument is meant as run ids rather than a file name: digits and commas. */
export function looksLikeRunIds(value: string): boolean {
  return /^[0-9\s,]+$/.test(value) && /[0-9]/.test(value);
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

/** `--shard i/n`: decimal i and n, 1 <= i <= n. */
export function parseShardOption(value: string): Shard {
  const m = /^([0-9]+)\/([0-9]+)$/.exec(value);
  if (!m || !DECIMAL.test(m[1]!) || !DECIMAL.test(m[2]!)) {
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
