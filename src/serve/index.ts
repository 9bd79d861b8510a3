/**
 * The web viewer: `hmmlab serve` (server.ts), its read-only app and API (app.ts, types.ts),
 * and the charts and topology view it adds to the report's plots (charts.ts, topology.ts).
 * docs/viewer.md describes the views and routes.
 */
export { type AppOptions, createApp, MAX_COMPARE, MAX_EVENTS, viewerFiles } from './app.js';
export { ResimulateError, ResultCache, storedConfig, storedRow } from './resimulate.js';
export {
  DEFAULT_PORT,
  defaultWebRoot,
  HOST,
  type RunningServer,
  type ServeIo,
  serveCommand,
  startServer,
} from './server.js';
export { openStoreForReading, type StoreAccess } from './store-access.js';
export { TopologyQueryError, topologyView } from './topology.js';
export type * from './types.js';
