/**
 * The threshold keys an instance holds, as PocketIC sets them up
 * (dfinity/ic `rs/pocket_ic_server/src/pocket_ic.rs`, where subnets are
 * created): every II and fiduciary subnet holds, and may sign with, the keys
 * `key_1`, `test_key_1` and `dfx_test_key` of each scheme (ECDSA secp256k1,
 * Schnorr BIP-340 and Ed25519, vetKD BLS12-381 G2). An instance with neither
 * subnet holds no key. Requests go to the first subnet holding the key
 * (`route_chain_key_message`, the execution environment's routing of ic00
 * requests in dfinity/ic).
 *
 * A master secret is derived from the holding subnet's seed and the key's
 * name, so the same topology has the same keys on every run.
 */
import { bytesToNumberBE } from '@noble/curves/utils.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes } from '../../bytes.ts';
import { bls12_381, ed25519, secp256k1 } from '../../curves.ts';
import type { Subnet } from '../../subnet/subnet.ts';

export type Scheme = 'ecdsa' | 'bip340' | 'ed25519' | 'vetkd';

/** Key names PocketIC creates for each scheme. */
export const KEY_NAMES = ['key_1', 'test_key_1', 'dfx_test_key'] as const;

/** `MasterPublicKeyId`'s Display, as error texts print a key (`ecdsa:Secp256k1:key_1`). */
const PREFIX: Record<Scheme, string> = {
  ecdsa: 'ecdsa:Secp256k1',
  bip340: 'schnorr:Bip340Secp256k1',
  ed25519: 'schnorr:Ed25519',
  vetkd: 'vetkd:Bls12_381_G2',
};

export const keyIdText = (scheme: Scheme, name: string): string => `${PREFIX[scheme]}:${name}`;

/**
 * The fee of using key `name` of `scheme`, priced by the subnet that holds it, or undefined when
 * no subnet holds such a key: what `ic0.cost_sign_with_*` and `cost_vetkd_derive_key` report.
 */
export function thresholdKeyFee(
  subnets: readonly Subnet[],
  scheme: Scheme,
  name: string,
): bigint | undefined {
  const holder = keySubnet(subnets);
  if (!holder || !(KEY_NAMES as readonly string[]).includes(name)) return undefined;
  return holder.fees.signatureFee(scheme === 'ecdsa' ? 'ecdsa' : scheme === 'vetkd' ? 'vetkd' : 'schnorr');
}

/** The subnet that holds the threshold keys: the first II or fiduciary subnet, if any. */
export function keySubnet(subnets: readonly Subnet[]): Subnet | undefined {
  return subnets.find((s) => s.kind === 'II' || s.kind === 'Fiduciary');
}

/** Every key held by the instance, sorted as the replica lists them (`format_keys`). */
export function heldKeys(subnets: readonly Subnet[]): string[] {
  if (!keySubnet(subnets)) return [];
  const schemes = Object.keys(PREFIX) as Scheme[];
  return schemes.flatMap((s) => KEY_NAMES.map((n) => keyIdText(s, n))).sort();
}

const ORDERS: Record<Scheme, () => bigint> = {
  ecdsa: () => secp256k1().Point.Fn.ORDER,
  bip340: () => secp256k1().Point.Fn.ORDER,
  ed25519: () => ed25519().Point.Fn.ORDER,
  vetkd: () => bls12_381().fields.Fr.ORDER,
};

const SECRETS = new Map<string, bigint>();
const encoder = new TextEncoder();

/** The master secret scalar of `scheme`'s key `name` on `subnet`: in [1, order). */
export function masterSecret(subnet: Subnet, scheme: Scheme, name: string): bigint {
  const label = keyIdText(scheme, name);
  const cacheKey = `${subnet.id.toText()} ${label}`;
  let secret = SECRETS.get(cacheKey);
  if (secret === undefined) {
    const material = sha512(concatBytes([encoder.encode(`icsim chain key ${label} `), subnet.seed]));
    secret = (bytesToNumberBE(material) % (ORDERS[scheme]() - 1n)) + 1n;
    SECRETS.set(cacheKey, secret);
  }
  return secret;
}
