/**
 * What every field of `hmmlab run --json` (a SimResult, src/sim/metrics.ts) and of
 * `hmmlab compare --json` (CompareRow[], src/sim/compare.ts) counts, and its unit: the source of
 * docs/results.md (scripts/gen-results-doc.mjs writes it; src/sim/results-doc.test.ts fails
 * while it is stale, test/cli/results-fields.test.ts while the JSON has a field this does not
 * list or lacks one it lists). No Linux counterpart.
 *
 *   fieldPaths(simulate(config), 'run');   // ['profile', 'seed', ..., 'devices.<gpu>.faults', ...]
 *   RUN_FIELDS.find((f) => f.path === 'endNs')!.unit;   // 'ns'
 */
import type { CompareRow } from './compare.js';
import { compareColumns } from './compare-columns.js';

/** One documented field: its path (records by name as `<gpu>`), unit and meaning. */
export interface ResultField {
  path: string;
  unit: string;
  meaning: string;
  /** Present only in some results (say which). */
  when?: string;
}

/** The records keyed by name in each output, and the placeholder a path names their keys by. */
export const RECORDS = {
  run: {
    devices: '<gpu>',
    workloads: '<workload>',
    links: '<link>',
    nics: '<nic>',
    rdma: '<rdma>',
    unplugs: '<event>',
  },
  compare: { rdma: '<rdma>', workloadNs: '<workload>', linkBytes: '<link>' },
} as const;

/**
 * The field paths of one JSON value (a SimResult for 'run', a CompareRow for 'compare'), keys
 * of the named records replaced by their placeholder, arrays taken as one field, sorted.
 */
export function fieldPaths(value: unknown, kind: keyof typeof RECORDS): string[] {
  const records: Record<string, string> = RECORDS[kind];
  const out = new Set<string>();
  const walk = (v: unknown, prefix: string, top: boolean) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      out.add(prefix);
      return;
    }
    for (const [k, x] of Object.entries(v)) {
      const path = prefix === '' ? k : `${prefix}.${k}`;
      const placeholder = top ? records[k] : undefined;
      if (placeholder !== undefined && x !== null && typeof x === 'object') {
        for (const y of Object.values(x)) walk(y, `${path}.${placeholder}`, false);
      } else walk(x, path, false);
    }
  };
  walk(value, '', true);
  return [...out].sort();
}

const f = (path: string, unit: string, meaning: string, when?: string): ResultField =>
  when === undefined ? { path, unit, meaning } : { path, unit, meaning, when };

const PAGES = 'pages (4 KiB)';

/** The fields of `hmmlab run --json`: one SimResult (without the event log). */
export const RUN_FIELDS: readonly ResultField[] = [
  f('profile', 'name', 'the cost profile the run used'),
  f('seed', 'integer', 'the random seed'),
  f('endNs', 'ns', 'simulated time of the whole run: from 0 to the end of its last workload or event'),
  f('events', 'count', 'discrete events the simulation engine processed'),
  // GPUs.
  f('devices.<gpu>.faults', 'count', 'GPU fault-buffer entries the GPU took'),
  f('devices.<gpu>.duplicateFaults', 'count', 'of those, entries for a page already in the same batch'),
  f('devices.<gpu>.batches', 'count', 'fault batches the driver serviced'),
  f(
    'devices.<gpu>.pagesToVram',
    PAGES,
    'pages fault service and prefetch put in VRAM: migrated from RAM, or first touched on the GPU (cleared, not copied)',
  ),
  f('devices.<gpu>.prefetchedPages', PAGES, 'of those, pages moved by prefetch'),
  f('devices.<gpu>.evictedPages', PAGES, 'pages evicted VRAM -> RAM (to make room, or on a safe removal)'),
  f(
    'devices.<gpu>.cpuFaultPages',
    PAGES,
    "pages the GPU's migrate_to_ram moved VRAM -> RAM, whichever fault called it: a CPU fault, a NIC's or a dmirror's hmm_range_fault (the name is older than the NIC path)",
  ),
  f('devices.<gpu>.bytesToVram', 'bytes', 'bytes copied RAM -> VRAM to migrate pages'),
  f(
    'devices.<gpu>.bytesToRam',
    'bytes',
    'bytes copied VRAM -> RAM to migrate pages (migrate_to_ram, eviction)',
  ),
  f('devices.<gpu>.hmmCalls', 'count', 'hmm_range_fault calls of the GPU driver'),
  f('devices.<gpu>.hmmPages', PAGES, 'pages those calls walked (retries included)'),
  f(
    'devices.<gpu>.hmmRetries',
    'count',
    'of those calls, those retried (-EBUSY or a notifier sequence change)',
  ),
  f('devices.<gpu>.invalidations', 'count', "mmu interval notifier invalidations of the GPU's mirrors"),
  f('devices.<gpu>.tlbInvalidations', 'count', 'GPU TLB invalidations'),
  f(
    'devices.<gpu>.thrashingEvents',
    'count',
    'faults on a 2 MiB block that moved within the thrashing lapse',
  ),
  f('devices.<gpu>.throttles', 'count', 'times the driver throttled a thrashing block'),
  f('devices.<gpu>.pinnedBlocks', 'count', 'times the driver pinned a thrashing block where it was'),
  f(
    'devices.<gpu>.remoteMappedPages',
    PAGES,
    'pages the GPU mapped from system memory instead of moving them',
  ),
  f(
    'devices.<gpu>.remoteBytes',
    'bytes',
    'bytes the GPU read or wrote remotely over its link (zero-copy accesses)',
  ),
  f('devices.<gpu>.peerBytes', 'bytes', "bytes the GPU read or wrote in a peer GPU's VRAM"),
  f('devices.<gpu>.servicePasses', 'count', 'fault service passes (each ends with one replay)'),
  f(
    'devices.<gpu>.stallNs',
    'ns',
    "time the GPU's workloads stood stalled on fault service, summed over its workloads",
  ),
  f('devices.<gpu>.faultCpuNs', 'ns', "CPU time servicing the GPU's fault batches"),
  f('devices.<gpu>.copyWaitNs', 'ns', 'time fault service waited for its copies'),
  // Workloads.
  f('workloads.<workload>.startNs', 'ns', 'when the workload started'),
  f('workloads.<workload>.endNs', 'ns', 'when it ended'),
  f(
    'workloads.<workload>.pagesTouched',
    PAGES,
    'pages it accessed (RDMA: 0; dmirror: pages its ioctls covered)',
  ),
  f(
    'workloads.<workload>.cpuFaults',
    'count',
    'CPU page faults it took (dmirror: those hmm_range_fault took for its ioctls)',
  ),
  f(
    'workloads.<workload>.faultNs',
    'ns',
    'CPU time of its CPU page faults (cpu workloads) or of its ioctls (dmirror); 0 for GPU and RDMA workloads',
  ),
  f(
    'workloads.<workload>.computeNs',
    'ns',
    'time it spent on its own work: accesses, and the copies it waited for',
  ),
  f('workloads.<workload>.ioctls', 'count', 'ioctls it issued', 'dmirror workloads'),
  f('workloads.<workload>.cpages', PAGES, 'pages the driver reported done (cmd.cpages)', 'dmirror workloads'),
  f('workloads.<workload>.ioctlErrors', 'count', 'ioctls that failed', 'dmirror workloads'),
  // Links.
  f('links.<link>.bytes', 'bytes', 'bytes carried over the link direction (all links, used or not)'),
  f('links.<link>.busyNs', 'ns', 'time the link direction carried something'),
  // CPU.
  f('cpu.cores', 'count', 'CPU cores of the platform'),
  f('cpu.busyNs', 'ns', 'CPU time used, summed over cores'),
  f('cpu.waitNs', 'ns', 'time work waited for a free core, summed'),
  // NICs.
  f('nics.<nic>.nicFaults', 'count', 'NIC (ODP) page faults'),
  f('nics.<nic>.hmmCalls', 'count', 'hmm_range_fault calls of the NIC driver'),
  f('nics.<nic>.hmmPages', PAGES, 'pages those calls walked (retries included)'),
  f('nics.<nic>.hmmRetries', 'count', 'of those calls, those retried'),
  f('nics.<nic>.dmaMaps', 'count', "pages DMA-mapped into the NIC's translation table"),
  f('nics.<nic>.hostPages', PAGES, 'of those, mappings of host memory (a page mapped again counted again)'),
  f(
    'nics.<nic>.p2pPages',
    PAGES,
    "of those, mappings peer to peer: a GPU's BAR (a page mapped again counted again)",
  ),
  f(
    'nics.<nic>.fallbacks',
    'count',
    'faults some of whose pages could not be mapped peer to peer, faulted again without',
  ),
  f('nics.<nic>.fallbackPages', PAGES, 'pages faulted again without P2P'),
  f('nics.<nic>.invalidations', 'count', "mmu interval notifier invalidations of the NIC's memory regions"),
  f('nics.<nic>.faultCpuNs', 'ns', 'CPU time in the NIC fault path'),
  f('nics.<nic>.hmmCpuNs', 'ns', 'of it, in hmm_range_fault (walk and PTEs)'),
  f('nics.<nic>.designCpuNs', 'ns', "of it, in the design's P2P decisions (callbacks, locks, map types)"),
  f('nics.<nic>.dmaMapCpuNs', 'ns', 'of it, in DMA mapping'),
  // RDMA workloads.
  f('rdma.<rdma>.messages', 'count', 'messages the workload completed'),
  f('rdma.<rdma>.bytes', 'bytes', 'message bytes it moved'),
  f('rdma.<rdma>.gbps', 'GB/s', 'message bytes per ns over its duration'),
  f('rdma.<rdma>.latencyP50Ns', 'ns', 'median message latency (completion minus post)'),
  f('rdma.<rdma>.latencyP90Ns', 'ns', '90th-percentile message latency'),
  f('rdma.<rdma>.latencyP99Ns', 'ns', '99th-percentile message latency'),
  f('rdma.<rdma>.latencyMaxNs', 'ns', 'largest message latency'),
  f('rdma.<rdma>.faultStalls', 'count', 'NIC page faults its messages raised (each stalls its queue pair)'),
  f(
    'rdma.<rdma>.faultStallNs',
    'ns',
    'time its queue pairs stood stalled on those faults, summed over queue pairs',
  ),
  f(
    'rdma.<rdma>.inFlightWaitNs',
    'ns',
    "time its queue pairs waited for work in flight on a message's pages (folios being migrated, another queue pair's fault), summed over queue pairs",
  ),
  f(
    'rdma.<rdma>.p2pBytes',
    'bytes',
    "message bytes the NIC DMA'd peer to peer (a GPU's VRAM through its BAR)",
  ),
  f('rdma.<rdma>.hostBytes', 'bytes', "message bytes the NIC DMA'd to or from host memory"),
  // Unplug events.
  f('unplugs.<event>.gpu', 'name', 'the GPU removed', 'unplug events'),
  f('unplugs.<event>.mode', "'safe' | 'surprise'", 'how it was removed', 'unplug events'),
  f('unplugs.<event>.atNs', 'ns', 'when the removal began', 'unplug events'),
  f('unplugs.<event>.endNs', 'ns', 'when it ended', 'unplug events'),
  f(
    'unplugs.<event>.lostPages',
    PAGES,
    'pages that were in its VRAM and were lost (surprise)',
    'unplug events',
  ),
  f('unplugs.<event>.evictedPages', PAGES, 'pages evicted to RAM before it went (safe)', 'unplug events'),
  f(
    'unplugs.<event>.staleMappings',
    'count',
    'peer mappings that pointed at the device when it vanished (surprise)',
    'unplug events',
  ),
  f('unplugs.<event>.staleDevices', 'names', 'devices that held stale mappings', 'unplug events'),
  // The design.
  f('design.name', 'name', 'the P2P design'),
  f('design.callbacks', 'count', 'dev_pagemap_ops.get_dma_pfn_for_device calls (rfc-callback)'),
  f('design.locks', 'count', 'driver locks taken in the P2P path'),
  f('design.mapTypeQueries', 'count', 'pci_p2pdma_map_type queries the design made'),
  f('design.p2pPages', PAGES, 'pages the design reported P2P-reachable instead of migrating them'),
  f('design.fallbackPages', PAGES, 'pages the design sent down the mainline fault path (migration to RAM)'),
  f('design.windowMisses', PAGES, 'pages outside a small BAR window'),
  f(
    'design.aliasStructPageBytes',
    'bytes',
    "memory for the BAR alias (PCI_P2PDMA) struct pages the run's BAR pagemaps were given",
  ),
];

/** The fields of each row of `hmmlab compare --json` (CompareRow), in its key order. */
export const COMPARE_FIELDS: readonly ResultField[] = [
  f('design', 'name', 'the P2P design'),
  f('endNs', 'ns', 'simulated time of the whole run'),
  f('rdma.<rdma>.gbps', 'GB/s', 'RDMA workload: message bytes per ns over its duration'),
  f('rdma.<rdma>.p50Ns', 'ns', 'median message latency'),
  f('rdma.<rdma>.p90Ns', 'ns', '90th-percentile message latency'),
  f('rdma.<rdma>.p99Ns', 'ns', '99th-percentile message latency'),
  f('rdma.<rdma>.maxNs', 'ns', 'largest message latency'),
  f('rdma.<rdma>.faultStalls', 'count', 'NIC page faults its messages raised (each stalls its queue pair)'),
  f(
    'rdma.<rdma>.faultStallNs',
    'ns',
    'time its queue pairs stood stalled on those faults, summed over queue pairs',
  ),
  f(
    'rdma.<rdma>.inFlightWaitNs',
    'ns',
    "time its queue pairs waited for work in flight on a message's pages, summed over queue pairs",
  ),
  f('rdma.<rdma>.p2pBytes', 'bytes', "message bytes the NIC DMA'd peer to peer (a GPU's BAR)"),
  f('rdma.<rdma>.hostBytes', 'bytes', "message bytes the NIC DMA'd to or from host memory"),
  f('nicFaultCpuNs', 'ns', 'CPU time in the NIC (ODP) fault path, summed over NICs'),
  f('nicHmmCpuNs', 'ns', 'of it, in hmm_range_fault'),
  f('nicDesignCpuNs', 'ns', "of it, in the design's P2P decisions"),
  f('nicDmaMapCpuNs', 'ns', 'of it, in DMA mapping'),
  f('gpuFaultCpuNs', 'ns', 'CPU time servicing GPU fault batches, summed over GPUs'),
  f('cpuFaultCpuNs', 'ns', 'CPU time of the CPU page faults cpu workloads took and of dmirror ioctls'),
  f('gpuStallNs', 'ns', 'time GPU workloads stood stalled on fault service, summed over GPUs'),
  f('nicFaultStalls', 'count', 'rdma.<rdma>.faultStalls summed over RDMA workloads'),
  f('nicFaultStallNs', 'ns', 'rdma.<rdma>.faultStallNs summed over RDMA workloads'),
  f('nicInFlightWaitNs', 'ns', 'rdma.<rdma>.inFlightWaitNs summed over RDMA workloads'),
  f('hmmCalls', 'count', 'hmm_range_fault calls, over all GPUs and NICs'),
  f('hmmPages', PAGES, 'pages those calls walked'),
  f('hmmRetries', 'count', 'of those calls, those retried'),
  f('callbacks', 'count', 'dev_pagemap_ops.get_dma_pfn_for_device calls the design made'),
  f('locks', 'count', 'driver locks taken in the P2P path'),
  f('mapTypeQueries', 'count', 'pci_p2pdma_map_type queries the design made'),
  f('aliasStructPageBytes', 'bytes', 'memory for the BAR alias (PCI_P2PDMA) struct pages the run created'),
  f('gpuFaults', 'count', 'GPU fault-buffer entries, summed over GPUs'),
  f('nicFaults', 'count', 'NIC (ODP) page faults, summed over NICs'),
  f('cpuFaults', 'count', 'CPU page faults (with those hmm_range_fault took for dmirror ioctls)'),
  f(
    'pagesToRam',
    PAGES,
    'pages moved VRAM -> RAM: migrate_to_ram (CPU, NIC and dmirror faults) and eviction, summed over GPUs',
  ),
  f(
    'pagesToVram',
    PAGES,
    'pages GPU fault service and prefetch put in VRAM (migrated, or first touched on the GPU), summed over GPUs',
  ),
  f('bytesToRam', 'bytes', 'bytes copied VRAM -> RAM to migrate pages, summed over GPUs'),
  f(
    'bytesToVram',
    'bytes',
    'bytes copied RAM -> VRAM to migrate pages (a page first touched on the GPU is not copied), summed over GPUs',
  ),
  f('gpuPeerBytes', 'bytes', "bytes GPUs read or wrote in another GPU's VRAM (was `peerBytes`)"),
  f('workloadNs.<workload>', 'ns', 'duration of each workload'),
  f(
    'nicP2pPagesMapped',
    PAGES,
    "page mappings NIC faults made peer to peer (a GPU's BAR), a page mapped again counted again (was `p2pPages`)",
  ),
  f('nicHostPagesMapped', PAGES, 'page mappings NIC faults made to host memory (was `hostPages`)'),
  f(
    'nicP2pFallbacks',
    'count',
    'NIC faults some of whose pages could not be mapped peer to peer and were faulted again without (was `fallbacks`)',
  ),
  f('nicP2pBytes', 'bytes', 'rdma.<rdma>.p2pBytes summed over RDMA workloads'),
  f('nicHostBytes', 'bytes', 'rdma.<rdma>.hostBytes summed over RDMA workloads'),
  f('linkBytes.<link>', 'bytes', 'bytes over each link direction that carried any'),
];

function table(fields: readonly ResultField[]): string {
  const rows = fields.map(
    (x) => `| \`${x.path}\` | ${x.unit} | ${x.meaning}${x.when ? ` (only in ${x.when})` : ''} |`,
  );
  return ['| field | unit | what it counts |', '|---|---|---|', ...rows].join('\n');
}

/** The table columns (all of them, one RDMA workload's once), with the set each is in. */
function columnsTable(): string {
  const row = { rdma: { '<rdma>': {} } } as unknown as CompareRow;
  const rows = compareColumns([row], 'all', 'us').map(
    (c) => `| \`${c.key}\` | ${c.set === 'main' ? 'yes' : '--wide'} | ${c.legend} |`,
  );
  return ['| column | shown | what it counts |', '|---|---|---|', ...rows].join('\n');
}

/** docs/results.md. */
export function renderResultsMarkdown(): string {
  return `<!-- Generated by scripts/gen-results-doc.mjs from src/sim/results-doc.ts: edit those, then run node scripts/gen-results-doc.mjs -->
# Result fields

What each field of \`hmmlab run --json\` and \`hmmlab compare --json\` counts, and its unit.
Names in angle brackets stand for the names a scenario gives (\`<gpu>\`: \`gpu0\`; \`<rdma>\`: an
RDMA workload's name). Times are simulated ns, sizes bytes, bandwidth GB/s (10^9 bytes/s, which
is bytes per ns), pages 4 KiB pages. \`test/cli/results-fields.test.ts\` checks that the JSON has
exactly these fields.

The terminal table of \`run\`, \`compare\` and \`report\` shows the main figures of a row
(\`--wide\`: all its columns; \`--legend\`: what each column counts), the HTML report and the
viewer the same with a legend. On a terminal narrower than the table (\`$COLUMNS\`, else the
terminal's width) it is printed in parts, one per RDMA workload and one for the whole run, each
with the design; piped, it is one table however wide.

## The table

The columns of the terminal table (the HTML report and the viewer show the main ones in a
first table, the others in a second, "Parts and counts"; they write µs for us). A field a stored
row lacks prints as \`-\`.

${columnsTable()}

## \`hmmlab run --json\`

One result (\`SimResult\`, \`src/sim/metrics.ts\`). Every GPU, NIC and link of the platform has a
record, used or not.

${table(RUN_FIELDS)}

## \`hmmlab compare --json\`

An array with one row per design (\`CompareRow\`, \`src/sim/compare.ts\`), the figures of a run
summed over its devices; \`sweep --json\` gives the same row as each point's \`result\`. Keys are
stable. Rows stored by an older hmmlab may lack the fields added since (they print as \`-\`);
those stored under a key renamed since (\`peerBytes\`, \`p2pPages\`, \`hostPages\`,
\`fallbacks\`) are read under its new name.

${table(COMPARE_FIELDS)}

## Stored runs: \`hmmlab compare --runs --json\` and \`hmmlab runs --json\`

\`compare --runs <ids> --json\` gives the stored rows as above, each with what tells the runs
apart first: \`id\` (the run id), \`scenario\` (its name), \`seed\` and \`overrides\` (the
\`--set\` strings it ran with, a sweep point's values; \`[]\` for none). \`runs --json\` gives
per stored run \`id\`, \`scenarioName\`, \`scenarioHash\` (sha256 of the stored text),
\`design\`, \`seed\`, \`hmmlabVersion\`, \`startedAt\`, \`durationMs\` when stored, then
\`overrides\` (as above; \`null\` when its record cannot be read), \`endNs\` (the whole run's
simulated time, ns) and \`rdmaGbps\` (all its RDMA workloads' message bytes over their summed
durations, GB/s; \`null\` without RDMA workloads). \`run\`, \`compare\` and \`report\` say on
stderr which ids they stored (\`stored runs 1,2,3,4,5 in .hmmlab/results.db\`).
`;
}
