/**
 * The placement policies' contract (every policy runs it): a CPU writes a buffer, a GPU reads
 * it twice; the run completes, the kernel model stays consistent, the GPU's device page table
 * only maps what the CPU maps. Then what distinguishes each policy.
 */
import { describe, expect, it } from 'vitest';
import { checkInvariants } from '../check/invariants.js';
import { type SimResult, simulate } from '../sim/simulate.js';
import { PLACEMENT_POLICIES, type PlacementPolicy } from './gpu.js';

const MiB = 2 ** 20;

function run(
  placement: PlacementPolicy,
  bufferMiB = 32,
  vramMiB = 64,
): { r: SimResult; violations: string[] } {
  let violations: string[] = ['not inspected'];
  const r = simulate(
    {
      version: 1,
      profile: 'pcie4-a100',
      platform: { ram: 512 * MiB },
      devices: { gpus: [{ name: 'gpu0', vram: vramMiB * MiB, placement }] },
      buffers: [{ name: 'buf', size: bufferMiB * MiB }],
      workloads: [
        { kind: 'cpu', name: 'init', buffer: 'buf', op: 'write', pattern: 'sequential' },
        {
          kind: 'gpu',
          name: 'use',
          gpu: 'gpu0',
          buffer: 'buf',
          op: 'read',
          pattern: 'sequential',
          passes: 2,
          after: 'init',
        },
        { kind: 'cpu', name: 'check', buffer: 'buf', op: 'read', pattern: 'sequential', after: 'use' },
      ],
    },
    {
      seed: 1,
      inspect: (m) => {
        violations = checkInvariants(m);
      },
    },
  );
  return { r, violations };
}

describe.each(PLACEMENT_POLICIES.map((p) => [p]))('placement policy contract: %s', (policy) => {
  it('completes with a consistent model and every page touched', () => {
    const { r, violations } = run(policy);
    expect(violations).toEqual([]);
    expect(r.workloads.use!.pagesTouched).toBe(2 * 8192);
    expect(r.workloads.check!.pagesTouched).toBe(8192);
  });
});

describe('what each placement policy does', () => {
  it('first-touch migrates everything on the first pass and never touches memory remotely', () => {
    const d = run('first-touch').r.devices.gpu0!;
    expect(d.pagesToVram).toBe(8192);
    expect(d.remoteBytes).toBe(0);
  });

  it('remote never migrates: both passes read system memory over the link', () => {
    const d = run('remote').r.devices.gpu0!;
    expect(d.pagesToVram).toBe(0);
    expect(d.remoteBytes).toBe(2 * 32 * MiB);
  });

  it('access-counter starts remote and migrates regions once they are accessed often enough', () => {
    const d = run('access-counter').r.devices.gpu0!;
    expect(d.pagesToVram).toBeGreaterThan(0);
    expect(d.remoteBytes).toBeGreaterThan(0);
    expect(d.remoteBytes).toBeLessThan(2 * 32 * MiB);
  });

  it('pinned never evicts: what does not fit in VRAM stays remote', () => {
    const d = run('pinned', 80, 64).r.devices.gpu0!;
    expect(d.evictedPages).toBe(0);
    expect(d.pagesToVram).toBeLessThanOrEqual((64 * MiB) / 4096);
    expect(d.remoteBytes).toBeGreaterThan(0);
    const ft = run('first-touch', 80, 64).r.devices.gpu0!;
    expect(ft.evictedPages).toBeGreaterThan(0);
  });
});
