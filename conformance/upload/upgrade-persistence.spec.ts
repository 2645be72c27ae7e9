/**
 * Promise: everything lives in stable memory. Finished blobs and in-flight
 * sessions (received chunks, rolling-hash state, deadlines) survive upgrades,
 * however many; the sweep timer is re-armed after each; a reinstall wipes
 * everything; an upgrade whose post_upgrade traps is rolled back and the old
 * installation keeps serving. (canister/README.md, "Storage", "TTL",
 * "Versioned layout"; issue 5 §2.)
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
  initArg,
  installUpload,
  newUser,
  observe,
  sameBytes,
  type UploadCanister,
  uploadBytes,
  uploadWasm,
} from '../support/upload.ts';

let pic: PocketIc;
let wasm: Uint8Array<ArrayBuffer>;

beforeAll(async () => {
  pic = await createPic();
  wasm = await uploadWasm();
});
afterAll(async () => {
  await pic?.tearDown();
});

const upgrade = (c: UploadCanister, arg: Uint8Array<ArrayBuffer> = initArg({ none: true })): Promise<void> =>
  pic.upgradeCanister({ canisterId: c.canisterId, wasm, arg });

describe('upgrade keeps state', () => {
  it('publication and share links survive upgrades; a link still expires on time and a revoked one stays revoked', async () => {
    const canister = await installUpload(pic);
    const client = canister.client(newUser());
    const data = payload(5000, 9);
    const blob = await uploadBytes(client, pic, data, 5000, { name: 'kept.txt', contentType: 'text/plain' });
    await client.publish(blob);
    const live = await client.share(blob, 120_000_000_000n);
    const revoked = await client.share(blob, 120_000_000_000n);
    await client.revokeShareLink(revoked.token);
    const get = (url: string) =>
      canister
        .actor(newUser())
        .http_request({ method: 'GET', url, headers: [], body: new Uint8Array(0), certificate_version: [] });
    const status = async () =>
      [
        (await get(`/b/${Buffer.from(blob).toString('hex')}`)).status_code,
        (await get(live.path)).status_code,
        (await get(revoked.path)).status_code,
      ] as const;
    expect(await status()).toEqual([200, 200, 404]);

    await upgrade(canister);
    await upgrade(canister);
    expect(await status()).toEqual([200, 200, 404]);
    expect(await client.sharing(blob)).toEqual({ public: true, share_links: [live] });
    const served = await get(live.path);
    expect(sameBytes(served.body, data)).toBe(true);

    await pic.advanceTime(121_000);
    await pic.tick();
    expect(await status()).toEqual([200, 404, 404]);
  });

  it('finished blobs and an in-flight session (with an early chunk waiting) survive; the upload then completes', async () => {
    const canister = await installUpload(pic, { sessionTtlNs: 600_000_000_000n });
    const client = canister.client(newUser());
    const kept = payload(150_000, 1);
    const keptBlob = await uploadBytes(client, pic, kept, 40_000, {
      name: 'kept.bin',
      contentType: 'text/plain',
    });
    const data = payload(4000, 2);
    const session = await client.begin(beginArgs(4000, 1000, { expected_sha256: [sha256(data)] }));
    await client.putChunk(session, 0, chunkOf(data, 1000, 0));
    await client.putChunk(session, 2, chunkOf(data, 1000, 2));
    const before = await observe(client);

    await upgrade(canister);

    expect(await observe(client)).toEqual(before);
    const [open] = await client.listSessions();
    expect(open).toMatchObject({ received: [0, 2], hashed_bytes: 1000n, expected_sha256: [sha256(data)] });
    expect(sameBytes(await client.read(keptBlob), kept)).toBe(true);
    expect((await client.metadata(keptBlob)).content_type).toBe('text/plain');
    expect((await client.putChunk(session, 1, chunkOf(data, 1000, 1))).hashed_bytes).toBe(3000n);
    await client.putChunk(session, 3, chunkOf(data, 1000, 3));
    const blob = await client.finish(session, sha256(data));
    expect(sameBytes(await client.read(blob), data)).toBe(true);
    expect((await client.stats()).session_ttl_ns).toBe(600_000_000_000n);
  });

  it('20 upgrades in a row, one after every chunk of an upload sent out of order: the hash is still right', async () => {
    const canister = await installUpload(pic);
    const client = canister.client(newUser());
    const chunk = 3000;
    const data = payload(20 * chunk - 123, 3);
    const order = [1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14, 17, 16, 19, 18];
    const session = await client.begin(beginArgs(data.length, chunk, { expected_sha256: [sha256(data)] }));
    for (const i of order) {
      await client.putChunk(session, i, chunkOf(data, chunk, i));
      await upgrade(canister);
    }
    expect((await client.listSessions())[0]!.hashed_bytes).toBe(BigInt(data.length));
    const blob = await client.finish(session, sha256(data));
    expect((await client.metadata(blob)).sha256).toEqual(sha256(data));
    expect(sameBytes(await client.read(blob), data)).toBe(true);
  }, 180_000);

  it('the sweep timer is armed again after an upgrade (timers themselves do not survive it)', async () => {
    const canister = await installUpload(pic, { sessionTtlNs: 30_000_000_000n });
    const client = canister.client(newUser());
    await client.begin(beginArgs(10, 10));
    await upgrade(canister);
    await pic.advanceTime(31_000);
    await pic.tick(3);
    expect(await client.listSessions()).toEqual([]);
    expect((await client.stats()).sessions).toBe(0n);
  });

  it('the upgrade argument sets a new TTL; null or a missing field keeps the current one', async () => {
    const canister = await installUpload(pic, { sessionTtlNs: 30_000_000_000n });
    const client = canister.client(newUser());
    await upgrade(canister, initArg({ none: true }));
    expect((await client.stats()).session_ttl_ns).toBe(30_000_000_000n);
    await upgrade(canister, initArg({}));
    expect((await client.stats()).session_ttl_ns).toBe(30_000_000_000n);
    await upgrade(canister, initArg({ sessionTtlNs: 90_000_000_000n }));
    expect((await client.stats()).session_ttl_ns).toBe(90_000_000_000n);
  });
});

it('reinstall wipes every session, blob and page', async () => {
  const canister = await installUpload(pic);
  const client = canister.client(newUser());
  const blob = await uploadBytes(client, pic, payload(70_000, 4), 70_000);
  const session = await client.begin(beginArgs(10, 10));
  await pic.reinstallCode({
    canisterId: canister.canisterId,
    wasm,
    arg: initArg({ sessionTtlNs: 5_000_000_000n }),
  });
  expect(await client.listSessions()).toEqual([]);
  expect(await client.listBlobs()).toEqual([]);
  await expectUploadError(client.readRange(blob, 0n, 1n), { BlobNotFound: null });
  await expectUploadError(client.putChunk(session, 0, new Uint8Array(10)), { SessionNotFound: null });
  expect(await client.stats()).toEqual({
    layout_version: 2,
    page_size: 65_536,
    page_high_water: 0,
    pages_free: 0,
    pages_stored: 0,
    sessions: 0n,
    blobs: 0n,
    session_ttl_ns: 5_000_000_000n,
  });
});

describe('a failing upgrade is rolled back', () => {
  it('an upgrade argument that is not Candid traps in post_upgrade; the old installation keeps serving, state intact', async () => {
    const canister = await installUpload(pic, { sessionTtlNs: 40_000_000_000n });
    const client = canister.client(newUser());
    const kept = payload(5000, 5);
    const blob = await uploadBytes(client, pic, kept, 2000);
    const data = payload(2000, 6);
    const session = await client.begin(beginArgs(2000, 1000));
    await client.putChunk(session, 0, chunkOf(data, 1000, 0));
    const before = await observe(client);
    const status = await pic.canisterStatus({ canisterId: canister.canisterId });

    const failure = await pic
      .upgradeCanister({ canisterId: canister.canisterId, wasm, arg: new Uint8Array([1, 2, 3, 4]) })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(failure, 'the upgrade must fail').toBeInstanceOf(Error);
    const parsed = parseCallFailure(failure);
    expect(parsed, String(failure)).toMatchObject({
      rejectCode: 'CanisterError',
      errorCode: 'CanisterCalledTrap',
    });

    const after = await pic.canisterStatus({ canisterId: canister.canisterId });
    expect(after.moduleHash).toEqual(status.moduleHash);
    expect(await observe(client)).toEqual(before);
    expect(sameBytes(await client.read(blob), kept)).toBe(true);
    await client.putChunk(session, 1, chunkOf(data, 1000, 1));
    expect(sameBytes(await client.read(await client.finish(session, sha256(data))), data)).toBe(true);
    // Its timer still runs: an idle session is swept after the (unchanged) TTL.
    await client.begin(beginArgs(1, 1));
    await pic.advanceTime(41_000);
    await pic.tick(3);
    expect(await client.listSessions()).toEqual([]);
  });

  it('a Candid argument of another type is read as “no argument” (Candid’s opt rule): the upgrade succeeds and keeps the TTL', async () => {
    const canister = await installUpload(pic, { sessionTtlNs: 40_000_000_000n });
    const client = canister.client(newUser());
    const arg = new Uint8Array(IDL.encode([IDL.Text], ['one hour please']));
    await pic.upgradeCanister({ canisterId: canister.canisterId, wasm, arg });
    expect((await client.stats()).session_ttl_ns).toBe(40_000_000_000n);
  });
});
