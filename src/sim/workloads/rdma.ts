/**
 * An RDMA workload: messages through an ODP memory region of a NIC, like perftest's
 * ib_write_bw / ib_read_bw with -s (messageSize), -n (messages) and -t (queueDepth). Each
 * queue slot is a lane that sends one message at a time: a fault for the first page the MR
 * does not translate (nic-fault.ts), then one DMA per run of pages that share a path. A write
 * stores a tag in the pages it reaches, so the oracle can check the data.
 *
 *   workloads: [{ kind: 'rdma', name: 'r0', nic: 'nic0', buffer: 'b', op: 'write',
 *                 pattern: 'sequential', messageSize: 65536, messages: 1000, queueDepth: 4 }]
 *
 * Linux counterpart: an RDMA consumer posting work requests on an ODP MR
 * (drivers/infiniband/hw/mlx5/odp.c handles the page faults). Deliberate difference: there is
 * no remote peer; a message is the local DMA of its bytes.
 */
import { PAGE_SIZE } from '../../kernel/constants.js';
import type { SimAgent, SimContext } from '../agent.js';
import { configErrorAt, type RdmaWorkload } from '../config.js';
import type { Wait } from '../engine.js';
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
  const msgBytes = Math.min(w.messageSize, b.bytes);
  const slots = Math.max(1, Math.floor(Math.min(w.bytes ?? b.bytes, b.bytes) / msgBytes));
  const next = pageIndexes(w.pattern, slots, 1, sim.rng.fork(w.name));
  const write = w.op === 'write';
  const latencies: number[] = [];
  const start = engine.now;
  let sent = 0;
  const qd = Math.max(1, w.queueDepth ?? 1);
  const done = engine.signal<void>();
  let running = qd;
  function* lane(): Generator<Wait, void, unknown> {
    while (sent < w.messages) {
      const m = sent++;
      const off = next(m % slots) * msgBytes;
      const t0 = engine.now;
      const s0 = b.addr + off;
      const first = Math.floor(s0 / PAGE_SIZE) * PAGE_SIZE;
      const last = Math.ceil((s0 + msgBytes) / PAGE_SIZE) * PAGE_SIZE;
      // Every page the message touches must be translated; fault the missing span.
      let missing = -1;
      for (let a = first; a < last; a += PAGE_SIZE) {
        if (mr.kindAt(a, write) === 0) {
          missing = a;
          break;
        }
      }
      if (missing >= 0) {
        const r = yield* nicFault(sim, n, mr, missing, last, write);
        if (r < 0)
          throw configErrorAt(sim.config, ['workloads'], w.name, `the NIC could not map its buffer (${r})`);
      }
      // The data: one DMA per page run that shares a path.
      const transfers: ReturnType<typeof engine.spawn>[] = [];
      for (let a = first; a < last; ) {
        const e = mr.translate(a, write);
        if (!e) break;
        const path = nicPath(sim, n, e, write);
        let end = a + PAGE_SIZE;
        while (end < last && mr.kindAt(end, write) === e.kind) end += PAGE_SIZE;
        const bytes = Math.min(end, s0 + msgBytes) - Math.max(a, s0);
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
        transfers.push(
          engine.spawn(
            (function* () {
              yield fabric.transfer(path, bytes, v.dmaSetupLatencyNs);
            })(),
            'dma',
          ),
        );
        a = end;
      }
      for (const t of transfers) yield t;
      latencies.push(engine.now - t0);
      metrics.event({ t: t0, kind: 'message', workload: w.name, bytes: msgBytes, endNs: engine.now });
    }
    running--;
    if (running === 0) done.fire(undefined);
  }
  for (let i = 0; i < qd; i++) engine.spawn(lane(), `${w.name}-qp${i}`);
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
  });
  metrics.workloadStarted(w.name, start);
  metrics.workloadEnded(w.name, engine.now);
}
