// TypeScript mirror of canister/upload.did. Shapes follow the Candid JS
// mapping used by @dfinity/candid and @icp-sdk/core: nat64 -> bigint,
// nat32 -> number, blob -> Uint8Array, opt T -> [] | [T], variants as
// single-key objects. `vec nat32` decodes to a Uint32Array in those
// libraries; the service core produces number[]; both encode the same. Principals are raw bytes here (the service core is free
// of Azle); the canister entry converts them to Principal.

export type SessionId = Uint8Array;
export type BlobId = Uint8Array;

export type BeginUpload = {
  name: string;
  size: bigint;
  chunk_size: number;
  content_type: string;
  expected_sha256: [] | [Uint8Array];
};

export type UploadError =
  | { AnonymousCaller: null }
  | { InvalidName: { reason: string } }
  | { InvalidContentType: { reason: string } }
  | { InvalidChunkSize: { chunk_size: number; min: number; max: number } }
  | { FileTooLarge: { size: bigint; max: bigint } }
  | { TooManyChunks: { chunk_count: bigint; max: number } }
  | { InvalidSha256Length: { length: number } }
  | { TooManySessions: { open: number; max: number } }
  | { TooManyBlobs: { count: number; max: number } }
  | { SessionNotFound: null }
  | { NotOwner: null }
  | { ChunkIndexOutOfRange: { index: number; chunk_count: number } }
  | { ChunkSizeMismatch: { index: number; expected: number; actual: number } }
  | { ChunkConflict: { index: number } }
  | { MissingChunks: { missing_count: number; first_missing: number[] | Uint32Array } }
  | { HashInProgress: { hashed_bytes: bigint; size: bigint } }
  | { SizeMismatch: { expected: bigint; received: bigint } }
  | { HashMismatch: { expected: Uint8Array; actual: Uint8Array } }
  | { BlobNotFound: null }
  | { RangeOutOfBounds: { offset: bigint; length: bigint; size: bigint } }
  | { ReadTooLarge: { length: bigint; max: bigint } }
  | { InvalidKind: { reason: string } }
  | { InvalidLink: { reason: string } }
  | { AlreadyLinked: { original: BlobId; kind: string } }
  | { TooManyDerivatives: { max: number } }
  | { InvalidShareLinkTtl: { ttl_ns: bigint; min: bigint; max: bigint } }
  | { TooManyShareLinks: { max: number } }
  | { ShareLinkNotFound: null }
  | { RandomnessUnavailable: { reason: string } };

export type Result<T> = { Ok: T } | { Err: UploadError };

export type PutChunkOk = {
  received_chunks: number;
  chunk_count: number;
  hashed_bytes: bigint;
};

export type SessionInfo = {
  session: SessionId;
  name: string;
  content_type: string;
  size: bigint;
  chunk_size: number;
  chunk_count: number;
  expected_sha256: [] | [Uint8Array];
  received: number[] | Uint32Array;
  hashed_bytes: bigint;
  created_at: bigint;
  last_activity: bigint;
  expires_at: bigint;
};

export type DerivativeLink = { blob_id: BlobId; kind: string };

export type BlobMetadata<P = Uint8Array> = {
  blob_id: BlobId;
  owner: P;
  name: string;
  content_type: string;
  size: bigint;
  sha256: Uint8Array;
  created_at: bigint;
  derivative_of: [] | [DerivativeLink];
  derivatives: DerivativeLink[];
};

export type StorageStats = {
  layout_version: number;
  page_size: number;
  page_high_water: number;
  pages_free: number;
  pages_stored: number;
  sessions: bigint;
  blobs: bigint;
  session_ttl_ns: bigint;
};

export type InitArgs = [] | [{ session_ttl_ns: [] | [bigint] }];

/** Who may read a blob over `http_request`: anyone (`public`), or whoever has one of its live links. */
export type BlobSharing = { public: boolean; share_links: ShareLink[] };

/** A share link: `path` (`/s/<token>`) serves the blob over `http_request` until `expires_at` or revocation. */
export type ShareLink = {
  token: string;
  blob_id: BlobId;
  path: string;
  created_at: bigint;
  expires_at: bigint;
};

// The HTTP gateway protocol's types (dfinity/portal
// docs/references/http-gateway-protocol-spec.md, "Canister HTTP Interface");
// the token is the asset canister's `StreamingCallbackToken`.

export type HeaderField = [string, string];

export type HttpRequest = {
  method: string;
  url: string;
  headers: HeaderField[];
  body: Uint8Array;
  certificate_version: [] | [number];
};

export type StreamingCallbackToken = {
  key: string;
  content_encoding: string;
  index: bigint;
  sha256: [] | [Uint8Array];
};

export type StreamingCallbackHttpResponse = {
  body: Uint8Array;
  token: [] | [StreamingCallbackToken];
};

/** `F` is the callback reference: `[canister, method]` at the Candid edge. */
export type HttpResponse<F = never> = {
  status_code: number;
  headers: HeaderField[];
  body: Uint8Array;
  upgrade: [] | [boolean];
  streaming_strategy: [] | [{ Callback: { callback: F; token: StreamingCallbackToken } }];
};
