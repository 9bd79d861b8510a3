/**
 * The scenario schema's cross-field checks (superRefine): references between entries (a workload's
 * buffer, GPU or NIC; a buffer's process and placement), sizes that must agree (a message within
 * its buffer, a buffer within RAM as mmap's overcommit check has it), the PCI
 * topology and the physical address space the kernel model lays out. Each problem is an issue at
 * its path, which the loader turns into file:line:col. Pure.
 */
import type { z } from 'zod';
import { DEVMEM_CHUNK_PAGES } from '../drivers/dmirror.js';
import { gpuMemRegionBytes } from '../drivers/gpu.js';
import { deviceRegionsEndPfn, MAX_PHYS_PFN } from '../kernel/kernel.js';
import { PciTopology, TopologySpecError } from '../kernel/p2pdma.js';
import {
  COST_PARAMETER_NAMES,
  type CostProfile,
  costParameterInfo,
  costProfileProblems,
  costValueProblems,
  getProfile,
  isCostParameterName,
  isProfileName,
  profileRefProblem,
} from '../sim/costs.js';
import { didYouMeanSuffix, oneOf } from './messages.js';
import type { SimConfig } from './schema.js';
import { formatSize, formatSizeApprox } from './units.js';

const KiB = 2 ** 10;
const GiB = 2 ** 30;
const TiB = 2 ** 40;
const PAGE = 4 * KiB;

type Ctx = z.RefinementCtx<SimConfig>;
type Path = (string | number)[];

function issue(ctx: Ctx, path: Path, message: string, at: 'key' | 'value' = 'value'): void {
  ctx.addIssue({ code: 'custom', path, message, params: { at } });
}

/** `hostBridges[0].children[1].kind` as path segments. */
function specPath(path: string): Path {
  const out: Path = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

/** Checks the parts of a scenario that refer to each other, and what only the whole can tell. */
export function crossCheck(s: SimConfig, ctx: Ctx): void {
  // Only a scenario whose parts are each valid: otherwise a bad name would also be reported as
  // every dangling reference to it.
  if (ctx.issues.length > 0) return;
  const gpus = s.devices?.gpus ?? [];
  const nics = s.devices?.nics ?? [];

  // Names: devices share one namespace; buffers and workloads each have their own.
  const devices = new Map<string, string>();
  gpus.forEach((g, i) => {
    const where = devices.get(g.name);
    if (where !== undefined)
      issue(ctx, ['devices', 'gpus', i, 'name'], `duplicate name '${g.name}' (also ${where})`);
    else devices.set(g.name, `devices.gpus[${i}]`);
  });
  nics.forEach((n, i) => {
    const where = devices.get(n.name);
    if (where !== undefined)
      issue(ctx, ['devices', 'nics', i, 'name'], `duplicate name '${n.name}' (also ${where})`);
    else devices.set(n.name, `devices.nics[${i}]`);
  });
  const dmirrors = s.devices?.dmirrors ?? [];
  const minors = new Map<number, number>();
  dmirrors.forEach((d, i) => {
    const where = devices.get(d.name);
    if (where !== undefined)
      issue(ctx, ['devices', 'dmirrors', i, 'name'], `duplicate name '${d.name}' (also ${where})`);
    else devices.set(d.name, `devices.dmirrors[${i}]`);
    const minor = d.minor ?? 0;
    const j = minors.get(minor);
    if (j !== undefined)
      issue(
        ctx,
        ['devices', 'dmirrors', i, d.minor === undefined ? 'name' : 'minor'],
        `/dev/hmm_dmirror${minor} is already devices.dmirrors[${j}]; give each device its own minor (0 or 1)`,
      );
    else minors.set(minor, i);
  });
  const dmirrorNames = dmirrors.map((d) => d.name);
  const buffers = new Map<string, number>();
  s.buffers.forEach((b, i) => {
    const j = buffers.get(b.name);
    if (j !== undefined)
      issue(ctx, ['buffers', i, 'name'], `duplicate name '${b.name}' (also buffers[${j}])`);
    else buffers.set(b.name, i);
  });

  const gpuNames = gpus.map((g) => g.name);
  const nicNames = nics.map((n) => n.name);
  const bufferNames = [...buffers.keys()];
  const missing = (kind: string, value: string, candidates: string[]) =>
    candidates.length === 0
      ? `no ${kind} named '${value}' (there are none)`
      : `no ${kind} named '${value}'${didYouMeanSuffix(value, candidates) || ` (${kind.endsWith('s') ? `${kind}es` : `${kind}s`}: ${oneOf(candidates)})`}`;

  (s.devices?.gpuLinks ?? []).forEach((l, i) => {
    for (const end of ['a', 'b'] as const) {
      if (!gpuNames.includes(l[end]))
        issue(ctx, ['devices', 'gpuLinks', i, end], missing('GPU', l[end], gpuNames));
    }
    if (l.a === l.b)
      issue(ctx, ['devices', 'gpuLinks', i, 'b'], `a link joins two different GPUs, found '${l.b}' twice`);
  });

  const procNames = (s.processes ?? []).map((p) => p.name);
  (s.processes ?? []).forEach((p, i) => {
    const j = procNames.indexOf(p.name);
    if (j !== i) issue(ctx, ['processes', i, 'name'], `duplicate name '${p.name}' (also processes[${j}])`);
  });
  s.buffers.forEach((b, i) => {
    if (b.process === undefined || procNames.includes(b.process)) return;
    issue(
      ctx,
      ['buffers', i, 'process'],
      procNames.length === 0
        ? `no process named '${b.process}' (the scenario lists no processes: add \`processes: [{ name: ${b.process} }]\`)`
        : missing('process', b.process, procNames),
    );
  });
  s.buffers.forEach((b, i) => {
    if (b.place === undefined || b.place === 'ram' || gpuNames.includes(b.place)) return;
    issue(
      ctx,
      ['buffers', i, 'place'],
      nicNames.includes(b.place)
        ? `'${b.place}' is a NIC; a buffer is placed in 'ram' or on a GPU`
        : `${missing('GPU', b.place, gpuNames)}; or 'ram'`,
    );
  });

  const workloads = new Map<string, number>();
  s.workloads.forEach((w, i) => {
    const at = (key: string): Path => ['workloads', i, key];
    if (!buffers.has(w.buffer)) issue(ctx, at('buffer'), missing('buffer', w.buffer, bufferNames));
    if (w.kind === 'gpu' && !gpuNames.includes(w.gpu)) {
      issue(
        ctx,
        at('gpu'),
        nicNames.includes(w.gpu) ? `'${w.gpu}' is a NIC, not a GPU` : missing('GPU', w.gpu, gpuNames),
      );
    }
    if (w.kind === 'dmirror' && !dmirrorNames.includes(w.dmirror)) {
      issue(
        ctx,
        at('dmirror'),
        devices.has(w.dmirror)
          ? `'${w.dmirror}' is not a dmirror device (${devices.get(w.dmirror)})`
          : missing('dmirror device', w.dmirror, dmirrorNames),
      );
    }
    // What a workload covers must fit in its buffer (simulate() would clamp it silently).
    const size = buffers.has(w.buffer) ? s.buffers[buffers.get(w.buffer)!]!.size : undefined;
    if (size !== undefined && w.bytes !== undefined && w.bytes > size) {
      issue(
        ctx,
        at('bytes'),
        `expected at most the size of buffer '${w.buffer}' (${formatSize(size)}), found ${formatSize(w.bytes)}`,
      );
    }
    if (size !== undefined && w.kind === 'rdma' && w.messageSize > size) {
      issue(
        ctx,
        at('messageSize'),
        `expected a message size of at most the size of buffer '${w.buffer}' (${formatSize(size)}), found ${formatSize(w.messageSize)}`,
      );
    }
    if (w.kind === 'rdma' && !nicNames.includes(w.nic)) {
      issue(
        ctx,
        at('nic'),
        gpuNames.includes(w.nic) ? `'${w.nic}' is a GPU, not a NIC` : missing('NIC', w.nic, nicNames),
      );
    }
    const ev = (s.events ?? []).find((e) => e.name === w.after);
    if (ev && ev.after !== undefined && !workloads.has(ev.after)) {
      issue(
        ctx,
        at('after'),
        `event '${ev.name}' waits for '${ev.after}', which is not listed before this workload`,
      );
    }
    if (w.after !== undefined && !workloads.has(w.after) && !ev) {
      const later = s.workloads.findIndex((x, j) => j >= i && x.name === w.after);
      issue(
        ctx,
        at('after'),
        later >= 0
          ? `'${w.after}' is not an earlier workload (a workload can only wait for one listed before it)`
          : missing('workload', w.after, [...workloads.keys()]),
      );
    }
    const j = workloads.get(w.name);
    if (j !== undefined) issue(ctx, at('name'), `duplicate name '${w.name}' (also workloads[${j}])`);
    else workloads.set(w.name, i);
  });

  // Events: a GPU that exists, a workload to wait for, a name of their own.
  (s.events ?? []).forEach((e, i) => {
    if (!gpuNames.includes(e.gpu)) issue(ctx, ['events', i, 'gpu'], missing('GPU', e.gpu, gpuNames));
    if (e.after !== undefined && !workloads.has(e.after)) {
      issue(ctx, ['events', i, 'after'], missing('workload', e.after, [...workloads.keys()]));
    }
    if (workloads.has(e.name))
      issue(ctx, ['events', i, 'name'], `duplicate name '${e.name}' (also a workload)`);
    const j = (s.events ?? []).findIndex((x) => x.name === e.name);
    if (j !== i) issue(ctx, ['events', i, 'name'], `duplicate name '${e.name}' (also events[${j}])`);
  });

  // GPU:NIC pairs of the P2P map.
  for (const key of Object.keys(s.platform?.p2p?.pairs ?? {})) {
    const path = ['platform', 'p2p', 'pairs', key];
    const parts = key.split(':');
    if (parts.length !== 2) {
      issue(ctx, path, `expected a key of the form gpu:nic, found '${key}'`, 'key');
      continue;
    }
    const [g, n] = parts as [string, string];
    if (!gpuNames.includes(g))
      issue(ctx, path, `${missing('GPU', g, gpuNames)} (in the pair '${key}')`, 'key');
    else if (!nicNames.includes(n))
      issue(ctx, path, `${missing('NIC', n, nicNames)} (in the pair '${key}')`, 'key');
  }
  // A PCI topology: the kernel model's own spec check, then every GPU and NIC must be in it.
  const pci = s.platform?.pci;
  if (pci !== undefined) {
    if (s.platform?.p2p !== undefined) {
      issue(
        ctx,
        ['platform', 'p2p'],
        'p2p would be ignored: with platform.pci the map types come from the topology (give one of them)',
        'key',
      );
    }
    let topo: PciTopology | undefined;
    try {
      topo = PciTopology.fromSpec(pci);
    } catch (e) {
      if (!(e instanceof TopologySpecError)) throw e;
      const what = e.message.startsWith(`${e.path}: `) ? e.message.slice(e.path.length + 2) : e.message;
      issue(ctx, ['platform', 'pci', ...specPath(e.path)], what);
    }
    if (topo) {
      // Each GPU and NIC is an endpoint (or one of its functions) of the tree, and the devices
      // under one host bridge sit on one CPU socket (the data path routes by both).
      const socketOfHb = new Map<string, { socket: number; device: string }>();
      const onEndpoint = new Map<string, { device: string; gpu: boolean }>();
      const place = (
        d: { name: string; socket?: 0 | 1 | undefined },
        path: (string | number)[],
        gpu: boolean,
      ) => {
        const kind = topo.kindOf(d.name);
        if (kind === undefined) {
          issue(ctx, path, `no PCI device named '${d.name}' in platform.pci`);
          return;
        }
        if (kind === 'hostBridge' || kind === 'platform') {
          issue(
            ctx,
            path,
            `'${d.name}' is a ${kind === 'hostBridge' ? 'host bridge' : 'platform device'} in platform.pci, not a PCI endpoint`,
          );
          return;
        }
        if (kind !== 'endpoint' && kind !== 'function') {
          issue(
            ctx,
            path,
            `'${d.name}' is a ${kind === 'rootPort' ? 'root port' : 'switch'} in platform.pci, not an endpoint`,
          );
          return;
        }
        // Functions of one endpoint share its link: NIC ports may; a GPU is a device of its own.
        const ep = kind === 'function' ? d.name.replace(/\.\d+$/, '') : d.name;
        const other = onEndpoint.get(ep);
        if (other !== undefined && (gpu || other.gpu))
          issue(
            ctx,
            path,
            `'${d.name}' and '${other.device}' are on one endpoint '${ep}' in platform.pci; a GPU shares its endpoint with no other device`,
          );
        if (other === undefined) onEndpoint.set(ep, { device: d.name, gpu });
        const hb = topo.hostBridgeOf(d.name);
        const socket = d.socket ?? 0;
        const prev = socketOfHb.get(hb);
        if (prev === undefined) socketOfHb.set(hb, { socket, device: d.name });
        else if (prev.socket !== socket)
          issue(
            ctx,
            path,
            `'${d.name}' is on socket ${socket} but '${prev.device}', under the same host bridge '${hb}', is on socket ${prev.socket}`,
          );
      };
      gpus.forEach((g, i) => {
        place(g, ['devices', 'gpus', i, 'name'], true);
      });
      nics.forEach((n, i) => {
        place(n, ['devices', 'nics', i, 'name'], false);
      });
    }
  }

  // Chunk sizes, largest first.
  gpus.forEach((g, i) => {
    const c = g.chunkSizes ?? [];
    for (let k = 1; k < c.length; k++) {
      if (c[k]! >= c[k - 1]!) {
        issue(
          ctx,
          ['devices', 'gpus', i, 'chunkSizes', k],
          `expected chunk sizes largest first, found ${formatSize(c[k]!)} after ${formatSize(c[k - 1]!)}`,
        );
        break;
      }
    }
  });

  // The profile: a built-in, a file the edge reads (src/profile/read.ts) and whose values are
  // checked when it is read, or a CostProfile object (what the edge read, or one built in code).
  let profile: CostProfile | undefined;
  if (typeof s.profile === 'string') {
    const profileProblem = profileRefProblem(s.profile);
    if (profileProblem !== undefined) issue(ctx, ['profile'], profileProblem);
    profile = isProfileName(s.profile) ? getProfile(s.profile) : undefined;
  } else {
    profile = s.profile;
    const problems =
      isProfileName(profile.name) && getProfile(profile.name) === profile ? [] : costProfileProblems(profile);
    if (problems.length > 0) {
      issue(ctx, ['profile'], `cost profile '${String(profile.name)}': ${problems.join('; ')}`);
      return;
    }
  }
  const profileName = typeof s.profile === 'string' ? s.profile : s.profile.name;

  // Cost overrides: known names, values the parameters' units allow.
  for (const [key, value] of Object.entries(s.overrides ?? {})) {
    const path = ['overrides', key];
    if (!isCostParameterName(key)) {
      issue(
        ctx,
        path,
        `unknown cost parameter '${key}'${didYouMeanSuffix(key, COST_PARAMETER_NAMES) || ' (see docs/costs.md)'}`,
        'key',
      );
      continue;
    }
    const unit = costParameterInfo(key).unit;
    if (value < 0) issue(ctx, path, `expected a number >= 0 (${unit}), found ${value}`);
    else if ((unit === 'count' || unit === 'B') && !Number.isInteger(value))
      issue(ctx, path, `expected a whole number (${unit}), found ${value}`);
    else if ((unit === 'GB/s' || unit === 'GiB/s') && value === 0)
      issue(ctx, path, `expected a bandwidth > 0 (${unit}), found 0`);
    else if (key === 'faultBatchSize' && (value < 1 || value > 65536))
      issue(ctx, path, `expected an integer >= 1 and <= 65536, found ${value}`);
    else {
      // The catalogue's range, as a profile file's value is checked.
      const range = costValueProblems(key, value);
      if (range.length > 0) issue(ctx, path, range[0]!);
    }
  }

  // Links the profile does not have. A profile file is not read here: unless an override says,
  // its links count as present, and simulate() checks them once the edge has read the file
  // (its CostProfile object is then the config's profile).
  // (The links every machine has, host<->device, host memory and NIC, are above 0 in any valid
  // profile and override: their parameters are minExclusive in the catalogue.)
  const bw = (k: 'peerLinkBandwidth' | 'cpuSocketInterconnectBandwidth') =>
    s.overrides?.[k] ?? (profile ? profile.values[k] : Number.POSITIVE_INFINITY);
  if ((s.devices?.gpuLinks?.length ?? 0) > 0 && !(bw('peerLinkBandwidth') > 0)) {
    issue(
      ctx,
      ['devices', 'gpuLinks'],
      `profile '${profileName}' has no private GPU link bandwidth (peerLinkBandwidth is 0)`,
    );
  }
  if (!(bw('cpuSocketInterconnectBandwidth') > 0)) {
    gpus.forEach((g, i) => {
      if (g.socket === 1)
        issue(ctx, ['devices', 'gpus', i, 'socket'], `profile '${profileName}' has one CPU socket`);
    });
    nics.forEach((n, i) => {
      if (n.socket === 1)
        issue(ctx, ['devices', 'nics', i, 'socket'], `profile '${profileName}' has one CPU socket`);
    });
  }

  // The model's physical address space, in the order the kernel's request_free_mem_region
  // places it: RAM; the first chunk of each of the two device-private test_hmm mirrors the
  // simulated machine always has (/dev/hmm_dmirror0 and 1, DEVMEM_CHUNK_SIZE each, created
  // before any GPU); then each GPU's VRAM and BAR. (A mirror's later chunks are asked for at run
  // time, and fail with -ENOMEM where there is no room.)
  const mirrorChunk = DEVMEM_CHUNK_PAGES * PAGE;
  const end = deviceRegionsEndPfn(s.platform?.ram ?? 64 * GiB, [
    mirrorChunk,
    mirrorChunk,
    ...gpus.flatMap((g) => gpuMemRegionBytes(g.vram, g.bar)),
  ]);
  if (end >= MAX_PHYS_PFN) {
    issue(
      ctx,
      gpus.length > 0 ? ['devices', 'gpus', gpus.length - 1, 'vram'] : ['platform', 'ram'],
      `RAM plus every GPU's VRAM and BAR need ${formatSizeApprox(end * PAGE)} of physical address space; the model has ${formatSize(MAX_PHYS_PFN * PAGE)}`,
    );
  }

  // A buffer is one private writable anonymous mmap(), which the default overcommit heuristic
  // refuses when it alone is larger than RAM and swap (__vm_enough_memory(), OVERCOMMIT_GUESS:
  // `pages > totalram_pages() + total_swap_pages` gives -ENOMEM); the model has no swap.
  const ram = s.platform?.ram ?? 64 * GiB;
  s.buffers.forEach((b, i) => {
    if (b.size > ram) {
      issue(
        ctx,
        ['buffers', i, 'size'],
        `buffer '${b.name}' (${formatSize(b.size)}) is larger than the platform's RAM (${formatSize(ram)}): its mmap() would fail with ENOMEM under Linux's default overcommit heuristic (__vm_enough_memory; the model has no swap)`,
      );
    }
  });

  let total = 0;
  for (const b of s.buffers) total += b.size;
  if (total > 64 * TiB) {
    issue(ctx, ['buffers'], `expected buffers of at most 64TiB in all, found ${formatSize(total)}`);
  }
}

/** Version 1 of the scenario format. */
