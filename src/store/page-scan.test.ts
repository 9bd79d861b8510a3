import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { scanPages } from './page-scan.js';

describe('scanPages', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hmmlab-page-scan-'));

  it('decodes every row of a table as SQLite reads it: every serial type, overflow chains', () => {
    const path = join(dir, 'types.db');
    const db = new Database(path);
    db.pragma('page_size = 1024');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, a, b, c, d)');
    const values: unknown[][] = [
      [0, 1, -1, 127, -128],
      [32767, -32768, 8388607, -8388608, 2147483647],
      [-2147483648, 140737488355327, -140737488355328, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER],
      [0.5, -1e300, Math.PI, null, ''],
      ['text', 'ünïcødé ✓', Buffer.from([0, 1, 2, 255]), Buffer.alloc(0), 'x'.repeat(5000)],
      ['y'.repeat(100_000), 1, 2, 3, 'z'.repeat(1017)],
    ];
    const insert = db.prepare('INSERT INTO t (a, b, c, d) VALUES (?, ?, ?, ?)');
    // The fifth value goes in after ALTER TABLE ADD COLUMN, as runs.duration_ms did (v2).
    for (const v of values) insert.run(v[0], v[1], v[2], v[3]);
    db.exec('ALTER TABLE t ADD COLUMN e');
    const update = db.prepare('UPDATE t SET e = ? WHERE id = ?');
    for (const [i, v] of values.entries()) update.run(v[4], i + 1);
    const expected = db.prepare('SELECT id, a, b, c, d, e FROM t ORDER BY id').raw().all() as unknown[][];
    db.close();
    const scan = scanPages(path);
    expect(scan.pageSize).toBe(1024);
    const rows = scan.records
      .filter((r) => r.values.length === 6)
      .sort((x, y) => x.rowid - y.rowid)
      .map((r) => [r.rowid, ...r.values.slice(1)].map((v) => (v instanceof Uint8Array ? Buffer.from(v) : v)));
    expect(rows).toEqual(expected);
  });

  it('drops a row whose overflow chain is cut, keeps the others', () => {
    const path = join(dir, 'cut.db');
    const db = new Database(path);
    db.pragma('page_size = 1024');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    db.prepare('INSERT INTO t (v) VALUES (?)').run('small');
    db.prepare('INSERT INTO t (v) VALUES (?)').run('b'.repeat(20_000));
    db.close();
    const rowids = (p: string) =>
      scanPages(p)
        .records.filter((r) => r.values.length === 2)
        .map((r) => r.rowid);
    expect(rowids(path)).toEqual([1, 2]);
    const bytes = readFileSync(path);
    // The last page is the end of row 2's overflow chain.
    writeFileSync(path, bytes.subarray(0, bytes.length - 1024));
    expect(rowids(path)).toEqual([1]);
  });

  it('skips the pages on the freelist: what they hold was deleted', () => {
    const path = join(dir, 'freelist.db');
    const db = new Database(path);
    db.pragma('page_size = 1024');
    db.pragma('secure_delete = OFF');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    db.prepare('INSERT INTO t (v) VALUES (?)').run('kept');
    db.exec('CREATE TABLE gone (id INTEGER PRIMARY KEY, v TEXT)');
    const ins = db.prepare('INSERT INTO gone (v) VALUES (?)');
    for (let i = 0; i < 20; i++) ins.run(`deleted ${i} ${'d'.repeat(300)}`);
    db.exec('DROP TABLE gone');
    expect(db.pragma('freelist_count', { simple: true })).toBeGreaterThan(1);
    db.close();
    const texts = scanPages(path)
      .records.filter((r) => r.values.length === 2)
      .map((r) => r.values[1]);
    expect(texts).toEqual(['kept']);
  });
});
