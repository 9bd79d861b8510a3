/**
 * Servers: a pool of identical channels that processes occupy for a time, FIFO when all are
 * busy. CPU cores (`CpuPool`) and DMA copy engines (`CopyEngine`) are both servers; links with
 * shared bandwidth are in links.ts.
 *
 *   function* fault(cpu: CpuPool) {
 *     yield* cpu.run(2_000);            // 2 us of one core, queued behind earlier requests
 *     const core = yield* cpu.acquire(); // or hold a core across other waits
 *     yield* fabric.transferGen(path, bytes);
 *     cpu.release(core);
 *   }
 */
import type { Engine, Process, Wait, Waitable } from './engine.js';
import { Fifo } from './fifo.js';

/**
 * A FIFO server with `channels` identical channels. A request takes the lowest-numbered free
 * channel; when none is free it queues, and a released channel is handed straight to the
 * longest-waiting request (it never goes back to the pool in between, so nothing can overtake
 * the queue). Tracks busy time per channel for utilisation.
 */
export class Server {
  /** Busy time per channel in ns, counting finished holds only (see `busyTime`). */
  readonly busyNs: Float64Array;
  /** Start time of the current hold per channel, or -1 when the channel is free. */
  private readonly busySince: Float64Array;
  private readonly queue = new Fifo<Process>();
  private readonly queueWaitable: Waitable;
  private freeCount: number;
  /** Holds released so far. */
  completed = 0;
  /** Total time requests spent queued, in ns (requests served at once add 0). */
  waitNs = 0;
  /** Longest the queue has been. */
  maxQueue = 0;

  /**
   * A server on `engine` with `channels` channels (a positive integer) named `name`. Throws a
   * model bug on a bad channel count.
   */
  constructor(
    readonly engine: Engine,
    readonly channels: number,
    readonly name: string,
  ) {
    if (!Number.isInteger(channels) || channels < 1)
      throw new Error(`model bug: ${name} needs a positive integer number of channels, got ${channels}`);
    this.busyNs = new Float64Array(channels);
    this.busySince = new Float64Array(channels).fill(-1);
    this.freeCount = channels;
    this.queueWaitable = {
      subscribe: (proc: Process) => {
        this.queue.push(proc);
        if (this.queue.length > this.maxQueue) this.maxQueue = this.queue.length;
      },
    };
  }

  /** Channels busy now. */
  get busy(): number {
    return this.channels - this.freeCount;
  }

  /** Requests queued now. */
  get queued(): number {
    return this.queue.length;
  }

  /** Takes a free channel now and returns its index, or -1 when all are busy (never queues). */
  tryAcquire(): number {
    if (this.freeCount === 0) return -1;
    const since = this.busySince;
    for (let i = 0; i < this.channels; i++) {
      if (since[i]! < 0) {
        since[i] = this.engine.now;
        this.freeCount--;
        return i;
      }
    }
    throw new Error(`model bug: ${this.name} free count disagrees with its channels`);
  }

  /**
   * For a process (`const ch = yield* server.acquire()`): takes a channel, waiting in FIFO order
   * while all are busy, and returns its index. The caller must `release` it.
   */
  *acquire(): Generator<Wait, number, unknown> {
    const ch = this.tryAcquire();
    if (ch >= 0) return ch;
    const t0 = this.engine.now;
    const got = (yield this.queueWaitable) as number;
    this.waitNs += this.engine.now - t0;
    return got;
  }

  /**
   * Releases channel `ch`, handing it to the longest-waiting request if any. Throws a model bug
   * when the channel is not held.
   */
  release(ch: number): void {
    const since = this.busySince;
    // Undefined for anything but a channel index (out of range, fractional, NaN); -1 when free.
    const start = since[ch];
    if (start === undefined || !(start >= 0))
      throw new Error(`model bug: ${this.name} released channel ${ch}, which is not held`);
    const now = this.engine.now;
    this.busyNs[ch]! += now - start; // busyNs has one entry per channel, as busySince
    this.completed++;
    const next = this.queue.shift();
    if (next === undefined) {
      since[ch] = -1;
      this.freeCount++;
    } else {
      since[ch] = now;
      this.engine.wake(next, ch);
    }
  }

  /**
   * For a process (`yield* server.run(ns)`): occupies one channel for `ns` ns, queueing first
   * if all are busy. Throws a model bug on a negative or non-finite duration.
   */
  *run(ns: number): Generator<Wait, void, unknown> {
    if (!(ns >= 0 && ns < Infinity)) throw new Error(`model bug: ${this.name} asked to run for ${ns} ns`);
    const ch = yield* this.acquire();
    if (ns > 0) yield ns;
    this.release(ch);
  }

  /**
   * Busy time of channel `ch` in ns up to now, including a hold in progress. Throws a model bug
   * when `ch` is not a channel index.
   */
  busyTime(ch: number): number {
    const since = this.busySince[ch];
    const done = this.busyNs[ch];
    if (since === undefined || done === undefined)
      throw new Error(`model bug: ${this.name} has no channel ${ch}`);
    return done + (since >= 0 ? this.engine.now - since : 0);
  }

  /** Mean fraction of channel time busy over [0, now]; 0 at time 0. */
  utilisation(): number {
    const now = this.engine.now;
    if (now === 0) return 0;
    let busy = 0;
    for (let i = 0; i < this.channels; i++) busy += this.busyTime(i);
    return busy / (this.channels * now);
  }
}

/** CPU cores as a FIFO server: `yield* cpu.run(ns)` runs ns of work on one core. */
export class CpuPool extends Server {
  /** A pool of `cores` cores named `name`; throws a model bug when cores is not a positive integer. */
  constructor(engine: Engine, cores: number, name = 'cpu') {
    super(engine, cores, name);
  }

  /** Number of cores. */
  get cores(): number {
    return this.channels;
  }
}

/**
 * A device's DMA copy engines as a FIFO server: a copy holds one engine for its duration. For
 * copies whose time depends on bandwidth shared with other traffic, hold an engine across a
 * `Fabric` transfer (`acquire`, `yield* fabric.transferGen(...)`, `release`).
 */
export class CopyEngine extends Server {
  /** `channels` copy engines named `name`; throws a model bug when channels is not a positive integer. */
  constructor(engine: Engine, channels: number, name = 'copy') {
    super(engine, channels, name);
  }
}
