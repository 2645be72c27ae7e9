/**
 * Threshold keys on Ed25519: derivation of a canister's key and signing with
 * the derived scalar.
 *
 * Derivation is the IC's (dfinity/ic `packages/ic-ed25519/src/lib.rs`,
 * `DerivationPath::derive_offset`): for each path element, HKDF-SHA-512 with
 * the chain code as salt over the compressed point and the element, info
 * "Ed25519", 96 bytes: the first 64 (big-endian, reduced mod ℓ) are an
 * additive offset, the last 32 the next chain code. A derived key has no seed,
 * so it signs as `DerivedPrivateKey` does: the nonce prefix is
 * SHA-512(scalar ‖ chain code)[..32], and the signature is plain RFC 8032
 * (R = r·B, S = r + H(R ‖ A ‖ M)·a).
 */
import { bytesToNumberBE, bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes } from '../../bytes.ts';
import { ed25519 } from '../../curves.ts';

export interface DerivedEd25519 {
  secret: bigint;
  /** The derived public key, 32 bytes. */
  publicKey: Uint8Array;
  chainCode: Uint8Array;
}

type Point = ReturnType<typeof ed25519>['Point']['BASE'];

const order = (): bigint => ed25519().Point.Fn.ORDER;
const mulBase = (k: bigint): Point => (k === 0n ? ed25519().Point.ZERO : ed25519().Point.BASE.multiply(k));
const encoder = new TextEncoder();

/** The key of `path` (canister id first) under the master scalar. */
export function deriveEd25519(masterSecret: bigint, path: readonly Uint8Array[]): DerivedEd25519 {
  let pt = mulBase(masterSecret);
  let chainCode: Uint8Array = new Uint8Array(32);
  let sum = 0n;
  for (const idx of path) {
    const okm = hkdf(sha512, concatBytes([pt.toBytes(), idx]), chainCode, encoder.encode('Ed25519'), 96);
    const offset = bytesToNumberBE(okm.subarray(0, 64)) % order();
    pt = pt.add(mulBase(offset));
    sum = (sum + offset) % order();
    chainCode = okm.slice(64);
  }
  return { secret: (masterSecret + sum) % order(), publicKey: pt.toBytes(), chainCode };
}

/** An Ed25519 signature (64 bytes) of `message` by the derived key. */
export function signEd25519(key: DerivedEd25519, message: Uint8Array): Uint8Array {
  const l = order();
  const prefix = sha512(concatBytes([numberToBytesLE(key.secret, 32), key.chainCode])).subarray(0, 32);
  const r = bytesToNumberLE(sha512(concatBytes([prefix, message]))) % l;
  const R = mulBase(r).toBytes();
  const k = bytesToNumberLE(sha512(concatBytes([R, key.publicKey, message]))) % l;
  const s = (r + k * key.secret) % l;
  return concatBytes([R, numberToBytesLE(s, 32)]);
}
