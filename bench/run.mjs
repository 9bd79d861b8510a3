// hmmlab benchmarks. Figures are ratios against baselines measured in the same process, or
// absolute rates; nothing here is a pass/fail test. Writes bench/results.json.
//
//   npm run bench          (builds, then runs with --expose-gc)
//
// Keys in results.json that other tools rely on (a contract):
//   hmmRangeFault: { nsPerPage, ratioToCopyLoop }
//   migrate:       { pagesPerSecond }
//   memory:        { bytesPerPage }
//   engine:        { eventsPerSecond, ratioToHeapLoop }
//   streaming16g:  { wallSeconds }
//   explorer:      { statesPerSecond, secondsToFirstCounterexample }
//   scale:         [{ workingSetGiB, design, wallSeconds, peakRssBytes, bytesPerTouchedPage }]
//   scaleFit:      { design, secondsPerGiB, fromGiB, toGiB, exponent }
//
// The scale study runs scenarios/dgx-class.yaml (8 GPUs, 8 NICs, 2 TiB RAM) at 1, 4, 16, 64 and
// 256 GiB working sets under `upstream`, and at 64 GiB under every design, each in a child
// process (bench/scale.mjs) so that peak RSS is per run; then the 64 GiB upstream run once
// more under `node --cpu-prof` for the profile summarised in docs/performance.md
// (scripts/gen-performance.mjs). HMMLAB_BENCH_SCALE_SIZES=1,4 runs fewer sizes (a quick look;
// the fit needs at least two sizes from 4 GiB up).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as h from '../dist/index.js';
import * as sim from '../dist/sim/engine.js';
import { simulate } from '../dist/sim/simulate.js';
import { benchEngine } from './engine.mjs';
import { benchExplorer } from './explorer.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const now = () => Number(process.hrtime.bigint());
const gc = () => {
  if (globalThis.gc) {
    globalThis.gc();
    globalThis.gc();
  }
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const log = (s) => process.stderr.write(`${s}\n`);

const RW = h.PROT_READ | h.PROT_WRITE;
const ANON = h.MAP_PRIVATE | h.MAP_ANONYMOUS;

// ---- hmmRangeFault: snapshot of 1 Mi present 4 KiB pages ------------------------------------
function benchHmmRangeFault() {
  const N = 1 << 20;
  const m = new h.Machine({ ramBytes: 8 * 2 ** 30, thp: 'never' });
  const p = m.spawn();
  const t0 = now();
  const addr = p.mmap(0, N * h.PAGE_SIZE, RW, ANON | h.MAP_POPULATE);
  if (addr < 0) throw new Error(`mmap failed: ${addr}`);
  log(`  populated ${N} pages in ${((now() - t0) / 1e9).toFixed(2)} s`);
  const sub = new h.MmuIntervalNotifier(
    {
      invalidate: (s, _r, cur) => {
        h.mmuIntervalSetSeq(s, cur);
        return true;
      },
    },
    p.mm.notifiers,
  );
  p.mm.notifiers.insert(sub, addr, N * h.PAGE_SIZE);
  const range = new h.HmmRange(sub, addr, addr + N * h.PAGE_SIZE, 0, 0, null);
  const runs = [];
  for (let r = 0; r < 7; r++) {
    range.notifierSeq = h.mmuIntervalReadBegin(sub);
    const s = now();
    const ret = h.hmmRangeFault(m.kernel, p.mm, range);
    runs.push(now() - s);
    if (ret !== 0) throw new Error(`hmmRangeFault returned ${ret}`);
  }
  // Every entry must be a valid, writable pfn: the benchmark measured real work.
  for (let i = 0; i < N; i += 4099) {
    if (!(range.flags(i) & h.HMM_PFN_HI_VALID) || !(range.flags(i) & h.HMM_PFN_HI_WRITE))
      throw new Error('bad snapshot');
  }
  // Baseline: a plain loop copying 1 Mi 64-bit entries between two typed arrays.
  const a = new Float64Array(N);
  const b = new Float64Array(N);
  for (let i = 0; i < N; i++) a[i] = i * 3;
  const base = [];
  let sink = 0;
  for (let r = 0; r < 15; r++) {
    const s = now();
    for (let i = 0; i < N; i++) b[i] = a[i];
    base.push(now() - s);
    sink += b[r];
  }
  const ns = median(runs);
  const nsBase = median(base);
  return {
    pages: N,
    nsPerPage: +(ns / N).toFixed(3),
    copyLoopNsPerEntry: +(nsBase / N).toFixed(3),
    ratioToCopyLoop: +(ns / nsBase).toFixed(2),
    target: 'ratioToCopyLoop <= 10',
    _sink: sink > 0 ? undefined : sink,
  };
}

// ---- migration of 256 Ki pages to a device and back ---------------------------------------
function benchMigrate() {
  const N = 256 * 1024;
  const m = new h.Machine({ ramBytes: 8 * 2 ** 30, thp: 'never' });
  const k = m.kernel;
  const f = k.frames;
  const p = m.spawn();
  const addr = p.mmap(0, N * h.PAGE_SIZE, RW, ANON | h.MAP_POPULATE);
  // A minimal device with N pages of DEVICE_PRIVATE memory, written against the kernel API.
  const owner = { name: 'bench-device' };
  const free = [];
  const pgmap = new h.DevPagemap(h.MEMORY_DEVICE_PRIVATE, owner, {
    folioFree: (pfn) => free.push(pfn),
    migrateToRam: () => h.VM_FAULT_SIGBUS,
  });
  const start = k.requestFreeMemRegion(N * h.PAGE_SIZE);
  if (k.memremapPages(pgmap, start, N) !== 0) throw new Error('memremap_pages failed');
  for (let i = N - 1; i >= 0; i--) free.push(start + i);
  const vma = p.mm.vmaLookup(addr);
  const CH = 512;
  const src = new Float64Array(CH);
  const dst = new Float64Array(CH);
  const toDevice = () => {
    for (let a = addr; a < addr + N * h.PAGE_SIZE; a += CH * h.PAGE_SIZE) {
      const args = {
        vma,
        src,
        dst,
        cpages: 0,
        npages: 0,
        start: a,
        end: a + CH * h.PAGE_SIZE,
        pgmapOwner: owner,
        flags: h.MIGRATE_VMA_SELECT_SYSTEM,
        faultPage: -1,
      };
      h.migrateVmaSetup(k, args);
      for (let i = 0; i < CH; i++) {
        if (!(src[i] & h.MIGRATE_PFN_MIGRATE)) continue;
        const d = free.pop();
        k.zoneDeviceFolioInit(d, 0);
        const s = h.migratePfnToPfn(src[i]);
        if (s >= 0) f.copyPage(d, s);
        dst[i] = h.migratePfn(d) + (src[i] & h.MIGRATE_PFN_WRITE);
      }
      h.migrateVmaPages(k, args);
      h.migrateVmaFinalize(k, args);
    }
  };
  const toRam = () => {
    for (let a = addr; a < addr + N * h.PAGE_SIZE; a += CH * h.PAGE_SIZE) {
      const args = {
        vma,
        src,
        dst,
        cpages: 0,
        npages: 0,
        start: a,
        end: a + CH * h.PAGE_SIZE,
        pgmapOwner: owner,
        flags: h.MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
        faultPage: -1,
      };
      h.migrateVmaSetup(k, args);
      for (let i = 0; i < CH; i++) {
        if (!(src[i] & h.MIGRATE_PFN_MIGRATE)) continue;
        const r = k.allocFolio(0);
        k.folioTrylock(r);
        f.copyPage(r, h.migratePfnToPfn(src[i]));
        dst[i] = h.migratePfn(r) + (src[i] & h.MIGRATE_PFN_WRITE);
      }
      h.migrateVmaPages(k, args);
      h.migrateVmaFinalize(k, args);
    }
  };
  toDevice();
  toRam(); // warm-up round trip
  const s = now();
  toDevice();
  const mid = now();
  if (free.length !== 0) throw new Error(`only ${N - free.length} of ${N} pages reached the device`);
  toRam();
  const e = now();
  if (free.length !== N) throw new Error('not every page came back');
  return {
    pages: N,
    pagesPerSecond: Math.round((2 * N) / ((e - s) / 1e9)),
    toDevicePagesPerSecond: Math.round(N / ((mid - s) / 1e9)),
    toRamPagesPerSecond: Math.round(N / ((e - mid) / 1e9)),
  };
}

// ---- memory per resident page --------------------------------------------------------------
function benchMemory() {
  const N = 4 * 1024 * 1024;
  gc();
  const m = new h.Machine({ ramBytes: 32 * 2 ** 30, thp: 'never' });
  const p = m.spawn();
  gc();
  const before = process.memoryUsage();
  const addr = p.mmap(0, N * h.PAGE_SIZE, RW, ANON | h.MAP_POPULATE);
  if (addr < 0) throw new Error(`mmap failed: ${addr}`);
  gc();
  const after = process.memoryUsage();
  if (m.kernel.alloc.used !== N) throw new Error(`expected ${N} resident pages, have ${m.kernel.alloc.used}`);
  const bytes = after.arrayBuffers - before.arrayBuffers + (after.heapUsed - before.heapUsed);
  return {
    pages: N,
    bytesPerPage: +(bytes / N).toFixed(2),
    arrayBufferBytesPerPage: +((after.arrayBuffers - before.arrayBuffers) / N).toFixed(2),
    heapBytesPerPage: +((after.heapUsed - before.heapUsed) / N).toFixed(2),
    target: 'bytesPerPage <= 32 (Linux: 64 for struct page alone)',
    _keep: p.alive ? undefined : 0,
  };
}

// ---- simulate(): a GPU streaming over 16 GiB with 25% oversubscription -----------------------
function benchStreaming16g() {
  const GiB = 2 ** 30;
  const t0 = now();
  const r = simulate(
    {
      version: 1,
      profile: 'pcie4-a100',
      platform: { ram: 64 * GiB },
      devices: { gpus: [{ name: 'gpu0', vram: Math.floor(16 * GiB * 0.8), faultBatchSize: 256 }] },
      buffers: [{ name: 'buf', size: 16 * GiB }],
      workloads: [
        { kind: 'cpu', name: 'init', buffer: 'buf', op: 'write', pattern: 'sequential' },
        {
          kind: 'gpu',
          name: 'stream',
          gpu: 'gpu0',
          buffer: 'buf',
          op: 'read',
          pattern: 'sequential',
          after: 'init',
        },
      ],
    },
    { seed: 1 },
  );
  const wall = (now() - t0) / 1e9;
  const d = r.devices.gpu0;
  if (d.pagesToVram !== (16 * GiB) / 4096 || d.evictedPages === 0)
    throw new Error('the streaming run did not stream');
  return {
    wallSeconds: +wall.toFixed(2),
    simulatedSeconds: +(r.endNs / 1e9).toFixed(3),
    pages: (16 * GiB) / 4096,
    evictedPages: d.evictedPages,
    events: r.events,
    target: 'wallSeconds < 10 on a 2-core machine',
  };
}

// ---- scale: the dgx-class scenario from 1 to 256 GiB -----------------------------------------
const DESIGNS = ['upstream', 'rfc-callback', 'pagemap-p2p', 'owner-registry', 'device-private-flag'];
/** The design of the size series: the heaviest (every NIC fault migrates VRAM pages to RAM). */
const SCALE_DESIGN = 'upstream';
const SCALE_SIZES = (process.env.HMMLAB_BENCH_SCALE_SIZES ?? '1,4,16,64,256').split(',').map(Number);
const ALL_DESIGNS_AT = 64;

/** One scale run in a child process: bench/scale.mjs's JSON line. */
function scaleRun(workingSetGiB, design, nodeArgs = []) {
  const r = spawnSync(
    process.execPath,
    [...nodeArgs, join(here, 'scale.mjs'), String(workingSetGiB), design],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 24,
    },
  );
  if (r.status !== 0) throw new Error(`scale run ${workingSetGiB} GiB ${design} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1));
}

/** Least squares y = a + b x, and the exponent k of y = c x^k (the same fit on logs). */
function fitLine(points) {
  const line = (ps) => {
    const n = ps.length;
    const mx = ps.reduce((s, p) => s + p[0], 0) / n;
    const my = ps.reduce((s, p) => s + p[1], 0) / n;
    const sxy = ps.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0);
    const sxx = ps.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
    return { slope: sxy / sxx, intercept: my - (sxy / sxx) * mx };
  };
  const lin = line(points);
  const log = line(points.map(([x, y]) => [Math.log(x), Math.log(y)]));
  return { slope: lin.slope, intercept: lin.intercept, exponent: log.slope };
}

/** The top self-time functions of a .cpuprofile (V8's format), by function and file. */
function profileSummary(file, top = 15) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = p.timeDeltas[i] ?? 0;
    const cf = byId.get(p.samples[i]).callFrame;
    const at = cf.url.includes('/dist/')
      ? cf.url.slice(cf.url.indexOf('/dist/') + 1)
      : cf.url.split('/').at(-1);
    const key = `${cf.functionName || '(anonymous)'}\t${at}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  }
  return {
    totalSeconds: +(total / 1e6).toFixed(2),
    top: [...self]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, us]) => {
        const [fn, where] = key.split('\t');
        return {
          function: fn,
          file: where,
          selfMs: Math.round(us / 1000),
          percent: +((100 * us) / total).toFixed(1),
        };
      }),
  };
}

function benchScale() {
  const rows = [];
  const runs = SCALE_SIZES.map((ws) => [ws, SCALE_DESIGN]);
  if (SCALE_SIZES.includes(ALL_DESIGNS_AT))
    for (const d of DESIGNS) if (d !== SCALE_DESIGN) runs.push([ALL_DESIGNS_AT, d]);
  for (const [ws, design] of runs) {
    log(`  ${ws} GiB working set, ${design}...`);
    const r = scaleRun(ws, design);
    log(
      `    ${r.wallSeconds} s, peak RSS ${(r.peakRssBytes / 2 ** 30).toFixed(2)} GiB, ${r.bytesPerTouchedPage} B/touched page`,
    );
    rows.push(r);
  }
  const series = rows.filter(
    (r) => r.design === SCALE_DESIGN && r.workingSetGiB >= 4 && r.workingSetGiB <= 256,
  );
  const f = series.length >= 2 ? fitLine(series.map((r) => [r.workingSetGiB, r.wallSeconds])) : null;
  const scaleFit = f && {
    design: SCALE_DESIGN,
    secondsPerGiB: +f.slope.toFixed(3),
    interceptSeconds: +f.intercept.toFixed(2),
    fromGiB: Math.min(...series.map((r) => r.workingSetGiB)),
    toGiB: Math.max(...series.map((r) => r.workingSetGiB)),
    exponent: +f.exponent.toFixed(3),
    target: 'time grows at most linearly between 4 and 256 GiB (exponent <= 1)',
  };
  const profAt = SCALE_SIZES.includes(ALL_DESIGNS_AT) ? ALL_DESIGNS_AT : SCALE_SIZES.at(-1);
  log(`  profile: ${profAt} GiB, ${SCALE_DESIGN}, under node --cpu-prof...`);
  const dir = mkdtempSync(join(tmpdir(), 'hmmlab-prof-'));
  let scaleProfile;
  try {
    const r = scaleRun(profAt, SCALE_DESIGN, ['--cpu-prof', '--cpu-prof-dir', dir]);
    const file = readdirSync(dir).find((x) => x.endsWith('.cpuprofile'));
    scaleProfile = {
      workingSetGiB: profAt,
      design: SCALE_DESIGN,
      wallSecondsProfiled: r.wallSeconds,
      ...profileSummary(join(dir, file)),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const at64 = rows.filter((r) => r.workingSetGiB === ALL_DESIGNS_AT);
  const targets = {
    wallUnder60sAt64GiB: Object.fromEntries(at64.map((r) => [r.design, r.wallSeconds < 60])),
    bytesPerTouchedPageAtMost32: Object.fromEntries(at64.map((r) => [r.design, r.bytesPerTouchedPage <= 32])),
    atMostLinear: scaleFit ? scaleFit.exponent <= 1 : null,
  };
  return { rows, scaleFit, scaleProfile, targets };
}

const results = { node: process.version, date: undefined };
delete results.date;
log('hmmRangeFault snapshot of 1 Mi present pages...');
results.hmmRangeFault = benchHmmRangeFault();
gc();
log('migration of 256 Ki pages to a device and back...');
results.migrate = benchMigrate();
gc();
log('memory per resident page (4 Mi pages)...');
results.memory = benchMemory();
gc();
log('event engine, one million events...');
results.engine = benchEngine(sim);
gc();
log('streaming a 16 GiB buffer through a GPU with 25% oversubscription...');
results.streaming16g = benchStreaming16g();
log('explorer: skip-read-retry states/s and time to the first counterexample');
results.explorer = benchExplorer();
gc();
log('scale: scenarios/dgx-class.yaml, 8 GPUs and 8 NICs, one child process per run...');
{
  const s = benchScale();
  results.scale = s.rows;
  results.scaleFit = s.scaleFit;
  results.scaleTargets = s.targets;
  results.scaleProfile = s.scaleProfile;
}
const out = join(here, 'results.json');
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(
  `hmmRangeFault: ${results.hmmRangeFault.nsPerPage} ns/page, ${results.hmmRangeFault.ratioToCopyLoop}x a typed-array copy loop (target <= 10x)\n` +
    `migrate:       ${results.migrate.pagesPerSecond} pages/s (256 Ki pages to the device and back)\n` +
    `memory:        ${results.memory.bytesPerPage} bytes per resident page (target <= 32)\n` +
    `streaming16g:  ${results.streaming16g.wallSeconds} s wall for 16 GiB with 25% oversubscription (target < 10 s)\n` +
    `engine:        ${results.engine.eventsPerSecond} events/s, ${results.engine.ratioToHeapLoop}x a bare heap loop (target <= 3x)\n` +
    `explorer:      ${results.explorer.statesPerSecond} states/s; first counterexample in ${results.explorer.secondsToFirstCounterexample} s (target < 1 s)\n` +
    results.scale
      .map(
        (r) =>
          `scale:         ${String(r.workingSetGiB).padStart(3)} GiB ${r.design.padEnd(19)} ${String(r.wallSeconds).padStart(6)} s wall, ` +
          `peak RSS ${(r.peakRssBytes / 2 ** 30).toFixed(2)} GiB, ${r.bytesPerTouchedPage} B/touched page (targets: 64 GiB < 60 s, <= 32 B)\n`,
      )
      .join('') +
    (results.scaleFit
      ? `scale fit:     ${results.scaleFit.secondsPerGiB} s/GiB (${results.scaleFit.design}, ${results.scaleFit.fromGiB}-${results.scaleFit.toGiB} GiB), time ~ size^${results.scaleFit.exponent} (target <= 1)\n`
      : '') +
    `written to ${out}\n`,
);
