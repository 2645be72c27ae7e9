// SHA-256 (FIPS 180-4) written for an interpreter.
//
// Azle's stable mode runs the canister's JavaScript in QuickJS and offers no
// native hash, so every uploaded byte passes through this file. What keeps
// it cheap in an interpreter (measured in canister/bench/sha256-variants.ts):
//   - only 32-bit integer arithmetic, every result forced back with `| 0`
//     so QuickJS keeps small-int tags and never falls back to doubles;
//     `>>> 0` is never used (it yields values above 2^31 = doubles);
//   - the state lives in an Int32Array and the 64 rounds use local
//     variables; the message schedule is a module-level Int32Array reused by
//     every block (no allocation, no closure per block);
//   - whole 64-byte blocks are compressed in one loop that reads straight
//     from the caller's bytes; only a trailing partial block is copied, into
//     the pending tail;
//   - the rounds are unrolled eight at a time with the working variables
//     renamed instead of shifted, which removes seven of the eight moves per
//     round.
//
// The resumable state is what the canister persists after every chunk: the
// eight-word midstate, the pending tail (< 64 bytes) and the total length.

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

// Message schedule, shared by every call (the canister is single-threaded).
const W = new Int32Array(64);

/** Resumable SHA-256 state: midstate, pending tail and total length. */
export interface Sha256State {
  /** The eight 32-bit chaining words (signed view of the uint32 values). */
  readonly h: Int32Array;
  /** Bytes not yet compressed; always fewer than 64. */
  tail: Uint8Array;
  /** Total number of bytes absorbed so far (at most 2^53 - 1). */
  length: number;
}

export function sha256Init(): Sha256State {
  return { h: Int32Array.from(IV), tail: new Uint8Array(0), length: 0 };
}

export function sha256Clone(state: Sha256State): Sha256State {
  return { h: Int32Array.from(state.h), tail: state.tail.slice(), length: state.length };
}

/**
 * Compresses the whole 64-byte blocks of `data[offset .. offset + blocks*64)`
 * into `h`. This is the hot loop: everything in it is int32 arithmetic on
 * locals.
 */
// prettier-ignore
function compress(h: Int32Array, data: Uint8Array, offset: number, blocks: number): void {
  const w = W;
  const k = K;
  let h0 = h[0] | 0, h1 = h[1] | 0, h2 = h[2] | 0, h3 = h[3] | 0;
  let h4 = h[4] | 0, h5 = h[5] | 0, h6 = h[6] | 0, h7 = h[7] | 0;
  let p = offset;
  for (let blk = 0; blk < blocks; blk++) {
    for (let i = 0; i < 16; i++) {
      w[i] = (data[p] << 24) | (data[p + 1] << 16) | (data[p + 2] << 8) | data[p + 3];
      p += 4;
    }
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15];
      const y = w[i - 2];
      const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, hh = h7;
    let t1 = 0, t2 = 0;
    // Eight rounds per iteration; the roles of a..h rotate by renaming.
    for (let i = 0; i < 64; i += 8) {
      t1 = (hh + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + ((e & f) ^ (~e & g)) + k[i] + w[i]) | 0;
      t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      d = (d + t1) | 0; hh = (t1 + t2) | 0;
      t1 = (g + (((d >>> 6) | (d << 26)) ^ ((d >>> 11) | (d << 21)) ^ ((d >>> 25) | (d << 7))) + ((d & e) ^ (~d & f)) + k[i + 1] + w[i + 1]) | 0;
      t2 = ((((hh >>> 2) | (hh << 30)) ^ ((hh >>> 13) | (hh << 19)) ^ ((hh >>> 22) | (hh << 10))) + ((hh & a) ^ (hh & b) ^ (a & b))) | 0;
      c = (c + t1) | 0; g = (t1 + t2) | 0;
      t1 = (f + (((c >>> 6) | (c << 26)) ^ ((c >>> 11) | (c << 21)) ^ ((c >>> 25) | (c << 7))) + ((c & d) ^ (~c & e)) + k[i + 2] + w[i + 2]) | 0;
      t2 = ((((g >>> 2) | (g << 30)) ^ ((g >>> 13) | (g << 19)) ^ ((g >>> 22) | (g << 10))) + ((g & hh) ^ (g & a) ^ (hh & a))) | 0;
      b = (b + t1) | 0; f = (t1 + t2) | 0;
      t1 = (e + (((b >>> 6) | (b << 26)) ^ ((b >>> 11) | (b << 21)) ^ ((b >>> 25) | (b << 7))) + ((b & c) ^ (~b & d)) + k[i + 3] + w[i + 3]) | 0;
      t2 = ((((f >>> 2) | (f << 30)) ^ ((f >>> 13) | (f << 19)) ^ ((f >>> 22) | (f << 10))) + ((f & g) ^ (f & hh) ^ (g & hh))) | 0;
      a = (a + t1) | 0; e = (t1 + t2) | 0;
      t1 = (d + (((a >>> 6) | (a << 26)) ^ ((a >>> 11) | (a << 21)) ^ ((a >>> 25) | (a << 7))) + ((a & b) ^ (~a & c)) + k[i + 4] + w[i + 4]) | 0;
      t2 = ((((e >>> 2) | (e << 30)) ^ ((e >>> 13) | (e << 19)) ^ ((e >>> 22) | (e << 10))) + ((e & f) ^ (e & g) ^ (f & g))) | 0;
      hh = (hh + t1) | 0; d = (t1 + t2) | 0;
      t1 = (c + (((hh >>> 6) | (hh << 26)) ^ ((hh >>> 11) | (hh << 21)) ^ ((hh >>> 25) | (hh << 7))) + ((hh & a) ^ (~hh & b)) + k[i + 5] + w[i + 5]) | 0;
      t2 = ((((d >>> 2) | (d << 30)) ^ ((d >>> 13) | (d << 19)) ^ ((d >>> 22) | (d << 10))) + ((d & e) ^ (d & f) ^ (e & f))) | 0;
      g = (g + t1) | 0; c = (t1 + t2) | 0;
      t1 = (b + (((g >>> 6) | (g << 26)) ^ ((g >>> 11) | (g << 21)) ^ ((g >>> 25) | (g << 7))) + ((g & hh) ^ (~g & a)) + k[i + 6] + w[i + 6]) | 0;
      t2 = ((((c >>> 2) | (c << 30)) ^ ((c >>> 13) | (c << 19)) ^ ((c >>> 22) | (c << 10))) + ((c & d) ^ (c & e) ^ (d & e))) | 0;
      f = (f + t1) | 0; b = (t1 + t2) | 0;
      t1 = (a + (((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7))) + ((f & g) ^ (~f & hh)) + k[i + 7] + w[i + 7]) | 0;
      t2 = ((((b >>> 2) | (b << 30)) ^ ((b >>> 13) | (b << 19)) ^ ((b >>> 22) | (b << 10))) + ((b & c) ^ (b & d) ^ (c & d))) | 0;
      e = (e + t1) | 0; a = (t1 + t2) | 0;
    }
    h0 = (h0 + a) | 0; h1 = (h1 + b) | 0; h2 = (h2 + c) | 0; h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0; h5 = (h5 + f) | 0; h6 = (h6 + g) | 0; h7 = (h7 + hh) | 0;
  }
  h[0] = h0; h[1] = h1; h[2] = h2; h[3] = h3;
  h[4] = h4; h[5] = h5; h[6] = h6; h[7] = h7;
}

/** Absorbs `data` into `state` (mutates it). */
export function sha256Update(state: Sha256State, data: Uint8Array): void {
  const n = data.length;
  if (n === 0) return;
  state.length += n;
  let p = 0;
  const tail = state.tail;
  if (tail.length > 0) {
    const need = 64 - tail.length;
    if (n < need) {
      const joined = new Uint8Array(tail.length + n);
      joined.set(tail, 0);
      joined.set(data, tail.length);
      state.tail = joined;
      return;
    }
    const block = new Uint8Array(64);
    block.set(tail, 0);
    block.set(data.subarray(0, need), tail.length);
    compress(state.h, block, 0, 1);
    p = need;
  }
  const blocks = ((n - p) / 64) | 0;
  if (blocks > 0) {
    compress(state.h, data, p, blocks);
    p += blocks * 64;
  }
  state.tail = data.slice(p);
}

/** The digest of everything absorbed so far; `state` is left unchanged. */
export function sha256Digest(state: Sha256State): Uint8Array {
  const h = Int32Array.from(state.h);
  const tailLength = state.tail.length;
  const padded = new Uint8Array(tailLength < 56 ? 64 : 128);
  padded.set(state.tail, 0);
  padded[tailLength] = 0x80;
  const bitsHigh = Math.floor(state.length / 0x20000000); // length * 8 / 2^32
  const bitsLow = (state.length * 8) % 0x100000000;
  const end = padded.length;
  padded[end - 8] = bitsHigh >>> 24;
  padded[end - 7] = bitsHigh >>> 16;
  padded[end - 6] = bitsHigh >>> 8;
  padded[end - 5] = bitsHigh;
  padded[end - 4] = bitsLow >>> 24;
  padded[end - 3] = bitsLow >>> 16;
  padded[end - 2] = bitsLow >>> 8;
  padded[end - 1] = bitsLow;
  compress(h, padded, 0, end / 64);
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    const v = h[i];
    out[i * 4] = v >>> 24;
    out[i * 4 + 1] = v >>> 16;
    out[i * 4 + 2] = v >>> 8;
    out[i * 4 + 3] = v;
  }
  return out;
}

export function sha256(data: Uint8Array): Uint8Array {
  const state = sha256Init();
  sha256Update(state, data);
  return sha256Digest(state);
}

/**
 * Fixed binary form of a state, for stable storage:
 * 32 bytes midstate (big-endian words) | 8 bytes length (big-endian) |
 * 1 byte tail length | tail bytes.
 */
export function encodeSha256State(state: Sha256State): Uint8Array {
  const out = new Uint8Array(41 + state.tail.length);
  for (let i = 0; i < 8; i++) {
    const v = state.h[i];
    out[i * 4] = v >>> 24;
    out[i * 4 + 1] = v >>> 16;
    out[i * 4 + 2] = v >>> 8;
    out[i * 4 + 3] = v;
  }
  const high = Math.floor(state.length / 0x100000000);
  const low = state.length % 0x100000000;
  writeU32(out, 32, high);
  writeU32(out, 36, low);
  out[40] = state.tail.length;
  out.set(state.tail, 41);
  return out;
}

export function decodeSha256State(bytes: Uint8Array): Sha256State {
  if (bytes.length < 41 || bytes[40] >= 64 || bytes.length !== 41 + bytes[40]) {
    throw new Error(`corrupt SHA-256 state (${bytes.length} bytes)`);
  }
  const h = new Int32Array(8);
  for (let i = 0; i < 8; i++) {
    h[i] = (bytes[i * 4] << 24) | (bytes[i * 4 + 1] << 16) | (bytes[i * 4 + 2] << 8) | bytes[i * 4 + 3];
  }
  const length = readU32(bytes, 32) * 0x100000000 + readU32(bytes, 36);
  return { h, tail: bytes.slice(41), length };
}

function writeU32(out: Uint8Array, at: number, v: number): void {
  out[at] = v >>> 24;
  out[at + 1] = v >>> 16;
  out[at + 2] = v >>> 8;
  out[at + 3] = v;
}

function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}
