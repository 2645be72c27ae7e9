/**
 * Reject codes and error codes of the Internet Computer.
 *
 * Numbers and names: IC interface specification §Reject codes, and
 * dfinity/ic `rs/types/error_types/src/lib.rs` (`ErrorCode`); the leading digit
 * of an error code is its reject code. PocketIC's JSON carries the names
 * (`packages/pocket-ic/src/lib.rs`, serde derive), the replica's text form is
 * `IC0503`.
 */

export const RejectCode = {
  SysFatal: 1,
  SysTransient: 2,
  DestinationInvalid: 3,
  CanisterReject: 4,
  CanisterError: 5,
  SysUnknown: 6,
} as const;
export type RejectCodeName = keyof typeof RejectCode;

export const ErrorCode = {
  SubnetOversubscribed: 101,
  MaxNumberOfCanistersReached: 102,
  CanisterQueueFull: 201,
  IngressMessageTimeout: 202,
  CanisterQueueNotEmpty: 203,
  IngressHistoryFull: 204,
  CanisterIdAlreadyExists: 205,
  StopCanisterRequestTimeout: 206,
  CanisterOutOfCycles: 207,
  CertifiedStateUnavailable: 208,
  CanisterInstallCodeRateLimited: 209,
  CanisterHeapDeltaRateLimited: 210,
  CanisterNotFound: 301,
  CanisterSnapshotNotFound: 305,
  InsufficientMemoryAllocation: 402,
  InsufficientCyclesForCreateCanister: 403,
  SubnetNotFound: 404,
  CanisterNotHostedBySubnet: 405,
  CanisterRejectedMessage: 406,
  UnknownManagementMessage: 407,
  InvalidManagementPayload: 408,
  CanisterSnapshotImmutable: 409,
  CanisterTrapped: 502,
  CanisterCalledTrap: 503,
  CanisterContractViolation: 504,
  CanisterInvalidWasm: 505,
  CanisterDidNotReply: 506,
  CanisterOutOfMemory: 507,
  CanisterStopped: 508,
  CanisterStopping: 509,
  CanisterNotStopped: 510,
  CanisterStoppingCancelled: 511,
  CanisterInvalidController: 512,
  CanisterFunctionNotFound: 513,
  CanisterNonEmpty: 514,
  QueryCallGraphLoopDetected: 517,
  InsufficientCyclesInCall: 520,
  CanisterWasmEngineError: 521,
  CanisterInstructionLimitExceeded: 522,
  CanisterMemoryAccessLimitExceeded: 524,
  QueryCallGraphTooDeep: 525,
  QueryCallGraphTotalInstructionLimitExceeded: 526,
  CompositeQueryCalledInReplicatedMode: 527,
  QueryTimeLimitExceeded: 528,
  QueryCallGraphInternal: 529,
  InsufficientCyclesInComputeAllocation: 530,
  InsufficientCyclesInMemoryAllocation: 531,
  InsufficientCyclesInMemoryGrow: 532,
  ReservedCyclesLimitExceededInMemoryAllocation: 533,
  ReservedCyclesLimitExceededInMemoryGrow: 534,
  InsufficientCyclesInMessageMemoryGrow: 535,
  CanisterMethodNotFound: 536,
  CanisterWasmModuleNotFound: 537,
  CanisterAlreadyInstalled: 538,
  CanisterWasmMemoryLimitExceeded: 539,
  ReservedCyclesLimitIsTooLow: 540,
  DeadlineExpired: 601,
  ResponseDropped: 602,
} as const;
export type ErrorCodeName = keyof typeof ErrorCode;

/** `IC0503` from `CanisterCalledTrap`. */
export function errorCodeText(code: ErrorCodeName): string {
  return `IC${String(ErrorCode[code]).padStart(4, '0')}`;
}

/** The reject code implied by an error code: its leading digit. */
export function rejectCodeOf(code: ErrorCodeName): RejectCodeName {
  const digit = Math.floor(ErrorCode[code] / 100);
  const name = (Object.keys(RejectCode) as RejectCodeName[]).find((k) => RejectCode[k] === digit);
  if (!name) throw new Error(`error code ${code} has no reject code`);
  return name;
}

/**
 * A user-visible failure of a message: what PocketIC calls `UserError` and
 * turns into a `RejectResponse`.
 */
export class UserError extends Error {
  readonly errorCode: ErrorCodeName;
  readonly rejectCode: RejectCodeName;
  constructor(
    errorCode: ErrorCodeName,
    message: string,
    rejectCode: RejectCodeName = rejectCodeOf(errorCode),
  ) {
    super(message);
    this.name = 'UserError';
    this.errorCode = errorCode;
    this.rejectCode = rejectCode;
  }
}

/**
 * An error of the simulator's own API (bad argument, unknown canister or
 * subnet, time set into the past). Its `message` follows the `Debug` text of
 * PocketIC's `PocketIcError` (`rs/pocket_ic_server/src/state_api/state.rs`),
 * e.g. `SettingTimeIntoPast((1, 0))`, because PicJS users match on it.
 */
export class InstanceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InstanceError';
  }
}
