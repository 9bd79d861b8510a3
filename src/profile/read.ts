/**
 * Resolving a profile reference at the edge (the command line, sweeps): a built-in name, or a
 * path to a profile file read from disk. `--profile` paths are relative to the working
 * directory; a scenario's `profile:` path is relative to the scenario file. Errors come back as
 * data (file:line:col for a bad file). The simulator itself reads no files: it gets the
 * CostProfile object.
 */
import { dirname, isAbsolute, join } from 'node:path';
import { formatScenarioError, type ScenarioError } from '../scenario/load.js';
import { readInputFile } from '../scenario/read.js';
import { isProfileName, profileRefProblem } from '../sim/costs.js';
import type { SimConfig } from '../sim/simulate.js';
import { loadProfile } from './load.js';
import type { ProfileChoice } from './record.js';

/**
 * An error as `file:line:col: path: message`, or `where: message` for one without a position
 * (line 0: a `--profile` value, say).
 */
export function formatProfileError(e: ScenarioError): string {
  return e.line === 0 ? `${e.file}: ${e.message}` : formatScenarioError(e);
}

/** Where the top-level `profile:` value of a scenario text starts (1-based), if it is there. */
function profileKeyPosition(text: string | undefined): { line: number; col: number } {
  if (text === undefined) return { line: 1, col: 1 };
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^(["']?profile["']?\s*:\s*)\S/.exec(lines[i]!);
    if (m) return { line: i + 1, col: m[1]!.length + 1 };
  }
  return { line: 1, col: 1 };
}

/** The result of readProfileRef / resolveConfigProfile. */
export type ReadProfileResult = { ok: true; choice: ProfileChoice } | { ok: false; errors: ScenarioError[] };

/**
 * The profile `ref` names: a built-in, or the file at `ref` (relative to `baseDir`), read and
 * validated. `where` says where the reference was written, for the errors about the reference
 * itself (a file that cannot be read, a name that is neither). Never throws for bad input.
 */
export function readProfileRef(
  ref: string,
  baseDir: string,
  where: Omit<ScenarioError, 'message'>,
): ReadProfileResult {
  const problem = profileRefProblem(ref);
  if (problem !== undefined) return { ok: false, errors: [{ ...where, message: problem }] };
  if (isProfileName(ref)) return { ok: true, choice: { label: ref, profile: ref } };
  const file = isAbsolute(ref) || baseDir === '.' || baseDir === '' ? ref : join(baseDir, ref);
  // The same reader as scenario, sweep and race files: size, encoding and directory checks.
  const read = readInputFile(file);
  if (!read.ok) {
    // Not readable: said where the reference was written. Too large or not UTF-8: the file's own.
    const m = read.error.message;
    if (!m.startsWith('cannot read: ')) return { ok: false, errors: [read.error] };
    const message = `cannot read the profile file ${file}: ${m.slice('cannot read: '.length)}`;
    return { ok: false, errors: [{ ...where, message }] };
  }
  const text = read.text;
  const r = loadProfile(text, file);
  if (!r.ok) return r;
  return { ok: true, choice: { label: ref, profile: r.profile, text } };
}

/**
 * `config` with its profile resolved: `flag` (a `--profile` value, relative to the working
 * directory) when given, else the scenario's own `profile:` when it is a file (relative to
 * `scenarioFile`; `scenarioText` places errors about it). `choice` is what to record in a stored scenario text (withRecordedProfile);
 * undefined when the scenario names a built-in and no flag was given, so such texts are stored
 * as before. Never throws for bad input.
 */
export function resolveConfigProfile(
  config: SimConfig,
  scenarioFile: string,
  flag?: string,
  scenarioText?: string,
  /** The `--set` that gave the scenario its profile, if one did: its path is relative to the working directory, and errors name it. */
  fromSet?: string,
):
  | { ok: true; config: SimConfig; choice: ProfileChoice | undefined }
  | { ok: false; errors: ScenarioError[] } {
  if (flag !== undefined) {
    const r = readProfileRef(flag, '.', { file: '--profile', line: 0, col: 0, path: [] });
    if (!r.ok) return r;
    return { ok: true, config: { ...config, profile: r.choice.profile }, choice: r.choice };
  }
  if (typeof config.profile !== 'string' || isProfileName(config.profile)) {
    return { ok: true, config, choice: undefined };
  }
  const r =
    fromSet !== undefined
      ? readProfileRef(config.profile, '.', { file: `--set ${fromSet}`, line: 0, col: 0, path: ['profile'] })
      : readProfileRef(config.profile, dirname(scenarioFile), {
          file: scenarioFile,
          ...profileKeyPosition(scenarioText),
          path: ['profile'],
        });
  if (!r.ok) return r;
  return { ok: true, config: { ...config, profile: r.choice.profile }, choice: r.choice };
}
