/**
 * Reading a scenario file for a command: size and encoding checked, validated with the --set
 * overrides, its profile read; every problem is a UsageError (exit 2) with file:line:col.
 */
import { formatProfileError, type ProfileChoice, resolveConfigProfile } from '../profile/index.js';
import {
  ConfigError,
  DEFAULT_MAX_FILE_BYTES,
  DEFAULT_MAX_WORK,
  formatScenarioError,
  loadScenario,
  parseConfig,
  parseYamlText,
  readInputFile,
  type ScenarioPath,
} from '../scenario/index.js';
import type { SimConfig } from '../sim/simulate.js';
import { withRecorded } from '../store/recorded.js';
import type { InputLimits } from './common-options.js';
import { UsageError } from './context.js';

/** The scenario's config with its profile read (a file, or --profile); UsageError if bad. */
function withProfile(
  config: SimConfig,
  file: string,
  text: string,
  profile: string | undefined,
  sets: readonly string[] = [],
): { config: SimConfig; choice: ProfileChoice | undefined } {
  // The last `--set profile=...` wins, as it does in the scenario.
  const fromSet = [...sets].reverse().find((x) => /^\s*profile\s*=/.test(x));
  const r = resolveConfigProfile(config, file, profile, text, fromSet);
  if (!r.ok) throw new UsageError(r.errors.map(formatProfileError).join('\n'));
  return r;
}

/**
 * Validates scenario text with --set overrides applied to it, and reads its profile (--profile,
 * or a profile file it names); throws UsageError with the errors. The text returned records the
 * profile and the overrides, so the stored run can be simulated again exactly.
 */
function scenarioOf(
  text: string,
  file: string,
  sets: readonly string[],
  maxWork: number = DEFAULT_MAX_WORK,
  profile?: string,
): { config: SimConfig; seed: number; text: string; name: string } {
  const r = loadScenario(text, file, { sets, maxWork });
  if (!r.ok) throw new UsageError(r.errors.map(formatScenarioError).join('\n'));
  const p = withProfile(r.config, file, text, profile, sets);
  if (p.choice !== undefined) {
    // The checks that depend on the profile (sockets, private links, override ranges) ran
    // against the profile the scenario names; run them again against the one in effect
    // (--profile, or the file the scenario names), with errors pointing into the file.
    const label = profile !== undefined ? `--profile ${profile}` : `profile ${p.choice.label}`;
    try {
      parseConfig(p.config);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      const parsed = parseYamlText(text, file);
      const at = (path: ScenarioPath, message: string) =>
        parsed.ok ? formatScenarioError(parsed.parsed.errorAt(path, message)) : `${file}: ${message}`;
      throw new UsageError(e.issues.map((i) => at(i.path, `${i.message} (with ${label})`)).join('\n'));
    }
  }
  return {
    config: p.config,
    seed: r.seed,
    text: withRecorded(text, { profile: p.choice, sets }),
    name: r.scenario.name ?? file,
  };
}

/** Reads (size and encoding checked) and validates a scenario file with --set overrides. */
export function readScenario(
  file: string,
  sets: readonly string[] = [],
  limits: InputLimits = { maxFileBytes: DEFAULT_MAX_FILE_BYTES, maxWork: DEFAULT_MAX_WORK },
  profile?: string,
): { config: SimConfig; seed: number; text: string; name: string } {
  const read = readInputFile(file, limits.maxFileBytes);
  if (!read.ok) throw new UsageError(read.message);
  return scenarioOf(read.text, file, sets, limits.maxWork, profile);
}

/** The name a scenario text gives itself, or `file` when it gives none (or does not load). */
export function scenarioName(text: string, file: string): string {
  const r = loadScenario(text, file);
  return (r.ok && r.scenario.name) || file;
}
