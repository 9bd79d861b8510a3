/**
 * Tiny scenarios for the command-line fuzzers: between them every key of scenario format
 * version 1 (the frozen v1-full fixture, shrunk), processes and a dmirror, and a hot unplug, with
 * buffers of a few MiB so that a valid case simulates in milliseconds.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const TINY_FULL = `version: 1
name: tiny-full
description: Every key of format version 1, small.
seed: 42
profile: pcie5-h100
overrides:
  faultBatchSize: 128
  hostMemoryBandwidth: 200
design: rfc-callback
rfcLockPerPage: true
placement: first-touch
platform:
  ram: 256MiB
  cpuCores: 4
  thp: always
  iommu: translate
  p2p:
    default: THRU_HOST_BRIDGE
    pairs:
      "gpu0:nic0": BUS_ADDR
      "gpu1:nic0": NOT_SUPPORTED
devices:
  gpus:
    - name: gpu0
      vram: 64MiB
      bar: 16MiB
      placement: access-counter
      link: { kind: pcie, gen: 4, lanes: 8 }
      socket: 0
      faultBatchSize: 64
      chunkSizes: [2MiB, 64KiB, 4KiB]
      prefetch: true
      thrashing: true
    - name: gpu1
      vram: 32MiB
      link: { kind: c2c }
      socket: 1
  nics:
    - name: nic0
      fallback: v2
      socket: 1
      ats: true
      relaxedOrdering: true
buffers:
  - name: a
    size: 2MiB
    hugepage: true
  - name: b
    size: 1048576
    hugepage: false
workloads:
  - kind: cpu
    name: init
    buffer: a
    op: write
    pattern: strided
    bytes: 1MiB
    stride: 64KiB
    passes: 2
    start: 1us
    nsPerPage: 50
  - kind: gpu
    name: compute
    gpu: gpu0
    buffer: a
    op: read
    pattern: random
    after: init
    bytesPerNs: 1000
  - kind: rdma
    name: send
    nic: nic0
    buffer: a
    op: write
    pattern: sequential
    messageSize: 64KiB
    messages: 8
    queueDepth: 4
    after: compute
  - kind: gpu
    name: other
    gpu: gpu1
    buffer: b
    op: write
    pattern: sequential
events:
  - { kind: unplug, name: u, gpu: gpu1, mode: surprise, after: other }
duration: 10s
`;

export const TINY_PROCESSES = `version: 1
name: tiny-processes
profile: pcie5-h100
platform: { ram: 128MiB, cpuCores: 2 }
processes:
  - name: p
  - name: q
devices:
  gpus: [{ name: gpu0, vram: 16MiB }]
  dmirrors:
    - { name: m1, minor: 1 }
buffers:
  - { name: x, size: 1MiB, process: p, place: ram }
  - { name: y, size: 512KiB, process: q }
workloads:
  - { kind: gpu, name: g, gpu: gpu0, buffer: x, op: read, pattern: sequential }
  - { kind: dmirror, name: d, dmirror: m1, buffer: y, op: migrate, pattern: sequential, ioctlSize: 64KiB }
  - { kind: dmirror, name: back, dmirror: m1, buffer: y, op: migrate-to-ram, pattern: sequential, after: d }
`;

/** Writes the tiny scenarios into `dir`; returns their paths. */
export function writeTinyScenarios(dir: string): { full: string; processes: string } {
  const full = join(dir, 'tiny-full.yaml');
  const processes = join(dir, 'tiny-processes.yaml');
  writeFileSync(full, TINY_FULL);
  writeFileSync(processes, TINY_PROCESSES);
  return { full, processes };
}
