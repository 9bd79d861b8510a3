/**
 * Links with shared bandwidth: PCIe lanes, NVLink, a NIC port, a memory bus.
 *
 * A `Link` is one direction of a physical link with a capacity in bytes per ns (numerically
 * GB/s: 1 byte/ns = 1e9 bytes/s). A bidirectional link is two Link objects (`duplexLink`). A
 * transfer crosses a path of links; all transfers in flight on a `Fabric` share each link
 * max-min fairly (progressive filling): repeatedly find the link whose remaining capacity split
 * evenly among its unassigned flows is smallest, give each of those flows that share, take it off
 * every link they cross, and go on until every flow has a rate. Rates are recomputed whenever a
 * flow starts or finishes, and flow progress is integrated between those instants, so completion
 * times are exact for piecewise-constant rates.
 *
 * The fabric keeps one completion timer: the earliest finish under the current rates. Each
 * recomputation bumps a generation counter and schedules a new timer; a timer whose generation
 * is stale does nothing when it fires. Per-link scratch state lives in typed arrays indexed by
 * the link's index within its fabric.
 */
import { type Engine, Signal, type Wait } from './engine.js';

/** What a finished transfer reports. */
export interface TransferResult {
  /** Bytes moved. */
  bytes: number;
  /** When `transfer` was called, ns. */
  startNs: number;
  /** When the last byte arrived, ns. */
  endNs: number;
}

/** A snapshot of one transfer in flight (see `Fabric.flows`). */
export interface FlowInfo {
  path: readonly Link[];
  bytes: number;
  /** Bytes left to move, as of the last `sync` or fabric event. */
  remaining: number;
  /** Current rate in bytes per ns. */
  rate: number;
  startNs: number;
}

/**
 * One direction of a link. Counters are kept by the fabric that carries it and are current as
 * of its last event or `Fabric.sync()`.
 */
export class Link {
  /** Bytes carried so far. */
  bytesCarried = 0;
  /** Time in ns during which at least one transfer was crossing the link. */
  busyNs = 0;
  /** Sum of the rates of the transfers crossing it now, bytes per ns (<= capacity). */
  load = 0;
  /** @internal The fabric that owns it (set at first use) and its index there. */
  fabric: Fabric | null = null;
  /** @internal */
  index = -1;

  /**
   * A link named `name` carrying up to `capacityBytesPerNs` bytes per ns (GB/s). Throws a model
   * bug when the capacity is not a positive finite number.
   */
  constructor(
    readonly name: string,
    readonly capacityBytesPerNs: number,
  ) {
    if (!(capacityBytesPerNs > 0 && capacityBytesPerNs < Infinity))
      throw new Error(`model bug: link ${name} needs a positive finite capacity, got ${capacityBytesPerNs}`);
  }
}

/**
 * The two directions of a bidirectional link of `capacityBytesPerNs` per direction, named
 * `${name}.fwd` and `${name}.rev`. Throws as `new Link` does.
 */
export function duplexLink(name: string, capacityBytesPerNs: number): [fwd: Link, rev: Link] {
  return [new Link(`${name}.fwd`, capacityBytesPerNs), new Link(`${name}.rev`, capacityBytesPerNs)];
}

/** A transfer in flight. */
class Flow {
  remaining: number;
  /** Bytes per ns; -1 while the allocation has not assigned it yet. */
  rate = 0;
  constructor(
    readonly links: readonly Link[],
    readonly path: Int32Array,
    readonly bytes: number,
    readonly startNs: number,
    readonly signal: Signal<TransferResult>,
  ) {
    this.remaining = bytes;
  }
}

/** A flow within this many ns of its end finishes with the one the timer was set for. */
const FINISH_EPS_NS = 1e-6;

/**
 * All transfers on a set of links, sharing bandwidth max-min fairly. A link belongs to the first
 * fabric that carries it.
 */
export class Fabric {
  private readonly links: Link[] = [];
  // Per link index: capacity, capacity left during allocation, flows not yet assigned during
  // allocation, flows crossing it, allocated load. A link index (`Link.index`, the entries of a
  // flow's `path`) is below `links.length`, and `register` grows these arrays before it adds a
  // link, so indexing them (and `links`) by one carries `!`: in range by construction.
  private cap = new Float64Array(16);
  private capLeft = new Float64Array(16);
  private unassigned = new Int32Array(16);
  private flowCount = new Int32Array(16);
  private load = new Float64Array(16);
  private active: Flow[] = [];
  private lastNs: number;
  private generation = 0;
  private nextFlow: Flow | null = null;
  private readonly onTimer = (gen: number): void => this.timer(gen);
  private readonly onStart = (f: Flow): void => this.addFlow(f);
  /** Transfers started (counting zero-byte and empty-path ones). */
  transfers = 0;
  /** Rate recomputations so far. */
  reallocations = 0;

  /** An empty fabric on `engine`. */
  constructor(readonly engine: Engine) {
    this.lastNs = engine.now;
  }

  /** Number of transfers moving data now. */
  get activeFlows(): number {
    return this.active.length;
  }

  /**
   * Starts moving `bytes` bytes across `path` (links in order; one direction each) and returns
   * a signal that fires with the result when the last byte arrives. With `latencyNs` the data
   * starts flowing (and competing for bandwidth) only after that delay. A zero-byte transfer, or
   * one with an empty path (a copy that crosses no modelled link), takes only its latency.
   * Throws a model bug on negative or non-finite bytes or latency, a link repeated in the path,
   * or a link owned by another fabric.
   */
  transfer(path: readonly Link[], bytes: number, latencyNs = 0): Signal<TransferResult> {
    if (!(bytes >= 0 && bytes < Infinity)) throw new Error(`model bug: transfer of ${bytes} bytes`);
    if (!(latencyNs >= 0 && latencyNs < Infinity))
      throw new Error(`model bug: transfer with latency ${latencyNs} ns`);
    const idx = new Int32Array(path.length);
    for (let i = 0; i < path.length; i++) {
      const link = path[i]!; // i < path.length
      idx[i] = this.register(link);
      for (let j = 0; j < i; j++)
        if (idx[j] === idx[i]) throw new Error(`model bug: link ${link.name} appears twice in a path`);
    }
    this.transfers++;
    const sig = new Signal<TransferResult>(this.engine);
    const startNs = this.engine.now;
    if (bytes === 0 || path.length === 0) {
      if (latencyNs === 0) sig.fire({ bytes, startNs, endNs: startNs });
      else this.engine.schedule(latencyNs, () => sig.fire({ bytes, startNs, endNs: this.engine.now }));
      return sig;
    }
    const f = new Flow(path.slice(), idx, bytes, startNs, sig);
    if (latencyNs > 0) this.engine.schedule(latencyNs, this.onStart, f);
    else this.addFlow(f);
    return sig;
  }

  /**
   * For a process: `const r = yield* fabric.transferGen(path, bytes)` moves the bytes and
   * returns the result. Throws as `transfer` does.
   */
  *transferGen(
    path: readonly Link[],
    bytes: number,
    latencyNs = 0,
  ): Generator<Wait, TransferResult, unknown> {
    return (yield this.transfer(path, bytes, latencyNs)) as TransferResult;
  }

  /** Brings flow progress and link counters up to the engine's current time. */
  sync(): void {
    const dt = this.engine.now - this.lastNs;
    this.lastNs = this.engine.now;
    if (!(dt > 0)) return;
    const links = this.links;
    for (const f of this.active) {
      let moved = f.rate * dt;
      if (moved > f.remaining) moved = f.remaining;
      f.remaining -= moved;
      const path = f.path;
      for (let j = 0; j < path.length; j++) links[path[j]!]!.bytesCarried += moved;
    }
    const count = this.flowCount;
    for (let i = 0; i < links.length; i++) if (count[i]! > 0) links[i]!.busyNs += dt;
  }

  /** A snapshot of the transfers moving data now, in start order (after a `sync`). */
  flows(): FlowInfo[] {
    this.sync();
    return this.active.map((f) => ({
      path: f.links,
      bytes: f.bytes,
      remaining: f.remaining,
      rate: f.rate,
      startNs: f.startNs,
    }));
  }

  private register(link: Link): number {
    if (link.fabric === this) return link.index;
    if (link.fabric !== null) throw new Error(`model bug: link ${link.name} belongs to another fabric`);
    const i = this.links.length;
    if (i === this.cap.length) this.grow();
    link.fabric = this;
    link.index = i;
    this.links.push(link);
    this.cap[i] = link.capacityBytesPerNs;
    return i;
  }

  private grow(): void {
    const n = this.cap.length * 2;
    const f64 = (a: Float64Array) => {
      const b = new Float64Array(n);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array) => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.cap = f64(this.cap);
    this.capLeft = f64(this.capLeft);
    this.load = f64(this.load);
    this.unassigned = i32(this.unassigned);
    this.flowCount = i32(this.flowCount);
  }

  private addFlow(f: Flow): void {
    this.sync();
    this.active.push(f);
    const path = f.path;
    for (let j = 0; j < path.length; j++) this.flowCount[path[j]!]!++;
    this.reallocate();
  }

  private timer(gen: number): void {
    if (gen !== this.generation) return; // rates changed since this timer was set
    this.sync();
    const now = this.engine.now;
    const links = this.links;
    const done: Flow[] = [];
    let keep = 0;
    for (const f of this.active) {
      if (
        f === this.nextFlow ||
        f.remaining <= f.rate * FINISH_EPS_NS ||
        now + f.remaining / f.rate === now
      ) {
        // Residual rounding error belongs to the links too, so they carry exactly f.bytes.
        const path = f.path;
        for (let j = 0; j < path.length; j++) {
          const l = path[j]!;
          links[l]!.bytesCarried += f.remaining;
          this.flowCount[l]!--;
        }
        f.remaining = 0;
        done.push(f);
      } else {
        this.active[keep++] = f;
      }
    }
    this.active.length = keep;
    this.reallocate();
    for (const f of done) f.signal.fire({ bytes: f.bytes, startNs: f.startNs, endNs: now });
  }

  /** Max-min fair rates for the active flows, then the timer for the earliest finish. */
  private reallocate(): void {
    this.reallocations++;
    const links = this.links;
    const nl = links.length;
    const cap = this.cap;
    const capLeft = this.capLeft;
    const unassigned = this.unassigned;
    const count = this.flowCount;
    const load = this.load;
    for (let i = 0; i < nl; i++) {
      capLeft[i] = cap[i]!;
      unassigned[i] = count[i]!;
      load[i] = 0;
    }
    const flows = this.active;
    for (const f of flows) f.rate = -1;
    let left = flows.length;
    while (left > 0) {
      // The bottleneck: the smallest even split of what is left on a link.
      let share = Infinity;
      let bottleneck = -1;
      for (let i = 0; i < nl; i++) {
        const u = unassigned[i]!;
        if (u > 0) {
          const s = capLeft[i]! / u;
          if (s < share) {
            share = s;
            bottleneck = i;
          }
        }
      }
      if (bottleneck < 0 || !(share > 0))
        throw new Error('model bug: max-min allocation found no positive share');
      for (const f of flows) {
        if (f.rate >= 0) continue;
        const path = f.path;
        let crosses = false;
        for (let j = 0; j < path.length; j++) {
          if (path[j] === bottleneck) {
            crosses = true;
            break;
          }
        }
        if (!crosses) continue;
        f.rate = share;
        left--;
        for (let j = 0; j < path.length; j++) {
          const l = path[j]!;
          capLeft[l]! -= share;
          unassigned[l]!--;
          load[l]! += share;
        }
      }
    }
    for (let i = 0; i < nl; i++) links[i]!.load = load[i]!;
    // One live timer: the earliest finish under the new rates.
    const gen = ++this.generation;
    let first: Flow | null = null;
    let tFirst = Infinity;
    for (const f of flows) {
      const t = f.remaining / f.rate;
      if (t < tFirst) {
        tFirst = t;
        first = f;
      }
    }
    this.nextFlow = first;
    if (first !== null) this.engine.schedule(tFirst, this.onTimer, gen);
  }
}
