/**
 * The certified state tree of one subnet (IC interface specification, "The
 * system state tree"; ic-http-interface.md §5.1), built from the instance's
 * state when a certificate is needed:
 *
 *   /time                                   LEB128 ns
 *   /subnet/<sid>/public_key                DER BLS key (133 bytes)
 *   /subnet/<sid>/canister_ranges           tagged CBOR [[start, end], …]
 *   /subnet/<sid>/node/<nid>/public_key     DER Ed25519 key (44 bytes), own subnet only
 *   /canister/<cid>/certified_data          (this subnet's canisters)
 *   /canister/<cid>/controllers             tagged CBOR [principal bytes, …]
 *   /canister/<cid>/module_hash             when a module is installed
 *   /canister/<cid>/metadata/<name>         icp:public and icp:private sections
 *   /request_status/<rid>/…                 calls submitted through the HTTP interface to this subnet
 */
import type { Principal } from '@icp-sdk/core/principal';
import { encodeTagged } from './cbor.ts';
import { subtree, type LabeledTree, type SubTree } from './hash-tree.ts';
import { uleb128 } from './request-id.ts';

export type RequestStatus =
  | { status: 'received' | 'processing' | 'done' }
  | { status: 'replied'; reply: Uint8Array }
  | { status: 'rejected'; rejectCode: number; rejectMessage: string; errorCode: string };

export interface NodeView {
  id: Uint8Array;
  publicKeyDer: Uint8Array;
}

export interface SubnetView {
  /** The id certificates use: `selfAuthenticating(publicKeyDer)`. */
  id: Uint8Array;
  publicKeyDer: Uint8Array;
  /** Closed ranges of canister ids, sorted. */
  ranges: [Uint8Array, Uint8Array][];
  nodes: NodeView[];
}

export interface CanisterView {
  id: Uint8Array;
  controllers: readonly Principal[];
  moduleHash: Uint8Array | undefined;
  metadata: readonly { name: string; content: Uint8Array }[];
  certifiedData: Uint8Array;
}

export interface StateView {
  time: bigint;
  canisters: Iterable<CanisterView>;
  requests: Iterable<{ id: Uint8Array; status: RequestStatus }>;
}

const utf8 = new TextEncoder();

/**
 * `/subnet` as the subnet `ownId` certifies it: every subnet's key and ranges,
 * but only its own nodes' keys (dfinity/ic
 * `rs/canonical_state/src/lazy_tree_conversion.rs`, `subnets_as_tree`:
 * `node` is added `if subnet_id == own_subnet_id`).
 */
export function subnetSubtree(subnets: readonly SubnetView[], ownId: Uint8Array): SubTree {
  const isOwn = (id: Uint8Array) => id.length === ownId.length && id.every((b, i) => b === ownId[i]);
  return subtree(
    subnets.map((s) => {
      const entries: [string, LabeledTree][] = [
        ['public_key', s.publicKeyDer],
        ['canister_ranges', encodeTagged(s.ranges)],
      ];
      if (isOwn(s.id))
        entries.push([
          'node',
          subtree(s.nodes.map((n) => [n.id, subtree([['public_key', n.publicKeyDer]])])),
        ]);
      return [s.id, subtree(entries)];
    }),
  );
}

function canisterSubtree(c: CanisterView): SubTree {
  const entries: [string, LabeledTree][] = [
    ['certified_data', c.certifiedData],
    ['controllers', encodeTagged(c.controllers.map((p) => p.toUint8Array()))],
  ];
  if (c.moduleHash) entries.push(['module_hash', c.moduleHash]);
  if (c.metadata.length > 0)
    entries.push(['metadata', subtree(c.metadata.map((m) => [utf8.encode(m.name), m.content]))]);
  return subtree(entries);
}

function statusSubtree(s: RequestStatus): SubTree {
  const entries: [string, LabeledTree][] = [['status', utf8.encode(s.status)]];
  if (s.status === 'replied') entries.push(['reply', s.reply]);
  if (s.status === 'rejected') {
    entries.push(['reject_code', uleb128(BigInt(s.rejectCode))]);
    entries.push(['reject_message', utf8.encode(s.rejectMessage)]);
    entries.push(['error_code', utf8.encode(s.errorCode)]);
  }
  return subtree(entries);
}

/** The state tree; `subnetTree` is the certifying subnet's `/subnet` ({@link subnetSubtree}). */
export function buildStateTree(view: StateView, subnetTree: SubTree): SubTree {
  return subtree([
    ['time', uleb128(view.time)],
    ['subnet', subnetTree],
    ['canister', subtree([...view.canisters].map((c) => [c.id, canisterSubtree(c)]))],
    ['request_status', subtree([...view.requests].map((r) => [r.id, statusSubtree(r.status)]))],
  ]);
}
