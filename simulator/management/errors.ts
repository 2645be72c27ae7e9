/**
 * Errors of the management canister, as the replica's `CanisterManagerError`
 * renders them (dfinity/ic `rs/execution_environment/src/canister_manager/types.rs`,
 * `impl From<CanisterManagerError> for UserError` and its `error_help`).
 */
import type { Principal } from '@icp-sdk/core/principal';
import { EXECUTION_ERRORS_DOCS as DOCS, UserError } from '../errors.ts';
import { displayCycles } from '../cycles/account.ts';
const help = (suggestion: string, anchor: string): string =>
  `\n${suggestion} See documentation: ${DOCS}${anchor}`;

export const canisterNotFound = (id: Principal | string): UserError =>
  new UserError(
    'CanisterNotFound',
    `Canister ${id.toString()} not found.${help('Check the ICP dashboard to ensure the canister exists.', 'canister-not-found')}`,
  );

export const invalidController = (id: Principal, controllers: Principal[], sender: Principal): UserError =>
  new UserError(
    'CanisterInvalidController',
    `Only the controllers of the canister ${id.toText()} can control it.\n` +
      `Canister's controllers: ${controllers.map((c) => c.toText()).join(' ')}\n` +
      `Sender's ID: ${sender.toText()}` +
      help(
        'Execute this call from a controller of the target canister or add the current caller as a controller.',
        'invalid-controller',
      ),
  );

export const canisterNonEmpty = (id: Principal): UserError =>
  new UserError(
    'CanisterNonEmpty',
    `Canister ${id.toText()} cannot be installed because the canister is not empty. Try installing with mode='reinstall' instead.` +
      help(
        "Check that you want to overwrite the canister and, if so, use mode='reinstall'.",
        'canister-not-empty',
      ),
  );

export const deleteNotStopped = (id: Principal): UserError =>
  new UserError(
    'CanisterNotStopped',
    `Canister ${id.toText()} must be stopped before it is deleted.${help('Stop the canister before deleting it.', 'delete-canister-not-stopped')}`,
  );

export const deleteSelf = (id: Principal): UserError =>
  new UserError(
    'CanisterInvalidController',
    `Canister ${id.toText()} cannot delete itself.${help('Delete the canister from one of its other controllers.', 'delete-canister-self')}`,
  );

export const idAlreadyExists = (id: Principal): UserError =>
  new UserError(
    'CanisterIdAlreadyExists',
    `Unsuccessful canister creation: canister id ${id.toText()} already exists.`,
  );

export const invalidSettings = (message: string): UserError =>
  new UserError(
    'CanisterContractViolation',
    `Could not validate the settings: ${message} ${help('Apply the described changes to make the settings valid.', 'invalid-settings').slice(1)}`,
  );

export const chunkStoreError = (message: string): UserError =>
  new UserError(
    'CanisterContractViolation',
    `Error from Wasm chunk store: ${message}.` +
      help(
        'Use the `stored_chunks` API to check which hashes are present or top up the canister if it is low on cycles.',
        'wasm-chunk-store-error',
      ),
  );

/**
 * A payload that does not decode as the method's Candid argument
 * (dfinity/ic `rs/types/management_canister_types`, `candid_error_to_user_error`).
 */
export const invalidPayload = (detail: string): UserError =>
  new UserError('InvalidManagementPayload', `Error decoding candid: ${detail}`);

export const unknownMethod = (method: string): UserError =>
  new UserError('CanisterMethodNotFound', `Management canister has no method '${method}'`);

export const notViaIngress = (method: string): UserError =>
  new UserError('CanisterRejectedMessage', `ic00 method ${method} can not be called via ingress messages`);

/**
 * A canister's call to aaaaa-aa whose `sender_canister_version` is not the caller's version
 * (dfinity/ic rs/embedders/src/wasmtime_embedder/system_api/sandbox_safe_system_state.rs,
 * `validate_sender_canister_version`; the call is rejected back to the caller).
 */
export const senderCanisterVersionMismatch = (claimed: bigint, actual: bigint): UserError =>
  new UserError(
    'CanisterContractViolation',
    `Management canister call payload includes sender canister version ${claimed} that does not match the actual sender canister version ${actual}.`,
  );

export const onlyCanisters = (method: string): UserError =>
  new UserError('CanisterContractViolation', `Only canisters can call ic00 method ${method}`);

/**
 * `create_canister` with fewer cycles than the creation fee
 * (`CreateCanisterNotEnoughCycles` in dfinity/ic `rs/execution_environment/src/canister_manager/types.rs`).
 */
export const createCanisterNotEnoughCycles = (sent: bigint, required: bigint): UserError =>
  new UserError(
    'InsufficientCyclesForCreateCanister',
    `Creating a canister requires a fee of ${displayCycles(required)} that is deducted from the canister's initial balance but only ${displayCycles(sent)} cycles were received with the create_canister request.` +
      help('Try sending more cycles with the request.', 'create-canister-not-enough-cycles'),
  );

/** An install the target canister cannot prepay (`InstallCodeNotEnoughCycles`), wrapping the out-of-cycles text. */
export const installCodeNotEnoughCycles = (outOfCycles: string): UserError =>
  new UserError(
    'CanisterOutOfCycles',
    `Canister installation failed with \`${outOfCycles}\`.` +
      help('Top up the canister with more cycles.', 'install-code-not-enough-cycles'),
  );

/**
 * A byte count as the replica's `NumBytes::display` writes it (dfinity/ic
 * rs/types/base_types: `byte_unit`'s most appropriate binary unit, two decimals,
 * none for plain bytes).
 */
export function displayBytes(bytes: bigint): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  if (bytes < 1024n) return `${bytes} B`;
  let unit = -1;
  let scale = 1n;
  while (unit + 1 < units.length && bytes >= scale * 1024n) {
    scale *= 1024n;
    unit++;
  }
  return `${(Number(bytes) / Number(scale)).toFixed(2)} ${units[unit]!}`;
}

/**
 * `InsufficientCyclesInComputeAllocation` / `InsufficientCyclesInMemoryAllocation`:
 * an allocation increase the balance cannot keep above the freezing threshold.
 */
export const insufficientCyclesInAllocation = (
  kind: 'compute' | 'memory',
  allocation: bigint,
  balance: bigint,
  threshold: bigint,
): UserError =>
  kind === 'compute'
    ? new UserError(
        'InsufficientCyclesInComputeAllocation',
        `Cannot increase compute allocation to ${allocation}% due to insufficient cycles. At least ${displayCycles(threshold - balance)} additional cycles are required.` +
          help('Top up the canister with more cycles.', 'insufficient-cycles-in-compute-allocation'),
      )
    : new UserError(
        'InsufficientCyclesInMemoryAllocation',
        `Cannot increase memory allocation to ${displayBytes(allocation)} due to insufficient cycles. At least ${displayCycles(threshold - balance)} additional cycles are required.` +
          help('Top up the canister with more cycles.', 'insufficient-cycles-in-memory-allocation'),
      );

/**
 * `ReservedCyclesLimitExceededInMemoryAllocation`: the storage reservation a larger memory
 * allocation needs would take the reserved balance above `reserved_cycles_limit`.
 */
export const reservedCyclesLimitExceededInMemoryAllocation = (
  allocation: bigint,
  requested: bigint,
  limit: bigint,
): UserError =>
  new UserError(
    'ReservedCyclesLimitExceededInMemoryAllocation',
    `Cannot increase memory allocation to ${displayBytes(allocation)} due to its reserved cycles limit. The current limit (${displayCycles(limit)}) would be exceeded by ${displayCycles(requested - limit)}.` +
      help(
        "Try increasing this canister's reserved cycles limit or moving it to a subnet with lower memory usage.",
        'reserved-cycles-limit-exceeded-in-memory-allocation',
      ),
  );

/**
 * `ReservedCyclesLimitIsTooLow`: a `reserved_cycles_limit` below what the canister has reserved.
 * (The replica's help links a bare anchor here, without the documentation's address.)
 */
export const reservedCyclesLimitIsTooLow = (reserved: bigint, limit: bigint): UserError =>
  new UserError(
    'ReservedCyclesLimitIsTooLow',
    `Cannot set the reserved cycles limit ${displayCycles(limit)} below the reserved cycles balance of the canister ${displayCycles(reserved)}.` +
      '\nSet the reserved cycles limit in the canister settings to a value that is at least the current reserved cycles balance. See documentation: reserved-cycles-limit-is-too-low',
  );
