/**
 * Topology: a stored run's PCI tree with the P2P path between two picked devices coloured by
 * its map type; without platform.pci, the devices and the p2p map-type table.
 */
import type { RunsResponse, TopologyResponse } from '../../../src/serve/types.js';
import { get } from '../api.js';
import { figure, h, mount, select, table } from '../dom.js';
import { href, type Route } from '../route.js';

function badge(mapType: string): HTMLElement {
  return h('span', { class: `maptype maptype-${mapType}`, 'data-maptype': mapType }, mapType);
}

export async function renderTopology(root: HTMLElement, route: Route): Promise<void> {
  const all = await get<RunsResponse>('/api/runs');
  // One entry per scenario text: its first run stands for it.
  const scenarios = new Map<string, { id: number; name: string }>();
  for (const r of all.runs)
    if (!scenarios.has(r.scenarioHash)) scenarios.set(r.scenarioHash, { id: r.id, name: r.scenarioName });
  const runId = route.query.get('run') ?? String([...scenarios.values()][0]?.id ?? '');
  if (!runId) {
    mount(
      root,
      h('h1', {}, 'Topology'),
      h('p', { class: 'empty' }, 'No stored runs yet: run `npm start` first.'),
    );
    return;
  }
  const a = route.query.get('a') ?? '';
  const b = route.query.get('b') ?? '';
  const q = new URLSearchParams();
  if (a) q.set('a', a);
  if (b) q.set('b', b);
  const t = await get<TopologyResponse>(
    `/api/runs/${encodeURIComponent(runId)}/topology${q.size ? `?${q}` : ''}`,
  );
  const choices = [...scenarios.values()].map((s) => `#${s.id} ${s.name}`);
  const current = choices.find((c) => c.startsWith(`#${runId} `)) ?? `#${runId} ${t.scenarioName}`;
  if (!choices.includes(current)) choices.push(current);
  const scenarioPick = select('scenario', choices, current, (v) => {
    location.hash = href('topology', undefined, { run: v.slice(1, v.indexOf(' ')) });
  });
  const pairs = table(
    ['GPU (provider)', 'NIC (client)', 'map type'],
    t.pairs.map((p) => [p.gpu, p.nic, badge(p.mapType)]),
    { id: 'pairs' },
  );
  if (t.source === 'p2p-table') {
    mount(
      root,
      h('h1', {}, `Topology of ${t.scenarioName}`),
      h('div', { class: 'toolbar' }, h('label', {}, 'scenario ', scenarioPick)),
      h(
        'p',
        { class: 'note', id: 'no-pci' },
        'This scenario has no platform.pci: the simulation takes each GPU–NIC map type from platform.p2p (default NOT_SUPPORTED).',
      ),
      h(
        'ul',
        { class: 'devices', id: 'devices' },
        ...t.gpus.map((g) => h('li', {}, h('strong', {}, g), ' GPU')),
        ...t.nics.map((n) => h('li', {}, h('strong', {}, n), ' NIC')),
      ),
      h('h2', {}, 'P2P map types'),
      pairs,
    );
    return;
  }
  const path = t.path;
  const go = (na: string, nb: string) => {
    location.hash = href('topology', undefined, { run: runId, a: na, b: nb });
  };
  const ends = t.endpoints;
  mount(
    root,
    h('h1', {}, `Topology of ${t.scenarioName}`),
    h(
      'div',
      { class: 'toolbar' },
      h('label', {}, 'scenario ', scenarioPick),
      h(
        'label',
        {},
        'provider ',
        select('provider', ends, path?.provider ?? '', (v) => go(v, path?.client ?? '')),
      ),
      h(
        'label',
        {},
        'client ',
        select('client', ends, path?.client ?? '', (v) => go(path?.provider ?? '', v)),
      ),
    ),
    path
      ? h(
          'p',
          { class: 'path', id: 'path' },
          `${path.provider} → ${path.client}: `,
          badge(path.mapType),
          ` distance ${path.distance}`,
          path.commonUpstream ? ` · common upstream ${path.commonUpstream}` : ' · no common upstream device',
          path.acsPath.length > 0 ? ` · ACS redirect at ${path.acsPath.join(', ')}` : '',
          h('br'),
          h('span', { class: 'muted' }, `path: ${path.nodes.join(' → ')}`),
        )
      : '',
    t.figure ? figure(t.figure) : '',
    h('h2', {}, 'GPU–NIC map types (what the simulation uses)'),
    pairs,
    t.describe
      ? h('details', {}, h('summary', {}, 'as text (PciTopology.describe)'), h('pre', {}, t.describe))
      : '',
  );
}
