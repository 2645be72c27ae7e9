import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';

import {
  decodeSha256State,
  encodeSha256State,
  sha256,
  sha256Clone,
  sha256Digest,
  sha256Init,
  sha256Update,
} from './src/sha256.ts';

// Deterministic pseudo-random bytes (xorshift32) so failures reproduce.
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

function randomBytes(next: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = next() & 0xff;
  return out;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('sha256', () => {
  it('matches the FIPS 180-4 test vectors', () => {
    const enc = new TextEncoder();
    expect(hex(sha256(new Uint8Array(0)))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(hex(sha256(enc.encode('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(hex(sha256(enc.encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
    expect(hex(sha256(new Uint8Array(1_000_000).fill(0x61)))).toBe(
      'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
    );
  });

  it('matches @noble/hashes on every length around the block and padding boundaries', () => {
    const next = rng(7);
    for (let n = 0; n <= 300; n++) {
      const data = randomBytes(next, n);
      expect(hex(sha256(data)), `length ${n}`).toBe(hex(nobleSha256(data)));
    }
  });

  it('matches @noble/hashes on random inputs fed in random chunkings', () => {
    const next = rng(2024);
    for (let round = 0; round < 200; round++) {
      const n = next() % (round < 150 ? 4096 : 200_000);
      const data = randomBytes(next, n);
      const state = sha256Init();
      let p = 0;
      while (p < n) {
        // Mix tiny, block-sized and large pieces.
        const shape = next() % 4;
        const step =
          shape === 0 ? 1 + (next() % 7) : shape === 1 ? 64 * (1 + (next() % 4)) : 1 + (next() % 5000);
        sha256Update(state, data.subarray(p, Math.min(n, p + step)));
        p += step;
      }
      expect(state.length).toBe(n);
      expect(state.tail.length).toBe(n % 64);
      expect(hex(sha256Digest(state)), `round ${round}, length ${n}`).toBe(hex(nobleSha256(data)));
    }
  });

  it('resumes from an encoded state exactly where it stopped', () => {
    const next = rng(99);
    for (let round = 0; round < 50; round++) {
      const data = randomBytes(next, 1 + (next() % 3000));
      const cut = next() % data.length;
      const state = sha256Init();
      sha256Update(state, data.subarray(0, cut));
      const encoded = encodeSha256State(state);
      expect(encoded.length).toBe(41 + (cut % 64));
      const resumed = decodeSha256State(encoded);
      expect(resumed.length).toBe(cut);
      sha256Update(resumed, data.subarray(cut));
      expect(hex(sha256Digest(resumed))).toBe(hex(nobleSha256(data)));
    }
  });

  it('digest leaves the state untouched and clones are independent', () => {
    const state = sha256Init();
    sha256Update(state, new Uint8Array(100).fill(1));
    const before = encodeSha256State(state);
    const first = sha256Digest(state);
    expect(encodeSha256State(state)).toEqual(before);
    const copy = sha256Clone(state);
    sha256Update(copy, new Uint8Array([2]));
    expect(encodeSha256State(state)).toEqual(before);
    expect(sha256Digest(state)).toEqual(first);
    expect(hex(sha256Digest(copy))).toBe(
      hex(nobleSha256(new Uint8Array([...new Uint8Array(100).fill(1), 2]))),
    );
  });

  it('encodes lengths beyond 2^32 bytes and rejects corrupt states', () => {
    const state = sha256Init();
    state.length = 5 * 0x100000000 + 17;
    state.tail = new Uint8Array(17).fill(9);
    const decoded = decodeSha256State(encodeSha256State(state));
    expect(decoded.length).toBe(state.length);
    expect(decoded.tail).toEqual(state.tail);
    expect(() => decodeSha256State(new Uint8Array(40))).toThrow(/corrupt/);
    const bad = encodeSha256State(state);
    bad[40] = 64;
    expect(() => decodeSha256State(bad)).toThrow(/corrupt/);
  });
});
