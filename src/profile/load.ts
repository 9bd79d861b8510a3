/**
 * Reading a cost profile file (profiles/<name>.yaml, or a user's copy): YAML text in, a validated
 * CostProfile out, or errors as data with file:line:col, the path in the document and a message
 * in the scenario loader's style (unknown parameter with "did you mean", missing parameter, wrong
 * unit, a fraction where a count is due, a negative value, a bad kind, a derived or assumed value
 * whose source lacks its "derived:" / "assumption:" prefix).
 *
 * Pure: the caller reads the file (src/profile/read.ts does, for the command line and sweeps).
 * Never throws for bad input.
 */
import { loadVersioned, type ScenarioError } from '../scenario/load.js';
import { scenarioErrorMap } from '../scenario/messages.js';
import {
  type CostProfile,
  type CostProfileData,
  CostProfileDataSchema,
  costProfileFromData,
  costProfileToData,
  isProfileName,
  PROFILES,
} from '../sim/costs.js';

/** The result of loadProfile. */
export type ProfileLoadResult = { ok: true; profile: CostProfile } | { ok: false; errors: ScenarioError[] };

/** Options of loadProfile. */
export interface LoadProfileOptions {
  /**
   * Refuse a file that takes a built-in profile's name but differs from it (default true), so a
   * result never says 'pcie4-a100' about numbers that are not pcie4-a100's. The generator of the
   * built-in module turns it off: there the files are the built-ins.
   */
  builtinNames?: boolean;
}

/** The first parameter where `a` and `b` differ, or 'description' / 'transferModel'. */
function firstDifference(a: CostProfileData, b: CostProfileData): string {
  if (a.description !== b.description) return 'description';
  if (a.transferModel !== b.transferModel) return 'transferModel';
  for (const [name, p] of Object.entries(a.parameters)) {
    if (JSON.stringify(p) !== JSON.stringify(b.parameters[name as keyof typeof b.parameters])) {
      return `parameters.${name}`;
    }
  }
  return 'nothing';
}

const schemaWithBuiltinNames = CostProfileDataSchema.superRefine((d, ctx) => {
  if (!isProfileName(d.name)) return;
  const builtin = costProfileToData(PROFILES[d.name]);
  const diff = firstDifference(d as CostProfileData, builtin);
  if (diff === 'nothing') return;
  ctx.addIssue({
    code: 'custom',
    path: ['name'],
    message: `'${d.name}' is a built-in profile and this file differs from it (${diff}): give the profile a name of its own, so results say which numbers they used`,
  });
});

/**
 * Parses and validates profile `text` (YAML or JSON); `file` names it in errors. Returns the
 * frozen profile or every error found, sorted by position. Never throws.
 */
export function loadProfile(text: string, file: string, opts: LoadProfileOptions = {}): ProfileLoadResult {
  const schema = opts.builtinNames === false ? CostProfileDataSchema : schemaWithBuiltinNames;
  try {
    const r = loadVersioned(
      text,
      file,
      { 1: (data) => schema.safeParse(data, { error: scenarioErrorMap }) },
      'a cost profile',
      'cost profile',
    );
    if (!r.ok) return r;
    return { ok: true, profile: costProfileFromData(r.data as CostProfileData) };
  } catch (e) {
    // A bug in the loader, not in the file: still data, so a CLI prints it instead of a stack.
    return {
      ok: false,
      errors: [
        {
          file,
          line: 1,
          col: 1,
          path: [],
          message: `internal error in the profile loader: ${(e as Error)?.message ?? String(e)}`,
        },
      ],
    };
  }
}
