/**
 * An RDMA workload: messages through an ODP memory region of a NIC, like perftest's
 * ib_write_bw / ib_read_bw with -s (messageSize), -n (messages), -q (qps) and -t (queueDepth).
 * Each reliable-connected queue pair keeps up to queueDepth messages posted and takes the next
 * message when a slot frees; its messages complete in order. Before a message's DMA, its pages
 * must be mapped by the MR and not under migration: it waits for work in flight on them
 * (inflight.ts), and a page the MR does not map raises a NIC page fault (nic-fault.ts) that
 * stalls the queue pair until it is resolved. Then one DMA per run of pages that share a path.
 * A write stores a tag in the pages it reaches, so the oracle can check the data.
 *
 *   workloads: [{ kind: 'rdma', name: 'r0', nic: 'nic0', buffer: 'b', op: 'write',
 *                 pattern: 'sequential', messageSize: 65536, messages: 1000, queueDepth: 4, qps: 1 }]
 *
 * Linux counterpart: an RDMA consumer posting work requests on an ODP MR
 * (drivers/infiniband/hw/mlx5/odp.c handles the page faults: the QP that hit the fault waits
 * for it). A write whose page faulted is answered RNR NAK and retransmitted after the QP's RNR
 * timer (`rdmaRnrTimerNs`) until the fault is resolved. Deliberate differences: there is no
 * remote peer; a message is the local DMA of its bytes, its latency runs from the time it was
 * posted to its in-order completion; a read that faults stalls its QP for the fault only; a
 * message that waits for another queue pair's fault pays no RNR delay of its own.
 */
import { NIC_HOST } from '../../drivers/rdma.js';
import { PAGE_SIZE } from '../../kernel/constants.js';
import type { SimAgent, SimContext } from '../agent.js';
import { configErrorAt, type RdmaWorkload } from '../config.js';
import type { Process, Wait } from '../engine.js';
import { nicFault, nicPath } from '../nic-fault.js';
import { pageIndexes } from './access.js';

/** The agent of RDMA workload `w`. */
export function rdmaWorkload(sim: SimContext, w: RdmaWorkload): SimAgent {
  return { name: w.name, after: w.after, startNs: w.start, run: () => run(sim, w) };
}

function* run(sim: SimContext, w: RdmaWorkload): Generator<Wait, void, unknown> {
  const { engine, fabric, platform: p, metrics, v } = sim;
  const k = p.kernel;
  const n = p.nics.get(w.nic)!;
  const b = p.buffers.get(w.buffer)!;
  const mr = n.mrs.get(b.proc)!;
  const mm = b.mm.id;
  const msgBytes = Math.min(w.messageSize, b.bytes);
  const slots = Math.max(1, Math.floor(Math.min(w.bytes ?? b.bytes, b.bytes) / msgBytes));
  const next = pageIndexes(w.pattern, slots, 1, sim.rng.fork(w.name));
  const write = w.op === 'write';
  const latencies: number[] = [];
  const start = engine.now;
  let sent = 0;
  let faultStallNs = 0;
  let inFlightWaitNs = 0;
  let faultStalls = 0;
  let p2pBytes = 0;
  let hostBytes = 0;
  const depth = Math.max(1, w.queueDepth ?? 1);
  const qps = Math.max(1, w.qps ?? 1);
  const done = engine.signal<void>();
  let running = qps;

  /**
   * The responder's DMA of message `m` over [first, last), started now (in the tick that found
   * every page mapped): one transfer per page run that shares a path.
   */
  function issue(m: number, s0: number, first: number, last: number): Process[] {
    const transfers: Process[] = [];
    for (let a = first; a < last; ) {
      const e = mr.translate(a, write);
      if (!e) throw new Error(`model bug: message ${m} of ${w.name} reached an unmapped page`);
      const path = nicPath(sim, n, e, write);
      let end = a + PAGE_SIZE;
      while (end < last && mr.kindAt(end, write) === e.kind) end += PAGE_SIZE;
      const bytes = Math.min(end, s0 + msgBytes) - Math.max(a, s0);
      if (e.kind === NIC_HOST) hostBytes += bytes;
      else p2pBytes += bytes;
      // The DMA itself changes the data: a write stores a tag the oracle can check.
      if (write) {
        for (let x = a; x < end; x += PAGE_SIZE) {
          const pfn = mr.pfnAt(x);
          let target = pfn; // a BAR alias page stands for the VRAM page behind it
          for (const g of p.gpuList) {
            const vr = g.dev.vramPfnOfAlias(pfn);
            if (vr >= 0) {
              target = vr;
              break;
            }
          }
          k.frames.fill(target, (m + 1) & 0x7fffffff);
        }
      }
      const dma = engine.spawn(
        (function* () {
          yield fabric.transfer(path, bytes, v.dmaSetupLatencyNs);
        })(),
        'dma',
      );
      sim.inflight.dmaStarted(mm, a, end, dma);
      transfers.push(dma);
      a = end;
    }
    return transfers;
  }

  /** Message `m`'s completion: its DMA done, and (in order) the message ahead of it on the QP. */
  function* complete(
    transfers: Process[],
    postNs: number,
    prev: Process | null,
    ends: number[],
  ): Generator<Wait, void, unknown> {
    for (const t of transfers) yield t;
    // A reliable-connected QP completes its messages in order.
    if (prev) yield prev;
    ends.push(engine.now);
    latencies.push(engine.now - postNs);
    metrics.event({ t: postNs, kind: 'message', workload: w.name, bytes: msgBytes, endNs: engine.now });
  }

  /**
   * One RC queue pair: the requester keeps up to `depth` messages posted; the responder (this
   * NIC, on the ODP MR) handles them in order. A message whose pages are being migrated waits
   * for them; one whose pages the MR does not map raises a page fault, and the QP stalls until
   * the fault is resolved: nothing behind it on the QP moves meanwhile (mlx5's ODP handling).
   */
  function* qp(): Generator<Wait, void, unknown> {
    const qpStart = engine.now;
    const ends: number[] = []; // completion times of this QP's messages, in order
    const posted: Process[] = [];
    let lastPost = qpStart;
    let j = 0; // this QP's messages so far
    while (sent < w.messages) {
      if (posted.length >= depth) {
        // A full send queue: wait for the oldest completion, then look again (other QPs may
        // have taken the last messages meanwhile).
        yield posted.shift()!;
        continue;
      }
      const m = sent++;
      // Posted when its send-queue slot freed (the completion `depth` messages earlier), and
      // never before the message ahead of it.
      const postNs = Math.max(lastPost, j >= depth ? ends[j - depth]! : qpStart);
      lastPost = postNs;
      j++;
      const off = next(m % slots) * msgBytes;
      const s0 = b.addr + off;
      const first = Math.floor(s0 / PAGE_SIZE) * PAGE_SIZE;
      const last = Math.ceil((s0 + msgBytes) / PAGE_SIZE) * PAGE_SIZE;
      // Every page the message touches must be mapped, and not under migration: wait, fault
      // the missing span, and look again (the fault's own migrations are waited for too).
      for (let tries = 0; ; tries++) {
        if (sim.inflight.blocking(mm, first, last, n.nic.name))
          inFlightWaitNs += yield* sim.inflight.waitClear(mm, first, last, n.nic.name);
        let missing = -1;
        for (let a = first; a < last; a += PAGE_SIZE) {
          if (mr.kindAt(a, write) === 0) {
            missing = a;
            break;
          }
        }
        if (missing < 0) break;
        if (tries === 1000) throw new Error(`model bug: ${w.name} faulted 1000 times on one message`);
        const f0 = engine.now;
        faultStalls++;
        const r = yield* nicFault(sim, n, mr, missing, last, write);
        // An RDMA write the responder could not place was answered RNR NAK: the requester
        // retransmits after its QP's RNR timer, again until the fault is resolved.
        const rnr = v.rdmaRnrTimerNs;
        if (write && rnr > 0) {
          const stalled = engine.now - f0;
          const retry = Math.ceil(stalled / rnr) * rnr - stalled;
          if (retry > 0) yield retry;
        }
        faultStallNs += engine.now - f0;
        if (r < 0)
          throw configErrorAt(sim.config, ['workloads'], w.name, `the NIC could not map its buffer (${r})`);
      }
      const c = engine.spawn(
        complete(issue(m, s0, first, last), postNs, posted.at(-1) ?? null, ends),
        'message',
      );
      posted.push(c);
    }
    for (const c of posted) yield c;
    running--;
    if (running === 0) done.fire(undefined);
  }
  for (let i = 0; i < qps; i++) engine.spawn(qp(), `${w.name}-qp${i}`);
  yield done;
  latencies.sort((x, y) => x - y);
  const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  const elapsed = engine.now - start;
  metrics.rdmaFinished(w.name, {
    messages: latencies.length,
    bytes: latencies.length * msgBytes,
    gbps: elapsed > 0 ? (latencies.length * msgBytes) / elapsed : 0,
    latencyP50Ns: pct(0.5),
    latencyP90Ns: pct(0.9),
    latencyP99Ns: pct(0.99),
    latencyMaxNs: latencies.at(-1) ?? 0,
    faultStalls,
    faultStallNs,
    inFlightWaitNs,
    p2pBytes,
    hostBytes,
  });
  metrics.workloadStarted(w.name, start);
  metrics.workloadEnded(w.name, engine.now);
}
