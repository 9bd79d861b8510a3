/** The viewer: a hash router over the views; each view fetches /api and draws. */
import type { StatusResponse } from '../../src/serve/types.js';
import { ApiFailure, get } from './api.js';
import { h, mount } from './dom.js';
import { parseRoute, type Route } from './route.js';
import './style.css';
import { renderCompare } from './views/compare.js';
import { renderExploration, renderExplorations } from './views/explorations.js';
import { renderRun } from './views/run.js';
import { renderRuns } from './views/runs.js';
import { renderTopology } from './views/topology.js';

const VIEWS: Record<string, (root: HTMLElement, route: Route) => Promise<void>> = {
  runs: renderRuns,
  run: renderRun,
  compare: renderCompare,
  topology: renderTopology,
  explorations: renderExplorations,
  exploration: renderExploration,
};
/** Which nav entry a view belongs to. */
const NAV: Record<string, string> = { run: 'runs', exploration: 'explorations' };

const app = document.getElementById('app')!;
const banner = document.getElementById('banner')!;
const storeStatus = document.getElementById('store-status')!;
let generation = 0;

async function status(): Promise<boolean> {
  try {
    const s = await get<StatusResponse>('/api/status');
    if (s.store.ok) {
      banner.hidden = true;
      storeStatus.textContent = `${s.store.path} · ${s.store.runs} runs · ${s.store.explorations} explorations · hmmlab ${s.hmmlabVersion}`;
      return true;
    }
    banner.hidden = false;
    banner.id = 'banner';
    mount(
      banner,
      h('strong', {}, 'No results to show. '),
      s.store.message ?? 'the results store cannot be read',
    );
    storeStatus.textContent = s.store.path;
    return false;
  } catch (e) {
    banner.hidden = false;
    mount(banner, (e as Error).message);
    return false;
  }
}

async function render(): Promise<void> {
  const mine = ++generation;
  const route = parseRoute(location.hash);
  const view = VIEWS[route.view] ? route.view : 'runs';
  document.body.dataset.view = view;
  document.body.dataset.ready = '0';
  delete document.body.dataset.error;
  document.onkeydown = null;
  for (const a of document.querySelectorAll('nav a')) {
    a.classList.toggle('active', a.getAttribute('data-nav') === (NAV[view] ?? view));
  }
  mount(app, h('p', { class: 'loading' }, 'Loading…'));
  const ok = await status();
  if (mine !== generation) return;
  try {
    if (!ok) {
      mount(app, h('p', { class: 'empty' }, 'Nothing to show until there is a results store (see above).'));
    } else {
      await VIEWS[view]!(app, route);
    }
  } catch (e) {
    if (mine !== generation) return;
    const msg = e instanceof ApiFailure ? e.message : `the viewer failed: ${(e as Error).message}`;
    document.body.dataset.error = e instanceof ApiFailure ? String(e.status) : 'client';
    mount(app, h('p', { class: 'error', id: 'error' }, msg));
  }
  if (mine === generation) document.body.dataset.ready = '1';
}

window.addEventListener('hashchange', () => {
  void render();
});
void render();
