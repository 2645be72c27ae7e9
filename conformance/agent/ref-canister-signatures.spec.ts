/**
 * Reference suite (dfinity/ic `hs/spec_compliance/src/IC/Test/Spec.hs`),
 * group "Canister signatures", over real HTTP against `pic.makeLive()`: a
 * universal canister publishes the tree `sig / sha256(seed) / sha256(msg)` as
 * its certified data, and the certificate it hands out in a query plus that
 * tree sign `msg` for the key (canister id, seed). IC interface
 * specification, "Canister signatures" and "Authentication".
 */
import { PocketIc } from '@dfinity/pic';
import { encodeWithSelfDescribedTag } from '@dfinity/cbor';
import {
  Cbor,
  domain_sep,
  IC_REQUEST_AUTH_DELEGATION_DOMAIN_SEPARATOR,
  IC_REQUEST_DOMAIN_SEPARATOR,
  lookup_path,
  lookupResultToBuffer,
  NodeType,
  reconstruct,
  requestIdOf,
  type HashTree,
} from '@icp-sdk/core/agent';
import { Principal } from '@icp-sdk/core/principal';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { sha256, sha384 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { liveInstance } from '../support/pic.ts';
import { otherSK } from '../support/ref-identities.ts';
import {
  bytes,
  call,
  getCertificate,
  install,
  query,
  reply,
  replyData,
  run,
  seq,
  setCertifiedData,
} from '../support/uc.ts';
import { der } from '../support/der.ts';

let pic: PocketIc;
let host: string;
const enc = (s: string) => new TextEncoder().encode(s);
const concat = (...parts: Uint8Array[]) => new Uint8Array(parts.flatMap((p) => [...p]));
/** The reference's `doesn'tExist`: a canister id no subnet hosts. */
const doesntExist = Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 1, 1]);

liveInstance((p, h) => {
  pic = p;
  host = h;
});

const cbor = (value: unknown): Uint8Array<ArrayBuffer> =>
  new Uint8Array(encodeWithSelfDescribedTag(value as Parameters<typeof encodeWithSelfDescribedTag>[0]));

/** OID 1.3.6.1.4.1.56387.1.2, the canister signature algorithm. */
const CANISTER_SIG_OID = Uint8Array.from([
  0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xb8, 0x43, 0x01, 0x02,
]);

/** `genId cid seed`: the DER public key of canister `cid`'s signatures with `seed`. */
function genId(cid: Uint8Array, seed: Uint8Array): Uint8Array {
  const raw = concat(Uint8Array.of(cid.length), cid, seed);
  return der(0x30, concat(der(0x30, CANISTER_SIG_OID), der(0x03, concat(Uint8Array.of(0), raw))));
}
// Hash-tree nodes (agent-js brands labels and values; these are plain bytes).
const labeled = (label: Uint8Array, sub: HashTree) => [NodeType.Labeled, label, sub] as unknown as HashTree;
const leaf = (value: Uint8Array) => [NodeType.Leaf, value] as unknown as HashTree;
/** The tree `sig / sha256(seed) / sha256(msg) → ""`. */
const sigTree = (seed: Uint8Array, msg: Uint8Array): HashTree =>
  labeled(enc('sig'), labeled(sha256(seed), labeled(sha256(msg), leaf(new Uint8Array()))));
/** `CanisterSig.genSig cert tree`: CBOR `{certificate, tree}`. */
const canisterSig = (certificate: Uint8Array, tree: HashTree) => cbor({ certificate, tree });

/** `genSig cid seed msg`: the canister certifies the tree; its query certificate and the tree sign `msg`. */
async function genSig(cid: Principal, seed: Uint8Array, msg: Uint8Array): Promise<Uint8Array> {
  const tree = sigTree(seed, msg);
  const root = await reconstruct(tree);
  await call(pic, cid, seq(setCertifiedData(bytes(root)), reply));
  const certificate = await query(pic, cid, replyData(getCertificate));
  // double check it certifies
  const certTree = Cbor.decode<{ tree: HashTree }>(certificate).tree;
  const certified = lookupResultToBuffer(
    lookup_path(['canister', cid.toUint8Array(), 'certified_data'], certTree),
  );
  expect(certified && new Uint8Array(certified)).toEqual(root);
  return canisterSig(certificate, tree);
}

const expiry = (minutes = 5) => BigInt(Date.now() + minutes * 60_000) * 1_000_000n;
/** `exampleQuery cid userKey`. */
const exampleQuery = (cid: Principal, userKey: Uint8Array) => ({
  request_type: 'query',
  sender: Principal.selfAuthenticating(userKey).toUint8Array(),
  canister_id: cid.toUint8Array(),
  method_name: 'query',
  arg: run(replyData('It works!')),
  ingress_expiry: expiry(),
});
/** `simpleEnv userKey sig req delegations`. */
const simpleEnv = (
  userKey: Uint8Array,
  sig: Uint8Array,
  content: Record<string, unknown>,
  delegations: unknown[] = [],
) =>
  cbor({
    content,
    sender_pubkey: userKey,
    sender_sig: sig,
    ...(delegations.length > 0 ? { sender_delegation: delegations } : {}),
  });
const requestMessage = (content: Record<string, unknown>) =>
  concat(IC_REQUEST_DOMAIN_SEPARATOR, requestIdOf(content));

async function postQuery(
  cid: Principal,
  body: Uint8Array<ArrayBuffer>,
): Promise<{ status: number; body: Uint8Array }> {
  const res = await fetch(`${host}/api/v2/canister/${cid.toText()}/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/cbor' },
    body,
  });
  return { status: res.status, body: new Uint8Array(await res.arrayBuffer()) };
}
/** `postQueryCBOR … >>= okCBOR >>= queryResponse >>= isQueryReply`: the reply's bytes. */
async function queryReply(cid: Principal, body: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  const res = await postQuery(cid, body);
  expect(res.status).toBe(200);
  const response = Cbor.decode<{ status: string; reply?: { arg: Uint8Array } }>(res.body);
  expect(response.status).toBe('replied');
  return new Uint8Array(response.reply!.arg);
}
/** `postQueryCBOR … >>= code4xx`. */
async function refused(cid: Principal, body: Uint8Array<ArrayBuffer>): Promise<void> {
  const { status } = await postQuery(cid, body);
  expect(status >= 400 && status < 500, `HTTP ${status}`).toBe(true);
}

describe('Canister signatures', () => {
  it('direct signature', async () => {
    const cid = await install(pic);
    const userKey = genId(cid.toUint8Array(), enc('Hello!'));
    const req = exampleQuery(cid, userKey);
    const sig = await genSig(cid, enc('Hello!'), requestMessage(req));
    expect(await queryReply(cid, simpleEnv(userKey, sig, req))).toEqual(enc('It works!'));
  });
  it('direct signature (empty seed)', async () => {
    const cid = await install(pic);
    const userKey = genId(cid.toUint8Array(), new Uint8Array());
    const req = exampleQuery(cid, userKey);
    const sig = await genSig(cid, new Uint8Array(), requestMessage(req));
    expect(await queryReply(cid, simpleEnv(userKey, sig, req))).toEqual(enc('It works!'));
  });
  it('direct signature (wrong seed)', async () => {
    const cid = await install(pic);
    const userKey = genId(cid.toUint8Array(), enc('Hello'));
    const req = exampleQuery(cid, userKey);
    const sig = await genSig(cid, enc('Hullo'), requestMessage(req));
    await refused(cid, simpleEnv(userKey, sig, req));
  });
  it('direct signature (wrong cid)', async () => {
    const cid = await install(pic);
    const userKey = genId(doesntExist, enc('Hello'));
    const req = exampleQuery(cid, userKey);
    const sig = await genSig(cid, enc('Hello'), requestMessage(req));
    await refused(cid, simpleEnv(userKey, sig, req));
  });
  it('direct signature (wrong root key)', async () => {
    const cid = await install(pic);
    const seed = enc('Hello');
    const userKey = genId(cid.toUint8Array(), seed);
    const req = exampleQuery(cid, userKey);
    const tree = sigTree(seed, requestMessage(req));
    // A certificate of the right shape, signed by a key that is not the root key.
    const certTree = labeled(
      enc('canister'),
      labeled(cid.toUint8Array(), labeled(enc('certified_data'), leaf(await reconstruct(tree)))),
    );
    const bls = bls12_381.shortSignatures;
    const fakeRootKey = bls12_381.utils.randomSecretKey(sha384(enc('not the root key')));
    const message = concat(domain_sep('ic-state-root'), await reconstruct(certTree));
    const signature = bls.sign(bls.hash(message), fakeRootKey).toBytes(true);
    const sig = canisterSig(cbor({ tree: certTree, signature }), tree);
    await refused(cid, simpleEnv(userKey, sig, req));
  });
  it('delegation to Ed25519', async () => {
    const cid = await install(pic);
    const userKey = genId(cid.toUint8Array(), enc('Hello!'));
    const delegation = { pubkey: otherSK.getPublicKey().toDer(), expiration: expiry() };
    const delegationSig = await genSig(
      cid,
      enc('Hello!'),
      concat(IC_REQUEST_AUTH_DELEGATION_DOMAIN_SEPARATOR, requestIdOf(delegation)),
    );
    const req = exampleQuery(cid, userKey);
    const sig = await otherSK.sign(requestMessage(req));
    const env = simpleEnv(userKey, sig, req, [{ delegation, signature: delegationSig }]);
    expect(await queryReply(cid, env)).toEqual(enc('It works!'));
  });
  it('delegation from Ed25519', async () => {
    const cid = await install(pic);
    const userKey = genId(cid.toUint8Array(), enc('Hello!'));
    const delegation = { pubkey: userKey, expiration: expiry() };
    const delegationSig = await otherSK.sign(
      concat(IC_REQUEST_AUTH_DELEGATION_DOMAIN_SEPARATOR, requestIdOf(delegation)),
    );
    const req = { ...exampleQuery(cid, userKey), sender: otherSK.getPrincipal().toUint8Array() };
    const sig = await genSig(cid, enc('Hello!'), requestMessage(req));
    const env = simpleEnv(otherSK.getPublicKey().toDer(), sig, req, [
      { delegation, signature: delegationSig },
    ]);
    expect(await queryReply(cid, env)).toEqual(enc('It works!'));
  });
});
