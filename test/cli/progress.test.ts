/**
 * Progress on long work (issue 18): simulate()'s onProgress hook leaves the result byte for
 * byte as it is, and the progress line shows only on a terminal, after the delay, and never
 * with --quiet.
 */
import { describe, expect, it } from 'vitest';
import { progressLine, showsProgress, simProgressText } from '../../src/cli/progress.js';
import { loadScenario } from '../../src/scenario/load.js';
import { type SimProgress, simulate } from '../../src/sim/simulate.js';
import { smallRdma } from '../fixtures/scenarios.js';
import { cli } from './run-cli.js';

function config() {
  const r = loadScenario(smallRdma({ name: 'progress' }), 'progress.yaml');
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
}

/** A writable that says it is (or is not) a terminal and keeps what it is given. */
function stream(isTTY: boolean) {
  const written: string[] = [];
  return {
    written,
    isTTY,
    write(s: string) {
      written.push(s);
      return true;
    },
  } as unknown as NodeJS.WritableStream & { isTTY: boolean; written: string[] };
}

describe('simulate onProgress', () => {
  it('is called as simulated time moves, and the result is byte-identical with and without it', () => {
    const seen: SimProgress[] = [];
    const without = simulate(config(), { seed: 5, log: true });
    const withIt = simulate(config(), {
      seed: 5,
      log: true,
      onProgress: (p) => seen.push(p),
      progressEvery: 50,
    });
    expect(JSON.stringify(withIt)).toBe(JSON.stringify(without));
    expect(seen.length).toBeGreaterThan(3);
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]!.nowNs).toBeGreaterThanOrEqual(seen[i - 1]!.nowNs);
      expect(seen[i]!.events).toBe(seen[i - 1]!.events + 50);
    }
    expect(seen.at(-1)!.nowNs).toBeLessThanOrEqual(without.endNs);
  });
});

describe('progressLine', () => {
  it('on a terminal, after the delay: the simulated time, redrawn in place, cleared at the end', () => {
    let t = 0;
    const s = stream(true);
    const p = progressLine({}, s, 1000, () => t);
    const cb = p.sim('run upstream')!;
    cb({ nowNs: 1e6, events: 10 });
    expect(s.written).toEqual([]); // before the delay: nothing
    t = 1500;
    cb({ nowNs: 12.34e6, events: 2_500_000, endNs: 50e6 });
    t = 1550;
    cb({ nowNs: 13e6, events: 2_600_000 }); // within 100 ms of the last: not redrawn
    p.done();
    expect(s.written).toEqual([
      '\r\u001b[Krun upstream: simulated 12.3 ms of 50.0 ms, 2.5M events',
      '\r\u001b[K',
    ]);
  });

  it('nothing when stderr is not a terminal or with --quiet: no callback at all', () => {
    expect(progressLine({}, stream(false)).sim('x')).toBeUndefined();
    expect(progressLine({ quiet: true }, stream(true)).sim('x')).toBeUndefined();
    expect(showsProgress({ quiet: true }, { isTTY: true })).toBe(false);
    expect(simProgressText('compare: upstream (1 of 5)', { nowNs: 5e5, events: 42 })).toBe(
      'compare: upstream (1 of 5): simulated 0.5 ms, 42 events',
    );
  });

  it('the commands take --quiet and print nothing on stderr besides the stored ids', async () => {
    const r = await cli(
      'run',
      'scenarios/rdma-into-gpu.yaml',
      '--quiet',
      '--no-store',
      '--set',
      'buffers.buf.size=16MiB',
      '--set',
      'workloads.put.messages=64',
      '--set',
      'workloads.get.messages=64',
    );
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe('');
  });
});
