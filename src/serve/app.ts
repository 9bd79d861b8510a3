/**
 * The viewer's web app (hono): a read-only JSON API over the results store, and the built
 * viewer's files. Written against web-standard Request/Response, so tests call
 * `app.request(...)` in-process; src/serve/server.ts binds it to 127.0.0.1.
 *
 * Read-only: GET and HEAD only (anything else is 405), the store is opened per request without
 * creating or migrating it, and the only files served are those of the built viewer, looked up
 * in a list made from its folder (no path from the request ever reaches the file system).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { type Context, Hono } from 'hono';
import { DESIGN_NAMES } from '../designs/design.js';
import { compareTable, reportPlots } from '../report/html.js';
import type { DesignResult } from '../report/plots.js';
import type { CompareRow } from '../sim/compare.js';
import type { SimEvent } from '../sim/simulate.js';
import type { ResultsStore, StoredRun } from '../store/store.js';
import {
  agentsAndKinds,
  batchesOverTimePlot,
  bytesOverTimePlot,
  type EventFilter,
  eventAgent,
  eventDetail,
  eventEnd,
  faultsOverTimePlot,
  kindOrder,
  matches,
  pagesOverTimePlot,
  timelinePlot,
} from './charts.js';
import { type Resimulated, ResimulateError, ResultCache, storedRunConfig } from './resimulate.js';
import { openStoreForReading } from './store-access.js';
import { TopologyQueryError, topologyView } from './topology.js';
import type {
  CompareResponse,
  EventRow,
  EventsResponse,
  ExplorationResponse,
  ExplorationsResponse,
  Figure,
  RunResponse,
  RunsResponse,
  StatusResponse,
  TimelineResponse,
  TopologyResponse,
} from './types.js';

export interface AppOptions {
  /** The results store file. */
  dbPath: string;
  /** The built viewer's folder (index.html, assets/); null serves the API only. */
  webRoot: string | null;
  hmmlabVersion: string;
  /** Re-simulated runs kept in memory (default 8). */
  cacheSize?: number;
}

/** The most runs one comparison takes. */
export const MAX_COMPARE = 8;
/** The most events one /events answer holds. */
export const MAX_EVENTS = 1000;

/** An answer with an HTTP status and a message for the user, thrown by route helpers. */
class HttpError extends Error {
  constructor(
    readonly status: 400 | 404 | 405 | 422 | 503,
    message: string,
  ) {
    super(message);
  }
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** URL path (`/assets/index-abc.js`) -> file, for every file under `root`; empty if it is missing. */
export function viewerFiles(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const file = join(dir, name);
      const st = statSync(file);
      if (st.isDirectory()) walk(file);
      else if (st.isFile()) out.set(`/${relative(root, file).split(sep).join('/')}`, file);
    }
  };
  walk(root);
  const index = out.get('/index.html');
  if (index) out.set('/', index);
  return out;
}

const RUN_ID = /^[1-9][0-9]{0,15}$/;

function parseId(raw: string, what: 'run' | 'exploration'): number {
  const id = Number(raw);
  if (!RUN_ID.test(raw) || !Number.isSafeInteger(id)) {
    throw new HttpError(404, `no ${what} '${raw}': ${what} ids are positive integers (see /api/${what}s)`);
  }
  return id;
}

function label(run: { id: number; design: string }): string {
  return `#${run.id} ${run.design}`;
}

/** Builds the app. */
export function createApp(opts: AppOptions): Hono {
  const app = new Hono();
  const cache = new ResultCache(opts.cacheSize ?? 8, opts.hmmlabVersion);
  const figureCache = new Map<string, Figure[]>();

  /** Runs `f` on a store opened for this request; store problems become 503 answers. */
  const readStore = <T>(f: (store: ResultsStore) => T): T => {
    const access = openStoreForReading(opts.dbPath);
    if (!access.ok) throw new HttpError(503, access.message);
    try {
      return f(access.store);
    } catch (e) {
      if (e instanceof HttpError) throw e;
      throw new HttpError(503, `results store at ${opts.dbPath} cannot be read: ${(e as Error).message}`);
    } finally {
      access.store.close();
    }
  };

  const getRun = (raw: string): StoredRun => {
    const id = parseId(raw, 'run');
    const run = readStore((s) => s.getRun(id));
    if (!run) throw new HttpError(404, `no stored run ${id} in ${opts.dbPath}`);
    return run;
  };

  // A ResimulateError that names the run already (`run 5: ...`) is not prefixed with it twice.
  const withoutRunPrefix = (run: StoredRun, message: string) =>
    message.startsWith(`run ${run.id}: `) ? message.slice(`run ${run.id}: `.length) : message;

  const resimulate = (run: StoredRun): Resimulated => {
    try {
      return cache.get(run);
    } catch (e) {
      if (e instanceof ResimulateError)
        throw new HttpError(
          422,
          `run ${run.id} cannot be simulated again: ${withoutRunPrefix(run, e.message)}`,
        );
      throw e;
    }
  };

  const differs = (sim: Resimulated) => `${sim.difference}; the figures show the new ones`;

  const filterOf = (c: Context, log: readonly SimEvent[]): EventFilter => {
    const agent = c.req.query('agent') || undefined;
    const kind = c.req.query('kind') || undefined;
    const kinds = kindOrder(log);
    if (kind !== undefined && !kinds.includes(kind)) {
      throw new HttpError(400, `unknown event kind '${kind}' (expected ${kinds.join(', ')})`);
    }
    const agents = agentsAndKinds(log).agents;
    if (agent !== undefined && !agents.includes(agent)) {
      throw new HttpError(400, `no agent '${agent}' in this run (expected ${agents.join(', ')})`);
    }
    return { agent, kind };
  };

  const intParam = (c: Context, name: string, fallback: number, max: number): number => {
    const raw = c.req.query(name);
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!/^[0-9]+$/.test(raw) || !Number.isSafeInteger(n) || n > max) {
      throw new HttpError(400, `${name} must be an integer from 0 to ${max}, not '${raw}'`);
    }
    return n;
  };

  // Read-only: GET and HEAD (hono answers HEAD with the GET route, without a body).
  app.use('*', async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      return c.json({ error: `${c.req.method} is not allowed: the viewer is read-only (GET, HEAD)` }, 405, {
        Allow: 'GET, HEAD',
      });
    }
    // Only names of this machine (a page elsewhere cannot reach it through DNS rebinding).
    const host = new URL(c.req.url).hostname;
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(host)) {
      return c.json({ error: `host '${host}' is not served: open the viewer on 127.0.0.1` }, 403);
    }
    await next();
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
  });

  app.onError((e, c) => {
    if (e instanceof HttpError) return c.json({ error: e.message }, e.status);
    if (e instanceof TopologyQueryError) return c.json({ error: e.message }, 400);
    process.stderr.write(`hmmlab serve: ${(e as Error).stack ?? String(e)}\n`);
    return c.json({ error: `internal error: ${(e as Error).message}` }, 500);
  });

  app.get('/api/status', (c) => {
    const access = openStoreForReading(opts.dbPath, { quickCheck: true });
    const body: StatusResponse = {
      hmmlabVersion: opts.hmmlabVersion,
      store: { path: opts.dbPath, ok: access.ok },
    };
    if (!access.ok) body.store.message = access.message;
    else {
      try {
        body.store.schemaVersion = access.schemaVersion;
        body.store.runs = access.store.listRuns().length;
        body.store.explorations = access.store.listExplorations().length;
      } catch (e) {
        body.store.ok = false;
        body.store.message = `results store at ${opts.dbPath} cannot be read: ${(e as Error).message}`;
      } finally {
        access.store.close();
      }
    }
    return c.json(body);
  });

  app.get('/api/runs', (c) => {
    const scenario = c.req.query('scenario') || undefined;
    const design = c.req.query('design') || undefined;
    const body = readStore((s): RunsResponse => {
      const all = s.listRuns();
      return {
        runs: s.listRuns({ scenario, design }),
        scenarios: [...new Set(all.map((r) => r.scenarioName))].sort(),
        designs: [...new Set(all.map((r) => r.design))].sort(),
      };
    });
    return c.json(body);
  });

  app.get('/api/runs/:id', (c) => {
    const run = getRun(c.req.param('id'));
    const sim = resimulate(run);
    const log = sim.result.log ?? [];
    const { agents, kinds } = agentsAndKinds(log);
    const key = `${run.scenarioHash}:${run.design}:${run.seed}:${run.id}`;
    let figures = figureCache.get(key);
    if (!figures) {
      const results: DesignResult[] = [{ design: label(run), result: sim.result }];
      const rows = [{ ...sim.row, design: label(run) }] as unknown as CompareRow[];
      // The report's figures, with the time series the report does not draw after their kin.
      const after: Record<string, Figure[]> = {
        'vram-residency': [
          {
            id: 'bytes-over-time',
            caption:
              'Bytes moved so far: migration copies per link direction, and the RDMA payload per workload (each counted at its end).',
            svg: bytesOverTimePlot(results),
          },
        ],
        'link-bytes': [
          {
            id: 'faults-over-time',
            caption:
              'GPU faults (as the fault buffer delivers them), NIC faults and CPU faults per time bin (1/120 of the run).',
            svg: faultsOverTimePlot(sim.result),
          },
          {
            id: 'batches-over-time',
            caption: 'GPU fault batches serviced per time bin.',
            svg: batchesOverTimePlot(sim.result),
          },
          {
            id: 'pages-over-time',
            caption:
              'Pages GPU batches moved to VRAM and evicted, and pages NIC and CPU faults covered, per time bin.',
            svg: pagesOverTimePlot(sim.result),
          },
        ],
      };
      figures = [];
      for (const p of reportPlots(results, rows)) {
        figures.push(p);
        figures.push(...(after[p.id] ?? []));
        delete after[p.id];
      }
      for (const rest of Object.values(after)) figures.push(...rest);
      figureCache.set(key, figures);
      while (figureCache.size > (opts.cacheSize ?? 8)) figureCache.delete(figureCache.keys().next().value!);
    }
    const body: RunResponse = {
      run: {
        id: run.id,
        scenarioName: run.scenarioName,
        scenarioHash: run.scenarioHash,
        design: run.design,
        seed: run.seed,
        hmmlabVersion: run.hmmlabVersion,
        startedAt: run.startedAt,
        ...(run.durationMs === undefined ? {} : { durationMs: run.durationMs }),
        scenarioText: run.scenarioText,
      },
      ...(sim.matchesStored ? {} : { warning: differs(sim) }),
      endNs: sim.result.endNs,
      eventCount: log.length,
      agents,
      kinds,
      table: compareTable([{ ...sim.row, design: label(run) } as unknown as CompareRow]),
      moreTable: compareTable([{ ...sim.row, design: label(run) } as unknown as CompareRow], 'more'),
      figures,
    };
    return c.json(body);
  });

  app.get('/api/runs/:id/events', (c) => {
    const run = getRun(c.req.param('id'));
    const log = resimulate(run).result.log ?? [];
    const filter = filterOf(c, log);
    const offset = intParam(c, 'offset', 0, Number.MAX_SAFE_INTEGER);
    const limit = intParam(c, 'limit', 100, MAX_EVENTS);
    const events: EventRow[] = [];
    let total = 0;
    log.forEach((e, index) => {
      if (!matches(e, filter)) return;
      if (total >= offset && events.length < limit) {
        events.push({
          index,
          kind: e.kind,
          agent: eventAgent(e),
          startNs: e.t,
          endNs: eventEnd(e),
          detail: eventDetail(e),
        });
      }
      total++;
    });
    const body: EventsResponse = { total, offset, events };
    return c.json(body);
  });

  app.get('/api/runs/:id/timeline', (c) => {
    const run = getRun(c.req.param('id'));
    const result = resimulate(run).result;
    const filter = filterOf(c, result.log ?? []);
    const t = timelinePlot(result, filter);
    const body: TimelineResponse = {
      total: t.total,
      bars: t.bars,
      figure: {
        id: 'timeline',
        caption:
          'One lane per GPU, NIC, link and workload; a bar per event from start to end. Events closer than a pixel on one lane are drawn as one bar (hover for counts).',
        svg: t.svg,
      },
    };
    return c.json(body);
  });

  app.get('/api/runs/:id/topology', (c) => {
    const run = getRun(c.req.param('id'));
    let config: ReturnType<typeof storedRunConfig>;
    try {
      config = storedRunConfig(run);
    } catch (e) {
      if (e instanceof ResimulateError)
        throw new HttpError(422, `run ${run.id}: ${withoutRunPrefix(run, e.message)}`);
      throw e;
    }
    const body: TopologyResponse = topologyView(config.config, run.scenarioName, {
      a: c.req.query('a') || undefined,
      b: c.req.query('b') || undefined,
    });
    return c.json(body);
  });

  app.get('/api/compare', (c) => {
    const raw = c.req.query('runs') ?? '';
    const parts = raw.split(',').filter((x) => x !== '');
    if (parts.length === 0)
      throw new HttpError(400, 'compare needs ?runs=<id>,<id>,... (run ids, see /api/runs)');
    if (parts.length > MAX_COMPARE) {
      throw new HttpError(400, `compare takes at most ${MAX_COMPARE} runs, not ${parts.length}`);
    }
    const ids = parts.map((p) => parseId(p, 'run'));
    if (new Set(ids).size !== ids.length) throw new HttpError(400, `runs ${raw} names a run twice`);
    const runs = ids.map((id) => getRun(String(id)));
    const sims = runs.map(resimulate);
    const labels = runs.map(label);
    const results: DesignResult[] = sims.map((s, i) => ({ design: labels[i]!, result: s.result }));
    const rows = sims.map((s, i) => ({ ...s.row, design: labels[i]! })) as unknown as CompareRow[];
    const scenarios = new Set(runs.map((r) => r.scenarioHash));
    const warnings = sims.filter((s) => !s.matchesStored).map(differs);
    if (scenarios.size > 1) {
      warnings.unshift(
        `these runs come from ${scenarios.size} different scenario texts (${[...new Set(runs.map((r) => r.scenarioName))].join(', ')}): compare with care`,
      );
    }
    const body: CompareResponse = {
      runs: runs.map(({ scenarioText: _t, metrics: _m, ...summary }) => summary),
      labels,
      warnings,
      table: compareTable(rows),
      moreTable: compareTable(rows, 'more'),
      figures: [
        ...reportPlots(results, rows),
        {
          id: 'bytes-over-time',
          caption:
            'Bytes moved so far per run: migration copies per link direction, RDMA payload per workload.',
          svg: bytesOverTimePlot(results),
        },
      ],
    };
    return c.json(body);
  });

  app.get('/api/explorations', (c) => {
    const body: ExplorationsResponse = { explorations: readStore((s) => s.listExplorations()) };
    return c.json(body);
  });

  app.get('/api/explorations/:id', (c) => {
    const id = parseId(c.req.param('id'), 'exploration');
    const exploration = readStore((s) => s.getExploration(id));
    if (!exploration) throw new HttpError(404, `no stored exploration ${id} in ${opts.dbPath}`);
    const body: ExplorationResponse = { exploration };
    return c.json(body);
  });

  app.get('/api/designs', (c) => c.json({ designs: DESIGN_NAMES }));

  app.all('/api/*', (c) => c.json({ error: `no API route ${new URL(c.req.url).pathname}` }, 404));

  // The built viewer: exact paths from its own file list only.
  app.get('*', (c) => {
    if (opts.webRoot === null) return c.json({ error: 'this server has no viewer files (API only)' }, 404);
    const files = viewerFiles(opts.webRoot);
    if (files.size === 0) {
      return c.text(
        `the viewer is not built (no files in ${opts.webRoot}): run \`npm run build:web\`, then reload`,
        503,
      );
    }
    const path = new URL(c.req.url).pathname;
    const file = files.get(path);
    if (file === undefined) return c.text(`not found: ${path}`, 404);
    const ext = file.slice(file.lastIndexOf('.'));
    const isIndex = path === '/' || path === '/index.html';
    return c.body(readFileSync(file), 200, {
      'Content-Type': CONTENT_TYPES[ext] ?? 'application/octet-stream',
      'Cache-Control': isIndex ? 'no-cache' : 'public, max-age=31536000, immutable',
      'Content-Security-Policy':
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    });
  });

  return app;
}
