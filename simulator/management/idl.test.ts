import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import { describe, expect, it } from 'vitest';
import { decodeArgs, methods, type ManagementArgs } from './idl.ts';

const id = Principal.fromUint8Array(new Uint8Array([1, 2, 3]));
const settings: ManagementArgs['update_settings']['settings'] = {
  controllers: [[id]],
  compute_allocation: [1n],
  memory_allocation: [],
  freezing_threshold: [],
  reserved_cycles_limit: [],
  log_visibility: [{ allowed_viewers: [id] }],
  wasm_memory_limit: [],
  wasm_memory_threshold: [],
  environment_variables: [[{ name: 'A', value: 'b' }]],
};

/** A value of each argument's TypeScript type; decoding its IDL encoding must give it back. */
const samples: { [M in keyof ManagementArgs]: ManagementArgs[M] } = {
  create_canister: { settings: [settings], sender_canister_version: [3n] },
  provisional_create_canister_with_cycles: {
    amount: [5n],
    settings: [],
    specified_id: [id],
    sender_canister_version: [],
  },
  install_code: {
    mode: { upgrade: [{ skip_pre_upgrade: [true], wasm_memory_persistence: [{ keep: null }] }] },
    canister_id: id,
    wasm_module: new Uint8Array([0, 97, 115, 109]),
    arg: new Uint8Array([1]),
    sender_canister_version: [],
  },
  install_chunked_code: {
    mode: { install: null },
    target_canister: id,
    store_canister: [id],
    chunk_hashes_list: [{ hash: new Uint8Array(32) }],
    wasm_module_hash: new Uint8Array(32).fill(1),
    arg: new Uint8Array(),
    sender_canister_version: [1n],
  },
  upload_chunk: { canister_id: id, chunk: new Uint8Array([9, 9]) },
  clear_chunk_store: { canister_id: id },
  stored_chunks: { canister_id: id },
  uninstall_code: { canister_id: id, sender_canister_version: [] },
  start_canister: { canister_id: id },
  stop_canister: { canister_id: id },
  delete_canister: { canister_id: id },
  canister_status: { canister_id: id },
  update_settings: { canister_id: id, settings, sender_canister_version: [] },
  raw_rand: undefined,
  http_request: {
    url: 'https://example.com',
    max_response_bytes: [10n],
    method: { post: null },
    headers: [{ name: 'h', value: 'v' }],
    body: [new Uint8Array([1])],
    transform: [{ function: [id, 'transform'], context: new Uint8Array([2]) }],
    is_replicated: [false],
  },
  deposit_cycles: { canister_id: id },
  provisional_top_up_canister: { canister_id: id, amount: 7n },
  canister_info: { canister_id: id, num_requested_changes: [2n] },
  fetch_canister_logs: { canister_id: id },
  canister_metadata: { canister_id: id, name: 'candid:service' },
  take_canister_snapshot: {
    canister_id: id,
    replace_snapshot: [new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3])],
    uninstall_code: [true],
    sender_canister_version: [],
  },
  load_canister_snapshot: { canister_id: id, snapshot_id: new Uint8Array(11), sender_canister_version: [4n] },
  list_canister_snapshots: { canister_id: id },
  delete_canister_snapshot: { canister_id: id, snapshot_id: new Uint8Array(11) },
  read_canister_snapshot_metadata: { canister_id: id, snapshot_id: new Uint8Array(11) },
  read_canister_snapshot_data: {
    canister_id: id,
    snapshot_id: new Uint8Array(11),
    kind: { stable_memory: { offset: 65536n, size: 8n } },
  },
  upload_canister_snapshot_metadata: {
    canister_id: id,
    replace_snapshot: [],
    wasm_module_size: 100n,
    globals: [{ i32: -1 }, { i64: 5n }, { f32: 0.5 }, { f64: 1.25 }, { v128: 7n }],
    wasm_memory_size: 65536n,
    stable_memory_size: 0n,
    certified_data: new Uint8Array([1]),
    global_timer: [{ active: 9n }],
    on_low_wasm_memory_hook_status: [{ ready: null }],
  },
  upload_canister_snapshot_data: {
    canister_id: id,
    snapshot_id: new Uint8Array(11),
    kind: { wasm_chunk: null },
    chunk: new Uint8Array([1, 2]),
  },
  ecdsa_public_key: {
    canister_id: [id],
    derivation_path: [new Uint8Array([1])],
    key_id: { curve: { secp256k1: null }, name: 'dfx_test_key' },
  },
  sign_with_ecdsa: {
    message_hash: new Uint8Array(32).fill(3),
    derivation_path: [],
    key_id: { curve: { secp256k1: null }, name: 'key_1' },
  },
  schnorr_public_key: {
    canister_id: [],
    derivation_path: [new Uint8Array([2]), new Uint8Array()],
    key_id: { algorithm: { ed25519: null }, name: 'test_key_1' },
  },
  sign_with_schnorr: {
    message: new Uint8Array([4, 5]),
    derivation_path: [],
    key_id: { algorithm: { bip340secp256k1: null }, name: 'key_1' },
    aux: [{ bip341: { merkle_root_hash: new Uint8Array(32).fill(6) } }],
  },
  vetkd_public_key: {
    canister_id: [id],
    context: new Uint8Array([7]),
    key_id: { curve: { bls12_381_g2: null }, name: 'dfx_test_key' },
  },
  vetkd_derive_key: {
    input: new Uint8Array([8]),
    context: new Uint8Array(),
    transport_public_key: new Uint8Array(48).fill(9),
    key_id: { curve: { bls12_381_g2: null }, name: 'dfx_test_key' },
  },
};

describe('management argument types', () => {
  it('decode to the TypeScript shape paired with each IDL', () => {
    for (const method of Object.keys(samples) as (keyof ManagementArgs)[]) {
      const type = methods[method].arg;
      const bytes = type === undefined ? new Uint8Array() : IDL.encode([type], [samples[method]]);
      expect(decodeArgs(method, bytes), method).toEqual(samples[method]);
    }
  });
});
