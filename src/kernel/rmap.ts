/**
 * The anonymous reverse map's objects: anon_vma and the setup of a new anonymous page's rmap
 * (mm/rmap.c: anon_vma_prepare, folio_add_new_anon_rmap).
 *
 * A leaf module (types only from mm.ts and kernel.ts) so that the fault and migration paths
 * (memory.ts, migrate_device.ts) can use it without an import cycle through mm.ts.
 * Deliberate difference: an anon_vma is one object with the set of VMAs that share it; page
 * indexes are stored relative to `indexBase` in a 32-bit frame field.
 */
import { PG_ANON, PG_ANON_EXCLUSIVE } from './frames.js';
import type { Kernel } from './kernel.js';
import type { Vma } from './mm.js';

export class AnonVma {
  /** Every VMA whose anon_vma chain includes this anon_vma (parent and forked children). */
  readonly vmas = new Set<Vma>();
  constructor(
    readonly id: number,
    /** Page indexes are stored relative to this base in the frame table (32-bit field). */
    readonly indexBase: number,
  ) {}
}

/** anon_vma_prepare. */
export function anonVmaPrepare(k: Kernel, vma: Vma): AnonVma {
  if (vma.anonVma) return vma.anonVma;
  const av = new AnonVma(k.newId(), vma.pgoff - 2 ** 31);
  k.anonVmas.set(av.id, av);
  vma.anonVma = av;
  vma.anonChain.push(av);
  av.vmas.add(vma);
  return av;
}

/** folio_add_new_anon_rmap for a page at va: sets PG_ANON, exclusive, and the rmap index. */
export function setAnonRmap(k: Kernel, vma: Vma, pfn: number, va: number, exclusive: boolean): void {
  const av = anonVmaPrepare(k, vma);
  const rel = vma.linearPageIndex(va) - av.indexBase;
  if (rel < 0 || rel >= 2 ** 32) throw new Error('model bug: anon page index out of the 32-bit window');
  const f = k.frames;
  f.setMapping(pfn, av.id, rel);
  f.setFlag(pfn, PG_ANON | (exclusive ? PG_ANON_EXCLUSIVE : 0));
}
