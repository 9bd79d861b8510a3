/**
 * `hmmlab sweep <sweep>`: run the points of a sweep file on worker threads, storing each run as
 * it finishes; points already stored are skipped (resume). Exit 1 when a point failed.
 */
import type { Command } from 'commander';
import { formatProfileError } from '../../profile/index.js';
import { DEFAULT_DB_PATH, ResultsStore } from '../../store/store.js';
import { loadSweepFile, progressReporter, shardPoints } from '../../sweep/index.js';
import { storeSweep } from '../../sweep/run.js';
import {
  dbOption,
  type InputLimitOptions,
  inputLimitOptions,
  inputLimits,
  jsonOption,
  profileOption,
  type QuietOptions,
  quietOption,
} from '../common-options.js';
import { type CliContext, UsageError } from '../context.js';
import { parseJobs, parseShardOption } from '../options.js';
import { printableMessage } from '../print.js';
import { showsProgress } from '../progress.js';
import { scenarioName } from '../scenario-input.js';
import { renderTable, terminalWidth } from '../table.js';

/** 'a 4-point', 'an 8-point', 'an 11-point', 'an 18-point' (the article as the number is said). */
export function aPoint(n: number): string {
  const s = String(n);
  // Eight, eighty..., eleven, eighteen, eleven thousand...: said with a vowel first.
  const an = s.startsWith('8') || (/^1[18]/.test(s) && s.length % 3 === 2);
  return `${an ? 'an' : 'a'} ${s}-point`;
}

interface SweepOptions extends InputLimitOptions, QuietOptions {
  jobs?: string;
  shard?: string;
  db?: string;
  resume?: boolean;
  profile?: string;
  json?: boolean;
}

/** Adds `hmmlab sweep` to `program`. */
export function registerSweep(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('sweep <sweep>')
    .description(
      'run a grid or list of scenario variants on worker threads and store each run as it finishes; points already stored are skipped (resume)',
    )
    .option('--jobs <n>', 'worker threads (default: the CPUs)')
    .option('--shard <i/n>', 'run only shard i of n (the points whose index is i-1 modulo n), e.g. 2/4');
  dbOption(cmd);
  cmd.option('--no-resume', 'run and store every point again, even those the store already has');
  profileOption(cmd);
  jsonOption(cmd, 'print the results as JSON');
  inputLimitOptions(cmd, true);
  quietOption(cmd);
  cmd.action(async (file: string, opts: SweepOptions) => {
    const jobs = opts.jobs === undefined ? undefined : parseJobs(opts.jobs);
    const shard = opts.shard === undefined ? undefined : parseShardOption(opts.shard);
    const r = await loadSweepFile(file, { ...inputLimits(opts), profile: opts.profile });
    if (!r.ok) throw new UsageError(r.errors.map(formatProfileError).join('\n'));
    const points = shard ? shardPoints(r.points, shard) : r.points;
    const scenarioText = r.scenarioText;
    const name = scenarioName(scenarioText, r.scenarioFile);
    const startedAt = new Date().toISOString();
    const dbPath = opts.db ?? DEFAULT_DB_PATH;
    // Opened (and checked) before any run: each run is stored as it finishes.
    const store = ResultsStore.open(dbPath);
    let outcomes: Awaited<ReturnType<typeof storeSweep>>;
    let bar: ReturnType<typeof progressReporter> | undefined;
    try {
      outcomes = await storeSweep(points, {
        store,
        scenarioName: name,
        scenarioText,
        profile: r.profile,
        hmmlabVersion: ctx.version,
        startedAt,
        resume: opts.resume !== false,
        jobs,
        onPlan: (toRun) => {
          if (showsProgress(opts)) bar = progressReporter(toRun);
        },
        onProgress: (d) => bar?.update(d),
        onFailure: (pt, error) => {
          process.stderr.write(
            `hmmlab: sweep point ${pt.index} (design ${pt.design}, seed ${pt.seed}, params ${JSON.stringify(pt.params)}) failed: ${error}\n`,
          );
        },
      });
    } finally {
      bar?.stop();
      store.close();
    }
    const count = (status: string) => outcomes.filter((o) => o.status === status).length;
    const stored = count('stored');
    const skipped = count('skipped');
    const failed = count('failed');
    if (opts.json) {
      const out = outcomes.map((o) => ({
        ...r.points[o.index]!,
        config: undefined,
        status: o.status,
        // Run ids are left out: with several workers they follow the order runs finish in.
        ...(o.status === 'failed' ? { error: o.error } : { result: o.row }),
      }));
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } else {
      const num = { align: 'right' as const };
      const cols = [
        { head: '#', ...num, key: true },
        { head: 'design' },
        { head: 'seed', ...num },
        { head: 'params' },
        { head: 'run\nms', ...num },
        { head: 'NIC P2P\npages mapped', ...num },
        { head: 'pages\nto RAM', ...num },
        { head: 'status' },
      ];
      const cells = outcomes.map((o) => {
        const pt = r.points[o.index]!;
        const head = [
          String(pt.index),
          pt.design,
          String(pt.seed),
          printableMessage(JSON.stringify(pt.params)),
        ];
        if (o.status === 'failed') return [...head, '-', '-', '-', 'failed'];
        return [
          ...head,
          (o.row.endNs / 1e6).toFixed(2),
          String(o.row.nicP2pPagesMapped),
          String(o.row.pagesToRam),
          o.status === 'skipped' ? 'stored before' : 'stored',
        ];
      });
      process.stdout.write(`${renderTable(cols, cells, { width: terminalWidth() })}\n`);
    }
    const of = shard ? ` (shard ${shard.index}/${shard.count} of ${aPoint(r.points.length)} sweep)` : '';
    // The summary goes to stderr with --json, so that stdout stays one JSON document.
    (opts.json ? process.stderr : process.stdout).write(
      `${points.length} ${points.length === 1 ? 'point' : 'points'}${of}: ${stored} stored, ${skipped} skipped as already stored, ${failed} failed, in ${dbPath}\n`,
    );
    if (failed > 0) ctx.exitCode = 1;
  });
}
