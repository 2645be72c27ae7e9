import { Principal } from '@icp-sdk/core/principal';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';

import { UploadCanisterError, type UploadActor, UploadClient } from './client.ts';
import { InMemoryUploadCanister } from './in-memory.ts';
import { bytesSource, type UploadProgress, uploadFile } from './upload.ts';

const ALICE = Principal.fromUint8Array(new Uint8Array([7, 7, 7, 7, 7, 7, 7, 7, 7, 1]));
const BOB = Principal.fromUint8Array(new Uint8Array([7, 7, 7, 7, 7, 7, 7, 7, 7, 2]));

function data(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1664525 + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Wraps an actor so that chosen calls fail like a dropped connection. */
function flaky(
  actor: UploadActor,
  shouldFail: (method: string, n: number) => boolean,
): { actor: UploadActor; calls: string[] } {
  const calls: string[] = [];
  const counts = new Map<string, number>();
  const wrapped = new Proxy(actor, {
    get(target, prop: string) {
      const original = (target as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[prop];
      return async (...args: unknown[]) => {
        const n = (counts.get(prop) ?? 0) + 1;
        counts.set(prop, n);
        calls.push(prop);
        if (shouldFail(prop, n)) throw new TypeError('fetch failed (simulated)');
        return original.apply(target, args);
      };
    },
  });
  return { actor: wrapped, calls };
}

const noSleep = async (): Promise<void> => {};

describe('uploadFile', () => {
  it('uploads over parallel lanes, reports progress and MB/s, and reads back', async () => {
    const canister = new InMemoryUploadCanister();
    const client = new UploadClient(canister.actorFor(ALICE));
    const file = data(1_000_000, 3);
    const seen: UploadProgress[] = [];
    const result = await uploadFile(client, bytesSource(file), {
      name: 'photo.jpg',
      contentType: 'image/jpeg',
      chunkSize: 64_000,
      lanes: 4,
      onProgress: (p) => seen.push(p),
    });
    expect(result.sha256).toEqual(sha256(file));
    expect(result.chunkCount).toBe(16);
    expect(result.chunksSent).toBe(16);
    expect(result.resumed).toBe(false);
    expect(result.mbps).toBeGreaterThan(0);
    const meta = await client.metadata(result.blobId);
    expect(meta.owner.toText()).toBe(ALICE.toText());
    expect(meta.content_type).toBe('image/jpeg');
    expect(await client.read(result.blobId, { rangeSize: 300_000 })).toEqual(file);
    const uploading = seen.filter((p) => p.phase === 'uploading');
    expect(uploading.at(-1)?.bytesSent).toBe(1_000_000);
    expect(uploading.map((p) => p.chunksDone)).toEqual(
      [...uploading.map((p) => p.chunksDone)].sort((a, b) => a - b),
    );
    expect(seen.at(-1)?.phase).toBe('done');
  });

  it('retries transport failures and still produces the right blob', async () => {
    const canister = new InMemoryUploadCanister();
    // Every third put_chunk fails once before reaching the canister.
    const { actor, calls } = flaky(canister.actorFor(ALICE), (m, n) => m === 'put_chunk' && n % 3 === 0);
    const file = data(500_000, 5);
    const result = await uploadFile(new UploadClient(actor), bytesSource(file), {
      name: 'a',
      chunkSize: 50_000,
      lanes: 3,
      sleep: noSleep,
    });
    expect(result.retries).toBeGreaterThan(0);
    expect(calls.filter((c) => c === 'put_chunk').length).toBe(10 + result.retries);
    expect(await new UploadClient(canister.actorFor(ALICE)).read(result.blobId)).toEqual(file);
  });

  it('gives up after the configured retries and resumes later from the received chunks', async () => {
    const canister = new InMemoryUploadCanister();
    const file = data(400_000, 9);
    // The connection dies for good after six chunks.
    const { actor } = flaky(canister.actorFor(ALICE), (m, n) => m === 'put_chunk' && n > 6);
    await expect(
      uploadFile(new UploadClient(actor), bytesSource(file), {
        name: 'big',
        chunkSize: 40_000,
        lanes: 1,
        retries: 2,
        sleep: noSleep,
      }),
    ).rejects.toThrow(/fetch failed/);
    const client = new UploadClient(canister.actorFor(ALICE));
    const [open] = await client.listSessions();
    expect(open.received).toEqual([0, 1, 2, 3, 4, 5]);
    const result = await uploadFile(client, bytesSource(file), { name: 'big', chunkSize: 40_000, lanes: 2 });
    expect(result.resumed).toBe(true);
    expect(result.chunksSkipped).toBe(6);
    expect(result.chunksSent).toBe(4);
    expect(await client.read(result.blobId)).toEqual(file);
    expect(await client.listSessions()).toEqual([]);
  });

  it('does not resume a session of another caller or of different content', async () => {
    const canister = new InMemoryUploadCanister();
    const file = data(100_000, 1);
    const alice = new UploadClient(canister.actorFor(ALICE));
    await alice.begin({
      name: 'x',
      size: 100_000n,
      chunk_size: 10_000,
      content_type: '',
      expected_sha256: [sha256(data(100_000, 2))],
    });
    const bob = new UploadClient(canister.actorFor(BOB));
    const r = await uploadFile(bob, bytesSource(file), { name: 'x', chunkSize: 10_000 });
    expect(r.resumed).toBe(false);
    const r2 = await uploadFile(alice, bytesSource(file), { name: 'x', chunkSize: 10_000 });
    expect(r2.resumed).toBe(false);
    expect((await alice.listSessions()).length).toBe(1);
  });

  it('waits at finish while the canister is still hashing early chunks', async () => {
    const canister = new InMemoryUploadCanister();
    const client = new UploadClient(canister.actorFor(ALICE));
    const chunk = 1_000_000;
    const file = data(chunk * 11, 4);
    // Send chunks 1..10 first (by hand), then let the uploader resume with chunk 0.
    const id = await client.begin({
      name: 'rev',
      size: BigInt(file.length),
      chunk_size: chunk,
      content_type: '',
      expected_sha256: [sha256(file)],
    });
    for (let i = 10; i >= 1; i--) await client.putChunk(id, i, file.subarray(i * chunk, (i + 1) * chunk));
    let waits = 0;
    const result = await uploadFile(client, bytesSource(file), {
      name: 'rev',
      chunkSize: chunk,
      sleep: async () => {
        waits++;
        canister.runTimers();
      },
    });
    expect(waits).toBeGreaterThan(0);
    expect(result.resumed).toBe(true);
    expect(result.chunksSent).toBe(1);
    expect((await client.metadata(result.blobId)).sha256).toEqual(sha256(file));
  });

  it('surfaces canister errors as typed UploadCanisterErrors without retrying them', async () => {
    const canister = new InMemoryUploadCanister();
    const { actor, calls } = flaky(canister.actorFor(ALICE), () => false);
    const client = new UploadClient(actor);
    const id = await client.begin({
      name: 'x',
      size: 10n,
      chunk_size: 10,
      content_type: '',
      expected_sha256: [],
    });
    const error = await client.putChunk(id, 0, new Uint8Array(9)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UploadCanisterError);
    expect((error as UploadCanisterError).kind).toBe('ChunkSizeMismatch');
    expect((error as UploadCanisterError).error).toEqual({
      ChunkSizeMismatch: { index: 0, expected: 10, actual: 9 },
    });
    expect((error as Error).message).toBe('put_chunk: ChunkSizeMismatch (index=0, expected=10, actual=9)');
    await expect(
      uploadFile(client, bytesSource(new Uint8Array(10)), { name: 'y', chunkSize: 2_000_000 }),
    ).rejects.toThrow(RangeError);
    const before = calls.length;
    await expect(
      uploadFile(
        new UploadClient(canister.actorFor(Principal.anonymous())),
        bytesSource(new Uint8Array(10)),
        { name: 'y' },
      ),
    ).rejects.toThrow(/AnonymousCaller/);
    expect(calls.length).toBe(before);
  });

  it('expires an abandoned session after the TTL, and the next upload starts afresh', async () => {
    const canister = new InMemoryUploadCanister({ sessionTtlNs: 10_000_000_000n });
    const client = new UploadClient(canister.actorFor(ALICE));
    const file = data(30_000, 8);
    const { actor } = flaky(canister.actorFor(ALICE), (m, n) => m === 'put_chunk' && n > 1);
    await expect(
      uploadFile(new UploadClient(actor), bytesSource(file), {
        name: 'f',
        chunkSize: 10_000,
        lanes: 1,
        retries: 0,
      }),
    ).rejects.toThrow();
    expect(await client.listSessions()).toHaveLength(1);
    canister.now += 10_000_000_000n;
    canister.runTimers();
    expect(await client.listSessions()).toEqual([]);
    const r = await uploadFile(client, bytesSource(file), { name: 'f', chunkSize: 10_000 });
    expect(r.resumed).toBe(false);
    expect((await client.stats()).pages_free).toBe(0);
  });
});
