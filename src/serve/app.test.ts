/**
 * The viewer's API, in-process (app.request): the routes over a seeded store, read-only
 * answers (405), bad ids (404 with a message), missing, empty, corrupt and old stores (503,
 * never created or migrated), and the static files served only from the viewer's own list.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLEAN, LIVELOCK, seedExplorations, seedRuns } from '../../test/e2e/fixtures.js';
import { MIGRATIONS, ResultsStore } from '../store/store.js';
import { createApp, MAX_COMPARE } from './app.js';
import type {
  CompareResponse,
  EventsResponse,
  ExplorationResponse,
  ExplorationsResponse,
  RunResponse,
  RunsResponse,
  StatusResponse,
  TimelineResponse,
  TopologyResponse,
} from './types.js';

let dir: string;
let db: string;
let web: string;
let ids: number[];
let exIds: number[];
let app: ReturnType<typeof createApp>;

const json = async <T>(path: string, status = 200): Promise<T> => {
  const res = await app.request(path);
  const body = await res.text();
  expect(res.status, `${path}: ${body.slice(0, 300)}`).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return JSON.parse(body) as T;
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'hmmlab-serve-'));
  db = join(dir, 'results.db');
  const store = ResultsStore.open(db);
  ids = seedRuns(store, [
    { scenario: 'switch', design: 'pagemap-p2p' },
    { scenario: 'switch', design: 'upstream' },
    { scenario: 'p2p', design: 'owner-registry' },
  ]);
  exIds = seedExplorations(store);
  // A run whose design this hmmlab does not know, and one whose scenario no longer loads.
  ids.push(
    store.saveRun({
      scenarioName: 'switch-topology',
      scenarioText: store.getRun(ids[0]!)!.scenarioText,
      design: 'no-such-design',
      seed: 1,
      hmmlabVersion: '0.0.1',
      startedAt: '2026-11-26T12:00:00.000Z',
      metrics: {},
    }),
    store.saveRun({
      scenarioName: 'broken',
      scenarioText: 'version: 1\nname: broken\nworkloads: 3\n',
      design: 'upstream',
      seed: 1,
      hmmlabVersion: '0.0.1',
      startedAt: '2026-11-26T12:01:00.000Z',
      metrics: {},
    }),
  );
  store.close();
  web = join(dir, 'web');
  mkdirSync(join(web, 'assets'), { recursive: true });
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>viewer</title>');
  writeFileSync(join(web, 'assets', 'app.js'), 'console.log(1)');
  writeFileSync(join(dir, 'secret.txt'), 'TOP-SECRET');
  app = createApp({ dbPath: db, webRoot: web, hmmlabVersion: '0.1.0' });
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('runs', () => {
  it('lists the stored runs with the filter choices, and filters by scenario and design', async () => {
    const all = await json<RunsResponse>('/api/runs');
    expect(all.runs.map((r) => r.id)).toEqual(ids);
    expect(all.scenarios).toEqual(['broken', 'p2p-table', 'switch-topology']);
    expect(all.designs).toEqual(['no-such-design', 'owner-registry', 'pagemap-p2p', 'upstream']);
    const sw = await json<RunsResponse>('/api/runs?scenario=switch-topology&design=upstream');
    expect(sw.runs.map((r) => r.id)).toEqual([ids[1]]);
    expect((await json<RunsResponse>('/api/runs?scenario=nothing')).runs).toEqual([]);
  });

  it('shows a run simulated again: metrics table, figures with marks, axes and legends, filters', async () => {
    const r = await json<RunResponse>(`/api/runs/${ids[0]}`);
    expect(r.run.id).toBe(ids[0]);
    expect(r.run.scenarioText).toContain('name: switch-topology');
    expect(r.warning).toBeUndefined();
    expect(r.table.cells).toHaveLength(1);
    expect(r.table.cells[0]![0]).toBe(`#${ids[0]} pagemap-p2p`);
    // The report's figures (src/report/html.ts reportPlots), each time series after its kin.
    const ids_ = r.figures.map((f) => f.id);
    expect(ids_).toEqual(expect.arrayContaining(['faults-migrations', 'rdma-latency-cdf']));
    expect(ids_.slice(0, 3)).toEqual(['vram-residency', 'bytes-over-time', 'link-bytes']);
    expect(ids_.slice(3, 6)).toEqual(['faults-over-time', 'batches-over-time', 'pages-over-time']);
    expect(new Set(ids_).size).toBe(ids_.length);
    for (const f of r.figures) {
      expect(f.svg, f.id).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      expect(f.svg, f.id).toMatch(/<(path|rect) [^>]*(d|height)="/);
    }
    const byId = new Map(r.figures.map((f) => [f.id, f.svg]));
    expect(byId.get('vram-residency')).toContain('simulated time (ms)');
    expect(byId.get('vram-residency')).toContain(`#${ids[0]} pagemap-p2p · gpu0`);
    expect(byId.get('bytes-over-time')).toContain(`#${ids[0]} pagemap-p2p · put (RDMA)`);
    expect(byId.get('faults-over-time')).toContain('gpu0 faults');
    expect(byId.get('faults-over-time')).toContain('nic0 faults');
    expect(byId.get('rdma-latency-cdf')).toContain('message latency (µs)');
    expect(r.agents).toEqual(expect.arrayContaining(['gpu0', 'nic0', 'put', 'fill']));
    expect(r.kinds).toEqual(expect.arrayContaining(['batch', 'nic_fault', 'message', 'workload_end']));
    expect(r.eventCount).toBeGreaterThan(1000);
    // The same answer again (from the cache), byte for byte.
    const again = await app.request(`/api/runs/${ids[0]}`);
    expect(JSON.stringify(await again.json())).toBe(JSON.stringify(r));
  });

  it('warns when a stored run gives other metrics today', async () => {
    const d = join(dir, 'changed.db');
    const s = ResultsStore.open(d);
    const [id] = seedRuns(s, [{ scenario: 'p2p', design: 'upstream' }]);
    const run = s.getRun(id!)!;
    s.saveRun({ ...run, metrics: { ...(run.metrics as object), pagesToRam: -1 } });
    s.close();
    const a = createApp({ dbPath: d, webRoot: null, hmmlabVersion: '9.9.9' });
    const r = (await (await a.request('/api/runs/2')).json()) as RunResponse;
    expect(r.warning).toMatch(
      /^run 2 \(scenario p2p-table, hash [0-9a-f]{12}, design upstream, seed \d+\) gives different metrics when simulated again: pagesToRam -1 stored, \d+ now; stored by hmmlab 0\.1\.0, simulated again by hmmlab 9\.9\.9; the figures show the new ones$/,
    );
  });

  it('pages and filters the events by agent and kind', async () => {
    const all = await json<EventsResponse>(`/api/runs/${ids[0]}/events?limit=5`);
    expect(all.events).toHaveLength(5);
    expect(all.events.map((e) => e.index)).toEqual([0, 1, 2, 3, 4]);
    const nic = await json<EventsResponse>(`/api/runs/${ids[0]}/events?kind=nic_fault&limit=1000`);
    expect(nic.total).toBeGreaterThan(0);
    expect(nic.events.every((e) => e.kind === 'nic_fault' && e.agent === 'nic0')).toBe(true);
    expect(nic.events.every((e) => e.endNs >= e.startNs && /pages=\d+/.test(e.detail))).toBe(true);
    const page2 = await json<EventsResponse>(`/api/runs/${ids[0]}/events?kind=nic_fault&offset=10&limit=3`);
    expect(page2.events.map((e) => e.index)).toEqual(nic.events.slice(10, 13).map((e) => e.index));
    const gpu = await json<EventsResponse>(`/api/runs/${ids[0]}/events?agent=gpu0&kind=batch&limit=1`);
    expect(gpu.events[0]).toMatchObject({ kind: 'batch', agent: 'gpu0' });
    const none = await json<EventsResponse>(`/api/runs/${ids[0]}/events?agent=gpu0&kind=message`);
    expect(none).toEqual({ total: 0, offset: 0, events: [] });
  });

  it('rejects bad event filters and paging with 400 and a message', async () => {
    const bad: [string, RegExp][] = [
      ['kind=nope', /unknown event kind 'nope' \(expected batch, /],
      ['agent=gpu9', /no agent 'gpu9' in this run \(expected /],
      ['limit=5000', /limit must be an integer from 0 to 1000, not '5000'/],
      ['offset=-1', /offset must be an integer/],
    ];
    for (const [q, msg] of bad) {
      expect((await json<{ error: string }>(`/api/runs/${ids[0]}/events?${q}`, 400)).error).toMatch(msg);
    }
  });

  it('draws the timeline per filter; the bars it draws never exceed the events', async () => {
    const t = await json<TimelineResponse>(`/api/runs/${ids[0]}/timeline`);
    const all = await json<EventsResponse>(`/api/runs/${ids[0]}/events?limit=1`);
    expect(t.total).toBe(all.total);
    expect(t.bars).toBeGreaterThan(0);
    expect(t.bars).toBeLessThanOrEqual(t.total);
    expect(t.figure.svg).toContain('<title>Event timeline</title>');
    expect(t.figure.svg).toContain('simulated time (ms)');
    const k = await json<TimelineResponse>(`/api/runs/${ids[0]}/timeline?kind=message&agent=put`);
    expect(k.figure.svg).toContain('Event timeline · put · message');
    expect(k.total).toBe((await json<EventsResponse>(`/api/runs/${ids[0]}/events?kind=message`)).total);
  });

  it('gives 404 with a clear JSON message for bad and missing run ids', async () => {
    for (const bad of ['abc', '0', '-1', '1.5', '1e3', '01', '99999999999999999999', '%20', 'x%2fy']) {
      const e = await json<{ error: string }>(`/api/runs/${bad}`, 404);
      expect(e.error, bad).toMatch(/^no run '.*': run ids are positive integers \(see \/api\/runs\)$/);
    }
    // Dot segments are resolved before routing: /api/runs/%2e%2e is /api/, no route.
    for (const bad of ['%2e%2e', '..', '%2e', '%2e%2e/1']) {
      const e = await json<{ error: string }>(`/api/runs/${bad}`, 404);
      expect(e.error, bad).toMatch(/^no (run '.*'|API route \/api\/\S*|stored run \d+ in .*)$/);
    }
    expect((await json<{ error: string }>('/api/runs/4242', 404)).error).toBe(`no stored run 4242 in ${db}`);
    expect((await json<{ error: string }>('/api/runs/4242/events', 404)).error).toBe(
      `no stored run 4242 in ${db}`,
    );
    expect((await json<{ error: string }>('/api/runs/4242/timeline', 404)).error).toMatch(
      /no stored run 4242/,
    );
    expect((await json<{ error: string }>('/api/runs/4242/topology', 404)).error).toMatch(
      /no stored run 4242/,
    );
    expect((await json<{ error: string }>('/api/nothing/here', 404)).error).toBe(
      'no API route /api/nothing/here',
    );
  });

  it('answers 422 for a stored run this hmmlab cannot simulate again', async () => {
    const unknown = await json<{ error: string }>(`/api/runs/${ids[3]}`, 422);
    expect(unknown.error).toMatch(/design 'no-such-design', which this hmmlab does not know/);
    const broken = await json<{ error: string }>(`/api/runs/${ids[4]}`, 422);
    expect(broken.error).toMatch(
      new RegExp(`^run ${ids[4]} cannot be simulated again: run ${ids[4]}:\\d+:\\d+: `),
    );
    expect((await json<{ error: string }>(`/api/runs/${ids[4]}/topology`, 422)).error).toMatch(
      /run \d+:\d+:\d+/,
    );
  });
});

describe('compare', () => {
  it('puts runs side by side: one table row and one series per run, on shared axes', async () => {
    const c = await json<CompareResponse>(`/api/compare?runs=${ids[0]},${ids[1]}`);
    expect(c.labels).toEqual([`#${ids[0]} pagemap-p2p`, `#${ids[1]} upstream`]);
    expect(c.table.cells.map((r) => r[0])).toEqual(c.labels);
    expect(c.warnings).toEqual([]);
    // The report's figures of several designs, then the bytes per link over time.
    expect(c.figures.map((f) => f.id)).toEqual(
      expect.arrayContaining(['vram-residency', 'rdma-latency-cdf']),
    );
    expect(c.figures.at(-1)!.id).toBe('bytes-over-time');
    for (const f of c.figures) for (const l of c.labels) expect(f.svg, f.id).toContain(l);
    // One chart per metric: both runs' lines are inside the same <svg>.
    const cdf = c.figures.find((f) => f.id === 'rdma-latency-cdf')!.svg;
    expect(cdf.match(/<svg\b/g)).toHaveLength(1);
  });

  it('warns when the runs come from different scenario texts', async () => {
    const c = await json<CompareResponse>(`/api/compare?runs=${ids[0]},${ids[2]}`);
    expect(c.warnings[0]).toMatch(/2 different scenario texts \(switch-topology, p2p-table\)/);
  });

  it('rejects a bad list of runs', async () => {
    expect((await json<{ error: string }>('/api/compare', 400)).error).toMatch(/compare needs \?runs=/);
    expect((await json<{ error: string }>(`/api/compare?runs=${ids[0]},${ids[0]}`, 400)).error).toMatch(
      /names a run twice/,
    );
    const many = Array.from({ length: MAX_COMPARE + 1 }, (_, i) => i + 1).join(',');
    expect((await json<{ error: string }>(`/api/compare?runs=${many}`, 400)).error).toMatch(/at most 8 runs/);
    expect((await json<{ error: string }>(`/api/compare?runs=${ids[0]},x`, 404)).error).toMatch(/no run 'x'/);
    expect((await json<{ error: string }>(`/api/compare?runs=${ids[0]},777`, 404)).error).toMatch(
      /no stored run 777/,
    );
  });
});

describe('topology', () => {
  it('draws the PCI tree with the path between the first GPU and NIC, and every pair', async () => {
    const t = await json<TopologyResponse>(`/api/runs/${ids[0]}/topology`);
    expect(t.source).toBe('pci');
    expect(t.path).toMatchObject({ provider: 'gpu0', client: 'nic0', mapType: 'BUS_ADDR', distance: 4 });
    expect(t.figure!.svg).toContain('PCI topology of switch-topology');
    expect(t.figure!.svg).toContain('BUS_ADDR');
    expect(t.pairs).toContainEqual({ gpu: 'gpu2', nic: 'nic0', mapType: 'NOT_SUPPORTED' });
    const p = await json<TopologyResponse>(`/api/runs/${ids[0]}/topology?a=gpu1&b=nic0`);
    expect(p.path).toMatchObject({ mapType: 'THRU_HOST_BRIDGE', acsPath: ['sw0.dsp2'] });
  });

  it('answers 400 for a device that is not in the topology', async () => {
    const e = await json<{ error: string }>(`/api/runs/${ids[0]}/topology?a=gpu7`, 400);
    expect(e.error).toMatch(/^provider 'gpu7' is not a device of this topology \(pick one of gpu0, nic0, /);
  });

  it('gives the p2p map-type table for a scenario without platform.pci', async () => {
    const t = await json<TopologyResponse>(`/api/runs/${ids[2]}/topology`);
    expect(t.source).toBe('p2p-table');
    expect(t.figure).toBeNull();
    expect(t.pairs).toEqual([
      { gpu: 'gpu0', nic: 'nic0', mapType: 'BUS_ADDR' },
      { gpu: 'gpu0', nic: 'nic1', mapType: 'THRU_HOST_BRIDGE' },
      { gpu: 'gpu1', nic: 'nic0', mapType: 'THRU_HOST_BRIDGE' },
      { gpu: 'gpu1', nic: 'nic1', mapType: 'NOT_SUPPORTED' },
    ]);
  });
});

describe('explorations', () => {
  it('lists explorations and shows one whole', async () => {
    const l = await json<ExplorationsResponse>('/api/explorations');
    expect(l.explorations.map((e) => [e.id, e.verdict, e.mode])).toEqual([
      [exIds[0], 'livelock', 'exhaustive'],
      [exIds[1], 'clean', 'exhaustive'],
    ]);
    const x = await json<ExplorationResponse>(`/api/explorations/${exIds[0]}`);
    expect(x.exploration.result).toEqual(LIVELOCK);
    const c = await json<ExplorationResponse>(`/api/explorations/${exIds[1]}`);
    expect(c.exploration.result).toEqual(CLEAN);
  });

  it('gives 404 for bad and missing exploration ids', async () => {
    expect((await json<{ error: string }>('/api/explorations/x', 404)).error).toMatch(
      /^no exploration 'x': exploration ids are positive integers/,
    );
    expect((await json<{ error: string }>('/api/explorations/99', 404)).error).toBe(
      `no stored exploration 99 in ${db}`,
    );
  });
});

describe('read-only', () => {
  it('answers 405 to every method but GET and HEAD', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      for (const path of ['/api/runs', `/api/runs/${ids[0]}`, '/', '/index.html']) {
        const res = await app.request(path, { method });
        expect(res.status, `${method} ${path}`).toBe(405);
        expect(res.headers.get('allow')).toBe('GET, HEAD');
        expect(((await res.json()) as { error: string }).error).toMatch(
          /the viewer is read-only \(GET, HEAD\)/,
        );
      }
    }
    const store = ResultsStore.open(db);
    expect(store.listRuns().map((r) => r.id)).toEqual(ids);
    store.close();
  });

  it('answers HEAD like GET, without a body', async () => {
    const res = await app.request('/api/runs', { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect((await app.request('/', { method: 'HEAD' })).status).toBe(200);
  });

  it('refuses other host names (DNS rebinding)', async () => {
    const res = await app.request('http://evil.example:7341/api/runs');
    expect(res.status).toBe(403);
    expect((await app.request('http://127.0.0.1:7341/api/runs')).status).toBe(200);
  });
});

describe('stores that cannot be shown', () => {
  const statusOf = async (path: string) => {
    const a = createApp({ dbPath: path, webRoot: web, hmmlabVersion: '0.1.0' });
    const s = (await (await a.request('/api/status')).json()) as StatusResponse;
    const runs = await a.request('/api/runs');
    const page = await a.request('/');
    return {
      s,
      runs: { status: runs.status, body: (await runs.json()) as { error: string } },
      page: page.status,
    };
  };

  it('says there is no store, and creates neither the file nor its folder', async () => {
    const path = join(dir, 'nothing', 'here.db');
    const { s, runs, page } = await statusOf(path);
    const msg = `no results store at ${path}: run \`hmmlab run <scenario>\` (or compare, report, sweep) first, or name one with --db`;
    expect(s.store).toEqual({ path, ok: false, message: msg });
    expect(runs).toEqual({ status: 503, body: { error: msg } });
    expect(page).toBe(200);
    expect(
      (await createApp({ dbPath: path, webRoot: null, hmmlabVersion: '0' }).request('/api/explorations'))
        .status,
    ).toBe(503);
    expect(existsSync(path)).toBe(false);
    expect(existsSync(join(dir, 'nothing'))).toBe(false);
  });

  it('says a corrupt file cannot be read', async () => {
    const path = join(dir, 'corrupt.db');
    writeFileSync(
      path,
      'this is not a database, just some bytes that are long enough to be a header...'.repeat(20),
    );
    const before = readFileSync(path);
    const { s, runs } = await statusOf(path);
    expect(s.store.ok).toBe(false);
    expect(s.store.message).toBe(
      `${path}: not an hmmlab results store: it is a text file, not an SQLite database`,
    );
    expect(runs.status).toBe(503);
    expect(runs.body.error).toBe(s.store.message);
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('says an empty file is not a results store', async () => {
    const path = join(dir, 'empty.db');
    writeFileSync(path, '');
    const { s, runs } = await statusOf(path);
    expect(s.store.message).toBe(
      `${path}: an empty file, not a results store yet: run \`hmmlab run <scenario>\` first`,
    );
    expect(runs.status).toBe(503);
    expect(readFileSync(path).length).toBe(0);
  });

  it('reads a store of an older schema as it is, without migrating or marking it', async () => {
    const path = join(dir, 'v2.db');
    const old = new Database(path);
    for (const m of MIGRATIONS.filter((m) => m.version <= 2)) old.exec(m.sql);
    old.pragma('user_version = 2');
    old.close();
    const before = readFileSync(path);
    const { s, runs } = await statusOf(path);
    expect(s.store).toEqual({ path, ok: true, schemaVersion: 2, runs: 0, explorations: 0 });
    expect(runs.status).toBe(200);
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('says a store of a newer schema needs a newer hmmlab', async () => {
    const path = join(dir, 'v99.db');
    copyFileSync(db, path);
    const future = new Database(path);
    future.pragma('user_version = 99');
    future.close();
    const { s } = await statusOf(path);
    expect(s.store.message).toBe(
      `${path}: results store schema version 99; this hmmlab knows up to 3 (use a newer hmmlab)`,
    );
  });

  it('reports a healthy store with its counts', async () => {
    const s = await json<StatusResponse>('/api/status');
    expect(s).toEqual({
      hmmlabVersion: '0.1.0',
      store: { path: db, ok: true, schemaVersion: 3, runs: ids.length, explorations: 2 },
    });
  });
});

describe('viewer files', () => {
  it('serves the viewer files with their types and a CSP', async () => {
    const index = await app.request('/');
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await index.text()).toContain('<title>viewer</title>');
    const js = await app.request('/assets/app.js');
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await js.text()).toBe('console.log(1)');
  });

  it('serves nothing outside the viewer files', async () => {
    const secret = join(dir, 'secret.txt');
    const paths = [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/%2E%2E%2Fsecret.txt',
      '/assets%2fapp.js',
      '/assets%2F..%2F..%2Fsecret.txt',
      '/..%5csecret.txt',
      `/${secret}`,
      `/${encodeURIComponent(secret)}`,
      '//etc/passwd',
      '/etc/passwd',
      '/index.html/../../secret.txt',
      '/assets/',
      '/assets',
      '/secret.txt',
    ];
    for (const p of paths) {
      const res = await app.request(p);
      const body = await res.text();
      expect(res.status, p).toBe(404);
      expect(body, p).not.toContain('TOP-SECRET');
      expect(body, p).not.toContain('root:');
    }
  });

  it('says so when the viewer is not built', async () => {
    const a = createApp({ dbPath: db, webRoot: join(dir, 'no-build'), hmmlabVersion: '0.1.0' });
    const res = await a.request('/');
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/the viewer is not built .*npm run build:web/);
  });
});
