/**
 * The threshold-key methods of the management canister: `ecdsa_public_key`,
 * `sign_with_ecdsa`, `schnorr_public_key`, `sign_with_schnorr`,
 * `vetkd_public_key` and `vetkd_derive_key`. Canister-only (ingress is refused
 * before this runs, like every method `canister.ts` does not list for ingress).
 *
 * What a calling canister sees follows the replica (dfinity/ic
 * `rs/execution_environment/src/execution_environment.rs`, `sign_with_threshold`,
 * `vetkd_derive_key`, `get_vetkd_public_key`, and the routing of ic00 requests,
 * `route_chain_key_message`):
 * - the request is first routed to the subnet holding the key; an argument that
 *   does not decode, or a key no subnet holds, is refused there with reject code 3
 *   (`DestinationInvalid`) and "Unable to route management canister request …";
 * - on the key's subnet, `sign_with_*` and `vetkd_derive_key` check their arguments
 *   (Schnorr `aux`, the transport key), then take the fee from the attached cycles
 *   ("… request sent with N cycles, but M cycles are required.", reject code 4),
 *   refunding the rest with the reply; calls from the NNS subnet are free;
 * - the public key methods are free and refund everything.
 * icsim answers in the round of the request, where the IC answers a few rounds later.
 */
import { Principal } from '@icp-sdk/core/principal';
import { displayCycles } from '../../cycles/account.ts';
import { UserError } from '../../errors.ts';
import { reject, reply, type CallResult } from '../../result.ts';
import type { ManagementCall, Replica } from '../../subnet/replica.ts';
import type { Subnet } from '../../subnet/subnet.ts';
import { deriveEd25519, signEd25519 } from './ed25519.ts';
import { thresholdMethods, type ThresholdArgs } from './idl.ts';
import { heldKeys, keyIdText, keySubnet, masterSecret, type Scheme } from './keys.ts';
import { deriveSecp256k1, signBip340, signEcdsa } from './secp256k1.ts';
import { deriveVetKd, encryptedVetKey, isValidTransportKey } from './vetkd.ts';
import { IDL } from '@icp-sdk/core/candid';

export type ThresholdMethod = keyof ThresholdArgs;

export const isThresholdMethod = (method: string): method is ThresholdMethod =>
  Object.hasOwn(thresholdMethods, method);

/** `sign_with_*` and `vetkd_derive_key`: what they cost, by the fee table's kind. */
const FEE_KIND = {
  sign_with_ecdsa: 'ecdsa',
  sign_with_schnorr: 'schnorr',
  vetkd_derive_key: 'vetkd',
} as const;

/** Rust's `{:?}` of a String, as the routing error prints its detail. */
const debugString = (s: string): string =>
  `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

const MAXIMUM_DERIVATION_PATH_LENGTH = 255;

/** A routing failure: the replica rejects the request with `DestinationInvalid` before it reaches the key's subnet. */
class RoutingError extends Error {}

function routingReject(method: string, detail: string): CallResult {
  return reject('DestinationInvalid', `Unable to route management canister request ${method}: ${detail}`);
}

const rejected = (text: string): UserError => new UserError('CanisterRejectedMessage', text);

function decode<M extends ThresholdMethod>(method: M, arg: Uint8Array): ThresholdArgs[M] {
  let value: unknown;
  try {
    value = IDL.decode([thresholdMethods[method].arg], arg)[0];
  } catch (e) {
    throw new RoutingError(candidError(e instanceof Error ? e.message : String(e)));
  }
  // `IDL.decode` returns untyped values; `thresholdMethods` pairs each method with the IDL of its ThresholdArgs entry.
  const args = value as ThresholdArgs[M];
  // What the replica's types refuse while decoding (dfinity/ic `rs/types/management_canister_types`):
  // a derivation path is a `BoundedVec` of at most 255 elements (`MAXIMUM_DERIVATION_PATH_LENGTH`,
  // `bounded_vec.rs`), and `SignWithECDSAArgs.message_hash` is a `[u8; 32]`.
  const derivationPath = (args as { derivation_path?: Uint8Array[] }).derivation_path;
  if (derivationPath && derivationPath.length > MAXIMUM_DERIVATION_PATH_LENGTH) {
    throw new RoutingError(
      candidError(
        `Deserialize error: The number of elements exceeds maximum allowed ${MAXIMUM_DERIVATION_PATH_LENGTH}`,
      ),
    );
  }
  if (method === 'sign_with_ecdsa') {
    const n = (args as ThresholdArgs['sign_with_ecdsa']).message_hash.length;
    if (n !== 32)
      throw new RoutingError(
        candidError(`Deserialize error: invalid length ${n}, expected an array of length 32`),
      );
  }
  return args;
}

/** `ResolveDestinationError::UserError` of a payload that does not decode (`candid_error_to_user_error`). */
const candidError = (detail: string): string =>
  `UserError(UserError { code: InvalidManagementPayload, description: ${debugString(`Error decoding candid: ${detail}`)} })`;

interface KeyRef {
  scheme: Scheme;
  name: string;
}

function ecdsaKey(a: { key_id: { name: string } }): KeyRef {
  return { scheme: 'ecdsa', name: a.key_id.name };
}
function schnorrKey(a: { key_id: ThresholdArgs['sign_with_schnorr']['key_id'] }): KeyRef {
  return { scheme: 'bip340secp256k1' in a.key_id.algorithm ? 'bip340' : 'ed25519', name: a.key_id.name };
}
function vetkdKey(a: { key_id: { name: string } }): KeyRef {
  return { scheme: 'vetkd', name: a.key_id.name };
}

/** The subnet holding `key`, or the routing error of a key nobody holds. */
function route(subnets: readonly Subnet[], method: ThresholdMethod, key: KeyRef): Subnet {
  const text = keyIdText(key.scheme, key.name);
  const held = heldKeys(subnets);
  const subnet = keySubnet(subnets);
  if (subnet && held.includes(text)) return subnet;
  const list = `[${held.join(', ')}]`;
  // Public keys only need a subnet holding the key, signing one enabled to sign with it.
  const detail = method.endsWith('_public_key')
    ? `Requested unknown threshold key: ${text}, existing keys: ${list}`
    : `Requested unknown or disabled threshold key: ${text}, existing enabled keys: ${list}`;
  throw new RoutingError(`ChainKeyError(${debugString(detail)})`);
}

const encode = (method: ThresholdMethod, value: unknown): Uint8Array =>
  new Uint8Array(IDL.encode([thresholdMethods[method].ret], [value]));

/**
 * Answers `call` to a threshold method. Throws `UserError` for the rejects of
 * the key's subnet (the caller answers them as it answers the other methods).
 */
export function handleThreshold(replica: Replica, call: ManagementCall & { method: ThresholdMethod }): void {
  try {
    call.respond(...answer(replica, call));
  } catch (e) {
    if (e instanceof RoutingError) call.respond(routingReject(call.method, e.message));
    else throw e;
  }
}

function answer(replica: Replica, call: ManagementCall & { method: ThresholdMethod }): [CallResult, bigint?] {
  const subnets = replica.subnets;
  const m = call.method;
  const canister = (id: [] | [Principal]): Uint8Array => (id[0] ?? call.caller).toUint8Array();
  switch (m) {
    case 'ecdsa_public_key': {
      const a = decode(m, call.arg);
      const subnet = route(subnets, m, ecdsaKey(a));
      const k = deriveSecp256k1(masterSecret(subnet, 'ecdsa', a.key_id.name), [
        canister(a.canister_id),
        ...a.derivation_path,
      ]);
      return [reply(encode(m, { public_key: k.publicKey, chain_code: k.chainCode }))];
    }
    case 'schnorr_public_key': {
      const a = decode(m, call.arg);
      const key = schnorrKey(a);
      const subnet = route(subnets, m, key);
      const path = [canister(a.canister_id), ...a.derivation_path];
      const secret = masterSecret(subnet, key.scheme, key.name);
      const k = key.scheme === 'bip340' ? deriveSecp256k1(secret, path) : deriveEd25519(secret, path);
      return [reply(encode(m, { public_key: k.publicKey, chain_code: k.chainCode }))];
    }
    case 'vetkd_public_key': {
      const a = decode(m, call.arg);
      const subnet = route(subnets, m, vetkdKey(a));
      const k = deriveVetKd(masterSecret(subnet, 'vetkd', a.key_id.name), canister(a.canister_id), a.context);
      return [reply(encode(m, { public_key: k.publicKey }))];
    }
    case 'sign_with_ecdsa': {
      const a = decode(m, call.arg);
      const subnet = route(subnets, m, ecdsaKey(a));
      const fee = charge(call, subnet);
      const k = deriveSecp256k1(masterSecret(subnet, 'ecdsa', a.key_id.name), [
        call.caller.toUint8Array(),
        ...a.derivation_path,
      ]);
      return [reply(encode(m, { signature: signEcdsa(k.secret, a.message_hash) })), call.cycles - fee];
    }
    case 'sign_with_schnorr': {
      const a = decode(m, call.arg);
      const key = schnorrKey(a);
      const subnet = route(subnets, m, key);
      const aux = a.aux[0]?.bip341.merkle_root_hash;
      const algorithm = key.scheme === 'bip340' ? 'Bip340Secp256k1' : 'Ed25519';
      if (aux !== undefined && key.scheme === 'ed25519')
        throw rejected(`Schnorr algorithm ${algorithm} does not support aux input`);
      if (aux !== undefined && aux.length !== 0 && aux.length !== 32)
        throw rejected(`Invalid aux field for ${algorithm}`);
      const fee = charge(call, subnet);
      const path = [call.caller.toUint8Array(), ...a.derivation_path];
      const secret = masterSecret(subnet, key.scheme, key.name);
      const signature =
        key.scheme === 'bip340'
          ? signBip340(deriveSecp256k1(secret, path).secret, a.message, aux)
          : signEd25519(deriveEd25519(secret, path), a.message);
      return [reply(encode(m, { signature })), call.cycles - fee];
    }
    case 'vetkd_derive_key': {
      const a = decode(m, call.arg);
      const subnet = route(subnets, m, vetkdKey(a));
      if (!isValidTransportKey(a.transport_public_key))
        throw rejected('The provided transport public key is invalid.');
      const fee = charge(call, subnet);
      const k = deriveVetKd(
        masterSecret(subnet, 'vetkd', a.key_id.name),
        call.caller.toUint8Array(),
        a.context,
      );
      return [
        reply(encode(m, { encrypted_key: encryptedVetKey(k, a.input, a.transport_public_key) })),
        call.cycles - fee,
      ];
    }
  }
}

/**
 * The fee of a signature or vetKey, priced by the key's subnet (its cost schedule), taken from
 * the attached cycles; requests from the NNS subnet are free.
 */
function charge(call: ManagementCall & { method: ThresholdMethod }, keySubnet: Subnet): bigint {
  const kind = FEE_KIND[call.method as keyof typeof FEE_KIND];
  if (call.subnet?.kind === 'NNS') return 0n;
  const fee = keySubnet.fees.signatureFee(kind);
  if (call.cycles < fee)
    throw rejected(
      `${call.method} request sent with ${displayCycles(call.cycles)} cycles, but ${displayCycles(fee)} cycles are required.`,
    );
  return fee;
}
