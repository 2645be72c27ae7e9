/**
 * The vocabulary of JS-function canisters (mocks) and fault injection: what
 * a mock's methods are, what they see of a call (`MockContext`), how they
 * reject, and what a fault is.
 */
import type { Principal } from '@icp-sdk/core/principal';
import type { RejectCodeName } from '../errors.ts';

/** What a mock's `ctx.call` resolves with: the callee's answer as a calling canister reads it, and the refund. */
export type MockCallResult =
  | { status: 'replied'; reply: Uint8Array; refund: bigint }
  | { status: 'rejected'; rejectCode: RejectCodeName; message: string; refund: bigint };

/** What a mock's method sees of the call it answers. */
export interface MockContext {
  /** The mock's own id. */
  readonly canisterId: Principal;
  /** Who called: a user (ingress, query) or a canister. */
  readonly caller: Principal;
  readonly method: string;
  /** The time of the round the method runs in now (ns since 1970); it moves on across `await ctx.call(…)`. */
  readonly time: bigint;
  /** Cycles the caller attached and the mock has not accepted yet. */
  cyclesAvailable(): bigint;
  /** Accepts up to `max` of the attached cycles (all by default) into the mock's balance; returns how many. */
  acceptCycles(max?: bigint): bigint;
  /**
   * Calls a canister (a Wasm canister, another mock, the management canister)
   * through the instance's queues, sending `cycles` from the mock's balance;
   * resolves when the response arrives in a later round. Not available to a query.
   */
  call(
    canisterId: Principal,
    method: string,
    arg: Uint8Array,
    options?: { cycles?: bigint },
  ): Promise<MockCallResult>;
}

/**
 * A method of a mock: returns (or resolves with) the reply's bytes. Throw a
 * `MockReject` to reject; anything else it throws is a trap whose message is
 * the error's message. A query's handler must return synchronously.
 */
export type MockHandler = (arg: Uint8Array, ctx: MockContext) => Uint8Array | Promise<Uint8Array>;

/** A method with its kind: an update (the default) or a query (callable as a query, and as an update without calls). */
export interface MockMethod {
  kind: 'update' | 'query';
  handler: MockHandler;
}

export type MockMethods = Record<string, MockHandler | MockMethod>;

/** Thrown by a mock's method: the call is rejected with `rejectCode` (CANISTER_REJECT by default) and `message`. */
export class MockReject extends Error {
  readonly rejectCode: RejectCodeName;
  constructor(message: string, rejectCode: RejectCodeName = 'CanisterReject') {
    super(message);
    this.name = 'MockReject';
    this.rejectCode = rejectCode;
  }
}

export type { Fault } from '../types.ts';
