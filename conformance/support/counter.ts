/**
 * A hand-written counter canister (WAT) for the server specs: it needs no
 * toolchain, so the same specs run on icsim and on PocketIC.
 *
 * - `inc : () -> (nat64)` update: counter + 1, replies the new value
 * - `get : () -> (nat64) query`
 * - `load : () -> (nat64)` update: counter := first 8 bytes of stable memory
 * - `boom : () -> ()` update: traps with message "boom"
 * - `canister_init`: counter := 0; prints "init" with debug_print
 * - `canister_pre_upgrade` / `canister_post_upgrade`: keep the counter in stable memory
 *
 * `padding` adds a data segment of that many bytes, to make the module large
 * enough for PicJS's chunked install (wasm + arg > 1 850 000 bytes).
 */
import { IDL } from '@icp-sdk/core/candid';
import type { ActorMethod } from '@dfinity/pic';
import { watToWasm } from '../../fixtures/wat.ts';

export interface CounterService {
  inc: ActorMethod<[], bigint>;
  get: ActorMethod<[], bigint>;
  load: ActorMethod<[], bigint>;
  boom: ActorMethod<[], undefined>;
}

export const counterIdl: IDL.InterfaceFactory = ({ IDL: I }) =>
  I.Service({
    inc: I.Func([], [I.Nat64], []),
    get: I.Func([], [I.Nat64], ['query']),
    load: I.Func([], [I.Nat64], []),
    boom: I.Func([], [], []),
  });

export function counterWat(padding = 0): string {
  // Memory layout: 0..8 counter; 16..31 reply "DIDL\00\01\78" + nat64; 64.. "boom"; 80.. "init";
  // padding (if any) from 1 MiB on.
  const pages = 17 + Math.ceil(padding / 65536);
  const pad = padding > 0 ? `(data (i32.const 1048576) "${'p'.repeat(padding)}")` : '';
  return `(module
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "trap" (func $trap (param i32 i32)))
  (import "ic0" "debug_print" (func $print (param i32 i32)))
  (import "ic0" "stable64_size" (func $ssize (result i64)))
  (import "ic0" "stable64_grow" (func $sgrow (param i64) (result i64)))
  (import "ic0" "stable64_write" (func $swrite (param i64 i64 i64)))
  (import "ic0" "stable64_read" (func $sread (param i64 i64 i64)))
  (memory ${pages})
  (data (i32.const 16) "DIDL\\00\\01\\78")
  (data (i32.const 64) "boom")
  (data (i32.const 80) "init")
  ${pad}
  (func $reply_counter
    (i64.store (i32.const 23) (i64.load (i32.const 0)))
    (call $append (i32.const 16) (i32.const 15))
    (call $reply))
  (func (export "canister_init")
    (i64.store (i32.const 0) (i64.const 0))
    (call $print (i32.const 80) (i32.const 4)))
  (func (export "canister_update inc")
    (i64.store (i32.const 0) (i64.add (i64.load (i32.const 0)) (i64.const 1)))
    (call $reply_counter))
  (func (export "canister_query get") (call $reply_counter))
  (func (export "canister_update load")
    (call $sread (i64.const 0) (i64.const 0) (i64.const 8))
    (call $reply_counter))
  (func (export "canister_update boom") (call $trap (i32.const 64) (i32.const 4)))
  (func (export "canister_pre_upgrade")
    (if (i64.eqz (call $ssize)) (then (drop (call $sgrow (i64.const 1)))))
    (call $swrite (i64.const 0) (i64.const 0) (i64.const 8)))
  (func (export "canister_post_upgrade")
    (call $sread (i64.const 0) (i64.const 0) (i64.const 8))))`;
}

export async function counterWasm(padding = 0): Promise<Uint8Array> {
  return watToWasm(counterWat(padding));
}
