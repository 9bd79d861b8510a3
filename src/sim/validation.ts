/**
 * Validation of the simulator: the published numbers it must reproduce (its inputs), and the
 * batching experiment of docs/validation.md. `scripts/gen-validation.mjs` writes the document
 * from these functions; `src/sim/validation.test.ts` checks the inputs and the shape.
 */
import { measureCopyBandwidth, type SimResult, simulate } from './simulate.js';

const MiB = 2 ** 20;
const GiBps = 2 ** 30 / 1e9;

/** A published number the engine must reproduce (within 5%). */
export interface InputCheck {
  profile: string;
  bytes: number;
  dir: 'h2d' | 'd2h';
  /** The published value, in `unit`. */
  published: number;
  unit: 'GiB/s' | 'GB/s';
  source: string;
}

export const INPUT_CHECKS: readonly InputCheck[] = [
  {
    profile: 'uvmsmart-gtx1080ti',
    bytes: 4096,
    dir: 'h2d',
    published: 2.17,
    unit: 'GiB/s',
    source:
      'UVMSmart gmmu_t::calculate_transfer_time (src/gpgpu-sim/gpu-sim.cc, https://github.com/DebashisGanguly/gpgpu-sim_UVMSmart)',
  },
  {
    profile: 'uvmsmart-gtx1080ti',
    bytes: 64 * 1024,
    dir: 'h2d',
    published: 10.4,
    unit: 'GiB/s',
    source:
      'UVMSmart gmmu_t::calculate_transfer_time (src/gpgpu-sim/gpu-sim.cc, https://github.com/DebashisGanguly/gpgpu-sim_UVMSmart)',
  },
  {
    profile: 'uvmsmart-gtx1080ti',
    bytes: 2 * MiB,
    dir: 'h2d',
    published: 5.97,
    unit: 'GiB/s',
    source:
      'UVMSmart gmmu_t::calculate_transfer_time (src/gpgpu-sim/gpu-sim.cc, https://github.com/DebashisGanguly/gpgpu-sim_UVMSmart)',
  },
  {
    profile: 'pcie5-h100',
    bytes: 2 ** 30,
    dir: 'h2d',
    published: 35.2,
    unit: 'GB/s',
    source: 'nvbandwidth issue 24, H100 (https://github.com/NVIDIA/nvbandwidth/issues/24)',
  },
  {
    profile: 'pcie5-h100',
    bytes: 2 ** 30,
    dir: 'd2h',
    published: 52.8,
    unit: 'GB/s',
    source: 'nvbandwidth issue 24, H100 (https://github.com/NVIDIA/nvbandwidth/issues/24)',
  },
];

/** The modelled value of a check, in its unit. */
export function modelledInput(c: InputCheck): number {
  const bytesPerNs = measureCopyBandwidth(c.profile, c.bytes, c.dir);
  return c.unit === 'GiB/s' ? bytesPerNs / GiBps : bytesPerNs;
}

function size(bytes: number): string {
  if (bytes >= 2 ** 30) return `${bytes / 2 ** 30} GiB`;
  if (bytes >= MiB) return `${bytes / MiB} MiB`;
  return `${bytes / 1024} KiB`;
}

/** The inputs table of docs/validation.md. */
export function renderInputChecks(): string {
  const rows = INPUT_CHECKS.map((c) => {
    const got = modelledInput(c);
    const err = ((got - c.published) / c.published) * 100;
    return `| ${c.profile} | ${size(c.bytes)} ${c.dir === 'h2d' ? 'host to device' : 'device to host'} | ${c.published} ${c.unit} | ${got.toFixed(3)} ${c.unit} | ${err >= 0 ? '+' : ''}${err.toFixed(2)}% | ${c.source} |`;
  });
  return [
    '| profile | copy | published | model | error | source |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/** One point of the batching experiment. */
export interface SweepRow {
  batch: number;
  prefetch: boolean;
  hugepage: boolean;
  /** Fault-driven migration throughput of the GPU stream, GB/s (bytes / stream time). */
  gbps: number;
  faults: number;
  batches: number;
  faultCpuMs: number;
  copyMs: number;
  stallMs: number;
}

/**
 * A GPU streams once over a buffer the CPU first touched, faulting it into VRAM (no
 * oversubscription). Chunks are 64 KiB (nvidia-uvm's big pages) unless `hugepage`, where the
 * buffer is THP-backed and chunks are 2 MiB.
 */
export function batchingRun(
  bytes: number,
  batch: number,
  prefetch: boolean,
  hugepage = false,
  profile = 'pcie4-a100',
): SweepRow {
  const r: SimResult = simulate(
    {
      version: 1,
      profile,
      platform: { ram: 2 * bytes + 2 ** 30, thp: 'madvise' },
      devices: {
        gpus: [
          {
            name: 'gpu0',
            vram: 2 * bytes,
            faultBatchSize: batch,
            chunkSizes: hugepage ? [2 * MiB, 64 * 1024, 4096] : [64 * 1024, 4096],
            prefetch,
          },
        ],
      },
      buffers: [{ name: 'buf', size: bytes, hugepage }],
      workloads: [
        { kind: 'cpu', name: 'init', buffer: 'buf', op: 'write', pattern: 'sequential' },
        {
          kind: 'gpu',
          name: 'stream',
          gpu: 'gpu0',
          buffer: 'buf',
          op: 'read',
          pattern: 'sequential',
          after: 'init',
        },
      ],
    },
    { seed: 1 },
  );
  const w = r.workloads.stream!;
  const d = r.devices.gpu0!;
  return {
    batch,
    prefetch,
    hugepage,
    gbps: bytes / (w.endNs - w.startNs),
    faults: d.faults,
    batches: d.batches,
    faultCpuMs: d.faultCpuNs / 1e6,
    copyMs: d.copyWaitNs / 1e6,
    stallMs: d.stallNs / 1e6,
  };
}

/** The sweep's table in markdown. */
export function renderSweep(rows: SweepRow[]): string {
  const out = [
    '| fault batch | prefetcher | THP | GB/s | faults | batches | fault-path CPU (ms) | copy wait (ms) | stall (ms) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    out.push(
      `| ${r.batch} | ${r.prefetch ? 'on' : 'off'} | ${r.hugepage ? 'yes' : 'no'} | ${r.gbps.toFixed(3)} | ${r.faults} | ${r.batches} | ${r.faultCpuMs.toFixed(1)} | ${r.copyMs.toFixed(1)} | ${r.stallMs.toFixed(1)} |`,
    );
  }
  return out.join('\n');
}

/** A small deterministic SVG line chart: GB/s against batch size, one line per series. */
export function renderSweepSvg(rows: SweepRow[]): string {
  const W = 820;
  const H = 380;
  const L = 60;
  const R = 260;
  const T = 30;
  const B = 50;
  const series = new Map<string, SweepRow[]>();
  for (const r of rows) {
    const key = `${r.hugepage ? 'THP, 2 MiB chunks' : '64 KiB chunks'}, prefetch ${r.prefetch ? 'on' : 'off'}`;
    if (!series.has(key)) series.set(key, []);
    series.get(key)!.push(r);
  }
  const batches = [...new Set(rows.map((r) => r.batch))].sort((a, b) => a - b);
  // Log scale on both axes: the THP series is an order of magnitude above the others.
  const lo = 10 ** Math.floor(Math.log10(Math.min(...rows.map((r) => r.gbps))));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...rows.map((r) => r.gbps))));
  const x = (b: number) =>
    L +
    ((Math.log2(b) - Math.log2(batches[0]!)) /
      Math.max(1, Math.log2(batches.at(-1)!) - Math.log2(batches[0]!))) *
      (W - L - R);
  const y = (v: number) =>
    H - B - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (H - T - B);
  const colors = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728'];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${L}" y="18" font-size="14">Fault-driven migration throughput vs fault batch size</text>`,
    `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/>`,
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>`,
    `<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">faults per batch (log scale)</text>`,
    `<text x="16" y="${(T + H - B) / 2}" transform="rotate(-90 16 ${(T + H - B) / 2})" text-anchor="middle">GB/s (log scale)</text>`,
  ];
  for (const b of batches) {
    parts.push(
      `<line x1="${x(b).toFixed(1)}" y1="${H - B}" x2="${x(b).toFixed(1)}" y2="${H - B + 5}" stroke="black"/>`,
    );
    parts.push(`<text x="${x(b).toFixed(1)}" y="${H - B + 18}" text-anchor="middle">${b}</text>`);
  }
  for (let d = lo; d <= hi; d *= 10) {
    for (const m of [1, 2, 5]) {
      const v = d * m;
      if (v > hi) break;
      parts.push(
        `<line x1="${L - 5}" y1="${y(v).toFixed(1)}" x2="${W - R}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`,
      );
      parts.push(
        `<text x="${L - 8}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${+v.toPrecision(2)}</text>`,
      );
    }
  }
  let i = 0;
  for (const [name, rs] of series) {
    const c = colors[i % colors.length]!;
    const pts = rs.map((r) => `${x(r.batch).toFixed(1)},${y(r.gbps).toFixed(1)}`).join(' ');
    parts.push(`<polyline points="${pts}" fill="none" stroke="${c}" stroke-width="2"/>`);
    for (const r of rs)
      parts.push(`<circle cx="${x(r.batch).toFixed(1)}" cy="${y(r.gbps).toFixed(1)}" r="3" fill="${c}"/>`);
    parts.push(`<rect x="${W - R + 10}" y="${T + i * 20}" width="12" height="3" fill="${c}"/>`);
    parts.push(`<text x="${W - R + 26}" y="${T + i * 20 + 5}">${name}</text>`);
    i++;
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
