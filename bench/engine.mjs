// Event-engine benchmark: events per second of the discrete-event engine (dist/sim/engine.js)
// and the ratio of its time per event to a bare flat binary heap of (time, seq) entries doing the
// same number of push and pop operations, measured in the same process.
//
//   export function benchEngine(sim) -> { eventsPerSecond, ratioToHeapLoop, ... }
//
// `sim` is the module object of dist/sim/engine.js. Both loops are a "hold model": PENDING
// entries stay queued; each step pops the earliest and pushes it back at time + delay, with the
// delays drawn from one table filled by the seeded Rng (so both pay the same for randomness).
// Figures are medians of RUNS runs after a warm-up run.

const EVENTS = 1_000_000;
const PENDING = 1000;
const RUNS = 5;
const DELAY_MASK = (1 << 16) - 1;

const now = () => Number(process.hrtime.bigint());
const gc = () => {
  if (globalThis.gc) globalThis.gc();
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function delayTable(sim) {
  const rng = new sim.Rng(20251126).fork('bench');
  const d = new Float64Array(DELAY_MASK + 1);
  for (let i = 0; i < d.length; i++) d[i] = rng.int(1, 1000);
  return d;
}

/** Processes (generators) that sleep for pseudo-random delays: EVENTS events in all. */
function engineProcesses(sim, delays) {
  const e = new sim.Engine();
  let budget = EVENTS - PENDING; // each spawn is one event; each sleep one more
  function* worker(k) {
    while (budget > 0) {
      budget--;
      yield delays[k++ & DELAY_MASK];
    }
  }
  for (let i = 0; i < PENDING; i++) e.spawn(worker(i * 64), 'w');
  const t0 = now();
  const n = e.run();
  const ns = now() - t0;
  if (n !== EVENTS) throw new Error(`engine ran ${n} events, expected ${EVENTS}`);
  return ns;
}

/** Callbacks that reschedule themselves: EVENTS events in all. */
function engineCallbacks(sim, delays) {
  const e = new sim.Engine();
  let budget = EVENTS - PENDING;
  let k = 0;
  const tick = () => {
    if (budget > 0) {
      budget--;
      e.schedule(delays[k++ & DELAY_MASK], tick);
    }
  };
  for (let i = 0; i < PENDING; i++) e.schedule(delays[k++ & DELAY_MASK], tick);
  const t0 = now();
  const n = e.run();
  const ns = now() - t0;
  if (n !== EVENTS) throw new Error(`engine ran ${n} events, expected ${EVENTS}`);
  return ns;
}

/**
 * The baseline: a flat binary heap over Float64Array times and seqs, ordered by (time, seq),
 * written inline. EVENTS pops and the same number of pushes as the engine loops (PENDING initial
 * pushes plus EVENTS - PENDING re-pushes).
 */
function heapLoop(delays) {
  let cap = 1024;
  let times = new Float64Array(cap);
  let seqs = new Float64Array(cap);
  let size = 0;
  let seq = 0;
  let k = 0;
  const push = (t) => {
    if (size === cap) {
      cap *= 2;
      const nt = new Float64Array(cap);
      nt.set(times);
      times = nt;
      const ns = new Float64Array(cap);
      ns.set(seqs);
      seqs = ns;
    }
    const s = seq++;
    let i = size++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (times[p] < t || (times[p] === t && seqs[p] < s)) break;
      times[i] = times[p];
      seqs[i] = seqs[p];
      i = p;
    }
    times[i] = t;
    seqs[i] = s;
  };
  const pop = () => {
    const top = times[0];
    const n = --size;
    const lt = times[n];
    const ls = seqs[n];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      const r = c + 1;
      if (r < n && (times[r] < times[c] || (times[r] === times[c] && seqs[r] < seqs[c]))) c = r;
      if (lt < times[c] || (lt === times[c] && ls < seqs[c])) break;
      times[i] = times[c];
      seqs[i] = seqs[c];
      i = c;
    }
    times[i] = lt;
    seqs[i] = ls;
    return top;
  };
  const t0 = now();
  for (let i = 0; i < PENDING; i++) push(delays[k++ & DELAY_MASK]);
  let budget = EVENTS - PENDING;
  let popped = 0;
  let last = 0;
  while (size > 0) {
    last = pop();
    popped++;
    if (budget > 0) {
      budget--;
      push(last + delays[k++ & DELAY_MASK]);
    }
  }
  const ns = now() - t0;
  if (popped !== EVENTS) throw new Error(`heap loop popped ${popped}, expected ${EVENTS}`);
  return ns + (last < 0 ? 1 : 0);
}

function measure(fn) {
  fn(); // warm-up
  const xs = [];
  for (let r = 0; r < RUNS; r++) {
    gc();
    xs.push(fn());
  }
  return median(xs);
}

/**
 * Runs the engine benchmark. `sim` is the dist/sim/engine.js module. Returns events per second
 * for generator processes (the headline) and for callbacks, with each one's ratio of time per
 * event to the bare heap loop.
 */
export function benchEngine(sim) {
  const delays = delayTable(sim);
  const heapNs = measure(() => heapLoop(delays));
  const procNs = measure(() => engineProcesses(sim, delays));
  const cbNs = measure(() => engineCallbacks(sim, delays));
  return {
    events: EVENTS,
    pending: PENDING,
    eventsPerSecond: Math.round(EVENTS / (procNs / 1e9)),
    ratioToHeapLoop: +(procNs / heapNs).toFixed(2),
    callbackEventsPerSecond: Math.round(EVENTS / (cbNs / 1e9)),
    callbackRatioToHeapLoop: +(cbNs / heapNs).toFixed(2),
    heapLoopNsPerEvent: +(heapNs / EVENTS).toFixed(1),
    engineNsPerEvent: +(procNs / EVENTS).toFixed(1),
    target: 'ratioToHeapLoop <= 3',
  };
}
