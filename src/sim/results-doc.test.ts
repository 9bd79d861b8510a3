import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMPARE_FIELDS, fieldPaths, RUN_FIELDS, renderResultsMarkdown } from './results-doc.js';

describe('docs/results.md', () => {
  const docPath = fileURLToPath(new URL('../../docs/results.md', import.meta.url));

  it('is exactly what scripts/gen-results-doc.mjs generates', () => {
    // If this fails, run `node scripts/gen-results-doc.mjs` and commit docs/results.md.
    expect(readFileSync(docPath, 'utf8') === renderResultsMarkdown()).toBe(true);
  });

  it('agrees with the script itself (--check)', () => {
    const script = fileURLToPath(new URL('../../scripts/gen-results-doc.mjs', import.meta.url));
    const r = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('lists each field once, with a unit and a meaning', () => {
    for (const fields of [RUN_FIELDS, COMPARE_FIELDS]) {
      expect(new Set(fields.map((f) => f.path)).size).toBe(fields.length);
      for (const f of fields) expect(f.unit && f.meaning, f.path).toBeTruthy();
    }
  });
});

describe('fieldPaths', () => {
  it('names the keys of records by their placeholder and takes arrays as one field', () => {
    const result = {
      endNs: 1,
      devices: { gpu0: { faults: 1 }, gpu1: { faults: 2, stallNs: 3 } },
      unplugs: { u: { staleDevices: ['gpu0'] } },
      design: { name: 'upstream' },
    };
    expect(fieldPaths(result, 'run')).toEqual([
      'design.name',
      'devices.<gpu>.faults',
      'devices.<gpu>.stallNs',
      'endNs',
      'unplugs.<event>.staleDevices',
    ]);
    // Only the top-level records: a row's rdma entries, not a field named rdma inside them.
    expect(fieldPaths({ rdma: { put: { gbps: 1 } }, linkBytes: { 'pci:x.up': 4 } }, 'compare')).toEqual([
      'linkBytes.<link>',
      'rdma.<rdma>.gbps',
    ]);
  });
});
