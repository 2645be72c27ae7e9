import { describe, expect, it } from 'vitest';
import { watToWasm } from '../../fixtures/wat.ts';
import { Harness, replyOf } from '../testing/harness.ts';

/**
 * A composite query that grows its heap and stable memory, then calls itself:
 * the nested call runs on the committed state, and the caller gets its own
 * grown state back for its callback (query_context.rs `handle_request`).
 */
const wat = `(module
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "canister_self_size" (func $self_size (result i32)))
  (import "ic0" "canister_self_copy" (func $self_copy (param i32 i32 i32)))
  (import "ic0" "call_new" (func $call_new (param i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "ic0" "call_perform" (func $call_perform (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "stable64_size" (func $ssize (result i64)))
  (import "ic0" "stable64_grow" (func $sgrow (param i64) (result i64)))
  (import "ic0" "stable64_write" (func $swrite (param i64 i64 i64)))
  (import "ic0" "stable64_read" (func $sread (param i64 i64 i64)))
  (memory 1)
  (global $g (mut i64) (i64.const 7))
  (table 1 funcref)
  (elem (i32.const 0) $on_reply)
  (data (i32.const 100) "peek")
  ;; peek: u64(memory pages) u64(stable pages) u64(global) u8(stable[0])
  (func $report (param $at i32)
    (i64.store (local.get $at) (i64.extend_i32_u (memory.size)))
    (i64.store (i32.add (local.get $at) (i32.const 8)) (call $ssize))
    (i64.store (i32.add (local.get $at) (i32.const 16)) (global.get $g))
    (i32.store8 (i32.add (local.get $at) (i32.const 24)) (i32.const 0))
    (if (i64.ne (call $ssize) (i64.const 0))
      (then (call $sread (i64.extend_i32_u (i32.add (local.get $at) (i32.const 24))) (i64.const 0) (i64.const 1)))))
  (func (export "canister_query peek") (call $report (i32.const 200)) (call $append (i32.const 200) (i32.const 25)) (call $reply))
  (func (export "canister_composite_query grow_then_self") (local $n i32)
    (drop (memory.grow (i32.const 2)))
    (drop (call $sgrow (i64.const 1)))
    (i32.store8 (i32.const 300) (i32.const 42))
    (call $swrite (i64.const 0) (i64.const 300) (i64.const 1))
    (global.set $g (i64.const 8))
    (local.set $n (call $self_size))
    (call $self_copy (i32.const 0) (i32.const 0) (local.get $n))
    (call $call_new (i32.const 0) (local.get $n) (i32.const 100) (i32.const 4) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))
    (drop (call $call_perform)))
  (func $on_reply (param i32)
    (call $arg_copy (i32.const 400) (i32.const 0) (i32.const 25))
    (call $report (i32.const 500))
    (call $append (i32.const 400) (i32.const 25))
    (call $append (i32.const 500) (i32.const 25))
    (call $reply)))`;

describe('composite query call contexts', () => {
  it('a self-call sees the committed heap, globals and stable memory; the caller gets its own back', async () => {
    const h = new Harness();
    const id = h.deploy(await watToWasm(wat, { memory64: false }));
    const r = replyOf(h.query(id, 'grow_then_self'));
    const view = new DataView(r.buffer, r.byteOffset, r.byteLength);
    const read = (at: number): [bigint, bigint, bigint, number] => [
      view.getBigUint64(at, true),
      view.getBigUint64(at + 8, true),
      view.getBigUint64(at + 16, true),
      r[at + 24]!,
    ];
    expect(read(0)).toEqual([1n, 0n, 7n, 0]); // the nested call: committed state
    expect(read(25)).toEqual([3n, 1n, 8n, 42]); // the caller's callback: its own changes
    expect(Array.from(replyOf(h.query(id, 'peek')).subarray(0, 25))).toEqual(Array.from(r.subarray(0, 25)));
  });
});
