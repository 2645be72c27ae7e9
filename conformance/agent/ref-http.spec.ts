/**
 * Reference suite (dfinity/ic `hs/spec_compliance/src/IC/Test/Spec.hs`), the
 * HTTP-level groups "wrong url path", "wrong effective canister id",
 * "anonymous user" and "signature checking", ported with real HTTP requests
 * against the IC HTTP interface of `pic.makeLive()`: envelopes are built and
 * signed here (request id and domain separator from `@icp-sdk/core/agent`),
 * and the agent reads replies. IC interface specification, "HTTPS Interface"
 * ("Request ids", "Authentication", "Effective canister id", "Request
 * expiry").
 */
import { PocketIc } from '@dfinity/pic';
import { encodeWithSelfDescribedTag } from '@dfinity/cbor';
import {
  AnonymousIdentity,
  HttpAgent,
  IC_REQUEST_DOMAIN_SEPARATOR,
  pollForResponse,
  requestIdOf,
} from '@icp-sdk/core/agent';
import { IDL } from '@icp-sdk/core/candid';
import { Ed25519KeyIdentity } from '@icp-sdk/core/identity';
import { Principal } from '@icp-sdk/core/principal';
import { describe, expect, it } from 'vitest';
import { liveInstance } from '../support/pic.ts';
import { defaultSK, defaultUser, otherSK } from '../support/ref-identities.ts';
import {
  caller,
  i2b,
  ignore,
  install,
  int,
  query,
  reply,
  replyData,
  run,
  seq,
  stableGrow,
  stableSize,
} from '../support/uc.ts';

let pic: PocketIc;
let host: string;
const ANONYMOUS = Principal.anonymous();

liveInstance((p, h) => {
  pic = p;
  host = h;
});

type Content = Record<string, unknown>;
const expiry = (offsetMs = 3 * 60_000) => BigInt(Date.now() + offsetMs) * 1_000_000n;
const nonce = () => crypto.getRandomValues(new Uint8Array(8));
const addNonceExpiry = (c: Content): Content => ({ nonce: nonce(), ingress_expiry: expiry(), ...c });

function callReq(cid: Principal, method = 'update', arg = run(reply)): Content {
  return addNonceExpiry({
    request_type: 'call',
    sender: defaultUser.toUint8Array(),
    canister_id: cid.toUint8Array(),
    method_name: method,
    arg,
  });
}
function queryReq(cid: Principal, method = 'query', arg = run(reply)): Content {
  return addNonceExpiry({
    request_type: 'query',
    sender: defaultUser.toUint8Array(),
    canister_id: cid.toUint8Array(),
    method_name: method,
    arg,
  });
}
const readStateReq = (paths: Uint8Array[][]): Content =>
  addNonceExpiry({ request_type: 'read_state', sender: defaultUser.toUint8Array(), paths });

const concat = (a: Uint8Array, b: Uint8Array) => new Uint8Array([...a, ...b]);

/** A signed envelope; `domain` is the separator the signature covers (the spec's "\x0Aic-request"). */
async function envelope(
  content: Content,
  sk: Ed25519KeyIdentity = defaultSK,
  domain: Uint8Array = IC_REQUEST_DOMAIN_SEPARATOR,
): Promise<Uint8Array<ArrayBuffer>> {
  const sig = await sk.sign(concat(domain, requestIdOf(content)));
  return cbor({ content, sender_pubkey: sk.getPublicKey().toDer(), sender_sig: sig });
}
/** An unsigned envelope (the anonymous sender). */
const unsigned = (content: Content) => cbor({ content });
const cbor = (value: unknown): Uint8Array<ArrayBuffer> =>
  new Uint8Array(encodeWithSelfDescribedTag(value as Parameters<typeof encodeWithSelfDescribedTag>[0]));

async function post(path: string, body: Uint8Array<ArrayBuffer>): Promise<number> {
  const res = await fetch(`${host}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/cbor' },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}
const at = (cid: Principal | string, kind: 'call' | 'query' | 'read_state') =>
  `/api/v2/canister/${typeof cid === 'string' ? cid : cid.toText()}/${kind}`;
const is4xx = (status: number) => expect(status >= 400 && status < 500, `HTTP ${status}`).toBe(true);

describe('state', () => {
  // The reference's `callTwice'` (`awaitCallTwice`): the same signed request
  // (same nonce, hence same request id) submitted twice, both accepted with an
  // empty 202; the IC acts once (IC interface specification, "Request ids":
  // the IC may ignore a request whose id it has seen).
  it('resubmission', async () => {
    const cid = await install(pic);
    const content = callReq(cid, 'update', run(seq(ignore(stableGrow(int(1))), reply)));
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${host}${at(cid, 'call')}`, {
        method: 'POST',
        headers: { 'content-type': 'application/cbor' },
        body: await envelope(content),
      });
      expect(res.status).toBe(202);
      expect((await res.arrayBuffer()).byteLength).toBe(0);
    }
    const agent = await HttpAgent.create({ host, identity: defaultSK, shouldFetchRootKey: true });
    const { reply: r } = await pollForResponse(agent, cid, requestIdOf(content));
    expect(new Uint8Array(r)).toEqual(new Uint8Array());
    expect(await query(pic, cid, replyData(i2b(stableSize)))).toEqual(Uint8Array.of(1, 0, 0, 0));
  });
});

describe('wrong url path', () => {
  it('call request to query', async () => {
    const cid = await install(pic);
    is4xx(await post(at(cid, 'query'), await envelope(callReq(cid))));
  });
  it('query request to call', async () => {
    const cid = await install(pic);
    is4xx(await post(at(cid, 'call'), await envelope(queryReq(cid))));
  });
  it('query request to read_state', async () => {
    const cid = await install(pic);
    is4xx(await post(at(cid, 'read_state'), await envelope(queryReq(cid))));
  });
  it('read_state request to query', async () => {
    const cid = await install(pic);
    is4xx(await post(at(cid, 'query'), await envelope(readStateReq([]))));
  });
});

describe('wrong effective canister id', () => {
  it('in call', async () => {
    const cid1 = await install(pic);
    const cid2 = await pic.createCanister();
    is4xx(await post(at(cid2, 'call'), await envelope(callReq(cid1))));
  });
  it('in query', async () => {
    const cid1 = await install(pic);
    const cid2 = await pic.createCanister();
    is4xx(await post(at(cid2, 'query'), await envelope(queryReq(cid1))));
  });
  it('in read_state', async () => {
    const cid = await install(pic);
    const cid2 = await install(pic);
    const paths = [
      [new TextEncoder().encode('canister'), cid.toUint8Array(), new TextEncoder().encode('controllers')],
    ];
    is4xx(await post(at(cid2, 'read_state'), await envelope(readStateReq(paths))));
  });
  it('in mangement call', async () => {
    const cid1 = await install(pic);
    const cid2 = await pic.createCanister();
    const arg = new Uint8Array(
      IDL.encode([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: cid1 }]),
    );
    const req = { ...callReq(cid1, 'canister_status', arg), canister_id: new Uint8Array() };
    is4xx(await post(at(cid2, 'call'), await envelope(req)));
  });
  it('non-existing (and likely invalid)', async () => {
    const cid1 = await install(pic);
    const foobar = Principal.fromUint8Array(new TextEncoder().encode('foobar')).toText();
    is4xx(await post(at(foobar, 'call'), await envelope(callReq(cid1))));
  });
  it('invalid textual represenation', async () => {
    const cid1 = await install(pic);
    is4xx(await post(at(cid1.toText().replaceAll('-', ''), 'call'), await envelope(callReq(cid1))));
  });
  it('using management canister as effective canister id in update', async () => {
    const req = {
      ...callReq(ANONYMOUS, 'raw_rand', new Uint8Array(IDL.encode([], []))),
      canister_id: new Uint8Array(),
    };
    is4xx(await post(at(Principal.managementCanister(), 'call'), await envelope(req)));
  });
  it('using management canister as effective canister id in query', async () => {
    const req = {
      ...queryReq(ANONYMOUS, 'raw_rand', new Uint8Array(IDL.encode([], []))),
      canister_id: new Uint8Array(),
    };
    is4xx(await post(at(Principal.managementCanister(), 'query'), await envelope(req)));
  });
  it('using management canister as effective canister id in read_state', async () => {
    const req = readStateReq([[new TextEncoder().encode('time')]]);
    is4xx(await post(at(Principal.managementCanister(), 'read_state'), await envelope(req)));
  });
});

const withoutSender = (c: Content): Content =>
  Object.fromEntries(Object.entries(c).filter(([k]) => k !== 'sender'));

describe('anonymous user', () => {
  const anonAgent = () =>
    HttpAgent.create({ host, identity: new AnonymousIdentity(), shouldFetchRootKey: true });
  it('update, sender absent fails', async () => {
    const cid = await install(pic);
    const content = withoutSender(callReq(cid, 'update', run(replyData(caller))));
    is4xx(await post(at(cid, 'call'), unsigned(content)));
  });
  it('query, sender absent fails', async () => {
    const cid = await install(pic);
    const content = withoutSender(queryReq(cid, 'query', run(replyData(caller))));
    is4xx(await post(at(cid, 'query'), unsigned(content)));
  });
  it('update, sender explicit', async () => {
    const cid = await install(pic);
    const agent = await anonAgent();
    const { requestId } = await agent.call(cid, {
      methodName: 'update',
      arg: run(replyData(caller)),
      effectiveCanisterId: cid,
    });
    const { reply: r } = await pollForResponse(agent, cid, requestId);
    expect(new Uint8Array(r)).toEqual(ANONYMOUS.toUint8Array());
  });
  it('query, sender explicit', async () => {
    const cid = await install(pic);
    const agent = await anonAgent();
    const r = await agent.query(cid, {
      methodName: 'query',
      arg: run(replyData(caller)),
      effectiveCanisterId: cid,
    });
    expect(r.status).toBe('replied');
    expect(r.status === 'replied' ? new Uint8Array(r.reply.arg) : undefined).toEqual(
      ANONYMOUS.toUint8Array(),
    );
  });
});

describe('signature checking', () => {
  type Variant = {
    name: string;
    env: (c: Content) => Promise<Uint8Array<ArrayBuffer>>;
    mod: (c: Content) => Content;
  };
  const variants: Variant[] = [
    {
      name: 'with bad signature',
      env: async (c) =>
        cbor({
          content: c,
          sender_pubkey: defaultSK.getPublicKey().toDer(),
          sender_sig: new Uint8Array(64).fill(7),
        }),
      mod: (c) => c,
    },
    { name: 'with wrong key', env: (c) => envelope(c, otherSK), mod: (c) => c },
    {
      name: 'with empty domain separator',
      env: (c) => envelope(c, defaultSK, new Uint8Array()),
      mod: (c) => c,
    },
    {
      name: 'with no expiry',
      env: (c) => envelope(c),
      mod: (c) => Object.fromEntries(Object.entries(c).filter(([k]) => k !== 'ingress_expiry')),
    },
    {
      name: 'with expiry in the past',
      env: (c) => envelope(c),
      mod: (c) => ({ ...c, ingress_expiry: expiry(-3600_000) }),
    },
    {
      name: 'with expiry in the future',
      env: (c) => envelope(c),
      mod: (c) => ({ ...c, ingress_expiry: expiry(24 * 3600_000) }),
    },
  ];
  for (const v of variants) {
    describe(v.name, () => {
      it('in query', async () => {
        const cid = await install(pic);
        expect(await post(at(cid, 'query'), await envelope(queryReq(cid)))).toBe(200);
        is4xx(await post(at(cid, 'query'), await v.env(v.mod(queryReq(cid)))));
      });
      it('in empty read state request', async () => {
        const cid = await install(pic);
        expect(await post(at(cid, 'read_state'), await envelope(readStateReq([])))).toBe(200);
        is4xx(await post(at(cid, 'read_state'), await v.env(v.mod(readStateReq([])))));
      });
      it('in call', async () => {
        const cid = await install(pic);
        const bad = v.mod(callReq(cid, 'query'));
        const status = await post(at(cid, 'call'), await v.env(bad));
        expect(status === 202 || (status >= 400 && status < 500), `HTTP ${status}`).toBe(true);
        // The request was not created.
        const rid = new Uint8Array(requestIdOf(bad));
        const paths = [[new TextEncoder().encode('request_status'), rid]];
        const agent = await HttpAgent.create({ host, identity: defaultSK, shouldFetchRootKey: true });
        const state = await agent.readState(cid, { paths });
        expect(state.certificate.byteLength).toBeGreaterThan(0);
        // With a valid signature, this would have worked.
        expect(await post(at(cid, 'call'), await envelope(callReq(cid, 'query')))).toBe(202);
      });
    });
  }
});
