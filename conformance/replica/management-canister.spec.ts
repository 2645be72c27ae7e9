/**
 * IC interface specification, "The IC management canister": controller-only
 * methods (install_code, uninstall_code, start/stop/delete_canister,
 * canister_status, update_settings, upload_chunk, clear_chunk_store,
 * stored_chunks, install_chunked_code) refuse other callers with IC0512
 * CanisterInvalidController ("Only the controllers of the canister … can
 * control it."); create with settings; update_settings; stop/delete (delete
 * needs a stopped canister); canister_status (module_hash is the SHA-256 of
 * the module as installed); install into a non-empty canister (IC0514
 * CanisterNonEmpty) vs reinstall; invalid Wasm (IC0505 CanisterInvalidWasm)
 * leaves the canister as it was; gzip-compressed modules are accepted.
 */
import type { PocketIc } from '@dfinity/pic';
import { IDL } from '@icp-sdk/core/candid';
import { Ed25519KeyIdentity } from '@icp-sdk/core/identity';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPic } from '../support/pic.ts';
import { expectCallFailure } from '../support/reject.ts';
import { Principal, readInfo, universalWasm } from '../support/universal.ts';

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');
const hex = (data: Uint8Array | null): string | null => (data ? Buffer.from(data).toString('hex') : null);
const sorted = (ps: Principal[]): string[] => ps.map((p) => p.toText()).sort();

const owner = Ed25519KeyIdentity.generate().getPrincipal();
const stranger = Ed25519KeyIdentity.generate().getPrincipal();
const MANAGEMENT = Principal.managementCanister();

let pic: PocketIc;
let wasm: Uint8Array<ArrayBuffer>;

beforeAll(async () => {
  pic = await createPic();
  wasm = await universalWasm({ tag: 7 });
});
afterAll(async () => {
  await pic?.tearDown();
});

/** A management call PicJS has no helper for (optionally addressed to a subnet, as PicJS's chunked install does). */
function manage(
  method: string,
  types: IDL.Type[],
  args: unknown[],
  sender: Principal,
  targetSubnetId?: Principal,
): Promise<Uint8Array> {
  const arg = new Uint8Array(IDL.encode(types, args));
  return pic.updateCall({ canisterId: MANAGEMENT, method, arg, sender, targetSubnetId });
}

const CanisterIdArg = IDL.Record({ canister_id: IDL.Principal });
const UninstallArg = IDL.Record({ canister_id: IDL.Principal, sender_canister_version: IDL.Opt(IDL.Nat64) });
const UploadChunkArg = IDL.Record({ canister_id: IDL.Principal, chunk: IDL.Vec(IDL.Nat8) });
const InstallChunkedArg = IDL.Record({
  mode: IDL.Variant({
    install: IDL.Null,
    reinstall: IDL.Null,
    upgrade: IDL.Opt(
      IDL.Record({
        skip_pre_upgrade: IDL.Opt(IDL.Bool),
        wasm_memory_persistence: IDL.Opt(IDL.Variant({ keep: IDL.Null, replace: IDL.Null })),
      }),
    ),
  }),
  target_canister: IDL.Principal,
  store_canister: IDL.Opt(IDL.Principal),
  chunk_hashes_list: IDL.Vec(IDL.Record({ hash: IDL.Vec(IDL.Nat8) })),
  wasm_module_hash: IDL.Vec(IDL.Nat8),
  arg: IDL.Vec(IDL.Nat8),
  sender_canister_version: IDL.Opt(IDL.Nat64),
});

describe('a non-controller is refused by every controller-only method', () => {
  let canisterId: Principal;
  beforeAll(async () => {
    canisterId = await pic.createCanister({ sender: owner });
    await pic.installCode({ canisterId, wasm, sender: owner });
  });

  const calls: [string, () => Promise<unknown>][] = [
    ['install_code', () => pic.reinstallCode({ canisterId, wasm, sender: stranger })],
    [
      'uninstall_code',
      () =>
        manage(
          'uninstall_code',
          [UninstallArg],
          [{ canister_id: canisterId, sender_canister_version: [] }],
          stranger,
        ),
    ],
    ['start_canister', () => pic.startCanister({ canisterId, sender: stranger })],
    ['stop_canister', () => pic.stopCanister({ canisterId, sender: stranger })],
    [
      'delete_canister',
      () => manage('delete_canister', [CanisterIdArg], [{ canister_id: canisterId }], stranger),
    ],
    ['canister_status', () => pic.canisterStatus({ canisterId, sender: stranger })],
    [
      'update_settings',
      () => pic.updateCanisterSettings({ canisterId, controllers: [stranger], sender: stranger }),
    ],
    [
      'upload_chunk',
      () =>
        manage(
          'upload_chunk',
          [UploadChunkArg],
          [{ canister_id: canisterId, chunk: Uint8Array.of(1, 2, 3) }],
          stranger,
        ),
    ],
    [
      'clear_chunk_store',
      () => manage('clear_chunk_store', [CanisterIdArg], [{ canister_id: canisterId }], stranger),
    ],
    [
      'stored_chunks',
      () => manage('stored_chunks', [CanisterIdArg], [{ canister_id: canisterId }], stranger),
    ],
    [
      'install_chunked_code',
      async () =>
        manage(
          'install_chunked_code',
          [InstallChunkedArg],
          [
            {
              mode: { reinstall: null },
              target_canister: canisterId,
              store_canister: [],
              chunk_hashes_list: [],
              wasm_module_hash: new Uint8Array(32),
              arg: new Uint8Array(),
              sender_canister_version: [],
            },
          ],
          stranger,
          (await pic.getApplicationSubnets())[0]!.id,
        ),
    ],
  ];
  for (const [method, call] of calls) {
    it(method, async () => {
      await expectCallFailure(call(), {
        rejectCode: 'CanisterError',
        errorCode: 'CanisterInvalidController',
        message: [
          `Only the controllers of the canister ${canisterId.toText()} can control it.`,
          stranger.toText(),
        ],
      });
    });
  }

  it('and the canister is untouched', async () => {
    const status = await pic.canisterStatus({ canisterId, sender: owner });
    expect(status.status).toEqual({ running: null });
    expect(hex(status.moduleHash)).toBe(sha256(wasm));
    expect(sorted(status.settings.controllers)).toEqual([owner.toText()]);
  });
});

describe('settings and lifecycle', () => {
  it('create_canister applies the given settings', async () => {
    const other = Ed25519KeyIdentity.generate().getPrincipal();
    const canisterId = await pic.createCanister({
      sender: owner,
      controllers: [owner, other],
      freezingThreshold: 4321n,
    });
    const status = await pic.canisterStatus({ canisterId, sender: other });
    expect(sorted(status.settings.controllers)).toEqual(sorted([owner, other]));
    expect(status.settings.freezingThreshold).toBe(4321n);
    expect(status.moduleHash).toBeNull();
  });

  it('update_settings replaces the controllers: the old one is refused, the new one accepted', async () => {
    const other = Ed25519KeyIdentity.generate().getPrincipal();
    const canisterId = await pic.createCanister({ sender: owner });
    await pic.updateCanisterSettings({ canisterId, controllers: [other], sender: owner });
    await expectCallFailure(pic.canisterStatus({ canisterId, sender: owner }), {
      rejectCode: 'CanisterError',
      errorCode: 'CanisterInvalidController',
    });
    expect(sorted((await pic.canisterStatus({ canisterId, sender: other })).settings.controllers)).toEqual([
      other.toText(),
    ]);
  });

  it('canister_status reports the module hash, memory and cycles', async () => {
    const canisterId = await pic.createCanister({ sender: owner, cycles: 5_000_000_000_000n });
    await pic.installCode({ canisterId, wasm, sender: owner });
    const status = await pic.canisterStatus({ canisterId, sender: owner });
    expect(hex(status.moduleHash)).toBe(sha256(wasm));
    expect(status.memorySize).toBeGreaterThan(0n);
    expect(status.cycles).toBeGreaterThan(0n);
    expect(status.cycles).toBeLessThanOrEqual(5_000_000_000_000n);
  });

  it('stop makes it stopped; delete_canister needs a stopped canister', async () => {
    const canisterId = await pic.createCanister({ sender: owner });
    await pic.installCode({ canisterId, wasm, sender: owner });
    const del = () => manage('delete_canister', [CanisterIdArg], [{ canister_id: canisterId }], owner);
    await expectCallFailure(del(), {
      rejectCode: 'CanisterError',
      errorCode: 'CanisterNotStopped',
      message: 'must be stopped',
    });
    await pic.stopCanister({ canisterId, sender: owner });
    expect((await pic.canisterStatus({ canisterId, sender: owner })).status).toEqual({ stopped: null });
    await del();
    await expectCallFailure(pic.canisterStatus({ canisterId, sender: owner }), {
      rejectCode: 'DestinationInvalid',
      errorCode: 'CanisterNotFound',
      message: canisterId.toText(),
    });
  });
});

describe('install_code', () => {
  let canisterId: Principal;
  beforeAll(async () => {
    canisterId = await pic.createCanister({ sender: owner });
  });

  it('installs into an empty canister; install again is refused (CanisterNonEmpty); reinstall works', async () => {
    await pic.installCode({ canisterId, wasm, sender: owner });
    await pic.updateCall({ canisterId, method: 'inc' });
    await expectCallFailure(pic.installCode({ canisterId, wasm, sender: owner }), {
      rejectCode: 'CanisterError',
      errorCode: 'CanisterNonEmpty',
      message: canisterId.toText(),
    });
    expect((await readInfo(pic, canisterId)).counter).toBe(1n);
    await pic.reinstallCode({ canisterId, wasm, sender: owner });
    expect((await readInfo(pic, canisterId)).counter).toBe(0n);
  });

  it('invalid Wasm is refused (CanisterInvalidWasm) and the canister stays as it was', async () => {
    await pic.updateCall({ canisterId, method: 'inc' });
    const garbage = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff);
    await expectCallFailure(pic.reinstallCode({ canisterId, wasm: garbage, sender: owner }), {
      rejectCode: 'CanisterError',
      errorCode: 'CanisterInvalidWasm',
    });
    await expectCallFailure(
      pic.upgradeCanister({ canisterId, wasm: Uint8Array.of(1, 2, 3), sender: owner }),
      {
        rejectCode: 'CanisterError',
        errorCode: 'CanisterInvalidWasm',
      },
    );
    expect(hex((await pic.canisterStatus({ canisterId, sender: owner })).moduleHash)).toBe(sha256(wasm));
    expect((await readInfo(pic, canisterId)).counter).toBe(1n);
  });

  it('accepts a gzip-compressed module; module_hash is the hash of the bytes as given', async () => {
    const id = await pic.createCanister({ sender: owner });
    const gz = gzipSync(await universalWasm({ tag: 8 }));
    await pic.installCode({ canisterId: id, wasm: gz, sender: owner });
    expect((await readInfo(pic, id)).tag).toBe(8n);
    expect(hex((await pic.canisterStatus({ canisterId: id, sender: owner })).moduleHash)).toBe(sha256(gz));
  });
});
