/**
 * Race-explorer results: the list, and one exploration with its coverage, the violation and the
 * counterexample step by step (agent lanes, next/previous, the livelock cycle highlighted).
 */
import type { ExplorationResponse, ExplorationsResponse } from '../../../src/serve/types.js';
import { get } from '../api.js';
import { h, mount, table } from '../dom.js';
import { href, type Route } from '../route.js';

/** clean, inconclusive (a bound stopped the search), or violated. */
function verdictClass(verdict: string): string {
  return verdict === 'clean' || verdict === 'inconclusive' ? verdict : 'violated';
}

export async function renderExplorations(root: HTMLElement): Promise<void> {
  const data = await get<ExplorationsResponse>('/api/explorations');
  mount(
    root,
    h('h1', {}, 'Race-explorer results'),
    data.explorations.length === 0
      ? h('p', { class: 'empty' }, 'No stored explorations yet (hmmlab explore stores them).')
      : table(
          ['exploration', 'scenario', 'mode', 'verdict', 'started', 'hmmlab'],
          data.explorations.map((e) => [
            h('a', { href: href('exploration', e.id) }, `#${e.id}`),
            e.scenarioName,
            e.mode,
            h('span', { class: `verdict ${verdictClass(e.verdict)}` }, e.verdict),
            e.startedAt,
            e.hmmlabVersion,
          ]),
          { id: 'explorations' },
        ),
  );
}

export async function renderExploration(root: HTMLElement, route: Route): Promise<void> {
  const { exploration: x } = await get<ExplorationResponse>(
    `/api/explorations/${encodeURIComponent(route.arg ?? '')}`,
  );
  const res = x.result;
  const cov = res.coverage;
  const coverage = table(
    ['states', 'transitions', 'pruned', 'reduced', 'max depth', 'schedules', 'complete', 'bound hit'],
    [
      [
        String(cov.states),
        String(cov.transitions),
        String(cov.pruned),
        String(cov.reduced),
        String(cov.maxDepth),
        String(cov.schedules),
        cov.complete ? 'yes' : 'no',
        cov.boundHit ?? '—',
      ],
    ],
    { id: 'coverage', class: 'metrics' },
  );
  const head = [
    h('h1', {}, `Exploration #${x.id}: ${x.scenarioName}`),
    h(
      'p',
      { class: 'muted' },
      `${res.mode} · agents ${res.agents.join(', ')} · hmmlab ${x.hmmlabVersion} · started ${x.startedAt}`,
    ),
    h('h2', {}, 'Coverage'),
    coverage,
  ];
  const cx = res.counterexample;
  if (cx === null) {
    mount(
      root,
      ...head,
      res.verdict === 'inconclusive'
        ? h(
            'p',
            { class: 'verdict inconclusive', id: 'verdict' },
            `Inconclusive: no invariant failed, but ${cov.boundHit === 'max-states' ? 'the state bound' : 'the depth bound'} stopped the search before it covered everything.`,
          )
        : h('p', { class: 'verdict clean', id: 'verdict' }, 'No invariant failed within the bounds.'),
      h('details', {}, h('summary', {}, 'scenario'), h('pre', {}, x.scenarioText)),
    );
    return;
  }
  const steps = cx.steps;
  const cycleStart = cx.violation.cycleStart;
  const inCycle = (i: number) => cycleStart !== undefined && i >= cycleStart;
  const agents = [...res.agents];
  for (const s of steps) if (!agents.includes(s.agent)) agents.push(s.agent);
  let current = Math.min(
    Math.max(0, Number(route.query.get('step') ?? '0') || 0),
    Math.max(0, steps.length - 1),
  );

  // The lanes: one row per agent, one column per step.
  const cells: HTMLElement[][] = [];
  const header = h(
    'tr',
    {},
    h('th', { class: 'lane-name' }, 'step'),
    ...steps.map((s) =>
      h('th', { class: inCycle(s.index) ? 'cycle' : undefined, 'data-col': s.index }, String(s.index)),
    ),
  );
  const body = agents.map((agent) => {
    const row = steps.map((s) => {
      const mine = s.agent === agent;
      const td = h(
        'td',
        {
          class: ['cell', mine ? 'ran' : '', inCycle(s.index) ? 'cycle' : ''].filter(Boolean).join(' '),
          'data-step': s.index,
          title: mine
            ? `${s.index}: ${s.agent} ${s.call} → ${s.step}${s.change ? ` (${s.change})` : ''}`
            : undefined,
        },
        mine ? s.step : '',
      );
      if (mine) td.addEventListener('click', () => show(s.index));
      return td;
    });
    cells.push(row);
    return h('tr', { 'data-agent': agent }, h('th', { class: 'lane-name' }, agent), ...row);
  });
  const lanes = h(
    'div',
    { class: 'lanes-scroll' },
    h('table', { class: 'lanes', id: 'lanes' }, h('thead', {}, header), h('tbody', {}, ...body)),
  );

  const detail = h('div', { class: 'step-detail', id: 'step-detail' });
  const prev = h('button', { type: 'button', id: 'step-prev' }, '◀ previous');
  const next = h('button', { type: 'button', id: 'step-next' }, 'next ▶');
  const position = h('span', { class: 'muted', id: 'step-position' });
  const stepRows = steps.map((s) => {
    const tr = h(
      'tr',
      { 'data-step': s.index, class: inCycle(s.index) ? 'cycle' : undefined },
      h('td', { class: 'num' }, String(s.index)),
      h('td', {}, s.agent),
      h('td', {}, h('code', {}, s.call)),
      h('td', {}, h('code', {}, s.step)),
      h('td', {}, s.change),
    );
    tr.addEventListener('click', () => show(s.index));
    return tr;
  });

  const show = (i: number) => {
    current = Math.min(Math.max(0, i), steps.length - 1);
    const s = steps[current]!;
    for (const row of cells) {
      row.forEach((td, j) => {
        td.classList.toggle('current', j === current);
      });
    }
    stepRows.forEach((tr, j) => {
      tr.classList.toggle('current', j === current);
    });
    header.querySelectorAll('th[data-col]').forEach((th) => {
      th.classList.toggle('current', th.getAttribute('data-col') === String(current));
    });
    mount(
      detail,
      h(
        'div',
        {},
        h('strong', {}, `step ${s.index}`),
        inCycle(s.index) ? h('span', { class: 'cycle-tag' }, ' in the livelock cycle') : '',
      ),
      h(
        'dl',
        {},
        h('dt', {}, 'agent'),
        h('dd', { 'data-field': 'agent' }, s.agent),
        h('dt', {}, 'call'),
        h('dd', { 'data-field': 'call' }, s.call),
        h('dt', {}, 'stopped at'),
        h('dd', { 'data-field': 'step' }, s.step),
        h('dt', {}, 'change'),
        h('dd', { 'data-field': 'change' }, s.change || '—'),
      ),
    );
    prev.disabled = current === 0;
    next.disabled = current === steps.length - 1;
    position.textContent = `step ${current + 1} of ${steps.length}`;
    history.replaceState(null, '', href('exploration', x.id, { step: String(current) }));
  };
  prev.addEventListener('click', () => show(current - 1));
  next.addEventListener('click', () => show(current + 1));
  document.onkeydown = (e) => {
    if (e.key === 'ArrowLeft') show(current - 1);
    if (e.key === 'ArrowRight') show(current + 1);
  };

  mount(
    root,
    ...head,
    h(
      'div',
      { class: 'violation', id: 'violation' },
      h('strong', {}, `violated: ${cx.violation.invariant}`),
      h('p', {}, cx.violation.message),
      cycleStart !== undefined
        ? h('p', {}, `The steps from ${cycleStart} to the end repeat forever (highlighted).`)
        : '',
      h(
        'p',
        { class: 'muted' },
        'Replay: ',
        h('code', {}, `hmmlab explore <scenario> --replay ${cx.schedule}`),
      ),
    ),
    h('h2', {}, `Counterexample: ${steps.length} steps`),
    h('div', { class: 'toolbar' }, prev, position, next),
    lanes,
    detail,
    table(['#', 'agent', 'call', 'stopped at', 'change'], [], { id: 'steps', class: 'steps' }),
    h('details', {}, h('summary', {}, 'scenario'), h('pre', {}, x.scenarioText)),
  );
  root.querySelector('#steps tbody')?.append(...stepRows);
  if (steps.length > 0) show(current);
}
