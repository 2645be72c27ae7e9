/**
 * What a call produces, one vocabulary from execution to the adapters: a
 * reply, or a reject with its reject code, error code and message. Make
 * them with the factories below, never as literals, so the codes and the
 * texts a calling canister reads stay in one place.
 *
 * A reject is read two ways, as in the replica: a user (ingress sender,
 * query caller) gets the reject code, the error code and `message`; a
 * calling canister gets the reject code and `callerMessage` (its
 * `RejectContext`), which for the system's errors is `IC0503: <message>`.
 */
import {
  didNotReply,
  errorCodeText,
  type ErrorCodeName,
  type RejectCodeName,
  type UserError,
} from './errors.ts';

export interface Reply {
  status: 'replied';
  reply: Uint8Array;
}

export interface Reject {
  status: 'rejected';
  rejectCode: RejectCodeName;
  errorCode: ErrorCodeName;
  message: string;
  /** What a calling canister reads with `msg_reject_msg`, when it is not `message`. */
  callerMessage?: string;
}

export type CallResult = Reply | Reject;

export function reply(bytes: Uint8Array): Reply {
  return { status: 'replied', reply: bytes };
}

/**
 * A reject as its maker worded it, read the same by users and canisters: a
 * canister's `msg_reject` (`CanisterReject`), a mocked HTTPS outcall's
 * reject, an expired bounded-wait call.
 */
export function reject(
  rejectCode: RejectCodeName,
  message: string,
  errorCode: ErrorCodeName = 'CanisterRejectedMessage',
): Reject {
  return { status: 'rejected', rejectCode, errorCode, message };
}

/** A failure of the system (a trap, a missing canister …): a calling canister reads `IC0503: <message>` (`UserError`'s Display). */
export function rejectWith(error: UserError): Reject {
  return {
    status: 'rejected',
    rejectCode: error.rejectCode,
    errorCode: error.errorCode,
    message: error.message,
    callerMessage: `${errorCodeText(error.errorCode)}: ${error.message}`,
  };
}

/**
 * A call context that ended with no reply and no outstanding calls (IC
 * interface specification, "Abstract behavior"; the replica's
 * `CallContextAction::NoResponse`): a calling canister reads "No response".
 */
export function noResponse(canisterId: string): Reject {
  return { ...rejectWith(didNotReply(canisterId)), callerMessage: 'No response' };
}

/** What a calling canister reads of a reject (`msg_reject_msg`). */
export function callerMessage(r: Reject): string {
  return r.callerMessage ?? r.message;
}
