/**
 * The query engine: non-replicated (composite) queries against the last
 * committed state. Nested calls of a composite query run at once, depth
 * first, and nothing any of them does persists.
 *
 * Each call of the call graph runs in its own call context on the callee's
 * committed state, whoever called it (itself included); what it changes
 * lives through its own callbacks and is dropped when it responds
 * (dfinity/ic rs/execution_environment/src/query_handler/query_context.rs
 * `handle_request` takes the callee from the state the query runs against;
 * query_call_graph.rs keeps each caller's modified state on its call stack).
 *
 * Semantics: IC interface specification, "Query call", "Composite query";
 * dfinity/ic `query_context.rs` for the depth limit.
 */
import { Principal } from '@icp-sdk/core/principal';
import { UserError, didNotReply } from '../errors.ts';
import type { CanisterState } from '../canister/state.ts';
import { invoke } from '../execution/executor.ts';
import type { WasmRuntime } from '../execution/runtime.ts';
import { newMessageContext } from '../execution/message.ts';
import { backtraceForCaller, toUserError, type HypervisorError } from '../execution/trap.ts';
import { rejectDescribed, type CallResult } from '../result.ts';
import { callbackArgs, runnableTarget } from './call-context.ts';
import type { Replica } from './replica.ts';

const MANAGEMENT = Principal.managementCanister();

/** A non-replicated (composite) query against the committed state; nothing it does persists. */
export function query(
  replica: Replica,
  sender: Principal,
  target: Principal,
  method: string,
  arg: Uint8Array,
): CallResult {
  if (target.compareTo(MANAGEMENT) === 'eq' && replica.management) {
    return replica.management.query(method, arg, sender);
  }
  const graph: CallGraph = { touched: new Set(), running: new Map() };
  try {
    return runQuery(replica, target, sender.toUint8Array(), method, arg, graph, 'top', 0);
  } finally {
    // Every call already put its canister back on the committed state; end the journals.
    for (const c of graph.touched) c.stable.rollback();
  }
}

/** The canisters a query touched, and how many of its calls each is running now (on the stack). */
interface CallGraph {
  touched: Set<CanisterState>;
  running: Map<CanisterState, number>;
}

/** Back to the committed state, still journaling stable memory for the next call. */
function resetToCommitted(canister: CanisterState, runtime: WasmRuntime): void {
  runtime.rollback();
  canister.stable.rollback();
  canister.stable.begin();
}

/**
 * Runs `run` as one call of the graph on `canister`'s committed state; a call
 * of the same canister further up the stack gets its own state back after.
 */
function inCallContext<T>(canister: CanisterState, runtime: WasmRuntime, graph: CallGraph, run: () => T): T {
  const running = graph.running.get(canister) ?? 0;
  const outer = running > 0 ? { heap: runtime.capture(), stable: canister.stable.changes() } : undefined;
  if (outer) resetToCommitted(canister, runtime);
  else if (!graph.touched.has(canister)) {
    graph.touched.add(canister);
    canister.stable.begin();
  }
  graph.running.set(canister, running + 1);
  try {
    return run();
  } finally {
    graph.running.set(canister, running);
    resetToCommitted(canister, runtime);
    if (outer) {
      runtime.restore(outer.heap);
      canister.stable.reapply(outer.stable);
    }
  }
}

function runQuery(
  replica: Replica,
  target: Principal,
  caller: Uint8Array,
  method: string,
  arg: Uint8Array,
  graph: CallGraph,
  level: 'top' | 'nested',
  depth: number,
): CallResult {
  // A JS-function canister or an injected fault answers here (simulator/mocks/).
  const intercepted = replica.mocks.interceptQuery(target, caller, method, arg);
  if (intercepted) return intercepted;
  const found = runnableTarget(replica, target);
  if (found instanceof UserError) return rejectDescribed(found);
  const { canister, runtime } = found;
  let entry: string;
  let kind: 'NRQ' | 'CQ';
  if (runtime.hasExport(`canister_query ${method}`)) {
    entry = `canister_query ${method}`;
    kind = 'NRQ';
  } else if (runtime.hasExport(`canister_composite_query ${method}`)) {
    entry = `canister_composite_query ${method}`;
    kind = 'CQ';
  } else {
    return rejectDescribed(
      toUserError({ kind: 'MethodNotFound', methodKind: 'query', name: method }, canister.idText),
    );
  }
  if (depth > 6) {
    // dfinity/ic query_context.rs: MAX_QUERY_CALL_DEPTH.
    return rejectDescribed(
      new UserError('QueryCallGraphTooDeep', 'Composite query call graph went too deep'),
    );
  }
  return inCallContext(canister, runtime, graph, () =>
    runCall(replica, canister, runtime, entry, kind, caller, arg, graph, level, depth),
  );
}

/** One call of the graph, its nested calls and its callbacks, until it responds or has nothing left to await. */
function runCall(
  replica: Replica,
  canister: CanisterState,
  runtime: WasmRuntime,
  entry: string,
  kind: 'NRQ' | 'CQ',
  caller: Uint8Array,
  arg: Uint8Array,
  graph: CallGraph,
  level: 'top' | 'nested',
  depth: number,
): CallResult {
  const time = replica.certifiedTime;
  const base = { time, globalTimer: canister.globalTimer, caller };
  const limit = replica.instructionLimit(canister, kind);
  const ctx = newMessageContext({
    ...base,
    kind,
    arg,
    instructionLimit: limit,
    dataCertificate: level === 'top' ? once(() => replica.dataCertificate(canister)) : undefined,
  });
  // A trap's backtrace is for callers who may read the canister's logs (as in `execute`).
  const forCaller = (e: HypervisorError): HypervisorError =>
    backtraceForCaller(e, canister.logsVisibleTo(caller));
  const error = invoke(runtime, ctx, { kind: 'export', name: entry });
  let contextInstructions = ctx.instructionsUsed;
  if (error) return rejectDescribed(toUserError(forCaller(error), canister.idText));
  // Once the call has responded, what it still awaits cannot change the answer: the replica
  // drops those calls unexecuted (query_call_graph.rs, "the DFS traversal takes a shortcut").
  let response = ctx.response;
  const pending = [...ctx.calls];
  while (!response && pending.length > 0) {
    const call = pending.shift()!;
    const callee = Principal.fromUint8Array(call.callee);
    const result = runQuery(
      replica,
      callee,
      canister.idBytes,
      call.method,
      call.arg,
      graph,
      'nested',
      depth + 1,
    );
    const isReply = result.status === 'replied';
    const cb = newMessageContext({
      ...base,
      kind: isReply ? 'CRy' : 'CRt',
      arg: isReply ? result.reply : new Uint8Array(),
      ...callbackArgs(result),
      instructionLimit: limit,
      callContextInstructions: contextInstructions,
    });
    const cbError = invoke(runtime, cb, { kind: 'closure', closure: isReply ? call.reply : call.reject });
    contextInstructions += cb.instructionsUsed;
    if (cbError) {
      // A trapping callback runs its cleanup (spec: "composite cleanup", CC), and fails the
      // call context only when no call is outstanding (dfinity/ic query_context.rs
      // execute_callback / execute_cleanup, then on_canister_result).
      if (call.cleanup) {
        const cleanup = newMessageContext({
          ...base,
          kind: 'CC',
          arg: new Uint8Array(),
          rejectCode: cb.rejectCode,
          rejectMessage: '',
          alreadyResponded: false,
          instructionLimit: limit,
          callContextInstructions: contextInstructions,
        });
        invoke(runtime, cleanup, { kind: 'closure', closure: call.cleanup });
        contextInstructions += cleanup.instructionsUsed;
      }
      if (pending.length === 0) return rejectDescribed(toUserError(forCaller(cbError), canister.idText));
      continue;
    }
    response = cb.response;
    pending.push(...cb.calls);
  }
  if (response) return response;
  // A call of the graph that did not respond: its caller gets a synthetic reject
  // (query_context.rs `empty_response`); a user, the ingress-style did-not-reply.
  return rejectDescribed(
    level === 'top'
      ? didNotReply(canister.idText)
      : new UserError('CanisterDidNotReply', `Canister ${canister.idText} did not produce a response`),
  );
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
