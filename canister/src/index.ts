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
  call,
  canisterSelf,
  certifiedDataSet,
  clearTimer,
  dataCertificate,
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
  trap,
  update,
} from 'azle';

import { certificationHeaders, certifiedDataRoot } from './certification.ts';
import { serve, streamingCallback } from './http.ts';
import { uploadTypes } from './idl.ts';
import { type Caller, type Maps, type Scheduler, UploadService } from './service.ts';
import type { KvMap } from './store.ts';
import type {
  BeginUpload,
  BlobId,
  BlobMetadata,
  BlobSharing,
  HttpRequest,
  HttpResponse,
  InitArgs,
  PutChunkOk,
  Result,
  SessionId,
  SessionInfo,
  ShareLink,
  StorageStats,
  StreamingCallbackHttpResponse,
  StreamingCallbackToken,
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
const MEMORY = {
  meta: 0,
  sessions: 1,
  blobs: 2,
  callers: 3,
  ownerBlobs: 4,
  expiry: 5,
  pages: 6,
  links: 7,
} as const;

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
    links: stableMap(MEMORY.links),
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
    certifiedDataSet(certifiedDataRoot());
  }

  @postUpgrade([T.InitArgs])
  postUpgrade(args: InitArgs): void {
    this.svc().upgrade(ttlOf(args));
    certifiedDataSet(certifiedDataRoot());
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

  @update([T.BlobId], T.UnitResult)
  publish_blob(blobId: BlobId): Result<null> {
    return this.svc().publishBlob(this.caller(), blobId, true);
  }

  @update([T.BlobId], T.UnitResult)
  unpublish_blob(blobId: BlobId): Result<null> {
    return this.svc().publishBlob(this.caller(), blobId, false);
  }

  /** The token is 32 bytes of the management canister's `raw_rand`: unguessable, unlike anything derived from state. */
  @update([T.BlobId, IDL.Nat64], T.ShareLinkResult)
  async create_share_link(blobId: BlobId, ttlNs: bigint): Promise<Result<ShareLink>> {
    const principal = msgCaller().toUint8Array(); // the caller is not readable after an await
    const checked = this.svc().checkShareLink({ principal, now: time() }, blobId, ttlNs);
    if ('Err' in checked) return checked;
    let random: Uint8Array;
    try {
      random = await call<undefined, Uint8Array>('aaaaa-aa', 'raw_rand', {
        returnIdlType: IDL.Vec(IDL.Nat8),
      });
    } catch (e) {
      return { Err: { RandomnessUnavailable: { reason: `raw_rand failed: ${JSON.stringify(e)}` } } };
    }
    return this.svc().createShareLink({ principal, now: time() }, blobId, ttlNs, random);
  }

  @update([IDL.Text], T.UnitResult)
  revoke_share_link(token: string): Result<null> {
    return this.svc().revokeShareLink(this.caller(), token);
  }

  @query([T.BlobId], T.SharingResult)
  blob_sharing(blobId: BlobId): Result<BlobSharing> {
    return this.svc().blobSharing(this.caller(), blobId);
  }

  @query([T.HttpRequest], T.HttpResponse)
  http_request(req: HttpRequest): HttpResponse<[Principal, string]> {
    const now = time();
    const { response, token } = serve(req, (route) => this.svc().resolve(route, now));
    return {
      ...response,
      headers: [...response.headers, ...certificationHeaders(dataCertificate())],
      streaming_strategy:
        token === undefined
          ? []
          : [{ Callback: { callback: [canisterSelf(), 'http_request_streaming_callback'], token } }],
    };
  }

  /** Rejects (traps) when the stream cannot go on, so a gateway reports an error instead of a short body. */
  @query([T.StreamingCallbackToken], T.StreamingCallbackHttpResponse)
  http_request_streaming_callback(token: StreamingCallbackToken): StreamingCallbackHttpResponse {
    const now = time();
    const next = streamingCallback(token, (route) => this.svc().resolve(route, now));
    if ('error' in next) trap(next.error);
    return next;
  }
}
