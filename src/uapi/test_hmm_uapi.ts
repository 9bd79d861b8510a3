/**
 * The dmirror device's user interface, as in lib/test_hmm_uapi.h.
 * Requests are _IOWR('H', nr, struct hmm_dmirror_cmd): (3 << 30) | (40 << 16) | ('H' << 8) | nr.
 */

function iowr(nr: number): number {
  return 3 * 2 ** 30 + 40 * 2 ** 16 + 0x48 * 2 ** 8 + nr;
}

export const HMM_DMIRROR_READ = iowr(0x00);
export const HMM_DMIRROR_WRITE = iowr(0x01);
export const HMM_DMIRROR_MIGRATE_TO_DEV = iowr(0x02);
export const HMM_DMIRROR_MIGRATE_TO_SYS = iowr(0x03);
export const HMM_DMIRROR_SNAPSHOT = iowr(0x04);
export const HMM_DMIRROR_EXCLUSIVE = iowr(0x05);
export const HMM_DMIRROR_CHECK_EXCLUSIVE = iowr(0x06);
export const HMM_DMIRROR_RELEASE = iowr(0x07);
export const HMM_DMIRROR_FLAGS = iowr(0x08);

/** HMM_DMIRROR_FLAGS value: the next device allocation in a migration fails once. */
export const HMM_DMIRROR_FLAG_FAIL_ALLOC = 1 << 0;

/** Snapshot bytes (enum in test_hmm_uapi.h). */
export const HMM_DMIRROR_PROT_ERROR = 0xff;
export const HMM_DMIRROR_PROT_NONE = 0x00;
export const HMM_DMIRROR_PROT_READ = 0x01;
export const HMM_DMIRROR_PROT_WRITE = 0x02;
export const HMM_DMIRROR_PROT_PMD = 0x04;
export const HMM_DMIRROR_PROT_PUD = 0x08;
export const HMM_DMIRROR_PROT_ZERO = 0x10;
export const HMM_DMIRROR_PROT_DEV_PRIVATE_LOCAL = 0x20;
export const HMM_DMIRROR_PROT_DEV_PRIVATE_REMOTE = 0x30;
export const HMM_DMIRROR_PROT_DEV_COHERENT_LOCAL = 0x40;
export const HMM_DMIRROR_PROT_DEV_COHERENT_REMOTE = 0x50;

export const HMM_DMIRROR_MEMORY_DEVICE_PRIVATE = 1;
export const HMM_DMIRROR_MEMORY_DEVICE_COHERENT = 2;

/** struct hmm_dmirror_cmd: numbers instead of __u64 (exact up to 2^53). */
export interface HmmDmirrorCmd {
  addr: number;
  ptr: number;
  npages: number;
  cpages: number;
  faults: number;
}
