/**
 * The elliptic curves of `@noble/curves`, each loaded on first use. Loading
 * one costs 40–50 ms, and a fresh instance needs none of them: they sign
 * certificates and check request signatures, which come later (or never, for
 * a PicJS suite). Node ≥ 22.12 `require`s these ES modules synchronously, so
 * the callers stay synchronous like the rest of the core.
 */
import { createRequire } from 'node:module';
import type * as Bls from '@noble/curves/bls12-381.js';
import type * as Ed from '@noble/curves/ed25519.js';
import type * as Nist from '@noble/curves/nist.js';
import type * as Secp from '@noble/curves/secp256k1.js';

const load = createRequire(import.meta.url);
let bls: typeof Bls | undefined;
let ed: typeof Ed | undefined;
let nist: typeof Nist | undefined;
let secp: typeof Secp | undefined;

export const bls12_381 = (): typeof Bls.bls12_381 =>
  (bls ??= load('@noble/curves/bls12-381.js') as typeof Bls).bls12_381;
export const ed25519 = (): typeof Ed.ed25519 =>
  (ed ??= load('@noble/curves/ed25519.js') as typeof Ed).ed25519;
export const p256 = (): typeof Nist.p256 => (nist ??= load('@noble/curves/nist.js') as typeof Nist).p256;
export const secp256k1 = (): typeof Secp.secp256k1 =>
  (secp ??= load('@noble/curves/secp256k1.js') as typeof Secp).secp256k1;
export const schnorr = (): typeof Secp.schnorr =>
  (secp ??= load('@noble/curves/secp256k1.js') as typeof Secp).schnorr;
