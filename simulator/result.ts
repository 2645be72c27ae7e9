/**
 * What a call produces, one vocabulary from execution to the adapters: a
 * reply, or a reject with its reject code, error code and message. Make
 * them with the factories below, never as literals, so the codes and the
 * texts a calling canister reads stay in one place.
 *
 * A reject is read two ways, as in the replica: a user (ingress sender,
 * query caller) gets the reject code, the error code and `message`; a
 * calling canister gets the reject code and `callerMessage` (its
 * `RejectContext`), which for a failed execution is `IC0503: <message>` and
 * for the other failures of the system the bare message.
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
  /** icsim's addition, in process only: the traps in this ingress message's call tree ({@link TrapReport}). */
  traps?: readonly TrapReport[];
}

export interface Reject {
  status: 'rejected';
  rejectCode: RejectCodeName;
  errorCode: ErrorCodeName;
  message: string;
  /** What a calling canister reads with `msg_reject_msg`, when it is not `message`. */
  callerMessage?: string;
  /** icsim's addition, in process only: the traps in this ingress message's call tree ({@link TrapReport}). */
  traps?: readonly TrapReport[];
}

/**
 * One message of the chain that led to a trap: `caller` sent `method` to
 * `callee`. `kind` is `ingress` (a user's message), `call` (a canister's
 * call) or `system` (a heartbeat or the global timer; `caller` is then empty).
 */
export interface MessageLink {
  kind: 'ingress' | 'call' | 'system';
  caller: string;
  callee: string;
  method: string;
}

/**
 * icsim's addition (the replica has no such thing): an execution that failed
 * in an ingress message's call tree, with the chain of messages that led to
 * it, from the ingress message to the message whose execution failed.
 * `Instance.awaitIngress` and `ingressStatus` attach them to the result as
 * `traps`; PocketIC's REST API has no field for them, so they exist in process
 * only (the backtrace itself is in the reject message and the canister log,
 * as the replica puts it).
 */
export interface TrapReport {
  /** The canister whose execution failed. */
  canister: string;
  /** What ran: `update <m>`, `query <m>` (replicated), `reply callback`, `reject callback`, `cleanup`, `canister_heartbeat`, `canister_global_timer`. */
  entry: string;
  /** The error as the canister log keeps it (backtrace included). */
  message: string;
  /** Function names of the backtrace, innermost first, when the module has a name section. */
  backtrace?: readonly string[];
  /** From the ingress message to the message that failed. */
  chain: readonly MessageLink[];
  /** The chain on one line: `ingress <sender> → <A>.<m1> → <B>.<m2> (<entry>)`. */
  path: string;
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

/**
 * A failed execution of a call (a trap, a missing method, no Wasm module):
 * a calling canister reads `IC0503: <message>`, `UserError`'s Display
 * (dfinity/ic rs/types/types/src/messages.rs `From<Result<…, UserError>> for
 * Payload`, used by the replica's `finish_call_with_error` and for a failed
 * call context).
 */
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
 * Any other failure of the system, which a calling canister reads without the
 * error code: the replica's `RejectContext::from(UserError)` takes the bare
 * description (rs/types/types/src/messages.rs). The management canister
 * answers canisters this way (execution_environment.rs
 * `output_subnet_response`), and so does a call inside a composite query's
 * call graph (query_context.rs `handle_request`).
 */
export function rejectDescribed(error: UserError): Reject {
  return {
    status: 'rejected',
    rejectCode: error.rejectCode,
    errorCode: error.errorCode,
    message: error.message,
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
