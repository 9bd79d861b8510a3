/**
 * A progress line on stderr for work that takes a while (run, compare, report): shown only on
 * a terminal, only after the work has taken `delayMs` (about a second), redrawn at most every
 * 100 ms and cleared when the work is done; nothing at all with --quiet or when stderr is not a
 * terminal (a pipe, a file, CI), so that logs stay clean. sweep and sensitivity show their
 * bars (src/sweep/run.ts progressReporter) on the same terms.
 *
 *   const progress = progressLine(opts);
 *   simulate(config, { onProgress: progress.sim('run upstream') });
 *   progress.done();
 */
import type { SimProgress } from '../sim/simulate.js';

export interface ProgressLine {
  /** The callback for simulate()'s onProgress, labelled; undefined when nothing is shown. */
  sim(label: string): ((p: SimProgress) => void) | undefined;
  /** Shows `text` (throttled). */
  update(text: string): void;
  /** Clears the line, if one was drawn. */
  done(): void;
}

/** Whether progress is shown: stderr is a terminal and --quiet was not given. */
export function showsProgress(
  opts: { quiet?: boolean },
  stream: { isTTY?: boolean } = process.stderr,
): boolean {
  return opts.quiet !== true && stream.isTTY === true;
}

const ms = (ns: number) => `${(ns / 1e6).toFixed(1)} ms`;

/** The text of a simulation's progress: 'run upstream: simulated 12.3 ms of 50.0 ms, 1.2M events'. */
export function simProgressText(label: string, p: SimProgress): string {
  const of = p.endNs === undefined ? '' : ` of ${ms(p.endNs)}`;
  const events = p.events >= 1e6 ? `${(p.events / 1e6).toFixed(1)}M` : String(p.events);
  return `${label}: simulated ${ms(p.nowNs)}${of}, ${events} events`;
}

/** A progress line on `stream` (stderr), or one that shows nothing (see the module comment). */
export function progressLine(
  opts: { quiet?: boolean },
  stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
  delayMs = 1000,
  now: () => number = () => performance.now(),
): ProgressLine {
  if (!showsProgress(opts, stream)) return { sim: () => undefined, update() {}, done() {} };
  const t0 = now();
  let last = Number.NEGATIVE_INFINITY;
  let drawn = false;
  const update = (text: string) => {
    const t = now();
    if (t - t0 < delayMs || t - last < 100) return;
    last = t;
    drawn = true;
    // \r and erase-line: the line is redrawn in place.
    stream.write(`\r\u001b[K${text}`);
  };
  return {
    sim: (label) => (p) => update(simProgressText(label, p)),
    update,
    done() {
      if (drawn) stream.write('\r\u001b[K');
      drawn = false;
    },
  };
}
