/**
 * One subnet: its kind, id, canister ranges and the canisters it hosts.
 */
import { Principal } from '@icp-sdk/core/principal';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, fromHex } from '../bytes.ts';
import { bls12_381 } from '../curves.ts';
import type { CanisterState } from '../canister/state.ts';
import type { SubnetKind } from '../types.ts';
import { SUBNET_PUBLIC_KEYS } from './subnet-keys.ts';
import { canisterIdFromIndex, inRange, type IdRange } from './ranges.ts';

/** Node counts PocketIC gives each kind (`subnet_size` in `pocket_ic.rs`). */
export const SUBNET_SIZES: Record<SubnetKind, number> = {
  Application: 13,
  VerifiedApplication: 13,
  System: 13,
  Bitcoin: 13,
  Fiduciary: 34,
  SNS: 34,
  II: 34,
  NNS: 40,
};

/** DER prefix of an IC BLS12-381 G2 public key, 133 bytes in all (IC interface specification, "Certification"). */
export const BLS_DER_PREFIX = fromHex(
  '308182301d060d2b0601040182dc7c0503010201060c2b0601040182dc7c05030201036100',
);
/** Keys computed at run time, by seed label: labels are deterministic, so every instance reuses them. */
const KEYS = new Map<string, Uint8Array>();

/** The DER-encoded BLS public key (133 bytes) of the subnet whose secret key is `sha256(label)`. */
function publicKeyDer(label: string, seed: Uint8Array): Uint8Array {
  let der = KEYS.get(label);
  if (!der) {
    const known = SUBNET_PUBLIC_KEYS[label.slice(SEED_PREFIX.length)];
    der = concatBytes([BLS_DER_PREFIX, known ? fromHex(known) : blsPublicKey(seed)]);
    KEYS.set(label, der);
  }
  return der;
}

const SEED_PREFIX = 'icsim subnet ';

/** sk·G2, compressed. */
function blsPublicKey(secretKey: Uint8Array): Uint8Array {
  const { G2 } = bls12_381();
  // A copy of the generator: noble builds a ~250 ms precomputation table for `BASE` itself on its
  // first multiplication; double-and-add on a copy gives the same point.
  return G2.Point.BASE.add(G2.Point.ZERO).multiplyUnsafe(G2.Point.Fn.fromBytes(secretKey)).toBytes(true);
}

export class Subnet {
  readonly id: Principal;
  readonly kind: SubnetKind;
  /** The subnet's BLS secret key: certificates of its state are signed with it. */
  readonly seed: Uint8Array;
  readonly publicKeyDer: Uint8Array;
  readonly instructionConfig: 'Production' | 'Benchmarking';
  readonly costSchedule: 'Normal' | 'Free';
  /** All ranges the subnet hosts; the last one is where new canisters are allocated. */
  readonly ranges: IdRange[];
  readonly allocationRange: IdRange;
  readonly canisters = new Map<string, CanisterState>();
  #next: bigint;

  constructor(options: {
    kind: SubnetKind;
    index: number;
    ranges: IdRange[];
    allocationRange: IdRange;
    instructionConfig?: 'Production' | 'Benchmarking';
    costSchedule?: 'Normal' | 'Free';
  }) {
    this.kind = options.kind;
    const label = `${SEED_PREFIX}${options.index} ${options.kind}`;
    this.seed = sha256(new TextEncoder().encode(label));
    this.publicKeyDer = publicKeyDer(label, this.seed);
    // The self-authenticating id of the subnet's key, as PocketIC derives subnet ids from generated keys.
    this.id = Principal.selfAuthenticating(this.publicKeyDer);
    this.ranges = options.ranges;
    this.allocationRange = options.allocationRange;
    this.instructionConfig = options.instructionConfig ?? 'Production';
    this.costSchedule = options.costSchedule ?? 'Normal';
    this.#next = options.allocationRange.start;
  }

  get size(): number {
    return SUBNET_SIZES[this.kind];
  }

  hostsId(id: Principal): boolean {
    return this.ranges.some((r) => inRange(id, r));
  }

  /** The next unused id of the allocation range (PocketIC allocates sequentially). */
  allocateId(): Principal | undefined {
    while (this.#next <= this.allocationRange.end) {
      const id = canisterIdFromIndex(this.#next++);
      if (!this.canisters.has(id.toText())) return id;
    }
    return undefined;
  }
}
