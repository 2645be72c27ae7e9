/**
 * Reference suite (dfinity/ic `hs/spec_compliance/src/IC/Test/Spec/CanisterHistory.hs`),
 * group "canister history", ported through PicJS and the universal canister:
 * `canister_info` is only for canisters, so a universal canister asks.
 * IC interface specification, "IC method canister_info" and "Canister history".
 */
import type { PocketIc } from '@dfinity/pic';
import { IDL } from '@icp-sdk/core/candid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPic } from '../support/pic.ts';
import {
  Principal,
  call,
  callback,
  defUpdateArgs,
  install,
  installAt,
  isRelay,
  isReject,
  isReply,
  onHeartbeat,
  outcome,
  reinstall,
  trap,
  ucWasm,
  updateCall,
  upgrade,
} from '../support/uc.ts';

let pic: PocketIc;
const MANAGEMENT = Principal.managementCanister();
const defaultUser = Principal.anonymous();
const otherUser = Principal.fromUint8Array(Uint8Array.from([...new Array<number>(28).fill(9), 2]));
const noHeartbeat = onHeartbeat(callback(trap('')));
/** The reference's `trivialWasmModule`: an empty module. */
const trivialWasmModule = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
const sha256 = async (b: Uint8Array) =>
  new Uint8Array(await crypto.subtle.digest('SHA-256', b as Uint8Array<ArrayBuffer>));

beforeAll(async () => {
  pic = await createPic();
});
afterAll(async () => {
  await pic?.tearDown();
});

const Mode = IDL.Variant({ install: IDL.Null, reinstall: IDL.Null, upgrade: IDL.Null });
const Change = IDL.Record({
  canister_version: IDL.Nat64,
  origin: IDL.Variant({
    from_user: IDL.Record({ user_id: IDL.Principal }),
    from_canister: IDL.Record({ canister_id: IDL.Principal, canister_version: IDL.Opt(IDL.Nat64) }),
  }),
  details: IDL.Variant({
    creation: IDL.Record({ controllers: IDL.Vec(IDL.Principal) }),
    code_uninstall: IDL.Null,
    code_deployment: IDL.Record({ mode: Mode, module_hash: IDL.Vec(IDL.Nat8) }),
    load_snapshot: IDL.Record({ canister_version: IDL.Nat64 }),
    controllers_change: IDL.Record({ controllers: IDL.Vec(IDL.Principal) }),
  }),
});
const Info = IDL.Record({
  total_num_changes: IDL.Nat64,
  recent_changes: IDL.Vec(Change),
  module_hash: IDL.Opt(IDL.Vec(IDL.Nat8)),
  controllers: IDL.Vec(IDL.Principal),
});
type ChangeValue = {
  canister_version: bigint;
  origin:
    | { from_user: { user_id: Principal } }
    | { from_canister: { canister_id: Principal; canister_version: [] | [bigint] } };
  details:
    | { creation: { controllers: Principal[] } }
    | { code_uninstall: null }
    | { code_deployment: { mode: Record<string, null>; module_hash: Uint8Array } }
    | { controllers_change: { controllers: Principal[] } };
};
type InfoValue = {
  total_num_changes: bigint;
  recent_changes: ChangeValue[];
  module_hash: [] | [Uint8Array];
  controllers: Principal[];
};

/** A simple view of a change, for comparing with the reference's tuples. */
type Expected = [bigint, string, string];
function view(c: ChangeValue): Expected {
  const o =
    'from_user' in c.origin
      ? `user ${c.origin.from_user.user_id.toText()}`
      : `canister ${c.origin.from_canister.canister_id.toText()} ${c.origin.from_canister.canister_version[0] ?? '-'}`;
  const d = c.details;
  const sorted = (ps: Principal[]) =>
    ps
      .map((p) => p.toText())
      .sort()
      .join(',');
  const det =
    'creation' in d
      ? `creation ${sorted(d.creation.controllers)}`
      : 'code_uninstall' in d
        ? 'code_uninstall'
        : 'code_deployment' in d
          ? `${Object.keys(d.code_deployment.mode)[0]} ${Buffer.from(d.code_deployment.module_hash).toString('hex')}`
          : `controllers ${sorted(d.controllers_change.controllers)}`;
  return [c.canister_version, o, det];
}
const user = (p: Principal) => `user ${p.toText()}`;
const creation = (...ps: Principal[]) =>
  `creation ${ps
    .map((p) => p.toText())
    .sort()
    .join(',')}`;
const controllers = (...ps: Principal[]) =>
  `controllers ${ps
    .map((p) => p.toText())
    .sort()
    .join(',')}`;
const deploy = (mode: string, hash: Uint8Array) => `${mode} ${Buffer.from(hash).toString('hex')}`;

async function canisterInfo(unican: Principal, cid: Principal, n?: bigint): Promise<InfoValue> {
  const arg = IDL.encode(
    [IDL.Record({ canister_id: IDL.Principal, num_requested_changes: IDL.Opt(IDL.Nat64) })],
    [{ canister_id: cid, num_requested_changes: n === undefined ? [] : [n] }],
  );
  const r = isReply(
    isRelay(await call(pic, unican, updateCall(MANAGEMENT, 'canister_info', { ...defUpdateArgs, arg }))),
  );
  return IDL.decode([Info], r)[0] as unknown as InfoValue;
}
function checkHistory(info: InfoValue, total: bigint, changes: Expected[]) {
  expect(info.total_num_changes).toBe(total);
  expect(info.recent_changes.map(view)).toEqual(changes);
}

const InstallArgs = IDL.Record({
  mode: Mode,
  canister_id: IDL.Principal,
  wasm_module: IDL.Vec(IDL.Nat8),
  arg: IDL.Vec(IDL.Nat8),
  sender_canister_version: IDL.Opt(IDL.Nat64),
});
const installArg = (
  mode: 'install' | 'reinstall' | 'upgrade',
  cid: Principal,
  wasm: Uint8Array,
  version?: bigint,
) =>
  new Uint8Array(
    IDL.encode(
      [InstallArgs],
      [
        {
          mode: { [mode]: null },
          canister_id: cid,
          wasm_module: wasm,
          arg: new Uint8Array(),
          sender_canister_version: version === undefined ? [] : [version],
        },
      ],
    ),
  );
async function ic00(method: string, arg: Uint8Array, cid: Principal, sender?: Principal) {
  const targetSubnetId = (await pic.getCanisterSubnetId(cid)) ?? undefined;
  return pic.updateCall({ canisterId: MANAGEMENT, method, arg, sender, targetSubnetId });
}
const cidArg = (cid: Principal) =>
  new Uint8Array(IDL.encode([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: cid }]));

describe('canister history', () => {
  it('after creation and code deployments', async () => {
    const unican = await install(pic, noHeartbeat);
    const ucanHash = await sha256(await ucWasm());
    const cid = await pic.createCanister();
    checkHistory(await canisterInfo(unican, cid, 1n), 1n, [[0n, user(defaultUser), creation(defaultUser)]]);
    await installAt(pic, cid, noHeartbeat);
    checkHistory(await canisterInfo(unican, cid, 1n), 2n, [
      [1n, user(defaultUser), deploy('install', ucanHash)],
    ]);
    // sender_canister_version in an ingress message is ignored
    await ic00('install_code', installArg('reinstall', cid, trivialWasmModule, 666n), cid);
    checkHistory(await canisterInfo(unican, cid, 1n), 3n, [
      [2n, user(defaultUser), deploy('reinstall', await sha256(trivialWasmModule))],
    ]);
    await upgrade(pic, cid, noHeartbeat);
    checkHistory(await canisterInfo(unican, cid, 1n), 4n, [
      [3n, user(defaultUser), deploy('upgrade', ucanHash)],
    ]);
  });
  it('after uninstall', async () => {
    const unican = await install(pic, noHeartbeat);
    const cid = await install(pic, noHeartbeat);
    await ic00('uninstall_code', cidArg(cid), cid);
    checkHistory(await canisterInfo(unican, cid, 1n), 3n, [[2n, user(defaultUser), 'code_uninstall']]);
  });
  it('after changing controllers', async () => {
    const unican = await install(pic, noHeartbeat);
    const cid = await pic.createCanister();
    await pic.updateCanisterSettings({ canisterId: cid, controllers: [otherUser, defaultUser, defaultUser] });
    checkHistory(await canisterInfo(unican, cid, 1n), 2n, [
      [1n, user(defaultUser), controllers(otherUser, defaultUser)],
    ]);
    await pic.updateCanisterSettings({ canisterId: cid, controllers: [defaultUser, otherUser, defaultUser] });
    checkHistory(await canisterInfo(unican, cid, 1n), 3n, [
      [2n, user(defaultUser), controllers(otherUser, defaultUser)],
    ]);
  });
  it('after many changes', async () => {
    const unican = await install(pic, noHeartbeat);
    const cid = await pic.createCanister();
    for (let i = 0; i < 22; i++)
      await pic.updateCanisterSettings({ canisterId: cid, controllers: [defaultUser] });
    const hist: Expected[] = [[0n, user(defaultUser), creation(defaultUser)]];
    for (let i = 1n; i <= 22n; i++) hist.push([i, user(defaultUser), controllers(defaultUser)]);
    checkHistory(await canisterInfo(unican, cid, 20n), 23n, hist.slice(-20));
  });
  it('does not track all update_settings calls', async () => {
    const unican = await install(pic, noHeartbeat);
    const cid = await pic.createCanister();
    // not stored in canister history; canister version still bumped
    await pic.updateCanisterSettings({ canisterId: cid, freezingThreshold: 2n ** 10n });
    await pic.installCode({ canisterId: cid, wasm: trivialWasmModule });
    checkHistory(await canisterInfo(unican, cid, 2n), 2n, [
      [0n, user(defaultUser), creation(defaultUser)],
      [2n, user(defaultUser), deploy('install', await sha256(trivialWasmModule))],
    ]);
  });
  const CreateArgs = IDL.Record({
    settings: IDL.Opt(IDL.Record({ controllers: IDL.Opt(IDL.Vec(IDL.Principal)) })),
    sender_canister_version: IDL.Opt(IDL.Nat64),
  });
  /** `ic00via unican` (with cycles): the universal canister calls aaaaa-aa; the outcome. */
  const viaUnican = async (unican: Principal, method: string, arg: Uint8Array, cycles = 0n) =>
    isRelay(await call(pic, unican, updateCall(MANAGEMENT, method, { ...defUpdateArgs, arg, cycles })));
  it('changes from canister', async () => {
    const unican = await install(pic, noHeartbeat, { cycles: 10n ** 15n });
    const created = isReply(
      await viaUnican(
        unican,
        'create_canister',
        new Uint8Array(
          IDL.encode(
            [CreateArgs],
            [{ settings: [{ controllers: [[unican, defaultUser]] }], sender_canister_version: [] }],
          ),
        ),
        20_000_000_000_000n,
      ),
    );
    const [{ canister_id: cid }] = IDL.decode(
      [IDL.Record({ canister_id: IDL.Principal })],
      created,
    ) as unknown as [{ canister_id: Principal }];
    checkHistory(await canisterInfo(unican, cid, 1n), 1n, [
      [0n, `canister ${unican.toText()} -`, creation(unican, defaultUser)],
    ]);
    isReply(await viaUnican(unican, 'install_code', installArg('install', cid, trivialWasmModule, 5n)));
    checkHistory(await canisterInfo(unican, cid, 1n), 2n, [
      [1n, `canister ${unican.toText()} 5`, deploy('install', await sha256(trivialWasmModule))],
    ]);
  });
  it('incorrect sender_canister_version', async () => {
    const unican = await install(pic, noHeartbeat);
    // The caller's version is 1 (created, installed), not 666.
    const arg = new Uint8Array(IDL.encode([CreateArgs], [{ settings: [], sender_canister_version: [666n] }]));
    const r = isReject(await viaUnican(unican, 'create_canister', arg), [5]);
    // dfinity/ic sandbox_safe_system_state.rs `validate_sender_canister_version`
    expect(r.message).toContain(
      'includes sender canister version 666 that does not match the actual sender canister version 1.',
    );
  });
  it('user call to canister_info', async () => {
    const cid = await install(pic, noHeartbeat);
    const arg = IDL.encode(
      [IDL.Record({ canister_id: IDL.Principal, num_requested_changes: IDL.Opt(IDL.Nat64) })],
      [{ canister_id: cid, num_requested_changes: [] }],
    );
    isReject(await outcome(ic00('canister_info', new Uint8Array(arg), cid)), [4]);
  });
  it('calling canister_info', async () => {
    const unican = await install(pic, noHeartbeat);
    const ucanHash = await sha256(await ucWasm());
    const trivialHash = await sha256(trivialWasmModule);
    const cid = await pic.createCanister();
    await pic.installCode({ canisterId: cid, wasm: trivialWasmModule });
    await reinstall(pic, cid, noHeartbeat);
    let info = await canisterInfo(unican, cid);
    expect(info.controllers.map((p) => p.toText())).toEqual([defaultUser.toText()]);
    expect(info.module_hash).toEqual([ucanHash]);
    await pic.upgradeCanister({ canisterId: cid, wasm: trivialWasmModule });
    info = await canisterInfo(unican, cid);
    expect(info.module_hash).toEqual([trivialHash]);
    await ic00('uninstall_code', cidArg(cid), cid);
    await pic.updateCanisterSettings({ canisterId: cid, controllers: [defaultUser, otherUser, defaultUser] });
    info = await canisterInfo(unican, cid);
    checkHistory(info, 6n, []);
    expect(info.controllers.map((p) => p.toText()).sort()).toEqual(
      [otherUser.toText(), defaultUser.toText()].sort(),
    );
    expect(info.module_hash).toEqual([]);
    const hist: Expected[] = [
      [0n, user(defaultUser), creation(defaultUser)],
      [1n, user(defaultUser), deploy('install', trivialHash)],
      [2n, user(defaultUser), deploy('reinstall', ucanHash)],
      [3n, user(defaultUser), deploy('upgrade', trivialHash)],
      [4n, user(defaultUser), 'code_uninstall'],
      [5n, user(defaultUser), controllers(otherUser, defaultUser)],
    ];
    checkHistory(await canisterInfo(unican, cid, 0n), 6n, []);
    checkHistory(await canisterInfo(unican, cid, 1n), 6n, hist.slice(-1));
    checkHistory(await canisterInfo(unican, cid, 2n), 6n, hist.slice(-2));
    for (const n of [6n, 20n, 200n]) checkHistory(await canisterInfo(unican, cid, n), 6n, hist);
  });
});
