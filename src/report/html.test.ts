import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gpuFillThenRdmaWrite } from '../../test/fixtures/configs.js';
import type { DesignName } from '../designs/design.js';
import { type CompareRow, compareRow } from '../sim/compare.js';
import { type SimResult, simulate } from '../sim/simulate.js';
import { renderReport, reportPlots, writeReport } from './html.js';
import {
  type DesignLog,
  faultsMigrationsPlot,
  faultsPlot,
  linkBytesPlot,
  rdmaLatencyCdfPlot,
  svgToPng,
  vramResidencyPlot,
} from './plots.js';

const MiB = 2 ** 20;

// The plots are tested on fixed, hand-written data (rows and event logs below), not on
// simulation results: a golden file pins how a plot draws its input, so a change in the model's
// numbers must not fail it. The report page below is rendered from a real run.

/** A comparison row of zeros but for `figures`. */
function row(design: DesignName, figures: Partial<CompareRow>): CompareRow {
  return {
    design,
    endNs: 0,
    rdma: {},
    nicFaultCpuNs: 0,
    nicHmmCpuNs: 0,
    nicDesignCpuNs: 0,
    nicDmaMapCpuNs: 0,
    gpuFaultCpuNs: 0,
    hmmCalls: 0,
    hmmPages: 0,
    hmmRetries: 0,
    callbacks: 0,
    locks: 0,
    mapTypeQueries: 0,
    aliasStructPageBytes: 0,
    gpuFaults: 0,
    nicFaults: 0,
    cpuFaults: 0,
    pagesToRam: 0,
    pagesToVram: 0,
    gpuPeerBytes: 0,
    workloadNs: {},
    nicP2pPagesMapped: 0,
    nicHostPagesMapped: 0,
    nicP2pFallbacks: 0,
    linkBytes: {},
    ...figures,
  };
}

const plotRows: CompareRow[] = [
  row('upstream', {
    gpuFaults: 1536,
    nicFaults: 64,
    cpuFaults: 8,
    pagesToRam: 2048,
    pagesToVram: 4096,
    linkBytes: {
      'host-memory.read': 16 * MiB,
      'host-memory.write': 24 * MiB,
      'pci:gpu0.down': 16 * MiB,
      'pci:gpu0.up': 8 * MiB,
      'pci:nic0.up': 8 * MiB,
    },
  }),
  row('rfc-callback', {
    gpuFaults: 1024,
    nicFaults: 32,
    pagesToVram: 2048,
    nicP2pPagesMapped: 2048,
    linkBytes: {
      'host-memory.read': 8 * MiB,
      'pci:gpu0.down': 16 * MiB,
      'pci:nic0.up': 8 * MiB,
      'pci:socket0/switch0.down': 8 * MiB,
    },
  }),
];

type Event = NonNullable<SimResult['log']>[number];
/** A GPU fault batch on gpu0 over [t, endNs) that leaves `vram` pages in VRAM and `ram` in RAM. */
const batch = (t: number, endNs: number, vram: number, ram: number): Event => ({
  t,
  kind: 'batch',
  gpu: 'gpu0',
  faults: 256,
  uniquePages: 256,
  pagesToVram: 256,
  evictedPages: 0,
  hmmPages: 256,
  cpuNs: endNs - t,
  cpuStartNs: t,
  core: 0,
  phases: [['migrate_vma', endNs - t]],
  endNs,
  vramPages: vram,
  ramPages: ram,
});
const nicFault = (t: number, endNs: number, vram: number, ram: number): Event => ({
  t,
  kind: 'nic_fault',
  nic: 'nic0',
  pages: 512,
  cpuNs: endNs - t,
  cpuStartNs: t,
  core: 1,
  phases: [['fault entry', endNs - t]],
  endNs,
  ramPages: ram,
  vramPages: { gpu0: vram },
});
const cpuFault = (t: number, cpuNs: number, vram: number, ram: number): Event => ({
  t,
  kind: 'cpu_fault',
  workload: 'check',
  pages: 1,
  cpuNs,
  core: 0,
  phases: [['fault entry', cpuNs]],
  ramPages: ram,
  vramPages: { gpu0: vram },
});
/** `n` RDMA messages of workload `put`, the i-th taking latency(i) ns, one every 2 us. */
const messages = (n: number, latency: (i: number) => number): Event[] =>
  Array.from({ length: n }, (_, i) => ({
    t: 1e6 + 2000 * i,
    kind: 'message' as const,
    workload: 'put',
    bytes: 65536,
    endNs: 1e6 + 2000 * i + latency(i),
  }));

const plotResults: DesignLog[] = [
  {
    design: 'upstream',
    result: {
      endNs: 3.2e6,
      log: [
        batch(0, 2e5, 512, 300),
        batch(2e5, 4e5, 1024, 300),
        batch(4e5, 6e5, 1536, 300),
        batch(6e5, 8e5, 2048, 300),
        // NIC faults pull folios back to RAM (migrate_to_ram), then every 16th message waits for one.
        nicFault(1e6, 1.4e6, 1536, 812),
        nicFault(1.6e6, 2e6, 1024, 1324),
        cpuFault(2.5e6, 1500, 1024, 1325),
        ...messages(96, (i) => (i % 16 === 0 ? 4e5 : 3000 + 37 * (i % 11))),
      ],
    },
  },
  {
    design: 'rfc-callback',
    result: {
      endNs: 2.4e6,
      log: [
        batch(0, 2e5, 512, 300),
        batch(2e5, 4e5, 1024, 300),
        batch(4e5, 6e5, 1536, 300),
        batch(6e5, 8e5, 2048, 300),
        // P2P: the NIC maps the BAR, nothing moves.
        nicFault(1e6, 1.01e6, 2048, 300),
        ...messages(96, (i) => 3200 + 53 * (i % 7)),
      ],
    },
  },
];
const plotDesigns = plotRows.map((r) => r.design);

const renders = {
  'vram-residency': () => vramResidencyPlot(plotResults),
  'link-bytes': () => linkBytesPlot(plotRows),
  faults: () => faultsPlot(plotRows),
  'faults-migrations': () => faultsMigrationsPlot(plotRows),
  'rdma-latency-cdf': () => rdmaLatencyCdfPlot(plotResults),
};

describe('report plots (from fixed data)', () => {
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
    const cdf = rdmaLatencyCdfPlot(plotResults);
    const vram = vramResidencyPlot(plotResults);
    for (const d of plotDesigns) {
      expect(cdf).toContain(`>${d}</text>`);
      expect(vram).toContain(`>${d} · gpu0</text>`);
      expect(vram).toContain(`>${d} · RAM</text>`);
    }
  });

  it('draws the links of every row, and a placeholder when there is nothing to draw', () => {
    const links = linkBytesPlot(plotRows);
    for (const l of ['host-memory.write', 'pci:socket0/switch0.down'])
      expect(links).toContain(`>${l}</text>`);
    expect(linkBytesPlot([row('upstream', {})])).toContain('>no link traffic</text>');
    expect(rdmaLatencyCdfPlot([{ design: 'upstream', result: { endNs: 0, log: [] } }])).toContain(
      '>no RDMA messages in the event log</text>',
    );
  });

  it('exports PNG through resvg', () => {
    const png = svgToPng(linkBytesPlot(plotRows));
    expect([...png.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    expect(png.byteLength).toBeGreaterThan(5000);
  });
});

// The page: a real run under two designs (nothing below depends on its numbers).
const config = gpuFillThenRdmaWrite({
  platform: { ram: 512 * MiB, p2p: { default: 'BUS_ADDR' } },
  vram: 128 * MiB,
  size: 8 * MiB,
  messages: 128,
  queueDepth: 4,
});

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
    // The main table, then the parts and counts, each with a legend of its columns.
    for (const h of ['put GB/s', 'put p50 µs', 'put p99 µs', 'run ms', 'to VRAM MiB', 'to RAM MiB']) {
      expect(html).toContain(`<th>${h}</th>`);
    }
    for (const h of ['GPU stall ms', 'NIC stall ms', 'fault CPU ms', 'NIC P2P MiB', 'GPU peer MiB'])
      expect(html).toContain(`<th>${h}</th>`);
    for (const h of ['pages to RAM', 'pages to VRAM', 'NIC P2P pages mapped', 'driver callbacks'])
      expect(html).toContain(`<th>${h}</th>`);
    expect(html).toContain('<th>alias struct-page MiB</th>');
    expect(html).not.toMatch(/<th>(P2P pages|peer MiB|callbacks)<\/th>/);
    expect(html.indexOf('<table id="compare">')).toBeLessThan(html.indexOf('<table id="compare-more">'));
    expect(html).toContain('<dl class="legend" id="compare-legend">');
    expect(html).toContain(
      '<dt>GPU peer MiB</dt><dd>bytes GPUs read or wrote in another GPU&#39;s VRAM, summed over GPUs (MiB)</dd>',
    );
    expect(html).toContain('<dt>&lt;rdma&gt; GB/s</dt>');
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
