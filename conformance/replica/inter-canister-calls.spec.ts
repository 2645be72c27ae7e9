/**
 * IC interface specification, "Canister interface (System API)" §"Inter-canister
 * method calls" (call_new / call_data_append / call_cycles_add128 /
 * call_on_cleanup / call_perform; callbacks addressed by table index; the reply
 * callback reads the response through msg_arg_data, the reject callback through
 * msg_reject_code / msg_reject_msg), §"Cycles" (msg_cycles_accept128,
 * msg_cycles_refunded128, unaccepted cycles are refunded), "HTTPS interface"
 * §"Reject codes" (3 DESTINATION_INVALID, 4 CANISTER_REJECT, 5 CANISTER_ERROR)
 * and §"Ordering guarantees" (requests between two canisters start in send
 * order). A trapping message's calls are discarded (§"Entry points"); the
 * cleanup callback runs iff the reply/reject callback trapped.
 */
import type { PocketIc } from '@dfinity/pic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPic } from '../support/pic.ts';
import { expectCallFailure } from '../support/reject.ts';
import {
  Principal,
  RelayFlags,
  bytes,
  fanoutArg,
  installUniversal,
  readU64,
  relay,
  relayArg,
  text,
  u64,
} from '../support/universal.ts';

const REJECT = { DestinationInvalid: 3, CanisterReject: 4, CanisterError: 5 } as const;

let pic: PocketIc;
let a: Principal;
let b: Principal;

beforeAll(async () => {
  pic = await createPic();
  a = await installUniversal(pic);
  b = await installUniversal(pic);
});
afterAll(async () => {
  await pic?.tearDown();
});

const log = async (id: Principal): Promise<Uint8Array> => pic.queryCall({ canisterId: id, method: 'log' });
const markers = async (id: Principal): Promise<{ a: number; b: number }> => {
  const r = await pic.queryCall({ canisterId: id, method: 'markers' });
  const view = new DataView(r.buffer, r.byteOffset, r.byteLength);
  return { a: view.getUint32(0, true), b: view.getUint32(4, true) };
};

describe('replies and rejects', () => {
  it('the reply callback reads the callee reply through msg_arg_data', async () => {
    expect(await relay(pic, a, { callee: b, method: 'echo', payload: bytes('ping') })).toEqual({
      kind: 'reply',
      refunded: 0n,
      data: bytes('ping'),
    });
  });

  it('a self-call works like any other call', async () => {
    const result = await relay(pic, a, { callee: a, method: 'echo', payload: bytes('me') });
    expect(result).toMatchObject({ kind: 'reply', data: bytes('me') });
  });

  it('a missing canister: reject code 3 (DESTINATION_INVALID)', async () => {
    const nobody = Principal.fromText('x47dp-5x777-77777-p777q-cai');
    const result = await relay(pic, a, { callee: nobody, method: 'echo' });
    expect(result).toMatchObject({ kind: 'reject', code: REJECT.DestinationInvalid });
  });

  it('a missing method: reject code 5 (CANISTER_ERROR), "has no update method"', async () => {
    const result = await relay(pic, a, { callee: b, method: 'no_such_method' });
    expect(result).toMatchObject({ kind: 'reject', code: REJECT.CanisterError });
    expect(result.kind === 'reject' && result.message).toContain("has no update method 'no_such_method'");
  });

  it('a trapping callee: reject code 5 with the trap message', async () => {
    const result = await relay(pic, a, { callee: b, method: 'inc_trap' });
    expect(result).toMatchObject({ kind: 'reject', code: REJECT.CanisterError });
    expect(result.kind === 'reject' && result.message).toContain(
      "Canister called `ic0.trap` with message: 'boom'",
    );
  });

  it('an explicit msg_reject: reject code 4 (CANISTER_REJECT) with the message verbatim', async () => {
    expect(await relay(pic, a, { callee: b, method: 'reject', payload: bytes('go away') })).toEqual({
      kind: 'reject',
      code: REJECT.CanisterReject,
      refunded: 0n,
      message: 'go away',
    });
  });

  it('a callee that neither replies nor calls: reject code 5; as ingress: CanisterDidNotReply (IC0506)', async () => {
    expect(await relay(pic, a, { callee: b, method: 'noreply' })).toMatchObject({
      kind: 'reject',
      code: REJECT.CanisterError,
    });
    await expectCallFailure(pic.updateCall({ canisterId: b, method: 'noreply' }), {
      rejectCode: 'CanisterError',
      errorCode: 'CanisterDidNotReply',
    });
  });

  it('a stopped callee: reject code 5, and calls reach it again once started', async () => {
    await pic.stopCanister({ canisterId: b });
    const result = await relay(pic, a, { callee: b, method: 'echo', payload: bytes('x') });
    expect(result).toMatchObject({ kind: 'reject', code: REJECT.CanisterError });
    expect(result.kind === 'reject' && result.message).toMatch(/stopped/);
    await pic.startCanister({ canisterId: b });
    expect(await relay(pic, a, { callee: b, method: 'echo', payload: bytes('x') })).toMatchObject({
      kind: 'reply',
    });
  });
});

describe('ordering and atomicity', () => {
  it('requests from A to B start executing in the order they were sent', async () => {
    const c = await installUniversal(pic);
    const reply = await pic.updateCall({ canisterId: a, method: 'fanout', arg: fanoutArg(c, 'append', 12) });
    expect(text(reply)).toBe('done');
    expect(Array.from(await log(c))).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it('a call made by a message that then traps is never sent', async () => {
    const c = await installUniversal(pic);
    await expectCallFailure(
      pic.updateCall({
        canisterId: a,
        method: 'relay',
        arg: relayArg({
          callee: c,
          method: 'append',
          payload: bytes('lost'),
          flags: RelayFlags.trapAfterPerform,
        }),
      }),
      { rejectCode: 'CanisterError', errorCode: 'CanisterCalledTrap', message: 'boom' },
    );
    await pic.tick(3);
    expect((await log(c)).length).toBe(0);
  });

  it('when a callback traps, its changes are discarded, the cleanup callback runs and keeps its changes', async () => {
    const before = await markers(a);
    await expectCallFailure(
      pic.updateCall({
        canisterId: a,
        method: 'relay',
        arg: relayArg({ callee: b, method: 'echo', flags: RelayFlags.callbackTraps | RelayFlags.cleanup }),
      }),
      { rejectCode: 'CanisterError', errorCode: 'CanisterCalledTrap', message: 'callback trap' },
    );
    expect(await markers(a)).toEqual({ a: before.a, b: before.b + 1 });
  });

  it('the cleanup callback does not run when the callback succeeds', async () => {
    const before = await markers(a);
    expect(await relay(pic, a, { callee: b, method: 'echo', flags: RelayFlags.cleanup })).toMatchObject({
      kind: 'reply',
    });
    expect(await markers(a)).toEqual(before);
  });
});

describe('cycles', () => {
  const T = 1_000_000_000_000n;
  /** Execution and message fees on a real subnet stay far below this. */
  const FEES = 10_000_000_000n;

  it('call_cycles_add128 + msg_cycles_accept128 move what the callee accepts; the rest is refunded', async () => {
    const [a0, b0] = [await pic.getCyclesBalance(a), await pic.getCyclesBalance(b)];
    const result = await relay(pic, a, {
      callee: b,
      method: 'accept_cycles',
      payload: u64(400_000_000_000n),
      cycles: T,
    });
    if (result.kind !== 'reply') throw new Error(`rejected: ${result.message}`);
    expect(readU64(result.data, 0)).toBe(400_000_000_000n); // accepted
    expect(readU64(result.data, 1)).toBe(T); // msg_cycles_available128 in the callee
    expect(result.refunded).toBe(600_000_000_000n); // msg_cycles_refunded128 in the caller's callback
    const [a1, b1] = [await pic.getCyclesBalance(a), await pic.getCyclesBalance(b)];
    expect(a0 - a1).toBeGreaterThanOrEqual(400_000_000_000n);
    expect(a0 - a1).toBeLessThan(400_000_000_000n + FEES);
    expect(b1 - b0).toBeLessThanOrEqual(400_000_000_000n);
    expect(b1 - b0).toBeGreaterThan(400_000_000_000n - FEES);
  });

  it('cycles the callee does not accept are refunded in full', async () => {
    const [a0, b0] = [await pic.getCyclesBalance(a), await pic.getCyclesBalance(b)];
    const result = await relay(pic, a, { callee: b, method: 'echo', cycles: T });
    expect(result).toMatchObject({ kind: 'reply', refunded: T });
    const [a1, b1] = [await pic.getCyclesBalance(a), await pic.getCyclesBalance(b)];
    expect(a0 - a1).toBeLessThan(FEES);
    expect(b1).toBeLessThanOrEqual(b0);
  });

  it('cycles sent with a rejected call are refunded in full', async () => {
    const a0 = await pic.getCyclesBalance(a);
    const result = await relay(pic, a, { callee: b, method: 'no_such_method', cycles: T });
    expect(result).toMatchObject({ kind: 'reject', code: REJECT.CanisterError, refunded: T });
    expect(a0 - (await pic.getCyclesBalance(a))).toBeLessThan(FEES);
  });
});
