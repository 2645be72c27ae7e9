// The upload-session service, free of Azle: every method takes the caller
// and the time explicitly and works on KvMaps, so the canister entry
// (index.ts) only translates Candid. It is tested as the built Wasm only
// (canister/*.test.ts on the in-process simulator, conformance/upload/ over PicJS).
//
// Stable layout (one StableBTreeMap per memory id, see MEMORY in index.ts):
//   meta      text key -> bytes: layout version, config, allocator state
//   sessions  session id (32 B) -> SessionRecord
//   blobs     blob id (32 B) -> BlobRecord
//   callers   principal bytes -> CallerRecord (counter, open sessions)
//   ownerBlobs principal bytes -> concatenated blob ids (32 B each)
//   expiry    last_activity (u64 BE) ++ session id -> empty; first entry = next to expire
//   pages     page number (u32 BE) -> page bytes (see store.ts)
//   links     share-link token (32 B) -> LinkRecord (layout 2)

import { ByteReader, ByteWriter, bytesEqual, concatBytes } from './codec.ts';
import { fromHex, linkPath, type Route, type ServedBlob } from './http.ts';
import { LIMITS } from './limits.ts';
import {
  allocate,
  type AllocatorState,
  decodeAllocator,
  encodeAllocator,
  freePages,
  type KvMap,
  PAGE_SIZE,
  PageSpace,
  pagesFor,
  type Region,
  release,
} from './store.ts';
import {
  decodeSha256State,
  encodeSha256State,
  sha256,
  sha256Digest,
  sha256Init,
  type Sha256State,
  sha256Update,
} from './sha256.ts';
import type {
  BeginUpload,
  BlobId,
  BlobMetadata,
  BlobSharing,
  DerivativeLink,
  PutChunkOk,
  Result,
  SessionId,
  SessionInfo,
  ShareLink,
  StorageStats,
  UploadError,
} from './types.ts';

/** Version of the stable layout described at the top of this file. */
export const LAYOUT_VERSION = 2;

export interface Maps {
  meta: KvMap;
  sessions: KvMap;
  blobs: KvMap;
  callers: KvMap;
  ownerBlobs: KvMap;
  expiry: KvMap;
  pages: KvMap;
  links: KvMap;
}

/** What the service asks of its host (the canister's timers). */
export interface Scheduler {
  /** Run `sweep` at or after `atNs` (replaces any earlier request with a later one only if sooner). */
  sweepAt(atNs: bigint): void;
  /** Run `catchUp` soon (waiting chunks remain to be hashed). */
  catchUpSoon(): void;
}

export interface Caller {
  /** Principal bytes of the caller. */
  principal: Uint8Array;
  /** Current time, nanoseconds since the epoch. */
  now: bigint;
}

interface SessionRecord {
  id: SessionId;
  blobId: BlobId;
  owner: Uint8Array;
  name: string;
  contentType: string;
  size: number;
  chunkSize: number;
  chunkCount: number;
  expectedSha256: Uint8Array | undefined;
  region: Region;
  createdAt: bigint;
  lastActivity: bigint;
  received: Uint8Array;
  receivedCount: number;
  hashedChunks: number;
  hash: Sha256State;
}

interface BlobRecord {
  id: BlobId;
  owner: Uint8Array;
  name: string;
  contentType: string;
  size: number;
  sha256: Uint8Array;
  region: Region;
  createdAt: bigint;
  derivativeOf: DerivativeLink | undefined;
  derivatives: DerivativeLink[];
  /** Served by `http_request` at `/b/<id>` (layout 2; false for blobs of layout 1). */
  public: boolean;
  /** Tokens of its share links (layout 2). */
  links: Uint8Array[];
}

interface LinkRecord {
  token: Uint8Array;
  blobId: BlobId;
  owner: Uint8Array;
  createdAt: bigint;
  expiresAt: bigint;
}

interface CallerRecord {
  counter: bigint;
  sessions: SessionId[];
}

const RECORD_VERSION = 1;
/** Blob records: 1 = layout 1, 2 = with `public` and `links` (layout 2). */
const BLOB_RECORD_VERSION = 2;
const ANONYMOUS = new Uint8Array([4]);
const encoder = new TextEncoder();

const META_LAYOUT = encoder.encode('layout_version');
const META_TTL = encoder.encode('session_ttl_ns');
const META_ALLOCATOR = encoder.encode('allocator');

// ---- record codecs ------------------------------------------------------

function encodeSession(s: SessionRecord): Uint8Array {
  const w = new ByteWriter()
    .u8(RECORD_VERSION)
    .raw(s.id)
    .raw(s.blobId)
    .bytes(s.owner)
    .text(s.name)
    .text(s.contentType)
    .u64(BigInt(s.size))
    .u32(s.chunkSize)
    .u32(s.chunkCount)
    .u8(s.expectedSha256 === undefined ? 0 : 1);
  if (s.expectedSha256 !== undefined) w.raw(s.expectedSha256);
  return w
    .u32(s.region.start)
    .u32(s.region.pages)
    .u64(s.createdAt)
    .u64(s.lastActivity)
    .bytes(s.received)
    .u32(s.receivedCount)
    .u32(s.hashedChunks)
    .bytes(encodeSha256State(s.hash))
    .finish();
}

function decodeSession(bytes: Uint8Array): SessionRecord {
  const r = new ByteReader(bytes);
  const version = r.u8();
  if (version !== RECORD_VERSION) throw new Error(`unknown session record version ${version}`);
  const id = r.raw(32);
  const blobId = r.raw(32);
  const owner = r.bytes();
  const name = r.text();
  const contentType = r.text();
  const size = Number(r.u64());
  const chunkSize = r.u32();
  const chunkCount = r.u32();
  const expectedSha256 = r.u8() === 1 ? r.raw(32) : undefined;
  const region = { start: r.u32(), pages: r.u32() };
  const createdAt = r.u64();
  const lastActivity = r.u64();
  const received = r.bytes();
  const receivedCount = r.u32();
  const hashedChunks = r.u32();
  const hash = decodeSha256State(r.bytes());
  return {
    id,
    blobId,
    owner,
    name,
    contentType,
    size,
    chunkSize,
    chunkCount,
    expectedSha256,
    region,
    createdAt,
    lastActivity,
    received,
    receivedCount,
    hashedChunks,
    hash,
  };
}

function encodeLink(w: ByteWriter, link: DerivativeLink): void {
  w.raw(link.blob_id).text(link.kind);
}

function encodeBlob(b: BlobRecord): Uint8Array {
  const w = new ByteWriter()
    .u8(BLOB_RECORD_VERSION)
    .raw(b.id)
    .bytes(b.owner)
    .text(b.name)
    .text(b.contentType)
    .u64(BigInt(b.size))
    .raw(b.sha256)
    .u32(b.region.start)
    .u32(b.region.pages)
    .u64(b.createdAt)
    .u8(b.derivativeOf === undefined ? 0 : 1);
  if (b.derivativeOf !== undefined) encodeLink(w, b.derivativeOf);
  w.u32(b.derivatives.length);
  for (const d of b.derivatives) encodeLink(w, d);
  w.u8(b.public ? 1 : 0).u32(b.links.length);
  for (const t of b.links) w.raw(t);
  return w.finish();
}

function decodeBlob(bytes: Uint8Array): BlobRecord {
  const r = new ByteReader(bytes);
  const version = r.u8();
  if (version !== 1 && version !== BLOB_RECORD_VERSION)
    throw new Error(`unknown blob record version ${version}`);
  const id = r.raw(32);
  const owner = r.bytes();
  const name = r.text();
  const contentType = r.text();
  const size = Number(r.u64());
  const sha = r.raw(32);
  const region = { start: r.u32(), pages: r.u32() };
  const createdAt = r.u64();
  const derivativeOf = r.u8() === 1 ? { blob_id: r.raw(32), kind: r.text() } : undefined;
  const n = r.u32();
  const derivatives: DerivativeLink[] = [];
  for (let i = 0; i < n; i++) derivatives.push({ blob_id: r.raw(32), kind: r.text() });
  let isPublic = false;
  const links: Uint8Array[] = [];
  if (version === BLOB_RECORD_VERSION) {
    isPublic = r.u8() === 1;
    const count = r.u32();
    for (let i = 0; i < count; i++) links.push(r.raw(32));
  }
  return {
    id,
    owner,
    name,
    contentType,
    size,
    sha256: sha,
    region,
    createdAt,
    derivativeOf,
    derivatives,
    public: isPublic,
    links,
  };
}

function encodeLinkRecord(l: LinkRecord): Uint8Array {
  return new ByteWriter()
    .u8(RECORD_VERSION)
    .raw(l.token)
    .raw(l.blobId)
    .bytes(l.owner)
    .u64(l.createdAt)
    .u64(l.expiresAt)
    .finish();
}

function decodeLinkRecord(bytes: Uint8Array): LinkRecord {
  const r = new ByteReader(bytes);
  const version = r.u8();
  if (version !== RECORD_VERSION) throw new Error(`unknown link record version ${version}`);
  return { token: r.raw(32), blobId: r.raw(32), owner: r.bytes(), createdAt: r.u64(), expiresAt: r.u64() };
}

function shareLink(l: LinkRecord): ShareLink {
  const path = linkPath(l.token);
  return { token: path.slice(3), blob_id: l.blobId, path, created_at: l.createdAt, expires_at: l.expiresAt };
}

function encodeCaller(c: CallerRecord): Uint8Array {
  const w = new ByteWriter().u8(RECORD_VERSION).u64(c.counter).u32(c.sessions.length);
  for (const s of c.sessions) w.raw(s);
  return w.finish();
}

function decodeCaller(bytes: Uint8Array | undefined): CallerRecord {
  if (bytes === undefined) return { counter: 0n, sessions: [] };
  const r = new ByteReader(bytes);
  r.u8();
  const counter = r.u64();
  const n = r.u32();
  const sessions: SessionId[] = [];
  for (let i = 0; i < n; i++) sessions.push(r.raw(32));
  return { counter, sessions };
}

function expiryKey(lastActivity: bigint, id: SessionId): Uint8Array {
  return new ByteWriter().u64(lastActivity).raw(id).finish();
}

function hasBit(bits: Uint8Array, i: number): boolean {
  return (bits[i >> 3] & (1 << (i & 7))) !== 0;
}

function err(e: UploadError): { Err: UploadError } {
  return { Err: e };
}

/** Deterministic ids: SHA-256 over a domain tag, the canister, the caller and the caller's counter. */
export function deriveId(
  domain: string,
  canister: Uint8Array,
  caller: Uint8Array,
  counter: bigint,
): Uint8Array {
  return sha256(
    new ByteWriter().text(`icsim-upload/${domain}`).bytes(canister).bytes(caller).u64(counter).finish(),
  );
}

// ---- the service ----------------------------------------------------------

export class UploadService {
  private readonly maps: Maps;
  private readonly canister: Uint8Array;
  private readonly scheduler: Scheduler;
  private readonly space: PageSpace;

  constructor(maps: Maps, canister: Uint8Array, scheduler: Scheduler) {
    this.maps = maps;
    this.canister = canister;
    this.scheduler = scheduler;
    this.space = new PageSpace(maps.pages);
  }

  // -- lifecycle --

  /** Fresh install: writes the layout header and the configuration. */
  install(ttlNs: bigint | undefined): void {
    this.writeVersion(LAYOUT_VERSION);
    this.setTtl(ttlNs);
  }

  /**
   * After an upgrade: migrates the stable layout from whatever version the
   * header says up to LAYOUT_VERSION, applies a new TTL if one is given, and
   * re-arms the timers (timers do not survive an upgrade).
   * Returns the version found before migrating.
   */
  upgrade(ttlNs: bigint | undefined): number {
    const found = this.layoutVersion();
    if (found > LAYOUT_VERSION) {
      throw new Error(
        `stable layout version ${found} is newer than this code (${LAYOUT_VERSION}); refusing to downgrade`,
      );
    }
    for (let v = found; v < LAYOUT_VERSION; v++) {
      MIGRATIONS[v](this.maps);
      this.writeVersion(v + 1);
    }
    if (ttlNs !== undefined) this.setTtl(ttlNs);
    this.rearm();
    return found;
  }

  /** Version in the header; 0 when there is none (a pre-header release). */
  layoutVersion(): number {
    const v = this.maps.meta.get(META_LAYOUT);
    return v === undefined ? 0 : new ByteReader(v).u32();
  }

  ttl(): bigint {
    const v = this.maps.meta.get(META_TTL);
    return v === undefined ? LIMITS.DEFAULT_SESSION_TTL_NS : new ByteReader(v).u64();
  }

  private writeVersion(v: number): void {
    this.maps.meta.insert(META_LAYOUT, new ByteWriter().u32(v).finish());
  }

  private setTtl(ttlNs: bigint | undefined): void {
    let ttl = ttlNs ?? LIMITS.DEFAULT_SESSION_TTL_NS;
    if (ttl < LIMITS.MIN_SESSION_TTL_NS) ttl = LIMITS.MIN_SESSION_TTL_NS;
    this.maps.meta.insert(META_TTL, new ByteWriter().u64(ttl).finish());
  }

  /** Arms the sweep for the earliest deadline and the catch-up if any chunk waits. */
  rearm(): void {
    const first = this.maps.expiry.items(0, 1);
    if (first.length > 0) {
      this.scheduler.sweepAt(new ByteReader(first[0][0]).u64() + this.ttl());
    }
    for (const [, value] of this.maps.sessions.items()) {
      const s = decodeSession(value);
      if (this.waiting(s)) {
        this.scheduler.catchUpSoon();
        break;
      }
    }
  }

  // -- allocator --

  private allocator(): AllocatorState {
    return decodeAllocator(this.maps.meta.get(META_ALLOCATOR));
  }

  private saveAllocator(a: AllocatorState): void {
    this.maps.meta.insert(META_ALLOCATOR, encodeAllocator(a));
  }

  // -- sessions --

  beginUpload(caller: Caller, args: BeginUpload): Result<SessionId> {
    if (bytesEqual(caller.principal, ANONYMOUS)) return err({ AnonymousCaller: null });
    const nameBytes = encoder.encode(args.name).length;
    if (nameBytes === 0 || nameBytes > LIMITS.MAX_NAME_BYTES) {
      return err({
        InvalidName: { reason: `name must be 1..${LIMITS.MAX_NAME_BYTES} UTF-8 bytes, got ${nameBytes}` },
      });
    }
    const typeBytes = encoder.encode(args.content_type).length;
    if (typeBytes > LIMITS.MAX_CONTENT_TYPE_BYTES) {
      return err({
        InvalidContentType: {
          reason: `content type must be at most ${LIMITS.MAX_CONTENT_TYPE_BYTES} UTF-8 bytes, got ${typeBytes}`,
        },
      });
    }
    if (args.chunk_size < 1 || args.chunk_size > LIMITS.MAX_CHUNK_SIZE) {
      return err({ InvalidChunkSize: { chunk_size: args.chunk_size, min: 1, max: LIMITS.MAX_CHUNK_SIZE } });
    }
    if (args.size > LIMITS.MAX_FILE_SIZE) {
      return err({ FileTooLarge: { size: args.size, max: LIMITS.MAX_FILE_SIZE } });
    }
    const size = Number(args.size);
    const chunkCount = Math.ceil(size / args.chunk_size);
    if (chunkCount > LIMITS.MAX_CHUNKS_PER_SESSION) {
      return err({ TooManyChunks: { chunk_count: BigInt(chunkCount), max: LIMITS.MAX_CHUNKS_PER_SESSION } });
    }
    const expected = args.expected_sha256.length === 1 ? args.expected_sha256[0] : undefined;
    if (expected !== undefined && expected.length !== 32) {
      return err({ InvalidSha256Length: { length: expected.length } });
    }
    const callerRecord = decodeCaller(this.maps.callers.get(caller.principal));
    if (callerRecord.sessions.length >= LIMITS.MAX_SESSIONS_PER_CALLER) {
      return err({
        TooManySessions: { open: callerRecord.sessions.length, max: LIMITS.MAX_SESSIONS_PER_CALLER },
      });
    }
    const blobCount = this.ownerBlobIds(caller.principal).length + callerRecord.sessions.length;
    if (blobCount >= LIMITS.MAX_BLOBS_PER_CALLER) {
      return err({ TooManyBlobs: { count: blobCount, max: LIMITS.MAX_BLOBS_PER_CALLER } });
    }

    // The counter makes ids unique per caller; skipping ids already in use
    // only matters after a migration had to rebuild a lost counter.
    let counter = callerRecord.counter;
    let id = deriveId('session', this.canister, caller.principal, counter);
    let blobId = deriveId('blob', this.canister, caller.principal, counter);
    while (this.maps.sessions.containsKey(id) || this.maps.blobs.containsKey(blobId)) {
      counter++;
      id = deriveId('session', this.canister, caller.principal, counter);
      blobId = deriveId('blob', this.canister, caller.principal, counter);
    }
    const alloc = this.allocator();
    const region = allocate(alloc, pagesFor(size));
    this.saveAllocator(alloc);

    const session: SessionRecord = {
      id,
      blobId,
      owner: caller.principal,
      name: args.name,
      contentType: args.content_type,
      size,
      chunkSize: args.chunk_size,
      chunkCount,
      expectedSha256: expected,
      region,
      createdAt: caller.now,
      lastActivity: caller.now,
      received: new Uint8Array(Math.ceil(chunkCount / 8)),
      receivedCount: 0,
      hashedChunks: 0,
      hash: sha256Init(),
    };
    this.maps.sessions.insert(id, encodeSession(session));
    this.maps.expiry.insert(expiryKey(caller.now, id), new Uint8Array(0));
    callerRecord.counter = counter + 1n;
    callerRecord.sessions.push(id);
    this.maps.callers.insert(caller.principal, encodeCaller(callerRecord));
    this.scheduler.sweepAt(caller.now + this.ttl());
    return { Ok: id };
  }

  /** Loads a session the caller owns, or the error to answer with. */
  private owned(caller: Caller, id: SessionId): SessionRecord | UploadError {
    const bytes = this.maps.sessions.get(id);
    if (bytes === undefined) return { SessionNotFound: null };
    const s = decodeSession(bytes);
    if (!bytesEqual(s.owner, caller.principal)) return { NotOwner: null };
    return s;
  }

  private chunkLength(s: SessionRecord, index: number): number {
    return index === s.chunkCount - 1 ? s.size - index * s.chunkSize : s.chunkSize;
  }

  private touch(s: SessionRecord, now: bigint): void {
    if (now === s.lastActivity) return;
    this.maps.expiry.remove(expiryKey(s.lastActivity, s.id));
    s.lastActivity = now;
    this.maps.expiry.insert(expiryKey(now, s.id), new Uint8Array(0));
  }

  putChunk(caller: Caller, id: SessionId, index: number, bytes: Uint8Array): Result<PutChunkOk> {
    const s = this.owned(caller, id);
    if (!('id' in s)) return err(s);
    if (index >= s.chunkCount) {
      return err({ ChunkIndexOutOfRange: { index, chunk_count: s.chunkCount } });
    }
    const expected = this.chunkLength(s, index);
    if (bytes.length !== expected) {
      return err({ ChunkSizeMismatch: { index, expected, actual: bytes.length } });
    }
    if (hasBit(s.received, index)) {
      const stored = this.space.read(s.region, index * s.chunkSize, expected);
      if (!bytesEqual(stored, bytes)) return err({ ChunkConflict: { index } });
    } else {
      this.space.write(s.region, index * s.chunkSize, bytes);
      s.received[index >> 3] |= 1 << (index & 7);
      s.receivedCount++;
      if (index === s.hashedChunks) {
        sha256Update(s.hash, bytes);
        s.hashedChunks++;
        this.catchUpSession(s, LIMITS.HASH_BYTES_PER_MESSAGE - bytes.length);
        if (this.waiting(s)) this.scheduler.catchUpSoon();
      }
    }
    this.touch(s, caller.now);
    this.maps.sessions.insert(s.id, encodeSession(s));
    this.scheduler.sweepAt(s.lastActivity + this.ttl());
    return {
      Ok: {
        received_chunks: s.receivedCount,
        chunk_count: s.chunkCount,
        hashed_bytes: BigInt(s.hash.length),
      },
    };
  }

  /** True when the next chunk to hash has arrived (it waits in the page space). */
  private waiting(s: SessionRecord): boolean {
    return s.hashedChunks < s.chunkCount && hasBit(s.received, s.hashedChunks);
  }

  /** Hashes whole chunks that arrived early, reading them back, while they fit in `budget` bytes. Returns bytes hashed. */
  private catchUpSession(s: SessionRecord, budget: number): number {
    let spent = 0;
    while (this.waiting(s)) {
      const length = this.chunkLength(s, s.hashedChunks);
      if (spent + length > budget) break;
      sha256Update(s.hash, this.space.read(s.region, s.hashedChunks * s.chunkSize, length));
      s.hashedChunks++;
      spent += length;
    }
    return spent;
  }

  /**
   * Timer work: continue hashing waiting chunks of every session, within a
   * per-run budget. Returns true if work remains (the host runs it again).
   */
  catchUp(): boolean {
    let budget = LIMITS.HASH_BYTES_PER_MESSAGE;
    for (const [key, value] of this.maps.sessions.items()) {
      const s = decodeSession(value);
      if (!this.waiting(s)) continue;
      const spent = this.catchUpSession(s, budget);
      if (spent === 0) return true; // the next chunk does not fit in what is left: next run
      budget -= spent;
      this.maps.sessions.insert(key, encodeSession(s));
      if (this.waiting(s)) return true;
    }
    return false;
  }

  finishUpload(caller: Caller, id: SessionId, digest: Uint8Array): Result<BlobId> {
    const s = this.owned(caller, id);
    if (!('id' in s)) return err(s);
    if (digest.length !== 32) return err({ InvalidSha256Length: { length: digest.length } });
    if (s.receivedCount < s.chunkCount) {
      const first: number[] = [];
      for (let i = 0; i < s.chunkCount && first.length < 16; i++) if (!hasBit(s.received, i)) first.push(i);
      return err({ MissingChunks: { missing_count: s.chunkCount - s.receivedCount, first_missing: first } });
    }
    if (s.hashedChunks < s.chunkCount) {
      this.scheduler.catchUpSoon();
      return err({ HashInProgress: { hashed_bytes: BigInt(s.hash.length), size: BigInt(s.size) } });
    }
    if (s.hash.length !== s.size) {
      return err({ SizeMismatch: { expected: BigInt(s.size), received: BigInt(s.hash.length) } });
    }
    // The rolling state already holds every byte: finishing pads the tail only.
    const actual = sha256Digest(s.hash);
    if (s.expectedSha256 !== undefined && !bytesEqual(s.expectedSha256, actual)) {
      return err({ HashMismatch: { expected: s.expectedSha256, actual } });
    }
    if (!bytesEqual(digest, actual)) return err({ HashMismatch: { expected: digest, actual } });

    const blob: BlobRecord = {
      id: s.blobId,
      owner: s.owner,
      name: s.name,
      contentType: s.contentType,
      size: s.size,
      sha256: actual,
      region: s.region,
      createdAt: caller.now,
      derivativeOf: undefined,
      derivatives: [],
      public: false,
      links: [],
    };
    this.maps.blobs.insert(blob.id, encodeBlob(blob));
    this.maps.ownerBlobs.insert(
      s.owner,
      concatBytes(this.maps.ownerBlobs.get(s.owner) ?? new Uint8Array(0), blob.id),
    );
    this.dropSession(s);
    return { Ok: blob.id };
  }

  abortUpload(caller: Caller, id: SessionId): Result<null> {
    const s = this.owned(caller, id);
    if (!('id' in s)) return err(s);
    this.freeSession(s);
    return { Ok: null };
  }

  /** Removes a session's records; its region lives on (as a blob) or is freed by the caller. */
  private dropSession(s: SessionRecord): void {
    this.maps.sessions.remove(s.id);
    this.maps.expiry.remove(expiryKey(s.lastActivity, s.id));
    const c = decodeCaller(this.maps.callers.get(s.owner));
    c.sessions = c.sessions.filter((x) => !bytesEqual(x, s.id));
    this.maps.callers.insert(s.owner, encodeCaller(c));
  }

  private freeSession(s: SessionRecord): void {
    const alloc = this.allocator();
    release(alloc, s.region);
    this.saveAllocator(alloc);
    this.dropSession(s);
  }

  /**
   * Timer work: expires sessions idle for longer than the TTL, oldest first,
   * at most SWEEP_BATCH per run, and asks for the next run. Committed blobs
   * are in another map and are never looked at. Returns the number expired.
   */
  sweep(now: bigint): number {
    const ttl = this.ttl();
    let expired = 0;
    for (;;) {
      const first = this.maps.expiry.items(0, 1);
      if (first.length === 0) return expired;
      const lastActivity = new ByteReader(first[0][0]).u64();
      if (lastActivity + ttl > now) {
        this.scheduler.sweepAt(lastActivity + ttl);
        return expired;
      }
      if (expired >= LIMITS.SWEEP_BATCH) {
        this.scheduler.sweepAt(now);
        return expired;
      }
      const id = first[0][0].slice(8);
      const bytes = this.maps.sessions.get(id);
      if (bytes === undefined) {
        this.maps.expiry.remove(first[0][0]); // stale index entry
        continue;
      }
      this.freeSession(decodeSession(bytes));
      expired++;
    }
  }

  listSessions(caller: Caller): SessionInfo[] {
    const c = decodeCaller(this.maps.callers.get(caller.principal));
    const ttl = this.ttl();
    const out: SessionInfo[] = [];
    for (const id of c.sessions) {
      const bytes = this.maps.sessions.get(id);
      if (bytes === undefined) continue;
      const s = decodeSession(bytes);
      const received: number[] = [];
      for (let i = 0; i < s.chunkCount; i++) if (hasBit(s.received, i)) received.push(i);
      out.push({
        session: s.id,
        name: s.name,
        content_type: s.contentType,
        size: BigInt(s.size),
        chunk_size: s.chunkSize,
        chunk_count: s.chunkCount,
        expected_sha256: s.expectedSha256 === undefined ? [] : [s.expectedSha256],
        received,
        hashed_bytes: BigInt(s.hash.length),
        created_at: s.createdAt,
        last_activity: s.lastActivity,
        expires_at: s.lastActivity + ttl,
      });
    }
    return out;
  }

  // -- blobs --

  private ownerBlobIds(owner: Uint8Array): BlobId[] {
    const all = this.maps.ownerBlobs.get(owner);
    const ids: BlobId[] = [];
    if (all === undefined) return ids;
    for (let i = 0; i < all.length; i += 32) ids.push(all.slice(i, i + 32));
    return ids;
  }

  private ownedBlob(caller: Caller, id: BlobId): BlobRecord | UploadError {
    const bytes = this.maps.blobs.get(id);
    if (bytes === undefined) return { BlobNotFound: null };
    const b = decodeBlob(bytes);
    if (!bytesEqual(b.owner, caller.principal)) return { NotOwner: null };
    return b;
  }

  private metadata(b: BlobRecord): BlobMetadata {
    return {
      blob_id: b.id,
      owner: b.owner,
      name: b.name,
      content_type: b.contentType,
      size: BigInt(b.size),
      sha256: b.sha256,
      created_at: b.createdAt,
      derivative_of: b.derivativeOf === undefined ? [] : [b.derivativeOf],
      derivatives: b.derivatives,
    };
  }

  readBlob(caller: Caller, id: BlobId, offset: bigint, length: bigint): Result<Uint8Array> {
    const b = this.ownedBlob(caller, id);
    if (!('id' in b)) return err(b);
    if (length > LIMITS.MAX_READ_LENGTH)
      return err({ ReadTooLarge: { length, max: LIMITS.MAX_READ_LENGTH } });
    if (offset + length > BigInt(b.size)) {
      return err({ RangeOutOfBounds: { offset, length, size: BigInt(b.size) } });
    }
    return { Ok: this.space.read(b.region, Number(offset), Number(length)) };
  }

  blobMetadata(caller: Caller, id: BlobId): Result<BlobMetadata> {
    const b = this.ownedBlob(caller, id);
    if (!('id' in b)) return err(b);
    return { Ok: this.metadata(b) };
  }

  listBlobs(caller: Caller): BlobMetadata[] {
    const out: BlobMetadata[] = [];
    for (const id of this.ownerBlobIds(caller.principal)) {
      const bytes = this.maps.blobs.get(id);
      if (bytes !== undefined) out.push(this.metadata(decodeBlob(bytes)));
    }
    return out;
  }

  linkDerivative(caller: Caller, originalId: BlobId, derivativeId: BlobId, kind: string): Result<null> {
    const original = this.ownedBlob(caller, originalId);
    if (!('id' in original)) return err(original);
    const derivative = this.ownedBlob(caller, derivativeId);
    if (!('id' in derivative)) return err(derivative);
    const kindBytes = encoder.encode(kind).length;
    if (kindBytes === 0 || kindBytes > LIMITS.MAX_KIND_BYTES) {
      return err({
        InvalidKind: { reason: `kind must be 1..${LIMITS.MAX_KIND_BYTES} UTF-8 bytes, got ${kindBytes}` },
      });
    }
    if (bytesEqual(originalId, derivativeId)) {
      return err({ InvalidLink: { reason: 'a blob cannot be a derivative of itself' } });
    }
    if (derivative.derivativeOf !== undefined) {
      const d = derivative.derivativeOf;
      if (bytesEqual(d.blob_id, originalId) && d.kind === kind) return { Ok: null };
      return err({ AlreadyLinked: { original: d.blob_id, kind: d.kind } });
    }
    if (original.derivativeOf !== undefined) {
      return err({
        InvalidLink: { reason: 'the original is itself a derivative; link to its original instead' },
      });
    }
    if (derivative.derivatives.length > 0) {
      return err({ InvalidLink: { reason: 'the derivative has derivatives of its own' } });
    }
    if (original.derivatives.length >= LIMITS.MAX_DERIVATIVES_PER_BLOB) {
      return err({ TooManyDerivatives: { max: LIMITS.MAX_DERIVATIVES_PER_BLOB } });
    }
    original.derivatives.push({ blob_id: derivativeId, kind });
    derivative.derivativeOf = { blob_id: originalId, kind };
    this.maps.blobs.insert(original.id, encodeBlob(original));
    this.maps.blobs.insert(derivative.id, encodeBlob(derivative));
    return { Ok: null };
  }

  // -- serving --

  /** Makes the blob (and, through `?kind=`, its derivatives) readable by anyone at `/b/<id>`. */
  publishBlob(caller: Caller, id: BlobId, published: boolean): Result<null> {
    const b = this.ownedBlob(caller, id);
    if (!('id' in b)) return err(b);
    if (b.public !== published) {
      b.public = published;
      this.maps.blobs.insert(b.id, encodeBlob(b));
    }
    return { Ok: null };
  }

  private liveLinks(b: BlobRecord, now: bigint): LinkRecord[] {
    const out: LinkRecord[] = [];
    for (const t of b.links) {
      const bytes = this.maps.links.get(t);
      if (bytes === undefined) continue;
      const l = decodeLinkRecord(bytes);
      if (l.expiresAt > now) out.push(l);
    }
    return out;
  }

  /**
   * Everything `createShareLink` checks before it needs randomness, so that a
   * refused call does not spend a `raw_rand` round trip.
   */
  checkShareLink(caller: Caller, id: BlobId, ttlNs: bigint): Result<null> {
    const b = this.ownedBlob(caller, id);
    if (!('id' in b)) return err(b);
    if (ttlNs < LIMITS.MIN_SHARE_LINK_TTL_NS || ttlNs > LIMITS.MAX_SHARE_LINK_TTL_NS) {
      return err({
        InvalidShareLinkTtl: {
          ttl_ns: ttlNs,
          min: LIMITS.MIN_SHARE_LINK_TTL_NS,
          max: LIMITS.MAX_SHARE_LINK_TTL_NS,
        },
      });
    }
    if (this.liveLinks(b, caller.now).length >= LIMITS.MAX_SHARE_LINKS_PER_BLOB) {
      return err({ TooManyShareLinks: { max: LIMITS.MAX_SHARE_LINKS_PER_BLOB } });
    }
    return { Ok: null };
  }

  /**
   * Stores a share link whose token is `random` (32 bytes of `raw_rand`,
   * drawn by the canister between the check and this call, so it is checked
   * again). Expired links of the blob are dropped here.
   */
  createShareLink(caller: Caller, id: BlobId, ttlNs: bigint, random: Uint8Array): Result<ShareLink> {
    const ok = this.checkShareLink(caller, id, ttlNs);
    if ('Err' in ok) return ok;
    if (random.length !== 32 || this.maps.links.containsKey(random)) {
      return err({
        RandomnessUnavailable: { reason: `raw_rand gave ${random.length} bytes already in use or not 32` },
      });
    }
    const b = decodeBlob(this.maps.blobs.get(id)!);
    const live = this.liveLinks(b, caller.now);
    for (const t of b.links) {
      if (!live.some((l) => bytesEqual(l.token, t))) this.maps.links.remove(t);
    }
    const link: LinkRecord = {
      token: random,
      blobId: b.id,
      owner: b.owner,
      createdAt: caller.now,
      expiresAt: caller.now + ttlNs,
    };
    this.maps.links.insert(link.token, encodeLinkRecord(link));
    b.links = [...live.map((l) => l.token), link.token];
    this.maps.blobs.insert(b.id, encodeBlob(b));
    return { Ok: shareLink(link) };
  }

  /** Revokes a link by its token (hex, as in its path); only the blob's owner may. */
  revokeShareLink(caller: Caller, tokenHex: string): Result<null> {
    const t = fromHex(tokenHex);
    const bytes = t === undefined ? undefined : this.maps.links.get(t);
    if (t === undefined || bytes === undefined) return err({ ShareLinkNotFound: null });
    const l = decodeLinkRecord(bytes);
    if (!bytesEqual(l.owner, caller.principal)) return err({ NotOwner: null });
    this.maps.links.remove(t);
    const blobBytes = this.maps.blobs.get(l.blobId);
    if (blobBytes !== undefined) {
      const b = decodeBlob(blobBytes);
      b.links = b.links.filter((x) => !bytesEqual(x, t));
      this.maps.blobs.insert(b.id, encodeBlob(b));
    }
    return { Ok: null };
  }

  /** Whether the blob is public, and its links that have not expired. */
  blobSharing(caller: Caller, id: BlobId): Result<BlobSharing> {
    const b = this.ownedBlob(caller, id);
    if (!('id' in b)) return err(b);
    return { Ok: { public: b.public, share_links: this.liveLinks(b, caller.now).map(shareLink) } };
  }

  /**
   * What a route shows at `now`: a public blob, or the blob of a link that
   * has not expired; `derivative` picks the original's derivative of that
   * kind under the original's visibility. Undefined for everything else.
   */
  resolve(route: Route, now: bigint): ServedBlob | undefined {
    let b: BlobRecord | undefined;
    if (route.kind === 'blob') {
      const bytes = this.maps.blobs.get(route.id);
      b = bytes === undefined ? undefined : decodeBlob(bytes);
      if (b === undefined || !b.public) return undefined;
    } else {
      const bytes = this.maps.links.get(route.token);
      const link = bytes === undefined ? undefined : decodeLinkRecord(bytes);
      if (link === undefined || link.expiresAt <= now) return undefined;
      const blobBytes = this.maps.blobs.get(link.blobId);
      b = blobBytes === undefined ? undefined : decodeBlob(blobBytes);
      if (b === undefined) return undefined;
    }
    if (route.derivative !== undefined) {
      const d = b.derivatives.find((x) => x.kind === route.derivative);
      const bytes = d === undefined ? undefined : this.maps.blobs.get(d.blob_id);
      if (bytes === undefined) return undefined;
      b = decodeBlob(bytes);
    }
    const region = b.region;
    return {
      contentType: b.contentType,
      size: b.size,
      sha256: b.sha256,
      read: (offset, length) => this.space.read(region, offset, length),
    };
  }

  stats(): StorageStats {
    const a = this.allocator();
    return {
      layout_version: this.layoutVersion(),
      page_size: PAGE_SIZE,
      page_high_water: a.nextPage,
      pages_free: freePages(a),
      pages_stored: this.space.storedPages(),
      sessions: BigInt(this.maps.sessions.len()),
      blobs: BigInt(this.maps.blobs.len()),
      session_ttl_ns: this.ttl(),
    };
  }
}

/**
 * MIGRATIONS[v] turns layout v into v + 1; postUpgrade runs every step from
 * the header's version up to LAYOUT_VERSION, writing the header after each.
 *
 * v0 -> v1: v0 is "no header" (an install whose header was never written,
 * e.g. a build older than the header). Its maps already have the v1 shape;
 * the step rebuilds the derived indexes (expiry index, per-owner blob lists,
 * caller session lists) from the primary records, so a v1 canister never
 * trusts an index it did not write itself.
 */
const MIGRATIONS: ((maps: Maps) => void)[] = [
  (maps) => {
    for (const [key] of maps.expiry.items()) maps.expiry.remove(key);
    for (const [key] of maps.ownerBlobs.items()) maps.ownerBlobs.remove(key);
    const callers = new Map<string, { owner: Uint8Array; sessions: SessionId[] }>();
    const hexOf = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    for (const [, value] of maps.sessions.items()) {
      const s = decodeSession(value);
      maps.expiry.insert(expiryKey(s.lastActivity, s.id), new Uint8Array(0));
      const entry = callers.get(hexOf(s.owner)) ?? { owner: s.owner, sessions: [] };
      entry.sessions.push(s.id);
      callers.set(hexOf(s.owner), entry);
    }
    for (const [key, value] of maps.callers.items()) {
      const c = decodeCaller(value);
      c.sessions = callers.get(hexOf(key))?.sessions ?? [];
      callers.delete(hexOf(key));
      maps.callers.insert(key, encodeCaller(c));
    }
    for (const { owner, sessions } of callers.values()) {
      maps.callers.insert(owner, encodeCaller({ counter: BigInt(sessions.length), sessions }));
    }
    for (const [, value] of maps.blobs.items()) {
      const b = decodeBlob(value);
      maps.ownerBlobs.insert(b.owner, concatBytes(maps.ownerBlobs.get(b.owner) ?? new Uint8Array(0), b.id));
    }
  },
  // v1 -> v2: blob records gain `public` (false: nothing becomes visible by
  // an upgrade) and `links`; memory 7 (share links) starts empty.
  (maps) => {
    for (const [key, value] of maps.blobs.items()) maps.blobs.insert(key, encodeBlob(decodeBlob(value)));
  },
];
