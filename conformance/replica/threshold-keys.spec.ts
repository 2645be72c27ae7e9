/**
 * Threshold keys of the management canister: `ecdsa_public_key`,
 * `sign_with_ecdsa`, `schnorr_public_key`, `sign_with_schnorr` (BIP-340 with
 * and without the BIP-341 taproot tweak, Ed25519), `vetkd_public_key` and
 * `vetkd_derive_key`, called by a canister (the universal canister relays
 * each call), with signatures and vetKeys checked by `@noble/curves` against
 * the public key the canister obtained.
 *
 * PocketIC puts the keys `key_1`, `test_key_1` and `dfx_test_key` of every
 * scheme on its II and fiduciary subnets (dfinity/ic
 * `rs/pocket_ic_server/src/pocket_ic.rs`); the instance here has a fiduciary
 * subnet for them and an application subnet for the canisters. Texts and
 * reject codes: dfinity/ic `rs/execution_environment/src/execution_environment.rs`
 * (`sign_with_threshold`, `vetkd_derive_key`) and the routing of ic00 requests
 * (`route_chain_key_message`).
 */
import { type PocketIc, SubnetStateType } from '@dfinity/pic';
import { IDL } from '@icp-sdk/core/candid';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { schnorr, secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToNumberBE } from '@noble/curves/utils.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cyclesText } from '../support/cycles.ts';
import { watToWasm } from '../../fixtures/wat.ts';
import { createPic } from '../support/pic.ts';
import {
  Principal,
  type Outcome,
  argData,
  call,
  getBalance,
  getRefund,
  i2b,
  i64tob,
  install,
  int,
  isReject,
  isReply,
  outcome,
  query,
  reply,
  rejectCode,
  rejectMsg,
  replyData,
  replyDataAppend,
  seq,
  ucWasm,
  updateCall,
  utf8,
} from '../support/uc.ts';

const MANAGEMENT = Principal.managementCanister();
const B = 1_000_000_000n;
/**
 * Each signature or vetKey costs 10 B cycles on a 13-node subnet, scaled to the 34 nodes of the
 * fiduciary subnet holding the key (`ecdsa_signature_fee`, `schnorr_signature_fee`, `vetkd_fee`
 * in dfinity/ic `rs/cycles_account_manager`; ic-cdk's `SIGN_WITH_ECDSA_FEE` is the same number).
 */
const FEE = (10n * B * 34n) / 13n;
const fresh = { state: { type: SubnetStateType.New } } as const;

/**
 * `key_cost` (query): argument u32 function (0 cost_sign_with_ecdsa, 1 cost_sign_with_schnorr,
 * 2 cost_vetkd_derive_key), u32 curve or algorithm, the key name → replies u32 result, u128 fee.
 */
const KEY_COSTS_WAT = `(module
  (import "ic0" "msg_arg_data_size" (func $size (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $copy (param i32 i32 i32)))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "cost_sign_with_ecdsa" (func $ecdsa (param i32 i32 i32 i32) (result i32)))
  (import "ic0" "cost_sign_with_schnorr" (func $schnorr (param i32 i32 i32 i32) (result i32)))
  (import "ic0" "cost_vetkd_derive_key" (func $vetkd (param i32 i32 i32 i32) (result i32)))
  (memory 1)
  (func (export "canister_query key_cost") (local $n i32) (local $f i32) (local $v i32)
    (local.set $n (call $size))
    (call $copy (i32.const 1024) (i32.const 0) (local.get $n))
    (local.set $f (i32.load (i32.const 1024)))
    (local.set $v (i32.load (i32.const 1028)))
    (i32.store (i32.const 0)
      (if (result i32) (i32.eqz (local.get $f))
        (then (call $ecdsa (i32.const 1032) (i32.sub (local.get $n) (i32.const 8)) (local.get $v) (i32.const 4)))
        (else (if (result i32) (i32.eq (local.get $f) (i32.const 1))
          (then (call $schnorr (i32.const 1032) (i32.sub (local.get $n) (i32.const 8)) (local.get $v) (i32.const 4)))
          (else (call $vetkd (i32.const 1032) (i32.sub (local.get $n) (i32.const 8)) (local.get $v) (i32.const 4)))))))
    (call $append (i32.const 0) (i32.const 20))
    (call $reply)))`;

let pic: PocketIc;
let cid: Principal;

beforeAll(async () => {
  pic = await createPic({ fiduciary: fresh, application: [fresh] });
  cid = await install(pic);
});
afterAll(async () => {
  await pic?.tearDown();
});

const blob = IDL.Vec(IDL.Nat8);
const EcdsaKeyId = IDL.Record({ curve: IDL.Variant({ secp256k1: IDL.Null }), name: IDL.Text });
const SchnorrKeyId = IDL.Record({
  algorithm: IDL.Variant({ bip340secp256k1: IDL.Null, ed25519: IDL.Null }),
  name: IDL.Text,
});
const VetKdKeyId = IDL.Record({ curve: IDL.Variant({ bls12_381_g2: IDL.Null }), name: IDL.Text });
const PublicKeyArgs = (keyId: IDL.Type) =>
  IDL.Record({ canister_id: IDL.Opt(IDL.Principal), derivation_path: IDL.Vec(blob), key_id: keyId });
const PublicKeyResult = IDL.Record({ public_key: blob, chain_code: blob });
const SignWithEcdsaArgs = IDL.Record({
  message_hash: blob,
  derivation_path: IDL.Vec(blob),
  key_id: EcdsaKeyId,
});
const SignWithSchnorrArgs = IDL.Record({
  message: blob,
  derivation_path: IDL.Vec(blob),
  key_id: SchnorrKeyId,
  aux: IDL.Opt(IDL.Variant({ bip341: IDL.Record({ merkle_root_hash: blob }) })),
});
const SignatureResult = IDL.Record({ signature: blob });
const VetKdPublicKeyArgs = IDL.Record({
  canister_id: IDL.Opt(IDL.Principal),
  context: blob,
  key_id: VetKdKeyId,
});
const VetKdDeriveKeyArgs = IDL.Record({
  input: blob,
  context: blob,
  transport_public_key: blob,
  key_id: VetKdKeyId,
});

const ecdsaKey = (name = 'dfx_test_key') => ({ curve: { secp256k1: null }, name });
const bip340Key = (name = 'dfx_test_key') => ({ algorithm: { bip340secp256k1: null }, name });
const ed25519Key = (name = 'dfx_test_key') => ({ algorithm: { ed25519: null }, name });
const vetkdKey = (name = 'dfx_test_key') => ({ curve: { bls12_381_g2: null }, name });

interface Relayed {
  outcome: Outcome;
  /** The cycles the management canister gave back with its answer. */
  refund: bigint;
}

/** `from` calls `method` of the management canister with `cycles` attached; its answer and refund. */
async function ic00(method: string, arg: Uint8Array, cycles = 0n, from = cid): Promise<Relayed> {
  const answer = (code: ReturnType<typeof i2b>, data: typeof argData) =>
    seq(replyDataAppend(code), replyDataAppend(i64tob(getRefund)), replyDataAppend(data), reply);
  const r = await call(
    pic,
    from,
    updateCall(MANAGEMENT, method, {
      arg,
      cycles,
      onReply: answer(i2b(int(0)), argData),
      onReject: answer(i2b(rejectCode), rejectMsg),
    }),
  );
  const view = new DataView(r.buffer, r.byteOffset, r.byteLength);
  const code = view.getUint32(0, true);
  const refund = view.getBigUint64(4, true);
  const rest = r.slice(12);
  return {
    refund,
    outcome:
      code === 0
        ? { kind: 'reply', data: rest }
        : { kind: 'reject', code, errorCode: '', message: new TextDecoder().decode(rest) },
  };
}

const decode = <T>(type: IDL.Type, data: Uint8Array): T => IDL.decode([type], data)[0] as T;
const path = [utf8('wallet'), Uint8Array.of(0, 1, 2)];

async function ecdsaPublicKey(from = cid, canisterId?: Principal, derivationPath = path) {
  const arg = IDL.encode(
    [PublicKeyArgs(EcdsaKeyId)],
    [{ canister_id: canisterId ? [canisterId] : [], derivation_path: derivationPath, key_id: ecdsaKey() }],
  );
  const r = await ic00('ecdsa_public_key', arg, 0n, from);
  return decode<{ public_key: Uint8Array; chain_code: Uint8Array }>(PublicKeyResult, isReply(r.outcome));
}

async function schnorrPublicKey(keyId: object): Promise<Uint8Array> {
  const arg = IDL.encode(
    [PublicKeyArgs(SchnorrKeyId)],
    [{ canister_id: [], derivation_path: path, key_id: keyId }],
  );
  return decode<{ public_key: Uint8Array }>(
    PublicKeyResult,
    isReply((await ic00('schnorr_public_key', arg)).outcome),
  ).public_key;
}

const signWithSchnorr = (keyId: object, message: Uint8Array, aux: [] | [Uint8Array] = [], cycles = FEE) =>
  ic00(
    'sign_with_schnorr',
    IDL.encode(
      [SignWithSchnorrArgs],
      [
        {
          message,
          derivation_path: path,
          key_id: keyId,
          aux: aux.length === 0 ? [] : [{ bip341: { merkle_root_hash: aux[0] } }],
        },
      ],
    ),
    cycles,
  );

const signature = (r: Relayed): Uint8Array =>
  decode<{ signature: Uint8Array }>(SignatureResult, isReply(r.outcome)).signature;

describe('ECDSA secp256k1', () => {
  it('sign_with_ecdsa signs for the key ecdsa_public_key gave the canister, keeping the fee and refunding the rest', async () => {
    const { public_key, chain_code } = await ecdsaPublicKey();
    expect(public_key.length).toBe(33);
    expect(chain_code.length).toBe(32);
    const hash = sha256(utf8('a transaction'));
    const r = await ic00(
      'sign_with_ecdsa',
      IDL.encode([SignWithEcdsaArgs], [{ message_hash: hash, derivation_path: path, key_id: ecdsaKey() }]),
      FEE + 12_345n,
    );
    expect(r.refund).toBe(12_345n);
    const sig = signature(r);
    expect(sig.length).toBe(64);
    expect(secp256k1.verify(sig, hash, public_key, { prehash: false })).toBe(true);
    // Another path is another key.
    const other = await ecdsaPublicKey(cid, undefined, [utf8('other')]);
    expect(secp256k1.verify(sig, hash, other.public_key, { prehash: false })).toBe(false);
  });

  it('the key of a canister is the same whoever asks for it (canister_id), and differs between canisters', async () => {
    const second = await install(pic);
    const own = await ecdsaPublicKey(cid);
    expect(await ecdsaPublicKey(second, cid)).toEqual(own);
    expect((await ecdsaPublicKey(second)).public_key).not.toEqual(own.public_key);
  });

  it('the keys come from the instance: a new instance with the same subnets gives the same key', async () => {
    const again = await createPic({ fiduciary: fresh, application: [fresh] });
    try {
      const sameId = await install(again);
      // The first canister of each instance has the same id, so the same derivation path.
      expect(sameId.toText()).toBe(cid.toText());
      const arg = IDL.encode(
        [PublicKeyArgs(EcdsaKeyId)],
        [{ canister_id: [], derivation_path: path, key_id: ecdsaKey() }],
      );
      const answer = seq(replyDataAppend(i2b(int(0))), replyDataAppend(argData), reply);
      const r = await call(
        again,
        sameId,
        updateCall(MANAGEMENT, 'ecdsa_public_key', {
          arg,
          cycles: 0n,
          onReply: answer,
          onReject: replyData(rejectMsg),
        }),
      );
      expect(decode<{ public_key: Uint8Array }>(PublicKeyResult, r.slice(4)).public_key).toEqual(
        (await ecdsaPublicKey()).public_key,
      );
    } finally {
      await again.tearDown();
    }
  });

  it('a message_hash that is not 32 bytes does not decode, and the request is not routed (reject 3)', async () => {
    const r = await ic00(
      'sign_with_ecdsa',
      IDL.encode(
        [SignWithEcdsaArgs],
        [{ message_hash: new Uint8Array(31), derivation_path: [], key_id: ecdsaKey() }],
      ),
      FEE,
    );
    const rej = isReject(r.outcome, [3]);
    expect(rej.message).toMatch(/^Unable to route management canister request sign_with_ecdsa: UserError\(/);
    expect(rej.message).toContain('InvalidManagementPayload');
    expect(r.refund).toBe(FEE);
  });
});

describe('Schnorr', () => {
  it('BIP-340: a signature of a message of any length verifies against the x-only public key', async () => {
    const pk = await schnorrPublicKey(bip340Key());
    expect(pk.length).toBe(33);
    const message = utf8('x'.repeat(100));
    const r = await signWithSchnorr(bip340Key(), message, [], FEE + 7n);
    expect(r.refund).toBe(7n);
    const sig = signature(r);
    expect(sig.length).toBe(64);
    expect(schnorr.verify(sig, message, pk.subarray(1))).toBe(true);
    expect(schnorr.verify(sig, utf8('y'), pk.subarray(1))).toBe(false);
  });

  it('BIP-340 with aux bip341: the signature verifies against the taproot output key, for an empty or a 32-byte merkle root', async () => {
    const pk = await schnorrPublicKey(bip340Key('test_key_1'));
    const xOnly = pk.subarray(1);
    const message = utf8('spend');
    for (const root of [new Uint8Array(), new Uint8Array(32).fill(0xab)]) {
      const sig = signature(await signWithSchnorr(bip340Key('test_key_1'), message, [root]));
      const internal = schnorr.utils.lift_x(bytesToNumberBE(xOnly));
      const tweak = bytesToNumberBE(schnorr.utils.taggedHash('TapTweak', xOnly, root));
      const outputKey = schnorr.utils.pointToBytes(internal.add(schnorr.Point.BASE.multiply(tweak)));
      expect(schnorr.verify(sig, message, outputKey)).toBe(true);
      expect(schnorr.verify(sig, message, xOnly)).toBe(false);
    }
  });

  it('Ed25519: a signature verifies against the 32-byte public key', async () => {
    const pk = await schnorrPublicKey(ed25519Key('key_1'));
    expect(pk.length).toBe(32);
    const message = utf8('hello ed25519');
    const sig = signature(await signWithSchnorr(ed25519Key('key_1'), message));
    expect(sig.length).toBe(64);
    expect(ed25519.verify(sig, message, pk)).toBe(true);
  });

  it('refuses aux for Ed25519 and a merkle root that is neither empty nor 32 bytes, refunding the cycles', async () => {
    const ed = await signWithSchnorr(ed25519Key(), utf8('m'), [new Uint8Array(32)]);
    expect(isReject(ed.outcome, [4]).message).toBe('Schnorr algorithm Ed25519 does not support aux input');
    expect(ed.refund).toBe(FEE);
    const bip = await signWithSchnorr(bip340Key(), utf8('m'), [new Uint8Array(5)]);
    expect(isReject(bip.outcome, [4]).message).toBe('Invalid aux field for Bip340Secp256k1');
    expect(bip.refund).toBe(FEE);
  });
});

describe('vetKD', () => {
  it('vetkd_derive_key: the encrypted key decrypts with the transport secret to a BLS signature of the input under vetkd_public_key', async () => {
    const context = utf8('my app');
    const pkReply = await ic00(
      'vetkd_public_key',
      IDL.encode([VetKdPublicKeyArgs], [{ canister_id: [], context, key_id: vetkdKey() }]),
    );
    const dpkBytes = decode<{ public_key: Uint8Array }>(
      IDL.Record({ public_key: blob }),
      isReply(pkReply.outcome),
    ).public_key;
    expect(dpkBytes.length).toBe(96);
    const { G1, G2 } = bls12_381;
    const tsk = bytesToNumberBE(sha256(utf8('transport secret'))) % bls12_381.fields.Fr.ORDER;
    const tpk = G1.Point.BASE.multiply(tsk).toBytes(true);
    const input = utf8('alice@example.com');
    const r = await ic00(
      'vetkd_derive_key',
      IDL.encode([VetKdDeriveKeyArgs], [{ input, context, transport_public_key: tpk, key_id: vetkdKey() }]),
      FEE + 1n,
    );
    expect(r.refund).toBe(1n);
    const enc = decode<{ encrypted_key: Uint8Array }>(
      IDL.Record({ encrypted_key: blob }),
      isReply(r.outcome),
    ).encrypted_key;
    expect(enc.length).toBe(192);
    const c1 = G1.Point.fromBytes(enc.subarray(0, 48));
    const c2 = G2.Point.fromBytes(enc.subarray(48, 144));
    const c3 = G1.Point.fromBytes(enc.subarray(144));
    const { Fp12 } = bls12_381.fields;
    const negG2 = G2.Point.BASE.negate();
    // c1 and c2 share their discrete logarithm (ic-vetkeys `EncryptedVetKey.decryptAndVerify`).
    expect(
      Fp12.eql(
        bls12_381.pairingBatch([
          { g1: c1, g2: negG2 },
          { g1: G1.Point.BASE, g2: c2 },
        ]),
        Fp12.ONE,
      ),
    ).toBe(true);
    const vetKey = c3.subtract(c1.multiply(tsk));
    const h = G1.hashToCurve(new Uint8Array([...dpkBytes, ...input]), {
      DST: 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_AUG_',
    });
    const dpk = G2.Point.fromBytes(dpkBytes);
    expect(
      Fp12.eql(
        bls12_381.pairingBatch([
          { g1: vetKey, g2: negG2 },
          { g1: h, g2: dpk },
        ]),
        Fp12.ONE,
      ),
    ).toBe(true);
    // The same input under another context is another key.
    const otherContext = await ic00(
      'vetkd_public_key',
      IDL.encode([VetKdPublicKeyArgs], [{ canister_id: [], context: utf8('other'), key_id: vetkdKey() }]),
    );
    const other = G2.Point.fromBytes(
      decode<{ public_key: Uint8Array }>(IDL.Record({ public_key: blob }), isReply(otherContext.outcome))
        .public_key,
    );
    expect(
      Fp12.eql(
        bls12_381.pairingBatch([
          { g1: vetKey, g2: negG2 },
          { g1: h, g2: other },
        ]),
        Fp12.ONE,
      ),
    ).toBe(false);
  });

  it('refuses a transport public key that is not a G1 point, refunding the cycles', async () => {
    const r = await ic00(
      'vetkd_derive_key',
      IDL.encode(
        [VetKdDeriveKeyArgs],
        [
          {
            input: utf8('i'),
            context: new Uint8Array(),
            transport_public_key: new Uint8Array(48).fill(7),
            key_id: vetkdKey(),
          },
        ],
      ),
      FEE,
    );
    expect(isReject(r.outcome, [4]).message).toBe('The provided transport public key is invalid.');
    expect(r.refund).toBe(FEE);
  });
});

describe('fees and permissions', () => {
  it('refuses a signature sent with fewer cycles than the fee, naming both and refunding them', async () => {
    const hash = new Uint8Array(32).fill(1);
    const r = await ic00(
      'sign_with_ecdsa',
      IDL.encode([SignWithEcdsaArgs], [{ message_hash: hash, derivation_path: [], key_id: ecdsaKey() }]),
      FEE - 1n,
    );
    expect(isReject(r.outcome, [4]).message).toBe(
      `sign_with_ecdsa request sent with ${cyclesText(FEE - 1n)} cycles, but ${cyclesText(FEE)} cycles are required.`,
    );
    expect(r.refund).toBe(FEE - 1n);
    for (const [method, arg] of [
      [
        'sign_with_schnorr',
        IDL.encode(
          [SignWithSchnorrArgs],
          [{ message: utf8('m'), derivation_path: [], key_id: ed25519Key(), aux: [] }],
        ),
      ],
      [
        'vetkd_derive_key',
        IDL.encode(
          [VetKdDeriveKeyArgs],
          [
            {
              input: utf8('i'),
              context: new Uint8Array(),
              transport_public_key: G1Base(),
              key_id: vetkdKey(),
            },
          ],
        ),
      ],
    ] as const) {
      const none = await ic00(method, arg);
      expect(isReject(none.outcome, [4]).message).toBe(
        `${method} request sent with 0 cycles, but ${cyclesText(FEE)} cycles are required.`,
      );
    }
  });

  it('takes the fee out of the canister balance', async () => {
    const balance = async () => {
      const r = await query(pic, cid, replyData(i64tob(getBalance)));
      return new DataView(r.buffer, r.byteOffset, 8).getBigUint64(0, true);
    };
    const before = await balance();
    await signWithSchnorr(ed25519Key(), utf8('m'), [], 3n * FEE);
    // The fee, plus what the call and its execution cost (far below one fee).
    const spent = before - (await balance());
    expect(spent).toBeGreaterThanOrEqual(FEE);
    expect(spent).toBeLessThan(FEE + FEE / 10n);
  });

  it('an unknown key is not routed (reject 3), and the replica lists the keys that exist', async () => {
    const all = ['ecdsa:Secp256k1', 'schnorr:Bip340Secp256k1', 'schnorr:Ed25519', 'vetkd:Bls12_381_G2']
      .flatMap((scheme) => ['dfx_test_key', 'key_1', 'test_key_1'].map((name) => `${scheme}:${name}`))
      .join(', ');
    const pk = await ic00(
      'ecdsa_public_key',
      IDL.encode(
        [PublicKeyArgs(EcdsaKeyId)],
        [{ canister_id: [], derivation_path: [], key_id: ecdsaKey('nope') }],
      ),
    );
    expect(isReject(pk.outcome, [3]).message).toBe(
      `Unable to route management canister request ecdsa_public_key: ChainKeyError("Requested unknown threshold key: ecdsa:Secp256k1:nope, existing keys: [${all}]")`,
    );
    const sig = await signWithSchnorr(ed25519Key('nope'), utf8('m'));
    expect(isReject(sig.outcome, [3]).message).toBe(
      `Unable to route management canister request sign_with_schnorr: ChainKeyError("Requested unknown or disabled threshold key: schnorr:Ed25519:nope, existing enabled keys: [${all}]")`,
    );
    expect(sig.refund).toBe(FEE);
  });

  it('a derivation path has at most 255 elements: one more does not decode (reject 3)', async () => {
    const encode = (n: number) =>
      IDL.encode(
        [PublicKeyArgs(EcdsaKeyId)],
        [
          {
            canister_id: [],
            derivation_path: Array.from({ length: n }, () => Uint8Array.of(1)),
            key_id: ecdsaKey(),
          },
        ],
      );
    expect(
      (
        await ecdsaPublicKey(
          cid,
          undefined,
          Array.from({ length: 255 }, () => Uint8Array.of(1)),
        )
      ).public_key.length,
    ).toBe(33);
    const r = await ic00('ecdsa_public_key', encode(256));
    const rej = isReject(r.outcome, [3]);
    expect(rej.message).toMatch(/^Unable to route management canister request ecdsa_public_key: UserError\(/);
    expect(rej.message).toContain('The number of elements exceeds maximum allowed 255');
  });

  it('requests from the NNS subnet are free', async () => {
    const withNns = await createPic({ nns: fresh, fiduciary: fresh, application: [fresh] });
    try {
      const nns = (await withNns.getTopology()).find((s) => s.type === 'NNS')!;
      const id = await withNns.createCanister({ targetSubnetId: nns.id });
      await withNns.installCode({ canisterId: id, wasm: await ucWasm() });
      const hash = new Uint8Array(32).fill(9);
      const arg = IDL.encode(
        [SignWithEcdsaArgs],
        [{ message_hash: hash, derivation_path: [], key_id: ecdsaKey() }],
      );
      const answer = seq(replyDataAppend(i2b(int(0))), replyDataAppend(argData), reply);
      const r = await call(
        withNns,
        id,
        updateCall(MANAGEMENT, 'sign_with_ecdsa', {
          arg,
          cycles: 0n,
          onReply: answer,
          onReject: seq(replyDataAppend(i2b(rejectCode)), replyDataAppend(rejectMsg), reply),
        }),
      );
      expect(
        new DataView(r.buffer, r.byteOffset).getUint32(0, true),
        new TextDecoder().decode(r.slice(4)),
      ).toBe(0);
      expect(decode<{ signature: Uint8Array }>(SignatureResult, r.slice(4)).signature.length).toBe(64);
    } finally {
      await withNns.tearDown();
    }
  });

  it('ic0.cost_sign_with_ecdsa / _schnorr / cost_vetkd_derive_key: 0 and the fee for a held key, 1 for an unknown curve or algorithm, 2 for an unknown key', async () => {
    // The System API's own description (dfinity/ic rs/interfaces/src/execution_environment.rs):
    // the fee is written only when the result is 0.
    const canisterId = await pic.createCanister();
    await pic.installCode({ canisterId, wasm: await watToWasm(KEY_COSTS_WAT, { memory64: false }) });
    const cost = async (fn: number, variant: number, name: string) => {
      const arg = new Uint8Array([fn, 0, 0, 0, variant, 0, 0, 0, ...new TextEncoder().encode(name)]);
      const r = new Uint8Array(await pic.queryCall({ canisterId, method: 'key_cost', arg }));
      const view = new DataView(r.buffer, r.byteOffset, r.byteLength);
      return {
        code: view.getUint32(0, true),
        fee: view.getBigUint64(4, true) + (view.getBigUint64(12, true) << 64n),
      };
    };
    for (const fn of [0, 1, 2]) {
      for (const name of ['key_1', 'test_key_1', 'dfx_test_key'])
        expect(await cost(fn, 0, name), `${fn} ${name}`).toEqual({ code: 0, fee: FEE });
      expect(await cost(fn, 0, 'nope')).toEqual({ code: 2, fee: 0n });
      expect(await cost(fn, 7, 'key_1')).toEqual({ code: 1, fee: 0n });
    }
    // Schnorr's second algorithm, Ed25519, holds the same keys.
    expect(await cost(1, 1, 'key_1')).toEqual({ code: 0, fee: FEE });
  });

  it('an instance without II or fiduciary subnet holds no key', async () => {
    const bare = await createPic({ application: [fresh] });
    try {
      const id = await install(bare);
      const arg = IDL.encode(
        [PublicKeyArgs(SchnorrKeyId)],
        [{ canister_id: [], derivation_path: [], key_id: bip340Key() }],
      );
      const r = await call(
        bare,
        id,
        updateCall(MANAGEMENT, 'schnorr_public_key', {
          arg,
          cycles: 0n,
          onReply: replyData('replied'),
          onReject: seq(replyDataAppend(i2b(rejectCode)), replyDataAppend(rejectMsg), reply),
        }),
      );
      expect(new DataView(r.buffer, r.byteOffset).getUint32(0, true)).toBe(3);
      expect(new TextDecoder().decode(r.slice(4))).toBe(
        'Unable to route management canister request schnorr_public_key: ChainKeyError("Requested unknown threshold key: schnorr:Bip340Secp256k1:dfx_test_key, existing keys: []")',
      );
    } finally {
      await bare.tearDown();
    }
  });

  it.each([
    [
      'ecdsa_public_key',
      IDL.encode([PublicKeyArgs(EcdsaKeyId)], [{ canister_id: [], derivation_path: [], key_id: ecdsaKey() }]),
    ],
    [
      'sign_with_ecdsa',
      IDL.encode(
        [SignWithEcdsaArgs],
        [{ message_hash: new Uint8Array(32), derivation_path: [], key_id: ecdsaKey() }],
      ),
    ],
    [
      'schnorr_public_key',
      IDL.encode(
        [PublicKeyArgs(SchnorrKeyId)],
        [{ canister_id: [], derivation_path: [], key_id: ed25519Key() }],
      ),
    ],
    [
      'sign_with_schnorr',
      IDL.encode(
        [SignWithSchnorrArgs],
        [{ message: utf8('m'), derivation_path: [], key_id: ed25519Key(), aux: [] }],
      ),
    ],
    [
      'vetkd_public_key',
      IDL.encode([VetKdPublicKeyArgs], [{ canister_id: [], context: new Uint8Array(), key_id: vetkdKey() }]),
    ],
    [
      'vetkd_derive_key',
      IDL.encode(
        [VetKdDeriveKeyArgs],
        [{ input: utf8('i'), context: new Uint8Array(), transport_public_key: G1Base(), key_id: vetkdKey() }],
      ),
    ],
  ])('%s is canister-only: an ingress message is refused', async (method, arg) => {
    const r = await outcome(
      pic.updateCall({
        canisterId: MANAGEMENT,
        method,
        arg: new Uint8Array(arg),
        targetSubnetId: (await pic.getCanisterSubnetId(cid)) ?? undefined,
      }),
    );
    expect(isReject(r, [4]).message).toContain(
      `ic00 method ${method} can not be called via ingress messages`,
    );
  });
});

function G1Base(): Uint8Array {
  return bls12_381.G1.Point.BASE.toBytes(true);
}
