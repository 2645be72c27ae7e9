/**
 * Downloading a blob to a file: parallel `read_blob` range queries over lanes, written in
 * place into `<out>.part`, with a journal of the ranges already on disk (`<out>.part.json`)
 * so that an interrupted download resumes where it stopped; at the end the file's SHA-256
 * must equal the blob's metadata, and only then does `<out>` appear.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { createReadStream } from 'node:fs';
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';

import type { BlobId, UploadClient } from './client.ts';
import { LIMITS } from '../src/limits.ts';

export interface DownloadProgress {
  totalBytes: number;
  bytesDone: number;
  rangesDone: number;
  rangeCount: number;
  mbps: number;
}

export interface DownloadOptions {
  /** Range queries in flight at once (default 4). */
  lanes?: number;
  /** Bytes per query: at most 1,900,000, the canister's `read_blob` limit (the default). */
  rangeSize?: number;
  onProgress?: (p: DownloadProgress) => void;
}

export interface DownloadResult {
  path: string;
  size: number;
  sha256: Uint8Array;
  /** Ranges already on disk from an earlier attempt. */
  resumedRanges: number;
  seconds: number;
  mbps: number;
}

/** Raised when the bytes on disk do not hash to the blob's SHA-256; the partial file is removed. */
export class DownloadIntegrityError extends Error {
  readonly expected: Uint8Array;
  readonly actual: Uint8Array;
  constructor(expected: Uint8Array, actual: Uint8Array) {
    super(
      `downloaded bytes hash to ${Buffer.from(actual).toString('hex')}, the blob's SHA-256 is ${Buffer.from(expected).toString('hex')}`,
    );
    this.name = 'DownloadIntegrityError';
    this.expected = expected;
    this.actual = actual;
  }
}

async function fileSha256(path: string): Promise<Uint8Array> {
  const hash = sha256.create();
  for await (const chunk of createReadStream(path)) hash.update(chunk as Uint8Array);
  return hash.digest();
}

/**
 * Downloads `blobId` to `out`.
 *
 * @throws {UploadCanisterError} `BlobNotFound` or `NotOwner`; {@link DownloadIntegrityError}.
 *
 * @example
 * ```ts
 * const { sha256 } = await downloadBlob(client, blobId, 'photo.jpg', { lanes: 4 });
 * ```
 */
export async function downloadBlob(
  client: UploadClient,
  blobId: BlobId,
  out: string,
  options: DownloadOptions = {},
): Promise<DownloadResult> {
  const meta = await client.metadata(blobId);
  const size = Number(meta.size);
  const step = Math.min(options.rangeSize ?? Number(LIMITS.MAX_READ_LENGTH), Number(LIMITS.MAX_READ_LENGTH));
  const lanes = Math.max(1, options.lanes ?? 4);
  const rangeCount = Math.ceil(size / step);
  const part = `${out}.part`;
  const journalPath = `${part}.json`;
  const sha = Buffer.from(meta.sha256).toString('hex');

  // A journal for this very blob (same SHA-256 and range size) lets the ranges it lists be skipped.
  let done = new Set<number>();
  try {
    const journal = JSON.parse(await readFile(journalPath, 'utf8')) as {
      sha256: string;
      rangeSize: number;
      done: number[];
    };
    if (journal.sha256 === sha && journal.rangeSize === step) done = new Set(journal.done);
  } catch {
    done = new Set();
  }
  const resumedRanges = done.size;
  const file = await open(part, done.size > 0 ? 'r+' : 'w').catch(() => open(part, 'w'));
  const started = performance.now();
  let bytesDone = 0;
  const report = (): void => {
    const seconds = (performance.now() - started) / 1000;
    options.onProgress?.({
      totalBytes: size,
      bytesDone,
      rangesDone: done.size,
      rangeCount,
      mbps: seconds > 0 ? bytesDone / 1e6 / seconds : 0,
    });
  };
  try {
    await file.truncate(size);
    let next = 0;
    let journalWrite = Promise.resolve();
    const saveJournal = (): void => {
      const snapshot = JSON.stringify({ sha256: sha, rangeSize: step, done: [...done] });
      journalWrite = journalWrite.then(() => writeFile(journalPath, snapshot));
    };
    const lane = async (): Promise<void> => {
      for (;;) {
        const index = next++;
        if (index >= rangeCount) return;
        if (done.has(index)) continue;
        const offset = index * step;
        const length = Math.min(step, size - offset);
        const bytes = await client.readRange(blobId, BigInt(offset), BigInt(length));
        await file.write(bytes, 0, bytes.length, offset);
        done.add(index);
        bytesDone += bytes.length;
        saveJournal();
        report();
      }
    };
    await Promise.all(Array.from({ length: Math.min(lanes, Math.max(rangeCount, 1)) }, lane));
    await journalWrite;
  } finally {
    await file.close();
  }
  const actual = await fileSha256(part);
  if (Buffer.compare(Buffer.from(actual), Buffer.from(meta.sha256)) !== 0) {
    await rm(part, { force: true });
    await rm(journalPath, { force: true });
    throw new DownloadIntegrityError(meta.sha256, actual);
  }
  await rename(part, out);
  await rm(journalPath, { force: true });
  const seconds = (performance.now() - started) / 1000;
  report();
  return {
    path: out,
    size,
    sha256: actual,
    resumedRanges,
    seconds,
    mbps: seconds > 0 ? size / 1e6 / seconds : 0,
  };
}
