/**
 * Fault injection on a real Wasm canister (the universal canister), in
 * process: the next N calls of a method reject, trap or run K rounds late,
 * and each reads to its caller exactly as the real failure does.
 */
import { Principal } from '@icp-sdk/core/principal';
import { beforeEach, describe, expect, it } from 'vitest';
import * as uc from '../../conformance/support/uc.ts';
import { InstanceError } from '../errors.ts';
import type { CallResult } from '../result.ts';
import { ANONYMOUS, Harness, rejectOf, replyOf } from '../testing/harness.ts';

const dec = (b: Uint8Array) => new TextDecoder().decode(b);
/** A sender that may not read the canister's logs, so a real trap shows no backtrace (as for any such caller). */
const STRANGER = Principal.fromText('ltyfs-qiaaa-aaaak-aan3a-cai');

let h: Harness;
let target: Principal;
let relay: Principal;

beforeEach(async () => {
  h = new Harness();
  target = h.deploy(await uc.ucWasm());
  relay = h.deploy(await uc.ucWasm());
});

const hello = (sender = ANONYMOUS): CallResult =>
  h.update(target, 'update', uc.run(uc.replyData('hello')), sender);
/** `relay` calls `target`'s `update`, and replies the reject code (u32) ++ message, or 0 ++ the reply. */
function relayed(otherSide: uc.Prog = uc.replyData('hello')): { code: number; body: string } {
  const bytes = replyOf(
    h.update(relay, 'update', uc.run(uc.interUpdate(target, { ...uc.defArgs, otherSide }))),
  );
  return { code: new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true), body: dec(bytes.slice(4)) };
}

describe('reject', () => {
  it('rejects the next N calls with the given code and message, then the method answers again', () => {
    h.ic.injectFault(target, 'update', {
      kind: 'reject',
      rejectCode: 'SysTransient',
      message: 'busy',
      times: 2,
    });
    for (let i = 0; i < 2; i++) {
      const r = rejectOf(hello());
      expect([r.rejectCode, r.errorCode, r.message]).toEqual(['SysTransient', 'CanisterQueueFull', 'busy']);
    }
    expect(dec(replyOf(hello()))).toBe('hello');
  });

  it('a calling canister reads the code and the message in its reject callback', () => {
    h.ic.injectFault(target, 'update', {
      kind: 'reject',
      rejectCode: 'CanisterReject',
      message: 'no thanks',
    });
    expect(relayed()).toEqual({ code: 4, body: 'no thanks' });
    expect(relayed()).toEqual({ code: 0, body: 'hello' });
  });
});

describe('trap', () => {
  it('reads to a user exactly as the canister calling ic0.trap', () => {
    const real = rejectOf(h.update(target, 'update', uc.run(uc.trap('boom')), STRANGER));
    h.ic.injectFault(target, 'update', { kind: 'trap', message: 'boom' });
    const faulted = rejectOf(hello(STRANGER));
    expect(faulted.errorCode).toBe('CanisterCalledTrap');
    expect([faulted.rejectCode, faulted.errorCode, faulted.message]).toEqual([
      real.rejectCode,
      real.errorCode,
      real.message,
    ]);
    expect(faulted.message).toMatch(
      new RegExp(
        `^Error from Canister ${target.toText()}: Canister called \`ic0.trap\` with message: 'boom'`,
      ),
    );
  });

  it('reads to a calling canister as IC0503 with the trap message, as a real trap does', () => {
    const real = relayed(uc.trap('boom'));
    h.ic.injectFault(target, 'update', { kind: 'trap', message: 'boom' });
    expect(relayed()).toEqual(real);
    expect(real.code).toBe(5);
    expect(real.body).toMatch(
      /^IC0503: Error from Canister .*: Canister called `ic0.trap` with message: 'boom'/,
    );
  });

  it('applies to queries too', () => {
    h.ic.injectFault(target, 'query', { kind: 'trap', message: 'boom' });
    const r = rejectOf(h.query(target, 'query', uc.run(uc.replyData('x'))));
    expect(r.errorCode).toBe('CanisterCalledTrap');
    expect(dec(replyOf(h.query(target, 'query', uc.run(uc.replyData('x')))))).toBe('x');
  });
});

describe('delay', () => {
  it('runs the call K rounds after it arrived', () => {
    h.ic.injectFault(target, 'update', { kind: 'delay', rounds: 3 });
    const sent = h.ic.submitIngress({
      sender: ANONYMOUS,
      canisterId: target,
      method: 'update',
      arg: uc.run(uc.replyData('late')),
      effectivePrincipal: { kind: 'none' },
    });
    if (sent.status !== 'submitted') throw new Error(sent.message);
    for (let round = 1; round <= 3; round++) {
      h.ic.tick();
      expect(h.ic.ingressStatus(sent.messageId), `round ${round}`).toBeUndefined();
    }
    h.ic.tick();
    expect(dec(replyOf(h.ic.ingressStatus(sent.messageId)!))).toBe('late');
  });
});

describe('with instance snapshots', () => {
  it('a revert forgets a call a delay fault held, with the history it belonged to; faults are configuration and stay used up', () => {
    h.ic.injectFault(target, 'update', { kind: 'delay', rounds: 3 });
    const fixture = h.ic.snapshot();
    const sent = h.ic.submitIngress({
      sender: ANONYMOUS,
      canisterId: target,
      method: 'update',
      arg: uc.run(uc.seq(uc.setGlobal('written late'), uc.replyData('late'))),
      effectivePrincipal: { kind: 'none' },
    });
    if (sent.status !== 'submitted') throw new Error(sent.message);
    h.ic.tick();
    h.ic.revert(fixture);
    for (let round = 0; round < 5; round++) h.ic.tick();
    // The held call never ran on the reverted instance.
    expect(h.ic.ingressStatus(sent.messageId)).toBeUndefined();
    expect(dec(replyOf(h.query(target, 'query', uc.run(uc.replyData(uc.getGlobal)))))).toBe('');
    // The fault's one use was spent before the revert: the next call answers at once.
    expect(dec(replyOf(hello()))).toBe('hello');
  });
});

describe('managing faults', () => {
  it('refuses a bad fault and arms nothing', () => {
    const bad = [
      { kind: 'reject', rejectCode: 'Nope', message: 'x' },
      { kind: 'reject', rejectCode: 'SysTransient', message: 'x', errorCode: 'CanisterCalledTrap' },
      { kind: 'trap', message: 'x', times: 0 },
      { kind: 'delay', rounds: -1 },
      { kind: 'explode' },
    ];
    for (const fault of bad) {
      expect(() => h.ic.injectFault(target, 'update', fault as never)).toThrow(InstanceError);
    }
    expect(() => h.ic.injectFault(STRANGER, 'update', { kind: 'trap', message: 'x' })).toThrow(
      expect.objectContaining({ kind: 'CanisterNotFound' }),
    );
    expect(dec(replyOf(hello()))).toBe('hello');
  });

  it('clearFaults forgets the faults not used yet', () => {
    h.ic.injectFault(target, 'update', { kind: 'trap', message: 'boom', times: 5 });
    rejectOf(hello());
    h.ic.clearFaults(target);
    expect(dec(replyOf(hello()))).toBe('hello');
  });
});
