/**
 * Promise: sessions and blobs belong to their caller. Another caller can
 * neither see nor change them (`NotOwner`, nothing changed); parallel
 * sessions with the same name and size never mix bytes; ids are a
 * deterministic function of canister, caller and the caller's counter, so
 * replaying the same calls on a fresh instance gives the same ids.
 * (canister/README.md, "Ids" and "Errors"; issue 5 §2.)
 */
import type { PocketIc } from '@dfinity/pic';
import { AnonymousIdentity } from '@icp-sdk/core/agent';
import { sha256 } from '@noble/hashes/sha2.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { bytesSource, uploadFile } from '../../canister/client/upload.ts';
import { payload } from '../../fixtures/payload.ts';
import { createPic } from '../support/pic.ts';
import {
  beginArgs,
  chunkOf,
  expectUploadError,
  hex,
  installUpload,
  newUser,
  observe,
  sameBytes,
  seededUser,
  type UploadCanister,
  uploadBytes,
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

it('two callers × two parallel lanes, same name and size: each blob holds its own caller’s bytes', async () => {
  const users = [newUser(), newUser()];
  const files = [payload(300_000, 101), payload(300_000, 202)];
  const results = await Promise.all(
    users.map((u, k) =>
      uploadFile(canister.client(u), bytesSource(files[k]!), {
        name: 'same.bin',
        chunkSize: 30_000,
        lanes: 2,
        sleep: () => pic.tick(),
      }),
    ),
  );
  for (const [k, u] of users.entries()) {
    const client = canister.client(u);
    const blob = results[k]!.blobId;
    const meta = await client.metadata(blob);
    expect(meta.owner.toText()).toBe(u.getPrincipal().toText());
    expect(meta.name).toBe('same.bin');
    expect(meta.sha256).toEqual(sha256(files[k]!));
    expect(sameBytes(await client.read(blob), files[k]!)).toBe(true);
    expect((await client.listBlobs()).map((b) => hex(b.blob_id))).toEqual([hex(blob)]);
  }
  expect(hex(results[0]!.blobId)).not.toBe(hex(results[1]!.blobId));
  expect(hex(results[0]!.sessionId)).not.toBe(hex(results[1]!.sessionId));
});

it('interleaved chunks of two callers’ sessions with the same name, size and chunk size never mix', async () => {
  const [alice, bob] = [canister.client(newUser()), canister.client(newUser())];
  const a = payload(8000, 1);
  const b = payload(8000, 2);
  const [sa, sb] = await Promise.all([alice.begin(beginArgs(8000, 1000)), bob.begin(beginArgs(8000, 1000))]);
  for (let i = 7; i >= 0; i--) {
    await Promise.all([
      alice.putChunk(sa, i, chunkOf(a, 1000, i)),
      bob.putChunk(sb, 7 - i, chunkOf(b, 1000, 7 - i)),
    ]);
  }
  const [ba, bb] = await Promise.all([alice.finish(sa, sha256(a)), bob.finish(sb, sha256(b))]);
  expect(sameBytes(await alice.read(ba), a)).toBe(true);
  expect(sameBytes(await bob.read(bb), b)).toBe(true);
});

describe('a foreign caller is refused with NotOwner and the session is untouched', () => {
  it('put_chunk, finish_upload, abort_upload, list_sessions', async () => {
    const owner = canister.client(newUser());
    const intruder = canister.client(newUser());
    const data = payload(2000, 7);
    const session = await owner.begin(beginArgs(2000, 1000, { name: 'mine' }));
    await owner.putChunk(session, 0, chunkOf(data, 1000, 0));
    const before = await observe(owner);

    await expectUploadError(intruder.putChunk(session, 1, chunkOf(data, 1000, 1)), { NotOwner: null });
    // Even a chunk the owner already sent, with other bytes: refused as NotOwner, not ChunkConflict.
    await expectUploadError(intruder.putChunk(session, 0, new Uint8Array(1000)), { NotOwner: null });
    await expectUploadError(intruder.finish(session, sha256(data)), { NotOwner: null });
    await expectUploadError(intruder.abort(session), { NotOwner: null });
    expect(await intruder.listSessions()).toEqual([]);
    expect(await intruder.listBlobs()).toEqual([]);

    expect(await observe(owner)).toEqual(before);
    await owner.putChunk(session, 1, chunkOf(data, 1000, 1));
    const blob = await owner.finish(session, sha256(data));
    expect(sameBytes(await owner.read(blob), data)).toBe(true);
  });

  it('read_blob and blob_metadata of another caller’s blob', async () => {
    const owner = canister.client(newUser());
    const intruder = canister.client(newUser());
    const blob = await uploadBytes(owner, pic, payload(100, 8), 100);
    await expectUploadError(intruder.readRange(blob, 0n, 1n), { NotOwner: null });
    await expectUploadError(intruder.metadata(blob), { NotOwner: null });
    expect(await intruder.listBlobs()).toEqual([]);
  });

  it('the anonymous caller cannot begin, and is a foreign caller to everybody else’s session', async () => {
    const anonymous = canister.client(new AnonymousIdentity());
    const owner = canister.client(newUser());
    const before = await anonymous.stats();
    await expectUploadError(anonymous.begin(beginArgs(1, 1)), { AnonymousCaller: null });
    expect(await anonymous.stats()).toEqual(before);
    const session = await owner.begin(beginArgs(1, 1));
    await expectUploadError(anonymous.putChunk(session, 0, new Uint8Array([1])), { NotOwner: null });
    await expectUploadError(anonymous.abort(session), { NotOwner: null });
    expect(await anonymous.listSessions()).toEqual([]);
    expect((await owner.listSessions())[0]!.received).toEqual([]);
  });

  it('an unknown session id is SessionNotFound for everybody', async () => {
    const client = canister.client(newUser());
    const unknown = new Uint8Array(32).fill(0xab);
    await expectUploadError(client.putChunk(unknown, 0, new Uint8Array(1)), { SessionNotFound: null });
    await expectUploadError(client.finish(unknown, new Uint8Array(32)), { SessionNotFound: null });
    await expectUploadError(client.abort(unknown), { SessionNotFound: null });
  });
});

describe('ids are deterministic', () => {
  /** The same calls from the same (seeded) callers; returns every id in order. */
  async function replay(target: UploadCanister): Promise<string[]> {
    const alice = target.client(seededUser('isolation-alice'));
    const bob = target.client(seededUser('isolation-bob'));
    const ids: string[] = [];
    ids.push(hex(await alice.begin(beginArgs(10, 5))));
    ids.push(hex(await bob.begin(beginArgs(10, 5))));
    ids.push(hex(await uploadBytes(alice, target.pic, payload(10, 1), 5)));
    ids.push(hex(await uploadBytes(bob, target.pic, payload(10, 2), 5)));
    ids.push(hex(await alice.begin(beginArgs(10, 5))));
    return ids;
  }

  it('distinct per caller and per call, identical when replayed on a fresh instance, different on another canister', async () => {
    const fresh = async (): Promise<{ pic: PocketIc; target: UploadCanister }> => {
      const p = await createPic();
      return { pic: p, target: await installUpload(p) };
    };
    const first = await fresh();
    const second = await fresh();
    try {
      expect(first.target.canisterId.toText()).toBe(second.target.canisterId.toText());
      const ids = await replay(first.target);
      expect(new Set(ids).size).toBe(ids.length);
      expect(await replay(second.target)).toEqual(ids);
      // Another canister (another id on the same instance): other ids for the same calls.
      const elsewhere = await installUpload(first.pic);
      const other = await replay(elsewhere);
      expect(other.filter((id) => ids.includes(id))).toEqual([]);
    } finally {
      await Promise.all([first.pic.tearDown(), second.pic.tearDown()]);
    }
  });
});
