/**
 * Invariants of the kernel model, checked from scratch (an oracle that recomputes what the
 * incremental state should be): every mapping points at a live frame of the right kind,
 * refcounts and mapcounts equal what the page tables, page cache and drivers hold, nothing is
 * left locked or mid-migration at quiescence, allocator counters match, and every device
 * mirror obeys the mmu-notifier contract (a mirrored page is the page the CPU maps there, or
 * for test_hmm the backing page of it, writable only if the CPU entry is). No kernel code hit
 * an oops (Kernel.oopses), and test_hmm's device-private pages hold no bytes.
 */
import { HPAGE_PMD_NR, MEMORY_DEVICE_PRIVATE, PAGE_SIZE, PMD_SIZE, VM_WRITE } from '../kernel/constants.js';
import {
  PG_ALLOCATED,
  PG_ANON,
  PG_ANON_EXCLUSIVE,
  PG_LOCKED,
  PG_TAIL,
  PG_ZERO,
  SECTION_FRAMES,
} from '../kernel/frames.js';
import {
  PMD_DEVICE_PRIVATE,
  PMD_HUGE,
  PMD_MIGRATION,
  PMD_NONE,
  PMD_TABLE,
  PTE_DEVICE_EXCLUSIVE,
  PTE_DEVICE_PRIVATE,
  PTE_MIGRATION,
  PTE_NONE,
  PTE_PRESENT,
  PTE_TYPE_MASK,
  PTE_WRITE,
} from '../kernel/pgtable.js';
import type { Machine } from '../uapi/machine.js';

const hex = (n: number) => `0x${n.toString(16)}`;

/** Returns every violated invariant as a sentence; an empty list means the model is consistent. */
export function checkInvariants(m: Machine): string[] {
  const k = m.kernel;
  const f = k.frames;
  const out: string[] = [];
  const maps = new Map<number, number>();
  const refs = new Map<number, number>();
  const bump = (mp: Map<number, number>, key: number) => mp.set(key, (mp.get(key) ?? 0) + 1);

  const allocated = (pfn: number) => f.valid(pfn) && f.hasFlag(pfn, PG_ALLOCATED) && f.ref(f.head(pfn)) > 0;

  for (const p of m.processes) {
    if (!p.alive) continue;
    const mm = p.mm;
    const who = `pid ${p.pid}`;
    // VMAs: sorted, page aligned, non-empty, not overlapping.
    let prevEnd = 0;
    for (const v of mm.vmas) {
      if (v.start % PAGE_SIZE || v.end % PAGE_SIZE || v.end <= v.start)
        out.push(`${who}: bad VMA ${hex(v.start)}-${hex(v.end)}`);
      if (v.start < prevEnd) out.push(`${who}: VMAs overlap at ${hex(v.start)}`);
      prevEnd = v.end;
    }
    if (mm.notifiers.activeInvalidateRanges !== 0) out.push(`${who}: an invalidation is still active`);
    if (mm.notifiers.invalidateSeq % 2 !== 0) out.push(`${who}: notifier sequence is odd at quiescence`);
    for (const [key, slot] of mm.pt.pmds) {
      const base = key * PMD_SIZE;
      if (slot.kind === PMD_NONE) continue;
      if (slot.kind === PMD_MIGRATION) {
        out.push(`${who}: PMD migration entry left at ${hex(base)}`);
        continue;
      }
      if (slot.kind === PMD_HUGE || slot.kind === PMD_DEVICE_PRIVATE) {
        const vma = mm.vmaLookup(base);
        if (!vma || vma.end < base + PMD_SIZE) out.push(`${who}: huge entry at ${hex(base)} outside a VMA`);
        if (slot.pfn === k.hugeZeroPfn) continue;
        if (!allocated(slot.pfn)) {
          out.push(`${who}: huge entry at ${hex(base)} maps free frame ${slot.pfn}`);
          continue;
        }
        if ((slot.kind === PMD_DEVICE_PRIVATE) !== k.isDevicePrivate(slot.pfn)) {
          out.push(`${who}: huge entry at ${hex(base)} has the wrong kind for pfn ${slot.pfn}`);
        }
        if (slot.bits & PTE_WRITE && vma && !(vma.flags & VM_WRITE))
          out.push(`${who}: writable huge entry in a read-only VMA at ${hex(base)}`);
        for (let i = 0; i < HPAGE_PMD_NR; i++) bump(maps, slot.pfn + i);
        bump(refs, slot.pfn);
        continue;
      }
      if (slot.kind !== PMD_TABLE) continue;
      const t = slot.table!;
      let used = 0;
      for (let i = 0; i < HPAGE_PMD_NR; i++) {
        const bits = t.bits[i]!;
        const type = bits & PTE_TYPE_MASK;
        if (type === PTE_NONE) continue;
        used++;
        const va = base + i * PAGE_SIZE;
        const pfn = t.pfn[i]!;
        const vma = mm.vmaLookup(va);
        if (!vma) out.push(`${who}: entry at ${hex(va)} outside any VMA`);
        if (type === PTE_MIGRATION) {
          out.push(`${who}: migration entry left at ${hex(va)}`);
          continue;
        }
        if (type === PTE_PRESENT && k.isZeroPfn(pfn)) {
          if (bits & PTE_WRITE) out.push(`${who}: writable zero page at ${hex(va)}`);
          continue;
        }
        if (!allocated(pfn)) {
          out.push(`${who}: entry at ${hex(va)} maps free frame ${pfn}`);
          continue;
        }
        if ((type === PTE_DEVICE_PRIVATE) !== k.isDevicePrivate(pfn)) {
          out.push(`${who}: entry at ${hex(va)} has the wrong kind for pfn ${pfn}`);
        }
        if (type === PTE_PRESENT && bits & PTE_WRITE) {
          if (vma && !(vma.flags & VM_WRITE))
            out.push(`${who}: writable PTE in a read-only VMA at ${hex(va)}`);
          if (f.hasFlag(pfn, PG_ANON) && !f.hasFlag(pfn, PG_ANON_EXCLUSIVE)) {
            out.push(`${who}: writable PTE at ${hex(va)} maps a shared anonymous page ${pfn}`);
          }
        }
        bump(maps, pfn);
        bump(refs, f.head(pfn));
      }
      if (used !== t.used)
        out.push(`${who}: PTE table at ${hex(base)} counts ${t.used} entries, holds ${used}`);
    }
  }
  // The page cache holds one reference per page.
  for (const inode of k.inodes.values()) for (const pfn of inode.pages.values()) bump(refs, pfn);
  // A test_hmm device holds one reference on each backing page of its device-private pages.
  const dmirrorPagemaps = new Set<unknown>();
  for (const dev of m.devices) {
    if (!dev) continue;
    dmirrorPagemaps.add(dev);
    for (const rpage of dev.zoneDeviceData.values()) bump(refs, rpage);
  }
  // Kernel code that copied through a kernel mapping it does not have (highmem.ts).
  for (const o of k.oopses) out.push(`kernel oops: ${o}`);

  // Every frame: references and mappings equal what was found above.
  let ramAllocated = 0;
  const pgmapRefs = new Map<number, number>();
  for (const s of f.populatedSections()) {
    for (let pfn = s; pfn < s + SECTION_FRAMES; pfn++) {
      const flags = f.flags(pfn);
      const mc = f.mapcount(pfn);
      const want = maps.get(pfn) ?? 0;
      if (flags & PG_ZERO) continue;
      if (!(flags & PG_ALLOCATED)) {
        if (f.ref(pfn) !== 0 || mc !== 0)
          out.push(`free frame ${pfn} has refcount ${f.ref(pfn)} mapcount ${mc}`);
        continue;
      }
      if (pfn < k.ramPages) ramAllocated++;
      else {
        const id = f.pgmapId(pfn);
        pgmapRefs.set(id, (pgmapRefs.get(id) ?? 0) + 1);
        // test_hmm's device-private pages are struct pages only: their data is in the backing page.
        const pgmap = k.pgmaps[id];
        if (pgmap?.type === MEMORY_DEVICE_PRIVATE && dmirrorPagemaps.has(pgmap.owner) && f.fillTag(pfn) !== 0)
          out.push(
            `frame ${pfn}: a dmirror device-private page holds bytes (its data belongs in its backing page)`,
          );
      }
      if (mc !== want) out.push(`frame ${pfn}: mapcount ${mc}, but ${want} entries map it`);
      if (flags & PG_TAIL) continue;
      const expect = refs.get(pfn) ?? 0;
      if (f.ref(pfn) !== expect) {
        out.push(`frame ${pfn}: refcount ${f.ref(pfn)}, but mappings and caches hold ${expect}`);
      }
      if (flags & PG_LOCKED) out.push(`frame ${pfn} is still locked`);
    }
  }
  if (ramAllocated !== k.alloc.used)
    out.push(`allocator counts ${k.alloc.used} RAM pages in use, frames say ${ramAllocated}`);
  for (const pgmap of k.pgmaps) {
    if (!pgmap) continue;
    const n = pgmapRefs.get(pgmap.id) ?? 0;
    if (pgmap.refs !== n) out.push(`pagemap ${pgmap.name}: ${pgmap.refs} page references, ${n} pages in use`);
  }

  // The notifier contract, as each device mirror sees it.
  for (const dev of m.devices) {
    if (!dev) continue;
    for (const d of dev.opens) {
      const mm = d.mm;
      if (mm.dead) {
        if (d.pt.size > 0) out.push(`${dev.name}: mirror of an exited mm still holds ${d.pt.size} entries`);
        continue;
      }
      for (const [vpn, e] of d.pt) {
        const va = vpn * PAGE_SIZE;
        const pfn = Math.floor(e / 4);
        const tag = e % 4;
        const slot = mm.pt.slot(va);
        let cpuPfn = -1;
        let cpuWrite = false;
        let exclusive = false;
        if (slot?.kind === PMD_HUGE || slot?.kind === PMD_DEVICE_PRIVATE) {
          cpuPfn = slot.pfn + (vpn % HPAGE_PMD_NR);
          cpuWrite = (slot.bits & PTE_WRITE) !== 0;
        } else if (slot?.kind === PMD_TABLE) {
          const i = vpn % HPAGE_PMD_NR;
          const type = slot.table!.bits[i]! & PTE_TYPE_MASK;
          if (type === PTE_PRESENT || type === PTE_DEVICE_PRIVATE || type === PTE_DEVICE_EXCLUSIVE) {
            cpuPfn = slot.table!.pfn[i]!;
            cpuWrite = (slot.table!.bits[i]! & PTE_WRITE) !== 0;
            exclusive = type === PTE_DEVICE_EXCLUSIVE;
          }
        }
        // The file that migrated a page mirrors its backing page (dmirror_migrate_finalize_and_map).
        const backing = cpuPfn >= 0 && k.pgmapOf(cpuPfn)?.owner === dev ? dev.backingPage(cpuPfn) : cpuPfn;
        if (cpuPfn !== pfn && backing !== pfn) {
          out.push(
            `${dev.name}: mirror maps ${hex(va)} to pfn ${pfn}, the CPU maps ${cpuPfn < 0 ? 'nothing' : `pfn ${cpuPfn}`}`,
          );
        } else if (tag === 3 && !cpuWrite) {
          out.push(`${dev.name}: mirror may write ${hex(va)}, the CPU entry is read-only`);
        } else if (tag === 1 && !exclusive) {
          out.push(`${dev.name}: mirror has atomic access to ${hex(va)} without a device-exclusive entry`);
        }
      }
    }
  }
  for (const gpu of m.gpus) {
    for (const mir of gpu.mirrors) {
      if (mir.mm.dead) continue;
      mir.forEach((va: number, pfn: number, writable: boolean) => {
        const slot = mir.mm.pt.slot(va);
        let cpuPfn = -1;
        let cpuWrite = false;
        if (slot?.kind === PMD_HUGE || slot?.kind === PMD_DEVICE_PRIVATE) {
          cpuPfn = slot.pfn + ((va / PAGE_SIZE) % HPAGE_PMD_NR);
          cpuWrite = (slot.bits & PTE_WRITE) !== 0;
        } else if (slot?.kind === PMD_TABLE) {
          const i = (va / PAGE_SIZE) % HPAGE_PMD_NR;
          const type = slot.table!.bits[i]! & PTE_TYPE_MASK;
          if (type === PTE_PRESENT || type === PTE_DEVICE_PRIVATE) {
            cpuPfn = slot.table!.pfn[i]!;
            cpuWrite = (slot.table!.bits[i]! & PTE_WRITE) !== 0;
          }
        }
        if (cpuPfn !== pfn) {
          out.push(
            `${gpu.name}: device maps ${hex(va)} to pfn ${pfn}, the CPU maps ${cpuPfn < 0 ? 'nothing' : `pfn ${cpuPfn}`}`,
          );
        } else if (writable && !cpuWrite) {
          out.push(`${gpu.name}: device may write ${hex(va)}, the CPU entry is read-only`);
        }
      });
    }
  }
  // RDMA MRs: a host entry maps what the CPU maps; a P2P entry maps the BAR page of the VRAM
  // page the CPU's device-private entry points at.
  for (const nic of m.nics) {
    for (const mr of nic.mrs) {
      if (mr.mm.dead) continue;
      mr.forEach((va, pfn, kind, writable) => {
        const cpu = cpuEntry(mr.mm, va);
        let want = pfn;
        if (kind !== 1) {
          want = -1;
          for (const g of m.gpus) {
            const v = g.vramPfnOfAlias(pfn);
            if (v >= 0) want = v;
          }
        }
        if (!cpu || cpu.pfn !== want) {
          out.push(
            `${nic.name}: MR maps ${hex(va)} to pfn ${pfn}, the CPU maps ${cpu ? `pfn ${cpu.pfn}` : 'nothing'}`,
          );
        } else if (writable && !cpu.write) {
          out.push(`${nic.name}: MR may write ${hex(va)}, the CPU entry is read-only`);
        }
      });
    }
  }
  return out;
}

/** The CPU's present or device-private entry at va: its pfn and write bit. */
function cpuEntry(mm: import('../kernel/mm.js').Mm, va: number): { pfn: number; write: boolean } | null {
  const slot = mm.pt.slot(va);
  if (slot?.kind === PMD_HUGE || slot?.kind === PMD_DEVICE_PRIVATE) {
    return { pfn: slot.pfn + ((va / PAGE_SIZE) % HPAGE_PMD_NR), write: (slot.bits & PTE_WRITE) !== 0 };
  }
  if (slot?.kind === PMD_TABLE) {
    const i = (va / PAGE_SIZE) % HPAGE_PMD_NR;
    const type = slot.table!.bits[i]! & PTE_TYPE_MASK;
    if (type === PTE_PRESENT || type === PTE_DEVICE_PRIVATE) {
      return { pfn: slot.table!.pfn[i]!, write: (slot.table!.bits[i]! & PTE_WRITE) !== 0 };
    }
  }
  return null;
}

/**
 * A canonical text of all model state: VMAs, page tables, frames in use (refcount, mapcount,
 * flags, content hash), allocator and pool counters, files and device mirrors. Two equal
 * digests mean nothing observable changed.
 */
export function stateDigest(m: Machine): string {
  const k = m.kernel;
  const f = k.frames;
  const lines: string[] = [`ram ${k.alloc.used} hugetlb ${k.hugetlbFree}`];
  for (const p of m.processes) {
    lines.push(`pid ${p.pid} alive ${p.alive} seq ${p.mm.notifiers.invalidateSeq}`);
    for (const v of p.mm.vmas) {
      lines.push(
        `vma ${hex(v.start)}-${hex(v.end)} f${hex(v.flags)} o${v.pgoff} file${v.file?.id ?? '-'} av${v.anonVma?.id ?? '-'}`,
      );
    }
    const keys = [...p.mm.pt.pmds.keys()].sort((a, b) => a - b);
    for (const key of keys) {
      const s = p.mm.pt.pmds.get(key)!;
      if (s.kind !== PMD_TABLE) {
        lines.push(`pmd ${key} k${s.kind} ${s.pfn} b${s.bits}`);
        continue;
      }
      const t = s.table!;
      const parts: string[] = [];
      for (let i = 0; i < HPAGE_PMD_NR; i++) if (t.bits[i]) parts.push(`${i}:${t.pfn[i]}/${t.bits[i]}`);
      lines.push(`pte ${key} ${parts.join(' ')}`);
    }
  }
  for (const s of f.populatedSections()) {
    for (let pfn = s; pfn < s + SECTION_FRAMES; pfn++) {
      const flags = f.flags(pfn);
      if (!(flags & PG_ALLOCATED) && f.ref(pfn) === 0 && f.mapcount(pfn) === 0) continue;
      lines.push(
        `frame ${pfn} r${f.ref(pfn)} m${f.mapcount(pfn)} f${flags} c${f.contentHash(pfn)} map${f.mapping(pfn)}/${f.index(pfn)}`,
      );
    }
  }
  for (const inode of [...k.inodes.values()].sort((a, b) => a.id - b.id)) {
    lines.push(
      `inode ${inode.id} size ${inode.size} pages ${[...inode.pages].sort((a, b) => a[0] - b[0]).join(' ')}`,
    );
  }
  for (const dev of m.devices) {
    if (!dev) continue;
    lines.push(
      `${dev.name} free ${dev.freePages.length}/${dev.freeFolios.length} calloc ${dev.calloc} cfree ${dev.cfree}`,
    );
    for (const d of dev.opens) {
      lines.push(`  open flags ${d.flags} pt ${[...d.pt].sort((a, b) => a[0] - b[0]).join(' ')}`);
    }
  }
  return lines.join('\n');
}
