/**
 * Certificates (IC interface specification, "Certification"):
 * `55799({tree, signature, delegation?})`, where `tree` is a witness of the
 * state tree and `signature` the BLS12-381 min-sig signature of
 * `0x0D "ic-state-root" ‖ reconstruct(tree)` under the subnet's key
 * (ic-http-interface.md §5.4, §5.5). A subnet that is not the root subnet
 * adds a delegation: a root-signed certificate revealing the subnet's public
 * key and canister ranges (§5.8).
 */
import { encodeTagged, type CborRecord } from './cbor.ts';
import { treeHash, witness, type LabeledTree } from './hash-tree.ts';
import { blsSign, stateRootMessage } from './signatures.ts';

export interface CertificateDelegation {
  subnetId: Uint8Array;
  /** The root subnet's certificate (tagged CBOR bytes). */
  certificate: Uint8Array;
}

/** A certificate over `state` revealing `paths`, signed with the BLS secret key `secretKey`. */
export function signCertificate(
  state: LabeledTree,
  paths: readonly (readonly Uint8Array[])[],
  secretKey: Uint8Array,
  delegation?: CertificateDelegation,
): Uint8Array {
  const tree = witness(state, paths);
  const signature = blsSign(secretKey, stateRootMessage(treeHash(state)));
  const cert: CborRecord = { tree: tree as unknown as CborRecord[], signature };
  if (delegation) cert.delegation = { subnet_id: delegation.subnetId, certificate: delegation.certificate };
  return encodeTagged(cert);
}
