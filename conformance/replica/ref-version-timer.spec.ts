/**
 * Reference suite (dfinity/ic `hs/spec_compliance/src/IC/Test/Spec/CanisterVersion.hs`
 * and `Spec/Timer.hs`), groups "canister version" and "canister global timer",
 * ported leaf by leaf through PicJS and the universal canister. Times are the
 * instance's (PocketIC time is virtual): "far future" is now + 100,000 s, as
 * the reference computes from its clock. `waitFor` is ticks and a query, up
 * to 50 rounds.
 */
import type { PocketIc } from '@dfinity/pic';
import { IDL } from '@icp-sdk/core/candid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPic } from '../support/pic.ts';
import {
  type Prog,
  Principal,
  apiGlobalTimerSet,
  asWord64,
  call,
  callback,
  canisterVersion,
  defArgs,
  defOneWayArgs,
  defUpdateArgs,
  getGlobal,
  i64tob,
  ignore,
  install,
  installAt,
  int,
  int64,
  interCall,
  isReject,
  noop,
  onewayCall,
  onGlobalTimer,
  onHeartbeat,
  onPreUpgrade,
  outcome,
  query,
  reinstall,
  reply,
  replyData,
  run,
  seq,
  setGlobal,
  stableGrow,
  stableRead,
  stableWrite,
  trap,
  trapIfNeq,
  ucWasm,
  updateCall,
  upgrade,
} from '../support/uc.ts';

let pic: PocketIc;
const MANAGEMENT = Principal.managementCanister();
const otherUser = Principal.fromUint8Array(Uint8Array.from([...new Array<number>(28).fill(9), 2]));
beforeAll(async () => {
  pic = await createPic();
});
afterAll(async () => {
  await pic?.tearDown();
});

const le64 = (n: bigint | number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
};
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The reference's `waitFor`: ticks until `get` returns `want`. */
async function waitFor(get: () => Promise<Uint8Array>, want: Uint8Array): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (sameBytes(await get(), want)) return;
    await pic.tick();
  }
  expect(await get()).toEqual(want);
}

async function ic00(method: string, arg: Uint8Array, canisterId: Principal, sender?: Principal) {
  const targetSubnetId = (await pic.getCanisterSubnetId(canisterId)) ?? undefined;
  return pic.updateCall({ canisterId: MANAGEMENT, method, arg, sender, targetSubnetId });
}
const cidArg = (cid: Principal) =>
  new Uint8Array(IDL.encode([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: cid }]));

describe('canister version', () => {
  const cv = i64tob(canisterVersion);
  const noHeartbeat = onHeartbeat(callback(trap('')));
  const version = async (cid: Principal) => asWord64(await query(pic, cid, replyData(cv)));
  const fresh = () => install(pic, noHeartbeat);

  it('in query', async () => {
    const cid = await fresh();
    for (let i = 0; i < 3; i++) expect(await version(cid)).toBe(1n);
  });
  it('in replicated query', async () => {
    const cid = await fresh();
    for (const n of [1n, 2n, 3n]) {
      const r = await pic.updateCall({ canisterId: cid, method: 'query', arg: run(replyData(cv)) });
      expect(asWord64(new Uint8Array(r))).toBe(n);
    }
  });
  it('in update', async () => {
    const cid = await fresh();
    for (const n of [1n, 2n, 3n]) expect(asWord64(await call(pic, cid, replyData(cv)))).toBe(n);
  });
  it('in install', async () => {
    const cid = await install(pic, seq(noHeartbeat, setGlobal(cv)));
    expect(asWord64(await query(pic, cid, replyData(getGlobal)))).toBe(1n);
    expect(await version(cid)).toBe(1n);
  });
  it('in reinstall', async () => {
    const cid = await fresh();
    expect(await version(cid)).toBe(1n);
    await reinstall(pic, cid, seq(noHeartbeat, setGlobal(cv)));
    expect(asWord64(await query(pic, cid, replyData(getGlobal)))).toBe(2n);
    expect(await version(cid)).toBe(2n);
  });
  it('in pre_upgrade', async () => {
    const cid = await install(
      pic,
      seq(noHeartbeat, ignore(stableGrow(int(1))), onPreUpgrade(callback(stableWrite(int(0), cv)))),
    );
    expect(await version(cid)).toBe(1n);
    await upgrade(pic, cid, noHeartbeat);
    expect(asWord64(await query(pic, cid, replyData(stableRead(int(0), int(8)))))).toBe(1n);
    expect(await version(cid)).toBe(2n);
  });
  it('in post_upgrade', async () => {
    const cid = await fresh();
    expect(await version(cid)).toBe(1n);
    await upgrade(pic, cid, seq(noHeartbeat, setGlobal(cv)));
    expect(asWord64(await query(pic, cid, replyData(getGlobal)))).toBe(2n);
    expect(await version(cid)).toBe(2n);
  });
  it('in heartbeat', async () => {
    const cid = await install(
      pic,
      onHeartbeat(callback(seq(trapIfNeq(cv, i64tob(int64(1)), ''), setGlobal(cv)))),
    );
    await waitFor(() => query(pic, cid, replyData(getGlobal)), le64(1));
    expect(asWord64(await query(pic, cid, replyData(getGlobal)))).toBe(1n);
    expect(await version(cid)).toBe(2n);
  });
  it('in global timer', async () => {
    const cid = await install(
      pic,
      seq(noHeartbeat, onGlobalTimer(callback(setGlobal(cv))), ignore(apiGlobalTimerSet(int64(1)))),
    );
    await waitFor(() => query(pic, cid, replyData(getGlobal)), le64(1));
    expect(await version(cid)).toBe(2n);
  });
  const inCallback = (args: typeof defArgs) => async () => {
    const cid = await fresh();
    const cid2 = await install(pic);
    expect(await version(cid)).toBe(1n);
    expect(asWord64(await call(pic, cid, interCall(cid2, 'update', args)))).toBe(2n);
    expect(await version(cid)).toBe(3n);
  };
  it('in reply callback', inCallback({ ...defArgs, onReply: replyData(cv), onReject: trap('') }));
  it(
    'in reject callback',
    inCallback({ ...defArgs, onReply: trap(''), onReject: replyData(cv), otherSide: trap('') }),
  );
  it('in cleanup', async () => {
    const cid = await fresh();
    const cid2 = await install(pic);
    expect(await version(cid)).toBe(1n);
    const p = interCall(cid2, 'update', {
      ...defArgs,
      onReply: trap(''),
      onReject: trap(''),
      onCleanup: setGlobal(cv),
    });
    isReject(await outcome(call(pic, cid, p)), [5]);
    expect(asWord64(await query(pic, cid, replyData(getGlobal)))).toBe(2n);
    expect(await version(cid)).toBe(3n);
  });
  it('after uninstall', async () => {
    const cid = await fresh();
    expect(await version(cid)).toBe(1n);
    await ic00('uninstall_code', cidArg(cid), cid);
    await installAt(pic, cid, noHeartbeat);
    expect(await version(cid)).toBe(3n);
  });
  it('after setting controllers', async () => {
    const cid = await fresh();
    expect(await version(cid)).toBe(1n);
    await pic.updateCanisterSettings({ canisterId: cid, controllers: [otherUser] });
    expect(await version(cid)).toBe(2n);
  });
  it('after setting freezing threshold', async () => {
    const cid = await fresh();
    expect(await version(cid)).toBe(1n);
    await pic.updateCanisterSettings({ canisterId: cid, freezingThreshold: 2n ** 20n });
    expect(await version(cid)).toBe(2n);
  });
  const unchangedAfter =
    (act: (cid: Principal) => Promise<void>, prog: Prog = noHeartbeat) =>
    async () => {
      const cid = await install(pic, prog);
      expect(await version(cid)).toBe(1n);
      await act(cid);
      expect(await version(cid)).toBe(1n);
    };
  it(
    'after failed query',
    unchangedAfter(async (cid) => void isReject(await outcome(query(pic, cid, trap(''))), [5])),
  );
  it(
    'after failed update',
    unchangedAfter(async (cid) => void isReject(await outcome(call(pic, cid, trap(''))), [5])),
  );
  it(
    'after failed install',
    unchangedAfter(async (cid) => {
      isReject(await outcome(pic.installCode({ canisterId: cid, wasm: new Uint8Array() })), [5]);
    }),
  );
  it('after failed init in install', async () => {
    const cid = await pic.createCanister();
    isReject(await outcome(installAt(pic, cid, trap(''))), [5]);
    await installAt(pic, cid, noHeartbeat);
    expect(await version(cid)).toBe(1n);
  });
  it(
    'after failed reinstall',
    unchangedAfter(async (cid) => {
      isReject(await outcome(pic.reinstallCode({ canisterId: cid, wasm: new Uint8Array() })), [5]);
    }),
  );
  it(
    'after failed init in reinstall',
    unchangedAfter(async (cid) => void isReject(await outcome(reinstall(pic, cid, trap(''))), [5])),
  );
  it(
    'after failed upgrade',
    unchangedAfter(async (cid) => {
      isReject(await outcome(pic.upgradeCanister({ canisterId: cid, wasm: new Uint8Array() })), [5]);
    }),
  );
  it(
    'after failed pre_upgrade',
    unchangedAfter(
      async (cid) => void isReject(await outcome(upgrade(pic, cid, noHeartbeat)), [5]),
      seq(noHeartbeat, onPreUpgrade(callback(trap('')))),
    ),
  );
  it(
    'after failed post_upgrade',
    unchangedAfter(async (cid) => void isReject(await outcome(upgrade(pic, cid, trap(''))), [5])),
  );
  it('after failed heartbeat', async () => {
    const cid = await install(pic, onHeartbeat(callback(trap(''))));
    expect(await version(cid)).toBe(1n);
    await call(pic, cid, reply);
    await call(pic, cid, reply);
    expect(await version(cid)).toBe(3n);
  });
  it('after failed global timer', async () => {
    const cid = await install(
      pic,
      seq(noHeartbeat, onGlobalTimer(callback(trap(''))), ignore(apiGlobalTimerSet(int64(1)))),
    );
    expect(await version(cid)).toBe(1n);
    await call(pic, cid, reply);
    await call(pic, cid, reply);
    expect(await version(cid)).toBe(3n);
  });
  const failedCallback = (args: typeof defArgs) => async () => {
    const cid = await fresh();
    const cid2 = await install(pic);
    expect(await version(cid)).toBe(1n);
    isReject(await outcome(call(pic, cid, interCall(cid2, 'update', args))), [5]);
    expect(await version(cid)).toBe(2n);
  };
  it(
    'after failed reply callback',
    failedCallback({ ...defArgs, onReply: trap(''), onReject: replyData('') }),
  );
  it(
    'after failed reject callback',
    failedCallback({ ...defArgs, onReply: replyData(''), onReject: trap(''), otherSide: trap('') }),
  );
  it(
    'after failed cleanup',
    failedCallback({ ...defArgs, onReply: trap(''), onReject: replyData(''), onCleanup: trap('') }),
  );
  it(
    'after failed uninstall',
    unchangedAfter(async (cid) => {
      isReject(await outcome(ic00('uninstall_code', cidArg(cid), cid, otherUser)), [5]);
    }),
  );
  it(
    'after failed change of settings',
    unchangedAfter(async (cid) => {
      isReject(
        await outcome(pic.updateCanisterSettings({ canisterId: cid, freezingThreshold: 2n ** 70n })),
        [5],
      );
    }),
  );
});

describe('canister global timer', () => {
  const onTimerProg = (n: number) =>
    onGlobalTimer(callback(seq(ignore(stableGrow(int(1))), stableWrite(int(0), i64tob(int64(n))))));
  const setTimerProg = (t: bigint) =>
    seq(ignore(stableGrow(int(1))), stableWrite(int(0), i64tob(apiGlobalTimerSet(int64(t)))));
  const installWithTimer = (n: number) => install(pic, onTimerProg(n));
  const resetStable = (cid: Principal) =>
    call(pic, cid, seq(ignore(stableGrow(int(1))), stableWrite(int(0), i64tob(int64(42))), replyData('')));
  const getStable = (cid: Principal) => call(pic, cid, replyData(stableRead(int(0), int(8))));
  const setTimer = (cid: Principal, t: bigint) =>
    call(pic, cid, replyData(i64tob(apiGlobalTimerSet(int64(t)))));
  const now = async () => BigInt(Math.floor(await pic.getTime())) * 1_000_000n;
  const farFuture = async () => (await now()) + 100_000n * 1_000_000_000n;
  const farFarFuture = async () => (await now()) + 1_000_000n * 1_000_000_000n;
  const waitForTimer = (cid: Principal, n: number) => waitFor(() => getStable(cid), le64(n));

  it('in update', async () => {
    const cid = await installWithTimer(2);
    await resetStable(cid);
    const t = await farFuture();
    expect(await setTimer(cid, t)).toEqual(le64(0));
    expect(await setTimer(cid, t)).toEqual(le64(t));
    expect(await getStable(cid)).toEqual(le64(42));
  });
  it('in init', async () => {
    const t = await farFuture();
    const cid = await install(pic, seq(onTimerProg(2), setTimerProg(t)));
    expect(await getStable(cid)).toEqual(le64(0));
    expect(await setTimer(cid, t)).toEqual(le64(t));
  });
  it('in pre-upgrade', async () => {
    const t = await farFuture();
    const cid = await install(pic, seq(onTimerProg(2), onPreUpgrade(callback(setTimerProg(1n)))));
    await resetStable(cid);
    await upgrade(pic, cid, noop);
    expect(await getStable(cid)).toEqual(le64(0));
    expect(await setTimer(cid, t)).toEqual(le64(0));
  });
  it('in post-upgrade', async () => {
    const cid = await installWithTimer(2);
    await resetStable(cid);
    const t = await farFuture();
    expect(await setTimer(cid, t)).toEqual(le64(0));
    const tt = await farFarFuture();
    await upgrade(pic, cid, setTimerProg(tt));
    expect(await getStable(cid)).toEqual(le64(0));
    expect(await setTimer(cid, t)).toEqual(le64(tt));
  });
  it('in post-upgrade on stopped canister', async () => {
    const cid = await installWithTimer(2);
    await resetStable(cid);
    expect(await setTimer(cid, await farFuture())).toEqual(le64(0));
    await pic.stopCanister({ canisterId: cid });
    await upgrade(pic, cid, seq(onTimerProg(2), setTimerProg(1n)));
    await pic.startCanister({ canisterId: cid });
    await waitForTimer(cid, 2);
    expect(await setTimer(cid, await farFuture())).toEqual(le64(0));
  });
  it('in post-upgrade on stopping canister', async () => {
    // The reference's store canister: a universal canister holding the universal
    // canister's module as a chunk, and a controller of `cid`.
    const wasm = await ucWasm();
    const store = await install(pic);
    // It controls itself, so that it may install from its own chunk store.
    await pic.updateCanisterSettings({ canisterId: store, controllers: [Principal.anonymous(), store] });
    const hashes = IDL.decode(
      [IDL.Record({ hash: IDL.Vec(IDL.Nat8) })],
      await pic.updateCall({
        canisterId: MANAGEMENT,
        method: 'upload_chunk',
        arg: new Uint8Array(
          IDL.encode(
            [IDL.Record({ canister_id: IDL.Principal, chunk: IDL.Vec(IDL.Nat8) })],
            [{ canister_id: store, chunk: wasm }],
          ),
        ),
        targetSubnetId: (await pic.getCanisterSubnetId(store)) ?? undefined,
      }),
    ) as unknown as [{ hash: Uint8Array }];
    const ucanChunkHash = new Uint8Array(hashes[0].hash);
    const cid = await installWithTimer(2);
    await resetStable(cid);
    expect(await setTimer(cid, await farFuture())).toEqual(le64(0));
    await pic.updateCanisterSettings({ canisterId: cid, controllers: [Principal.anonymous(), store] });
    const Mode = IDL.Variant({ install: IDL.Null, reinstall: IDL.Null, upgrade: IDL.Opt(IDL.Record({})) });
    const upgradeArg = IDL.encode(
      [
        IDL.Record({
          mode: Mode,
          target_canister: IDL.Principal,
          store_canister: IDL.Opt(IDL.Principal),
          chunk_hashes_list: IDL.Vec(IDL.Record({ hash: IDL.Vec(IDL.Nat8) })),
          wasm_module_hash: IDL.Vec(IDL.Nat8),
          arg: IDL.Vec(IDL.Nat8),
        }),
      ],
      [
        {
          mode: { upgrade: [] },
          target_canister: cid,
          store_canister: [store],
          chunk_hashes_list: [{ hash: ucanChunkHash }],
          wasm_module_hash: ucanChunkHash,
          arg: run(seq(onTimerProg(2), setTimerProg(1n))),
        },
      ],
    );
    const stopAndUpgrade = seq(
      onewayCall(MANAGEMENT, 'stop_canister', {
        ...defOneWayArgs,
        arg: new Uint8Array(IDL.encode([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: cid }])),
      }),
      updateCall(MANAGEMENT, 'install_chunked_code', { ...defUpdateArgs, arg: new Uint8Array(upgradeArg) }),
    );
    const relay = onewayCall(store, 'update', { ...defOneWayArgs, arg: run(stopAndUpgrade) });
    // An error: to keep the canister stopping, `cid` cannot reply after the one-way call.
    isReject(await outcome(call(pic, cid, relay)), [5]);
    // `cid` stopped once its call context closed; the upgrade ran while it was stopping.
    expect(await pic.canisterStatus({ canisterId: cid })).toMatchObject({ status: { stopped: null } });
    await pic.startCanister({ canisterId: cid });
    await waitForTimer(cid, 2);
    expect(await setTimer(cid, await farFuture())).toEqual(le64(0));
  });
  it('in timer callback', async () => {
    const t = await farFuture();
    const cid = await install(pic, onGlobalTimer(callback(setTimerProg(t))));
    await resetStable(cid);
    expect(await setTimer(cid, 1n)).toEqual(le64(0));
    await waitForTimer(cid, 0);
    expect(await setTimer(cid, t)).toEqual(le64(t));
  });
  it('deactivate timer', async () => {
    const cid = await installWithTimer(2);
    await resetStable(cid);
    const t = await farFuture();
    expect(await setTimer(cid, t)).toEqual(le64(0));
    expect(await setTimer(cid, 0n)).toEqual(le64(t));
    expect(await setTimer(cid, t)).toEqual(le64(0));
    expect(await getStable(cid)).toEqual(le64(42));
  });
  it('set timer far in the past', async () => {
    const cid = await installWithTimer(2);
    await resetStable(cid);
    expect(await setTimer(cid, 1n)).toEqual(le64(0));
    await waitForTimer(cid, 2);
    expect(await setTimer(cid, await farFuture())).toEqual(le64(0));
  });
  it('set timer at current time', async () => {
    const cid = await installWithTimer(2);
    await resetStable(cid);
    expect(await setTimer(cid, await now())).toEqual(le64(0));
    await waitForTimer(cid, 2);
    expect(await setTimer(cid, await farFuture())).toEqual(le64(0));
  });
  it('stop and start canister', async () => {
    const cid = await installWithTimer(2);
    await resetStable(cid);
    const t = await farFuture();
    expect(await setTimer(cid, t)).toEqual(le64(0));
    expect(await setTimer(cid, t)).toEqual(le64(t));
    await pic.stopCanister({ canisterId: cid });
    await pic.startCanister({ canisterId: cid });
    expect(await setTimer(cid, t)).toEqual(le64(t));
    expect(await getStable(cid)).toEqual(le64(42));
  });
  const resetBy = (act: (cid: Principal) => Promise<void>) => async () => {
    const cid = await installWithTimer(2);
    await resetStable(cid);
    const t = await farFuture();
    expect(await setTimer(cid, t)).toEqual(le64(0));
    expect(await setTimer(cid, t)).toEqual(le64(t));
    await act(cid);
    expect(await setTimer(cid, t)).toEqual(le64(0));
  };
  it(
    'uninstall and install canister',
    resetBy(async (cid) => {
      await ic00('uninstall_code', cidArg(cid), cid);
      await installAt(pic, cid, onTimerProg(2));
    }),
  );
  it(
    'upgrade canister',
    resetBy((cid) => upgrade(pic, cid, onTimerProg(2))),
  );
  it(
    'reinstall canister',
    resetBy((cid) => reinstall(pic, cid, onTimerProg(2))),
  );
});
