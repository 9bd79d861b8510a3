/** Tables the commands print. */
import Table from 'cli-table3';
import type { CompareRow } from '../sim/compare.js';

const us = (ns: number) => (ns / 1000).toFixed(1);

/** Comparison rows side by side, one line per design (run, compare, report). */
export function printCompare(rows: CompareRow[]): void {
  const rdmaNames = [...new Set(rows.flatMap((r) => Object.keys(r.rdma)))];
  const head = ['design'];
  for (const n of rdmaNames) head.push(`${n} GB/s`, 'p50 us', 'p99 us');
  head.push('run ms', 'to RAM', 'to VRAM', 'P2P pages', 'peer MiB', 'fault CPU ms', 'callbacks', 'alias MiB');
  const table = new Table({ head, style: { head: [], border: [] } });
  for (const r of rows) {
    const cells: (string | number)[] = [r.design];
    for (const n of rdmaNames) {
      const m = r.rdma[n];
      cells.push(m ? m.gbps.toFixed(2) : '-', m ? us(m.p50Ns) : '-', m ? us(m.p99Ns) : '-');
    }
    cells.push(
      (r.endNs / 1e6).toFixed(2),
      r.pagesToRam,
      r.pagesToVram,
      r.p2pPages,
      (r.peerBytes / 2 ** 20).toFixed(0),
      ((r.nicFaultCpuNs + r.gpuFaultCpuNs) / 1e6).toFixed(2),
      r.callbacks,
      (r.aliasStructPageBytes / 2 ** 20).toFixed(0),
    );
    table.push(cells);
  }
  process.stdout.write(`${table.toString()}\n`);
}

/**
 * `message` with control characters other than newline and tab written as `\u001b` escapes:
 * a file name or value echoed in an error cannot move the cursor or recolour the terminal.
 */
export function printableMessage(message: string): string {
  return message.replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this escapes
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
