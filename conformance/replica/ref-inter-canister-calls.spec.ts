/**
 * Reference suite (dfinity/ic `hs/spec_compliance/src/IC/Test/Spec.hs`),
 * group "inter-canister calls" with its subgroups "builder interface" ›
 * "traps without call_new" and "two callbacks", ported leaf by leaf through
 * PicJS and the universal canister. IC interface specification, "Inter-canister
 * method calls" and "Callback invocation".
 */
import type { PocketIc } from '@dfinity/pic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPic } from '../support/pic.ts';
import {
  Principal,
  asWord32,
  bytes,
  call,
  callDataAppend,
  callNew,
  callOnCleanup,
  callPerform,
  callCyclesAdd,
  callback,
  defArgs,
  defaultOtherSide,
  getGlobal,
  i2b,
  install,
  int64,
  interCall,
  interQuery,
  interUpdate,
  isRelay,
  isReject,
  isReply,
  noop,
  outcome,
  query,
  reject,
  rejectCode,
  relayReject,
  relayReply,
  reply,
  replyData,
  replyDataAppend,
  run,
  seq,
  setGlobal,
  trap,
  utf8,
} from '../support/uc.ts';

let pic: PocketIc;
beforeAll(async () => {
  pic = await createPic();
});
afterAll(async () => {
  await pic?.tearDown();
});

const hello = (caller: Principal, callee: Principal) =>
  new Uint8Array([
    ...utf8('Hello '),
    ...caller.toUint8Array(),
    ...utf8(' this is '),
    ...callee.toUint8Array(),
  ]);

/** The reference's `barrier`: stopping and starting the canisters waits for all their outstanding calls. */
async function barrier(cids: Principal[]): Promise<void> {
  for (const cid of cids) await pic.stopCanister({ canisterId: cid });
  for (const cid of cids) await pic.startCanister({ canisterId: cid });
}

describe('inter-canister calls', () => {
  describe('builder interface', () => {
    describe('traps without call_new', () => {
      it('call_data_append', async () => {
        const cid = await install(pic);
        isReject(await outcome(call(pic, cid, seq(callDataAppend('Foo'), reply))), [5]);
      });
      it('call_on_cleanup', async () => {
        const cid = await install(pic);
        isReject(await outcome(call(pic, cid, seq(callOnCleanup(callback(noop)), reply))), [5]);
      });
      it('call_cycles_add', async () => {
        const cid = await install(pic);
        isReject(await outcome(call(pic, cid, seq(callCyclesAdd(int64(0)), reply))), [5]);
      });
      it('call_perform', async () => {
        const cid = await install(pic);
        isReject(await outcome(call(pic, cid, seq(callPerform, reply))), [5]);
      });
    });
    it('call_new clears pending call', async () => {
      const cid = await install(pic);
      const r = await call(
        pic,
        cid,
        seq(callNew('foo', 'bar', 'baz', 'quux'), callDataAppend('hey'), interQuery(cid, defArgs)),
      );
      expect(isReply(isRelay(r))).toEqual(hello(cid, cid));
    });
    it('call_data_append really appends', async () => {
      const cid = await install(pic);
      const other = run(defaultOtherSide);
      const r = await call(
        pic,
        cid,
        seq(
          callNew(bytes(cid.toUint8Array()), bytes('query'), callback(relayReply), callback(relayReject)),
          callDataAppend(other.slice(0, 3)),
          callDataAppend(other.slice(3)),
          callPerform,
        ),
      );
      expect(isReply(isRelay(r))).toEqual(hello(cid, cid));
    });
    it('call_on_cleanup traps if called twice', async () => {
      const cid = await install(pic);
      const p = seq(
        callNew(bytes(cid.toUint8Array()), bytes('query'), callback(relayReply), callback(relayReject)),
        callOnCleanup(callback(noop)),
        callOnCleanup(callback(noop)),
        reply,
      );
      isReject(await outcome(call(pic, cid, p)), [5]);
    });
  });

  it('to nonexistant canister', async () => {
    const cid = await install(pic);
    isReject(isRelay(await call(pic, cid, interCall(utf8('foo'), 'bar', defArgs))), [3]);
  });
  it('to nonexistant canister (user id)', async () => {
    const cid = await install(pic);
    const user = Principal.fromUint8Array(Uint8Array.from([...new Array<number>(28).fill(7), 2]));
    isReject(isRelay(await call(pic, cid, interCall(user, 'bar', defArgs))), [3]);
  });
  it('to nonexistant method', async () => {
    const cid = await install(pic);
    // The reference expects 3 (the replica's deprecated IC0302); the replica now reports
    // IC0536 CanisterMethodNotFound, reject code CANISTER_ERROR (see ref-simple-calls.spec.ts).
    isReject(isRelay(await call(pic, cid, interCall(cid, 'bar', defArgs))), [3, 5]);
  });
  it('Call from query method traps (in update call)', async () => {
    const cid = await install(pic);
    // callToQuery'': an ingress update call to the query method.
    isReject(
      await outcome(pic.updateCall({ canisterId: cid, method: 'query', arg: run(interQuery(cid, defArgs)) })),
      [5],
    );
  });
  it('Call from query method traps (in query call)', async () => {
    const cid = await install(pic);
    isReject(await outcome(query(pic, cid, interQuery(cid, defArgs))), [5]);
  });
  it('Call from query method traps (in inter-canister-call)', async () => {
    const cid = await install(pic);
    const r = await call(
      pic,
      cid,
      interCall(cid, 'query', { ...defArgs, otherSide: interQuery(cid, defArgs) }),
    );
    isReject(isRelay(r), [5]);
  });
  it('Self-call (to update)', async () => {
    const cid = await install(pic);
    expect(isReply(isRelay(await call(pic, cid, interUpdate(cid, defArgs))))).toEqual(hello(cid, cid));
  });
  it('Self-call (to query)', async () => {
    const cid = await install(pic);
    expect(isReply(isRelay(await call(pic, cid, interQuery(cid, defArgs))))).toEqual(hello(cid, cid));
  });
  it('update commits', async () => {
    const cid = await install(pic);
    const r = await call(
      pic,
      cid,
      seq(setGlobal('FOO'), interUpdate(cid, { ...defArgs, otherSide: seq(setGlobal('BAR'), reply) })),
    );
    expect(isReply(isRelay(r))).toEqual(new Uint8Array());
    expect(await query(pic, cid, replyData(getGlobal))).toEqual(utf8('BAR'));
  });
  it('query does not commit', async () => {
    const cid = await install(pic);
    const r = await call(
      pic,
      cid,
      seq(setGlobal('FOO'), interQuery(cid, { ...defArgs, otherSide: seq(setGlobal('BAR'), reply) })),
    );
    expect(isReply(isRelay(r))).toEqual(new Uint8Array());
    expect(await query(pic, cid, replyData(getGlobal))).toEqual(utf8('FOO'));
  });
  it('query no response', async () => {
    const cid = await install(pic);
    isReject(isRelay(await call(pic, cid, interQuery(cid, { ...defArgs, otherSide: noop }))), [5]);
  });
  it('query double reply', async () => {
    const cid = await install(pic);
    isReject(
      isRelay(await call(pic, cid, interQuery(cid, { ...defArgs, otherSide: seq(reply, reply) }))),
      [5],
    );
  });
  it('Reject code is 0 in reply', async () => {
    const cid = await install(pic);
    const r = await call(pic, cid, interQuery(cid, { ...defArgs, onReply: replyData(i2b(rejectCode)) }));
    expect(asWord32(r)).toBe(0);
  });
  it('Second reply in callback', async () => {
    const cid = await install(pic);
    const r = await call(
      pic,
      cid,
      seq(
        setGlobal('FOO'),
        replyData('First reply'),
        interQuery(cid, {
          ...defArgs,
          onReply: seq(setGlobal('BAR'), replyData('Second reply')),
          onReject: seq(setGlobal('BAZ'), relayReject),
        }),
      ),
    );
    expect(r).toEqual(utf8('First reply'));
    await barrier([cid]);
    expect(await query(pic, cid, replyData(getGlobal))).toEqual(utf8('FOO'));
  });
  it('partial reply', async () => {
    const cid = await install(pic);
    const r = await call(
      pic,
      cid,
      seq(
        replyDataAppend('FOO'),
        interQuery(cid, { ...defArgs, onReply: seq(replyDataAppend('BAR'), reply) }),
      ),
    );
    expect(r).toEqual(utf8('BAR'));
  });
  it('cleanup not executed when reply callback does not trap', async () => {
    const cid = await install(pic);
    await call(pic, cid, interQuery(cid, { ...defArgs, onReply: reply, onCleanup: setGlobal('BAD') }));
    expect(await query(pic, cid, replyData(getGlobal))).toEqual(new Uint8Array());
  });
  it('cleanup not executed when reject callback does not trap', async () => {
    const cid = await install(pic);
    await call(
      pic,
      cid,
      interQuery(cid, { ...defArgs, otherSide: reject('meh'), onReject: reply, onCleanup: setGlobal('BAD') }),
    );
    expect(await query(pic, cid, replyData(getGlobal))).toEqual(new Uint8Array());
  });
  describe('two callbacks', () => {
    it('reply after trap', async () => {
      const cid = await install(pic);
      const r = await call(
        pic,
        cid,
        seq(
          interQuery(cid, { ...defArgs, onReply: trap('first callback traps') }),
          interQuery(cid, { ...defArgs, onReply: replyData('good') }),
        ),
      );
      expect(r).toEqual(utf8('good'));
    });
    it('trap after reply', async () => {
      const cid = await install(pic);
      const r = await call(
        pic,
        cid,
        seq(
          interQuery(cid, { ...defArgs, onReply: replyData('good') }),
          interQuery(cid, { ...defArgs, onReply: trap('second callback traps') }),
        ),
      );
      expect(r).toEqual(utf8('good'));
    });
    it('both trap', async () => {
      const cid = await install(pic);
      const p = seq(
        interQuery(cid, { ...defArgs, onReply: trap('first callback traps') }),
        interQuery(cid, { ...defArgs, onReply: trap('second callback traps') }),
      );
      isReject(await outcome(call(pic, cid, p)), [5]);
    });
  });
  it('Call to other canister (to update)', async () => {
    const cid = await install(pic);
    const cid2 = await install(pic);
    expect(isReply(isRelay(await call(pic, cid, interUpdate(cid2, defArgs))))).toEqual(hello(cid, cid2));
  });
  it('Call to other canister (to query)', async () => {
    const cid = await install(pic);
    const cid2 = await install(pic);
    expect(isReply(isRelay(await call(pic, cid, interQuery(cid2, defArgs))))).toEqual(hello(cid, cid2));
  });
});
