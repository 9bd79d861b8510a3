/** Tables the commands print. */
import type { CompareRow } from '../sim/compare.js';
import { type CompareColumn, columnLegend, compareColumns } from '../sim/compare-columns.js';
import { renderTable, type TextColumn, terminalWidth } from './table.js';

/** How printCompare prints: every column (--wide), and the legend under the table (--legend). */
export interface CompareTableOptions {
  wide?: boolean;
  legend?: boolean;
  /** The width to fit in; default terminalWidth() ($COLUMNS, the terminal's, or none). */
  width?: number;
  /** Stored runs' ids, one per row (compare --runs): a first column `run` beside the design. */
  ids?: readonly number[];
}

/**
 * Comparison rows side by side, one line per design (run, compare, report): the main columns
 * (src/sim/compare-columns.ts), or all with `wide`, fitted to the terminal (a table too wide
 * is printed in parts, one per RDMA workload and one for the whole run, each with the design);
 * then the legend, one line per column, with `legend`, else a line that says how to get it.
 */
export function printCompare(rows: CompareRow[], opts: CompareTableOptions = {}): void {
  const columns = compareColumns(rows, opts.wide ? 'all' : 'main', 'us');
  const text: TextColumn[] = columns.map((c) => ({
    head: c.term,
    align: c.group === undefined ? 'left' : 'right',
    key: c.group === undefined,
    group: c.group,
  }));
  const cells = rows.map((r) => columns.map((c) => printableMessage(c.cell(r))));
  if (opts.ids !== undefined) {
    text.unshift({ head: 'run', align: 'right', key: true });
    cells.forEach((c, i) => {
      c.unshift(String(opts.ids![i] ?? '-'));
    });
  }
  const width = opts.width ?? terminalWidth();
  let out = `${renderTable(text, cells, { width })}\n`;
  if (opts.legend) out += `${renderLegend(columns, width)}\n`;
  else {
    out += `${wrap(`--legend: what each column counts${opts.wide ? '' : '; --wide: their parts and counts'}; --json: every field (docs/results.md)`, width, '')}\n`;
  }
  process.stdout.write(out);
}

/**
 * `text` in lines of at most `width` columns, broken at spaces (a word longer than a line
 * goes alone), each line after the first starting with `indent`.
 */
export function wrap(text: string, width: number, indent: string): string {
  if (!Number.isFinite(width) || text.length <= width) return text;
  const lead = /^ */.exec(text)![0];
  const lines: string[] = [];
  let line = '';
  for (const word of text.slice(lead.length).split(' ')) {
    const next = line === '' ? `${lead}${word}` : `${line} ${word}`;
    if (line !== '' && line.trim() !== '' && next.length > width) {
      lines.push(line);
      line = `${indent}${word}`;
    } else line = next;
  }
  lines.push(line);
  return lines.join('\n');
}

/**
 * The legend of a table's columns: a line each, header then what it counts and its unit,
 * wrapped to `width` under the descriptions.
 */
export function renderLegend(columns: readonly CompareColumn[], width = Number.POSITIVE_INFINITY): string {
  const legend = columnLegend(columns);
  const keyWidth = Math.max(...legend.map(([k]) => k.length));
  const indent = ' '.repeat(keyWidth + 4);
  return legend
    .map(([k, what]) => wrap(`  ${k.padEnd(keyWidth)}  ${what}`, Math.max(width, keyWidth + 24), indent))
    .join('\n');
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

/** Who a stored run is: what `runs` and `compare --runs` print beside its figures. */
export interface RunIdentity {
  id: number;
  scenario: string;
  design: string;
  seed: number;
  /** The `--set` overrides it ran with (a sweep point's values), in order. */
  overrides: readonly string[];
}

/** The identity columns of runs: run id (the key), scenario, design, seed, overrides. */
export function identityColumns(): TextColumn[] {
  return [
    { head: 'run', align: 'right', key: true },
    { head: 'scenario', group: 'identity' },
    { head: 'design', group: 'identity' },
    { head: 'seed', align: 'right', group: 'identity' },
    { head: 'overrides', group: 'identity' },
  ];
}

/** The identity cells of a run; stored strings pass printableMessage (another machine's store). */
export function identityCells(r: RunIdentity): string[] {
  return [
    String(r.id),
    printableMessage(r.scenario),
    printableMessage(r.design),
    String(r.seed),
    r.overrides.length === 0 ? '-' : printableMessage(r.overrides.join(' ')),
  ];
}
