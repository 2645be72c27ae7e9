/**
 * Generates the clients' Candid declarations from the committed `.did` files
 * with @icp-sdk/bindgen, as `dfx generate` / `icp` projects do:
 *
 *   npm run generate        # = node canister/generate.ts
 *
 * writes `canister/declarations/<name>.did.ts` (idlFactory, init, the
 * TypeScript types, `_SERVICE`). The output is checked in; idl.test.ts
 * regenerates it into a temporary folder and fails when the committed bytes
 * differ, so a change to a `.did` cannot drift from its declarations.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { generate } from '@icp-sdk/bindgen/core';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Where the generated declarations are committed. */
export const DECLARATIONS_DIR = join(HERE, 'declarations');

/** The interfaces to generate: every `.did` listed here gets `<name>.did.ts`. */
export const DID_FILES: readonly string[] = [join(HERE, 'upload.did')];

const ESLINT_DISABLE = '/* eslint-disable */\n';

/**
 * Writes the declarations of `didFile` into `outDir` as one TypeScript module
 * (`--declarations-typescript`, no `allowJs` needed), without bindgen's
 * actor wrapper (the client wraps the raw actor itself: `UploadClient`).
 *
 * One edit: `// @ts-nocheck` after bindgen's `eslint-disable` line, as
 * bindgen itself heads its actor files, because the generated idlFactory
 * declares the init type it does not use, which this project's
 * `noUnusedLocals` refuses. Importers are still checked against its types.
 */
export async function generateDeclarations(didFile: string, outDir: string): Promise<string> {
  await generate({
    didFile,
    outDir,
    output: {
      force: true,
      actor: { disabled: true },
      declarations: { typescript: true, flat: true, rootExports: false },
    },
  });
  const file = join(outDir, `${basename(didFile, '.did')}.did.ts`);
  const text = await readFile(file, 'utf8');
  if (!text.startsWith(ESLINT_DISABLE))
    throw new Error(`${file}: bindgen's header changed; review generate.ts`);
  await writeFile(file, `${ESLINT_DISABLE}\n// @ts-nocheck\n${text.slice(ESLINT_DISABLE.length)}`);
  return file;
}

/** Generates every listed `.did` into `outDir`; returns the files written. */
export async function generateAll(outDir: string = DECLARATIONS_DIR): Promise<string[]> {
  const written: string[] = [];
  for (const did of DID_FILES) written.push(await generateDeclarations(did, outDir));
  return written;
}

/**
 * Regenerates into a temporary folder and names each committed file whose
 * bytes differ (or that is missing): empty when the declarations are current.
 */
export async function staleDeclarations(): Promise<string[]> {
  const scratch = await mkdtemp(join(tmpdir(), 'icsim-declarations-'));
  try {
    await generateAll(scratch);
    const stale: string[] = [];
    for (const name of (await readdir(scratch)).sort()) {
      const fresh = await readFile(join(scratch, name));
      const committed = await readFile(join(DECLARATIONS_DIR, name)).catch(() => undefined);
      if (committed === undefined || !fresh.equals(committed)) stale.push(name);
    }
    return stale;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const file of await generateAll()) console.log(relative(process.cwd(), file));
}
