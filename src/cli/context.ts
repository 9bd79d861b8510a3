/**
 * What every command of the command line shares: the version it stores with runs, the exit
 * code it sets, and the error for bad input.
 */

/** The hmmlab version: `hmmlab --version`, and stored with every run and exploration. */
export const VERSION = '0.1.0';

/** What a command's action gets besides its arguments and options. */
export interface CliContext {
  /** The version stored with runs (VERSION). */
  readonly version: string;
  /**
   * The exit code when the command ends without an error: 0 unless its action sets it (1: a
   * check failed, such as a failed selftest or sweep point, or a counterexample).
   */
  exitCode: number;
}

/** Bad input to a command: the CLI prints the message and exits 2. */
export class UsageError extends Error {}
