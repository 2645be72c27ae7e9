import { readFile } from 'node:fs/promises';

import { IDL } from '@icp-sdk/core/candid';
import { describe, expect, it } from 'vitest';

import { buildUploadCanister, UPLOAD_CANISTER_DID } from './build.ts';
import { canonicalService, parseDid } from './candid-text.ts';
import { idlFactory, initArgTypes } from './src/idl.ts';

const fromIdl = canonicalService(idlFactory({ IDL }) as IDL.ServiceClass, initArgTypes({ IDL }));

describe('Candid interface', () => {
  it('upload.did and the shared IDL factory describe the same service', async () => {
    const did = parseDid(await readFile(UPLOAD_CANISTER_DID, 'utf8'));
    expect(Object.keys(did.methods).sort()).toEqual([
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
    expect(did).toEqual(fromIdl);
    expect(did.methods.read_blob).toMatch(/ query$/);
    expect(did.methods.put_chunk.startsWith('(vec nat8, nat32, vec nat8) -> (variant{Err:variant{')).toBe(
      true,
    );
  });

  it('the built Wasm exposes exactly upload.did', async () => {
    const build = await buildUploadCanister();
    expect(build.wasm.length).toBeGreaterThan(1_000_000);
    expect(Array.from(build.wasm.subarray(0, 4))).toEqual([0, 0x61, 0x73, 0x6d]);
    expect(parseDid(build.candid)).toEqual(fromIdl);
  });

  it('the reader notices a difference', () => {
    const a = parseDid('type T = record { a : nat; b : blob }; service : (T) -> { f : (T) -> () query; }');
    const b = parseDid(
      'service : (record { b : vec nat8; a : nat }) -> { f : (x : record { a : nat; b : vec nat8 }) -> () query }',
    );
    expect(a).toEqual(b);
    const c = parseDid(
      'service : (record { b : vec nat8; a : nat }) -> { f : (record { a : nat; b : vec nat16 }) -> () query }',
    );
    expect(c).not.toEqual(a);
  });
});
