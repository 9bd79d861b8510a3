/**
 * `hmmlab runs`: list the stored runs, each with what tells it apart (design, seed, the
 * overrides a sweep point ran with) and its key figures (the whole run's simulated time, the
 * RDMA bandwidth).
 */
import type { Command } from 'commander';
import { ResimulateError, storedRunSets } from '../../serve/resimulate.js';
import { storedMetricsRow } from '../../sim/compare.js';
import { rdmaSummary } from '../../sim/design-study.js';
import type { RunSummary, StoredRun } from '../../store/store.js';
import { dbOption, jsonOption } from '../common-options.js';
import type { CliContext } from '../context.js';
import { identityCells, identityColumns, printableMessage } from '../print.js';
import { withReadStore } from '../stored-runs.js';
import { renderTable, terminalWidth } from '../table.js';

interface RunsOptions {
  db?: string;
  scenario?: string;
  design?: string;
  json?: boolean;
}

/** A listed run: its summary, its overrides and its key figures (null when unreadable). */
export interface ListedRun extends RunSummary {
  /** The `--set` overrides it ran with; null when its record cannot be read. */
  overrides: string[] | null;
  /** Simulated time of the whole run (ns). */
  endNs: number | null;
  /** All its RDMA workloads' bytes over their summed durations (GB/s); null without RDMA. */
  rdmaGbps: number | null;
}

/** What `runs` shows of a stored run. */
export function listedRun(run: StoredRun): ListedRun {
  const { scenarioText: _text, metrics, ...summary } = run;
  let overrides: string[] | null;
  try {
    overrides = storedRunSets(run);
  } catch (e) {
    if (!(e instanceof ResimulateError)) throw e;
    overrides = null;
  }
  const row = storedMetricsRow(metrics);
  const hasRdma = row !== null && row.rdma !== undefined && Object.keys(row.rdma).length > 0;
  let rdmaGbps: number | null = null;
  if (hasRdma) {
    const g = rdmaSummary(row).gbps;
    rdmaGbps = Number.isFinite(g) ? g : null;
  }
  return {
    ...summary,
    overrides,
    endNs: row !== null && Number.isFinite(row.endNs) ? row.endNs : null,
    rdmaGbps,
  };
}

/** The runs as a table, fitted to `width`. */
export function runsTable(runs: readonly ListedRun[], width: number): string {
  const cols = [
    ...identityColumns(),
    { head: 'run\nms', align: 'right' as const, group: 'figures' },
    { head: 'RDMA\nGB/s', align: 'right' as const, group: 'figures' },
    { head: 'started', group: 'provenance' },
    { head: 'hmmlab', group: 'provenance' },
  ];
  const cells = runs.map((r) => [
    ...identityCells({
      id: r.id,
      scenario: r.scenarioName,
      design: r.design,
      seed: r.seed,
      overrides: r.overrides ?? ['(unreadable)'],
    }),
    r.endNs === null ? '-' : (r.endNs / 1e6).toFixed(2),
    r.rdmaGbps === null ? '-' : r.rdmaGbps.toFixed(2),
    // To the minute in the table (the JSON keeps the whole time).
    printableMessage(
      /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(r.startedAt)
        ? r.startedAt.slice(0, 16).replace('T', ' ')
        : r.startedAt,
    ),
    printableMessage(r.hmmlabVersion),
  ]);
  return renderTable(cols, cells, { width });
}

/** Adds `hmmlab runs` to `program`. */
export function registerRuns(program: Command, _ctx: CliContext): void {
  const cmd = program
    .command('runs')
    .description('list the stored runs: id, scenario, design, seed, overrides, run ms, RDMA GB/s');
  dbOption(cmd)
    .option('--scenario <name>', 'only runs of this scenario')
    .option('--design <name>', 'only runs of this design');
  jsonOption(cmd, 'print the runs as JSON');
  cmd.action((opts: RunsOptions) => {
    withReadStore(opts.db, (store) => {
      const runs = store
        .listRuns({ scenario: opts.scenario, design: opts.design })
        .map((s) => store.getRun(s.id))
        .filter((r): r is StoredRun => r !== undefined && r !== null)
        .map(listedRun);
      if (opts.json) process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
      else {
        const n = runs.length;
        process.stdout.write(`${runsTable(runs, terminalWidth())}\n${n} ${n === 1 ? 'run' : 'runs'}\n`);
      }
    });
  });
}
