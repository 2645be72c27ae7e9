/**
 * The message machinery shared by all subnets of an instance: the canisters
 * and where they live, the clocks, and the jobs it delegates, each in the
 * file named for what the IC calls it —
 *
 * - `ingress.ts`: ingress induction (the ingress filter, message ids);
 * - `scheduler.ts`: rounds and the message queues they drain;
 * - `call-context.ts`: call contexts, callbacks and execution effects;
 * - `query.ts`: the query engine ((composite) queries, rolled back);
 * - `https-outcalls.ts`: pending HTTPS outcalls and their transforms.
 *
 * Unlike an IC replica, which runs one subnet, it holds every subnet of the
 * instance and one queue for all of them.
 */
import type { Principal } from '@icp-sdk/core/principal';
import type { UserError } from '../errors.ts';
import type { CanisterState } from '../canister/state.ts';
import { instructionLimits, limitForContext, type InstructionLimits } from '../execution/limits.ts';
import type { MessageContext } from '../execution/message.ts';
import type { CallResult, Reject } from '../result.ts';
import { MockRegistry } from '../mocks/registry.ts';
import { CallContextManager } from './call-context.ts';
import { transform, type PendingOutcall } from './https-outcalls.ts';
import { inductIngress, type IngressRecord } from './ingress.ts';
import { query } from './query.ts';
import { Scheduler } from './scheduler.ts';
import type { Subnet } from './subnet.ts';

/** PocketIC's GENESIS: 2021-05-06T19:17:10Z. */
export const GENESIS_NS = 1_620_328_630_000_000_000n;

export interface ManagementCall {
  method: string;
  arg: Uint8Array;
  caller: Principal;
  /** True when another canister sent it (some methods are canister-only or ingress-only). */
  fromCanister: boolean;
  cycles: bigint;
  /** The subnet the call was routed to: the caller's, or the ingress message's effective subnet. */
  subnet: Subnet | undefined;
  /** A calling canister's version when it made the call (what `sender_canister_version` must match). */
  senderVersion?: bigint;
  /**
   * Answers the call, now or later (`stop_canister`), returning `refund` of the
   * attached cycles (by default: none with a reply, all with a reject).
   */
  respond: (result: CallResult, refund?: bigint) => void;
}

export interface ManagementHandler {
  handle(call: ManagementCall): void;
  /** Whether an ingress message may target the method (checked at submission). */
  acceptsIngress(method: string): UserError | undefined;
  /** A non-replicated query to the management canister (`fetch_canister_logs`). */
  query(method: string, arg: Uint8Array, caller: Principal): CallResult;
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
  readonly scheduler: Scheduler;
  readonly callContexts = new CallContextManager(this);
  /** JS-function canisters and injected faults, which the call routing asks first (simulator/mocks/). */
  readonly mocks = new MockRegistry(this);
  #ingressCounter = 0n;
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

  constructor(initialTime: bigint = GENESIS_NS) {
    this.time = initialTime;
    this.certifiedTime = initialTime;
    this.roundTime = initialTime;
    this.scheduler = new Scheduler(this, initialTime);
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

  /** The instruction limit of one message of `kind` on `canister`. */
  instructionLimit(canister: CanisterState, kind: MessageContext['kind']): bigint {
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

  /** Nonces of ingress message ids, so equal messages get distinct ids. */
  nextIngressCounter(): bigint {
    return this.#ingressCounter++;
  }

  /** The counter the next accepted ingress message gets (not consumed). */
  get ingressCounter(): bigint {
    return this.#ingressCounter;
  }

  /** Puts the counter back (an instance snapshot's revert, `snapshot/`). */
  set ingressCounter(value: bigint) {
    this.#ingressCounter = value;
  }

  // ---- jobs ----------------------------------------------------------------

  /** Inducts an ingress message (see ingress.ts). */
  submitIngress(
    sender: Principal,
    target: Principal,
    method: string,
    arg: Uint8Array,
    subnet?: Subnet,
  ): { id: string; bytes: Uint8Array } | Reject {
    return inductIngress(this, sender, target, method, arg, subnet);
  }

  /** Executes one round (see scheduler.ts). */
  tick(): void {
    this.scheduler.executeRound();
  }

  /** A stopping canister with no open call contexts becomes stopped, and its `stop_canister` calls are answered. */
  finishStopping(canister: CanisterState): void {
    this.callContexts.finishStopping(canister);
  }

  /** Rejects every open call context (uninstall_code, delete_canister). */
  rejectOpenCallContexts(canister: CanisterState, message: string): void {
    this.callContexts.rejectOpenCallContexts(canister, message);
  }

  /** Runs an HTTPS outcall's transform function (see https-outcalls.ts). */
  transform(canisterId: Principal, method: string, arg: Uint8Array): CallResult {
    return transform(this, canisterId, method, arg);
  }

  /** A non-replicated (composite) query against the committed state (see query.ts). */
  query(sender: Principal, target: Principal, method: string, arg: Uint8Array): CallResult {
    return query(this, sender, target, method, arg);
  }
}

export function formatTime(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString();
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${frac} UTC`;
}
