/**
 * Builds the upload canister's Wasm offline (Azle 0.33 stable mode), cached
 * by source hash through fixtures/azle.ts.
 *
 *   npm run build:canister        # = node canister/build.ts
 *
 * prints the Wasm path, its size and whether the cache answered. Tests and
 * benchmarks import `buildUploadCanister()` instead.
 */
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { buildAzleCanister } from '../fixtures/azle.ts';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The canister's entry; every file in its folder is part of the cache key. */
export const UPLOAD_CANISTER_MAIN = join(HERE, 'src', 'index.ts');
/** The interface as committed (Candid text); the build's own .did must match it. */
export const UPLOAD_CANISTER_DID = join(HERE, 'upload.did');

export type UploadCanisterBuild = {
  wasm: Uint8Array;
  wasmPath: string;
  candid: string;
  /** True when the cache answered and no build ran. */
  cached: boolean;
};

export async function buildUploadCanister(): Promise<UploadCanisterBuild> {
  const { wasm, wasmPath, candid, cached } = await buildAzleCanister({
    name: 'upload',
    main: UPLOAD_CANISTER_MAIN,
  });
  return { wasm, wasmPath, candid, cached };
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = performance.now();
  const build = await buildUploadCanister();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const size = (await stat(build.wasmPath)).size;
  console.log(build.wasmPath);
  console.log(
    `${(size / 1048576).toFixed(2)} MiB (${size} bytes), ${build.cached ? 'from cache' : 'built'} in ${seconds} s`,
  );
}
