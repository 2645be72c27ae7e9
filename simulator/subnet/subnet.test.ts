import { Principal } from '@icp-sdk/core/principal';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { describe, expect, it } from 'vitest';
import { BLS_DER_PREFIX, Subnet } from './subnet.ts';
import { freshRange } from './ranges.ts';

describe('Subnet keys', () => {
  it("the subnet's public key is noble's BLS public key of its seed (from the table or computed), and its id is that key's self-authenticating id", () => {
    const range = freshRange(0);
    for (const index of [0, 1, 7, 8, 12]) {
      const subnet = new Subnet({ kind: 'Application', index, ranges: [range], allocationRange: range });
      const expected = bls12_381.shortSignatures.getPublicKey(subnet.seed).toBytes(true);
      expect(subnet.publicKeyDer).toEqual(new Uint8Array([...BLS_DER_PREFIX, ...expected]));
      expect(subnet.id.toText()).toBe(Principal.selfAuthenticating(subnet.publicKeyDer).toText());
    }
  });
});
