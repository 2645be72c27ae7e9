/**
 * Promise: a session idle for longer than the TTL is expired by the
 * canister's timer and its pages go back to the free list, where the next
 * session reuses them; every accepted chunk refreshes the deadline; committed
 * blobs are never swept. (canister/README.md, "TTL" and "Storage"; issue 5 §2.)
 * Time moves only through `pic.advanceTime`; timers run in `pic.tick` rounds.
 */
import type { PocketIc } from '@dfinity/pic';
import { sha256 } from '@noble/hashes/sha2.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { payload } from '../../fixtures/payload.ts';
import { createPic } from '../support/pic.ts';
import {
  beginArgs,
  chunkOf,
  DEFAULT_TTL_NS,
  expectUploadError,
  installUpload,
  newUser,
  PAGE_SIZE,
  sameBytes,
  type UploadClient,
  uploadBytes,
} from '../support/upload.ts';

const TTL_S = 60;
const TTL_NS = BigInt(TTL_S) * 1_000_000_000n;

let pic: PocketIc;

beforeAll(async () => {
  pic = await createPic();
});
afterAll(async () => {
  await pic?.tearDown();
});

/** Moves virtual time by `seconds` and runs enough rounds for a due timer (and its self-call) to run. */
async function elapse(seconds: number): Promise<void> {
  await pic.advanceTime(seconds * 1000);
  await pic.tick(3);
}

/** Pages handed out and not free: what sessions and blobs occupy. */
async function pagesInUse(client: UploadClient): Promise<number> {
  const s = await client.stats();
  return s.page_high_water - s.pages_free;
}

describe('a session with a 60 s TTL', () => {
  it('survives 59 s idle; at 61 s it is swept and its pages are freed, then reused by the next session', async () => {
    const canister = await installUpload(pic, { sessionTtlNs: TTL_NS });
    const client = canister.client(newUser());
    const size = 3 * PAGE_SIZE;
    const session = await client.begin(beginArgs(size, PAGE_SIZE));
    await client.putChunk(session, 0, payload(PAGE_SIZE, 1));
    const [info] = await client.listSessions();
    expect(info!.expires_at - info!.last_activity).toBe(TTL_NS);
    expect(await client.stats()).toMatchObject({ sessions: 1n, page_high_water: 3, pages_free: 0 });

    await elapse(TTL_S - 1);
    expect((await client.listSessions()).map((s) => s.received)).toEqual([[0]]);

    await elapse(2);
    expect(await client.listSessions()).toEqual([]);
    await expectUploadError(client.putChunk(session, 1, payload(PAGE_SIZE, 2)), { SessionNotFound: null });
    expect(await client.stats()).toMatchObject({ sessions: 0n, page_high_water: 3, pages_free: 3 });
    expect(await pagesInUse(client)).toBe(0);

    // The next session takes the freed pages instead of growing the page space, and its bytes are its own.
    const data = payload(2 * PAGE_SIZE, 3);
    const blob = await uploadBytes(client, pic, data, PAGE_SIZE);
    expect(await client.stats()).toMatchObject({ page_high_water: 3, pages_free: 1, blobs: 1n });
    expect(sameBytes(await client.read(blob), data)).toBe(true);
  });

  it('every accepted chunk (an identical repeat too) moves the deadline; an untouched session beside it expires on time', async () => {
    const canister = await installUpload(pic, { sessionTtlNs: TTL_NS });
    const client = canister.client(newUser());
    const data = payload(3000, 4);
    const active = await client.begin(beginArgs(3000, 1000, { name: 'active' }));
    const idle = await client.begin(beginArgs(3000, 1000, { name: 'idle' }));
    await client.putChunk(active, 0, chunkOf(data, 1000, 0));

    await elapse(40);
    await client.putChunk(active, 1, chunkOf(data, 1000, 1));
    const refreshed = (await client.listSessions()).find((s) => s.name === 'active')!;
    expect(refreshed.expires_at).toBe(refreshed.last_activity + TTL_NS);

    await elapse(30); // 70 s after begin, 30 s after the last chunk
    expect((await client.listSessions()).map((s) => s.name)).toEqual(['active']);
    await expectUploadError(client.putChunk(idle, 0, chunkOf(data, 1000, 0)), { SessionNotFound: null });

    await client.putChunk(active, 1, chunkOf(data, 1000, 1)); // idempotent repeat: accepted, refreshes
    await elapse(TTL_S - 5);
    await client.putChunk(active, 2, chunkOf(data, 1000, 2));
    const blob = await client.finish(active, sha256(data));
    expect(sameBytes(await client.read(blob), data)).toBe(true);
  });

  it('committed blobs are never swept, however long they sit', async () => {
    const canister = await installUpload(pic, { sessionTtlNs: TTL_NS });
    const client = canister.client(newUser());
    const data = payload(PAGE_SIZE + 5, 5);
    const blob = await uploadBytes(client, pic, data, 10_000);
    await client.begin(beginArgs(10, 10)); // a session, so that the sweep really runs
    await elapse(100 * TTL_S);
    expect(await client.listSessions()).toEqual([]);
    expect((await client.listBlobs()).map((b) => b.blob_id)).toEqual([blob]);
    expect(sameBytes(await client.read(blob), data)).toBe(true);
    expect(await client.stats()).toMatchObject({ blobs: 1n, sessions: 0n, pages_free: 1 });
  });

  it('sweeps at most 32 sessions per timer run and runs again until none is overdue', async () => {
    const canister = await installUpload(pic, { sessionTtlNs: TTL_NS });
    const users = Array.from({ length: 5 }, () => canister.client(newUser()));
    for (const u of users) for (let i = 0; i < 8; i++) await u.begin(beginArgs(1, 1));
    expect((await users[0]!.stats()).sessions).toBe(40n);
    await pic.advanceTime((TTL_S + 1) * 1000);
    const seen: bigint[] = [];
    for (let round = 0; round < 10; round++) {
      await pic.tick();
      const n = (await users[0]!.stats()).sessions;
      if (seen.at(-1) !== n) seen.push(n);
    }
    expect(seen.filter((n) => n !== 40n)).toEqual([8n, 0n]);
    for (const u of users) expect(await u.listSessions()).toEqual([]);
  });
});

describe('the TTL setting', () => {
  it('is one hour by default, visible in storage_stats and in every session’s expires_at', async () => {
    const canister = await installUpload(pic);
    const client = canister.client(newUser());
    expect((await client.stats()).session_ttl_ns).toBe(DEFAULT_TTL_NS);
    await client.begin(beginArgs(1, 1));
    const [s] = await client.listSessions();
    expect(s!.expires_at - s!.last_activity).toBe(DEFAULT_TTL_NS);
    await elapse(3599);
    expect(await client.listSessions()).toHaveLength(1);
    await elapse(2);
    expect(await client.listSessions()).toEqual([]);
  });

  it('is raised to the one-second minimum when smaller', async () => {
    const canister = await installUpload(pic, { sessionTtlNs: 1n });
    const client = canister.client(newUser());
    expect((await client.stats()).session_ttl_ns).toBe(1_000_000_000n);
  });
});
