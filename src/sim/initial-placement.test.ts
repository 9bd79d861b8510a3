import { describe, expect, it } from 'vitest';
import { loadScenario } from '../scenario/load.js';
import { compareRow } from './compare.js';
import { type SimConfig, type SimConfigInput, simulate } from './simulate.js';

const MiB = 2 ** 20;
const PAGES = (8 * MiB) / 4096;

function config(place: string | undefined, design: SimConfig['design'] = 'upstream'): SimConfigInput {
  return {
    version: 1,
    profile: 'pcie5-h100',
    platform: { ram: 512 * MiB, p2p: { default: 'BUS_ADDR' } },
    design,
    devices: { gpus: [{ name: 'gpu0', vram: 128 * MiB }], nics: [{ name: 'nic0' }] },
    buffers: [{ name: 'buf', size: 8 * MiB, ...(place ? { place } : {}) }],
    workloads: [
      {
        kind: 'rdma',
        name: 'put',
        nic: 'nic0',
        buffer: 'buf',
        op: 'write',
        pattern: 'sequential',
        messageSize: 65536,
        messages: 128,
        queueDepth: 4,
      },
    ],
  };
}

describe('initial placement of buffers (buffers[].place)', () => {
  it('place: gpu0 puts the pages in VRAM before time 0, uncharged, and the NIC then finds them there', () => {
    const r = simulate(config('gpu0'), { seed: 1 });
    const row = compareRow(r);
    // No GPU workload ran: the placement's faults and copies are not counted or charged.
    expect(r.devices.gpu0!.faults).toBe(0);
    expect(r.devices.gpu0!.batches).toBe(0);
    expect(r.links['pci:gpu0.down']?.bytes ?? 0).toBe(0);
    // upstream: every page comes back to RAM for the NIC.
    expect(row.pagesToRam).toBe(PAGES);
    const p2p = compareRow(simulate(config('gpu0', 'pagemap-p2p'), { seed: 1 }));
    expect(p2p.pagesToRam).toBe(0);
    expect(p2p.nicP2pPagesMapped).toBe(PAGES);
  });

  it("place: ram populates the buffer in RAM; without it the NIC's faults allocate the pages", () => {
    const ram = simulate(config('ram'), { seed: 1, log: true });
    const none = simulate(config(undefined), { seed: 1, log: true });
    expect(compareRow(ram).pagesToRam).toBe(0);
    const firstNicFault = (r: typeof ram) => r.log!.find((e) => e.kind === 'nic_fault');
    const a = firstNicFault(ram);
    const b = firstNicFault(none);
    if (a?.kind !== 'nic_fault' || b?.kind !== 'nic_fault') throw new Error('no NIC fault logged');
    // With the buffer populated, RAM in use at the first NIC fault already holds all of it.
    expect(a.ramPages - b.ramPages).toBeGreaterThanOrEqual(PAGES - 4 * 16); // queue depth 4, 16 pages a message
  });

  it('is deterministic', () => {
    expect(JSON.stringify(simulate(config('gpu0'), { seed: 3 }))).toBe(
      JSON.stringify(simulate(config('gpu0'), { seed: 3 })),
    );
  });

  it('the loader rejects a place that is not ram or a GPU, with its position', () => {
    const text = (place: string) => `version: 1
profile: pcie5-h100
platform: { ram: 256MiB }
devices:
  gpus: [{ name: gpu0, vram: 64MiB }]
  nics: [{ name: nic0 }]
buffers:
  - { name: buf, size: 2MiB, place: ${place} }
workloads:
  - { kind: gpu, name: fill, gpu: gpu0, buffer: buf, op: write, pattern: sequential }
`;
    expect(loadScenario(text('gpu0'), 's.yaml').ok).toBe(true);
    expect(loadScenario(text('ram'), 's.yaml').ok).toBe(true);
    const nic = loadScenario(text('nic0'), 's.yaml');
    const typo = loadScenario(text('gpu1'), 's.yaml');
    if (nic.ok || typo.ok) throw new Error('accepted');
    expect(nic.errors[0]).toMatchObject({ line: 8, message: expect.stringMatching(/is a NIC/) });
    expect(typo.errors[0]).toMatchObject({ line: 8, message: expect.stringMatching(/gpu0/) });
    expect(typo.errors[0]!.col).toBeGreaterThan(30);
  });
});
