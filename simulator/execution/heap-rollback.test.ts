import { IDL } from '@icp-sdk/core/candid';
import type { Principal } from '@icp-sdk/core/principal';
import { describe, expect, it } from 'vitest';
import { watToWasm } from '../../fixtures/wat.ts';
import { Harness, rejectOf, replyOf, sameBytes, u32 } from '../testing/harness.ts';
import { Instance, replicaOf } from '../instance.ts';
import { withCustomSection } from '../wasm/test-support.ts';
import { HEAP_PAGE_SIZE } from '../wasm/dirty-pages.ts';

/** Little-endian u32s (or u64s on wasm64) as a message argument. */
const args = (...words: number[]): Uint8Array => new Uint8Array(new Uint32Array(words).buffer);
const args64 = (...words: number[]): Uint8Array =>
  new Uint8Array(new BigUint64Array(words.map(BigInt)).buffer);

const KIB = 1024;
const MIB = 1024 * KIB;

/**
 * Every way a message writes the heap, each followed by a trap when the
 * method name ends in _trap. The argument is read into the first bytes of
 * the heap: `a` (address), `n` (length or pages).
 */
const writer = (addr: 'i32' | 'i64'): string => {
  const w64 = addr === 'i64';
  const toI64 = (x: string): string => (w64 ? x : `(i64.extend_i32_u ${x})`);
  const toI32 = (x: string): string => (w64 ? `(i32.wrap_i64 ${x})` : x);
  const c = (n: number | string): string => `(${addr}.const ${n})`;
  const arg = (i: number): string => `(${addr}.load ${c(i * (w64 ? 8 : 4))})`;
  return `(module
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "msg_reply_data_append" (func $append (param ${addr} ${addr})))
  (import "ic0" "msg_arg_data_size" (func $arg_size (result ${addr})))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param ${addr} ${addr} ${addr})))
  (import "ic0" "trap" (func $trap (param ${addr} ${addr})))
  (import "ic0" "stable64_grow" (func $sgrow (param i64) (result i64)))
  (import "ic0" "stable64_write" (func $swrite (param i64 i64 i64)))
  (import "ic0" "stable64_read" (func $sread (param i64 i64 i64)))
  (memory ${w64 ? 'i64 ' : ''}16)
  (data $seg "segment!")
  (global $count (mut i32) (i32.const 0))
  (func $args (call $arg_copy ${c(0)} ${c(0)} (call $arg_size)))
  (func $done (call $reply))
  (func $fail (call $trap ${c(0)} ${c(0)}))
  ;; poke(a): one byte, incremented; the counter global too.
  (func $poke
    (call $args)
    (i32.store8 ${arg(0)} (i32.add (i32.load8_u ${arg(0)}) (i32.const 1)))
    (global.set $count (i32.add (global.get $count) (i32.const 1))))
  (func (export "canister_update noop") (call $done))
  (func (export "canister_update poke") (call $poke) (call $done))
  (func (export "canister_update poke_trap") (call $poke) (call $fail))
  (func (export "canister_query poke_query") (call $poke) (call $done))
  (func (export "canister_update poke_loop") (call $poke) (loop $l (br $l)))
  ;; read(a): the byte at a and the counter.
  (func (export "canister_query read")
    (call $args)
    (i32.store ${c(64)} (i32.load8_u ${arg(0)}))
    (i32.store ${c(68)} (global.get $count))
    (call $append ${c(64)} ${c(8)}) (call $done))
  ;; grow(n): n more 64 KiB pages.
  (func (export "canister_update grow") (call $args) (drop (memory.grow ${arg(0)})) (call $done))
  ;; An unaligned 8-byte store at a (may cross a page boundary).
  (func (export "canister_update wide_trap") (call $args) (i64.store ${arg(0)} (i64.const -1)) (call $fail))
  (func (export "canister_update fill_trap") (call $args) (memory.fill ${arg(0)} (i32.const 0xab) ${arg(1)}) (call $fail))
  (func (export "canister_update copy_trap") (call $args) (memory.copy ${arg(0)} ${c(0)} ${arg(1)}) (call $fail))
  (func (export "canister_update init_trap") (call $args) (memory.init $seg ${arg(0)} (i32.const 0) (i32.const 8)) (call $fail))
  ;; The System API writes into the heap: the argument again at a, stable memory at a + 64.
  (func (export "canister_update api_trap")
    (call $args)
    (call $arg_copy ${arg(0)} ${c(0)} (call $arg_size))
    (drop (call $sgrow (i64.const 1)))
    (call $swrite (i64.const 0) (i64.const 0) (i64.const 16))
    (call $sread ${toI64(`(${addr}.add ${arg(0)} ${c(64)})`)} (i64.const 0) (i64.const 16))
    (call $fail))
  ;; grow(n), then a store in an old page (a) and one in the first new page; traps when the second word is 1.
  (func (export "canister_update grow_write")
    (local $old ${addr})
    (call $args)
    (local.set $old (memory.grow ${arg(0)}))
    (i32.store8 ${arg(2)} (i32.const 0x5a))
    (i32.store8 (${addr}.mul (local.get $old) ${c(65536)}) (i32.const 0x5b))
    (if (i32.eq ${toI32(arg(1))} (i32.const 1)) (then (call $fail)))
    (call $done))
)`;
};

/** Low instruction limits, so that a looping message ends quickly with IC0522. */
const harness = (): Harness =>
  new Harness(
    Instance.create(
      { subnets: [{ kind: 'Application' }] },
      { instructionLimits: { message: 3_000_000n, query: 2_000_000n } },
    ),
  );
const runtimeOf = (h: Harness, id: Principal) => replicaOf(h.ic).findCanister(id)!.runtime!;
const heapOf = (h: Harness, id: Principal): Uint8Array => runtimeOf(h, id).heap().slice();

describe('heap rollback follows the pages a message writes', async () => {
  const wasm = await watToWasm(writer('i32'));
  const wasm64 = await watToWasm(writer('i64'));

  it('a following message copies nothing after a one-byte write into a large heap', () => {
    const h = harness();
    const id = h.deploy(wasm);
    replyOf(h.update(id, 'grow', args(4096 - 16))); // 256 MiB
    const runtime = () => runtimeOf(h, id);
    expect(runtime().heapSize()).toBe(256 * MIB);
    const far = 200 * MIB + 123;
    let before = runtime().heapBytesCopied;
    replyOf(h.update(id, 'poke', args(far)));
    // The argument's page (0, written by msg_arg_data_copy) and the poked one with the page after it.
    expect(runtime().heapBytesCopied - before).toBe(3 * HEAP_PAGE_SIZE);
    before = runtime().heapBytesCopied;
    replyOf(h.update(id, 'noop'));
    replyOf(h.update(id, 'noop'));
    expect(runtime().heapBytesCopied - before).toBe(0);
    expect(runtime().savedHeapPages).toBe(0);
    expect(new Uint8Array(replyOf(h.query(id, 'read', args(far))))[0]).toBe(1);
  });

  it('a trapping or rejected message, or a query, costs the pages it wrote, however large the heap', () => {
    const h = harness();
    const id = h.deploy(wasm);
    replyOf(h.update(id, 'grow', args(4096 - 16)));
    const runtime = () => runtimeOf(h, id);
    const far = 100 * MIB;
    for (const run of [
      () => rejectOf(h.update(id, 'poke_trap', args(far))),
      () => replyOf(h.query(id, 'poke_query', args(far))),
      () => rejectOf(h.update(id, 'poke_loop', args(far))),
    ]) {
      const before = runtime().heapBytesCopied;
      run();
      // Saved, then written back: 3 pages each way.
      expect(runtime().heapBytesCopied - before).toBe(6 * HEAP_PAGE_SIZE);
    }
    expect(new Uint8Array(replyOf(h.query(id, 'read', args(far))))[0]).toBe(0);
  });

  for (const [name, module, arg] of [
    ['wasm32', wasm, args],
    ['wasm64', wasm64, args64],
  ] as const) {
    describe(`${name}: a message that traps leaves the heap exactly as it was`, () => {
      const h = harness();
      const id = h.deploy(module);
      replyOf(h.update(id, 'poke', arg(5000)));
      const cases: [string, Uint8Array][] = [
        ['poke_trap', arg(70_000)],
        ['wide_trap', arg(HEAP_PAGE_SIZE * 3 - 4)],
        ['fill_trap', arg(1000, 3 * HEAP_PAGE_SIZE + 10)],
        ['copy_trap', arg(9000, 2 * HEAP_PAGE_SIZE)],
        ['init_trap', arg(HEAP_PAGE_SIZE * 5 - 3)],
        ['api_trap', arg(HEAP_PAGE_SIZE * 7 - 10)],
        ['poke_loop', arg(12_345)],
      ];
      for (const [method, a] of cases) {
        it(method, () => {
          const before = heapOf(h, id);
          const r = rejectOf(h.update(id, method, a));
          expect(r.errorCode).toBe(
            method === 'poke_loop' ? 'CanisterInstructionLimitExceeded' : 'CanisterCalledTrap',
          );
          expect(sameBytes(heapOf(h, id), before)).toBe(true);
          expect(runtimeOf(h, id).savedHeapPages).toBe(0);
        });
      }

      it('and committed writes persist, message after message', () => {
        replyOf(h.update(id, 'poke', arg(5000)));
        replyOf(h.update(id, 'poke', arg(70_000)));
        const read = (a: number) => Array.from(new Uint32Array(replyOf(h.query(id, 'read', arg(a))).buffer));
        expect(read(5000)).toEqual([2, 3]);
        expect(read(70_000)).toEqual([1, 3]);
      });

      it('memory.grow in a trapping message is undone: size and bytes, old pages and new', () => {
        const runtime = () => runtimeOf(h, id);
        const size = runtime().heapSize();
        const before = heapOf(h, id);
        rejectOf(h.update(id, 'grow_write', arg(3, 1, 4000)));
        expect(runtime().heapSize()).toBe(size);
        expect(sameBytes(heapOf(h, id), before)).toBe(true);
        // The new instance tracks writes too: a later trap still leaves no trace.
        rejectOf(h.update(id, 'poke_trap', arg(4000)));
        expect(sameBytes(heapOf(h, id), before)).toBe(true);
        replyOf(h.update(id, 'grow_write', arg(2, 0, 4000)));
        expect(runtime().heapSize()).toBe(size + 2 * 65536);
        const heap = runtime().heap();
        expect([heap[4000], heap[size]]).toEqual([0x5a, 0x5b]);
      });
    });
  }
});

describe('heap rollback around upgrades', async () => {
  const hooks = (eop: boolean): string =>
    writer(eop ? 'i64' : 'i32').replace(
      /\)\s*$/,
      `(func (export "canister_pre_upgrade") (i32.store8 ${eop ? '(i64.const 300)' : '(i32.const 300)'} (i32.const 7)))
       (func (export "canister_post_upgrade")
         (call $args)
         (if (i32.eq (i32.load8_u ${eop ? '(i64.const 0)' : '(i32.const 0)'}) (i32.const 9)) (then (unreachable)))
         (i32.store8 ${eop ? '(i64.const 301)' : '(i32.const 301)'} (i32.const 8))))`,
    );
  const plain = await watToWasm(hooks(false));
  const eop = withCustomSection(
    await watToWasm(hooks(true)),
    'icp:private enhanced-orthogonal-persistence',
    '',
  );

  it('a failing post_upgrade leaves the old heap, without the pre_upgrade write', () => {
    const h = harness();
    const id = h.deploy(plain);
    replyOf(h.update(id, 'poke', args(5000)));
    const before = heapOf(h, id);
    const r = rejectOf(h.install(id, plain, args(9), 'upgrade'));
    expect(r.message).toContain('unreachable');
    expect(sameBytes(heapOf(h, id), before)).toBe(true);
    expect(runtimeOf(h, id).savedHeapPages).toBe(0);
  });

  it('an upgrade that keeps the Wasm memory commits the kept heap and the hooks’ writes; a later trap rolls back to them', () => {
    const h = harness();
    const id = h.deploy(eop);
    replyOf(h.update(id, 'poke', args64(5000)));
    const upgrade = h.managementOutcome('install_code', {
      mode: { upgrade: [{ skip_pre_upgrade: [], wasm_memory_persistence: [{ keep: null }] }] },
      canister_id: id,
      wasm_module: eop,
      arg: IDL.encode([], []),
      sender_canister_version: [],
    });
    replyOf(upgrade);
    const after = heapOf(h, id);
    expect([after[5000], after[300], after[301]]).toEqual([1, 7, 8]);
    rejectOf(h.update(id, 'poke_trap', args64(300)));
    rejectOf(h.update(id, 'grow_write', args64(1, 1, 301)));
    expect(sameBytes(heapOf(h, id), after)).toBe(true);
    expect(u32(replyOf(h.query(id, 'read', args64(300))))).toBe(7);
  });
});
