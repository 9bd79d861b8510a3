// Writes docs/designs.md and docs/designs-*.svg: the seed scenario under every P2P design on
// several platforms. Everything comes from dist/ (run `npm run build` first):
//
//   npm run build && node scripts/gen-designs.mjs        (about a minute on 2 cores)
//
// The doc's first line records the fingerprint of the inputs (scripts/doc-fingerprint.mjs);
// test/lint/generated-docs.test.ts fails while they differ from it (the doc is stale).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PciTopology } from '../dist/kernel/p2pdma.js';
import { groupedBarsSvg } from '../dist/report/svg.js';
import { compare, renderCompareMarkdown } from '../dist/sim/compare.js';
import {
  claimVerdict,
  rdmaSummary,
  STUDY_PLATFORMS,
  seedScenario,
  studyPlatform,
  twoGpuStudy,
  verdictGrid,
} from '../dist/sim/design-study.js';
import { assertBuilt, docEntry, docHeader } from './doc-fingerprint.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// The doc records the fingerprint of its inputs (scripts/doc-fingerprint.mjs), which a test
// recomputes; the model comes from dist/, which must be built from those inputs.
const doc = docEntry('scripts/gen-designs.mjs');
assertBuilt(doc);
const log = (s) => process.stderr.write(`${s}\n`);
const DESIGNS = ['upstream', 'rfc-callback', 'pagemap-p2p', 'owner-registry', 'device-private-flag'];

const results = [];
for (const p of STUDY_PLATFORMS) {
  log(`platform ${p.name}`);
  const rows = studyPlatform(p);
  const mapType = PciTopology.fromSpec(p.pci).p2pdmaMapType('gpu0', 'nic0');
  const distance = PciTopology.fromSpec(p.pci).p2pdmaDistance('gpu0', 'nic0').distance;
  results.push({ p, rows, v: claimVerdict(rows), mapType, distance });
}

writeFileSync(
  join(root, 'docs/designs-bandwidth.svg'),
  groupedBarsSvg({
    title: 'RDMA bandwidth into and out of GPU-resident SVM memory (mean of RDMA phases)',
    yLabel: 'GB/s',
    series: DESIGNS,
    groups: results.map(({ p, rows }) => ({ label: p.name, values: rows.map((r) => rdmaSummary(r).gbps) })),
  }),
);
writeFileSync(
  join(root, 'docs/designs-p99.svg'),
  groupedBarsSvg({
    title: 'RDMA message latency, p99 (worst RDMA phase), log scale',
    yLabel: 'microseconds',
    series: DESIGNS,
    log: true,
    groups: results.map(({ p, rows }) => ({
      label: p.name,
      values: rows.map((r) => rdmaSummary(r).p99Ns / 1000),
    })),
  }),
);

// The verdict over the first-order choices: queue depth x device folio size x message size.
log('grid');
const sameSwitch = STUDY_PLATFORMS[0];
const grid = verdictGrid(sameSwitch);

// The same switch with RNR NAK retries charged (min_rnr_timer 12: 0.64 ms), which the profile
// leaves at 0: the largest single assumption, shown beside the default rather than folded in.
log('RNR');
const rnrRows = compare(seedScenario(sameSwitch, { overrides: { rdmaRnrTimerNs: 640000 } }), DESIGNS, 1);
const rnr = claimVerdict(rnrRows);

// One-at-a-time sensitivity of the shipped scenario (hmmlab sensitivity), every parameter the
// run reads at x0.5 and x2: the command a reader can rerun.
const SENS_ARGS = [
  'sensitivity',
  'scenarios/rdma-into-gpu.yaml',
  '--designs',
  'upstream,owner-registry',
  '--set',
  'buffers.buf.size=256MiB',
  '--set',
  'workloads.put.messages=4096',
  '--set',
  'workloads.get.messages=4096',
  '--json',
];
log(`hmmlab ${SENS_ARGS.join(' ')}`);
const sens = JSON.parse(
  execFileSync(process.execPath, [join(root, 'bin/hmmlab.js'), ...SENS_ARGS], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 256 * 2 ** 20,
    stdio: ['ignore', 'pipe', 'inherit'],
  }),
);
const f = (x, d = 2) => x.toFixed(d);
log('two GPUs');
const twoLinked = twoGpuStudy(true);
const twoPcie = twoGpuStudy(false);
const twoTable = (rows) =>
  [
    '| design | GB/s per pass | pages to RAM | pages to VRAM | peer bytes | private-link bytes |',
    '|---|---|---|---|---|---|',
  ]
    .concat(
      rows.map(
        (r) =>
          `| ${r.design} | ${f(r.peerPassGbps)} | ${r.pagesToRam} | ${r.pagesToVram} | ${r.peerBytes} | ${r.privateLinkBytes} |`,
      ),
    )
    .join('\n');

const size = (m) => (m >= 1048576 ? `${m / 1048576} MiB` : `${m / 1024} KiB`);
const x = (r, d = 2) => (r === null || r === undefined ? 'n/a' : `x${r.toFixed(d)}`);
const range = (xs, d = 2) => {
  const v = xs.filter((y) => y !== null && Number.isFinite(y));
  return `x${Math.min(...v).toFixed(d)} to x${Math.max(...v).toFixed(d)}`;
};
// Every verdict the study computed: the platforms where a P2P path exists, the grid, and both
// ends of every input of the sensitivity.
const p2pPlatforms = results.filter((r) => r.mapType !== 'NOT_SUPPORTED' && !r.p.bar);
const sensEnds = sens.parameters.flatMap((e) => [e.lowVerdict, e.highVerdict]).filter((v) => v);
const all = {
  p50: [...p2pPlatforms.map((r) => r.v.p50Ratio)],
  bw: [
    ...p2pPlatforms.map((r) => r.v.bandwidthRatio),
    ...grid.map((c) => c.bandwidthRatio),
    ...sensEnds.map((v) => v.bandwidthRatio),
  ],
  p99: [
    ...p2pPlatforms.map((r) => r.v.p99Ratio),
    ...grid.map((c) => c.p99Ratio),
    ...sensEnds.map((v) => v.p99Ratio),
  ],
  run: [
    ...p2pPlatforms.map((r) => r.v.runTimeRatio),
    ...grid.map((c) => c.runTimeRatio),
    ...sensEnds.map((v) => v.endRatio),
  ],
};
const thpCells = grid.filter((c) => c.folio === 'thp');
const smallCells = grid.filter((c) => c.folio !== 'thp');
const nouveauCells = grid.filter((c) => c.folio === 'small');
const xeCells = grid.filter((c) => c.folio === 'small-chunk');
// Inputs that move any verdict metric by more than 10 % at either end.
const moved = sens.parameters.filter((e) =>
  ['bandwidthRatio', 'p99Ratio', 'endRatio'].some((k) =>
    [e.lowVerdict, e.highVerdict].some(
      (v) => v && sens.verdict[k] && v[k] && Math.abs(Math.log(v[k] / sens.verdict[k])) > Math.log(1.1),
    ),
  ),
);
const unsourced = moved.filter((e) => e.kind === 'assumed' || e.kind === 'derived');
// How a reader measures what the verdict rests on.
const HOW = {
  migrateVmaFixedNs:
    'run `hmm-tests` `benchmark_thp_migration` (tools/testing/selftests/mm/hmm-tests.c) at 4 KiB and 2 MiB; the per-call part is the intercept',
  migrateVmaPerEntryNs:
    '`hmm-tests -r hmm.hmm_device_private.benchmark_thp_migration` with and without THP, or Xe GT stats (svm_2M_migrate_us) after 2 MiB faults with and without device THP',
  migrateVmaPerPageNs: 'as `migrateVmaPerEntryNs`: the THP run minus the per-entry and fixed parts',
  rdmaNicBandwidth:
    '`ib_write_bw -s 65536 -q 1 -t 8 --use_cuda=0` (perftest) on the target NIC, host memory, then with `--use_cuda` for GPU memory',
  rdmaNicGpuCrossSocketBandwidth: '`ib_write_bw --use_cuda` with NIC and GPU on different sockets',
  hostBridgeP2pBandwidth: '`ib_write_bw --use_cuda` with NIC and GPU on different root ports of one socket',
  hostBridgeP2pReadBandwidth: '`ib_read_bw --use_cuda` with NIC and GPU on different root ports',
  odpFaultFixedNs:
    '`ib_write_bw --odp` first-touch latency against a pre-faulted MR (perftest), or the mlx5 ODP page-fault tracepoints',
  cpuFaultEntryNs: 'a user-space page-fault microbenchmark (perf stat on a first-touch loop)',
  gpuFaultBatchFixedNs: 'nvidia-uvm / Xe fault-service trace: time per batch at batch size 1',
  gpuFaultPerPageNs: 'nvidia-uvm / Xe fault-service trace: time per fault against batch size',
  mmuNotifierInvalidateNs: 'ftrace of the driver invalidate callback (function_graph) during hmm-tests',
  hmmRangeFaultPerPteNs: 'ftrace function_graph of hmm_range_fault on a mirrored, populated range',
};
const howTo = (name) =>
  HOW[name] ?? 'no command known yet: trace the kernel path that reads it (docs/costs.md names it)';

function verdictText() {
  const lines = [];
  lines.push(
    `- **RDMA bandwidth, best P2P design over \`upstream\`: ${range(all.bw)}.** With device-private THP (Linux 6.19 and later, 2 MiB chunks): ${range(thpCells.map((c) => c.bandwidthRatio))} over the grid below. Without it (64 KiB / 4 KiB chunks, every kernel before 6.19 and the state of the tree when the series was posted): ${range(
      smallCells.map((c) => c.bandwidthRatio),
      1,
    )}: ${range(
      nouveauCells.map((c) => c.bandwidthRatio),
      1,
    )} when a fault brings one page back to RAM (test_hmm, nouveau), ${range(
      xeCells.map((c) => c.bandwidthRatio),
      1,
    )} when it brings its whole 64 KiB chunk back (Xe's drm_pagemap). The series' ">10x" is reached only without device THP.`,
  );
  lines.push(
    `- **p99 message latency, \`upstream\` over the best P2P design: ${range(all.p99, 1)}.** With device THP ${range(
      thpCells.map((c) => c.p99Ratio),
      1,
    )}; without ${range(
      smallCells.map((c) => c.p99Ratio),
      1,
    )}. Under \`upstream\` the tail is a message that waits for a NIC fault migrating its folio to RAM, its queue pair stalled behind it.`,
  );
  lines.push(
    `- **Median message latency, \`upstream\` over the best P2P design: ${range(all.p50)} on the platforms with a P2P path.** Below x1 the P2P median is the slower one: between faults \`upstream\`'s messages run from RAM, at the NIC's host rate.`,
  );
  lines.push(
    `- **Whole run (the ping-pong included), \`upstream\` over the best P2P design: ${range(all.run)}.** With device THP ${range(thpCells.map((c) => c.runTimeRatio))}; without ${range(
      smallCells.map((c) => c.runTimeRatio),
      1,
    )}. Every RDMA phase over GPU-resident data pays the migrations to RAM, and the next GPU pass pays them back.`,
  );
  lines.push(
    `- **With RNR NAK retries (\`rdmaRnrTimerNs\` = 0.64 ms, min_rnr_timer 12; the profiles charge none):** on the same switch, bandwidth x${f(rnr.bandwidthRatio)}, p99 x${f(rnr.p99Ratio, 1)}, whole run x${f(rnr.runTimeRatio)} (best \`${rnr.best}\`). A responder ODP fault on an RDMA write is answered RNR NAK and retried after the requester's timer, so every NIC fault costs at least the timer: \`upstream\` faults again on every folio the GPU pulled back, the P2P designs only on first touch. Not in the ranges above; the first thing to measure.`,
  );
  lines.push(
    `- **The ranges span ${p2pPlatforms.length} platforms with a P2P path, ${grid.length} cells of the grid and both ends of ${sens.parameters.length} inputs of the sensitivity** (${sens.runs} runs). Where the kernel's p2pdma code says NOT_SUPPORTED (${results
      .filter((r) => r.mapType === 'NOT_SUPPORTED')
      .map((r) => r.p.name)
      .join(', ')}), every design migrates: no advantage.`,
  );
  return lines.join('\n');
}
let md = `# The P2P designs side by side

Generated by \`node scripts/gen-designs.mjs\` (after \`npm run build\`); edit the generator or
the model, not this file. Every number below is an output of \`simulate()\` with the
\`pcie5-h100\` cost profile (docs/costs.md), seed 1.

## The question

The series "[RFC 1/5] mm/hmm: HMM API to enable P2P DMA for device private pages" claimed that
letting an RDMA NIC DMA straight into a GPU's device-private pages gives ">10x higher bandwidth
and 10x lower latency" than migrating them to RAM first, and published no number. Five ways to
do it were argued about in its review threads (RFC:
https://lore.kernel.org/all/20241201103659.420677-1-ymaman@nvidia.com/ , v2:
https://lore.kernel.org/all/20250718115112.3881129-1-ymaman@nvidia.com/):

| design | what changes | per-page work it adds |
|---|---|---|
| \`upstream\` | nothing: hmm_range_fault faults another owner's device-private page, migrate_to_ram moves it to RAM | migrations |
| \`rfc-callback\` | HMM_PFN_ALLOW_P2P; dev_pagemap_ops.get_dma_pfn_for_device per page returns the BAR alias pfn (-ENOMEM outside the BAR) | a driver callback (optionally a lock) per page; alias struct pages for the BAR |
| \`pagemap-p2p\` | core code decides once per (pagemap, client) from the p2pdma distance | one pci_p2pdma_map_type per pair; alias struct pages |
| \`owner-registry\` | Xe's drm_pagemap_owner (Linux 7.0): a client with an interconnect to every member shares the owner and maps the device-private pfn with dma_map_resource | none per page; no alias struct pages |
| \`device-private-flag\` | hmm_range_fault marks device-private pfns and the caller decides | a driver-to-driver address query per page |

## The seed scenario

An application's SVM buffer (512 MiB, THP-backed) lives in GPU VRAM: a GPU kernel writes it
first. Then twice: a NIC RDMA-writes all of it through an ODP MR (64 KiB messages, 8 in
flight on one RC queue pair), and a GPU kernel reads it. Finally the NIC RDMA-reads it. Under \`upstream\` every NIC
fault pulls 2 MiB folios back to RAM and every GPU pass pulls them back to VRAM: the
ping-pong the series wanted to avoid. The NIC's own link (\`rdmaNicBandwidth\`) caps every
design.

## The verdict, as a range

${verdictText()}

## The first-order choices

Same switch (BUS_ADDR), a 64 MiB buffer the GPU writes, one NIC write phase, one GPU pass, one
NIC read phase; best P2P design over \`upstream\`. Queue depth is messages in flight on one RC
queue pair (perftest \`-t\`); "folio" is the GPU's migration chunk: device THP (2 MiB) or 64 KiB
chunks of 4 KiB pages, a CPU or NIC fault bringing back one page (test_hmm's and nouveau's
\`migrate_to_ram\`) or the whole chunk (Xe's \`__drm_pagemap_migrate_to_ram\`: GPU option
\`migrateToRam: chunk\`).

| queue depth | folio | message | bandwidth ratio | p99 ratio | whole-run ratio |
|---|---|---|---|---|---|
${grid.map((c) => `| ${c.queueDepth} | ${{ thp: '2 MiB (device THP)', small: '64 KiB / 4 KiB, one page back', 'small-chunk': '64 KiB / 4 KiB, chunk back' }[c.folio]} | ${size(c.messageBytes)} | ${x(c.bandwidthRatio)} | ${x(c.p99Ratio, 1)} | ${x(c.runTimeRatio)} |`).join('\n')}

## What the verdict rests on

\`hmmlab ${SENS_ARGS.join(' ')}\` moves every cost parameter the runs read to x0.5 and x2
(or a profile's own bounds) and each data-path choice of the scenario, one at a time. Baseline:
bandwidth ${x(sens.verdict.bandwidthRatio)}, p99 ${x(sens.verdict.p99Ratio, 1)}, whole run ${x(sens.verdict.endRatio)} (best design
\`${sens.verdict.best}\`; the shipped scenario's buffer shrunk to 256 MiB to keep it to minutes; \`owner-registry\`,
the P2P design with no per-page work, stands for the P2P designs). The ${Math.min(15, sens.parameters.length)} inputs that move the
bandwidth ratio most:

| input | kind | base | low -> bandwidth, p99, run | high -> bandwidth, p99, run |
|---|---|---|---|---|
${sens.parameters
  .slice(0, 15)
  .map(
    (e) =>
      `| \`${e.name}\` | ${e.kind} | ${String(e.base)} | ${String(e.lowValue)} -> ${x(e.lowVerdict?.bandwidthRatio)}, ${x(e.lowVerdict?.p99Ratio, 1)}, ${x(e.lowVerdict?.endRatio)} | ${String(e.highValue)} -> ${x(e.highVerdict?.bandwidthRatio)}, ${x(e.highVerdict?.p99Ratio, 1)}, ${x(e.highVerdict?.endRatio)} |`,
  )
  .join('\n')}

${moved.length} inputs move a verdict metric by more than 10 %; ${sens.unread.length} cost parameters are never read by these runs and were not perturbed.

## End-to-end results per platform

Every figure is the seed scenario under every design. BUS_ADDR (a common switch) and
THRU_HOST_BRIDGE (through the root complex) differ where the data path differs: P2P traffic
through the host bridge crosses the root complex's P2P forwarding (\`hostBridgeP2pBandwidth\`,
reads at \`hostBridgeP2pReadBandwidth\`), a switch keeps it local.

![RDMA bandwidth](designs-bandwidth.svg)

![RDMA p99 latency](designs-p99.svg)

`;
for (const { p, rows, v, mapType, distance } of results) {
  md += `### ${p.name}\n\n${p.description}. The model's \`pci_p2pdma_distance(gpu0, nic0)\`: map type ${mapType}, distance ${distance}.\n\n${renderCompareMarkdown(rows)}\n\n`;
  md += `Best P2P design (\`${v.best || 'none'}\`) against upstream: RDMA bandwidth x${f(v.bandwidthRatio)}, p50 latency x${f(v.p50Ratio)} lower, p99 latency x${f(v.p99Ratio, 1)} lower, whole run x${f(v.runTimeRatio)} shorter: against the series' ">10x", **${v.verdict}**.\n\n`;
}
md += `## Two GPUs sharing a buffer

GPU0 writes a 256 MiB SVM buffer, then GPU1 and GPU0 read it in turn, twice. The NIC designs
change nothing here except \`owner-registry\`, whose shared owner lets one GPU map the other's
device-private pages (Xe's multi-device SVM, Linux 7.0); every other design migrates the pages
through RAM on each turn.

With a private GPU link:

${twoTable(twoLinked)}

Without one (peer reads go through PCIe and the host bridge):

${twoTable(twoPcie)}

## Measure this first

Inputs that move a verdict metric by more than 10 % and are not published or measured for this
hardware (kind \`assumed\` or \`derived\`), largest effect first, with how to measure each:

| input | kind | how to measure it |
|---|---|---|
| \`rdmaRnrTimerNs\` | assumed (0; 0.64 ms above) | \`ib_write_bw --odp\` into a cold MR against a warm one, with the requester's min_rnr_timer varied; mlx5 ODP page-fault counters (\`rdma statistic\`) |
${unsourced.map((e) => `| \`${e.name}\` | ${e.kind} | ${howTo(e.name)} |`).join('\n')}

## Limits of this study

- One GPU and one NIC in the RDMA study, two GPUs in the GPU study. The map type of the GPU-NIC
  pair comes from the model's p2pdma code over each platform's PCI topology, and the data
  follows that topology hop by hop (docs/architecture.md, "The data path from the PCI tree").
  The study's trees name every root port's and switch's upstream link (PCIe Gen5 x16, at the
  profile's measured efficiency). P2P through an Intel root complex runs at
  \`hostBridgeP2pBandwidth\` (derived with NCCL's Intel penalty), through an AMD one without that
  penalty; reads at half the write rate (assumed);
  NIC DMAs have no latency distribution (p50 = p99 under P2P is the model's, not a measurement).
- ATS (the series' patch 5) only changes the route: with a translating IOMMU, an ATS NIC with a
  relaxed-ordering MR sends P2P traffic straight through a common switch that redirects
  upstream (ACS Direct Translated P2P); ATC misses and invalidations are not modelled.
- Time before state: a migration's new page tables, and a NIC fault's MR entries, become
  visible when the operation's CPU time and copies are done; until then a message that touches
  them waits (src/sim/inflight.ts), and a migration waits for the NIC DMAs already running on
  its pages. The wait is per operation, not per folio. A responder ODP fault stalls its RC
  queue pair for the fault's time; the RNR NAK retry delay a real requester adds is not
  modelled (it would widen the gap in favour of the P2P designs).
- GPU kernels and RDMA phases run one after the other in the seed scenario; concurrent access
  is the race explorer's job.
- The migration costs per entry and per page are derived from Xe's GPU fault (RAM to VRAM) and
  charged the same way back (\`migrate_to_ram\`); that symmetry is an assumption. The copy is
  charged by its bytes only: Xe measured 223 us to copy 2 MiB as small pages against 106 us as
  one THP, which the model does not reproduce (it understates the small-page case).

## The figures

Every column above, and every key of \`hmmlab compare --json\` (\`CompareRow\` in
\`src/sim/compare.ts\`), is described with its unit in docs/results.md.
`;
writeFileSync(join(root, doc.doc), `${docHeader(doc)}\n${md}`);
log('wrote docs/designs.md');
