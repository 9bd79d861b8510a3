import { describe, expect, it } from 'vitest';
import { Engine, type Wait } from './engine.js';
import { CopyEngine, CpuPool, Server } from './resources.js';

describe('CpuPool', () => {
  it('runs 3 jobs of 10 ns on 2 cores to finish at 10, 10, 20', () => {
    const e = new Engine();
    const cpu = new CpuPool(e, 2, 'cpu');
    const ends: [string, number][] = [];
    for (const name of ['j1', 'j2', 'j3']) {
      e.spawn(
        (function* (): Generator<Wait, void, unknown> {
          yield* cpu.run(10);
          ends.push([name, e.now]);
        })(),
      );
    }
    e.run();
    expect(ends).toEqual([
      ['j1', 10],
      ['j2', 10],
      ['j3', 20],
    ]);
    expect(cpu.cores).toBe(2);
    expect(Array.from(cpu.busyNs)).toEqual([20, 10]); // j3 took core 0, the first one released
    expect(cpu.utilisation()).toBeCloseTo(30 / 40, 12);
    expect(cpu.waitNs).toBe(10);
    expect(cpu.maxQueue).toBe(1);
    expect(cpu.completed).toBe(3);
    expect(cpu.busy).toBe(0);
  });

  it('serves queued requests first-come first-served with their own durations', () => {
    const e = new Engine();
    const cpu = new CpuPool(e, 1);
    const ends: string[] = [];
    const job = (name: string, arrive: number, ns: number) =>
      e.spawn(
        (function* (): Generator<Wait, void, unknown> {
          yield arrive;
          yield* cpu.run(ns);
          ends.push(`${name}@${e.now}`);
        })(),
      );
    job('a', 0, 30);
    job('b', 5, 10);
    job('c', 1, 5); // arrives before b: served before b
    job('d', 30, 1); // arrives exactly when a finishes, after b and c queued: waits behind them
    e.run();
    expect(ends).toEqual(['a@30', 'c@35', 'b@45', 'd@46']);
    expect(cpu.waitNs).toBe(29 + 30 + 15);
    expect(cpu.utilisation()).toBeCloseTo(1, 12);
  });

  it('a core can be held across other waits and counts as busy while held', () => {
    const e = new Engine();
    const cpu = new CpuPool(e, 1);
    const log: string[] = [];
    e.spawn(
      (function* (): Generator<Wait, void, unknown> {
        const core = yield* cpu.acquire();
        yield 50; // e.g. waiting for a DMA while holding the core
        expect(cpu.busyTime(core)).toBe(50);
        cpu.release(core);
        log.push(`released@${e.now}`);
      })(),
    );
    e.spawn(
      (function* (): Generator<Wait, void, unknown> {
        yield* cpu.run(1);
        log.push(`second@${e.now}`);
      })(),
    );
    e.run();
    expect(log).toEqual(['released@50', 'second@51']);
    expect(cpu.busyNs[0]).toBe(51);
    expect(() => cpu.release(0)).toThrow(/not held/);
    expect(cpu.tryAcquire()).toBe(0);
    expect(cpu.tryAcquire()).toBe(-1);
  });

  it('rejects bad sizes and durations', () => {
    const e = new Engine();
    expect(() => new CpuPool(e, 0)).toThrow(/positive integer/);
    expect(() => new Server(e, 1.5, 's')).toThrow(/positive integer/);
    const cpu = new CpuPool(e, 1);
    e.spawn(cpu.run(-1));
    expect(() => e.run()).toThrow(/run for -1 ns/);
  });

  it('rejects channels it does not have', () => {
    const cpu = new CpuPool(new Engine(), 2);
    for (const ch of [-1, 2, 0.5, Number.NaN]) {
      expect(() => cpu.busyTime(ch)).toThrow(/has no channel/);
      expect(() => cpu.release(ch)).toThrow(/not held/);
    }
    expect(() => cpu.release(0)).toThrow(/not held/);
  });
});

describe('CopyEngine', () => {
  it('is a FIFO server: 5 copies of 4 ns on 2 engines end at 4, 4, 8, 8, 12', () => {
    const e = new Engine();
    const ce = new CopyEngine(e, 2, 'gpu0.ce');
    const ends: number[] = [];
    for (let i = 0; i < 5; i++)
      e.spawn(
        (function* (): Generator<Wait, void, unknown> {
          yield* ce.run(4);
          ends.push(e.now);
        })(),
      );
    e.run();
    expect(ends).toEqual([4, 4, 8, 8, 12]);
    expect(ce.name).toBe('gpu0.ce');
    expect(ce.utilisation()).toBeCloseTo(20 / 24, 12);
  });
});
