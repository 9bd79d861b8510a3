/**
 * The web viewer (web/): built into dist/web, which `hmmlab serve` serves. For work on the
 * viewer, `npx hmmlab serve --port 7341` in one terminal and `npx vite` in another: the dev
 * server proxies /api to it (HMMLAB_API names another address).
 */
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'web',
  base: '/',
  publicDir: false,
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    // Deterministic, readable output: no inlined assets, one CSS file.
    assetsInlineLimit: 0,
    sourcemap: false,
  },
  server: {
    host: '127.0.0.1',
    proxy: { '/api': process.env.HMMLAB_API ?? 'http://127.0.0.1:7341' },
  },
});
