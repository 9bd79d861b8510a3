/**
 * A device driver of your own, checked by the race explorer (`hmmlab explore
 * examples/race-driver.yaml`). It mirrors a process's pages into a device page table the way
 * HMM drivers do (Documentation/mm/hmm.rst): take a notifier sequence, hmm_range_fault, then
 * under the driver lock check mmu_interval_read_retry and program the page table. A CPU
 * thread meanwhile writes a page after fork, so copy-on-write gives it a new page and the
 * notifier tells the driver to drop the old one.
 *
 * Set `params: { checkRetry: false }` in the race file to watch the explorer catch the bug:
 * the device keeps reading the page the CPU no longer uses. The driver also declares an
 * invariant of its own, `mydev-coherent` (every entry of its page table maps the page the CPU
 * page table has), which catches the bug one step sooner, as the page table is programmed, and
 * names it in the counterexample (`params: { coherentInvariant: false }` leaves it out, and the
 * explorer's own `notifier-contract` catches the access instead).
 *
 * The contract with the explorer (src/explore/explorer.ts):
 * - export `model` (a RaceModel, or a function of the race file's `params` returning one);
 * - `create()` builds a fresh world each time (the explorer replays schedules from scratch);
 * - each agent is a generator; every `yield` is a point where other agents may run, so yield
 *   wherever the real driver drops a lock; yield `{ wait, until }` where it would sleep;
 * - `local()` returns what the agent's future depends on beyond the shared state;
 * - device accesses go through `world.deviceAccess`, which checks the notifier contract and
 *   the data; `world.opDone()` marks an operation finished;
 * - `invariants` (optional) are the driver's own: a name and a check returning a message when
 *   broken, null when not, run after every step.
 *
 * It imports only the package's subpaths `hmmlab/kernel` and `hmmlab/explore` (package.json
 * "exports"), as a driver written outside this repository would. Run from the repository,
 * they resolve to the package itself: dist/ after `npm run build` for node, src/ for tsc and
 * vitest (the "hmmlab-source" condition in tsconfig.json, an alias in vitest.config.ts).
 */
import {
  type Agent,
  type AgentYield,
  KernelWorld,
  kernelSteps,
  type NamedInvariant,
  type RaceModel,
} from 'hmmlab/explore';
import {
  HMM_PFN_HI_VALID,
  HmmRange,
  hmmRangeFaultSteps,
  MmuIntervalNotifier,
  mmuIntervalReadBeginSteps,
  mmuIntervalReadRetry,
  mmuIntervalSetSeq,
  PAGE_SIZE,
} from 'hmmlab/kernel';

export function model(params: {
  checkRetry?: boolean;
  pages?: number;
  coherentInvariant?: boolean;
}): RaceModel {
  const checkRetry = params.checkRetry ?? true;
  const pages = params.pages ?? 2;
  const coherentInvariant = params.coherentInvariant ?? true;
  return {
    name: `my-mirror-driver${checkRetry ? '' : '-no-retry-check'}`,
    description:
      'A mirror driver (notifier + hmm_range_fault + device page table) against a CPU write that breaks COW.',
    create() {
      const w = new KernelWorld(pages);
      // Our device's page table: virtual page -> pfn. The explorer shows it via w.views.
      const pt = new Map<number, { pfn: number; write: boolean }>();
      w.views.set('mydev', pt);
      const sub = new MmuIntervalNotifier(
        {
          invalidate(s, range, cur) {
            // Under the driver lock (atomic in the model): bump the sequence, drop the range.
            mmuIntervalSetSeq(s, cur);
            for (let v = range.start / PAGE_SIZE; v < range.end / PAGE_SIZE; v++) pt.delete(v);
            return true;
          },
        },
        w.mm.notifiers,
      );
      w.mm.notifiers.insert(sub, w.base, pages * PAGE_SIZE);
      // fork(): the buffer's pages become copy-on-write in both processes.
      w.proc.fork();

      let inflight: HmmRange | null = null;
      const dev: Agent = {
        name: 'mydev.fault',
        // The range in flight is part of what the agent does next: whether its sequence is
        // still valid and which entries still match the CPU page table.
        local: () => w.rangeState(inflight),
        body: (function* (): Generator<AgentYield, void, void> {
          for (;;) {
            const range = new HmmRange(sub, w.va(0), w.va(pages), HMM_PFN_HI_VALID, 0, null);
            inflight = range;
            // mmu_interval_read_begin sleeps while an invalidation that has called us back runs
            // (another agent's munmap or migration, whose invalidations are steps).
            range.notifierSeq = yield* kernelSteps(
              w.k,
              'mmu_interval_read_begin',
              mmuIntervalReadBeginSteps(sub),
            );
            yield { step: 'mmu_interval_read_begin', call: 'mydev_fault' };
            const ret = yield* kernelSteps(w.k, 'hmm_range_fault', hmmRangeFaultSteps(w.k, w.mm, range));
            if (ret < 0) return;
            yield { step: 'hmm_range_fault done', call: 'mydev_fault' };
            // mutex_lock(&mydev->lock)
            if (checkRetry && mmuIntervalReadRetry(sub, range.notifierSeq)) continue;
            for (let i = 0; i < pages; i++)
              pt.set(w.va(i) / PAGE_SIZE, { pfn: range.words[2 * i]!, write: false });
            break; // mutex_unlock
          }
          inflight = null;
          yield { step: 'page table programmed', call: 'mydev_fault' };
          for (let i = 0; i < pages; i++) w.deviceAccess('mydev', i, pt.get(w.va(i) / PAGE_SIZE), false);
          w.opDone();
          yield { step: 'device read the pages', call: 'mydev DMA' };
        })(),
      };
      const cpu: Agent = {
        name: 'cpu0',
        body: (function* (): Generator<AgentYield, void, void> {
          w.cpuWrite(pages - 1); // a write fault breaks COW: a new page, the old one invalidated
          w.opDone();
          yield { step: `write page ${pages - 1} (COW)`, call: 'do_wp_page' };
        })(),
      };
      // The driver's own invariant, checked after every step: outside the driver lock (every
      // step boundary here), each entry of the device page table maps the CPU's page.
      const coherent: NamedInvariant = {
        name: 'mydev-coherent',
        check() {
          for (const [v, e] of pt) {
            const pte = w.cpuPte(v * PAGE_SIZE);
            if (pte.pfn !== e.pfn)
              return `mydev maps page ${v - w.base / PAGE_SIZE} to pfn ${e.pfn}, the CPU page table has ${pte.kind}${pte.pfn >= 0 ? ` pfn ${pte.pfn}` : ''}`;
          }
          return null;
        },
      };
      return {
        agents: [dev, cpu],
        digest: () => w.digest(),
        describe: () => w.describe(),
        takeViolation: () => w.takeViolation(),
        quiescent: () => w.quiescent(),
        opsDone: () => w.opsDone(),
        invariants: coherentInvariant ? [coherent] : [],
      };
    },
  };
}
