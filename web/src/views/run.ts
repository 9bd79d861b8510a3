/**
 * One run: its metrics, the time-series figures (residency, bytes per link, faults, batches,
 * migrations, RDMA latency), and the event timeline and events with a filter by agent and kind.
 */
import type {
  EventsResponse,
  RunResponse,
  RunsResponse,
  TimelineResponse,
} from '../../../src/serve/types.js';
import { get } from '../api.js';
import { figure, h, metricsTables, mount, select, table } from '../dom.js';
import { href, type Route } from '../route.js';

const PAGE = 100;

const ms = (ns: number) => (ns / 1e6).toFixed(3);

export async function renderRun(root: HTMLElement, route: Route): Promise<void> {
  const id = route.arg ?? '';
  const agent = route.query.get('agent') ?? '';
  const kind = route.query.get('kind') ?? '';
  const offset = Number(route.query.get('offset') ?? '0') || 0;
  const filter = new URLSearchParams();
  if (agent) filter.set('agent', agent);
  if (kind) filter.set('kind', kind);
  const events = new URLSearchParams(filter);
  events.set('offset', String(offset));
  events.set('limit', String(PAGE));
  const [run, timeline, list, all] = await Promise.all([
    get<RunResponse>(`/api/runs/${encodeURIComponent(id)}`),
    get<TimelineResponse>(`/api/runs/${encodeURIComponent(id)}/timeline?${filter}`),
    get<EventsResponse>(`/api/runs/${encodeURIComponent(id)}/events?${events}`),
    get<RunsResponse>('/api/runs'),
  ]);
  const r = run.run;
  const go = (q: Record<string, string>) => {
    location.hash = href('run', r.id, { agent, kind, ...q });
  };
  const siblings = all.runs.filter((x) => x.scenarioHash === r.scenarioHash);
  const pager = h(
    'div',
    { class: 'pager' },
    h(
      'button',
      {
        type: 'button',
        id: 'events-prev',
        disabled: offset === 0,
        onclick: () => go({ offset: String(Math.max(0, offset - PAGE)) }),
      },
      '◀ previous',
    ),
    h(
      'span',
      { class: 'muted' },
      list.total === 0
        ? 'no events'
        : `events ${offset + 1}–${Math.min(list.total, offset + PAGE)} of ${list.total}`,
    ),
    h(
      'button',
      {
        type: 'button',
        id: 'events-next',
        disabled: offset + PAGE >= list.total,
        onclick: () => go({ offset: String(offset + PAGE) }),
      },
      'next ▶',
    ),
  );
  mount(
    root,
    h('h1', {}, `Run #${r.id}: ${r.scenarioName}`, ' ', h('span', { class: 'design' }, r.design)),
    h(
      'p',
      { class: 'muted' },
      `seed ${r.seed} · hmmlab ${r.hmmlabVersion} · started ${r.startedAt} · simulated ${ms(run.endNs)} ms · ${run.eventCount} events · `,
      h('a', { href: href('topology', undefined, { run: String(r.id) }) }, 'topology'),
      siblings.length > 1 ? ' · ' : '',
      siblings.length > 1
        ? h(
            'a',
            {
              href: href('compare', undefined, { runs: siblings.map((x) => x.id).join(',') }),
              id: 'compare-siblings',
            },
            `compare the ${siblings.length} runs of this scenario`,
          )
        : '',
    ),
    run.warning ? h('p', { class: 'warning' }, run.warning) : '',
    metricsTables(run.table, run.moreTable),
    h('h2', {}, 'Time series'),
    h('div', { class: 'figures' }, ...run.figures.map(figure)),
    h('h2', { id: 'timeline' }, 'Event timeline'),
    h(
      'div',
      { class: 'toolbar' },
      h(
        'label',
        {},
        'agent ',
        select('agent', run.agents, agent, (v) => go({ agent: v, offset: '0' }), 'all agents'),
      ),
      h(
        'label',
        {},
        'kind ',
        select('kind', run.kinds, kind, (v) => go({ kind: v, offset: '0' }), 'all kinds'),
      ),
      h(
        'span',
        { class: 'muted', id: 'timeline-count' },
        `${timeline.total} events in ${timeline.bars} bars`,
      ),
    ),
    figure(timeline.figure),
    pager,
    table(
      ['#', 'kind', 'agent', 'start ms', 'end ms', 'detail'],
      list.events.map((e) => [
        String(e.index),
        e.kind,
        e.agent,
        ms(e.startNs),
        ms(e.endNs),
        h('code', {}, e.detail),
      ]),
      { id: 'events', class: 'events' },
    ),
    h('h2', {}, 'Scenario'),
    h(
      'details',
      {},
      h('summary', {}, `${r.scenarioName} (sha256 ${r.scenarioHash.slice(0, 12)})`),
      h('pre', {}, r.scenarioText),
    ),
  );
  if (route.query.has('agent') || route.query.has('kind') || route.query.has('offset')) {
    document.getElementById('timeline')?.scrollIntoView();
  }
}
