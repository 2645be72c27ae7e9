/**
 * WebAuthn signing identities, as the reference suite's
 * `createSecretKeyWebAuthnECDSA` / `createSecretKeyWebAuthnRSA` sign (IC
 * interface specification, "Signatures" › WebAuthn): the public key is a COSE
 * key wrapped in DER under OID 1.3.6.1.4.1.56387.1.1; a signature is the CBOR
 * map `{authenticator_data, client_data_json, signature}` whose client data
 * carries the signed message, base64url, as its `challenge`, and whose
 * `signature` signs `authenticator_data ‖ sha256(client_data_json)` with
 * ECDSA P-256 (ES256, DER) or RSASSA-PKCS1-v1_5 SHA-256 (RS256).
 */
import { encodeWithSelfDescribedTag } from '@dfinity/cbor';
import { SignIdentity, type DerEncodedPublicKey, type PublicKey, type Signature } from '@icp-sdk/core/agent';
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { generateKeyPairSync, sign as nodeSign, type KeyObject } from 'node:crypto';
import { der } from './der.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const concat = (...parts: Uint8Array[]) => new Uint8Array(parts.flatMap((p) => [...p]));

/** OID 1.3.6.1.4.1.56387.1.1: a COSE-encoded WebAuthn key. */
const COSE_OID = Uint8Array.from([0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xb8, 0x43, 0x01, 0x01]);

// CBOR items of a COSE key (integer labels, RFC 8152 §7).
const cborInt = (n: number): number[] => {
  const [major, v] = n >= 0 ? [0, n] : [1, -1 - n];
  if (v < 24) return [(major << 5) | v];
  if (v < 256) return [(major << 5) | 24, v];
  return [(major << 5) | 25, v >> 8, v & 0xff];
};
const cborBytes = (b: Uint8Array): number[] => {
  const head =
    b.length < 24
      ? [0x40 | b.length]
      : b.length < 256
        ? [0x58, b.length]
        : [0x59, b.length >> 8, b.length & 0xff];
  return [...head, ...b];
};
const coseMap = (entries: [number, number | Uint8Array][]) =>
  Uint8Array.from([
    0xa0 | entries.length,
    ...entries.flatMap(([k, v]) => [...cborInt(k), ...(typeof v === 'number' ? cborInt(v) : cborBytes(v))]),
  ]);

class DerKey implements PublicKey {
  readonly derKey: DerEncodedPublicKey;
  constructor(cose: Uint8Array) {
    const spki = der(0x30, concat(der(0x30, COSE_OID), der(0x03, concat(Uint8Array.of(0), cose))));
    this.derKey = spki as DerEncodedPublicKey;
  }
  toDer(): DerEncodedPublicKey {
    return this.derKey;
  }
}

/** A WebAuthn authenticator signing for `https://localhost` (the IC does not check the origin). */
abstract class WebAuthnIdentity extends SignIdentity {
  protected abstract signData(data: Uint8Array): Uint8Array;
  async sign(message: Uint8Array): Promise<Signature> {
    // rpIdHash ‖ flags (user present, user verified) ‖ signature counter.
    const authenticatorData = concat(sha256(enc('localhost')), Uint8Array.of(0x05, 0, 0, 0, 1));
    const clientDataJson = JSON.stringify({
      type: 'webauthn.get',
      challenge: Buffer.from(message).toString('base64url'),
      origin: 'https://localhost',
    });
    const signature = this.signData(concat(authenticatorData, sha256(enc(clientDataJson))));
    const envelope = { authenticator_data: authenticatorData, client_data_json: clientDataJson, signature };
    return new Uint8Array(
      encodeWithSelfDescribedTag(envelope as Parameters<typeof encodeWithSelfDescribedTag>[0]),
    ) as unknown as Signature;
  }
}

/** ES256: a P-256 key (COSE kty 2, alg -7, crv 1). */
export class WebAuthnEcdsaIdentity extends WebAuthnIdentity {
  readonly #secret: Uint8Array;
  readonly #public: DerKey;
  constructor(seed: Uint8Array) {
    super();
    this.#secret = p256.utils.randomSecretKey(
      concat(sha256(seed), sha256(concat(seed, Uint8Array.of(1)))).slice(0, 48),
    );
    const point = p256.getPublicKey(this.#secret, false);
    this.#public = new DerKey(
      coseMap([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, point.slice(1, 33)],
        [-3, point.slice(33, 65)],
      ]),
    );
  }
  getPublicKey(): PublicKey {
    return this.#public;
  }
  protected signData(data: Uint8Array): Uint8Array {
    return p256.sign(data, this.#secret, { prehash: true, format: 'der' });
  }
}

/** RS256: a 2048-bit RSA key (COSE kty 3, alg -257). */
export class WebAuthnRsaIdentity extends WebAuthnIdentity {
  readonly #private: KeyObject;
  readonly #public: DerKey;
  constructor() {
    super();
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.#private = privateKey;
    const jwk = publicKey.export({ format: 'jwk' });
    const n = new Uint8Array(Buffer.from(jwk.n!, 'base64url'));
    const e = new Uint8Array(Buffer.from(jwk.e!, 'base64url'));
    this.#public = new DerKey(
      coseMap([
        [1, 3],
        [3, -257],
        [-1, n],
        [-2, e],
      ]),
    );
  }
  getPublicKey(): PublicKey {
    return this.#public;
  }
  protected signData(data: Uint8Array): Uint8Array {
    return new Uint8Array(nodeSign('sha256', data, this.#private));
  }
}
