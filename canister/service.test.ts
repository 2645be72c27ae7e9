import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { beforeEach, describe, expect, it } from 'vitest';

import { LAYOUT_VERSION, LIMITS, type Maps, type Scheduler, UploadService } from './src/service.ts';
import { MemoryKvMap, PAGE_SIZE } from './src/store.ts';
import type { BeginUpload, Result, UploadError } from './src/types.ts';

const ALICE = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
const BOB = new Uint8Array([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
const ANON = new Uint8Array([4]);
const CANISTER = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1, 1, 1]);

class FakeScheduler implements Scheduler {
  sweepRequests: bigint[] = [];
  catchUps = 0;
  sweepAt(atNs: bigint): void {
    this.sweepRequests.push(atNs);
  }
  catchUpSoon(): void {
    this.catchUps++;
  }
  /** The earliest requested sweep time (what a real timer would fire at first). */
  next(): bigint | undefined {
    return this.sweepRequests.length === 0 ? undefined : this.sweepRequests.reduce((a, b) => (a < b ? a : b));
  }
}

function freshMaps(): Maps {
  return {
    meta: new MemoryKvMap(),
    sessions: new MemoryKvMap(),
    blobs: new MemoryKvMap(),
    callers: new MemoryKvMap(),
    ownerBlobs: new MemoryKvMap(),
    expiry: new MemoryKvMap(),
    pages: new MemoryKvMap(),
  };
}

function ok<T>(r: Result<T>): T {
  if ('Err' in r)
    throw new Error(
      `expected Ok, got ${JSON.stringify(r.Err, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`,
    );
  return r.Ok;
}

function errOf<T>(r: Result<T>): UploadError {
  if ('Ok' in r) throw new Error('expected Err, got Ok');
  return r.Err;
}

function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function args(size: number, chunkSize: number, extra: Partial<BeginUpload> = {}): BeginUpload {
  return {
    name: 'file.bin',
    size: BigInt(size),
    chunk_size: chunkSize,
    content_type: 'application/octet-stream',
    expected_sha256: [],
    ...extra,
  };
}

const T0 = 1_700_000_000_000_000_000n;

describe('UploadService', () => {
  let maps: Maps;
  let sched: FakeScheduler;
  let svc: UploadService;
  let now: bigint;
  const as = (principal: Uint8Array) => ({ principal, now });

  beforeEach(() => {
    maps = freshMaps();
    sched = new FakeScheduler();
    svc = new UploadService(maps, CANISTER, sched);
    svc.install(60_000_000_000n);
    now = T0;
  });

  function upload(data: Uint8Array, chunkSize: number, order?: number[]): Uint8Array {
    const id = ok(svc.beginUpload(as(ALICE), args(data.length, chunkSize)));
    const count = Math.ceil(data.length / chunkSize);
    const indexes = order ?? [...Array(count).keys()];
    for (const i of indexes)
      ok(svc.putChunk(as(ALICE), id, i, data.subarray(i * chunkSize, (i + 1) * chunkSize)));
    return ok(svc.finishUpload(as(ALICE), id, nobleSha256(data)));
  }

  it('uploads in order, verifies the rolling hash and reads back any range', () => {
    const data = bytes(300_001, 7);
    const blob = upload(data, 70_000);
    const meta = ok(svc.blobMetadata(as(ALICE), blob));
    expect(meta.size).toBe(300_001n);
    expect(meta.sha256).toEqual(nobleSha256(data));
    expect(meta.owner).toEqual(ALICE);
    expect(ok(svc.readBlob(as(ALICE), blob, 0n, 300_001n))).toEqual(data);
    expect(ok(svc.readBlob(as(ALICE), blob, 65_530n, 20n))).toEqual(data.subarray(65_530, 65_550));
    expect(ok(svc.readBlob(as(ALICE), blob, 300_001n, 0n))).toEqual(new Uint8Array(0));
    expect(svc.listSessions(as(ALICE))).toEqual([]);
    expect(svc.listBlobs(as(ALICE)).map((b) => b.blob_id)).toEqual([blob]);
  });

  it('hashes chunks that arrive early once the gap fills, reading them back', () => {
    const data = bytes(10 * 1000 + 17, 3);
    const id = ok(svc.beginUpload(as(ALICE), args(data.length, 1000)));
    const put = (i: number) => ok(svc.putChunk(as(ALICE), id, i, data.subarray(i * 1000, (i + 1) * 1000)));
    expect(put(2).hashed_bytes).toBe(0n);
    expect(put(1).hashed_bytes).toBe(0n);
    expect(put(10).hashed_bytes).toBe(0n);
    const r = put(0);
    expect(r.hashed_bytes).toBe(3000n);
    expect(r.received_chunks).toBe(4);
    for (const i of [3, 4, 5, 6, 7, 8, 9]) put(i);
    expect(svc.listSessions(as(ALICE))[0].hashed_bytes).toBe(BigInt(data.length));
    const blob = ok(svc.finishUpload(as(ALICE), id, nobleSha256(data)));
    expect(ok(svc.readBlob(as(ALICE), blob, 0n, BigInt(data.length)))).toEqual(data);
  });

  it('spreads the catch-up of many waiting chunks over messages and the catch-up timer', () => {
    const chunk = 1_000_000;
    const count = 12;
    const data = bytes(chunk * count, 5);
    const id = ok(svc.beginUpload(as(ALICE), args(data.length, chunk)));
    for (let i = count - 1; i >= 1; i--)
      ok(svc.putChunk(as(ALICE), id, i, data.subarray(i * chunk, (i + 1) * chunk)));
    const r = ok(svc.putChunk(as(ALICE), id, 0, data.subarray(0, chunk)));
    // Own chunk plus at most CATCH_UP_BYTES_PER_MESSAGE of read-back.
    expect(r.hashed_bytes).toBe(BigInt(chunk + Math.ceil(LIMITS.CATCH_UP_BYTES_PER_MESSAGE / chunk) * chunk));
    expect(sched.catchUps).toBeGreaterThan(0);
    const early = errOf(svc.finishUpload(as(ALICE), id, nobleSha256(data)));
    expect(early).toEqual({ HashInProgress: { hashed_bytes: r.hashed_bytes, size: BigInt(data.length) } });
    while (svc.catchUp()) {
      /* the timer runs again while work remains */
    }
    const blob = ok(svc.finishUpload(as(ALICE), id, nobleSha256(data)));
    expect(ok(svc.readBlob(as(ALICE), blob, 5_999_990n, 20n))).toEqual(data.subarray(5_999_990, 6_000_010));
  });

  it('handles empty files and one-byte chunks', () => {
    const empty = upload(new Uint8Array(0), 100);
    expect(ok(svc.blobMetadata(as(ALICE), empty)).sha256).toEqual(nobleSha256(new Uint8Array(0)));
    const tiny = upload(bytes(5, 9), 1, [4, 3, 2, 1, 0]);
    expect(ok(svc.readBlob(as(ALICE), tiny, 0n, 5n))).toEqual(bytes(5, 9));
  });

  it('refuses missing chunks, a wrong hash and a wrong begin expectation, committing nothing', () => {
    const data = bytes(5000, 11);
    const id = ok(
      svc.beginUpload(as(ALICE), args(5000, 1000, { expected_sha256: [nobleSha256(bytes(5000, 12))] })),
    );
    for (const i of [0, 1, 3]) ok(svc.putChunk(as(ALICE), id, i, data.subarray(i * 1000, (i + 1) * 1000)));
    expect(errOf(svc.finishUpload(as(ALICE), id, nobleSha256(data)))).toEqual({
      MissingChunks: { missing_count: 2, first_missing: [2, 4] },
    });
    for (const i of [2, 4]) ok(svc.putChunk(as(ALICE), id, i, data.subarray(i * 1000, (i + 1) * 1000)));
    const wrong = nobleSha256(bytes(10, 1));
    expect(errOf(svc.finishUpload(as(ALICE), id, wrong))).toEqual({
      HashMismatch: { expected: nobleSha256(bytes(5000, 12)), actual: nobleSha256(data) },
    });
    expect(errOf(svc.finishUpload(as(ALICE), id, new Uint8Array(31)))).toEqual({
      InvalidSha256Length: { length: 31 },
    });
    expect(svc.listBlobs(as(ALICE))).toEqual([]);
    expect(svc.stats().blobs).toBe(0n);
    // The session is untouched and can still be aborted.
    expect(svc.listSessions(as(ALICE))[0].received).toEqual([0, 1, 2, 3, 4]);
    ok(svc.abortUpload(as(ALICE), id));
    expect(svc.listSessions(as(ALICE))).toEqual([]);
  });

  it('refuses a finish hash that differs from the data even without a begin expectation', () => {
    const data = bytes(100, 1);
    const id = ok(svc.beginUpload(as(ALICE), args(100, 100)));
    ok(svc.putChunk(as(ALICE), id, 0, data));
    const e = errOf(svc.finishUpload(as(ALICE), id, nobleSha256(bytes(100, 2))));
    expect(e).toEqual({ HashMismatch: { expected: nobleSha256(bytes(100, 2)), actual: nobleSha256(data) } });
    expect(svc.stats().blobs).toBe(0n);
    ok(svc.finishUpload(as(ALICE), id, nobleSha256(data)));
  });

  it('checks chunk indexes and sizes; duplicates are idempotent only with identical bytes', () => {
    const data = bytes(2500, 4);
    const id = ok(svc.beginUpload(as(ALICE), args(2500, 1000)));
    expect(errOf(svc.putChunk(as(ALICE), id, 3, new Uint8Array(1)))).toEqual({
      ChunkIndexOutOfRange: { index: 3, chunk_count: 3 },
    });
    expect(errOf(svc.putChunk(as(ALICE), id, 0, new Uint8Array(999)))).toEqual({
      ChunkSizeMismatch: { index: 0, expected: 1000, actual: 999 },
    });
    expect(errOf(svc.putChunk(as(ALICE), id, 2, new Uint8Array(1000)))).toEqual({
      ChunkSizeMismatch: { index: 2, expected: 500, actual: 1000 },
    });
    ok(svc.putChunk(as(ALICE), id, 1, data.subarray(1000, 2000)));
    const again = ok(svc.putChunk(as(ALICE), id, 1, data.subarray(1000, 2000)));
    expect(again.received_chunks).toBe(1);
    const other = data.slice(1000, 2000);
    other[500] ^= 1;
    expect(errOf(svc.putChunk(as(ALICE), id, 1, other))).toEqual({ ChunkConflict: { index: 1 } });
    ok(svc.putChunk(as(ALICE), id, 0, data.subarray(0, 1000)));
    ok(svc.putChunk(as(ALICE), id, 2, data.subarray(2000)));
    const blob = ok(svc.finishUpload(as(ALICE), id, nobleSha256(data)));
    expect(ok(svc.readBlob(as(ALICE), blob, 0n, 2500n))).toEqual(data);
  });

  it('isolates sessions and blobs per caller', () => {
    const data = bytes(1000, 2);
    const id = ok(svc.beginUpload(as(ALICE), args(1000, 500)));
    ok(svc.putChunk(as(ALICE), id, 0, data.subarray(0, 500)));
    const before = svc.listSessions(as(ALICE));
    expect(errOf(svc.putChunk(as(BOB), id, 1, data.subarray(500)))).toEqual({ NotOwner: null });
    expect(errOf(svc.finishUpload(as(BOB), id, nobleSha256(data)))).toEqual({ NotOwner: null });
    expect(errOf(svc.abortUpload(as(BOB), id))).toEqual({ NotOwner: null });
    expect(svc.listSessions(as(BOB))).toEqual([]);
    expect(svc.listSessions(as(ALICE))).toEqual(before);
    expect(errOf(svc.putChunk(as(ALICE), new Uint8Array(32), 0, data))).toEqual({ SessionNotFound: null });
    ok(svc.putChunk(as(ALICE), id, 1, data.subarray(500)));
    const blob = ok(svc.finishUpload(as(ALICE), id, nobleSha256(data)));
    expect(errOf(svc.readBlob(as(BOB), blob, 0n, 1n))).toEqual({ NotOwner: null });
    expect(errOf(svc.blobMetadata(as(BOB), blob))).toEqual({ NotOwner: null });
    expect(svc.listBlobs(as(BOB))).toEqual([]);
    expect(errOf(svc.beginUpload(as(ANON), args(1, 1)))).toEqual({ AnonymousCaller: null });
  });

  it('derives ids deterministically from caller, counter and canister', () => {
    const a1 = ok(svc.beginUpload(as(ALICE), args(1, 1)));
    const a2 = ok(svc.beginUpload(as(ALICE), args(1, 1)));
    const b1 = ok(svc.beginUpload(as(BOB), args(1, 1)));
    expect(new Set([a1, a2, b1].map((x) => Buffer.from(x).toString('hex'))).size).toBe(3);
    const again = new UploadService(freshMaps(), CANISTER, new FakeScheduler());
    again.install(undefined);
    expect(ok(again.beginUpload(as(ALICE), args(1, 1)))).toEqual(a1);
    const elsewhere = new UploadService(freshMaps(), new Uint8Array([9]), new FakeScheduler());
    elsewhere.install(undefined);
    expect(ok(elsewhere.beginUpload(as(ALICE), args(1, 1)))).not.toEqual(a1);
  });

  it('enforces the documented limits with the numbers in the error', () => {
    expect(errOf(svc.beginUpload(as(ALICE), args(10, 1_900_001)))).toEqual({
      InvalidChunkSize: { chunk_size: 1_900_001, min: 1, max: 1_900_000 },
    });
    expect(errOf(svc.beginUpload(as(ALICE), args(10, 0)))).toEqual({
      InvalidChunkSize: { chunk_size: 0, min: 1, max: 1_900_000 },
    });
    expect(errOf(svc.beginUpload(as(ALICE), args(Number(LIMITS.MAX_FILE_SIZE) + 1, 1_900_000)))).toEqual({
      FileTooLarge: { size: LIMITS.MAX_FILE_SIZE + 1n, max: LIMITS.MAX_FILE_SIZE },
    });
    expect(errOf(svc.beginUpload(as(ALICE), args(65_537, 1)))).toEqual({
      TooManyChunks: { chunk_count: 65_537n, max: 65_536 },
    });
    expect(errOf(svc.beginUpload(as(ALICE), args(1, 1, { name: '' })))).toHaveProperty('InvalidName');
    expect(errOf(svc.beginUpload(as(ALICE), args(1, 1, { content_type: 'x'.repeat(257) })))).toHaveProperty(
      'InvalidContentType',
    );
    expect(errOf(svc.beginUpload(as(ALICE), args(1, 1, { expected_sha256: [new Uint8Array(5)] })))).toEqual({
      InvalidSha256Length: { length: 5 },
    });
    for (let i = 0; i < LIMITS.MAX_SESSIONS_PER_CALLER; i++) ok(svc.beginUpload(as(ALICE), args(1, 1)));
    expect(errOf(svc.beginUpload(as(ALICE), args(1, 1)))).toEqual({ TooManySessions: { open: 8, max: 8 } });
    ok(svc.beginUpload(as(BOB), args(1, 1))); // the limit is per caller
    ok(svc.abortUpload(as(ALICE), svc.listSessions(as(ALICE))[0].session));
    ok(svc.beginUpload(as(ALICE), args(1, 1))); // a closed session frees its slot
  });

  it('enforces read limits', () => {
    const blob = upload(bytes(100), 100);
    expect(errOf(svc.readBlob(as(ALICE), blob, 90n, 11n))).toEqual({
      RangeOutOfBounds: { offset: 90n, length: 11n, size: 100n },
    });
    expect(errOf(svc.readBlob(as(ALICE), blob, 0n, 1_900_001n))).toEqual({
      ReadTooLarge: { length: 1_900_001n, max: 1_900_000n },
    });
    expect(errOf(svc.readBlob(as(ALICE), new Uint8Array(32), 0n, 1n))).toEqual({ BlobNotFound: null });
  });

  it('expires idle sessions by timer, frees their pages for reuse, never sweeps blobs', () => {
    const ttl = svc.ttl();
    expect(ttl).toBe(60_000_000_000n);
    const kept = upload(bytes(PAGE_SIZE * 3), 100_000);
    const idle = ok(svc.beginUpload(as(ALICE), args(PAGE_SIZE * 4, 100_000)));
    ok(svc.putChunk(as(ALICE), idle, 0, bytes(100_000)));
    const active = ok(svc.beginUpload(as(BOB), args(10, 10)));
    expect(svc.stats().page_high_water).toBe(7 + 1);
    // Bob stays active: his deadline moves.
    now = T0 + ttl / 2n;
    ok(svc.putChunk(as(BOB), active, 0, bytes(10)));
    expect(sched.next()).toBe(T0 + ttl);
    now = T0 + ttl;
    expect(svc.sweep(now)).toBe(1);
    expect(svc.listSessions(as(ALICE))).toEqual([]);
    expect(errOf(svc.putChunk(as(ALICE), idle, 1, bytes(100_000)))).toEqual({ SessionNotFound: null });
    expect(svc.listSessions(as(BOB))).toHaveLength(1);
    expect(sched.sweepRequests.at(-1)).toBe(T0 + ttl / 2n + ttl);
    expect(svc.stats().pages_free).toBe(4);
    // The blob survives any number of sweeps.
    now = T0 + 100n * ttl;
    expect(svc.sweep(now)).toBe(1);
    expect(ok(svc.readBlob(as(ALICE), kept, 0n, 10n))).toEqual(bytes(PAGE_SIZE * 3).subarray(0, 10));
    // Freed pages are reused by the next session instead of growing the space.
    const high = svc.stats().page_high_water;
    const reuse = ok(svc.beginUpload(as(ALICE), args(PAGE_SIZE * 2, PAGE_SIZE)));
    expect(svc.stats().page_high_water).toBe(high);
    ok(svc.putChunk(as(ALICE), reuse, 0, bytes(PAGE_SIZE, 77)));
    ok(svc.putChunk(as(ALICE), reuse, 1, bytes(PAGE_SIZE, 78)));
    const data = new Uint8Array([...bytes(PAGE_SIZE, 77), ...bytes(PAGE_SIZE, 78)]);
    const blob = ok(svc.finishUpload(as(ALICE), reuse, nobleSha256(data)));
    expect(ok(svc.readBlob(as(ALICE), blob, 0n, BigInt(data.length)))).toEqual(data);
    expect(ok(svc.readBlob(as(ALICE), kept, 0n, BigInt(PAGE_SIZE * 3)))).toEqual(bytes(PAGE_SIZE * 3));
  });

  it('sweeps in bounded batches and asks to run again', () => {
    const callers = Array.from({ length: 40 }, (_, i) => new Uint8Array([50, i]));
    for (const c of callers) ok(svc.beginUpload(as(c), args(1, 1)));
    now = T0 + svc.ttl();
    expect(svc.sweep(now)).toBe(LIMITS.SWEEP_BATCH);
    expect(sched.sweepRequests.at(-1)).toBe(now);
    expect(svc.sweep(now)).toBe(40 - LIMITS.SWEEP_BATCH);
    expect(svc.stats().sessions).toBe(0n);
  });

  it('links derivatives between blobs of the same owner', () => {
    const original = upload(bytes(100, 1), 100);
    const thumb = upload(bytes(10, 2), 10);
    const preview = upload(bytes(20, 3), 20);
    ok(svc.linkDerivative(as(ALICE), original, thumb, 'thumbnail'));
    ok(svc.linkDerivative(as(ALICE), original, thumb, 'thumbnail')); // idempotent
    ok(svc.linkDerivative(as(ALICE), original, preview, 'preview'));
    const meta = ok(svc.blobMetadata(as(ALICE), original));
    expect(meta.derivatives).toEqual([
      { blob_id: thumb, kind: 'thumbnail' },
      { blob_id: preview, kind: 'preview' },
    ]);
    expect(ok(svc.blobMetadata(as(ALICE), thumb)).derivative_of).toEqual([
      { blob_id: original, kind: 'thumbnail' },
    ]);
    expect(errOf(svc.linkDerivative(as(ALICE), preview, thumb, 'thumbnail'))).toEqual({
      AlreadyLinked: { original, kind: 'thumbnail' },
    });
    expect(errOf(svc.linkDerivative(as(ALICE), original, original, 'x'))).toHaveProperty('InvalidLink');
    expect(errOf(svc.linkDerivative(as(ALICE), thumb, original, 'x'))).toHaveProperty('InvalidLink');
    expect(errOf(svc.linkDerivative(as(ALICE), original, thumb, ''))).toHaveProperty('InvalidKind');
    expect(errOf(svc.linkDerivative(as(BOB), original, thumb, 'thumbnail'))).toEqual({ NotOwner: null });
    const bobs = (() => {
      const id = ok(svc.beginUpload(as(BOB), args(1, 1)));
      ok(svc.putChunk(as(BOB), id, 0, new Uint8Array([1])));
      return ok(svc.finishUpload(as(BOB), id, nobleSha256(new Uint8Array([1]))));
    })();
    expect(errOf(svc.linkDerivative(as(ALICE), original, bobs, 'thumbnail'))).toEqual({ NotOwner: null });
  });

  it('keeps everything across an upgrade (new service over the same maps) and re-arms timers', () => {
    const data = bytes(4000, 21);
    const id = ok(svc.beginUpload(as(ALICE), args(4000, 1000)));
    ok(svc.putChunk(as(ALICE), id, 0, data.subarray(0, 1000)));
    ok(svc.putChunk(as(ALICE), id, 2, data.subarray(2000, 3000)));
    const sched2 = new FakeScheduler();
    const after = new UploadService(maps, CANISTER, sched2);
    expect(after.upgrade(undefined)).toBe(LAYOUT_VERSION);
    expect(sched2.next()).toBe(T0 + 60_000_000_000n);
    ok(after.putChunk(as(ALICE), id, 1, data.subarray(1000, 2000)));
    ok(after.putChunk(as(ALICE), id, 3, data.subarray(3000)));
    expect(ok(after.finishUpload(as(ALICE), id, nobleSha256(data)))).toHaveLength(32);
    expect(after.upgrade(5_000_000_000n)).toBe(LAYOUT_VERSION);
    expect(after.ttl()).toBe(5_000_000_000n);
  });

  it('migrates a header-less (v0) layout by rebuilding the derived indexes', () => {
    const blob = upload(bytes(10), 10);
    const id = ok(svc.beginUpload(as(ALICE), args(10, 5)));
    // Simulate v0: no header, no derived indexes, no caller records.
    maps.meta.remove(new TextEncoder().encode('layout_version'));
    for (const m of [maps.expiry, maps.ownerBlobs, maps.callers]) for (const [k] of m.items()) m.remove(k);
    const after = new UploadService(maps, CANISTER, new FakeScheduler());
    expect(after.upgrade(undefined)).toBe(0);
    expect(after.layoutVersion()).toBe(LAYOUT_VERSION);
    expect(after.listBlobs(as(ALICE)).map((b) => b.blob_id)).toEqual([blob]);
    expect(after.listSessions(as(ALICE)).map((s) => s.session)).toEqual([id]);
    const next = ok(after.beginUpload(as(ALICE), args(1, 1)));
    expect(next).not.toEqual(id);
    now = T0 + after.ttl();
    expect(after.sweep(now)).toBe(2);
  });

  it('refuses to run over a newer layout', () => {
    maps.meta.insert(new TextEncoder().encode('layout_version'), new Uint8Array([0, 0, 0, 99]));
    expect(() => new UploadService(maps, CANISTER, new FakeScheduler()).upgrade(undefined)).toThrow(/newer/);
  });
});
