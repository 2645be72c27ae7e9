// SHA-256 block-compression variants written for an interpreter, shared by
// the Node benchmark (sha256-variants.ts) and the QuickJS benchmark canister
// (sha-canister/). Every variant is checked against @noble/hashes first.

// prettier-ignore
const K = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
].map((v) => v | 0);
// prettier-ignore
const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

export type Compress = (h: Int32Array, data: Uint8Array, offset: number, blocks: number) => void;

// Textbook loop: one round per iteration, eight moves per round.
// prettier-ignore
export function makeLoop(useTyped: boolean): Compress {
  const k: ArrayLike<number> = useTyped ? Int32Array.from(K) : K.slice();
  const w: number[] | Int32Array = useTyped ? new Int32Array(64) : new Array<number>(64).fill(0);
  return (h, data, offset, blocks) => {
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
      let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
      for (let i = 0; i < 64; i++) {
        const t1 = (hh + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + ((e & f) ^ (~e & g)) + k[i] + w[i]) | 0;
        const t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0;
      h[4] = (h[4] + e) | 0; h[5] = (h[5] + f) | 0; h[6] = (h[6] + g) | 0; h[7] = (h[7] + hh) | 0;
    }
  };
}

// Same loop, words read through a DataView (one call per word).
// prettier-ignore
export function makeDataView(): Compress {
  const k = Int32Array.from(K);
  const w = new Int32Array(64);
  return (h, data, offset, blocks) => {
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let p = offset;
    for (let blk = 0; blk < blocks; blk++) {
      for (let i = 0; i < 16; i++, p += 4) w[i] = view.getInt32(p);
      for (let i = 16; i < 64; i++) {
        const x = w[i - 15];
        const y = w[i - 2];
        w[i] = (w[i - 16] + (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) + w[i - 7] + (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) | 0;
      }
      let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
      for (let i = 0; i < 64; i++) {
        const t1 = (hh + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + ((e & f) ^ (~e & g)) + k[i] + w[i]) | 0;
        const t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0;
      h[4] = (h[4] + e) | 0; h[5] = (h[5] + f) | 0; h[6] = (h[6] + g) | 0; h[7] = (h[7] + hh) | 0;
    }
  };
}

// Fully unrolled: 64 rounds with constants inlined and the schedule kept in
// sixteen local variables (no array access in the rounds at all).
/** Source of the fully unrolled compression function body (params: h, data, offset, blocks). */
export type UnrollOptions = {
  /** Ch as g ^ (e & (f ^ g)) and Maj as (a & b) | (c & (a | b)): one op fewer each. */
  fewerOps?: boolean;
  /** Function-scoped \`var\`s instead of block-scoped \`let\`s (QuickJS checks the TDZ of lets). */
  useVar?: boolean;
};

export function fullUnrollSource(options: UnrollOptions = {}): string {
  const decl = options.useVar ? 'var' : 'let';
  const v = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'hh'];
  const rot = (x: string, n: number): string => `((${x} >>> ${n}) | (${x} << ${32 - n}))`;
  let body = '';
  for (let i = 0; i < 16; i++) {
    body += `${decl} w${i} = (data[p] << 24) | (data[p + 1] << 16) | (data[p + 2] << 8) | data[p + 3]; p += 4;\n`;
  }
  for (let i = 0; i < 64; i++) {
    const r = (j: number): string => v[(j - i + 64 * 8) % 8];
    const [a, b, c, d, e, f, g, hh] = [0, 1, 2, 3, 4, 5, 6, 7].map(r);
    const wi = `w${i % 16}`;
    if (i >= 16) {
      const x = `w${(i - 15) % 16}`;
      const y = `w${(i - 2) % 16}`;
      body += `${wi} = (${wi} + (${rot(x, 7)} ^ ${rot(x, 18)} ^ (${x} >>> 3)) + w${(i - 7) % 16} + (${rot(y, 17)} ^ ${rot(y, 19)} ^ (${y} >>> 10))) | 0;\n`;
    }
    const ch = options.fewerOps ? `(${g} ^ (${e} & (${f} ^ ${g})))` : `((${e} & ${f}) ^ (~${e} & ${g}))`;
    const maj = options.fewerOps
      ? `((${a} & ${b}) | (${c} & (${a} | ${b})))`
      : `((${a} & ${b}) ^ (${a} & ${c}) ^ (${b} & ${c}))`;
    body += `t1 = (${hh} + (${rot(e, 6)} ^ ${rot(e, 11)} ^ ${rot(e, 25)}) + ${ch} + ${K[i]} + ${wi}) | 0;\n`;
    body += `t2 = ((${rot(a, 2)} ^ ${rot(a, 13)} ^ ${rot(a, 22)}) + ${maj}) | 0;\n`;
    body += `${d} = (${d} + t1) | 0; ${hh} = (t1 + t2) | 0;\n`;
  }
  const src = `
    ${decl} p = offset;
    ${decl} h0 = h[0], h1 = h[1], h2 = h[2], h3 = h[3], h4 = h[4], h5 = h[5], h6 = h[6], h7 = h[7];
    for (${decl} blk = 0; blk < blocks; blk++) {
      ${decl} a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, hh = h7, t1 = 0, t2 = 0;
      ${body}
      h0 = (h0 + a) | 0; h1 = (h1 + b) | 0; h2 = (h2 + c) | 0; h3 = (h3 + d) | 0;
      h4 = (h4 + e) | 0; h5 = (h5 + f) | 0; h6 = (h6 + g) | 0; h7 = (h7 + hh) | 0;
    }
    h[0] = h0; h[1] = h1; h[2] = h2; h[3] = h3; h[4] = h4; h[5] = h5; h[6] = h6; h[7] = h7;`;
  return src;
}

export function makeFullUnroll(options: UnrollOptions = {}): Compress {
  return new Function('h', 'data', 'offset', 'blocks', fullUnrollSource(options)) as Compress;
}

export function digestWith(compress: Compress, data: Uint8Array): Uint8Array {
  const h = Int32Array.from(IV);
  const full = Math.floor(data.length / 64);
  compress(h, data, 0, full);
  const rest = data.length - full * 64;
  const pad = new Uint8Array(rest < 56 ? 64 : 128);
  pad.set(data.subarray(full * 64));
  pad[rest] = 0x80;
  const bits = data.length * 8;
  new DataView(pad.buffer).setUint32(pad.length - 8, Math.floor(bits / 2 ** 32));
  new DataView(pad.buffer).setUint32(pad.length - 4, bits >>> 0);
  compress(h, pad, 0, pad.length / 64);
  const out = new Uint8Array(32);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) view.setInt32(i * 4, h[i]);
  return out;
}

const K8 = Int32Array.from(K);
const W8 = new Int32Array(64);

// Eight rounds per loop iteration with the working variables renamed (the
// first version shipped in canister/src/sha256.ts).
// prettier-ignore
export function compressUnrolled8(h: Int32Array, data: Uint8Array, offset: number, blocks: number): void {
  const w = W8;
  const k = K8;
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
