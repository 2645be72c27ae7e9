/**
 * Errors of the canister snapshot methods, as the replica renders its
 * `CanisterManagerError` snapshot variants (dfinity/ic
 * `rs/execution_environment/src/canister_manager/types.rs`, `error_help` and
 * `impl From<CanisterManagerError> for UserError`). Some help texts link to a
 * bare anchor: the replica prints them that way.
 */
import type { Principal } from '@icp-sdk/core/principal';
import { EXECUTION_ERRORS_DOCS as DOCS, UserError } from '../errors.ts';

/** `ErrorHelp::UserError`'s Display, after a newline. */
const help = (suggestion: string, link: string): string => `\n${suggestion} See documentation: ${link}`;
const LIST_HELP = 'Use the `list_canister_snapshot` API to see which snapshots are present.';

/** A snapshot id as the replica prints it: `<canister id>-<local id>` (`SnapshotId`'s Display). */
export type SnapshotIdText = string;

export const snapshotNotFound = (canister: Principal, snapshot: SnapshotIdText): UserError =>
  new UserError(
    'CanisterSnapshotNotFound',
    `Could not find the snapshot ID ${snapshot} for canister ${canister.toText()}.` +
      help(LIST_HELP, `${DOCS}canister-snapshot-not-found`),
  );

export const invalidOwnership = (canister: Principal, snapshot: SnapshotIdText): UserError =>
  new UserError(
    'CanisterRejectedMessage',
    `The snapshot ${snapshot} does not belong to canister ${canister.toText()}.` +
      help(LIST_HELP, `${DOCS}canister-snapshot-invalid-ownership`),
  );

/** `CanisterSnapshotNotController`: loading another canister's snapshot needs control of that canister too. */
export const notController = (sender: Principal, canister: Principal, snapshot: SnapshotIdText): UserError =>
  new UserError(
    'CanisterRejectedMessage',
    `Only a controller of the canister that snapshot ${snapshot} belongs to can load it on canister ${canister.toText()}. Sender: ${sender.toText()}.`,
  );

/** `CanisterSnapshotExecutionStateNotFound`: an empty canister has nothing to snapshot. */
export const emptyCanister = (canister: Principal): UserError =>
  new UserError(
    'CanisterRejectedMessage',
    `Failed to create snapshot for empty canister ${canister.toText()}:`,
  );

export const limitExceeded = (canister: Principal, limit: number): UserError =>
  new UserError(
    'CanisterRejectedMessage',
    `Canister ${canister.toText()} has reached the maximum number of snapshots allowed: ${limit}.` +
      help(
        'Consider deleting an unnecessary snapshot of the specified canister before creating a new one.',
        'canister-snapshot-limit-exceeded',
      ),
  );

/** `CanisterSnapshotNotEnoughCycles`, wrapping the out-of-cycles text. */
export const notEnoughCycles = (outOfCycles: string): UserError =>
  new UserError(
    'CanisterOutOfCycles',
    `Canister snapshotting failed with: \`${outOfCycles}\`` +
      help('Try sending more cycles with the request.', 'canister-snapshot-not-enough-cycles'),
  );

export const immutable = (): UserError =>
  new UserError(
    'CanisterSnapshotImmutable',
    'Only canister snapshots created by metadata upload can be mutated.',
  );

export const invalidSlice = (offset: bigint, size: bigint): UserError =>
  new UserError(
    'InvalidManagementPayload',
    `Invalid subslice into wasm module / main memory / stable memory: offset: ${offset}, size: ${size}`,
  );

export const sliceTooLarge = (requested: bigint, allowed: bigint): UserError =>
  new UserError('InvalidManagementPayload', `Requested slice too large: ${requested} > ${allowed}`);

/** `CanisterSnapshotInconsistent`: an uploaded snapshot that does not fit its module. */
export const inconsistent = (message: string): UserError =>
  new UserError('InvalidManagementPayload', message);

/** `MetadataValidationError`, reported as the replica's Debug name of the variant. */
export const invalidMetadata = (variant: string): UserError =>
  new UserError('InvalidManagementPayload', `Snapshot Metadata contains invalid data: ${variant}`);
