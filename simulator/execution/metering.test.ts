import { Principal } from '@icp-sdk/core/principal';
import { describe, expect, it } from 'vitest';
import { watToWasm } from '../../fixtures/wat.ts';
import { Instance, replicaOf } from '../instance.ts';
import { Harness, rejectOf, replyOf, u32 } from '../testing/harness.ts';
import { installCode } from './install.ts';
import {
  BENCHMARKING_INSTRUCTION_LIMIT,
  MAX_INSTRUCTIONS_FOR_MESSAGE_ACCEPTANCE_CALLS,
  MAX_INSTRUCTIONS_PER_INSTALL_CODE,
  MAX_INSTRUCTIONS_PER_MESSAGE,
  MAX_INSTRUCTIONS_PER_QUERY_MESSAGE,
  type InstructionLimits,
} from './limits.ts';

const LOOPER = `
(module
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
  (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
  (import "ic0" "performance_counter" (func $perf (param i32) (result i64)))
  (import "ic0" "stable64_grow" (func $sgrow (param i64) (result i64)))
  (import "ic0" "stable64_write" (func $swrite (param i64 i64 i64)))
  (import "ic0" "stable64_read" (func $sread (param i64 i64 i64)))
  (import "ic0" "accept_message" (func $accept))
  (import "ic0" "msg_method_name_size" (func $method_size (result i32)))
  (import "ic0" "canister_self_size" (func $self_size (result i32)))
  (import "ic0" "canister_self_copy" (func $self_copy (param i32 i32 i32)))
  (import "ic0" "call_new" (func $call_new (param i32 i32 i32 i32 i32 i32 i32 i32)))
  (import "ic0" "call_perform" (func $call_perform (result i32)))
  (memory 1)
  (table 2 funcref)
  (elem (i32.const 0) $on_reply $on_reject)
  (global $counter (mut i32) (i32.const 0))
  (data (i32.const 100) "noop")
  (func $forever (loop $l (br $l)))
  (func $bump
    (global.set $counter (i32.add (global.get $counter) (i32.const 1)))
    (i32.store (i32.const 0) (global.get $counter))
    (drop (call $sgrow (i64.const 1)))
    (call $swrite (i64.const 0) (i64.const 0) (i64.const 4)))
  ;; Runs a loop of n iterations (n: u32 argument at the heap's offset 8).
  (func $work (param $n i32)
    (local $i i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))
  (func $reply_i64 (param i64)
    (i64.store (i32.const 16) (local.get 0))
    (call $append (i32.const 16) (i32.const 8))
    (call $reply))
  (func $reply_counter
    (i32.store (i32.const 0) (global.get $counter))
    (call $append (i32.const 0) (i32.const 4))
    (call $reply))
  (func (export "canister_update inc") (call $bump) (call $reply_counter))
  (func (export "canister_update inc_then_loop") (call $bump) (call $forever))
  (func (export "canister_query read") (call $reply_counter))
  (func (export "canister_query read_stable")
    (call $sread (i64.const 32) (i64.const 0) (i64.const 4))
    (call $append (i32.const 32) (i32.const 4))
    (call $reply))
  (func (export "canister_query inc_then_loop_query") (call $bump) (call $forever))
  (func $work_arg
    (call $arg_copy (i32.const 8) (i32.const 0) (i32.const 4))
    (call $work (i32.load (i32.const 8))))
  (func (export "canister_update work") (call $work_arg) (call $reply_i64 (call $perf (i32.const 0))))
  (func (export "canister_query work_query") (call $work_arg) (call $reply_i64 (call $perf (i32.const 0))))
  (func (export "canister_update noop") (call $reply))
  ;; Works, calls its own noop, and answers from the reply callback with performance_counter 0 and 1.
  (func (export "canister_update work_then_call")
    (call $work_arg)
    (call $self_copy (i32.const 200) (i32.const 0) (call $self_size))
    (call $call_new (i32.const 200) (call $self_size) (i32.const 100) (i32.const 4)
      (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 0))
    (drop (call $call_perform)))
  (func $on_reply (param i32)
    (i64.store (i32.const 16) (call $perf (i32.const 0)))
    (i64.store (i32.const 24) (call $perf (i32.const 1)))
    (call $append (i32.const 16) (i32.const 16))
    (call $reply))
  (func $on_reject (param i32) (unreachable))
  ;; Ingress to "spin_inspect" loops in inspect_message; everything else is accepted.
  (func (export "canister_inspect_message")
    (if (i32.eq (call $method_size) (i32.const 12)) (then (call $forever)))
    (call $accept))
  (func (export "canister_update spin_inspect") (call $reply))
)`;

const u64 = (bytes: Uint8Array, at = 0): bigint =>
  new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(at, true);
const arg = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);

/** The IC's IC0522 text (rs/interfaces/src/execution_environment/errors.rs, `InstructionLimitExceeded` and `into_user_error`). */
const limitMessage = (id: Principal, limit: bigint): string =>
  `Error from Canister ${id.toText()}: Canister exceeded the limit of ${limit} instructions for single message execution..\n` +
  'Try optimizing this method to consume fewer instructions or split the work across multiple messages. ' +
  'See documentation: https://internetcomputer.org/docs/current/references/execution-errors#instruction-limit-exceeded';

/** A harness whose instance has lowered instruction limits (the `instructionLimits` instance option). */
function harness(limits: Partial<InstructionLimits>): Harness {
  return new Harness(Instance.create({ subnets: [{ kind: 'Application' }] }, { instructionLimits: limits }));
}

describe('instruction metering (IC0522 CanisterInstructionLimitExceeded)', async () => {
  const wasm = await watToWasm(LOOPER);
  const LIMITS = { message: 3_000_000n, query: 2_000_000n, inspectMessage: 1_000_000n };

  it('ends an infinite loop in an update with IC0522 and the IC message; the canister keeps serving, rolled back', () => {
    const h = harness(LIMITS);
    const id = h.deploy(wasm);
    expect(u32(replyOf(h.update(id, 'inc')))).toBe(1);
    const r = rejectOf(h.update(id, 'inc_then_loop'));
    expect(r.rejectCode).toBe('CanisterError');
    expect(r.errorCode).toBe('CanisterInstructionLimitExceeded');
    expect(r.message).toBe(limitMessage(id, 3_000_000n));
    // Globals, heap and stable memory as before the message.
    expect(u32(replyOf(h.query(id, 'read')))).toBe(1);
    expect(u32(replyOf(h.query(id, 'read_stable')))).toBe(1);
    expect(u32(replyOf(h.update(id, 'inc')))).toBe(2);
    // The trap is in the canister log, as the replica logs it.
    const logs = replicaOf(h.ic)
      .findCanister(id)!
      .logs.map((l) => new TextDecoder().decode(l.content));
    expect(logs.at(-1)).toBe(`[TRAP]: ${limitMessage(id, 3_000_000n)}`);
  });

  it('ends an infinite loop in a query with the query limit, and the next query sees the committed state', () => {
    const h = harness(LIMITS);
    const id = h.deploy(wasm);
    replyOf(h.update(id, 'inc'));
    const r = rejectOf(h.query(id, 'inc_then_loop_query'));
    expect(r.errorCode).toBe('CanisterInstructionLimitExceeded');
    expect(r.message).toBe(limitMessage(id, 2_000_000n));
    expect(u32(replyOf(h.query(id, 'read')))).toBe(1);
    // The same query method called as an update (replicated) gets the message limit.
    expect(rejectOf(h.update(id, 'inc_then_loop_query')).message).toBe(limitMessage(id, 3_000_000n));
    expect(u32(replyOf(h.query(id, 'read')))).toBe(1);
  });

  it('refuses an ingress message whose inspect_message loops, with the inspect_message limit', () => {
    const h = harness(LIMITS);
    const id = h.deploy(wasm);
    const r = rejectOf(h.update(id, 'spin_inspect'));
    expect(r.errorCode).toBe('CanisterInstructionLimitExceeded');
    expect(r.message).toBe(limitMessage(id, 1_000_000n));
    expect(u32(replyOf(h.update(id, 'inc')))).toBe(1);
  });

  it('performance_counter(0) grows with the work done, by the loop body cost per iteration', () => {
    const h = harness({});
    const id = h.deploy(wasm);
    const at = (n: number): bigint => u64(replyOf(h.update(id, 'work', arg(n))));
    const [a, b, c] = [at(0), at(1000), at(2000)];
    expect(a).toBeGreaterThan(0n);
    expect(b).toBeGreaterThan(a);
    // Each iteration: local.get ×2, i32.ge_u, br_if (2), local.get, i32.const, i32.add, local.set, br (2) = 11.
    expect(b - a).toBe(11_000n);
    expect(c - b).toBe(11_000n);
    // Queries count the same way.
    expect(u64(replyOf(h.query(id, 'work_query', arg(1000))))).toBe(b);
  });

  it('performance_counter(1) adds the call context’s earlier executions', () => {
    const h = harness({});
    const id = h.deploy(wasm);
    const reply = replyOf(h.update(id, 'work_then_call', arg(5000)));
    const [own, context] = [u64(reply, 0), u64(reply, 8)];
    expect(own).toBeGreaterThan(0n);
    expect(own).toBeLessThan(1000n);
    // The first execution ran 5000 iterations of 11.
    expect(context - own).toBeGreaterThan(55_000n);
    expect(context - own).toBeLessThan(56_000n);
  });

  it('limits the work a message may do: just under the limit passes, over it fails', () => {
    const h = harness({ message: 200_000n });
    const id = h.deploy(wasm);
    expect(u64(replyOf(h.update(id, 'work', arg(17_000))))).toBeLessThan(200_000n);
    expect(rejectOf(h.update(id, 'work', arg(19_000))).errorCode).toBe('CanisterInstructionLimitExceeded');
  });

  it('does not hang the rounds on a heartbeat that loops forever', async () => {
    const h = harness(LIMITS);
    const id = h.deploy(
      await watToWasm(`(module
        (import "ic0" "msg_reply" (func $reply))
        (memory 1)
        (func (export "canister_heartbeat") (loop $l (br $l)))
        (func (export "canister_update ping") (call $reply)))`),
    );
    h.ic.tick();
    expect(replyOf(h.update(id, 'ping'))).toEqual(new Uint8Array());
    const logs = replicaOf(h.ic)
      .findCanister(id)!
      .logs.map((l) => new TextDecoder().decode(l.content));
    expect(logs.some((l) => l === `[TRAP]: ${limitMessage(id, 3_000_000n)}`)).toBe(true);
  });

  it('gives install_code one budget for start and init, and leaves the canister as it was when it runs out', async () => {
    const h = harness({});
    const id = h.createCanister();
    const canister = replicaOf(h.ic).findCanister(id)!;
    const looping = await watToWasm(`(module
      (memory 1)
      (func $start (loop $l (br $l)))
      (start $start))`);
    const outcome = installCode(canister, {
      mode: { kind: 'install' },
      wasm: looping,
      arg: new Uint8Array(),
      sender: Principal.anonymous(),
      time: replicaOf(h.ic).roundTime,
      onPrint: () => {},
      instructionLimit: 5_000_000n,
    });
    expect(outcome.error?.errorCode).toBe('CanisterInstructionLimitExceeded');
    expect(outcome.error?.message).toBe(limitMessage(id, 5_000_000n));
    expect(canister.runtime).toBeUndefined();
    // Installed normally, the good module then works.
    expect(h.install(id, wasm).status).toBe('replied');
    expect(u32(replyOf(h.update(id, 'inc')))).toBe(1);
  });
});

describe('instruction limits by subnet config', () => {
  it('production: 40 B per message, 5 B per query, 300 B per install, 200 M for inspect_message', () => {
    const h = new Harness();
    const id = h.createCanister();
    expect(replicaOf(h.ic).instructionLimits(replicaOf(h.ic).findCanister(id)!)).toEqual({
      message: MAX_INSTRUCTIONS_PER_MESSAGE,
      query: MAX_INSTRUCTIONS_PER_QUERY_MESSAGE,
      install: MAX_INSTRUCTIONS_PER_INSTALL_CODE,
      inspectMessage: MAX_INSTRUCTIONS_FOR_MESSAGE_ACCEPTANCE_CALLS,
    });
    expect([
      MAX_INSTRUCTIONS_PER_MESSAGE,
      MAX_INSTRUCTIONS_PER_QUERY_MESSAGE,
      MAX_INSTRUCTIONS_PER_INSTALL_CODE,
    ]).toEqual([40_000_000_000n, 5_000_000_000n, 300_000_000_000n]);
  });

  it("benchmarking (PicJS enableBenchmarkingInstructionLimits): PocketIC's 99_999_999_999_999 per message", async () => {
    const h = new Harness(
      Instance.create({ subnets: [{ kind: 'Application', instructionConfig: 'Benchmarking' }] }),
    );
    const id = h.deploy(await watToWasm(LOOPER));
    expect(replicaOf(h.ic).instructionLimits(replicaOf(h.ic).findCanister(id)!).message).toBe(
      BENCHMARKING_INSTRUCTION_LIMIT,
    );
    // An update prepays its whole instruction limit, ~100 T cycles here: more than the 100 T
    // a provisional canister gets by default, as on PocketIC.
    h.ic.addCycles(id, 1_000_000_000_000_000n);
    // The counter starts from that limit: performance_counter still counts from 0.
    expect(u64(replyOf(h.update(id, 'work', arg(1000))))).toBeLessThan(20_000n);
  });
});
