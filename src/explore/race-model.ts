/**
 * Loading the race model a race file names: a built-in problem (problems.ts), or the model a
 * driver module exports (a .js module, or a .ts one through tsx).
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RaceModel } from './explorer.js';
import { problemModel } from './problems.js';
import type { RaceFile } from './scenario.js';

/** Bad input to an exploration (`hmmlab explore` prints the message and exits 2). */
export class ExploreInputError extends Error {}

function isRaceModel(x: unknown): x is RaceModel {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as RaceModel).create === 'function' &&
    typeof (x as RaceModel).name === 'string'
  );
}

/** The race model a file names: a built-in problem, or the model a driver module exports. */
export async function raceModelOf(race: RaceFile, file: string): Promise<RaceModel> {
  if (race.problem !== undefined) {
    const spec: Parameters<typeof problemModel>[0] = {
      problem: race.problem,
      variant: race.variant ?? 'buggy',
    };
    if (race.pages !== undefined) spec.pages = race.pages;
    if (race.threads !== undefined) spec.threads = race.threads;
    return problemModel(spec);
  }
  const path = resolve(dirname(file), race.module!);
  if (!existsSync(path))
    throw new ExploreInputError(`${file}: module '${race.module}' not found (looked at ${path})`);
  if (/\.[cm]?ts$/.test(path)) {
    // TypeScript driver modules load through tsx's loader (a dependency of development installs).
    try {
      const api = (await import('tsx/esm/api')) as { register: () => unknown };
      api.register();
    } catch {
      throw new ExploreInputError(
        `${file}: loading a TypeScript module needs tsx (npm install tsx), or compile it to .js`,
      );
    }
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (e) {
    throw new ExploreInputError(
      `${file}: cannot load module '${race.module}': ${(e as Error).message.split('\n')[0]}`,
    );
  }
  const exp = mod.model ?? mod.default;
  const model = typeof exp === 'function' ? (exp as (p: unknown) => unknown)(race.params ?? {}) : exp;
  if (!isRaceModel(model))
    throw new ExploreInputError(
      `${file}: module '${race.module}' must export 'model' (or a default export): a RaceModel { name, description, create() }, or a function of params returning one`,
    );
  return model;
}
