/**
 * `hmmlab sensitivity`: the runs on worker threads end to end on a small scenario (a few inputs,
 * so that it takes seconds), its JSON, table and report page; bad options exit 2 with one line
 * before anything runs.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getProfile } from '../../src/sim/costs.js';
import { smallRdma, tinyGpu } from '../fixtures/scenarios.js';
import { cli } from './run-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'hmmlab-sensitivity-'));
const rdma = join(dir, 'small-rdma.yaml');
writeFileSync(rdma, smallRdma({ messages: 64 }));
const gpuOnly = join(dir, 'tiny-gpu.yaml');
writeFileSync(gpuOnly, tinyGpu('tiny-gpu'));
const PARAMS = 'rdmaNicBandwidth,workloads.put.queueDepth,pageWalkDescentNs,buffers.buf.hugepage';
/** The RDMA scenario's run, which the first test makes on one worker thread and on two. */
const RDMA_RUN = ['sensitivity', rdma, '--designs', 'upstream,pagemap-p2p', '--params', PARAMS];

describe('hmmlab sensitivity on a small scenario', () => {
  it('--json: the verdict, each input at both ends ranked by swing, the unread parameters', async () => {
    const report = join(dir, 'report');
    const r = await cli(...RDMA_RUN, '--jobs', '1', '--json', '--report', report);
    expect(r.err).toMatch(/runs \(3 inputs moved, 1 cost parameters unread\) on 1 worker threads in/);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({
      scenario: 'small-rdma',
      seed: 3,
      designs: ['upstream', 'pagemap-p2p'],
      metric: 'bandwidth',
    });
    expect(j.verdict).toMatchObject({ metric: 'bandwidth', best: 'pagemap-p2p' });
    for (const k of ['value', 'min', 'max', 'bandwidthRatio', 'p99Ratio', 'endRatio'])
      expect(typeof j.verdict[k], k).toBe('number');
    expect(j.verdict.min).toBeLessThanOrEqual(j.verdict.value);
    expect(j.verdict.max).toBeGreaterThanOrEqual(j.verdict.value);
    expect(j.verdict.value).toBe(j.verdict.bandwidthRatio);
    const names = j.parameters.map((p: { name: string }) => p.name);
    expect([...names].sort()).toEqual([
      'buffers.buf.hugepage',
      'rdmaNicBandwidth',
      'workloads.put.queueDepth',
    ]);
    const swings = j.parameters.map((p: { swing: number }) => p.swing);
    expect(swings).toEqual([...swings].sort((a: number, b: number) => b - a));
    const nic = j.parameters.find((p: { name: string }) => p.name === 'rdmaNicBandwidth');
    // Its kind is the profile's (docs/costs.md), whatever the profile says it is.
    const kind = getProfile('pcie5-h100').parameters.rdmaNicBandwidth.kind;
    expect(nic).toMatchObject({ kind, unit: 'GB/s', rule: 'x0.5, x2' });
    expect(nic.lowValue).toBe(nic.base / 2);
    expect(nic.highValue).toBe(nic.base * 2);
    expect(nic.low).toBe(nic.lowVerdict.bandwidthRatio);
    expect(nic.high).toBe(nic.highVerdict.bandwidthRatio);
    expect(j.unread).toEqual(['pageWalkDescentNs']);
    // Two baselines; rdmaNicBandwidth and the queue depth at two ends, hugepage at one (true is the base).
    expect(j.runs).toBe(2 + 2 * 2 + 2 * 2 + 2);
    // The same input gives the same bytes (the timing goes to stderr).
    const again = await cli(...RDMA_RUN, '--jobs', '2', '--json');
    expect(again.out).toBe(r.out);
    // The report page: the table and a tornado plot.
    expect(r.err).toContain(`report: ${join(report, 'index.html')}`);
    const html = readFileSync(join(report, 'index.html'), 'utf8');
    expect(html).toContain('<table id="sensitivity">');
    expect(html).toContain('<figure id="tornado">');
    expect(html).toContain('Sensitivity: RDMA bandwidth ratio');
    expect(html).toContain('<code>pageWalkDescentNs</code>');
  }, 120_000);

  it('prints the ranked table, and ranks a scenario without RDMA by the whole-run time', async () => {
    const r = await cli(
      'sensitivity',
      gpuOnly,
      '--designs',
      'upstream,owner-registry',
      '--params',
      'platform.thp,gpuFaultBatchFixedNs',
      '--jobs',
      '1',
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^verdict: whole-run time ratio \(baseline \/ best P2P\) of owner-registry: /);
    expect(r.out).toMatch(/parameter +kind +base value +low value -> verdict +high value -> verdict/);
    expect(r.out).toMatch(/gpuFaultBatchFixedNs +derived +50,000 ns +25,000 ns -> [0-9.]+x/);
    expect(r.out).toMatch(/platform\.thp +scenario +madvise +never -> [0-9.]+x +always -> [0-9.]+x/);
  }, 120_000);
});

describe('hmmlab sensitivity refuses bad options with exit 2 and one line', () => {
  const refuses = async (args: string[], message: RegExp) => {
    const r = await cli('sensitivity', ...args);
    expect(r.code, args.join(' ')).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/^hmmlab: [^\n]+\n$/);
    expect(r.err).toMatch(message);
    expect(r.err).not.toMatch(/\n\s+at /);
  };

  it('designs without the baseline or without a P2P design', async () => {
    await refuses([rdma, '--designs', 'upstream'], /--designs: .*no P2P design/);
    await refuses(
      [rdma, '--designs', 'pagemap-p2p,owner-registry'],
      /--designs: .*no baseline design \(upstream\)/,
    );
    await refuses([rdma, '--designs', 'upstream,pagemap'], /--designs: unknown design 'pagemap'/);
  });

  it('an unknown metric, or an RDMA metric for a scenario without RDMA', async () => {
    await refuses(
      [rdma, '--metric', 'latency'],
      /--metric must be one of bandwidth, p99, time, not 'latency'/,
    );
    await refuses(
      [gpuOnly, '--metric', 'p99'],
      /--metric p99: .* has no rdma workload; rank by --metric time/,
    );
  });

  it('--params: an unknown input (with a did-you-mean), an empty item, a duplicate', async () => {
    await refuses(
      [rdma, '--params', 'rdmaNicBandwith'],
      /--params: unknown input 'rdmaNicBandwith' \(did you mean 'rdmaNicBandwidth'\?\)/,
    );
    await refuses(
      [rdma, '--params', 'workloads.nope.queueDepth'],
      /--params: unknown input 'workloads.nope.queueDepth'/,
    );
    await refuses(
      [rdma, '--params', 'rdmaNicBandwidth,'],
      /--params: item 2 of 'rdmaNicBandwidth,' is empty/,
    );
    await refuses([rdma, '--params', 'platform.thp,platform.thp'], /platform.thp is listed twice/);
  });

  it('--jobs, --seed, --report and the scenario file', async () => {
    await refuses([rdma, '--jobs', '0'], /--jobs must be .*'0'/);
    await refuses([rdma, '--jobs', '1.5'], /--jobs must be .*'1.5'/);
    await refuses([rdma, '--seed', '-1'], /--seed must be .*'-1'/);
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    await refuses([rdma, '--report', join(file, 'sub')], /--report/);
    await refuses([join(dir, 'missing.yaml')], /missing\.yaml/);
    await refuses([rdma, '--set', 'workloads.put.queueDepth=0'], /queueDepth/);
    expect(existsSync(join(file, 'sub'))).toBe(false);
  });
});
