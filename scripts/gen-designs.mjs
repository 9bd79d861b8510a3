// Writes docs/designs.md and docs/designs-*.svg: the seed scenario under every P2P design on
// several platforms. Everything comes from dist/ (run `npm run build` first):
//
//   npm run build && node scripts/gen-designs.mjs        (about a minute on 2 cores)
//
// The doc's first line records the fingerprint of the inputs (scripts/doc-fingerprint.mjs);
// test/lint/generated-docs.test.ts fails while they differ from it (the doc is stale).
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

// How the answer depends on the message size and on how often the GPU touches the data.
log('message size sweep');
const sameSwitch = STUDY_PLATFORMS[0];
const sizes = [4096, 65536, 1048576];
const sizeRows = sizes.map((m) => {
  const rows = compare(seedScenario(sameSwitch, { messageBytes: m }), ['upstream', 'pagemap-p2p'], 1);
  return { m, v: claimVerdict(rows), up: rdmaSummary(rows[0]), p2p: rdmaSummary(rows[1]) };
});
log('rounds sweep');
const roundRows = [0, 1, 4].map((rounds) => {
  const rows = compare(seedScenario(sameSwitch, { rounds }), ['upstream', 'pagemap-p2p'], 1);
  return { rounds, v: claimVerdict(rows), up: rdmaSummary(rows[0]), p2p: rdmaSummary(rows[1]) };
});

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

function verdictText() {
  const p2pPlatforms = results.filter((r) => r.mapType !== 'NOT_SUPPORTED' && !r.p.bar);
  const bw = [
    ...p2pPlatforms.map((r) => r.v.bandwidthRatio),
    ...sizeRows.map((r) => r.v.bandwidthRatio),
    ...roundRows.map((r) => r.v.bandwidthRatio),
  ];
  const minBw = Math.min(...bw);
  const maxBw = Math.max(...bw);
  const p99Wins = sizeRows
    .filter((r) => r.v.p99Ratio >= 10)
    .map((r) => (r.m >= 1048576 ? `${r.m / 1048576} MiB` : `${r.m / 1024} KiB`));
  const p99Losses = sizeRows.filter((r) => r.v.p99Ratio < 10);
  const blocked = results.filter((r) => r.mapType === 'NOT_SUPPORTED').map((r) => r.p.name);
  const small = results.find((r) => r.p.bar);
  const lines = [];
  lines.push(
    `- **Bandwidth: ${maxBw >= 10 ? 'reproduced' : 'not reproduced'}.** Where a P2P path exists, the P2P designs reach the NIC's link rate, x${f(minBw)} to x${f(maxBw)} the bandwidth of \`upstream\` across the platforms and sweeps above${maxBw >= 10 ? '' : ', never 10x'}${minBw < 1 ? ' (below x1 `upstream` is faster)' : ''}: a NIC fault under \`upstream\` moves a whole 2 MiB folio to RAM, charged as one migrate entry like the GPU fault that brought it in (docs/costs.md, "Migration cost model"), and the messages after it run at RAM speed until the GPU pulls the data back. The ratio barely moves with the number of GPU passes between RDMA phases (x${f(roundRows[0].v.bandwidthRatio)} with none, x${f(roundRows.at(-1).v.bandwidthRatio)} with ${roundRows.at(-1).rounds}): every RDMA phase over GPU-resident data pays the same migrations.`,
  );
  lines.push(
    `- **Tail latency: ${p99Wins.length ? `reproduced for ${p99Wins.join(', ')} messages` : 'not reproduced'}.** The p99 message of \`upstream\` is a fault that migrates a folio (${us(sizeRows.find((r) => r.m === 65536).up.p99Ns)} us with 64 KiB messages) when faults are more frequent than 1 in 100 messages; P2P designs never migrate, so their p99 is a queued transfer.${p99Losses.length ? ` Not at ${p99Losses.map((r) => `${r.m >= 1048576 ? `${r.m / 1048576} MiB` : `${r.m / 1024} KiB`} (x${f(r.v.p99Ratio, 1)})`).join(', ')}: a migrating fault (a 2 MiB copy and one migrate entry) takes a few queued transfers, not ten; with 4 KiB messages fewer than 1 in 100 messages fault, and with 1 MiB messages the 8 MiB in flight make the queue itself the tail.` : ''} The median is not lower under P2P: with 8 messages in flight the NIC link is the queue, while under \`upstream\` most messages run between faults.`,
  );
  lines.push(
    `- **It depends on the platform.** Where the kernel's p2pdma code says NOT_SUPPORTED (${blocked.join(', ')}), every design falls back to migration: refuted.${small ? ` With a small BAR (${small.p.name}) pages outside the window migrate: bandwidth x${f(small.v.bandwidthRatio)}, and the p99 is a migration again (x${f(small.v.p99Ratio, 1)}).` : ''}`,
  );
  lines.push(
    "- **The designs differ in cost, not in data movement.** All four P2P designs move the same bytes. `rfc-callback` pays a driver callback (with `rfcLockPerPage`, a lock too) per page; `pagemap-p2p` one map-type query per pair; `device-private-flag` a driver-to-driver query per page; `rfc-callback` and `pagemap-p2p` create alias struct pages, the owner registry none. The last column counts them (64 B per 4 KiB page) from the alias pages the run's BAR pagemaps were given, which the model creates per 1 GiB region on first use; Linux's `pci_p2pdma_add_resource` creates them for the whole BAR at probe, so on Linux the figure is BAR pages x 64 B for these designs, in use or not (a pagemap-p2p client that cannot reach the GPU creates none here).",
  );
  return lines.join('\n');
}
const us = (ns) => (ns / 1000).toFixed(1);
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
flight), and a GPU kernel reads it. Finally the NIC RDMA-reads it. Under \`upstream\` every NIC
fault pulls 2 MiB folios back to RAM and every GPU pass pulls them back to VRAM: the
ping-pong the series wanted to avoid. The NIC's own link (\`rdmaNicBandwidth\`, 23 GB/s) caps
every design.

## Results per platform

![RDMA bandwidth](designs-bandwidth.svg)

![RDMA p99 latency](designs-p99.svg)

`;
for (const { p, rows, v, mapType, distance } of results) {
  md += `### ${p.name}\n\n${p.description}. The model's \`pci_p2pdma_distance(gpu0, nic0)\`: map type ${mapType}, distance ${distance}.\n\n${renderCompareMarkdown(rows)}\n\n`;
  md += `Best P2P design against upstream: bandwidth x${f(v.bandwidthRatio)}, p50 latency x${f(v.p50Ratio)} lower, p99 latency x${f(v.p99Ratio, 1)} lower: **${v.verdict}**.\n\n`;
}
md += `## When does the claim hold?

Same switch, \`upstream\` against \`pagemap-p2p\`:

| message size | upstream GB/s | P2P GB/s | bandwidth ratio | upstream p99 us | P2P p99 us | p99 ratio | verdict |
|---|---|---|---|---|---|---|---|
${sizeRows.map((r) => `| ${r.m >= 1048576 ? `${r.m / 1048576} MiB` : `${r.m / 1024} KiB`} | ${f(r.up.gbps)} | ${f(r.p2p.gbps)} | ${f(r.v.bandwidthRatio)} | ${us(r.up.p99Ns)} | ${us(r.p2p.p99Ns)} | ${f(r.v.p99Ratio, 1)} | ${r.v.verdict} |`).join('\n')}

| GPU passes between RDMA phases | upstream GB/s | P2P GB/s | bandwidth ratio | p99 ratio | verdict |
|---|---|---|---|---|---|
${roundRows.map((r) => `| ${r.rounds} | ${f(r.up.gbps)} | ${f(r.p2p.gbps)} | ${f(r.v.bandwidthRatio)} | ${f(r.v.p99Ratio, 1)} | ${r.v.verdict} |`).join('\n')}

## Two GPUs sharing a buffer

GPU0 writes a 256 MiB SVM buffer, then GPU1 and GPU0 read it in turn, twice. The NIC designs
change nothing here except \`owner-registry\`, whose shared owner lets one GPU map the other's
device-private pages (Xe's multi-device SVM, Linux 7.0); every other design migrates the pages
through RAM on each turn.

With a private GPU link:

${twoTable(twoLinked)}

Without one (peer reads go through PCIe and the host bridge):

${twoTable(twoPcie)}

## Verdict

${verdictText()}

## Limits of this study

- One GPU and one NIC in the RDMA study, two GPUs in the GPU study. The map type of the GPU-NIC
  pair comes from the model's p2pdma code over each platform's PCI topology, and the data
  follows that topology hop by hop (docs/architecture.md, "The data path from the PCI tree");
  but a switch's uplink and a root port have no sourced bandwidth yet (each carries the largest
  of the links below it), and the root complex forwards P2P at one assumed rate per port.
- ATS (the series' patch 5) only changes the route: with a translating IOMMU, an ATS NIC with a
  relaxed-ordering MR sends P2P traffic straight through a common switch that redirects
  upstream (ACS Direct Translated P2P); ATC misses and invalidations are not modelled.
- ODP fault costs, per-page callback and lock costs and the map-type cost are \`assumed\` in
  docs/costs.md; migration costs are \`derived\` upper bounds. The ratios depend on them.
- GPU kernels and RDMA phases run one after the other; concurrent access is the race
  explorer's job.
- Not yet faithful, and it favours \`upstream\`: a NIC fault changes the page tables at once
  and is charged its time afterwards, and the queue pairs are independent lanes, so other
  messages DMA into a folio whose migration has not finished; in Linux they would wait for it
  (a migration entry, the folio lock) and a responder ODP fault stalls its RC queue pair. Until
  that is modelled (issue #15, "time before state"), the bandwidth ratio above is a lower bound
  for the P2P designs on these platforms, and the migration cost per entry is an upper bound
  (docs/costs.md).

## Stable keys of \`compare\` (\`src/sim/compare.ts\`, \`CompareRow\`)

\`design\`, \`endNs\`, \`rdma.<workload>.{gbps,p50Ns,p90Ns,p99Ns,maxNs}\`, \`nicFaultCpuNs\`
(with its parts \`nicHmmCpuNs\`, \`nicDesignCpuNs\`, \`nicDmaMapCpuNs\`), \`gpuFaultCpuNs\`,
\`hmmCalls\`, \`hmmPages\`, \`hmmRetries\`, \`callbacks\`, \`locks\`, \`mapTypeQueries\`,
\`aliasStructPageBytes\`, \`pagesToRam\`, \`pagesToVram\`, \`peerBytes\`, \`workloadNs.<workload>\`,
\`p2pPages\`, \`hostPages\`, \`fallbacks\`, \`linkBytes.<link>\`. Times are ns, sizes bytes,
bandwidth GB/s.
`;
writeFileSync(join(root, doc.doc), `${docHeader(doc)}\n${md}`);
log('wrote docs/designs.md');
