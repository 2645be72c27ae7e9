/**
 * Candid types of the canister snapshot methods, from the IC interface
 * specification's `ic.did` (dfinity/portal `docs/references/_attachments/ic.did`,
 * "Canister snapshots"), declared as `idl.ts` declares the others: the IDL value
 * and, under the same name, the TypeScript shape it decodes to.
 *
 * `take_canister_snapshot` also takes the newer spec's `uninstall_code` and
 * `sender_canister_version` options (both `opt`, so older callers that leave
 * them out decode unchanged).
 */
import { IDL } from '@icp-sdk/core/candid';
import type { Principal } from '@icp-sdk/core/principal';
import type { LowWasmMemoryHookStatus, SnapshotGlobal, SnapshotTimer } from '../canister/state.ts';

type Opt<T> = [] | [T];

export const SnapshotId = IDL.Vec(IDL.Nat8);

export const Snapshot = IDL.Record({
  id: SnapshotId,
  taken_at_timestamp: IDL.Nat64,
  total_size: IDL.Nat64,
});

export const SnapshotSource = IDL.Variant({
  taken_from_canister: IDL.Reserved,
  metadata_upload: IDL.Reserved,
});

export const SnapshotGlobalType = IDL.Variant({
  i32: IDL.Int32,
  i64: IDL.Int64,
  f32: IDL.Float32,
  f64: IDL.Float64,
  v128: IDL.Nat,
});

export const GlobalTimer = IDL.Variant({ inactive: IDL.Null, active: IDL.Nat64 });

export const OnLowWasmMemoryHookStatus = IDL.Variant({
  condition_not_satisfied: IDL.Null,
  ready: IDL.Null,
  executed: IDL.Null,
});

export interface TakeCanisterSnapshotArgs {
  canister_id: Principal;
  replace_snapshot: Opt<Uint8Array>;
  uninstall_code: Opt<boolean>;
  sender_canister_version: Opt<bigint>;
}
export const TakeCanisterSnapshotArgs = IDL.Record({
  canister_id: IDL.Principal,
  replace_snapshot: IDL.Opt(SnapshotId),
  uninstall_code: IDL.Opt(IDL.Bool),
  sender_canister_version: IDL.Opt(IDL.Nat64),
});

export interface LoadCanisterSnapshotArgs {
  canister_id: Principal;
  snapshot_id: Uint8Array;
  sender_canister_version: Opt<bigint>;
}
export const LoadCanisterSnapshotArgs = IDL.Record({
  canister_id: IDL.Principal,
  snapshot_id: SnapshotId,
  sender_canister_version: IDL.Opt(IDL.Nat64),
});

export interface SnapshotArgs {
  canister_id: Principal;
  snapshot_id: Uint8Array;
}
export const SnapshotArgs = IDL.Record({ canister_id: IDL.Principal, snapshot_id: SnapshotId });

const Slice = IDL.Record({ offset: IDL.Nat64, size: IDL.Nat64 });
interface Slice {
  offset: bigint;
  size: bigint;
}

export type SnapshotDataKind =
  | { wasm_module: Slice }
  | { wasm_memory: Slice }
  | { stable_memory: Slice }
  | { wasm_chunk: { hash: Uint8Array } };

export interface ReadCanisterSnapshotDataArgs {
  canister_id: Principal;
  snapshot_id: Uint8Array;
  kind: SnapshotDataKind;
}
export const ReadCanisterSnapshotDataArgs = IDL.Record({
  canister_id: IDL.Principal,
  snapshot_id: SnapshotId,
  kind: IDL.Variant({
    wasm_module: Slice,
    wasm_memory: Slice,
    stable_memory: Slice,
    wasm_chunk: IDL.Record({ hash: IDL.Vec(IDL.Nat8) }),
  }),
});

export interface UploadCanisterSnapshotMetadataArgs {
  canister_id: Principal;
  replace_snapshot: Opt<Uint8Array>;
  wasm_module_size: bigint;
  globals: SnapshotGlobal[];
  wasm_memory_size: bigint;
  stable_memory_size: bigint;
  certified_data: Uint8Array;
  global_timer: Opt<SnapshotTimer>;
  on_low_wasm_memory_hook_status: Opt<LowWasmMemoryHookStatus>;
}
export const UploadCanisterSnapshotMetadataArgs = IDL.Record({
  canister_id: IDL.Principal,
  replace_snapshot: IDL.Opt(SnapshotId),
  wasm_module_size: IDL.Nat64,
  globals: IDL.Vec(SnapshotGlobalType),
  wasm_memory_size: IDL.Nat64,
  stable_memory_size: IDL.Nat64,
  certified_data: IDL.Vec(IDL.Nat8),
  global_timer: IDL.Opt(GlobalTimer),
  on_low_wasm_memory_hook_status: IDL.Opt(OnLowWasmMemoryHookStatus),
});

export type SnapshotDataOffset =
  | { wasm_module: { offset: bigint } }
  | { wasm_memory: { offset: bigint } }
  | { stable_memory: { offset: bigint } }
  | { wasm_chunk: null };

export interface UploadCanisterSnapshotDataArgs {
  canister_id: Principal;
  snapshot_id: Uint8Array;
  kind: SnapshotDataOffset;
  chunk: Uint8Array;
}
const Offset = IDL.Record({ offset: IDL.Nat64 });
export const UploadCanisterSnapshotDataArgs = IDL.Record({
  canister_id: IDL.Principal,
  snapshot_id: SnapshotId,
  kind: IDL.Variant({
    wasm_module: Offset,
    wasm_memory: Offset,
    stable_memory: Offset,
    wasm_chunk: IDL.Null,
  }),
  chunk: IDL.Vec(IDL.Nat8),
});

export const ReadCanisterSnapshotMetadataResponse = IDL.Record({
  source: SnapshotSource,
  taken_at_timestamp: IDL.Nat64,
  wasm_module_size: IDL.Nat64,
  globals: IDL.Vec(SnapshotGlobalType),
  wasm_memory_size: IDL.Nat64,
  stable_memory_size: IDL.Nat64,
  wasm_chunk_store: IDL.Vec(IDL.Record({ hash: IDL.Vec(IDL.Nat8) })),
  canister_version: IDL.Nat64,
  certified_data: IDL.Vec(IDL.Nat8),
  global_timer: IDL.Opt(GlobalTimer),
  on_low_wasm_memory_hook_status: IDL.Opt(OnLowWasmMemoryHookStatus),
});

/** The snapshot methods' entries for `idl.ts`'s `ManagementArgs`. */
export interface SnapshotMethodArgs {
  take_canister_snapshot: TakeCanisterSnapshotArgs;
  load_canister_snapshot: LoadCanisterSnapshotArgs;
  list_canister_snapshots: { canister_id: Principal };
  delete_canister_snapshot: SnapshotArgs;
  read_canister_snapshot_metadata: SnapshotArgs;
  read_canister_snapshot_data: ReadCanisterSnapshotDataArgs;
  upload_canister_snapshot_metadata: UploadCanisterSnapshotMetadataArgs;
  upload_canister_snapshot_data: UploadCanisterSnapshotDataArgs;
}

/** The snapshot methods' entries for `idl.ts`'s `methods`. */
export const snapshotMethods = {
  take_canister_snapshot: { arg: TakeCanisterSnapshotArgs, ret: Snapshot },
  load_canister_snapshot: { arg: LoadCanisterSnapshotArgs, ret: undefined },
  list_canister_snapshots: { arg: IDL.Record({ canister_id: IDL.Principal }), ret: IDL.Vec(Snapshot) },
  delete_canister_snapshot: { arg: SnapshotArgs, ret: undefined },
  read_canister_snapshot_metadata: { arg: SnapshotArgs, ret: ReadCanisterSnapshotMetadataResponse },
  read_canister_snapshot_data: {
    arg: ReadCanisterSnapshotDataArgs,
    ret: IDL.Record({ chunk: IDL.Vec(IDL.Nat8) }),
  },
  upload_canister_snapshot_metadata: {
    arg: UploadCanisterSnapshotMetadataArgs,
    ret: IDL.Record({ snapshot_id: SnapshotId }),
  },
  upload_canister_snapshot_data: { arg: UploadCanisterSnapshotDataArgs, ret: undefined },
} as const;
