/**
 * The IC HTTP interface as the real agents use it: PicJS starts the server
 * and an instance, `pic.makeLive()` opens the HTTP gateway, and
 * `@icp-sdk/core` 5.x (`/api/v4` call, `/api/v3` query and read_state),
 * `@dfinity/agent` 3.x and 2.x (`/api/v3` call, `/api/v2` query and read_state)
 * and 1.x (`/api/v2` call polled through read_state), each signing with its own
 * generation's identities,
 * talk to the Azle `basic` fixture canister with `shouldFetchRootKey`, so
 * every certificate and query signature is verified against the root key of
 * `/api/v2/status`. Refusals (forged signature, wrong sender, expired
 * request) are sent as raw envelopes and must leave the canister unchanged.
 * Reference: docs/reference/ic-http-interface.md.
 */
import { PocketIc, SubnetStateType } from '@dfinity/pic';
import { encodeWithSelfDescribedTag } from '@dfinity/cbor';
import * as agent5 from '@icp-sdk/core/agent';
import * as agent6 from 'icp-sdk-core-6/agent';
import { IDL } from '@icp-sdk/core/candid';
import type { SignIdentity } from '@icp-sdk/core/agent';
import {
  DelegationChain,
  DelegationIdentity,
  ECDSAKeyIdentity,
  Ed25519KeyIdentity,
} from '@icp-sdk/core/identity';
import { Secp256k1KeyIdentity } from '@icp-sdk/core/identity/secp256k1';
import { Principal } from '@icp-sdk/core/principal';
import { sha256 } from '@noble/hashes/sha2.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as agent3 from '../../node_modules/azle/node_modules/@dfinity/agent/lib/esm/index.js';
// 1.x and 2.x with the candid/principal they peer, each from its own package (conformance/clients/README.md).
import * as agent2 from '../clients/packages/agent-2/node_modules/@dfinity/agent/lib/esm/index.js';
import * as agent1 from '../clients/packages/agent-1/node_modules/@dfinity/agent/lib/esm/index.js';
// Their identities too: a request id is computed by the identity, and @icp-sdk/core's `requestIdOf`
// hashes 1.x/2.x bodies (ArrayBuffer args and expiry hashes) differently.
import * as identity1 from '../clients/packages/agent-1/node_modules/@dfinity/identity/lib/esm/index.js';
import * as principal1 from '../clients/packages/agent-1/node_modules/@dfinity/principal/lib/esm/index.js';
import * as identity2 from '../clients/packages/agent-2/node_modules/@dfinity/identity/lib/esm/index.js';
import * as principal2 from '../clients/packages/agent-2/node_modules/@dfinity/principal/lib/esm/index.js';
import { Secp256k1KeyIdentity as Secp256k1KeyIdentity2 } from '../clients/packages/agent-2/node_modules/@dfinity/identity-secp256k1/lib/esm/index.js';
import { buildAzleCanister } from '../../fixtures/azle.ts';
import { createPic, picUrl } from '../support/pic.ts';

const idlFactory: IDL.InterfaceFactory = ({ IDL: I }) =>
  I.Service({
    whoami: I.Func([], [I.Principal], ['query']),
    whoamiUpdate: I.Func([], [I.Principal], []),
    greet: I.Func([I.Text], [I.Text], ['query']),
    put: I.Func([I.Text, I.Text], [I.Opt(I.Text)], []),
    get: I.Func([I.Text], [I.Opt(I.Text)], ['query']),
    putThenThrow: I.Func([I.Text, I.Text], [I.Null], []),
    noSuchQuery: I.Func([], [], ['query']),
  });

interface Basic {
  whoami(): Promise<Principal>;
  whoamiUpdate(): Promise<Principal>;
  greet(name: string): Promise<string>;
  put(key: string, value: string): Promise<[] | [string]>;
  get(key: string): Promise<[] | [string]>;
  putThenThrow(key: string, value: string): Promise<null>;
  noSuchQuery(): Promise<void>;
}

/** The identities a generation signs with, and its principal (for delegation targets). */
interface IdentityKit {
  Ed25519KeyIdentity: typeof Ed25519KeyIdentity;
  ECDSAKeyIdentity: typeof ECDSAKeyIdentity;
  /** 1.x shipped it as @dfinity/identity-secp256k1 1.x, whose peers npm cannot nest here: not run. */
  Secp256k1KeyIdentity?: typeof Secp256k1KeyIdentity;
  DelegationChain: typeof DelegationChain;
  DelegationIdentity: typeof DelegationIdentity;
  Principal: typeof Principal;
}
const sdk: IdentityKit = {
  Ed25519KeyIdentity,
  ECDSAKeyIdentity,
  Secp256k1KeyIdentity,
  DelegationChain,
  DelegationIdentity,
  Principal,
};
// 1.x's @dfinity/identity exports a Secp256k1KeyIdentity that only throws "moved to a new repo".
const kit1 = {
  ...identity1,
  Secp256k1KeyIdentity: undefined,
  Principal: principal1.Principal,
} as unknown as IdentityKit;
const kit2 = {
  ...identity2,
  Secp256k1KeyIdentity: Secp256k1KeyIdentity2,
  Principal: principal2.Principal,
} as unknown as IdentityKit;

const generations = [
  ['@icp-sdk/core 6.x', agent6 as unknown as typeof agent3, sdk],
  ['@icp-sdk/core 5.x', agent5 as unknown as typeof agent3, sdk],
  ['@dfinity/agent 3.x', agent3, sdk],
  ['@dfinity/agent 2.x', agent2 as unknown as typeof agent3, kit2],
  ['@dfinity/agent 1.x', agent1 as unknown as typeof agent3, kit1],
] as const;

/**
 * An agent that trusts the instance's root key: `HttpAgent.create` (2.x on), or, in 1.x which has
 * no `create`, the constructor and `fetchRootKey()`.
 */
async function makeAgent(
  lib: typeof agent3,
  options: { host: string; identity?: unknown },
): Promise<agent3.HttpAgent> {
  if (typeof (lib.HttpAgent as { create?: unknown }).create === 'function')
    return lib.HttpAgent.create({ ...options, shouldFetchRootKey: true } as never);
  const agent = new lib.HttpAgent(options as never);
  await agent.fetchRootKey();
  return agent;
}

let wasm: Uint8Array<ArrayBuffer>;
let pic: PocketIc;
let canisterId: Principal;
let host: string;

beforeAll(async () => {
  ({ wasm } = await buildAzleCanister({ name: 'basic', main: 'fixtures/azle/basic/index.ts' }));
  pic = await createPic();
  ({ canisterId } = await pic.setupCanister({ idlFactory, wasm, arg: IDL.encode([IDL.Text], ['Hello']) }));
  const port = await pic.makeLive();
  host = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await pic?.stopLive();
  await pic?.tearDown();
});

function actorOf(lib: typeof agent3, agent: unknown, id: Principal = canisterId): Basic {
  return lib.Actor.createActor<Basic>(idlFactory as never, {
    agent: agent as never,
    canisterId: id.toText(),
  }) as unknown as Basic;
}

async function delegated(
  kit: IdentityKit,
): Promise<{ identity: DelegationIdentity; root: Ed25519KeyIdentity }> {
  const root = kit.Ed25519KeyIdentity.generate();
  const session = kit.Ed25519KeyIdentity.generate();
  const chain = await kit.DelegationChain.create(
    root,
    session.getPublicKey(),
    new Date(Date.now() + 15 * 60_000),
    { targets: [kit.Principal.fromText(canisterId.toText())] },
  );
  return { identity: kit.DelegationIdentity.fromDelegation(session, chain), root };
}

describe.each(generations)('%s against the gateway of makeLive', (name, lib, kit) => {
  const signed = (i: SignIdentity) => ({ identity: i, principal: i.getPrincipal() });
  const secp256k1 = kit.Secp256k1KeyIdentity;
  const identities: [string, () => Promise<{ identity?: SignIdentity; principal: Principal }>][] = [
    ['anonymous', async () => ({ principal: Principal.anonymous() })],
    ['Ed25519', async () => signed(kit.Ed25519KeyIdentity.generate())],
    ...(secp256k1
      ? [['secp256k1', async () => signed(secp256k1.generate())] as (typeof identities)[number]]
      : []),
    ['ECDSA P-256', async () => signed(await kit.ECDSAKeyIdentity.generate())],
    [
      'delegated',
      async () => delegated(kit).then((d) => ({ identity: d.identity, principal: d.root.getPrincipal() })),
    ],
  ];

  it.each(identities)(
    '%s: update and query reach the canister with the sender as msg_caller',
    async (_kind, make) => {
      const { identity, principal } = await make();
      const agent = await makeAgent(lib, { host, identity });
      const actor = actorOf(lib, agent);
      expect((await actor.whoamiUpdate()).toText()).toBe(principal.toText());
      expect((await actor.whoami()).toText()).toBe(principal.toText());
    },
  );

  it('update then query see the same state; a trap is a certified reject; a missing query method an uncertified one', async () => {
    const agent = await makeAgent(lib, { host, identity: kit.Ed25519KeyIdentity.generate() });
    const actor = actorOf(lib, agent);
    const key = `k-${Math.random()}`;
    expect(await actor.put(key, 'one')).toEqual([]);
    expect(await actor.get(key)).toEqual(['one']);
    expect(await actor.greet('agent')).toBe('Hello, agent!');
    await expect(actor.putThenThrow(key, 'two')).rejects.toThrow(/IC05\d\d|boom/);
    expect(await actor.get(key)).toEqual(['one']);
    await expect(actor.noSuchQuery()).rejects.toThrow(/noSuchQuery|IC0536|has no query method/);
  });

  it('a v2 call answers 202 and the agent polls read_state for the certified reply', async () => {
    const identity = kit.Ed25519KeyIdentity.generate();
    const agent = await makeAgent(lib, { host, identity });
    const { requestId, response } = await agent.call(canisterId.toText(), {
      methodName: 'whoamiUpdate',
      arg: IDL.encode([], []),
      callSync: false,
    } as never);
    expect(response.status).toBe(202);
    // 6.x names the effective target (`{ canisterId }`); earlier generations take the principal.
    const target = name.includes('6.x') ? { canisterId } : canisterId;
    // 1.x exports it under `polling` only, and takes no default polling strategy.
    const polling = (lib as unknown as typeof agent1).polling;
    const poll = (lib.pollForResponse ?? polling.pollForResponse) as typeof lib.pollForResponse;
    const polled: unknown = await poll(
      agent as never,
      target as never,
      requestId,
      polling.defaultStrategy() as never,
    );
    // 1.x resolves with the reply itself, later generations with `{ reply, certificate }`.
    const reply = new Uint8Array(
      polled instanceof ArrayBuffer ? polled : (polled as { reply: Uint8Array | ArrayBuffer }).reply,
    );
    const [who] = IDL.decode([IDL.Principal], reply) as unknown as [Principal];
    expect(who.toText()).toBe(identity.getPrincipal().toText());
  });

  it('CanisterStatus reads module_hash, controllers and time', async () => {
    const agent = await makeAgent(lib, { host });
    const status = await lib.CanisterStatus.request({
      agent: agent as never,
      canisterId: canisterId as never,
      paths: ['module_hash', 'controllers', 'time'],
    });
    expect(status.get('module_hash')).toBe(Buffer.from(sha256(wasm)).toString('hex'));
    const controllers = (status.get('controllers') as unknown as Principal[]).map((p) => p.toText());
    expect(controllers).toEqual((await pic.getControllers(canisterId)).map((p) => p.toText()));
    const time = status.get('time') as Date;
    expect(Math.abs(time.getTime() - Date.now())).toBeLessThan(60_000);
  });
});

describe('refused requests leave the canister unchanged', () => {
  const text = new TextEncoder();

  /** A signed `put(key, value)` envelope, with one thing wrong. */
  async function envelope(
    key: string,
    fault: 'forged signature' | 'wrong sender' | 'expired' | 'too large',
  ): Promise<Uint8Array> {
    const identity = Ed25519KeyIdentity.generate();
    const sender =
      fault === 'wrong sender' ? Ed25519KeyIdentity.generate().getPrincipal() : identity.getPrincipal();
    const expiryMs = fault === 'expired' ? Date.now() - 60_000 : Date.now() + 3 * 60_000;
    const content = {
      request_type: 'call',
      canister_id: canisterId.toUint8Array(),
      method_name: 'put',
      // Above an application subnet's 2 MiB `max_ingress_bytes_per_message` (dfinity/ic `rs/limits`).
      arg: IDL.encode(
        [IDL.Text, IDL.Text],
        [key, fault === 'too large' ? 'x'.repeat(2 * 1024 * 1024) : 'refused'],
      ),
      sender: sender.toUint8Array(),
      ingress_expiry: BigInt(expiryMs) * 1_000_000n,
      nonce: crypto.getRandomValues(new Uint8Array(16)),
    };
    const requestId = agent5.requestIdOf(content);
    const sig = new Uint8Array(
      await identity.sign(new Uint8Array([...text.encode('\x0Aic-request'), ...requestId])),
    );
    if (fault === 'forged signature') sig[10]! ^= 0xff;
    return encodeWithSelfDescribedTag({
      content,
      sender_pubkey: new Uint8Array(identity.getPublicKey().toDer()),
      sender_sig: sig,
    });
  }

  it.each([
    ['forged signature', /^Invalid signature: /],
    ['wrong sender', /does not match the public key/],
    ['expired', /^Invalid request expiry: /],
  ] as const)('%s: 400 on every call endpoint with the IC text', async (fault, expected) => {
    await expectRefused(fault, 400, expected);
  });

  it('an envelope above the subnet limit: 413 on every call endpoint with the replica text (call.rs)', async () => {
    await expectRefused(
      'too large',
      413,
      /^Request 0x[0-9a-f]{64} is too large\. Message byte size \d+ is larger than the max allowed 2097152\.$/,
    );
  });

  async function expectRefused(
    fault: Parameters<typeof envelope>[1],
    status: number,
    expected: RegExp,
  ): Promise<void> {
    const agent = await agent5.HttpAgent.create({ host, shouldFetchRootKey: true });
    const actor = actorOf(agent5 as unknown as typeof agent3, agent);
    const key = `refused-${fault}`;
    const body = await envelope(key, fault);
    for (const version of ['v2', 'v3', 'v4']) {
      const res = await fetch(`${host}/api/${version}/canister/${canisterId.toText()}/call`, {
        method: 'POST',
        headers: { 'content-type': 'application/cbor' },
        body: Buffer.from(body),
      });
      expect(res.status).toBe(status);
      expect(await res.text()).toMatch(expected);
    }
    await pic.tick();
    expect(await actor.get(key)).toEqual([]);
  }
});

describe('an application subnet behind an NNS root subnet (certificate delegation)', () => {
  let pic2: PocketIc;
  let id2: Principal;
  let host2: string;

  beforeAll(async () => {
    pic2 = await PocketIc.create(picUrl(), {
      nns: { state: { type: SubnetStateType.New } },
      application: [{ state: { type: SubnetStateType.New } }],
    });
    ({ canisterId: id2 } = await pic2.setupCanister({
      idlFactory,
      wasm,
      arg: IDL.encode([IDL.Text], ['Hi']),
    }));
    host2 = `http://127.0.0.1:${await pic2.makeLive()}`;
  });

  afterAll(async () => {
    await pic2?.stopLive();
    await pic2?.tearDown();
  });

  it.each(generations)(
    '%s verifies the delegated certificates and query signatures',
    async (_name, lib, kit) => {
      const identity = kit.Ed25519KeyIdentity.generate();
      const agent = await makeAgent(lib, { host: host2, identity });
      const actor = actorOf(lib, agent, id2);
      expect((await actor.whoamiUpdate()).toText()).toBe(identity.getPrincipal().toText());
      expect(await actor.greet('NNS')).toBe('Hi, NNS!');
      const status = await lib.CanisterStatus.request({
        agent: agent as never,
        canisterId: id2 as never,
        paths: ['module_hash'],
      });
      expect(status.get('module_hash')).toBe(Buffer.from(sha256(wasm)).toString('hex'));
    },
  );
});
