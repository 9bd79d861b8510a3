/**
 * Sizes and durations as a scenario file writes them: a plain number (bytes, nanoseconds) or a
 * string with a unit ("64KiB", "12.8 GiB", "2s", "150us"). Binary units only for sizes (a KiB
 * is 1024 bytes); "GB" is refused rather than guessed at.
 */

export const SIZE_UNITS: Readonly<Record<string, number>> = Object.freeze({
  B: 1,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
});

export const DURATION_UNITS: Readonly<Record<string, number>> = Object.freeze({
  ns: 1,
  us: 1e3,
  µs: 1e3,
  ms: 1e6,
  s: 1e9,
});

/** A decimal number and an optional unit, with optional blanks between. */
const QUANTITY = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([A-Za-zµ]*)\s*$/;

/** The source of the size pattern, for the JSON Schema (editors check strings with it). */
export const SIZE_PATTERN = '^\\s*(\\d+(\\.\\d+)?|\\.\\d+)\\s*(B|KiB|MiB|GiB|TiB)?\\s*$';
export const DURATION_PATTERN = '^\\s*(\\d+(\\.\\d+)?|\\.\\d+)\\s*(ns|us|µs|ms|s)?\\s*$';

export type ParsedQuantity =
  | { ok: true; value: number }
  | { ok: false; reason: 'malformed' | 'negative' | 'unit'; unit?: string; suggestion?: string };

function parseQuantity(
  input: number | string,
  units: Readonly<Record<string, number>>,
  defaultUnit: string,
  suggest: (unit: string) => string | undefined,
): ParsedQuantity {
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) return { ok: false, reason: 'malformed' };
    if (input < 0) return { ok: false, reason: 'negative' };
    return { ok: true, value: input };
  }
  const trimmed = input.trim();
  if (trimmed.startsWith('-')) {
    const r = parseQuantity(trimmed.slice(1), units, defaultUnit, suggest);
    return r.ok ? { ok: false, reason: 'negative' } : r;
  }
  const m = QUANTITY.exec(input);
  if (!m) return { ok: false, reason: 'malformed' };
  const unit = m[2] || defaultUnit;
  const scale = units[unit];
  if (scale === undefined) {
    const s = suggest(unit);
    return s === undefined
      ? { ok: false, reason: 'unit', unit }
      : { ok: false, reason: 'unit', unit, suggestion: `${m[1]}${s}` };
  }
  const value = Number(m[1]) * scale;
  if (!Number.isFinite(value)) return { ok: false, reason: 'malformed' };
  return { ok: true, value };
}

/** The unit a user probably meant by a decimal or lower-case size unit ("GB", "gib", "G"). */
function suggestSizeUnit(unit: string): string | undefined {
  const u = unit.toLowerCase();
  const map: Record<string, string> = {
    b: 'B',
    k: 'KiB',
    kb: 'KiB',
    kib: 'KiB',
    m: 'MiB',
    mb: 'MiB',
    mib: 'MiB',
    g: 'GiB',
    gb: 'GiB',
    gib: 'GiB',
    t: 'TiB',
    tb: 'TiB',
    tib: 'TiB',
  };
  return map[u];
}

function suggestDurationUnit(unit: string): string | undefined {
  const u = unit.toLowerCase();
  const map: Record<string, string> = {
    ns: 'ns',
    nsec: 'ns',
    us: 'us',
    usec: 'us',
    ms: 'ms',
    msec: 'ms',
    s: 's',
    sec: 's',
    secs: 's',
  };
  return map[u];
}

/**
 * Bytes in a size: a number of bytes, or a number with B, KiB, MiB, GiB or TiB. Fractions of a
 * byte are dropped ("12.8GiB" is 13743895347 bytes).
 */
export function parseSize(input: number | string): ParsedQuantity {
  const r = parseQuantity(input, SIZE_UNITS, 'B', suggestSizeUnit);
  if (!r.ok) return r;
  if (typeof input === 'number' && !Number.isInteger(input)) return { ok: false, reason: 'malformed' };
  return { ok: true, value: Math.floor(r.value) };
}

/** Nanoseconds in a duration: a number of ns, or a number with ns, us (or µs), ms or s. */
export function parseDuration(input: number | string): ParsedQuantity {
  const r = parseQuantity(input, DURATION_UNITS, 'ns', suggestDurationUnit);
  if (!r.ok) return r;
  return { ok: true, value: r.value };
}

/** The shortest exact binary-unit spelling of `bytes` ("2MiB", "4097B"). */
export function formatSize(bytes: number): string {
  for (const unit of ['TiB', 'GiB', 'MiB', 'KiB'] as const) {
    const scale = SIZE_UNITS[unit]!;
    if (bytes >= scale && bytes % scale === 0) return `${bytes / scale}${unit}`;
  }
  return `${bytes}B`;
}

/** `bytes` to one decimal in the largest unit it reaches ("22.1TiB"). */
export function formatSizeApprox(bytes: number): string {
  for (const unit of ['TiB', 'GiB', 'MiB', 'KiB'] as const) {
    const scale = SIZE_UNITS[unit]!;
    if (bytes >= scale) return `${Math.round((bytes / scale) * 10) / 10}${unit}`;
  }
  return `${bytes}B`;
}

/** The shortest exact spelling of `ns` ("2s", "150us", "7ns"). */
export function formatDuration(ns: number): string {
  for (const unit of ['s', 'ms', 'us'] as const) {
    const scale = DURATION_UNITS[unit]!;
    if (ns >= scale && ns % scale === 0) return `${ns / scale}${unit}`;
  }
  return `${ns}ns`;
}
