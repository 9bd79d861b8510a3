/**
 * How a stored run remembers its cost profile, so that `hmmlab report <ids>` (and the viewer)
 * simulate it again exactly. When a run's profile came from `--profile` or from a profile file,
 * the stored scenario text gets it as trailing comment lines, the way `--set` overrides are
 * recorded (src/sweep/overrides.ts):
 *
 *     # hmmlab --profile ./my-machine.yaml
 *     #| version: 1
 *     #| name: my-machine
 *     #| ...
 *
 * A built-in named by `--profile` is one line without a copy. The copy makes the stored text
 * self-contained: the file may change or be gone when the run is replayed. Comments, so the
 * text is still the scenario it was. Pure.
 */
import type { ScenarioError } from '../scenario/load.js';
import { type CostProfile, isProfileName, isProfilePath } from '../sim/costs.js';
import type { SimConfig } from '../sim/simulate.js';
import { loadProfile } from './load.js';

/** The profile a run used, as the command line resolved it. */
export interface ProfileChoice {
  /** What the user wrote: a built-in name or a path (as given). */
  readonly label: string;
  /** The built-in's name, or the profile read from the file. */
  readonly profile: string | CostProfile;
  /** The file's text, for a profile read from a file. */
  readonly text?: string;
}

const PROFILE_LINE = /^# hmmlab --profile (.*)$/;
const COPY_PREFIX = '#|';

/** `text` with `choice` recorded as trailing lines (unchanged when there is no choice). */
export function withRecordedProfile(text: string, choice: ProfileChoice | undefined): string {
  if (choice === undefined) return text;
  const lines = [`# hmmlab --profile ${choice.label.replace(/[\r\n]/g, ' ')}`];
  if (choice.text !== undefined) {
    const body = choice.text.endsWith('\n') ? choice.text.slice(0, -1) : choice.text;
    for (const l of body.split('\n')) {
      const line = l.endsWith('\r') ? l.slice(0, -1) : l;
      lines.push(line === '' ? COPY_PREFIX : `${COPY_PREFIX} ${line}`);
    }
  }
  return `${text}${text.endsWith('\n') || text === '' ? '' : '\n'}${lines.join('\n')}\n`;
}

/** The result of recordedProfile. */
export type RecordedProfileResult =
  | { ok: true; choice: ProfileChoice | undefined }
  | { ok: false; errors: ScenarioError[] };

/**
 * The profile a stored scenario text recorded (the last `# hmmlab --profile` line and the copy
 * after it), or undefined when it recorded none. `label` names the text in errors (say
 * "run 12"). Never throws.
 */
export function recordedProfile(text: string, label: string): RecordedProfileResult {
  const lines = text.split('\n');
  let at = -1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (PROFILE_LINE.test(lines[i]!)) {
      at = i;
      break;
    }
  }
  if (at < 0) return { ok: true, choice: undefined };
  const ref = PROFILE_LINE.exec(lines[at]!)![1]!.trim();
  const copy: string[] = [];
  for (let i = at + 1; i < lines.length; i++) {
    const l = lines[i]!;
    if (l === COPY_PREFIX) copy.push('');
    else if (l.startsWith(`${COPY_PREFIX} `)) copy.push(l.slice(COPY_PREFIX.length + 1));
    else break;
  }
  if (copy.length === 0) {
    if (isProfileName(ref)) return { ok: true, choice: { label: ref, profile: ref } };
    return {
      ok: false,
      errors: [
        {
          file: label,
          line: at + 1,
          col: 1,
          path: [],
          message: `the recorded profile '${ref}' is not a built-in profile and the text holds no copy of it`,
        },
      ],
    };
  }
  const copyText = `${copy.join('\n')}\n`;
  const r = loadProfile(copyText, `${label} (recorded profile ${ref})`);
  if (!r.ok) return r;
  return { ok: true, choice: { label: ref, profile: r.profile, text: copyText } };
}

/**
 * `config` with the profile a stored scenario text recorded, for simulating a stored run again.
 * A text whose scenario names a profile file but that holds no copy of it (stored by an older
 * hmmlab) is an error: the file on disk now need not be what the run used. Never throws.
 */
export function applyRecordedProfile(
  config: SimConfig,
  text: string,
  label: string,
): { ok: true; config: SimConfig } | { ok: false; errors: ScenarioError[] } {
  const r = recordedProfile(text, label);
  if (!r.ok) return r;
  if (r.choice !== undefined) return { ok: true, config: { ...config, profile: r.choice.profile } };
  if (typeof config.profile === 'string' && isProfilePath(config.profile)) {
    return {
      ok: false,
      errors: [
        {
          file: label,
          line: 1,
          col: 1,
          path: ['profile'],
          message: `the scenario names the profile file '${config.profile}' but the stored text holds no copy of it, so the run cannot be simulated again exactly`,
        },
      ],
    };
  }
  return { ok: true, config };
}
