/**
 * IC interface specification, "Canister interface (System API)" §"Entry
 * points": "If the execution of any of these entry points traps for any
 * reason, then all changes to the WebAssembly state, as well as the effect of
 * any externally visible system call (like ic0.msg_reply, ic0.msg_reject,
 * ic0.call_perform), are discarded." Certified data set by a trapping message
 * is discarded too (§"Certified data", read back through the data certificate
 * of a non-replicated query). Also §"Query methods": state changes of a
 * query are discarded, whether it runs non-replicated or replicated (as an
 * update call). Error codes: IC0502 CanisterTrapped (Wasm traps), IC0503
 * CanisterCalledTrap (ic0.trap).
 */
import type { PocketIc } from '@dfinity/pic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPic } from '../support/pic.ts';
import { expectCallFailure } from '../support/reject.ts';
import { Principal, bytes, installUniversal, readState, readU64, text, u64 } from '../support/universal.ts';

let pic: PocketIc;
let canisterId: Principal;

beforeAll(async () => {
  pic = await createPic();
  canisterId = await installUniversal(pic);
  await pic.updateCall({ canisterId, method: 'inc' });
});
afterAll(async () => {
  await pic?.tearDown();
});

/** `global_timer_set(0)`: returns the timer as it was (and leaves it deactivated). */
async function timer(): Promise<bigint> {
  return readU64(await pic.updateCall({ canisterId, method: 'timer_set', arg: u64(0) }));
}

describe('a trapping update leaves no trace', () => {
  it('control: the same changes without a trap are kept (heap, global, stable memory, timer)', async () => {
    const before = await readState(pic, canisterId);
    await pic.updateCall({ canisterId, method: 'bump_all' });
    const after = await readState(pic, canisterId);
    expect(after).toEqual({
      counter: before.counter + 1n,
      global: before.global + 1n,
      stablePages: before.stablePages,
      stableCounter: before.stableCounter + 1n,
    });
    expect(await timer()).toBe(1n << 62n);
  });

  const traps: { method: string; how: string; errorCode: string; message: string }[] = [
    {
      method: 'inc_unreachable',
      how: 'unreachable',
      errorCode: 'CanisterTrapped',
      message: 'Canister trapped: unreachable',
    },
    {
      method: 'inc_trap',
      how: 'ic0.trap',
      errorCode: 'CanisterCalledTrap',
      message: "Canister called `ic0.trap` with message: 'boom'",
    },
    {
      method: 'inc_oob_heap',
      how: 'a heap access out of bounds',
      errorCode: 'CanisterTrapped',
      message: 'heap out of bounds',
    },
    {
      method: 'inc_oob_stable',
      how: 'a stable memory read out of bounds',
      errorCode: 'CanisterTrapped',
      message: 'stable memory out of bounds',
    },
    {
      method: 'inc_recurse',
      how: 'infinite recursion',
      errorCode: 'CanisterTrapped',
      message: 'stack overflow',
    },
    {
      method: 'inc_reply_trap',
      how: 'ic0.trap after msg_reply',
      errorCode: 'CanisterCalledTrap',
      message: 'boom',
    },
  ];
  for (const t of traps) {
    it(`${t.how}: ${t.errorCode}, and heap, global, stable memory and timer are as before`, async () => {
      const before = await readState(pic, canisterId);
      await expectCallFailure(pic.updateCall({ canisterId, method: t.method }), {
        rejectCode: 'CanisterError',
        errorCode: t.errorCode,
        message: [`Error from Canister ${canisterId.toText()}`, t.message],
      });
      expect(await readState(pic, canisterId)).toEqual(before);
      expect(await timer()).toBe(0n);
      // ...and the canister keeps serving.
      expect(readU64(await pic.updateCall({ canisterId, method: 'inc' }))).toBe(before.counter + 1n);
    });
  }
});

describe('certified data', () => {
  const contains = (hay: Uint8Array, needle: Uint8Array): boolean =>
    Buffer.from(hay).indexOf(Buffer.from(needle)) >= 0;

  it('a trapping update does not change what the data certificate covers', async () => {
    const data = bytes('certified-by-spec-0123456789abcd'); // 31 bytes (at most 32)
    await pic.updateCall({ canisterId, method: 'certify', arg: data });
    const cert = await pic.queryCall({ canisterId, method: 'certificate' });
    expect(text(cert)).not.toBe('none'); // a non-replicated query has a certificate
    expect(contains(cert, data)).toBe(true);
    await expectCallFailure(pic.updateCall({ canisterId, method: 'inc_trap' }), {
      rejectCode: 'CanisterError',
      errorCode: 'CanisterCalledTrap',
    });
    const after = await pic.queryCall({ canisterId, method: 'certificate' });
    expect(contains(after, data)).toBe(true);
    expect(contains(after, bytes('changed'))).toBe(false); // what inc_trap set before trapping
  });
});

describe('queries never persist', () => {
  it('non-replicated: the query sees its own change, the next one does not', async () => {
    const before = await readState(pic, canisterId);
    expect(readU64(await pic.queryCall({ canisterId, method: 'inc_query' }))).toBe(before.counter + 1n);
    expect(readU64(await pic.queryCall({ canisterId, method: 'inc_query' }))).toBe(before.counter + 1n);
    expect(await readState(pic, canisterId)).toEqual(before);
  });

  it('replicated (a query method called as an update): the reply comes back, the state does not change', async () => {
    const before = await readState(pic, canisterId);
    expect(readU64(await pic.updateCall({ canisterId, method: 'inc_query' }))).toBe(before.counter + 1n);
    expect(readU64(await pic.updateCall({ canisterId, method: 'inc_query' }))).toBe(before.counter + 1n);
    expect(await readState(pic, canisterId)).toEqual(before);
  });
});
