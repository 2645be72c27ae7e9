/**
 * Threshold keys on secp256k1 (ECDSA and BIP-340 Schnorr): the derivation of a
 * canister's key from the master key, and signing with the derived secret.
 *
 * Derivation is the IC's (dfinity/ic `packages/ic-secp256k1/src/lib.rs`,
 * `DerivationPath::derive_offset`, `ckd_pub`, `ckd`; the TypeScript port in
 * dfinity/ic-pub-key `src/ecdsa/secp256k1.ts`): for each path element,
 * HMAC-SHA-512 keyed with the chain code over the compressed point and the
 * element; the first half is an additive offset, the second the next chain
 * code. The path is the caller's canister id followed by the caller's
 * derivation path, and the master chain code is 32 zero bytes.
 */
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { randomBytes } from '../../entropy.ts';
import { concatBytes } from '../../bytes.ts';
import { schnorr, secp256k1 } from '../../curves.ts';

export interface DerivedSecp256k1 {
  /** The derived secret scalar. */
  secret: bigint;
  /** The derived public key, SEC1 compressed (33 bytes). */
  publicKey: Uint8Array;
  chainCode: Uint8Array;
}

type Point = ReturnType<typeof secp256k1>['Point']['BASE'];

const order = (): bigint => secp256k1().Point.Fn.ORDER;
const mulBase = (k: bigint): Point =>
  k === 0n ? secp256k1().Point.ZERO : secp256k1().Point.BASE.multiply(k);

/** `ckd`: the offset and next chain code of one path element, retried while the offset is not below the order. */
function ckd(idx: Uint8Array, input: Uint8Array, chainCode: Uint8Array): [Uint8Array, bigint] {
  for (;;) {
    const out = hmac(sha512, chainCode, concatBytes([input, idx]));
    const next = out.slice(32);
    const offset = bytesToNumberBE(out.subarray(0, 32));
    if (offset < order()) return [next, offset];
    input = concatBytes([Uint8Array.of(1), next]);
  }
}

/** `ckd_pub`: one step of public derivation, retried (SLIP-0010 style) if it lands on the identity. */
function ckdPub(idx: Uint8Array, pt: Point, chainCode: Uint8Array): [Uint8Array, bigint, Point] {
  let input: Uint8Array = pt.toBytes(true);
  for (;;) {
    const [next, offset] = ckd(idx, input, chainCode);
    const derived = pt.add(mulBase(offset));
    if (!derived.is0()) return [next, offset, derived];
    input = concatBytes([Uint8Array.of(1), next]);
  }
}

/** Public derivation: the point, summed offset and chain code of `path` under the point `master`. */
function derive(
  master: Point,
  path: readonly Uint8Array[],
): { point: Point; offset: bigint; chainCode: Uint8Array } {
  let point = master;
  let chainCode: Uint8Array = new Uint8Array(32);
  let offset = 0n;
  for (const idx of path) {
    const [next, step, derived] = ckdPub(idx, point, chainCode);
    offset = (offset + step) % order();
    point = derived;
    chainCode = next;
  }
  return { point, offset, chainCode };
}

/** The key of `path` (canister id first) under the master secret. */
export function deriveSecp256k1(masterSecret: bigint, path: readonly Uint8Array[]): DerivedSecp256k1 {
  const d = derive(mulBase(masterSecret), path);
  return {
    secret: (masterSecret + d.offset) % order(),
    publicKey: d.point.toBytes(true),
    chainCode: d.chainCode,
  };
}

/** The public key (compressed) and chain code of `path` under a master public key, as `ecdsa_public_key` answers. */
export function deriveSecp256k1PublicKey(
  masterPublicKey: Uint8Array,
  path: readonly Uint8Array[],
): { publicKey: Uint8Array; chainCode: Uint8Array } {
  const d = derive(secp256k1().Point.fromBytes(masterPublicKey), path);
  return { publicKey: d.point.toBytes(true), chainCode: d.chainCode };
}

/** An ECDSA signature (r ‖ s, low s) of a 32-byte message hash, as `sign_with_ecdsa` returns it. */
export function signEcdsa(secret: bigint, messageHash: Uint8Array): Uint8Array {
  return secp256k1().sign(messageHash, numberToBytesBE(secret, 32), { prehash: false, format: 'compact' });
}

/**
 * A BIP-340 signature of `message` (any length). With `merkleRoot` (empty or
 * 32 bytes, `aux = bip341`) the key is first tweaked as BIP-341's
 * `taproot_tweak_seckey` does: the secret negated to an even-y point, plus
 * `TaggedHash("TapTweak", x(P) ‖ merkle_root)`, so the signature verifies
 * against the x-only output key of a taproot output.
 */
export function signBip340(secret: bigint, message: Uint8Array, merkleRoot?: Uint8Array): Uint8Array {
  const n = order();
  let d = secret;
  if (merkleRoot) {
    const p = mulBase(d);
    if (p.toAffine().y % 2n === 1n) d = n - d;
    const t = bytesToNumberBE(
      schnorr().utils.taggedHash('TapTweak', schnorr().utils.pointToBytes(p), merkleRoot),
    );
    d = (d + t) % n;
  }
  return schnorr().sign(message, numberToBytesBE(d, 32), randomBytes(32));
}
