import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkInvariants } from '../check/invariants.js';
import { loadScenario } from '../scenario/load.js';
import type { Machine } from '../uapi/machine.js';
import { simulate } from './simulate.js';

const MiB = 2 ** 20;
const PAGES_PER_MIB = MiB / 4096;
const FILE = 'scenarios/two-processes-dmirror.yaml';

function load(text: string) {
  const r = loadScenario(text, 's.yaml');
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.line}:${e.col} ${e.message}`).join('\n'));
  return r;
}

describe('scenarios with several processes and dmirror devices', () => {
  const sc = load(readFileSync(FILE, 'utf8'));

  it('gives each process its own mm; one GPU evicts one process to make room for the other', () => {
    let machine: Machine | undefined;
    const r = simulate(sc.config, { seed: sc.seed, inspect: (m) => (machine = m) });
    expect(machine!.processes.length).toBe(2);
    expect(new Set(machine!.processes.map((p) => p.mm)).size).toBe(2);
    expect(checkInvariants(machine!)).toEqual([]);
    const g = r.devices.gpu0!;
    // 768 MiB + 768 MiB through 1 GiB of VRAM: the trainer's first 512 MiB are evicted.
    expect(g.pagesToVram).toBe(2 * 768 * PAGES_PER_MIB);
    expect(g.evictedPages).toBe(512 * PAGES_PER_MIB);
    // The trainer's CPU then pulls its other 256 MiB out of VRAM, 2 MiB per fault.
    expect(g.cpuFaultPages).toBe(256 * PAGES_PER_MIB);
    expect(r.workloads.inspect!.cpuFaults).toBe(128);
  });

  it('runs dmirror ioctls from the buffer’s process: MIGRATE then READ, every page done', () => {
    const r = simulate(sc.config, { seed: sc.seed, log: true });
    const stageIn = r.workloads['stage-in']!;
    const stageRead = r.workloads['stage-read']!;
    expect(stageIn).toMatchObject({ ioctls: 32, cpages: 64 * PAGES_PER_MIB, ioctlErrors: 0 });
    expect(stageRead).toMatchObject({ ioctls: 32, cpages: 64 * PAGES_PER_MIB, ioctlErrors: 0 });
    // READ of pages in the device's own private memory needs no CPU fault.
    expect(stageRead.cpuFaults).toBe(0);
    expect(stageRead.startNs).toBe(stageIn.endNs);
    const ioctls = (r.log ?? []).filter((e) => e.kind === 'dmirror_ioctl');
    expect(ioctls.length).toBe(64);
    expect(ioctls.every((e) => e.kind === 'dmirror_ioctl' && e.ret === 0 && e.device === 'mirror0')).toBe(
      true,
    );
  });

  it('is deterministic with several processes', () => {
    expect(JSON.stringify(simulate(sc.config, { seed: 3 }))).toBe(
      JSON.stringify(simulate(sc.config, { seed: 3 })),
    );
  });

  it('a dmirror READ of a never-written buffer in the second process faults its pages in', () => {
    const text = `version: 1
profile: pcie5-h100
platform: { ram: 256MiB }
processes: [{ name: a }, { name: b }]
devices:
  dmirrors: [{ name: m0 }]
buffers:
  - { name: x, size: 4MiB, process: a, place: ram }
  - { name: y, size: 4MiB, process: b }
workloads:
  - { kind: dmirror, name: rd, dmirror: m0, buffer: y, op: read, pattern: sequential, ioctlSize: 1MiB }
`;
    const s = load(text);
    const r = simulate(s.config, { seed: 1 });
    // y was never touched in b (a's x was populated): hmm_range_fault faults every page in.
    expect(r.workloads.rd).toMatchObject({ ioctls: 4, cpages: 4 * PAGES_PER_MIB, ioctlErrors: 0 });
    expect(r.workloads.rd!.cpuFaults).toBeGreaterThan(0);
  });

  it('rejects unknown processes and dmirror devices with a position and a suggestion', () => {
    const base = (proc: string, dev: string, minor2 = 1) => `version: 1
profile: pcie5-h100
processes: [{ name: trainer }]
devices:
  gpus: [{ name: gpu0, vram: 1GiB }]
  dmirrors: [{ name: mirror0 }, { name: mirror1, minor: ${minor2} }]
buffers:
  - { name: buf, size: 2MiB, process: ${proc} }
workloads:
  - { kind: dmirror, name: w, dmirror: ${dev}, buffer: buf, op: migrate, pattern: sequential }
`;
    expect(loadScenario(base('trainer', 'mirror0'), 's.yaml').ok).toBe(true);
    const proc = loadScenario(base('trainr', 'mirror0'), 's.yaml');
    const gpu = loadScenario(base('trainer', 'gpu0'), 's.yaml');
    const typo = loadScenario(base('trainer', 'mirorr0'), 's.yaml');
    const minor = loadScenario(base('trainer', 'mirror0', 0), 's.yaml');
    if (proc.ok || gpu.ok || typo.ok || minor.ok) throw new Error('accepted');
    expect(proc.errors[0]).toMatchObject({
      line: 8,
      message: expect.stringMatching(/no process named 'trainr'.*trainer/),
    });
    expect(gpu.errors[0]).toMatchObject({
      line: 10,
      message: expect.stringMatching(/'gpu0' is not a dmirror device/),
    });
    expect(typo.errors[0]).toMatchObject({
      line: 10,
      message: expect.stringMatching(/did you mean 'mirror0'/),
    });
    expect(minor.errors[0]).toMatchObject({
      line: 6,
      message: expect.stringMatching(/hmm_dmirror0 is already/),
    });
  });
});
