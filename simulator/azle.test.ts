import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildAzleCanister } from '../fixtures/azle.ts';
import { watToWasm } from '../fixtures/wat.ts';
import { Harness, rejectOf, replyOf, sameBytes } from './testing/harness.ts';

const text = (s: string) => IDL.encode([IDL.Text], [s]);
const decode = <T>(type: IDL.Type, bytes: Uint8Array): T => IDL.decode([type], bytes)[0] as T;
const Counters = IDL.Record({ heap: IDL.Nat64, stable: IDL.Nat64 });

describe('an Azle 0.33 canister on the in-process simulator', () => {
  let wasm: Uint8Array;
  beforeAll(async () => {
    ({ wasm } = await buildAzleCanister({ name: 'basic', main: 'fixtures/azle/basic/index.ts' }));
  }, 300_000);

  it('installs with an init argument and answers an update and a query', () => {
    const h = new Harness();
    const id = h.deploy(wasm, text('Hi'));
    expect(decode(IDL.Text, replyOf(h.query(id, 'greet', text('Ann'))))).toBe('Hi, Ann!');
    expect(decode(IDL.Text, replyOf(h.update(id, 'greetUpdate', text('Bob'))))).toBe('Hi, Bob!');
    expect(
      decode<Principal>(IDL.Principal, replyOf(h.query(id, 'whoami', IDL.encode([], [])))).toText(),
    ).toBe('2vxsx-fae');
  });

  it('a thrown error rolls back the StableBTreeMap write and the heap', () => {
    const h = new Harness();
    const id = h.deploy(wasm, text('Hi'));
    const stableBefore = h.ic.getStableMemory(id);
    const r = rejectOf(h.update(id, 'putThenThrow', IDL.encode([IDL.Text, IDL.Text], ['k', 'v'])));
    expect(r.errorCode).toBe('CanisterCalledTrap');
    expect(r.message).toContain('boom');
    expect(decode(IDL.Opt(IDL.Text), replyOf(h.query(id, 'get', text('k'))))).toEqual([]);
    expect(decode(Counters, replyOf(h.query(id, 'counters', IDL.encode([], []))))).toEqual({
      heap: 0n,
      stable: 0n,
    });
    expect(sameBytes(h.ic.getStableMemory(id), stableBefore)).toBe(true);
  });

  it('fires a timer once time is advanced', () => {
    const h = new Harness();
    const id = h.deploy(wasm, text('Hi'));
    replyOf(h.update(id, 'scheduleTimer', IDL.encode([IDL.Nat32], [10])));
    h.ic.tick();
    expect(decode(IDL.Nat32, replyOf(h.query(id, 'timerFiredStable', IDL.encode([], []))))).toBe(0);
    h.ic.setTime(h.ic.getTime() + 11_000_000_000n);
    h.ic.tick();
    h.ic.tick();
    expect(decode(IDL.Nat32, replyOf(h.query(id, 'timerFiredStable', IDL.encode([], []))))).toBe(1);
  });

  it('keeps the StableBTreeMap across an upgrade, loses the heap, and loses both on reinstall', () => {
    const h = new Harness();
    const id = h.deploy(wasm, text('Hi'));
    replyOf(h.update(id, 'put', IDL.encode([IDL.Text, IDL.Text], ['a', '1'])));
    replyOf(h.update(id, 'inc', IDL.encode([], [])));
    replyOf(h.install(id, wasm, text('Hey'), 'upgrade'));
    expect(decode(IDL.Opt(IDL.Text), replyOf(h.query(id, 'get', text('a'))))).toEqual(['1']);
    expect(decode(Counters, replyOf(h.query(id, 'counters', IDL.encode([], []))))).toEqual({
      heap: 0n,
      stable: 1n,
    });
    expect(decode(IDL.Text, replyOf(h.query(id, 'greet', text('Cy'))))).toBe('Hey, Cy!');
    replyOf(h.install(id, wasm, text('Yo'), 'reinstall'));
    expect(decode(IDL.Opt(IDL.Text), replyOf(h.query(id, 'get', text('a'))))).toEqual([]);
    expect(decode(IDL.Nat64, replyOf(h.query(id, 'len', IDL.encode([], []))))).toBe(0n);
  });

  it('makes inter-canister calls: to the management canister and to another canister', () => {
    const h = new Harness();
    const a = h.deploy(wasm, text('Hi'));
    const b = h.deploy(wasm, text('Bonjour'));
    const rand = decode<Uint8Array>(IDL.Vec(IDL.Nat8), replyOf(h.update(a, 'rawRand', IDL.encode([], []))));
    expect(rand.length).toBe(32);
    const greeting = decode(
      IDL.Text,
      replyOf(h.update(a, 'callGreet', IDL.encode([IDL.Principal, IDL.Text], [b, 'Dee']))),
    );
    expect(greeting).toBe('Bonjour, Dee!');
    const report = decode<string>(
      IDL.Text,
      replyOf(h.update(a, 'callAndReport', IDL.encode([IDL.Principal, IDL.Text], [b, 'nope']))),
    );
    expect(report).toMatch(/^rejected 5: IC0536: Error from Canister .* has no update method 'nope'/);
  });
});

describe('HTTPS outcalls (PocketIC mocking)', () => {
  let wasm: Uint8Array;
  beforeAll(async () => {
    ({ wasm } = await buildAzleCanister({ name: 'basic', main: 'fixtures/azle/basic/index.ts' }));
  }, 300_000);

  /** Deploys the canister and sends it an `httpGet` ingress message, whose outcall then waits for a mock. */
  function submitHttpGet(url: string) {
    const h = new Harness();
    const id = h.deploy(wasm, text('Hi'));
    const sent = h.ic.submitIngress({
      sender: Principal.anonymous(),
      canisterId: id,
      method: 'httpGet',
      arg: text(url),
      effectivePrincipal: { kind: 'none' },
    });
    if (sent.status !== 'submitted') throw new Error(sent.message);
    return { h, sent };
  }

  it('lists the outcall, answers it with the mock through the transform, and refuses bad mocks', () => {
    const { h, sent } = submitHttpGet('https://example.org/x');
    h.ic.tick();
    h.ic.tick();
    const [pending] = h.ic.getPendingHttpOutcalls();
    expect(pending).toMatchObject({
      httpMethod: 'GET',
      url: 'https://example.org/x',
      headers: [{ name: 'accept', value: 'text/plain' }],
    });
    expect(() =>
      h.ic.mockHttpOutcall(
        pending.subnetId,
        pending.requestId + 1,
        { kind: 'reject', rejectCode: 2, message: 'x' },
        [],
      ),
    ).toThrow(/InvalidCanisterHttpRequestId/);
    expect(() =>
      h.ic.mockHttpOutcall(
        pending.subnetId,
        pending.requestId,
        { kind: 'reject', rejectCode: 9, message: 'x' },
        [],
      ),
    ).toThrow('InvalidRejectCode(9)');
    const body = new TextEncoder().encode('hello');
    h.ic.mockHttpOutcall(
      pending.subnetId,
      pending.requestId,
      { kind: 'reply', status: 200, headers: [{ name: 'x', value: 'y' }], body },
      [],
    );
    expect(h.ic.getPendingHttpOutcalls()).toEqual([]);
    const outcome = h.ic.awaitIngress(sent.messageId);
    expect(decode(IDL.Text, replyOf(outcome))).toBe('200 hello+1');
  });

  it('delivers a mocked reject to the canister', () => {
    const { h, sent } = submitHttpGet('https://example.org/y');
    h.ic.tick();
    const [pending] = h.ic.getPendingHttpOutcalls();
    h.ic.mockHttpOutcall(
      pending.subnetId,
      pending.requestId,
      { kind: 'reject', rejectCode: 2, message: 'host unreachable' },
      [],
    );
    const r = rejectOf(h.ic.awaitIngress(sent.messageId));
    expect(r.message).toContain('host unreachable');
  });
});

describe('bounded-wait calls (call_with_best_effort_response)', () => {
  it('answer SYS_UNKNOWN once the deadline passes while the callee has not replied', async () => {
    const { wasm } = await buildAzleCanister({ name: 'basic', main: 'fixtures/azle/basic/index.ts' });
    const caller = await watToWasm(`
      (module
        (import "ic0" "call_new" (func $call_new (param i32 i32 i32 i32 i32 i32 i32 i32)))
        (import "ic0" "call_data_append" (func $call_arg (param i32 i32)))
        (import "ic0" "call_with_best_effort_response" (func $best_effort (param i32)))
        (import "ic0" "call_perform" (func $perform (result i32)))
        (import "ic0" "msg_arg_data_copy" (func $arg_copy (param i32 i32 i32)))
        (import "ic0" "msg_arg_data_size" (func $arg_size (result i32)))
        (import "ic0" "msg_reject_code" (func $reject_code (result i32)))
        (import "ic0" "msg_reply_data_append" (func $append (param i32 i32)))
        (import "ic0" "msg_reply" (func $reply))
        (memory 1)
        (table 2 funcref)
        (elem (i32.const 0) $on_reply $on_reject)
        (data (i32.const 1000) "httpGet")
        ;; argument: the callee's 10-byte id, then the Candid argument to forward
        (func (export "canister_update go")
          (call $arg_copy (i32.const 0) (i32.const 0) (call $arg_size))
          (call $call_new (i32.const 0) (i32.const 10) (i32.const 1000) (i32.const 7) (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 0))
          (call $call_arg (i32.const 10) (i32.sub (call $arg_size) (i32.const 10)))
          (call $best_effort (i32.const 1))
          (drop (call $perform)))
        (func $on_reply (param i32) (i32.store (i32.const 2000) (i32.const 0)) (call $append (i32.const 2000) (i32.const 4)) (call $reply))
        (func $on_reject (param i32) (i32.store (i32.const 2000) (call $reject_code)) (call $append (i32.const 2000) (i32.const 4)) (call $reply)))`);
    const h = new Harness();
    const callee = h.deploy(wasm, text('Hi'));
    const a = h.deploy(caller);
    const arg = new Uint8Array([...callee.toUint8Array(), ...text('https://never.example')]);
    const sent = h.ic.submitIngress({
      sender: Principal.anonymous(),
      canisterId: a,
      method: 'go',
      arg,
      effectivePrincipal: { kind: 'none' },
    });
    if (sent.status !== 'submitted') throw new Error(sent.message);
    h.ic.tick();
    expect(h.ic.getPendingHttpOutcalls()).toHaveLength(1);
    expect(h.ic.ingressStatus(sent.messageId)).toBeUndefined();
    h.ic.setTime(h.ic.getTime() + 2_000_000_000n);
    const outcome = h.ic.awaitIngress(sent.messageId);
    expect(new DataView(replyOf(outcome).buffer).getUint32(0, true)).toBe(6);
  });
});
