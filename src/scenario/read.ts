/**
 * Reading an input file (a scenario, a sweep, a race file): one helper for all of them, so each
 * is checked the same way before it is parsed. The size is checked before anything is read (a
 * scenario is a few KiB; a 50 MB file is a mistake, and parsing it would take the process's
 * memory). The bytes must be UTF-8: a UTF-8 byte order mark is dropped; UTF-16 (a FE FF or FF FE
 * byte order mark, or NUL bytes) and bytes that are not UTF-8 are refused with their position,
 * rather than decoded into garbled text.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { ScenarioError } from './load.js';
import { formatSize } from './units.js';

/** The default largest input file: 1 MiB (the largest shipped scenario is about 12 KiB). */
export const DEFAULT_MAX_FILE_BYTES = 2 ** 20;

/**
 * The text, or the problem: as a ScenarioError (`file:1:1: cannot read: ENOENT`, `file:3:7: the
 * file holds a NUL byte ...`) and as the one line a command prints (`cannot read file: ENOENT`).
 */
export type ReadResult = { ok: true; text: string } | { ok: false; error: ScenarioError; message: string };

function fail(file: string, message: string, line = 1, col = 1): ReadResult {
  const printed = message.startsWith('cannot read: ')
    ? `cannot read ${file}: ${message.slice('cannot read: '.length)}`
    : `${file}:${line}:${col}: ${message}`;
  return { ok: false, error: { file, line, col, path: [], message }, message: printed };
}

/** Line and column (1-based, in characters) of byte `offset` of `bytes`. */
function positionOf(bytes: Uint8Array, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      start = i + 1;
    }
  }
  const col = new TextDecoder('utf-8').decode(bytes.subarray(start, offset)).length + 1;
  return { line, col };
}

/**
 * The text of `bytes` read as UTF-8 (a byte order mark dropped), or an error at the first byte
 * that is not text. `file` names it in errors.
 */
export function decodeInput(bytes: Uint8Array, file: string): ReadResult {
  if (
    bytes.length >= 2 &&
    ((bytes[0] === 0xfe && bytes[1] === 0xff) || (bytes[0] === 0xff && bytes[1] === 0xfe))
  ) {
    return fail(file, 'the file is UTF-16 (it starts with a UTF-16 byte order mark); save it as UTF-8');
  }
  const nul = bytes.indexOf(0);
  if (nul >= 0) {
    const p = positionOf(bytes, nul);
    return fail(
      file,
      'the file holds a NUL byte: it is not UTF-8 text (a UTF-16 or binary file?); save it as UTF-8',
      p.line,
      p.col,
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    // Find the first bad byte for the position: decode growing prefixes would be quadratic, so
    // check sequences by hand.
    const bad = firstInvalidUtf8(bytes);
    const p = positionOf(bytes, bad);
    return fail(
      file,
      `the file is not UTF-8 (byte 0x${bytes[bad]!.toString(16).padStart(2, '0')} at offset ${bad}); save it as UTF-8`,
      p.line,
      p.col,
    );
  }
  return { ok: true, text };
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence. */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    const n =
      c < 0x80 ? 0 : c >= 0xc2 && c < 0xe0 ? 1 : c >= 0xe0 && c < 0xf0 ? 2 : c >= 0xf0 && c < 0xf5 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return i;
    }
    const seq = new TextDecoder('utf-8', { fatal: true });
    try {
      seq.decode(b.subarray(i, i + n + 1));
    } catch {
      return i; // overlong or surrogate
    }
    i += n + 1;
  }
  return Math.max(0, b.length - 1);
}

/**
 * Reads `file` as UTF-8 text, refusing a file larger than `maxBytes` before reading it (and a
 * file that grows past it while being read, or a device that never ends). Errors are data with
 * the file's name, like a scenario's.
 */
export function readInputFile(file: string, maxBytes: number = DEFAULT_MAX_FILE_BYTES): ReadResult {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    return fail(file, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) return fail(file, 'cannot read: it is a directory');
    const tooLarge = (size: string) =>
      fail(
        file,
        `the file is ${size}, over the limit of ${formatSize(maxBytes)} for an input file (raise it with --max-file-size)`,
      );
    if (st.size > maxBytes) return tooLarge(`${st.size} bytes`);
    // Read at most maxBytes + 1 bytes, whatever stat said (a pipe or /dev/zero says 0).
    const cap = Math.min(maxBytes + 1, Math.max(st.size + 1, 64 * 1024));
    let buf = new Uint8Array(cap);
    let len = 0;
    for (;;) {
      if (len === buf.length) {
        if (buf.length > maxBytes) break;
        const bigger = new Uint8Array(Math.min(maxBytes + 1, buf.length * 2));
        bigger.set(buf);
        buf = bigger;
      }
      const n = readSync(fd, buf, len, buf.length - len, null);
      if (n === 0) break;
      len += n;
    }
    if (len > maxBytes) return tooLarge(`over ${formatSize(maxBytes)}`);
    return decodeInput(buf.subarray(0, len), file);
  } catch (e) {
    return fail(file, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  } finally {
    closeSync(fd);
  }
}
