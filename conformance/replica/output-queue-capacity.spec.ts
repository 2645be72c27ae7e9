/**
 * IC interface specification, "Inter-canister method calls": `ic0.call_perform`
 * returns 0 when the call was enqueued and a non-zero value when it was not
 * (then the call is not made, its cycles return to the caller and no callback
 * runs). The replica's queues between two canisters hold 500 messages
 * (dfinity/ic rs/replicated_state/src/canister_state/queues.rs
 * `DEFAULT_QUEUE_CAPACITY`); each request reserves a response slot until its
 * response is consumed, so a message that issues calls without awaiting them
 * can have at most 500 outstanding to one callee, and `call_perform` reports
 * the rest with SYS_TRANSIENT = 2 (rs/embedders/src/wasmtime_embedder/
 * system_api.rs `push_output_request`: "on queue full; returns
 * `Ok(RejectCode::SysTransient as i32)`").
 */
import type { PocketIc } from '@dfinity/pic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPic } from '../support/pic.ts';
import { Principal, burstArg, burstResult, installUniversal } from '../support/universal.ts';

const CAPACITY = 500;
const SYS_TRANSIENT = 2;

let pic: PocketIc;
beforeAll(async () => {
  pic = await createPic();
});
afterAll(async () => {
  await pic?.tearDown();
});

const burst = async (caller: Principal, callee: Principal, count: number) =>
  burstResult(
    await pic.updateCall({ canisterId: caller, method: 'burst', arg: burstArg(callee, 'append', count) }),
  );
const logLength = async (id: Principal): Promise<number> =>
  (await pic.queryCall({ canisterId: id, method: 'log' })).length;

describe('call_perform and the queue to one callee', () => {
  it('1,000 calls in one message: 500 are performed, the rest refused with SYS_TRANSIENT and never made', async () => {
    const a = await installUniversal(pic);
    const b = await installUniversal(pic);
    expect(await burst(a, b, 1000)).toEqual({
      performed: CAPACITY,
      refused: 1000 - CAPACITY,
      firstRefusal: SYS_TRANSIENT,
    });
    await pic.tick(5);
    expect(await logLength(b)).toBe(CAPACITY);
    // No callback is left behind for the refused calls: the caller can stop.
    await pic.stopCanister({ canisterId: a });
    expect((await pic.canisterStatus({ canisterId: a })).status).toEqual({ stopped: null });
  });

  it('the limit is per callee, and slots come back once the responses are in', async () => {
    const a = await installUniversal(pic);
    const b = await installUniversal(pic);
    const c = await installUniversal(pic);
    expect(await burst(a, b, CAPACITY)).toMatchObject({ performed: CAPACITY, refused: 0 });
    expect(await burst(a, c, 10)).toMatchObject({ performed: 10, refused: 0 });
    await pic.tick(5);
    expect(await burst(a, b, CAPACITY)).toMatchObject({ performed: CAPACITY, refused: 0 });
    await pic.tick(5);
    expect(await logLength(b)).toBe(2 * CAPACITY);
  });
});
