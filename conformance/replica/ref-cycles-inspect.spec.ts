/**
 * Reference suite (dfinity/ic `hs/spec_compliance/src/IC/Test/Spec.hs`),
 * groups "cycles" (with its subgroups) and "canister_inspect_message", and the
 * management leaves "management requests", "canister lifecycle (wrong
 * controller)", "aaaaa-aa (inter-canister)", "randomness" and
 * "provisional_create_canister_with_cycles", ported through PicJS and the
 * universal canister. `ic00via cid` of the reference is the universal
 * canister `cid` calling the management canister.
 */
import type { PocketIc } from '@dfinity/pic';
import { IDL } from '@icp-sdk/core/candid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installCodeArg } from '../support/management-args.ts';
import { createPic } from '../support/pic.ts';
import {
  type Prog,
  Principal,
  acceptCycles,
  acceptCycles128,
  acceptMessage,
  argData,
  asWord64,
  asWord128,
  call,
  callCyclesAdd,
  callNew,
  callback,
  caller,
  cat,
  defArgs,
  defUpdateArgs,
  getAvailableCycles,
  getBalance,
  getBalance128,
  getGlobal,
  getRefund,
  i64tob,
  ignore,
  install,
  installAt,
  int,
  int64,
  interCall,
  interQuery,
  interUpdate,
  isRelay,
  isReject,
  isReply,
  methodName,
  noop,
  onInspectMessage,
  onPreUpgrade,
  outcome,
  query,
  reply,
  replyData,
  replyDataAppend,
  run,
  seq,
  setGlobal,
  stableGrow,
  stableRead,
  stableWrite,
  trap,
  trapIfEq,
  ucWasm,
  updateCall,
  upgrade,
  utf8,
} from '../support/uc.ts';

let pic: PocketIc;
const MANAGEMENT = Principal.managementCanister();
const defaultUser = Principal.fromUint8Array(Uint8Array.from([...new Array<number>(28).fill(7), 2]));
const otherUser = Principal.fromUint8Array(Uint8Array.from([...new Array<number>(28).fill(9), 2]));
beforeAll(async () => {
  pic = await createPic();
});
afterAll(async () => {
  await pic?.tearDown();
});

const CanisterIdArg = IDL.Record({ canister_id: IDL.Principal });
const encodeCid = (cid: Principal) => IDL.encode([CanisterIdArg], [{ canister_id: cid }]);

/** The reference's `ic00via cid`: `cid` calls the management canister; the reply's bytes. */
async function ic00via(cid: Principal, method: string, arg: Uint8Array, cycles = 0n): Promise<Uint8Array> {
  const r = isRelay(await call(pic, cid, updateCall(MANAGEMENT, method, { ...defUpdateArgs, arg, cycles })));
  return isReply(r);
}

describe('cycles', () => {
  const def_cycles = 80_000_000_000_000n;
  const eps = 3_000_000_000_000n;
  const isRoughly = (expected: bigint, actual: bigint) =>
    expect(actual > expected - eps && actual < expected + eps, `${actual} not near ${expected}`).toBe(true);
  const replyBalance = replyData(i64tob(getBalance));
  const rememberBalance = seq(ignore(stableGrow(int(1))), stableWrite(int(0), i64tob(getBalance)));
  const recallBalance = replyData(stableRead(int(0), int(8)));
  const acceptAll = ignore(acceptCycles(getAvailableCycles));
  const queryBalance = async (cid: Principal) => asWord64(await query(pic, cid, replyBalance));
  const queryBalance128 = async (cid: Principal) =>
    asWord128(await query(pic, cid, replyData(getBalance128)));
  const create = (prog: Prog = noop) => install(pic, prog, { cycles: def_cycles });
  const bothSame = (d: Uint8Array) => expect(d.slice(0, 8)).toEqual(d.slice(8, 16));

  describe('cycles API - backward compatibility', () => {
    it('canister_cycle_balance = canister_cycle_balance128 for numbers fitting in 64 bits', async () => {
      const cid = await install(pic);
      const d = await query(
        pic,
        cid,
        seq(replyDataAppend(i64tob(getBalance)), replyDataAppend(getBalance128), reply),
      );
      expect(asWord64(d.slice(0, 8))).toBe(asWord128(d.slice(8)));
    });
    it('legacy API traps when a result is too big', async () => {
      const cid = await create();
      const large = 2n ** 65n;
      await pic.addCycles(cid, large);
      isReject(await outcome(query(pic, cid, replyBalance)), [5]);
      isRoughly(large + def_cycles, await queryBalance128(cid));
    });
  });
  describe('can use balance API', () => {
    const test = replyData(cat(i64tob(getBalance), i64tob(getBalance)));
    it('in query', async () => bothSame(await query(pic, await install(pic), test)));
    it('in update', async () => bothSame(await call(pic, await install(pic), test)));
    it('in init', async () => {
      const cid = await install(pic, setGlobal(cat(i64tob(getBalance), i64tob(getBalance))));
      bothSame(await query(pic, cid, replyData(getGlobal)));
    });
    it('in callback', async () => {
      const cid = await install(pic);
      bothSame(await call(pic, cid, interQuery(cid, { ...defArgs, onReply: test })));
    });
  });
  describe('can use available cycles API', () => {
    const test = replyData(cat(i64tob(getAvailableCycles), i64tob(getAvailableCycles)));
    it('in update', async () => bothSame(await call(pic, await install(pic), test)));
    it('in callback', async () => {
      const cid = await install(pic);
      bothSame(await call(pic, cid, interQuery(cid, { ...defArgs, onReply: test })));
    });
  });
  it('can accept zero cycles', async () => {
    expect(asWord64(await call(pic, await install(pic), replyData(i64tob(acceptCycles(int64(0))))))).toBe(0n);
  });
  it('can accept more than available cycles', async () => {
    expect(asWord64(await call(pic, await install(pic), replyData(i64tob(acceptCycles(int64(1))))))).toBe(0n);
  });
  it('can accept absurd amount of cycles', async () => {
    const max = 2n ** 64n - 1n;
    const r = await call(pic, await install(pic), replyData(acceptCycles128(int64(max), int64(max))));
    expect(asWord128(r)).toBe(0n);
  });
  describe('provisional_create_canister_with_cycles', () => {
    it('balance as expected', async () => isRoughly(def_cycles, await queryBalance(await create())));
    it('default (i.e. max) balance', async () => {
      const cid = await install(pic);
      expect(await queryBalance128(cid)).toBeGreaterThan(0n);
    });
    it('> 2^128 succeeds', async () => {
      // PicJS's createCanister takes the amount as a Candid nat; 10 * 2^128 is accepted and capped.
      const cid = await install(pic, noop, { cycles: 10n * 2n ** 128n });
      expect(await queryBalance128(cid)).toBeGreaterThan(0n);
    });
  });
  it('cycles in canister_status', async () => {
    const cid = await create();
    isRoughly(def_cycles, (await pic.canisterStatus({ canisterId: cid })).cycles);
  });
  describe('cycle balance', () => {
    it('install', async () => {
      const cid = await create(rememberBalance);
      isRoughly(def_cycles, asWord64(await query(pic, cid, recallBalance)));
    });
    it('update', async () => isRoughly(def_cycles, asWord64(await call(pic, await create(), replyBalance))));
    it('query', async () => isRoughly(def_cycles, await queryBalance(await create())));
    it('in pre_upgrade', async () => {
      const cid = await create(onPreUpgrade(callback(rememberBalance)));
      await upgrade(pic, cid, noop);
      isRoughly(def_cycles, asWord64(await query(pic, cid, recallBalance)));
    });
    it('in post_upgrade', async () => {
      const cid = await create();
      await upgrade(pic, cid, rememberBalance);
      isRoughly(def_cycles, asWord64(await query(pic, cid, recallBalance)));
      isRoughly(def_cycles, await queryBalance(cid));
    });
  });
  it('can send cycles', async () => {
    const cid1 = await create();
    const cid2 = await create();
    const r = await call(
      pic,
      cid1,
      interCall(cid2, 'update', {
        ...defArgs,
        otherSide: seq(replyDataAppend(i64tob(getAvailableCycles)), acceptAll, reply),
        cycles: def_cycles / 4n,
      }),
    );
    isRoughly(def_cycles / 4n, asWord64(isReply(isRelay(r))));
    isRoughly(def_cycles - def_cycles / 4n, await queryBalance(cid1));
    isRoughly(def_cycles + def_cycles / 4n, await queryBalance(cid2));
  });
  it('sending more cycles than in balance traps', async () => {
    const cid = await create();
    const cycles = await queryBalance(cid);
    isReject(
      await outcome(call(pic, cid, interCall(cid, 'update', { ...defArgs, cycles: cycles + 1_000_000n }))),
      [5],
    );
  });
  it('relay cycles before accept traps', async () => {
    const [cid1, cid2, cid3] = [await create(), await create(), await create()];
    const r = await call(
      pic,
      cid1,
      interCall(cid2, 'update', {
        ...defArgs,
        cycles: def_cycles / 2n,
        otherSide: seq(
          interCall(cid3, 'update', {
            ...defArgs,
            otherSide: seq(acceptAll, reply),
            cycles: def_cycles + def_cycles / 4n,
            onReply: noop,
          }),
          acceptAll,
          reply,
        ),
        onReply: trap('unexpected reply'),
        onReject: replyData(i64tob(getRefund)),
      }),
    );
    isRoughly(def_cycles / 2n, asWord64(r));
    isRoughly(def_cycles, await queryBalance(cid1));
    isRoughly(def_cycles, await queryBalance(cid2));
    isRoughly(def_cycles, await queryBalance(cid3));
  });
  it('relay cycles after accept works', async () => {
    const [cid1, cid2, cid3] = [await create(), await create(), await create()];
    const r = await call(
      pic,
      cid1,
      interCall(cid2, 'update', {
        ...defArgs,
        cycles: def_cycles / 2n,
        otherSide: seq(
          acceptAll,
          interCall(cid3, 'update', {
            ...defArgs,
            otherSide: seq(acceptAll, reply),
            cycles: def_cycles + def_cycles / 4n,
          }),
        ),
        onReply: replyData(i64tob(getRefund)),
        onReject: trap('unexpected reject'),
      }),
    );
    isRoughly(0n, asWord64(r));
    isRoughly(def_cycles / 2n, await queryBalance(cid1));
    isRoughly(def_cycles / 4n, await queryBalance(cid2));
    isRoughly(2n * def_cycles + def_cycles / 4n, await queryBalance(cid3));
  });
  it('aborting call resets balance', async () => {
    const cid = await create();
    const r = await call(
      pic,
      cid,
      seq(
        callNew('Foo', 'Bar', 'baz', 'quux'),
        callCyclesAdd(int64(def_cycles / 2n)),
        replyDataAppend(i64tob(getBalance)),
        callNew('Foo', 'Bar', 'baz', 'quux'),
        replyDataAppend(i64tob(getBalance)),
        reply,
      ),
    );
    isRoughly(def_cycles / 2n, asWord64(r.slice(0, 8)));
    isRoughly(def_cycles, asWord64(r.slice(8)));
  });
  it('partial refund', async () => {
    const cid1 = await create();
    const cid2 = await create();
    const r = await call(
      pic,
      cid1,
      interCall(cid2, 'update', {
        ...defArgs,
        cycles: def_cycles / 2n,
        otherSide: seq(ignore(acceptCycles(int64(def_cycles / 4n))), reply),
        onReply: replyData(i64tob(getRefund)),
        onReject: trap('unexpected reject'),
      }),
    );
    isRoughly(def_cycles / 4n, asWord64(r));
    isRoughly(def_cycles - def_cycles / 4n, await queryBalance(cid1));
    isRoughly(def_cycles + def_cycles / 4n, await queryBalance(cid2));
  });
  it('cycles not in balance while in transit', async () => {
    const cid1 = await create();
    const r = await call(
      pic,
      cid1,
      interCall(cid1, 'update', {
        ...defArgs,
        cycles: def_cycles / 4n,
        otherSide: replyBalance,
        onReject: trap('unexpected reject'),
      }),
    );
    isRoughly(def_cycles - def_cycles / 4n, asWord64(isReply(isRelay(r))));
    isRoughly(def_cycles, await queryBalance(cid1));
  });
  it('two-step-refund', async () => {
    const cid1 = await create();
    const r = await call(
      pic,
      cid1,
      interCall(cid1, 'update', {
        ...defArgs,
        cycles: 10n,
        otherSide: interCall(cid1, 'update', {
          ...defArgs,
          cycles: 5n,
          otherSide: reply,
          onReply: seq(replyDataAppend(i64tob(getRefund)), reply),
          onReject: trap('unexpected reject'),
        }),
        onReply: seq(replyDataAppend(argData), replyDataAppend(i64tob(getRefund)), reply),
        onReject: trap('unexpected reject'),
      }),
    );
    expect([asWord64(r.slice(0, 8)), asWord64(r.slice(8))]).toEqual([5n, 10n]);
    isRoughly(def_cycles, await queryBalance(cid1));
  });
  /** `create_via cid cycles`: `cid` creates a canister with the cycles and installs the universal canister. */
  const createVia = async (cid: Principal, cycles: bigint): Promise<Principal> => {
    const arg = IDL.encode([IDL.Record({ settings: IDL.Opt(IDL.Null) })], [{ settings: [] }]);
    const created = IDL.decode(
      [IDL.Record({ canister_id: IDL.Principal })],
      await ic00via(cid, 'create_canister', new Uint8Array(arg), cycles),
    )[0] as unknown as {
      canister_id: Principal;
    };
    await ic00via(cid, 'install_code', installCodeArg('install', created.canister_id, await ucWasm()));
    return created.canister_id;
  };
  it('create and delete canister with cycles', async () => {
    const cid1 = await create();
    const cid2 = await createVia(cid1, def_cycles / 2n);
    isRoughly(def_cycles / 2n, await queryBalance(cid1));
    isRoughly(def_cycles / 2n, await queryBalance(cid2));
    await ic00via(cid1, 'stop_canister', encodeCid(cid2));
    // Cycles attached to the deletion call are refunded.
    await ic00via(cid1, 'delete_canister', encodeCid(cid2), def_cycles / 4n);
    isRoughly(def_cycles / 2n, await queryBalance(cid1));
  });
  describe('deposit_cycles', () => {
    it('as controller', async () => {
      const cid1 = await create();
      const cid2 = await createVia(cid1, def_cycles / 2n);
      await ic00via(cid1, 'deposit_cycles', encodeCid(cid2), def_cycles / 4n);
      isRoughly(def_cycles / 4n, await queryBalance(cid1));
      isRoughly(def_cycles - def_cycles / 4n, await queryBalance(cid2));
    });
    it('as other non-controlling canister', async () => {
      const cid1 = await create();
      const cid2 = await createVia(cid1, def_cycles / 2n);
      await ic00via(cid2, 'deposit_cycles', encodeCid(cid1), def_cycles / 4n);
      isRoughly(def_cycles - def_cycles / 4n, await queryBalance(cid1));
      isRoughly(def_cycles / 4n, await queryBalance(cid2));
    });
    it('to non-existing canister', async () => {
      const cid1 = await create();
      const doesntExist = Principal.fromUint8Array(
        Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 1, 1]),
      );
      const r = isRelay(
        await call(
          pic,
          cid1,
          updateCall(MANAGEMENT, 'deposit_cycles', {
            ...defUpdateArgs,
            arg: encodeCid(doesntExist),
            cycles: def_cycles / 4n,
          }),
        ),
      );
      isReject(r, [3, 4, 5]);
      isRoughly(def_cycles, await queryBalance(cid1));
    });
  });
  describe('provisional top up', () => {
    const topUpArg = (cid: Principal, amount: bigint) =>
      new Uint8Array(
        IDL.encode(
          [IDL.Record({ canister_id: IDL.Principal, amount: IDL.Nat })],
          [{ canister_id: cid, amount }],
        ),
      );
    it('as self', async () => {
      const cid = await create();
      await ic00via(cid, 'provisional_top_up_canister', topUpArg(cid, def_cycles));
      isRoughly(2n * def_cycles, await queryBalance(cid));
    });
    it('as other canister', async () => {
      const cid = await create();
      const cid2 = await create();
      await ic00via(cid2, 'provisional_top_up_canister', topUpArg(cid, def_cycles));
      isRoughly(2n * def_cycles, await queryBalance(cid));
    });
    it('nonexisting canister', async () => {
      const anchor = await create();
      const unused = Principal.fromUint8Array(
        Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 1, 1]),
      );
      // isErrOrReject [3, 5]: routed by an existing canister's subnet, the top-up names a missing canister.
      const o = await outcome(
        pic.updateCall({
          canisterId: MANAGEMENT,
          method: 'provisional_top_up_canister',
          arg: topUpArg(unused, def_cycles),
          targetSubnetId: (await pic.getCanisterSubnetId(anchor)) ?? undefined,
        }),
      );
      isReject(o, [3, 5]);
    });
    it('as user', async () => {
      const cid = await create();
      await pic.addCycles(cid, def_cycles);
      isRoughly(2n * def_cycles, await queryBalance(cid));
    });
    it('more than 2^128', async () => {
      const cid = await create();
      // Through the management canister: PicJS's addCycles carries a u128.
      await pic.updateCall({
        canisterId: MANAGEMENT,
        method: 'provisional_top_up_canister',
        arg: IDL.encode(
          [IDL.Record({ canister_id: IDL.Principal, amount: IDL.Nat })],
          [{ canister_id: cid, amount: 10n * 2n ** 128n }],
        ),
        targetSubnetId: (await pic.getCanisterSubnetId(cid)) ?? undefined,
      });
      expect(await queryBalance128(cid)).toBeGreaterThan(def_cycles);
    });
  });
});

describe('canister_inspect_message', () => {
  /** `call''`: an ingress update; `callToQuery''`: an ingress update to the query method. */
  const callU = (cid: Principal, p: Prog, sender?: Principal) => outcome(call(pic, cid, p, sender));
  const callQ = (cid: Principal, p: Prog, sender?: Principal) =>
    outcome(pic.updateCall({ canisterId: cid, method: 'query', arg: run(p), sender }));
  it('empty canister', async () => {
    const cid = await pic.createCanister();
    // The reference expects 3 (deprecated IC0304); the replica reports IC0537, CANISTER_ERROR.
    isReject(await callU(cid, reply), [3, 5]);
    isReject(await callQ(cid, reply), [3, 5]);
  });
  it('accept all', async () => {
    const cid = await install(pic, onInspectMessage(callback(acceptMessage)));
    await call(pic, cid, reply);
    expect(isReply(await callQ(cid, reply))).toEqual(new Uint8Array());
  });
  it('no accept_message', async () => {
    const cid = await install(pic, onInspectMessage(callback(noop)));
    isReject(await callU(cid, reply), [4]);
    isReject(await callQ(cid, reply), [4]);
    const cid2 = await install(pic);
    const r = isReply(isRelay(await call(pic, cid2, interUpdate(cid, defArgs))));
    expect(r).toEqual(
      new Uint8Array([
        ...utf8('Hello '),
        ...cid2.toUint8Array(),
        ...utf8(' this is '),
        ...cid.toUint8Array(),
      ]),
    );
  });
  it('two calls to accept_message', async () => {
    const cid = await install(pic, onInspectMessage(callback(seq(acceptMessage, acceptMessage))));
    isReject(await callU(cid, reply), [5]);
    isReject(await callQ(cid, reply), [5]);
  });
  it('trap', async () => {
    const cid = await install(pic, onInspectMessage(callback(trap('no no no'))));
    isReject(await callU(cid, reply), [5]);
    isReject(await callQ(cid, reply), [5]);
  });
  it('method_name correct', async () => {
    const cid = await install(
      pic,
      onInspectMessage(callback(seq(trapIfEq(methodName, 'update', 'no no no'), acceptMessage))),
    );
    isReject(await callU(cid, reply), [5]);
    expect(isReply(await callQ(cid, reply))).toEqual(new Uint8Array());
  });
  it('caller correct', async () => {
    const cid = await install(
      pic,
      onInspectMessage(
        callback(seq(trapIfEq(caller, defaultUser.toUint8Array(), 'no no no'), acceptMessage)),
      ),
    );
    isReject(await callU(cid, reply, defaultUser), [5]);
    isReject(await callQ(cid, reply, defaultUser), [5]);
    expect(isReply(await callU(cid, reply, otherUser))).toEqual(new Uint8Array());
    expect(isReply(await callQ(cid, reply, otherUser))).toEqual(new Uint8Array());
  });
  it('arg correct', async () => {
    const cid = await install(
      pic,
      onInspectMessage(callback(seq(trapIfEq(argData, callback(reply), 'no no no'), acceptMessage))),
    );
    isReject(await callU(cid, reply), [5]);
    isReject(await callQ(cid, reply), [5]);
    expect(await call(pic, cid, replyData('foo'))).toEqual(utf8('foo'));
    expect(isReply(await callQ(cid, replyData('foo')))).toEqual(utf8('foo'));
  });
  const ingressToManagement = async (method: string, arg: Uint8Array, cid: Principal) =>
    outcome(
      pic.updateCall({
        canisterId: MANAGEMENT,
        method,
        arg,
        sender: defaultUser,
        targetSubnetId: (await pic.getCanisterSubnetId(cid)) ?? undefined,
      }),
    );
  it('management canister: raw_rand not accepted', async () => {
    const cid = await install(pic);
    isReject(await ingressToManagement('raw_rand', IDL.encode([], []), cid), [4]);
  });
  // The ingress filter refuses these methods by name, before decoding the
  // argument (dfinity/ic rs/execution_environment/src/execution_environment.rs,
  // `should_accept_ingress_message`: "ic00 method … can not be called via
  // ingress messages"); the arguments are still well-formed.
  const KeyId = IDL.Record({ curve: IDL.Variant({ secp256k1: IDL.Null }), name: IDL.Text });
  const keyId = { curve: { secp256k1: null }, name: 'dfx_test_key' };
  it('management canister: http_request not accepted', async () => {
    const cid = await install(pic);
    const arg = IDL.encode(
      [
        IDL.Record({
          url: IDL.Text,
          max_response_bytes: IDL.Opt(IDL.Nat64),
          method: IDL.Variant({ get: IDL.Null, head: IDL.Null, post: IDL.Null }),
          headers: IDL.Vec(IDL.Record({ name: IDL.Text, value: IDL.Text })),
          body: IDL.Opt(IDL.Vec(IDL.Nat8)),
        }),
      ],
      [{ url: 'https://example.com/', max_response_bytes: [], method: { get: null }, headers: [], body: [] }],
    );
    isReject(await ingressToManagement('http_request', arg, cid), [4]);
  });
  it('management canister: ecdsa_public_key not accepted', async () => {
    const cid = await install(pic);
    const arg = IDL.encode(
      [
        IDL.Record({
          canister_id: IDL.Opt(IDL.Principal),
          derivation_path: IDL.Vec(IDL.Vec(IDL.Nat8)),
          key_id: KeyId,
        }),
      ],
      [{ canister_id: [], derivation_path: [], key_id: keyId }],
    );
    isReject(await ingressToManagement('ecdsa_public_key', arg, cid), [4]);
  });
  it('management canister: sign_with_ecdsa not accepted', async () => {
    const cid = await install(pic);
    const messageHash = new Uint8Array(await crypto.subtle.digest('SHA-256', utf8('dummy')));
    const arg = IDL.encode(
      [
        IDL.Record({
          message_hash: IDL.Vec(IDL.Nat8),
          derivation_path: IDL.Vec(IDL.Vec(IDL.Nat8)),
          key_id: KeyId,
        }),
      ],
      [{ message_hash: messageHash, derivation_path: [], key_id: keyId }],
    );
    isReject(await ingressToManagement('sign_with_ecdsa', arg, cid), [4]);
  });
  it('management canister: deposit_cycles not accepted', async () => {
    const cid = await install(pic);
    isReject(await ingressToManagement('deposit_cycles', encodeCid(cid), cid), [4]);
  });
  it('management canister: wrong sender not accepted', async () => {
    const cid = await install(pic);
    isReject(await ingressToManagement('canister_status', encodeCid(cid), cid), [5]);
  });
});

describe('management', () => {
  it('management requests', async () => {
    const wasm = await ucWasm();
    const canisterId = await pic.createCanister({ sender: defaultUser });
    // Install
    await pic.installCode({ canisterId, wasm, sender: defaultUser });
    // Install again fails
    isReject(await outcome(pic.installCode({ canisterId, wasm, sender: defaultUser })), [3, 5]);
    // Reinstall; as wrong user
    await pic.reinstallCode({ canisterId, wasm, sender: defaultUser });
    isReject(await outcome(pic.reinstallCode({ canisterId, wasm, sender: otherUser })), [3, 5]);
    // Upgrade; as wrong user
    await pic.upgradeCanister({ canisterId, wasm, sender: defaultUser });
    isReject(await outcome(pic.upgradeCanister({ canisterId, wasm, sender: otherUser })), [3, 5]);
    // Change controller; with wrong controller
    await pic.updateCanisterSettings({ canisterId, controllers: [otherUser], sender: defaultUser });
    isReject(
      await outcome(
        pic.updateCanisterSettings({ canisterId, controllers: [otherUser], sender: defaultUser }),
      ),
      [3, 5],
    );
    // Reinstall as new controller
    await pic.reinstallCode({ canisterId, wasm, sender: otherUser });
  });
  it('canister lifecycle (wrong controller)', async () => {
    const canisterId = await install(pic, noop, { sender: defaultUser, controllers: [defaultUser] });
    isReject(await outcome(pic.startCanister({ canisterId, sender: otherUser })), [3, 5]);
    isReject(await outcome(pic.stopCanister({ canisterId, sender: otherUser })), [3, 5]);
    isReject(await outcome(pic.canisterStatus({ canisterId, sender: otherUser })), [3, 5]);
  });
  it('aaaaa-aa (inter-canister)', async () => {
    const cid = await install(pic);
    const cid2 = await install(pic);
    const Created = IDL.Record({ canister_id: IDL.Principal });
    const create = IDL.encode(
      [
        IDL.Record({
          amount: IDL.Opt(IDL.Nat),
          settings: IDL.Opt(IDL.Null),
          specified_id: IDL.Opt(IDL.Principal),
        }),
      ],
      [{ amount: [], settings: [], specified_id: [] }],
    );
    // Create
    const created = await ic00via(cid, 'provisional_create_canister_with_cycles', create);
    const canId = (IDL.decode([Created], created)[0] as unknown as { canister_id: Principal }).canister_id;
    const wasm = await ucWasm();
    const installArg = (mode: 'install' | 'reinstall' | 'upgrade') => installCodeArg(mode, canId, wasm);
    // Install; install again fails; reinstall; as wrong user; upgrade
    await ic00via(cid, 'install_code', installArg('install'));
    isReject(
      isRelay(
        await call(
          pic,
          cid,
          updateCall(MANAGEMENT, 'install_code', { ...defUpdateArgs, arg: installArg('install') }),
        ),
      ),
      [3, 5],
    );
    await ic00via(cid, 'install_code', installArg('reinstall'));
    isReject(
      isRelay(
        await call(
          pic,
          cid2,
          updateCall(MANAGEMENT, 'install_code', { ...defUpdateArgs, arg: installArg('reinstall') }),
        ),
      ),
      [3, 5],
    );
    await ic00via(cid, 'install_code', installArg('upgrade'));
    expect(await call(pic, canId, replyData('Hi'))).toEqual(utf8('Hi'));
  });
  it('randomness', async () => {
    const cid = await install(pic);
    const r1 = IDL.decode(
      [IDL.Vec(IDL.Nat8)],
      await ic00via(cid, 'raw_rand', IDL.encode([], [])),
    )[0] as unknown as Uint8Array;
    const r2 = IDL.decode(
      [IDL.Vec(IDL.Nat8)],
      await ic00via(cid, 'raw_rand', IDL.encode([], [])),
    )[0] as unknown as Uint8Array;
    expect(r1.length).toBe(32);
    expect(r2.length).toBe(32);
    expect(r1).not.toEqual(r2);
  });
  it('create_canister necessary', async () => {
    const doesntExist = Principal.fromUint8Array(
      Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 1, 1]),
    );
    // isErrOrReject [3, 5]: an HTTP error (here PocketIC's routing error) or such a reject.
    await expect(installAt(pic, doesntExist)).rejects.toThrow();
  });
});
