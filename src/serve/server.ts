/**
 * `hmmlab serve`: the viewer app (app.ts) on a local HTTP server bound to 127.0.0.1 only.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAdaptorServer } from '@hono/node-server';
import { DEFAULT_DB_PATH } from '../store/store.js';
import { createApp } from './app.js';
import { openStoreForReading } from './store-access.js';

/** The port `hmmlab serve` listens on unless --port names another (0: any free port). */
export const DEFAULT_PORT = 7341;
/** The only address the server listens on. */
export const HOST = '127.0.0.1';

/** The built viewer's folder: dist/web of the hmmlab package this module belongs to. */
export function defaultWebRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'hmmlab') {
          return join(dir, 'dist', 'web');
        }
      } catch {
        // Not ours: keep walking up.
      }
    }
    const up = dirname(dir);
    if (up === dir) return join(dirname(fileURLToPath(import.meta.url)), '..', 'web');
    dir = up;
  }
}

export interface StartOptions {
  dbPath: string;
  port: number;
  hmmlabVersion: string;
  /** Default: defaultWebRoot(). */
  webRoot?: string | null;
}

export interface RunningServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** Starts the viewer on 127.0.0.1:port; rejects with the listen error (EADDRINUSE, EACCES). */
export function startServer(opts: StartOptions): Promise<RunningServer> {
  const app = createApp({
    dbPath: opts.dbPath,
    webRoot: opts.webRoot === undefined ? defaultWebRoot() : opts.webRoot,
    hmmlabVersion: opts.hmmlabVersion,
  });
  const server = createAdaptorServer({ fetch: app.fetch }) as Server;
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once('error', onError);
    server.listen(opts.port, HOST, () => {
      server.off('error', onError);
      const port = (server.address() as AddressInfo).port;
      resolve({
        url: `http://${HOST}:${port}/`,
        port,
        server,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** Where `hmmlab serve` writes: stdout and stderr (tests pass their own). */
export interface ServeIo {
  out(s: string): void;
  err(s: string): void;
}

const processIo: ServeIo = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

/** Resolves on SIGINT or SIGTERM. */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/**
 * The `serve` command: checks --port, starts the server, prints its URL and serves until
 * `until` resolves (default: SIGINT or SIGTERM). Returns the exit code: 0, or 2 for a bad
 * --port or a port that cannot be listened on (with a message on stderr, never a stack).
 */
export async function serveCommand(
  opts: { db?: string; port?: string },
  hmmlabVersion: string,
  io: ServeIo = processIo,
  until: () => Promise<void> = untilSignal,
): Promise<number> {
  let port = DEFAULT_PORT;
  if (opts.port !== undefined) {
    port = Number(opts.port);
    if (!/^[0-9]{1,5}$/.test(opts.port) || port > 65535) {
      io.err(`hmmlab: --port must be an integer from 0 to 65535 (0: any free port), not '${opts.port}'\n`);
      return 2;
    }
  }
  const dbPath = opts.db ?? DEFAULT_DB_PATH;
  let running: RunningServer;
  try {
    running = await startServer({ dbPath, port, hmmlabVersion });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'EADDRINUSE'
        ? `port ${port} on ${HOST} is in use: pick another with --port (--port 0 picks a free one)`
        : code === 'EACCES'
          ? `not allowed to listen on port ${port} of ${HOST}: pick another with --port`
          : `cannot listen on ${HOST}:${port}: ${code ?? (e as Error).message}`;
    io.err(`hmmlab: ${why}\n`);
    return 2;
  }
  const access = openStoreForReading(dbPath, { quickCheck: true });
  if (access.ok) access.store.close();
  else io.err(`hmmlab: note: ${access.message} (the viewer says so too)\n`);
  io.out(`hmmlab viewer: ${running.url}\nresults store: ${dbPath}; Ctrl-C stops the server\n`);
  await until();
  await running.close();
  return 0;
}
