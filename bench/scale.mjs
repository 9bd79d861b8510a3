// One run of the scale study (issue #8), in a process of its own so that its peak RSS is its
// own: scenarios/dgx-class.yaml scaled to a working set, under one design. Prints one JSON line.
//
//   node bench/scale.mjs <workingSetGiB> <design>
//
// The scenario's working set is 256 GiB (eight 32 GiB shares). scaleDgx() scales every share,
// every RDMA message count and every workload's `bytes` (the CPU's slice) by the same factor,
// so the shape of the run stays the same at every size.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadScenario } from '../dist/scenario/index.js';
import { modelMemoryBytes, simulate } from '../dist/sim/simulate.js';

const here = dirname(fileURLToPath(import.meta.url));
export const SCENARIO = join(here, '../scenarios/dgx-class.yaml');
const GiB = 2 ** 30;
const PAGE = 4096;

/** The dgx-class configuration with a working set of `workingSetGiB` (summed over the shares). */
export function scaleDgx(workingSetGiB, design) {
  const r = loadScenario(readFileSync(SCENARIO, 'utf8'), 'scenarios/dgx-class.yaml');
  if (!r.ok) throw new Error(r.errors.map((e) => e.message).join('\n'));
  const c = structuredClone(r.config);
  const declared = c.buffers.reduce((s, b) => s + b.size, 0);
  const k = (workingSetGiB * GiB) / declared;
  for (const b of c.buffers) b.size = Math.round((b.size * k) / PAGE) * PAGE;
  for (const w of c.workloads) {
    if (w.bytes !== undefined) w.bytes = Math.max(PAGE, Math.round((w.bytes * k) / PAGE) * PAGE);
    if (w.kind === 'rdma') w.messages = Math.max(1, Math.round(w.messages * k));
  }
  c.design = design;
  return { config: c, seed: r.seed };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const workingSetGiB = Number(process.argv[2]);
  const design = process.argv[3] ?? 'upstream';
  if (!(workingSetGiB > 0)) {
    process.stderr.write('usage: node bench/scale.mjs <workingSetGiB> <design>\n');
    process.exit(2);
  }
  const { config, seed } = scaleDgx(workingSetGiB, design);
  let mem;
  const t0 = process.hrtime.bigint();
  const r = simulate(config, {
    seed,
    inspect: (m) => {
      mem = modelMemoryBytes(m);
    },
  });
  const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
  // Every GPU's compute workload writes its whole share once: the pages it touched are the
  // working set's distinct pages (the other workloads touch the same pages again).
  let touchedPages = 0;
  for (const [name, w] of Object.entries(r.workloads))
    if (name.startsWith('compute')) touchedPages += w.pagesTouched;
  const expected = config.buffers.reduce((s, b) => s + b.size / PAGE, 0);
  if (touchedPages !== expected) throw new Error(`touched ${touchedPages} pages, expected ${expected}`);
  for (const w of config.workloads) {
    if (!(r.workloads[w.name]?.endNs > 0)) throw new Error(`workload ${w.name} did not finish`);
  }
  const out = {
    workingSetGiB,
    design,
    wallSeconds: +wallSeconds.toFixed(2),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    bytesPerTouchedPage: +(mem.total / touchedPages).toFixed(2),
    touchedPages,
    modelBytes: mem,
    events: r.events,
    simulatedSeconds: +(r.endNs / 1e9).toFixed(3),
    nicP2pPages: Object.values(r.nics).reduce((s, n) => s + n.p2pPages, 0),
    pagesToVram: Object.values(r.devices).reduce((s, d) => s + d.pagesToVram, 0),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
