/**
 * Reference suite (dfinity/ic `hs/spec_compliance/src/IC/Test/Spec.hs`),
 * groups "Delegation targets" and "Authentication schemes" (Ed25519, ECDSA,
 * secp256k1, WebAuthn ECDSA and RSA, and the delegation chains),
 * ported over real HTTP against the IC HTTP interface of `pic.makeLive()`.
 * Envelopes and delegation chains are built and signed here with the
 * specification's domain separators. IC interface specification,
 * "Authentication" and "Request: Call" (`sender_delegation`, `targets`).
 */
import { PocketIc } from '@dfinity/pic';
import { encodeWithSelfDescribedTag } from '@dfinity/cbor';
import {
  Cbor,
  IC_REQUEST_AUTH_DELEGATION_DOMAIN_SEPARATOR,
  IC_REQUEST_DOMAIN_SEPARATOR,
  lookupResultToBuffer,
  lookup_path,
  requestIdOf,
  type HashTree,
  type SignIdentity,
} from '@icp-sdk/core/agent';
import { IDL } from '@icp-sdk/core/candid';
import { ECDSAKeyIdentity, Ed25519KeyIdentity } from '@icp-sdk/core/identity';
import { Secp256k1KeyIdentity } from '@icp-sdk/core/identity/secp256k1';
import { Principal } from '@icp-sdk/core/principal';
import { describe, expect, it } from 'vitest';
import { liveInstance } from '../support/pic.ts';
import { defaultSK, defaultUser, otherSK } from '../support/ref-identities.ts';
import { install, reply, run } from '../support/uc.ts';
import { WebAuthnEcdsaIdentity, WebAuthnRsaIdentity } from '../support/webauthn.ts';

let pic: PocketIc;
let host: string;
const doesntExist = Principal.fromUint8Array(
  Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 1, 1]),
);
const enc = (s: string) => new TextEncoder().encode(s);
const edKey = (n: number) => Ed25519KeyIdentity.generate(new Uint8Array(32).fill(n + 10));

liveInstance((p, h) => {
  pic = p;
  host = h;
});

type Content = Record<string, unknown>;
const expiry = () => BigInt(Date.now() + 3 * 60_000) * 1_000_000n;
const concat = (a: Uint8Array, b: Uint8Array) => new Uint8Array([...a, ...b]);
const cbor = (v: unknown) =>
  new Uint8Array(encodeWithSelfDescribedTag(v as Parameters<typeof encodeWithSelfDescribedTag>[0]));

/** A delegation: the key it delegates to, and its targets (undefined: unrestricted). */
type Del = [SignIdentity, Principal[] | undefined];

/** The reference's `delegationEnv sk dels`: `sk` signs the first delegation, each key the next, the last the request. */
async function delegationEnv(sk: SignIdentity, dels: Del[], content: Content) {
  let signer = sk;
  const chain: unknown[] = [];
  for (const [next, targets] of dels) {
    const delegation: Content = { pubkey: next.getPublicKey().toDer(), expiration: expiry() };
    if (targets) delegation.targets = targets.map((t) => t.toUint8Array());
    const signature = await signer.sign(
      concat(IC_REQUEST_AUTH_DELEGATION_DOMAIN_SEPARATOR, requestIdOf(delegation)),
    );
    chain.push({ delegation, signature });
    signer = next;
  }
  const sender_sig = await signer.sign(concat(IC_REQUEST_DOMAIN_SEPARATOR, requestIdOf(content)));
  const env: Content = { content, sender_pubkey: sk.getPublicKey().toDer(), sender_sig };
  if (dels.length > 0) env.sender_delegation = chain;
  return cbor(env);
}
const envelope = (sk: SignIdentity, content: Content) => delegationEnv(sk, [], content);

async function post(cid: Principal, kind: 'call' | 'query' | 'read_state', body: Uint8Array) {
  const res = await fetch(`${host}/api/v2/canister/${cid.toText()}/${kind}`, {
    method: 'POST',
    headers: { 'content-type': 'application/cbor' },
    body: body as Uint8Array<ArrayBuffer>,
  });
  return { status: res.status, body: new Uint8Array(await res.arrayBuffer()) };
}
const is2xx = (s: number) => expect(s >= 200 && s < 300, `HTTP ${s}`).toBe(true);
const is4xx = (s: number) => expect(s >= 400 && s < 500, `HTTP ${s}`).toBe(true);

const callReq = (cid: Principal, sender = defaultUser): Content => ({
  request_type: 'call',
  sender: sender.toUint8Array(),
  canister_id: cid.toUint8Array(),
  method_name: 'update',
  arg: run(reply),
  ingress_expiry: expiry(),
  nonce: crypto.getRandomValues(new Uint8Array(8)),
});
const mgmtReq = (cid: Principal): Content => ({
  request_type: 'call',
  sender: defaultUser.toUint8Array(),
  canister_id: new Uint8Array(),
  method_name: 'canister_status',
  arg: new Uint8Array(IDL.encode([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: cid }])),
  ingress_expiry: expiry(),
  nonce: crypto.getRandomValues(new Uint8Array(8)),
});
const statusReq = (rid: Uint8Array, sender = defaultUser): Content => ({
  request_type: 'read_state',
  sender: sender.toUint8Array(),
  paths: [[enc('request_status'), rid]],
  ingress_expiry: expiry(),
});

/** Reads the request's status with `env` until it is replied (live instance: rounds run on their own). */
async function awaitReplied(cid: Principal, rid: Uint8Array, env: (c: Content) => Promise<Uint8Array>) {
  for (let i = 0; i < 100; i++) {
    const r = await post(cid, 'read_state', await env(statusReq(rid)));
    is2xx(r.status);
    const { certificate } = Cbor.decode<{ certificate: Uint8Array }>(r.body);
    const tree = Cbor.decode<{ tree: HashTree }>(new Uint8Array(certificate)).tree;
    const status = lookupResultToBuffer(lookup_path(['request_status', rid, 'status'], tree));
    if (status && new TextDecoder().decode(status) === 'replied') return;
    await new Promise((res) => setTimeout(res, 20));
  }
  expect.fail('the request was not replied');
}

async function canister(): Promise<Principal> {
  return install(pic, undefined, { controllers: [defaultUser, Principal.anonymous()] });
}

describe('Delegation targets', () => {
  const good = (name: string, mkReq: (cid: Principal) => Content, mkDels: (cid: Principal) => Del[]) =>
    it(name, async () => {
      const cid = await canister();
      const req = mkReq(cid);
      const dels = mkDels(cid);
      is2xx((await post(cid, 'call', await delegationEnv(defaultSK, dels, req))).status);
      await awaitReplied(cid, new Uint8Array(requestIdOf(req)), (c) => delegationEnv(defaultSK, dels, c));
    });
  const bad = (name: string, mkReq: (cid: Principal) => Content, mkDels: (cid: Principal) => Del[]) =>
    describe(name, () => {
      it('in submit', async () => {
        const cid = await canister();
        is4xx((await post(cid, 'call', await delegationEnv(defaultSK, mkDels(cid), mkReq(cid)))).status);
      });
      it('in read_state', async () => {
        const cid = await canister();
        const req = mkReq(cid);
        const rid = new Uint8Array(requestIdOf(req));
        expect((await post(cid, 'call', await envelope(defaultSK, req))).status).toBe(202);
        await awaitReplied(cid, rid, (c) => envelope(defaultSK, c));
        is4xx(
          (await post(cid, 'read_state', await delegationEnv(defaultSK, mkDels(cid), statusReq(rid)))).status,
        );
      });
    });
  const withEd25519 = (targets: (Principal[] | undefined)[]): Del[] => targets.map((t, i) => [edKey(i), t]);
  const withWebAuthnECDSA = (targets: (Principal[] | undefined)[]): Del[] =>
    targets.map((t, i) => [new WebAuthnEcdsaIdentity(Uint8Array.of(i)), t]);
  const withWebAuthnRSA = (targets: (Principal[] | undefined)[]): Del[] =>
    targets.map((t) => [new WebAuthnRsaIdentity(), t]);
  const withSelfLoop = (targets: (Principal[] | undefined)[]): Del[] => targets.map((t) => [edKey(0), t]);
  const withCycle = (targets: (Principal[] | undefined)[]): Del[] => targets.map((t, i) => [edKey(i % 2), t]);
  const many = (n: number) =>
    Array.from({ length: n }, (_, i) =>
      Principal.fromUint8Array(Uint8Array.from([0, 0, 0, 0, 0, i >> 8, i & 0xff, 1, 1, 1])),
    );
  const MANAGEMENT = Principal.managementCanister();

  good('one delegation, singleton target', callReq, (cid) => withEd25519([[cid]]));
  bad('one delegation, wrong singleton target', callReq, () => withEd25519([[doesntExist]]));
  good('one delegation, two targets', callReq, (cid) => withEd25519([[cid, doesntExist]]));
  good('one delegation, many targets', callReq, (cid) => withEd25519([[cid, ...many(999)]]));
  bad('one delegation, too many targets', callReq, (cid) => withEd25519([[cid, ...many(1000)]]));
  good('two delegations, two targets, webauthn ECDSA', callReq, (cid) =>
    withWebAuthnECDSA([
      [cid, doesntExist],
      [cid, doesntExist],
    ]),
  );
  good('two delegations, two targets, webauthn RSA', callReq, (cid) =>
    withWebAuthnRSA([
      [cid, doesntExist],
      [cid, doesntExist],
    ]),
  );
  good('one delegation, redundant targets', callReq, (cid) => withEd25519([[cid, cid, doesntExist]]));
  good('two delegations, singletons', callReq, (cid) => withEd25519([[cid], [cid]]));
  good('two delegations, first restricted', callReq, (cid) => withEd25519([[cid], undefined]));
  good('two delegations, second restricted', callReq, (cid) => withEd25519([undefined, [cid]]));
  bad('two delegations, empty intersection', callReq, (cid) => withEd25519([[cid], [doesntExist]]));
  bad('two delegations, first empty target set', callReq, (cid) => withEd25519([[], [cid]]));
  bad('two delegations, second empty target set', callReq, (cid) => withEd25519([[cid], []]));
  good('20 delegations', callReq, (cid) => withEd25519(new Array(20).fill([cid])));
  bad('too many delegations', callReq, (cid) => withEd25519(new Array(21).fill([cid])));
  bad('self-loop in delegations', callReq, (cid) => withSelfLoop([[cid], [cid]]));
  bad('cycle in delegations', callReq, (cid) => withCycle([[cid], [cid], [cid]]));
  good('management canister: correct target', mgmtReq, () => withEd25519([[MANAGEMENT]]));
  bad('management canister: empty target set', mgmtReq, () => withEd25519([[]]));
  bad('management canister: bogus target', mgmtReq, () => withEd25519([[doesntExist]]));
  bad('management canister: bogus target (using target canister)', mgmtReq, (cid) => withEd25519([[cid]]));
});

describe('Authentication schemes', () => {
  const schemes: [string, () => Promise<[SignIdentity, Del[]]>][] = [
    ['Ed25519', async () => [otherSK, []]],
    ['ECDSA', async () => [await ECDSAKeyIdentity.generate(), []]],
    ['secp256k1', async () => [Secp256k1KeyIdentity.generate(new Uint8Array(32).fill(7)), []]],
    ['WebAuthn ECDSA', async () => [new WebAuthnEcdsaIdentity(enc('webauthn ecdsa')), []]],
    ['WebAuthn RSA', async () => [new WebAuthnRsaIdentity(), []]],
    ['empty delegations', async () => [otherSK, []]],
    [
      'three delegations',
      async () => [
        otherSK,
        [
          [edKey(20), undefined],
          [edKey(21), undefined],
        ],
      ],
    ],
    [
      'four delegations',
      async () => [
        otherSK,
        [
          [edKey(20), undefined],
          [edKey(21), undefined],
          [edKey(22), undefined],
        ],
      ],
    ],
    [
      'mixed delegations',
      async () => [
        otherSK,
        [
          [defaultSK, undefined],
          [new WebAuthnRsaIdentity(), undefined],
          [await ECDSAKeyIdentity.generate(), undefined],
          [Secp256k1KeyIdentity.generate(new Uint8Array(32).fill(8)), undefined],
        ],
      ],
    ],
  ];
  for (const [name, make] of schemes) {
    it(`${name} in query`, async () => {
      const cid = await canister();
      const [sk, dels] = await make();
      const content: Content = {
        request_type: 'query',
        sender: sk.getPrincipal().toUint8Array(),
        canister_id: cid.toUint8Array(),
        method_name: 'query',
        arg: run(reply),
        ingress_expiry: expiry(),
      };
      const r = await post(cid, 'query', await delegationEnv(sk, dels, content));
      expect(r.status).toBe(200);
      const body = Cbor.decode<{ status: string; reply?: { arg: Uint8Array } }>(r.body);
      expect(body.status).toBe('replied');
      expect(new Uint8Array(body.reply!.arg)).toEqual(new Uint8Array());
    });
    it(`${name} in update`, async () => {
      const cid = await canister();
      const [sk, dels] = await make();
      const req = callReq(cid, sk.getPrincipal());
      is2xx((await post(cid, 'call', await delegationEnv(sk, dels, req))).status);
      await awaitReplied(cid, new Uint8Array(requestIdOf(req)), (c) =>
        delegationEnv(sk, dels, { ...c, sender: sk.getPrincipal().toUint8Array() }),
      );
    });
  }
});
