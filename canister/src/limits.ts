// The canister's documented limits, in a module of their own so that the
// client (canister/client/) checks against the same numbers without
// importing the service.

/** Documented limits (canister/README.md, "Limits"). */
export const LIMITS = {
  /** Largest chunk: under the 2 MiB ingress limit with room for Candid (same as dfx's asset uploader). */
  MAX_CHUNK_SIZE: 1_900_000,
  /** Largest file, in bytes (1 GiB). */
  MAX_FILE_SIZE: 1_073_741_824n,
  /** Most chunks one session may have (bounds the received-chunk bitmap to 8 KiB). */
  MAX_CHUNKS_PER_SESSION: 65_536,
  /** Open sessions per caller. */
  MAX_SESSIONS_PER_CALLER: 8,
  /** Committed blobs plus open sessions per caller. */
  MAX_BLOBS_PER_CALLER: 10_000,
  /** UTF-8 bytes of a file name. */
  MAX_NAME_BYTES: 1024,
  /** UTF-8 bytes of a content type. */
  MAX_CONTENT_TYPE_BYTES: 256,
  /** Largest `read_blob` length (query replies are limited to 3 MiB). */
  MAX_READ_LENGTH: 1_900_000n,
  /** UTF-8 bytes of a derivative kind. */
  MAX_KIND_BYTES: 64,
  /** Derivatives linked to one original. */
  MAX_DERIVATIVES_PER_BLOB: 64,
  /**
   * Bytes one message may hash in all, its own chunk included. A put_chunk
   * costs ~9,300 instructions per byte, nearly all of it SHA-256 interpreted
   * by QuickJS, so a 1.9 MB put_chunk costs ~17.6 B instructions (icsim's
   * IC-style metering; `npm run bench -- costs`,
   * `costs.put_chunk.instructions_per_byte`): twice that would sit
   * too close to the 40 B limit for one message. Chunks that arrived early are
   * caught up (read back from the page space) while they fit in what is left;
   * the rest by the catch-up timer, one budget per run.
   */
  HASH_BYTES_PER_MESSAGE: 1_900_000,
  /** Sessions expired per timer run; more are left to an immediate next run. */
  SWEEP_BATCH: 32,
  /** Default idle time after which a session is expired: one hour. */
  DEFAULT_SESSION_TTL_NS: 3_600_000_000_000n,
  /** Smallest accepted TTL: one second (timers have one-second resolution). */
  MIN_SESSION_TTL_NS: 1_000_000_000n,
  /** Shortest share link lifetime: one second. */
  MIN_SHARE_LINK_TTL_NS: 1_000_000_000n,
  /** Longest share link lifetime: 366 days (a link is a bearer secret; it should end). */
  MAX_SHARE_LINK_TTL_NS: 31_622_400_000_000_000n,
  /** Share links one blob may have at once (expired ones are dropped when a new one is made). */
  MAX_SHARE_LINKS_PER_BLOB: 32,
  /**
   * Body bytes one `http_request` reply (or streaming callback) carries: a
   * larger file streams through `http_request_streaming_callback`, a larger
   * range is answered with its first part (206, Content-Range says which).
   * Same bound as `read_blob`, under the replies' size limit with room for headers.
   */
  HTTP_CHUNK_BYTES: 1_900_000,
} as const;
