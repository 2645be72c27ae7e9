/**
 * How the IC HTTP interface answers failures of the instance behind it: a
 * call the instance cannot route is a "canister not found" reject, as the
 * replica answers; anything else (a deleted instance) is not disguised as
 * one but left to the route layer, which answers by the error's kind.
 */
import { Principal } from '@icp-sdk/core/principal';
import { describe, expect, it } from 'vitest';
import { InstanceError } from '../errors.ts';
import { Instance } from '../instance.ts';
import { decodeCbor, encodeTagged } from './cbor.ts';
import { IcHttpInterface } from './interface.ts';

function anonymousQuery(ic: Instance, canisterId: Principal): Uint8Array {
  return encodeTagged({
    content: {
      request_type: 'query',
      sender: Principal.anonymous().toUint8Array(),
      canister_id: canisterId.toUint8Array(),
      method_name: 'm',
      arg: new Uint8Array(),
      ingress_expiry: ic.getTime() + 60_000_000_000n,
    },
  });
}

describe('instance failures through the HTTP interface', () => {
  it('a canister outside every subnet is not found', () => {
    const ic = Instance.create({ subnets: [{ kind: 'Application' }] });
    const nowhere = Principal.fromUint8Array(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xf0, 0, 0, 1, 1));
    const answer = IcHttpInterface.of(ic).query(nowhere.toText(), anonymousQuery(ic, nowhere));
    expect(answer.status).toBe(200);
    const body = decodeCbor(answer.cbor!) as Record<string, unknown>;
    expect(body.status).toBe('rejected');
    expect(body.reject_code).toBe(3);
    expect(body.reject_message).toBe(`Canister ${nowhere.toText()} not found`);
  });

  it('a deleted instance is reported as deleted, not as a missing canister', () => {
    const ic = Instance.create({ subnets: [{ kind: 'Application' }] });
    const http = IcHttpInterface.of(ic);
    const canister = ic.getTopology().defaultEffectiveCanisterId;
    ic.delete();
    let thrown: unknown;
    try {
      http.query(canister.toText(), anonymousQuery(ic, canister));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(InstanceError);
    expect((thrown as InstanceError).kind).toBe('InstanceDeleted');
  });
});
