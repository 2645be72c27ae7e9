/**
 * Reference suite (dfinity/ic `hs/spec_compliance/src/IC/Test/Spec.hs`), the
 * leaves built on its "message hold" (`createMessageHold` in
 * `IC/Test/Spec/Utils.hs`): "canister stopping", "starting a stopping
 * canister", "canister deletion" (group "regular canisters") and the
 * "uninstall" leaves "open call contexts are rejected", "deleted call contexts
 * prevent stopping", "deleted call contexts are not delivered".
 *
 * The hold is the reference's trick: a canister that controls itself is asked
 * to stop itself, a call that cannot complete while its own call context is
 * open; starting it again releases the call (with a reject its callback turns
 * into a reply). The held calls are submitted over the IC HTTP interface of
 * `pic.makeLive()` and followed through `read_state` (the reference's
 * `submitCall`, `awaitKnown`, `awaitStatus`); everything else goes through
 * PicJS. IC interface specification, "IC method stop_canister",
 * "IC method uninstall_code", "IC method delete_canister".
 */
import { PocketIc } from '@dfinity/pic';
import { Cbor, HttpAgent, lookup_path, lookupResultToBuffer, type HashTree } from '@icp-sdk/core/agent';
import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPic } from '../support/pic.ts';
import { defaultSK, defaultUser } from '../support/ref-identities.ts';
import {
  type Prog,
  asWord32,
  bytes,
  call,
  callDataAppend,
  callNew,
  callPerform,
  callback,
  defArgs,
  getStatus,
  i2b,
  interUpdate,
  isReject,
  isRelay,
  outcome,
  query,
  reply,
  replyData,
  run,
  seq,
  setGlobal,
  trap,
  ucWasm,
  install as ucInstall,
} from '../support/uc.ts';

let pic: PocketIc;
let host: string;
let agent: HttpAgent;
const MANAGEMENT = Principal.managementCanister();
const enc = (s: string) => new TextEncoder().encode(s);
const cidArg = (cid: Principal) =>
  new Uint8Array(IDL.encode([IDL.Record({ canister_id: IDL.Principal })], [{ canister_id: cid }]));
/** Candid's encoding of `()`: what stop_canister replies. */
const UNIT = new Uint8Array(IDL.encode([], []));

beforeAll(async () => {
  pic = await createPic();
  host = `http://127.0.0.1:${await pic.makeLive()}`;
  agent = await HttpAgent.create({ host, identity: defaultSK, shouldFetchRootKey: true });
});
afterAll(async () => {
  await pic?.stopLive();
  await pic?.tearDown();
});

/** The reference's `install ecid prog`: a universal canister of `defaultUser`. */
const install = (prog?: Prog) => ucInstall(pic, prog, { controllers: [defaultUser], sender: defaultUser });
const status = async (cid: Principal) =>
  (await pic.canisterStatus({ canisterId: cid, sender: defaultUser })).status;

/** `createMessageHold`: a program any canister runs to make a call that stays open until `release()`. */
async function createMessageHold(): Promise<{ hold: Prog; release: () => Promise<void> }> {
  const holder = await install();
  await pic.updateCanisterSettings({
    canisterId: holder,
    controllers: [defaultUser, holder],
    sender: defaultUser,
  });
  const hold = interUpdate(holder, {
    ...defArgs,
    otherSide: seq(
      callNew(
        bytes(new Uint8Array()),
        'stop_canister',
        callback(trap('createMessageHold: stopping succeeded?')),
        callback(reply),
      ),
      callDataAppend(cidArg(holder)),
      callPerform,
    ),
    onReply: reply,
  });
  const release = () => pic.startCanister({ canisterId: holder, sender: defaultUser });
  return { hold, release };
}

interface Submitted {
  ecid: Principal;
  requestId: Uint8Array;
}
/** `submitCall cid (callRequest cid prog)`: an ingress update, not awaited. */
async function submitCall(cid: Principal, prog: Prog): Promise<Submitted> {
  const { requestId } = await agent.call(cid, {
    methodName: 'update',
    arg: run(prog),
    effectiveCanisterId: cid,
  });
  return { ecid: cid, requestId: new Uint8Array(requestId) };
}
/** `submitCall cid (stopRequest cid)`. */
async function submitStop(cid: Principal): Promise<Submitted> {
  const { requestId } = await agent.call(MANAGEMENT, {
    methodName: 'stop_canister',
    arg: cidArg(cid),
    effectiveCanisterId: cid,
  });
  return { ecid: cid, requestId: new Uint8Array(requestId) };
}

type Status =
  | { status: 'unknown' | 'received' | 'processing' | 'done' }
  | { status: 'replied'; reply: Uint8Array }
  | { status: 'rejected'; code: number };
async function readStatus({ ecid, requestId }: Submitted): Promise<Status> {
  const { certificate } = await agent.readState(ecid, { paths: [[enc('request_status'), requestId]] });
  const tree = Cbor.decode<{ tree: HashTree }>(certificate).tree;
  const field = (name: string) =>
    lookupResultToBuffer(lookup_path(['request_status', requestId, name], tree));
  const s = field('status');
  if (!s) return { status: 'unknown' };
  const text = new TextDecoder().decode(s);
  if (text === 'replied') return { status: 'replied', reply: new Uint8Array(field('reply')!) };
  if (text === 'rejected') return { status: 'rejected', code: Number(field('reject_code')![0]) };
  return { status: text as 'received' | 'processing' | 'done' };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** `awaitKnown`: the status once the IC knows the request. */
// Generous deadlines: the live instance makes rounds on its own, slower on a loaded machine.
const DEADLINE_MS = 30_000;
async function awaitKnown(req: Submitted): Promise<Status> {
  for (const end = Date.now() + DEADLINE_MS; Date.now() < end;) {
    const s = await readStatus(req);
    if (s.status !== 'unknown') return s;
    await sleep(25);
  }
  throw new Error('request never became known');
}
/** `awaitStatus`: the final status. */
async function awaitStatus(req: Submitted): Promise<Status> {
  for (const end = Date.now() + DEADLINE_MS; Date.now() < end;) {
    const s = await readStatus(req);
    if (s.status === 'replied' || s.status === 'rejected' || s.status === 'done') return s;
    await sleep(25);
  }
  throw new Error('request never completed');
}
const isPendingOrProcessing = (s: Status) => expect(['received', 'processing']).toContain(s.status);
const isReplyWith = (s: Status, data: Uint8Array) => expect(s).toEqual({ status: 'replied', reply: data });
const isRejectWith = (s: Status, code: number) => expect(s).toEqual({ status: 'rejected', code });

/** `call' cid reply >>= isReject [5]` / `query' cid reply >>= isQueryReject [5]`. */
async function cannotCall(cid: Principal, code: number) {
  isReject(await outcome(call(pic, cid, reply, defaultUser)), [code]);
  isReject(await outcome(query(pic, cid, reply, defaultUser)), [code]);
}

describe('regular canisters', () => {
  it('canister stopping', async () => {
    const cid = await install();
    // Is running (via management)? (local)?
    expect(await status(cid)).toEqual({ running: null });
    expect(asWord32(await query(pic, cid, replyData(i2b(getStatus))))).toBe(1);
    const { hold, release } = await createMessageHold();
    // Create long-running call
    const grs1 = await submitCall(cid, hold);
    isPendingOrProcessing(await awaitKnown(grs1));
    // Normal call (to sync)
    expect(await call(pic, cid, reply, defaultUser)).toEqual(new Uint8Array());
    // Stop
    const grs2 = await submitStop(cid);
    isPendingOrProcessing(await awaitKnown(grs2));
    expect(await status(cid)).toEqual({ stopping: null });
    // Next stop waits, too
    const grs3 = await submitStop(cid);
    isPendingOrProcessing(await awaitKnown(grs3));
    await cannotCall(cid, 5);
    // Release the held message; the calls complete
    await release();
    isReplyWith(await awaitStatus(grs1), new Uint8Array());
    isReplyWith(await awaitStatus(grs2), UNIT);
    isReplyWith(await awaitStatus(grs3), UNIT);
    expect(await status(cid)).toEqual({ stopped: null });
    await cannotCall(cid, 5);
  });

  it('starting a stopping canister', async () => {
    const cid = await install();
    const { hold } = await createMessageHold();
    const grs1 = await submitCall(cid, hold);
    isPendingOrProcessing(await awaitKnown(grs1));
    expect(await call(pic, cid, reply, defaultUser)).toEqual(new Uint8Array());
    const grs2 = await submitStop(cid);
    isPendingOrProcessing(await awaitKnown(grs2));
    expect(await status(cid)).toEqual({ stopping: null });
    // Restart
    await pic.startCanister({ canisterId: cid, sender: defaultUser });
    expect(await status(cid)).toEqual({ running: null });
  });

  it('canister deletion', async () => {
    const cid = await install();
    const deleteFails = async () =>
      isReject(
        await outcome(
          pic.updateCall({
            canisterId: MANAGEMENT,
            method: 'delete_canister',
            arg: cidArg(cid),
            sender: defaultUser,
          }),
        ),
        [5],
      );
    await deleteFails();
    const { hold, release } = await createMessageHold();
    const grs1 = await submitCall(cid, hold);
    isPendingOrProcessing(await awaitKnown(grs1));
    // Start stopping
    const grs2 = await submitStop(cid);
    isPendingOrProcessing(await awaitKnown(grs2));
    expect(await status(cid)).toEqual({ stopping: null });
    await deleteFails();
    // Let canister stop
    await release();
    isReplyWith(await awaitStatus(grs1), new Uint8Array());
    isReplyWith(await awaitStatus(grs2), UNIT);
    expect(await status(cid)).toEqual({ stopped: null });
    // Deletion succeeds
    await pic.updateCall({
      canisterId: MANAGEMENT,
      method: 'delete_canister',
      arg: cidArg(cid),
      sender: defaultUser,
    });
    // Cannot call (inter-canister)?
    const cid2 = await install();
    isReject(isRelay(await call(pic, cid2, interUpdate(cid, defArgs))), [3]);
    // Cannot call (query)?
    isReject(await outcome(query(pic, cid, reply, defaultUser)), [3]);
    // Cannot query canister_status; deletion fails
    expect((await outcome(pic.canisterStatus({ canisterId: cid, sender: defaultUser }))).kind).toBe('reject');
    isReject(
      await outcome(
        pic.updateCall({
          canisterId: MANAGEMENT,
          method: 'delete_canister',
          arg: cidArg(cid),
          sender: defaultUser,
        }),
      ),
      [3, 5],
    );
  });
});

describe('uninstall', () => {
  const uninstall = (cid: Principal) =>
    pic.updateCall({
      canisterId: MANAGEMENT,
      method: 'uninstall_code',
      arg: cidArg(cid),
      sender: defaultUser,
    });

  it('open call contexts are rejected', async () => {
    const cid = await install();
    const { hold, release } = await createMessageHold();
    const grs1 = await submitCall(cid, hold);
    isPendingOrProcessing(await awaitKnown(grs1));
    await uninstall(cid);
    // Long-running call is rejected
    isRejectWith(await awaitStatus(grs1), 4);
    // Now release: still a reject
    await release();
    isRejectWith(await awaitStatus(grs1), 4);
  });

  it('deleted call contexts prevent stopping', async () => {
    const cid = await install();
    const { hold, release } = await createMessageHold();
    const grs1 = await submitCall(cid, hold);
    isPendingOrProcessing(await awaitKnown(grs1));
    await uninstall(cid);
    isRejectWith(await awaitStatus(grs1), 4);
    // Stop: it waits for the deleted call context's outstanding call
    const grs2 = await submitStop(cid);
    isPendingOrProcessing(await awaitKnown(grs2));
    expect(await status(cid)).toEqual({ stopping: null });
    const grs3 = await submitStop(cid);
    isPendingOrProcessing(await awaitKnown(grs3));
    // Release the held message
    await release();
    isRejectWith(await awaitStatus(grs1), 4);
    isReplyWith(await awaitStatus(grs2), UNIT);
    isReplyWith(await awaitStatus(grs3), UNIT);
    expect(await status(cid)).toEqual({ stopped: null });
  });

  it('deleted call contexts are not delivered', async () => {
    // One long-running call, an uninstall (rejecting it), a fresh install, another
    // long-running call, then the first is released: the callbacks must not be confused.
    const cid = await install();
    const helper = await install();
    const first = await createMessageHold();
    const second = await createMessageHold();
    const grs1 = await submitCall(
      cid,
      interUpdate(helper, { ...defArgs, otherSide: first.hold, onReply: replyData('First') }),
    );
    isPendingOrProcessing(await awaitKnown(grs1));
    await uninstall(cid);
    isRejectWith(await awaitStatus(grs1), 4);
    // Reinstall
    await pic.installCode({
      canisterId: cid,
      wasm: await ucWasm(),
      arg: run(setGlobal('BAR')),
      sender: defaultUser,
    });
    const grs2 = await submitCall(
      cid,
      interUpdate(helper, { ...defArgs, otherSide: second.hold, onReply: replyData('Second') }),
    );
    isRejectWith(await awaitStatus(grs1), 4);
    isPendingOrProcessing(await awaitKnown(grs2));
    // Release first call
    await first.release();
    isRejectWith(await awaitStatus(grs1), 4);
    isPendingOrProcessing(await awaitKnown(grs2));
    // Release second call
    await second.release();
    isRejectWith(await awaitStatus(grs1), 4);
    isReplyWith(await awaitStatus(grs2), enc('Second'));
  });
});
