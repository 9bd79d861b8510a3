/**
 * A tiny harness for the kernel's HMM selftests (tools/testing/selftests/mm/hmm-tests.c),
 * re-expressed against hmmlab's process interface. The same cases run under vitest
 * (test/conformance/) and under `hmmlab selftest`.
 *
 * Fixtures mirror the C ones: `hmm` opens one device (/dev/hmm_dmirror0 for the
 * device-private variant, /dev/hmm_dmirror2 for device-coherent); `hmm2` opens two
 * (0 and 1, or 2 and 3). Teardown closes the device files, which evicts device memory.
 */

import { checkInvariants } from '../check/invariants.js';
import { errnoName, O_RDWR } from '../kernel/constants.js';
import { Machine, type MachineOptions, type Process } from '../uapi/machine.js';

export type Variant = 'device_private' | 'device_coherent';
export const VARIANTS: readonly Variant[] = ['device_private', 'device_coherent'];

export interface HmmFixture {
  machine: Machine;
  /** The test process (the C test's own process). */
  p: Process;
  variant: Variant;
  /** Fixture `hmm`: the device file; fixture `hmm2`: equal to fd0. */
  fd: number;
  fd0: number;
  fd1: number;
  pageSize: number;
  pageShift: number;
}

export interface SelftestCase {
  /** Test name as in hmm-tests.c, without the fixture prefix. */
  name: string;
  fixture: 'hmm' | 'hmm2';
  run(f: HmmFixture): void;
}

/** Thrown by a case to SKIP, with the reason (the C harness's SKIP()). */
export class SelftestSkip extends Error {
  constructor(public readonly reason: string) {
    super(reason);
    this.name = 'SelftestSkip';
  }
}

/** Thrown by a failed assertion (the C harness's ASSERT_*). */
export class SelftestFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelftestFailure';
  }
}

function show(v: unknown): string {
  if (typeof v === 'number' && Number.isInteger(v) && v < 0 && v > -200) return `${v} (${errnoName(v)})`;
  if (typeof v === 'number' && Number.isInteger(v) && v > 255) return `${v} (0x${v.toString(16)})`;
  if (typeof v === 'bigint') return `0x${v.toString(16)}`;
  return String(v);
}

/** ASSERT_EQ: fails with both values and what was compared. */
export function assertEq(actual: unknown, expected: unknown, what: string): void {
  if (actual !== expected) {
    throw new SelftestFailure(`${what}: expected ${show(expected)}, got ${show(actual)}`);
  }
}

/** ASSERT_NE. */
export function assertNe(actual: unknown, unexpected: unknown, what: string): void {
  if (actual === unexpected) throw new SelftestFailure(`${what}: expected anything but ${show(unexpected)}`);
}

/** ASSERT_TRUE. */
export function assertTrue(cond: boolean, what: string): void {
  if (!cond) throw new SelftestFailure(`${what}: expected true`);
}

export interface SelftestResult {
  test: string;
  variant: Variant;
  status: 'pass' | 'fail' | 'skip';
  /** Failure message or skip reason. */
  detail?: string;
}

function deviceFor(variant: Variant, which: 0 | 1): string {
  const base = variant === 'device_private' ? 0 : 2;
  return `/dev/hmm_dmirror${base + which}`;
}

/**
 * Runs one case in one variant on a fresh machine, with the fixture's setup and teardown.
 * `options` lets a caller shrink or change the machine (the defaults are the issue's).
 */
export function runSelftest(c: SelftestCase, variant: Variant, options: MachineOptions = {}): SelftestResult {
  const test = `${c.fixture}.${c.name}`;
  const machine = new Machine(options);
  const p = machine.spawn();
  const fd0 = p.open(deviceFor(variant, 0), O_RDWR);
  if (fd0 < 0 && variant === 'device_coherent') {
    return { test, variant, status: 'skip', detail: 'DEVICE_COHERENT devices are not present' };
  }
  let fd1 = -1;
  try {
    assertTrue(fd0 >= 0, `open ${deviceFor(variant, 0)}`);
    if (c.fixture === 'hmm2') {
      fd1 = p.open(deviceFor(variant, 1), O_RDWR);
      assertTrue(fd1 >= 0, `open ${deviceFor(variant, 1)}`);
    }
    const f: HmmFixture = {
      machine,
      p,
      variant,
      fd: fd0,
      fd0,
      fd1,
      pageSize: 4096,
      pageShift: 12,
    };
    c.run(f);
    const during = checkInvariants(machine);
    if (during.length > 0)
      throw new SelftestFailure(`model invariant violated after the test: ${during.slice(0, 3).join('; ')}`);
    // Teardown: close the device files (which evicts device memory), as the C fixture does.
    if (p.alive) {
      assertEq(p.close(fd0), 0, 'teardown close(fd0)');
      if (fd1 >= 0) assertEq(p.close(fd1), 0, 'teardown close(fd1)');
    }
    const after = checkInvariants(machine);
    if (after.length > 0)
      throw new SelftestFailure(`model invariant violated after teardown: ${after.slice(0, 3).join('; ')}`);
    return { test, variant, status: 'pass' };
  } catch (e) {
    if (e instanceof SelftestSkip) return { test, variant, status: 'skip', detail: e.reason };
    if (e instanceof SelftestFailure) return { test, variant, status: 'fail', detail: e.message };
    // Anything else is a bug in the model surfaced by the test: report it as a failure with
    // its message and first stack frames so it can be found.
    const err = e as Error;
    const where = (err.stack ?? '').split('\n').slice(1, 4).join(' | ');
    return { test, variant, status: 'fail', detail: `${err.name}: ${err.message} ${where}` };
  }
}
