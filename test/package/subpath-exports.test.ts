/**
 * The subpath exports (package.json "exports": hmmlab/kernel, hmmlab/explore, ...) work for a
 * project that has only the packed package: the package is built into a temporary folder,
 * packed with `npm pack`, and the tarball unpacked into a consumer project's node_modules.
 * `npm install` of the tarball is not used because it would fetch the dependencies and the
 * machine is offline; the consumer lives inside the repository instead, so that Node finds the
 * package's dependencies (zod, yaml, pure-rand, ...) in the repository's node_modules, as it
 * would find them beside an installed package. The consumer then builds a race model from the
 * kernel and explore subpaths alone and explores it.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
let tmp = '';
let consumer = '';
let listing = '';

const MODEL = `
import { explore, KernelWorld, kernelSteps } from 'hmmlab/explore';
import {
  HMM_PFN_HI_VALID, HmmRange, hmmRangeFaultSteps, MmuIntervalNotifier, mmuIntervalReadBegin,
  mmuIntervalReadRetry, mmuIntervalSetSeq, PAGE_SIZE,
} from 'hmmlab/kernel';

// A mirror driver against a CPU write that breaks COW after fork (examples/race-driver.ts).
function model(checkRetry) {
  return {
    name: 'packed-mirror', description: 'a mirror driver built from the packed package',
    create() {
      const pages = 2;
      const w = new KernelWorld(pages);
      const pt = new Map();
      w.views.set('mydev', pt);
      const sub = new MmuIntervalNotifier({
        invalidate(s, range, cur) {
          mmuIntervalSetSeq(s, cur);
          for (let v = range.start / PAGE_SIZE; v < range.end / PAGE_SIZE; v++) pt.delete(v);
          return true;
        },
      }, w.mm.notifiers);
      w.mm.notifiers.insert(sub, w.base, pages * PAGE_SIZE);
      w.proc.fork();
      let inflight = null;
      const dev = { name: 'mydev.fault', local: () => w.rangeState(inflight), body: (function* () {
        for (;;) {
          const range = new HmmRange(sub, w.va(0), w.va(pages), HMM_PFN_HI_VALID, 0, null);
          inflight = range;
          range.notifierSeq = mmuIntervalReadBegin(sub);
          yield { step: 'mmu_interval_read_begin', call: 'mydev_fault' };
          const ret = yield* kernelSteps(w.k, 'hmm_range_fault', hmmRangeFaultSteps(w.k, w.mm, range));
          if (ret < 0) return;
          yield { step: 'hmm_range_fault done', call: 'mydev_fault' };
          if (checkRetry && mmuIntervalReadRetry(sub, range.notifierSeq)) continue;
          for (let i = 0; i < pages; i++) pt.set(w.va(i) / PAGE_SIZE, { pfn: range.words[2 * i], write: false });
          break;
        }
        inflight = null;
        yield { step: 'page table programmed', call: 'mydev_fault' };
        for (let i = 0; i < pages; i++) w.deviceAccess('mydev', i, pt.get(w.va(i) / PAGE_SIZE), false);
        w.opDone();
        yield { step: 'device read the pages', call: 'mydev DMA' };
      })() };
      const cpu = { name: 'cpu0', body: (function* () {
        w.cpuWrite(pages - 1);
        w.opDone();
        yield { step: 'write page 1 (COW)', call: 'do_wp_page' };
      })() };
      return { agents: [dev, cpu], digest: () => w.digest(), describe: () => w.describe(),
        takeViolation: () => w.takeViolation(), quiescent: () => w.quiescent(), opsDone: () => w.opsDone() };
    },
  };
}

const out = {
  resolvedKernel: import.meta.resolve('hmmlab/kernel'),
  resolvedExplore: import.meta.resolve('hmmlab/explore'),
};
for (const checkRetry of [true, false]) {
  const r = explore(model(checkRetry), { mode: 'exhaustive' });
  out[checkRetry ? 'fixed' : 'buggy'] = {
    complete: r.coverage.complete,
    states: r.coverage.states,
    violation: r.counterexample ? r.counterexample.violation.invariant : null,
  };
}
console.log(JSON.stringify(out));
`;

/**
 * What model writers build from besides the kernel calls above: the kit (raceWorld, agent, the
 * locks Mutex and Rwsem), migrate_vma's constructor and the page flags. Two CPU threads take a
 * driver mutex and lock a page's folio; a named invariant says no two hold the mutex at once.
 */
const KIT = `
import { agent, explore, KernelWorld, Mutex, Rwsem, raceWorld } from 'hmmlab/explore';
import {
  newMigrateVma, PG_ANON, PG_DEVICE, PG_DIRTY, PG_HEAD, PG_LOCKED, PG_LRU, PG_TAIL,
} from 'hmmlab/kernel';

function model(useMutex) {
  return {
    name: 'kit', description: 'two threads under a driver mutex, a page flag and a named invariant',
    create() {
      const w = new KernelWorld(1);
      const lock = new Mutex();
      const sem = new Rwsem();
      let inside = 0;
      const thread = (name) => {
        const ctx = { phase: 'start' };
        return agent(name, ctx, (function* () {
          if (useMutex) yield* lock.lock('mydrv_update');
          yield* sem.down('read', 'mydrv_update');
          inside++;
          ctx.phase = 'inside';
          const pfn = w.cpuPte(w.va(0)).pfn;
          w.k.frames.setFlag(pfn, PG_LOCKED);
          yield { step: 'folio locked', call: 'mydrv_update' };
          w.k.frames.clearFlag(pfn, PG_LOCKED);
          inside--;
          ctx.phase = 'out';
          sem.up('read');
          if (useMutex) lock.unlock();
          w.opDone();
          yield { step: 'unlocked', call: 'mydrv_update' };
        })(), undefined, () => String(inside));
      };
      return raceWorld(w, [thread('cpu0'), thread('cpu1')], {
        invariants: [{ name: 'one-updater', check: () => (inside > 1 ? inside + ' threads inside' : null) }],
      });
    },
  };
}

const kw = new KernelWorld(2);
const mig = newMigrateVma(kw.mm.findVma(kw.va(0)), kw.va(0), kw.va(2), null, 0);
const out = {
  kit: [agent, KernelWorld, Mutex, Rwsem, raceWorld].map((f) => typeof f),
  flags: { PG_ANON, PG_DEVICE, PG_DIRTY, PG_HEAD, PG_LOCKED, PG_LRU, PG_TAIL },
  migrateVma: Object.keys(mig).sort(),
  locked: explore(model(true), { mode: 'exhaustive' }),
  unlocked: explore(model(false), { mode: 'exhaustive' }),
};
console.log(JSON.stringify({
  kit: out.kit, flags: out.flags, migrateVma: out.migrateVma,
  locked: out.locked.verdict,
  unlocked: out.unlocked.counterexample && out.unlocked.counterexample.violation,
}));
`;

beforeAll(() => {
  // Inside the repository: the consumer's and the package's bare imports fall back to its node_modules.
  tmp = mkdtempSync(join(ROOT, '.pack-test-'));
  const pkg = join(tmp, 'pkg');
  mkdirSync(pkg);
  cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'));
  cpSync(join(ROOT, 'bin'), join(pkg, 'bin'), { recursive: true });
  execFileSync('npx', ['tsc', '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')], {
    cwd: ROOT,
    stdio: 'pipe',
  });
  execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp], { cwd: pkg, stdio: 'pipe' });
  const tarball = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack wrote no tarball into ${tmp}`);
  listing = execFileSync('tar', ['-tzf', join(tmp, tarball)], { encoding: 'utf8' });
  consumer = join(tmp, 'consumer');
  const installed = join(consumer, 'node_modules', 'hmmlab');
  mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', join(tmp, tarball), '-C', installed, '--strip-components=1']);
  // Its own package.json, so that Node does not resolve 'hmmlab/...' as the repository's self-reference.
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  writeFileSync(join(consumer, 'race.mjs'), MODEL);
  writeFileSync(join(consumer, 'kit.mjs'), KIT);
}, 300_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('the packed package, used through its subpath exports only', () => {
  it('ships every subpath entry with its types', () => {
    for (const sub of ['kernel', 'drivers', 'explore', 'sim']) {
      expect(listing).toContain(`package/dist/${sub}/index.js`);
      expect(listing).toContain(`package/dist/${sub}/index.d.ts`);
    }
    // No sources or tests in the tarball.
    expect(listing).not.toMatch(/package\/src\//);
    expect(listing).not.toMatch(/\.test\.js/);
  });

  it('builds and explores a race model from hmmlab/kernel and hmmlab/explore', () => {
    const out = JSON.parse(execFileSync('node', ['race.mjs'], { cwd: consumer, encoding: 'utf8' }));
    expect(out.resolvedKernel).toContain('/consumer/node_modules/hmmlab/dist/kernel/index.js');
    expect(out.resolvedExplore).toContain('/consumer/node_modules/hmmlab/dist/explore/index.js');
    expect(out.fixed).toMatchObject({ complete: true, violation: null });
    expect(out.fixed.states).toBeGreaterThan(1);
    expect(out.buggy.violation).toBe('notifier-contract');
  }, 120_000);

  it('exports the model-writing kit from hmmlab/explore, and newMigrateVma and the page flags from hmmlab/kernel', () => {
    const out = JSON.parse(execFileSync('node', ['kit.mjs'], { cwd: consumer, encoding: 'utf8' }));
    expect(out.kit).toEqual(['function', 'function', 'function', 'function', 'function']);
    expect(out.flags).toEqual({
      PG_ANON: 2,
      PG_DEVICE: 256,
      PG_DIRTY: 32,
      PG_HEAD: 4,
      PG_LOCKED: 1,
      PG_LRU: 16,
      PG_TAIL: 8,
    });
    expect(out.migrateVma).toEqual(expect.arrayContaining(['dst', 'src', 'vma']));
    // Under the mutex the named invariant holds; without it, it fails by its own name.
    expect(out.locked).toBe('clean');
    expect(out.unlocked).toEqual({ invariant: 'one-updater', message: '2 threads inside', custom: true });
  }, 120_000);
});
