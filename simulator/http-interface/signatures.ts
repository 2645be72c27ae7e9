/**
 * User public keys and signatures as the IC accepts them (IC interface
 * specification, "Signatures"; ic-http-interface.md §4.2):
 *
 * | DER algorithm                          | key                          | signature                          |
 * |----------------------------------------|------------------------------|------------------------------------|
 * | Ed25519 (1.3.101.112)                  | 32 bytes                     | 64 bytes, over the message         |
 * | ECDSA P-256 (1.2.840.10045.3.1.7)      | SEC1 point                   | r‖s over SHA-256(message), any S   |
 * | ECDSA secp256k1 (1.3.132.0.10)         | SEC1 point                   | r‖s over SHA-256(message), any S   |
 * | WebAuthn COSE (1.3.6.1.4.1.56387.1.1)  | COSE_Key (EC2 P-256 / ES256, RSA / RS256) | CBOR {authenticator_data, client_data_json, signature} |
 * | Canister signature (…56387.1.2)        | len ‖ canister id ‖ seed     | CBOR {certificate, tree}           |
 *
 * `message` is always `domain separator ‖ payload`.
 */
import { bls12_381, ed25519, p256, secp256k1 } from '../curves.ts';
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { Principal } from '@icp-sdk/core/principal';
import { CborError, decodeCbor, decodeCborItem, isRecord, mapGetInt, untag } from './cbor.ts';
import { lookupPath, parseHashTree, reconstruct, domainSep } from './hash-tree.ts';
import { concatBytes, equalBytes, toHex } from '../bytes.ts';
import { BLS_DER_PREFIX } from '../topology.ts';

export type UserPublicKey =
  | { kind: 'ed25519'; der: Uint8Array; key: Uint8Array }
  | { kind: 'p256'; der: Uint8Array; key: Uint8Array }
  | { kind: 'secp256k1'; der: Uint8Array; key: Uint8Array }
  | { kind: 'webauthn-p256'; der: Uint8Array; key: Uint8Array }
  /** RSA modulus and public exponent, big-endian (COSE kty 3, alg -257 RS256). */
  | { kind: 'webauthn-rsa'; der: Uint8Array; n: Uint8Array; e: Uint8Array }
  | { kind: 'canister'; der: Uint8Array; canisterId: Uint8Array; seed: Uint8Array };

const OID = {
  ed25519: '2b6570',
  ecPublicKey: '2a8648ce3d0201',
  p256: '2a8648ce3d030107',
  secp256k1: '2b8104000a',
  cose: '2b0601040183b8430101',
  canisterSig: '2b0601040183b8430102',
  bls: '2b0601040182dc7c0503010201',
} as const;

export class KeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyError';
  }
}

// ---- DER --------------------------------------------------------------------------

interface DerNode {
  tag: number;
  body: Uint8Array;
}

function derRead(bytes: Uint8Array, at: number): { node: DerNode; next: number } {
  if (at + 2 > bytes.length) throw new KeyError('truncated DER');
  const tag = bytes[at]!;
  let len = bytes[at + 1]!;
  let p = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || p + n > bytes.length) throw new KeyError('bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + bytes[p++]!;
  }
  if (p + len > bytes.length) throw new KeyError('truncated DER');
  return { node: { tag, body: bytes.subarray(p, p + len) }, next: p + len };
}

function derChildren(body: Uint8Array): DerNode[] {
  const out: DerNode[] = [];
  for (let at = 0; at < body.length;) {
    const { node, next } = derRead(body, at);
    out.push(node);
    at = next;
  }
  return out;
}

/** Algorithm OIDs (hex of their contents) and the key bits of a SubjectPublicKeyInfo. */
function parseSpki(der: Uint8Array): { oids: string[]; key: Uint8Array } {
  const { node: outer, next } = derRead(der, 0);
  if (outer.tag !== 0x30 || next !== der.length) throw new KeyError('not a DER SEQUENCE');
  const [alg, bits] = derChildren(outer.body);
  if (!alg || alg.tag !== 0x30 || !bits || bits.tag !== 0x03)
    throw new KeyError('not a SubjectPublicKeyInfo');
  const oids = derChildren(alg.body)
    .filter((n) => n.tag === 0x06)
    .map((n) => toHex(n.body));
  if (bits.body[0] !== 0) throw new KeyError('BIT STRING with unused bits');
  return { oids, key: bits.body.subarray(1) };
}

/** Wraps a raw key into DER: the Ed25519 form nodes publish. */
export function ed25519Der(raw: Uint8Array): Uint8Array {
  return concatBytes([Uint8Array.from(Buffer.from('302a300506032b6570032100', 'hex')), raw]);
}

export { BLS_DER_PREFIX };

export function blsKeyFromDer(der: Uint8Array): Uint8Array {
  if (
    der.length !== BLS_DER_PREFIX.length + 96 ||
    !equalBytes(der.subarray(0, BLS_DER_PREFIX.length), BLS_DER_PREFIX)
  ) {
    throw new KeyError('not a DER-encoded BLS12-381 G2 public key');
  }
  return der.subarray(BLS_DER_PREFIX.length);
}

export function parsePublicKey(der: Uint8Array): UserPublicKey {
  const { oids, key } = parseSpki(der);
  const [alg, param] = oids;
  if (alg === OID.ed25519) {
    if (key.length !== 32) throw new KeyError(`Ed25519 public key of ${key.length} bytes`);
    return { kind: 'ed25519', der, key };
  }
  if (alg === OID.ecPublicKey && (param === OID.p256 || param === OID.secp256k1)) {
    const curve = param === OID.p256 ? p256() : secp256k1();
    try {
      curve.Point.fromBytes(key);
    } catch {
      throw new KeyError('invalid ECDSA public key point');
    }
    return { kind: param === OID.p256 ? 'p256' : 'secp256k1', der, key };
  }
  if (alg === OID.cose) return coseKey(der, key);
  if (alg === OID.canisterSig) {
    const n = key[0];
    if (n === undefined || key.length < 1 + n) throw new KeyError('malformed canister signature public key');
    return { kind: 'canister', der, canisterId: key.slice(1, 1 + n), seed: key.slice(1 + n) };
  }
  if (alg === OID.bls) throw new KeyError('BLS keys cannot sign requests');
  throw new KeyError(`unsupported public key algorithm ${alg ?? '(none)'}`);
}

/**
 * A WebAuthn COSE key: EC2 P-256 with ES256 (kty 2, alg -7, crv 1) as an
 * uncompressed SEC1 point, or RSA with RS256 (kty 3, alg -257: RSASSA-PKCS1-v1_5
 * with SHA-256), the two kinds the replica accepts (dfinity/ic
 * rs/crypto/internal/crypto_lib/basic_sig/cose, `parse_cose_public_key`).
 */
function coseKey(der: Uint8Array, cose: Uint8Array): UserPublicKey {
  let item;
  try {
    item = untag(decodeCborItem(cose));
  } catch (e) {
    throw new KeyError(`malformed COSE key: ${(e as Error).message}`);
  }
  const int = (k: number): bigint | undefined => {
    const v = mapGetInt(item, k);
    return v && (v.type === 'uint' || v.type === 'nint') ? v.value : undefined;
  };
  const bytes = (k: number): Uint8Array | undefined => {
    const v = mapGetInt(item, k);
    return v?.type === 'bytes' ? v.value : undefined;
  };
  if (int(1) === 3n) {
    if (int(3) !== -257n) throw new KeyError('unsupported COSE key: RSA keys only with RS256');
    const n = bytes(-1);
    const e = bytes(-2);
    if (!n || !e || n.length < 256 || e.length === 0) throw new KeyError('malformed COSE RSA key');
    return { kind: 'webauthn-rsa', der, n, e };
  }
  if (int(1) !== 2n || int(3) !== -7n || int(-1) !== 1n)
    throw new KeyError('unsupported COSE key: only EC2 P-256 with ES256');
  const x = bytes(-2);
  const y = bytes(-3);
  if (x?.length !== 32 || y?.length !== 32) throw new KeyError('malformed COSE EC2 key coordinates');
  const point = concatBytes([Uint8Array.of(4), x, y]);
  try {
    p256().Point.fromBytes(point);
  } catch {
    throw new KeyError('invalid COSE P-256 point');
  }
  return { kind: 'webauthn-p256', der, key: point };
}

// ---- verification -----------------------------------------------------------------------

/** What verifying a canister signature needs: the root of trust. */
export interface TrustContext {
  rootKey: Uint8Array;
}

/**
 * Verifies `signature` by `pk` over `message` (domain separator included).
 * Answers the reason of a failure, or undefined when the signature is valid.
 */
export function verifySignature(
  pk: UserPublicKey,
  signature: Uint8Array,
  message: Uint8Array,
  trust: TrustContext,
): string | undefined {
  switch (pk.kind) {
    case 'ed25519': {
      let ok = false;
      try {
        ok = signature.length === 64 && ed25519().verify(signature, message, pk.key);
      } catch {
        ok = false;
      }
      return ok
        ? undefined
        : `Invalid basic signature: Ed25519 signature could not be verified: public key ${toHex(pk.key)}, signature ${toHex(signature)}`;
    }
    case 'p256':
    case 'secp256k1': {
      const curve = pk.kind === 'p256' ? p256() : secp256k1();
      let ok = false;
      try {
        ok =
          signature.length === 64 &&
          curve.verify(signature, message, pk.key, { prehash: true, lowS: false, format: 'compact' });
      } catch {
        ok = false;
      }
      const name = pk.kind === 'p256' ? 'ECDSA P-256' : 'ECDSA secp256k1';
      return ok
        ? undefined
        : `Invalid basic signature: ${name} signature could not be verified: public key ${toHex(pk.key)}, signature ${toHex(signature)}`;
    }
    case 'webauthn-p256':
    case 'webauthn-rsa':
      return verifyWebAuthn(pk, signature, message);
    case 'canister':
      return verifyCanisterSignature(pk, signature, message, trust);
  }
}

function base64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

function verifyWebAuthn(
  pk: Extract<UserPublicKey, { kind: 'webauthn-p256' | 'webauthn-rsa' }>,
  signature: Uint8Array,
  message: Uint8Array,
): string | undefined {
  let envelope;
  try {
    envelope = decodeCbor(signature);
  } catch (e) {
    return `Invalid WebAuthn signature: ${(e as Error).message}`;
  }
  if (!isRecord(envelope)) return 'Invalid WebAuthn signature: not a CBOR map';
  const { authenticator_data: auth, client_data_json: clientData, signature: sig } = envelope;
  if (!(auth instanceof Uint8Array) || typeof clientData !== 'string' || !(sig instanceof Uint8Array)) {
    return 'Invalid WebAuthn signature: expected authenticator_data, client_data_json and signature';
  }
  let challenge: unknown;
  try {
    challenge = (JSON.parse(clientData) as { challenge?: unknown }).challenge;
  } catch {
    return 'Invalid WebAuthn signature: client_data_json is not JSON';
  }
  const expected = base64url(message);
  if (typeof challenge !== 'string' || challenge.replace(/=+$/, '') !== expected) {
    // JSON text for a challenge that is not a string: `String()` throws on an object whose own
    // `toString` is not a function (`{"challenge":{"toString":1}}`).
    const shown = typeof challenge === 'string' ? challenge : String(JSON.stringify(challenge));
    return `Invalid WebAuthn signature: Challenge in client data (${shown}) does not match the signed payload (${expected})`;
  }
  const signed = concatBytes([auth, sha256(new TextEncoder().encode(clientData))]);
  let ok = false;
  try {
    ok =
      pk.kind === 'webauthn-p256'
        ? p256().verify(sig, signed, pk.key, { prehash: true, lowS: false, format: 'der' })
        : nodeVerify('sha256', signed, rsaPublicKey(pk.n, pk.e), sig);
  } catch {
    ok = false;
  }
  const scheme = pk.kind === 'webauthn-p256' ? 'ECDSA P-256' : 'RSA PKCS#1 v1.5 SHA-256';
  return ok ? undefined : `Invalid WebAuthn signature: ${scheme} signature could not be verified`;
}

/** An RSA public key for node:crypto (PKCS#1 v1.5 is its default padding for `verify`). */
function rsaPublicKey(n: Uint8Array, e: Uint8Array) {
  return createPublicKey({
    key: { kty: 'RSA', n: base64url(n), e: base64url(e) },
    format: 'jwk',
  });
}

function verifyCanisterSignature(
  pk: Extract<UserPublicKey, { kind: 'canister' }>,
  signature: Uint8Array,
  message: Uint8Array,
  trust: TrustContext,
): string | undefined {
  const fail = (why: string): string => `Invalid canister signature: ${why}`;
  let sig;
  try {
    sig = decodeCbor(signature);
  } catch (e) {
    return fail((e as CborError).message);
  }
  if (!isRecord(sig) || !(sig.certificate instanceof Uint8Array))
    return fail('expected a CBOR map with certificate and tree');
  let tree;
  try {
    tree = parseHashTree(sig.tree);
  } catch (e) {
    return fail((e as Error).message);
  }
  let cert;
  try {
    cert = verifyCertificate(sig.certificate, trust.rootKey, pk.canisterId);
  } catch (e) {
    return fail((e as Error).message);
  }
  const certified = lookupPath(cert.tree, ['canister', pk.canisterId, 'certified_data']);
  if (certified.status !== 'found' || !equalBytes(certified.value, reconstruct(tree))) {
    return fail('the certified data of the canister does not match the signature tree');
  }
  const leaf = lookupPath(tree, ['sig', sha256(pk.seed), sha256(message)]);
  if (leaf.status !== 'found' || leaf.value.length !== 0)
    return fail('the signature tree has no entry for this seed and message');
  return undefined;
}

// ---- BLS certificates ---------------------------------------------------------------------

const STATE_ROOT = domainSep('ic-state-root');

export function blsPublicKey(secretKey: Uint8Array): Uint8Array {
  return bls12_381().shortSignatures.getPublicKey(secretKey).toBytes(true);
}

export function blsSign(secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  const s = bls12_381().shortSignatures;
  return s.sign(s.hash(message), secretKey).toBytes(true);
}

export function blsVerify(publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array): boolean {
  const s = bls12_381().shortSignatures;
  try {
    return s.verify(signature, s.hash(message), publicKey);
  } catch {
    return false;
  }
}

/** The message a certificate's BLS signature covers. */
export function stateRootMessage(rootHash: Uint8Array): Uint8Array {
  return concatBytes([STATE_ROOT, rootHash]);
}

/**
 * Verifies a certificate (tagged CBOR `{tree, signature, delegation?}`)
 * against the root key, following at most one delegation whose subnet must
 * host `canisterId`. Returns the decoded tree. Time is not checked (canister
 * signatures carry old certificates by design).
 */
export function verifyCertificate(
  bytes: Uint8Array,
  rootKeyDer: Uint8Array,
  canisterId: Uint8Array,
  nested = false,
): { tree: ReturnType<typeof parseHashTree> } {
  const cert = decodeCbor(bytes);
  if (!isRecord(cert) || !(cert.signature instanceof Uint8Array)) throw new Error('malformed certificate');
  const tree = parseHashTree(cert.tree);
  let keyDer = rootKeyDer;
  if (cert.delegation !== undefined && cert.delegation !== null) {
    if (nested) throw new Error('certificate delegation has a delegation itself');
    const d = cert.delegation;
    if (!isRecord(d) || !(d.subnet_id instanceof Uint8Array) || !(d.certificate instanceof Uint8Array)) {
      throw new Error('malformed certificate delegation');
    }
    const inner = verifyCertificate(d.certificate, rootKeyDer, canisterId, true);
    const ranges = lookupPath(inner.tree, ['subnet', d.subnet_id, 'canister_ranges']);
    if (ranges.status !== 'found' || !inRanges(ranges.value, canisterId)) {
      throw new Error(
        `canister ${Principal.fromUint8Array(canisterId).toText()} is not in the delegated subnet's ranges`,
      );
    }
    const key = lookupPath(inner.tree, ['subnet', d.subnet_id, 'public_key']);
    if (key.status !== 'found') throw new Error('the delegation certificate has no subnet public key');
    keyDer = key.value;
  }
  if (!blsVerify(blsKeyFromDer(keyDer), cert.signature, stateRootMessage(reconstruct(tree)))) {
    throw new Error('certificate signature does not verify');
  }
  return { tree };
}

function inRanges(rangesCbor: Uint8Array, id: Uint8Array): boolean {
  let ranges;
  try {
    ranges = decodeCbor(rangesCbor);
  } catch {
    return false;
  }
  if (!Array.isArray(ranges)) return false;
  const cmp = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
  return ranges.some(
    (r) =>
      Array.isArray(r) &&
      r[0] instanceof Uint8Array &&
      r[1] instanceof Uint8Array &&
      cmp(r[0], id) <= 0 &&
      cmp(id, r[1]) <= 0,
  );
}

/** `SHA-224(der) ‖ 0x02`. */
export function selfAuthenticating(der: Uint8Array): Principal {
  return Principal.selfAuthenticating(der);
}
