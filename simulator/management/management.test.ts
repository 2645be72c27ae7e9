import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import { describe, expect, it } from 'vitest';
import { watToWasm } from '../../fixtures/wat.ts';
import { universalWat } from '../../fixtures/wat/universal.ts';
import { emptySettings, Harness, MANAGEMENT, rejectOf, replyOf } from '../testing/harness.ts';
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

  it('refuses a creation with invalid settings without leaving a canister behind (found by fuzz/)', () => {
    const h = new Harness();
    const subnet = h.ic.getSubnetForId(h.ic.getTopology().defaultEffectiveCanisterId)!;
    const settings = { ...emptySettings(), compute_allocation: [2n ** 63n] };
    const r = rejectOf(
      h.managementOutcome('provisional_create_canister_with_cycles', {
        amount: [],
        settings: [settings],
        specified_id: [],
        sender_canister_version: [],
      }),
    );
    expect(r.errorCode).toBe('CanisterContractViolation');
    expect(r.message).toMatch(
      /^Could not validate the settings: ComputeAllocation expected to be in the range \[0\.\.100\], got 9223372036854775808 /,
    );
    expect(h.ic.listCanisters(subnet)).toEqual([]);
    // The id it did not take goes to the next canister.
    expect(h.createCanister().toText()).toBe(h.ic.getTopology().defaultEffectiveCanisterId.toText());
  });

  it('has no method named like what an object inherits, from a canister or from ingress (found by fuzz/)', async () => {
    const h = new Harness();
    const relay = h.deploy(await watToWasm(universalWat(), { memory64: false }));
    const name = (method: string) => new TextEncoder().encode(method);
    for (const method of ['toString', 'constructor', 'hasOwnProperty', '__proto__']) {
      // The universal canister's `relay`: flags, callee (the management canister), method, cycles, payload.
      const arg = Uint8Array.from([0, 0, method.length, ...name(method), ...new Uint8Array(8)]);
      // It answers "J", the reject code (u32), refunded cycles (u64) and the message. It used to
      // get a reply of `undefined`, on which its callback died of an icsim internal error.
      const answer = replyOf(h.update(relay, 'relay', arg));
      expect(String.fromCharCode(answer[0]!)).toBe('J');
      expect(new DataView(answer.buffer, answer.byteOffset).getUint32(1, true)).toBe(5);
      expect(Buffer.from(answer.subarray(13)).toString()).toBe(
        // A management error reaches a calling canister without its IC code prefix (fidelity: the
        // replica's RejectContext keeps only the description).
        `Management canister has no method '${method}'`,
      );
      const sent = h.ic.submitIngress({
        sender: Principal.anonymous(),
        canisterId: MANAGEMENT,
        method,
        arg: IDL.encode([], []),
        effectivePrincipal: { kind: 'canister', id: relay },
      });
      if (sent.status !== 'rejected') throw new Error(`${method} was accepted from ingress`);
      expect(sent.errorCode).toBe('CanisterMethodNotFound');
      expect(sent.message).toBe(`Management canister has no method '${method}'`);
    }
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
