import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DesignName } from '../designs/design.js';
import { compareRow } from '../sim/compare.js';
import { type SimConfig, simulate } from '../sim/simulate.js';
import { renderReport, reportPlots, writeReport } from './html.js';
import {
  faultsMigrationsPlot,
  faultsPlot,
  linkBytesPlot,
  rdmaLatencyCdfPlot,
  svgToPng,
  vramResidencyPlot,
} from './plots.js';

const MiB = 2 ** 20;

const config: SimConfig = {
  version: 1,
  profile: 'pcie5-h100',
  platform: { ram: 512 * MiB, p2p: { default: 'BUS_ADDR' } },
  devices: { gpus: [{ name: 'gpu0', vram: 128 * MiB }], nics: [{ name: 'nic0' }] },
  buffers: [{ name: 'buf', size: 8 * MiB, hugepage: true }],
  workloads: [
    { kind: 'gpu', name: 'fill', gpu: 'gpu0', buffer: 'buf', op: 'write', pattern: 'sequential' },
    {
      kind: 'rdma',
      name: 'put',
      nic: 'nic0',
      buffer: 'buf',
      op: 'write',
      pattern: 'sequential',
      messageSize: 65536,
      messages: 128,
      queueDepth: 4,
      after: 'fill',
    },
  ],
};

const designs: DesignName[] = ['upstream', 'rfc-callback'];
const results = designs.map((design) => ({
  design,
  result: simulate({ ...config, design }, { seed: 1, log: true }),
}));
const rows = results.map((r) => compareRow(r.result));
const input = {
  title: 'RDMA into GPU memory',
  scenarioName: 'tiny.yaml',
  scenarioText: 'profile: pcie5-h100\n# <not html> & friends\n',
  results,
  rows,
};

const renders = {
  'vram-residency': () => vramResidencyPlot(results),
  'link-bytes': () => linkBytesPlot(rows),
  faults: () => faultsPlot(rows),
  'faults-migrations': () => faultsMigrationsPlot(rows),
  'rdma-latency-cdf': () => rdmaLatencyCdfPlot(results),
};

describe('report plots', () => {
  for (const [name, render] of Object.entries(renders)) {
    it(`${name}: standalone SVG, byte-identical across renders, matches its golden file`, async () => {
      const a = render();
      const b = render();
      expect(b).toBe(a);
      expect(a.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(a).not.toContain('currentColor');
      expect(a).not.toContain('clip-path');
      await expect(a).toMatchFileSnapshot(`./__golden__/${name}.svg`);
    });
  }

  it('draws one series per design (and for RAM and per GPU for residency)', () => {
    const cdf = rdmaLatencyCdfPlot(results);
    const vram = vramResidencyPlot(results);
    for (const d of designs) {
      expect(cdf).toContain(`>${d}</text>`);
      expect(vram).toContain(`>${d} · gpu0</text>`);
      expect(vram).toContain(`>${d} · RAM</text>`);
    }
  });

  it('exports PNG through resvg', () => {
    const png = svgToPng(linkBytesPlot(rows));
    expect([...png.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    expect(png.byteLength).toBeGreaterThan(5000);
  });
});

describe('report page', () => {
  const html = renderReport(input);

  it('is deterministic and self-contained', () => {
    expect(renderReport(input)).toBe(html);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\/(?!www\.w3\.org)/);
  });

  it('inlines every plot and has a table row per design', () => {
    for (const p of reportPlots(results, rows)) {
      expect(html).toContain(`<figure id="${p.id}">`);
      expect(html).toContain(p.svg.trimEnd());
    }
    for (const d of designs) expect(html).toContain(`<tr data-design="${d}"><td>${d}</td>`);
    for (const h of ['put GB/s', 'put p50 µs', 'put p99 µs', 'pages to RAM', 'pages to VRAM', 'P2P pages']) {
      expect(html).toContain(`<th>${h}</th>`);
    }
    for (const h of ['fault CPU ms', 'callbacks', 'alias struct-page MiB'])
      expect(html).toContain(`<th>${h}</th>`);
  });

  it('shows the scenario text escaped in a <details>', () => {
    expect(html).toContain('<details>');
    expect(html).toContain('# &lt;not html&gt; &amp; friends');
  });

  const dir = mkdtempSync(join(tmpdir(), 'hmmlab-report-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes index.html and, on request, plots/*.png', () => {
    const written = writeReport(dir, input, { png: true });
    expect(readFileSync(join(dir, 'index.html'), 'utf8')).toBe(html);
    expect(written.map((f) => f.slice(dir.length + 1)).sort()).toEqual([
      'index.html',
      'plots/faults-migrations.png',
      'plots/faults.png',
      'plots/link-bytes.png',
      'plots/rdma-latency-cdf.png',
      'plots/vram-residency.png',
    ]);
    const png = readFileSync(join(dir, 'plots', 'rdma-latency-cdf.png'));
    expect(png.subarray(0, 4).toString('hex')).toBe('89504e47');
  });
});
