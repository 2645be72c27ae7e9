/**
 * The file format of a persisted instance: an append-only log of records, each
 * `[u32 length][u32 CRC-32][payload]` (little-endian) after a fixed header, the payload a
 * `node:v8` serialization (byte arrays, bigints and maps survive it as they are).
 *
 * Crash consistency: a record is appended with one synchronous write before the operation it
 * records is answered, so every acknowledged operation is in the file (a `kill -9` cannot lose
 * what the kernel has accepted). A process killed in the middle of an append leaves a record
 * whose length or checksum does not match: the operation that was in flight, never answered.
 * `readLog` drops that tail (and `openLog` cuts it off the file); damage anywhere before the
 * tail is refused with an error that names the file and the offset.
 */
import { closeSync, fstatSync, ftruncateSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { deserialize, serialize } from 'node:v8';
import { crc32 } from 'node:zlib';

/** The first bytes of every log: the format and its version. */
export const LOG_MAGIC = Buffer.from('icsim-log v1\n', 'utf8');

/** A log that cannot be read: what is wrong, and where. */
export class StateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateError';
  }
}

/** What `readLog` found: the records and how many bytes of the file they cover. */
export interface LogContents {
  records: unknown[];
  /** The length of the valid prefix: what is past it is an append that never finished. */
  validBytes: number;
  /** Bytes dropped from the end (an append cut short by a crash). */
  droppedBytes: number;
}

/** Encodes one record as it is appended. */
export function encodeRecord(value: unknown): Buffer {
  const payload = serialize(value);
  const record = Buffer.allocUnsafe(8 + payload.length);
  record.writeUInt32LE(payload.length, 0);
  record.writeUInt32LE(crc32(payload), 4);
  payload.copy(record, 8);
  return record;
}

/**
 * Parses a log's bytes. A record cut short at the end, or whose checksum fails and that reaches
 * the end, is an unfinished append and is dropped; anything else that does not parse is damage.
 * @throws StateError for a file that is not a log, or is damaged before its last record.
 */
export function parseLog(bytes: Uint8Array, file: string): LogContents {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < LOG_MAGIC.length || !buf.subarray(0, LOG_MAGIC.length).equals(LOG_MAGIC)) {
    // A log whose header itself was being written when the process died holds no record yet.
    if (buf.length < LOG_MAGIC.length && LOG_MAGIC.subarray(0, buf.length).equals(buf))
      return { records: [], validBytes: 0, droppedBytes: buf.length };
    throw new StateError(`${file} is not an icsim state log (it does not start with "icsim-log v1")`);
  }
  const records: unknown[] = [];
  let at = LOG_MAGIC.length;
  while (at < buf.length) {
    const tail = (): LogContents => ({ records, validBytes: at, droppedBytes: buf.length - at });
    if (buf.length - at < 8) return tail();
    const length = buf.readUInt32LE(at);
    const end = at + 8 + length;
    if (end > buf.length) return tail();
    const payload = buf.subarray(at + 8, end);
    if (crc32(payload) !== buf.readUInt32LE(at + 4)) {
      if (end === buf.length) return tail();
      throw new StateError(`${file} is damaged: the record at byte ${at} fails its checksum`);
    }
    try {
      records.push(deserialize(payload));
    } catch (e) {
      throw new StateError(
        `${file} is damaged: the record at byte ${at} does not decode (${(e as Error).message})`,
      );
    }
    at = end;
  }
  return { records, validBytes: at, droppedBytes: 0 };
}

/**
 * The first record of a log file, reading only its bytes: what the server's main thread needs
 * (the instance's configuration) without reading a history of any length.
 * @throws StateError for a file that is not a log, or whose first record is missing or damaged.
 */
export function readFirstRecord(file: string): unknown {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(LOG_MAGIC.length + 8);
    const got = readSync(fd, head, 0, head.length, 0);
    if (got < LOG_MAGIC.length || !head.subarray(0, LOG_MAGIC.length).equals(LOG_MAGIC))
      throw new StateError(`${file} is not an icsim state log (it does not start with "icsim-log v1")`);
    if (got < head.length) throw new StateError(`${file} holds no record`);
    const length = head.readUInt32LE(LOG_MAGIC.length);
    const payload = Buffer.alloc(length);
    if (readSync(fd, payload, 0, length, head.length) !== length)
      throw new StateError(`${file} is damaged: its first record is cut short`);
    if (crc32(payload) !== head.readUInt32LE(LOG_MAGIC.length + 4))
      throw new StateError(`${file} is damaged: the record at byte ${LOG_MAGIC.length} fails its checksum`);
    try {
      return deserialize(payload);
    } catch (e) {
      throw new StateError(`${file} is damaged: its first record does not decode (${(e as Error).message})`);
    }
  } finally {
    closeSync(fd);
  }
}

/** Reads a log file (see `parseLog`). */
export function readLog(file: string): LogContents {
  return parseLog(readFileSync(file), file);
}

/**
 * A log open for appending. It holds no file descriptor between appends: a worker ended in the
 * middle of an operation (a busy instance deleted) leaves nothing open behind.
 */
export class LogWriter {
  #open = true;
  readonly file: string;

  private constructor(file: string) {
    this.file = file;
  }

  /**
   * Opens `file` for appending after its first `validBytes` bytes (what `readLog` accepted),
   * cutting off an unfinished append; creates it with its header when it does not exist.
   */
  static open(file: string, validBytes: number): LogWriter {
    const fd = openSync(file, 'a+');
    try {
      if (validBytes < LOG_MAGIC.length) {
        ftruncateSync(fd, 0);
        writeSync(fd, LOG_MAGIC);
      } else if (fstatSync(fd).size !== validBytes) ftruncateSync(fd, validBytes);
    } finally {
      closeSync(fd);
    }
    return new LogWriter(file);
  }

  /** Appends one record with a single synchronous write (`O_APPEND`). */
  append(value: unknown): void {
    if (!this.#open) throw new Error(`${this.file} is closed`);
    const record = encodeRecord(value);
    const fd = openSync(this.file, 'a');
    try {
      let written = 0;
      while (written < record.length) written += writeSync(fd, record, written);
    } finally {
      closeSync(fd);
    }
  }

  close(): void {
    this.#open = false;
  }
}
