/**
 * Shared setup of the upload family (conformance/upload/): the canister's
 * Wasm from `buildUploadCanister()` (cached by source hash), installed
 * through PicJS only, with PicJS actors wrapped in the typed `UploadClient`.
 * Every caller is a real identity: the canister refuses the anonymous one.
 */
import { type Actor, createIdentity, type PocketIc } from '@dfinity/pic';
import type { Identity } from '@icp-sdk/core/agent';
import { IDL } from '@icp-sdk/core/candid';
import { Ed25519KeyIdentity } from '@icp-sdk/core/identity';
import type { Principal } from '@icp-sdk/core/principal';
import { sha256 } from '@noble/hashes/sha2.js';
import { expect } from 'vitest';

import { buildUploadCanister } from '../../canister/build.ts';
import {
  type BeginUpload,
  type BlobId,
  idlFactory,
  initArgTypes,
  type SessionId,
  type UploadActor,
  UploadCanisterError,
  UploadClient,
  type UploadError,
  type UploadErrorKind,
  type UploadErrorValue,
} from '../../canister/client/client.ts';

export { idlFactory, UploadCanisterError, UploadClient };
export type { BeginUpload, BlobId, SessionId, UploadActor, UploadError };

/** Bytes per page of the canister's page space (storage_stats counts these). */
export const PAGE_SIZE = 65_536;
/** Largest chunk and largest read the canister accepts. */
export const MAX_CHUNK = 1_900_000;
/** The canister's default session TTL (one hour). */
export const DEFAULT_TTL_NS = 3_600_000_000_000n;

let wasmOnce: Promise<Uint8Array<ArrayBuffer>> | undefined;

/** The current build of the upload canister (built once per worker, cached on disk by source hash). */
export function uploadWasm(): Promise<Uint8Array<ArrayBuffer>> {
  wasmOnce ??= buildUploadCanister().then(({ wasm }) => new Uint8Array(wasm));
  return wasmOnce;
}

/** Candid of the install/upgrade argument `opt record { session_ttl_ns : opt nat64 }`. */
export function initArg(options: { sessionTtlNs?: bigint; none?: boolean } = {}): Uint8Array<ArrayBuffer> {
  const value =
    options.none === true
      ? []
      : [{ session_ttl_ns: options.sessionTtlNs === undefined ? [] : [options.sessionTtlNs] }];
  return new Uint8Array(IDL.encode(initArgTypes({ IDL }), [value]));
}

/** A new random caller. */
export function newUser(): Identity {
  return Ed25519KeyIdentity.generate();
}

/** The same caller every time for the same seed (PicJS's `createIdentity`). */
export function seededUser(seed: string): Identity {
  return createIdentity(seed);
}

export interface UploadCanister {
  pic: PocketIc;
  canisterId: Principal;
  /** A PicJS actor calling as `identity`. */
  actor(identity: Identity): Actor<UploadActor>;
  /** The typed client over `actor(identity)`. */
  client(identity: Identity): UploadClient;
}

/** Wraps an installed upload canister. */
export function uploadCanister(pic: PocketIc, canisterId: Principal): UploadCanister {
  const actor = (identity: Identity): Actor<UploadActor> => {
    const a = pic.createActor<UploadActor>(idlFactory, canisterId);
    a.setIdentity(identity);
    return a;
  };
  return { pic, canisterId, actor, client: (identity) => new UploadClient(actor(identity)) };
}

/** Creates a canister on `pic` and installs `wasm` (default: the current build) with `arg`. */
export async function installUpload(
  pic: PocketIc,
  options: {
    wasm?: Uint8Array<ArrayBuffer> | string;
    arg?: Uint8Array<ArrayBuffer>;
    sessionTtlNs?: bigint;
  } = {},
): Promise<UploadCanister> {
  const { canisterId } = await pic.setupCanister<UploadActor>({
    idlFactory,
    wasm: options.wasm ?? (await uploadWasm()),
    arg: options.arg ?? initArg({ sessionTtlNs: options.sessionTtlNs }),
  });
  return uploadCanister(pic, canisterId);
}

/** `begin_upload` arguments for a file of `size` bytes. */
export function beginArgs(size: number, chunkSize: number, extra: Partial<BeginUpload> = {}): BeginUpload {
  return {
    name: 'file.bin',
    size: BigInt(size),
    chunk_size: chunkSize,
    content_type: 'application/octet-stream',
    expected_sha256: [],
    ...extra,
  };
}

/** Chunk `i` of `data` cut in `chunkSize` pieces. */
export function chunkOf(data: Uint8Array, chunkSize: number, i: number): Uint8Array {
  return data.subarray(i * chunkSize, Math.min(data.length, (i + 1) * chunkSize));
}

/** Indexes 0..n-1. */
export function indexes(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/**
 * Runs a session by hand: begin, put every chunk in `order` (default
 * ascending), finish with the data's SHA-256. Ticks while the canister answers
 * HashInProgress (its catch-up timer runs in rounds).
 */
export async function uploadBytes(
  client: UploadClient,
  pic: PocketIc,
  data: Uint8Array,
  chunkSize: number,
  options: { order?: number[]; name?: string; contentType?: string; expected?: boolean } = {},
): Promise<BlobId> {
  const digest = sha256(data);
  const session = await client.begin(
    beginArgs(data.length, chunkSize, {
      name: options.name ?? 'file.bin',
      content_type: options.contentType ?? 'application/octet-stream',
      expected_sha256: options.expected === true ? [digest] : [],
    }),
  );
  for (const i of options.order ?? indexes(Math.ceil(data.length / chunkSize))) {
    await client.putChunk(session, i, chunkOf(data, chunkSize, i));
  }
  return finishWhenHashed(client, pic, session, digest);
}

/** `finish_upload`, ticking while the canister answers HashInProgress. */
export async function finishWhenHashed(
  client: UploadClient,
  pic: PocketIc,
  session: SessionId,
  digest: Uint8Array,
): Promise<BlobId> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await client.finish(session, digest);
    } catch (e) {
      if (!(e instanceof UploadCanisterError) || e.kind !== 'HashInProgress' || attempt >= 50) throw e;
      await pic.tick();
    }
  }
}

/** Awaits `call`, which must fail with exactly this `UploadError` (numbers included); returns the error. */
export async function expectUploadError(
  call: Promise<unknown>,
  expected: UploadErrorValue | UploadErrorKind,
): Promise<UploadCanisterError> {
  let thrown: unknown;
  try {
    const value = await call;
    expect.fail(
      `expected ${typeof expected === 'string' ? expected : Object.keys(expected)[0]}, got Ok: ${String(value)}`,
    );
  } catch (e) {
    thrown = e;
  }
  expect(thrown, String(thrown)).toBeInstanceOf(UploadCanisterError);
  const error = thrown as UploadCanisterError;
  if (typeof expected === 'string') expect(error.kind).toBe(expected);
  else expect(error.error).toEqual(expected);
  return error;
}

/** Hex of bytes, for ids in sets and messages. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Byte equality without Vitest's element-wise diff (megabytes make it crawl). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

/** What a caller can observe of its own state, plus the canister-wide stats. */
export async function observe(
  client: UploadClient,
): Promise<{ sessions: unknown; blobs: unknown; stats: unknown }> {
  const [sessions, blobs, stats] = await Promise.all([
    client.listSessions(),
    client.listBlobs(),
    client.stats(),
  ]);
  return { sessions, blobs, stats };
}
