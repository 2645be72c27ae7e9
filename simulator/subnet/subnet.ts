/**
 * One subnet: its kind, id, canister ranges and the canisters it hosts.
 */
import { Principal } from '@icp-sdk/core/principal';
import { sha256 } from '@noble/hashes/sha2.js';
import type { CanisterState } from '../canister/state.ts';
import type { SubnetKind } from '../types.ts';
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

export class Subnet {
  readonly id: Principal;
  readonly kind: SubnetKind;
  readonly seed: Uint8Array;
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
    this.seed = sha256(new TextEncoder().encode(`icsim subnet ${options.index} ${options.kind}`));
    // A self-authenticating principal, like the ids of subnets PocketIC derives from generated keys.
    this.id = Principal.selfAuthenticating(this.seed);
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
