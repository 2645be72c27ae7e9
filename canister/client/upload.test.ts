// uploadFile and UploadClient against the real upload canister: the built
// Azle Wasm on the in-process simulator (simulator/testing/harness.ts),
// driven through `simActor`. The only stand-in is `flaky`, a proxy around a
// real actor that drops chosen calls like a broken connection would: it
// stands for the network, not for the canister.
import { Principal } from '@icp-sdk/core/principal';
import { sha256 } from '@noble/hashes/sha2.js';
import { beforeAll, describe, expect, it } from 'vitest';

import { payload } from '../../fixtures/payload.ts';
import { Harness } from '../../simulator/testing/harness.ts';
import { buildUploadCanister } from '../build.ts';
import { encodeInitArg, simActor } from '../testing/sim-actor.ts';
import { UploadCanisterError, type UploadActor, UploadClient } from './client.ts';
import { bytesSource, type UploadProgress, uploadFile } from './upload.ts';

const ALICE = Principal.fromUint8Array(new Uint8Array([7, 7, 7, 7, 7, 7, 7, 7, 7, 1]));
const BOB = Principal.fromUint8Array(new Uint8Array([7, 7, 7, 7, 7, 7, 7, 7, 7, 2]));

/**
 * Wraps an actor so that chosen calls fail like a dropped connection, before
 * reaching the canister; records the canister's answers to the others.
 */
function flaky(
  actor: UploadActor,
  shouldFail: (method: string, n: number) => boolean,
): { actor: UploadActor; calls: string[]; answers: { method: string; answer: unknown }[] } {
  const calls: string[] = [];
  const answers: { method: string; answer: unknown }[] = [];
  const counts = new Map<string, number>();
  const wrapped = new Proxy(actor, {
    get(target, prop: string) {
      const original = (target as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[prop];
      return async (...args: unknown[]) => {
        const n = (counts.get(prop) ?? 0) + 1;
        counts.set(prop, n);
        calls.push(prop);
        if (shouldFail(prop, n)) throw new TypeError('fetch failed (simulated)');
        const answer = await original.apply(target, args);
        answers.push({ method: prop, answer });
        return answer;
      };
    },
  });
  return { actor: wrapped, calls, answers };
}

let wasm: Uint8Array;
beforeAll(async () => {
  ({ wasm } = await buildUploadCanister());
}, 300_000);

/** A fresh simulator with the upload canister installed. */
function deploy(sessionTtlNs?: bigint): {
  h: Harness;
  actorFor: (p: Principal) => UploadActor;
  clientFor: (p: Principal) => UploadClient;
  /** Runs a round (timers included): what `sleep` does while the uploader waits. */
  tick: () => Promise<void>;
} {
  const h = new Harness();
  const id = h.deploy(wasm, encodeInitArg(sessionTtlNs));
  return {
    h,
    actorFor: (p) => simActor(h, id, p),
    clientFor: (p) => new UploadClient(simActor(h, id, p)),
    tick: async () => {
      h.ic.tick();
    },
  };
}

describe('uploadFile against the canister Wasm', () => {
  it('uploads over parallel lanes, reports progress and MB/s, and reads back', async () => {
    const { clientFor, tick } = deploy();
    const client = clientFor(ALICE);
    const file = payload(1_000_000, 3);
    const seen: UploadProgress[] = [];
    const result = await uploadFile(client, bytesSource(file), {
      name: 'photo.jpg',
      contentType: 'image/jpeg',
      chunkSize: 64_000,
      lanes: 4,
      onProgress: (p) => seen.push(p),
      sleep: tick,
    });
    expect(result.sha256).toEqual(sha256(file));
    expect(result.chunkCount).toBe(16);
    expect(result.chunksSent).toBe(16);
    expect(result.resumed).toBe(false);
    expect(result.mbps).toBeGreaterThan(0);
    const meta = await client.metadata(result.blobId);
    expect(meta.owner.toText()).toBe(ALICE.toText());
    expect(meta.content_type).toBe('image/jpeg');
    expect(meta.sha256).toEqual(sha256(file));
    expect(await client.read(result.blobId, { rangeSize: 300_000 })).toEqual(file);
    const uploading = seen.filter((p) => p.phase === 'uploading');
    expect(uploading.at(-1)?.bytesSent).toBe(1_000_000);
    expect(uploading.map((p) => p.chunksDone)).toEqual(
      [...uploading.map((p) => p.chunksDone)].sort((a, b) => a - b),
    );
    expect(seen.at(-1)?.phase).toBe('done');
  });

  it('retries transport failures and still produces the right blob', async () => {
    const { actorFor, clientFor, tick } = deploy();
    // Every third put_chunk fails once before reaching the canister.
    const { actor, calls } = flaky(actorFor(ALICE), (m, n) => m === 'put_chunk' && n % 3 === 0);
    const file = payload(500_000, 5);
    const result = await uploadFile(new UploadClient(actor), bytesSource(file), {
      name: 'a',
      chunkSize: 50_000,
      lanes: 3,
      sleep: tick,
    });
    expect(result.retries).toBeGreaterThan(0);
    expect(calls.filter((c) => c === 'put_chunk').length).toBe(10 + result.retries);
    expect(await clientFor(ALICE).read(result.blobId)).toEqual(file);
  });

  it('gives up after the configured retries and resumes later from the received chunks', async () => {
    const { actorFor, clientFor, tick } = deploy();
    const file = payload(400_000, 9);
    // The connection dies for good after six chunks.
    const { actor } = flaky(actorFor(ALICE), (m, n) => m === 'put_chunk' && n > 6);
    await expect(
      uploadFile(new UploadClient(actor), bytesSource(file), {
        name: 'big',
        chunkSize: 40_000,
        lanes: 1,
        retries: 2,
        sleep: tick,
      }),
    ).rejects.toThrow(/fetch failed/);
    const client = clientFor(ALICE);
    const [open] = await client.listSessions();
    expect(open.received).toEqual([0, 1, 2, 3, 4, 5]);
    const result = await uploadFile(client, bytesSource(file), {
      name: 'big',
      chunkSize: 40_000,
      lanes: 2,
      sleep: tick,
    });
    expect(result.resumed).toBe(true);
    expect(result.chunksSkipped).toBe(6);
    expect(result.chunksSent).toBe(4);
    expect(await client.read(result.blobId)).toEqual(file);
    expect(await client.listSessions()).toEqual([]);
  });

  it('does not resume a session of another caller or of different content', async () => {
    const { clientFor, tick } = deploy();
    const file = payload(100_000, 1);
    const alice = clientFor(ALICE);
    await alice.begin({
      name: 'x',
      size: 100_000n,
      chunk_size: 10_000,
      content_type: '',
      expected_sha256: [sha256(payload(100_000, 2))],
    });
    const bob = clientFor(BOB);
    const r = await uploadFile(bob, bytesSource(file), { name: 'x', chunkSize: 10_000, sleep: tick });
    expect(r.resumed).toBe(false);
    const r2 = await uploadFile(alice, bytesSource(file), { name: 'x', chunkSize: 10_000, sleep: tick });
    expect(r2.resumed).toBe(false);
    expect((await alice.listSessions()).length).toBe(1);
    expect(await bob.read(r.blobId)).toEqual(file);
    expect(await alice.read(r2.blobId)).toEqual(file);
  });

  it('waits at finish while the canister catch-up timer is still hashing early chunks', async () => {
    const { actorFor, clientFor, h } = deploy();
    const client = clientFor(ALICE);
    const chunk = 1_900_000;
    const file = payload(chunk * 6, 4);
    const id = await client.begin({
      name: 'rev',
      size: BigInt(file.length),
      chunk_size: chunk,
      content_type: '',
      expected_sha256: [sha256(file)],
    });
    // Chunks 5..1 by hand, backwards: each waits for chunk 0.
    for (let i = 5; i >= 1; i--) {
      expect((await client.putChunk(id, i, file.subarray(i * chunk, (i + 1) * chunk))).hashed_bytes).toBe(0n);
    }
    // The uploader resumes and sends chunk 0: that message hashes only chunk 0
    // (HASH_BYTES_PER_MESSAGE is one 1.9 MB chunk), so chunks 1..5 are left to
    // the catch-up timer, one per run, and the first finish answers HashInProgress.
    const { actor, answers } = flaky(actorFor(ALICE), () => false);
    let waits = 0;
    const result = await uploadFile(new UploadClient(actor), bytesSource(file), {
      name: 'rev',
      chunkSize: chunk,
      sleep: async () => {
        waits++;
        h.ic.tick();
      },
    });
    expect(answers.find((a) => a.method === 'put_chunk')?.answer).toEqual({
      Ok: { received_chunks: 6, chunk_count: 6, hashed_bytes: BigInt(chunk) },
    });
    const finishes = answers.filter((a) => a.method === 'finish_upload').map((a) => a.answer);
    const first = finishes[0] as { Err: { HashInProgress: { hashed_bytes: bigint; size: bigint } } };
    expect(first.Err.HashInProgress.size).toBe(BigInt(file.length));
    expect(first.Err.HashInProgress.hashed_bytes).toBeLessThan(BigInt(file.length));
    expect(finishes.at(-1)).toEqual({ Ok: result.blobId });
    expect(waits).toBe(finishes.length - 1);
    expect(result.resumed).toBe(true);
    expect(result.chunksSkipped).toBe(5);
    expect(result.chunksSent).toBe(1);
    expect((await client.metadata(result.blobId)).sha256).toEqual(sha256(file));
  }, 120_000);

  it('surfaces canister errors as typed UploadCanisterErrors without retrying them', async () => {
    const { actorFor, tick } = deploy();
    const { actor, calls } = flaky(actorFor(ALICE), () => false);
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
    // Record fields arrive in Candid's field-hash order, the same through every actor.
    expect((error as Error).message).toBe('put_chunk: ChunkSizeMismatch (actual=9, expected=10, index=0)');
    await expect(
      uploadFile(client, bytesSource(new Uint8Array(10)), { name: 'y', chunkSize: 2_000_000, sleep: tick }),
    ).rejects.toThrow(RangeError);
    // The anonymous caller is refused by the canister: a canister error, final at once.
    const anonymous = flaky(actorFor(Principal.anonymous()), () => false);
    await expect(
      uploadFile(new UploadClient(anonymous.actor), bytesSource(new Uint8Array(10)), {
        name: 'y',
        sleep: tick,
      }),
    ).rejects.toThrow(/begin_upload: AnonymousCaller/);
    expect(anonymous.calls.filter((c) => c === 'begin_upload')).toHaveLength(1);
    expect(calls.filter((c) => c === 'put_chunk')).toHaveLength(1);
  });

  it('expires an abandoned session after the TTL, and the next upload starts afresh on its freed pages', async () => {
    const { h, actorFor, clientFor, tick } = deploy(10_000_000_000n);
    const client = clientFor(ALICE);
    const file = payload(30_000, 8);
    const { actor } = flaky(actorFor(ALICE), (m, n) => m === 'put_chunk' && n > 1);
    await expect(
      uploadFile(new UploadClient(actor), bytesSource(file), {
        name: 'f',
        chunkSize: 10_000,
        lanes: 1,
        retries: 0,
        sleep: tick,
      }),
    ).rejects.toThrow(/fetch failed/);
    expect(await client.listSessions()).toHaveLength(1);
    h.ic.setTime(h.ic.getTime() + 11_000_000_000n);
    h.ic.tick();
    h.ic.tick();
    expect(await client.listSessions()).toEqual([]);
    expect((await client.stats()).pages_free).toBe(1);
    const r = await uploadFile(client, bytesSource(file), { name: 'f', chunkSize: 10_000, sleep: tick });
    expect(r.resumed).toBe(false);
    expect((await client.stats()).pages_free).toBe(0);
    expect(await client.read(r.blobId)).toEqual(file);
  });
});
