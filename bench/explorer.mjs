// Race-explorer benchmark (issue: explorer speed). Problem 4 of scenarios/races/ (a driver that
// skips mmu_interval_read_retry): states explored per second over the fixed variant's whole
// state space (repeated for at least a second), and the wall time to the buggy variant's
// first counterexample (median of several runs).
import { explore } from '../dist/explore/explorer.js';
import { problemModel } from '../dist/explore/problems.js';

const now = () => Number(process.hrtime.bigint());

export function benchExplorer() {
  const fixed = problemModel({ problem: 'skip-read-retry', variant: 'fixed', pages: 4 });
  const buggy = problemModel({ problem: 'skip-read-retry', variant: 'buggy', pages: 4 });
  // Warm up the JIT on both.
  explore(fixed, { mode: 'exhaustive' });
  explore(buggy, { mode: 'exhaustive' });
  let states = 0;
  let transitions = 0;
  let runs = 0;
  const t0 = now();
  while (now() - t0 < 1e9 || runs < 3) {
    const r = explore(fixed, { mode: 'exhaustive' });
    if (r.counterexample || !r.coverage.complete)
      throw new Error('the fixed driver should explore clean and complete');
    states += r.coverage.states;
    transitions += r.coverage.transitions;
    runs++;
  }
  const secs = (now() - t0) / 1e9;
  const times = [];
  for (let i = 0; i < 9; i++) {
    const s = now();
    const r = explore(buggy, { mode: 'exhaustive' });
    times.push((now() - s) / 1e9);
    if (!r.counterexample) throw new Error('the buggy driver should give a counterexample');
  }
  times.sort((a, b) => a - b);
  // A larger space for scale: three racing CPU threads (cpu-fault-refcount, fixed).
  const s3 = now();
  const big = explore(problemModel({ problem: 'multi-device-migrate', variant: 'fixed' }), {
    mode: 'exhaustive',
  });
  const bigSecs = (now() - s3) / 1e9;
  return {
    problem: 'skip-read-retry (pages: 4)',
    statesPerSecond: Math.round(states / secs),
    transitionsPerSecond: Math.round(transitions / secs),
    statesPerRun: states / runs,
    secondsToFirstCounterexample: Number(times[Math.floor(times.length / 2)].toFixed(4)),
    multiDeviceMigrateFixed: {
      states: big.coverage.states,
      wallSeconds: Number(bigSecs.toFixed(3)),
      statesPerSecond: Math.round(big.coverage.states / bigSecs),
    },
    target: 'secondsToFirstCounterexample < 1',
  };
}
