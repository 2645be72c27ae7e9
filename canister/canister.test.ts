// The built upload canister (Azle Wasm) on the in-process simulator: a smoke
// run of the real module through the typed client. The catch-up timer is
// covered with the uploader that waits for it (client/upload.test.ts); the
// canister's promises one by one are in conformance/upload/ (PicJS only).
import { Principal } from '@icp-sdk/core/principal';
import { sha256 } from '@noble/hashes/sha2.js';
import { beforeAll, describe, expect, it } from 'vitest';

import { Harness, replyOf } from '../simulator/testing/harness.ts';
import { buildUploadCanister } from './build.ts';
import { UploadCanisterError, UploadClient } from './client/client.ts';
import { bytesSource, uploadFile } from './client/upload.ts';
import { encodeInitArg, simActor } from './testing/sim-actor.ts';

const ALICE = Principal.fromUint8Array(new Uint8Array([9, 9, 9, 9, 9, 9, 9, 9, 9, 1]));
const BOB = Principal.fromUint8Array(new Uint8Array([9, 9, 9, 9, 9, 9, 9, 9, 9, 2]));

function data(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1664525 + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe('the upload canister Wasm on the in-process simulator', () => {
  let wasm: Uint8Array;
  beforeAll(async () => {
    ({ wasm } = await buildUploadCanister());
  }, 300_000);

  it('uploads out of order over lanes, verifies, reads back, isolates callers', async () => {
    const h = new Harness();
    const id = h.deploy(wasm, encodeInitArg());
    const alice = new UploadClient(simActor(h, id, ALICE));
    const bob = new UploadClient(simActor(h, id, BOB));
    const file = data(700_000, 1);
    const result = await uploadFile(alice, bytesSource(file), {
      name: 'a.bin',
      chunkSize: 100_000,
      lanes: 3,
    });
    expect(result.sha256).toEqual(sha256(file));
    expect(await alice.read(result.blobId, { rangeSize: 250_000 })).toEqual(file);
    const meta = await alice.metadata(result.blobId);
    expect(meta.owner.toText()).toBe(ALICE.toText());
    expect(meta.size).toBe(700_000n);
    const err = await bob.read(result.blobId).catch((e: unknown) => e);
    expect((err as UploadCanisterError).kind).toBe('NotOwner');
    expect(await bob.listBlobs()).toEqual([]);

    // Reverse order: every chunk waits until chunk 0 arrives.
    const s = await alice.begin({
      name: 'r',
      size: 300_000n,
      chunk_size: 100_000,
      content_type: '',
      expected_sha256: [],
    });
    const rev = data(300_000, 2);
    expect((await alice.putChunk(s, 2, rev.subarray(200_000))).hashed_bytes).toBe(0n);
    expect((await alice.putChunk(s, 1, rev.subarray(100_000, 200_000))).hashed_bytes).toBe(0n);
    expect((await alice.putChunk(s, 0, rev.subarray(0, 100_000))).hashed_bytes).toBe(300_000n);
    const wrong = await alice.finish(s, sha256(file)).catch((e: unknown) => e);
    expect((wrong as UploadCanisterError).kind).toBe('HashMismatch');
    const blob = await alice.finish(s, sha256(rev));
    expect(await alice.readRange(blob, 99_990n, 20n)).toEqual(rev.subarray(99_990, 100_010));
  });

  it('keeps sessions and blobs across an upgrade and expires idle sessions by timer', async () => {
    const h = new Harness();
    const id = h.deploy(wasm, encodeInitArg(30_000_000_000n));
    const alice = new UploadClient(simActor(h, id, ALICE));
    const blob = (await uploadFile(alice, bytesSource(data(1000, 3)), { name: 'kept', chunkSize: 400 }))
      .blobId;
    const file = data(2000, 4);
    const s = await alice.begin({
      name: 'half',
      size: 2000n,
      chunk_size: 1000,
      content_type: '',
      expected_sha256: [],
    });
    await alice.putChunk(s, 0, file.subarray(0, 1000));

    replyOf(h.install(id, wasm, encodeInitArg(), 'upgrade'));
    const [open] = await alice.listSessions();
    expect(open.received).toEqual([0]);
    expect(open.hashed_bytes).toBe(1000n);
    expect((await alice.stats()).session_ttl_ns).toBe(30_000_000_000n);
    await alice.putChunk(s, 1, file.subarray(1000));
    const done = await alice.finish(s, sha256(file));
    expect(await alice.read(done)).toEqual(file);

    const idle = await alice.begin({
      name: 'idle',
      size: 10n,
      chunk_size: 10,
      content_type: '',
      expected_sha256: [],
    });
    h.ic.setTime(h.ic.getTime() + 31_000_000_000n);
    h.ic.tick();
    h.ic.tick();
    expect(await alice.listSessions()).toEqual([]);
    const gone = await alice.putChunk(idle, 0, new Uint8Array(10)).catch((e: unknown) => e);
    expect((gone as UploadCanisterError).kind).toBe('SessionNotFound');
    expect(await alice.read(blob)).toEqual(data(1000, 3));
  });
});
