/**
 * Terminal tables as perf and fio print them: a header (one or more lines, the unit on the
 * last), then one line per row, no rules, columns two spaces apart, numbers right-aligned.
 * A table wider than the terminal is split into blocks of whole column groups (a comparison's
 * RDMA workloads, its whole-run figures), each block repeating the key columns (the design),
 * one after the other with a blank line between; a group wider than the terminal on its own is
 * split between its columns.
 *
 *   renderTable(
 *     [{ head: 'design', key: true }, { head: 'put\nGB/s', align: 'right', group: 'put' }],
 *     [['upstream', '24.44']],
 *     { width: terminalWidth() },
 *   );
 */

export interface TextColumn {
  /** The header; `\n` splits it into lines (the unit on the last, by convention). */
  head: string;
  /** 'right' for numbers; default 'left'. */
  align?: 'left' | 'right';
  /** Repeated at the left of every block when the table is split. */
  key?: boolean;
  /** Columns of one group stay in one block when they fit; default: a group of their own. */
  group?: string;
}

export interface TableRenderOptions {
  /** The width to fit in (columns); Infinity (the default) never splits. */
  width?: number;
}

const GAP = '  ';

/** The width to fit tables in: $COLUMNS, else the terminal's, else none (Infinity: a pipe or file). */
export function terminalWidth(
  env: NodeJS.ProcessEnv = process.env,
  stream: { isTTY?: boolean; columns?: number } = process.stdout,
): number {
  const c = env.COLUMNS;
  if (c !== undefined && /^[1-9][0-9]{0,5}$/.test(c.trim())) return Number(c.trim());
  if (stream.isTTY && typeof stream.columns === 'number' && stream.columns > 0) return stream.columns;
  return Number.POSITIVE_INFINITY;
}

/** Length as a terminal shows it (the tables hold no wide or combining characters). */
const len = (s: string) => [...s].length;

/** The width of each column: its widest header line or cell. */
function widths(columns: readonly TextColumn[], rows: readonly (readonly string[])[]): number[] {
  return columns.map((c, i) => Math.max(...c.head.split('\n').map(len), ...rows.map((r) => len(r[i] ?? ''))));
}

/** One block: the columns `idx` of the table, header lines bottom-aligned, then the rows. */
function renderBlock(
  columns: readonly TextColumn[],
  rows: readonly (readonly string[])[],
  w: readonly number[],
  idx: readonly number[],
): string[] {
  const heads = idx.map((i) => columns[i]!.head.split('\n'));
  const depth = Math.max(...heads.map((h) => h.length));
  const pad = (s: string, i: number) => {
    const fill = ' '.repeat(Math.max(0, w[i]! - len(s)));
    return columns[i]!.align === 'right' ? fill + s : s + fill;
  };
  const line = (cells: string[]) => cells.join(GAP).trimEnd();
  const out: string[] = [];
  for (let l = 0; l < depth; l++) {
    out.push(
      line(
        idx.map((i, k) => {
          const h = heads[k]!;
          return pad(h[l - (depth - h.length)] ?? '', i);
        }),
      ),
    );
  }
  for (const r of rows) out.push(line(idx.map((i) => pad(r[i] ?? '', i))));
  return out;
}

/**
 * The table as text (no final newline): one block when it fits in `opts.width`, else blocks
 * of whole groups (see the module comment).
 */
export function renderTable(
  columns: readonly TextColumn[],
  rows: readonly (readonly string[])[],
  opts: TableRenderOptions = {},
): string {
  const width = opts.width ?? Number.POSITIVE_INFINITY;
  const w = widths(columns, rows);
  const all = columns.map((_, i) => i);
  const span = (idx: readonly number[]) =>
    idx.reduce((s, i) => s + w[i]!, 0) + GAP.length * Math.max(0, idx.length - 1);
  if (span(all) <= width) return renderBlock(columns, rows, w, all).join('\n');
  const keys = all.filter((i) => columns[i]!.key);
  // The other columns in groups, in their order (a group is where its first column is).
  const groups: number[][] = [];
  const byName = new Map<string, number[]>();
  for (const i of all) {
    if (columns[i]!.key) continue;
    const g = columns[i]!.group;
    const existing = g === undefined ? undefined : byName.get(g);
    if (existing) existing.push(i);
    else {
      const fresh = [i];
      groups.push(fresh);
      if (g !== undefined) byName.set(g, fresh);
    }
  }
  const blocks: number[][] = [];
  let cur: number[] = [];
  const fits = (idx: number[]) => span([...keys, ...idx]) <= width;
  for (const g of groups) {
    if (fits([...cur, ...g])) {
      cur.push(...g);
      continue;
    }
    if (cur.length > 0) blocks.push(cur);
    cur = [];
    if (fits(g)) {
      cur = [...g];
      continue;
    }
    // A group too wide on its own: split between its columns (a column wider than the
    // terminal goes alone).
    for (const i of g) {
      if (cur.length > 0 && !fits([...cur, i])) {
        blocks.push(cur);
        cur = [];
      }
      cur.push(i);
    }
  }
  if (cur.length > 0) blocks.push(cur);
  return blocks.map((b) => renderBlock(columns, rows, w, [...keys, ...b]).join('\n')).join('\n\n');
}

/**
 * cli-table3's `chars` without the rules between rows, for the tables that keep their boxes
 * because their cells wrap (explore's timeline) or are few (merge's inputs).
 */
export const NO_ROW_RULES = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } as const;
