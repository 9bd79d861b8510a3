/**
 * The five designs. Each is small: what it changes is one decision in hmm_range_fault and one
 * in the client driver.
 */

import type { GpuDevice } from '../drivers/gpu.js';
import { EINVAL, ENOMEM, MEMORY_DEVICE_PRIVATE } from '../kernel/constants.js';
import { HMM_P2P_FAULT } from '../kernel/hmm.js';
import {
  type ClientBinding,
  type DesignCounters,
  type DesignEnv,
  type DesignName,
  gpuOfPfn,
  newCounters,
  type P2pDesign,
} from './design.js';

const identity = (pfn: number) => pfn;

/**
 * The BAR alias pfn of a VRAM page for a P2P hook, or HMM_P2P_FAULT when the page is outside
 * the BAR window (counted) or the device is going away.
 */
function aliasOrFault(gpu: GpuDevice, pfn: number, c: DesignCounters): number {
  const alias = gpu.aliasPfn(pfn);
  if (alias === -ENOMEM) {
    c.windowMisses++;
    c.fallbackPages++;
    return HMM_P2P_FAULT;
  }
  if (alias < 0) return HMM_P2P_FAULT;
  c.p2pPages++;
  return alias;
}

/**
 * Whether a GPU's pagemap is reachable by `client` over PCI, asked once per GPU (the kernel
 * caches pci_p2pdma_map_type per pair; each first query counts).
 */
function reachability(env: DesignEnv, client: string, c: DesignCounters): (gpu: string) => boolean {
  const cache = new Map<string, boolean>();
  return (gpu) => {
    let ok = cache.get(gpu);
    if (ok === undefined) {
      c.mapTypeQueries++;
      ok = env.connectivity.mapType(gpu, client) !== 'NOT_SUPPORTED';
      cache.set(gpu, ok);
    }
    return ok;
  };
}

/**
 * upstream: mainline today. hmm_range_fault faults another owner's device-private page, so
 * the GPU's migrate_to_ram moves it to RAM and the client maps the RAM page.
 */
export class UpstreamDesign implements P2pDesign {
  readonly name: DesignName = 'upstream';
  readonly p2p = false;
  readonly counters: DesignCounters = newCounters();
  gpuOwner(): unknown {
    return undefined;
  }
  bind(): ClientBinding {
    return { owner: null, hook: null, dmaTarget: identity };
  }
}

export interface RfcCallbackOptions {
  /** Take a driver lock around every callback (Jason Gunthorpe's concern in the RFC review). */
  lockPerPage?: boolean;
}

/**
 * rfc-callback: the client asks for HMM_PFN_ALLOW_P2P; for each device-private page of
 * another owner hmm_range_fault calls dev_pagemap_ops.get_dma_pfn_for_device, which returns
 * the page's BAR alias pfn (a PCI_P2PDMA page) or -ENOMEM outside the BAR window (then the
 * page faults as mainline). Connectivity is only checked when the client DMA-maps the alias
 * page (pci_p2pdma_state), where a NOT_SUPPORTED path triggers the client's fallback.
 */
export class RfcCallbackDesign implements P2pDesign {
  readonly name: DesignName = 'rfc-callback';
  readonly p2p = true;
  readonly counters: DesignCounters = newCounters();
  constructor(readonly opts: RfcCallbackOptions = {}) {}
  gpuOwner(): unknown {
    return undefined;
  }
  bind(env: DesignEnv): ClientBinding {
    const c = this.counters;
    return {
      owner: null,
      hook: {
        devicePrivate: (pfn) => {
          const gpu = gpuOfPfn(env, pfn);
          if (!gpu) return HMM_P2P_FAULT;
          c.callbacks++;
          if (this.opts.lockPerPage) c.locks++;
          return aliasOrFault(gpu, pfn, c);
        },
      },
      dmaTarget: identity,
    };
  }
}

/**
 * pagemap-p2p: core code decides once per (pagemap, client) from the p2pdma distance
 * ("access limitations are uniform for a given dev_pagemap", Simona Vetter). A reachable
 * pagemap's pages are reported as their BAR alias pfns with no per-page driver callback; an
 * unreachable one faults as mainline. A small BAR splits the pagemap: pages beyond the window
 * fault.
 */
export class PagemapP2pDesign implements P2pDesign {
  readonly name: DesignName = 'pagemap-p2p';
  readonly p2p = true;
  readonly counters: DesignCounters = newCounters();
  gpuOwner(): unknown {
    return undefined;
  }
  bind(env: DesignEnv, client: string): ClientBinding {
    const c = this.counters;
    const reachable = reachability(env, client, c);
    return {
      owner: null,
      hook: {
        devicePrivate: (pfn) => {
          const gpu = gpuOfPfn(env, pfn);
          if (!gpu) return HMM_P2P_FAULT;
          if (!reachable(gpu.name)) {
            c.fallbackPages++;
            return HMM_P2P_FAULT;
          }
          return aliasOrFault(gpu, pfn, c);
        },
      },
      dmaTarget: identity,
    };
  }
}

/**
 * owner-registry: Xe's drm_pagemap_owner registry (Linux 7.0). A pagemap joins an owner only
 * if it has an interconnect with every member; members share the dev_private_owner, so
 * hmm_range_fault reports each other's device-private pfns as their own. The client maps such
 * a pfn through the pagemap's device_map (dma_map_resource of the BAR address): no alias
 * struct pages. Here every GPU forms one owner with the clients that can reach all of them.
 */
export class OwnerRegistryDesign implements P2pDesign {
  readonly name: DesignName = 'owner-registry';
  readonly p2p = true;
  readonly counters: DesignCounters = newCounters();
  /**
   * The owner groups, in the order GPUs joined (drm_pagemap_acquire_owner): a GPU joins the
   * first group whose every member it can reach both ways, else starts a group of its own.
   */
  private readonly groups: { token: object; members: string[] }[] = [];
  gpuOwner(gpu: string, env: Omit<DesignEnv, 'gpus' | 'kernel'>): unknown {
    const known = this.groups.find((g) => g.members.includes(gpu));
    if (known) return known.token;
    const reach = (a: string, b: string) => env.connectivity.peerReachable?.(a, b) ?? true;
    let group = this.groups.find((g) => g.members.every((m) => reach(m, gpu) && reach(gpu, m)));
    if (!group) {
      group = { token: { owner: 'drm_pagemap_owner', group: this.groups.length }, members: [] };
      this.groups.push(group);
    }
    group.members.push(gpu);
    return group.token;
  }
  bind(env: DesignEnv, client: string): ClientBinding {
    const c = this.counters;
    // A client joins the first group it reaches every member of: one owner per client.
    const reachable = new Map<string, boolean>();
    for (const g of env.gpus) {
      c.mapTypeQueries++;
      reachable.set(g.name, env.connectivity.mapType(g.name, client) !== 'NOT_SUPPORTED');
    }
    // A GPU bound without having asked gpuOwner (a bare design test) joins its group now, by
    // the same rule; for the others this finds the group they joined.
    for (const g of env.gpus) this.gpuOwner(g.name, env);
    const present = (g: { members: string[] }) => g.members.filter((m) => reachable.has(m));
    const group = this.groups.find((g) => present(g).length > 0 && present(g).every((m) => reachable.get(m)));
    if (!group) return { owner: null, hook: null, dmaTarget: identity };
    return {
      owner: group.token,
      hook: null,
      dmaTarget: (pfn) => {
        if (env.kernel.pgmapOf(pfn)?.type !== MEMORY_DEVICE_PRIVATE) return pfn;
        const gpu = gpuOfPfn(env, pfn);
        if (!gpu) return -EINVAL;
        const bar = gpu.barPfn(pfn);
        if (bar < 0) {
          c.windowMisses++;
          c.fallbackPages++;
          return bar;
        }
        c.p2pPages++;
        return bar;
      },
    };
  }
}

/**
 * device-private-flag: hmm_range_fault marks another owner's device-private pfns
 * (HMM_PFN_DEVICE_PRIVATE, as in the posted "remove device private pages from the physical
 * address space" series) instead of faulting them, and the caller decides: here the client
 * asks the owning driver for the page's BAR address, and faults the page to RAM when there is
 * no path or the page is outside the BAR.
 */
export class DevicePrivateFlagDesign implements P2pDesign {
  readonly name: DesignName = 'device-private-flag';
  readonly p2p = true;
  readonly counters: DesignCounters = newCounters();
  gpuOwner(): unknown {
    return undefined;
  }
  bind(env: DesignEnv, client: string): ClientBinding {
    const c = this.counters;
    const reachable = reachability(env, client, c);
    return {
      owner: null,
      hook: {
        devicePrivate: (pfn) => (gpuOfPfn(env, pfn) ? pfn : HMM_P2P_FAULT),
      },
      dmaTarget: (pfn) => {
        if (env.kernel.pgmapOf(pfn)?.type !== MEMORY_DEVICE_PRIVATE) return pfn;
        const gpu = gpuOfPfn(env, pfn);
        if (!gpu) return -EINVAL;
        const ok = reachable(gpu.name);
        c.callbacks++; // the driver-to-driver address query
        if (!ok) {
          c.fallbackPages++;
          return -EINVAL;
        }
        const bar = gpu.barPfn(pfn);
        if (bar < 0) {
          c.windowMisses++;
          c.fallbackPages++;
          return bar;
        }
        c.p2pPages++;
        return bar;
      },
    };
  }
}

/** A design by name. */
export function createDesign(name: DesignName, opts: RfcCallbackOptions = {}): P2pDesign {
  switch (name) {
    case 'upstream':
      return new UpstreamDesign();
    case 'rfc-callback':
      return new RfcCallbackDesign(opts);
    case 'pagemap-p2p':
      return new PagemapP2pDesign();
    case 'owner-registry':
      return new OwnerRegistryDesign();
    case 'device-private-flag':
      return new DevicePrivateFlagDesign();
  }
}
