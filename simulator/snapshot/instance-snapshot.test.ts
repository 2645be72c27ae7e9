/**
 * Whole-instance snapshot and revert (`Instance.snapshot`/`revert`): after a
 * revert the instance is the one the snapshot saw — every canister's memories,
 * globals, settings, cycles and snapshots, the canister list and id
 * allocation, queued messages, ingress history and clocks — and the revert
 * copies only the pages written since.
 */
import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { watToWasm } from '../../fixtures/wat.ts';
import { cyclesWat } from '../../fixtures/wat/cycles.ts';
import { HttpRequestArgs } from '../management/idl.ts';
import { COUNTER_WAT, fingerprint } from '../../fuzz/instance-state.ts';
import { InstanceError } from '../errors.ts';
import { replicaOf } from '../instance.ts';
import { Harness, emptySettings, replyOf } from '../testing/harness.ts';
import { wat } from '../wasm/test-support.ts';

/**
 * `inc` adds 1 to a heap counter and 10 to a mutable global and writes the counter to stable
 * memory; `grow` grows the heap by 1 MiB; `scribble` writes one byte in each of the 4 KiB pages
 * 1 to 1023; all reply the state: counter, global, heap pages, stable word.
 */
const STATE_WAT = `(module
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "stable64_size" (func $ss (result i64)))
  (import "ic0" "stable64_grow" (func $sg (param i64) (result i64)))
  (import "ic0" "stable64_write" (func $sw (param i64 i64 i64)))
  (import "ic0" "stable64_read" (func $sr (param i64 i64 i64)))
  (memory (export "memory") 64)
  (global $g (mut i64) (i64.const 0))
  (func $state
    (i64.store (i32.const 16) (i64.load (i32.const 0)))
    (i64.store (i32.const 24) (global.get $g))
    (i64.store (i32.const 32) (i64.extend_i32_u (memory.size)))
    (i64.store (i32.const 40) (i64.const 0))
    (if (i64.ne (call $ss) (i64.const 0))
      (then (call $sr (i64.const 40) (i64.const 0) (i64.const 8))))
    (call $append (i32.const 16) (i32.const 32))
    (call $reply))
  (func (export "canister_update inc")
    (i64.store (i32.const 0) (i64.add (i64.load (i32.const 0)) (i64.const 1)))
    (global.set $g (i64.add (global.get $g) (i64.const 10)))
    (if (i64.eqz (call $ss)) (then (drop (call $sg (i64.const 1)))))
    (call $sw (i64.const 0) (i64.const 0) (i64.const 8))
    (call $state))
  (func (export "canister_update grow")
    (drop (memory.grow (i32.const 16)))
    (call $state))
  (func (export "canister_update scribble")
    (local $p i32)
    (local.set $p (i32.const 1))
    (loop $next
      (i32.store8 (i32.mul (local.get $p) (i32.const 4096)) (i32.const 7))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $p) (i32.const 1024))))
    (call $state))
  (func (export "canister_query get") (call $state)))`;

/** The state `STATE_WAT` replies: counter, global, heap pages, stable word. */
function state(h: Harness, id: Principal): bigint[] {
  const bytes = replyOf(h.query(id, 'get'));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return [0, 8, 16, 24].map((at) => view.getBigInt64(at, true));
}

describe('instance snapshot and revert', () => {
  it('restores every canister, the canister list, id allocation, cycles, settings and clocks', () => {
    const h = new Harness();
    const a = h.deploy(wat(STATE_WAT));
    const b = h.deploy(wat(COUNTER_WAT));
    h.update(a, 'inc');
    const before = fingerprint(h.ic);
    const stateA = state(h, a);
    const id = h.ic.snapshot();

    h.update(a, 'inc');
    h.update(a, 'grow');
    h.update(b, 'inc');
    h.ic.addCycles(b, 5n);
    h.ic.setStableMemory(b, new Uint8Array(70_000).fill(3));
    h.management('update_settings', {
      canister_id: a,
      settings: { ...emptySettings(), freezing_threshold: [7n] },
      sender_canister_version: [],
    });
    h.management('take_canister_snapshot', {
      canister_id: b,
      replace_snapshot: [],
      uninstall_code: [],
      sender_canister_version: [],
    });
    const created = h.createCanister();
    h.management('stop_canister', { canister_id: b });
    h.management('delete_canister', { canister_id: b });
    h.ic.setTime(h.ic.getTime() + 3_600_000_000_000n);
    expect(fingerprint(h.ic)).not.toBe(before);

    h.ic.revert(id);
    expect(fingerprint(h.ic)).toBe(before);
    expect(state(h, a)).toEqual(stateA);
    // Id allocation went back too: the next canister gets the id it got after the snapshot.
    expect(h.createCanister().toText()).toBe(created.toText());
  });

  it('can be reverted to again and again, and a revert to an older snapshot drops the newer ones', () => {
    const h = new Harness();
    const a = h.deploy(wat(STATE_WAT));
    const first = h.ic.snapshot();
    h.update(a, 'inc');
    const atSecond = fingerprint(h.ic);
    const second = h.ic.snapshot();
    h.update(a, 'inc');
    h.update(a, 'inc');

    h.ic.revert(second);
    expect(fingerprint(h.ic)).toBe(atSecond);
    expect(state(h, a)).toEqual([1n, 10n, 64n, 1n]);
    h.update(a, 'inc');
    h.ic.revert(second);
    expect(state(h, a)).toEqual([1n, 10n, 64n, 1n]);

    h.ic.revert(first);
    expect(state(h, a)).toEqual([0n, 0n, 64n, 0n]);
    expect(() => h.ic.revert(second)).toThrow(InstanceError);
    h.update(a, 'inc');
    h.update(a, 'inc');
    h.ic.revert(first);
    expect(state(h, a)).toEqual([0n, 0n, 64n, 0n]);
  });

  it('refuses an unknown id and changes nothing', () => {
    const h = new Harness();
    const a = h.deploy(wat(STATE_WAT));
    h.ic.snapshot();
    h.update(a, 'inc');
    const before = fingerprint(h.ic);
    const error = (() => {
      try {
        h.ic.revert(42);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InstanceError);
    expect((error as InstanceError).kind).toBe('InstanceSnapshotNotFound');
    expect(fingerprint(h.ic)).toBe(before);
  });

  it('shrinks a heap that grew since, and keeps the pages written before the growth', () => {
    const h = new Harness();
    const a = h.deploy(wat(STATE_WAT));
    h.update(a, 'inc');
    const id = h.ic.snapshot();
    h.update(a, 'grow');
    h.update(a, 'inc');
    expect(state(h, a)).toEqual([2n, 20n, 80n, 2n]);
    h.ic.revert(id);
    expect(state(h, a)).toEqual([1n, 10n, 64n, 1n]);
    h.update(a, 'inc');
    expect(state(h, a)).toEqual([2n, 20n, 64n, 2n]);
  });

  it('keeps messages queued at the snapshot and forgets those submitted after it', () => {
    const h = new Harness();
    const a = h.deploy(wat(STATE_WAT));
    const call = {
      sender: Principal.anonymous(),
      canisterId: a,
      method: 'inc',
      arg: new Uint8Array(),
      effectivePrincipal: { kind: 'none' } as const,
    };
    const queued = h.ic.submitIngress(call);
    if (queued.status !== 'submitted') throw new Error('refused');
    const id = h.ic.snapshot();
    const later = h.ic.submitIngress(call);
    if (later.status !== 'submitted') throw new Error('refused');
    h.ic.awaitIngress(later.messageId);
    h.ic.revert(id);
    expect(h.ic.ingressStatus(queued.messageId)).toBeUndefined();
    expect(h.ic.ingressStatus(later.messageId)).toBeUndefined();
    expect(state(h, a)[0]).toBe(0n);
    h.ic.awaitIngress(queued.messageId);
    expect(state(h, a)[0]).toBe(1n);
    // The ingress counter went back: the same message submitted again gets the id it got after the snapshot.
    const again = h.ic.submitIngress(call);
    if (again.status !== 'submitted') throw new Error('refused');
    expect(again.messageId).toEqual(later.messageId);
  });

  it('copies back only the heap pages written since the snapshot', () => {
    const h = new Harness();
    const a = h.deploy(wat(STATE_WAT));
    h.update(a, 'scribble'); // 1024 pages written before the snapshot: none of them is copied back
    const runtime = replicaOf(h.ic).findCanister(a)!.runtime!;
    const id = h.ic.snapshot();
    h.update(a, 'inc');
    const copied = runtime.heapBytesCopied;
    h.ic.revert(id);
    // `inc` writes the counter page and the reply buffer's (same page): at most 2 pages saved per write.
    expect(runtime.heapBytesCopied - copied).toBeLessThanOrEqual(2 * 4096);
    expect(runtime.heapBytesCopied - copied).toBeGreaterThan(0);
    expect(state(h, a)[0]).toBe(0n);
  });

  it('reopens an HTTPS outcall answered since, so that it can be answered again', async () => {
    const h = new Harness();
    const id = h.deploy(await watToWasm(cyclesWat(), { memory64: false }));
    const request = IDL.encode(
      [HttpRequestArgs],
      [
        {
          url: 'https://example.com/x',
          max_response_bytes: [1_000n],
          method: { get: null },
          headers: [],
          body: [],
          transform: [],
          is_replicated: [],
        },
      ],
    );
    // The cycles fixture's `call`: method name, attached cycles, then the argument.
    const method = new TextEncoder().encode('http_request');
    const amount = new Uint8Array(8);
    new DataView(amount.buffer).setBigUint64(0, 100_000_000_000n, true);
    const sent = h.ic.submitIngress({
      sender: Principal.anonymous(),
      canisterId: id,
      method: 'call',
      arg: new Uint8Array([0, method.length, ...method, ...amount, ...request]),
      effectivePrincipal: { kind: 'none' },
    });
    if (sent.status !== 'submitted') throw new Error(sent.message);
    h.ic.tick();
    const [outcall] = h.ic.getPendingHttpOutcalls();
    const before = fingerprint(h.ic);
    const snap = h.ic.snapshot();
    const answer = (status: number): void =>
      h.ic.mockHttpOutcall(
        outcall!.subnetId,
        outcall!.requestId,
        { kind: 'reply', status, headers: [], body: new Uint8Array() },
        [],
      );

    answer(200);
    const first = replyOf(h.ic.awaitIngress(sent.messageId));
    expect(h.ic.getPendingHttpOutcalls()).toHaveLength(0);

    h.ic.revert(snap);
    expect(fingerprint(h.ic)).toBe(before);
    expect(h.ic.getPendingHttpOutcalls()).toEqual([outcall]);
    expect(h.ic.ingressStatus(sent.messageId)).toBeUndefined();
    answer(200);
    expect(replyOf(h.ic.awaitIngress(sent.messageId))).toEqual(first);
  });

  it('undoes a canister snapshot load, an upgrade and a reinstall, and keeps canister snapshots taken before', () => {
    const h = new Harness();
    const a = h.deploy(wat(STATE_WAT));
    h.update(a, 'inc');
    const { id: taken } = h.management('take_canister_snapshot', {
      canister_id: a,
      replace_snapshot: [],
      uninstall_code: [],
      sender_canister_version: [],
    }) as { id: Uint8Array };
    h.update(a, 'inc');
    const before = fingerprint(h.ic);
    const stateA = state(h, a);
    const snap = h.ic.snapshot();

    h.management('load_canister_snapshot', {
      canister_id: a,
      snapshot_id: taken,
      sender_canister_version: [],
    });
    expect(state(h, a)).toEqual([1n, 10n, 64n, 1n]);
    h.update(a, 'inc');
    h.ic.revert(snap);
    expect(fingerprint(h.ic)).toBe(before);
    expect(state(h, a)).toEqual(stateA);

    expect(h.install(a, wat(STATE_WAT), new Uint8Array(), 'upgrade').status).toBe('replied');
    h.update(a, 'inc');
    h.ic.revert(snap);
    expect(fingerprint(h.ic)).toBe(before);
    expect(state(h, a)).toEqual(stateA);

    expect(h.install(a, wat(STATE_WAT), new Uint8Array(), 'reinstall').status).toBe('replied');
    h.ic.revert(snap);
    expect(fingerprint(h.ic)).toBe(before);
    // The canister snapshot taken before still loads what it held.
    h.management('load_canister_snapshot', {
      canister_id: a,
      snapshot_id: taken,
      sender_canister_version: [],
    });
    expect(state(h, a)).toEqual([1n, 10n, 64n, 1n]);
  });

  it('after any sequence of operations, snapshots and reverts, a revert gives back the state its snapshot saw', () => {
    const module = wat(STATE_WAT);
    type Op =
      | { kind: 'update'; canister: number; method: 'inc' | 'grow' | 'scribble' }
      | { kind: 'stable'; canister: number; bytes: number }
      | { kind: 'cycles'; canister: number }
      | { kind: 'create' }
      | { kind: 'time' }
      | { kind: 'tick' }
      | { kind: 'snapshot' }
      | { kind: 'revert'; pick: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({
        kind: fc.constant('update' as const),
        canister: fc.nat(2),
        method: fc.constantFrom('inc' as const, 'inc' as const, 'grow' as const, 'scribble' as const),
      }),
      fc.record({ kind: fc.constant('stable' as const), canister: fc.nat(2), bytes: fc.nat(200_000) }),
      fc.record({ kind: fc.constant('cycles' as const), canister: fc.nat(2) }),
      fc.constant({ kind: 'create' as const }),
      fc.constant({ kind: 'time' as const }),
      fc.constant({ kind: 'tick' as const }),
      fc.constant({ kind: 'snapshot' as const }),
      fc.record({ kind: fc.constant('revert' as const), pick: fc.nat(10) }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 14 }), (ops) => {
        const h = new Harness();
        const canisters = [h.deploy(module), h.deploy(module), h.deploy(module)];
        const seen = new Map<number, string>();
        seen.set(h.ic.snapshot(), fingerprint(h.ic));
        for (const o of ops) {
          const c = 'canister' in o ? canisters[o.canister]! : canisters[0]!;
          const alive = h.ic.getCanisterInfo(c) !== undefined;
          switch (o.kind) {
            case 'update':
              if (alive) h.update(c, o.method);
              break;
            case 'stable':
              if (alive) h.ic.setStableMemory(c, new Uint8Array(o.bytes).fill(o.bytes % 251));
              break;
            case 'cycles':
              if (alive) h.ic.addCycles(c, 1_000n);
              break;
            case 'create':
              h.createCanister();
              break;
            case 'time':
              h.ic.setTime(h.ic.getTime() + 1_000_000_000n);
              break;
            case 'tick':
              h.ic.tick();
              break;
            case 'snapshot':
              seen.set(h.ic.snapshot(), fingerprint(h.ic));
              break;
            case 'revert': {
              const ids = [...seen.keys()];
              const id = ids[o.pick % ids.length]!;
              h.ic.revert(id);
              expect(fingerprint(h.ic)).toBe(seen.get(id));
              for (const later of ids) if (later > id) seen.delete(later);
              break;
            }
          }
        }
        h.ic.delete();
      }),
      { numRuns: 40 },
    );
  });
});
