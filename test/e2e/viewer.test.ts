/**
 * The viewer in a real browser (Debian's Chromium via playwright-core): every view against a
 * seeded results store served by `startServer` on 127.0.0.1, the charts checked for marks,
 * axis labels and legends, a comparison clicked through, the counterexample stepped through,
 * and missing or corrupt stores. Screenshots go to test/e2e/screenshots/ (gitignored);
 * HMMLAB_DOCS_SCREENSHOTS=1 copies the README's to docs/screenshots/.
 *
 * Missing Chromium fails these tests with a message saying how to install it (no skip).
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from '../../src/serve/server.js';
import { ResultsStore } from '../../src/store/store.js';
import { ensureViewerBuilt, launch, requireChromium, SCREENSHOTS, WEB_ROOT } from './browser.js';
import { LIVELOCK, ROOT, seedExplorations, seedRuns } from './fixtures.js';

/** HMMLAB_DOCS_SCREENSHOTS=1: copy the screenshots to docs/screenshots/ (for the README). */
const DOCS = process.env.HMMLAB_DOCS_SCREENSHOTS === '1';
const DOCS_STORE = 'test/e2e/.store';
let dir: string;
let server: RunningServer;
let browser: { ctx: BrowserContext; close(): Promise<void> };
let page: Page;
let runIds: number[];
let exIds: number[];
const pageErrors: string[] = [];

/** Marks the view on screen as old (no-op before the first page). */
async function markWaiting(): Promise<void> {
  if (page.url().startsWith('http'))
    await page.locator('body').evaluate((b) => b.setAttribute('data-ready', 'waiting'));
}

/** Opens a route and waits until its view has drawn (body[data-ready="1"]). */
async function open(route: string, base = server.url): Promise<void> {
  // The server's URL ends with '/'; routes are hashes (#/run/3). A change of hash alone does not
  // load a new page, so mark the old view first and wait for the new one to draw.
  const target = new URL(route, base).href;
  await markWaiting();
  if (page.url() === target) await page.reload();
  else await page.goto(target);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
}

/** Waits for the view to draw again after a click or a filter change. */
async function redrawn(action: () => Promise<unknown>): Promise<void> {
  await markWaiting();
  await action();
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30_000 });
}

/** A screenshot of the viewport, or with `whole` of the page as tall as its content. */
async function shot(name: string, whole = false): Promise<void> {
  const file = join(SCREENSHOTS, `${name}.png`);
  if (whole) await page.locator('body').screenshot({ path: file });
  else await page.screenshot({ path: file });
  if (DOCS) {
    mkdirSync(join(ROOT, 'docs', 'screenshots'), { recursive: true });
    copyFileSync(file, join(ROOT, 'docs', 'screenshots', `${name}.png`));
  }
}

const texts = (selector: string) => page.locator(selector).allTextContents();

/** Why the setup failed (no Chromium, a failed build): every test then fails with it. */
let setupError: Error | undefined;

beforeAll(async () => {
  try {
    await setUp();
  } catch (e) {
    setupError = e as Error;
  }
}, 120_000);

// A failed setup fails each test with its message, rather than leaving them skipped.
beforeEach(() => {
  if (setupError) throw setupError;
});

async function setUp(): Promise<void> {
  requireChromium();
  ensureViewerBuilt();
  mkdirSync(SCREENSHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'hmmlab-e2e-'));
  // For the README's screenshots, a store path that reads well and stays the same (gitignored).
  let db = join(dir, 'results.db');
  if (DOCS) {
    rmSync(join(ROOT, DOCS_STORE), { recursive: true, force: true });
    mkdirSync(join(ROOT, DOCS_STORE), { recursive: true });
    db = join(DOCS_STORE, 'results.db');
  }
  const store = ResultsStore.open(db);
  runIds = seedRuns(store, [
    { scenario: 'amd', design: 'upstream' },
    { scenario: 'amd', design: 'pagemap-p2p' },
    { scenario: 'amd', design: 'owner-registry' },
    { scenario: 'switch', design: 'pagemap-p2p' },
    { scenario: 'p2p', design: 'owner-registry' },
  ]);
  exIds = seedExplorations(store);
  store.close();
  server = await startServer({ dbPath: db, port: 0, hmmlabVersion: '0.1.0', webRoot: WEB_ROOT });
  browser = await launch();
  page = browser.ctx.pages()[0] ?? (await browser.ctx.newPage());
  page.on('pageerror', (e) => pageErrors.push(e.message));
}

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the viewer in Chromium', () => {
  it('lists the runs and filters them by scenario and design', async () => {
    await open('#/runs');
    expect(await page.locator('#runs tbody tr').count()).toBe(5);
    expect(await page.locator('#store-status').textContent()).toContain('5 runs · 2 explorations');
    await shot('runs', true);
    await redrawn(() => page.selectOption('select[name="scenario"]', 'rdma-amd-root-ports'));
    expect(page.url()).toContain('#/runs?scenario=rdma-amd-root-ports');
    expect(await page.locator('#runs tbody tr').count()).toBe(3);
    await redrawn(() => page.selectOption('select[name="design"]', 'pagemap-p2p'));
    expect(await texts('#runs tbody tr td:nth-child(2)')).toEqual([`#${runIds[1]}`]);
    await redrawn(() => page.selectOption('select[name="scenario"]', ''));
    expect(await texts('#runs tbody tr td:nth-child(2)')).toEqual([`#${runIds[1]}`, `#${runIds[3]}`]);
  });

  it('shows a run: figures with marks, axis labels and legends; the timeline and events filtered', async () => {
    const id = runIds[0]!;
    await open(`#/run/${id}`);
    expect(await page.locator('h1').textContent()).toBe(`Run #${id}: rdma-amd-root-ports upstream`);
    const figures = await page.locator('figure[data-figure]').evaluateAll((els) =>
      els.map((f) => ({
        id: f.getAttribute('data-figure'),
        marks: f.querySelectorAll('svg path, svg rect').length,
        text: [...f.querySelectorAll('svg text')].map((t) => t.textContent).join('|'),
        width: f.querySelector('svg')?.getBoundingClientRect().width ?? 0,
      })),
    );
    const byId = new Map(figures.map((f) => [f.id, f]));
    for (const want of [
      'vram-residency',
      'bytes-over-time',
      'faults-over-time',
      'rdma-latency-cdf',
      'timeline',
    ]) {
      const f = byId.get(want);
      expect(f, want).toBeDefined();
      expect(f!.marks, want).toBeGreaterThan(3);
      expect(f!.width, want).toBeGreaterThan(300);
    }
    expect(byId.get('vram-residency')!.text).toContain('simulated time (ms)');
    expect(byId.get('vram-residency')!.text).toContain(`#${id} upstream · gpu0`);
    expect(byId.get('rdma-latency-cdf')!.text).toContain('message latency (µs)');
    expect(byId.get('rdma-latency-cdf')!.text).toContain('fraction of messages');
    expect(byId.get('timeline')!.text).toContain('nic_fault');
    // The step lines of the residency plot are drawn (a path with many points).
    const d = await page
      .locator('figure[data-figure="vram-residency"] svg path[d]')
      .evaluateAll((ps) => Math.max(...ps.map((p) => (p.getAttribute('d') ?? '').length)));
    expect(d).toBeGreaterThan(100);
    await shot('run');

    // Filter the timeline and the events by kind, then by agent.
    const before = await page.locator('#timeline-count').textContent();
    await redrawn(() => page.selectOption('select[name="kind"]', 'nic_fault'));
    expect(await page.locator('#timeline-count').textContent()).not.toBe(before);
    expect(await page.locator('figure[data-figure="timeline"] svg title').first().textContent()).toBe(
      'Event timeline · nic_fault',
    );
    const kinds = await texts('#events tbody tr td:nth-child(2)');
    expect(kinds).toHaveLength(100);
    expect(new Set(kinds)).toEqual(new Set(['nic_fault']));
    const first = await texts('#events tbody tr td:first-child');
    await redrawn(() => page.click('#events-next'));
    const second = await texts('#events tbody tr td:first-child');
    expect(Number(second[0])).toBeGreaterThan(Number(first.at(-1)));
    await page.locator('#timeline').scrollIntoViewIfNeeded();
    await shot('run-timeline');
    await redrawn(() => page.selectOption('select[name="kind"]', ''));
    await redrawn(() => page.selectOption('select[name="agent"]', 'pci:gpu0.down'));
    expect(new Set(await texts('#events tbody tr td:nth-child(3)'))).toEqual(new Set(['pci:gpu0.down']));
  });

  it('compares runs picked on the runs page, on shared axes, and clicks through to a run', async () => {
    await open('#/runs');
    expect(await page.locator('#compare-selected').isDisabled()).toBe(true);
    for (const id of runIds.slice(0, 3)) await page.check(`input[data-pick="${id}"]`);
    expect(await page.locator('#compare-selected').textContent()).toBe('Compare selected (3)');
    await redrawn(() => page.click('#compare-selected'));
    expect(page.url()).toContain(`#/compare?runs=${runIds.slice(0, 3).join('%2C')}`);
    const labels = [`#${runIds[0]} upstream`, `#${runIds[1]} pagemap-p2p`, `#${runIds[2]} owner-registry`];
    expect(await texts('#compare-table tbody tr td:first-child')).toEqual(labels);
    // Every figure holds all three runs in one chart, with a legend entry each.
    const figures = await page.locator('figure[data-figure]').evaluateAll((els) =>
      els.map((f) => ({
        id: f.getAttribute('data-figure'),
        charts: f.querySelectorAll('svg').length,
        text: [...f.querySelectorAll('svg text')].map((t) => t.textContent).join('|'),
      })),
    );
    expect(figures.length).toBeGreaterThanOrEqual(5);
    for (const f of figures) {
      expect(f.charts, f.id!).toBe(1);
      for (const l of labels) expect(f.text, `${f.id}: ${l}`).toContain(l);
    }
    await shot('compare');
    await redrawn(() => page.click(`a[href="#/run/${runIds[1]}"]`));
    expect(await page.locator('h1').textContent()).toBe(`Run #${runIds[1]}: rdma-amd-root-ports pagemap-p2p`);
    // From a run, its scenario's runs compare in one click.
    await redrawn(() => page.click('#compare-siblings'));
    expect(await page.locator('#compare-table tbody tr').count()).toBe(3);
  });

  it('draws the PCI tree and colours the P2P path by its map type', async () => {
    const run = runIds[3]!;
    await open(`#/topology?run=${run}`);
    const mapType = () => page.locator('#path [data-maptype]').getAttribute('data-maptype');
    const strokes = () =>
      page
        .locator('figure[data-figure="pci-topology"] svg [stroke]')
        .evaluateAll((els) => [...new Set(els.map((e) => e.getAttribute('stroke')))]);
    expect(await mapType()).toBe('BUS_ADDR');
    expect(await page.locator('#path').textContent()).toContain(
      'path: gpu0 → sw0.dsp0 → sw0 → sw0.dsp1 → nic0',
    );
    expect(await strokes()).toContain('#59a14f');
    const labels = await texts('figure[data-figure="pci-topology"] svg text');
    for (const n of [
      'hb0',
      'hb1',
      'sw0',
      'gpu0 (GPU)',
      'nic0 (NIC)',
      'nic1.1',
      'ib0',
      'BUS_ADDR',
      'ACS redirect',
    ]) {
      expect(labels, n).toContain(n);
    }
    expect(await page.locator('#pairs tbody tr').count()).toBe(6);
    await redrawn(() => page.selectOption('select[name="provider"]', 'gpu1'));
    expect(await mapType()).toBe('THRU_HOST_BRIDGE');
    expect(await page.locator('#path').textContent()).toContain('ACS redirect at sw0.dsp2');
    expect(await strokes()).toContain('#f28e2b');
    await shot('topology');
    await redrawn(() => page.selectOption('select[name="provider"]', 'gpu2'));
    expect(await mapType()).toBe('NOT_SUPPORTED');
    expect(await strokes()).toContain('#e15759');
    await redrawn(() => page.selectOption('select[name="client"]', 'ib0'));
    expect(await page.locator('#path').textContent()).toContain('→ nic0 → ib0');

    // A scenario without platform.pci: its devices and the p2p table.
    await redrawn(() => page.selectOption('select[name="scenario"]', `#${runIds[4]} p2p-table`));
    expect(await page.locator('#no-pci').isVisible()).toBe(true);
    expect(await texts('#devices li')).toEqual(['gpu0 GPU', 'gpu1 GPU', 'nic0 NIC', 'nic1 NIC']);
    expect(await texts('#pairs tbody tr td:nth-child(3)')).toEqual([
      'BUS_ADDR',
      'THRU_HOST_BRIDGE',
      'THRU_HOST_BRIDGE',
      'NOT_SUPPORTED',
    ]);
  });

  it('steps through a counterexample with the livelock cycle highlighted', async () => {
    await open('#/explorations');
    expect(await texts('#explorations tbody tr td:nth-child(4)')).toEqual(['livelock', 'clean']);
    await redrawn(() => page.click(`a[href="#/exploration/${exIds[0]}"]`));
    const cx = LIVELOCK.counterexample!;
    const start = cx.violation.cycleStart!;
    expect(await page.locator('#coverage').textContent()).toContain(String(LIVELOCK.coverage.states));
    expect(await page.locator('#violation').textContent()).toContain('violated: livelock');
    expect(await page.locator('#violation').textContent()).toContain(
      `The steps from ${start} to the end repeat forever`,
    );
    expect(await texts('#lanes tbody th')).toEqual(LIVELOCK.agents);
    // The cycle's steps are highlighted in every lane and in the steps table.
    const cycleSteps = cx.steps.length - start;
    expect(await page.locator('#lanes td.cycle').count()).toBe(LIVELOCK.agents.length * cycleSteps);
    expect(await page.locator('#steps tr.cycle').count()).toBe(cycleSteps);
    const field = (f: string) => page.locator(`#step-detail [data-field="${f}"]`).textContent();
    expect(await field('agent')).toBe(cx.steps[0]!.agent);
    expect(await page.locator('#step-prev').isDisabled()).toBe(true);
    for (let i = 0; i < start; i++) await page.click('#step-next');
    expect(await field('agent')).toBe(cx.steps[start]!.agent);
    expect(await field('call')).toBe('do_swap_page');
    expect(await page.locator('#lanes td.current.ran').getAttribute('data-step')).toBe(String(start));
    expect(await page.locator('#step-position').textContent()).toBe(
      `step ${start + 1} of ${cx.steps.length}`,
    );
    expect(await page.locator('#step-detail').textContent()).toContain('in the livelock cycle');
    expect(await field('change')).toBe(cx.steps[start]!.change);
    await shot('exploration');
    for (let i = start; i < cx.steps.length - 1; i++) await page.keyboard.press('ArrowRight');
    expect(await page.locator('#step-next').isDisabled()).toBe(true);
    expect(await field('step')).toBe(cx.steps[cx.steps.length - 1]!.step);
    // A click on a lane cell jumps there.
    await page.click('#lanes td.ran[data-step="1"]');
    expect(await field('agent')).toBe(cx.steps[1]!.agent);

    await open(`#/exploration/${exIds[1]}`);
    expect(await page.locator('#verdict').textContent()).toBe('No invariant failed within the bounds.');
  });

  it('says what is wrong for a bad run id', async () => {
    await open('#/run/999');
    expect(await page.locator('body').getAttribute('data-error')).toBe('404');
    expect(await page.locator('#error').textContent()).toMatch(/^no stored run 999 in /);
  });

  it('raised no errors in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});

describe('stores the viewer cannot show', () => {
  it('says there is no store (and does not create one)', async () => {
    const missing = join(dir, 'none', 'results.db');
    const s = await startServer({ dbPath: missing, port: 0, hmmlabVersion: '0.1.0', webRoot: WEB_ROOT });
    try {
      await open('#/runs', s.url);
      expect(await page.locator('#banner').textContent()).toContain(
        `no results store at ${missing}: run \`hmmlab run <scenario>\``,
      );
      expect(await page.locator('#banner').isVisible()).toBe(true);
      expect(existsSync(missing)).toBe(false);
    } finally {
      await s.close();
    }
  });

  it('says a corrupt store cannot be read', async () => {
    const corrupt = join(dir, 'corrupt.db');
    writeFileSync(corrupt, 'not sqlite at all '.repeat(100));
    const s = await startServer({ dbPath: corrupt, port: 0, hmmlabVersion: '0.1.0', webRoot: WEB_ROOT });
    try {
      await open('#/compare?runs=1,2', s.url);
      expect(await page.locator('#banner').textContent()).toContain(
        `${corrupt}: not an hmmlab results store: it is a text file, not an SQLite database`,
      );
    } finally {
      await s.close();
    }
  });
});
