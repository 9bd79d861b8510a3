/**
 * docs/results.md lists exactly the fields `hmmlab run --json` and `hmmlab compare --json`
 * print (src/sim/results-doc.ts is its source): a scenario with every kind of workload and an
 * unplug event, so that the fields only some results have (dmirror's ioctl counters, unplug
 * records) are there too.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COMPARE_FIELDS, fieldPaths, RUN_FIELDS } from '../../src/sim/results-doc.js';
import { cli } from './run-cli.js';

const SCENARIO = `version: 1
name: all-fields
profile: pcie5-h100
seed: 3
platform:
  ram: 1GiB
  p2p: { default: BUS_ADDR }
devices:
  gpus: [{ name: gpu0, vram: 256MiB }]
  nics: [{ name: nic0 }]
  dmirrors: [{ name: mirror0, minor: 0 }]
buffers: [{ name: buf, size: 16MiB, hugepage: true }, { name: staging, size: 1MiB }]
workloads:
  - { kind: cpu, name: init, buffer: buf, op: write, pattern: sequential }
  - { kind: gpu, name: fill, gpu: gpu0, buffer: buf, op: write, pattern: sequential, after: init }
  - { kind: rdma, name: put, nic: nic0, buffer: buf, op: write, pattern: sequential, messageSize: 64KiB, messages: 64, queueDepth: 4, after: fill }
  - { kind: dmirror, name: stage, dmirror: mirror0, buffer: staging, op: migrate, pattern: sequential }
events:
  - { kind: unplug, name: unplug, gpu: gpu0, mode: safe, after: put }
`;

const dir = mkdtempSync(join(tmpdir(), 'hmmlab-fields-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'all-fields.yaml');
writeFileSync(file, SCENARIO);

const sorted = (fields: readonly { path: string }[]) => fields.map((f) => f.path).sort();

describe('docs/results.md and the JSON (src/sim/results-doc.ts)', () => {
  it('run --json has exactly the fields RUN_FIELDS lists', async () => {
    const r = await cli('run', file, '--no-store', '--json', '--design', 'pagemap-p2p');
    expect(r.err).toBe('');
    expect(fieldPaths(JSON.parse(r.out), 'run')).toEqual(sorted(RUN_FIELDS));
  });

  it('each row of compare --json has exactly the fields COMPARE_FIELDS lists, in that order', async () => {
    const r = await cli('compare', file, '--no-store', '--json', '--designs', 'upstream,pagemap-p2p');
    expect(r.err).toBe('');
    const rows = JSON.parse(r.out) as unknown[];
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(fieldPaths(row, 'compare')).toEqual(sorted(COMPARE_FIELDS));
    // The documented order is the key order (records' fields after their record's key).
    const order = [...new Set(COMPARE_FIELDS.map((f) => f.path.split('.')[0]))];
    expect(Object.keys(rows[0] as object)).toEqual(order);
  });

  it('the end-to-end figures are there and add up', async () => {
    const r = await cli('compare', file, '--no-store', '--json', '--designs', 'pagemap-p2p');
    const [row] = JSON.parse(r.out) as Record<string, number & Record<string, Record<string, number>>>[];
    const put = row!.rdma!.put!;
    expect(row!.nicFaultStallNs).toBe(put.faultStallNs);
    expect(row!.nicP2pBytes).toBe(put.p2pBytes);
    expect(put.p2pBytes! + put.hostBytes!).toBe(64 * 64 * 1024);
    expect(row!.nicP2pBytes).toBeGreaterThan(0);
    expect(row!.bytesToVram).toBeGreaterThan(0);
    expect(row!.gpuStallNs).toBeGreaterThan(0);
    expect(row!.cpuFaultCpuNs).toBeGreaterThan(0);
  });
});
