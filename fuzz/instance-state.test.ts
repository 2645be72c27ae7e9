/**
 * The fuzz suite's oracle for "a refusal changes nothing": `fingerprint` must
 * see each kind of change a refused input could make, or the properties that
 * compare it would pass whatever the code does.
 */
import { Principal } from '@icp-sdk/core/principal';
import { describe, expect, it } from 'vitest';
import { Harness, emptySettings } from '../simulator/testing/harness.ts';
import { wat } from '../simulator/wasm/test-support.ts';
import { COUNTER_WAT, fingerprint } from './instance-state.ts';

describe('fingerprint', () => {
  it('changes with the heap, controllers, settings, module, stable memory, chunks, snapshots, canisters and clocks', () => {
    const h = new Harness();
    const id = h.deploy(wat(COUNTER_WAT));
    const changes: [string, () => void][] = [
      ['heap', () => h.update(id, 'inc')],
      [
        'controllers',
        () =>
          h.management('update_settings', {
            canister_id: id,
            settings: {
              ...emptySettings(),
              controllers: [[Principal.anonymous(), Principal.fromText('aaaaa-aa')]],
            },
            sender_canister_version: [],
          }),
      ],
      [
        'settings',
        () =>
          h.management('update_settings', {
            canister_id: id,
            settings: { ...emptySettings(), freezing_threshold: [1n] },
            sender_canister_version: [],
          }),
      ],
      ['stable memory', () => h.ic.setStableMemory(id, new Uint8Array(10).fill(1))],
      ['chunk store', () => h.management('upload_chunk', { canister_id: id, chunk: Uint8Array.of(1) })],
      [
        'snapshots',
        () =>
          h.management('take_canister_snapshot', {
            canister_id: id,
            replace_snapshot: [],
            uninstall_code: [],
            sender_canister_version: [],
          }),
      ],
      ['cycles', () => h.ic.addCycles(id, 1n)],
      ['module', () => h.management('uninstall_code', { canister_id: id, sender_canister_version: [] })],
      ['canister list', () => h.createCanister()],
      ['clock', () => h.ic.setTime(h.ic.getTime() + 1n)],
    ];
    for (const [what, change] of changes) {
      const before = fingerprint(h.ic);
      change();
      expect(fingerprint(h.ic), what).not.toBe(before);
    }
  });

  it('leaves out the clocks, the ingress history and the balances when asked: what delivering a message changes', () => {
    const h = new Harness();
    const id = h.deploy(wat(COUNTER_WAT));
    const options = { clock: false, ingress: false, cycles: false };
    const before = fingerprint(h.ic, options);
    h.ic.tick();
    const sent = h.ic.submitIngress({
      sender: Principal.anonymous(),
      canisterId: id,
      method: 'no_such_method',
      arg: new Uint8Array(),
      effectivePrincipal: { kind: 'none' },
    });
    if (sent.status === 'submitted') h.ic.awaitIngress(sent.messageId);
    expect(fingerprint(h.ic, options)).toBe(before);
    expect(fingerprint(h.ic)).not.toBe(fingerprint(h.ic, options));
  });
});
