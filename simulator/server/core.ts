/**
 * What the REST adapter needs from the simulator core: the `Instance` API of
 * `simulator/instance.ts`, written as an interface so the adapter depends on
 * the shape only (the real class satisfies it structurally).
 */
import type { Principal } from '@icp-sdk/core/principal';
import type {
  CallOutcome,
  CanisterCall,
  EffectivePrincipal,
  HttpOutcallResponse,
  InstanceConfig,
  PendingHttpOutcall,
  Rejection,
  SubmittedIngress,
  Topology,
} from '../types.ts';

export interface SimInstance {
  getTopology(): Topology;
  getTime(): bigint;
  setTime(ns: bigint): void;
  setCertifiedTime(ns: bigint): void;
  tick(): void;
  query(call: CanisterCall): CallOutcome;
  submitIngress(call: CanisterCall): SubmittedIngress | Rejection;
  awaitIngress(messageId: Uint8Array, effectivePrincipal: EffectivePrincipal): CallOutcome;
  ingressStatus(messageId: Uint8Array, caller?: Principal): CallOutcome | undefined;
  getCycles(canisterId: Principal): bigint;
  addCycles(canisterId: Principal, amount: bigint): bigint;
  getStableMemory(canisterId: Principal): Uint8Array;
  setStableMemory(canisterId: Principal, bytes: Uint8Array): void;
  getSubnet(canisterId: Principal): Principal | undefined;
  getControllers(canisterId: Principal): Principal[];
  getPubKey(subnetId: Principal): Uint8Array;
  getPendingHttpOutcalls(): PendingHttpOutcall[];
  mockHttpOutcall(
    subnetId: Principal,
    requestId: number,
    response: HttpOutcallResponse,
    additional: HttpOutcallResponse[],
  ): void;
  startAutoProgress(artificialDelayMs?: number): void;
  stopAutoProgress(): void;
  isAutoProgress(): boolean;
  delete(): void;
}

/** Creates an instance; throws `InstanceError` on a config the core rejects. */
export type InstanceFactory = (config: InstanceConfig) => SimInstance;

/** Where the server writes its logs: runtime logs to stdout, canister logs (debug_print) to stderr. */
export interface ServerLogs {
  runtime(line: string): void;
  canister(line: string): void;
}
