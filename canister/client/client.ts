/**
 * Typed client of the upload canister over any actor that speaks its Candid
 * interface: a PicJS actor (`pic.createActor<UploadActor>(idlFactory, id)`)
 * or an @icp-sdk/core agent actor (`Actor.createActor<UploadActor>(idlFactory,
 * { agent, canisterId })`). Canister errors (`Err : UploadError`) become
 * `UploadCanisterError`s; transport errors pass through unchanged, which is
 * how the uploader tells what is worth retrying.
 */
import type {
  _SERVICE,
  BeginUpload,
  BlobId,
  BlobMetadata,
  BlobSharing,
  PutChunkOk,
  SessionId,
  SessionInfo,
  ShareLink,
  StorageStats,
  UploadError,
} from '../declarations/upload.did.ts';
import { LIMITS } from '../src/limits.ts';

// The Candid interface and its types are generated from canister/upload.did
// (`npm run generate`, canister/declarations/); nothing here restates them.
export { idlFactory, init as initArgTypes } from '../declarations/upload.did.ts';
export type {
  BeginUpload,
  BlobId,
  BlobMetadata,
  BlobSharing,
  DerivativeLink,
  HttpRequest,
  HttpResponse,
  InitArgs,
  PutChunkOk,
  SessionId,
  SessionInfo,
  ShareLink,
  StorageStats,
  StreamingCallbackHttpResponse,
  StreamingCallbackToken,
  UploadError,
} from '../declarations/upload.did.ts';

/** What every update answers: `variant { Ok : T; Err : UploadError }`. */
export type Result<T> = { Ok: T } | { Err: UploadError };

/**
 * The canister's service as an actor exposes it: the generated `_SERVICE`
 * (canister/upload.did) as plain methods, so that any object with these
 * methods serves (a PicJS or @icp-sdk/core actor, a test double) and a
 * method added to the .did appears here on `npm run generate`.
 */
export type UploadActor = {
  [M in keyof _SERVICE]: (...args: Parameters<_SERVICE[M]>) => ReturnType<_SERVICE[M]>;
};

/** The name of an UploadError variant, e.g. `'ChunkConflict'`. */
export type UploadErrorKind = UploadError extends infer E ? (E extends unknown ? keyof E : never) : never;

/**
 * An UploadError as {@link UploadCanisterError} carries it: `first_missing`
 * as a plain `number[]` (the agent decodes `vec nat32` to a Uint32Array),
 * so that it compares and prints as a list.
 */
export type UploadErrorValue =
  | Exclude<UploadError, { MissingChunks: unknown }>
  | { MissingChunks: { missing_count: number; first_missing: number[] } };

/** A canister answer `Err : UploadError`. */
export class UploadCanisterError extends Error {
  readonly error: UploadErrorValue;
  readonly kind: UploadErrorKind;
  readonly method: string;

  constructor(method: string, answer: UploadError) {
    const error: UploadErrorValue =
      'MissingChunks' in answer
        ? {
            MissingChunks: {
              ...answer.MissingChunks,
              first_missing: Array.from(answer.MissingChunks.first_missing),
            },
          }
        : answer;
    const kind = Object.keys(error)[0] as UploadErrorKind;
    super(`${method}: ${describeUploadError(error)}`);
    this.name = 'UploadCanisterError';
    this.error = error;
    this.kind = kind;
    this.method = method;
  }
}

/**
 * One line of English for an UploadError, with its numbers.
 *
 * @example
 * ```ts
 * describeUploadError({ ChunkConflict: { index: 3 } }); // 'ChunkConflict (index=3)'
 * ```
 */
export function describeUploadError(error: UploadError | UploadErrorValue): string {
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

/**
 * The upload canister's methods with `Result`s unwrapped: each method returns
 * the `Ok` value or throws an {@link UploadCanisterError} for the `Err`;
 * transport errors from the actor pass through as they are. For whole files,
 * `uploadFile` (./upload.ts) drives these methods with lanes, retries
 * and resume.
 */
export class UploadClient {
  readonly actor: UploadActor;

  /**
   * @param actor Any actor of the canister's interface, made with `idlFactory`.
   *
   * @example
   * ```ts
   * import { PocketIc } from '@dfinity/pic';
   * import { idlFactory, type UploadActor, UploadClient } from './client.ts';
   *
   * const pic = await PocketIc.create(url);
   * const fixture = await pic.setupCanister<UploadActor>({ idlFactory, wasm });
   * const client = new UploadClient(fixture.actor);
   * ```
   */
  constructor(actor: UploadActor) {
    this.actor = actor;
  }

  /**
   * Opens an upload session (`begin_upload`). The caller must not be
   * anonymous; `chunk_size` is at most 1,900,000 bytes and every chunk but
   * the last has exactly that size.
   *
   * @param args Name, size, chunk size, content type and, optionally, the SHA-256 that `finish` will have to match.
   * @returns The new session's id.
   * @throws {UploadCanisterError} `InvalidName`, `InvalidChunkSize`, `FileTooLarge`, `TooManySessions`, … .
   *
   * @example
   * ```ts
   * const session = await client.begin({
   *   name: 'photo.jpg',
   *   size: BigInt(file.length),
   *   chunk_size: 1_000_000,
   *   content_type: 'image/jpeg',
   *   expected_sha256: [],
   * });
   * ```
   */
  async begin(args: BeginUpload): Promise<SessionId> {
    return unwrap('begin_upload', await this.actor.begin_upload(args));
  }

  /**
   * Stores chunk `index` of a session (`put_chunk`). Chunks may arrive in any
   * order and in parallel; sending the same bytes again is accepted, other
   * bytes for a stored index are a `ChunkConflict`.
   *
   * @returns How many chunks the session has and how many bytes the canister has hashed so far.
   * @throws {UploadCanisterError} `SessionNotFound`, `ChunkIndexOutOfRange`, `ChunkSizeMismatch`, `ChunkConflict`, … .
   *
   * @example
   * ```ts
   * const chunk = file.subarray(2 * 1_000_000, 3 * 1_000_000);
   * const { received_chunks, chunk_count } = await client.putChunk(session, 2, chunk);
   * ```
   */
  async putChunk(session: SessionId, index: number, bytes: Uint8Array): Promise<PutChunkOk> {
    return unwrap('put_chunk', await this.actor.put_chunk(session, index, bytes));
  }

  /**
   * Commits a session whose chunks have all arrived (`finish_upload`) and
   * turns it into a blob, if the file's SHA-256 is `sha256`.
   *
   * @returns The blob's id.
   * @throws {UploadCanisterError} `MissingChunks`, `HashMismatch`, and `HashInProgress` while the canister
   * is still hashing chunks that arrived out of order (try again later).
   *
   * @example
   * ```ts
   * import { sha256 } from '@noble/hashes/sha2.js';
   *
   * const blobId = await client.finish(session, sha256(file));
   * ```
   */
  async finish(session: SessionId, sha256: Uint8Array): Promise<BlobId> {
    return unwrap('finish_upload', await this.actor.finish_upload(session, sha256));
  }

  /**
   * Drops an open session and the chunks stored for it (`abort_upload`).
   *
   * @throws {UploadCanisterError} `SessionNotFound` or `NotOwner`.
   *
   * @example
   * ```ts
   * await client.abort(session);
   * ```
   */
  async abort(session: SessionId): Promise<void> {
    unwrap('abort_upload', await this.actor.abort_upload(session));
  }

  /**
   * Reads `length` bytes of a blob the caller owns from `offset`, in one
   * query (`read_blob`); `length` is at most 1,900,000.
   *
   * @throws {UploadCanisterError} `BlobNotFound`, `NotOwner`, `ReadTooLarge` or `RangeOutOfBounds`.
   *
   * @example
   * ```ts
   * const head = await client.readRange(blobId, 0n, 1024n);
   * ```
   */
  async readRange(blobId: BlobId, offset: bigint, length: bigint): Promise<Uint8Array> {
    return unwrap('read_blob', await this.actor.read_blob(blobId, offset, length));
  }

  /**
   * Reads a whole blob with consecutive {@link readRange} queries.
   *
   * @param options `rangeSize`: bytes per query (default and maximum 1,900,000).
   * @throws {UploadCanisterError} `BlobNotFound` or `NotOwner`.
   *
   * @example
   * ```ts
   * const bytes = await client.read(blobId);
   * ```
   */
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

  /**
   * A blob's owner, name, content type, size, SHA-256, creation time and
   * derivative links (`blob_metadata`); the caller must own it.
   *
   * @throws {UploadCanisterError} `BlobNotFound` or `NotOwner`.
   *
   * @example
   * ```ts
   * const { size, sha256, content_type } = await client.metadata(blobId);
   * ```
   */
  async metadata(blobId: BlobId): Promise<BlobMetadata> {
    return unwrap('blob_metadata', await this.actor.blob_metadata(blobId));
  }

  /**
   * The caller's open sessions (`list_sessions`), with the indices of the
   * chunks each has received; `received` is always a plain number[].
   *
   * @example
   * ```ts
   * const open = await client.listSessions();
   * const mine = open.find((s) => s.name === 'photo.jpg');
   * ```
   */
  async listSessions(): Promise<(Omit<SessionInfo, 'received'> & { received: number[] })[]> {
    return (await this.actor.list_sessions()).map((s) => ({ ...s, received: Array.from(s.received) }));
  }

  /**
   * The metadata of every blob the caller owns (`list_blobs`).
   *
   * @example
   * ```ts
   * const names = (await client.listBlobs()).map((b) => b.name);
   * ```
   */
  async listBlobs(): Promise<BlobMetadata[]> {
    return this.actor.list_blobs();
  }

  /**
   * Records `derivative` (a thumbnail, a transcoding, …) as a `kind` of
   * `original` (`link_derivative`); the caller must own both.
   *
   * @throws {UploadCanisterError} `BlobNotFound`, `NotOwner`, `InvalidKind`, `InvalidLink`, `AlreadyLinked`
   * or `TooManyDerivatives`.
   *
   * @example
   * ```ts
   * await client.linkDerivative(photoId, thumbnailId, 'thumbnail');
   * ```
   */
  async linkDerivative(original: BlobId, derivative: BlobId, kind: string): Promise<void> {
    unwrap('link_derivative', await this.actor.link_derivative(original, derivative, kind));
  }

  /**
   * The canister's storage figures (`storage_stats`): pages in use and free,
   * open sessions, blobs, the session TTL and the layout version.
   *
   * @example
   * ```ts
   * const { blobs, sessions, pages_free } = await client.stats();
   * ```
   */
  async stats(): Promise<StorageStats> {
    return this.actor.storage_stats();
  }

  // -- sharing (publish, share links) --

  /**
   * Publishes a blob (`publish_blob`): anyone may then read it over HTTP at
   * `/b/<blob id hex>` on the canister's gateway host, and its derivatives at
   * `/b/<blob id hex>?kind=<kind>`.
   *
   * @throws {UploadCanisterError} `BlobNotFound` or `NotOwner`.
   */
  async publish(blobId: BlobId): Promise<void> {
    unwrap('publish_blob', await this.actor.publish_blob(blobId));
  }

  /** Makes a blob private again (`unpublish_blob`); its share links stay valid. */
  async unpublish(blobId: BlobId): Promise<void> {
    unwrap('unpublish_blob', await this.actor.unpublish_blob(blobId));
  }

  /**
   * Mints a share link (`create_share_link`): `path` serves the blob (and
   * `path?kind=<kind>` its derivatives) to whoever has it, until `expires_at`
   * or {@link revokeShareLink}.
   *
   * @throws {UploadCanisterError} `BlobNotFound`, `NotOwner`, `InvalidShareLinkTtl`, `TooManyShareLinks`
   * or `RandomnessUnavailable`.
   *
   * @example
   * ```ts
   * const link = await client.share(blobId, 24n * 3_600_000_000_000n); // one day
   * const url = `http://${canisterId}.localhost:4943${link.path}`;
   * ```
   */
  async share(blobId: BlobId, ttlNs: bigint): Promise<ShareLink> {
    return unwrap('create_share_link', await this.actor.create_share_link(blobId, ttlNs));
  }

  /**
   * Revokes a share link by its token (`revoke_share_link`); only the blob's owner may.
   *
   * @throws {UploadCanisterError} `ShareLinkNotFound` or `NotOwner`.
   */
  async revokeShareLink(token: string): Promise<void> {
    unwrap('revoke_share_link', await this.actor.revoke_share_link(token));
  }

  /** Whether a blob is public and its live share links (`blob_sharing`). */
  async sharing(blobId: BlobId): Promise<BlobSharing> {
    return unwrap('blob_sharing', await this.actor.blob_sharing(blobId));
  }
}
