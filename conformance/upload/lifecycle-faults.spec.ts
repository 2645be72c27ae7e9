/**
 * Promise: every misuse of a session is answered with its own `UploadError`
 * variant (numbers included) and changes nothing; abort frees the session;
 * a finished session is gone; chunks are checked for index and exact length;
 * a repeated chunk is idempotent only with identical bytes; the documented
 * limits hold. (canister/README.md, "Chunks", "Errors", "Limits"; issue 5 §2.)
 *
 * Traps: the canister answers every decoded request with Ok or Err ("nothing
 * traps on bad input"), so no chunk that decodes can trap half-way through
 * its writes. The one trap a put_chunk can meet through the public interface
 * is an argument whose Candid does not decode; that case is checked here
 * (rejected, session unchanged). A trap after some writes (e.g. stable memory
 * failing to grow) is not reachable through the canister's API.
 */
import type { PocketIc } from '@dfinity/pic';
import { IDL } from '@icp-sdk/core/candid';
import { sha256 } from '@noble/hashes/sha2.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { payload } from '../../fixtures/payload.ts';
import { createPic } from '../support/pic.ts';
import { parseCallFailure } from '../support/reject.ts';
import {
  beginArgs,
  chunkOf,
  expectUploadError,
  installUpload,
  newUser,
  observe,
  PAGE_SIZE,
  sameBytes,
  type UploadCanister,
  type UploadClient,
} from '../support/upload.ts';

let pic: PocketIc;
let canister: UploadCanister;

beforeAll(async () => {
  pic = await createPic();
  canister = await installUpload(pic);
});
afterAll(async () => {
  await pic?.tearDown();
});

const fresh = (): UploadClient => canister.client(newUser());

describe('abort', () => {
  it('drops the session and frees its pages; every later use of the id is SessionNotFound', async () => {
    const client = fresh();
    const session = await client.begin(beginArgs(2 * PAGE_SIZE, PAGE_SIZE));
    await client.putChunk(session, 0, payload(PAGE_SIZE, 1));
    const before = await client.stats();
    await client.abort(session);
    expect(await client.listSessions()).toEqual([]);
    const after = await client.stats();
    expect(after.sessions).toBe(before.sessions - 1n);
    expect(after.pages_free).toBe(before.pages_free + 2);
    await expectUploadError(client.putChunk(session, 1, payload(PAGE_SIZE, 2)), { SessionNotFound: null });
    await expectUploadError(client.finish(session, new Uint8Array(32)), { SessionNotFound: null });
    const e = await expectUploadError(client.abort(session), { SessionNotFound: null });
    expect(e.message).toBe('abort_upload: SessionNotFound');
    expect(await client.listBlobs()).toEqual([]);
  });
});

describe('finish', () => {
  it('a second finish, and any chunk after finish, is SessionNotFound; the blob is unchanged', async () => {
    const client = fresh();
    const data = payload(3000, 3);
    const session = await client.begin(beginArgs(3000, 1500));
    await client.putChunk(session, 0, chunkOf(data, 1500, 0));
    await client.putChunk(session, 1, chunkOf(data, 1500, 1));
    const blob = await client.finish(session, sha256(data));
    const meta = await client.metadata(blob);
    await expectUploadError(client.finish(session, sha256(data)), { SessionNotFound: null });
    await expectUploadError(client.putChunk(session, 0, chunkOf(data, 1500, 0)), { SessionNotFound: null });
    await expectUploadError(client.putChunk(session, 1, new Uint8Array(1500)), { SessionNotFound: null });
    await expectUploadError(client.abort(session), { SessionNotFound: null });
    expect(await client.metadata(blob)).toEqual(meta);
    expect(sameBytes(await client.read(blob), data)).toBe(true);
    expect(await client.listSessions()).toEqual([]);
  });

  it('before every chunk arrived: MissingChunks with the count and the first 16 missing indexes; nothing committed', async () => {
    const client = fresh();
    const data = payload(40, 4);
    const session = await client.begin(beginArgs(40, 1));
    for (const i of [0, 2, 5]) await client.putChunk(session, i, chunkOf(data, 1, i));
    const before = await observe(client);
    const e = await expectUploadError(client.finish(session, sha256(data)), {
      MissingChunks: {
        missing_count: 37,
        first_missing: [1, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18],
      },
    });
    expect(e.message).toBe(
      'finish_upload: MissingChunks (missing_count=37, first_missing=[1,3,4,6,7,8,9,10,11,12,13,14,15,16,17,18])',
    );
    expect(await observe(client)).toEqual(before);
  });

  it('a hash that is not 32 bytes: InvalidSha256Length, at finish and at begin', async () => {
    const client = fresh();
    const session = await client.begin(beginArgs(1, 1));
    await client.putChunk(session, 0, new Uint8Array([1]));
    await expectUploadError(client.finish(session, new Uint8Array(31)), {
      InvalidSha256Length: { length: 31 },
    });
    await expectUploadError(client.finish(session, new Uint8Array(33)), {
      InvalidSha256Length: { length: 33 },
    });
    await expectUploadError(client.begin(beginArgs(1, 1, { expected_sha256: [new Uint8Array(5)] })), {
      InvalidSha256Length: { length: 5 },
    });
    expect(await client.listBlobs()).toEqual([]);
    await client.finish(session, sha256(new Uint8Array([1])));
  });
});

describe('chunks', () => {
  it('an index at or past the chunk count: ChunkIndexOutOfRange', async () => {
    const client = fresh();
    const session = await client.begin(beginArgs(2500, 1000));
    await expectUploadError(client.putChunk(session, 3, new Uint8Array(1)), {
      ChunkIndexOutOfRange: { index: 3, chunk_count: 3 },
    });
    await expectUploadError(client.putChunk(session, 0xffffffff, new Uint8Array(1000)), {
      ChunkIndexOutOfRange: { index: 0xffffffff, chunk_count: 3 },
    });
    expect((await client.listSessions())[0]!.received).toEqual([]);
  });

  it('a chunk longer or shorter than its slot (oversize included): ChunkSizeMismatch with expected and actual', async () => {
    const client = fresh();
    const session = await client.begin(beginArgs(2500, 1000));
    const before = await observe(client);
    await expectUploadError(client.putChunk(session, 0, new Uint8Array(1001)), {
      ChunkSizeMismatch: { index: 0, expected: 1000, actual: 1001 },
    });
    await expectUploadError(client.putChunk(session, 0, new Uint8Array(999)), {
      ChunkSizeMismatch: { index: 0, expected: 1000, actual: 999 },
    });
    // The last chunk holds only the tail.
    await expectUploadError(client.putChunk(session, 2, new Uint8Array(1000)), {
      ChunkSizeMismatch: { index: 2, expected: 500, actual: 1000 },
    });
    await expectUploadError(client.putChunk(session, 1, payload(1_900_000, 1)), {
      ChunkSizeMismatch: { index: 1, expected: 1000, actual: 1_900_000 },
    });
    await expectUploadError(client.putChunk(session, 1, new Uint8Array(0)), {
      ChunkSizeMismatch: { index: 1, expected: 1000, actual: 0 },
    });
    expect(await observe(client)).toEqual(before);
  });

  it('a repeated index: identical bytes are accepted again (idempotent), other bytes are ChunkConflict and the stored chunk stays', async () => {
    const client = fresh();
    const data = payload(2500, 5);
    const session = await client.begin(beginArgs(2500, 1000));
    expect(await client.putChunk(session, 1, chunkOf(data, 1000, 1))).toEqual({
      received_chunks: 1,
      chunk_count: 3,
      hashed_bytes: 0n,
    });
    expect(await client.putChunk(session, 1, chunkOf(data, 1000, 1))).toEqual({
      received_chunks: 1,
      chunk_count: 3,
      hashed_bytes: 0n,
    });
    const other = chunkOf(data, 1000, 1).slice();
    other[500]! ^= 1;
    const e = await expectUploadError(client.putChunk(session, 1, other), { ChunkConflict: { index: 1 } });
    expect(e.message).toBe('put_chunk: ChunkConflict (index=1)');
    await client.putChunk(session, 0, chunkOf(data, 1000, 0));
    // Conflict on a chunk that is already hashed too.
    await expectUploadError(client.putChunk(session, 0, new Uint8Array(1000)), {
      ChunkConflict: { index: 0 },
    });
    await client.putChunk(session, 2, chunkOf(data, 1000, 2));
    const blob = await client.finish(session, sha256(data));
    expect(sameBytes(await client.read(blob), data)).toBe(true);
  });

  it('an unknown or malformed session id: SessionNotFound', async () => {
    const client = fresh();
    await expectUploadError(client.putChunk(new Uint8Array(32), 0, new Uint8Array(1)), {
      SessionNotFound: null,
    });
    await expectUploadError(client.putChunk(new Uint8Array(5), 0, new Uint8Array(1)), {
      SessionNotFound: null,
    });
    await expectUploadError(client.putChunk(new Uint8Array(0), 0, new Uint8Array(1)), {
      SessionNotFound: null,
    });
  });

  it('a put_chunk whose argument is not valid Candid for the method traps before any change', async () => {
    const client = fresh();
    const data = payload(2000, 6);
    const session = await client.begin(beginArgs(2000, 1000));
    await client.putChunk(session, 0, chunkOf(data, 1000, 0));
    const before = await observe(client);
    // index as a nat (unbounded) instead of nat32, and a text instead of blob.
    for (const arg of [
      IDL.encode([IDL.Vec(IDL.Nat8), IDL.Nat, IDL.Vec(IDL.Nat8)], [session, 1n, chunkOf(data, 1000, 1)]),
      IDL.encode([IDL.Vec(IDL.Nat8), IDL.Nat32, IDL.Text], [session, 1, 'x'.repeat(1000)]),
      new Uint8Array([0x44, 0x49, 0x44, 0x4c, 0xff]),
    ]) {
      const failure = await pic
        .updateCall({ canisterId: canister.canisterId, method: 'put_chunk', arg: new Uint8Array(arg) })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      const parsed = parseCallFailure(failure);
      expect(parsed, String(failure)).toMatchObject({
        rejectCode: 'CanisterError',
        errorCode: 'CanisterCalledTrap',
      });
    }
    expect(await observe(client)).toEqual(before);
    await client.putChunk(session, 1, chunkOf(data, 1000, 1));
    expect(sameBytes(await client.read(await client.finish(session, sha256(data))), data)).toBe(true);
  });
});

describe('begin_upload limits, with the numbers in the error', () => {
  it('name, content type, chunk size, file size, chunk count', async () => {
    const client = fresh();
    const before = await client.stats();
    await expectUploadError(client.begin(beginArgs(1, 1, { name: '' })), {
      InvalidName: { reason: 'name must be 1..1024 UTF-8 bytes, got 0' },
    });
    await expectUploadError(client.begin(beginArgs(1, 1, { name: 'ü'.repeat(513) })), {
      InvalidName: { reason: 'name must be 1..1024 UTF-8 bytes, got 1026' },
    });
    await client.abort(await client.begin(beginArgs(1, 1, { name: 'n'.repeat(1024) })));
    await expectUploadError(client.begin(beginArgs(1, 1, { content_type: 'x'.repeat(257) })), {
      InvalidContentType: { reason: 'content type must be at most 256 UTF-8 bytes, got 257' },
    });
    await expectUploadError(client.begin(beginArgs(10, 0)), {
      InvalidChunkSize: { chunk_size: 0, min: 1, max: 1_900_000 },
    });
    const e = await expectUploadError(client.begin(beginArgs(10, 1_900_001)), {
      InvalidChunkSize: { chunk_size: 1_900_001, min: 1, max: 1_900_000 },
    });
    expect(e.message).toBe('begin_upload: InvalidChunkSize (max=1900000, min=1, chunk_size=1900001)');
    await expectUploadError(client.begin(beginArgs(2 ** 30 + 1, 1_900_000)), {
      FileTooLarge: { size: 2n ** 30n + 1n, max: 2n ** 30n },
    });
    await expectUploadError(client.begin(beginArgs(65_537, 1)), {
      TooManyChunks: { chunk_count: 65_537n, max: 65_536 },
    });
    // Exactly at the limits is fine: 1 GiB in 65,536 chunks of 16 KiB (pages are reserved, not written).
    await client.abort(await client.begin(beginArgs(2 ** 30, 16_384)));
    expect(await client.listSessions()).toEqual([]);
    expect((await client.stats()).sessions).toBe(before.sessions);
  });

  it('at most 8 open sessions per caller; another caller is not affected; closing one frees a slot', async () => {
    const client = fresh();
    const sessions = [];
    for (let i = 0; i < 8; i++) sessions.push(await client.begin(beginArgs(1, 1, { name: `s${i}` })));
    const e = await expectUploadError(client.begin(beginArgs(1, 1)), {
      TooManySessions: { open: 8, max: 8 },
    });
    expect(e.message).toBe('begin_upload: TooManySessions (max=8, open=8)');
    await fresh().begin(beginArgs(1, 1));
    await client.abort(sessions[0]!);
    const ninth = await client.begin(beginArgs(1, 1, { name: 'again' }));
    await client.putChunk(ninth, 0, new Uint8Array([9]));
    await client.finish(ninth, sha256(new Uint8Array([9])));
    await client.begin(beginArgs(1, 1, { name: 'after finish' }));
    expect(await client.listSessions()).toHaveLength(8);
  });
});
