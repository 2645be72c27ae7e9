import { bls12_381 } from '@noble/curves/bls12-381.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { toHex } from '../bytes.ts';
import type { SubnetKind } from '../types.ts';
import { SUBNET_PUBLIC_KEYS } from './subnet-keys.ts';

const KINDS: SubnetKind[] = [
  'Application',
  'VerifiedApplication',
  'System',
  'NNS',
  'II',
  'Fiduciary',
  'Bitcoin',
  'SNS',
];

describe('the table of subnet public keys', () => {
  it('holds, for every kind at positions 0–7, the BLS public key of sha256("icsim subnet <index> <kind>")', () => {
    const computed: Record<string, string> = {};
    for (const kind of KINDS) {
      for (let index = 0; index < 8; index++) {
        const secret = sha256(new TextEncoder().encode(`icsim subnet ${index} ${kind}`));
        computed[`${index} ${kind}`] = toHex(bls12_381.shortSignatures.getPublicKey(secret).toBytes(true));
      }
    }
    // On a mismatch the diff shows the table to paste into subnet-keys.ts.
    expect(SUBNET_PUBLIC_KEYS).toEqual(computed);
  });
});
