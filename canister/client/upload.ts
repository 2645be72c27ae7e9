/**
 * `uploadFile`: hash a file with @noble/hashes, open (or resume) a session,
 * send its chunks over N parallel lanes with retries, finish, and report
 * throughput.
 *
 * - Resume: a session of the caller with the same name, size, chunk size and
 *   expected SHA-256 is picked up; chunks the canister lists as received are
 *   not sent again.
 * - Retries: transport failures (anything that is not an UploadCanisterError)
 *   are retried with exponential backoff; canister errors are final, except
 *   `HashInProgress` at finish, which waits for the canister's catch-up timer.
 * - Progress: `onProgress` is called after hashing each piece and after every
 *   acknowledged chunk.
 */
import { open } from 'node:fs/promises';

import { sha256 } from '@noble/hashes/sha2.js';

import { type BlobId, type SessionId, UploadCanisterError, type UploadClient } from './client.ts';
import { bytesEqual } from '../src/codec.ts';
import { LIMITS } from '../src/limits.ts';

/** Largest chunk the canister accepts. */
export const MAX_CHUNK_SIZE = LIMITS.MAX_CHUNK_SIZE;

/** Random-access bytes of the file being uploaded. */
export interface FileSource {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

/**
 * A {@link FileSource} over bytes in memory.
 *
 * @example
 * ```ts
 * const result = await uploadFile(client, bytesSource(new TextEncoder().encode('hello')), { name: 'hello.txt' });
 * ```
 */
export function bytesSource(data: Uint8Array): FileSource {
  return { size: data.length, read: async (offset, length) => data.subarray(offset, offset + length) };
}

/**
 * A {@link FileSource} over a file on disk, read piece by piece as the upload
 * needs it (the file is never held in memory whole); call `close()` when done.
 *
 * @example
 * ```ts
 * const source = await fileSource('video.mp4');
 * try {
 *   await uploadFile(client, source, { name: 'video.mp4', contentType: 'video/mp4' });
 * } finally {
 *   await source.close();
 * }
 * ```
 */
export async function fileSource(path: string): Promise<FileSource & { close(): Promise<void> }> {
  const handle = await open(path, 'r');
  const { size } = await handle.stat();
  return {
    size,
    async read(offset, length) {
      const buf = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(buf, done, length - done, offset + done);
        if (bytesRead === 0) throw new Error(`${path}: file shrank while reading (offset ${offset + done})`);
        done += bytesRead;
      }
      return buf;
    },
    close: () => handle.close(),
  };
}

export type UploadPhase = 'hashing' | 'uploading' | 'finishing' | 'done';

export type UploadProgress = {
  phase: UploadPhase;
  totalBytes: number;
  bytesHashed: number;
  /** Bytes the canister has acknowledged (including chunks found on resume). */
  bytesSent: number;
  chunksDone: number;
  chunkCount: number;
  elapsedMs: number;
  /** Throughput of the upload phase so far, in MB/s (10^6 bytes per second). */
  mbps: number;
};

export type UploadOptions = {
  name: string;
  contentType?: string;
  /** Default and maximum 1,900,000 bytes. */
  chunkSize?: number;
  /** Parallel put_chunk lanes. Default 4. */
  lanes?: number;
  /** Attempts per call after the first, for transport failures. Default 5. */
  retries?: number;
  /** First backoff delay; doubles per attempt up to 8 s. Default 200 ms. */
  retryDelayMs?: number;
  /** Resume a matching open session. Default true. */
  resume?: boolean;
  /** Known SHA-256 of the file (skips the hashing pass). */
  sha256?: Uint8Array;
  onProgress?: (p: UploadProgress) => void;
  /** How to wait between retries (PicJS users can tick the instance here). Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
  /** Times to retry finish while the canister reports HashInProgress. Default 120. */
  finishAttempts?: number;
};

export type UploadResult = {
  blobId: BlobId;
  sessionId: SessionId;
  sha256: Uint8Array;
  size: number;
  chunkCount: number;
  /** Chunks sent in this call. */
  chunksSent: number;
  /** Chunks the canister already had (resume). */
  chunksSkipped: number;
  resumed: boolean;
  /** Transport retries that were needed. */
  retries: number;
  hashSeconds: number;
  /** Seconds from begin/resume to the blob id. */
  uploadSeconds: number;
  /** size / uploadSeconds, in MB/s (10^6 bytes per second). */
  mbps: number;
};

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const HASH_READ = 8 * 1024 * 1024;

/**
 * Uploads a file as one blob: hashes it (unless `options.sha256` is given),
 * resumes a matching open session of the caller or begins one, sends the
 * missing chunks over `options.lanes` parallel lanes, retrying transport
 * failures with exponential backoff, and finishes (waiting while the canister
 * reports `HashInProgress`). See the module comment for the rules.
 *
 * @param client The caller's client; the blob belongs to the actor's identity.
 * @param source The file's bytes, see {@link bytesSource} and {@link fileSource}.
 * @param options At least the blob's `name`; see {@link UploadOptions}.
 * @returns The blob id, the SHA-256, chunk counts (sent, skipped on resume), retries and throughput.
 * @throws {UploadCanisterError} for an error the canister answers (final, not retried), the last
 * transport error once the retries are spent, a `RangeError` for an invalid `chunkSize`.
 *
 * @example
 * ```ts
 * const result = await uploadFile(client, await fileSource('photo.jpg'), {
 *   name: 'photo.jpg',
 *   contentType: 'image/jpeg',
 *   lanes: 4,
 *   onProgress: (p) => console.log(`${p.phase} ${p.chunksDone}/${p.chunkCount} ${p.mbps.toFixed(1)} MB/s`),
 * });
 * console.log(Buffer.from(result.blobId).toString('hex'));
 * ```
 */
export async function uploadFile(
  client: UploadClient,
  source: FileSource,
  options: UploadOptions,
): Promise<UploadResult> {
  const chunkSize = options.chunkSize ?? MAX_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > MAX_CHUNK_SIZE) {
    throw new RangeError(`chunkSize must be an integer in 1..${MAX_CHUNK_SIZE}, got ${chunkSize}`);
  }
  const lanes = Math.max(1, Math.floor(options.lanes ?? 4));
  const retries = options.retries ?? 5;
  const baseDelay = options.retryDelayMs ?? 200;
  const sleep = options.sleep ?? defaultSleep;
  const size = source.size;
  const chunkCount = Math.ceil(size / chunkSize);
  const started = performance.now();
  let retriesUsed = 0;

  const progress: UploadProgress = {
    phase: 'hashing',
    totalBytes: size,
    bytesHashed: 0,
    bytesSent: 0,
    chunksDone: 0,
    chunkCount,
    elapsedMs: 0,
    mbps: 0,
  };
  let uploadStarted = started;
  const report = (): void => {
    if (options.onProgress === undefined) return;
    const now = performance.now();
    progress.elapsedMs = now - started;
    const upMs = now - uploadStarted;
    progress.mbps = progress.phase === 'hashing' || upMs <= 0 ? 0 : progress.bytesSent / 1e6 / (upMs / 1000);
    options.onProgress({ ...progress });
  };

  /** Runs `call`, retrying transport failures with exponential backoff. */
  const withRetry = async <T>(call: () => Promise<T>): Promise<T> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (e) {
        if (e instanceof UploadCanisterError || attempt >= retries) throw e;
        retriesUsed++;
        await sleep(Math.min(8000, baseDelay * 2 ** attempt));
      }
    }
  };

  // 1. Hash locally.
  let digest = options.sha256;
  if (digest === undefined) {
    const h = sha256.create();
    for (let at = 0; at < size; at += HASH_READ) {
      h.update(await source.read(at, Math.min(HASH_READ, size - at)));
      progress.bytesHashed = Math.min(size, at + HASH_READ);
      report();
    }
    digest = h.digest();
  }
  progress.bytesHashed = size;
  const hashSeconds = (performance.now() - started) / 1000;

  // 2. Find a session to resume, or begin one.
  progress.phase = 'uploading';
  uploadStarted = performance.now();
  const received = new Set<number>();
  let sessionId: SessionId | undefined;
  if (options.resume ?? true) {
    const sessions = await withRetry(() => client.listSessions());
    const match = sessions.find(
      (s) =>
        s.name === options.name &&
        s.size === BigInt(size) &&
        s.chunk_size === chunkSize &&
        s.expected_sha256.length === 1 &&
        bytesEqual(s.expected_sha256[0], digest),
    );
    if (match !== undefined) {
      sessionId = match.session;
      for (const i of match.received) received.add(i);
    }
  }
  const resumed = sessionId !== undefined;
  if (sessionId === undefined) {
    // Not retried blindly: a lost reply would leave an orphan session, which
    // the next attempt's resume (or the TTL) picks up.
    sessionId = await withRetry(() =>
      client.begin({
        name: options.name,
        size: BigInt(size),
        chunk_size: chunkSize,
        content_type: options.contentType ?? 'application/octet-stream',
        expected_sha256: [digest],
      }),
    );
  }
  const session = sessionId;
  const chunkLength = (i: number): number => Math.min(chunkSize, size - i * chunkSize);
  for (const i of received) {
    progress.chunksDone++;
    progress.bytesSent += chunkLength(i);
  }
  report();

  // 3. Send the missing chunks over N lanes.
  const pending: number[] = [];
  for (let i = 0; i < chunkCount; i++) if (!received.has(i)) pending.push(i);
  let next = 0;
  let failure: unknown;
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < pending.length) {
      const index = pending[next++];
      const bytes = await source.read(index * chunkSize, chunkLength(index));
      try {
        await withRetry(() => client.putChunk(session, index, bytes));
      } catch (e) {
        failure ??= e;
        return;
      }
      progress.chunksDone++;
      progress.bytesSent += bytes.length;
      report();
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, Math.max(1, pending.length)) }, lane));
  if (failure !== undefined) throw failure;

  // 4. Finish; wait while the canister is still hashing chunks that arrived early.
  progress.phase = 'finishing';
  report();
  const finishAttempts = options.finishAttempts ?? 120;
  let blobId: BlobId | undefined;
  for (let attempt = 0; blobId === undefined; attempt++) {
    try {
      blobId = await withRetry(() => client.finish(session, digest));
    } catch (e) {
      if (e instanceof UploadCanisterError && e.kind === 'HashInProgress' && attempt < finishAttempts) {
        await sleep(Math.min(2000, baseDelay * 2 ** Math.min(attempt, 4)));
        continue;
      }
      throw e;
    }
  }
  const uploadSeconds = (performance.now() - uploadStarted) / 1000;
  progress.phase = 'done';
  report();
  return {
    blobId,
    sessionId: session,
    sha256: digest,
    size,
    chunkCount,
    chunksSent: pending.length,
    chunksSkipped: received.size,
    resumed,
    retries: retriesUsed,
    hashSeconds,
    uploadSeconds,
    mbps: uploadSeconds > 0 ? size / 1e6 / uploadSeconds : 0,
  };
}
