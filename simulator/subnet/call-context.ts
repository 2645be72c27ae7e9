/**
 * Call contexts and what executions do to them (the replica's call context
 * manager): a call runs an update or replicated query in a new call
 * context, responses run callbacks (and cleanup after a trapping callback),
 * and a committed execution's effects (cycles, certified data, timer,
 * outgoing calls) are applied. A call context is answered by the first
 * reply or reject, by a trap, or, with no reply and no outstanding calls,
 * by `noResponse`.
 *
 * Semantics: IC interface specification, "Abstract behavior" (call
 * contexts, responses, `canister_did_not_reply`).
 */
import { Principal } from '@icp-sdk/core/principal';
import { RejectCode, UserError, canisterNotFound } from '../errors.ts';
import type { CallContext, CallOrigin, CanisterState } from '../canister/state.ts';
import { execute } from '../execution/executor.ts';
import type { WasmRuntime } from '../execution/runtime.ts';
import { newMessageContext, type MessageContext } from '../execution/message.ts';
import { backtraceForLog, toUserError, type HypervisorError } from '../execution/trap.ts';
import { callerMessage, noResponse, reject, rejectWith, type CallResult, type Reject } from '../result.ts';
import { isWasm64, prepayExecution, refundExecution } from '../cycles/account.ts';
import type { Replica } from './replica.ts';
import { entryName, reportTrap } from './trap-chain.ts';

export class CallContextManager {
  readonly #replica: Replica;

  constructor(replica: Replica) {
    this.#replica = replica;
  }

  /**
   * Runs a heartbeat or the global timer in a call context nobody waits on;
   * false when the canister cannot prepay its execution, so the task does not run.
   */
  runSystemTask(canister: CanisterState, name: string): boolean {
    const limit = this.#replica.instructionLimit(canister, 'T');
    const prepaid = prepayExecution(canister, limit, false);
    if (prepaid instanceof UserError) return false;
    const cc = this.#newCallContext(canister, { kind: 'system' }, new Uint8Array(), 0n);
    cc.responded = true;
    cc.method = name;
    const ctx = this.#context(canister, 'T', cc, new Uint8Array());
    const error = execute(canister, ctx, { kind: 'export', name }, true);
    refundExecution(canister, prepaid, limit, ctx.instructionsUsed);
    this.#finish(canister, cc, ctx, error);
    return true;
  }

  #newCallContext(
    canister: CanisterState,
    origin: CallOrigin,
    caller: Uint8Array,
    cycles: bigint,
  ): CallContext {
    const cc: CallContext = {
      id: canister.nextCallContextId++,
      origin,
      caller,
      responded: false,
      outstandingCalls: 0,
      availableCycles: cycles,
    };
    canister.callContexts.set(cc.id, cc);
    return cc;
  }

  #context(
    canister: CanisterState,
    kind: MessageContext['kind'],
    cc: CallContext,
    arg: Uint8Array,
    extra: Partial<MessageContext> = {},
  ): MessageContext {
    return newMessageContext({
      kind,
      time: this.#replica.roundTime,
      globalTimer: canister.globalTimer,
      caller: cc.caller,
      arg,
      cyclesAvailable: cc.availableCycles,
      alreadyResponded: cc.responded,
      deadline: cc.origin.kind === 'canister' ? cc.origin.deadline : 0n,
      instructionLimit: this.#replica.instructionLimit(canister, kind),
      callContextInstructions: cc.instructionsUsed ?? 0n,
      ...extra,
    });
  }

  /** Runs an ingress message or a canister's request to `target` in a new call context, or answers why it cannot run. */
  executeCall(
    target: Principal,
    origin: CallOrigin,
    caller: Uint8Array,
    method: string,
    arg: Uint8Array,
    cycles: bigint,
    deadline: bigint,
    withFaults = true,
  ): void {
    const refuse = (error: UserError): void => this.#answerOrigin(origin, rejectWith(error), cycles);
    if (origin.kind === 'canister') {
      const unroutable = requestRoutingReject(this.#replica, target);
      if (unroutable) return this.#answerOrigin(origin, unroutable, cycles);
    }
    const canister = this.#replica.findCanister(target);
    if (!canister) return refuse(canisterNotFound(target));
    if (canister.status !== 'running') return refuse(statusError(canister));
    // A JS-function canister or an injected fault takes the call here (simulator/mocks/).
    if (this.#replica.mocks.intercepts(target, method, withFaults)) {
      const resume = (): void =>
        this.executeCall(target, origin, caller, method, arg, cycles, deadline, false);
      const answer = (result: CallResult, refund: bigint): void => this.#answerOrigin(origin, result, refund);
      const arrived = { canister, origin, caller, method, arg, cycles, answer, resume };
      if (this.#replica.mocks.interceptCall(arrived, withFaults)) return;
    }
    // The execution is prepaid at the message's instruction limit before the
    // method is looked up (dfinity/ic `rs/execution_environment/src/execution/call_or_task.rs`):
    // a call that fails later still pays the per-message fee.
    const limit = this.#replica.instructionLimit(canister, 'U');
    const prepaid = prepayExecution(canister, limit, canister.isController(caller));
    if (prepaid instanceof UserError) return refuse(prepaid);
    const fail = (error: UserError): void => {
      refundExecution(canister, prepaid, limit, 0n);
      refuse(error);
    };
    const runtime = canister.runtime;
    if (!runtime) return fail(toUserError({ kind: 'WasmModuleNotFound' }, canister.idText));
    let entry: string;
    let kind: 'U' | 'RQ';
    if (runtime.hasExport(`canister_update ${method}`)) {
      entry = `canister_update ${method}`;
      kind = 'U';
    } else if (runtime.hasExport(`canister_query ${method}`)) {
      entry = `canister_query ${method}`;
      kind = 'RQ';
    } else if (runtime.hasExport(`canister_composite_query ${method}`)) {
      // dfinity/ic `rs/execution_environment/src/execution/call_or_task.rs`.
      return fail(
        new UserError(
          'CompositeQueryCalledInReplicatedMode',
          'Composite query cannot be called in replicated mode',
        ),
      );
    } else {
      return fail(
        toUserError({ kind: 'MethodNotFound', methodKind: 'update', name: method }, canister.idText),
      );
    }
    const cc = this.#newCallContext(canister, origin, caller, cycles);
    cc.method = method;
    const ctx = this.#context(canister, kind, cc, arg, { deadline });
    const error = execute(canister, ctx, { kind: 'export', name: entry }, kind === 'U');
    refundExecution(canister, prepaid, limit, ctx.instructionsUsed);
    // A replicated query keeps no state but is a replicated execution: it counts as a canister
    // version (reference suite, "canister version > in replicated query": 1, 2, 3).
    if (kind === 'RQ' && !error) canister.versionNumber += 1n;
    this.#finish(canister, cc, ctx, error, kind === 'U');
  }

  /** Runs the reply or reject callback of the call a response answers, then any cleanup of a trapping callback. */
  executeCallback(target: Principal, callbackId: number, payload: CallResult, refund: bigint): void {
    if (this.#replica.mocks.deliverResponse(target, callbackId, payload, refund)) return;
    const canister = this.#replica.findCanister(target);
    if (!canister) return;
    const callback = canister.callbacks.get(callbackId);
    if (!callback) return;
    canister.callbacks.delete(callbackId);
    canister.balance += refund;
    // The largest response's transmission was prepaid; this one's is charged (`execute_response`).
    canister.balance += canister.fees.responseTransmissionRefund(
      callback.prepaidResponseTransmission,
      responseBytes(payload),
    );
    const cc = canister.callContexts.get(callback.callContextId);
    const dropped = !cc || !canister.runtime || cc.deleted === true;
    if (dropped) settleUnexecutedResponse(canister, callback.prepaidResponseExecution);
    if (!cc) return;
    cc.outstandingCalls--;
    if (dropped) {
      this.#finish(canister, cc, undefined, undefined);
      return;
    }
    const isReply = payload.status === 'replied';
    const ctx = this.#context(
      canister,
      isReply ? 'Ry' : 'Rt',
      cc,
      isReply ? payload.reply : new Uint8Array(),
      {
        ...callbackArgs(payload),
        cyclesRefunded: refund,
      },
    );
    const closure = isReply ? callback.reply : callback.reject;
    const error = execute(canister, ctx, { kind: 'closure', closure }, true);
    let used = ctx.instructionsUsed;
    if (error && callback.cleanup) {
      const cleanup = this.#context(canister, 'C', cc, new Uint8Array(), { rejectCode: ctx.rejectCode });
      const cleanupError = execute(canister, cleanup, { kind: 'closure', closure: callback.cleanup }, true);
      used += cleanup.instructionsUsed;
      this.#countInstructions(cc, cleanup);
      if (!cleanupError) this.#applyEffects(canister, cc, cleanup);
      this.keepLogs(canister, cleanup, cleanupError);
      if (cleanupError) reportTrap(this.#replica, canister, cc, 'cleanup', cleanupError);
    }
    // The callback ran on the execution `call_perform` prepaid; the unused part comes back.
    refundExecution(canister, callback.prepaidResponseExecution, ctx.instructionLimit, used);
    this.#finish(canister, cc, ctx, error);
  }

  /** Applies a committed execution's effects and answers the call context when it is done. */
  #finish(
    canister: CanisterState,
    cc: CallContext,
    ctx: MessageContext | undefined,
    error: HypervisorError | undefined,
    persisted = true,
  ): void {
    if (ctx) this.#countInstructions(cc, ctx);
    if (ctx) this.keepLogs(canister, ctx, error);
    if (ctx && error) reportTrap(this.#replica, canister, cc, entryName(ctx.kind, cc), error);
    if (ctx && !error) {
      if (persisted) this.#applyEffects(canister, cc, ctx);
      if (ctx.response) this.#respond(cc, ctx.response);
    }
    if (!cc.responded && cc.outstandingCalls === 0) {
      // IC interface spec "Abstract behavior": a call context with no reply and no outstanding calls.
      this.#respond(
        cc,
        error ? rejectWith(toUserError(error, canister.idText)) : noResponse(canister.idText),
      );
    }
    if (cc.responded && cc.outstandingCalls === 0) canister.callContexts.delete(cc.id);
  }

  #countInstructions(cc: CallContext, ctx: MessageContext): void {
    cc.instructionsUsed = (cc.instructionsUsed ?? 0n) + ctx.instructionsUsed;
  }

  #applyEffects(canister: CanisterState, cc: CallContext, ctx: MessageContext): void {
    canister.balance += ctx.cyclesAccepted - ctx.cyclesSpent;
    cc.availableCycles = ctx.cyclesAvailable;
    if (ctx.certifiedData) canister.certifiedData = ctx.certifiedData;
    if (ctx.globalTimerChanged) canister.globalTimer = ctx.globalTimer;
    for (const call of ctx.calls) {
      const callback = {
        id: canister.nextCallbackId++,
        callContextId: cc.id,
        callee: Principal.fromUint8Array(call.callee),
        reply: call.reply,
        reject: call.reject,
        cleanup: call.cleanup,
        cyclesSent: call.cycles,
        prepaidResponseTransmission: call.prepaidResponseTransmission,
        prepaidResponseExecution: call.prepaidResponseExecution,
        deadline:
          call.timeoutSeconds !== undefined
            ? this.#replica.roundTime + BigInt(call.timeoutSeconds) * 1_000_000_000n
            : 0n,
      };
      canister.callbacks.set(callback.id, callback);
      cc.outstandingCalls++;
      this.#replica.scheduler.enqueue({
        kind: 'request',
        caller: canister.id,
        callbackId: callback.id,
        target: callback.callee,
        method: call.method,
        arg: call.arg,
        cycles: call.cycles,
        deadline: callback.deadline,
        senderVersion: call.senderVersion,
      });
    }
  }

  /** Keeps an execution's log lines, and a trap's message, in the canister's log. */
  keepLogs(canister: CanisterState, ctx: MessageContext, error: HypervisorError | undefined): void {
    for (const line of ctx.logs) this.#replica.log(canister, line);
    if (error) {
      // The log keeps a trap's backtrace whoever called (wasmtime_embedder/system_api.rs `add_canister_log_for_trap`).
      const text = `[TRAP]: ${toUserError(backtraceForLog(error), canister.idText).message}`;
      this.#replica.log(canister, new TextEncoder().encode(text));
    }
  }

  #respond(cc: CallContext, response: CallResult): void {
    cc.responded = true;
    const refund = cc.availableCycles;
    cc.availableCycles = 0n;
    this.#answerOrigin(cc.origin, response, refund);
  }

  #answerOrigin(origin: CallOrigin, response: CallResult, refund: bigint): void {
    if (origin.kind === 'system') return;
    if (origin.kind === 'ingress') {
      const record = this.#replica.ingress.get(origin.messageId);
      if (record) record.outcome = response;
      return;
    }
    this.#replica.scheduler.enqueue({
      kind: 'response',
      target: origin.caller,
      callbackId: origin.callbackId,
      payload: response,
      refund,
    });
  }

  /** A stopping canister with no open call contexts becomes stopped, and its `stop_canister` calls are answered. */
  finishStopping(canister: CanisterState): void {
    if (canister.status !== 'stopping' || canister.hasOpenCallContexts()) return;
    canister.status = 'stopped';
    const waiters = canister.stopWaiters;
    canister.stopWaiters = [];
    for (const w of waiters) w('stopped');
  }

  /**
   * Rejects every open call context (uninstall_code, delete_canister) with
   * CANISTER_REJECT and `message` as it is: IC0406 for an ingress sender, the
   * bare text for a calling canister, and marks them deleted
   * (canister_manager.rs `uninstall_canister`): one still waiting for
   * responses stays until they arrive, runs none of their callbacks
   * (`executeCallback` settles what they prepaid), and keeps a stopping
   * canister stopping (reference suite, "uninstall › deleted call contexts
   * prevent stopping", "deleted call contexts are not delivered").
   */
  rejectOpenCallContexts(canister: CanisterState, message: string): void {
    for (const cc of canister.callContexts.values()) {
      if (!cc.responded) this.#respond(cc, reject('CanisterReject', message, 'CanisterRejectedMessage'));
      cc.deleted = true;
      if (cc.outstandingCalls === 0) canister.callContexts.delete(cc.id);
    }
  }
}

/** The bytes a response is charged for: its reply, or its reject code (1 byte) and message (`Payload::size_bytes`). */
function responseBytes(result: CallResult): bigint {
  if (result.status === 'replied') return BigInt(result.reply.length);
  return 1n + BigInt(new TextEncoder().encode(callerMessage(result)).length);
}

/**
 * `settle_prepayment_for_unexecuted_response`: a response whose callback does
 * not run (no code, no call context) costs the per-message fee only.
 */
function settleUnexecutedResponse(canister: CanisterState, prepaid: bigint): void {
  const fee = canister.fees.executionCost(0n, isWasm64(canister));
  canister.balance += prepaid > fee ? prepaid - fee : 0n;
}

/** What a response callback reads of `result` (`msg_reject_code`, `msg_reject_msg`; 0 and '' for a reply). */
export function callbackArgs(result: CallResult): { rejectCode: number; rejectMessage: string } {
  if (result.status === 'replied') return { rejectCode: 0, rejectMessage: '' };
  return { rejectCode: RejectCode[result.rejectCode], rejectMessage: callerMessage(result) };
}

/**
 * Why a canister's request cannot be delivered, as message routing answers
 * it (a plain reject, without an error code in front): no subnet's range
 * holds the callee ("No route to canister <id>", dfinity/ic
 * rs/messaging/src/routing/stream_builder.rs), or the callee's subnet cannot
 * induct it (rs/messaging/src/routing/stream_handler.rs
 * `generate_reject_response_for`: not found, stopped, stopping).
 */
export function requestRoutingReject(replica: Replica, target: Principal): Reject | undefined {
  const id = target.toText();
  const canister = replica.findCanister(target);
  if (!canister) {
    return replica.subnetHosting(target)
      ? reject('DestinationInvalid', `Canister ${id} not found`, 'CanisterNotFound')
      : reject('DestinationInvalid', `No route to canister ${id}`, 'CanisterNotFound');
  }
  if (canister.status === 'stopped')
    return reject('CanisterError', `Canister ${id} is stopped`, 'CanisterStopped');
  if (canister.status === 'stopping')
    return reject('CanisterError', `Canister ${id} is stopping`, 'CanisterStopping');
  return undefined;
}

/** The target of a call, when it can run a message (it exists, runs and has code); else the replica's error. */
export function runnableTarget(
  replica: Replica,
  target: Principal,
): { canister: CanisterState; runtime: WasmRuntime } | UserError {
  const canister = replica.findCanister(target);
  if (!canister) return canisterNotFound(target);
  if (canister.status !== 'running') return statusError(canister);
  const runtime = canister.runtime;
  if (!runtime) return toUserError({ kind: 'WasmModuleNotFound' }, canister.idText);
  return { canister, runtime };
}

export function statusError(canister: CanisterState): UserError {
  return canister.status === 'stopped'
    ? new UserError('CanisterStopped', `Canister ${canister.idText} is stopped`)
    : new UserError('CanisterStopping', `Canister ${canister.idText} is stopping`);
}
