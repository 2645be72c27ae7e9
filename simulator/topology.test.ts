import { Principal } from '@icp-sdk/core/principal';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { describe, expect, it } from 'vitest';
import { InstanceError } from './errors.ts';
import { BLS_DER_PREFIX, planSubnet, planSubnets } from './topology.ts';

describe('Topology', () => {
  it("a subnet's public key is noble's BLS public key of its seed (from the table or computed), and its id is that key's self-authenticating id", () => {
    for (const index of [0, 1, 7, 8, 12]) {
      const plan = planSubnet({ kind: 'Application', index });
      const expected = bls12_381.shortSignatures.getPublicKey(plan.seed).toBytes(true);
      expect(plan.publicKeyDer).toEqual(new Uint8Array([...BLS_DER_PREFIX, ...expected]));
      expect(plan.id.toText()).toBe(Principal.selfAuthenticating(plan.publicKeyDer).toText());
    }
  });

  it('orders subnets as PocketIC consumes ranges and refuses an empty list or a named kind twice', () => {
    const plans = planSubnets({ subnets: [{ kind: 'Application' }, { kind: 'NNS' }, { kind: 'System' }] });
    expect(plans.map((p) => p.kind)).toEqual(['NNS', 'System', 'Application']);
    expect(plans.map((p) => p.index)).toEqual([0, 1, 2]);
    expect(() => planSubnets({ subnets: [] })).toThrow(InstanceError);
    expect(() => planSubnets({ subnets: [{ kind: 'II' }, { kind: 'II' }] })).toThrow(/at most one II subnet/);
  });
});
