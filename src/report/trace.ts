/**
 * Chrome trace-event JSON from a simulation's raw event log, for Perfetto (ui.perfetto.dev)
 * and chrome://tracing: one track per GPU fault handler, link, NIC and workload, slices for
 * fault batches, NIC faults, CPU faults, transfers and RDMA messages, a VRAM residency
 * counter per GPU and a bandwidth counter per link. Times are microseconds in the trace (the format's unit), nanoseconds in
 * the model.
 */
import type { SimEvent, SimResult } from '../sim/simulate.js';

interface TraceEvent {
  name: string;
  cat?: string;
  ph: 'X' | 'C' | 'M' | 'b' | 'e';
  id?: number;
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: Record<string, unknown>;
}

const PID = { gpus: 1, links: 2, nics: 3, workloads: 4 } as const;
const PROCESS_NAMES: Record<number, string> = {
  1: 'GPU fault handling',
  2: 'links',
  3: 'NIC faults',
  4: 'workloads',
};

const us = (ns: number) => Math.round(ns) / 1000;

/** The trace of one run (its result must carry the log: simulate(..., { log: true })). */
export function chromeTrace(r: SimResult): { traceEvents: TraceEvent[]; displayTimeUnit: 'ns' } {
  if (!r.log) throw new Error('the result has no event log: run simulate() with { log: true }');
  const events: TraceEvent[] = [];
  const tids = new Map<string, number>();
  const track = (pid: number, name: string): number => {
    const key = `${pid}:${name}`;
    let tid = tids.get(key);
    if (tid === undefined) {
      tid = tids.size + 1;
      tids.set(key, tid);
      events.push({ name: 'thread_name', ph: 'M', ts: 0, pid, tid, args: { name } });
    }
    return tid;
  };
  let nextId = 1;
  const asyncSlice = (
    name: string,
    cat: string,
    t: number,
    end: number,
    pid: number,
    tid: number,
    args: object,
  ) => {
    const id = nextId++;
    events.push({ name, cat, ph: 'b', id, ts: us(t), pid, tid, args: { ...args } });
    events.push({ name, cat, ph: 'e', id, ts: us(end), pid, tid });
  };
  for (const [pid, name] of Object.entries(PROCESS_NAMES)) {
    events.push({ name: 'process_name', ph: 'M', ts: 0, pid: Number(pid), tid: 0, args: { name } });
  }
  for (const e of r.log as SimEvent[]) {
    switch (e.kind) {
      case 'batch': {
        const tid = track(PID.gpus, e.gpu);
        events.push({
          name: 'fault batch',
          cat: 'gpu',
          ph: 'X',
          ts: us(e.t),
          dur: us(e.endNs - e.t),
          pid: PID.gpus,
          tid,
          args: {
            faults: e.faults,
            uniquePages: e.uniquePages,
            pagesToVram: e.pagesToVram,
            evictedPages: e.evictedPages,
            hmmPages: e.hmmPages,
            cpuNs: e.cpuNs,
          },
        });
        events.push({
          name: `${e.gpu} VRAM pages`,
          ph: 'C',
          ts: us(e.endNs),
          pid: PID.gpus,
          tid,
          args: { pages: e.vramPages },
        });
        break;
      }
      case 'transfer':
        // Transfers on one link overlap: async slices, one id each.
        asyncSlice('transfer', 'link', e.t, e.endNs, PID.links, track(PID.links, e.link), { bytes: e.bytes });
        break;
      case 'nic_fault':
        events.push({
          name: 'NIC page fault',
          cat: 'nic',
          ph: 'X',
          ts: us(e.t),
          dur: us(e.endNs - e.t),
          pid: PID.nics,
          tid: track(PID.nics, e.nic),
          args: { pages: e.pages, cpuNs: e.cpuNs },
        });
        break;
      case 'cpu_fault':
        events.push({
          name: 'CPU page fault',
          cat: 'cpu',
          ph: 'X',
          ts: us(e.t),
          dur: us(e.cpuNs),
          pid: PID.workloads,
          tid: track(PID.workloads, e.workload),
          args: { pages: e.pages },
        });
        break;
      case 'message':
        // Messages in flight overlap (queue depth): async slices.
        asyncSlice('RDMA message', 'rdma', e.t, e.endNs, PID.workloads, track(PID.workloads, e.workload), {
          bytes: e.bytes,
        });
        break;
      case 'workload_end':
        break;
    }
  }
  linkCounters(r.log as SimEvent[], events);
  return { traceEvents: events, displayTimeUnit: 'ns' };
}

/**
 * A bandwidth counter per link: at each instant, the sum over the transfers in flight of each
 * one's mean rate (bytes over its duration), in GB/s. Links share bandwidth max-min fairly, so a
 * transfer's instantaneous rate can differ from its mean; the counter's area over a span is
 * still the bytes that span's transfers moved.
 */
function linkCounters(log: readonly SimEvent[], events: TraceEvent[]): void {
  const steps = new Map<string, Map<number, number>>();
  for (const e of log) {
    if (e.kind !== 'transfer' || e.endNs <= e.t) continue;
    const rate = e.bytes / (e.endNs - e.t); // bytes per ns = GB/s
    let m = steps.get(e.link);
    if (!m) {
      m = new Map();
      steps.set(e.link, m);
    }
    m.set(e.t, (m.get(e.t) ?? 0) + rate);
    m.set(e.endNs, (m.get(e.endNs) ?? 0) - rate);
  }
  for (const link of [...steps.keys()].sort()) {
    const times = [...steps.get(link)!.entries()].sort((a, b) => a[0] - b[0]);
    let level = 0;
    for (const [t, delta] of times) {
      level += delta;
      // Rounded so that floating-point residue reads 0 when the link is idle.
      const gbps = Math.round(Math.max(0, level) * 1000) / 1000;
      events.push({ name: `${link} GB/s`, ph: 'C', ts: us(t), pid: PID.links, tid: 0, args: { GBps: gbps } });
    }
  }
}
