// `npm test`'s pretest: the browser tests (test/e2e) drive Debian's Chromium through
// playwright-core. When it is missing, install Debian's package with apt-get (as root, or
// through passwordless sudo), quietly. Never a downloaded browser build. When it cannot be
// installed, print one line saying how, and exit 0: the browser tests then fail with the
// same advice, and every other test still runs.
//
// CHROMIUM_PATH names another browser (the tests use it too): then nothing is installed.
// HMMLAB_NO_APT=1 turns the installation off.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const DEFAULT = '/usr/bin/chromium';
const target = process.env.CHROMIUM_PATH || DEFAULT;
const advice = 'install it with `apt-get install chromium` (as root), or set CHROMIUM_PATH';

function say(line) {
  process.stderr.write(`pretest: ${line}\n`);
}

function ok(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.status === 0;
}

/** The command prefix that runs apt-get as root, or null when there is none. */
function asRoot() {
  if (typeof process.getuid === 'function' && process.getuid() === 0) return [];
  if (ok('sudo', ['-n', 'true'])) return ['sudo', '-n'];
  return null;
}

/** Runs apt-get quietly; on failure returns the tail of what it printed. */
function apt(prefix, args) {
  const [cmd, ...rest] = [...prefix, 'apt-get', ...args];
  const r = spawnSync(cmd, rest, {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status === 0) return null;
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}`.trim().split('\n');
  return out.slice(-5).join('\n') || `exit ${r.status}`;
}

function main() {
  if (existsSync(target)) return;
  if (process.env.CHROMIUM_PATH) {
    say(`the browser tests need Chromium at CHROMIUM_PATH=${target}, which is missing`);
    return;
  }
  if (process.env.HMMLAB_NO_APT === '1') {
    say(`Chromium is missing at ${target} (HMMLAB_NO_APT=1): the browser tests will fail; ${advice}`);
    return;
  }
  if (process.platform !== 'linux' || !ok('sh', ['-c', 'command -v apt-get'])) {
    say(
      `Chromium is missing at ${target} and there is no apt-get here: the browser tests will fail; ${advice}`,
    );
    return;
  }
  const prefix = asRoot();
  if (prefix === null) {
    say(`Chromium is missing at ${target}: the browser tests will fail; ${advice}`);
    return;
  }
  say(`Chromium is missing at ${target}: installing Debian's package for the browser tests (apt-get)`);
  const failed = apt(prefix, ['update', '-qq']) ?? apt(prefix, ['install', '-y', '-qq', 'chromium']);
  if (failed !== null || !existsSync(target)) {
    say(`apt-get could not install chromium${failed ? `:\n${failed}` : ''}`);
    say(`the browser tests will fail; ${advice}`);
    return;
  }
  say(`installed ${target}`);
}

main();
