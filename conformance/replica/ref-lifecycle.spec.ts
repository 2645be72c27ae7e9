/**
 * Reference suite (dfinity/ic `hs/spec_compliance/src/IC/Test/Spec.hs`),
 * "regular canisters" groups about a canister's life and its certified data:
 * "reinstall", "uninstall", "debug facilities", "caller (in init)",
 * "self (in init)", "trapping in init", "query", "certified variables",
 * "canister lifecycle" and the leaves around it, ported through PicJS and the
 * universal canister. `ic00` calls of the reference go to the management
 * canister through PicJS with the canister's subnet as effective principal.
 */
import type { PocketIc } from '@dfinity/pic';
import { Cbor, Certificate, lookupResultToBuffer, lookup_path, type HashTree } from '@icp-sdk/core/agent';
import { gzipSync } from 'node:zlib';
import { IDL } from '@icp-sdk/core/candid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCodeArg } from '../support/management-args.ts';
import { createPic } from '../support/pic.ts';
import {
  Principal,
  asWord32,
  badPrint,
  bytes,
  call,
  caller,
  callback,
  debugPrint,
  defArgs,
  getCertificate,
  getCertificatePresent,
  getGlobal,
  getStatus,
  i2b,
  ignore,
  install,
  installAt,
  int,
  interCall,
  interQuery,
  defUpdateArgs,
  updateCall,
  isRelay,
  isReject,
  isReply,
  noop,
  onPreUpgrade,
  outcome,
  query,
  reinstall,
  reject,
  reply,
  replyData,
  run,
  self,
  seq,
  setCertifiedData,
  setGlobal,
  stableGrow,
  stableRead,
  stableSize,
  stableWrite,
  trap,
  ucWasm,
  upgrade,
  utf8,
} from '../support/uc.ts';

let pic: PocketIc;
const MANAGEMENT = Principal.managementCanister();
beforeAll(async () => {
  pic = await createPic();
});
afterAll(async () => {
  await pic?.tearDown();
});

/** The reference's `ic00` for a canister-targeted management method. */
async function ic00(method: string, canisterId: Principal, sender?: Principal) {
  const arg = IDL.encode([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: canisterId }]);
  const targetSubnetId = await pic.getCanisterSubnetId(canisterId);
  return pic.updateCall({
    canisterId: MANAGEMENT,
    method,
    arg,
    sender,
    targetSubnetId: targetSubnetId ?? undefined,
  });
}
const uninstall = (cid: Principal, sender?: Principal) => ic00('uninstall_code', cid, sender);

/** The reference's `extractCertData`: the canister's certified data in a data certificate. */
function extractCertData(cid: Principal, certificate: Uint8Array): Uint8Array {
  const cert = Cbor.decode<{ tree: HashTree }>(certificate);
  const found = lookupResultToBuffer(
    lookup_path(['canister', cid.toUint8Array(), 'certified_data'], cert.tree),
  );
  expect(found, 'certified_data is in the certificate').toBeDefined();
  return found!;
}
const certData = async (cid: Principal) =>
  extractCertData(cid, await query(pic, cid, replyData(getCertificate)));

describe('reinstall', () => {
  it('succeeding', async () => {
    const cid = await install(
      pic,
      seq(setGlobal('FOO'), ignore(stableGrow(int(1))), stableWrite(int(0), 'FOO______')),
    );
    expect(await query(pic, cid, replyData(getGlobal))).toEqual(utf8('FOO'));
    expect(await query(pic, cid, replyData(stableRead(int(0), int(9))))).toEqual(utf8('FOO______'));
    expect(asWord32(await query(pic, cid, replyData(i2b(stableSize))))).toBe(1);
    await reinstall(
      pic,
      cid,
      seq(setGlobal('BAR'), ignore(stableGrow(int(2))), stableWrite(int(0), 'BAR______')),
    );
    expect(await query(pic, cid, replyData(getGlobal))).toEqual(utf8('BAR'));
    expect(await query(pic, cid, replyData(stableRead(int(0), int(9))))).toEqual(utf8('BAR______'));
    expect(asWord32(await query(pic, cid, replyData(i2b(stableSize))))).toBe(2);
    await reinstall(pic, cid, noop);
    expect(await query(pic, cid, replyData(getGlobal))).toEqual(new Uint8Array());
    expect(asWord32(await query(pic, cid, replyData(i2b(stableSize))))).toBe(0);
  });
  it('trapping', async () => {
    const cid = await install(
      pic,
      seq(setGlobal('FOO'), ignore(stableGrow(int(1))), stableWrite(int(0), 'FOO______')),
    );
    isReject(await outcome(reinstall(pic, cid, trap('Trapping the reinstallation'))), [5]);
    expect(await query(pic, cid, replyData(getGlobal))).toEqual(utf8('FOO'));
    expect(await query(pic, cid, replyData(stableRead(int(0), int(9))))).toEqual(utf8('FOO______'));
    expect(asWord32(await query(pic, cid, replyData(i2b(stableSize))))).toBe(1);
  });
});

describe('uninstall', () => {
  it('uninstall empty canister', async () => {
    const cid = await pic.createCanister();
    let cs = await pic.canisterStatus({ canisterId: cid });
    expect(cs.moduleHash).toBeNull();
    await uninstall(cid);
    cs = await pic.canisterStatus({ canisterId: cid });
    expect(cs.status).toEqual({ running: null });
    expect(cs.settings.controllers.map((p) => p.toText())).toEqual([Principal.anonymous().toText()]);
    expect(cs.moduleHash).toBeNull();
  });
  it('uninstall as wrong user', async () => {
    const cid = await pic.createCanister();
    const otherUser = Principal.fromUint8Array(Uint8Array.from([...new Array<number>(28).fill(9), 2]));
    isReject(await outcome(uninstall(cid, otherUser)), [3, 5]);
  });
  it('uninstall and reinstall wipes state', async () => {
    const cid = await install(pic, setGlobal('FOO'));
    await uninstall(cid);
    await installAt(pic, cid, setGlobal('BAR'));
    expect(await query(pic, cid, replyData(getGlobal))).toEqual(utf8('BAR'));
  });
  it('uninstall and reinstall wipes stable memory', async () => {
    const cid = await install(pic, seq(ignore(stableGrow(int(1))), stableWrite(int(0), 'FOO')));
    await uninstall(cid);
    await installAt(pic, cid, setGlobal('BAR'));
    expect(asWord32(await query(pic, cid, replyData(i2b(stableSize))))).toBe(0);
    const zeros = Uint8Array.of(0, 0, 0);
    expect(
      await query(pic, cid, seq(ignore(stableGrow(int(1))), replyData(stableRead(int(0), int(3))))),
    ).toEqual(zeros);
    expect(
      await call(pic, cid, seq(ignore(stableGrow(int(1))), replyData(stableRead(int(0), int(3))))),
    ).toEqual(zeros);
  });
  it('uninstall and reinstall wipes certified data', async () => {
    const cid = await install(pic, setCertifiedData('FOO'));
    expect(await certData(cid)).toEqual(utf8('FOO'));
    await uninstall(cid);
    await installAt(pic, cid, noop);
    expect(await certData(cid)).toEqual(new Uint8Array());
  });
  it('uninstalled rejects calls', async () => {
    const cid = await install(pic);
    expect(await call(pic, cid, replyData('Hi'))).toEqual(utf8('Hi'));
    expect(await query(pic, cid, replyData('Hi'))).toEqual(utf8('Hi'));
    await uninstall(cid);
    // The reference expects DESTINATION_INVALID (the replica's deprecated IC0304); the replica now
    // reports IC0537 CanisterWasmModuleNotFound with CANISTER_ERROR (dfinity/ic rs/types/error_types).
    const u = isReject(await outcome(call(pic, cid, replyData('Hi'))), [3, 5]);
    const q = isReject(await outcome(query(pic, cid, replyData('Hi'))), [3, 5]);
    expect([u.errorCode, q.errorCode]).toEqual(['CanisterWasmModuleNotFound', 'CanisterWasmModuleNotFound']);
  });
});

describe('debug facilities', () => {
  it('Using debug_print', async () => {
    const cid = await install(pic);
    await call(pic, cid, seq(debugPrint('ic-ref-test print'), reply));
  });
  it('Using debug_print (query)', async () => {
    const cid = await install(pic);
    await query(pic, cid, seq(debugPrint('ic-ref-test print'), reply));
  });
  it('Using debug_print with invalid bounds', async () => {
    const cid = await install(pic);
    await query(pic, cid, seq(badPrint, reply));
  });
  it('Explicit trap', async () => {
    const cid = await install(pic);
    isReject(await outcome(call(pic, cid, trap('trapping'))), [5]);
  });
  it('Explicit trap (query)', async () => {
    const cid = await install(pic);
    isReject(await outcome(query(pic, cid, trap('trapping'))), [5]);
  });
});

describe('caller (in init)', () => {
  it('caller (in init)', async () => {
    const defaultUser = Principal.fromUint8Array(Uint8Array.from([...new Array<number>(28).fill(7), 2]));
    const cid = await install(pic, setGlobal(caller), { sender: defaultUser, controllers: [defaultUser] });
    expect(await query(pic, cid, replyData(getGlobal))).toEqual(defaultUser.toUint8Array());
  });
});

describe('self (in init)', () => {
  it('self (in init)', async () => {
    const cid = await install(pic, setGlobal(self));
    expect(await query(pic, cid, replyData(getGlobal))).toEqual(cid.toUint8Array());
  });
});

describe('trapping in init', () => {
  const failInInit = async (prog: ReturnType<typeof seq>) => {
    const cid = await pic.createCanister();
    isReject(await outcome(installAt(pic, cid, prog)), [5]);
    // The canister is empty: the reference says DESTINATION_INVALID, the replica now IC0537 with
    // CANISTER_ERROR (see "uninstalled rejects calls").
    isReject(await outcome(query(pic, cid, noop)), [3, 5]);
  };
  it('explicit trap', () => failInInit(trap('trapping in install')));
  it('call', () => failInInit(interQuery(utf8('dummy'), defArgs)));
  it('reply', () => failInInit(reply));
  it('reject', () => failInInit(reject('rejecting in init')));
});

describe('query', () => {
  it('non-existing (deleted) canister', async () => {
    const cid = await install(pic);
    await pic.stopCanister({ canisterId: cid });
    await ic00('delete_canister', cid);
    isReject(await outcome(query(pic, cid, reply)), [3]);
  });
  it('does not commit', async () => {
    const cid = await install(pic);
    await call(pic, cid, seq(setGlobal('FOO'), reply));
    expect(await query(pic, cid, seq(setGlobal('BAR'), replyData(getGlobal)))).toEqual(utf8('BAR'));
    expect(await query(pic, cid, replyData(getGlobal))).toEqual(utf8('FOO'));
  });
});

describe('certified variables', () => {
  it('initially empty', async () => {
    const cid = await install(pic);
    expect(await certData(cid)).toEqual(new Uint8Array());
  });
  it('validates', async () => {
    const cid = await install(pic);
    const certificate = await query(pic, cid, replyData(getCertificate));
    // The root key: the NNS subnet's key if the instance has one, else its only subnet's.
    const root = (await pic.getNnsSubnet()) ?? (await pic.getApplicationSubnets())[0]!;
    // PocketIC answers the raw 96-byte BLS key; certificates are checked against its DER form.
    const raw = new Uint8Array(await pic.getPubKey(root.id));
    const BLS_DER = Uint8Array.from(
      Buffer.from('308182301d060d2b0601040182dc7c0503010201060c2b0601040182dc7c05030201036100', 'hex'),
    );
    const rootKey = raw.length === 96 ? new Uint8Array([...BLS_DER, ...raw]) : raw;
    const cert = await Certificate.create({
      certificate,
      rootKey,
      principal: { canisterId: cid },
      disableTimeVerification: true,
    });
    expect(
      lookupResultToBuffer(cert.lookup_path(['canister', cid.toUint8Array(), 'certified_data'])),
    ).toEqual(new Uint8Array());
  });
  it('present in query method (query call)', async () => {
    const cid = await install(pic);
    expect(asWord32(await query(pic, cid, replyData(i2b(getCertificatePresent))))).toBe(1);
  });
  it('not present in query method (update call)', async () => {
    const cid = await install(pic);
    const r = await pic.updateCall({
      canisterId: cid,
      method: 'query',
      arg: run(replyData(i2b(getCertificatePresent))),
    });
    expect(asWord32(new Uint8Array(r))).toBe(0);
  });
  it('not present in query method (inter-canister call)', async () => {
    const cid = await install(pic);
    const r = await call(
      pic,
      cid,
      interCall(cid, 'query', { ...defArgs, otherSide: replyData(i2b(getCertificatePresent)) }),
    );
    expect(asWord32(isReply(isRelay(r)))).toBe(0);
  });
  it('not present in update method', async () => {
    const cid = await install(pic);
    expect(asWord32(await call(pic, cid, replyData(i2b(getCertificatePresent))))).toBe(0);
  });
  it('set and get', async () => {
    const cid = await install(pic);
    await call(pic, cid, seq(setCertifiedData('FOO'), reply));
    expect(await certData(cid)).toEqual(utf8('FOO'));
  });
  it('set twice', async () => {
    const cid = await install(pic);
    await call(pic, cid, seq(setCertifiedData('FOO'), setCertifiedData('BAR'), reply));
    expect(await certData(cid)).toEqual(utf8('BAR'));
  });
  it('set then trap', async () => {
    const cid = await install(pic);
    await call(pic, cid, seq(setCertifiedData('FOO'), reply));
    isReject(await outcome(call(pic, cid, seq(setCertifiedData('BAR'), trap('Trapped')))), [5]);
    expect(await certData(cid)).toEqual(utf8('FOO'));
  });
  it('too large traps, old value retained', async () => {
    const cid = await install(pic);
    await call(pic, cid, seq(setCertifiedData('FOO'), reply));
    isReject(
      await outcome(call(pic, cid, seq(setCertifiedData(bytes(new Uint8Array(33).fill(0x42))), reply))),
      [5],
    );
    expect(await certData(cid)).toEqual(utf8('FOO'));
  });
  it('set in init', async () => {
    const cid = await install(pic, setCertifiedData('FOO'));
    expect(await certData(cid)).toEqual(utf8('FOO'));
  });
  it('set in pre-upgrade', async () => {
    const cid = await install(pic, onPreUpgrade(callback(setCertifiedData('FOO'))));
    await upgrade(pic, cid, noop);
    expect(await certData(cid)).toEqual(utf8('FOO'));
  });
  it('set in post-upgrade', async () => {
    const cid = await install(pic);
    await upgrade(pic, cid, setCertifiedData('FOO'));
    expect(await certData(cid)).toEqual(utf8('FOO'));
  });
  it('cleared in reinstall', async () => {
    const cid = await install(pic);
    await call(pic, cid, seq(setCertifiedData('FOO'), reply));
    expect(await certData(cid)).toEqual(utf8('FOO'));
    await reinstall(pic, cid, noop);
    expect(await certData(cid)).toEqual(new Uint8Array());
  });
  it('cleared in uninstall', async () => {
    const cid = await install(pic);
    await call(pic, cid, seq(setCertifiedData('FOO'), reply));
    expect(await certData(cid)).toEqual(utf8('FOO'));
    await uninstall(cid);
    await installAt(pic, cid, noop);
    expect(await certData(cid)).toEqual(new Uint8Array());
  });
});

describe('regular canisters', () => {
  it('create and install', async () => {
    await install(pic);
  });
  it('canister lifecycle', async () => {
    const cid = await install(
      pic,
      onPreUpgrade(callback(seq(ignore(stableGrow(int(1))), stableWrite(int(0), i2b(getStatus))))),
    );
    // Is running (via management)? / (local)?
    expect((await pic.canisterStatus({ canisterId: cid })).status).toEqual({ running: null });
    expect(asWord32(await query(pic, cid, replyData(i2b(getStatus))))).toBe(1);
    // Stop; is stopped; stop is noop
    await pic.stopCanister({ canisterId: cid });
    expect((await pic.canisterStatus({ canisterId: cid })).status).toEqual({ stopped: null });
    await pic.stopCanister({ canisterId: cid });
    // Cannot call (update)? / (query)?
    isReject(await outcome(call(pic, cid, reply)), [5]);
    isReject(await outcome(query(pic, cid, reply)), [5]);
    // Upgrade
    await upgrade(pic, cid, setGlobal(i2b(getStatus)));
    // Start canister; is running
    await pic.startCanister({ canisterId: cid });
    expect((await pic.canisterStatus({ canisterId: cid })).status).toEqual({ running: null });
    expect(asWord32(await query(pic, cid, replyData(i2b(getStatus))))).toBe(1);
    // Was stopped during pre-upgrade? / post-upgrade?
    expect(asWord32(await query(pic, cid, replyData(stableRead(int(0), int(4)))))).toBe(3);
    expect(asWord32(await query(pic, cid, replyData(getGlobal)))).toBe(3);
    // Can call (update)? / (query)?; start is noop
    await call(pic, cid, reply);
    await query(pic, cid, reply);
    await pic.startCanister({ canisterId: cid });
  });
  it('install (gzip compressed)', async () => {
    const cid = await pic.createCanister();
    const trivial = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
    const compressed = new Uint8Array(gzipSync(trivial));
    const sha = async (b: Uint8Array) =>
      new Uint8Array(await crypto.subtle.digest('SHA-256', b as Uint8Array<ArrayBuffer>));
    // Install compressed module
    await pic.installCode({ canisterId: cid, wasm: compressed });
    expect((await pic.canisterStatus({ canisterId: cid })).moduleHash).toEqual(await sha(compressed));
    // Reinstall compressed module
    await pic.reinstallCode({ canisterId: cid, wasm: compressed });
    expect((await pic.canisterStatus({ canisterId: cid })).moduleHash).toEqual(await sha(compressed));
    // Install raw module
    await pic.reinstallCode({ canisterId: cid, wasm: trivial });
    expect((await pic.canisterStatus({ canisterId: cid })).moduleHash).toEqual(await sha(trivial));
    // Upgrade to a compressed module
    await pic.upgradeCanister({ canisterId: cid, wasm: compressed });
    expect((await pic.canisterStatus({ canisterId: cid })).moduleHash).toEqual(await sha(compressed));
  });
  it('aaaaa-aa (inter-canister, large)', async () => {
    const cid = await install(pic);
    const Created = IDL.Record({ canister_id: IDL.Principal });
    const createArg = IDL.encode(
      [
        IDL.Record({
          amount: IDL.Opt(IDL.Nat),
          settings: IDL.Opt(IDL.Null),
          specified_id: IDL.Opt(IDL.Principal),
        }),
      ],
      [{ amount: [], settings: [], specified_id: [] }],
    );
    const via = async (method: string, arg: Uint8Array) =>
      isReply(isRelay(await call(pic, cid, updateCall(MANAGEMENT, method, { ...defUpdateArgs, arg }))));
    const canId = (
      IDL.decode(
        [Created],
        await via('provisional_create_canister_with_cycles', new Uint8Array(createArg)),
      )[0] as unknown as {
        canister_id: Principal;
      }
    ).canister_id;
    await via('install_code', installCodeArg('install', canId, new Uint8Array(gzipSync(await ucWasm()))));
    expect(await call(pic, canId, replyData('Hi'))).toEqual(utf8('Hi'));
  });
  it('reinstall on empty', async () => {
    const cid = await pic.createCanister();
    await pic.reinstallCode({ canisterId: cid, wasm: await ucWasm(), arg: new Uint8Array() });
  });
  it('canister_status', async () => {
    const cid = await pic.createCanister();
    let cs = await pic.canisterStatus({ canisterId: cid });
    expect(cs.status).toEqual({ running: null });
    expect(cs.settings.controllers.map((p) => p.toText())).toEqual([Principal.anonymous().toText()]);
    expect(cs.moduleHash).toBeNull();
    await installAt(pic, cid);
    cs = await pic.canisterStatus({ canisterId: cid });
    const wasm = await ucWasm();
    const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', wasm));
    expect(cs.moduleHash).toEqual(hash);
  });
});
