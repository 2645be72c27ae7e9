/**
 * vetKD over BLS12-381: the derived public key of a canister and context, and
 * the derived key encrypted for a transport public key.
 *
 * As the IC computes them (dfinity/ic `execution_environment.rs`
 * `get_vetkd_public_key`: `derive_canister_key(caller).derive_sub_key(context)`;
 * the formulas in dfinity/vetkeys `frontend/ic_vetkeys/src/utils/utils.ts`,
 * `MasterPublicKey.deriveKey`, `DerivedPublicKey.deriveKey`, `EncryptedVetKey`):
 * - canister key: mpk + H("ic-vetkd-bls12-381-g2-canister-id", len‖mpk ‖ len‖canister)·G2;
 * - context key: dpk + H("ic-vetkd-bls12-381-g2-context", len‖dpk ‖ len‖context)·G2, or dpk
 *   itself for an empty context; H is hash-to-field into the scalar field, lengths are
 *   8-byte big-endian;
 * - the vetKey is the BLS signature k = dsk·H_G1(dpk ‖ input) with the augmented DST
 *   `BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_AUG_`;
 * - encrypted for the transport key tpk (a G1 point) with a fresh r:
 *   c1 = r·G1, c2 = r·G2, c3 = r·tpk + k, sent as c1 ‖ c2 ‖ c3 (48 + 96 + 48 bytes),
 *   so that c3 − tsk·c1 = k.
 */
import { hash_to_field } from '@noble/curves/abstract/hash-to-curve.js';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '../../entropy.ts';
import { concatBytes } from '../../bytes.ts';
import { bls12_381 } from '../../curves.ts';

const AUGMENTED_DST = 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_AUG_';

const order = (): bigint => bls12_381().fields.Fr.ORDER;
const withLength = (b: Uint8Array): Uint8Array => concatBytes([numberToBytesBE(BigInt(b.length), 8), b]);

/** Hash to one element of the scalar field (RFC 9380 hash_to_field, XMD SHA-256, k = 128). */
function hashToScalar(input: Uint8Array, dst: string): bigint {
  return hash_to_field(input, 1, { DST: dst, p: order(), m: 1, k: 128, expand: 'xmd', hash: sha256 })[0]![0]!;
}

export interface DerivedVetKd {
  secret: bigint;
  /** The derived public key, a compressed G2 point (96 bytes). */
  publicKey: Uint8Array;
}

const CANISTER_DST = 'ic-vetkd-bls12-381-g2-canister-id';
const CONTEXT_DST = 'ic-vetkd-bls12-381-g2-context';

/** The additive offset that derives a key from the key `publicKey` with `data`. */
const offset = (publicKey: Uint8Array, dst: string, data: Uint8Array): bigint =>
  hashToScalar(concatBytes([withLength(publicKey), withLength(data)]), dst);

const g2 = (secret: bigint): Uint8Array => bls12_381().G2.Point.BASE.multiply(secret).toBytes(true);

/** The key of `canisterId` and `context` under the master secret. */
export function deriveVetKd(masterSecret: bigint, canisterId: Uint8Array, context: Uint8Array): DerivedVetKd {
  let secret = (masterSecret + offset(g2(masterSecret), CANISTER_DST, canisterId)) % order();
  if (context.length > 0) secret = (secret + offset(g2(secret), CONTEXT_DST, context)) % order();
  return { secret, publicKey: g2(secret) };
}

/** Public derivation by one step: the canister key of a master key, or the context key of a canister key. */
export function deriveVetKdPublicKey(
  publicKey: Uint8Array,
  step: { canisterId: Uint8Array } | { context: Uint8Array },
): Uint8Array {
  const { G2 } = bls12_381();
  const [dst, data] = 'canisterId' in step ? [CANISTER_DST, step.canisterId] : [CONTEXT_DST, step.context];
  if (data.length === 0 && dst === CONTEXT_DST) return publicKey;
  return G2.Point.fromBytes(publicKey)
    .add(G2.Point.BASE.multiply(offset(publicKey, dst, data)))
    .toBytes(true);
}

/**
 * The transport public key as a G1 point, or undefined when it is not the
 * 48-byte compressed encoding of a point of the prime-order subgroup
 * (`ic_vetkeys::is_valid_transport_public_key_encoding`).
 */
function transportKey(bytes: Uint8Array): ReturnType<typeof bls12_381>['G1']['Point']['BASE'] | undefined {
  if (bytes.length !== 48) return undefined;
  try {
    const p = bls12_381().G1.Point.fromBytes(bytes);
    p.assertValidity();
    return p;
  } catch {
    return undefined;
  }
}

export const isValidTransportKey = (bytes: Uint8Array): boolean => transportKey(bytes) !== undefined;

/** The vetKey of `input` under the derived key, encrypted for `transportPublicKey` (192 bytes). */
export function encryptedVetKey(
  key: DerivedVetKd,
  input: Uint8Array,
  transportPublicKey: Uint8Array,
): Uint8Array {
  const { G1, G2 } = bls12_381();
  const tpk = transportKey(transportPublicKey);
  if (!tpk) throw new Error('invalid transport public key');
  const k = G1.hashToCurve(concatBytes([key.publicKey, input]), { DST: AUGMENTED_DST }).multiply(key.secret);
  const r = (bytesToNumberBE(randomBytes(64)) % (order() - 1n)) + 1n;
  const c1 = G1.Point.BASE.multiply(r);
  const c2 = G2.Point.BASE.multiply(r);
  const c3 = (tpk.is0() ? k : tpk.multiply(r).add(k)) as typeof c1;
  return concatBytes([c1.toBytes(true), c2.toBytes(true), c3.toBytes(true)]);
}
