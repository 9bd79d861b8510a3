/**
 * `--set key=value` overrides, shared by the command line and the viewer: a dotted SimConfig
 * path (as in sweep files, e.g. `gpus.gpu0.faultBatchSize=64`) and a YAML scalar. The command
 * line records them in a stored scenario text as trailing `# hmmlab --set k=v` lines, so that a
 * stored run can be simulated again exactly (`hmmlab report <run ids>`, the viewer).
 */
import { parse as parseYaml } from 'yaml';
import { type SimConfig, validateConfig } from '../sim/simulate.js';
import { setConfigPath } from './sweep.js';

/** A bad override: the message says which and why. */
export class OverrideError extends Error {}

const SET_LINE = /^# hmmlab --set (.*)$/;

/** Applies `key=value` overrides to a copy of config and validates it (SimConfigError if invalid). */
export function applySets(config: SimConfig, sets: readonly string[]): SimConfig {
  if (sets.length === 0) return config;
  const out = structuredClone(config);
  for (const set of sets) {
    const eq = set.indexOf('=');
    if (eq <= 0) throw new OverrideError(`--set wants key=value, not '${set}'`);
    const raw = set.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = parseYaml(raw) ?? raw;
    } catch {
      // Not YAML: the value is the plain string.
    }
    try {
      setConfigPath(out, set.slice(0, eq).trim(), value);
    } catch (e) {
      throw new OverrideError(`--set ${(e as Error).message}`);
    }
  }
  validateConfig(out);
  return out;
}

/** The overrides a stored scenario text recorded. */
export function recordedSets(text: string): string[] {
  return text
    .split('\n')
    .map((l) => SET_LINE.exec(l)?.[1])
    .filter((x): x is string => x !== undefined);
}

/** A scenario text with overrides recorded as trailing lines. */
export function withRecordedSets(text: string, sets: readonly string[]): string {
  if (sets.length === 0) return text;
  return `${text}${text.endsWith('\n') ? '' : '\n'}${sets.map((x) => `# hmmlab --set ${x}\n`).join('')}`;
}
