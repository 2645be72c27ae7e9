/**
 * Reference suite (dfinity/ic `hs/spec_compliance/src/IC/Test/Spec.hs`,
 * "Interface Spec acceptance tests" › "regular canisters"), ported group by
 * group with the leaves' own titles: "simple calls", "state", "self", "time",
 * "is_controller system API". Each test drives the universal canister
 * (`conformance/support/uc.ts`) through PicJS; `defaultUser` is a fixed
 * sender principal, as the reference's test user.
 */
import type { PocketIc } from '@dfinity/pic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPic } from '../support/pic.ts';
import {
  Principal,
  asWord32,
  call,
  callback,
  cat,
  caller,
  getGlobal,
  getTime,
  i2b,
  i64tob,
  ignore,
  install,
  isController,
  isReject,
  noop,
  onPreUpgrade,
  outcome,
  query,
  reject,
  reply,
  replyData,
  replyDataAppend,
  self,
  seq,
  setGlobal,
  stableGrow,
  stableRead,
  stableWrite,
  int,
  upgrade,
  utf8,
} from '../support/uc.ts';

let pic: PocketIc;
/** The reference's `defaultUser`: a self-authenticating principal. */
const defaultUser = Principal.fromUint8Array(Uint8Array.from([...new Array<number>(28).fill(7), 2]));

beforeAll(async () => {
  pic = await createPic();
});
afterAll(async () => {
  await pic?.tearDown();
});

const as2Word64 = (d: Uint8Array): [bigint, bigint] => {
  expect(d.length).toBe(16);
  const v = new DataView(d.buffer, d.byteOffset, 16);
  return [v.getBigUint64(0, true), v.getBigUint64(8, true)];
};
const bothSame = ([a, b]: [bigint, bigint]) => expect(a).toBe(b);

// "no non-existant … method": the reference expects reject code 3, the code of the replica's
// deprecated IC0302; the replica now reports IC0536 CanisterMethodNotFound, whose reject code is
// CANISTER_ERROR (dfinity/ic rs/types/error_types), so both are accepted and the error code checked.
describe('simple calls', () => {
  it('Call', async () => {
    const cid = await install(pic);
    expect(await call(pic, cid, replyData('ABCD'))).toEqual(utf8('ABCD'));
  });
  it('Call (query)', async () => {
    const cid = await install(pic);
    expect(await query(pic, cid, replyData('ABCD'))).toEqual(utf8('ABCD'));
  });
  it('Call no non-existant update method', async () => {
    const cid = await install(pic);
    const r = isReject(
      await outcome(pic.updateCall({ canisterId: cid, method: 'no_such_update', arg: new Uint8Array() })),
      [3, 5],
    );
    expect(r.errorCode).toBe('CanisterMethodNotFound');
  });
  it('Call no non-existant query method', async () => {
    const cid = await install(pic);
    const r = isReject(
      await outcome(pic.queryCall({ canisterId: cid, method: 'no_such_update', arg: new Uint8Array() })),
      [3, 5],
    );
    expect(r.errorCode).toBe('CanisterMethodNotFound');
  });
  it('reject', async () => {
    const cid = await install(pic);
    isReject(await outcome(call(pic, cid, reject('ABCD'))), [4]);
  });
  it('reject (query)', async () => {
    const cid = await install(pic);
    isReject(await outcome(query(pic, cid, reject('ABCD'))), [4]);
  });
  it('No response', async () => {
    const cid = await install(pic);
    isReject(await outcome(call(pic, cid, noop)), [5]);
  });
  it('No response does not rollback', async () => {
    const cid = await install(pic);
    isReject(await outcome(call(pic, cid, setGlobal('FOO'))), [5]);
    expect(await query(pic, cid, replyData(getGlobal))).toEqual(utf8('FOO'));
  });
  it('No response (query)', async () => {
    const cid = await install(pic);
    isReject(await outcome(query(pic, cid, noop)), [5]);
  });
  it('Double reply', async () => {
    const cid = await install(pic);
    isReject(await outcome(call(pic, cid, seq(reply, reply))), [5]);
  });
  it('Double reply (query)', async () => {
    const cid = await install(pic);
    isReject(await outcome(query(pic, cid, seq(reply, reply))), [5]);
  });
  it('Reply data append after reply', async () => {
    const cid = await install(pic);
    isReject(await outcome(call(pic, cid, seq(reply, replyDataAppend('foo')))), [5]);
  });
  it('Reply data append after reject', async () => {
    const cid = await install(pic);
    isReject(await outcome(call(pic, cid, seq(reject('bar'), replyDataAppend('foo')))), [5]);
  });
  it('Caller', async () => {
    const cid = await install(pic);
    expect(await call(pic, cid, replyData(caller), defaultUser)).toEqual(defaultUser.toUint8Array());
  });
  it('Caller (query)', async () => {
    const cid = await install(pic);
    expect(await query(pic, cid, replyData(caller), defaultUser)).toEqual(defaultUser.toUint8Array());
  });
});

describe('state', () => {
  it('set/get', async () => {
    const cid = await install(pic);
    await call(pic, cid, seq(setGlobal('FOO'), reply));
    expect(await query(pic, cid, replyData(getGlobal))).toEqual(utf8('FOO'));
  });
  it('set/set/get', async () => {
    const cid = await install(pic);
    await call(pic, cid, seq(setGlobal('FOO'), reply));
    await call(pic, cid, seq(setGlobal('BAR'), reply));
    expect(await query(pic, cid, replyData(getGlobal))).toEqual(utf8('BAR'));
  });
});

describe('self', () => {
  it('self', async () => {
    const cid = await install(pic);
    expect(await query(pic, cid, replyData(self))).toEqual(cid.toUint8Array());
  });
});

describe('time', () => {
  const getTimeTwice = cat(i64tob(getTime), i64tob(getTime));
  it('in query', async () => {
    const cid = await install(pic);
    bothSame(as2Word64(await query(pic, cid, replyData(getTimeTwice))));
  });
  it('in update', async () => {
    const cid = await install(pic);
    bothSame(as2Word64(await call(pic, cid, replyData(getTimeTwice))));
  });
  it('in install', async () => {
    const cid = await install(pic, setGlobal(getTimeTwice));
    bothSame(as2Word64(await query(pic, cid, replyData(getGlobal))));
  });
  it('in pre_upgrade', async () => {
    const cid = await install(
      pic,
      seq(ignore(stableGrow(int(1))), onPreUpgrade(callback(stableWrite(int(0), getTimeTwice)))),
    );
    await upgrade(pic, cid, noop);
    bothSame(as2Word64(await query(pic, cid, replyData(stableRead(int(0), int(16))))));
  });
  it('in post_upgrade', async () => {
    const cid = await install(pic);
    await upgrade(pic, cid, setGlobal(getTimeTwice));
    bothSame(as2Word64(await query(pic, cid, replyData(getGlobal))));
  });
});

describe('is_controller system API', () => {
  it('argument is controller', async () => {
    const cid = await install(pic, noop, { sender: defaultUser, controllers: [defaultUser] });
    expect(asWord32(await query(pic, cid, replyData(i2b(isController(defaultUser.toUint8Array())))))).toBe(1);
  });
  it('argument is not controller', async () => {
    const cid = await install(pic);
    expect(asWord32(await query(pic, cid, replyData(i2b(isController('')))))).toBe(0);
  });
  it('argument is a valid principal', async () => {
    const cid = await install(pic);
    expect(asWord32(await query(pic, cid, replyData(i2b(isController(new Uint8Array(29))))))).toBe(0);
  });
  it('argument is not a valid principal', async () => {
    const cid = await install(pic);
    isReject(await outcome(query(pic, cid, replyData(i2b(isController(new Uint8Array(30)))))), [5]);
  });
});
