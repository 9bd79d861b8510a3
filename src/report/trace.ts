/**
 * Chrome trace-event JSON from a simulation's raw event log, for Perfetto (ui.perfetto.dev)
 * and chrome://tracing: one track per GPU fault handler, link, NIC, workload, CPU core and GPU
 * copy engine; slices for fault batches and NIC faults (with nested hmm_range_fault,
 * migrate_vma, invalidation, DMA map and copy-wait slices), CPU faults, transfers, copies and
 * RDMA messages; a VRAM residency counter per GPU and a bandwidth counter per link. Times are microseconds in the trace (the format's
 * unit), nanoseconds in the model.
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

const PID = { gpus: 1, links: 2, nics: 3, workloads: 4, cores: 5, copyEngines: 6 } as const;
const PROCESS_NAMES: Record<number, string> = {
  1: 'GPU fault handling',
  2: 'links',
  3: 'NIC faults',
  4: 'workloads',
  5: 'CPU cores',
  6: 'GPU copy engines',
};

const us = (ns: number) => Math.round(ns) / 1000;
/** A duration from rounded ends, so that back-to-back slices meet exactly. */
const span = (t0: number, t1: number) => (Math.round(t1) - Math.round(t0)) / 1000;

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
  // A core runs one fault handler at a time (the CPU pool hands out whole cores).
  const coreSlice = (name: string, core: number, t: number, ns: number) => {
    events.push({
      name,
      cat: 'cpu',
      ph: 'X',
      ts: us(t),
      dur: span(t, t + ns),
      pid: PID.cores,
      tid: track(PID.cores, `cpu${core}`),
    });
  };
  const log = r.log as SimEvent[];
  const lane = faultLanes(log);
  log.forEach((e, i) => {
    switch (e.kind) {
      case 'batch': {
        const tid = track(PID.gpus, laneName(e.gpu, lane[i]!));
        events.push({
          name: 'fault batch',
          cat: 'gpu',
          ph: 'X',
          ts: us(e.t),
          dur: span(e.t, e.endNs),
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
        phaseSlices(events, e, 'gpu', PID.gpus, tid);
        coreSlice(`${e.gpu} fault batch`, e.core, e.cpuStartNs, e.cpuNs);
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
        // A copy engine carries one copy at a time: complete slices, from when it got the copy.
        events.push({
          name: `copy ${e.dir}`,
          cat: 'copy',
          ph: 'X',
          ts: us(e.ceStartNs),
          dur: span(e.ceStartNs, e.endNs),
          pid: PID.copyEngines,
          tid: track(PID.copyEngines, e.ce),
          args: { bytes: e.bytes, link: e.link },
        });
        break;
      case 'nic_fault': {
        const tid = track(PID.nics, laneName(e.nic, lane[i]!));
        events.push({
          name: 'NIC page fault',
          cat: 'nic',
          ph: 'X',
          ts: us(e.t),
          dur: span(e.t, e.endNs),
          pid: PID.nics,
          tid,
          args: { pages: e.pages, cpuNs: e.cpuNs },
        });
        phaseSlices(events, e, 'nic', PID.nics, tid);
        coreSlice(`${e.nic} page fault`, e.core, e.cpuStartNs, e.cpuNs);
        break;
      }
      case 'cpu_fault':
        events.push({
          name: 'CPU page fault',
          cat: 'cpu',
          ph: 'X',
          ts: us(e.t),
          dur: span(e.t, e.t + e.cpuNs),
          pid: PID.workloads,
          tid: track(PID.workloads, e.workload),
          args: { pages: e.pages },
        });
        coreSlice(`${e.workload} CPU fault`, e.core, e.t, e.cpuNs);
        break;
      case 'dmirror_ioctl':
        events.push({
          name: `dmirror ${e.op}`,
          cat: 'dmirror',
          ph: 'X',
          ts: us(e.t),
          dur: span(e.t, e.t + e.cpuNs),
          pid: PID.workloads,
          tid: track(PID.workloads, e.workload),
          args: { device: e.device, pages: e.pages, cpages: e.cpages, faults: e.faults, ret: e.ret },
        });
        coreSlice(`${e.workload} dmirror ${e.op}`, e.core, e.t, e.cpuNs);
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
  });
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

/**
 * Slices nested in a fault slice: its CPU work split by what it paid for (hmm_range_fault,
 * migrate_vma, invalidations, DMA mapping, ...), one after another from when the handler got a
 * core, then the wait for the copies that the work started ("copy wait").
 */
function phaseSlices(
  events: TraceEvent[],
  fault: { cpuStartNs: number; cpuNs: number; phases: readonly [string, number][]; endNs: number },
  cat: string,
  pid: number,
  tid: number,
): void {
  const { cpuStartNs, phases, endNs } = fault;
  const cpuEndNs = cpuStartNs + fault.cpuNs;
  let t = cpuStartNs;
  for (const [name, ns] of phases) {
    events.push({ name, cat, ph: 'X', ts: us(t), dur: span(t, t + ns), pid, tid });
    t += ns;
  }
  if (endNs > cpuEndNs) {
    events.push({
      name: 'copy wait',
      cat,
      ph: 'X',
      ts: us(cpuEndNs),
      dur: span(cpuEndNs, endNs),
      pid,
      tid,
    });
  }
}

/**
 * Fault slices of one device can overlap (several GPU workloads, or NIC faults from queue pairs
 * in flight), and overlapping slices on one track do not nest. Each fault gets the first lane
 * of its device that is free when it starts (lane 0 is the device's own track).
 */
function faultLanes(log: readonly SimEvent[]): number[] {
  const lanes = new Array<number>(log.length).fill(0);
  const order = log
    .map((e, i) => ({ e, i }))
    .filter(({ e }) => e.kind === 'batch' || e.kind === 'nic_fault')
    .sort((a, b) => a.e.t - b.e.t || a.i - b.i);
  const ends = new Map<string, number[]>();
  for (const { e, i } of order) {
    if (e.kind !== 'batch' && e.kind !== 'nic_fault') continue;
    const key = e.kind === 'batch' ? `gpu:${e.gpu}` : `nic:${e.nic}`;
    let busy = ends.get(key);
    if (!busy) {
      busy = [];
      ends.set(key, busy);
    }
    let k = busy.findIndex((end) => end <= e.t);
    if (k < 0) k = busy.push(0) - 1;
    busy[k] = e.endNs;
    lanes[i] = k;
  }
  return lanes;
}

const laneName = (device: string, lane: number) => (lane === 0 ? device : `${device} #${lane + 1}`);
