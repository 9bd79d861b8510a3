/**
 * The rows of a damaged SQLite file, read from its pages without SQLite: what `merge --salvage`
 * falls back on where SQLite cannot reach a row (its table list on page 1 is damaged, or an
 * interior page of a table's b-tree is lost, so the leaves below it are orphaned though intact).
 *
 * Every whole page of the file is looked at; a page whose header says "table b-tree leaf" (0x0D)
 * has its cells decoded as records (https://www.sqlite.org/fileformat2.html: varints, serial
 * types, overflow chains). Pages on the freelist (when the header still leads to it) are skipped:
 * what they hold was deleted. A cell that does not decode (a cut overflow chain, bytes outside
 * the page, text that is not UTF-8) is dropped, never half read. The caller decides which
 * records are rows of which table, by their shape.
 *
 * Reads the file page by page (any size); never writes.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** A value of a record, as SQLite would return it to better-sqlite3 (integers as numbers). */
export type RecordValue = null | number | string | Uint8Array;

/** One decoded cell of a table leaf page. */
export interface ScannedRecord {
  rowid: number;
  values: RecordValue[];
  /** The page the cell is on (1-based). */
  page: number;
}

/** What scanPages found. */
export interface PageScan {
  pageSize: number;
  /** Whole pages in the file. */
  pages: number;
  records: ScannedRecord[];
}

const MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const MAX_OVERFLOW_PAGES = 1 << 20;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A varint at `at` in `b` (at most 9 bytes); undefined when it runs past `end`. */
function varint(b: Buffer, at: number, end: number): { value: number; next: number } | undefined {
  let v = 0n;
  for (let i = 0; i < 9; i++) {
    if (at + i >= end) return undefined;
    const byte = b[at + i]!;
    if (i === 8) {
      v = (v << 8n) | BigInt(byte);
      return { value: toNumber(v), next: at + 9 };
    }
    v = (v << 7n) | BigInt(byte & 0x7f);
    if ((byte & 0x80) === 0) return { value: toNumber(v), next: at + i + 1 };
  }
  return undefined;
}

/** A 64-bit two's complement value as a number (NaN when not a safe integer). */
function toNumber(v: bigint): number {
  const signed = BigInt.asIntN(64, v);
  return signed >= BigInt(Number.MIN_SAFE_INTEGER) && signed <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(signed)
    : Number.NaN;
}

/** Decodes a record (header of serial types, then the values); undefined when malformed. */
export function decodeRecord(p: Buffer): RecordValue[] | undefined {
  const h = varint(p, 0, p.length);
  if (!h || !(h.value >= 1) || h.value > p.length) return undefined;
  const types: number[] = [];
  let at = h.next;
  while (at < h.value) {
    const t = varint(p, at, h.value);
    if (!t || !(t.value >= 0)) return undefined;
    types.push(t.value);
    at = t.next;
  }
  if (at !== h.value) return undefined;
  const values: RecordValue[] = [];
  let body = h.value;
  for (const t of types) {
    if (t === 0 || t === 8 || t === 9) {
      values.push(t === 0 ? null : t - 8);
      continue;
    }
    if (t === 10 || t === 11) return undefined;
    const size = t <= 4 ? t : t === 5 ? 6 : t <= 7 ? 8 : (t - (t % 2 === 0 ? 12 : 13)) / 2;
    if (body + size > p.length) return undefined;
    const bytes = p.subarray(body, body + size);
    body += size;
    if (t <= 6) {
      let v = 0n;
      for (const byte of bytes) v = (v << 8n) | BigInt(byte);
      const n = Number(BigInt.asIntN(size * 8, v));
      if (!Number.isSafeInteger(n)) return undefined;
      values.push(n);
    } else if (t === 7) {
      values.push(bytes.readDoubleBE(0));
    } else if (t % 2 === 0) {
      values.push(new Uint8Array(bytes));
    } else {
      try {
        values.push(utf8.decode(bytes));
      } catch {
        return undefined;
      }
    }
  }
  if (body !== p.length) return undefined;
  return values;
}

/**
 * Scans the whole pages of the SQLite file at `path` for table-leaf cells. The page size is the
 * header's when the header is sound; otherwise every size SQLite allows is tried and the one
 * that decodes the most records is kept. Throws only when the file cannot be opened or read.
 */
export function scanPages(path: string): PageScan {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(100);
    const got = readSync(fd, head, 0, 100, 0);
    let pageSize = 0;
    let reserved = 0;
    let textEncoding = 1;
    if (got === 100 && head.subarray(0, 16).equals(MAGIC)) {
      const raw = head.readUInt16BE(16);
      const ps = raw === 1 ? 65536 : raw;
      if (ps >= 512 && ps <= 65536 && (ps & (ps - 1)) === 0) pageSize = ps;
      reserved = head[20]!;
      textEncoding = head.readUInt32BE(56) || 1;
    }
    // Text in UTF-16 would need other decoding; hmmlab stores are UTF-8.
    if (textEncoding !== 1)
      return { pageSize, pages: pageSize ? Math.floor(size / pageSize) : 0, records: [] };
    if (pageSize !== 0 && pageSize - reserved >= 480) {
      return scanWithPageSize(fd, size, pageSize, pageSize - reserved, head);
    }
    let best: PageScan = { pageSize: 0, pages: 0, records: [] };
    for (let ps = 512; ps <= 65536; ps *= 2) {
      const scan = scanWithPageSize(fd, size, ps, ps, undefined);
      if (scan.records.length > best.records.length) best = scan;
    }
    return best;
  } finally {
    closeSync(fd);
  }
}

function scanWithPageSize(
  fd: number,
  size: number,
  pageSize: number,
  usable: number,
  header: Buffer | undefined,
): PageScan {
  const pages = Math.floor(size / pageSize);
  const readPage = (n: number): Buffer | undefined => {
    if (n < 1 || n > pages) return undefined;
    const b = Buffer.alloc(pageSize);
    return readSync(fd, b, 0, pageSize, (n - 1) * pageSize) === pageSize ? b : undefined;
  };
  const free = header ? freelistPages(header, readPage, usable) : new Set<number>();
  const records: ScannedRecord[] = [];
  // The largest payload kept on a leaf page, and the least (SQLite's X, M).
  const maxLocal = usable - 35;
  const minLocal = Math.floor(((usable - 12) * 32) / 255) - 23;
  for (let n = 1; n <= pages; n++) {
    if (free.has(n)) continue;
    const page = readPage(n);
    if (!page) continue;
    const hdr = n === 1 ? 100 : 0;
    if (page[hdr] !== 0x0d) continue;
    const cells = page.readUInt16BE(hdr + 3);
    for (let i = 0; i < cells; i++) {
      const ptrAt = hdr + 8 + 2 * i;
      if (ptrAt + 2 > usable) break;
      const at = page.readUInt16BE(ptrAt);
      if (at < hdr + 8 || at >= usable) continue;
      const len = varint(page, at, usable);
      if (!len || !(len.value >= 0)) continue;
      const rowid = varint(page, len.next, usable);
      if (!rowid || Number.isNaN(rowid.value)) continue;
      const payloadSize = len.value;
      // A payload larger than the file is a damaged cell, not a row.
      if (payloadSize > pages * usable) continue;
      let local = payloadSize;
      if (payloadSize > maxLocal) {
        const k = minLocal + ((payloadSize - minLocal) % (usable - 4));
        local = k <= maxLocal ? k : minLocal;
      }
      const start = rowid.next;
      if (start + local + (local < payloadSize ? 4 : 0) > usable) continue;
      const payload = Buffer.alloc(payloadSize);
      page.copy(payload, 0, start, start + local);
      if (
        local < payloadSize &&
        !readOverflow(page.readUInt32BE(start + local), payload, local, usable, readPage)
      ) {
        continue;
      }
      const values = decodeRecord(payload);
      if (values) records.push({ rowid: rowid.value, values, page: n });
    }
  }
  return { pageSize, pages, records };
}

/** Fills `payload` from `filled` on with the overflow chain starting at page `first`. */
function readOverflow(
  first: number,
  payload: Buffer,
  filled: number,
  usable: number,
  readPage: (n: number) => Buffer | undefined,
): boolean {
  let next = first;
  let done = filled;
  const seen = new Set<number>();
  while (done < payload.length) {
    if (seen.has(next) || seen.size > MAX_OVERFLOW_PAGES) return false;
    seen.add(next);
    const page = readPage(next);
    if (!page) return false;
    const take = Math.min(usable - 4, payload.length - done);
    page.copy(payload, done, 4, 4 + take);
    done += take;
    next = page.readUInt32BE(0);
  }
  return true;
}

/** The pages on the freelist, as far as its trunk pages can be read (empty when they cannot). */
function freelistPages(
  header: Buffer,
  readPage: (n: number) => Buffer | undefined,
  usable: number,
): Set<number> {
  const free = new Set<number>();
  let trunk = header.readUInt32BE(32);
  const count = header.readUInt32BE(36);
  while (trunk !== 0 && !free.has(trunk) && free.size <= count) {
    const page = readPage(trunk);
    if (!page) break;
    free.add(trunk);
    const leaves = page.readUInt32BE(4);
    for (let i = 0; i < leaves && 8 + 4 * i + 4 <= usable; i++) free.add(page.readUInt32BE(8 + 4 * i));
    trunk = page.readUInt32BE(0);
  }
  return free;
}
