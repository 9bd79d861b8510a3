/**
 * A counterexample in Chrome trace-event JSON (Perfetto, chrome://tracing): one track per
 * agent, one slice per step (1 µs each, in schedule order) carrying its call and state change,
 * an instant event where a livelock's cycle starts, and one where the invariant failed.
 */
import type { ExploreResult } from './types.js';

interface TraceEvent {
  name: string;
  ph: string;
  ts: number;
  pid: number;
  tid: number;
  dur?: number;
  s?: string;
  cat?: string;
  args?: Record<string, unknown>;
}

export function counterexampleTrace(r: ExploreResult): {
  traceEvents: TraceEvent[];
  displayTimeUnit: string;
} {
  const events: TraceEvent[] = [
    { name: 'process_name', ph: 'M', ts: 0, pid: 1, tid: 0, args: { name: `explore ${r.scenario}` } },
  ];
  for (const [i, a] of r.agents.entries()) {
    events.push({ name: 'thread_name', ph: 'M', ts: 0, pid: 1, tid: i + 1, args: { name: a } });
  }
  const cx = r.counterexample;
  if (!cx) return { traceEvents: events, displayTimeUnit: 'ns' };
  for (const s of cx.steps) {
    events.push({
      name: s.step,
      cat: s.call || 'step',
      ph: 'X',
      ts: s.index,
      dur: 1,
      pid: 1,
      tid: r.agents.indexOf(s.agent) + 1,
      args: { step: s.index, call: s.call, change: s.change },
    });
  }
  if (cx.violation.cycleStart !== undefined)
    events.push({
      name: 'livelock cycle starts',
      ph: 'i',
      s: 'g',
      ts: cx.violation.cycleStart,
      pid: 1,
      tid: 0,
    });
  events.push({
    name: `${cx.violation.invariant}: ${cx.violation.message}`,
    ph: 'i',
    s: 'g',
    ts: cx.steps.length,
    pid: 1,
    tid: 0,
    args: { schedule: cx.schedule },
  });
  return { traceEvents: events, displayTimeUnit: 'ns' };
}
