/** Tables the commands print. */
import Table from 'cli-table3';
import type { CompareRow } from '../sim/compare.js';
import { type CompareColumn, columnLegend, compareColumns } from '../sim/compare-columns.js';

/** How printCompare prints: every column (--wide), and the legend under the table (--legend). */
export interface CompareTableOptions {
  wide?: boolean;
  legend?: boolean;
}

/**
 * Comparison rows side by side, one line per design (run, compare, report): the main columns
 * (src/sim/compare-columns.ts), or all with `wide`; then the legend, one line per column, with
 * `legend`, else a line that says how to get it.
 */
export function printCompare(rows: CompareRow[], opts: CompareTableOptions = {}): void {
  const columns = compareColumns(rows, opts.wide ? 'all' : 'main', 'us');
  const table = new Table({ head: columns.map((c) => c.term), style: { head: [], border: [] } });
  for (const r of rows) table.push(columns.map((c) => c.cell(r)));
  let out = `${table.toString()}\n`;
  if (opts.legend) out += `${renderLegend(columns)}\n`;
  else {
    out += `Columns: --legend says what each counts${opts.wide ? '' : ', --wide shows their parts and counts'}; --json gives every field (docs/results.md).\n`;
  }
  process.stdout.write(out);
}

/** The legend of a table's columns: a line each, header then what it counts and its unit. */
export function renderLegend(columns: readonly CompareColumn[]): string {
  const legend = columnLegend(columns);
  const width = Math.max(...legend.map(([k]) => k.length));
  return legend.map(([k, what]) => `  ${k.padEnd(width)}  ${what}`).join('\n');
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
