/**
 * The fee model: what every resource costs in cycles on one subnet, as the
 * replica's cycles account manager prices it. Pure arithmetic on bigints, in
 * the replica's order of operations (each fee is scaled on its own, and
 * integer division truncates where the replica's does), so the numbers match
 * the replica's to the cycle. Who pays, and when, is `account.ts`'s job.
 *
 * Sources (dfinity/ic):
 * - `rs/config/src/subnet_config.rs`: `CyclesAccountManagerConfig::application_subnet()`
 *   and `system_subnet()` (every constant below);
 * - `rs/cycles_account_manager/src/cycles_account_manager.rs`: `scale_cost`,
 *   `execution_cost`, `convert_instructions_to_cycles`, `xnet_total_transmission_fee`,
 *   `xnet_call_total_fee`, `memory_cost`, `compute_allocation_cost`,
 *   `idle_cycles_burned_rate`, `freeze_threshold_cycles`, `http_request_fee`,
 *   `refund_for_response_transmission`, `ingress_induction_cost_from_bytes`;
 * - `rs/types/types/src/messages.rs`: `MAX_INTER_CANISTER_PAYLOAD_IN_BYTES` (2 MiB);
 * - `rs/types/types/src/canister_http.rs`: `MAX_CANISTER_HTTP_RESPONSE_BYTES` (2 MB);
 * - `rs/pocket_ic_server/src/pocket_ic.rs`: `conv_type` (subnet kind → subnet type) and
 *   `CanisterCyclesCostSchedule` (`Free` charges nothing).
 * The public table of the same numbers: internetcomputer.org "Cycles costs"
 * (docs/references/cycles-cost-formulas). README.md beside this file lists them.
 */
import type { SubnetKind } from '../types.ts';

/**
 * The subnet memory usage above which storage reservation starts, and the subnet's capacity
 * (dfinity/ic rs/config/src/execution_environment.rs `SUBNET_MEMORY_THRESHOLD`,
 * `SUBNET_MEMORY_CAPACITY`; PocketIC keeps the defaults).
 */
export const SUBNET_MEMORY_THRESHOLD = 750n * 1024n * 1024n * 1024n;
export const SUBNET_MEMORY_CAPACITY = 2n * 1024n * 1024n * 1024n * 1024n;

/** The replica's subnet types; fees differ between application and system subnets. */
export type SubnetType = 'Application' | 'VerifiedApplication' | 'System';

/** PocketIC's `conv_type`: Application, Fiduciary and SNS subnets are application subnets, the rest system subnets. */
export function subnetTypeOf(kind: SubnetKind): SubnetType {
  switch (kind) {
    case 'Application':
    case 'Fiduciary':
    case 'SNS':
      return 'Application';
    case 'VerifiedApplication':
      return 'VerifiedApplication';
    case 'System':
    case 'Bitcoin':
    case 'II':
    case 'NNS':
      return 'System';
  }
}

/** `CyclesAccountManagerConfig`: the fees of one subnet type, in cycles, for a 13-node subnet. */
export interface FeeConfig {
  /** Fees are computed for a subnet of this many nodes and scaled to the real size. */
  referenceSubnetSize: bigint;
  canisterCreationFee: bigint;
  /** Per executed message (update, replicated query, callback, heartbeat, timer, install). */
  updateMessageExecutionFee: bigint;
  /** Per 10 instructions (so that a fee below 1 cycle per instruction can be expressed). */
  tenUpdateInstructionsExecutionFee: bigint;
  tenUpdateInstructionsExecutionFeeWasm64: bigint;
  /** Per inter-canister call (request and response). */
  xnetCallFee: bigint;
  /** Per byte of an inter-canister request or response. */
  xnetByteTransmissionFee: bigint;
  ingressMessageReceptionFee: bigint;
  ingressByteReceptionFee: bigint;
  gibStoragePerSecondFee: bigint;
  computePercentAllocatedPerSecondFee: bigint;
  /** Canisters are charged for storage and allocations at most this often (seconds). */
  durationBetweenAllocationCharges: bigint;
  ecdsaSignatureFee: bigint;
  schnorrSignatureFee: bigint;
  vetkdFee: bigint;
  httpRequestLinearBaselineFee: bigint;
  httpRequestQuadraticBaselineFee: bigint;
  httpRequestPerByteFee: bigint;
  httpResponsePerByteFee: bigint;
  /** Upper bound of the storage reservation period (seconds). */
  maxStorageReservationPeriod: bigint;
  /** `reserved_cycles_limit` of a canister whose settings do not name one. */
  defaultReservedBalanceLimit: bigint;
}

const B = 1_000_000_000n;
const T = 1_000_000_000_000n;

/** `CyclesAccountManagerConfig::application_subnet()` (verified application subnets use the same). */
export const APPLICATION_SUBNET_FEES: Readonly<FeeConfig> = Object.freeze({
  referenceSubnetSize: 13n,
  canisterCreationFee: 500n * B,
  updateMessageExecutionFee: 5_000_000n,
  tenUpdateInstructionsExecutionFee: 10n,
  // `WASM64_INSTRUCTION_COST_OVERHEAD` (2) times the Wasm32 fee.
  tenUpdateInstructionsExecutionFeeWasm64: 20n,
  xnetCallFee: 260_000n,
  xnetByteTransmissionFee: 1_000n,
  ingressMessageReceptionFee: 1_200_000n,
  ingressByteReceptionFee: 2_000n,
  // "4 SDR per GiB per year => 4e12 Cycles per year".
  gibStoragePerSecondFee: 127_000n,
  computePercentAllocatedPerSecondFee: 10_000_000n,
  durationBetweenAllocationCharges: 10n,
  ecdsaSignatureFee: 10n * B,
  schnorrSignatureFee: 10n * B,
  vetkdFee: 10n * B,
  httpRequestLinearBaselineFee: 3_000_000n,
  httpRequestQuadraticBaselineFee: 60_000n,
  httpRequestPerByteFee: 400n,
  httpResponsePerByteFee: 800n,
  maxStorageReservationPeriod: 300_000_000n,
  defaultReservedBalanceLimit: 5n * T,
});

/** `CyclesAccountManagerConfig::system_subnet()`: "All processing is free on system subnets", signatures aside. */
export const SYSTEM_SUBNET_FEES: Readonly<FeeConfig> = Object.freeze({
  ...APPLICATION_SUBNET_FEES,
  canisterCreationFee: 0n,
  updateMessageExecutionFee: 0n,
  tenUpdateInstructionsExecutionFee: 0n,
  tenUpdateInstructionsExecutionFeeWasm64: 0n,
  xnetCallFee: 0n,
  xnetByteTransmissionFee: 0n,
  ingressMessageReceptionFee: 0n,
  ingressByteReceptionFee: 0n,
  gibStoragePerSecondFee: 0n,
  computePercentAllocatedPerSecondFee: 0n,
  httpRequestLinearBaselineFee: 0n,
  httpRequestQuadraticBaselineFee: 0n,
  httpRequestPerByteFee: 0n,
  httpResponsePerByteFee: 0n,
  maxStorageReservationPeriod: 0n,
});

/** The largest inter-canister request or response payload: the response transmission every call prepays. */
export const MAX_INTER_CANISTER_PAYLOAD_IN_BYTES = 2n * 1024n * 1024n;
/** What an HTTPS outcall that names no `max_response_bytes` is charged for. */
export const MAX_CANISTER_HTTP_RESPONSE_BYTES = 2_000_000n;
export const SECONDS_PER_DAY = 86_400n;
const GIB = 1n << 30n;
/** Threshold keys live on the fiduciary subnet (34 nodes); signature fees scale with its size. */
const KEY_SUBNET_SIZE = 34n;

/** The fees of one subnet: its type's config, its size, its cost schedule, and its message instruction limit. */
export class Fees {
  readonly config: Readonly<FeeConfig>;
  readonly subnetSize: bigint;
  readonly costSchedule: 'Normal' | 'Free';
  /**
   * The cycles account manager's `max_num_instructions`: the subnet's limit per
   * message, which every call prepays for the execution of its response.
   */
  readonly maxInstructionsPerMessage: bigint;

  constructor(
    config: Readonly<FeeConfig>,
    subnetSize: number,
    costSchedule: 'Normal' | 'Free',
    maxInstructionsPerMessage: bigint,
  ) {
    this.config = config;
    this.subnetSize = BigInt(subnetSize);
    this.costSchedule = costSchedule;
    this.maxInstructionsPerMessage = maxInstructionsPerMessage;
  }

  /** The fees of a subnet of `kind` with `size` nodes. */
  static forSubnet(
    kind: SubnetKind,
    size: number,
    costSchedule: 'Normal' | 'Free',
    maxInstructionsPerMessage: bigint,
  ): Fees {
    const config = subnetTypeOf(kind) === 'System' ? SYSTEM_SUBNET_FEES : APPLICATION_SUBNET_FEES;
    return new Fees(config, size, costSchedule, maxInstructionsPerMessage);
  }

  /** True when the subnet charges nothing (PocketIC's `CanisterCyclesCostSchedule::Free`). */
  get free(): boolean {
    return this.costSchedule === 'Free';
  }

  /**
   * `scale_cost`: a fee for the reference subnet size, scaled to this subnet's
   * size; the real part of the `CompoundCycles`, which is 0 on a `Free` subnet.
   */
  #scale(cycles: bigint): bigint {
    if (this.free) return 0n;
    return (cycles * this.subnetSize) / this.config.referenceSubnetSize;
  }

  /** Deducted from the cycles a `create_canister` call attaches. */
  canisterCreationFee(): bigint {
    return this.#scale(this.config.canisterCreationFee);
  }

  /** An ingress message of `bytes` (the whole signed envelope), paid by the canister it targets. */
  ingressInductionCost(bytes: bigint): bigint {
    return (
      this.#scale(this.config.ingressMessageReceptionFee) +
      this.#scale(this.config.ingressByteReceptionFee) * bytes
    );
  }

  /** `convert_instructions_to_cycles` (unscaled). */
  #instructionCycles(instructions: bigint, wasm64: boolean): bigint {
    const fee = wasm64
      ? this.config.tenUpdateInstructionsExecutionFeeWasm64
      : this.config.tenUpdateInstructionsExecutionFee;
    return (fee * instructions) / 10n;
  }

  /** `execution_cost`: the per-message fee plus `instructions`, what an execution prepays at its limit. */
  executionCost(instructions: bigint, wasm64: boolean): bigint {
    return this.#scale(this.config.updateMessageExecutionFee + this.#instructionCycles(instructions, wasm64));
  }

  /**
   * `refund_unused_execution_cycles`: what an execution that prepaid `prepaid`
   * gets back for the `instructionsLeft` it did not use (never more than it prepaid).
   */
  executionRefund(instructionsLeft: bigint, wasm64: boolean, prepaid: bigint): bigint {
    const refund = this.#scale(this.#instructionCycles(instructionsLeft, wasm64));
    return refund < prepaid ? refund : prepaid;
  }

  /** `management_canister_cost`: instructions the management canister charges for (no per-message fee, Wasm32 price). */
  managementCanisterCost(instructions: bigint): bigint {
    return this.#scale(this.#instructionCycles(instructions, false));
  }

  /**
   * `xnet_total_transmission_fee`: a call's fee, its request's bytes (`payloadBytes`:
   * method name and argument) and the transmission of the largest possible response.
   */
  callTransmissionPrepayment(payloadBytes: bigint): bigint {
    return (
      this.#scale(this.config.xnetCallFee) +
      this.#scale(this.config.xnetByteTransmissionFee * payloadBytes) +
      this.responseTransmissionPrepayment()
    );
  }

  /** `prepayment_for_response_transmission`: the largest response's bytes. */
  responseTransmissionPrepayment(): bigint {
    return this.#scale(this.config.xnetByteTransmissionFee * MAX_INTER_CANISTER_PAYLOAD_IN_BYTES);
  }

  /** `prepayment_for_response_execution`: executing the longest possible callback. */
  responseExecutionPrepayment(wasm64: boolean): bigint {
    return this.executionCost(this.maxInstructionsPerMessage, wasm64);
  }

  /**
   * `refund_for_response_transmission`: what a call that prepaid `prepaid` for
   * its response gets back once the response (`responseBytes`) arrived.
   */
  responseTransmissionRefund(prepaid: bigint, responseBytes: bigint): bigint {
    const cost = this.#scale(this.config.xnetByteTransmissionFee * responseBytes);
    return prepaid > cost ? prepaid - cost : 0n;
  }

  /** `xnet_call_total_fee`, `ic0.cost_call`: what `call_perform` withdraws above the freezing threshold. */
  callTotalFee(payloadBytes: bigint, wasm64: boolean): bigint {
    return this.callTransmissionPrepayment(payloadBytes) + this.responseExecutionPrepayment(wasm64);
  }

  /**
   * `storage_reservation_cycles`: what allocating `allocatedBytes` more on a subnet whose
   * canisters take `subnetUsage` bytes moves into the canister's reserved balance. Nothing below
   * the subnet's memory threshold; above it, the area under a line that grows from 0 at the
   * threshold to `max_storage_reservation_period` seconds of storage at the capacity
   * (`total_storage_reservation_cycles`, `ResourceSaturation::reservation_factor`).
   */
  storageReservationCycles(allocatedBytes: bigint, subnetUsage: bigint): bigint {
    return this.#totalReservation(subnetUsage + allocatedBytes) - this.#totalReservation(subnetUsage);
  }

  #totalReservation(usage: bigint): bigint {
    const above = usage > SUBNET_MEMORY_THRESHOLD ? usage - SUBNET_MEMORY_THRESHOLD : 0n;
    const capacity = SUBNET_MEMORY_CAPACITY - SUBNET_MEMORY_THRESHOLD;
    const factor = (this.config.maxStorageReservationPeriod * above) / capacity;
    // `Duration::from_secs(factor) / 2`, then `as_secs()`: whole seconds.
    return this.memoryCost(above, factor / 2n);
  }

  /** `memory_cost`: `bytes` stored for `seconds`. */
  memoryCost(bytes: bigint, seconds: bigint): bigint {
    return this.#scale((bytes * this.config.gibStoragePerSecondFee * seconds) / GIB);
  }

  /** `compute_allocation_cost`: `percent` of compute allocation held for `seconds`. */
  computeAllocationCost(percent: bigint, seconds: bigint): bigint {
    return this.#scale(this.config.computePercentAllocatedPerSecondFee * seconds * percent);
  }

  /**
   * `idle_cycles_burned_rate`, per resource: a day of storage (the memory
   * allocation, or the usage when above it or best-effort) and a day of compute
   * allocation. `canister_status` reports their sum.
   */
  idleCyclesBurnedPerDay(
    memoryAllocation: bigint,
    memoryUsage: bigint,
    messageMemoryUsage: bigint,
    computeAllocation: bigint,
  ): { memory: bigint; messageMemory: bigint; computeAllocation: bigint } {
    const allocated = memoryAllocation > memoryUsage ? memoryAllocation : memoryUsage;
    return {
      memory: this.memoryCost(allocated, SECONDS_PER_DAY),
      // Message memory is priced as storage, outside the memory allocation
      // (`idle_cycles_burned_rate_by_resource`).
      messageMemory: this.memoryCost(messageMemoryUsage, SECONDS_PER_DAY),
      computeAllocation: this.computeAllocationCost(computeAllocation, SECONDS_PER_DAY),
    };
  }

  /**
   * `freeze_threshold_cycles`: the idle burn of `freezingThreshold` seconds, less
   * the reserved balance (saturating): a canister must keep this much.
   */
  freezingThreshold(idlePerDay: bigint, freezingThreshold: bigint, reservedBalance: bigint): bigint {
    const threshold = (idlePerDay * freezingThreshold) / SECONDS_PER_DAY;
    return threshold > reservedBalance ? threshold - reservedBalance : 0n;
  }

  /**
   * `http_request_fee`: an HTTPS outcall of `requestSize` bytes (URL, headers, body,
   * transform name and context) that may receive `maxResponseBytes`. Not scaled: the
   * subnet size enters the formula itself.
   */
  httpRequestFee(requestSize: bigint, maxResponseBytes: bigint | undefined): bigint {
    if (this.free) return 0n;
    const n = this.subnetSize;
    const c = this.config;
    const response = maxResponseBytes ?? MAX_CANISTER_HTTP_RESPONSE_BYTES;
    return (
      (c.httpRequestLinearBaselineFee +
        c.httpRequestQuadraticBaselineFee * n +
        c.httpRequestPerByteFee * requestSize +
        c.httpResponsePerByteFee * response) *
      n
    );
  }

  /** A threshold signature (or vetKD derivation), priced for the 34-node subnet that holds the keys. */
  signatureFee(kind: 'ecdsa' | 'schnorr' | 'vetkd'): bigint {
    if (this.free) return 0n;
    const fee =
      kind === 'ecdsa'
        ? this.config.ecdsaSignatureFee
        : kind === 'schnorr'
          ? this.config.schnorrSignatureFee
          : this.config.vetkdFee;
    return (fee * KEY_SUBNET_SIZE) / this.config.referenceSubnetSize;
  }
}
