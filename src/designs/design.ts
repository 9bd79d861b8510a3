/**
 * The P2P designs from "[RFC 1/5] mm/hmm: HMM API to enable P2P DMA for device private pages"
 * (docs/designs.md): how a client device such as an RDMA NIC gets
 * a DMA-able address for a page that lives in another device's DEVICE_PRIVATE memory.
 *
 * Each design is a small module behind one interface. It decides three things for a client:
 * the dev_private_owner its hmm_range_fault uses, the hook hmm_range_fault calls for another
 * owner's device-private page (kernel/hmm.ts HmmP2pHook), and how a reported pfn becomes the
 * pfn the client DMA-maps. Every design counts the work it adds, for the cost model.
 */
import type { GpuDevice } from '../drivers/gpu.js';
import type { HmmP2pHook } from '../kernel/hmm.js';
import type { Kernel } from '../kernel/kernel.js';

export type DesignName =
  | 'upstream'
  | 'rfc-callback'
  | 'pagemap-p2p'
  | 'owner-registry'
  | 'device-private-flag';
export const DESIGN_NAMES: readonly DesignName[] = [
  'upstream',
  'rfc-callback',
  'pagemap-p2p',
  'owner-registry',
  'device-private-flag',
];

/** pci_p2pdma map types between a provider and a client (drivers/pci/p2pdma.c). */
export type P2pMapType = 'BUS_ADDR' | 'THRU_HOST_BRIDGE' | 'NOT_SUPPORTED';

/** What a design may ask of the platform: PCI connectivity by device name. */
export interface P2pConnectivity {
  /** pci_p2pdma_map_type(provider, client): the kernel caches it per pair. */
  mapType(provider: string, client: string): P2pMapType;
  /**
   * Whether GPU `a` can reach GPU `b`'s memory at all (xe's xe_has_interconnect(): a private
   * link, or pci_p2pdma_distance() >= 0). Absent: every pair can.
   */
  peerReachable?(a: string, b: string): boolean;
}

/** The platform a design works on. */
export interface DesignEnv {
  kernel: Kernel;
  gpus: GpuDevice[];
  connectivity: P2pConnectivity;
}

/** Work a design adds, for the cost model (all counts). */
export interface DesignCounters {
  /** dev_pagemap_ops.get_dma_pfn_for_device calls (rfc-callback). */
  callbacks: number;
  /** Driver lock acquisitions in the P2P path (rfc-callback with a lock per page). */
  locks: number;
  /** pci_p2pdma_map_type queries made by the design. */
  mapTypeQueries: number;
  /** Pages reported as P2P-reachable instead of being migrated. */
  p2pPages: number;
  /** Pages the design sent down the mainline fault path (migration to RAM). */
  fallbackPages: number;
  /** Pages outside a small BAR window. */
  windowMisses: number;
}

/** How one client resolves device-private pages under a design. */
export interface ClientBinding {
  /** dev_private_owner for the client's hmm_range_fault. */
  owner: unknown;
  /** The hook for hmm_range_fault (null: mainline behaviour). */
  hook: HmmP2pHook | null;
  /**
   * The pfn the client DMA-maps for a pfn hmm_range_fault reported: RAM pages and BAR alias
   * pages map as they are; a device-private pfn (owner-registry, device-private-flag) is
   * resolved to the BAR page behind it. A negative errno means "not reachable: fault it to RAM".
   */
  dmaTarget(pfn: number): number;
}

export interface P2pDesign {
  readonly name: DesignName;
  /**
   * Whether a client can reach another device's private memory peer to peer under this design
   * (where the platform allows it). False for mainline, which migrates such pages to RAM: the
   * baseline every other design is compared against (sim/design-study.ts claimVerdict).
   */
  readonly p2p: boolean;
  readonly counters: DesignCounters;
  /** The dev_pagemap owner a GPU must use under this design (called before VRAM is used). */
  gpuOwner(gpu: string, env: Omit<DesignEnv, 'gpus' | 'kernel'> & { gpuNames: string[] }): unknown;
  /** Binds a client device (e.g. "nic0") on a platform. */
  bind(env: DesignEnv, client: string): ClientBinding;
}

export function newCounters(): DesignCounters {
  return { callbacks: 0, locks: 0, mapTypeQueries: 0, p2pPages: 0, fallbackPages: 0, windowMisses: 0 };
}

/** The GPU whose VRAM holds pfn, if any. */
export function gpuOfPfn(env: DesignEnv, pfn: number): GpuDevice | undefined {
  for (const g of env.gpus) if (g.ownsVram(pfn)) return g;
  return undefined;
}

/** The GPU whose BAR (alias pages) holds pfn, if any. */
export function gpuOfBarPfn(env: DesignEnv, pfn: number): GpuDevice | undefined {
  for (const g of env.gpus) if (g.vramPfnOfAlias(pfn) >= 0) return g;
  return undefined;
}
