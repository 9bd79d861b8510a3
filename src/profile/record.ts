/**
 * How a stored run remembers its cost profile, so that `hmmlab report <ids>` (and the viewer)
 * simulate it again exactly. When a run's profile came from `--profile` or from a profile file,
 * the stored scenario text records it in the block of comment lines hmmlab appends, beside the
 * `--set` overrides (src/store/recorded.ts, which owns that block and writes it: withRecorded):
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
import { readRecorded } from '../store/recorded.js';
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

/** The result of recordedProfile. */
export type RecordedProfileResult =
  | { ok: true; choice: ProfileChoice | undefined }
  | { ok: false; errors: ScenarioError[] };

/**
 * The profile a stored scenario text recorded (the `# hmmlab --profile` line of the record
 * block hmmlab appended, and the copy after it; src/store/recorded.ts), or undefined when it
 * recorded none. `label` names the text in errors (say
 * "run 12"). Never throws.
 */
export function recordedProfile(text: string, label: string): RecordedProfileResult {
  const rec = readRecorded(text, label);
  if (!rec.ok) return rec;
  const recorded = rec.recorded.profile;
  if (recorded === undefined) return { ok: true, choice: undefined };
  const ref = recorded.label;
  if (recorded.text === undefined) {
    if (isProfileName(ref)) return { ok: true, choice: { label: ref, profile: ref } };
    return {
      ok: false,
      errors: [
        {
          file: label,
          line: recorded.line,
          col: 1,
          path: [],
          message: `the recorded profile '${ref}' is not a built-in profile and the text holds no copy of it`,
        },
      ],
    };
  }
  const r = loadProfile(recorded.text, `${label} (recorded profile ${ref})`);
  if (!r.ok) return r;
  return { ok: true, choice: { label: ref, profile: r.profile, text: recorded.text } };
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
