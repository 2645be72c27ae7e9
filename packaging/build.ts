/**
 * `npm run build`: the publishable JavaScript and declarations in `dist/`.
 *
 * esbuild bundles each public entry point with code splitting (shared code in
 * content-hashed chunks, dependencies left as imports), so a server start
 * loads a few files instead of ~80 TypeScript modules; tsc writes the `.d.ts`
 * files. Both are deterministic and name no absolute path, so the same sources
 * give the same bytes in any checkout. Why esbuild over tsc's own emit: see
 * packaging/README.md (measured start time and size).
 */
import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));
const dist = join(root, 'dist');

/** The package's public modules (package.json `exports`) and the server the launcher starts. */
export const ENTRY_POINTS = [
  'simulator/index.ts',
  'simulator/pic/index.ts',
  'simulator/server/main.ts',
  'simulator/server/instance-worker.ts',
  'canister/client/index.ts',
];

export async function buildPackage(): Promise<void> {
  rmSync(dist, { recursive: true, force: true });
  await build({
    absWorkingDir: root,
    entryPoints: ENTRY_POINTS,
    outdir: 'dist',
    outbase: '.',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    // The launcher and the upload client run on the user's Node; the server itself needs 24.
    target: 'node20',
    packages: 'external',
    chunkNames: 'chunks/[name]-[hash]',
    logLevel: 'warning',
  });
  const bin = join(dist, 'simulator', 'bin', 'icsim.js');
  mkdirSync(join(dist, 'simulator', 'bin'), { recursive: true });
  copyFileSync(join(root, 'simulator', 'bin', 'icsim.js'), bin);
  chmodSync(bin, 0o755);
  // Asynchronous, so that a caller inside a test runner keeps its event loop (and RPC) alive.
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await buildPackage();
