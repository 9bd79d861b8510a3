// SKELETON: replaced by the real implementation.
import type { HmmDmirrorCmd } from './test_hmm_uapi.js';

export interface MachineOptions {
  ramBytes?: number;
  thp?: boolean | 'always' | 'madvise' | 'never';
  coherentDevices?: boolean;
  hugetlbPages?: number;
}

export class SegvError extends Error {
  constructor(public readonly addr: number) {
    super(`SIGSEGV at 0x${addr.toString(16)}`);
  }
}

export class Process {
  alive = true;
  mmap(_addr: number, _length: number, _prot: number, _flags: number, _fd = -1, _offset = 0): number {
    throw new Error('not implemented');
  }
  munmap(_addr: number, _length: number): number {
    throw new Error('not implemented');
  }
  mprotect(_addr: number, _length: number, _prot: number): number {
    throw new Error('not implemented');
  }
  madvise(_addr: number, _length: number, _advice: number): number {
    throw new Error('not implemented');
  }
  mremap(_oldAddr: number, _oldLength: number, _newLength: number, _flags: number, _newAddr?: number): number {
    throw new Error('not implemented');
  }
  open(_path: string, _flags: number): number {
    throw new Error('not implemented');
  }
  close(_fd: number): number {
    throw new Error('not implemented');
  }
  ftruncate(_fd: number, _length: number): number {
    throw new Error('not implemented');
  }
  pwrite(_fd: number, _bytes: Uint8Array, _offset: number): number {
    throw new Error('not implemented');
  }
  pread(_fd: number, _length: number, _offset: number): Uint8Array | number {
    throw new Error('not implemented');
  }
  ioctl(_fd: number, _request: number, _cmd: HmmDmirrorCmd): number {
    throw new Error('not implemented');
  }
  *ioctlSteps(_fd: number, _request: number, _cmd: HmmDmirrorCmd): Generator<string, number> {
    throw new Error('not implemented');
  }
  load(_addr: number, _length: number): Uint8Array {
    throw new Error('not implemented');
  }
  store(_addr: number, _bytes: Uint8Array): void {
    throw new Error('not implemented');
  }
  fork(): Process {
    throw new Error('not implemented');
  }
  exit(): void {
    throw new Error('not implemented');
  }
  kill(): void {
    throw new Error('not implemented');
  }
  pagemap(_addr: number): bigint {
    throw new Error('not implemented');
  }
}

export class Machine {
  constructor(_options: MachineOptions = {}) {}
  spawn(): Process {
    throw new Error('not implemented');
  }
  gupTest(_p: Process, _addr: number, _npages: number, _opts: { longterm: boolean; fast: boolean }): number {
    throw new Error('not implemented');
  }
  hugetlbFreePages(): number {
    throw new Error('not implemented');
  }
}
