/**
 * The property tests' data oracle: what every byte of every process's memory should contain,
 * kept independently of the model at page granularity.
 *
 * - A private anonymous page holds a PageState: one or more candidate contents (null = all
 *   zero). More than one candidate exists only where Linux leaves the outcome open (a failed
 *   device WRITE may or may not have reached a page). `lazy` marks a page after MADV_FREE that
 *   has not been dirtied since: it may read back as its data or as zero (reclaimed).
 * - A shared anonymous mapping page refers to a SharedObj (a shmem object shared across fork)
 *   and a page index in it; indexes at or beyond the object's size raise SIGBUS.
 *
 * PageStates and PageMaps are immutable, so fork copies a process's map cheaply.
 */
import { PAGE_SIZE, PROT_READ, PROT_WRITE } from '../../src/kernel/constants.js';

export type Bytes = Uint8Array | null;

export interface PageState {
  readonly cands: readonly Bytes[];
  readonly lazy: boolean;
}

export const ZERO_STATE: PageState = Object.freeze({ cands: Object.freeze([null]), lazy: false });

export interface SharedObj {
  readonly id: number;
  readonly sizePages: number;
  readonly pages: Map<number, PageState>;
}

export type PageMap =
  | { readonly kind: 'priv'; readonly prot: number; readonly st: PageState }
  | { readonly kind: 'shared'; readonly prot: number; readonly obj: SharedObj; readonly index: number };

export function isReadable(pm: PageMap | undefined): boolean {
  return pm !== undefined && (pm.prot & PROT_READ) !== 0;
}

export function isWritable(pm: PageMap | undefined): boolean {
  return pm !== undefined && (pm.prot & PROT_WRITE) !== 0;
}

/** A shared page beyond the end of its object: any access is SIGBUS, device faults fail. */
export function beyondEof(pm: PageMap | undefined): boolean {
  return pm?.kind === 'shared' && pm.index >= pm.obj.sizePages;
}

function eqSlice(c: Bytes, off: number, observed: Uint8Array, obsOff: number, len: number): boolean {
  if (c === null) {
    for (let i = 0; i < len; i++) if (observed[obsOff + i] !== 0) return false;
    return true;
  }
  for (let i = 0; i < len; i++) if (c[off + i] !== observed[obsOff + i]) return false;
  return true;
}

function isZero(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

function sameBytes(a: Bytes, b: Bytes): boolean {
  if (a === b) return true;
  if (a === null) return isZero(b!);
  if (b === null) return isZero(a);
  for (let i = 0; i < PAGE_SIZE; i++) if (a[i] !== b[i]) return false;
  return true;
}

function dedupe(list: Bytes[]): Bytes[] {
  const out: Bytes[] = [];
  for (const c of list) if (!out.some((o) => sameBytes(o, c))) out.push(c);
  return out;
}

/** A CPU store of `bytes` at byte `off` of the page. Dirties the page (ends a lazy free). */
export function storeInto(
  st: PageState,
  off: number,
  bytes: Uint8Array,
  from: number,
  len: number,
): PageState {
  const bases: Bytes[] = st.lazy ? [...st.cands, null] : [...st.cands];
  const out = bases.map((b) => {
    const c = b ? b.slice() : new Uint8Array(PAGE_SIZE);
    c.set(bytes.subarray(from, from + len), off);
    return c;
  });
  return { cands: dedupe(out), lazy: false };
}

/**
 * An observation of `len` bytes at `off` of the page (CPU load or device read). Returns the
 * narrowed state, or null when no allowed content matches.
 */
export function observe(
  st: PageState,
  off: number,
  observed: Uint8Array,
  obsOff: number,
  len: number,
): PageState | null {
  const matching = st.cands.filter((c) => eqSlice(c, off, observed, obsOff, len));
  if (matching.length > 0)
    return matching.length === st.cands.length ? st : { cands: matching, lazy: st.lazy };
  // A lazily freed page that was reclaimed reads as zero from then on.
  if (st.lazy && eqSlice(null, 0, observed, obsOff, len)) return ZERO_STATE;
  return null;
}

/** The device wrote a whole page (a successful WRITE ioctl). */
export function deviceWrote(st: PageState, data: Uint8Array): PageState {
  return { cands: [data], lazy: st.lazy };
}

/** The device may or may not have written the page (a failed WRITE ioctl before its failure point). */
export function deviceMaybeWrote(st: PageState, data: Uint8Array): PageState {
  return { cands: dedupe([...st.cands, data]), lazy: st.lazy };
}

export function describeState(st: PageState): string {
  const parts = st.cands.map((c) => (c === null ? 'zero' : `[${hexPrefix(c)}]`));
  return `${parts.join(' | ')}${st.lazy ? ' (lazyfree: or zero)' : ''}`;
}

export function hexPrefix(b: Uint8Array, n = 12): string {
  return Array.from(b.subarray(0, n), (x) => x.toString(16).padStart(2, '0')).join(' ');
}

let nextObjId = 1;
export function newSharedObj(sizePages: number): SharedObj {
  return { id: nextObjId++, sizePages, pages: new Map() };
}
