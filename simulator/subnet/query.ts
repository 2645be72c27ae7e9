/**
 * The query engine: non-replicated (composite) queries against the last
 * committed state. Nested calls of a composite query run at once, depth
 * first, and nothing any of them does persists: every canister touched is
 * rolled back when the top-level query ends.
 *
 * Semantics: IC interface specification, "Query call", "Composite query";
 * dfinity/ic `query_context.rs` for the depth limit.
 */
import { Principal } from '@icp-sdk/core/principal';
import { UserError, didNotReply } from '../errors.ts';
import type { CanisterState } from '../canister/state.ts';
import { invoke } from '../execution/executor.ts';
import { newMessageContext } from '../execution/message.ts';
import { toUserError } from '../execution/trap.ts';
import { rejectWith, type CallResult } from '../result.ts';
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
  const touched = new Set<CanisterState>();
  try {
    return runQuery(replica, target, sender.toUint8Array(), method, arg, touched, 'top', 0);
  } finally {
    for (const c of touched) {
      c.runtime?.rollback();
      c.stable.rollback();
    }
  }
}

function runQuery(
  replica: Replica,
  target: Principal,
  caller: Uint8Array,
  method: string,
  arg: Uint8Array,
  touched: Set<CanisterState>,
  level: 'top' | 'nested',
  depth: number,
): CallResult {
  const found = runnableTarget(replica, target);
  if (found instanceof UserError) return rejectWith(found);
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
  const error = invoke(runtime, ctx, { kind: 'export', name: entry });
  let contextInstructions = ctx.instructionsUsed;
  if (error) return rejectWith(toUserError(error, canister.idText));
  let response = ctx.response;
  const pending = [...ctx.calls];
  while (pending.length > 0) {
    const call = pending.shift()!;
    const callee = Principal.fromUint8Array(call.callee);
    const result = runQuery(
      replica,
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
          alreadyResponded: response !== undefined,
          instructionLimit: limit,
          callContextInstructions: contextInstructions,
        });
        invoke(runtime, cleanup, { kind: 'closure', closure: call.cleanup });
        contextInstructions += cleanup.instructionsUsed;
      }
      if (!response && pending.length === 0) return rejectWith(toUserError(cbError, canister.idText));
      continue;
    }
    response = response ?? cb.response;
    pending.push(...cb.calls);
  }
  return response ?? rejectWith(didNotReply(canister.idText));
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
