/**
 * `hmmlab/drivers`: device drivers written only against the kernel API (hmmlab/kernel).
 * Their calls return Linux errno values as negative numbers, as the kernel's do.
 */

/** A device translation table (GPU page table, NIC MR table) in typed arrays per 2 MiB. */
export { DeviceTable } from './device-table.js';
/** lib/test_hmm.c's dmirror device and its per-file mirror (the ioctls return 0 or -errno). */
export { DEVMEM_CHUNK_PAGES, Dmirror, DmirrorDevice } from './dmirror.js';
/** The SVM GPU driver (src/drivers/gpu/): device, mirror, options, stats, and the TransferSink its copies go to. */
export * from './gpu/index.js';
/** An RDMA NIC with on-demand paging memory regions (ib_umem_odp). */
export {
  NIC_HOST,
  NIC_P2P_BUS,
  NIC_P2P_HOST_BRIDGE,
  OdpMr,
  RdmaNic,
  type RdmaOptions,
  type RdmaStats,
} from './rdma.js';
