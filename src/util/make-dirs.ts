/**
 * `mkdir -p` that cannot spin. Node's own recursive mkdir (fs.mkdirSync(p, { recursive: true }),
 * Node 20) reads ENOENT from mkdir(p) as "the parent is missing": it makes the parent, which
 * exists (EEXIST, a folder, fine), and tries p again, forever. Some file systems answer ENOENT
 * although the parent is there: procfs does for `/proc/x`, so `hmmlab report -o /proc/x` used
 * to burn a CPU without end. This walks up to the nearest folder that exists and creates each
 * missing level once, so every error comes back as the error of one mkdir.
 */
import { mkdirSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The nearest path at or above `path` that exists, and the missing ones below it, outermost first. */
export function missingDirs(path: string): { existing: string; missing: string[] } {
  const missing: string[] = [];
  let p = resolve(path);
  for (;;) {
    try {
      statSync(p);
      return { existing: p, missing: missing.reverse() };
    } catch (e) {
      // ENOTDIR: a file is in the way further up; the walk finds it.
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
    }
    const up = dirname(p);
    if (up === p) return { existing: p, missing: missing.reverse() };
    missing.push(p);
    p = up;
  }
}

/**
 * Creates `path` and any missing folders above it; returns the folders it created, outermost
 * first. Throws the failing mkdir's error (ENOENT, EACCES, EROFS, ...), or ENOTDIR when a file
 * is in the way.
 */
export function makeDirs(path: string): string[] {
  const { existing, missing } = missingDirs(path);
  if (!statSync(existing).isDirectory()) {
    const e: NodeJS.ErrnoException = new Error(`ENOTDIR: not a directory, mkdir '${existing}'`);
    e.code = 'ENOTDIR';
    e.path = existing;
    throw e;
  }
  const made: string[] = [];
  for (const d of missing) {
    try {
      mkdirSync(d);
      made.push(d);
    } catch (e) {
      // Made meanwhile by someone else: fine if it is a folder.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || !statSync(d).isDirectory()) throw e;
    }
  }
  return made;
}
