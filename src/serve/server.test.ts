/**
 * `hmmlab serve` over a real socket: bound to 127.0.0.1, raw request paths that try to leave
 * the viewer's files, other hosts and methods; the command's --port checks, a busy port, and
 * the process started and stopped with SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../../test/cli/run-cli.js';
import { ROOT, seedRuns } from '../../test/e2e/fixtures.js';
import { ResultsStore } from '../store/store.js';
import { type RunningServer, serveCommand, startServer } from './server.js';

let dir: string;
let db: string;
let secret: string;
let running: RunningServer;

/** A raw GET: the path is sent as given (no URL normalisation on the way). */
function raw(
  port: number,
  path: string,
  opts: { method?: string; host?: string } = {},
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: opts.method ?? 'GET',
        headers: { host: opts.host ?? `127.0.0.1:${port}` },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hmmlab-server-'));
  db = join(dir, 'results.db');
  const store = ResultsStore.open(db);
  seedRuns(store, [{ scenario: 'p2p', design: 'upstream' }]);
  store.close();
  const web = join(dir, 'web');
  mkdirSync(join(web, 'assets'), { recursive: true });
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>viewer</title>');
  writeFileSync(join(web, 'assets', 'app.js'), 'console.log(1)');
  secret = join(dir, 'secret.txt');
  writeFileSync(secret, 'TOP-SECRET');
  running = await startServer({ dbPath: db, port: 0, hmmlabVersion: '0.1.0', webRoot: web });
});

afterAll(async () => {
  await running?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the server', () => {
  it('listens on 127.0.0.1 only and serves the viewer and the API', async () => {
    expect(running.server.address()).toMatchObject({ address: '127.0.0.1', family: 'IPv4' });
    expect(running.url).toBe(`http://127.0.0.1:${running.port}/`);
    expect((await raw(running.port, '/')).body).toContain('<title>viewer</title>');
    const runs = await raw(running.port, '/api/runs');
    expect(runs.status).toBe(200);
    expect(JSON.parse(runs.body).runs).toHaveLength(1);
  });

  it('serves no path outside the viewer files, however it is written', async () => {
    const paths = [
      '/../secret.txt',
      '/../../../../etc/passwd',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/assets%2f..%2f..%2fsecret.txt',
      '/%2fetc%2fpasswd',
      '/..%2fsecret.txt',
      '/..\\secret.txt',
      '/%5c..%5csecret.txt',
      `/${secret}`,
      `/${secret.replace(/\//g, '%2f')}`,
      secret,
      '//etc/passwd',
      '/etc/passwd',
      'file:///etc/passwd',
      '/index.html%00.js',
      '/assets/app.js/../../secret.txt',
    ];
    for (const p of paths) {
      const r = await raw(running.port, p);
      expect([400, 404], p).toContain(r.status);
      expect(r.body, p).not.toContain('TOP-SECRET');
      expect(r.body, p).not.toContain('root:');
    }
    // API paths with dot segments land on no route either.
    for (const p of ['/api/runs/../../secret.txt', '/api/%2e%2e/%2e%2e/secret.txt', '/api/runs/%2e%2e%2f1']) {
      const r = await raw(running.port, p);
      expect([400, 404], p).toContain(r.status);
      expect(r.body, p).not.toContain('TOP-SECRET');
    }
  });

  it('answers 405 to writes and 403 to other host names', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await raw(running.port, '/api/runs', { method });
      expect(r.status, method).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD');
    }
    const head = await raw(running.port, '/api/runs', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    expect((await raw(running.port, '/api/runs', { host: 'attacker.example' })).status).toBe(403);
    expect((await raw(running.port, '/api/runs', { host: `localhost:${running.port}` })).status).toBe(200);
  });
});

describe('hmmlab serve', () => {
  const io = () => {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) } };
  };

  it('rejects a bad --port with exit code 2 and a message', async () => {
    for (const port of ['abc', '-1', '65536', '1.5', '', '0x50', '8080x']) {
      const { err, io: sink } = io();
      expect(await serveCommand({ port, db }, '0.1.0', sink), port).toBe(2);
      expect(err.join(''), port).toBe(
        `hmmlab: --port must be an integer from 0 to 65535 (0: any free port), not '${port}'\n`,
      );
    }
    const r = await cli('serve', '--port', 'http', '--db', db);
    expect(r.code).toBe(2);
    expect(r.err).toBe("hmmlab: --port must be an integer from 0 to 65535 (0: any free port), not 'http'\n");
    expect(r.out).toBe('');
  });

  it('says a busy port is in use, with exit code 2', async () => {
    const busy: Server = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const r = await cli('serve', '--port', String(port), '--db', db);
      expect(r.code).toBe(2);
      expect(r.err).toBe(
        `hmmlab: port ${port} on 127.0.0.1 is in use: pick another with --port (--port 0 picks a free one)\n`,
      );
      expect(r.err).not.toMatch(/\n\s+at /);
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });

  it('prints its URL, serves until told to stop, and notes a missing store', async () => {
    const { out, err, io: sink } = io();
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => {
      stop = resolve;
    });
    let listening!: () => void;
    const up = new Promise<void>((resolve) => {
      listening = resolve;
    });
    const missing = join(dir, 'none.db');
    const done = serveCommand({ port: '0', db: missing }, '0.1.0', sink, () => {
      listening();
      return stopped;
    });
    await up;
    const url = /hmmlab viewer: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(out.join(''))?.[1];
    expect(url).toBeDefined();
    expect(err.join('')).toBe(
      `hmmlab: note: no results store at ${missing}: run \`hmmlab run <scenario>\` (or compare, report, sweep) first, or name one with --db (the viewer says so too)\n`,
    );
    const status = (await (await fetch(`${url}api/status`)).json()) as {
      store: { ok: boolean; message: string };
    };
    expect(status.store).toMatchObject({
      ok: false,
      message: `no results store at ${missing}: run \`hmmlab run <scenario>\` (or compare, report, sweep) first, or name one with --db`,
    });
    stop();
    expect(await done).toBe(0);
    await expect(fetch(`${url}api/status`)).rejects.toThrow();
  });

  it('runs as a process that stops on SIGTERM with exit code 0', async () => {
    const child: ChildProcess = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `import('./src/cli/main.ts').then(async (m) => { process.exitCode = await m.main(['node', 'hmmlab', 'serve', '--port', '0', '--db', ${JSON.stringify(db)}]); })`,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout!.setEncoding('utf8');
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (c) => {
        out += c;
        const m = /hmmlab viewer: (\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`serve exited early (${code}): ${out}`)));
    });
    const runs = (await (await fetch(`${url}api/runs`)).json()) as { runs: unknown[] };
    expect(runs.runs).toHaveLength(1);
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  }, 60_000);
});
