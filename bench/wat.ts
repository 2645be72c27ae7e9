/** WAT canisters the benchmarks measure the simulator with. */

/** `noop` replies empty; `loop` runs until the instruction limit; `spin` runs a compute loop (argument: iterations, u32), `spin_store` the same loop with a heap store per iteration; `chunk` writes its argument to stable memory. */
export const BENCH_CANISTER = `
(module
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_arg_data_size" (func $arg_size (result i32)))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "stable64_size" (func $ssize (result i64)))
  (import "ic0" "stable64_grow" (func $sgrow (param i64) (result i64)))
  (import "ic0" "stable64_write" (func $swrite (param i64 i64 i64)))
  (memory (export "memory") 64)
  (global $cursor (mut i64) (i64.const 0))
  (func (export "canister_update noop") (call $reply))
  (func (export "canister_update loop") (loop $forever (br $forever)))
  (func (export "canister_query noop_query") (call $reply))
  (func $spin (result i32)
    (local $i i32) (local $acc i32) (local $n i32)
    (call $arg_copy (i32.const 0) (i32.const 0) (i32.const 4))
    (local.set $n (i32.load (i32.const 0)))
    (local.set $acc (i32.const 1))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 1664525)) (i32.const 1013904223)))
      (local.set $acc (i32.xor (local.get $acc) (i32.shr_u (local.get $acc) (i32.const 13))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $acc))
  (func (export "canister_update spin")
    (i32.store (i32.const 16) (call $spin))
    (call $append (i32.const 16) (i32.const 4))
    (call $reply))
  (func (export "spin_bare") (result i32) (call $spin))
  ;; The same loop storing every value, in a 64 KiB window: one heap write per iteration.
  (func $spin_store (result i32)
    (local $i i32) (local $acc i32) (local $n i32)
    (call $arg_copy (i32.const 0) (i32.const 0) (i32.const 4))
    (local.set $n (i32.load (i32.const 0)))
    (local.set $acc (i32.const 1))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $acc (i32.add (i32.mul (local.get $acc) (i32.const 1664525)) (i32.const 1013904223)))
      (i32.store offset=65536 (i32.and (i32.shl (local.get $i) (i32.const 2)) (i32.const 0xfffc)) (local.get $acc))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (local.get $acc))
  (func (export "canister_update spin_store")
    (i32.store (i32.const 16) (call $spin_store))
    (call $append (i32.const 16) (i32.const 4))
    (call $reply))
  (func (export "spin_store_bare") (result i32) (call $spin_store))
  ;; Appends the argument (copied to the heap at 64 KiB) to stable memory, growing it as needed.
  (func (export "canister_update chunk")
    (local $n i64)
    (local.set $n (i64.extend_i32_u (call $arg_size)))
    (call $arg_copy (i32.const 65536) (i32.const 0) (call $arg_size))
    (if (i64.gt_u (i64.add (global.get $cursor) (local.get $n)) (i64.mul (call $ssize) (i64.const 65536)))
      (then (drop (call $sgrow (i64.add (i64.div_u (local.get $n) (i64.const 65536)) (i64.const 1))))))
    (call $swrite (global.get $cursor) (i64.const 65536) (local.get $n))
    (global.set $cursor (i64.add (global.get $cursor) (local.get $n)))
    (call $reply))
)`;

/**
 * A heap of a chosen size: `fill` grows the heap to its argument's number of
 * 64 KiB pages (u32) and writes a 1 into every byte, in one message; `noop`
 * replies empty; `touch` also writes one byte, the heap's last.
 */
export const HEAP_CANISTER = `
(module
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "canister_update fill")
    (local $pages i32)
    (call $arg_copy (i32.const 0) (i32.const 0) (i32.const 4))
    (local.set $pages (i32.load (i32.const 0)))
    (drop (memory.grow (i32.sub (local.get $pages) (memory.size))))
    (memory.fill (i32.const 0) (i32.const 1) (i32.mul (local.get $pages) (i32.const 65536)))
    (call $reply))
  (func (export "canister_update noop") (call $reply))
  (func (export "canister_update touch")
    (i32.store8 (i32.sub (i32.mul (memory.size) (i32.const 65536)) (i32.const 1)) (i32.const 2))
    (call $reply))
)`;
