/**
 * Ingress induction: an ingress message is checked (the ingress filter:
 * the target exists, runs, has code, and its `canister_inspect_message`
 * accepts it), given its message id, recorded for status queries and
 * queued for the next round.
 */
import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import { toHex } from '../bytes.ts';
import { sha256 } from '../sha256.ts';
import { InstanceError, UserError, canisterNotFound } from '../errors.ts';
import { execute } from '../execution/executor.ts';
import { newMessageContext } from '../execution/message.ts';
import { toUserError } from '../execution/trap.ts';
import { rejectWith, type CallResult, type Reject, type TrapReport } from '../result.ts';
import { statusError } from './call-context.ts';
import { freezingThreshold, shortfall } from '../cycles/account.ts';
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
  /** Executions that failed in its call tree (icsim's trap reports; `subnet/trap-chain.ts`). */
  traps?: TrapReport[];
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
  const counter = replica.ingressCounter;
  const bytes = messageId(counter, sender, target, method, arg);
  // The size check comes first, before the ingress filter (`submit_signed_ingress` in
  // dfinity/ic `rs/state_machine_tests/src/lib.rs`, which PocketIC's `SubmitIngressMessage` calls).
  const limit = (subnet ?? replica.subnetHosting(target))?.maxIngressBytesPerMessage;
  const size = ingressMessageBytes(sender, target, method, arg);
  if (limit !== undefined && size > limit)
    throw new InstanceError('IngressTooLarge', toHex(bytes), size, limit);
  const refused =
    target.compareTo(MANAGEMENT) === 'eq'
      ? (checkInductionCost(replica, { sender, target, method, arg }) ??
        replica.management?.acceptsIngress(method))
      : checkIngressTarget(replica, sender, target, method, arg);
  if (refused) return rejectWith(refused);
  replica.nextIngressCounter();
  const id = toHex(bytes);
  replica.ingress.set(id, { id, sender, target, method });
  replica.scheduler.enqueue({ kind: 'ingress', id, sender, target, method, arg, subnet });
  return { id, bytes };
}

/**
 * icsim's message id: unique per accepted message by its counter, like the replica's nonce-based
 * request ids, which no client can recompute either (PocketIC builds the envelope, nonce included,
 * itself). The argument enters by its length only: hashing its bytes made no id more unique and
 * cost 2 ms of SHA-256 per 2 MB message (`ingress.*` in `npm run bench`).
 */
function messageId(
  counter: bigint,
  sender: Principal,
  target: Principal,
  method: string,
  arg: Uint8Array,
): Uint8Array {
  const numbers = new Uint8Array(16);
  const view = new DataView(numbers.buffer);
  view.setBigUint64(0, counter);
  view.setBigUint64(8, BigInt(arg.byteLength));
  return sha256(numbers, sender.toUint8Array(), target.toUint8Array(), new TextEncoder().encode(method));
}

/** Bytes of a CBOR head (major type and length or value) for `n`. */
function cborHead(n: number | bigint): number {
  const v = BigInt(n);
  return v < 24n ? 1 : v < 256n ? 2 : v < 65_536n ? 3 : v < 4_294_967_296n ? 5 : 9;
}
const cborBytes = (length: number): number => cborHead(length) + length;
const cborText = (text: string): number => cborBytes(new TextEncoder().encode(text).length);

/**
 * The size the replica counts for a message submitted through PocketIC's REST API: the CBOR
 * encoding of the envelope it builds (`SignedIngress::count_bytes`), whose content holds the
 * request type, canister id, method, argument, sender, an `ingress_expiry` in nanoseconds and an
 * 8-byte nonce, with no signature or delegation fields (`submit_ingress_as` / `ingress_message` in
 * dfinity/ic `rs/state_machine_tests/src/lib.rs`).
 */
export function ingressMessageBytes(
  sender: Principal,
  target: Principal,
  method: string,
  arg: Uint8Array,
): number {
  const EXPIRY = 2n ** 60n; // any time since 1970 in ns: a 9-byte CBOR integer
  const content =
    1 +
    cborText('request_type') +
    cborText('call') +
    cborText('canister_id') +
    cborBytes(target.toUint8Array().length) +
    cborText('method_name') +
    cborText(method) +
    cborText('arg') +
    cborBytes(arg.length) +
    cborText('sender') +
    cborBytes(sender.toUint8Array().length) +
    cborText('ingress_expiry') +
    cborHead(EXPIRY) +
    cborText('nonce') +
    cborBytes(8);
  return 1 + cborText('content') + content;
}

/** What an ingress message is: who sends it, to which canister and method, with which argument. */
export interface IngressContent {
  sender: Principal;
  target: Principal;
  method: string;
  arg: Uint8Array;
}

/**
 * The canister that pays for inducting a message, and the fee (`ingress_induction_cost`,
 * dfinity/ic `rs/cycles_account_manager/src/cycles_account_manager.rs`): the target
 * canister, or for the management canister the canister the call is about (its
 * effective canister id); provisional methods are free, and an `update_settings`
 * of at most 366 bytes pays after it ran (`delayed`), so that a frozen canister can
 * be unfrozen. Undefined when nobody pays.
 */
export function inductionCost(
  replica: Replica,
  message: IngressContent,
): { payer: Principal; cost: bigint; delayed: boolean } | { missing: Principal } | undefined {
  const { target, method, arg } = message;
  let payer: Principal | undefined = target;
  let delayed = false;
  if (target.compareTo(MANAGEMENT) === 'eq') {
    // Methods an ingress message may not call are refused for that, whoever would pay.
    if (replica.management?.acceptsIngress(method)) return undefined;
    if (method === 'provisional_create_canister_with_cycles' || method === 'provisional_top_up_canister')
      return undefined;
    payer = effectiveCanisterId(method, arg);
    delayed = method === 'update_settings' && arg.length <= 366;
  }
  if (!payer) return undefined;
  // A JS-function canister is charged nothing (simulator/mocks/).
  if (replica.mocks.isMock(payer)) return undefined;
  const canister = replica.findCanister(payer);
  if (!canister) return { missing: payer };
  const bytes = BigInt(ingressMessageBytes(message.sender, target, method, arg));
  return { payer, cost: canister.fees.ingressInductionCost(bytes), delayed };
}

/** The canister a management call is about: its `canister_id` (`target_canister` for chunked installs). */
function effectiveCanisterId(method: string, arg: Uint8Array): Principal | undefined {
  const field = method === 'install_chunked_code' ? 'target_canister' : 'canister_id';
  try {
    const [record] = IDL.decode([IDL.Record({ [field]: IDL.Principal })], arg) as unknown as [
      Record<string, Principal>,
    ];
    return record[field];
  } catch {
    return undefined;
  }
}

/**
 * The ingress filter's first check: the paying canister exists and can pay
 * the induction fee above its freezing threshold (`should_accept_ingress_message`
 * in dfinity/ic `rs/execution_environment/src/execution_environment.rs`; the
 * top-up amount is revealed to the canister's controllers only).
 */
function checkInductionCost(replica: Replica, message: IngressContent): UserError | undefined {
  const fee = inductionCost(replica, message);
  if (!fee) return undefined;
  if ('missing' in fee) return canisterNotFound(fee.missing);
  const canister = replica.findCanister(fee.payer);
  if (fee.delayed || !canister) return undefined;
  return shortfall(
    canister,
    canister.balance,
    fee.cost,
    freezingThreshold(canister),
    canister.isControlledBy(message.sender),
  );
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
  const unpaid = checkInductionCost(replica, { sender, target, method, arg });
  if (unpaid) return unpaid;
  if (canister.status !== 'running') return statusError(canister);
  // A JS-function canister has no module and accepts every message (simulator/mocks/).
  if (replica.mocks.isMock(target)) return undefined;
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
