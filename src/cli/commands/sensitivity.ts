/**
 * `hmmlab sensitivity <scenario>`: one-at-a-time sensitivity of the P2P verdict (the best P2P
 * design over upstream: RDMA bandwidth, p99 latency and whole-run time ratios) to every cost
 * parameter the scenario's runs read and to the scenario choices that shape the data path
 * (src/sim/sensitivity.ts), on worker threads. Prints the inputs ranked by the swing they give
 * the verdict; `--report <dir>` also writes a page with a tornado plot. Stores no runs.
 */
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { sensitivityTable, writeSensitivityReport } from '../../report/sensitivity.js';
import type { SimConfig } from '../../sim/config.js';
import {
  checkVerdictDesigns,
  formatRatio,
  type SensitivityResult,
  sensitivityInputNames,
  VERDICT_METRIC_TITLES,
  VERDICT_METRICS,
  type VerdictMetric,
} from '../../sim/sensitivity.js';
import { progressReporter } from '../../sweep/index.js';
import { BaselineError, runSensitivity } from '../../sweep/sensitivity.js';
import {
  designsOf,
  designsOption,
  inputLimits,
  jsonOption,
  type QuietOptions,
  quietOption,
  type ScenarioOptions,
  scenarioOptions,
  seedOf,
} from '../common-options.js';
import { type CliContext, UsageError } from '../context.js';
import { parseChoice, parseJobs, parseNameList } from '../options.js';
import { checkOutputDir } from '../output-paths.js';
import { showsProgress } from '../progress.js';
import { readScenario } from '../scenario-input.js';
import { renderTable, terminalWidth } from '../table.js';

interface SensitivityOptions extends ScenarioOptions, QuietOptions {
  designs?: string;
  params?: string;
  metric?: string;
  jobs?: string;
  json?: boolean;
  report?: string;
}

const hasRdma = (config: SimConfig) => config.workloads.some((w) => w.kind === 'rdma');

/** The result as JSON: stable keys (see README, "Sensitivity"). */
export function sensitivityJson(scenario: string, seed: number, result: SensitivityResult): unknown {
  return { scenario, seed, ...result };
}

function printResult(result: SensitivityResult): void {
  const v = result.verdict;
  const out: string[] = [
    `verdict: ${VERDICT_METRIC_TITLES[result.metric]} of ${v.best}: ${formatRatio(v.value)} (from ${formatRatio(v.min)} to ${formatRatio(v.max)} as one input moves)`,
    `         bandwidth ${formatRatio(v.bandwidthRatio)}, p99 latency ${formatRatio(v.p99Ratio)}, whole run ${formatRatio(v.endRatio)}; designs ${result.designs.join(', ')}`,
  ];
  const { head, cells } = sensitivityTable(result);
  // The values and verdicts right-aligned; each column a group of its own (split between them).
  out.push(
    renderTable(
      head.map((h, i) => ({ head: h, align: i >= 2 ? ('right' as const) : ('left' as const), key: i === 0 })),
      cells,
      { width: terminalWidth() },
    ),
  );
  const errors = result.parameters.flatMap((e) => [
    ...(e.lowError === undefined ? [] : [`${e.name} at ${String(e.lowValue)}: ${e.lowError}`]),
    ...(e.highError === undefined ? [] : [`${e.name} at ${String(e.highValue)}: ${e.highError}`]),
  ]);
  if (errors.length > 0) out.push(`failed runs:\n  ${errors.join('\n  ')}`);
  if (result.unread.length > 0)
    out.push(`unread (no run reads them, not perturbed): ${result.unread.join(', ')}`);
  if (result.unchanged.length > 0)
    out.push(`not perturbed: ${result.unchanged.map((u) => `${u.name} (${u.reason})`).join(', ')}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

/** Adds `hmmlab sensitivity` to `program`. */
export function registerSensitivity(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('sensitivity <scenario>')
    .description(
      'move each cost parameter the runs read (x0.5, x2) and each data-path choice of the scenario, one at a time, and rank them by how far they move the best P2P design’s advantage over upstream',
    );
  designsOption(cmd);
  cmd
    .option('--params <list>', 'only these inputs: cost parameter names or scenario paths (comma-separated)')
    .option(
      '--metric <name>',
      'the ratio to rank by: bandwidth (RDMA GB/s, best P2P / upstream), p99 (RDMA p99 latency, upstream / best P2P) or time (the whole run, upstream / best P2P); default bandwidth, time for a scenario without RDMA workloads',
    )
    .option('--jobs <n>', 'worker threads (default: the CPUs)')
    .option('--report <dir>', 'also write an HTML page with the table and a tornado plot into <dir>');
  jsonOption(cmd, 'print the result as JSON');
  scenarioOptions(cmd);
  quietOption(cmd);
  cmd.action(async (file: string, opts: SensitivityOptions) => {
    const designs = designsOf(opts);
    const problem = checkVerdictDesigns(designs);
    if (problem !== undefined) throw new UsageError(`--designs: ${problem}`);
    const metricOpt =
      opts.metric === undefined ? undefined : parseChoice('--metric', opts.metric, VERDICT_METRICS);
    const jobs = opts.jobs === undefined ? undefined : parseJobs(opts.jobs);
    const seedOpt = seedOf(opts);
    if (opts.report !== undefined) checkOutputDir('--report', opts.report);
    const sc = readScenario(file, opts.set, inputLimits(opts), opts.profile);
    const metric: VerdictMetric = metricOpt ?? (hasRdma(sc.config) ? 'bandwidth' : 'time');
    if (metric !== 'time' && !hasRdma(sc.config)) {
      throw new UsageError(
        `--metric ${metric}: ${file} has no rdma workload; rank by --metric time (the whole run)`,
      );
    }
    const only =
      opts.params === undefined
        ? undefined
        : new Set(parseNameList('--params', opts.params, sensitivityInputNames(sc.config), 'inputs'));
    const seed = seedOpt ?? sc.seed;
    const t0 = performance.now();
    let bar: ReturnType<typeof progressReporter> | undefined;
    let result: SensitivityResult;
    try {
      result = await runSensitivity(sc.config, {
        designs,
        seed,
        metric,
        only,
        jobs,
        onPlan: (total) => {
          if (showsProgress(opts)) bar = progressReporter(total, process.stderr, 'sensitivity');
        },
        onProgress: (done) => bar?.update(done),
      });
    } catch (e) {
      if (!(e instanceof BaselineError)) throw e;
      process.stderr.write(`hmmlab: ${e.message}\n`);
      ctx.exitCode = 1;
      return;
    } finally {
      bar?.stop();
    }
    const seconds = (performance.now() - t0) / 1000;
    if (opts.json)
      process.stdout.write(`${JSON.stringify(sensitivityJson(sc.name, seed, result), null, 2)}\n`);
    else printResult(result);
    if (opts.report !== undefined) {
      let index: string;
      try {
        index = writeSensitivityReport(opts.report, {
          title: `hmmlab sensitivity: ${sc.name}`,
          scenarioName: sc.name,
          scenarioText: sc.text,
          result,
        });
      } catch (e) {
        throw new UsageError(`cannot write the report to ${opts.report}: ${(e as Error).message}`);
      }
      (opts.json ? process.stderr : process.stdout).write(`report: ${index}\n`);
    }
    // stderr: stdout stays one JSON document with --json, and the same bytes on every run.
    process.stderr.write(
      `${result.runs} runs (${result.parameters.length} inputs moved, ${result.unread.length} cost parameters unread) on ${jobs ?? availableParallelism()} worker threads in ${seconds.toFixed(1)} s\n`,
    );
  });
}
