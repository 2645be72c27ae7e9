/**
 * `npm run build`: the publishable JavaScript and declarations in `dist/`.
 *
 * esbuild bundles the entry points with code splitting (shared code in
 * content-hashed chunks), in two builds:
 * - the library (`icsim`, `icsim/pic`, `icsim/upload-client`, and the
 *   uploader CLI `icsim-upload`) leaves its
 *   dependencies as imports, so that a `Principal` or `IDL` type is the same
 *   class in the user's code and in icsim's;
 * - the server (`main`, `instance-worker`) bundles them: it shares no object
 *   with user code, and resolving `@icp-sdk/core`'s many files costs ~30 ms
 *   of every thread's start, bundled ~3 ms (packaging/README.md).
 * The upload canister the CLI deploys is built from `canister/src` and
 * shipped gzipped (`dist/canister/upload.wasm.gz`, `gzip -n`-style: no name,
 * no time). tsc writes the `.d.ts` files. All are deterministic and name no absolute
 * path, so the same sources give the same bytes in any checkout.
 */
import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { constants, gzipSync } from 'node:zlib';
import { buildUploadCanister } from '../canister/build.ts';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const dist = join(root, 'dist');

/** The package's public modules (package.json `exports`). */
export const LIBRARY_ENTRY_POINTS = [
  'simulator/index.ts',
  'simulator/pic/index.ts',
  'canister/client/index.ts',
  'canister/bin/icsim-upload.ts',
];
/** The server the launcher starts, and its instance worker. */
export const SERVER_ENTRY_POINTS = ['simulator/server/main.ts', 'simulator/server/instance-worker.ts'];

const common = {
  absWorkingDir: root,
  outdir: 'dist',
  outbase: '.',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  logLevel: 'warning',
} as const;

/**
 * Bundles the server and its instance worker into `outdir` (relative to the repository; `dist` by
 * default): `<outdir>/simulator/server/main.js` starts in a fraction of the sources' time, which
 * tests that start the server a hundred times use.
 */
export async function buildServer(outdir = 'dist'): Promise<void> {
  await build({
    ...common,
    outdir,
    entryPoints: SERVER_ENTRY_POINTS,
    target: 'node24',
    // The curves stay a runtime `require` (simulator/curves.ts loads each on first use). Only the
    // simulator's own `.js` specifiers: the agent the canister gateway loads imports its own
    // `@noble/curves` 1.x without `.js`, which the top-level 2.x does not export, so it is bundled.
    external: ['@noble/curves/*.js'],
    chunkNames: 'simulator/server/chunks/[name]-[hash]',
    // Bundled CommonJS dependencies `require` Node's modules: give the ES module output a `require`.
    banner: {
      js: "import { createRequire as __icsimRequire } from 'node:module'; const require = __icsimRequire(import.meta.url);",
    },
  });
}

export async function buildPackage(): Promise<void> {
  rmSync(dist, { recursive: true, force: true });
  await build({
    ...common,
    entryPoints: LIBRARY_ENTRY_POINTS,
    // The upload client runs on the user's Node; the simulator itself needs 24.
    target: 'node20',
    packages: 'external',
    chunkNames: 'chunks/[name]-[hash]',
  });
  await buildServer();
  const bin = join(dist, 'simulator', 'bin', 'icsim.js');
  mkdirSync(join(dist, 'simulator', 'bin'), { recursive: true });
  copyFileSync(join(root, 'simulator', 'bin', 'icsim.js'), bin);
  chmodSync(bin, 0o755);
  chmodSync(join(dist, 'canister', 'bin', 'icsim-upload.js'), 0o755);
  const { wasm } = await buildUploadCanister();
  // zlib writes no file name and a zero time: the same module gives the same bytes.
  writeFileSync(
    join(dist, 'canister', 'upload.wasm.gz'),
    gzipSync(wasm, { level: constants.Z_BEST_COMPRESSION }),
  );
  // `icsim link` / `icsim unlink`, loaded by the launcher.
  copyFileSync(join(root, 'simulator', 'bin', 'link.js'), join(dist, 'simulator', 'bin', 'link.js'));
  // Asynchronous, so that a caller inside a test runner keeps its event loop (and RPC) alive.
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildPackage();
