import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { IDL } from '@icp-sdk/core/candid';
import { afterAll, describe, expect, it } from 'vitest';

import { buildUploadCanister, UPLOAD_CANISTER_DID } from './build.ts';
import { idlFactory, init } from './declarations/upload.did.ts';
import { generateDeclarations, staleDeclarations } from './generate.ts';

type Declarations = { idlFactory: IDL.InterfaceFactory; init: (args: { IDL: typeof IDL }) => IDL.Type[] };

type Shape = { init: string[]; methods: Record<string, string> };

/**
 * A service and its init arguments as Candid type text, one entry per method:
 * record and variant fields in hash order, argument names and type aliases
 * gone, annotations kept. Two interfaces with the same shape are the same on
 * the wire.
 */
function shape(d: Declarations): Shape {
  const service = d.idlFactory({ IDL }) as IDL.ServiceClass;
  return {
    init: d.init({ IDL }).map((t) => t.display()),
    methods: Object.fromEntries(service._fields.map(([name, func]) => [name, func.display()])),
  };
}

// Bindgen reads the .did from a file and the module imports @icp-sdk/core, so
// scratch declarations live inside the checkout (gitignored .cache/).
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const scratchRoot = join(ROOT, '.cache', 'idl-test');
afterAll(() => rm(scratchRoot, { recursive: true, force: true }));

/** Declarations of a Candid text through the same generator as the committed ones. */
async function declarationsOf(didText: string): Promise<Declarations> {
  await mkdir(scratchRoot, { recursive: true });
  const dir = await mkdtemp(join(scratchRoot, 'did-'));
  const did = join(dir, 'service.did');
  await writeFile(did, didText);
  const module = await generateDeclarations(did, dir);
  return (await import(/* @vite-ignore */ pathToFileURL(module).href)) as Declarations;
}

const committed = shape({ idlFactory, init });

describe('Candid interface', () => {
  it('canister/declarations/ is what @icp-sdk/bindgen makes of upload.did today (run `npm run generate`)', async () => {
    expect(await staleDeclarations()).toEqual([]);
    expect(Object.keys(committed.methods)).toEqual([
      'abort_upload',
      'begin_upload',
      'blob_metadata',
      'blob_sharing',
      'create_share_link',
      'finish_upload',
      'http_request',
      'http_request_streaming_callback',
      'link_derivative',
      'list_blobs',
      'list_sessions',
      'publish_blob',
      'put_chunk',
      'read_blob',
      'revoke_share_link',
      'storage_stats',
      'unpublish_blob',
    ]);
  });

  it('the built Wasm exposes exactly upload.did', async () => {
    const build = await buildUploadCanister();
    expect(Array.from(build.wasm.subarray(0, 4))).toEqual([0, 0x61, 0x73, 0x6d]);
    expect(shape(await declarationsOf(build.candid))).toEqual(committed);
  });

  it('the comparison sees every wire difference and ignores what is not on the wire', async () => {
    const did = await readFile(UPLOAD_CANISTER_DID, 'utf8');
    const edit = async (from: string, to: string) => {
      expect(did).toContain(from);
      return shape(await declarationsOf(did.replace(from, to)));
    };
    expect(await declarationsOf(did).then(shape)).toEqual(committed);
    // A field's width, a lost query annotation, an extra variant case: different services.
    expect(await edit('chunk_size : nat32;', 'chunk_size : nat64;')).not.toEqual(committed);
    expect(
      await edit(
        '(variant { Ok : blob; Err : UploadError }) query;',
        '(variant { Ok : blob; Err : UploadError });',
      ),
    ).not.toEqual(committed);
    expect(await edit('BlobNotFound;', 'BlobNotFound; Gone;')).not.toEqual(committed);
    expect(
      await edit('service : (InitArgs)', 'service : (opt record { session_ttl_ns : opt nat32 })'),
    ).not.toEqual(committed);
    // Argument names and type aliases are not part of the wire type.
    expect(await edit('offset : nat64, length : nat64', 'start : nat64, count : nat64')).toEqual(committed);
    expect(await edit('type SessionId = blob;', 'type SessionId = vec nat8;')).toEqual(committed);
  });
});
