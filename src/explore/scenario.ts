/**
 * Race files (`scenarios/races/*.yaml`): which race model to explore and with what bounds.
 * Either a built-in problem (src/explore/problems.ts) with its variant, or `module:` naming a
 * driver module of the user's own (a .ts/.js file whose default export, or export `model`, is
 * a RaceModel or a function of the file's `params` returning one; see examples/race-driver.ts).
 *
 * ```yaml
 * version: 1
 * kind: race
 * name: skip-read-retry-buggy
 * problem: skip-read-retry        # or: module: ../../examples/race-driver.ts
 * variant: buggy                  # buggy | fixed (built-in problems)
 * pages: 2                        # optional, problem-specific
 * explore: { mode: exhaustive, maxStates: 100000, maxDepth: 400, maxOpSteps: 200 }
 * ```
 */
import { z } from 'zod';
import type { ScenarioError } from '../scenario/load.js';
import { loadVersioned } from '../scenario/load.js';
import { describeFound, didYouMeanSuffix, oneOf, scenarioErrorMap } from '../scenario/messages.js';
import { PROBLEMS, type ProblemName } from './problems.js';
import { BUILTIN_INVARIANTS } from './types.js';

/** What a race file may expect without a model of its own: clean, or a built-in invariant. */
export const EXPECTABLE: readonly string[] = ['clean', ...BUILTIN_INVARIANTS];

const name = z
  .string()
  .max(200)
  .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/);

export const RaceFileSchema = z
  .strictObject({
    version: z.literal(1).meta({ description: 'Race file format version.' }),
    kind: z.literal('race').meta({ description: 'Marks a race-explorer file (hmmlab explore).' }),
    name: name.meta({ description: 'Name of the exploration.' }),
    description: z.string().meta({ description: 'Free text.' }).optional(),
    problem: z
      .enum(Object.keys(PROBLEMS) as [ProblemName, ...ProblemName[]])
      .meta({ description: 'A built-in race problem.' })
      .optional(),
    variant: z
      .enum(['buggy', 'fixed'])
      .meta({ description: 'The buggy or the fixed driver/kernel.' })
      .optional(),
    module: z
      .string()
      .min(1)
      .meta({
        description: 'A driver module of your own (path relative to this file) exporting a RaceModel.',
      })
      .optional(),
    params: z
      .record(z.string(), z.union([z.number(), z.string(), z.boolean()]))
      .meta({ description: 'Parameters passed to a module’s model function.' })
      .optional(),
    pages: z.number().int().min(1).max(64).meta({ description: 'Pages of the buffer.' }).optional(),
    threads: z
      .number()
      .int()
      .min(1)
      .max(8)
      .meta({ description: 'Racing CPU threads or devices.' })
      .optional(),
    explore: z
      .strictObject({
        mode: z.enum(['exhaustive', 'random']).optional(),
        runs: z.number().int().min(1).max(1_000_000).optional(),
        seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
        maxStates: z.number().int().min(1).max(10_000_000).optional(),
        maxDepth: z.number().int().min(1).max(100_000).optional(),
        maxOpSteps: z.number().int().min(1).max(100_000).optional(),
      })
      .meta({ description: 'How to explore (the command line overrides it).' })
      .optional(),
    /**
     * What the exploration is expected to find; tests and `hmmlab explore` report a mismatch.
     * A built-in problem's file names a built-in invariant; a module's may also name one of
     * the invariants its model declares (checked once the module is loaded).
     */
    expect: name
      .meta({
        description:
          'The verdict the file documents: clean, or the invariant that fails (a built-in one, or one the module model declares).',
      })
      .optional(),
  })
  .superRefine((s, ctx) => {
    if (s.problem === undefined && s.module === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['problem'],
        message: "expected 'problem' (a built-in race) or 'module' (your driver)",
      });
    if (s.problem !== undefined && s.module !== undefined)
      ctx.addIssue({ code: 'custom', path: ['module'], message: "give 'problem' or 'module', not both" });
    if (s.problem !== undefined && s.expect !== undefined && !EXPECTABLE.includes(s.expect))
      ctx.addIssue({
        code: 'custom',
        path: ['expect'],
        message: `expected one of ${oneOf(EXPECTABLE)}, found ${describeFound(s.expect)}${didYouMeanSuffix(s.expect, EXPECTABLE)}`,
      });
    if (s.problem !== undefined && s.problem !== 'anon-teardown' && s.variant === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['problem'],
        message: `problem '${s.problem}' needs 'variant: buggy' or 'variant: fixed'`,
      });
  });

export type RaceFile = z.output<typeof RaceFileSchema>;

export function loadRaceFile(
  text: string,
  file: string,
): { ok: true; race: RaceFile } | { ok: false; errors: ScenarioError[] } {
  const r = loadVersioned(
    text,
    file,
    { 1: (d) => RaceFileSchema.safeParse(d, { error: scenarioErrorMap }) },
    'a race file',
  );
  return r.ok ? { ok: true, race: r.data } : r;
}

/** True when a YAML text is a race file (`kind: race`), so `hmmlab explore` can say so early. */
export function looksLikeRaceFile(text: string): boolean {
  return /^kind:\s*race\s*$/m.test(text);
}
