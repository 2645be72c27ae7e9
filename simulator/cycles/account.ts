/**
 * A canister's cycles account: its freezing threshold, withdrawals that must
 * leave it above that threshold (with the replica's error when they cannot),
 * execution prepaid at the message's instruction limit and refunded for what
 * it did not use, and the periodic charge for storage and allocations that
 * uninstalls a canister that cannot pay. The prices come from `fees.ts`.
 *
 * Sources (dfinity/ic): `rs/cycles_account_manager/src/cycles_account_manager.rs`
 * (`freeze_threshold_cycles`, `consume_with_threshold`, `can_withdraw_cycles_with_threshold`,
 * `prepay_execution_cycles`, `refund_unused_execution_cycles`,
 * `charge_canister_for_resource_allocation_and_usage`); `rs/interfaces/src/execution_environment.rs`
 * (`CanisterOutOfCyclesError`'s text); `rs/execution_environment/src/scheduler.rs`
 * (`charge_canisters_for_resource_allocation_and_usage`: uninstall on failure).
 */
import type { CanisterState } from '../canister/state.ts';
import { UserError } from '../errors.ts';
import { SECONDS_PER_DAY } from './fees.ts';

/** Whether the canister runs a Wasm64 module, whose instructions cost twice as much. */
export function isWasm64(canister: CanisterState): boolean {
  return canister.runtime?.compiled.isWasm64 ?? false;
}

/**
 * The canister's idle burn per day by resource (storage, message memory, compute allocation), as
 * `canister_status` sums it and the periodic charge takes it.
 */
export function idleBurnByResource(canister: CanisterState): {
  memory: bigint;
  messageMemory: bigint;
  computeAllocation: bigint;
} {
  const s = canister.settings;
  return canister.fees.idleCyclesBurnedPerDay(
    s.memoryAllocation,
    canister.memorySize(),
    canister.messageMemoryUsage(),
    s.computeAllocation,
  );
}

/** `idle_cycles_burned_per_day` of `canister_status`. */
export function idleCyclesBurnedPerDay(canister: CanisterState): bigint {
  const rate = idleBurnByResource(canister);
  return rate.memory + rate.messageMemory + rate.computeAllocation;
}

/** What `freeze_threshold_cycles` reads: the allocations, usages, threshold seconds and reserve. */
interface ThresholdInputs {
  memoryAllocation: bigint;
  memoryUsage: bigint;
  messageMemoryUsage: bigint;
  computeAllocation: bigint;
  freezingThreshold: bigint;
  reservedBalance: bigint;
}

/**
 * `freeze_threshold_cycles`: the idle burn of the given allocations and usages over
 * `freezingThreshold` seconds, less the reserved balance, which pays for storage first.
 */
function thresholdOf(fees: CanisterState['fees'], t: ThresholdInputs): bigint {
  const rate = fees.idleCyclesBurnedPerDay(
    t.memoryAllocation,
    t.memoryUsage,
    t.messageMemoryUsage,
    t.computeAllocation,
  );
  return fees.freezingThreshold(
    rate.memory + rate.messageMemory + rate.computeAllocation,
    t.freezingThreshold,
    t.reservedBalance,
  );
}

/** The canister's own threshold inputs, with `changes` applied (a new usage or new settings). */
function thresholdInputs(canister: CanisterState, changes: Partial<ThresholdInputs> = {}): ThresholdInputs {
  const s = canister.settings;
  return {
    memoryAllocation: s.memoryAllocation,
    memoryUsage: canister.memorySize(),
    messageMemoryUsage: canister.messageMemoryUsage(),
    computeAllocation: s.computeAllocation,
    freezingThreshold: s.freezingThreshold,
    reservedBalance: canister.reservedBalance,
    ...changes,
  };
}

/** The balance the canister must keep. */
export function freezingThreshold(canister: CanisterState): bigint {
  return thresholdOf(canister.fees, thresholdInputs(canister));
}

/**
 * A cycles amount as the replica's `Cycles` displays it in error texts: digits
 * grouped by underscores, `1_234_567_890` (dfinity/ic rs/types/cycles,
 * `impl fmt::Display for Cycles`: `separate_with_underscores`).
 */
export function displayCycles(amount: bigint): string {
  return amount.toString().replace(/\B(?=(\d{3})+(?!\d))/g, '_');
}

/**
 * The freezing threshold the canister would have at `memoryUsage` bytes
 * (`check_freezing_threshold_for_memory_grow`): what growing memory must leave.
 */
export function freezingThresholdAtUsage(canister: CanisterState, memoryUsage: bigint): bigint {
  return thresholdOf(canister.fees, thresholdInputs(canister, { memoryUsage }));
}

/**
 * `CanisterOutOfCyclesError` as the replica words it: the top-up amount only
 * for a caller who controls the canister (`reveal_top_up`).
 */
export function outOfCyclesMessage(
  canisterId: string,
  available: bigint,
  requested: bigint,
  threshold: bigint,
  revealTopUp: boolean,
): string {
  if (!revealTopUp) return `Canister ${canisterId} is out of cycles`;
  const missing = threshold + requested - available;
  return `Canister ${canisterId} is out of cycles: please top up the canister with at least ${displayCycles(missing > 0n ? missing : 0n)} additional cycles`;
}

/**
 * `verify_cycles_balance_with_threshold`: the error when `amount` cannot leave
 * `balance` at or above `threshold`, else undefined.
 */
export function shortfall(
  canister: CanisterState,
  balance: bigint,
  amount: bigint,
  threshold: bigint,
  revealTopUp: boolean,
): UserError | undefined {
  const available = balance > threshold ? balance - threshold : 0n;
  if (amount <= available) return undefined;
  return new UserError(
    'CanisterOutOfCycles',
    outOfCyclesMessage(canister.idText, balance, amount, threshold, revealTopUp),
  );
}

/** `consume_with_threshold`: burns `amount` if the canister stays above its freezing threshold. */
export function consume(
  canister: CanisterState,
  amount: bigint,
  revealTopUp: boolean,
): UserError | undefined {
  const error = shortfall(canister, canister.balance, amount, freezingThreshold(canister), revealTopUp);
  if (!error) canister.balance -= amount;
  return error;
}

/**
 * `prepay_execution_cycles`: withdraws the execution of `instructionLimit`
 * instructions before a message runs; returns what was prepaid, or the error
 * the message fails with (IC0207) when the canister cannot pay it.
 */
export function prepayExecution(
  canister: CanisterState,
  instructionLimit: bigint,
  revealTopUp: boolean,
  wasm64: boolean = isWasm64(canister),
): bigint | UserError {
  const cost = canister.fees.executionCost(instructionLimit, wasm64);
  return consume(canister, cost, revealTopUp) ?? cost;
}

/** `refund_unused_execution_cycles`: gives back the instructions the execution did not use. */
export function refundExecution(
  canister: CanisterState,
  prepaid: bigint,
  instructionLimit: bigint,
  instructionsUsed: bigint,
  wasm64: boolean = isWasm64(canister),
): void {
  const left = instructionLimit > instructionsUsed ? instructionLimit - instructionsUsed : 0n;
  canister.balance += canister.fees.executionRefund(left, wasm64, prepaid);
}

/**
 * The end-of-round charge for storage, message memory and compute allocation: due when
 * `durationBetweenAllocationCharges` passed since the last one, for the whole
 * time since then, each resource down to a zero balance. Returns false when
 * the canister could not pay, in which case the caller uninstalls it.
 */
export function chargeForResources(canister: CanisterState, now: bigint): boolean {
  const fees = canister.fees;
  const every = fees.config.durationBetweenAllocationCharges * 1_000_000_000n;
  if (now - canister.lastAllocationCharge < every) return true;
  const seconds = (now - canister.lastAllocationCharge) / 1_000_000_000n;
  canister.lastAllocationCharge = now;
  const rate = idleBurnByResource(canister);
  for (const perDay of [rate.memory, rate.messageMemory, rate.computeAllocation]) {
    let cycles = (perDay * seconds) / SECONDS_PER_DAY;
    // Storage and allocations spend the reserved balance first (`consume_with_threshold`).
    const fromReserved = cycles < canister.reservedBalance ? cycles : canister.reservedBalance;
    canister.reservedBalance -= fromReserved;
    cycles -= fromReserved;
    if (cycles > canister.balance) return false;
    canister.balance -= cycles;
  }
  return true;
}

/**
 * Storage reservation for `allocatedBytes` more memory at the subnet's current usage
 * (`storage_reservation_cycles`), checked against the canister's `reserved_cycles_limit` and
 * its main balance (no freezing threshold: `reserve_cycles` moves cycles between balances).
 * Returns the cycles to move, or why they cannot be.
 */
export function storageReservation(
  canister: CanisterState,
  allocatedBytes: bigint,
  limit: bigint = canister.settings.reservedCyclesLimit,
  subnetUsage: bigint = canister.subnetMemoryUsage(),
): { cycles: bigint } | { exceeded: bigint; limit: bigint } | { insufficient: bigint } {
  if (allocatedBytes <= 0n) return { cycles: 0n };
  const cycles = canister.fees.storageReservationCycles(allocatedBytes, subnetUsage);
  if (cycles === 0n) return { cycles };
  if (canister.reservedBalance + cycles > limit)
    return { exceeded: canister.reservedBalance + cycles, limit };
  if (canister.balance < cycles) return { insufficient: cycles };
  return { cycles };
}

/** Moves `cycles` from the main balance to the reserved balance. */
export function reserveCycles(canister: CanisterState, cycles: bigint): void {
  canister.balance -= cycles;
  canister.reservedBalance += cycles;
}

/** The allocations and freezing threshold `update_settings` or `create_canister` would leave. */
export interface NewAllocations {
  computeAllocation: bigint;
  memoryAllocation: bigint;
  freezingThreshold: bigint;
}

/**
 * `validate_canister_settings`' affordability check: when the balance is below
 * the freezing threshold the new settings imply, a larger compute or memory
 * allocation is refused (an unchanged or smaller one is not, so a freezing
 * threshold can still be raised until the canister freezes). Returns which
 * allocation failed and the threshold, or undefined.
 */
export function unaffordableAllocation(
  canister: CanisterState | undefined,
  balance: bigint,
  next: NewAllocations,
  fees: CanisterState['fees'],
): { kind: 'compute' | 'memory'; threshold: bigint } | undefined {
  const current = canister?.settings ?? { computeAllocation: 0n, memoryAllocation: 0n };
  // A canister about to be created has no usage and no reserve yet.
  const threshold = thresholdOf(
    fees,
    canister
      ? thresholdInputs(canister, next)
      : { ...next, memoryUsage: 0n, messageMemoryUsage: 0n, reservedBalance: 0n },
  );
  if (balance >= threshold) return undefined;
  if (next.computeAllocation > current.computeAllocation) return { kind: 'compute', threshold };
  if (next.memoryAllocation > current.memoryAllocation) return { kind: 'memory', threshold };
  return undefined;
}
