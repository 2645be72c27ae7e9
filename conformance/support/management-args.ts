/**
 * Candid arguments of management canister methods that the ported reference
 * tests send through a canister (the universal canister's relay to `aaaaa-aa`).
 */
import { IDL } from '@icp-sdk/core/candid';
import type { Principal } from '@icp-sdk/core/principal';

const InstallCodeArgs = IDL.Record({
  mode: IDL.Variant({ install: IDL.Null, reinstall: IDL.Null, upgrade: IDL.Null }),
  canister_id: IDL.Principal,
  wasm_module: IDL.Vec(IDL.Nat8),
  arg: IDL.Vec(IDL.Nat8),
});

/** `install_code`'s argument, without the optional fields. */
export function installCodeArg(
  mode: 'install' | 'reinstall' | 'upgrade',
  canisterId: Principal,
  wasm: Uint8Array,
  arg: Uint8Array = new Uint8Array(),
): Uint8Array {
  return new Uint8Array(
    IDL.encode(
      [InstallCodeArgs],
      [{ mode: { [mode]: null }, canister_id: canisterId, wasm_module: wasm, arg }],
    ),
  );
}
