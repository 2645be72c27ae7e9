/**
 * The upload-session canister (Azle 0.33, stable mode).
 *
 * This file only translates between Candid and the service core
 * (service.ts): it opens the stable maps, reads the caller and the time,
 * converts principals, and turns the core's timer requests into Azle timers.
 * The interface is canister/upload.did; behaviour is documented in
 * canister/README.md.
 */
import {
  canisterSelf,
  clearTimer,
  IDL,
  init,
  msgCaller,
  postUpgrade,
  Principal,
  query,
  type Serializable,
  setTimer,
  StableBTreeMap,
  time,
  update,
} from 'azle';

import { uploadTypes } from './idl.ts';
import { type Caller, type Maps, type Scheduler, UploadService } from './service.ts';
import type { KvMap } from './store.ts';
import type {
  BeginUpload,
  BlobId,
  BlobMetadata,
  InitArgs,
  PutChunkOk,
  Result,
  SessionId,
  SessionInfo,
  StorageStats,
} from './types.ts';

// The shared IDL module is typed against @icp-sdk/core's IDL; Azle's is the
// same library (@dfinity/candid) under another package name.
const T = uploadTypes(IDL as unknown as Parameters<typeof uploadTypes>[0]) as unknown as Record<
  keyof ReturnType<typeof uploadTypes>,
  IDL.Type
>;

/** Keys and values are stored as the raw bytes the core gives. */
const raw: Serializable = {
  toBytes: (data: Uint8Array): Uint8Array => data,
  fromBytes: (bytes: Uint8Array): Uint8Array => bytes,
};

/** Memory ids of the stable layout (see service.ts); never reuse or renumber. */
const MEMORY = { meta: 0, sessions: 1, blobs: 2, callers: 3, ownerBlobs: 4, expiry: 5, pages: 6 } as const;

function stableMap(memoryId: number): KvMap {
  const map = new StableBTreeMap<Uint8Array, Uint8Array>(memoryId, raw, raw);
  return {
    get: (key) => map.get(key),
    insert: (key, value) => {
      map.insert(key, value);
    },
    remove: (key) => {
      map.remove(key);
    },
    containsKey: (key) => map.containsKey(key),
    len: () => Number(map.len()),
    items: (start, count) => map.items(start, count),
  };
}

function openMaps(): Maps {
  return {
    meta: stableMap(MEMORY.meta),
    sessions: stableMap(MEMORY.sessions),
    blobs: stableMap(MEMORY.blobs),
    callers: stableMap(MEMORY.callers),
    ownerBlobs: stableMap(MEMORY.ownerBlobs),
    expiry: stableMap(MEMORY.expiry),
    pages: stableMap(MEMORY.pages),
  };
}

function ttlOf(args: InitArgs): bigint | undefined {
  return args.length === 1 && args[0].session_ttl_ns.length === 1 ? args[0].session_ttl_ns[0] : undefined;
}

function withPrincipal(m: BlobMetadata): BlobMetadata<Principal> {
  return { ...m, owner: Principal.fromUint8Array(m.owner) };
}

/**
 * Azle timers (heap state, lost on upgrade; postUpgrade re-arms them).
 * One sweep timer armed for the earliest deadline, one catch-up timer.
 */
class Timers implements Scheduler {
  private sweep: { id: bigint; at: bigint } | undefined;
  private catchUpArmed = false;
  private readonly service: () => UploadService;

  constructor(service: () => UploadService) {
    this.service = service;
  }

  sweepAt(atNs: bigint): void {
    if (this.sweep !== undefined && this.sweep.at <= atNs) return;
    if (this.sweep !== undefined) clearTimer(this.sweep.id);
    const now = time();
    // Timers have one-second resolution: round up so the sweep never runs early.
    const delay = atNs > now ? Number((atNs - now + 999_999_999n) / 1_000_000_000n) : 0;
    const id = setTimer(delay, () => {
      this.sweep = undefined;
      this.service().sweep(time());
    });
    this.sweep = { id, at: atNs };
  }

  catchUpSoon(): void {
    if (this.catchUpArmed) return;
    this.catchUpArmed = true;
    setTimer(0, () => {
      this.catchUpArmed = false;
      if (this.service().catchUp()) this.catchUpSoon();
    });
  }
}

export default class {
  maps = openMaps();
  service: UploadService | undefined = undefined;
  timers = new Timers(() => this.svc());

  svc(): UploadService {
    if (this.service === undefined) {
      this.service = new UploadService(this.maps, canisterSelf().toUint8Array(), this.timers);
    }
    return this.service;
  }

  caller(): Caller {
    return { principal: msgCaller().toUint8Array(), now: time() };
  }

  @init([T.InitArgs])
  init(args: InitArgs): void {
    this.svc().install(ttlOf(args));
  }

  @postUpgrade([T.InitArgs])
  postUpgrade(args: InitArgs): void {
    this.svc().upgrade(ttlOf(args));
  }

  @update([T.BeginUpload], T.BeginResult)
  begin_upload(args: BeginUpload): Result<SessionId> {
    return this.svc().beginUpload(this.caller(), args);
  }

  @update([T.SessionId, IDL.Nat32, IDL.Vec(IDL.Nat8)], T.PutChunkResult)
  put_chunk(session: SessionId, index: number, bytes: Uint8Array): Result<PutChunkOk> {
    return this.svc().putChunk(this.caller(), session, index, bytes);
  }

  @update([T.SessionId, IDL.Vec(IDL.Nat8)], T.FinishResult)
  finish_upload(session: SessionId, sha256: Uint8Array): Result<BlobId> {
    return this.svc().finishUpload(this.caller(), session, sha256);
  }

  @update([T.SessionId], T.UnitResult)
  abort_upload(session: SessionId): Result<null> {
    return this.svc().abortUpload(this.caller(), session);
  }

  @query([T.BlobId, IDL.Nat64, IDL.Nat64], T.ReadResult)
  read_blob(blobId: BlobId, offset: bigint, length: bigint): Result<Uint8Array> {
    return this.svc().readBlob(this.caller(), blobId, offset, length);
  }

  @query([T.BlobId], T.MetadataResult)
  blob_metadata(blobId: BlobId): Result<BlobMetadata<Principal>> {
    const r = this.svc().blobMetadata(this.caller(), blobId);
    return 'Ok' in r ? { Ok: withPrincipal(r.Ok) } : r;
  }

  @query([], IDL.Vec(T.SessionInfo))
  list_sessions(): SessionInfo[] {
    return this.svc().listSessions(this.caller());
  }

  @query([], IDL.Vec(T.BlobMetadata))
  list_blobs(): BlobMetadata<Principal>[] {
    return this.svc().listBlobs(this.caller()).map(withPrincipal);
  }

  @update([T.BlobId, T.BlobId, IDL.Text], T.UnitResult)
  link_derivative(original: BlobId, derivative: BlobId, kind: string): Result<null> {
    return this.svc().linkDerivative(this.caller(), original, derivative, kind);
  }

  @query([], T.StorageStats)
  storage_stats(): StorageStats {
    return this.svc().stats();
  }
}
