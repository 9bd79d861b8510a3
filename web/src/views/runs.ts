/** The runs view: stored runs, filtered by scenario and design; pick several to compare. */
import type { RunsResponse } from '../../../src/serve/types.js';
import { get } from '../api.js';
import { h, mount, select } from '../dom.js';
import { href, type Route } from '../route.js';

export async function renderRuns(root: HTMLElement, route: Route): Promise<void> {
  const scenario = route.query.get('scenario') ?? '';
  const design = route.query.get('design') ?? '';
  const q = new URLSearchParams();
  if (scenario) q.set('scenario', scenario);
  if (design) q.set('design', design);
  const data = await get<RunsResponse>(`/api/runs${q.size ? `?${q}` : ''}`);
  const picked = new Set<number>();
  const go = (s: string, d: string) => {
    location.hash = href('runs', undefined, { scenario: s, design: d });
  };
  const compareButton = h(
    'button',
    { type: 'button', id: 'compare-selected', disabled: true },
    'Compare selected',
  );
  const updateButton = () => {
    compareButton.disabled = picked.size < 2;
    compareButton.textContent = `Compare selected (${picked.size})`;
  };
  compareButton.addEventListener('click', () => {
    location.hash = href('compare', undefined, { runs: [...picked].sort((a, b) => a - b).join(',') });
  });
  const rows = data.runs.map((r) =>
    h(
      'tr',
      { 'data-run': r.id },
      h(
        'td',
        {},
        h('input', {
          type: 'checkbox',
          'aria-label': `pick run ${r.id}`,
          'data-pick': r.id,
          onchange: (e: Event) => {
            if ((e.target as HTMLInputElement).checked) picked.add(r.id);
            else picked.delete(r.id);
            updateButton();
          },
        }),
      ),
      h('td', {}, h('a', { href: href('run', r.id) }, `#${r.id}`)),
      h('td', {}, r.scenarioName),
      h('td', {}, h('span', { class: 'design' }, r.design)),
      h('td', { class: 'num' }, r.seed),
      h('td', {}, r.startedAt),
      h('td', {}, r.hmmlabVersion),
      h('td', { class: 'num' }, r.durationMs === undefined ? '' : `${r.durationMs.toFixed(0)} ms`),
      h('td', {}, h('a', { href: href('topology', undefined, { run: String(r.id) }) }, 'topology')),
    ),
  );
  mount(
    root,
    h('h1', {}, 'Stored runs'),
    h(
      'div',
      { class: 'toolbar' },
      h(
        'label',
        {},
        'scenario ',
        select('scenario', data.scenarios, scenario, (v) => go(v, design), 'all scenarios'),
      ),
      h(
        'label',
        {},
        'design ',
        select('design', data.designs, design, (v) => go(scenario, v), 'all designs'),
      ),
      compareButton,
      h('span', { class: 'muted' }, `${data.runs.length} runs`),
    ),
    data.runs.length === 0
      ? h(
          'p',
          { class: 'empty' },
          scenario || design
            ? 'No stored run matches these filters.'
            : 'No stored runs yet: run `npm start` (or hmmlab run / compare / sweep) to store some.',
        )
      : h(
          'table',
          { id: 'runs' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ...['', 'run', 'scenario', 'design', 'seed', 'started', 'hmmlab', 'took', ''].map((x) =>
                h('th', {}, x),
              ),
            ),
          ),
          h('tbody', {}, ...rows),
        ),
  );
  updateButton();
}
