/**
 * Every error names file:line:col, the path in the document, what was expected and what was
 * found. Each case edits one line of a valid scenario and pins the exact text.
 */
import { describe, expect, it } from 'vitest';
import { formatScenarioError, loadScenario } from '../../src/scenario/load.js';

// Line numbers, for reading the cases below:
//  1 version            9 vram              17 name: fill       25 buffer
//  2 profile           10 nics              18 gpu              26 op
//  3 platform          11 - name: nic0      19 buffer           27 pattern
//  4 p2p               12 buffers           20 op               28 messageSize
//  5 default           13 - name: buf       21 pattern          29 messages
//  6 devices           14 size              22 - kind: rdma     30 after
//  7 gpus              15 workloads         23 name: put
//  8 - name: gpu0      16 - kind: gpu       24 nic
const BASE = `version: 1
profile: pcie5-h100
platform:
  p2p:
    default: BUS_ADDR
devices:
  gpus:
    - name: gpu0
      vram: 16GiB
  nics:
    - name: nic0
buffers:
  - name: buf
    size: 1GiB
workloads:
  - kind: gpu
    name: fill
    gpu: gpu0
    buffer: buf
    op: write
    pattern: sequential
  - kind: rdma
    name: put
    nic: nic0
    buffer: buf
    op: write
    pattern: sequential
    messageSize: 64KiB
    messages: 16
    after: fill
`;

/** BASE with `from` (which must occur exactly once) replaced by `to`. */
function edit(from: string, to: string, text = BASE): string {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`'${from}' must occur once`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

function errors(text: string, file = 's.yaml'): string[] {
  const r = loadScenario(text, file);
  if (r.ok) throw new Error('expected errors, got a valid scenario');
  return r.errors.map(formatScenarioError);
}

describe('scenario errors', () => {
  it('the base scenario is valid', () => {
    const r = loadScenario(BASE, 's.yaml');
    expect(r.ok).toBe(true);
  });

  it('an unknown key, with did-you-mean (and no "missing vram" beside it)', () => {
    expect(errors(edit('      vram: 16GiB', '      vrma: 16GiB'))).toEqual([
      "s.yaml:9:7: devices.gpus[0].vrma: unknown key 'vrma' (did you mean 'vram'?)",
    ]);
  });

  it('an unknown key with no near match lists the valid keys', () => {
    expect(errors(edit('profile: pcie5-h100\n', 'profile: pcie5-h100\ncolour: blue\n'))).toEqual([
      "s.yaml:3:1: colour: unknown key 'colour' (expected one of version, name, description, seed, profile, overrides, design, rfcLockPerPage, placement, platform, devices, processes, buffers, workloads, events, duration)",
    ]);
  });

  it('a wrong type', () => {
    expect(errors(edit('    messages: 16', '    messages: many'))).toEqual([
      "s.yaml:29:15: workloads[1].messages: expected an integer, found 'many'",
    ]);
    expect(errors(edit('    size: 1GiB', '    size: [1GiB]'))).toEqual([
      's.yaml:14:11: buffers[0].size: expected a size (a number of bytes, or a number with B, KiB, MiB, GiB or TiB, like 64KiB), found a list',
    ]);
  });

  it('a negative size, a zero size, a too-small size, a decimal unit', () => {
    expect(errors(edit('    size: 1GiB', '    size: -1GiB'))).toEqual([
      "s.yaml:14:11: buffers[0].size: expected a size > 0, found '-1GiB'",
    ]);
    expect(errors(edit('    size: 1GiB', '    size: -4096'))).toEqual([
      's.yaml:14:11: buffers[0].size: expected a size > 0, found -4096',
    ]);
    expect(errors(edit('    size: 1GiB', '    size: 0'))).toEqual([
      's.yaml:14:11: buffers[0].size: expected a size > 0, found 0',
    ]);
    expect(errors(edit('      vram: 16GiB', '      vram: 1MiB'))).toEqual([
      "s.yaml:9:13: devices.gpus[0].vram: expected a size of at least 2MiB, found '1MiB'",
    ]);
    expect(errors(edit('    size: 1GiB', '    size: 1GB'))).toEqual([
      "s.yaml:14:11: buffers[0].size: expected a size (a number of bytes, or a number with B, KiB, MiB, GiB or TiB, like 64KiB), found '1GB' (did you mean '1GiB'?)",
    ]);
  });

  it('a bad enum value', () => {
    expect(errors(edit('    default: BUS_ADDR', '    default: BUS'))).toEqual([
      "s.yaml:5:14: platform.p2p.default: expected one of BUS_ADDR, THRU_HOST_BRIDGE, NOT_SUPPORTED, found 'BUS'",
    ]);
    expect(errors(edit('profile: pcie5-h100', 'profile: pcie5-h10'))).toEqual([
      "s.yaml:2:10: profile: expected one of pcie4-a100, pcie5-h100, gh200-c2c, uvmsmart-gtx1080ti or a profile file (a path ending in .yaml, like ./my-machine.yaml), found 'pcie5-h10' (did you mean 'pcie5-h100'?)",
    ]);
    expect(errors(edit('  - kind: rdma', '  - kind: rmda'))).toEqual([
      "s.yaml:22:11: workloads[1].kind: expected one of cpu, gpu, rdma, dmirror, found 'rmda' (did you mean 'rdma'?)",
    ]);
  });

  it('a buffer larger than RAM: its mmap would fail (__vm_enough_memory, OVERCOMMIT_GUESS)', () => {
    expect(errors(edit('    size: 1GiB', '    size: 65GiB'))).toEqual([
      "s.yaml:14:11: buffers[0].size: buffer 'buf' (65GiB) is larger than the platform's RAM (64GiB): its mmap() would fail with ENOMEM under Linux's default overcommit heuristic (__vm_enough_memory; the model has no swap)",
    ]);
    // As large as RAM is allowed (the heuristic refuses only pages > totalram + swap).
    const r = loadScenario(edit('    size: 1GiB', '    size: 64GiB'), 's.yaml');
    expect(r.ok).toBe(true);
  });

  it("a cost override outside the parameter's range is refused, as in a profile file", () => {
    expect(
      errors(
        edit('profile: pcie5-h100\n', 'profile: pcie5-h100\noverrides: { prefetchThresholdPercent: 500 }\n'),
      ),
    ).toEqual(['s.yaml:3:40: overrides.prefetchThresholdPercent: expected a number <= 100 (%), found 500']);
  });

  it('a dangling reference', () => {
    expect(errors(edit('    gpu: gpu0', '    gpu: gpu1'))).toEqual([
      "s.yaml:18:10: workloads[0].gpu: no GPU named 'gpu1' (did you mean 'gpu0'?)",
    ]);
    expect(errors(edit('    nic: nic0', '    nic: gpu0'))).toEqual([
      "s.yaml:24:10: workloads[1].nic: 'gpu0' is a GPU, not a NIC",
    ]);
    expect(
      errors(
        edit(
          '    buffer: buf\n    op: write\n    pattern: sequential\n  - kind',
          '    buffer: data\n    op: write\n    pattern: sequential\n  - kind',
        ),
      ),
    ).toEqual(["s.yaml:19:13: workloads[0].buffer: no buffer named 'data' (buffers: buf)"]);
    expect(
      errors(edit('    default: BUS_ADDR', '    default: BUS_ADDR\n    pairs: { "gpu0:nic9": BUS_ADDR }')),
    ).toEqual([
      "s.yaml:6:14: platform.p2p.pairs[\"gpu0:nic9\"]: no NIC named 'nic9' (did you mean 'nic0'?) (in the pair 'gpu0:nic9')",
    ]);
  });

  it('after: a later workload, or none', () => {
    const swapped = edit('    after: fill\n', '').replace(
      '    pattern: sequential\n  - kind: rdma',
      '    pattern: sequential\n    after: put\n  - kind: rdma',
    );
    expect(errors(swapped)).toEqual([
      "s.yaml:22:12: workloads[0].after: 'put' is not an earlier workload (a workload can only wait for one listed before it)",
    ]);
    expect(errors(edit('    after: fill', '    after: fil'))).toEqual([
      "s.yaml:30:12: workloads[1].after: no workload named 'fil' (did you mean 'fill'?)",
    ]);
  });

  it('a duplicate name', () => {
    expect(errors(edit('    name: put', '    name: fill'))).toEqual([
      "s.yaml:23:11: workloads[1].name: duplicate name 'fill' (also workloads[0])",
    ]);
    // GPUs and NICs share one namespace.
    expect(
      errors(edit('      vram: 16GiB\n', '      vram: 16GiB\n    - name: nic0\n      vram: 16GiB\n')),
    ).toEqual(["s.yaml:13:13: devices.nics[0].name: duplicate name 'nic0' (also devices.gpus[1])"]);
  });

  it('a duplicate YAML key', () => {
    expect(errors(edit('      vram: 16GiB', '      vram: 16GiB\n      vram: 8GiB'))).toEqual([
      "s.yaml:10:7: devices.gpus[0].vram: duplicate key 'vram' (keys must be unique)",
    ]);
  });

  it('broken YAML', () => {
    expect(errors(edit('    default: BUS_ADDR', '    default: [BUS_ADDR'))).toEqual([
      's.yaml:6:1: YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
    expect(errors(edit('    size: 1GiB', '\tsize: 1GiB'))).toEqual([
      's.yaml:14:1: YAML: Tabs are not allowed as indentation',
    ]);
  });

  it('a missing required key points at the map that lacks it', () => {
    expect(errors(edit('    messages: 16\n', ''))).toEqual([
      "s.yaml:22:5: workloads[1].messages: missing required key 'messages'",
    ]);
  });

  it('missing version', () => {
    expect(errors(edit('version: 1\n', ''))).toEqual([
      "s.yaml:1:1: missing required key 'version' (this hmmlab reads scenario version 1)",
    ]);
  });

  it('version 2 is an unsupported version', () => {
    expect(errors(edit('version: 1', 'version: 2'))).toEqual([
      's.yaml:1:10: version: unsupported version 2: this hmmlab reads scenario version 1 (a file for a newer hmmlab?)',
    ]);
    expect(errors(edit('version: 1', 'version: one'))).toEqual([
      "s.yaml:1:10: version: expected a version number, found 'one' (this hmmlab reads scenario version 1)",
    ]);
  });

  it('a PCI topology: the kernel model checks the spec, and every GPU and NIC must be in it', () => {
    const pci = (children: string) =>
      edit(
        'platform:\n  p2p:\n    default: BUS_ADDR\n',
        `platform:\n  pci:\n    hostBridges:\n      - name: hb0\n        children:\n${children}`,
      );
    // Lines 3-7 are platform, pci, hostBridges, - name: hb0, children; the children follow.
    expect(errors(pci('          - { name: rp0, kind: rootPrt }\n'))).toEqual([
      "s.yaml:8:32: platform.pci.hostBridges[0].children[0].kind: unknown kind 'rootPrt' (expected rootPort, switch, endpoint)",
    ]);
    expect(
      errors(
        pci(
          '          - name: rp0\n            kind: rootPort\n            children: [{ name: gpu0, kind: endpoint }]\n',
        ),
      ),
    ).toEqual(["s.yaml:16:13: devices.nics[0].name: no PCI device named 'nic0' in platform.pci"]);
    // A GPU or NIC must be an endpoint (the data path routes from it), not a bridge.
    expect(
      errors(
        pci(
          '          - name: gpu0\n            kind: rootPort\n            children: [{ name: nic0, kind: endpoint }]\n',
        ),
      ),
    ).toEqual(["s.yaml:13:13: devices.gpus[0].name: 'gpu0' is a root port in platform.pci, not an endpoint"]);
    // A GPU and a NIC cannot be two functions of one endpoint.
    expect(
      errors(
        edit('    - name: nic0\n', '    - name: dev.1\n')
          .replace('    - name: gpu0\n', '    - name: dev.0\n')
          .replace('gpu: gpu0', 'gpu: dev.0')
          .replace('nic: nic0', 'nic: dev.1')
          .replace(
            'platform:\n  p2p:\n    default: BUS_ADDR\n',
            'platform:\n  pci:\n    hostBridges:\n      - name: hb0\n        children:\n          - { name: rp0, kind: rootPort, children: [{ name: dev, kind: endpoint, functions: 2 }] }\n',
          ),
      ),
    ).toEqual([
      "s.yaml:14:13: devices.nics[0].name: 'dev.1' and 'dev.0' are on one endpoint 'dev' in platform.pci; a GPU shares its endpoint with no other device",
    ]);
    // The devices under one host bridge sit on one CPU socket.
    const twoSockets = edit('    - name: nic0\n', '    - name: nic0\n      socket: 1\n');
    const rootPorts =
      '          - { name: rp0, kind: rootPort, children: [{ name: gpu0, kind: endpoint }] }\n' +
      '          - { name: rp1, kind: rootPort, children: [{ name: nic0, kind: endpoint }] }\n';
    expect(
      errors(
        twoSockets.replace(
          'platform:\n  p2p:\n    default: BUS_ADDR\n',
          `platform:\n  pci:\n    hostBridges:\n      - name: hb0\n        children:\n${rootPorts}`,
        ),
      ),
    ).toEqual([
      "s.yaml:15:13: devices.nics[0].name: 'nic0' is on socket 1 but 'gpu0', under the same host bridge 'hb0', is on socket 0",
    ]);
    const both = edit('    default: BUS_ADDR\n', '    default: BUS_ADDR\n  pci: { hostBridges: [] }\n');
    expect(errors(both)).toEqual([
      's.yaml:4:3: platform.p2p: p2p would be ignored: with platform.pci the map types come from the topology (give one of them)',
      "s.yaml:9:13: devices.gpus[0].name: no PCI device named 'gpu0' in platform.pci",
      "s.yaml:12:13: devices.nics[0].name: no PCI device named 'nic0' in platform.pci",
    ]);
  });

  it('cost overrides: unknown names with did-you-mean, values the unit allows', () => {
    const text = edit(
      'profile: pcie5-h100\n',
      'profile: pcie5-h100\noverrides:\n  faultBatchSzie: 1\n  hostMemoryBandwidth: 0\n  faultBatchSize: 1.5\n',
    );
    expect(errors(text)).toEqual([
      "s.yaml:4:3: overrides.faultBatchSzie: unknown cost parameter 'faultBatchSzie' (did you mean 'faultBatchSize'?)",
      's.yaml:5:24: overrides.hostMemoryBandwidth: expected a bandwidth > 0 (GB/s), found 0',
      's.yaml:6:19: overrides.faultBatchSize: expected a whole number (count), found 1.5',
    ]);
  });

  it('several errors come sorted by position', () => {
    const text = edit('    messages: 16', '    messages: 0', edit('      vram: 16GiB', '      vram: lots'));
    expect(errors(text)).toEqual([
      "s.yaml:9:13: devices.gpus[0].vram: expected a size (a number of bytes, or a number with B, KiB, MiB, GiB or TiB, like 64KiB), found 'lots'",
      's.yaml:29:15: workloads[1].messages: expected an integer >= 1, found 0',
    ]);
  });

  it('JSON input: positions in the JSON text', () => {
    const json =
      '{\n  "version": 1,\n  "profile": "pcie5-h100",\n  "buffers": [{ "name": "b", "size": "1GiB", "huge": true }],\n  "workloads": []\n}\n';
    expect(errors(json, 's.json')).toEqual([
      "s.json:4:46: buffers[0].huge: unknown key 'huge' (did you mean 'hugepage'?)",
      's.json:5:16: workloads: expected at least 1 item, found 0',
    ]);
  });

  it('an empty file, and a file that is not a map', () => {
    expect(errors('')).toEqual([
      's.yaml:1:1: the file is empty: expected a scenario, a map starting with version: 1',
    ]);
    expect(errors('# nothing\n')).toEqual([
      's.yaml:1:1: the file is empty: expected a scenario, a map starting with version: 1',
    ]);
    expect(errors('- version: 1\n')).toEqual(['s.yaml:1:1: expected a scenario (a map), found a list']);
  });

  it('an unresolved alias', () => {
    expect(errors(edit('      vram: 16GiB', '      vram: *big'))).toEqual([
      's.yaml:9:13: devices.gpus[0].vram: YAML: Unresolved alias (the anchor must be set before the alias): big',
    ]);
  });

  it('errors are data: file, line, col, path and message', () => {
    const r = loadScenario(edit('    default: BUS_ADDR', '    default: BUS'), 'dir/s.yaml');
    expect(r).toEqual({
      ok: false,
      errors: [
        {
          file: 'dir/s.yaml',
          line: 5,
          col: 14,
          path: ['platform', 'p2p', 'default'],
          message: "expected one of BUS_ADDR, THRU_HOST_BRIDGE, NOT_SUPPORTED, found 'BUS'",
        },
      ],
    });
  });
});
