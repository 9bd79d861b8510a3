import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatScenarioError, type LoadResult, loadScenario } from '../../src/scenario/load.js';
import { configProfile, parseConfig, simulate } from '../../src/sim/simulate.js';

const DIR = join(import.meta.dirname, '../../scenarios');
const FILES = readdirSync(DIR)
  .filter((f) => /\.(ya?ml|json)$/.test(f))
  .sort();

function load(file: string): LoadResult & { ok: true } {
  const path = `scenarios/${file}`;
  const r = loadScenario(readFileSync(join(DIR, file), 'utf8'), path);
  if (!r.ok) throw new Error(r.errors.map(formatScenarioError).join('\n'));
  return r;
}

describe('scenarios/', () => {
  it('has the scenarios the docs name', () => {
    expect(FILES).toEqual(
      expect.arrayContaining(['rdma-into-gpu.yaml', 'rdma-small-bar.yaml', 'streaming-oversubscribed.yaml']),
    );
  });

  for (const file of FILES) {
    it(`${file} loads, and simulate() accepts its config`, () => {
      const r = load(file);
      expect(() => configProfile(parseConfig(r.config))).not.toThrow();
      expect(r.scenario.version).toBe(1);
      expect(r.scenario.description ?? '').not.toBe('');
    });
  }

  for (const file of FILES) {
    it(`${file} runs in simulate() (its first simulated millisecond)`, () => {
      const r = load(file);
      const res = simulate({ ...r.config, duration: 1e6 }, { seed: r.seed });
      expect(res.endNs).toBe(1e6);
    });
  }

  it('rdma-into-gpu: the buffer is in VRAM before the NIC writes, and every message arrives', () => {
    const r = load('rdma-into-gpu.yaml');
    expect(r.config.platform?.p2p).toEqual({ default: 'BUS_ADDR' });
    expect(r.config.buffers).toEqual([{ name: 'buf', size: 2 ** 30, hugepage: true }]);
    const res = simulate(r.config, { seed: r.seed });
    for (const w of r.config.workloads) expect(res.workloads[w.name]?.endNs).toBeGreaterThan(0);
    expect(res.devices.gpu0!.pagesToVram).toBeGreaterThanOrEqual(2 ** 30 / 4096);
    expect(res.rdma.put!.messages).toBe(16384);
    expect(res.rdma.get!.messages).toBe(16384);
    // upstream: every NIC fault pulls device-private pages back to RAM.
    expect(res.nics.nic0!.p2pPages).toBe(0);
    expect(res.devices.gpu0!.cpuFaultPages).toBeGreaterThan(0);
  });

  it('rdma-small-bar: only the BAR window goes peer-to-peer', () => {
    const r = load('rdma-small-bar.yaml');
    expect(r.config.devices!.gpus![0]!.bar).toBe(256 * 2 ** 20);
    const res = simulate(r.config, { seed: r.seed });
    for (const w of r.config.workloads) expect(res.workloads[w.name]?.endNs).toBeGreaterThan(0);
    const nic = res.nics.nic0!;
    expect(nic.p2pPages).toBeGreaterThan(0);
    expect(nic.p2pPages).toBeLessThanOrEqual((256 * 2 ** 20) / 4096);
    expect(nic.hostPages).toBeGreaterThan(0);
    expect(res.design.windowMisses).toBeGreaterThan(0);
  });

  it('streaming-oversubscribed: VRAM is 80% of the buffer; scaled down 1/64 it evicts as it streams', () => {
    const r = load('streaming-oversubscribed.yaml');
    const gpu = r.config.devices!.gpus![0]!;
    const buf = r.config.buffers[0]!;
    expect(buf.size).toBe(16 * 2 ** 30);
    expect(gpu.vram).toBe(Math.floor(12.8 * 2 ** 30));
    // The whole run takes seconds; the same shape at 1/64 of the size shows the behaviour.
    const small = {
      ...r.config,
      devices: { ...r.config.devices, gpus: [{ ...gpu, vram: Math.floor(gpu.vram / 64) }] },
      buffers: [{ ...buf, size: buf.size / 64 }],
    };
    const res = simulate(small, { seed: r.seed });
    expect(res.devices.gpu0!.evictedPages).toBeGreaterThan(0);
    expect(res.workloads.stream!.endNs).toBeGreaterThan(res.workloads.init!.endNs);
  });
});
