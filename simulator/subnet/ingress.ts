/**
 * Ingress induction: an ingress message is checked (the ingress filter:
 * the target exists, runs, has code, and its `canister_inspect_message`
 * accepts it), given its message id, recorded for status queries and
 * queued for the next round.
 */
import { Principal } from '@icp-sdk/core/principal';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, toHex } from '../bytes.ts';
import { UserError, canisterNotFound } from '../errors.ts';
import { execute } from '../execution/executor.ts';
import { newMessageContext } from '../execution/message.ts';
import { toUserError } from '../execution/trap.ts';
import { rejectWith, type CallResult, type Reject } from '../result.ts';
import { statusError } from './call-context.ts';
import type { Replica } from './replica.ts';
import type { Subnet } from './subnet.ts';

const MANAGEMENT = Principal.managementCanister();

/** An ingress message the instance accepted, and its outcome once it has one. */
export interface IngressRecord {
  id: string;
  sender: Principal;
  target: Principal;
  method: string;
  outcome?: CallResult;
}

/**
 * Inducts an ingress message after the checks the replica makes before
 * accepting one: the target exists, runs and has code, and its
 * `canister_inspect_message` accepts the message.
 */
export function inductIngress(
  replica: Replica,
  sender: Principal,
  target: Principal,
  method: string,
  arg: Uint8Array,
  subnet?: Subnet,
): { id: string; bytes: Uint8Array } | Reject {
  const refused =
    target.compareTo(MANAGEMENT) === 'eq'
      ? replica.management?.acceptsIngress(method)
      : checkIngressTarget(replica, sender, target, method, arg);
  if (refused) return rejectWith(refused);
  const counter = new Uint8Array(8);
  new DataView(counter.buffer).setBigUint64(0, replica.nextIngressCounter());
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
  replica.ingress.set(id, { id, sender, target, method });
  replica.scheduler.enqueue({ kind: 'ingress', id, sender, target, method, arg, subnet });
  return { id, bytes };
}

/** The ingress filter: the checks the replica makes before it accepts a message for a canister. */
function checkIngressTarget(
  replica: Replica,
  sender: Principal,
  target: Principal,
  method: string,
  arg: Uint8Array,
): UserError | undefined {
  const canister = replica.findCanister(target);
  if (!canister) return canisterNotFound(target);
  if (canister.status !== 'running') return statusError(canister);
  const runtime = canister.runtime;
  if (!runtime) return toUserError({ kind: 'WasmModuleNotFound' }, canister.idText);
  if (!runtime.hasExport('canister_inspect_message')) return undefined;
  const ctx = newMessageContext({
    kind: 'F',
    time: replica.certifiedTime,
    globalTimer: canister.globalTimer,
    caller: sender.toUint8Array(),
    arg,
    methodName: method,
    instructionLimit: replica.instructionLimit(canister, 'F'),
  });
  const error = execute(canister, ctx, { kind: 'export', name: 'canister_inspect_message' }, false);
  replica.callContexts.keepLogs(canister, ctx, error);
  if (error) return toUserError(error, canister.idText);
  if (!ctx.messageAccepted) {
    return new UserError(
      'CanisterRejectedMessage',
      `Error from Canister ${canister.idText}: Canister rejected the message`,
    );
  }
  return undefined;
}
