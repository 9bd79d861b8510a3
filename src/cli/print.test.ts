import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CompareRow } from '../sim/compare.js';
import { compareColumns } from '../sim/compare-columns.js';
import { printCompare } from './print.js';

afterEach(() => vi.restoreAllMocks());

/** Rows with the seed scenario's shape (two RDMA workloads) and its largest figures. */
function row(design: string): CompareRow {
  const rdma = {
    gbps: 24.44,
    p50Ns: 11_500,
    p90Ns: 40_000,
    p99Ns: 51_200,
    maxNs: 60_000,
    faultStalls: 16_384,
    faultStallNs: 43_930_000,
    inFlightWaitNs: 0,
    p2pBytes: 0,
    hostBytes: 2 ** 30,
  };
  return {
    design,
    endNs: 236_290_000,
    rdma: { put: rdma, get: rdma },
    nicFaultCpuNs: 61_180_000,
    nicHmmCpuNs: 1,
    nicDesignCpuNs: 1,
    nicDmaMapCpuNs: 1,
    gpuFaultCpuNs: 116_110_000,
    cpuFaultCpuNs: 0,
    gpuStallNs: 147_360_000,
    nicFaultStalls: 32_768,
    nicFaultStallNs: 87_860_000,
    nicInFlightWaitNs: 0,
    hmmCalls: 1,
    hmmPages: 1,
    hmmRetries: 0,
    callbacks: 262_144,
    locks: 0,
    mapTypeQueries: 0,
    aliasStructPageBytes: 16 * 2 ** 20,
    gpuFaults: 524_288,
    nicFaults: 32_768,
    cpuFaults: 0,
    pagesToRam: 524_288,
    pagesToVram: 524_288,
    bytesToRam: 2 ** 31,
    bytesToVram: 2 ** 30,
    gpuPeerBytes: 0,
    workloadNs: {},
    nicP2pPagesMapped: 262_144,
    nicHostPagesMapped: 0,
    nicP2pFallbacks: 0,
    nicP2pBytes: 2 ** 31,
    nicHostBytes: 0,
    linkBytes: {},
  } as CompareRow;
}
const rows = ['upstream', 'rfc-callback', 'device-private-flag'].map(row);

function printed(opts: Parameters<typeof printCompare>[1] = {}): string {
  let out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    out += String(s);
    return true;
  });
  printCompare(rows, opts);
  vi.restoreAllMocks();
  return out;
}

describe('printCompare', () => {
  it('fits the main columns of the seed scenario in 160 columns, each named for what it counts', () => {
    const out = printed({ width: 160 });
    const lines = out.trimEnd().split('\n');
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(160);
    const heads = compareColumns(rows, 'main', 'us').map((c) => c.head);
    expect(heads).toEqual([
      'design',
      'put GB/s',
      'put p50 us',
      'put p99 us',
      'get GB/s',
      'get p50 us',
      'get p99 us',
      'run ms',
      'to VRAM MiB',
      'to RAM MiB',
      'GPU stall ms',
      'NIC stall ms',
      'fault CPU ms',
      'NIC P2P MiB',
      'GPU peer MiB',
    ]);
    // Two header lines: what, then the unit (right-aligned over the numbers); no rules.
    expect(lines[0]).toMatch(/ GPU +NIC +fault +NIC P2P +GPU peer$/);
    expect(lines[1]).toMatch(/^design +GB\/s .* stall ms +stall ms +CPU ms +MiB +MiB$/);
    expect(lines[2]).toMatch(/^upstream +24\.44 +11\.5 +51\.2 /);
    expect(out).not.toMatch(/[│─]/);
    // Without --legend, one line says how to get it.
    expect(lines.at(-1)).toMatch(/--legend/);
  });

  it('--legend: one line per column under the table, each with its unit', () => {
    const out = printed({ legend: true, width: Number.POSITIVE_INFINITY });
    const legend = out.split('\n').filter((l) => /^ {2}\S/.test(l));
    const columns = compareColumns(rows, 'main', 'us');
    // The two RDMA workloads' columns are explained once.
    expect(legend).toHaveLength(columns.length - 3);
    for (const l of legend) expect(l).toMatch(/\((ms|us|MiB|GB\/s = bytes\/ns)\)$|design/);
    expect(out).toContain('  GPU peer MiB ');
    expect(out).toContain('  <rdma> GB/s ');
  });

  it('--wide adds the parts and counts: pages each way, NIC P2P pages mapped, stall and CPU parts', () => {
    const out = printed({ wide: true, legend: true, width: 100 });
    for (const l of out.split('\n')) expect(l.length, l).toBeLessThanOrEqual(100);
    for (const h of [
      'pages to VRAM',
      'pages to RAM',
      'NIC P2P pages mapped',
      'NIC in-flight wait ms',
      'CPU fault CPU ms',
      'driver callbacks',
      '<rdma> QP stall ms',
    ])
      expect(out).toContain(`  ${h} `);
    expect(out).toMatch(/ 262144 /);
  });
});
