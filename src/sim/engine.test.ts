import { describe, expect, it } from 'vitest';
import { Condition, Engine, type Process, Signal, type Wait } from './engine.js';
import { Rng } from './rng.js';

describe('Engine: callbacks and ordering', () => {
  it('runs events in time order and equal times in scheduling order', () => {
    const e = new Engine();
    const log: string[] = [];
    e.schedule(30, () => log.push(`c@${e.now}`));
    e.schedule(10, () => log.push(`a@${e.now}`));
    e.at(20, () => log.push(`b1@${e.now}`));
    e.schedule(20, () => log.push(`b2@${e.now}`));
    e.at(20, () => {
      log.push(`b3@${e.now}`);
      e.schedule(0, () => log.push(`b5@${e.now}`)); // same time, queued after b4
    });
    e.schedule(20, () => log.push(`b4@${e.now}`));
    expect(e.run()).toBe(7);
    expect(log).toEqual(['a@10', 'b1@20', 'b2@20', 'b3@20', 'b4@20', 'b5@20', 'c@30']);
    expect(e.eventsProcessed).toBe(7);
    expect(e.pending).toBe(0);
  });

  it('passes the argument to the callback', () => {
    const e = new Engine();
    const got: number[] = [];
    const fn = (x: number) => got.push(x);
    e.schedule(5, fn, 1);
    e.schedule(5, fn, 2);
    e.run();
    expect(got).toEqual([1, 2]);
  });

  it('refuses to schedule in the past or at a non-finite time', () => {
    const e = new Engine();
    e.schedule(10, () => {});
    e.run();
    expect(() => e.schedule(-1, () => {})).toThrow('model bug: cannot schedule in the past');
    expect(() => e.at(9, () => {})).toThrow('model bug: cannot schedule in the past');
    expect(() => e.schedule(Number.NaN, () => {})).toThrow('model bug: cannot schedule in the past');
    expect(() => e.schedule(Infinity, () => {})).toThrow(/must be finite/);
    expect(() => e.run(5)).toThrow(/in the past/);
  });

  it('run(until) runs events at or before until, then moves the clock to until', () => {
    const e = new Engine();
    const log: number[] = [];
    for (const t of [5, 10, 15]) e.at(t, () => log.push(e.now));
    expect(e.run(10)).toBe(2);
    expect(log).toEqual([5, 10]);
    expect(e.now).toBe(10);
    expect(e.nextEventTime).toBe(15);
    expect(e.run(12)).toBe(0);
    expect(e.now).toBe(12);
    e.schedule(1, () => log.push(e.now)); // counts from 12
    expect(e.run()).toBe(2);
    expect(log).toEqual([5, 10, 13, 15]);
    expect(e.now).toBe(15);
    expect(e.eventsProcessed).toBe(4);
  });

  it('stop() returns from run after the current event and keeps the rest queued', () => {
    const e = new Engine();
    const log: number[] = [];
    e.at(1, () => log.push(1));
    e.at(2, () => {
      log.push(2);
      e.stop();
    });
    e.at(3, () => log.push(3));
    expect(e.run(100)).toBe(2);
    expect(e.now).toBe(2); // not moved to 100 when stopped
    expect(e.run()).toBe(1);
    expect(log).toEqual([1, 2, 3]);
  });

  it('is not re-entrant and survives an exception thrown by an event', () => {
    const e = new Engine();
    e.at(1, () => e.run());
    expect(() => e.run()).toThrow(/from inside an event/);
    e.at(2, () => {
      throw new Error('boom');
    });
    const after: number[] = [];
    e.at(3, () => after.push(e.now));
    expect(() => e.run()).toThrow('boom');
    expect(e.now).toBe(2);
    e.run();
    expect(after).toEqual([3]);
  });

  it('keeps (time, seq) order through heap growth with many random events', () => {
    const e = new Engine(16);
    const rng = new Rng(7);
    const want: [number, number][] = [];
    const got: [number, number][] = [];
    for (let i = 0; i < 5000; i++) {
      const t = rng.int(0, 300); // many ties
      want.push([t, i]);
      e.at(t, (k: number) => got.push([e.now, k]), i);
    }
    want.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    e.run();
    expect(got).toEqual(want);
  });

  it('interleaves pushes and pops correctly (hold model against a sorted reference)', () => {
    const e = new Engine(16);
    const rng = new Rng(11);
    const seen: number[] = [];
    let n = 0;
    const tick = () => {
      seen.push(e.now);
      if (n++ < 20_000) {
        e.schedule(rng.int(0, 50), tick);
        if (rng.int(0, 3) === 0) e.schedule(rng.int(0, 50), tick);
      }
    };
    for (let i = 0; i < 100; i++) e.schedule(rng.int(0, 50), tick);
    e.run();
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]!);
    expect(seen.length).toBe(e.eventsProcessed);
  });
});

describe('Engine: processes', () => {
  it('runs processes that sleep, interleaved by time and then by spawn order', () => {
    const e = new Engine();
    const log: string[] = [];
    function* p(name: string, delays: number[]): Generator<Wait, void, unknown> {
      log.push(`${name} start@${e.now}`);
      for (const d of delays) {
        yield d;
        log.push(`${name}@${e.now}`);
      }
    }
    e.spawn(p('a', [10, 10]), 'a');
    e.spawn(p('b', [5, 15, 0]), 'b');
    expect(log).toEqual([]); // spawn never runs a step synchronously
    e.run();
    // b filed its t=20 wake-up at t=5, before a filed its own at t=10: sequence order breaks the tie.
    expect(log).toEqual(['a start@0', 'b start@0', 'b@5', 'a@10', 'b@20', 'a@20', 'b@20']);
  });

  it('resumes waiters of a signal in FIFO order, through the queue, with the fired value', () => {
    const e = new Engine();
    const sig = new Signal<string>(e);
    const log: string[] = [];
    function* waiter(name: string): Generator<Wait, void, unknown> {
      const v = yield sig;
      log.push(`${name} got ${v}@${e.now}`);
    }
    e.spawn(waiter('w1'));
    e.spawn(waiter('w2'));
    e.spawn(
      (function* (): Generator<Wait, void, unknown> {
        yield 7;
        sig.fire('x');
        log.push(`fired@${e.now}`); // before any waiter resumes: no nested call
      })(),
    );
    e.schedule(0, () => sig.on((v) => log.push(`callback ${v}@${e.now}`)));
    e.spawn(waiter('w3')); // subscribes after the callback
    e.run();
    expect(log).toEqual(['fired@7', 'w1 got x@7', 'w2 got x@7', 'callback x@7', 'w3 got x@7']);
    expect(sig.fired).toBe(true);
    expect(sig.value).toBe('x');
  });

  it('a fired signal resumes a late waiter at once with its value; firing twice throws', () => {
    const e = new Engine();
    const sig = e.signal<number>();
    sig.fire(42);
    expect(() => sig.fire(1)).toThrow('model bug: signal fired twice');
    let got: unknown;
    e.spawn(
      (function* (): Generator<Wait, void, unknown> {
        yield 3;
        got = yield sig;
      })(),
    );
    const late: number[] = [];
    sig.on((v) => late.push(v));
    e.run();
    expect(got).toBe(42);
    expect(late).toEqual([42]);
    expect(e.now).toBe(3);
  });

  it('Condition wakes one or all current waiters in FIFO order and forgets unheard notifies', () => {
    const e = new Engine();
    const cond = new Condition<number>(e);
    const log: string[] = [];
    function* waiter(name: string, times: number): Generator<Wait, void, unknown> {
      for (let i = 0; i < times; i++) {
        const v = yield cond;
        log.push(`${name}:${v}@${e.now}`);
      }
    }
    expect(cond.notifyOne(0)).toBe(false);
    e.spawn(waiter('a', 2));
    e.spawn(waiter('b', 1));
    e.spawn(waiter('c', 1));
    e.at(10, () => {
      expect(cond.waiting).toBe(3);
      expect(cond.notifyOne(1)).toBe(true);
    });
    e.at(20, () => expect(cond.notifyAll(2)).toBe(3)); // b, c, then a (re-queued after its wake)
    e.run();
    expect(log).toEqual(['a:1@10', 'b:2@20', 'c:2@20', 'a:2@20']);
    expect(cond.waiting).toBe(0);
  });

  it('a process can wait for another to finish by yielding it', () => {
    const e = new Engine();
    const log: string[] = [];
    const child = e.spawn(
      (function* (): Generator<Wait, void, unknown> {
        yield 25;
        log.push(`child done@${e.now}`);
      })(),
      'child',
    );
    e.spawn(
      (function* (): Generator<Wait, void, unknown> {
        yield child;
        log.push(`joined@${e.now}`);
        yield child; // already finished: resumes at once
        log.push(`joined again@${e.now}`);
      })(),
    );
    e.run();
    expect(child.done).toBe(true);
    expect(child.name).toBe('child');
    expect(log).toEqual(['child done@25', 'joined@25', 'joined again@25']);
  });

  it('current names the running process', () => {
    const e = new Engine();
    let seen: Process | null = null;
    const p = e.spawn(
      (function* (): Generator<Wait, void, unknown> {
        seen = e.current;
        yield 1;
      })(),
    );
    e.run();
    expect(seen).toBe(p);
    expect(e.current).toBe(null);
  });

  it('throws model bugs for a negative sleep, a bad yield and a double wake', () => {
    const e = new Engine();
    e.spawn(
      (function* (): Generator<Wait, void, unknown> {
        yield -1;
      })(),
      'neg',
    );
    expect(() => e.run()).toThrow(/neg slept for -1 ns/);
    e.spawn(
      (function* (): Generator<Wait, void, unknown> {
        yield 'soon' as unknown as Wait;
      })(),
      'bad',
    );
    expect(() => e.run()).toThrow(/bad yielded soon/);
    const p = e.spawn(
      (function* (): Generator<Wait, void, unknown> {
        yield 5;
      })(),
    );
    expect(() => e.wake(p)).toThrow(/not waiting/);
  });
});

describe('Engine: determinism', () => {
  /** A small random world: workers that sleep, signal each other and wait. Returns the trace. */
  function world(seed: number): string[] {
    const e = new Engine();
    const trace: string[] = [];
    e.observer = { onEvent: (t, seq, label) => trace.push(`${t}:${seq}:${label}`) };
    const rng = new Rng(seed);
    const cond = new Condition<number>(e);
    for (let w = 0; w < 8; w++) {
      const r = rng.fork(`worker${w}`);
      e.spawn(
        (function* (): Generator<Wait, void, unknown> {
          for (let i = 0; i < 50; i++) {
            const x = r.int(0, 3);
            if (x === 0) {
              const v = yield cond;
              trace.push(`w${w} woke ${v}`);
            } else if (x === 1) cond.notifyOne(i);
            else yield r.int(0, 20);
          }
        })(),
        `w${w}`,
      );
    }
    // Make sure nobody waits forever.
    const drain = () => {
      cond.notifyAll(-1);
      if (e.pending > 0) e.schedule(100, drain);
    };
    e.schedule(100, drain);
    e.run();
    trace.push(`end ${e.now} ${e.eventsProcessed}`);
    return trace;
  }

  it('replays the same seed to an identical event trace', () => {
    const a = world(1234);
    expect(a.length).toBeGreaterThan(300);
    expect(world(1234)).toEqual(a);
    expect(world(1235)).not.toEqual(a);
  });
});
