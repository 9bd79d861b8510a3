/** Compare: several runs side by side, the same metrics on shared axes. */
import type { CompareResponse, RunsResponse } from '../../../src/serve/types.js';
import { get } from '../api.js';
import { figure, h, metricsTables, mount } from '../dom.js';
import { href, type Route } from '../route.js';

export async function renderCompare(root: HTMLElement, route: Route): Promise<void> {
  const runs = route.query.get('runs') ?? '';
  if (!runs) {
    // No runs picked: offer each scenario's runs as one comparison.
    const all = await get<RunsResponse>('/api/runs');
    const byScenario = new Map<string, { name: string; ids: number[] }>();
    for (const r of all.runs) {
      const g = byScenario.get(r.scenarioHash) ?? { name: r.scenarioName, ids: [] };
      g.ids.push(r.id);
      byScenario.set(r.scenarioHash, g);
    }
    mount(
      root,
      h('h1', {}, 'Compare runs'),
      h(
        'p',
        {},
        'Pick runs on the ',
        h('a', { href: href('runs') }, 'runs'),
        ' page, or compare the runs of one scenario:',
      ),
      h(
        'ul',
        { class: 'scenario-groups' },
        ...[...byScenario.values()].map((g) =>
          h(
            'li',
            {},
            h('a', { href: href('compare', undefined, { runs: g.ids.slice(0, 8).join(',') }) }, g.name),
            ` (${g.ids.length} runs: ${g.ids.map((i) => `#${i}`).join(', ')})`,
          ),
        ),
      ),
    );
    return;
  }
  const data = await get<CompareResponse>(`/api/compare?runs=${encodeURIComponent(runs)}`);
  mount(
    root,
    h('h1', {}, `Compare ${data.labels.length} runs`),
    h(
      'p',
      { class: 'muted' },
      ...data.runs.flatMap((r, i) => [
        i > 0 ? ' · ' : '',
        h('a', { href: href('run', r.id) }, data.labels[i]!),
        ` (${r.scenarioName}, seed ${r.seed})`,
      ]),
    ),
    ...data.warnings.map((w) => h('p', { class: 'warning' }, w)),
    metricsTables(data.table, data.moreTable, 'compare-table'),
    h('div', { class: 'figures' }, ...data.figures.map(figure)),
  );
}
