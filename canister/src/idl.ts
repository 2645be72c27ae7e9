// The Candid types of the upload canister as its entry (index.ts) declares its
// methods with them, through Azle's IDL. Clients do not use this module: their
// declarations are generated from canister/upload.did (canister/declarations/);
// canister/idl.test.ts checks that the built Wasm's interface is upload.did.

import type { IDL as CandidIDL } from '@icp-sdk/core/candid';

/** The IDL namespace as an interface factory receives it. */
type Idl = Parameters<CandidIDL.InterfaceFactory>[0]['IDL'];

export function uploadTypes(IDL: Idl) {
  const SessionId = IDL.Vec(IDL.Nat8);
  const BlobId = IDL.Vec(IDL.Nat8);
  const BeginUpload = IDL.Record({
    name: IDL.Text,
    size: IDL.Nat64,
    chunk_size: IDL.Nat32,
    content_type: IDL.Text,
    expected_sha256: IDL.Opt(IDL.Vec(IDL.Nat8)),
  });
  const Reason = IDL.Record({ reason: IDL.Text });
  const UploadError = IDL.Variant({
    AnonymousCaller: IDL.Null,
    InvalidName: Reason,
    InvalidContentType: Reason,
    InvalidChunkSize: IDL.Record({ chunk_size: IDL.Nat32, min: IDL.Nat32, max: IDL.Nat32 }),
    FileTooLarge: IDL.Record({ size: IDL.Nat64, max: IDL.Nat64 }),
    TooManyChunks: IDL.Record({ chunk_count: IDL.Nat64, max: IDL.Nat32 }),
    InvalidSha256Length: IDL.Record({ length: IDL.Nat32 }),
    TooManySessions: IDL.Record({ open: IDL.Nat32, max: IDL.Nat32 }),
    TooManyBlobs: IDL.Record({ count: IDL.Nat32, max: IDL.Nat32 }),
    SessionNotFound: IDL.Null,
    NotOwner: IDL.Null,
    ChunkIndexOutOfRange: IDL.Record({ index: IDL.Nat32, chunk_count: IDL.Nat32 }),
    ChunkSizeMismatch: IDL.Record({ index: IDL.Nat32, expected: IDL.Nat32, actual: IDL.Nat32 }),
    ChunkConflict: IDL.Record({ index: IDL.Nat32 }),
    MissingChunks: IDL.Record({ missing_count: IDL.Nat32, first_missing: IDL.Vec(IDL.Nat32) }),
    HashInProgress: IDL.Record({ hashed_bytes: IDL.Nat64, size: IDL.Nat64 }),
    SizeMismatch: IDL.Record({ expected: IDL.Nat64, received: IDL.Nat64 }),
    HashMismatch: IDL.Record({ expected: IDL.Vec(IDL.Nat8), actual: IDL.Vec(IDL.Nat8) }),
    BlobNotFound: IDL.Null,
    RangeOutOfBounds: IDL.Record({ offset: IDL.Nat64, length: IDL.Nat64, size: IDL.Nat64 }),
    ReadTooLarge: IDL.Record({ length: IDL.Nat64, max: IDL.Nat64 }),
    InvalidKind: Reason,
    InvalidLink: Reason,
    AlreadyLinked: IDL.Record({ original: BlobId, kind: IDL.Text }),
    TooManyDerivatives: IDL.Record({ max: IDL.Nat32 }),
    InvalidShareLinkTtl: IDL.Record({ ttl_ns: IDL.Nat64, min: IDL.Nat64, max: IDL.Nat64 }),
    TooManyShareLinks: IDL.Record({ max: IDL.Nat32 }),
    ShareLinkNotFound: IDL.Null,
    RandomnessUnavailable: Reason,
  });
  const result = <T extends CandidIDL.Type>(ok: T) => IDL.Variant({ Ok: ok, Err: UploadError });
  const PutChunkOk = IDL.Record({
    received_chunks: IDL.Nat32,
    chunk_count: IDL.Nat32,
    hashed_bytes: IDL.Nat64,
  });
  const SessionInfo = IDL.Record({
    session: SessionId,
    name: IDL.Text,
    content_type: IDL.Text,
    size: IDL.Nat64,
    chunk_size: IDL.Nat32,
    chunk_count: IDL.Nat32,
    expected_sha256: IDL.Opt(IDL.Vec(IDL.Nat8)),
    received: IDL.Vec(IDL.Nat32),
    hashed_bytes: IDL.Nat64,
    created_at: IDL.Nat64,
    last_activity: IDL.Nat64,
    expires_at: IDL.Nat64,
  });
  const DerivativeLink = IDL.Record({ blob_id: BlobId, kind: IDL.Text });
  const BlobMetadata = IDL.Record({
    blob_id: BlobId,
    owner: IDL.Principal,
    name: IDL.Text,
    content_type: IDL.Text,
    size: IDL.Nat64,
    sha256: IDL.Vec(IDL.Nat8),
    created_at: IDL.Nat64,
    derivative_of: IDL.Opt(DerivativeLink),
    derivatives: IDL.Vec(DerivativeLink),
  });
  const ShareLink = IDL.Record({
    token: IDL.Text,
    blob_id: BlobId,
    path: IDL.Text,
    created_at: IDL.Nat64,
    expires_at: IDL.Nat64,
  });
  const BlobSharing = IDL.Record({ public: IDL.Bool, share_links: IDL.Vec(ShareLink) });
  // HTTP gateway protocol (dfinity/portal http-gateway-protocol-spec.md).
  const HeaderField = IDL.Tuple(IDL.Text, IDL.Text);
  const HttpRequest = IDL.Record({
    method: IDL.Text,
    url: IDL.Text,
    headers: IDL.Vec(HeaderField),
    body: IDL.Vec(IDL.Nat8),
    certificate_version: IDL.Opt(IDL.Nat16),
  });
  const StreamingCallbackToken = IDL.Record({
    key: IDL.Text,
    content_encoding: IDL.Text,
    index: IDL.Nat,
    sha256: IDL.Opt(IDL.Vec(IDL.Nat8)),
  });
  const StreamingCallbackHttpResponse = IDL.Record({
    body: IDL.Vec(IDL.Nat8),
    token: IDL.Opt(StreamingCallbackToken),
  });
  const StreamingStrategy = IDL.Variant({
    Callback: IDL.Record({
      callback: IDL.Func([StreamingCallbackToken], [StreamingCallbackHttpResponse], ['query']),
      token: StreamingCallbackToken,
    }),
  });
  const HttpResponse = IDL.Record({
    status_code: IDL.Nat16,
    headers: IDL.Vec(HeaderField),
    body: IDL.Vec(IDL.Nat8),
    upgrade: IDL.Opt(IDL.Bool),
    streaming_strategy: IDL.Opt(StreamingStrategy),
  });
  const StorageStats = IDL.Record({
    layout_version: IDL.Nat32,
    page_size: IDL.Nat32,
    page_high_water: IDL.Nat32,
    pages_free: IDL.Nat32,
    pages_stored: IDL.Nat32,
    sessions: IDL.Nat64,
    blobs: IDL.Nat64,
    session_ttl_ns: IDL.Nat64,
  });
  const InitArgs = IDL.Opt(IDL.Record({ session_ttl_ns: IDL.Opt(IDL.Nat64) }));
  return {
    SessionId,
    BlobId,
    BeginUpload,
    UploadError,
    PutChunkOk,
    SessionInfo,
    DerivativeLink,
    BlobMetadata,
    StorageStats,
    ShareLink,
    HttpRequest,
    HttpResponse,
    StreamingCallbackToken,
    StreamingCallbackHttpResponse,
    InitArgs,
    ShareLinkResult: result(ShareLink),
    BlobSharing,
    SharingResult: result(BlobSharing),
    BeginResult: result(SessionId),
    PutChunkResult: result(PutChunkOk),
    FinishResult: result(BlobId),
    UnitResult: result(IDL.Null),
    ReadResult: result(IDL.Vec(IDL.Nat8)),
    MetadataResult: result(BlobMetadata),
  };
}
