/**
 * The threshold-key cryptography against the IC's own derivation and against
 * independent verifiers (`@noble/curves`): a derived public key verifies the
 * signature of the derived secret, and a vetKey decrypts and verifies.
 */
import { Principal } from '@icp-sdk/core/principal';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE } from '@noble/curves/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../bytes.ts';
import { deriveEd25519, signEd25519 } from './ed25519.ts';
import { deriveSecp256k1, deriveSecp256k1PublicKey, signBip340, signEcdsa } from './secp256k1.ts';
import { deriveVetKd, deriveVetKdPublicKey, encryptedVetKey, isValidTransportKey } from './vetkd.ts';

const canister = Principal.fromText('uzt4z-lp777-77774-qaabq-cai').toUint8Array();
const path = (...parts: string[]): Uint8Array[] => parts.map((p) => new TextEncoder().encode(p));

describe('secp256k1 derivation', () => {
  it('matches the IC: PocketIC key_1 derives the key dfinity/ic-pub-key expects for a canister and path', () => {
    // dfinity/ic-pub-key `src/ecdsa/secp256k1.tests/pocketic_derivation.test.ts`.
    const master = fromHex('036ad6e838b46811ad79c37b2f4b854b7a05f406715b2935edc5d3251e7666977b');
    const derived = deriveSecp256k1PublicKey(master, [
      canister,
      ...path('Test', 'Derivation', 'For', 'PocketIC', 'ECDSA', 'secp256k1', 'key_1'),
    ]);
    expect(toHex(derived.publicKey)).toBe(
      '03bca84b5629dc70a37cadb5b3cda0bfc35abc5658f1d9bf8335b10199785a3836',
    );
  });

  it('derives from a secret the same public key as from its public key, and the secret signs for it', () => {
    const secret = 0x1234567890abcdefn;
    const p = [canister, ...path('a', '')];
    const fromSecret = deriveSecp256k1(secret, p);
    const fromPublic = deriveSecp256k1PublicKey(
      secp256k1.getPublicKey(fromHex('1234567890abcdef'.padStart(64, '0'))),
      p,
    );
    expect(fromSecret.publicKey).toEqual(fromPublic.publicKey);
    expect(fromSecret.chainCode).toEqual(fromPublic.chainCode);
    const hash = sha256(new TextEncoder().encode('hello'));
    const sig = signEcdsa(fromSecret.secret, hash);
    expect(sig.length).toBe(64);
    expect(secp256k1.verify(sig, hash, fromSecret.publicKey, { prehash: false })).toBe(true);
    expect(secp256k1.verify(sig, sha256(hash), fromSecret.publicKey, { prehash: false })).toBe(false);
  });

  it('signs BIP-340 for the x-only derived key, and with a BIP-341 tweak for the taproot output key', () => {
    const k = deriveSecp256k1(987654321n, [canister]);
    const msg = new TextEncoder().encode('a message of any length');
    const xOnly = k.publicKey.subarray(1);
    expect(schnorr.verify(signBip340(k.secret, msg), msg, xOnly)).toBe(true);
    for (const root of [new Uint8Array(), new Uint8Array(32).fill(7)]) {
      const p = schnorr.utils.lift_x(bytesToNumberBE(xOnly));
      const t = bytesToNumberBE(schnorr.utils.taggedHash('TapTweak', xOnly, root));
      const outputKey = schnorr.utils.pointToBytes(p.add(schnorr.Point.BASE.multiply(t)));
      const sig = signBip340(k.secret, msg, root);
      expect(schnorr.verify(sig, msg, outputKey)).toBe(true);
      expect(schnorr.verify(sig, msg, xOnly)).toBe(false);
    }
  });
});

describe('ed25519 derivation', () => {
  it('derives a key whose signatures verify with standard Ed25519, path by path', () => {
    const a = deriveEd25519(42n, [canister]);
    const b = deriveEd25519(42n, [canister, ...path('x')]);
    expect(a.publicKey).not.toEqual(b.publicKey);
    expect(toHex(ed25519.Point.BASE.multiply(b.secret).toBytes())).toBe(toHex(b.publicKey));
    const msg = new TextEncoder().encode('sign me');
    const sig = signEd25519(b, msg);
    expect(ed25519.verify(sig, msg, b.publicKey)).toBe(true);
    expect(ed25519.verify(sig, msg, a.publicKey)).toBe(false);
  });
});

describe('vetKD', () => {
  const tsk = 0x5eed5eedn;
  const tpk = bls12_381.G1.Point.BASE.multiply(tsk).toBytes(true);

  it('encrypts a vetKey that decrypts with the transport secret and verifies against the derived public key', () => {
    const key = deriveVetKd(777n, canister, new TextEncoder().encode('context'));
    const input = new TextEncoder().encode('identity');
    const enc = encryptedVetKey(key, input, tpk);
    expect(enc.length).toBe(192);
    const { G1, G2 } = bls12_381;
    const c1 = G1.Point.fromBytes(enc.subarray(0, 48));
    const c2 = G2.Point.fromBytes(enc.subarray(48, 144));
    const c3 = G1.Point.fromBytes(enc.subarray(144));
    // c1 and c2 share their discrete logarithm.
    const one = bls12_381.fields.Fp12.ONE;
    expect(
      bls12_381.fields.Fp12.eql(
        bls12_381.pairingBatch([
          { g1: c1, g2: G2.Point.BASE.negate() },
          { g1: G1.Point.BASE, g2: c2 },
        ]),
        one,
      ),
    ).toBe(true);
    const k = c3.subtract(c1.multiply(tsk));
    const dpk = G2.Point.fromBytes(key.publicKey);
    const h = G1.hashToCurve(new Uint8Array([...key.publicKey, ...input]), {
      DST: 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_AUG_',
    });
    const check = bls12_381.pairingBatch([
      { g1: k, g2: G2.Point.BASE.negate() },
      { g1: h, g2: dpk },
    ]);
    expect(bls12_381.fields.Fp12.eql(check, one)).toBe(true);
  });

  it('derives canister and context keys as ic-vetkeys does', () => {
    // dfinity/vetkeys `frontend/ic_vetkeys/src/utils/utils.test.ts`: "MasterPublicKey derivation",
    // "DerivedPublicKey subderivation".
    const master = fromHex(
      '9183b871aa141d15ba2efc5bc58a49cb6a167741364804617f48dfe11e0285696b7018f172dad1a87ed81abf27ea4c320995041e2ee4a47b2226a2439d92a38557a7e2acc72fd157283b20f1f37ba872be235214c6a9cbba1eb2ef39deec72a5',
    );
    const canisterKey = deriveVetKdPublicKey(master, {
      canisterId: new TextEncoder().encode('test-canister-id'),
    });
    expect(toHex(canisterKey)).toBe(
      'af78a908589d332fc8b9d042807c483e73872e2aea7620bdb985b9289d5a99ebfd5ac0ec4844a4c542f6d0f12a716d941674953cef4f38dde601ce9792db8832557eaa051733c5541fa5017465d69b62cc4d93f2079fb8c050b4bd735ef75859',
    );
    const other = fromHex(
      '8bf165ea580742abf5fd5123eb848aa116dcf75c3ddb3cd3540c852cf99f0c5394e72dfc2f25dbcb5f9220f251cd04040a508a0bcb8b2543908d6626b46f09d614c924c5deb63a9949338ae4f4ac436bd77f8d0a392fd29de0f392a009fa61f3',
    );
    expect(toHex(deriveVetKdPublicKey(other, { context: new TextEncoder().encode('test-context') }))).toBe(
      '80b4f1e11766d32bed0ea4e8b05e82bf84519de4a63eca0213d9e3603a946ea2968150882d1e9508701f34048fcec80919b4f493a2a254fc13dc956f1d82c6b8e641f962e1c0342c95eb58e168327d5e51e9337627ac9f1aa93d2e3058a1ff09',
    );
    // The secret path agrees with the public one.
    const k = deriveVetKd(31n, canister, Uint8Array.of(1, 2));
    const viaPublic = deriveVetKdPublicKey(
      deriveVetKdPublicKey(bls12_381.G2.Point.BASE.multiply(31n).toBytes(true), { canisterId: canister }),
      { context: Uint8Array.of(1, 2) },
    );
    expect(toHex(k.publicKey)).toBe(toHex(viaPublic));
  });

  it('refuses transport keys that are not a compressed G1 point', () => {
    expect(isValidTransportKey(tpk)).toBe(true);
    expect(isValidTransportKey(tpk.subarray(1))).toBe(false);
    expect(isValidTransportKey(new Uint8Array(48).fill(1))).toBe(false);
  });

  it('an empty context derives the canister key itself', () => {
    const withEmpty = deriveVetKd(5n, canister, new Uint8Array());
    const withContext = deriveVetKd(5n, canister, Uint8Array.of(0));
    expect(withEmpty.publicKey).not.toEqual(withContext.publicKey);
    expect(withEmpty.publicKey.length).toBe(96);
  });
});
