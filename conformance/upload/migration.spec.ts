/**
 * Promise: an installation of any previous release upgrades to the current
 * build without losing a byte. Every release in `fixtures/releases/` (the
 * shipped, gzipped Wasm) is installed, filled through its public interface
 * (blobs of two callers, a derivative link, in-flight sessions with a chunk
 * waiting to be hashed, a TTL), upgraded to the current build and read back.
 * A new release adds a folder there and is rehearsed from then on; the
 * latest release must always be present (fixtures/releases/README.md).
 *
 * The current build has stable layout 2 (share links, publication), one step
 * past v1's layout 1: every blob of a v1 installation comes through private,
 * with no links, and can then be published. The layout steps of
 * `postUpgrade` are reached through an upgrade too: the header value in the
 * canister's stable memory is set with PocketIC's `setStableMemory` (the only
 * way to hold a layout no release wrote), then the current build is installed
 * over it. (canister/README.md, "Versioned layout and migrations".)
 */
import type { PocketIc } from '@dfinity/pic';
import { sha256 } from '@noble/hashes/sha2.js';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { UPLOAD_CANISTER_DID } from '../../canister/build.ts';
import { payload } from '../../fixtures/payload.ts';
import { createPic } from '../support/pic.ts';
import { parseCallFailure } from '../support/reject.ts';
import { repoRoot } from '../support/target.ts';
import {
  beginArgs,
  type BlobId,
  chunkOf,
  finishWhenHashed,
  hex,
  initArg,
  installUpload,
  observe,
  sameBytes,
  seededUser,
  type SessionId,
  type UploadCanister,
  type UploadClient,
  uploadBytes,
  uploadWasm,
} from '../support/upload.ts';

const RELEASES_DIR = join(repoRoot, 'fixtures', 'releases');
const releases = readdirSync(RELEASES_DIR, { withFileTypes: true })
  .filter((e) => e.isDirectory() && /^v\d+$/.test(e.name))
  .map((e) => e.name)
  .sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));

const releaseWasm = (name: string): Uint8Array<ArrayBuffer> =>
  new Uint8Array(readFileSync(join(RELEASES_DIR, name, 'upload.wasm.gz')));

/** Method names of the `service : ... { ... }` block of a .did file. */
function didMethods(did: string): string[] {
  const service = did.slice(did.indexOf('service'));
  return [...service.matchAll(/^\s+"?([A-Za-z_][A-Za-z0-9_]*)"?\s*:/gm)].map((m) => m[1]!).sort();
}

/** An observation with the layout version left out: upgrades across layouts change only that. */
async function observeData(client: UploadClient): Promise<unknown> {
  const o = await observe(client);
  return { ...o, stats: { ...(o.stats as object), layout_version: undefined } };
}

let pic: PocketIc;
let current: Uint8Array<ArrayBuffer>;

beforeAll(async () => {
  pic = await createPic();
  current = await uploadWasm();
});
afterAll(async () => {
  await pic?.tearDown();
});

interface Filled {
  alice: UploadClient;
  bob: UploadClient;
  files: Map<string, Uint8Array>;
  blobs: { alice: BlobId[]; bob: BlobId[] };
  open: { session: SessionId; data: Uint8Array; chunk: number; missing: number[] };
}

/** Fills an installation the way users would: finished blobs, a link, an unfinished session. */
async function fill(canister: UploadCanister, tag: string): Promise<Filled> {
  const alice = canister.client(seededUser(`migration-alice-${tag}`));
  const bob = canister.client(seededUser(`migration-bob-${tag}`));
  const files = new Map<string, Uint8Array>();
  const put = async (
    client: UploadClient,
    name: string,
    data: Uint8Array,
    chunk: number,
  ): Promise<BlobId> => {
    files.set(name, data);
    return uploadBytes(client, pic, data, chunk, { name, contentType: 'application/x-test', expected: true });
  };
  const photo = await put(alice, 'photo.raw', payload(300_000, 1), 65_536);
  const thumb = await put(alice, 'thumb.raw', payload(1000, 2), 1000);
  const empty = await put(alice, 'empty', new Uint8Array(0), 10);
  await alice.linkDerivative(photo, thumb, 'thumbnail');
  const notes = await put(bob, 'notes.txt', payload(70_001, 3), 7000);
  // Chunks 0 and 2 of 4 received: chunk 2 waits to be hashed.
  const data = payload(40_000, 4);
  const session = await bob.begin(
    beginArgs(40_000, 10_000, { name: 'partial', expected_sha256: [sha256(data)] }),
  );
  await bob.putChunk(session, 0, chunkOf(data, 10_000, 0));
  await bob.putChunk(session, 2, chunkOf(data, 10_000, 2));
  return {
    alice,
    bob,
    files,
    blobs: { alice: [photo, thumb, empty], bob: [notes] },
    open: { session, data, chunk: 10_000, missing: [1, 3] },
  };
}

/** Everything `fill` stored reads back byte-identical; the session completes; new uploads work. */
async function verify(f: Filled): Promise<void> {
  for (const [client, ids] of [
    [f.alice, f.blobs.alice],
    [f.bob, f.blobs.bob],
  ] as const) {
    expect((await client.listBlobs()).map((b) => b.blob_id)).toEqual(ids);
    for (const id of ids) {
      const meta = await client.metadata(id);
      const data = f.files.get(meta.name)!;
      expect(meta.sha256).toEqual(sha256(data));
      expect(sameBytes(await client.read(id), data), meta.name).toBe(true);
    }
  }
  const [photo, thumb] = f.blobs.alice;
  expect((await f.alice.metadata(photo!)).derivatives).toEqual([{ blob_id: thumb, kind: 'thumbnail' }]);
  expect((await f.alice.metadata(thumb!)).derivative_of).toEqual([{ blob_id: photo, kind: 'thumbnail' }]);

  const [open] = await f.bob.listSessions();
  expect(open).toMatchObject({ session: f.open.session, received: [0, 2], hashed_bytes: 10_000n });
  for (const i of f.open.missing)
    await f.bob.putChunk(f.open.session, i, chunkOf(f.open.data, f.open.chunk, i));
  const done = await finishWhenHashed(f.bob, pic, f.open.session, sha256(f.open.data));
  expect(sameBytes(await f.bob.read(done), f.open.data)).toBe(true);

  // The per-caller counters came along: a new upload gets a fresh id.
  const fresh = await uploadBytes(f.alice, pic, payload(10, 5), 10);
  expect([...f.blobs.alice, ...f.blobs.bob, done].map((b) => Buffer.from(b).toString('hex'))).not.toContain(
    Buffer.from(fresh).toString('hex'),
  );
}

it('the releases folder holds at least one release, and the current interface keeps every released method', () => {
  expect(releases.length).toBeGreaterThan(0);
  const now = didMethods(readFileSync(UPLOAD_CANISTER_DID, 'utf8'));
  expect(now).toContain('begin_upload');
  for (const r of releases) {
    const then = didMethods(readFileSync(join(RELEASES_DIR, r, 'upload.did'), 'utf8'));
    expect(then.length).toBeGreaterThan(0);
    expect(now).toEqual(expect.arrayContaining(then));
  }
});

describe.each(releases)('release %s → current build', (release) => {
  it('blobs, links, in-flight sessions, counters and TTL survive the upgrade byte-identical', async () => {
    const canister = await installUpload(pic, {
      wasm: releaseWasm(release),
      sessionTtlNs: 900_000_000_000n,
    });
    const filled = await fill(canister, release);
    const before = { alice: await observeData(filled.alice), bob: await observeData(filled.bob) };
    await pic.upgradeCanister({
      canisterId: canister.canisterId,
      wasm: current,
      arg: initArg({ none: true }),
    });
    const status = await pic.canisterStatus({ canisterId: canister.canisterId });
    expect(Buffer.from(status.moduleHash!).toString('hex')).toBe(
      Buffer.from(sha256(current)).toString('hex'),
    );
    expect({ alice: await observeData(filled.alice), bob: await observeData(filled.bob) }).toEqual(before);
    expect((await filled.alice.stats()).session_ttl_ns).toBe(900_000_000_000n);
    expect((await filled.alice.stats()).layout_version).toBe(2);
    await verify(filled);

    // 1 → 2: an upgrade publishes nothing; the migrated records take publication and links.
    const [photo, thumb] = filled.blobs.alice;
    const get = (url: string) =>
      filled.alice.actor.http_request({
        method: 'GET',
        url,
        headers: [],
        body: new Uint8Array(0),
        certificate_version: [],
      });
    for (const id of [...filled.blobs.alice, ...filled.blobs.bob]) {
      expect(await filled.alice.actor.blob_sharing(id)).toEqual(
        filled.blobs.alice.includes(id)
          ? { Ok: { public: false, share_links: [] } }
          : { Err: { NotOwner: null } },
      );
      expect((await get(`/b/${hex(id)}`)).status_code).toBe(404);
    }
    await filled.alice.publish(photo!);
    const served = await get(`/b/${hex(photo!)}?kind=thumbnail`);
    expect(served.status_code).toBe(200);
    expect(sameBytes(served.body, filled.files.get('thumb.raw')!)).toBe(true);
    const link = await filled.alice.share(thumb!, 60_000_000_000n);
    expect((await get(link.path)).status_code).toBe(200);
  });
});

// ---- layout steps, reached by setting the header in stable memory ----

const KEY = new TextEncoder().encode('layout_version');

/**
 * Finds the value of the `layout_version` entry in the meta map (memory 0, a
 * StableBTreeMap leaf of ic-stable-structures' node format v2: "BTN", version
 * 2, node type, u16 entry count, u64 overflow address, then the entries' keys
 * and then their values, each as u32 length + bytes) and returns its offset.
 */
function layoutValueOffset(stable: Uint8Array): number {
  const buf = Buffer.from(stable.buffer, stable.byteOffset, stable.byteLength);
  const hits: number[] = [];
  for (let at = buf.indexOf('BTN'); at >= 0; at = buf.indexOf('BTN', at + 1)) {
    if (buf[at + 3] !== 2 || buf[at + 4] !== 0) continue; // v2 leaf
    const count = buf.readUInt16LE(at + 5);
    if (count === 0 || count > 16) continue;
    let p = at + 15;
    const keys: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const n = buf.readUInt32LE(p);
      keys.push(buf.subarray(p + 4, p + 4 + n));
      p += 4 + n;
    }
    const index = keys.findIndex((k) => k.equals(KEY));
    if (index < 0) continue;
    for (let i = 0; i < index; i++) p += 4 + buf.readUInt32LE(p);
    if (buf.readUInt32LE(p) !== 4) continue;
    hits.push(p + 4);
  }
  expect(hits, 'exactly one layout_version entry in stable memory').toHaveLength(1);
  return hits[0]!;
}

/** Rewrites the stored layout version (u32 big-endian) of a canister. */
async function setLayoutVersion(canister: UploadCanister, version: number): Promise<void> {
  const stable = new Uint8Array(await pic.getStableMemory(canister.canisterId));
  const at = layoutValueOffset(stable);
  expect(new DataView(stable.buffer).getUint32(at)).toBe(1);
  new DataView(stable.buffer).setUint32(at, version);
  await pic.setStableMemory(canister.canisterId, stable);
}

describe('layout steps through an upgrade', () => {
  it('0 → 1 → 2: a store whose header says 0 gets its indexes rebuilt from the records and the header written; nothing is lost', async () => {
    const canister = await installUpload(pic, {
      wasm: releaseWasm(releases.at(-1)!),
      sessionTtlNs: 900_000_000_000n,
    });
    const filled = await fill(canister, 'v0');
    const before = { alice: await observe(filled.alice), bob: await observe(filled.bob) };
    await setLayoutVersion(canister, 0);
    expect((await filled.alice.stats()).layout_version).toBe(0);
    await pic.upgradeCanister({
      canisterId: canister.canisterId,
      wasm: current,
      arg: initArg({ none: true }),
    });
    // The step rebuilds each caller's blob list from the blobs map, i.e. in blob-id order rather
    // than upload order (list_blobs promises no order): compare the lists as sets.
    const byId = (o: Awaited<ReturnType<typeof observe>>) => ({
      ...o,
      stats: { ...(o.stats as object), layout_version: undefined },
      blobs: [...(o.blobs as { blob_id: Uint8Array }[])].sort((a, b) => Buffer.compare(a.blob_id, b.blob_id)),
    });
    const after = { alice: await observe(filled.alice), bob: await observe(filled.bob) };
    expect({ alice: byId(after.alice), bob: byId(after.bob) }).toEqual({
      alice: byId(before.alice),
      bob: byId(before.bob),
    });
    expect((await filled.alice.stats()).layout_version).toBe(2);
    // The rebuilt expiry index drives the sweep: an idle session still expires on time.
    const idle = await filled.alice.begin(beginArgs(5, 5, { name: 'idle' }));
    await pic.advanceTime(901_000);
    await pic.tick(3);
    expect(await filled.alice.listSessions()).toEqual([]);
    expect((await filled.bob.listSessions()).map((s) => s.session)).toEqual([]);
    await expect(filled.alice.abort(idle)).rejects.toThrow(/SessionNotFound/);
    // Blobs are not swept and still read back.
    for (const id of filled.blobs.alice) {
      const meta = await filled.alice.metadata(id);
      expect(sameBytes(await filled.alice.read(id), filled.files.get(meta.name)!)).toBe(true);
    }
  });

  it('a layout newer than the code is refused: post_upgrade traps, the upgrade is rolled back, the installation keeps serving', async () => {
    const canister = await installUpload(pic, { wasm: releaseWasm(releases.at(-1)!) });
    const filled = await fill(canister, 'v3');
    await setLayoutVersion(canister, 3);
    const before = { alice: await observe(filled.alice), bob: await observe(filled.bob) };
    const hash = (await pic.canisterStatus({ canisterId: canister.canisterId })).moduleHash;
    const failure = await pic
      .upgradeCanister({ canisterId: canister.canisterId, wasm: current, arg: initArg({ none: true }) })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    const parsed = parseCallFailure(failure);
    expect(parsed, String(failure)).toMatchObject({
      rejectCode: 'CanisterError',
      errorCode: 'CanisterCalledTrap',
    });
    expect(parsed!.message).toContain(
      'stable layout version 3 is newer than this code (2); refusing to downgrade',
    );
    expect((await pic.canisterStatus({ canisterId: canister.canisterId })).moduleHash).toEqual(hash);
    expect({ alice: await observe(filled.alice), bob: await observe(filled.bob) }).toEqual(before);
    expect((await filled.alice.stats()).layout_version).toBe(3);
    await verify(filled);
  });
});
