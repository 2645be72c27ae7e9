/**
 * `canister_metadata` (newer IC interface specification, "IC method
 * canister_metadata"): a canister reads another canister's `icp:public <name>`
 * custom section, or its `icp:private <name>` one if it controls that canister
 * (dfinity/ic `rs/execution_environment/src/canister_manager.rs`
 * `get_canister_metadata`). A private section read by a non-controller is
 * reported as missing, as the replica does.
 */
import { IDL } from '@icp-sdk/core/candid';
import type { Principal } from '@icp-sdk/core/principal';
import { UserError } from '../errors.ts';
import type { CanisterState } from '../canister/state.ts';

export interface CanisterMetadataArgs {
  canister_id: Principal;
  name: string;
}
export const CanisterMetadataArgs = IDL.Record({ canister_id: IDL.Principal, name: IDL.Text });
export const CanisterMetadataResult = IDL.Record({ value: IDL.Vec(IDL.Nat8) });

/** The section's content, or the replica's error (`CanisterMetadataNoWasmModule`, `CanisterMetadataSectionNotFound`). */
export function canisterMetadata(
  canister: CanisterState,
  sender: Principal,
  name: string,
): { value: Uint8Array } {
  const runtime = canister.runtime;
  if (!runtime) {
    throw new UserError(
      'CanisterRejectedMessage',
      `The canister ${canister.idText} has no Wasm module and hence no metadata is available.`,
    );
  }
  const section = runtime.compiled.metadata.find((m) => m.name === name);
  if (!section || (section.visibility === 'private' && !canister.isControlledBy(sender))) {
    throw new UserError(
      'CanisterRejectedMessage',
      `The canister ${canister.idText} has no metadata section with the name ${name}.`,
    );
  }
  return { value: section.content };
}
