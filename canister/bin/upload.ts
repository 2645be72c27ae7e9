/**
 * The uploader CLI run from a checkout: `npm run upload -- …`. Without
 * `--wasm`, `deploy` / `upgrade` install the module built from this
 * checkout's `canister/src` (cached by source hash). The installed package
 * runs the same CLI as `icsim-upload` (`./icsim-upload.ts`).
 */
import { buildUploadCanister } from '../build.ts';
import { main } from '../client/cli.ts';

process.exitCode = await main(process.argv.slice(2), {
  program: 'npm run upload --',
  defaultModule: async () => (await buildUploadCanister()).wasm,
});
