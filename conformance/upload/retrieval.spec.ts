/**
 * Promise: a committed blob is read back by range (any offset and length
 * inside it, at most 1,900,000 bytes per query, clear errors outside), carries
 * its metadata, and can be linked to derivatives (thumbnail, preview, ...)
 * when both blobs are the caller's, one level deep. (canister/README.md,
 * "Interface" and "Errors"; issue 5 §2.)
 */
import type { PocketIc } from '@dfinity/pic';
import { sha256 } from '@noble/hashes/sha2.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { payload } from '../../fixtures/payload.ts';
import { createPic } from '../support/pic.ts';
import {
  type BlobId,
  expectUploadError,
  installUpload,
  newUser,
  PAGE_SIZE,
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

describe('ranged reads', () => {
  const size = 3 * PAGE_SIZE + 1234;
  const data = payload(size, 31);
  let client: UploadClient;
  let blob: BlobId;

  beforeAll(async () => {
    client = canister.client(newUser());
    blob = await uploadBytes(client, pic, data, 50_000);
  });

  const cases: [string, number, number][] = [
    ['the start', 0, 100],
    ['the middle, across a page boundary', PAGE_SIZE - 10, 20],
    ['the middle, across two page boundaries', PAGE_SIZE - 1, PAGE_SIZE + 2],
    ['the end', size - 10, 10],
    ['the whole blob in one query', 0, size],
    ['nothing, at the end', size, 0],
    ['nothing, at the start', 0, 0],
  ];
  for (const [label, offset, length] of cases) {
    it(`${label}: [${offset}, +${length})`, async () => {
      const got = await client.readRange(blob, BigInt(offset), BigInt(length));
      expect(got.length).toBe(length);
      expect(sameBytes(got, data.subarray(offset, offset + length))).toBe(true);
    });
  }

  it('past the end: RangeOutOfBounds with the numbers', async () => {
    const n = BigInt(size);
    await expectUploadError(client.readRange(blob, n - 10n, 11n), {
      RangeOutOfBounds: { offset: n - 10n, length: 11n, size: n },
    });
    await expectUploadError(client.readRange(blob, n + 1n, 0n), {
      RangeOutOfBounds: { offset: n + 1n, length: 0n, size: n },
    });
    // offset + length overflows 64 bits: still out of range, not wrapped around.
    const max = 2n ** 64n - 1n;
    await expectUploadError(client.readRange(blob, max, 1n), {
      RangeOutOfBounds: { offset: max, length: 1n, size: n },
    });
  });

  it('more than 1,900,000 bytes in one query: ReadTooLarge', async () => {
    const e = await expectUploadError(client.readRange(blob, 0n, 1_900_001n), {
      ReadTooLarge: { length: 1_900_001n, max: 1_900_000n },
    });
    expect(e.message).toBe('read_blob: ReadTooLarge (max=1900000, length=1900001)');
  });

  it('an empty blob reads as empty at 0 and is out of range beyond', async () => {
    const empty = await uploadBytes(client, pic, new Uint8Array(0), 1);
    expect(await client.readRange(empty, 0n, 0n)).toEqual(new Uint8Array(0));
    await expectUploadError(client.readRange(empty, 0n, 1n), {
      RangeOutOfBounds: { offset: 0n, length: 1n, size: 0n },
    });
  });

  it('an unknown blob id: BlobNotFound for read and metadata', async () => {
    const unknown = new Uint8Array(32).fill(7);
    await expectUploadError(client.readRange(unknown, 0n, 1n), { BlobNotFound: null });
    await expectUploadError(client.metadata(unknown), { BlobNotFound: null });
  });
});

it('metadata: name, content type, size, SHA-256, owner, creation time; list_blobs gives the same records', async () => {
  const user = newUser();
  const client = canister.client(user);
  const data = payload(12_345, 32);
  const t0 = BigInt(await pic.getTime()) * 1_000_000n;
  const blob = await uploadBytes(client, pic, data, 5000, {
    name: 'Grüße 🌍.txt',
    contentType: 'text/plain; charset=utf-8',
  });
  const t1 = BigInt(await pic.getTime()) * 1_000_000n;
  const meta = await client.metadata(blob);
  expect(meta).toMatchObject({
    blob_id: blob,
    name: 'Grüße 🌍.txt',
    content_type: 'text/plain; charset=utf-8',
    size: 12_345n,
    sha256: sha256(data),
    derivative_of: [],
    derivatives: [],
  });
  expect(meta.owner.toText()).toBe(user.getPrincipal().toText());
  expect(meta.created_at).toBeGreaterThanOrEqual(t0);
  expect(meta.created_at).toBeLessThanOrEqual(t1 + 1_000_000n);
  expect(await client.listBlobs()).toEqual([meta]);
});

describe('derivatives', () => {
  let client: UploadClient;
  let original: BlobId;
  let thumb: BlobId;
  let preview: BlobId;
  let other: BlobId;

  beforeAll(async () => {
    client = canister.client(newUser());
    original = await uploadBytes(client, pic, payload(1000, 1), 1000, { name: 'photo' });
    thumb = await uploadBytes(client, pic, payload(100, 2), 100, { name: 'thumb' });
    preview = await uploadBytes(client, pic, payload(200, 3), 200, { name: 'preview' });
    other = await uploadBytes(client, pic, payload(300, 4), 300, { name: 'other' });
  });

  it('links both ways in the metadata; the same link again is Ok and changes nothing', async () => {
    await client.linkDerivative(original, thumb, 'thumbnail');
    await client.linkDerivative(original, preview, 'preview');
    await client.linkDerivative(original, thumb, 'thumbnail');
    expect((await client.metadata(original)).derivatives).toEqual([
      { blob_id: thumb, kind: 'thumbnail' },
      { blob_id: preview, kind: 'preview' },
    ]);
    expect((await client.metadata(thumb)).derivative_of).toEqual([{ blob_id: original, kind: 'thumbnail' }]);
    expect((await client.metadata(preview)).derivative_of).toEqual([{ blob_id: original, kind: 'preview' }]);
    expect((await client.metadata(original)).derivative_of).toEqual([]);
  });

  it('refuses what would break the one-level, one-original structure, with the reason', async () => {
    const before = await client.listBlobs();
    await expectUploadError(client.linkDerivative(other, thumb, 'thumbnail'), {
      AlreadyLinked: { original, kind: 'thumbnail' },
    });
    await expectUploadError(client.linkDerivative(original, thumb, 'preview'), {
      AlreadyLinked: { original, kind: 'thumbnail' },
    });
    await expectUploadError(client.linkDerivative(other, other, 'x'), {
      InvalidLink: { reason: 'a blob cannot be a derivative of itself' },
    });
    await expectUploadError(client.linkDerivative(thumb, other, 'x'), {
      InvalidLink: { reason: 'the original is itself a derivative; link to its original instead' },
    });
    await expectUploadError(client.linkDerivative(other, original, 'x'), {
      InvalidLink: { reason: 'the derivative has derivatives of its own' },
    });
    await expectUploadError(client.linkDerivative(original, other, ''), {
      InvalidKind: { reason: 'kind must be 1..64 UTF-8 bytes, got 0' },
    });
    await expectUploadError(client.linkDerivative(original, other, 'é'.repeat(33)), {
      InvalidKind: { reason: 'kind must be 1..64 UTF-8 bytes, got 66' },
    });
    expect(await client.listBlobs()).toEqual(before);
  });

  it('both blobs must be the caller’s: NotOwner either way, BlobNotFound for an unknown one', async () => {
    const stranger = canister.client(newUser());
    const theirs = await uploadBytes(stranger, pic, payload(10, 5), 10);
    const before = await client.listBlobs();
    await expectUploadError(client.linkDerivative(original, theirs, 'thumbnail'), { NotOwner: null });
    await expectUploadError(client.linkDerivative(theirs, other, 'thumbnail'), { NotOwner: null });
    await expectUploadError(stranger.linkDerivative(original, other, 'thumbnail'), { NotOwner: null });
    await expectUploadError(client.linkDerivative(original, new Uint8Array(32), 'thumbnail'), {
      BlobNotFound: null,
    });
    expect(await client.listBlobs()).toEqual(before);
    expect((await stranger.metadata(theirs)).derivative_of).toEqual([]);
  });

  it('at most 64 derivatives per original: the 65th is TooManyDerivatives', async () => {
    const c = canister.client(newUser());
    const root = await uploadBytes(c, pic, payload(1, 9), 1);
    for (let i = 0; i < 64; i++) {
      const d = await uploadBytes(c, pic, payload(1, 100 + i), 1, { name: `d${i}` });
      await c.linkDerivative(root, d, `k${i}`);
    }
    const extra = await uploadBytes(c, pic, payload(1, 99), 1);
    await expectUploadError(c.linkDerivative(root, extra, 'one too many'), {
      TooManyDerivatives: { max: 64 },
    });
    expect((await c.metadata(root)).derivatives).toHaveLength(64);
    expect((await c.metadata(extra)).derivative_of).toEqual([]);
  }, 120_000);
});
