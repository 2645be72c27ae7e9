#!/usr/bin/env node
/**
 * `icsim-upload`, the uploader CLI of the installed package (package.json
 * `bin`): deploy / upgrade / upload / download / ls / publish / share /
 * revoke. Without `--wasm`, `deploy` / `upgrade` install the upload canister
 * the package ships (`dist/canister/upload.wasm.gz`, built by
 * `packaging/build.ts` from the same sources). Runs on Node 20 or later.
 */
import { readFile } from 'node:fs/promises';
import { main } from '../client/cli.ts';

process.exitCode = await main(process.argv.slice(2), {
  program: 'icsim-upload',
  defaultModule: async () => new Uint8Array(await readFile(new URL('../upload.wasm.gz', import.meta.url))),
});
