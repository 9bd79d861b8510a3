// Runs the hmmlab command line from the TypeScript sources (node --import tsx test/cli/launch.mjs
// <args>), as bin/hmmlab.js runs it from dist/: for tests that need a real child process (one
// killed with SIGKILL) without depending on a build.
import { main } from '../../src/cli/main.ts';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exitCode = 70;
  },
);
