/**
 * The discrete-event engine: simulated time, an event queue, and processes written as
 * generators.
 *
 * Time is a number of nanoseconds (a double: exact for integers up to 2^53 ns, about 104 days).
 * Events are ordered by (time, sequence number); the sequence number is the order in which they
 * were scheduled, so events at equal times run first-in first-out and a run is a pure function
 * of its inputs and seeds.
 *
 * The queue is a binary heap over parallel typed arrays (time, sequence, slot). An event's
 * payload (kind, target, value) sits in slot tables that never move while the heap reorders, so
 * scheduling an event allocates nothing once the arrays have grown.
 *
 * A process is a generator that yields what it waits for:
 *
 *   function* worker(engine: Engine, done: Signal<number>) {
 *     yield 100;                         // sleep 100 ns
 *     const v = (yield done) as number;  // wait until `done` fires; get its value
 *     yield* cpu.run(v);                 // compose with resources (resources.ts)
 *   }
 *   engine.spawn(worker(engine, done), 'worker');
 *
 * Wake-ups always go through the queue at the current time, never by a nested call, so the
 * order of everything that happens "at the same time" is the scheduling order.
 */
import { Fifo } from './fifo.js';

export { Rng } from './rng.js';

/** What a process may yield: a delay in ns (sleep), or something to wait on. */
export type Wait = number | Waitable;

/**
 * Something a process can yield to wait on (Signal, Condition, Process, or a resource's queue).
 * When a process yields it, the engine calls `subscribe(proc)`; the implementation must later
 * call `engine.wake(proc, value)` exactly once (or never, if the wait is never satisfied), and
 * `value` becomes the result of the `yield` expression.
 */
export interface Waitable {
  /** Registers `proc`, which has just yielded this object and is now waiting on it. */
  subscribe(proc: Process): void;
}

/** Observer of every event the engine runs (traces, determinism tests). */
export interface EngineObserver {
  /**
   * Called just before an event runs, with its time (ns), its sequence number, and a label:
   * the process name for a process resumption, the function name for a callback.
   */
  onEvent?(timeNs: number, seq: number, label: string): void;
}

const K_CALL = 0;
const K_RESUME = 1;

const P_READY = 0;
const P_RUNNING = 1;
const P_WAITING = 2;
const P_DONE = 3;

/** A process: a generator driven by the engine. Create one with `Engine.spawn`. */
export class Process implements Waitable {
  /** @internal 0 ready (an event will resume it), 1 running, 2 waiting on a Waitable, 3 done. */
  state = P_READY;
  private finishedSignal: Signal<void> | null = null;

  /** Use `Engine.spawn`. */
  constructor(
    readonly engine: Engine,
    /** The generator this process runs. */
    readonly gen: Generator<Wait, unknown, unknown>,
    /** A label for traces and error messages. */
    readonly name: string,
    /** A number unique within the engine, in spawn order from 0. */
    readonly id: number,
  ) {}

  /** True once the generator has returned. */
  get done(): boolean {
    return this.state === P_DONE;
  }

  /** A signal fired (with undefined) when the process finishes; yield it, or the process, to join. */
  get finished(): Signal<void> {
    if (this.finishedSignal === null) {
      this.finishedSignal = new Signal<void>(this.engine);
      if (this.state === P_DONE) this.finishedSignal.fire(undefined);
    }
    return this.finishedSignal;
  }

  /** Waitable: a process that yields another process resumes when that one finishes. */
  subscribe(proc: Process): void {
    this.finished.subscribe(proc);
  }

  /** @internal Called by the engine when the generator returns. */
  finish(): void {
    this.state = P_DONE;
    if (this.finishedSignal !== null) this.finishedSignal.fire(undefined);
  }
}

/**
 * The event loop. One engine is one simulated world: everything scheduled on it shares its
 * clock. Not re-entrant: `run` must not be called from inside an event.
 */
export class Engine {
  private _now = 0;
  /** Total events run over the engine's life (including stale timers that models ignore). */
  eventsProcessed = 0;
  /** The process whose generator is running right now, or null (in a callback, or outside run). */
  current: Process | null = null;
  /** Receives every event before it runs; null for none (the default, and the fast path). */
  observer: EngineObserver | null = null;

  // The heap: entry i has time times[i], sequence seqs[i], payload slot ids[i]. Indexes into
  // these arrays are below `size` (or `free`'s below `freeTop`), which never exceeds their length
  // (`push` grows them first), so the reads below carry `!`: in range by construction, with no
  // check in the event loop.
  private times: Float64Array;
  private seqs: Float64Array;
  private ids: Int32Array;
  private size = 0;
  private nextSeq = 0;
  // Payload slots, indexed by slot id; a freed slot id goes on the `free` stack.
  private kinds: Uint8Array;
  private targets: unknown[] = [];
  private values: unknown[] = [];
  private free: Int32Array;
  private freeTop = 0;

  private running = false;
  private stopped = false;
  private nextProcessId = 0;

  /** An engine at time 0 with an empty queue; `initialCapacity` events fit before it grows. */
  constructor(initialCapacity = 1024) {
    const cap = Math.max(16, initialCapacity | 0);
    this.times = new Float64Array(cap);
    this.seqs = new Float64Array(cap);
    this.ids = new Int32Array(cap);
    this.kinds = new Uint8Array(cap);
    this.free = new Int32Array(cap);
  }

  /** Simulated time in ns. Only the engine moves it, forward, as it runs events. */
  get now(): number {
    return this._now;
  }

  /** Number of events in the queue (including stale timers not yet reached). */
  get pending(): number {
    return this.size;
  }

  /** Time of the next event in ns, or Infinity when the queue is empty. */
  get nextEventTime(): number {
    return this.size > 0 ? this.times[0]! : Infinity;
  }

  /**
   * Calls `fn(arg)` after `delayNs` ns of simulated time. Events at the same time run in the
   * order they were scheduled. Throws 'model bug: cannot schedule in the past' on a negative
   * (or NaN) delay, and on a non-finite one.
   */
  schedule<A = undefined>(delayNs: number, fn: (arg: A) => void, arg?: A): void {
    if (!(delayNs >= 0)) throw new Error('model bug: cannot schedule in the past');
    this.push(this._now + delayNs, K_CALL, fn, arg);
  }

  /**
   * Calls `fn(arg)` at absolute time `timeNs`. Throws 'model bug: cannot schedule in the past'
   * when timeNs < now (or NaN), and on a non-finite time.
   */
  at<A = undefined>(timeNs: number, fn: (arg: A) => void, arg?: A): void {
    if (!(timeNs >= this._now)) throw new Error('model bug: cannot schedule in the past');
    this.push(timeNs, K_CALL, fn, arg);
  }

  /**
   * Starts a process running `gen`. Its first step runs at the current time, after the events
   * already queued for this time (never synchronously inside spawn). Returns the Process,
   * which can be yielded by another process to wait for it to finish.
   */
  spawn(gen: Generator<Wait, unknown, unknown>, name?: string): Process {
    const id = this.nextProcessId++;
    const p = new Process(this, gen, name ?? `process${id}`, id);
    this.push(this._now, K_RESUME, p, undefined);
    return p;
  }

  /**
   * Resumes `proc`, which is waiting on a Waitable, at the current time (through the queue);
   * `value` becomes the result of its `yield`. For Waitable implementations. Throws a model bug
   * when the process is not waiting (a double wake-up).
   */
  wake(proc: Process, value?: unknown): void {
    if (proc.state !== P_WAITING)
      throw new Error(`model bug: wake of process ${proc.name}, which is not waiting on anything`);
    proc.state = P_READY;
    this.push(this._now, K_RESUME, proc, value);
  }

  /** A new one-shot Signal on this engine. */
  signal<T = void>(): Signal<T> {
    return new Signal<T>(this);
  }

  /**
   * Runs events in (time, sequence) order until the queue is empty, the next event lies after
   * `untilNs`, or `stop()` is called. Events at exactly `untilNs` run. Unless stopped, the clock
   * then moves to `untilNs` when that is finite (so a later `schedule` counts from there).
   * Returns the number of events run by this call. Throws a model bug when called from inside an
   * event, or with untilNs < now; an exception thrown by an event propagates and leaves the
   * engine usable (that event is consumed).
   */
  run(untilNs = Infinity): number {
    if (this.running) throw new Error('model bug: Engine.run called from inside an event');
    if (!(untilNs >= this._now)) throw new Error('model bug: cannot run until a time in the past');
    this.running = true;
    this.stopped = false;
    const start = this.eventsProcessed;
    try {
      while (this.size > 0) {
        const t = this.times[0]!;
        if (t > untilNs) break;
        const seq = this.seqs[0]!;
        const slot = this.ids[0]!;
        this.popRoot();
        this._now = t;
        const kind = this.kinds[slot]!;
        const target = this.targets[slot];
        const value = this.values[slot];
        this.targets[slot] = undefined;
        this.values[slot] = undefined;
        this.free[this.freeTop++] = slot;
        this.eventsProcessed++;
        if (this.observer !== null) this.notifyObserver(t, seq, kind, target);
        if (kind === K_RESUME) this.step(target as Process, value);
        else (target as (v: unknown) => void)(value);
        if (this.stopped) break;
      }
    } finally {
      this.running = false;
    }
    if (!this.stopped && untilNs !== Infinity && this._now < untilNs) this._now = untilNs;
    return this.eventsProcessed - start;
  }

  /** Makes `run` return after the event that is running now. Harmless outside run. */
  stop(): void {
    this.stopped = true;
  }

  private notifyObserver(t: number, seq: number, kind: number, target: unknown): void {
    const label = kind === K_RESUME ? (target as Process).name : (target as { name: string }).name;
    this.observer?.onEvent?.(t, seq, label);
  }

  /** Advances `p` to its next yield and files what it waits for. */
  private step(p: Process, value: unknown): void {
    p.state = P_RUNNING;
    this.current = p;
    let r: IteratorResult<Wait, unknown>;
    try {
      r = p.gen.next(value);
    } catch (e) {
      p.state = P_DONE;
      throw e;
    } finally {
      this.current = null;
    }
    if (r.done === true) {
      p.finish();
      return;
    }
    const w = r.value;
    if (typeof w === 'number') {
      if (!(w >= 0)) throw new Error(`model bug: process ${p.name} slept for ${w} ns`);
      p.state = P_READY;
      this.push(this._now + w, K_RESUME, p, undefined);
    } else if (w !== null && typeof w === 'object' && typeof w.subscribe === 'function') {
      p.state = P_WAITING;
      w.subscribe(p);
    } else {
      p.state = P_DONE;
      throw new Error(`model bug: process ${p.name} yielded ${String(w)}, not a delay or a Waitable`);
    }
  }

  private push(t: number, kind: number, target: unknown, value: unknown): void {
    if (!(t < Infinity)) throw new Error(`model bug: event time must be finite, got ${t}`);
    const n = this.size;
    if (n === this.times.length) this.grow();
    // Slots in use == heap size, so with no freed slot the next fresh one is `n`.
    const slot = this.freeTop > 0 ? this.free[--this.freeTop]! : n;
    this.kinds[slot] = kind;
    if (slot === this.targets.length) {
      this.targets.push(target);
      this.values.push(value);
    } else {
      this.targets[slot] = target;
      this.values[slot] = value;
    }
    const seq = this.nextSeq++;
    const times = this.times;
    const seqs = this.seqs;
    const ids = this.ids;
    // Sift up with a hole. `seq` exceeds every queued sequence, so a parent at an equal time
    // always stays above: compare times only.
    let i = n;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = times[p]!;
      if (pt <= t) break;
      times[i] = pt;
      seqs[i] = seqs[p]!;
      ids[i] = ids[p]!;
      i = p;
    }
    times[i] = t;
    seqs[i] = seq;
    ids[i] = slot;
    this.size = n + 1;
  }

  /** Removes the root; the caller has read it. */
  private popRoot(): void {
    const n = --this.size;
    if (n === 0) return;
    const times = this.times;
    const seqs = this.seqs;
    const ids = this.ids;
    const lt = times[n]!;
    const ls = seqs[n]!;
    const lid = ids[n]!;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      let ct = times[c]!;
      let cs = seqs[c]!;
      const r = c + 1;
      if (r < n) {
        const rt = times[r]!;
        if (rt < ct || (rt === ct && seqs[r]! < cs)) {
          c = r;
          ct = rt;
          cs = seqs[r]!;
        }
      }
      if (lt < ct || (lt === ct && ls < cs)) break;
      times[i] = ct;
      seqs[i] = cs;
      ids[i] = ids[c]!;
      i = c;
    }
    times[i] = lt;
    seqs[i] = ls;
    ids[i] = lid;
  }

  private grow(): void {
    const cap = this.times.length * 2;
    const t = new Float64Array(cap);
    t.set(this.times);
    this.times = t;
    const s = new Float64Array(cap);
    s.set(this.seqs);
    this.seqs = s;
    const ids = new Int32Array(cap);
    ids.set(this.ids);
    this.ids = ids;
    const k = new Uint8Array(cap);
    k.set(this.kinds);
    this.kinds = k;
    const f = new Int32Array(cap);
    f.set(this.free);
    this.free = f;
  }
}

/**
 * A one-shot event carrying a value of type T. Processes that yield it (before or after it
 * fires) resume with the value; callbacks registered with `on` are called with it. Every
 * resumption and callback goes through the engine's queue at the firing time, in the order the
 * waiters registered.
 */
export class Signal<T = void> implements Waitable {
  private _fired = false;
  private _value: T | undefined = undefined;
  private waiters: (Process | ((v: T) => void))[] | null = null;

  /** An unfired signal on `engine`. */
  constructor(readonly engine: Engine) {}

  /** True once `fire` has been called. */
  get fired(): boolean {
    return this._fired;
  }

  /** The value it fired with; undefined before it fires. */
  get value(): T | undefined {
    return this._value;
  }

  /** Fires the signal with `value`, waking every waiter at the current time. Throws if fired twice. */
  fire(value: T): void {
    if (this._fired) throw new Error('model bug: signal fired twice');
    this._fired = true;
    this._value = value;
    const ws = this.waiters;
    if (ws === null) return;
    this.waiters = null;
    for (const w of ws) this.deliver(w, value);
  }

  /** Calls `fn(value)` when the signal fires (through the queue; at the current time if it has). */
  on(fn: (v: T) => void): void {
    if (this._fired) this.engine.schedule(0, fn, this._value as T);
    else (this.waiters ??= []).push(fn);
  }

  /** Waitable: resumes `proc` with the value when the signal fires (now, if it has). */
  subscribe(proc: Process): void {
    if (this._fired) this.engine.wake(proc, this._value);
    else (this.waiters ??= []).push(proc);
  }

  private deliver(w: Process | ((v: T) => void), value: T): void {
    if (w instanceof Process) this.engine.wake(w, value);
    else this.engine.schedule(0, w, value);
  }
}

/**
 * A reusable wait queue (the kernel's wait_queue_head): processes that yield it wait until a
 * notify; `notifyOne` wakes the longest waiter, `notifyAll` every current waiter. A notify with
 * no waiter is lost (there is no memory, unlike Signal).
 */
export class Condition<T = void> implements Waitable {
  private readonly waiters = new Fifo<Process>();

  /** A condition on `engine` with no waiters. */
  constructor(readonly engine: Engine) {}

  /** Number of processes waiting. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Wakes the longest-waiting process with `value`; returns false when none waits. */
  notifyOne(value: T): boolean {
    const p = this.waiters.shift();
    if (p === undefined) return false;
    this.engine.wake(p, value);
    return true;
  }

  /** Wakes every process waiting now, in FIFO order, with `value`; returns how many. */
  notifyAll(value: T): number {
    let n = 0;
    while (this.notifyOne(value)) n++;
    return n;
  }

  /** Waitable: queues `proc` until a notify. */
  subscribe(proc: Process): void {
    this.waiters.push(proc);
  }
}
