/**
 * JS-function canisters and fault injection, as the replica's hooks see
 * them. The call routing (`subnet/call-context.ts`, `subnet/query.ts`,
 * `subnet/scheduler.ts`) asks this registry first; what it does not take
 * runs as usual. A mock is a canister in the instance (an id, a subnet, a
 * balance, a status) whose methods are JavaScript functions: calls reach it
 * through the same queues and rounds as a Wasm canister, and its answers
 * leave through them. A mock is charged nothing (no execution, no
 * transmission fees); cycles it sends and accepts move its balance.
 */
import { Principal } from '@icp-sdk/core/principal';
import type { CallOrigin, CanisterState } from '../canister/state.ts';
import { ErrorCode, UserError, rejectCodeOf, type ErrorCodeName, type RejectCodeName } from '../errors.ts';
import { toUserError } from '../execution/trap.ts';
import { callerMessage, reject, rejectDescribed, rejectWith, reply, type CallResult } from '../result.ts';
import type { Replica } from '../subnet/replica.ts';
import type { Fault } from '../types.ts';
import {
  MockReject,
  type MockCallResult,
  type MockContext,
  type MockMethod,
  type MockMethods,
} from './types.ts';

/** A call that reached a running canister, as `executeCall` hands it over. */
export interface ArrivedCall {
  canister: CanisterState;
  origin: CallOrigin;
  caller: Uint8Array;
  method: string;
  arg: Uint8Array;
  cycles: bigint;
  /** Answers the caller, returning `refund` of the attached cycles. */
  answer(result: CallResult, refund: bigint): void;
  /** Runs the call as if no fault applied (after a delay). */
  resume(): void;
}

interface ArmedFault {
  fault: Fault;
  left: number;
}

export class MockRegistry {
  readonly #replica: Replica;
  readonly #mocks = new Map<string, Map<string, MockMethod>>();
  readonly #faults = new Map<string, ArmedFault[]>();
  #delayed: { rounds: number; resume: () => void }[] = [];
  /** The mocks' outstanding calls: `<mock id> <callback id>` → who awaits the response. */
  readonly #awaiting = new Map<string, (result: MockCallResult) => void>();
  #nextCallbackId = 0;
  readonly #running = new Set<Promise<void>>();

  constructor(replica: Replica) {
    this.#replica = replica;
  }

  /**
   * After an instance revert: calls held by a delay fault and responses awaited by mocks belong
   * to a history the revert undid, so they are forgotten. Mocks and armed faults stay: they are
   * the test's configuration, not the instance's state.
   */
  forgetInFlight(): void {
    this.#delayed = [];
    this.#awaiting.clear();
  }

  // ---- registration ------------------------------------------------------------

  register(canister: CanisterState, methods: MockMethods): void {
    const table = new Map<string, MockMethod>();
    for (const [name, m] of Object.entries(methods)) {
      table.set(name, typeof m === 'function' ? { kind: 'update', handler: m } : m);
    }
    this.#mocks.set(canister.idText, table);
  }

  unregister(id: Principal): boolean {
    return this.#mocks.delete(id.toText());
  }

  isMock(id: Principal): boolean {
    return this.#mocks.size > 0 && this.#mocks.has(id.toText());
  }

  /** Whether a call of `method` on `id` is one for `interceptCall` (cheap when nothing is registered). */
  intercepts(id: Principal, method: string, withFaults: boolean): boolean {
    if (this.#mocks.size === 0 && this.#faults.size === 0) return false;
    return this.isMock(id) || (withFaults && this.#faults.has(faultKey(id, method)));
  }

  injectFault(canisterId: Principal, method: string, fault: Fault): void {
    const key = faultKey(canisterId, method);
    const armed = this.#faults.get(key) ?? [];
    armed.push({ fault, left: fault.times ?? 1 });
    this.#faults.set(key, armed);
  }

  /** Forgets the faults not yet used: all of them, a canister's, or one method's. */
  clearFaults(canisterId?: Principal, method?: string): void {
    if (!canisterId) return this.#faults.clear();
    if (method !== undefined) {
      this.#faults.delete(faultKey(canisterId, method));
      return;
    }
    const prefix = `${canisterId.toText()} `;
    for (const key of [...this.#faults.keys()]) if (key.startsWith(prefix)) this.#faults.delete(key);
  }

  /** Resolves once no mock method is running (their awaited calls answered, or waiting on a later round). */
  async settled(): Promise<void> {
    // Drain the microtasks that mock continuations queue, then wait for those still running.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.#running.size > 0) {
      const before = this.#running.size;
      await Promise.race([...this.#running, new Promise<void>((resolve) => setImmediate(resolve))]);
      if (this.#running.size === before) return;
    }
  }

  // ---- hooks of the call routing -----------------------------------------------

  /** At the start of a round: the delayed calls whose time has come run now. */
  startRound(): void {
    if (this.#delayed.length === 0) return;
    const due: (() => void)[] = [];
    this.#delayed = this.#delayed.filter((d) => {
      d.rounds -= 1;
      if (d.rounds > 0) return true;
      due.push(d.resume);
      return false;
    });
    for (const resume of due) resume();
  }

  /**
   * A replicated call that reached a running canister: a fault answers or
   * delays it, a mock runs it; false when neither applies.
   */
  interceptCall(call: ArrivedCall, withFaults: boolean): boolean {
    const fault = withFaults ? this.#takeFault(call.canister.id, call.method) : undefined;
    if (fault?.kind === 'delay') {
      this.#delayed.push({ rounds: fault.rounds, resume: call.resume });
      return true;
    }
    if (fault) {
      call.answer(this.#faultResult(call.canister, fault), call.cycles);
      return true;
    }
    const table = this.#mocks.get(call.canister.idText);
    if (!table) return false;
    this.#runUpdate(call, table.get(call.method));
    return true;
  }

  /** A non-replicated query to a mock or a faulted method; undefined when neither applies. */
  interceptQuery(
    target: Principal,
    caller: Uint8Array,
    method: string,
    arg: Uint8Array,
  ): CallResult | undefined {
    if (!this.intercepts(target, method, true)) return undefined;
    const canister = this.#replica.findCanister(target);
    if (!canister || canister.status !== 'running') return undefined;
    const fault = this.#takeFault(canister.id, method, true);
    if (fault && fault.kind !== 'delay') return this.#faultResult(canister, fault);
    const table = this.#mocks.get(canister.idText);
    if (!table) return undefined;
    const m = table.get(method);
    if (!m || m.kind !== 'query') {
      return rejectDescribed(
        toUserError({ kind: 'MethodNotFound', methodKind: 'query', name: method }, canister.idText),
      );
    }
    let result: CallResult;
    try {
      const out = m.handler(
        arg,
        this.#context(canister, caller, method, 0n, () => 0n, true),
      );
      if (out instanceof Promise) {
        // A non-replicated query is answered within the request; a promise cannot be awaited there.
        out.catch(() => {});
        throw new Error(
          `icsim: the query mock method ${method} returned a Promise; a query answers synchronously`,
        );
      }
      result = reply(out);
    } catch (e) {
      result = this.#thrownResult(canister, e);
    }
    return result.status === 'rejected' && result.callerMessage
      ? rejectDescribed(asUserError(result))
      : result;
  }

  /** A response to one of a mock's calls: true when it was one (the mock takes it). */
  deliverResponse(target: Principal, callbackId: number, payload: CallResult, refund: bigint): boolean {
    // A mock's calls have negative callback ids, so a canister's own never collide with them,
    // even on a canister mocked or unmocked while calls are in flight.
    if (callbackId >= 0) return false;
    const key = `${target.toText()} ${callbackId}`;
    const awaiting = this.#awaiting.get(key);
    this.#awaiting.delete(key);
    const canister = this.#replica.findCanister(target);
    if (canister) canister.balance += refund;
    awaiting?.(
      payload.status === 'replied'
        ? { status: 'replied', reply: payload.reply, refund }
        : { status: 'rejected', rejectCode: payload.rejectCode, message: callerMessage(payload), refund },
    );
    return true;
  }

  // ---- internals -----------------------------------------------------------------

  #takeFault(canisterId: Principal, method: string, query = false): Fault | undefined {
    const key = faultKey(canisterId, method);
    const armed = this.#faults.get(key);
    // A query cannot be delayed: it is answered within the request.
    const next = armed?.find((a) => !query || a.fault.kind !== 'delay');
    if (!armed || !next) return undefined;
    next.left -= 1;
    if (next.left <= 0) armed.splice(armed.indexOf(next), 1);
    if (armed.length === 0) this.#faults.delete(key);
    return next.fault;
  }

  #faultResult(canister: CanisterState, fault: Exclude<Fault, { kind: 'delay' }>): CallResult {
    if (fault.kind === 'trap') return this.#trap(canister, fault.message);
    return reject(fault.rejectCode, fault.message, fault.errorCode ?? defaultErrorCode(fault.rejectCode));
  }

  /** What the replica answers for `ic0.trap(message)`, logged as a trap is. */
  #trap(canister: CanisterState, message: string): CallResult {
    const error = toUserError({ kind: 'CalledTrap', message }, canister.idText);
    this.#replica.log(canister, new TextEncoder().encode(`[TRAP]: ${error.message}`));
    return rejectWith(error);
  }

  #thrownResult(canister: CanisterState, e: unknown): CallResult {
    if (e instanceof MockReject) return reject(e.rejectCode, e.message, defaultErrorCode(e.rejectCode));
    return this.#trap(canister, e instanceof Error ? e.message : String(e));
  }

  #runUpdate(call: ArrivedCall, method: MockMethod | undefined): void {
    const { canister } = call;
    if (!method) {
      const error = toUserError(
        { kind: 'MethodNotFound', methodKind: 'update', name: call.method },
        canister.idText,
      );
      return call.answer(rejectWith(error), call.cycles);
    }
    let accepted = 0n;
    const accept = (max: bigint): bigint => {
      const take = max < call.cycles - accepted ? max : call.cycles - accepted;
      const n = take > 0n ? take : 0n;
      accepted += n;
      canister.balance += n;
      return n;
    };
    const ctx = this.#context(
      canister,
      call.caller,
      call.method,
      call.cycles,
      () => accepted,
      method.kind === 'query',
      accept,
    );
    const finish = (result: CallResult): void => {
      // A trap takes back the cycles the method accepted, as a rolled-back execution does.
      if (result.status === 'rejected' && result.errorCode === 'CanisterCalledTrap') {
        canister.balance -= accepted;
        accepted = 0n;
      }
      call.answer(result, call.cycles - accepted);
    };
    let out: Uint8Array | Promise<Uint8Array>;
    try {
      out = method.handler(call.arg, ctx);
    } catch (e) {
      return finish(this.#thrownResult(canister, e));
    }
    if (!(out instanceof Promise)) return finish(reply(out));
    const running = out.then(
      (bytes) => finish(reply(bytes)),
      (e: unknown) => finish(this.#thrownResult(canister, e)),
    );
    this.#running.add(running);
    void running.finally(() => this.#running.delete(running));
  }

  #context(
    canister: CanisterState,
    caller: Uint8Array,
    method: string,
    cycles: bigint,
    accepted: () => bigint,
    isQuery: boolean,
    accept: (max: bigint) => bigint = () => 0n,
  ): MockContext {
    const replica = this.#replica;
    return {
      canisterId: canister.id,
      caller: Principal.fromUint8Array(caller),
      method,
      get time() {
        return isQuery ? replica.certifiedTime : replica.roundTime;
      },
      cyclesAvailable: () => cycles - accepted(),
      acceptCycles: (max?: bigint) => accept(max ?? cycles),
      call: (target, m, arg, options = {}) => {
        if (isQuery) return Promise.reject(new Error('icsim: a query mock cannot make calls'));
        return this.#call(canister, target, m, arg, options.cycles ?? 0n);
      },
    };
  }

  #call(
    canister: CanisterState,
    target: Principal,
    method: string,
    arg: Uint8Array,
    cycles: bigint,
  ): Promise<MockCallResult> {
    if (cycles < 0n) return Promise.reject(new Error('icsim: cycles to send must not be negative'));
    if (canister.balance < cycles) {
      return Promise.reject(
        new Error(`icsim: mock ${canister.idText} has ${canister.balance} cycles, cannot send ${cycles}`),
      );
    }
    canister.balance -= cycles;
    const callbackId = -++this.#nextCallbackId;
    const response = new Promise<MockCallResult>((resolve) => {
      this.#awaiting.set(`${canister.idText} ${callbackId}`, resolve);
    });
    this.#replica.scheduler.enqueue({
      kind: 'request',
      caller: canister.id,
      callbackId,
      target,
      method,
      arg,
      cycles,
      deadline: 0n,
    });
    return response;
  }
}

function faultKey(canisterId: Principal, method: string): string {
  return `${canisterId.toText()} ${method}`;
}

/** The error code an ingress sender reads for a reject of `code`: the first of its class (IC0406 for CANISTER_REJECT). */
export function defaultErrorCode(code: RejectCodeName): ErrorCodeName {
  if (code === 'CanisterReject') return 'CanisterRejectedMessage';
  return (Object.keys(ErrorCode) as ErrorCodeName[]).find((e) => rejectCodeOf(e) === code)!;
}

/** A query caller reads a failed execution as its user error, without the `IC0503:` prefix. */
function asUserError(r: Extract<CallResult, { status: 'rejected' }>): UserError {
  return new UserError(r.errorCode, r.message);
}
