/**
 * Reference suite (dfinity/ic `hs/spec_compliance/src/IC/Test/Spec.hs`),
 * groups "query › required fields" and "read state" (with its "required
 * fields", "malformed request id", "non-existence proofs for non-existing
 * request id" and "metadata" subgroups), ported over real HTTP against the IC
 * HTTP interface of `pic.makeLive()`: raw envelopes for the refusals, an agent
 * for the certificates, which are looked up as the reference does
 * (`certValue`, `certValueAbsent`). IC interface specification, "Request:
 * Read state" and "The system state tree".
 */
import { PocketIc } from '@dfinity/pic';
import {
  Cbor,
  HttpAgent,
  pollForResponse,
  requestIdOf,
  lookup_path,
  lookupResultToBuffer,
  LookupPathStatus,
  type HashTree,
} from '@icp-sdk/core/agent';
import { encodeWithSelfDescribedTag } from '@dfinity/cbor';
import { IC_REQUEST_DOMAIN_SEPARATOR } from '@icp-sdk/core/agent';
import { Ed25519KeyIdentity } from '@icp-sdk/core/identity';
import { Principal } from '@icp-sdk/core/principal';
import { describe, expect, it } from 'vitest';
import { liveInstance } from '../support/pic.ts';
import { defaultSK, defaultUser, otherSK } from '../support/ref-identities.ts';
import { install, replyData, run, ucWasm } from '../support/uc.ts';
import { testWasm } from '../support/validation-wasm.ts';

let pic: PocketIc;
let host: string;
const enc = (s: string) => new TextEncoder().encode(s);

liveInstance((p, h) => {
  pic = p;
  host = h;
});

type Content = Record<string, unknown>;
const expiry = () => BigInt(Date.now() + 3 * 60_000) * 1_000_000n;
async function envelope(content: Content, sk = defaultSK): Promise<Uint8Array<ArrayBuffer>> {
  const sig = await sk.sign(new Uint8Array([...IC_REQUEST_DOMAIN_SEPARATOR, ...requestIdOf(content)]));
  const value = { content, sender_pubkey: sk.getPublicKey().toDer(), sender_sig: sig };
  return new Uint8Array(
    encodeWithSelfDescribedTag(value as Parameters<typeof encodeWithSelfDescribedTag>[0]),
  );
}
async function post(path: string, body: Uint8Array<ArrayBuffer>): Promise<number> {
  const res = await fetch(`${host}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/cbor' },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}
const is4xx = (status: number) => expect(status >= 400 && status < 500, `HTTP ${status}`).toBe(true);

/** The reference's `getStateCert`: the certificate's tree for these paths, read by `sk`'s user. */
async function getStateCert(cid: Principal, paths: Uint8Array[][], sk = defaultSK): Promise<HashTree> {
  const agent = await HttpAgent.create({ host, identity: sk, shouldFetchRootKey: true });
  const { certificate } = await agent.readState(cid, { paths });
  return Cbor.decode<{ tree: HashTree }>(certificate).tree;
}
/** `getStateCert'` … `isErr4xx`: the read_state request is refused. */
async function refused(cid: Principal, paths: Uint8Array[][], sk = defaultSK): Promise<void> {
  const content = {
    request_type: 'read_state',
    sender: sk.getPrincipal().toUint8Array(),
    paths,
    ingress_expiry: expiry(),
  };
  is4xx(await post(`/api/v2/canister/${cid.toText()}/read_state`, await envelope(content, sk)));
}
const certValue = (tree: HashTree, path: (string | Uint8Array)[]) => {
  const v = lookupResultToBuffer(lookup_path(path, tree));
  expect(v, `${path.map(String).join('/')} is in the certificate`).toBeDefined();
  return v!;
};
const certValueAbsent = (tree: HashTree, path: (string | Uint8Array)[]) =>
  expect(lookup_path(path, tree).status).toBe(LookupPathStatus.Absent);
const asCBORBlobList = (b: Uint8Array) =>
  Cbor.decode<Uint8Array[]>(b)
    .map((x) => Principal.fromUint8Array(new Uint8Array(x)).toText())
    .sort();

function omitFields(name: string, make: () => Content, post: (req: Content) => Promise<void>) {
  describe(name, () => {
    for (const field of Object.keys(make())) {
      it(`omitting ${field}`, async () => {
        const req = Object.fromEntries(Object.entries(make()).filter(([k]) => k !== field));
        await post({ ...req, ingress_expiry: expiry() });
      });
    }
  });
}

describe('query', () => {
  const doesntExist = Principal.fromUint8Array(
    Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 1, 1]),
  );
  omitFields(
    'required fields',
    () => ({
      request_type: 'query',
      sender: defaultUser.toUint8Array(),
      canister_id: doesntExist.toUint8Array(),
      method_name: 'foo',
      arg: enc('nothing to see here'),
    }),
    async (req) => {
      const cid = await pic.createCanister();
      is4xx(await post(`/api/v2/canister/${cid.toText()}/query`, await envelope(req)));
    },
  );
});

describe('read state', () => {
  omitFields(
    'required fields',
    () => ({ request_type: 'read_state', sender: defaultUser.toUint8Array(), paths: [] }),
    async (req) => {
      const cid = await pic.createCanister();
      is4xx(await post(`/api/v2/canister/${cid.toText()}/read_state`, await envelope(req)));
    },
  );
  it('time is present', async () => {
    const cid = await pic.createCanister();
    expect(certValue(await getStateCert(cid, []), ['time']).length).toBeGreaterThan(0);
  });
  it('time can be asked for', async () => {
    const cid = await pic.createCanister();
    certValue(await getStateCert(cid, [[enc('time')]]), ['time']);
  });
  it('controller of empty canister', async () => {
    const cid = await pic.createCanister({ controllers: [defaultUser] });
    const tree = await getStateCert(cid, [[enc('canister'), cid.toUint8Array(), enc('controllers')]]);
    expect(asCBORBlobList(certValue(tree, ['canister', cid.toUint8Array(), 'controllers']))).toEqual([
      defaultUser.toText(),
    ]);
  });
  it('module_hash of empty canister', async () => {
    const cid = await pic.createCanister();
    const tree = await getStateCert(cid, [[enc('canister'), cid.toUint8Array(), enc('module_hash')]]);
    certValueAbsent(tree, ['canister', cid.toUint8Array(), 'module_hash']);
  });
  it('single controller of installed canister', async () => {
    const cid = await install(pic, undefined, { controllers: [defaultUser], sender: defaultUser });
    const tree = await getStateCert(
      cid,
      [[enc('canister'), cid.toUint8Array(), enc('controllers')]],
      otherSK,
    );
    expect(asCBORBlobList(certValue(tree, ['canister', cid.toUint8Array(), 'controllers']))).toEqual([
      defaultUser.toText(),
    ]);
  });
  it('multiple controllers of installed canister', async () => {
    const other = otherSK.getPrincipal();
    const cid = await pic.createCanister({ controllers: [defaultUser, other] });
    const tree = await getStateCert(cid, [[enc('canister'), cid.toUint8Array(), enc('controllers')]]);
    expect(asCBORBlobList(certValue(tree, ['canister', cid.toUint8Array(), 'controllers']))).toEqual(
      [defaultUser.toText(), other.toText()].sort(),
    );
  });
  it('zero controllers of installed canister', async () => {
    const cid = await pic.createCanister({ controllers: [] });
    const tree = await getStateCert(cid, [[enc('canister'), cid.toUint8Array(), enc('controllers')]]);
    expect(asCBORBlobList(certValue(tree, ['canister', cid.toUint8Array(), 'controllers']))).toEqual([]);
  });
  it('module_hash of universal canister', async () => {
    const cid = await install(pic);
    const tree = await getStateCert(cid, [[enc('canister'), cid.toUint8Array(), enc('module_hash')]]);
    const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', await ucWasm()));
    expect(certValue(tree, ['canister', cid.toUint8Array(), 'module_hash'])).toEqual(hash);
  });
  describe('malformed request id', () => {
    for (const [title, rid] of [
      ['rid ""', new Uint8Array()],
      ['rid "666f6f"', enc('foo')],
    ] as const) {
      it(title, async () => {
        const cid = await install(pic);
        await refused(cid, [[enc('request_status'), rid]]);
      });
    }
  });
  describe('non-existence proofs for non-existing request id', () => {
    for (const byte of [0, 8, 255]) {
      const rid = new Uint8Array(32).fill(byte);
      it(`rid "${Buffer.from(rid.slice(0, 4)).toString('hex')}…"`, async () => {
        const cid = await install(pic);
        const tree = await getStateCert(cid, [[enc('request_status'), rid]]);
        certValueAbsent(tree, ['request_status', rid, 'status']);
      });
    }
  });
  /** `ensure_request_exists`: an ingress call by `sk`'s user that replied "\xff\xff"; its request id. */
  async function ensureRequestExists(cid: Principal, sk = defaultSK): Promise<Uint8Array> {
    const agent = await HttpAgent.create({ host, identity: sk, shouldFetchRootKey: true });
    const { requestId } = await agent.call(cid, {
      methodName: 'query',
      arg: run(replyData(Uint8Array.of(0xff, 0xff))),
      effectiveCanisterId: cid,
    });
    const { reply } = await pollForResponse(agent, cid, requestId);
    expect(new Uint8Array(reply)).toEqual(Uint8Array.of(0xff, 0xff));
    return new Uint8Array(requestId);
  }
  it('can ask for portion of request status', async () => {
    const cid = await install(pic);
    const rid = await ensureRequestExists(cid);
    const tree = await getStateCert(cid, [
      [enc('request_status'), rid, enc('status')],
      [enc('request_status'), rid, enc('reply')],
    ]);
    expect(new TextDecoder().decode(certValue(tree, ['request_status', rid, 'status']))).toBe('replied');
    certValue(tree, ['request_status', rid, 'reply']);
  });
  it('access denied for other users request', async () => {
    const cid = await install(pic);
    const rid = await ensureRequestExists(cid);
    await refused(cid, [[enc('request_status'), rid]], otherSK);
  });
  it('reading two statuses to same canister in one go', async () => {
    const cid = await install(pic);
    const rid1 = await ensureRequestExists(cid);
    const rid2 = await ensureRequestExists(cid);
    await refused(cid, [
      [enc('request_status'), rid1],
      [enc('request_status'), rid2],
    ]);
  });
  it('access denied for other users request (mixed request)', async () => {
    const cid = await install(pic);
    const rid1 = await ensureRequestExists(cid);
    const rid2 = await ensureRequestExists(cid, otherSK);
    await refused(cid, [
      [enc('request_status'), rid1],
      [enc('request_status'), rid2],
    ]);
  });
  it('access denied for two statuses to different canisters', async () => {
    const cid = await install(pic);
    const cid2 = await install(pic);
    const rid1 = await ensureRequestExists(cid);
    const rid2 = await ensureRequestExists(cid2);
    await refused(cid, [
      [enc('request_status'), rid1],
      [enc('request_status'), rid2],
    ]);
  });
  it('access denied for bogus path', async () => {
    const cid = await install(pic);
    await refused(cid, [[enc('hello'), enc('world')]], otherSK);
  });
  it('access denied for fetching full state tree', async () => {
    const cid = await install(pic);
    await refused(cid, [[]], otherSK);
  });

  describe('metadata', () => {
    const trivial = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
    const leb = (n: number): number[] => {
      const out: number[] = [];
      do {
        let b = n & 0x7f;
        n >>>= 7;
        if (n) b |= 0x80;
        out.push(b);
      } while (n);
      return out;
    };
    const sized = (b: Uint8Array) => new Uint8Array([...leb(b.length), ...b]);
    const withSections = (sections: [Uint8Array, string][]) =>
      sections.reduce(
        (m, [name, content]) =>
          new Uint8Array([...m, 0, ...sized(new Uint8Array([...sized(name), ...enc(content)]))]),
        trivial,
      );
    const meta = (cid: Principal, name: Uint8Array) => [
      enc('canister'),
      cid.toUint8Array(),
      enc('metadata'),
      name,
    ];
    const installMod = async (mod: Uint8Array) => {
      const cid = await pic.createCanister({ controllers: [defaultUser] });
      await pic.installCode({ canisterId: cid, wasm: mod, sender: defaultUser });
      return cid;
    };
    const failsToInstall = async (mod: Uint8Array) => {
      const cid = await pic.createCanister();
      await expect(pic.installCode({ canisterId: cid, wasm: mod })).rejects.toThrow(
        /Reject code: CanisterError/,
      );
    };
    it('absent', async () => {
      const cid = await install(pic);
      certValueAbsent(await getStateCert(cid, [meta(cid, enc('foo'))]), [
        'canister',
        cid.toUint8Array(),
        'metadata',
        'foo',
      ]);
    });
    it('public', async () => {
      const cid = await installMod(withSections([[enc('icp:public test'), 'bar']]));
      for (const sk of [otherSK, Ed25519KeyIdentity.generate(new Uint8Array(32).fill(3))]) {
        const tree = await getStateCert(cid, [meta(cid, enc('test'))], sk);
        expect(certValue(tree, ['canister', cid.toUint8Array(), 'metadata', 'test'])).toEqual(enc('bar'));
      }
    });
    it('private', async () => {
      const cid = await installMod(withSections([[enc('icp:private test'), 'bar']]));
      await refused(cid, [meta(cid, enc('test'))], otherSK);
      const tree = await getStateCert(cid, [meta(cid, enc('test'))]);
      expect(certValue(tree, ['canister', cid.toUint8Array(), 'metadata', 'test'])).toEqual(enc('bar'));
    });
    it('duplicate public', () =>
      failsToInstall(
        withSections([
          [enc('icp:public test'), 'bar'],
          [enc('icp:public test'), 'baz'],
        ]),
      ));
    it('duplicate private', () =>
      failsToInstall(
        withSections([
          [enc('icp:private test'), 'bar'],
          [enc('icp:private test'), 'baz'],
        ]),
      ));
    it('duplicate mixed', () =>
      failsToInstall(
        withSections([
          [enc('icp:private test'), 'bar'],
          [enc('icp:public test'), 'baz'],
        ]),
      ));
    it('invalid utf8 in module', () =>
      failsToInstall(withSections([[new Uint8Array([...enc('icp:public '), 0xe2, 0x28, 0xa1]), 'baz']])));
    it('invalid utf8 in read_state', async () => {
      const cid = await install(pic);
      await refused(cid, [meta(cid, Uint8Array.of(0xe2, 0x28, 0xa1))]);
    });
    for (const [title, name] of [
      ['unicode metadata name', '☃️'],
      ['zero-length metadata name', ''],
      ['metadata section name with spaces', 'metadata section name with spaces'],
    ] as const) {
      it(title, async () => {
        const cid = await installMod(withSections([[enc(`icp:public ${name}`), 'bar']]));
        const tree = await getStateCert(cid, [meta(cid, enc(name))], otherSK);
        expect(certValue(tree, ['canister', cid.toUint8Array(), 'metadata', name])).toEqual(enc('bar'));
      });
    }
  });
});

// Spec.hs, group "WebAssembly module validation": its two leaves that read the
// installed test module's metadata back through read_state (the rest of the
// group is in ../replica/ref-module-validation.spec.ts).
describe('WebAssembly module validation', () => {
  for (const [title, module, name] of [
    ['empty custom section name', 'empty_custom_section_name', ''],
    ['custom section name with spaces', 'custom_section_name_with_spaces', 'name with spaces'],
  ] as const) {
    it(title, async () => {
      const cid = await pic.createCanister();
      await pic.installCode({ canisterId: cid, wasm: await testWasm(module) });
      const tree = await getStateCert(
        cid,
        [[enc('canister'), cid.toUint8Array(), enc('metadata'), enc(name)]],
        otherSK,
      );
      expect(certValue(tree, ['canister', cid.toUint8Array(), 'metadata', name])).toEqual(enc('a'));
    });
  }
});
