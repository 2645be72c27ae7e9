/**
 * The scheduler: rounds and the message queues they drain. A round runs at
 * the instance's time (bumped by 1 ns when it did not advance, as PocketIC
 * does), first expiring bounded-wait calls, then the canisters' timers and
 * heartbeats, then the queued messages, wave after wave, so same-subnet
 * messages run in the round they are sent (the replica's inner rounds).
 *
 * Semantics: IC interface specification, "Ordering guarantees", "Global
 * timer", "Best-effort responses"; PocketIC for the round and time model.
 */
import { Principal } from '@icp-sdk/core/principal';
import type { CallOrigin, CanisterState } from '../canister/state.ts';
import { reject, rejectWith, type CallResult } from '../result.ts';
import { UserError } from '../errors.ts';
import { chargeForResources, consume } from '../cycles/account.ts';
import { inductionCost } from './ingress.ts';
import { uninstallCode } from '../execution/install.ts';
import type { Replica } from './replica.ts';
import type { Subnet } from './subnet.ts';

const MANAGEMENT = Principal.managementCanister();
/** Bound on message waves inside one round. */
const MAX_INNER_ITERATIONS = 64;

/** A message waiting in the queues: an inducted ingress message, a canister's request, or a response to one. */
export type Message =
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
      /** The caller's canister version when it made the call. */
      senderVersion?: bigint;
    }
  | { kind: 'response'; target: Principal; callbackId: number; payload: CallResult; refund: bigint };

/**
 * Management methods that keep the cycles attached to them (the new canister's balance, the
 * deposit, the fee of an outcall or a threshold signature); every other method refunds them, as
 * the replica's management canister does (reference suite: "cycles > create and delete canister
 * with cycles" loads cycles on delete_canister "just to check that they are refunded").
 */
const TAKES_CYCLES = new Set([
  'create_canister',
  'deposit_cycles',
  'http_request',
  'sign_with_ecdsa',
  'sign_with_schnorr',
  'vetkd_derive_key',
  'bitcoin_get_utxos',
  'bitcoin_get_balance',
  'bitcoin_send_transaction',
  'bitcoin_get_current_fee_percentiles',
  'bitcoin_get_block_headers',
]);

/** What an instance snapshot saves of the scheduler (`Scheduler.queueState`). */
export interface SchedulerState {
  queue: readonly Message[];
  lastRoundTime: bigint;
  unanswered: readonly { answered: boolean }[];
}

export class Scheduler {
  readonly #replica: Replica;
  #queue: Message[] = [];
  #lastRoundTime: bigint;
  /** Management calls not answered yet (see `#callManagement`'s guard). */
  readonly #unanswered = new Set<{ answered: boolean }>();

  constructor(replica: Replica, initialTime: bigint) {
    this.#replica = replica;
    this.#lastRoundTime = initialTime - 1n;
  }

  /**
   * The messages queued, the last round's time and the management calls not answered yet, as an
   * instance snapshot saves them (`snapshot/`); setting it reopens those calls.
   */
  get queueState(): SchedulerState {
    return { queue: [...this.#queue], lastRoundTime: this.#lastRoundTime, unanswered: [...this.#unanswered] };
  }

  set queueState(state: SchedulerState) {
    this.#queue = [...state.queue];
    this.#lastRoundTime = state.lastRoundTime;
    this.#unanswered.clear();
    for (const guard of state.unanswered) {
      guard.answered = false;
      this.#unanswered.add(guard);
    }
  }

  /** Queues a message for delivery in this round's next wave (or the next round). */
  enqueue(message: Message): void {
    this.#queue.push(message);
  }

  /** Executes one round: timers and heartbeats, then the messages in the queues. */
  executeRound(): void {
    const replica = this.#replica;
    const time = replica.time > this.#lastRoundTime ? replica.time : this.#lastRoundTime + 1n;
    replica.time = time;
    replica.roundTime = time;
    this.#lastRoundTime = time;
    for (const canister of [...replica.canisters()]) this.#expireBoundedWaitCalls(canister);
    for (const canister of [...replica.canisters()]) this.#runSystemTasks(canister);
    replica.mocks.startRound();
    for (let i = 0; i < MAX_INNER_ITERATIONS && this.#queue.length > 0; i++) {
      const wave = this.#queue;
      this.#queue = [];
      for (const message of wave) this.#deliver(message);
    }
    for (const canister of [...replica.canisters()]) replica.callContexts.finishStopping(canister);
    for (const canister of [...replica.canisters()]) this.#chargeForResources(canister);
    replica.certifiedTime = time;
  }

  /**
   * A bounded-wait call (`call_with_best_effort_response`) whose deadline has
   * passed is answered with SYS_UNKNOWN; a response arriving later finds no
   * callback and is dropped (spec: "Best-effort responses").
   */
  #expireBoundedWaitCalls(canister: CanisterState): void {
    for (const callback of canister.callbacks.values()) {
      if (callback.deadline !== 0n && callback.deadline <= this.#replica.roundTime) {
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

  /**
   * The end-of-round charge for storage and allocations; a canister that
   * cannot pay is uninstalled, loses its allocations and history, and its
   * balance is burned (`charge_canisters_for_resource_allocation_and_usage` in
   * dfinity/ic `rs/execution_environment/src/scheduler.rs`).
   */
  #chargeForResources(canister: CanisterState): void {
    if (chargeForResources(canister, this.#replica.roundTime)) return;
    this.#replica.rejectOpenCallContexts(canister, 'Canister has been uninstalled.');
    uninstallCode(canister);
    canister.chunkStore.clear();
    // A canister that runs out of cycles loses its snapshots too (spec: "IC method delete_canister_snapshot").
    canister.snapshots.clear();
    canister.settings = { ...canister.settings, computeAllocation: 0n, memoryAllocation: 0n };
    canister.history = [];
    canister.balance = 0n;
  }

  #runSystemTasks(canister: CanisterState): void {
    const runtime = canister.runtime;
    if (!runtime || canister.status !== 'running') return;
    if (
      canister.globalTimer !== 0n &&
      canister.globalTimer <= this.#replica.roundTime &&
      runtime.hasExport('canister_global_timer')
    ) {
      // The timer is deactivated when the task runs, whatever the handler does; a canister
      // that cannot prepay the task keeps its timer for the next round.
      const timer = canister.globalTimer;
      canister.globalTimer = 0n;
      if (!this.#replica.callContexts.runSystemTask(canister, 'canister_global_timer'))
        canister.globalTimer = timer;
    }
    if (runtime.hasExport('canister_heartbeat'))
      this.#replica.callContexts.runSystemTask(canister, 'canister_heartbeat');
  }

  #deliver(message: Message): void {
    const replica = this.#replica;
    switch (message.kind) {
      case 'ingress': {
        const record = replica.ingress.get(message.id);
        if (!record) return;
        const induction = this.#chargeInduction(message);
        if (induction instanceof UserError) {
          record.outcome = rejectWith(induction);
          return;
        }
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
          // The fee of a small `update_settings` is charged after it ran, whatever its outcome.
          if (induction) consume(induction.payer, induction.cost, false);
        } else {
          replica.callContexts.executeCall(
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
            replica.subnetHosting(message.caller),
            (result, refund) => {
              this.#queue.push({
                kind: 'response',
                target: message.caller,
                callbackId: message.callbackId,
                payload: result,
                refund:
                  refund ??
                  (result.status === 'replied' && TAKES_CYCLES.has(message.method) ? 0n : message.cycles),
              });
            },
            message.senderVersion,
          );
        } else {
          replica.callContexts.executeCall(
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
        replica.callContexts.executeCallback(
          message.target,
          message.callbackId,
          message.payload,
          message.refund,
        );
        return;
    }
  }

  /**
   * Ingress induction charges the paying canister (see `inductionCost`) above
   * its freezing threshold, or fails the message (`induct_message` in dfinity/ic
   * `rs/messaging/src/scheduling/valid_set_rule.rs`). Returns the charge left
   * for after the message ran (a small `update_settings`).
   */
  #chargeInduction(
    message: Extract<Message, { kind: 'ingress' }>,
  ): UserError | { payer: CanisterState; cost: bigint } | undefined {
    const fee = inductionCost(this.#replica, message);
    if (!fee || 'missing' in fee) return undefined;
    const payer = this.#replica.findCanister(fee.payer);
    if (!payer) return undefined;
    if (fee.delayed) return { payer, cost: fee.cost };
    return consume(payer, fee.cost, payer.isControlledBy(message.sender));
  }

  /** Hands a call to the management canister, which answers at most once, now or later. */
  #callManagement(
    method: string,
    arg: Uint8Array,
    caller: Principal,
    fromCanister: boolean,
    cycles: bigint,
    subnet: Subnet | undefined,
    respond: (r: CallResult, refund?: bigint) => void,
    senderVersion?: bigint,
  ): void {
    const management = this.#replica.management;
    if (!management) throw new Error('no management canister');
    // The guard is an object the scheduler lists while the call is open, so that an instance
    // snapshot's revert can reopen a call answered since (a mocked outcall, a stop).
    const guard = { answered: false };
    this.#unanswered.add(guard);
    management.handle({
      method,
      arg,
      caller,
      fromCanister,
      cycles,
      subnet,
      senderVersion,
      respond: (result, refund) => {
        if (guard.answered) return;
        guard.answered = true;
        this.#unanswered.delete(guard);
        respond(result, refund);
      },
    });
  }
}
