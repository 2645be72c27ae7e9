/**
 * The reference suite's signing users (ic-ref-test's `defaultSK` and `otherSK`): fixed Ed25519
 * keys, shared by the ported HTTP-level specs so that they sign as the originals do.
 */
import { Ed25519KeyIdentity } from '@icp-sdk/core/identity';

export const defaultSK = Ed25519KeyIdentity.generate(new Uint8Array(32).fill(1));
export const otherSK = Ed25519KeyIdentity.generate(new Uint8Array(32).fill(2));
export const defaultUser = defaultSK.getPrincipal();
