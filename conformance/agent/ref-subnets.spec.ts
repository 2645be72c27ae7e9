/**
 * Reference suite (dfinity/ic `hs/spec_compliance/src/IC/Test/Spec.hs`), the
 * leaves that need a second subnet: "calls to a subnet ID" and the "read
 * state" leaves "certificate validates", "certificate does not validate if
 * canister range check fails" and "can ask for /subnet". The reference runs
 * on an application subnet (`my_sub`, not the root subnet) next to another
 * (`other_sub`); here an NNS subnet is the root, so the application subnets'
 * certificates carry a delegation, as on the IC. IC interface specification,
 * "Certification" ("Delegation"), "The system state tree" ("Subnet
 * information") and "The IC management canister".
 */
import { PocketIc, SubnetStateType } from '@dfinity/pic';
import {
  Cbor,
  Certificate,
  flatten_forks,
  HttpAgent,
  lookup_path,
  lookup_subtree,
  lookupResultToBuffer,
  LookupPathStatus,
  LookupSubtreeStatus,
  NodeType,
} from '@icp-sdk/core/agent';
import type { HashTree } from '@icp-sdk/core/agent';
import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCodeArg } from '../support/management-args.ts';
import { createPic } from '../support/pic.ts';
import { defaultSK, defaultUser } from '../support/ref-identities.ts';
import {
  call,
  defUpdateArgs,
  installAt,
  isRelay,
  isReject,
  isReply,
  outcome,
  updateCall,
  type Outcome,
} from '../support/uc.ts';

const fresh = { state: { type: SubnetStateType.New } } as const;
const MANAGEMENT = Principal.managementCanister();
/** The reference's `trivialWasmModule`. */
const trivialWasmModule = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
const enc = (s: string) => new TextEncoder().encode(s);

let pic: PocketIc;
let agent: HttpAgent;
let mySubnet: Principal;
let otherSubnet: Principal;

beforeAll(async () => {
  pic = await createPic({ nns: fresh, application: [fresh, fresh] });
  const apps = await pic.getApplicationSubnets();
  expect(apps.length).toBe(2);
  mySubnet = apps[0]!.id;
  otherSubnet = apps[1]!.id;
  const host = `http://127.0.0.1:${await pic.makeLive()}`;
  agent = await HttpAgent.create({ host, identity: defaultSK, shouldFetchRootKey: true });
});
afterAll(async () => {
  await pic?.stopLive();
  await pic?.tearDown();
});

/** The reference's `create ecid`: an empty canister of `defaultUser` on `subnet`. */
const create = (subnet = mySubnet, cycles?: bigint) =>
  pic.createCanister({ sender: defaultUser, controllers: [defaultUser], targetSubnetId: subnet, cycles });
/** The reference's `install ecid noop`: a universal canister on `subnet`. */
async function install(subnet = mySubnet): Promise<Principal> {
  const cid = await create(subnet, 2n ** 60n);
  await installAt(pic, cid, undefined, { sender: defaultUser });
  return cid;
}

async function getStateCert(ecid: Principal, paths: Uint8Array[][]): Promise<Uint8Array> {
  const { certificate } = await agent.readState(ecid, { paths });
  return certificate;
}
/** The reference's `validateStateCert`: signature, delegation and canister range. */
async function validateStateCert(cid: Principal, certificate: Uint8Array): Promise<Certificate> {
  return Certificate.create({
    certificate,
    rootKey: agent.rootKey!,
    principal: { canisterId: cid },
    // The instance's clock need not be the test machine's.
    disableTimeVerification: true,
  });
}
const treeOf = (certificate: Uint8Array) => Cbor.decode<{ tree: HashTree }>(certificate).tree;

describe('calls to a subnet ID', () => {
  /**
   * `ic00viaWithCyclesSubnet' subnet_id cid`: the universal canister `cid`
   * calls `method` on the principal `subnet` as it would call aaaaa-aa.
   */
  const viaSubnet = async (cid: Principal, subnet: Principal, method: string, arg: Uint8Array, cycles = 0n) =>
    isRelay(await call(pic, cid, updateCall(subnet, method, { ...defUpdateArgs, arg, cycles })));
  const CanisterSettingsArg = IDL.Record({ settings: IDL.Opt(IDL.Record({})) });
  const ProvisionalArg = IDL.Record({ amount: IDL.Opt(IDL.Nat), settings: IDL.Opt(IDL.Record({})) });
  const HttpRequestArg = IDL.Record({
    url: IDL.Text,
    max_response_bytes: IDL.Opt(IDL.Nat64),
    method: IDL.Variant({ get: IDL.Null, head: IDL.Null, post: IDL.Null }),
    headers: IDL.Vec(IDL.Record({ name: IDL.Text, value: IDL.Text })),
    body: IDL.Opt(IDL.Vec(IDL.Nat8)),
  });
  const encode = (t: IDL.Type, v: unknown) => new Uint8Array(IDL.encode([t], [v]));

  /** `test_subnet_msg'`: on a subnet that is not the root, every call to a subnet id is rejected with 3. */
  async function testSubnetMsg(cid: Principal, subnet: Principal) {
    const expect3 = (o: Outcome) => isReject(o, [3]);
    expect3(
      await viaSubnet(
        cid,
        subnet,
        'create_canister',
        encode(CanisterSettingsArg, { settings: [] }),
        20n * 10n ** 12n,
      ),
    );
    expect3(
      await viaSubnet(
        cid,
        subnet,
        'provisional_create_canister_with_cycles',
        encode(ProvisionalArg, { amount: [], settings: [] }),
        20n * 10n ** 12n,
      ),
    );
    // cid2 <- ic_create (ic00viaWithCycles cid 20T): through aaaaa-aa this works.
    const created = isReply(
      await viaSubnet(
        cid,
        MANAGEMENT,
        'create_canister',
        encode(CanisterSettingsArg, { settings: [] }),
        20n * 10n ** 12n,
      ),
    );
    const [{ canister_id: cid2 }] = IDL.decode(
      [IDL.Record({ canister_id: IDL.Principal })],
      created,
    ) as unknown as [{ canister_id: Principal }];
    expect3(await viaSubnet(cid, subnet, 'install_code', installCodeArg('install', cid2, trivialWasmModule)));
    expect3(
      await viaSubnet(
        cid,
        subnet,
        'http_request',
        encode(HttpRequestArg, {
          url: 'https://127.0.0.1/equal_bytes/8',
          max_response_bytes: [],
          method: { get: null },
          headers: [],
          body: [],
        }),
        10n ** 12n,
      ),
    );
    expect3(await viaSubnet(cid, subnet, 'raw_rand', new Uint8Array(IDL.encode([], []))));
    // Nothing was installed through the subnet id.
    expect((await pic.canisterStatus({ canisterId: cid2, sender: cid })).moduleHash).toBeNull();
  }

  it('as user', async () => {
    const cid = await create();
    for (const subnet of [mySubnet, otherSubnet]) {
      // An ingress message to the subnet id instead of aaaaa-aa: an error or a reject.
      const o = await outcome(
        pic.updateCall({
          canisterId: subnet,
          method: 'install_code',
          arg: installCodeArg('install', cid, trivialWasmModule),
          sender: defaultUser,
          targetSubnetId: mySubnet,
        }),
      );
      expect(o.kind).not.toBe('reply');
    }
    expect((await pic.canisterStatus({ canisterId: cid, sender: defaultUser })).moduleHash).toBeNull();
  });
  it('as canister to own subnet', async () => {
    const cid = await install();
    await testSubnetMsg(cid, mySubnet);
  });
  it('as canister to other subnet', async () => {
    const cid = await install();
    await testSubnetMsg(cid, otherSubnet);
  });
});

describe('read state', () => {
  it('certificate validates', async () => {
    const cid = await install();
    const cert = await validateStateCert(cid, await getStateCert(cid, []));
    expect(cert.lookup_path(['time']).status).toBe(LookupPathStatus.Found);
  });
  it('certificate does not validate if canister range check fails', async () => {
    const cid = await install();
    const other = await install(otherSubnet);
    const certificate = await getStateCert(cid, []);
    // my_sub is not the root subnet: its certificate's delegation names my_sub's
    // canister ranges, which do not hold other_sub's canister.
    expect(Cbor.decode<{ delegation?: unknown }>(certificate).delegation).toBeDefined();
    await expect(validateStateCert(other, certificate)).rejects.toThrow(/not in the subnet|range/i);
  });
  it('can ask for /subnet', async () => {
    const ecid = await install();
    const tree = treeOf(await getStateCert(ecid, [[enc('subnet')]]));
    const value = (path: (string | Uint8Array)[]) => {
      const v = lookupResultToBuffer(lookup_path(path, tree));
      expect(
        v,
        path.map((p) => (typeof p === 'string' ? p : Principal.fromUint8Array(p).toText())).join('/'),
      ).toBeDefined();
      return v!;
    };
    for (const subnet of [mySubnet, otherSubnet]) {
      value(['subnet', subnet.toUint8Array(), 'public_key']);
      value(['subnet', subnet.toUint8Array(), 'canister_ranges']);
    }
    // The own subnet's nodes' keys are there; the other subnet's nodes are not
    // (PicJS's topology does not list node ids: they are read from the tree).
    const nodes = lookup_subtree(['subnet', mySubnet.toUint8Array(), 'node'], tree);
    expect(nodes.status).toBe(LookupSubtreeStatus.Found);
    const nodeIds = flatten_forks(nodes.status === LookupSubtreeStatus.Found ? nodes.value : [NodeType.Empty])
      .filter((t) => t[0] === NodeType.Labeled)
      .map((t) => t[1] as Uint8Array);
    expect(nodeIds.length).toBeGreaterThan(0);
    for (const nid of nodeIds) value(['subnet', mySubnet.toUint8Array(), 'node', nid, 'public_key']);
    expect(lookup_subtree(['subnet', otherSubnet.toUint8Array(), 'node'], tree).status).toBe(
      LookupSubtreeStatus.Absent,
    );
  });
});
