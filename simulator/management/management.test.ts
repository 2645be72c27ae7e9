import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import { describe, expect, it } from 'vitest';
import { watToWasm } from '../../fixtures/wat.ts';
import { Harness, MANAGEMENT, rejectOf, replyOf } from '../testing/harness.ts';
import { replicaOf } from '../instance.ts';

const EMPTY = '(module (memory 1) (func (export "canister_update noop")))';

describe('management canister: bad input and permissions leave state as it was', () => {
  it('answers a payload that is not the method’s Candid with InvalidManagementPayload', async () => {
    const h = new Harness();
    const id = h.deploy(await watToWasm(EMPTY));
    const garbage = new Uint8Array([1, 2, 3]);
    const sent = h.ic.submitIngress({
      sender: Principal.anonymous(),
      canisterId: MANAGEMENT,
      method: 'update_settings',
      arg: garbage,
      effectivePrincipal: { kind: 'canister', id },
    });
    if (sent.status !== 'submitted') throw new Error(sent.message);
    const r = rejectOf(h.ic.awaitIngress(sent.messageId));
    expect(r.errorCode).toBe('InvalidManagementPayload');
    expect(r.rejectCode).toBe('CanisterReject');
    expect(r.message).toMatch(/^Error decoding candid: /);
    expect(h.ic.getControllers(id).map((p) => p.toText())).toEqual([Principal.anonymous().toText()]);
  });

  it('refuses a non-controller with the IC’s text and keeps the module', async () => {
    const h = new Harness();
    const id = h.deploy(await watToWasm(EMPTY));
    const stranger = Principal.fromUint8Array(new Uint8Array([7, 7, 7]));
    const hashBefore = replicaOf(h.ic).findCanister(id)!.moduleHash;
    const r = rejectOf(
      h.managementOutcome('uninstall_code', { canister_id: id, sender_canister_version: [] }, stranger),
    );
    expect(r.errorCode).toBe('CanisterInvalidController');
    expect(r.message).toContain(`Only the controllers of the canister ${id.toText()} can control it.`);
    expect(r.message).toContain(`Sender's ID: ${stranger.toText()}`);
    expect(replicaOf(h.ic).findCanister(id)!.moduleHash).toEqual(hashBefore);
    replyOf(h.managementOutcome('canister_status', { canister_id: id }));
  });

  it('refuses raw_rand from ingress: only canisters may call it', () => {
    const h = new Harness();
    const r = h.ic.submitIngress({
      sender: Principal.anonymous(),
      canisterId: MANAGEMENT,
      method: 'raw_rand',
      arg: IDL.encode([], []),
      effectivePrincipal: {
        kind: 'subnet',
        id: h.ic.getSubnetForId(h.ic.getTopology().defaultEffectiveCanisterId)!,
      },
    });
    if (r.status !== 'rejected') throw new Error('raw_rand was accepted from ingress');
    expect(r.errorCode).toBe('CanisterRejectedMessage');
    expect(r.message).toBe('ic00 method raw_rand can not be called via ingress messages');
  });
});

describe('canister_status memory (icsim: the replica’s sizes, some measured on PocketIC)', () => {
  it('a canister created with one controller uses the 990 bytes of history PocketIC reports', () => {
    const h = new Harness();
    const id = h.createCanister();
    const status = h.management('canister_status', { canister_id: id }) as {
      memory_size: bigint;
      memory_metrics: { canister_history_size: bigint };
    };
    expect(status.memory_size).toBe(990n);
    expect(status.memory_metrics.canister_history_size).toBe(990n);
  });

  it('globals count 32 bytes each: the mutable ones and the instruction counter', async () => {
    const h = new Harness();
    const id = h.deploy(
      await watToWasm('(module (memory 1) (global (mut i32) (i32.const 0)) (global i64 (i64.const 1)))'),
    );
    const status = h.management('canister_status', { canister_id: id }) as {
      memory_metrics: { global_memory_size: bigint };
    };
    expect(status.memory_metrics.global_memory_size).toBe(64n);
  });
});
