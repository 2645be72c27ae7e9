/**
 * Representation-independent hashing (IC interface specification,
 * "Representation-independent hashing of structured data"), computed over
 * whatever content map arrived, so fields the simulator does not know
 * (`nonce`, `sender_info`, future ones) are part of the request id, as the
 * agent hashes them.
 *
 *   hash(text)  = H(utf8)          hash(blob)  = H(bytes)
 *   hash(nat)   = H(uleb128)       hash(int)   = H(sleb128)
 *   hash(array) = H(hash(e0) ‖ hash(e1) ‖ …)
 *   hash(map)   = H(concat(sort(H(key) ‖ hash(value))))   (absent fields skipped)
 */
import { compareBytes, concatBytes } from '../bytes.ts';
import { sha256 } from '../sha256.ts';
import type { CborData, CborRecord } from './cbor.ts';

export class HashError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HashError';
  }
}

const utf8 = new TextEncoder();

export function uleb128(n: bigint): Uint8Array {
  if (n < 0n) throw new HashError('negative natural number');
  const out: number[] = [];
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n !== 0n) b |= 0x80;
    out.push(b);
  } while (n !== 0n);
  return Uint8Array.from(out);
}

export function sleb128(n: bigint): Uint8Array {
  const out: number[] = [];
  for (;;) {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    const done = (n === 0n && (b & 0x40) === 0) || (n === -1n && (b & 0x40) !== 0);
    out.push(done ? b : b | 0x80);
    if (done) return Uint8Array.from(out);
  }
}

export function hashValue(v: CborData): Uint8Array {
  if (typeof v === 'string') return sha256(utf8.encode(v));
  if (v instanceof Uint8Array) return sha256(v);
  if (typeof v === 'number' || typeof v === 'bigint') {
    const n = BigInt(v);
    return sha256(n >= 0n ? uleb128(n) : sleb128(n));
  }
  if (Array.isArray(v)) return sha256(concatBytes(v.map(hashValue)));
  if (v !== null && typeof v === 'object') return hashOfMap(v);
  throw new HashError(`cannot hash a value of type ${v === null ? 'null' : typeof v}`);
}

export function hashOfMap(map: CborRecord): Uint8Array {
  const pairs: Uint8Array[] = [];
  for (const [key, value] of Object.entries(map)) {
    if (value === undefined || value === null) continue;
    pairs.push(concatBytes([sha256(utf8.encode(key)), hashValue(value)]));
  }
  pairs.sort(compareBytes);
  return sha256(concatBytes(pairs));
}

/** The request id of a content map. */
export function requestIdOf(content: CborRecord): Uint8Array {
  return hashOfMap(content);
}
