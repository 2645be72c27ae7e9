/**
 * HTTPS outcalls: what a canister's `http_request` leaves pending until a
 * (mocked) response arrives, and the transform function that response goes
 * through before the canister sees it.
 *
 * Semantics: IC interface specification, "IC method http_request".
 */
import { Principal } from '@icp-sdk/core/principal';
import { canisterNotFound, didNotReply, type UserError } from '../errors.ts';
import { execute } from '../execution/executor.ts';
import { newMessageContext } from '../execution/message.ts';
import { toUserError } from '../execution/trap.ts';
import { reject, type CallResult, type Reject } from '../result.ts';
import type { PendingHttpOutcall } from '../types.ts';
import type { Replica } from './replica.ts';

const MANAGEMENT = Principal.managementCanister();

/** An HTTPS outcall a canister made, waiting for a (mocked) response. */
export interface PendingOutcall {
  request: PendingHttpOutcall;
  canisterId: Principal;
  transform?: { method: string; context: Uint8Array };
  respond: (result: CallResult) => void;
}

/**
 * Runs an HTTPS outcall's transform function (`canister_query <method>` in
 * the spec's transform context, called by the management canister); nothing
 * it does persists. The result is what the outcall's caller receives: the
 * transform's reply or reject, or its failure as a `CanisterError` reject.
 */
export function transform(
  replica: Replica,
  canisterId: Principal,
  method: string,
  arg: Uint8Array,
): CallResult {
  const failed = (error: UserError): Reject => reject('CanisterError', error.message);
  const canister = replica.findCanister(canisterId);
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
    time: replica.roundTime,
    globalTimer: canister.globalTimer,
    caller: MANAGEMENT.toUint8Array(),
    arg,
    instructionLimit: replica.instructionLimit(canister, 'TQ'),
  });
  const error = execute(canister, ctx, { kind: 'export', name: entry }, false);
  if (error) return failed(toUserError(error, canister.idText));
  return ctx.response ?? failed(didNotReply(canister.idText));
}
