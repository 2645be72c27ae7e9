import { describe, expect, it } from 'vitest';
import { watToWasm } from '../../fixtures/wat.ts';
import { Harness, rejectOf, replyOf, u32 } from '../testing/harness.ts';
import { replicaOf } from '../instance.ts';

const COUNTER = `
(module
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "trap" (func $trap (param i32 i32)))
  (import "ic0" "stable64_grow" (func $sgrow (param i64) (result i64)))
  (import "ic0" "stable64_write" (func $swrite (param i64 i64 i64)))
  (import "ic0" "stable64_read" (func $sread (param i64 i64 i64)))
  (memory 1)
  (global $counter (mut i32) (i32.const 0))
  (data (i32.const 200) "boom")
  (func $bump
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (i32.store (i32.const 0) (global.get $counter))
    (drop (call $sgrow (i64.const 1)))
    (call $swrite (i64.const 8) (i64.const 0) (i64.const 4)))
  (func $reply_counter
    (i32.store (i32.const 0) (global.get $counter))
    (call $append (i32.const 0) (i32.const 4))
    (call $reply))
  (func (export "canister_update inc") (call $bump) (call $reply_counter))
  (func (export "canister_query read") (call $reply_counter))
  (func (export "canister_query inc_in_query") (call $bump) (call $reply_counter))
  (func (export "canister_update read_stable")
    (call $sread (i64.const 16) (i64.const 8) (i64.const 4))
    (call $append (i32.const 16) (i32.const 4)) (call $reply))
  (func (export "canister_update inc_then_trap") (call $bump) (call $trap (i32.const 200) (i32.const 4)))
  (func (export "canister_update inc_then_unreachable") (call $bump) unreachable)
  (func (export "canister_update inc_then_grow_and_trap") (call $bump) (drop (memory.grow (i32.const 3))) unreachable)
  (func $recurse (call $recurse))
  (func (export "canister_update recurse") (call $recurse))
)`;

describe('atomicity: a trap leaves no trace (spec: "Rollback on trap")', async () => {
  const wasm = await watToWasm(COUNTER);

  it('commits an update and answers queries from the committed state', () => {
    const h = new Harness();
    const id = h.deploy(wasm);
    expect(u32(replyOf(h.update(id, 'inc')))).toBe(1);
    expect(u32(replyOf(h.update(id, 'inc')))).toBe(2);
    expect(u32(replyOf(h.query(id, 'read')))).toBe(2);
  });

  it('an explicit ic0.trap rolls back globals, heap and stable memory, with IC0503', () => {
    const h = new Harness();
    const id = h.deploy(wasm);
    replyOf(h.update(id, 'inc'));
    const heapBefore = replicaOf(h.ic).findCanister(id)!.runtime!.heap().slice();
    const stableBefore = h.ic.getStableMemory(id);
    const r = rejectOf(h.update(id, 'inc_then_trap'));
    expect(r.errorCode).toBe('CanisterCalledTrap');
    expect(r.rejectCode).toBe('CanisterError');
    expect(r.message).toBe(
      `Error from Canister ${id.toText()}: Canister called \`ic0.trap\` with message: 'boom'.\n` +
        'Consider gracefully handling failures from this canister or altering the canister to handle exceptions. ' +
        'See documentation: https://internetcomputer.org/docs/current/references/execution-errors#trapped-explicitly',
    );
    expect(replicaOf(h.ic).findCanister(id)!.runtime!.heap()).toEqual(heapBefore);
    expect(h.ic.getStableMemory(id)).toEqual(stableBefore);
    expect(u32(replyOf(h.query(id, 'read')))).toBe(1);
    expect(u32(replyOf(h.update(id, 'read_stable')))).toBe(1);
  });

  it('unreachable is CanisterTrapped and rolls back', () => {
    const h = new Harness();
    const id = h.deploy(wasm);
    const r = rejectOf(h.update(id, 'inc_then_unreachable'));
    expect(r.errorCode).toBe('CanisterTrapped');
    expect(r.message).toContain('Canister trapped: unreachable');
    expect(u32(replyOf(h.query(id, 'read')))).toBe(0);
  });

  it('memory growth in a trapping message is undone', () => {
    const h = new Harness();
    const id = h.deploy(wasm);
    const runtime = () => replicaOf(h.ic).findCanister(id)!.runtime!;
    const size = runtime().heapSize();
    rejectOf(h.update(id, 'inc_then_grow_and_trap'));
    expect(runtime().heapSize()).toBe(size);
    expect(u32(replyOf(h.update(id, 'inc')))).toBe(1);
  });

  it('infinite recursion traps with stack overflow and the canister keeps serving', () => {
    const h = new Harness();
    const id = h.deploy(wasm);
    const r = rejectOf(h.update(id, 'recurse'));
    expect(r.errorCode).toBe('CanisterTrapped');
    expect(r.message).toContain('Canister trapped: stack overflow');
    expect(u32(replyOf(h.update(id, 'inc')))).toBe(1);
  });

  it('a query never persists, even when it writes', () => {
    const h = new Harness();
    const id = h.deploy(wasm);
    expect(u32(replyOf(h.query(id, 'inc_in_query')))).toBe(1);
    expect(u32(replyOf(h.query(id, 'inc_in_query')))).toBe(1);
    expect(u32(replyOf(h.query(id, 'read')))).toBe(0);
    expect(h.ic.getStableMemory(id).length).toBe(0);
  });

  it('a query method called as an update runs replicated and persists nothing', () => {
    const h = new Harness();
    const id = h.deploy(wasm);
    expect(u32(replyOf(h.update(id, 'inc_in_query')))).toBe(1);
    expect(u32(replyOf(h.query(id, 'read')))).toBe(0);
  });
});
