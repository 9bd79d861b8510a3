/**
 * Checks that an output path can be written before any simulation runs, so a bad `-o` costs
 * nothing and leaves nothing behind: each check writes a probe and removes it (and any folder it
 * made for it) again. Throws OptionError naming the option and the path.
 */
import { closeSync, openSync, readSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { makeDirs, missingDirs } from '../util/make-dirs.js';
import { OptionError } from './options.js';

function code(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

function isDir(path: string): boolean {
  return statSync(path).isDirectory();
}

/**
 * Does the file start with SQLite's header? A trace written over a results store (`-o
 * .hmmlab/results.db`, a slip of the keyboard) would destroy every run in it: found by the
 * argument fuzzer. Unreadable: no (the write check reports it).
 */
function isSqliteFile(path: string): boolean {
  try {
    const fd = openSync(path, 'r');
    try {
      const head = Buffer.alloc(16);
      return readSync(fd, head, 0, 16, 0) === 16 && head.toString('latin1') === 'SQLite format 3\0';
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** Creates and removes an empty file in `dir`; throws what open() threw. */
function probe(dir: string): void {
  const file = join(dir, `.hmmlab-write-check-${process.pid}`);
  closeSync(openSync(file, 'wx'));
  unlinkSync(file);
}

/**
 * A folder the command will write files into (created with its parents when missing): fails
 * when a file is in the way or the folder cannot be made or written.
 */
export function checkOutputDir(option: string, dir: string): void {
  // An empty path would mean the working directory: refused, as `--db ''` is.
  if (dir === '') throw new OptionError(`${option} '': expected a folder, found an empty path`);
  let made: string[] = [];
  try {
    const { existing, missing } = missingDirs(dir);
    if (!isDir(existing)) {
      const what = missing.length === 0 ? dir : existing;
      throw new OptionError(`${option} ${dir}: ${what} is a file, not a folder`);
    }
    made = makeDirs(dir);
    probe(dir);
  } catch (e) {
    if (e instanceof OptionError) throw e;
    throw new OptionError(`${option} ${dir}: cannot write a folder there (${code(e)})`);
  } finally {
    for (const d of made.reverse()) {
      try {
        rmdirSync(d);
      } catch {
        // Not ours to worry about: it was made a moment ago and is empty unless someone else wrote.
      }
    }
  }
}

/**
 * A file the command will write (replacing it if it exists): fails when the path is a folder,
 * its folder is missing or is a file, or it cannot be written. An existing file is opened for
 * appending, which changes nothing; a new one is created and removed again.
 */
export function checkOutputFile(option: string, file: string): void {
  if (file === '') throw new OptionError(`${option} '': expected a file, found an empty path`);
  const path = resolve(file);
  const parent = dirname(path);
  let st: ReturnType<typeof statSync> | undefined;
  try {
    st = statSync(path);
  } catch (e) {
    if (code(e) !== 'ENOENT' && code(e) !== 'ENOTDIR') {
      throw new OptionError(`${option} ${file}: cannot write there (${code(e)})`);
    }
  }
  if (st?.isDirectory()) throw new OptionError(`${option} ${file}: is a folder, not a file`);
  if (file.endsWith('/')) throw new OptionError(`${option} ${file}: names a folder, not a file`);
  if (!st) {
    let parentIsDir: boolean;
    try {
      parentIsDir = isDir(parent);
    } catch (e) {
      throw new OptionError(
        code(e) === 'ENOENT' || code(e) === 'ENOTDIR'
          ? `${option} ${file}: its folder ${parent} does not exist`
          : `${option} ${file}: cannot write there (${code(e)})`,
      );
    }
    if (!parentIsDir) throw new OptionError(`${option} ${file}: ${parent} is a file, not a folder`);
  }
  if (st && isSqliteFile(path)) {
    throw new OptionError(
      `${option} ${file}: is an SQLite database (a results store?); hmmlab does not write over it`,
    );
  }
  try {
    if (st) closeSync(openSync(path, 'a'));
    else {
      closeSync(openSync(path, 'wx'));
      unlinkSync(path);
    }
  } catch (e) {
    throw new OptionError(`${option} ${file}: cannot write there (${code(e)})`);
  }
}
