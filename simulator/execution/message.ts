/**
 * The state of one message execution: what the System API reads (argument,
 * caller, time, cycles on offer) and the effects it collects (reply, outgoing
 * calls, certified data, timer, logs). The executor applies the effects only
 * when the message commits, so a trap leaves no trace.
 */
import type { CallResult } from '../result.ts';
import type { ContextKind } from './context.ts';
import { limitForContext } from './limits.ts';

/** A Wasm function in the canister's table and its environment argument (`I`: i32 or i64). */
export interface WasmClosure {
  fn: number;
  env: number | bigint;
}

export interface OutgoingCall {
  callee: Uint8Array;
  method: string;
  arg: Uint8Array;
  cycles: bigint;
  reply: WasmClosure;
  reject: WasmClosure;
  cleanup?: WasmClosure;
  /** Seconds, for bounded-wait calls (`call_with_best_effort_response`). */
  timeoutSeconds?: number;
  /** What `call_perform` withdrew for the largest response's transmission and its callback's execution. */
  prepaidResponseTransmission: bigint;
  prepaidResponseExecution: bigint;
  /** `ic0.canister_version` when `call_perform` ran: what a `sender_canister_version` must match. */
  senderVersion?: bigint;
}

export interface MessageContext {
  kind: ContextKind;
  caller: Uint8Array;
  arg: Uint8Array;
  /** The method an ingress message targets (inspect_message). */
  methodName: string;
  time: bigint;
  /** Reject code and message seen by a callback (0 in a reply callback). */
  rejectCode: number;
  rejectMessage: string;
  /** Whether the call context was already answered before this execution. */
  alreadyResponded: boolean;
  /** The reply or reject (`msg_reply`, `msg_reject`) the execution made. */
  response?: CallResult;
  replyParts: Uint8Array[];
  replySize: number;
  cyclesAvailable: bigint;
  cyclesAccepted: bigint;
  cyclesRefunded: bigint;
  /** Cycles taken from the balance by this message (sent with calls, burned). */
  cyclesSpent: bigint;
  pendingCall?: OutgoingCall;
  calls: OutgoingCall[];
  /**
   * Request slots left per callee (hex of its id) for this execution, taken
   * from the canister's on first use and counted down by `call_perform`.
   */
  requestSlots: Map<string, number>;
  certifiedData?: Uint8Array;
  globalTimer: bigint;
  globalTimerChanged: boolean;
  logs: Uint8Array[];
  messageAccepted: boolean;
  /** The data certificate, produced on the first `data_certificate_*` call (signing costs milliseconds). */
  dataCertificate?: () => Uint8Array | undefined;
  deadline: bigint;
  /**
   * The instruction limit of the message this execution belongs to (see
   * `limits.ts`). The executor sets the module's counter to
   * `instructionLimit - instructionsUsed` before running the entry point.
   */
  instructionLimit: bigint;
  /**
   * Instructions the message has used: before the execution, by its earlier
   * executions (the steps of one install_code); after it, including this one.
   */
  instructionsUsed: bigint;
  /** Instructions used by earlier executions of the same call context (`performance_counter(1)`). */
  callContextInstructions: bigint;
}

export function newMessageContext(
  init: Partial<MessageContext> & Pick<MessageContext, 'kind' | 'time' | 'globalTimer'>,
): MessageContext {
  return {
    caller: new Uint8Array(),
    arg: new Uint8Array(),
    methodName: '',
    rejectCode: 0,
    rejectMessage: '',
    alreadyResponded: false,
    replyParts: [],
    replySize: 0,
    cyclesAvailable: 0n,
    cyclesAccepted: 0n,
    cyclesRefunded: 0n,
    cyclesSpent: 0n,
    calls: [],
    requestSlots: new Map(),
    globalTimerChanged: false,
    logs: [],
    messageAccepted: false,
    deadline: 0n,
    instructionLimit: limitForContext(init.kind),
    instructionsUsed: 0n,
    callContextInstructions: 0n,
    ...init,
  };
}
