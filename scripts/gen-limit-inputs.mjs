#!/usr/bin/env node
/**
 * Writes the inputs that exercise the reader's bounds (src/scenario/yaml-bounds.ts) into a
 * folder, to measure them by hand:
 *
 *   node scripts/gen-limit-inputs.mjs /tmp/limits [buffers]
 *   /usr/bin/time -v node bin/hmmlab.js run /tmp/limits/big-buffers.yaml --max-file-size 100MiB
 *   node bin/hmmlab.js run /tmp/limits/deep-block.yaml
 *
 * big-buffers.yaml: a scenario of `buffers` list entries shaped like the shipped scenarios'
 * (`- { name: bN, size: 4KiB }`), 1.2 million by default (40 MB): refused at the token limit.
 * deep-*.yaml: 3,000 levels of block lists (also followed by a line back at the left, which
 * overflowed the yaml package's CST parser), flow lists, flow maps, indented maps, and lists
 * inside maps: refused at the node 65 levels deep. aliases.yaml: 20,000 aliases (the yaml
 * package's toJS takes time growing with the square of their number): refused at the 1001st.
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const [dir, count = '1200000'] = process.argv.slice(2);
if (!dir || !/^\d+$/.test(count)) {
  process.stderr.write('usage: node scripts/gen-limit-inputs.mjs <folder> [buffers]\n');
  process.exit(2);
}
mkdirSync(dir, { recursive: true });

const head = `version: 1
name: big-buffers
profile: pcie5-h100
platform:
  ram: 8GiB
devices:
  gpus:
    - { name: gpu0, vram: 2GiB }
workloads:
  - { kind: gpu, name: init, gpu: gpu0, buffer: b0, op: write, pattern: sequential }
buffers:
`;
const fd = openSync(join(dir, 'big-buffers.yaml'), 'w');
writeSync(fd, head);
const n = Number(count);
for (let i = 0; i < n; i += 10_000) {
  let chunk = '';
  for (let j = i; j < Math.min(n, i + 10_000); j++) chunk += `  - { name: b${j}, size: 4KiB }\n`;
  writeSync(fd, chunk);
}
closeSync(fd);

const levels = 3000;
const indented = (line) =>
  `${Array.from({ length: levels }, (_, i) => `${'  '.repeat(i)}${line(i)}`).join('\n')} x\n`;
const files = {
  'deep-block.yaml': `${'- '.repeat(levels)}x\n`,
  'deep-dedent.yaml': `${'- '.repeat(levels)}x\n- y\n`,
  'deep-flow.yaml': `${'['.repeat(levels)}\n`,
  'deep-flow-map.yaml': `${'{a: '.repeat(levels)}x${'}'.repeat(levels)}\n`,
  'deep-maps.yaml': indented((i) => `k${i}:`),
  'deep-mixed.yaml': indented((i) => (i % 2 === 0 ? 'k:' : '-')),
  'aliases.yaml': `version: 1\na: [&a 1, &b 2]\nb: [${Array.from({ length: 20_000 }, (_, i) => (i % 2 ? '*a' : '*b')).join(', ')}]\n`,
};
for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
process.stdout.write(
  `wrote big-buffers.yaml (${n} buffers) and ${Object.keys(files).join(', ')} in ${dir}\n`,
);
