/**
 * The IC HTTP interface's request decoding on generated and mutated bytes:
 * the CBOR decoder (`simulator/http-interface/cbor.ts`), envelope validation
 * (`envelope.ts`, signatures and delegations included) and the interface's
 * endpoints (`interface.ts`), in process and over HTTP. Every refusal is the
 * interface's own error (a 4xx with a text), nothing else is thrown, and a
 * refused request leaves the instance as it was.
 */
import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import { sha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concatBytes, fromHex } from '../simulator/bytes.ts';
import { ed25519, p256 } from '../simulator/curves.ts';
import { CborError, decodeCbor } from '../simulator/http-interface/cbor.ts';
import {
  HttpInterfaceError,
  validateEnvelope,
  type RequestKind,
} from '../simulator/http-interface/envelope.ts';
import { domainSep, subtree, treeHash, witness } from '../simulator/http-interface/hash-tree.ts';
import { signCertificate } from '../simulator/http-interface/certificate.ts';
import { IcHttpInterface, type HttpAnswer } from '../simulator/http-interface/interface.ts';
import { hashOfMap, requestIdOf, uleb128 } from '../simulator/http-interface/request-id.ts';
import { ed25519Der } from '../simulator/http-interface/signatures.ts';
import { Instance } from '../simulator/instance.ts';
import { stringifyJson, type Json } from '../simulator/server/codec.ts';
import { InlineHost } from '../simulator/server/inline-host.ts';
import { createIcsimServer, type IcsimServer } from '../simulator/server/server.ts';
import { WorkerPool } from '../simulator/server/worker-pool.ts';
import { Harness } from '../simulator/testing/harness.ts';
import { wat } from '../simulator/wasm/test-support.ts';
import {
  applyItemMutations,
  encodeItem,
  envelopeShaped,
  itemMutations,
  itemOf,
  items,
  selfDescribed,
  type Item,
  type Plain,
} from './cbor-items.ts';
import { COUNTER_WAT, fingerprint } from './instance-state.ts';
import {
  applyByteMutations,
  byteMutation,
  describeError,
  HTTP_RUNS,
  jsonValue,
  outcomes,
  params,
  RUNS,
  text,
  yielding,
} from './support.ts';

const REQUEST_SEP = domainSep('ic-request');
const DELEGATION_SEP = domainSep('ic-request-auth-delegation');
const utf8 = new TextEncoder();

let ic: Instance;
let iface: IcHttpInterface;
let canister: Principal;
/** Valid envelopes (as item trees) of each kind, which the generators mutate. */
let bases: { kind: RequestKind; item: Item; webAuthn?: boolean }[];
let webAuthnKey: { der: Uint8Array; sender: Uint8Array };
let canisterDer: Uint8Array;
/** Valid canister-signed requests of each kind, their signature in parts, which the generators edit. */
const canisterSigned: { kind: RequestKind; content: Item; certificate: Item; tree: Item }[] = [];

/** An Ed25519 signer with a fixed key. */
function edKey(seed: number) {
  const secret = new Uint8Array(32).fill(seed);
  const der = ed25519Der(ed25519().getPublicKey(secret));
  return {
    der,
    sender: Principal.selfAuthenticating(der).toUint8Array(),
    sign: (message: Uint8Array) => ed25519().sign(message, secret),
  };
}

/** A WebAuthn (COSE P-256) key; its signatures carry `client_data_json`. */
function coseKey() {
  const secret = new Uint8Array(32).fill(5);
  const pub = p256().getPublicKey(secret, false);
  const cose = concatBytes([
    fromHex('a5010203262001215820'),
    pub.subarray(1, 33),
    fromHex('225820'),
    pub.subarray(33, 65),
  ]);
  const der = concatBytes([fromHex('305e300c060a2b0601040183b8430101034e00'), cose]);
  const sign = (message: Uint8Array): Plain => {
    const authenticatorData = new Uint8Array(37).fill(1);
    const clientData = JSON.stringify({
      type: 'webauthn.get',
      challenge: Buffer.from(message).toString('base64url'),
    });
    const signature = p256().sign(concatBytes([authenticatorData, sha256(utf8.encode(clientData))]), secret, {
      format: 'der',
      prehash: true,
    });
    return { authenticator_data: authenticatorData, client_data_json: clientData, signature };
  };
  return { der, sender: Principal.selfAuthenticating(der).toUint8Array(), sign };
}

/**
 * A canister-signature key (Internet Identity's kind) of `canister` with a fixed seed; its
 * signatures are `{certificate, tree}`, the certificate signed with the instance's root key.
 */
function canisterSigKey() {
  const cid = canister.toUint8Array();
  const seed = utf8.encode('user 1');
  const der = concatBytes([
    Uint8Array.of(0x30, 2 + 12 + 2 + 1 + 1 + cid.length + seed.length),
    fromHex('300c060a2b0601040183b8430102'),
    Uint8Array.of(0x03, 1 + 1 + cid.length + seed.length, 0x00, cid.length),
    cid,
    seed,
  ]);
  const rootSecret = ic.getTopology().subnets[0]!.seed;
  /** The signature as its two parts: the certificate's CBOR map and the witness tree. */
  const sign = (message: Uint8Array): { certificate: Item; tree: Item } => {
    const sigTree = subtree([
      ['sig', subtree([[sha256(seed), subtree([[sha256(message), new Uint8Array()]])]])],
    ]);
    const state = subtree([
      ['time', uleb128(ic.getTime())],
      ['canister', subtree([[cid, subtree([['certified_data', treeHash(sigTree)]])]])],
    ]);
    const certificate = signCertificate(
      state,
      [[utf8.encode('canister'), cid, utf8.encode('certified_data')]],
      rootSecret,
    );
    const tree = witness(sigTree, [[utf8.encode('sig'), sha256(seed), sha256(message)]]);
    return { certificate: itemOf(decodeCbor(certificate) as Plain), tree: itemOf(tree as unknown as Plain) };
  };
  return { der, sender: Principal.selfAuthenticating(der).toUint8Array(), sign };
}

/** A signature of a canister key from its parts (the certificate embedded as tagged CBOR). */
function canisterSignature(parts: { certificate: Item; tree: Item }): Uint8Array {
  return encodeItem(
    selfDescribed({
      t: 'map',
      v: [
        [
          { t: 'text', v: 'certificate' },
          { t: 'bytes', v: encodeItem(selfDescribed(parts.certificate)) },
        ],
        [{ t: 'text', v: 'tree' }, parts.tree],
      ],
    }),
  );
}

function envelopes(): { kind: RequestKind; item: Item; webAuthn?: boolean }[] {
  const expiry = ic.getTime() + 120_000_000_000n;
  const cid = canister.toUint8Array();
  const anonymous = Uint8Array.of(4);
  const content = (kind: RequestKind, sender: Uint8Array): { [key: string]: Plain } =>
    kind === 'read_state'
      ? {
          request_type: kind,
          sender,
          ingress_expiry: expiry,
          paths: [[utf8.encode('time')], [utf8.encode('canister'), cid, utf8.encode('module_hash')]],
        }
      : {
          request_type: kind,
          sender,
          canister_id: cid,
          method_name: kind === 'call' ? 'inc' : 'get',
          arg: IDL.encode([], []),
          ingress_expiry: expiry,
          nonce: Uint8Array.of(1, 2, 3, 4),
        };
  const user = edKey(1);
  const session = edKey(2);
  const webAuthn = coseKey();
  webAuthnKey = webAuthn;
  const canisterKey = canisterSigKey();
  canisterDer = canisterKey.der;
  const out: { kind: RequestKind; item: Item; webAuthn?: boolean }[] = [];
  for (const kind of ['call', 'query', 'read_state'] as const) {
    out.push({ kind, item: selfDescribed(itemOf({ content: content(kind, anonymous) })) });
    const signed = content(kind, user.sender);
    out.push({
      kind,
      item: selfDescribed(
        itemOf({
          content: signed,
          sender_pubkey: user.der,
          sender_sig: user.sign(concatBytes([REQUEST_SEP, requestIdOf(signed as never)])),
        }),
      ),
    });
    const delegation = { pubkey: session.der, expiration: expiry, targets: [cid] };
    out.push({
      kind,
      item: selfDescribed(
        itemOf({
          content: signed,
          sender_pubkey: user.der,
          sender_delegation: [
            {
              delegation,
              signature: user.sign(concatBytes([DELEGATION_SEP, hashOfMap(delegation as never)])),
            },
          ],
          sender_sig: session.sign(concatBytes([REQUEST_SEP, requestIdOf(signed as never)])),
        }),
      ),
    });
    const byCanister = content(kind, canisterKey.sender);
    const parts = canisterKey.sign(concatBytes([REQUEST_SEP, requestIdOf(byCanister as never)]));
    // Not among the bases: each edit of one that keeps the signature whole costs a BLS
    // verification (~8 ms). `canisterSignedBodies` edits their signatures instead.
    canisterSigned.push({ kind, content: itemOf(byCanister), ...parts });
    const byWebAuthn = content(kind, webAuthn.sender);
    out.push({
      kind,
      webAuthn: true,
      item: selfDescribed(
        itemOf({
          content: byWebAuthn,
          sender_pubkey: webAuthn.der,
          sender_sig: encodeItem(
            selfDescribed(
              itemOf(webAuthn.sign(concatBytes([REQUEST_SEP, requestIdOf(byWebAuthn as never)]))),
            ),
          ),
        }),
      ),
    });
  }
  return out;
}

beforeAll(() => {
  ic = Instance.create({ subnets: [{ kind: 'Application' }] });
  const h = new Harness(ic);
  canister = h.deploy(wat(COUNTER_WAT));
  iface = IcHttpInterface.of(ic);
  bases = envelopes();
});

/** Integers that matter to envelopes: the instance's clock and the edges of the expiry window. */
const times = (): bigint[] => {
  const now = ic.getTime();
  return [now, now - 1n, now + 330_000_000_000n, now + 330_000_000_001n];
};

/**
 * A WebAuthn envelope whose signature carries arbitrary `client_data_json` (JSON or not): the one
 * JSON text the interface parses. The signature does not verify; what matters is how it fails.
 */
function webAuthnEnvelope(kind: RequestKind, clientData: string): Uint8Array {
  const base = bases.find((b) => b.kind === kind && b.webAuthn)!.item;
  const map = (base.t === 'tag' ? base.v : base) as Extract<Item, { t: 'map' }>;
  const content = map.v.find(([k]) => k.t === 'text' && k.v === 'content')![1];
  return encodeItem(
    selfDescribed({
      t: 'map',
      v: [
        [{ t: 'text', v: 'content' }, content],
        [
          { t: 'text', v: 'sender_pubkey' },
          { t: 'bytes', v: webAuthnKey.der },
        ],
        [
          { t: 'text', v: 'sender_sig' },
          {
            t: 'bytes',
            v: encodeItem(
              itemOf({
                authenticator_data: new Uint8Array(37),
                client_data_json: clientData,
                signature: new Uint8Array(64).fill(kind.length),
              }),
            ),
          },
        ],
      ],
    }),
  );
}

/**
 * A canister-signed envelope whose signature is edited inside: its certificate (a CBOR map inside
 * a byte string) and its witness tree. Valid requests stay valid; the edits meet the certificate
 * and hash-tree checks.
 */
function canisterSignedBodies(): fc.Arbitrary<{ kind: RequestKind; body: Uint8Array }> {
  const edits = fc.array(itemMutations(times()), { maxLength: 2 });
  return fc.tuple(fc.constantFrom(...canisterSigned), edits, edits).map(([c, certEdits, treeEdits]) => {
    const signature = canisterSignature({
      certificate: applyItemMutations(c.certificate, certEdits),
      tree: applyItemMutations(c.tree, treeEdits),
    });
    const envelope: Item = {
      t: 'map',
      v: [
        [{ t: 'text', v: 'content' }, c.content],
        [
          { t: 'text', v: 'sender_pubkey' },
          { t: 'bytes', v: canisterDer },
        ],
        [
          { t: 'text', v: 'sender_sig' },
          { t: 'bytes', v: signature },
        ],
      ],
    };
    return { kind: c.kind, body: encodeItem(selfDescribed(envelope)) };
  });
}

/** `client_data_json` texts: WebAuthn-shaped JSON with any challenge, any JSON, any text. */
const clientData = fc.oneof(
  fc
    .record({ type: fc.constant('webauthn.get'), challenge: jsonValue }, { requiredKeys: ['challenge'] })
    .map((v) => stringifyJson(v as Json)),
  jsonValue.map((v) => stringifyJson(v as Json)),
  text(40),
);

/** A request body for one of the three endpoints: generated, or a valid envelope edited. */
function someBodies(): fc.Arbitrary<{ kind: RequestKind; body: Uint8Array }> {
  const kind = fc.constantFrom<RequestKind>('call', 'query', 'read_state');
  const base = fc.constantFrom(...bases);
  const mutation = itemMutations(times());
  return fc.oneof(
    { weight: 1, arbitrary: fc.record({ kind, body: fc.uint8Array({ maxLength: 64 }) }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind, body: items(times()).map((i) => encodeItem(selfDescribed(i))) }),
    },
    {
      weight: 4,
      arbitrary: fc
        .tuple(base, fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.boolean())
        .map(([b, ms, sameKind]) => ({
          kind: sameKind ? b.kind : b.kind === 'call' ? 'query' : 'call',
          body: encodeItem(applyItemMutations(b.item, ms)),
        })),
    },
    {
      weight: 3,
      arbitrary: fc
        .tuple(base, fc.array(byteMutation, { minLength: 1, maxLength: 3 }))
        .map(([b, ms]) => ({ kind: b.kind, body: applyByteMutations(encodeItem(b.item), ms) })),
    },
    {
      weight: 3,
      arbitrary: fc.record({ kind, body: envelopeShaped(times(), canister.toUint8Array()).map(encodeItem) }),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(kind, clientData)
        .map(([k, data]) => ({ kind: k, body: webAuthnEnvelope(k, data) })),
    },
  );
}

/**
 * All request bodies: {@link someBodies}, and 1 in 300 a canister-signed envelope with its
 * signature edited (rare because any whose certificate still parses costs a BLS verification,
 * ~10 ms, about what 30 other cases cost; 30-odd a run, and a new seed each run).
 */
function bodies(): fc.Arbitrary<{ kind: RequestKind; body: Uint8Array }> {
  return fc.oneof({ weight: 299, arbitrary: someBodies() }, { weight: 1, arbitrary: canisterSignedBodies() });
}

/** What `validateEnvelope` may do: accept, or refuse with a 4xx `HttpInterfaceError` that says why. */
function validatesCleanly(kind: RequestKind, body: Uint8Array): 'accepted' | 'refused' {
  try {
    validateEnvelope(kind, body, {
      now: ic.getTime(),
      effective: canister,
      trust: { rootKey: ic.getRootKey() },
    });
    return 'accepted';
  } catch (e) {
    if (e instanceof HttpInterfaceError && e.status >= 400 && e.status < 500 && e.message !== '')
      return 'refused';
    throw new Error(`not a clean refusal: ${describeError(e)}`);
  }
}

/** Answers `body` on the endpoint of `kind` (call: v2, v3 or v4) for the counter canister. */
function answer(kind: RequestKind, body: Uint8Array, version: 2 | 3 | 4): HttpAnswer {
  const id = canister.toText();
  if (kind === 'call') return iface.call(version, id, body);
  if (kind === 'query') return iface.query(id, body);
  return iface.readState('canister', id, body);
}

describe('CBOR envelope decoding', () => {
  it('accepts the valid envelopes the mutations start from', () => {
    const signedByCanister = fc.sample(canisterSignedBodies(), { numRuns: 20, seed: 1 });
    const valid = [
      ...bases.map(({ kind, item }) => ({ kind, body: encodeItem(item) })),
      ...canisterSigned.map((c) => ({
        kind: c.kind,
        body: encodeItem(
          selfDescribed({
            t: 'map',
            v: [
              [{ t: 'text', v: 'content' }, c.content],
              [
                { t: 'text', v: 'sender_pubkey' },
                { t: 'bytes', v: canisterDer },
              ],
              [
                { t: 'text', v: 'sender_sig' },
                { t: 'bytes', v: canisterSignature(c) },
              ],
            ],
          }),
        ),
      })),
    ];
    for (const { kind, body } of valid) {
      expect(validatesCleanly(kind, body)).toBe('accepted');
      expect(answer(kind, body, 3).status).toBeLessThan(300);
    }
    // Unedited, the generator's canister signatures verify too.
    expect(signedByCanister.some(({ kind, body }) => validatesCleanly(kind, body) === 'accepted')).toBe(true);
  });

  it('decodeCbor returns data or throws CborError, for random and edited bytes', async () => {
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      items(times()).map(encodeItem),
      fc
        .tuple(fc.constantFrom(...bases), fc.array(byteMutation, { minLength: 1, maxLength: 4 }))
        .map(([b, ms]) => applyByteMutations(encodeItem(b.item), ms)),
    );
    const { seen, expectEach } = outcomes('decoded', 'refused');
    await fc.assert(
      yielding(input, (bytes) => {
        try {
          decodeCbor(bytes);
          seen.decoded++;
        } catch (e) {
          if (!(e instanceof CborError) || e.message === '')
            throw new Error(`not a CborError: ${describeError(e)}`);
          seen.refused++;
        }
      }),
      params(),
    );
    expectEach();
  });

  it('validateEnvelope accepts or refuses with a 4xx and a reason, whatever the bytes', async () => {
    const { seen, expectEach } = outcomes('accepted', 'refused');
    await fc.assert(
      yielding(bodies(), ({ kind, body }) => {
        seen[validatesCleanly(kind, body)]++;
      }),
      params(),
    );
    expectEach();
  });

  it('the endpoints answer below 500, and a refused request changes nothing', async () => {
    const runs = Math.max(HTTP_RUNS, Math.ceil(RUNS / 5));
    const { seen, expectEach } = outcomes('answered', 'refused');
    await fc.assert(
      yielding(fc.tuple(bodies(), fc.constantFrom<2 | 3 | 4>(2, 3, 4)), ([{ kind, body }, version]) => {
        const before = fingerprint(ic);
        let a: HttpAnswer;
        try {
          a = answer(kind, body, version);
        } catch (e) {
          throw new Error(`the ${kind} endpoint threw: ${describeError(e)}`);
        }
        if (a.status >= 500) throw new Error(`${a.status}: ${a.text}`);
        if (a.status >= 400) {
          if (!a.text) throw new Error(`${a.status} without a message`);
          const after = fingerprint(ic);
          if (after !== before) throw new Error(`refused ${kind} (${a.status} ${a.text}) changed the state`);
          seen.refused++;
        } else {
          seen.answered++;
          ic.tick();
        }
      }),
      params(runs),
    );
    expectEach(runs);
  });
});

describe('CBOR envelopes over HTTP', () => {
  let icsim: IcsimServer;
  let base: string;
  let instanceId: number;

  beforeAll(async () => {
    icsim = createIcsimServer({
      pool: new WorkerPool(new URL('../simulator/server/instance-worker.ts', import.meta.url)),
    });
    await new Promise<void>((r) => icsim.server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(icsim.server.address() as { port: number }).port}`;
    instanceId = icsim.registry.add(new InlineHost(ic));
  });

  afterAll(() => {
    icsim?.server.close();
    icsim?.close();
  });

  const PATHS = [
    (id: string) => `/api/v2/canister/${id}/call`,
    (id: string) => `/api/v3/canister/${id}/call`,
    (id: string) => `/api/v4/canister/${id}/call`,
    (id: string) => `/api/v2/canister/${id}/query`,
    (id: string) => `/api/v3/canister/${id}/query`,
    (id: string) => `/api/v2/canister/${id}/read_state`,
    (id: string) => `/api/v3/canister/${id}/read_state`,
    (id: string) => `/api/v3/subnet/${id}/read_state`,
    (id: string) => `/api/v4/subnet/${id}/call`,
    (id: string) => `/api/v3/subnet/${id}/query`,
  ];

  it('answers below 500 with a body for every refusal, and a refused request changes nothing', async () => {
    const target = fc.oneof(
      { weight: 8, arbitrary: fc.constant<string | null>(null) },
      { weight: 1, arbitrary: fc.constantFrom('aaaaa-aa', 'x', '%zz', '2vxsx-fae', 'AAAAA-AA', '') },
    );
    const contentType = fc.oneof(
      { weight: 8, arbitrary: fc.constant('application/cbor') },
      { weight: 1, arbitrary: fc.constantFrom('application/json', 'Application/CBOR; x=1', '') },
    );
    const { seen, expectEach } = outcomes('answered', 'refused');
    await fc.assert(
      fc.asyncProperty(
        bodies(),
        fc.nat({ max: PATHS.length - 1 }),
        target,
        contentType,
        async ({ body }, p, id, type) => {
          const path = `/instances/${instanceId}${PATHS[p]!(id ?? canister.toText())}`;
          const before = fingerprint(ic);
          const res = await fetch(`${base}${path}`, {
            method: 'POST',
            headers: type === '' ? {} : { 'content-type': type },
            body: Buffer.from(body),
          });
          const text = Buffer.from(await res.arrayBuffer()).toString('utf8');
          if (res.status >= 500) throw new Error(`${res.status} on ${path}: ${text}`);
          if (res.status >= 400) {
            if (text === '') throw new Error(`${res.status} without a body on ${path}`);
            if (fingerprint(ic) !== before)
              throw new Error(`refused ${path} (${res.status}) changed the state`);
            seen.refused++;
          } else {
            seen.answered++;
            ic.tick();
          }
        },
      ),
      params(HTTP_RUNS),
    );
    expectEach(HTTP_RUNS);
  });
});
