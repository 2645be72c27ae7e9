/**
 * IC interface specification, "Canister interface (System API)" §"Composite
 * query methods": a `canister_composite_query` method may call query methods
 * of other canisters (on the same subnet) and combine their replies in its
 * callbacks; it runs only non-replicated, so calling it as an update (ingress
 * or inter-canister) is refused with IC0527 CompositeQueryCalledInReplicatedMode;
 * and like every query, nothing it or its callees change is kept. Each call of
 * the call graph runs in its own call context on the callee's committed state,
 * whoever the caller is (a canister calling itself included), and its changes
 * live only until it responds, while the caller keeps its own changes through
 * its callbacks (dfinity/ic rs/execution_environment/src/query_handler/
 * query_context.rs `handle_request`, query_call_graph.rs).
 */
import type { PocketIc } from '@dfinity/pic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPic } from '../support/pic.ts';
import { expectCallFailure } from '../support/reject.ts';
import { Principal, cq2Arg, installUniversal, readState, readU64, relay } from '../support/universal.ts';

let pic: PocketIc;
let a: Principal;
let b: Principal;
let c: Principal;

beforeAll(async () => {
  pic = await createPic();
  [a, b, c] = [await installUniversal(pic), await installUniversal(pic), await installUniversal(pic)];
  for (let i = 0; i < 2; i++) await pic.updateCall({ canisterId: b, method: 'inc' });
  for (let i = 0; i < 3; i++) await pic.updateCall({ canisterId: c, method: 'inc' });
});
afterAll(async () => {
  await pic?.tearDown();
});

const bothIncQuery = () => cq2Arg({ callee: b, method: 'inc_query' }, { callee: c, method: 'inc_query' });

describe('a composite query', () => {
  it('calls queries of two other canisters and combines their replies', async () => {
    const reply = await pic.queryCall({ canisterId: a, method: 'cq2', arg: bothIncQuery() });
    expect(reply.length).toBe(24);
    // Each callee replied its counter + 1 (its own query-local change).
    expect([readU64(reply, 0), readU64(reply, 1)]).toEqual([3n, 4n]);
  });

  it('keeps no state change in any canister of the call graph', async () => {
    const before = await Promise.all([a, b, c].map((id) => readState(pic, id)));
    const first = await pic.queryCall({ canisterId: a, method: 'cq2', arg: bothIncQuery() });
    const second = await pic.queryCall({ canisterId: a, method: 'cq2', arg: bothIncQuery() });
    expect(second).toEqual(first);
    expect(await Promise.all([a, b, c].map((id) => readState(pic, id)))).toEqual(before);
    const own = await pic.queryCall({ canisterId: a, method: 'cq_self_counter' });
    expect(readU64(own)).toBe(before[0]!.counter + 1n);
    expect((await readState(pic, a)).counter).toBe(before[0]!.counter);
  });

  it('gets a reject (code 5) when it calls an update method', async () => {
    const reply = await pic.queryCall({
      canisterId: a,
      method: 'cq2',
      arg: cq2Arg({ callee: b, method: 'inc' }, { callee: c, method: 'inc_query' }),
    });
    expect(reply[0]).toBe(0x4a); // "J": the reject callback ran
    expect(new DataView(reply.buffer, reply.byteOffset).getUint32(1, true)).toBe(5);
    expect((await readState(pic, b)).counter).toBe(2n);
  });
});

describe('each call of a composite query runs on the committed state of its callee', () => {
  it('a callee called twice starts from its committed state both times', async () => {
    const b0 = (await readState(pic, b)).counter;
    const reply = await pic.queryCall({
      canisterId: a,
      method: 'cq2',
      arg: cq2Arg({ callee: b, method: 'inc_query' }, { callee: b, method: 'inc_query' }),
    });
    expect([readU64(reply, 0), readU64(reply, 1)]).toEqual([b0 + 1n, b0 + 1n]);
  });

  it('a canister calling itself sees its committed state, not its caller’s changes; the caller keeps its own', async () => {
    const a0 = (await readState(pic, a)).counter;
    const reply = await pic.queryCall({
      canisterId: a,
      method: 'cq2',
      arg: cq2Arg({ callee: a, method: 'inc_query' }, { callee: a, method: 'state' }),
    });
    // cq2 bumped its counter to a0 + 1 before calling; its callees saw a0, and its own bump
    // (and nothing of theirs) was still there when it replied.
    expect([readU64(reply, 0), readU64(reply, 1), readU64(reply, 2)]).toEqual([a0 + 1n, a0, a0 + 1n]);
    expect((await readState(pic, a)).counter).toBe(a0);
  });
});

describe('a composite query method called in replicated mode', () => {
  it('as an update call: CompositeQueryCalledInReplicatedMode', async () => {
    await expectCallFailure(pic.updateCall({ canisterId: a, method: 'cq_self_counter' }), {
      rejectCode: 'CanisterError',
      errorCode: 'CompositeQueryCalledInReplicatedMode',
      message: 'Composite query cannot be called in replicated mode',
    });
    expect((await readState(pic, a)).counter).toBe(0n);
  });

  it('from another canister: reject code 5', async () => {
    const result = await relay(pic, b, { callee: a, method: 'cq_self_counter' });
    expect(result).toMatchObject({ kind: 'reject', code: 5 });
    expect(result.kind === 'reject' && result.message).toContain(
      'Composite query cannot be called in replicated mode',
    );
  });
});
