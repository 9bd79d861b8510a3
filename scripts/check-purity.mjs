// The model layers (kernel, drivers, uapi, sim, designs) must be pure and deterministic:
// no node:* imports, no Math.random, no Date, no performance clock. Biome bans the globals;
// this script backs it with a grep that also catches imports and Math.random.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const pureDirs = ['src/kernel', 'src/drivers', 'src/uapi', 'src/sim', 'src/designs', 'src/conformance'];
const banned = [
  [/from\s+['"]node:/, 'imports a node: module'],
  [/from\s+['"](fs|path|os|child_process|worker_threads)['"]/, 'imports a Node built-in'],
  [/Math\.random\s*\(/, 'calls Math.random'],
  [/\bDate\.now\s*\(|new Date\s*\(/, 'reads the wall clock'],
  [/\bperformance\.now\s*\(/, 'reads the wall clock'],
];
let bad = 0;
function walk(dir) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) {
      const lines = readFileSync(p, 'utf8').split('\n');
      lines.forEach((line, i) => {
        for (const [re, why] of banned) {
          if (re.test(line)) {
            console.error(`${p}:${i + 1}: ${why}: ${line.trim()}`);
            bad++;
          }
        }
      });
    }
  }
}
for (const d of pureDirs) walk(d);
if (bad) {
  console.error(`${bad} purity violation(s)`);
  process.exit(1);
}
