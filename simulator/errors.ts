/**
 * Reject codes and error codes of the Internet Computer.
 *
 * Numbers and names: IC interface specification §Reject codes, and
 * dfinity/ic `rs/types/error_types/src/lib.rs` (`ErrorCode`); the leading digit
 * of an error code is its reject code. PocketIC's JSON carries the names
 * (`packages/pocket-ic/src/lib.rs`, serde derive), the replica's text form is
 * `IC0503`.
 */
import type { Principal } from '@icp-sdk/core/principal';

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

/** The name of reject code `code` (1–6), undefined for any other number. */
export function rejectCodeName(code: number): RejectCodeName | undefined {
  return (Object.keys(RejectCode) as RejectCodeName[]).find((k) => RejectCode[k] === code);
}

/** The reject code implied by an error code: its leading digit. */
export function rejectCodeOf(code: ErrorCodeName): RejectCodeName {
  const name = rejectCodeName(Math.floor(ErrorCode[code] / 100));
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

/** The replica's documentation of execution errors, which its error texts link to. */
export const EXECUTION_ERRORS_DOCS = 'https://internetcomputer.org/docs/current/references/execution-errors#';

/** `CanisterNotFound` as the ingress filter and the router word it (rs/execution_environment `canister_not_found_error`). */
export function canisterNotFound(id: Principal): UserError {
  return new UserError('CanisterNotFound', `Canister ${id.toText()} not found`);
}

/** `CanisterDidNotReply` as an ingress sender or a query caller sees it (replica: `CallContextAction::NoResponse`). */
export function didNotReply(canisterId: string): UserError {
  return new UserError('CanisterDidNotReply', `Canister ${canisterId} did not reply to the call`);
}

/** The replica's refusal of an ingress message above the subnet's size limit (HTTP 413 on the IC HTTP interface). */
export function ingressTooLargeText(idHex: string, size: number, limit: number): string {
  return `Request 0x${idHex} is too large. Message byte size ${size} is larger than the max allowed ${limit}.`;
}

/** The longest delay `setTimeout`/`setInterval` take; a longer one fires after 1 ms instead. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * Refuses a live-mode delay that a Node timer cannot wait, which would otherwise tick every millisecond.
 * @throws InstanceError `InvalidAutoProgressDelay`
 */
export function checkAutoProgressDelay(ms: number): void {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_TIMER_DELAY_MS)
    throw new InstanceError('InvalidAutoProgressDelay', ms);
}

/**
 * Every failure of the simulator's own API, one kind each, with its message:
 * the `Debug` text of PocketIC's `PocketIcError` (or of the server error it
 * wraps) where PocketIC has one, because PicJS users match on it. `errorCode`
 * is the IC error code of the same failure, where the IC has one.
 */
const INSTANCE_ERRORS = {
  BadConfig: { message: (detail: string) => `Bad config: ${detail}` },
  SettingTimeIntoPast: {
    message: (current: bigint, requested: bigint) => `SettingTimeIntoPast((${current}, ${requested}))`,
  },
  /** `await_ingress_message` ran out of rounds. */
  IngressTimeout: {
    message: (id: string, rounds: number) =>
      `BadIngressMessage("Failed to answer to ingress ${id} after ${rounds} rounds.")`,
    errorCode: 'IngressMessageTimeout',
  },
  /**
   * An ingress message above its subnet's `max_ingress_bytes_per_message`: the replica's text
   * (`rs/http_endpoints/public/src/call.rs`, `rs/state_machine_tests/src/lib.rs`), which PocketIC
   * wraps in `BadIngressMessage`.
   */
  IngressTooLarge: {
    message: (idHex: string, size: number, limit: number) =>
      `BadIngressMessage("${ingressTooLargeText(idHex, size, limit)}")`,
  },
  /** A management call whose target canister cannot be decoded, so it cannot be routed. */
  UnroutableManagementCall: {
    message: (method: string) =>
      `BadIngressMessage("Failed to decode the canister_id of management method ${method}; pass an effective principal")`,
  },
  /** Ingress status asked by someone other than the sender. */
  ForbiddenIngressStatus: {
    message: () => `Forbidden("The user tries to access Request ID not signed by the caller.")`,
  },
  SubnetNotFound: {
    message: (id: Principal) => `SubnetNotFound(${id.toText()})`,
    errorCode: 'SubnetNotFound',
  },
  /** No subnet's canister ranges contain the call's target. */
  CanisterRequestRoutingError: {
    message: (id: Principal) =>
      `CanisterRequestRoutingError("Canister ${id.toText()} does not belong to any subnet.")`,
    errorCode: 'CanisterNotFound',
  },
  CanisterNotFound: {
    message: (id: Principal) => `CanisterNotFound(${id.toText()})`,
    errorCode: 'CanisterNotFound',
  },
  CanisterIsEmpty: {
    message: (id: Principal) => `CanisterIsEmpty(${id.toText()})`,
    errorCode: 'CanisterWasmModuleNotFound',
  },
  InvalidCanisterHttpRequestId: {
    message: (subnet: Principal, requestId: number) =>
      `InvalidCanisterHttpRequestId((${subnet.toText()}, ${requestId}))`,
  },
  InvalidMockCanisterHttpResponses: {
    message: (given: number, expected: number) => `InvalidMockCanisterHttpResponses((${given}, ${expected}))`,
  },
  InvalidRejectCode: { message: (code: number) => `InvalidRejectCode(${code})` },
  AutoProgressEnabled: { message: () => 'Auto progress mode has already been enabled.' },
  /** icsim only: live-mode rounds run on a Node timer, whose delay is at most 2^31 − 1 ms. */
  InvalidAutoProgressDelay: {
    message: (ms: number) =>
      `artificial_delay_ms ${ms} is out of range: icsim accepts 0 to ${MAX_TIMER_DELAY_MS} ms (the longest delay of a Node timer)`,
  },
  InstanceNotFound: { message: () => 'UpdateError { message: "Instance not found" }' },
  InstanceDeleted: { message: () => 'UpdateError { message: "Instance was deleted" }' },
  BadMessageId: { message: () => 'ConversionError { message: "Bad message id" }' },
  /** icsim only: `revert` to an id that `snapshot` never returned, or that a revert to an older one dropped. */
  InstanceSnapshotNotFound: {
    message: (id: number) =>
      `icsim: no instance snapshot ${id} (never taken, or dropped by a revert to an older one)`,
  },
  /** icsim only: an injected fault that cannot apply (simulator/mocks/). */
  BadFault: { message: (detail: string) => `icsim: bad fault: ${detail}` },
} satisfies Record<string, { message: (...args: never[]) => string; errorCode?: ErrorCodeName }>;

export type InstanceErrorKind = keyof typeof INSTANCE_ERRORS;
type MessageArgs<K extends InstanceErrorKind> = Parameters<(typeof INSTANCE_ERRORS)[K]['message']>;

/**
 * An error of the simulator's own API (bad argument, unknown canister or
 * subnet, time set into the past, deleted instance): adapters branch on
 * `kind`, never on the message.
 */
export class InstanceError<K extends InstanceErrorKind = InstanceErrorKind> extends Error {
  readonly kind: K;
  /** The IC error code of the same failure, where there is one. */
  readonly errorCode: ErrorCodeName | undefined;
  /** The reject code of `errorCode`. */
  readonly rejectCode: RejectCodeName | undefined;
  constructor(kind: K, ...args: MessageArgs<K>) {
    // TypeScript cannot correlate `kind` with its entry's parameters; `MessageArgs<K>` checked them at the call.
    const entry = INSTANCE_ERRORS[kind] as {
      message: (...a: MessageArgs<K>) => string;
      errorCode?: ErrorCodeName;
    };
    super(entry.message(...args));
    this.name = 'InstanceError';
    this.kind = kind;
    this.errorCode = entry.errorCode;
    this.rejectCode = entry.errorCode && rejectCodeOf(entry.errorCode);
  }
}
