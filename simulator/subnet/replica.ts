/**
 * The message and round model shared by all subnets of an instance: ingress
 * and inter-canister queues, call contexts and callbacks, rounds that run
 * timers, heartbeats and pending messages, and (composite) queries against
 * the last committed state.
 *
 * Semantics: IC interface specification, "Abstract behavior" (call contexts,
 * responses, `canister_did_not_reply`), "Ordering guarantees", "Global timer";
 * PocketIC for the round and time model (one round per `tick`, time bumped
 * by 1 ns when it did not advance).
 */
import { Principal } from '@icp-sdk/core/principal';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, toHex } from '../bytes.ts';
import { RejectCode, UserError, canisterNotFound, didNotReply } from '../errors.ts';
import type { CallContext, CallOrigin, CanisterState } from '../canister/state.ts';
import { execute, invoke } from '../execution/executor.ts';
import { instructionLimits, limitForContext, type InstructionLimits } from '../execution/limits.ts';
import { newMessageContext, type MessageContext } from '../execution/message.ts';
import { toUserError, type HypervisorError } from '../execution/trap.ts';
import { callerMessage, noResponse, reject, rejectWith, type CallResult, type Reject } from '../result.ts';
import type { PendingHttpOutcall } from '../types.ts';
import type { Subnet } from './subnet.ts';

/** PocketIC's GENESIS: 2021-05-06T19:17:10Z. */
export const GENESIS_NS = 1_620_328_630_000_000_000n;
const MANAGEMENT = Principal.managementCanister();
/** Bound on message waves inside one round: same-subnet messages run in the round they are sent, like the replica's inner rounds. */
const MAX_INNER_ITERATIONS = 64;

type Message =
  | {
      kind: 'ingress';
      id: string;
      sender: Principal;
      target: Principal;
      method: string;
      arg: Uint8Array;
      subnet?: Subnet;
    }
  | {
      kind: 'request';
      caller: Principal;
      callbackId: number;
      target: Principal;
      method: string;
      arg: Uint8Array;
      cycles: bigint;
      deadline: bigint;
    }
  | { kind: 'response'; target: Principal; callbackId: number; payload: CallResult; refund: bigint };

export interface IngressRecord {
  id: string;
  sender: Principal;
  target: Principal;
  method: string;
  outcome?: CallResult;
}

export interface ManagementCall {
  method: string;
  arg: Uint8Array;
  caller: Principal;
  /** True when another canister sent it (some methods are canister-only or ingress-only). */
  fromCanister: boolean;
  cycles: bigint;
  /** The subnet the call was routed to: the caller's, or the ingress message's effective subnet. */
  subnet: Subnet | undefined;
  /** Answers the call, now or later (`stop_canister`). */
  respond: (result: CallResult) => void;
}

export interface ManagementHandler {
  handle(call: ManagementCall): void;
  /** Whether an ingress message may target the method (checked at submission). */
  acceptsIngress(method: string): UserError | undefined;
  /** A non-replicated query to the management canister (`fetch_canister_logs`). */
  query(method: string, arg: Uint8Array, caller: Principal): CallResult;
}

/** An HTTPS outcall a canister made, waiting for a (mocked) response. */
export interface PendingOutcall {
  request: PendingHttpOutcall;
  canisterId: Principal;
  transform?: { method: string; context: Uint8Array };
  respond: (result: CallResult) => void;
}

export class Replica {
  readonly subnets: Subnet[] = [];
  /** The time the next round runs at (ns). */
  time: bigint;
  /** Time of the last executed round: what queries see. */
  certifiedTime: bigint;
  /** Time of the message being executed. */
  roundTime: bigint;
  management: ManagementHandler | undefined;
  readonly ingress = new Map<string, IngressRecord>();
  /** HTTPS outcalls by request id, in the order canisters made them. */
  readonly httpOutcalls = new Map<number, PendingOutcall>();
  nextHttpRequestId = 0;
  #queue: Message[] = [];
  #ingressCounter = 0n;
  #lastRoundTime: bigint;
  /**
   * The data certificate a non-replicated query on `canister` sees
   * (`data_certificate_copy`): a CBOR certificate covering the canister's
   * certified data and the time. Installed by whoever signs the state tree.
   */
  dataCertificate: (canister: CanisterState) => Uint8Array | undefined = () => undefined;
  /** Called with every `debug_print` line, formatted like the replica's log. */
  onCanisterLog: (line: string) => void = () => {};
  /**
   * Instruction limits that replace those of every subnet's instruction
   * config (Production or Benchmarking), e.g. lowered limits for tests.
   */
  instructionLimitOverrides: Partial<InstructionLimits> = {};
  /** Instructions used so far by each open call context (`performance_counter(1)`). */
  readonly #callContextInstructions = new WeakMap<CallContext, bigint>();

  constructor(initialTime: bigint = GENESIS_NS) {
    this.time = initialTime;
    this.certifiedTime = initialTime;
    this.roundTime = initialTime;
    this.#lastRoundTime = initialTime - 1n;
  }

  // ---- canisters ---------------------------------------------------------

  findCanister(id: Principal): CanisterState | undefined {
    const key = id.toText();
    for (const subnet of this.subnets) {
      const c = subnet.canisters.get(key);
      if (c) return c;
    }
    return undefined;
  }

  subnetHosting(id: Principal): Subnet | undefined {
    return this.subnets.find((s) => s.canisters.has(id.toText())) ?? this.subnets.find((s) => s.hostsId(id));
  }

  /** The instruction limits that apply to `canister`: its subnet's instruction config, then the overrides. */
  instructionLimits(canister: CanisterState): InstructionLimits {
    const subnet = this.subnets.find((s) => s.canisters.has(canister.idText));
    return instructionLimits(subnet?.instructionConfig ?? 'Production', this.instructionLimitOverrides);
  }

  #limit(canister: CanisterState, kind: MessageContext['kind']): bigint {
    return limitForContext(kind, this.instructionLimits(canister));
  }

  *canisters(): Generator<CanisterState> {
    for (const subnet of this.subnets) yield* subnet.canisters.values();
  }

  /** Appends a line to the canister's log and to the instance's log hook. */
  log(canister: CanisterState, content: Uint8Array, time: bigint = this.roundTime): void {
    canister.logs.push({ idx: canister.nextLogIdx++, timestampNanos: time, content });
    if (canister.logs.length > 10_000) canister.logs.shift();
  }

  printLine(canister: CanisterState, text: string): void {
    this.onCanisterLog(`${formatTime(this.roundTime)}: [Canister ${canister.idText}] ${text}`);
  }

  // ---- ingress -----------------------------------------------------------

  /**
   * Inducts an ingress message after the checks the replica makes before
   * accepting one: the target exists, runs and has code, and its
   * `canister_inspect_message` accepts the message.
   */
  submitIngress(
    sender: Principal,
    target: Principal,
    method: string,
    arg: Uint8Array,
    subnet?: Subnet,
  ): { id: string; bytes: Uint8Array } | Reject {
    const refused =
      target.compareTo(MANAGEMENT) === 'eq'
        ? this.management?.acceptsIngress(method)
        : this.#checkIngressTarget(sender, target, method, arg);
    if (refused) return rejectWith(refused);
    const counter = new Uint8Array(8);
    new DataView(counter.buffer).setBigUint64(0, this.#ingressCounter++);
    const bytes = sha256(
      concatBytes([
        counter,
        sender.toUint8Array(),
        target.toUint8Array(),
        new TextEncoder().encode(method),
        arg,
      ]),
    );
    const id = toHex(bytes);
    this.ingress.set(id, { id, sender, target, method });
    this.#queue.push({ kind: 'ingress', id, sender, target, method, arg, subnet });
    return { id, bytes };
  }

  #checkIngressTarget(
    sender: Principal,
    target: Principal,
    method: string,
    arg: Uint8Array,
  ): UserError | undefined {
    const canister = this.findCanister(target);
    if (!canister) return canisterNotFound(target);
    if (canister.status !== 'running') return statusError(canister);
    const runtime = canister.runtime;
    if (!runtime) return toUserError({ kind: 'WasmModuleNotFound' }, canister.idText);
    if (!runtime.hasExport('canister_inspect_message')) return undefined;
    const ctx = newMessageContext({
      kind: 'F',
      time: this.certifiedTime,
      globalTimer: canister.globalTimer,
      caller: sender.toUint8Array(),
      arg,
      methodName: method,
      instructionLimit: this.#limit(canister, 'F'),
    });
    const error = execute(canister, ctx, { kind: 'export', name: 'canister_inspect_message' }, false);
    this.#keepLogs(canister, ctx, error);
    if (error) return toUserError(error, canister.idText);
    if (!ctx.messageAccepted) {
      return new UserError(
        'CanisterRejectedMessage',
        `Error from Canister ${canister.idText}: Canister rejected the message`,
      );
    }
    return undefined;
  }

  // ---- rounds ------------------------------------------------------------

  /** Executes one round: timers and heartbeats, then the messages in the queues. */
  tick(): void {
    const time = this.time > this.#lastRoundTime ? this.time : this.#lastRoundTime + 1n;
    this.time = time;
    this.roundTime = time;
    this.#lastRoundTime = time;
    for (const canister of [...this.canisters()]) this.#expireBoundedWaitCalls(canister);
    for (const canister of [...this.canisters()]) this.#runSystemTasks(canister);
    for (let i = 0; i < MAX_INNER_ITERATIONS && this.#queue.length > 0; i++) {
      const wave = this.#queue;
      this.#queue = [];
      for (const message of wave) this.#deliver(message);
    }
    for (const canister of [...this.canisters()]) this.finishStopping(canister);
    this.certifiedTime = time;
  }

  /**
   * A bounded-wait call (`call_with_best_effort_response`) whose deadline has
   * passed is answered with SYS_UNKNOWN; a response arriving later finds no
   * callback and is dropped (spec: "Best-effort responses").
   */
  #expireBoundedWaitCalls(canister: CanisterState): void {
    for (const callback of canister.callbacks.values()) {
      if (callback.deadline !== 0n && callback.deadline <= this.roundTime) {
        this.#queue.push({
          kind: 'response',
          target: canister.id,
          callbackId: callback.id,
          payload: reject('SysUnknown', 'Timeout expired'),
          refund: 0n,
        });
        callback.deadline = 0n;
      }
    }
  }

  #runSystemTasks(canister: CanisterState): void {
    const runtime = canister.runtime;
    if (!runtime || canister.status !== 'running') return;
    if (
      canister.globalTimer !== 0n &&
      canister.globalTimer <= this.roundTime &&
      runtime.hasExport('canister_global_timer')
    ) {
      // The timer is deactivated when the task is scheduled, whatever the handler does.
      canister.globalTimer = 0n;
      this.#runSystemTask(canister, 'canister_global_timer');
    }
    if (runtime.hasExport('canister_heartbeat')) this.#runSystemTask(canister, 'canister_heartbeat');
  }

  #runSystemTask(canister: CanisterState, name: string): void {
    const cc = this.#newCallContext(canister, { kind: 'system' }, new Uint8Array(), 0n);
    cc.responded = true;
    const ctx = this.#context(canister, 'T', cc, new Uint8Array());
    const error = execute(canister, ctx, { kind: 'export', name }, true);
    this.#finish(canister, cc, ctx, error);
  }

  #deliver(message: Message): void {
    switch (message.kind) {
      case 'ingress': {
        const record = this.ingress.get(message.id);
        if (!record) return;
        if (message.target.compareTo(MANAGEMENT) === 'eq') {
          this.#callManagement(
            message.method,
            message.arg,
            message.sender,
            false,
            0n,
            message.subnet,
            (result) => {
              record.outcome = result;
            },
          );
        } else {
          this.#executeCall(
            message.target,
            { kind: 'ingress', messageId: message.id },
            message.sender.toUint8Array(),
            message.method,
            message.arg,
            0n,
            0n,
          );
        }
        return;
      }
      case 'request': {
        const origin: CallOrigin = {
          kind: 'canister',
          caller: message.caller,
          callbackId: message.callbackId,
          deadline: message.deadline,
        };
        if (message.target.compareTo(MANAGEMENT) === 'eq') {
          this.#callManagement(
            message.method,
            message.arg,
            message.caller,
            true,
            message.cycles,
            this.subnetHosting(message.caller),
            (result) => {
              this.#queue.push({
                kind: 'response',
                target: message.caller,
                callbackId: message.callbackId,
                payload: result,
                refund: result.status === 'replied' ? 0n : message.cycles,
              });
            },
          );
        } else {
          this.#executeCall(
            message.target,
            origin,
            message.caller.toUint8Array(),
            message.method,
            message.arg,
            message.cycles,
            message.deadline,
          );
        }
        return;
      }
      case 'response':
        this.#executeCallback(message.target, message.callbackId, message.payload, message.refund);
        return;
    }
  }

  #callManagement(
    method: string,
    arg: Uint8Array,
    caller: Principal,
    fromCanister: boolean,
    cycles: bigint,
    subnet: Subnet | undefined,
    respond: (r: CallResult) => void,
  ): void {
    if (!this.management) throw new Error('no management canister');
    let answered = false;
    this.management.handle({
      method,
      arg,
      caller,
      fromCanister,
      cycles,
      subnet,
      respond: (result) => {
        if (answered) return;
        answered = true;
        respond(result);
      },
    });
  }

  // ---- calls -------------------------------------------------------------

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
      time: this.roundTime,
      globalTimer: canister.globalTimer,
      caller: cc.caller,
      arg,
      cyclesAvailable: cc.availableCycles,
      alreadyResponded: cc.responded,
      deadline: cc.origin.kind === 'canister' ? cc.origin.deadline : 0n,
      instructionLimit: this.#limit(canister, kind),
      callContextInstructions: this.#callContextInstructions.get(cc) ?? 0n,
      ...extra,
    });
  }

  #executeCall(
    target: Principal,
    origin: CallOrigin,
    caller: Uint8Array,
    method: string,
    arg: Uint8Array,
    cycles: bigint,
    deadline: bigint,
  ): void {
    const canister = this.findCanister(target);
    const refuse = (error: UserError): void => this.#answerOrigin(origin, rejectWith(error), cycles);
    if (!canister) return refuse(canisterNotFound(target));
    if (canister.status !== 'running') return refuse(statusError(canister));
    const runtime = canister.runtime;
    if (!runtime) return refuse(toUserError({ kind: 'WasmModuleNotFound' }, canister.idText));
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
      return refuse(
        new UserError(
          'CompositeQueryCalledInReplicatedMode',
          'Composite query cannot be called in replicated mode',
        ),
      );
    } else {
      return refuse(
        toUserError({ kind: 'MethodNotFound', methodKind: 'update', name: method }, canister.idText),
      );
    }
    const cc = this.#newCallContext(canister, origin, caller, cycles);
    const ctx = this.#context(canister, kind, cc, arg, { deadline });
    const error = execute(canister, ctx, { kind: 'export', name: entry }, kind === 'U');
    this.#finish(canister, cc, ctx, error, kind === 'U');
  }

  #executeCallback(target: Principal, callbackId: number, payload: CallResult, refund: bigint): void {
    const canister = this.findCanister(target);
    if (!canister) return;
    const callback = canister.callbacks.get(callbackId);
    if (!callback) return;
    canister.callbacks.delete(callbackId);
    canister.balance += refund;
    const cc = canister.callContexts.get(callback.callContextId);
    if (!cc) return;
    cc.outstandingCalls--;
    if (!canister.runtime) {
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
    if (error && callback.cleanup) {
      const cleanup = this.#context(canister, 'C', cc, new Uint8Array(), { rejectCode: ctx.rejectCode });
      const cleanupError = execute(canister, cleanup, { kind: 'closure', closure: callback.cleanup }, true);
      this.#countInstructions(cc, cleanup);
      if (!cleanupError) this.#applyEffects(canister, cc, cleanup);
      this.#keepLogs(canister, cleanup, cleanupError);
    }
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
    if (ctx) this.#keepLogs(canister, ctx, error);
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
    this.#callContextInstructions.set(
      cc,
      (this.#callContextInstructions.get(cc) ?? 0n) + ctx.instructionsUsed,
    );
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
        deadline:
          call.timeoutSeconds !== undefined
            ? this.roundTime + BigInt(call.timeoutSeconds) * 1_000_000_000n
            : 0n,
      };
      canister.callbacks.set(callback.id, callback);
      cc.outstandingCalls++;
      this.#queue.push({
        kind: 'request',
        caller: canister.id,
        callbackId: callback.id,
        target: callback.callee,
        method: call.method,
        arg: call.arg,
        cycles: call.cycles,
        deadline: callback.deadline,
      });
    }
  }

  #keepLogs(canister: CanisterState, ctx: MessageContext, error: HypervisorError | undefined): void {
    for (const line of ctx.logs) this.log(canister, line);
    if (error) {
      const text = `[TRAP]: ${toUserError(error, canister.idText).message}`;
      this.log(canister, new TextEncoder().encode(text));
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
      const record = this.ingress.get(origin.messageId);
      if (record) record.outcome = response;
      return;
    }
    this.#queue.push({
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

  /** Rejects every open call context (uninstall_code, delete_canister). */
  rejectOpenCallContexts(canister: CanisterState, message: string): void {
    for (const cc of canister.callContexts.values()) {
      if (!cc.responded) {
        this.#respond(cc, rejectWith(new UserError('CanisterRejectedMessage', message, 'CanisterReject')));
      }
    }
    canister.callContexts.clear();
    canister.callbacks.clear();
  }

  // ---- queries -----------------------------------------------------------

  /**
   * Runs an HTTPS outcall's transform function (`canister_query <method>` in
   * the spec's transform context, called by the management canister); nothing
   * it does persists. The result is what the outcall's caller receives: the
   * transform's reply or reject, or its failure as a `CanisterError` reject.
   */
  transform(canisterId: Principal, method: string, arg: Uint8Array): CallResult {
    const failed = (error: UserError): Reject => reject('CanisterError', error.message);
    const canister = this.findCanister(canisterId);
    if (!canister) return failed(canisterNotFound(canisterId));
    const runtime = canister.runtime;
    if (!runtime) return failed(toUserError({ kind: 'WasmModuleNotFound' }, canister.idText));
    const entry = `canister_query ${method}`;
    if (!runtime.hasExport(entry)) {
      return failed(
        toUserError({ kind: 'MethodNotFound', methodKind: 'query', name: method }, canister.idText),
      );
    }
    const ctx = newMessageContext({
      kind: 'TQ',
      time: this.roundTime,
      globalTimer: canister.globalTimer,
      caller: MANAGEMENT.toUint8Array(),
      arg,
      instructionLimit: this.#limit(canister, 'TQ'),
    });
    const error = execute(canister, ctx, { kind: 'export', name: entry }, false);
    if (error) return failed(toUserError(error, canister.idText));
    return ctx.response ?? failed(didNotReply(canister.idText));
  }

  /** A non-replicated (composite) query against the committed state; nothing it does persists. */
  query(sender: Principal, target: Principal, method: string, arg: Uint8Array): CallResult {
    if (target.compareTo(MANAGEMENT) === 'eq' && this.management) {
      return this.management.query(method, arg, sender);
    }
    const touched = new Set<CanisterState>();
    try {
      return this.#runQuery(target, sender.toUint8Array(), method, arg, touched, 'top', 0);
    } finally {
      for (const c of touched) {
        c.runtime?.rollback();
        c.stable.rollback();
      }
    }
  }

  #runQuery(
    target: Principal,
    caller: Uint8Array,
    method: string,
    arg: Uint8Array,
    touched: Set<CanisterState>,
    level: 'top' | 'nested',
    depth: number,
  ): CallResult {
    const canister = this.findCanister(target);
    if (!canister) return rejectWith(canisterNotFound(target));
    if (canister.status !== 'running') return rejectWith(statusError(canister));
    const runtime = canister.runtime;
    if (!runtime) return rejectWith(toUserError({ kind: 'WasmModuleNotFound' }, canister.idText));
    let entry: string;
    let kind: 'NRQ' | 'CQ';
    if (runtime.hasExport(`canister_query ${method}`)) {
      entry = `canister_query ${method}`;
      kind = 'NRQ';
    } else if (runtime.hasExport(`canister_composite_query ${method}`)) {
      entry = `canister_composite_query ${method}`;
      kind = 'CQ';
    } else {
      return rejectWith(
        toUserError({ kind: 'MethodNotFound', methodKind: 'query', name: method }, canister.idText),
      );
    }
    if (depth > 6) {
      // dfinity/ic query_context.rs: MAX_QUERY_CALL_DEPTH.
      return rejectWith(new UserError('QueryCallGraphTooDeep', 'Composite query call graph went too deep'));
    }
    if (!touched.has(canister)) {
      touched.add(canister);
      canister.stable.begin();
    }
    const time = this.certifiedTime;
    const base = { time, globalTimer: canister.globalTimer, caller };
    const limit = this.#limit(canister, kind);
    const ctx = newMessageContext({
      ...base,
      kind,
      arg,
      instructionLimit: limit,
      dataCertificate: level === 'top' ? once(() => this.dataCertificate(canister)) : undefined,
    });
    const error = invoke(runtime, ctx, { kind: 'export', name: entry });
    let contextInstructions = ctx.instructionsUsed;
    if (error) return rejectWith(toUserError(error, canister.idText));
    let response = ctx.response;
    const pending = [...ctx.calls];
    while (pending.length > 0) {
      const call = pending.shift()!;
      const callee = Principal.fromUint8Array(call.callee);
      const result = this.#runQuery(
        callee,
        canister.idBytes,
        call.method,
        call.arg,
        touched,
        'nested',
        depth + 1,
      );
      const isReply = result.status === 'replied';
      const cb = newMessageContext({
        ...base,
        kind: isReply ? 'CRy' : 'CRt',
        arg: isReply ? result.reply : new Uint8Array(),
        ...callbackArgs(result),
        alreadyResponded: response !== undefined,
        instructionLimit: limit,
        callContextInstructions: contextInstructions,
      });
      const cbError = invoke(runtime, cb, { kind: 'closure', closure: isReply ? call.reply : call.reject });
      contextInstructions += cb.instructionsUsed;
      if (cbError) {
        if (!response) return rejectWith(toUserError(cbError, canister.idText));
        continue;
      }
      response = response ?? cb.response;
      pending.push(...cb.calls);
    }
    return response ?? rejectWith(didNotReply(canister.idText));
  }
}

/** `f`, evaluated at most once. */
function once<T>(f: () => T): () => T {
  let done = false;
  let value: T;
  return () => {
    if (!done) {
      value = f();
      done = true;
    }
    return value;
  };
}

/** What a response callback reads of `result` (`msg_reject_code`, `msg_reject_msg`; 0 and '' for a reply). */
function callbackArgs(result: CallResult): { rejectCode: number; rejectMessage: string } {
  if (result.status === 'replied') return { rejectCode: 0, rejectMessage: '' };
  return { rejectCode: RejectCode[result.rejectCode], rejectMessage: callerMessage(result) };
}

function statusError(canister: CanisterState): UserError {
  return canister.status === 'stopped'
    ? new UserError('CanisterStopped', `Canister ${canister.idText} is stopped`)
    : new UserError('CanisterStopping', `Canister ${canister.idText} is stopping`);
}

export function formatTime(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString();
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${frac} UTC`;
}
