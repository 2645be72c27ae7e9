/**
 * Typed client of the upload canister over any actor that speaks its Candid
 * interface: a PicJS actor (`pic.createActor<UploadActor>(idlFactory, id)`)
 * or an @icp-sdk/core agent actor (`Actor.createActor<UploadActor>(idlFactory,
 * { agent, canisterId })`). Canister errors (`Err : UploadError`) become
 * `UploadCanisterError`s; transport errors pass through unchanged, which is
 * how the uploader tells what is worth retrying.
 */
import type { Principal } from '@icp-sdk/core/principal';

import type {
  BeginUpload,
  BlobId,
  BlobMetadata,
  PutChunkOk,
  Result,
  SessionId,
  SessionInfo,
  StorageStats,
  UploadError,
} from '../src/types.ts';
import { LIMITS } from '../src/limits.ts';

export { idlFactory, initArgTypes } from '../src/idl.ts';
export type {
  BeginUpload,
  BlobId,
  BlobMetadata,
  DerivativeLink,
  PutChunkOk,
  Result,
  SessionId,
  SessionInfo,
  StorageStats,
  UploadError,
} from '../src/types.ts';

/**
 * The canister's service as an actor exposes it (see canister/upload.did).
 * PicJS 0.23 and @icp-sdk/core 5 both decode `blob` (vec nat8) to Uint8Array.
 */
export interface UploadActor {
  begin_upload(args: BeginUpload): Promise<Result<SessionId>>;
  put_chunk(session: SessionId, index: number, bytes: Uint8Array): Promise<Result<PutChunkOk>>;
  finish_upload(session: SessionId, sha256: Uint8Array): Promise<Result<BlobId>>;
  abort_upload(session: SessionId): Promise<Result<null>>;
  read_blob(blobId: BlobId, offset: bigint, length: bigint): Promise<Result<Uint8Array>>;
  blob_metadata(blobId: BlobId): Promise<Result<BlobMetadata<Principal>>>;
  list_sessions(): Promise<SessionInfo[]>;
  list_blobs(): Promise<BlobMetadata<Principal>[]>;
  link_derivative(original: BlobId, derivative: BlobId, kind: string): Promise<Result<null>>;
  storage_stats(): Promise<StorageStats>;
}

/** The name of an UploadError variant, e.g. `'ChunkConflict'`. */
export type UploadErrorKind = UploadError extends infer E ? (E extends unknown ? keyof E : never) : never;

/** A canister answer `Err : UploadError`. */
export class UploadCanisterError extends Error {
  readonly error: UploadError;
  readonly kind: UploadErrorKind;
  readonly method: string;

  constructor(method: string, error: UploadError) {
    if ('MissingChunks' in error) {
      error = {
        MissingChunks: {
          ...error.MissingChunks,
          first_missing: Array.from(error.MissingChunks.first_missing),
        },
      };
    }
    const kind = Object.keys(error)[0] as UploadErrorKind;
    super(`${method}: ${describeUploadError(error)}`);
    this.name = 'UploadCanisterError';
    this.error = error;
    this.kind = kind;
    this.method = method;
  }
}

/** One line of English for an UploadError, with its numbers. */
export function describeUploadError(error: UploadError): string {
  const [kind, detail] = Object.entries(error)[0] as [string, unknown];
  if (detail === null || detail === undefined) return kind;
  const parts = Object.entries(detail as Record<string, unknown>).map(([k, v]) => {
    if (v instanceof Uint8Array) return `${k}=${Buffer.from(v).toString('hex')}`;
    if (Array.isArray(v) || v instanceof Uint32Array) return `${k}=[${Array.from(v).join(',')}]`;
    return `${k}=${String(v)}`;
  });
  return `${kind} (${parts.join(', ')})`;
}

function unwrap<T>(method: string, r: Result<T>): T {
  if ('Err' in r) throw new UploadCanisterError(method, r.Err);
  return r.Ok;
}

export type ReadOptions = {
  /** Bytes per `read_blob` query; at most 1,900,000. Default 1,900,000. */
  rangeSize?: number;
};

export class UploadClient {
  readonly actor: UploadActor;

  constructor(actor: UploadActor) {
    this.actor = actor;
  }

  async begin(args: BeginUpload): Promise<SessionId> {
    return unwrap('begin_upload', await this.actor.begin_upload(args));
  }

  async putChunk(session: SessionId, index: number, bytes: Uint8Array): Promise<PutChunkOk> {
    return unwrap('put_chunk', await this.actor.put_chunk(session, index, bytes));
  }

  async finish(session: SessionId, sha256: Uint8Array): Promise<BlobId> {
    return unwrap('finish_upload', await this.actor.finish_upload(session, sha256));
  }

  async abort(session: SessionId): Promise<void> {
    unwrap('abort_upload', await this.actor.abort_upload(session));
  }

  async readRange(blobId: BlobId, offset: bigint, length: bigint): Promise<Uint8Array> {
    return unwrap('read_blob', await this.actor.read_blob(blobId, offset, length));
  }

  /** Reads a whole blob with consecutive ranged queries. */
  async read(blobId: BlobId, options: ReadOptions = {}): Promise<Uint8Array> {
    const meta = await this.metadata(blobId);
    const step = options.rangeSize === undefined ? LIMITS.MAX_READ_LENGTH : BigInt(options.rangeSize);
    const out = new Uint8Array(Number(meta.size));
    for (let at = 0n; at < meta.size; at += step) {
      const n = meta.size - at < step ? meta.size - at : step;
      out.set(await this.readRange(blobId, at, n), Number(at));
    }
    return out;
  }

  async metadata(blobId: BlobId): Promise<BlobMetadata<Principal>> {
    return unwrap('blob_metadata', await this.actor.blob_metadata(blobId));
  }

  /** The caller's open sessions; `received` is always a plain number[]. */
  async listSessions(): Promise<(SessionInfo & { received: number[] })[]> {
    return (await this.actor.list_sessions()).map((s) => ({ ...s, received: Array.from(s.received) }));
  }

  async listBlobs(): Promise<BlobMetadata<Principal>[]> {
    return this.actor.list_blobs();
  }

  async linkDerivative(original: BlobId, derivative: BlobId, kind: string): Promise<void> {
    unwrap('link_derivative', await this.actor.link_derivative(original, derivative, kind));
  }

  async stats(): Promise<StorageStats> {
    return this.actor.storage_stats();
  }
}
