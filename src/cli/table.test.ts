import { describe, expect, it } from 'vitest';
import { renderTable, terminalWidth } from './table.js';

const cols = [
  { head: 'design', key: true },
  { head: 'put\nGB/s', align: 'right' as const, group: 'put' },
  { head: 'put\np99 us', align: 'right' as const, group: 'put' },
  { head: 'get\nGB/s', align: 'right' as const, group: 'get' },
  { head: 'run\nms', align: 'right' as const, group: 'run' },
];
const rows = [
  ['upstream', '24.44', '51.2', '3.1', '249.73'],
  ['pagemap-p2p', '35.19', '14.9', '40.84', '122.78'],
];

describe('renderTable', () => {
  it('a header bottom-aligned, a line per row, no rules, numbers right-aligned', () => {
    expect(renderTable(cols, rows)).toBe(
      [
        '               put     put    get     run',
        'design        GB/s  p99 us   GB/s      ms',
        'upstream     24.44    51.2    3.1  249.73',
        'pagemap-p2p  35.19    14.9  40.84  122.78',
      ].join('\n'),
    );
  });

  it('too wide: blocks of whole groups, each with the key column', () => {
    const out = renderTable(cols, rows, { width: 30 });
    const blocks = out.split('\n\n');
    expect(blocks).toHaveLength(2);
    expect(blocks[0]).toBe(
      [
        '               put     put',
        'design        GB/s  p99 us',
        'upstream     24.44    51.2',
        'pagemap-p2p  35.19    14.9',
      ].join('\n'),
    );
    expect(blocks[1]).toMatch(/^design +GB\/s +ms$/m);
    for (const l of out.split('\n')) expect(l.length).toBeLessThanOrEqual(30);
  });

  it('a group wider than the width is split between its columns', () => {
    const out = renderTable(cols, rows, { width: 20 });
    for (const l of out.split('\n')) expect(l.length).toBeLessThanOrEqual(20);
    expect(out.split('\n\n')).toHaveLength(4);
  });

  it('terminalWidth: $COLUMNS, else the terminal, else no limit', () => {
    expect(terminalWidth({ COLUMNS: '120' }, { isTTY: true, columns: 80 })).toBe(120);
    expect(terminalWidth({ COLUMNS: 'wide' }, { isTTY: true, columns: 80 })).toBe(80);
    expect(terminalWidth({}, { isTTY: false })).toBe(Number.POSITIVE_INFINITY);
  });
});
