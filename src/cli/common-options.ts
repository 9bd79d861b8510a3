/**
 * The options several commands take, each defined once with its one help text: a command adds
 * a group with one call, in the place it lists it, and reads the values with the parsers below
 * (strict, see options.ts).
 */
import type { Command } from 'commander';
import { DESIGN_NAMES, type DesignName } from '../designs/design.js';
import { DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_WORK } from '../scenario/index.js';
import { DEFAULT_DB_PATH } from '../store/store.js';
import { parseDesign, parseDesignList, parseMaxFileSize, parseMaxWork, parseSeed } from './options.js';

const collect = (v: string, acc: string[]) => [...acc, v];

const PROFILE_HELP =
  "cost profile: a built-in name or a profile file (a path, relative to the working directory); default: the scenario's";

const SET_HELP =
  'override a scenario value by its path in the file, e.g. devices.gpus.gpu0.faultBatchSize=64, platform.cpuCores=4, buffers.buf.size=2GiB (or a SimConfig path, gpus.gpu0.vramBytes=...); checked like the file (repeatable)';
const MAX_FILE_SIZE_HELP = `refuse input files larger than this (default ${DEFAULT_MAX_FILE_BYTES / 2 ** 20}MiB)`;
const MAX_WORK_HELP = `refuse scenarios that would simulate more page accesses than this, or 'unlimited' (default ${DEFAULT_MAX_WORK})`;

/** `--db <path>`: the results store. */
export function dbOption(cmd: Command): Command {
  return cmd.option('--db <path>', `results store (default ${DEFAULT_DB_PATH})`);
}

/** `--db` and `--no-store`; `noStoreHelp` says what is not stored ("do not store the run"). */
export function storeOptions(cmd: Command, noStoreHelp: string): Command {
  return dbOption(cmd).option('--no-store', noStoreHelp);
}

/** The values of dbOption and storeOptions. */
export interface StoreOptions {
  db?: string;
  /** False with --no-store. */
  store?: boolean;
}

/** `--json`; `help` says what is printed ("print the result as JSON"). */
export function jsonOption(cmd: Command, help: string): Command {
  return cmd.option('--json', help);
}

/** `--quiet`: no progress line on stderr (progress.ts; it shows only on a terminal anyway). */
export function quietOption(cmd: Command): Command {
  return cmd.option('--quiet', 'no progress on stderr (shown only on a terminal, for work over a second)');
}

/** The value of quietOption. */
export interface QuietOptions {
  quiet?: boolean;
}

/** `--wide` and `--legend`: the columns of the comparison table a command prints (print.ts). */
export function tableOptions(cmd: Command): Command {
  return cmd
    .option('--wide', 'print every column of the table: also the parts and counts behind the main figures')
    .option('--legend', 'print under the table what each column counts, and its unit');
}

/** The values of tableOptions. */
export interface TableOptions {
  wide?: boolean;
  legend?: boolean;
}

/** `--profile <name|file>`. */
export function profileOption(cmd: Command): Command {
  return cmd.option('--profile <name|file>', PROFILE_HELP);
}

/** `--max-file-size <size>`. */
export function maxFileSizeOption(cmd: Command): Command {
  return cmd.option('--max-file-size <size>', MAX_FILE_SIZE_HELP);
}

/**
 * `--max-file-size` and `--max-work`; `perPoint` for a sweep, where the work limit applies to
 * each point.
 */
export function inputLimitOptions(cmd: Command, perPoint = false): Command {
  return maxFileSizeOption(cmd).option(
    '--max-work <n>',
    perPoint ? `${MAX_WORK_HELP}, per point` : MAX_WORK_HELP,
  );
}

/** The values of inputLimitOptions. */
export interface InputLimitOptions {
  maxFileSize?: string;
  maxWork?: string;
}

/** The input limits of a command: --max-file-size and --max-work. */
export interface InputLimits {
  maxFileBytes: number;
  maxWork: number;
}

/** --max-file-size and --max-work as numbers (defaults when absent), or an OptionError. */
export function inputLimits(opts: InputLimitOptions): InputLimits {
  return {
    maxFileBytes: parseMaxFileSize(opts.maxFileSize),
    maxWork: opts.maxWork === undefined ? DEFAULT_MAX_WORK : parseMaxWork(opts.maxWork),
  };
}

/**
 * What a command that simulates a scenario file takes, in this order: `--seed`, `--set`
 * (repeatable), `--profile`, `--max-file-size` and `--max-work`.
 */
export function scenarioOptions(cmd: Command): Command {
  cmd
    .option('--seed <n>', "seed (default: the scenario's)")
    .option('--set <key=value>', SET_HELP, collect, []);
  return inputLimitOptions(profileOption(cmd));
}

/** The values of scenarioOptions. */
export interface ScenarioOptions extends InputLimitOptions {
  seed?: string;
  set: string[];
  profile?: string;
}

/** `--seed` as a number, undefined when not given (the scenario's seed is used). */
export function seedOf(opts: { seed?: string }): number | undefined {
  return opts.seed === undefined ? undefined : parseSeed('--seed', opts.seed);
}

/** `--design <name>`: the one P2P design to simulate. */
export function designOption(cmd: Command): Command {
  return cmd.option('--design <name>', `P2P design (${DESIGN_NAMES.join(', ')})`);
}

/** `--design` as a design name, undefined when not given (the scenario's design is used). */
export function designOf(opts: { design?: string }): DesignName | undefined {
  return opts.design === undefined ? undefined : parseDesign('--design', opts.design);
}

/** `--designs <list>`: the P2P designs to simulate side by side. */
export function designsOption(cmd: Command): Command {
  return cmd.option(
    '--designs <list>',
    `comma-separated designs (default: all of ${DESIGN_NAMES.join(',')})`,
  );
}

/** `--designs` (strict, see options.ts), all designs when not given. */
export function designsOf(opts: { designs?: string }): DesignName[] {
  return opts.designs === undefined ? [...DESIGN_NAMES] : parseDesignList('--designs', opts.designs);
}
