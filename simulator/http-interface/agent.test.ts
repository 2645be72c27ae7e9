/**
 * The IC HTTP interface end to end, in process: an icsim server with a
 * gateway port, driven by the real agents (`@icp-sdk/core` 5.x and
 * `@dfinity/agent` 3.x) and by hand-made envelopes for the refusals.
 */
import * as agent5 from '@icp-sdk/core/agent';
import { Certificate, lookupResultToBuffer } from '@icp-sdk/core/agent';
import { IDL } from '@icp-sdk/core/candid';
import {
  DelegationChain,
  DelegationIdentity,
  ECDSAKeyIdentity,
  Ed25519KeyIdentity,
} from '@icp-sdk/core/identity';
import { Secp256k1KeyIdentity } from '@icp-sdk/core/identity/secp256k1';
import { Principal } from '@icp-sdk/core/principal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as agent3 from '../../node_modules/azle/node_modules/@dfinity/agent/lib/esm/index.js';
import { Instance } from '../instance.ts';
import { InlineHost } from '../server/inline-host.ts';
import { WorkerPool } from '../server/worker-pool.ts';
import { createIcsimServer, type IcsimServer } from '../server/server.ts';
import { Harness } from '../testing/harness.ts';
import { wat, withCustomSection } from '../wasm/test-support.ts';
import { decodeCbor, encodeTagged, isRecord } from './cbor.ts';
import { IcHttpInterface } from './interface.ts';
import { concatBytes, toHex } from '../bytes.ts';
import { requestIdOf } from './request-id.ts';

/**
 * whoami/whoami_q: () -> (principal) — the caller; inc: () -> (nat64) update; get: () -> (nat64) query;
 * nope/nope_q: () -> () reject "nope"; certify: (blob) -> () sets certified data (raw arg bytes after the header).
 */
const WAT = `(module
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "msg_reject" (func $reject (param i32 i32)))
  (import "ic0" "msg_caller_size" (func $caller_size (result i32)))
  (import "ic0" "msg_caller_copy" (func $caller_copy (param i32 i32 i32)))
  (import "ic0" "msg_arg_data_size" (func $arg_size (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "certified_data_set" (func $certify (param i32 i32)))
  (memory 1)
  (data (i32.const 16) "DIDL\\00\\01\\68\\01")
  (data (i32.const 64) "DIDL\\00\\01\\78")
  (data (i32.const 96) "nope")
  (data (i32.const 128) "DIDL\\00\\00")
  (func $whoami
    (i32.store8 (i32.const 24) (call $caller_size))
    (call $caller_copy (i32.const 25) (i32.const 0) (call $caller_size))
    (call $append (i32.const 16) (i32.add (i32.const 9) (call $caller_size)))
    (call $reply))
  (func $counter
    (i64.store (i32.const 71) (i64.load (i32.const 0)))
    (call $append (i32.const 64) (i32.const 15))
    (call $reply))
  (func (export "canister_update whoami") (call $whoami))
  (func (export "canister_query whoami_q") (call $whoami))
  (func (export "canister_update inc")
    (i64.store (i32.const 0) (i64.add (i64.load (i32.const 0)) (i64.const 1)))
    (call $counter))
  (func (export "canister_query get") (call $counter))
  (func (export "canister_update nope") (call $reject (i32.const 96) (i32.const 4)))
  (func (export "canister_query nope_q") (call $reject (i32.const 96) (i32.const 4)))
  (func (export "canister_update certify")
    (call $arg_copy (i32.const 1024) (i32.const 0) (call $arg_size))
    (call $certify (i32.const 1024) (call $arg_size))
    (call $append (i32.const 128) (i32.const 6))
    (call $reply)))`;

const idl: IDL.InterfaceFactory = ({ IDL: I }) =>
  I.Service({
    whoami: I.Func([], [I.Principal], []),
    whoami_q: I.Func([], [I.Principal], ['query']),
    inc: I.Func([], [I.Nat64], []),
    get: I.Func([], [I.Nat64], ['query']),
    nope: I.Func([], [], []),
    nope_q: I.Func([], [], ['query']),
  });

interface Service {
  whoami(): Promise<Principal>;
  whoami_q(): Promise<Principal>;
  inc(): Promise<bigint>;
  get(): Promise<bigint>;
  nope(): Promise<void>;
  nope_q(): Promise<void>;
}

let icsim: IcsimServer;
let host: string;
let ic: Instance;
let canisterId: Principal;
let controller: Ed25519KeyIdentity;

beforeAll(async () => {
  // The worker pool stays unused: these instances are hosted inline, so the test can reach them.
  icsim = createIcsimServer({
    pool: new WorkerPool(new URL('../server/instance-worker.ts', import.meta.url)),
  });
  await new Promise<void>((r) => icsim.server.listen(0, '127.0.0.1', r));
  ic = Instance.create({ subnets: [{ kind: 'Application' }] });
  const id = icsim.registry.add(new InlineHost(ic));
  controller = Ed25519KeyIdentity.generate();
  const h = new Harness(ic);
  canisterId = h.createCanister([controller.getPrincipal()]);
  let wasm = wat(WAT);
  wasm = withCustomSection(wasm, 'icp:public candid:service', 'service : {}');
  wasm = withCustomSection(wasm, 'icp:private secret', 'hidden');
  const installed = h.install(canisterId, wasm, new Uint8Array(), 'install', controller.getPrincipal());
  expect(installed.status).toBe('replied');
  const gateway = await icsim.httpInterface.startGateway(id);
  host = `http://127.0.0.1:${gateway.port}`;
});

afterAll(() => {
  ic?.stopAutoProgress();
  icsim?.server.close();
  icsim?.close();
});

const rawPost = async (path: string, body: Uint8Array, contentType = 'application/cbor') => {
  const res = await fetch(`${host}${path}`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: Buffer.from(body),
  });
  return { status: res.status, bytes: new Uint8Array(await res.arrayBuffer()), headers: res.headers };
};

describe('status and CORS', () => {
  it('serves the root key in CBOR', async () => {
    const res = await fetch(`${host}/api/v2/status`);
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const body = decodeCbor(new Uint8Array(await res.arrayBuffer()));
    expect(isRecord(body) && body.root_key).toEqual(ic.getRootKey());
    expect(isRecord(body) && body.replica_health_status).toBe('healthy');
  });

  it('answers the preflight', async () => {
    const res = await fetch(`${host}/api/v3/canister/${canisterId.toText()}/call`, { method: 'OPTIONS' });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-methods')).toContain('POST');
    expect(res.headers.get('access-control-allow-headers')).toMatch(/content-type/i);
  });

  it('is also served under /instances/{id}/api on the PocketIC port', async () => {
    const addr = icsim.server.address() as { port: number };
    const res = await fetch(`http://127.0.0.1:${addr.port}/instances/0/api/v2/status`);
    expect(res.status).toBe(200);
  });

  it('refuses another content type', async () => {
    const res = await rawPost(
      `/api/v2/canister/${canisterId.toText()}/query`,
      new Uint8Array([1]),
      'application/json',
    );
    expect(res.status).toBe(400);
    expect(new TextDecoder().decode(res.bytes)).toBe('Unexpected content-type, expected application/cbor.');
  });
});

describe.each([
  ['@icp-sdk/core 5.x', agent5 as unknown as typeof agent3],
  ['@dfinity/agent 3.x', agent3],
])('%s', (_name, lib) => {
  const identities = () => ({
    anonymous: undefined,
    ed25519: Ed25519KeyIdentity.generate(),
    secp256k1: Secp256k1KeyIdentity.generate(),
  });

  for (const [kind, make] of Object.entries({
    anonymous: () => Promise.resolve(identities().anonymous),
    ed25519: () => Promise.resolve(identities().ed25519),
    secp256k1: () => Promise.resolve(identities().secp256k1),
    p256: () => ECDSAKeyIdentity.generate(),
  })) {
    it(`update and query as ${kind}: the sender is msg_caller`, async () => {
      const identity = await make();
      const agent = await lib.HttpAgent.create({
        host,
        shouldFetchRootKey: true,
        identity: identity as never,
      });
      const actor = lib.Actor.createActor<Service>(idl as never, { agent, canisterId: canisterId.toText() });
      const expected = identity ? identity.getPrincipal().toText() : Principal.anonymous().toText();
      expect((await actor.whoami()).toText()).toBe(expected);
      expect((await actor.whoami_q()).toText()).toBe(expected);
    });
  }

  it('update, query, certified reject and query reject', async () => {
    const agent = await lib.HttpAgent.create({
      host,
      shouldFetchRootKey: true,
      identity: Ed25519KeyIdentity.generate() as never,
    });
    const actor = lib.Actor.createActor<Service>(idl as never, { agent, canisterId: canisterId.toText() });
    const n = await actor.inc();
    expect(await actor.get()).toBe(n);
    await expect(actor.nope()).rejects.toThrow(/nope/);
    await expect(actor.nope_q()).rejects.toThrow(/nope/);
  });

  it('a delegated identity calls as the root of its chain, within its targets', async () => {
    const root = Ed25519KeyIdentity.generate();
    const session = Ed25519KeyIdentity.generate();
    const chain = await DelegationChain.create(root, session.getPublicKey(), new Date(Date.now() + 600_000), {
      targets: [canisterId],
    });
    const identity = DelegationIdentity.fromDelegation(session, chain);
    const agent = await lib.HttpAgent.create({ host, shouldFetchRootKey: true, identity: identity as never });
    const actor = lib.Actor.createActor<Service>(idl as never, { agent, canisterId: canisterId.toText() });
    expect((await actor.whoami()).toText()).toBe(root.getPrincipal().toText());
    expect((await actor.whoami_q()).toText()).toBe(root.getPrincipal().toText());
  });

  it('polls after a v2 call (202)', async () => {
    const identity = Ed25519KeyIdentity.generate();
    const agent = await lib.HttpAgent.create({ host, shouldFetchRootKey: true, identity: identity as never });
    const arg = IDL.encode([], []);
    const { requestId, response } = await agent.call(canisterId.toText(), {
      methodName: 'whoami',
      arg,
      callSync: false,
    } as never);
    expect(response.status).toBe(202);
    const { reply } = await lib.pollForResponse(agent as never, canisterId as never, requestId);
    const [who] = IDL.decode([IDL.Principal], reply) as unknown as [Principal];
    expect(who.toText()).toBe(identity.getPrincipal().toText());
  });

  it('management canister: create (ECID aaaaa-aa) and canister_status (ECID = the target) as the controller', async () => {
    const identity = Ed25519KeyIdentity.generate();
    const agent = await lib.HttpAgent.create({ host, shouldFetchRootKey: true, identity: identity as never });
    const mgmtIdl: IDL.InterfaceFactory = ({ IDL: I }) =>
      I.Service({
        provisional_create_canister_with_cycles: I.Func(
          [I.Record({ amount: I.Opt(I.Nat) })],
          [I.Record({ canister_id: I.Principal })],
          [],
        ),
        canister_status: I.Func(
          [I.Record({ canister_id: I.Principal })],
          [I.Record({ module_hash: I.Opt(I.Vec(I.Nat8)) })],
          [],
        ),
      });
    type Mgmt = {
      provisional_create_canister_with_cycles(a: { amount: [] }): Promise<{ canister_id: Principal }>;
      canister_status(a: { canister_id: Principal }): Promise<{ module_hash: [] | [Uint8Array] }>;
    };
    const create = lib.Actor.createActor<Mgmt>(mgmtIdl as never, { agent, canisterId: 'aaaaa-aa' });
    const { canister_id } = await create.provisional_create_canister_with_cycles({ amount: [] });
    expect(ic.getControllers(canister_id as unknown as Principal).map((p) => p.toText())).toEqual([
      identity.getPrincipal().toText(),
    ]);
    const status = lib.Actor.createActor<Mgmt>(mgmtIdl as never, {
      agent,
      canisterId: 'aaaaa-aa',
      effectiveCanisterId: canister_id as never,
    });
    expect((await status.canister_status({ canister_id })).module_hash).toEqual([]);
  });

  it('a missing canister is a non-replicated rejection (IC0301), not an HTTP error', async () => {
    const agent = await lib.HttpAgent.create({ host, shouldFetchRootKey: true });
    const missing = Principal.fromText('rkp4c-7iaaa-aaaaa-aaaca-cai');
    const actor = lib.Actor.createActor<Service>(idl as never, { agent, canisterId: missing.toText() });
    await expect(actor.inc()).rejects.toThrow(/IC0301|not found/);
  });

  it('CanisterStatus reads module_hash, controllers and time', async () => {
    const agent = await lib.HttpAgent.create({ host, shouldFetchRootKey: true });
    const status = await lib.CanisterStatus.request({
      agent: agent as never,
      canisterId: canisterId as never,
      paths: ['module_hash', 'controllers', 'time', 'candid'],
    });
    expect(status.get('module_hash')).toBe(toHex(ic.getCanisterInfo(canisterId)!.moduleHash!));
    expect((status.get('controllers') as unknown as Principal[]).map((p) => p.toText())).toEqual([
      controller.getPrincipal().toText(),
    ]);
    expect(status.get('time')).toBeInstanceOf(Date);
    expect(status.get('candid')).toBe('service : {}');
  });
});

describe('refusals leave the canister unchanged', () => {
  async function signedCall(
    identity: Ed25519KeyIdentity,
    overrides: { expiry?: bigint; sender?: Principal; tamper?: boolean },
  ) {
    const content = {
      request_type: 'call',
      canister_id: canisterId.toUint8Array(),
      method_name: 'inc',
      arg: IDL.encode([], []),
      sender: (overrides.sender ?? identity.getPrincipal()).toUint8Array(),
      ingress_expiry: overrides.expiry ?? ic.getTime() + 120_000_000_000n,
      nonce: crypto.getRandomValues(new Uint8Array(16)),
    };
    const rid = requestIdOf(content);
    const sig = new Uint8Array(
      await identity.sign(concatBytes([new TextEncoder().encode('\x0Aic-request'), rid])),
    );
    if (overrides.tamper) sig[0]! ^= 1;
    return encodeTagged({
      content,
      sender_pubkey: new Uint8Array(identity.getPublicKey().toDer()),
      sender_sig: sig,
    });
  }

  const counter = () =>
    ic.query({
      sender: Principal.anonymous(),
      canisterId,
      method: 'get',
      arg: IDL.encode([], []),
      effectivePrincipal: { kind: 'none' },
    });

  it.each([
    [
      'a forged signature',
      { tamper: true },
      /^Invalid signature: Invalid basic signature: Ed25519 signature could not be verified/,
    ],
    [
      'a wrong sender',
      { sender: Ed25519KeyIdentity.generate().getPrincipal() },
      /^The user id '.*' does not match the public key '302a/,
    ],
    [
      'an expired request',
      { expiry: 1n },
      /^Invalid request expiry: Specified ingress_expiry not within expected range: Minimum allowed expiry: /,
    ],
    ['an expiry too far ahead', { expiry: 10n ** 19n }, /^Invalid request expiry: /],
  ])('%s: 400 with the IC text, nothing runs', async (_what, overrides, text) => {
    const before = counter();
    const body = await signedCall(Ed25519KeyIdentity.generate(), overrides);
    for (const v of [2, 3, 4]) {
      const res = await rawPost(`/api/v${v}/canister/${canisterId.toText()}/call`, body);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(new TextDecoder().decode(res.bytes)).toMatch(text);
    }
    ic.tick();
    expect(counter()).toEqual(before);
  });

  it('a resubmitted request runs once', async () => {
    const before = counter();
    const body = await signedCall(Ed25519KeyIdentity.generate(), {});
    const first = await rawPost(`/api/v3/canister/${canisterId.toText()}/call`, body);
    const second = await rawPost(`/api/v4/canister/${canisterId.toText()}/call`, body);
    expect([first.status, second.status]).toEqual([200, 200]);
    const [a] = IDL.decode([IDL.Nat64], (before as { reply: Uint8Array }).reply) as unknown as [bigint];
    const [b] = IDL.decode([IDL.Nat64], (counter() as { reply: Uint8Array }).reply) as unknown as [bigint];
    expect(b).toBe(a + 1n);
  });

  it('an ECID that does not match the canister is refused', async () => {
    const body = await signedCall(Ed25519KeyIdentity.generate(), {});
    const res = await rawPost(`/api/v3/canister/ryjl3-tyaaa-aaaaa-aaaba-cai/call`, body);
    expect(res.status).toBe(400);
    expect(new TextDecoder().decode(res.bytes)).toMatch(
      /^Specified CanisterId .* does not match effective canister id in URL ryjl3-tyaaa-aaaaa-aaaba-cai$/,
    );
  });
});

describe('read_state paths', () => {
  async function readState(
    identity: Ed25519KeyIdentity | undefined,
    paths: (string | Uint8Array)[][],
    ecid = canisterId,
  ) {
    const enc = (l: string | Uint8Array) => (typeof l === 'string' ? new TextEncoder().encode(l) : l);
    const sender = identity ? identity.getPrincipal() : Principal.anonymous();
    const content = {
      request_type: 'read_state',
      paths: paths.map((p) => p.map(enc)),
      sender: sender.toUint8Array(),
      ingress_expiry: ic.getTime() + 60_000_000_000n,
    };
    const envelope: Record<string, unknown> = { content };
    if (identity) {
      envelope.sender_pubkey = new Uint8Array(identity.getPublicKey().toDer());
      envelope.sender_sig = new Uint8Array(
        await identity.sign(concatBytes([new TextEncoder().encode('\x0Aic-request'), requestIdOf(content)])),
      );
    }
    const res = await rawPost(
      `/api/v3/canister/${ecid.toText()}/read_state`,
      encodeTagged(envelope as never),
    );
    return { status: res.status, text: new TextDecoder().decode(res.bytes), bytes: res.bytes };
  }

  it('private metadata only for controllers', async () => {
    const refused = await readState(Ed25519KeyIdentity.generate(), [
      ['canister', canisterId.toUint8Array(), 'metadata', 'secret'],
    ]);
    expect(refused.status).toBe(403);
    expect(refused.text).toBe(
      'Custom section secret can only be requested by the controllers of the canister.',
    );
    const allowed = await readState(controller, [
      ['canister', canisterId.toUint8Array(), 'metadata', 'secret'],
    ]);
    expect(allowed.status).toBe(200);
    const { certificate } = decodeCbor(allowed.bytes) as { certificate: Uint8Array };
    const cert = await Certificate.create({
      certificate,
      rootKey: ic.getRootKey(),
      principal: { canisterId },
    });
    expect(
      new TextDecoder().decode(
        lookupResultToBuffer(cert.lookup_path(['canister', canisterId.toUint8Array(), 'metadata', 'secret'])),
      ),
    ).toBe('hidden');
  });

  it('another canister’s paths, certified_data and unknown paths are refused', async () => {
    const other = Principal.fromText('ryjl3-tyaaa-aaaaa-aaaba-cai');
    const mismatch = await readState(undefined, [['canister', other.toUint8Array(), 'module_hash']]);
    expect(mismatch.status).toBe(400);
    expect(mismatch.text).toBe(
      `Effective principal id in URL ${canisterId.toText()} does not match requested principal id: ${other.toText()}.`,
    );
    for (const path of [['canister', canisterId.toUint8Array(), 'certified_data'], ['foo']]) {
      const res = await readState(undefined, [path]);
      expect([res.status, res.text]).toEqual([404, 'Invalid path requested.']);
    }
  });

  it('a request status is only readable by its sender', async () => {
    const identity = Ed25519KeyIdentity.generate();
    const agent = await agent5.HttpAgent.create({ host, shouldFetchRootKey: true, identity });
    const { requestId } = await agent.call(canisterId, {
      methodName: 'inc',
      arg: IDL.encode([], []),
      effectiveCanisterId: canisterId,
    });
    const mine = await readState(identity, [['request_status', new Uint8Array(requestId)]]);
    expect(mine.status).toBe(200);
    const theirs = await readState(Ed25519KeyIdentity.generate(), [
      ['request_status', new Uint8Array(requestId)],
    ]);
    expect([theirs.status, theirs.text]).toEqual([
      403,
      'The user tries to access Request ID not signed by the caller.',
    ]);
  });
});

describe('data certificates', () => {
  it('a query sees a certificate of its canister’s certified data that agent-js verifies', async () => {
    const h = new Harness(ic);
    expect(h.update(canisterId, 'certify', new TextEncoder().encode('hello')).status).toBe('replied');
    const canister = ic.getCanisterInfo(canisterId)!;
    const bytes = IcHttpInterface.of(ic).dataCertificate(canister)!;
    const cert = await Certificate.create({
      certificate: bytes,
      rootKey: ic.getRootKey(),
      principal: { canisterId },
    });
    const data = lookupResultToBuffer(
      cert.lookup_path(['canister', canisterId.toUint8Array(), 'certified_data']),
    );
    expect(new TextDecoder().decode(data)).toBe('hello');
  });
});

describe('a non-live instance under /instances/{id}/api (virtual time)', () => {
  it('the agent syncs its clock with the replica after "Invalid request expiry" and then calls and queries', async () => {
    const frozen = Instance.create({ subnets: [{ kind: 'Application' }] });
    const id = icsim.registry.add(new InlineHost(frozen));
    const h = new Harness(frozen);
    const cid = h.createCanister();
    expect(h.install(cid, wat(WAT)).status).toBe('replied');
    const port = (icsim.server.address() as { port: number }).port;
    // 5.x builds absolute `/api/...` URLs; a fetch wrapper puts them under the instance prefix.
    const prefixed: typeof fetch = (input, init) =>
      fetch(
        String(input instanceof Request ? input.url : input).replace('/api/', `/instances/${id}/api/`),
        init,
      );
    const agent = await agent5.HttpAgent.create({
      host: `http://127.0.0.1:${port}`,
      shouldFetchRootKey: true,
      identity: Ed25519KeyIdentity.generate(),
      fetch: prefixed,
    });
    const actor = agent5.Actor.createActor<Service>(idl, { agent, canisterId: cid });
    expect(await actor.inc()).toBe(1n);
    expect(await actor.get()).toBe(1n);
    expect(frozen.isAutoProgress()).toBe(false);
  });
});

describe('subnet-scoped endpoints (6.x agents)', () => {
  it('POST /api/v4/subnet/<sid>/call creates a canister on that subnet with a certified reply', async () => {
    const subnetId = ic.getTopology().subnets[0]!.id;
    const content = {
      request_type: 'call',
      canister_id: new Uint8Array(),
      method_name: 'provisional_create_canister_with_cycles',
      arg: IDL.encode([IDL.Record({ amount: IDL.Opt(IDL.Nat) })], [{ amount: [] }]),
      sender: Principal.anonymous().toUint8Array(),
      ingress_expiry: ic.getTime() + 120_000_000_000n,
    };
    const res = await rawPost(`/api/v4/subnet/${subnetId.toText()}/call`, encodeTagged({ content }));
    expect(res.status).toBe(200);
    const { status, certificate } = decodeCbor(res.bytes) as { status: string; certificate: Uint8Array };
    expect(status).toBe('replied');
    const cert = await Certificate.create({ certificate, rootKey: ic.getRootKey(), principal: { subnetId } });
    const rid = requestIdOf(content);
    expect(
      new TextDecoder().decode(lookupResultToBuffer(cert.lookup_path(['request_status', rid, 'status']))),
    ).toBe('replied');
    const reply = lookupResultToBuffer(cert.lookup_path(['request_status', rid, 'reply']))!;
    const [{ canister_id }] = IDL.decode([IDL.Record({ canister_id: IDL.Principal })], reply) as unknown as [
      { canister_id: Principal },
    ];
    expect(ic.getSubnet(canister_id)?.toText()).toBe(subnetId.toText());
  });
});
