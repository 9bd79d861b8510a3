/**
 * The record a stored scenario text carries of how its run was simulated, so that `hmmlab
 * report <run ids>`, `compare --runs`, the viewer and sweep resume simulate the run again
 * exactly: the cost profile (`--profile`, or a profile file the scenario names) and the `--set`
 * overrides. It is a block of comment lines that hmmlab appends to the scenario file's text:
 *
 *     # hmmlab --profile ./my-machine.yaml       the profile as the user named it
 *     #| version: 1                              a copy of the profile file, line by line
 *     #| ...
 *     # hmmlab --set platform.cpuCores=2         one line per override, in order
 *     # hmmlab --set "description=a\nb"          a value that needs it, as a JSON string
 *
 * Only that block counts: the longest run of such lines at the END of the text, in that order
 * (a `--profile` line with its copy, then `--set` lines). A scenario file's own comments that
 * look like record lines (`# hmmlab --set ...` as a note in the middle of a file) are not part
 * of it. A text that does not end with a newline records nothing (hmmlab ends every record line
 * with one). This is the rule older hmmlab versions wrote to, so their stored texts keep their
 * meaning (and their scenario hashes: a sweep resumes across versions); only a file that itself
 * ENDS with record-looking lines was ambiguous there, and its record is read as before.
 *
 * When the file's own text ends with a line the reader would take as part of the record (or
 * with the separator itself), hmmlab first appends the separator line `# hmmlab: end of the
 * scenario file; ...` (SEPARATOR), even when there is nothing to record: the file's lines then
 * never read as the record. It is appended only then, so that the texts of all other files are
 * stored exactly as older versions stored them.
 *
 * Each recorded string round-trips whatever it holds: a `--set` string or a profile label that
 * has a control character (a newline, say), a line or paragraph separator, a lone surrogate or
 * a byte-order mark, that starts with `"`, or (a label) that starts or ends with white space is
 * written as a JSON string literal (with those characters escaped); any other is written as it
 * is. A `--set` string starts with its key, so a written-as-is one never starts with `"`.
 *
 * Pure; never throws.
 */
import type { ScenarioError } from '../scenario/load.js';

/** The profile a run used, as far as the record keeps it. */
export interface RecordedProfileRef {
  /** What the user wrote: a built-in name or a path (as given). */
  readonly label: string;
  /** The profile file's text, for a profile read from a file. */
  readonly text?: string;
}

/** What a stored scenario text records. */
export interface Recorded {
  /** The profile, when one is recorded; `line` is where its `# hmmlab --profile` line is (1-based). */
  readonly profile?: RecordedProfileRef & { readonly line: number };
  /** The `--set` strings, in order. */
  readonly sets: readonly string[];
  /**
   * The text without the record (and without the separator hmmlab put before it): the scenario
   * file's text, with a final newline added when it had none and something was recorded.
   */
  readonly body: string;
}

/** The line hmmlab puts between a file's text and the record when the text ends with record-like lines. */
export const SEPARATOR = "# hmmlab: end of the scenario file; any lines below are hmmlab's record of the run";

const SET_PREFIX = '# hmmlab --set ';
const PROFILE_PREFIX = '# hmmlab --profile ';
const COPY_PREFIX = '#|';
// As older versions read them (`.` matches no line terminator, so a line with a \r or U+2028
// in it is not a record line): their stored texts keep their meaning.
const SET_LINE = /^# hmmlab --set (.*)$/;
const PROFILE_LINE = /^# hmmlab --profile (.*)$/;

const isSetLine = (l: string) => SET_LINE.test(l);
const isProfileLine = (l: string) => PROFILE_LINE.test(l);
const isCopyLine = (l: string) => l === COPY_PREFIX || l.startsWith(`${COPY_PREFIX} `);
/** Whether the reader could take `line` as part of a record. */
const isRecordLine = (l: string) => isSetLine(l) || isProfileLine(l) || isCopyLine(l);

// Characters a recorded string never holds as they are: C0 and C1 controls (newlines among
// them), line and paragraph separators, lone surrogates, byte-order mark and non-characters.
const NEEDS_QUOTING = /[\p{Cc}\p{Cs}\u2028\u2029\ufeff\ufffe\uffff]/u;
const ESCAPE_TOO = /[\u007f-\u009f\u2028\u2029\ufeff\ufffe\uffff]/g;

/** `s` as a JSON string literal of printable characters only (JSON.stringify leaves some raw). */
function quote(s: string): string {
  return JSON.stringify(s).replace(ESCAPE_TOO, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** How a `--set` string is written after `# hmmlab --set `. */
function encodeSet(set: string): string {
  return set.startsWith('"') || NEEDS_QUOTING.test(set) ? quote(set) : set;
}

/** How a profile label is written after `# hmmlab --profile ` (read back trimmed when not quoted). */
function encodeLabel(label: string): string {
  return label.startsWith('"') || label !== label.trim() || label === '' || NEEDS_QUOTING.test(label)
    ? quote(label)
    : label;
}

/**
 * The string a record line holds after its prefix: a JSON string literal when it starts with
 * `"`, else the text as it is. `col` is where `rest` starts (1-based), for the error.
 */
function decode(
  rest: string,
  what: string,
  where: { file: string; line: number; col: number },
): { ok: true; value: string } | { ok: false; error: ScenarioError } {
  if (!rest.startsWith('"')) return { ok: true, value: rest };
  let value: unknown;
  try {
    value = JSON.parse(rest);
  } catch {
    value = undefined;
  }
  if (typeof value === 'string') return { ok: true, value };
  return {
    ok: false,
    error: {
      ...where,
      path: [],
      message: `the recorded ${what} starts with '"' but is not one JSON string literal: ${rest.length > 60 ? `${rest.slice(0, 60)}...` : rest}`,
    },
  };
}

/**
 * What a stored scenario text records (its profile and `--set` strings, see the file's doc
 * comment), or errors placed in it (`label`, say "run 12", names the text) when a quoted record
 * line is damaged. A text with no record gives no profile and no sets.
 */
export function readRecorded(
  text: string,
  label: string,
): { ok: true; recorded: Recorded } | { ok: false; errors: ScenarioError[] } {
  if (!text.endsWith('\n')) return { ok: true, recorded: { sets: [], body: text } };
  const lines = text.slice(0, -1).split('\n');
  let i = lines.length - 1;
  while (i >= 0 && isSetLine(lines[i]!)) i--;
  const setsFrom = i + 1;
  while (i >= 0 && isCopyLine(lines[i]!)) i--;
  // `#|` lines count only after a `--profile` line: without one they are the file's own.
  const hasProfile = i >= 0 && isProfileLine(lines[i]!);
  const start = hasProfile ? i : setsFrom;
  const errors: ScenarioError[] = [];
  let profile: Recorded['profile'];
  if (hasProfile) {
    const rest = lines[start]!.slice(PROFILE_PREFIX.length);
    const r = decode(rest, 'profile', { file: label, line: start + 1, col: PROFILE_PREFIX.length + 1 });
    if (!r.ok) errors.push(r.error);
    else {
      // As written (quoted), or trimmed as older versions read it (a label with white space
      // around it is written quoted).
      const ref = rest.startsWith('"') ? r.value : r.value.trim();
      const copy = lines
        .slice(start + 1, setsFrom)
        .map((l) => (l === COPY_PREFIX ? '' : l.slice(COPY_PREFIX.length + 1)));
      profile =
        copy.length === 0
          ? { label: ref, line: start + 1 }
          : { label: ref, text: `${copy.join('\n')}\n`, line: start + 1 };
    }
  }
  const sets: string[] = [];
  for (let j = setsFrom; j < lines.length; j++) {
    const r = decode(lines[j]!.slice(SET_PREFIX.length), 'override', {
      file: label,
      line: j + 1,
      col: SET_PREFIX.length + 1,
    });
    if (r.ok) sets.push(r.value);
    else errors.push(r.error);
  }
  if (errors.length > 0) return { ok: false, errors };
  // The separator before a record (or before nothing) is hmmlab's, not the file's: hmmlab
  // appends one whenever the file itself ends with it (see withRecorded).
  const bodyEnd = start > 0 && lines[start - 1] === SEPARATOR ? start - 1 : start;
  const body = bodyEnd === 0 ? '' : `${lines.slice(0, bodyEnd).join('\n')}\n`;
  return { ok: true, recorded: profile === undefined ? { sets, body } : { profile, sets, body } };
}

/**
 * `text` (a scenario file's text) with `record` appended as the block readRecorded reads back:
 * the profile (with a copy of its file, when it came from one), then the `--set` strings, each
 * one line; preceded by the separator when the text's last line would otherwise be read as part
 * of the record. A text with nothing to record and no such last line is returned as it is.
 * The one way hmmlab writes a record: storing a run and checking whether a store already holds
 * it (sweep resume, by the scenario hash of this text) both use it.
 */
export function withRecorded(
  text: string,
  record: { readonly profile?: RecordedProfileRef; readonly sets?: readonly string[] },
): string {
  const lines: string[] = [];
  if (record.profile !== undefined) {
    lines.push(`${PROFILE_PREFIX}${encodeLabel(record.profile.label)}`);
    const copy = record.profile.text;
    if (copy !== undefined) {
      const body = copy.endsWith('\n') ? copy.slice(0, -1) : copy;
      for (const l of body.split('\n')) {
        // CRLF files are copied with LF line ends, which YAML reads the same.
        const line = l.endsWith('\r') ? l.slice(0, -1) : l;
        lines.push(line === '' ? COPY_PREFIX : `${COPY_PREFIX} ${line}`);
      }
    }
  }
  for (const s of record.sets ?? []) lines.push(`${SET_PREFIX}${encodeSet(s)}`);
  // A text that does not end with a newline records nothing (readRecorded) and is kept as it
  // is when there is nothing to record; otherwise its last line ends up just before the record.
  if (lines.length === 0 && !text.endsWith('\n')) return text;
  const last = (text.endsWith('\n') ? text.slice(0, -1) : text).split('\n').pop()!;
  if (text !== '' && (isRecordLine(last) || last === SEPARATOR)) lines.unshift(SEPARATOR);
  if (lines.length === 0) return text;
  return `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${lines.join('\n')}\n`;
}
