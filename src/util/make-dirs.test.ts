import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeDirs, missingDirs } from './make-dirs.js';

const dir = mkdtempSync(join(tmpdir(), 'hmmlab-mkdirs-'));

describe('makeDirs (mkdir -p without the spin of Node 20 recursive mkdir)', () => {
  it('creates the missing folders, outermost first, and returns them', () => {
    const target = join(dir, 'a', 'b', 'c');
    expect(missingDirs(target)).toEqual({
      existing: dir,
      missing: [join(dir, 'a'), join(dir, 'a', 'b'), target],
    });
    expect(makeDirs(target)).toEqual([join(dir, 'a'), join(dir, 'a', 'b'), target]);
    expect(statSync(target).isDirectory()).toBe(true);
    // Again: nothing to make.
    expect(makeDirs(target)).toEqual([]);
  });

  it('a file in the way is ENOTDIR, naming the file', () => {
    const file = join(dir, 'f');
    writeFileSync(file, '');
    expect(() => makeDirs(join(file, 'x', 'y'))).toThrow(
      expect.objectContaining({ code: 'ENOTDIR', path: file }),
    );
    expect(() => makeDirs(file)).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
  });

  it.runIf(process.platform === 'linux')(
    "returns mkdir's ENOENT under /proc at once (Node's recursive mkdir retries it forever)",
    () => {
      expect(() => makeDirs('/proc/hmmlab-x/y')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
      expect(existsSync('/proc/hmmlab-x')).toBe(false);
    },
  );
});
