/**
 * Reference suite (dfinity/ic `hs/spec_compliance/src/IC/Test/Spec.hs`),
 * groups "stable memory", "64 bit stable memory", "upgrades" and "heartbeat",
 * ported leaf by leaf (a `testCaseSteps` leaf is one test whose steps are
 * comments) through PicJS and the universal canister.
 */
import type { PocketIc } from '@dfinity/pic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPic } from '../support/pic.ts';
import {
  type Prog,
  argData,
  call,
  callback,
  defArgs,
  getGlobal,
  i2b,
  i64tob,
  ignore,
  install,
  int,
  int64,
  interQuery,
  isReject,
  noop,
  onHeartbeat,
  onPreUpgrade,
  outcome,
  query,
  reply,
  replyData,
  seq,
  setGlobal,
  stable64Grow,
  stable64Read,
  stable64Size,
  stable64Write,
  stableGrow,
  stableRead,
  stableSize,
  stableWrite,
  trap,
  upgrade,
  utf8,
} from '../support/uc.ts';

let pic: PocketIc;
beforeAll(async () => {
  pic = await createPic();
});
afterAll(async () => {
  await pic?.tearDown();
});

const le32 = (...b: number[]) => Uint8Array.from(b);

describe('stable memory', () => {
  it('stable memory', async () => {
    const cid = await install(pic);
    // Stable mem size is zero
    expect(await query(pic, cid, replyData(i2b(stableSize)))).toEqual(le32(0, 0, 0, 0));
    // Writing stable memory (failing)
    isReject(await outcome(call(pic, cid, stableWrite(int(0), 'FOO'))), [5]);
    // Set stable mem (failing, query)
    isReject(await outcome(query(pic, cid, stableWrite(int(0), 'FOO'))), [5]);
    // Growing stable memory
    expect(await call(pic, cid, replyData(i2b(stableGrow(int(1)))))).toEqual(le32(0, 0, 0, 0));
    // Growing stable memory again
    expect(await call(pic, cid, replyData(i2b(stableGrow(int(1)))))).toEqual(le32(1, 0, 0, 0));
    // Growing stable memory in query
    expect(await query(pic, cid, replyData(i2b(stableGrow(int(1)))))).toEqual(le32(2, 0, 0, 0));
    // Stable mem size is two
    expect(await query(pic, cid, replyData(i2b(stableSize)))).toEqual(le32(2, 0, 0, 0));
    // Try growing stable memory beyond 4GiB
    expect(await call(pic, cid, replyData(i2b(stableGrow(int(65535)))))).toEqual(
      le32(0xff, 0xff, 0xff, 0xff),
    );
    // Writing stable memory
    await call(pic, cid, seq(stableWrite(int(0), 'FOO'), reply));
    // Writing stable memory (query)
    await query(pic, cid, seq(stableWrite(int(0), 'BAR'), reply));
    // Reading stable memory
    expect(await call(pic, cid, replyData(stableRead(int(0), int(3))))).toEqual(utf8('FOO'));
  });
});

describe('64 bit stable memory', () => {
  it('64 bit stable memory', async () => {
    const u64 = (n: number) => {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
      return b;
    };
    const cid = await install(pic);
    expect(await query(pic, cid, replyData(i64tob(stable64Size)))).toEqual(u64(0));
    isReject(await outcome(call(pic, cid, stable64Write(int64(0), 'FOO'))), [5]);
    isReject(await outcome(query(pic, cid, stable64Write(int64(0), 'FOO'))), [5]);
    expect(await call(pic, cid, replyData(i64tob(stable64Grow(int64(1)))))).toEqual(u64(0));
    expect(await call(pic, cid, replyData(i64tob(stable64Grow(int64(1)))))).toEqual(u64(1));
    expect(await query(pic, cid, replyData(i64tob(stable64Grow(int64(1)))))).toEqual(u64(2));
    expect(await query(pic, cid, replyData(i2b(stableSize)))).toEqual(le32(2, 0, 0, 0));
    expect(await query(pic, cid, replyData(i64tob(stable64Size)))).toEqual(u64(2));
    await call(pic, cid, seq(stable64Write(int64(0), 'FOO'), reply));
    await query(pic, cid, seq(stable64Write(int64(0), 'BAR'), reply));
    expect(await call(pic, cid, replyData(stable64Read(int64(0), int64(3))))).toEqual(utf8('FOO'));
    expect(await call(pic, cid, replyData(stableRead(int(0), int(3))))).toEqual(utf8('FOO'));
    // Writing in 32 bit mode, reading back in 64 bit mode
    await call(pic, cid, seq(stableWrite(int(0), 'BAR'), reply));
    expect(await call(pic, cid, replyData(stable64Read(int64(0), int64(3))))).toEqual(utf8('BAR'));
    // Growing stable memory beyond 4GiB
    expect(await call(pic, cid, replyData(i64tob(stable64Grow(int64(65535)))))).toEqual(u64(2));
    expect(await query(pic, cid, replyData(i64tob(stable64Size)))).toEqual(u64(65537));
    // Using 32 bit API with large stable memory
    isReject(await outcome(query(pic, cid, ignore(stableSize))), [5]);
    isReject(await outcome(query(pic, cid, ignore(stableGrow(int(1))))), [5]);
    isReject(await outcome(query(pic, cid, stableWrite(int(0), 'BAZ'))), [5]);
    isReject(await outcome(query(pic, cid, ignore(stableRead(int(0), int(3))))), [5]);
    // Using 64 bit API with large stable memory
    expect(await call(pic, cid, replyData(i64tob(stable64Grow(int64(1)))))).toEqual(u64(65537));
    expect(await query(pic, cid, replyData(i64tob(stable64Size)))).toEqual(u64(65538));
    expect(await call(pic, cid, replyData(stable64Read(int64(0), int64(3))))).toEqual(utf8('BAR'));
    await call(pic, cid, seq(stable64Write(int64(0), 'BAZ'), reply));
    expect(await call(pic, cid, replyData(stable64Read(int64(0), int64(3))))).toEqual(utf8('BAZ'));
  });
});

describe('upgrades', () => {
  const installForUpgrade = (onPre: Prog) =>
    install(
      pic,
      seq(
        setGlobal('FOO'),
        ignore(stableGrow(int(1))),
        stableWrite(int(0), 'BAR______'),
        onPreUpgrade(callback(onPre)),
      ),
    );
  const checkNoUpgrade = async (cid: Awaited<ReturnType<typeof install>>) => {
    expect(await query(pic, cid, replyData(getGlobal))).toEqual(utf8('FOO'));
    expect(await query(pic, cid, replyData(stableRead(int(0), int(9))))).toEqual(utf8('BAR______'));
  };
  it('succeeding', async () => {
    const cid = await installForUpgrade(stableWrite(int(3), getGlobal));
    await checkNoUpgrade(cid);
    await upgrade(pic, cid, stableWrite(int(6), stableRead(int(0), int(3))));
    expect(await query(pic, cid, replyData(getGlobal))).toEqual(new Uint8Array());
    expect(await query(pic, cid, replyData(stableRead(int(0), int(9))))).toEqual(utf8('BARFOOBAR'));
  });
  it('trapping in pre-upgrade', async () => {
    const cid = await installForUpgrade(trap('trap in pre-upgrade'));
    await checkNoUpgrade(cid);
    isReject(await outcome(upgrade(pic, cid, noop)), [5]);
    await checkNoUpgrade(cid);
  });
  it('trapping in pre-upgrade (by calling)', async () => {
    const cid = await installForUpgrade(trap('trap in pre-upgrade'));
    await call(
      pic,
      cid,
      seq(reply, onPreUpgrade(callback(interQuery(cid, { ...defArgs, otherSide: noop })))),
    );
    await checkNoUpgrade(cid);
    isReject(await outcome(upgrade(pic, cid, noop)), [5]);
    await checkNoUpgrade(cid);
  });
  it('trapping in pre-upgrade (by accessing arg)', async () => {
    const cid = await installForUpgrade(ignore(argData));
    await checkNoUpgrade(cid);
    isReject(await outcome(upgrade(pic, cid, noop)), [5]);
    await checkNoUpgrade(cid);
  });
  it('trapping in post-upgrade', async () => {
    const cid = await installForUpgrade(stableWrite(int(3), getGlobal));
    await checkNoUpgrade(cid);
    isReject(await outcome(upgrade(pic, cid, trap('trap in post-upgrade'))), [5]);
    await checkNoUpgrade(cid);
  });
  it('trapping in post-upgrade (by calling)', async () => {
    const cid = await installForUpgrade(stableWrite(int(3), getGlobal));
    await checkNoUpgrade(cid);
    isReject(await outcome(upgrade(pic, cid, interQuery(cid, { ...defArgs, otherSide: noop }))), [5]);
    await checkNoUpgrade(cid);
  });
});

describe('heartbeat', () => {
  it('called once for all canisters', async () => {
    const cid = await install(
      pic,
      onHeartbeat(callback(seq(ignore(stableGrow(int(1))), stableWrite(int(0), 'FOO')))),
    );
    const cid2 = await install(
      pic,
      onHeartbeat(callback(seq(ignore(stableGrow(int(1))), stableWrite(int(0), 'BAR')))),
    );
    // Heartbeat cannot respond. Should be trapped.
    const cid3 = await install(pic, onHeartbeat(callback(seq(setGlobal('FIZZ'), replyData('FIZZ')))));
    await call(pic, cid, reply);
    await call(pic, cid, reply);
    expect(await query(pic, cid, replyData(stableRead(int(0), int(3))))).toEqual(utf8('FOO'));
    expect(await query(pic, cid2, replyData(stableRead(int(0), int(3))))).toEqual(utf8('BAR'));
    expect(await query(pic, cid3, replyData(getGlobal))).toEqual(new Uint8Array());
  });
});
