/**
 * JSON.parse for request bodies that carry large string literals (in PocketIC's REST API, the
 * base64 of arguments, modules and blobs: 2.5 MB for a 1.9 MB argument). Decoding such a body
 * to a string and letting JSON.parse scan it costs milliseconds per megabyte; here each large
 * literal that is plain printable ASCII without escapes is cut out of the bytes, the rest is
 * parsed, and the literal comes back as a string copied straight from its bytes (latin1, which
 * is ASCII here), so the value is the one JSON.parse gives for the whole text.
 *
 * A literal that is standard base64 (nearly all of them: arguments, modules) is decoded at
 * once, straight from the bytes, and its decoding is what proves it plain; its bytes stay with
 * the parsed object for the codec to take (`takeDecodedBase64`), and as an object's field its
 * text is made only if something reads it (an accessor that then becomes the plain value).
 *
 * Whatever this cannot do exactly it leaves to the caller (`undefined`): a body without large
 * plain literals, one whose remainder does not parse (so that the error names positions in the
 * real text), and a large literal used as an object key.
 */
import { isAscii } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import { decodeStandardBase64Range } from './base64.ts';
import type { Json } from './codec.ts';

/** A large plain literal: its content range in the body, and its bytes when it is standard base64. */
interface Literal {
  start: number;
  end: number;
  bytes?: Uint8Array;
}

/** Per parsed object, its base64 fields: their bytes, and the accessor that makes their text. */
const decoded = new WeakMap<object, Map<string, { bytes: Uint8Array; get: () => string }>>();

/**
 * The bytes of the standard base64 literal that `parseWithLargeLiterals` placed at
 * `holder[key]`, decoded while parsing, or `undefined` (another value, or already taken).
 * Handed out once, so that no two callers share the buffer.
 */
export function takeDecodedBase64(holder: object, key: string): Uint8Array | undefined {
  const fields = decoded.get(holder);
  const entry = fields?.get(key);
  if (!entry || Object.getOwnPropertyDescriptor(holder, key)?.get !== entry.get) return undefined;
  fields!.delete(key);
  return entry.bytes;
}

/**
 * Makes `holder[key]` the literal's text on first read (then a plain data property, as
 * JSON.parse makes it), or whatever is assigned first; records the literal's bytes.
 */
function lazyField(
  holder: { [key: string]: Json },
  key: string,
  bytes: Uint8Array,
  text: () => string,
): void {
  const settle = (value: Json): void => {
    Object.defineProperty(holder, key, { value, writable: true, enumerable: true, configurable: true });
  };
  const get = (): string => {
    const value = text();
    settle(value);
    return value;
  };
  Object.defineProperty(holder, key, { get, set: settle, enumerable: true, configurable: true });
  let fields = decoded.get(holder);
  if (!fields) decoded.set(holder, (fields = new Map()));
  fields.set(key, { bytes, get });
}

/** String literals at least this long (bytes) are cut out. */
export const LARGE_LITERAL = 64 * 1024;

/** Whether the `"` at `at` is escaped: preceded by an odd number of backslashes. */
function escaped(buf: Buffer, at: number): boolean {
  let n = 0;
  for (let i = at - 1; i >= 0 && buf[i] === 0x5c; i--) n++;
  return n % 2 === 1;
}

/** Whether `buf[start, end)` holds a byte below 0x20 (a control character JSON forbids in strings), given all bytes are ASCII. */
function hasControl(buf: Buffer, start: number, end: number): boolean {
  let i = start;
  // Up to a 4-byte boundary one byte at a time, then four at a time: a word holds a byte
  // below 0x20 iff (w − 0x20202020) & ~w & 0x80808080 (every byte is below 0x80 here).
  for (; i < end && (buf.byteOffset + i) % 4 !== 0; i++) if (buf[i]! < 0x20) return true;
  const words = (end - i) >> 2;
  const w32 = new Uint32Array(buf.buffer, buf.byteOffset + i, words);
  for (let k = 0; k < words; k++) {
    const w = w32[k]!;
    if (((w - 0x20202020) & ~w & 0x80808080) !== 0) return true;
  }
  for (i += words * 4; i < end; i++) if (buf[i]! < 0x20) return true;
  return false;
}

/**
 * The literal at `[start, end)` when JSON.parse would read its bytes as they are: standard
 * base64 (whose alphabet has no escape, control or non-ASCII character), or else no
 * backslash and printable ASCII.
 */
function plainLiteral(buf: Buffer, start: number, end: number): Literal | undefined {
  // Read as latin1, one character per byte: a non-ASCII byte is a character base64 refuses.
  const bytes = decodeStandardBase64Range(buf, start, end);
  if (bytes) return { start, end, bytes };
  const backslash = buf.indexOf(0x5c, start);
  if (
    (backslash === -1 || backslash >= end) &&
    isAscii(buf.subarray(start, end)) &&
    !hasControl(buf, start, end)
  )
    return { start, end };
  return undefined;
}

/** The body's large plain literals (see `plainLiteral`). */
function largeLiterals(buf: Buffer): Literal[] {
  const ranges: Literal[] = [];
  // Outside strings JSON has no `"`; a string ends at its first unescaped `"`.
  let open = buf.indexOf(0x22);
  while (open !== -1) {
    let close = buf.indexOf(0x22, open + 1);
    while (close !== -1 && escaped(buf, close)) close = buf.indexOf(0x22, close + 1);
    if (close === -1) break;
    const start = open + 1;
    if (close - start >= LARGE_LITERAL) {
      const literal = plainLiteral(buf, start, close);
      if (literal) ranges.push(literal);
    }
    open = buf.indexOf(0x22, close + 1);
  }
  return ranges;
}

/**
 * The body parsed as JSON.parse would parse its UTF-8 text, or `undefined` when the caller
 * should parse it the ordinary way. Throws `TypeError` for a body that is not valid UTF-8.
 */
export function parseWithLargeLiterals(
  bytes: Uint8Array,
  refuse?: (value: Json) => boolean,
): Json | undefined {
  if (bytes.byteLength < LARGE_LITERAL) return undefined;
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ranges = largeLiterals(buf);
  if (ranges.length === 0) return undefined;
  // Markers no request can spell by chance: a fresh random id per body.
  const prefix = `\u0000icsim-literal-${randomUUID()}-`;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let text = '';
  let at = 0;
  ranges.forEach(({ start, end }, k) => {
    text += decoder.decode(buf.subarray(at, start)) + JSON.stringify(prefix + k).slice(1, -1);
    at = end;
  });
  text += decoder.decode(buf.subarray(at));
  let value: Json;
  try {
    value = JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
  // Before the literals come back (strings either way), so that no lazy text is read.
  if (refuse?.(value)) return undefined;
  const literal = (s: string): Literal | undefined =>
    s.startsWith(prefix) ? ranges[Number(s.slice(prefix.length))] : undefined;
  const textOf = (l: Literal): string => buf.toString('latin1', l.start, l.end);
  let keyed = false;
  const restore = (v: Json): Json => {
    if (typeof v === 'string') {
      const found = literal(v);
      return found ? textOf(found) : v;
    }
    if (v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = restore(v[i]!);
      return v;
    }
    for (const key of Object.keys(v)) {
      if (literal(key) !== undefined) keyed = true;
      const child = v[key]!;
      const found = typeof child === 'string' ? literal(child) : undefined;
      if (found?.bytes) lazyField(v, key, found.bytes, () => textOf(found));
      else v[key] = restore(child);
    }
    return v;
  };
  const restored = restore(value);
  return keyed ? undefined : restored;
}
