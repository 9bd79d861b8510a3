import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { propertyParams, propertySeed, propertyTimeout } from '../../test/property/params.js';
import { formatScenarioError } from '../scenario/load.js';
import { type Recorded, readRecorded, SEPARATOR, withRecorded } from './recorded.js';

const SCENARIO = 'version: 1\nname: s\n';

function read(text: string): Recorded {
  const r = readRecorded(text, 'run 1');
  if (!r.ok) throw new Error(r.errors.map(formatScenarioError).join('\n'));
  return r.recorded;
}

/** What readRecorded gives back for a profile copy: LF line ends and a final newline. */
const copyBack = (t: string) =>
  `${(t.endsWith('\n') ? t.slice(0, -1) : t)
    .split('\n')
    .map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l))
    .join('\n')}\n`;

/** Lines a scenario file may hold that look like a record, or like the separator. */
const TRICKY_LINES = [
  '# hmmlab --set platform.cpuCores=2',
  '# hmmlab --set "platform.cpuCores=2"',
  '# hmmlab --set "broken',
  '# hmmlab --profile gh200-c2c',
  '# hmmlab --profile ./mine.yaml',
  '#| version: 1',
  '#|',
  SEPARATOR,
  '# hmmlab --set x=1\r',
  '',
  'name: s',
];

describe('the record of a stored scenario text', () => {
  it('writes what older versions wrote for an ordinary file, so stored scenario hashes stay the same', () => {
    expect(withRecorded(SCENARIO, { sets: ['platform.cpuCores=2', 'seed=3'] })).toBe(
      `${SCENARIO}# hmmlab --set platform.cpuCores=2\n# hmmlab --set seed=3\n`,
    );
    expect(
      withRecorded('version: 1', {
        profile: { label: './p.yaml', text: 'a: 1\r\n\r\nb: 2' },
        sets: ['seed=3'],
      }),
    ).toBe('version: 1\n# hmmlab --profile ./p.yaml\n#| a: 1\n#|\n#| b: 2\n# hmmlab --set seed=3\n');
    expect(withRecorded(SCENARIO, { profile: { label: 'gh200-c2c' } })).toBe(
      `${SCENARIO}# hmmlab --profile gh200-c2c\n`,
    );
    expect(withRecorded(SCENARIO, {})).toBe(SCENARIO);
    expect(withRecorded('version: 1', {})).toBe('version: 1');
  });

  it("does not count the file's own record-looking comments in the middle (they used to be replayed)", () => {
    const file = `version: 1\n# hmmlab --set platform.cpuCores=2\n# hmmlab --profile gh200-c2c\n#| version: 1\nname: s\n`;
    expect(read(file)).toEqual({ sets: [], body: file });
    const stored = withRecorded(file, { sets: ['seed=3'] });
    expect(stored).toBe(`${file}# hmmlab --set seed=3\n`);
    expect(read(stored)).toEqual({ sets: ['seed=3'], body: file });
  });

  it('keeps a file that itself ends with record lines apart from the record, with a separator', () => {
    const file = `${SCENARIO}# hmmlab --profile gh200-c2c\n# hmmlab --set platform.cpuCores=2\n`;
    const none = withRecorded(file, {});
    expect(none).toBe(`${file}${SEPARATOR}\n`);
    expect(read(none)).toEqual({ sets: [], body: file });
    const some = withRecorded(file, { sets: ['seed=3'] });
    expect(some).toBe(`${file}${SEPARATOR}\n# hmmlab --set seed=3\n`);
    expect(read(some)).toEqual({ sets: ['seed=3'], body: file });
    // A file ending with the separator itself, or without a final newline.
    expect(read(withRecorded(`${SCENARIO}${SEPARATOR}\n`, {})).body).toBe(`${SCENARIO}${SEPARATOR}\n`);
    const open = `${SCENARIO}# hmmlab --set platform.cpuCores=2`;
    expect(withRecorded(open, {})).toBe(open);
    expect(read(open).sets).toEqual([]);
    expect(read(withRecorded(open, { sets: ['seed=3'] })).sets).toEqual(['seed=3']);
  });

  it('round-trips any --set string and profile label, a newline in one forging nothing', () => {
    const forged = 'description=a\n# hmmlab --set platform.cpuCores=2';
    const stored = withRecorded(SCENARIO, { sets: [forged] });
    expect(stored).toBe(`${SCENARIO}# hmmlab --set "description=a\\n# hmmlab --set platform.cpuCores=2"\n`);
    expect(read(stored).sets).toEqual([forged]);
    const label = './my\nprofile.yaml';
    const withLabel = withRecorded(SCENARIO, {
      profile: { label },
      sets: ['"q"=1', ' lead=1 ', 'a=\u2028\u0085\ufeff'],
    });
    expect(withLabel).toContain('# hmmlab --profile "./my\\nprofile.yaml"\n');
    expect(withLabel).toContain('# hmmlab --set "a=\\u2028\\u0085\\ufeff"\n');
    expect(read(withLabel)).toEqual({
      profile: { label, line: 3 },
      sets: ['"q"=1', ' lead=1 ', 'a=\u2028\u0085\ufeff'],
      body: SCENARIO,
    });
    // Every recorded line is one printable line.
    for (const l of withLabel.split('\n')) expect(l).not.toMatch(/[\p{Cc}\u2028\u2029]/u);
    expect(read(withRecorded(SCENARIO, { profile: { label: ' x ' } })).profile?.label).toBe(' x ');
  });

  const seed = propertySeed(11);
  it(
    `reads back exactly what it recorded, after any file text (seed ${seed})`,
    () => {
      const text = fc
        .tuple(
          fc.array(fc.oneof(fc.constantFrom(...TRICKY_LINES), fc.string({ unit: 'binary', maxLength: 12 })), {
            maxLength: 6,
          }),
          fc.boolean(),
        )
        .map(([lines, end]) => lines.join('\n') + (end && lines.length > 0 ? '\n' : ''));
      const str = fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), fc.constantFrom(...TRICKY_LINES));
      const profile = fc.option(
        fc.record({
          label: str,
          text: fc.option(fc.string({ unit: 'binary', maxLength: 40 }), { nil: undefined }),
        }),
        { nil: undefined },
      );
      fc.assert(
        fc.property(text, profile, fc.array(str, { maxLength: 4 }), (t, p, sets) => {
          const stored = withRecorded(t, { profile: p, sets });
          const r = read(stored);
          expect(r.sets).toEqual(sets);
          expect(r.profile?.label).toEqual(p?.label);
          expect(r.profile?.text).toEqual(p?.text === undefined ? undefined : copyBack(p.text));
          const recordedSomething = p !== undefined || sets.length > 0;
          expect(r.body).toBe(recordedSomething && t !== '' && !t.endsWith('\n') ? `${t}\n` : t);
          // The stored text starts with the file's own text, unchanged.
          expect(stored.startsWith(t)).toBe(true);
        }),
        propertyParams({ seed, numRuns: 1000 }),
      );
    },
    propertyTimeout(60_000),
  );

  it('reads texts stored by older versions: the trailing block only', () => {
    const old = `${SCENARIO}# a note: # hmmlab --set x=1\n# hmmlab --set platform.cpuCores=2\nname: s2\n# hmmlab --profile ./m.yaml\n#| version: 1\n#|\n#| name: m\n# hmmlab --set seed=2\n# hmmlab --set gpus.gpu0.vramBytes="1GiB"\n`;
    expect(read(old)).toEqual({
      profile: { label: './m.yaml', text: 'version: 1\n\nname: m\n', line: 6 },
      sets: ['seed=2', 'gpus.gpu0.vramBytes="1GiB"'],
      body: `${SCENARIO}# a note: # hmmlab --set x=1\n# hmmlab --set platform.cpuCores=2\nname: s2\n`,
    });
    // A label written with white space around it was read trimmed, and still is.
    expect(read(`${SCENARIO}# hmmlab --profile  gh200-c2c \n`).profile?.label).toBe('gh200-c2c');
    // `#|` lines without a --profile line before them are the file's own.
    expect(read(`${SCENARIO}#| x\n# hmmlab --set seed=2\n`)).toEqual({
      sets: ['seed=2'],
      body: `${SCENARIO}#| x\n`,
    });
  });

  it('says where a damaged quoted record line is', () => {
    const r = readRecorded(`${SCENARIO}# hmmlab --profile "x\n# hmmlab --set "a=1" b\n`, 'run 4');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map(formatScenarioError)).toEqual([
      `run 4:3:20: the recorded profile starts with '"' but is not one JSON string literal: "x`,
      `run 4:4:16: the recorded override starts with '"' but is not one JSON string literal: "a=1" b`,
    ]);
    expect(readRecorded(`${SCENARIO}# hmmlab --set 7\n`, 'run 5').ok).toBe(true);
  });
});
