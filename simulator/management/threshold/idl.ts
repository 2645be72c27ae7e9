/**
 * Candid types of the threshold-key methods of the management canister, from
 * the IC interface specification's `ic.did` (`ecdsa_public_key_args`,
 * `sign_with_schnorr_args`, `vetkd_derive_key_args`, …). `../idl.ts` joins
 * them to the other methods; the TypeScript shape of each argument is
 * declared next to its IDL, as there.
 */
import { IDL } from '@icp-sdk/core/candid';
import type { Principal } from '@icp-sdk/core/principal';

type Opt<T> = [] | [T];

export interface EcdsaKeyId {
  curve: { secp256k1: null };
  name: string;
}
export const EcdsaKeyId = IDL.Record({ curve: IDL.Variant({ secp256k1: IDL.Null }), name: IDL.Text });

export type SchnorrAlgorithm = { bip340secp256k1: null } | { ed25519: null };
export interface SchnorrKeyId {
  algorithm: SchnorrAlgorithm;
  name: string;
}
export const SchnorrKeyId = IDL.Record({
  algorithm: IDL.Variant({ bip340secp256k1: IDL.Null, ed25519: IDL.Null }),
  name: IDL.Text,
});

export interface VetKdKeyId {
  curve: { bls12_381_g2: null };
  name: string;
}
export const VetKdKeyId = IDL.Record({ curve: IDL.Variant({ bls12_381_g2: IDL.Null }), name: IDL.Text });

const DerivationPath = IDL.Vec(IDL.Vec(IDL.Nat8));

export interface EcdsaPublicKeyArgs {
  canister_id: Opt<Principal>;
  derivation_path: Uint8Array[];
  key_id: EcdsaKeyId;
}
export const EcdsaPublicKeyArgs = IDL.Record({
  canister_id: IDL.Opt(IDL.Principal),
  derivation_path: DerivationPath,
  key_id: EcdsaKeyId,
});

export interface SignWithEcdsaArgs {
  message_hash: Uint8Array;
  derivation_path: Uint8Array[];
  key_id: EcdsaKeyId;
}
export const SignWithEcdsaArgs = IDL.Record({
  message_hash: IDL.Vec(IDL.Nat8),
  derivation_path: DerivationPath,
  key_id: EcdsaKeyId,
});

export interface SchnorrPublicKeyArgs {
  canister_id: Opt<Principal>;
  derivation_path: Uint8Array[];
  key_id: SchnorrKeyId;
}
export const SchnorrPublicKeyArgs = IDL.Record({
  canister_id: IDL.Opt(IDL.Principal),
  derivation_path: DerivationPath,
  key_id: SchnorrKeyId,
});

export interface SignWithSchnorrArgs {
  message: Uint8Array;
  derivation_path: Uint8Array[];
  key_id: SchnorrKeyId;
  aux: Opt<{ bip341: { merkle_root_hash: Uint8Array } }>;
}
export const SignWithSchnorrArgs = IDL.Record({
  message: IDL.Vec(IDL.Nat8),
  derivation_path: DerivationPath,
  key_id: SchnorrKeyId,
  aux: IDL.Opt(IDL.Variant({ bip341: IDL.Record({ merkle_root_hash: IDL.Vec(IDL.Nat8) }) })),
});

export interface VetKdPublicKeyArgs {
  canister_id: Opt<Principal>;
  context: Uint8Array;
  key_id: VetKdKeyId;
}
export const VetKdPublicKeyArgs = IDL.Record({
  canister_id: IDL.Opt(IDL.Principal),
  context: IDL.Vec(IDL.Nat8),
  key_id: VetKdKeyId,
});

export interface VetKdDeriveKeyArgs {
  input: Uint8Array;
  context: Uint8Array;
  transport_public_key: Uint8Array;
  key_id: VetKdKeyId;
}
export const VetKdDeriveKeyArgs = IDL.Record({
  input: IDL.Vec(IDL.Nat8),
  context: IDL.Vec(IDL.Nat8),
  transport_public_key: IDL.Vec(IDL.Nat8),
  key_id: VetKdKeyId,
});

const PublicKeyWithChainCode = IDL.Record({ public_key: IDL.Vec(IDL.Nat8), chain_code: IDL.Vec(IDL.Nat8) });

/** What each threshold method's argument decodes to. */
export interface ThresholdArgs {
  ecdsa_public_key: EcdsaPublicKeyArgs;
  sign_with_ecdsa: SignWithEcdsaArgs;
  schnorr_public_key: SchnorrPublicKeyArgs;
  sign_with_schnorr: SignWithSchnorrArgs;
  vetkd_public_key: VetKdPublicKeyArgs;
  vetkd_derive_key: VetKdDeriveKeyArgs;
}

export const thresholdMethods = {
  ecdsa_public_key: { arg: EcdsaPublicKeyArgs, ret: PublicKeyWithChainCode },
  sign_with_ecdsa: { arg: SignWithEcdsaArgs, ret: IDL.Record({ signature: IDL.Vec(IDL.Nat8) }) },
  schnorr_public_key: { arg: SchnorrPublicKeyArgs, ret: PublicKeyWithChainCode },
  sign_with_schnorr: { arg: SignWithSchnorrArgs, ret: IDL.Record({ signature: IDL.Vec(IDL.Nat8) }) },
  vetkd_public_key: { arg: VetKdPublicKeyArgs, ret: IDL.Record({ public_key: IDL.Vec(IDL.Nat8) }) },
  vetkd_derive_key: { arg: VetKdDeriveKeyArgs, ret: IDL.Record({ encrypted_key: IDL.Vec(IDL.Nat8) }) },
} as const satisfies Record<keyof ThresholdArgs, { arg: IDL.Type; ret: IDL.Type }>;
