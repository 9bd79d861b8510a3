/**
 * How the command line records `--set key=value` overrides in a stored scenario text: as
 * trailing `# hmmlab --set k=v` lines, so that a stored run can be simulated again exactly
 * (`hmmlab report <run ids>`, the viewer) by loading the text with those overrides
 * (`loadScenario(text, label, { sets: recordedSets(text) })`). Applying overrides is the
 * scenario loader's job (src/scenario/overrides.ts): they go through the scenario schema.
 */

const SET_LINE = /^# hmmlab --set (.*)$/;

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
