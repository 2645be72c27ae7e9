/**
 * Promise: every byte is verified by a rolling SHA-256 as it arrives, in any
 * order; a blob exists only when the data's SHA-256 equals what the client
 * said, and it reads back byte-identical. (canister/README.md, "Rolling
 * hash"; issue 5 §2.) The reference is @noble/hashes.
 */
import type { PocketIc } from '@dfinity/pic';
import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { bytesSource, uploadFile } from '../../canister/client/upload.ts';
import { payload } from '../../fixtures/payload.ts';
import { createPic } from '../support/pic.ts';
import {
  beginArgs,
  chunkOf,
  expectUploadError,
  indexes,
  installUpload,
  MAX_CHUNK,
  newUser,
  sameBytes,
  type UploadCanister,
  type UploadClient,
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

/** A deterministic permutation of 0..n-1 (Fisher–Yates over a seeded LCG). */
function shuffled(n: number, seed: number): number[] {
  const out = indexes(n);
  let x = seed >>> 0 || 1;
  for (let i = n - 1; i > 0; i--) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Bytes of the longest run of received chunks from index 0: what the rolling hash can have consumed. */
function prefixBytes(received: Set<number>, size: number, chunk: number): number {
  let i = 0;
  while (received.has(i)) i++;
  return Math.min(size, i * chunk);
}

/**
 * Uploads `data` by hand in `order`, checking after every chunk that the
 * canister reports exactly the contiguous prefix as hashed; then finishes and
 * checks digest, metadata and read-back.
 */
async function uploadAndVerify(
  client: UploadClient,
  data: Uint8Array,
  chunk: number,
  order: number[],
): Promise<void> {
  const session = await client.begin(beginArgs(data.length, chunk));
  const count = Math.ceil(data.length / chunk);
  const received = new Set<number>();
  for (const i of order) {
    const r = await client.putChunk(session, i, chunkOf(data, chunk, i));
    received.add(i);
    expect(r).toEqual({
      received_chunks: received.size,
      chunk_count: count,
      hashed_bytes: BigInt(prefixBytes(received, data.length, chunk)),
    });
  }
  const blob = await client.finish(session, sha256(data));
  const meta = await client.metadata(blob);
  expect(meta.sha256).toEqual(sha256(data));
  expect(meta.size).toBe(BigInt(data.length));
  const back = await client.read(blob);
  expect(sameBytes(back, data), 'read-back differs').toBe(true);
  expect(await client.listSessions()).toEqual([]);
}

const CHUNK = 4096;
const SIZES: [string, number][] = [
  ['0 bytes (no chunks)', 0],
  ['1 byte', 1],
  ['chunk − 1', CHUNK - 1],
  ['chunk', CHUNK],
  ['chunk + 1', CHUNK + 1],
  ['many chunks (23 and a tail)', CHUNK * 23 + 77],
];

describe('digest and read-back equal the data, in order', () => {
  for (const [label, size] of SIZES) {
    it(label, async () => {
      const data = payload(size, size + 1);
      await uploadAndVerify(canister.client(newUser()), data, CHUNK, indexes(Math.ceil(size / CHUNK)));
    });
  }
});

describe('digest and read-back equal the data, chunks shuffled (early chunks wait, then are hashed)', () => {
  for (const [label, size] of SIZES.filter(([, s]) => s > CHUNK)) {
    it(label, async () => {
      const data = payload(size, size + 2);
      await uploadAndVerify(canister.client(newUser()), data, CHUNK, shuffled(Math.ceil(size / CHUNK), size));
    });
  }
  it('backwards, one-byte chunks', async () => {
    const data = payload(9, 9);
    await uploadAndVerify(canister.client(newUser()), data, 1, indexes(9).reverse());
  });
});

it('a 21 MB file in 1,900,000-byte chunks over 4 lanes reads back byte-identical with the SHA-256 of @noble/hashes', async () => {
  const client = canister.client(newUser());
  const file = payload(21_000_000, 21);
  const result = await uploadFile(client, bytesSource(file), {
    name: 'big.bin',
    chunkSize: MAX_CHUNK,
    lanes: 4,
    sleep: () => pic.tick(),
  });
  expect(result.chunkCount).toBe(12);
  const expected = sha256(file);
  expect(result.sha256).toEqual(expected);
  const meta = await client.metadata(result.blobId);
  expect(meta.sha256).toEqual(expected);
  expect(meta.size).toBe(21_000_000n);
  const back = await client.read(result.blobId);
  expect(back.length).toBe(file.length);
  expect(sameBytes(back, file), 'read-back differs').toBe(true);
}, 180_000);

describe('a wrong hash is refused and nothing is committed', () => {
  it('expected_sha256 given at begin differs from the data', async () => {
    const client = canister.client(newUser());
    const data = payload(10_000, 3);
    const wrong = sha256(payload(10_000, 4));
    const session = await client.begin(beginArgs(data.length, 3000, { expected_sha256: [wrong] }));
    for (const i of indexes(4)) await client.putChunk(session, i, chunkOf(data, 3000, i));
    const before = await canister.client(newUser()).stats();
    await expectUploadError(client.finish(session, sha256(data)), {
      HashMismatch: { expected: wrong, actual: sha256(data) },
    });
    expect(await client.listBlobs()).toEqual([]);
    expect(await client.stats()).toEqual(before);
    const [open] = await client.listSessions();
    expect(open).toMatchObject({ session, received: [0, 1, 2, 3], hashed_bytes: 10_000n });
    // Nothing but an abort gets out of it: the data cannot match the expectation.
    await client.abort(session);
    expect(await client.listSessions()).toEqual([]);
    expect(await client.listBlobs()).toEqual([]);
  });

  it('the finish hash differs from the data (no expectation at begin); the right one then commits', async () => {
    const client = canister.client(newUser());
    const data = payload(5000, 5);
    const other = sha256(payload(5000, 6));
    const session = await client.begin(beginArgs(data.length, 5000));
    await client.putChunk(session, 0, data);
    await expectUploadError(client.finish(session, other), {
      HashMismatch: { expected: other, actual: sha256(data) },
    });
    expect(await client.listBlobs()).toEqual([]);
    expect((await client.listSessions()).map((s) => s.session)).toEqual([session]);
    const blob = await client.finish(session, sha256(data));
    expect((await client.listBlobs()).map((b) => b.blob_id)).toEqual([blob]);
  });
});

it('property: for random data and random chunkings in random order, the canister digest is @noble/hashes sha256', async () => {
  const client = canister.client(newUser());
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ minLength: 0, maxLength: 5000 }),
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 0x7fffffff }),
      async (data, pieces, seed) => {
        const chunk = Math.max(1, Math.ceil(data.length / pieces));
        const count = Math.ceil(data.length / chunk);
        const blob = await uploadBytes(client, pic, data, chunk, { order: shuffled(count, seed) });
        const meta = await client.metadata(blob);
        expect(meta.sha256).toEqual(sha256(data));
        expect(sameBytes(await client.readRange(blob, 0n, BigInt(data.length)), data)).toBe(true);
      },
    ),
    { numRuns: 50, seed: 0x5eed },
  );
}, 120_000);
