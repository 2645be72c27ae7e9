/**
 * CBOR for the IC HTTP interface.
 *
 * - Responses are encoded with `@dfinity/cbor`, the agents' own codec, behind
 *   the self-describe tag 55799 (`d9 d9 f7`): text map keys only, minimal
 *   integers, byte strings for blobs, no floats and no other tags — exactly
 *   what the agents' decoder accepts (ic-http-interface.md §1.3).
 * - Request envelopes are decoded with `@dfinity/cbor` too (agents write text
 *   keys only), and `undefined`/`null` fields count as absent.
 * - `decodeCborItem` is a small full decoder (integer and negative map keys,
 *   any tag) for what `@dfinity/cbor` cannot read: COSE public keys inside
 *   WebAuthn keys use integer map keys.
 */
import { decode, encodeWithSelfDescribedTag, type CborValue } from '@dfinity/cbor';

/** A value decoded from a request: what the IC's CBOR data model can carry. */
export type CborData =
  number | bigint | string | Uint8Array | boolean | null | undefined | CborData[] | CborRecord;
export interface CborRecord {
  [key: string]: CborData;
}

/** Bad request bytes; the message is the parser's reason. */
export class CborError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CborError';
  }
}

/** `d9d9f7` + CBOR of `value` (which must hold only text-keyed maps, arrays, text, blobs and integers). */
export function encodeTagged(value: CborData): Uint8Array {
  return encodeWithSelfDescribedTag(value as CborValue);
}

/**
 * Decodes a request body or an embedded CBOR blob (tag 55799 optional). The bytes must be exactly
 * one item: `@dfinity/cbor` stops after the first and would ignore what follows, where the
 * replica's `serde_cbor::from_slice` refuses it ("trailing data at offset N").
 */
export function decodeCbor(bytes: Uint8Array): CborData {
  if (bytes.length === 0) throw new CborError('empty body');
  const end = itemEnd(bytes, 0, 0);
  if (end !== bytes.length) throw new CborError(`trailing data at offset ${end}`);
  try {
    return normalize(decode(bytes) as unknown);
  } catch (e) {
    if (e instanceof CborError) throw e;
    throw new CborError(e instanceof Error ? e.message : String(e));
  }
}

/** Where the CBOR item that starts at `pos` ends, without decoding it (definite and indefinite lengths). */
function itemEnd(bytes: Uint8Array, start: number, depth: number): number {
  if (depth > 64) throw new CborError('CBOR nesting too deep');
  let pos = start;
  const head = bytes[pos++];
  if (head === undefined) throw new CborError('unexpected end of CBOR input');
  const major = head >> 5;
  const info = head & 31;
  if (info === 31) {
    // Indefinite length: byte/text strings, arrays and maps run to a 0xff "break".
    if (major < 2 || major === 6 || major === 7) throw new CborError(`invalid CBOR indefinite length`);
    while (bytes[pos] !== 0xff) {
      if (pos >= bytes.length) throw new CborError('unexpected end of CBOR input');
      pos = itemEnd(bytes, pos, depth + 1);
      if (major === 5) pos = itemEnd(bytes, pos, depth + 1);
    }
    return pos + 1;
  }
  if (info > 27) throw new CborError(`invalid CBOR additional information ${info}`);
  let argument = BigInt(info);
  if (info >= 24) {
    const size = 1 << (info - 24);
    if (pos + size > bytes.length) throw new CborError('unexpected end of CBOR input');
    argument = 0n;
    for (let i = 0; i < size; i++) argument = (argument << 8n) | BigInt(bytes[pos++]!);
  }
  switch (major) {
    case 2:
    case 3:
      if (argument > BigInt(bytes.length - pos)) throw new CborError('CBOR length exceeds input');
      return pos + Number(argument);
    case 4:
    case 5:
      for (let i = 0n; i < argument * (major === 5 ? 2n : 1n); i++) pos = itemEnd(bytes, pos, depth + 1);
      return pos;
    case 6:
      return itemEnd(bytes, pos, depth + 1);
    default:
      return pos; // integers and simple values / floats: the head is the whole item
  }
}

/** Copies into plain records/arrays and Uint8Arrays, rejecting what the IC data model has no use for. */
function normalize(v: unknown): CborData {
  if (
    v === undefined ||
    v === null ||
    typeof v === 'boolean' ||
    typeof v === 'string' ||
    typeof v === 'bigint'
  )
    return v;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new CborError('floating-point numbers are not allowed');
    return v;
  }
  // A brand check, not `instanceof` alone: `@dfinity/cbor` assigns map keys to a plain object, so
  // a map `{"__proto__": h'…'}` decodes to an object whose prototype is a byte string, which
  // passes `instanceof Uint8Array` and throws a TypeError on `.length`.
  if (ArrayBuffer.isView(v) && v instanceof Uint8Array) return v;
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  if (Array.isArray(v)) return v.map(normalize);
  if (typeof v === 'object') {
    const out: CborRecord = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = normalize(x);
    return out;
  }
  throw new CborError(`unsupported CBOR value of type ${typeof v}`);
}

export function isRecord(v: CborData): v is CborRecord {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

// ---- full decoder (COSE keys) -------------------------------------------------

/** A CBOR item with maps kept as key/value pairs, so integer keys survive. */
export type CborItem =
  | { type: 'uint'; value: bigint }
  | { type: 'nint'; value: bigint }
  | { type: 'bytes'; value: Uint8Array }
  | { type: 'text'; value: string }
  | { type: 'array'; items: CborItem[] }
  | { type: 'map'; entries: [CborItem, CborItem][] }
  | { type: 'tag'; tag: bigint; item: CborItem }
  | { type: 'simple'; value: number };

/** Decodes exactly one item covering all of `bytes` (definite lengths only). */
export function decodeCborItem(bytes: Uint8Array): CborItem {
  let pos = 0;
  const byte = (): number => {
    if (pos >= bytes.length) throw new CborError('unexpected end of CBOR input');
    return bytes[pos++]!;
  };
  const argument = (info: number): bigint => {
    if (info < 24) return BigInt(info);
    const n = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (n === 0) throw new CborError(`unsupported CBOR length encoding ${info}`);
    let v = 0n;
    for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(byte());
    return v;
  };
  const take = (len: bigint): Uint8Array => {
    if (len > BigInt(bytes.length - pos)) throw new CborError('CBOR length exceeds input');
    const out = bytes.slice(pos, pos + Number(len));
    pos += Number(len);
    return out;
  };
  const item = (depth: number): CborItem => {
    if (depth > 64) throw new CborError('CBOR nesting too deep');
    const head = byte();
    const major = head >> 5;
    const info = head & 31;
    switch (major) {
      case 0:
        return { type: 'uint', value: argument(info) };
      case 1:
        return { type: 'nint', value: -1n - argument(info) };
      case 2:
        return { type: 'bytes', value: take(argument(info)) };
      case 3:
        return {
          type: 'text',
          value: new TextDecoder('utf-8', { fatal: true }).decode(take(argument(info))),
        };
      case 4: {
        const n = argument(info);
        const items: CborItem[] = [];
        for (let i = 0n; i < n; i++) items.push(item(depth + 1));
        return { type: 'array', items };
      }
      case 5: {
        const n = argument(info);
        const entries: [CborItem, CborItem][] = [];
        for (let i = 0n; i < n; i++) entries.push([item(depth + 1), item(depth + 1)]);
        return { type: 'map', entries };
      }
      case 6:
        return { type: 'tag', tag: argument(info), item: item(depth + 1) };
      default:
        if (info >= 24) throw new CborError('CBOR floats and extended simple values are not supported');
        return { type: 'simple', value: info };
    }
  };
  const result = item(0);
  if (pos !== bytes.length) throw new CborError('trailing bytes after CBOR item');
  return result;
}

/** The item under the self-describe tag, if any. */
export function untag(item: CborItem): CborItem {
  return item.type === 'tag' && item.tag === 55799n ? untag(item.item) : item;
}

/** The value of a map entry whose key is the integer `key`. */
export function mapGetInt(item: CborItem, key: number): CborItem | undefined {
  if (item.type !== 'map') return undefined;
  const k = BigInt(key);
  return item.entries.find(([e]) => (e.type === 'uint' || e.type === 'nint') && e.value === k)?.[1];
}
