/**
 * Helpers for the browser tests: Debian's Chromium through playwright-core (never a downloaded
 * browser), and a viewer build that is never stale.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { ROOT } from './fixtures.js';

/**
 * Where the tests look for Chromium (a non-empty CHROMIUM_PATH overrides): the path
 * scripts/ensure-chromium.mjs (npm test's pretest) installs Debian's package at when missing.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
/** The built viewer. */
export const WEB_ROOT = join(ROOT, 'dist', 'web');
/** Screenshots the tests take (gitignored); HMMLAB_DOCS_SCREENSHOTS=1 also copies chosen ones to docs/screenshots. */
export const SCREENSHOTS = join(ROOT, 'test', 'e2e', 'screenshots');

/** Fails (never skips) when Chromium is missing. */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `the browser tests need Chromium at ${CHROMIUM} and it is missing: install Debian's package ` +
        '(`apt-get install chromium` as root; `npm test` does it when it runs as root or with ' +
        'passwordless sudo) or set CHROMIUM_PATH. Never download a browser.',
    );
  }
}

function newest(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let t = st.mtimeMs;
  for (const name of readdirSync(path)) t = Math.max(t, newest(join(path, name)));
  return t;
}

/** Builds the viewer (vite build) unless dist/web is newer than web/ and vite.config.ts. */
export function ensureViewerBuilt(): void {
  const index = join(WEB_ROOT, 'index.html');
  const sources = Math.max(newest(join(ROOT, 'web')), newest(join(ROOT, 'vite.config.ts')));
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  const vite = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  const r = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (r.status !== 0 || !existsSync(index)) {
    throw new Error(`vite build of the viewer failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
}

/** Launches headless Chromium with a fresh profile; close() also removes the profile. */
export async function launch(): Promise<{ ctx: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'hmmlab-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1200, height: 900 },
    deviceScaleFactor: 1,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--font-render-hinting=none',
    ],
  });
  return {
    ctx,
    close: async () => {
      await ctx.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
