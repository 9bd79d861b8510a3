/**
 * Time before state: the virtual ranges whose kernel state changed at once (the model's kernel
 * functions are synchronous) while the simulated work that makes the change (CPU time on a
 * core, the copies) is still running. Whoever touches such a range waits until that work is
 * done, as in Linux a thread that meets a migration entry waits for the folio
 * (migration_entry_wait, called from do_swap_page and from hmm_vma_handle_pte through
 * hmm_vma_fault) and a NIC that meets a page its ODP MR does not map yet waits for the page
 * fault in flight (the device's page-fault handling serialises on the MR's umem_mutex).
 *
 *   // the kernel calls noteMoved(mm, start, end) for every folio a migration moved;
 *   const hold = sim.inflight.hold();          // right after the synchronous kernel work
 *   ... yield the CPU time and the copies ...
 *   sim.inflight.release(hold);                // the new state is now visible
 *
 *   yield* sim.inflight.waitClear(mm, start, end, 'nic0');   // an accessor, before it looks
 *
 * A hold covers the folios moved since the last hold (kernel observer `onFolioMoved`) and any
 * range the holder adds (a NIC's faulting range, visible only to that NIC's queue pairs).
 * A migration also waits for the device DMAs already running on the pages it moves (`drain`):
 * its invalidation returns only when the devices stopped using them.
 * Linux counterpart: the folio lock and migration entries (mm/migrate.c, mm/migrate_device.c)
 * and, for a NIC, the ODP page-fault path (drivers/infiniband/hw/mlx5/odp.c). Deliberate
 * differences: the wait ends when the whole operation that held it ends (a GPU fault batch of
 * several migrate_vma calls, a NIC fault), where Linux ends it at each call's
 * migrate_vma_finalize, after that call's copies; the drain happens after the kernel work that
 * changed the page tables, before the operation's CPU time and copies; a GPU's own remote and
 * peer accesses are not DMAs a migration drains (only NIC DMAs are registered).
 */
import type { Engine, Signal, Wait, Waitable } from './engine.js';

/** A range whose new state is not visible yet. */
interface Span {
  readonly mm: number;
  readonly start: number;
  readonly end: number;
  /** Visible only to this device's accesses (a NIC's fault in flight); null: to everyone. */
  readonly only: string | null;
  readonly hold: Hold;
}

/** What one operation holds until its work is done. */
export interface Hold {
  readonly done: Signal<void>;
  readonly spans: Span[];
  released: boolean;
}

export class InFlight {
  private spans: Span[] = [];
  /** Folios moved since the last hold: [mm, start, end] triples. */
  private moved: number[] = [];

  constructor(private readonly engine: Engine) {}

  /** Kernel observer: the folio mapped at [start, end) of `mm` was migrated (its PTEs now point at the new folio). */
  noteMoved(mm: number, start: number, end: number): void {
    const m = this.moved;
    const n = m.length;
    // Adjacent folios of one migration merge into one range.
    if (n > 0 && m[n - 3] === mm && m[n - 1] === start) m[n - 1] = end;
    else m.push(mm, start, end);
  }

  /** Device DMAs started and maybe still running: [mm, start, end] and the transfer. */
  private dmas: { mm: number; start: number; end: number; p: Waitable & { readonly done: boolean } }[] = [];

  /** A device DMA to or from [start, end) of `mm` started: a migration of those pages waits for it. */
  dmaStarted(mm: number, start: number, end: number, p: Waitable & { readonly done: boolean }): void {
    if (this.dmas.length >= 256) this.dmas = this.dmas.filter((d) => !d.p.done);
    this.dmas.push({ mm, start, end, p });
  }

  /**
   * Waits for the device DMAs still running on the ranges `h` holds (shared ones only): the
   * migration's MMU_NOTIFY_MIGRATE invalidation returns only when the device has stopped using
   * the old pages (an ODP MR's invalidate zaps its translations and waits for the update), so
   * the copy starts after them. Returns the time waited.
   */
  *drain(h: Hold): Generator<Wait, number, unknown> {
    const t0 = this.engine.now;
    for (const d of this.dmas) {
      if (d.p.done) continue;
      for (const s of h.spans) {
        if (s.only !== null || s.mm !== d.mm || s.start >= d.end || s.end <= d.start) continue;
        yield d.p;
        break;
      }
    }
    return this.engine.now - t0;
  }

  /** Whether anything moved since the last hold (a path that moves nothing needs no hold). */
  get pending(): boolean {
    return this.moved.length > 0;
  }

  /**
   * Holds the ranges moved since the last hold, plus `extra` ([mm, start, end] seen only by
   * device `only`), until `release`.
   */
  hold(extra?: { mm: number; start: number; end: number; only: string }): Hold {
    const h: Hold = { done: this.engine.signal<void>(), spans: [], released: false };
    const m = this.moved;
    for (let i = 0; i < m.length; i += 3)
      h.spans.push({ mm: m[i]!, start: m[i + 1]!, end: m[i + 2]!, only: null, hold: h });
    this.moved = [];
    if (extra) h.spans.push({ ...extra, hold: h });
    for (const s of h.spans) this.spans.push(s);
    return h;
  }

  /** The work behind `h` is done: its ranges' new state is visible and its waiters run. */
  release(h: Hold): void {
    if (h.released) return;
    h.released = true;
    if (h.spans.length > 0) this.spans = this.spans.filter((s) => s.hold !== h);
    h.done.fire(undefined);
  }

  /** The hold of a range overlapping [start, end) of `mm` that `who` must wait for, or null. */
  blocking(mm: number, start: number, end: number, who: string): Hold | null {
    for (const s of this.spans) {
      if (s.mm !== mm || s.start >= end || s.end <= start) continue;
      if (s.only !== null && s.only !== who) continue;
      return s.hold;
    }
    return null;
  }

  /** Waits until no held range overlaps [start, end) of `mm` for `who`; returns the time waited. */
  *waitClear(mm: number, start: number, end: number, who: string): Generator<Wait, number, unknown> {
    const t0 = this.engine.now;
    for (let h = this.blocking(mm, start, end, who); h; h = this.blocking(mm, start, end, who)) yield h.done;
    return this.engine.now - t0;
  }
}
