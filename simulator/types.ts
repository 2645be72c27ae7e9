/**
 * The public vocabulary of the simulator: what an `Instance` takes and
 * returns (calls return a `CallResult` of result.ts). Adapters (the PocketIC REST server, the IC HTTP interface, the CLI)
 * translate to and from these types and nothing else.
 */
import type { Principal } from '@icp-sdk/core/principal';
import type { ErrorCodeName, RejectCodeName } from './errors.ts';

/** Subnet kinds as PocketIC names them (`SubnetKind` in `packages/pocket-ic/src/common/rest.rs`). */
export type SubnetKind =
  'Application' | 'VerifiedApplication' | 'System' | 'NNS' | 'II' | 'Fiduciary' | 'Bitcoin' | 'SNS';

export interface SubnetSpec {
  kind: SubnetKind;
  instructionConfig?: 'Production' | 'Benchmarking';
  costSchedule?: 'Normal' | 'Free';
}

export interface InstanceConfig {
  /** Subnets in creation order; PocketIC consumes canister ranges NNS, SNS, II, Fiduciary, Bitcoin, System…, Application…, VerifiedApplication…. */
  subnets: SubnetSpec[];
  /** Initial time in ns since 1970; PocketIC's GENESIS by default. */
  initialTimeNs?: bigint;
}

export interface CanisterRange {
  start: Principal;
  end: Principal;
}

export interface SubnetTopology {
  id: Principal;
  kind: SubnetKind;
  /** Number of nodes, as PocketIC sizes its subnets. */
  size: number;
  seed: Uint8Array;
  instructionConfig: 'Production' | 'Benchmarking';
  canisterRanges: CanisterRange[];
  /** The largest ingress message the subnet accepts, in bytes (its registry record's `max_ingress_bytes_per_message`). */
  maxIngressBytesPerMessage: number;
}

export interface Topology {
  subnets: SubnetTopology[];
  defaultEffectiveCanisterId: Principal;
}

/** Where a call is routed, as PocketIC's `RawEffectivePrincipal`. */
export type EffectivePrincipal =
  { kind: 'none' } | { kind: 'subnet'; id: Principal } | { kind: 'canister'; id: Principal };

export interface CanisterCall {
  sender: Principal;
  canisterId: Principal;
  method: string;
  arg: Uint8Array;
  effectivePrincipal: EffectivePrincipal;
}

/** A canister as the state tree certifies it (IC interface specification, "Canister information"). */
export interface CanisterInfo {
  id: Principal;
  subnetId: Principal;
  controllers: Principal[];
  /** SHA-256 of the installed module; undefined while the canister is empty. */
  moduleHash: Uint8Array | undefined;
  /** The module's `icp:public <name>` / `icp:private <name>` custom sections. */
  metadata: readonly CanisterMetadata[];
  certifiedData: Uint8Array;
}

export interface CanisterMetadata {
  name: string;
  visibility: 'public' | 'private';
  content: Uint8Array;
}

export interface SubmittedIngress {
  status: 'submitted';
  messageId: Uint8Array;
  effectivePrincipal: EffectivePrincipal;
}

export interface HttpHeader {
  name: string;
  value: string;
}

/** A canister HTTPS outcall waiting for a (mocked) response. */
export interface PendingHttpOutcall {
  subnetId: Principal;
  requestId: number;
  httpMethod: 'GET' | 'POST' | 'HEAD';
  url: string;
  headers: HttpHeader[];
  body: Uint8Array;
  maxResponseBytes?: bigint;
}

export type HttpOutcallResponse =
  | { kind: 'reply'; status: number; headers: HttpHeader[]; body: Uint8Array }
  | { kind: 'reject'; rejectCode: number; message: string };

/**
 * A fault for the next `times` calls (1 by default) of one method of one
 * canister, a mock or a Wasm canister (`Instance.injectFault`, simulator/mocks/):
 * - `reject`: rejected with `rejectCode` and `message` (`errorCode` is what an
 *   ingress sender reads; by default `CanisterRejectedMessage` for
 *   CANISTER_REJECT, else the first error code of the reject code's class);
 * - `trap`: answered as the replica answers `ic0.trap(message)` (IC0503);
 * - `delay`: executed `rounds` rounds after it arrived, so its answer comes that much later.
 */
export type Fault =
  | { kind: 'reject'; rejectCode: RejectCodeName; message: string; errorCode?: ErrorCodeName; times?: number }
  | { kind: 'trap'; message: string; times?: number }
  | { kind: 'delay'; rounds: number; times?: number };
