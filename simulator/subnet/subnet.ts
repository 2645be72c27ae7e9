/**
 * One subnet: its kind, id, canister ranges and the canisters it hosts.
 */
import type { Principal } from '@icp-sdk/core/principal';
import type { CanisterState } from '../canister/state.ts';
import type { SubnetKind } from '../types.ts';
import { SUBNET_SIZES, type SubnetPlan } from '../topology.ts';
import { Fees } from '../cycles/fees.ts';
import { canisterIdFromIndex, inRange, type IdRange } from './ranges.ts';

export class Subnet implements SubnetPlan {
  readonly kind: SubnetKind;
  readonly index: number;
  readonly id: Principal;
  readonly seed: Uint8Array;
  readonly publicKeyDer: Uint8Array;
  readonly instructionConfig: 'Production' | 'Benchmarking';
  readonly costSchedule: 'Normal' | 'Free';
  readonly ranges: IdRange[];
  readonly allocationRange: IdRange;
  readonly maxIngressBytesPerMessage: number;
  readonly canisters = new Map<string, CanisterState>();
  /** What cycles cost here: the subnet type's fees, scaled to its size, under its cost schedule. */
  readonly fees: Fees;
  #next: bigint;

  /**
   * The subnet `plan` describes (`layout.ts`), with no canisters yet;
   * `maxInstructionsPerMessage` is its message limit, which calls prepay for their responses.
   */
  constructor(plan: SubnetPlan, maxInstructionsPerMessage: bigint) {
    this.kind = plan.kind;
    this.index = plan.index;
    this.id = plan.id;
    this.seed = plan.seed;
    this.publicKeyDer = plan.publicKeyDer;
    this.instructionConfig = plan.instructionConfig;
    this.costSchedule = plan.costSchedule;
    this.ranges = plan.ranges;
    this.allocationRange = plan.allocationRange;
    this.maxIngressBytesPerMessage = plan.maxIngressBytesPerMessage;
    this.#next = plan.allocationRange.start;
    this.fees = Fees.forSubnet(
      plan.kind,
      SUBNET_SIZES[plan.kind],
      plan.costSchedule,
      maxInstructionsPerMessage,
    );
  }

  /** The memory its canisters take (the replica's subnet execution memory usage). */
  memoryUsage(): bigint {
    let total = 0n;
    for (const c of this.canisters.values()) total += c.allocatedBytes();
    return total;
  }

  get size(): number {
    return SUBNET_SIZES[this.kind];
  }

  hostsId(id: Principal): boolean {
    return this.ranges.some((r) => inRange(id, r));
  }

  /** The allocation index tried next: an instance snapshot saves and restores it (`snapshot/`). */
  get nextIndex(): bigint {
    return this.#next;
  }

  set nextIndex(value: bigint) {
    this.#next = value;
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
