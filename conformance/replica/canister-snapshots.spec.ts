/**
 * IC interface specification, "IC method take_canister_snapshot" and the
 * other snapshot methods (load, list, delete, read and upload of metadata and
 * data), with the replica's limits, fees and errors (dfinity/ic
 * `rs/execution_environment/src/canister_manager.rs`): a snapshot taken,
 * the canister then changed (heap, globals, stable memory, certified data, an
 * upgrade to another module) and the snapshot loaded gives back the canister
 * byte for byte, which a second snapshot's data proves; a snapshot id is the
 * 8-byte big-endian local id followed by the canister id; at most 10
 * snapshots per canister unless one is replaced; only controllers; the
 * canister's version goes up by one and its history records the load;
 * snapshots count in `canister_status`'s memory; taking one costs
 * `execution_cost(2B + size)`.
 *
 * PicJS 0.23 has no snapshot helpers: the calls go through `pic.updateCall`
 * to `aaaaa-aa` with the Candid of the specification's `ic.did`.
 */
import type { PocketIc } from '@dfinity/pic';
import { IDL } from '@icp-sdk/core/candid';
import { Ed25519KeyIdentity } from '@icp-sdk/core/identity';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelopeBytes, executionCost, ingressFee } from '../support/cycles.ts';
import { createPic } from '../support/pic.ts';
import { expectCallFailure } from '../support/reject.ts';
import {
  Principal,
  concat,
  readInfo,
  readU64,
  relayArg,
  relayResult,
  u64,
  universalWasm,
} from '../support/universal.ts';

const owner = Ed25519KeyIdentity.generate().getPrincipal();
const stranger = Ed25519KeyIdentity.generate().getPrincipal();
const MANAGEMENT = Principal.managementCanister();
const MAX_SNAPSHOTS = 10;
const SLICE = 2_000_000n;

const SnapshotId = IDL.Vec(IDL.Nat8);
const Snapshot = IDL.Record({ id: SnapshotId, taken_at_timestamp: IDL.Nat64, total_size: IDL.Nat64 });
const Global = IDL.Variant({
  i32: IDL.Int32,
  i64: IDL.Int64,
  f32: IDL.Float32,
  f64: IDL.Float64,
  v128: IDL.Nat,
});
const Timer = IDL.Variant({ inactive: IDL.Null, active: IDL.Nat64 });
const HookStatus = IDL.Variant({ condition_not_satisfied: IDL.Null, ready: IDL.Null, executed: IDL.Null });
const Source = IDL.Variant({ taken_from_canister: IDL.Reserved, metadata_upload: IDL.Reserved });
const TakeArgs = IDL.Record({ canister_id: IDL.Principal, replace_snapshot: IDL.Opt(SnapshotId) });
/** The newer specification's arguments: `uninstall_code` uninstalls the canister once the snapshot is taken. */
const TakeArgsV2 = IDL.Record({
  canister_id: IDL.Principal,
  replace_snapshot: IDL.Opt(SnapshotId),
  uninstall_code: IDL.Opt(IDL.Bool),
  sender_canister_version: IDL.Opt(IDL.Nat64),
});
const SnapshotArgs = IDL.Record({ canister_id: IDL.Principal, snapshot_id: SnapshotId });
const LoadArgs = IDL.Record({
  canister_id: IDL.Principal,
  snapshot_id: SnapshotId,
  sender_canister_version: IDL.Opt(IDL.Nat64),
});
const Slice = IDL.Record({ offset: IDL.Nat64, size: IDL.Nat64 });
const ReadDataArgs = IDL.Record({
  canister_id: IDL.Principal,
  snapshot_id: SnapshotId,
  kind: IDL.Variant({
    wasm_module: Slice,
    wasm_memory: Slice,
    stable_memory: Slice,
    wasm_chunk: IDL.Record({ hash: IDL.Vec(IDL.Nat8) }),
  }),
});
const Metadata = IDL.Record({
  source: Source,
  taken_at_timestamp: IDL.Nat64,
  wasm_module_size: IDL.Nat64,
  globals: IDL.Vec(Global),
  wasm_memory_size: IDL.Nat64,
  stable_memory_size: IDL.Nat64,
  wasm_chunk_store: IDL.Vec(IDL.Record({ hash: IDL.Vec(IDL.Nat8) })),
  canister_version: IDL.Nat64,
  certified_data: IDL.Vec(IDL.Nat8),
  global_timer: IDL.Opt(Timer),
  on_low_wasm_memory_hook_status: IDL.Opt(HookStatus),
});
const UploadMetadataArgs = IDL.Record({
  canister_id: IDL.Principal,
  replace_snapshot: IDL.Opt(SnapshotId),
  wasm_module_size: IDL.Nat64,
  globals: IDL.Vec(Global),
  wasm_memory_size: IDL.Nat64,
  stable_memory_size: IDL.Nat64,
  certified_data: IDL.Vec(IDL.Nat8),
  global_timer: IDL.Opt(Timer),
  on_low_wasm_memory_hook_status: IDL.Opt(HookStatus),
});
const Offset = IDL.Record({ offset: IDL.Nat64 });
const UploadDataArgs = IDL.Record({
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
const CanisterIdArg = IDL.Record({ canister_id: IDL.Principal });
const StatusMemory = IDL.Record({
  memory_size: IDL.Nat,
  memory_metrics: IDL.Record({ snapshots_size: IDL.Nat }),
});
const StatusVersion = IDL.Record({ version: IDL.Nat64, ready_for_migration: IDL.Bool });
const InfoArgs = IDL.Record({ canister_id: IDL.Principal, num_requested_changes: IDL.Opt(IDL.Nat64) });
const Change = IDL.Record({
  canister_version: IDL.Nat64,
  details: IDL.Variant({
    creation: IDL.Reserved,
    code_uninstall: IDL.Null,
    code_deployment: IDL.Reserved,
    controllers_change: IDL.Reserved,
    load_snapshot: IDL.Record({
      canister_version: IDL.Nat64,
      snapshot_id: SnapshotId,
      taken_at_timestamp: IDL.Nat64,
    }),
  }),
});
const InfoResult = IDL.Record({ total_num_changes: IDL.Nat64, recent_changes: IDL.Vec(Change) });

interface SnapshotView {
  id: Uint8Array;
  taken_at_timestamp: bigint;
  total_size: bigint;
}
interface MetadataView {
  source: { taken_from_canister: null } | { metadata_upload: null };
  taken_at_timestamp: bigint;
  wasm_module_size: bigint;
  globals: ({ i32: number } | { i64: bigint } | { f32: number } | { f64: number } | { v128: bigint })[];
  wasm_memory_size: bigint;
  stable_memory_size: bigint;
  wasm_chunk_store: { hash: Uint8Array }[];
  canister_version: bigint;
  certified_data: Uint8Array;
  global_timer: [] | [{ inactive: null } | { active: bigint }];
  on_low_wasm_memory_hook_status:
    [] | [{ condition_not_satisfied: null } | { ready: null } | { executed: null }];
}

let pic: PocketIc;
let wasm: Uint8Array<ArrayBuffer>;
let otherWasm: Uint8Array<ArrayBuffer>;

beforeAll(async () => {
  pic = await createPic();
  wasm = await universalWasm({ tag: 31 });
  otherWasm = await universalWasm({ tag: 32 });
});
afterAll(async () => {
  await pic?.tearDown();
});

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');
const hex = (data: Uint8Array): string => Buffer.from(data).toString('hex');

function manage(method: string, type: IDL.Type, arg: unknown, sender = owner): Promise<Uint8Array> {
  return pic.updateCall({
    canisterId: MANAGEMENT,
    method,
    arg: new Uint8Array(IDL.encode([type], [arg])),
    sender,
  });
}

async function take(canisterId: Principal, replace?: Uint8Array, sender = owner): Promise<SnapshotView> {
  const reply = await manage(
    'take_canister_snapshot',
    TakeArgs,
    { canister_id: canisterId, replace_snapshot: replace ? [replace] : [] },
    sender,
  );
  return IDL.decode([Snapshot], reply)[0] as unknown as SnapshotView;
}

const load = (canisterId: Principal, snapshotId: Uint8Array, sender = owner): Promise<Uint8Array> =>
  manage(
    'load_canister_snapshot',
    LoadArgs,
    { canister_id: canisterId, snapshot_id: snapshotId, sender_canister_version: [] },
    sender,
  );

async function list(canisterId: Principal, sender = owner): Promise<SnapshotView[]> {
  const reply = await manage('list_canister_snapshots', CanisterIdArg, { canister_id: canisterId }, sender);
  return IDL.decode([IDL.Vec(Snapshot)], reply)[0] as unknown as SnapshotView[];
}

const remove = (canisterId: Principal, snapshotId: Uint8Array, sender = owner): Promise<Uint8Array> =>
  manage(
    'delete_canister_snapshot',
    SnapshotArgs,
    { canister_id: canisterId, snapshot_id: snapshotId },
    sender,
  );

async function metadata(canisterId: Principal, snapshotId: Uint8Array): Promise<MetadataView> {
  const reply = await manage('read_canister_snapshot_metadata', SnapshotArgs, {
    canister_id: canisterId,
    snapshot_id: snapshotId,
  });
  return IDL.decode([Metadata], reply)[0] as unknown as MetadataView;
}

type DataKind = 'wasm_module' | 'wasm_memory' | 'stable_memory';

async function readSlice(
  canisterId: Principal,
  snapshotId: Uint8Array,
  kind: DataKind,
  offset: bigint,
  size: bigint,
): Promise<Uint8Array> {
  const reply = await manage('read_canister_snapshot_data', ReadDataArgs, {
    canister_id: canisterId,
    snapshot_id: snapshotId,
    kind: { [kind]: { offset, size } },
  });
  return (
    IDL.decode([IDL.Record({ chunk: IDL.Vec(IDL.Nat8) })], reply)[0] as unknown as { chunk: Uint8Array }
  ).chunk;
}

/** The whole of one kind of a snapshot's data, read in slices of the largest allowed size. */
async function readAll(
  canisterId: Principal,
  snapshotId: Uint8Array,
  kind: DataKind,
  total: bigint,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (let offset = 0n; offset < total; offset += SLICE) {
    const size = total - offset < SLICE ? total - offset : SLICE;
    parts.push(await readSlice(canisterId, snapshotId, kind, offset, size));
  }
  return concat(...parts);
}

async function memory(canisterId: Principal): Promise<{ size: bigint; snapshots: bigint }> {
  const reply = await manage('canister_status', CanisterIdArg, { canister_id: canisterId });
  const s = IDL.decode([StatusMemory], reply)[0] as unknown as {
    memory_size: bigint;
    memory_metrics: { snapshots_size: bigint };
  };
  return { size: s.memory_size, snapshots: s.memory_metrics.snapshots_size };
}

/**
 * Downloads snapshot `id` of `from` (metadata, module, heap, stable memory)
 * and uploads it as a new snapshot of `to`, with `overrides` in its metadata;
 * returns the new snapshot's id.
 */
async function copySnapshot(
  from: Principal,
  id: Uint8Array,
  to: Principal,
  overrides: Partial<Pick<MetadataView, 'global_timer'>> = {},
): Promise<Uint8Array> {
  const meta = await metadata(from, id);
  const upload = await manage('upload_canister_snapshot_metadata', UploadMetadataArgs, {
    canister_id: to,
    replace_snapshot: [],
    wasm_module_size: meta.wasm_module_size,
    globals: meta.globals,
    wasm_memory_size: meta.wasm_memory_size,
    stable_memory_size: meta.stable_memory_size,
    certified_data: meta.certified_data,
    global_timer: meta.global_timer,
    on_low_wasm_memory_hook_status: meta.on_low_wasm_memory_hook_status,
    ...overrides,
  });
  const uploadedId = (
    IDL.decode([IDL.Record({ snapshot_id: SnapshotId })], upload)[0] as unknown as { snapshot_id: Uint8Array }
  ).snapshot_id;
  for (const [kind, size] of [
    ['wasm_module', meta.wasm_module_size],
    ['wasm_memory', meta.wasm_memory_size],
    ['stable_memory', meta.stable_memory_size],
  ] as const) {
    for (let offset = 0n; offset < size; offset += SLICE) {
      const n = size - offset < SLICE ? size - offset : SLICE;
      const chunk = await readSlice(from, id, kind, offset, n);
      await manage('upload_canister_snapshot_data', UploadDataArgs, {
        canister_id: to,
        snapshot_id: uploadedId,
        kind: { [kind]: { offset } },
        chunk,
      });
    }
  }
  return uploadedId;
}

/** A fresh universal canister, controlled by `owner`, with its state changed once (counter 1, 3 stable pages). */
async function canister(): Promise<Principal> {
  const canisterId = await pic.createCanister({ sender: owner });
  await pic.installCode({ canisterId, wasm, sender: owner });
  await pic.updateCall({ canisterId, method: 'bump_all', sender: owner });
  await pic.updateCall({ canisterId, method: 'stable_grow', arg: u64(2), sender: owner });
  await pic.updateCall({
    canisterId,
    method: 'stable_write',
    arg: concat(u64(70_000), new TextEncoder().encode('snapshot me')),
    sender: owner,
  });
  return canisterId;
}

/** The universal canister's `state`: counter (heap), `$g` (global), stable pages, stable[0..8]. */
async function state(canisterId: Principal): Promise<bigint[]> {
  const r = await pic.queryCall({ canisterId, method: 'state' });
  return [0, 1, 2, 3].map((i) => readU64(r, i));
}

const moduleHash = async (canisterId: Principal): Promise<string | null> => {
  const h = (await pic.canisterStatus({ canisterId, sender: owner })).moduleHash;
  return h ? hex(h) : null;
};

describe('take, change, load: the canister comes back byte for byte', () => {
  let canisterId: Principal;
  let snap: SnapshotView;
  let before: { state: bigint[]; stable: Uint8Array; hash: string | null; version: bigint };

  beforeAll(async () => {
    canisterId = await canister();
    await pic.updateCall({
      canisterId,
      method: 'certify',
      arg: new TextEncoder().encode('before'),
      sender: owner,
    });
    before = {
      state: await state(canisterId),
      stable: await pic.getStableMemory(canisterId),
      hash: await moduleHash(canisterId),
      version: (await readInfo(pic, canisterId)).version,
    };
    snap = await take(canisterId);
  });

  it('a snapshot id is the big-endian local id 0 followed by the canister id', () => {
    expect(hex(snap.id)).toBe(hex(concat(new Uint8Array(8), canisterId.toUint8Array())));
    expect(snap.total_size).toBeGreaterThan(0n);
  });

  it('restores heap, globals, stable memory, module and certified data after changes and an upgrade', async () => {
    for (let i = 0; i < 3; i++) await pic.updateCall({ canisterId, method: 'bump_all', sender: owner });
    await pic.updateCall({
      canisterId,
      method: 'stable_write',
      arg: concat(u64(10), new TextEncoder().encode('overwritten')),
      sender: owner,
    });
    await pic.updateCall({ canisterId, method: 'stable_grow', arg: u64(3), sender: owner });
    await pic.upgradeCanister({ canisterId, wasm: otherWasm, sender: owner });
    expect(await moduleHash(canisterId)).toBe(sha256(otherWasm));
    expect(await state(canisterId)).not.toEqual(before.state);

    await load(canisterId, snap.id);

    expect(await state(canisterId)).toEqual(before.state);
    expect(hex(await pic.getStableMemory(canisterId))).toBe(hex(before.stable));
    expect(await moduleHash(canisterId)).toBe(before.hash);
    expect(before.hash).toBe(sha256(wasm));
    expect((await readInfo(pic, canisterId)).tag).toBe(31n);
    const meta = await metadata(canisterId, snap.id);
    expect(new TextDecoder().decode(meta.certified_data)).toBe('before');
    // A message that traps rolls back to the loaded state, not to the state before the load.
    await expect(pic.updateCall({ canisterId, method: 'inc_trap', sender: owner })).rejects.toThrow();
    expect(await state(canisterId)).toEqual(before.state);
    expect(hex(await pic.getStableMemory(canisterId))).toBe(hex(before.stable));
    // The canister runs on from the loaded state.
    await pic.updateCall({ canisterId, method: 'bump_all', sender: owner });
    expect((await state(canisterId))[0]).toBe(before.state[0]! + 1n);
  });

  it('a second snapshot after a load holds the same heap, stable memory and module as the first', async () => {
    const c = await canister();
    const first = await take(c);
    for (let i = 0; i < 5; i++) await pic.updateCall({ canisterId: c, method: 'bump_all', sender: owner });
    await pic.upgradeCanister({ canisterId: c, wasm: otherWasm, sender: owner });
    await load(c, first.id);
    const second = await take(c);
    const [a, b] = [await metadata(c, first.id), await metadata(c, second.id)];
    expect(b.wasm_memory_size).toBe(a.wasm_memory_size);
    expect(b.stable_memory_size).toBe(a.stable_memory_size);
    expect(b.globals).toEqual(a.globals);
    for (const [kind, size] of [
      ['wasm_memory', a.wasm_memory_size],
      ['stable_memory', a.stable_memory_size],
      ['wasm_module', a.wasm_module_size],
    ] as const) {
      const [x, y] = [await readAll(c, first.id, kind, size), await readAll(c, second.id, kind, size)];
      expect(x.length, kind).toBe(Number(size));
      expect(sha256(y), kind).toBe(sha256(x));
    }
    expect(sha256(await readAll(c, first.id, 'wasm_module', a.wasm_module_size))).toBe(sha256(wasm));
  });

  it('a taken snapshot leaves the global timer as the canister has it; an uploaded one that names a timer sets it', async () => {
    const c = await canister();
    const timerOf = async (): Promise<MetadataView['global_timer']> => {
      const probe = await take(c);
      const timer = (await metadata(c, probe.id)).global_timer;
      await remove(c, probe.id);
      return timer;
    };
    const a = await take(c);
    expect((await metadata(c, a.id)).global_timer).toEqual([{ active: 2n ** 62n }]);
    // An upgrade deactivates the timer.
    await pic.upgradeCanister({ canisterId: c, wasm: otherWasm, sender: owner });
    expect(await timerOf()).toEqual([{ inactive: null }]);
    await load(c, a.id);
    expect(await timerOf()).toEqual([{ inactive: null }]);

    const uploaded = await copySnapshot(c, a.id, c, { global_timer: [{ active: 2n ** 61n }] });
    await load(c, uploaded);
    expect(await timerOf()).toEqual([{ active: 2n ** 61n }]);
    // The uploaded copy of `a` restores what `a` itself restores.
    const fromCopy = await state(c);
    await load(c, a.id);
    expect(await state(c)).toEqual(fromCopy);
  });

  it('the load is a new canister version and a load_snapshot change in the canister history', async () => {
    const c = await canister();
    const versionAtTake = (await readInfo(pic, c)).version;
    const s = await take(c);
    expect((await readInfo(pic, c)).version).toBe(versionAtTake);
    await pic.upgradeCanister({ canisterId: c, wasm: otherWasm, sender: owner });
    const beforeLoad = (await readInfo(pic, c)).version;
    await load(c, s.id);
    const after = (await readInfo(pic, c)).version;
    expect(after).toBe(beforeLoad + 1n);
    const status = IDL.decode(
      [StatusVersion],
      await manage('canister_status', CanisterIdArg, { canister_id: c }),
    )[0] as unknown as { version: bigint; ready_for_migration: boolean };
    expect(status).toEqual({ version: after, ready_for_migration: false });
    expect((await metadata(c, s.id)).canister_version).toBe(versionAtTake);

    // canister_info is for canisters: a universal canister controlled by nobody asks for it.
    const asker = await pic.createCanister({ sender: owner });
    await pic.installCode({ canisterId: asker, wasm, sender: owner });
    const payload = new Uint8Array(IDL.encode([InfoArgs], [{ canister_id: c, num_requested_changes: [1n] }]));
    const r = relayResult(
      await pic.updateCall({
        canisterId: asker,
        method: 'relay',
        arg: relayArg({ callee: MANAGEMENT, method: 'canister_info', payload }),
      }),
    );
    expect(r.kind).toBe('reply');
    const info = IDL.decode([InfoResult], (r as { data: Uint8Array }).data)[0] as unknown as {
      recent_changes: {
        canister_version: bigint;
        details: {
          load_snapshot?: { canister_version: bigint; snapshot_id: Uint8Array; taken_at_timestamp: bigint };
        };
      }[];
    };
    const last = info.recent_changes.at(-1)!;
    expect(last.canister_version).toBe(after);
    expect(last.details.load_snapshot).toEqual({
      canister_version: versionAtTake,
      snapshot_id: s.id,
      taken_at_timestamp: s.taken_at_timestamp,
    });
  });
});

describe('list, delete and replace', () => {
  it('lists snapshots in the order taken; delete removes one; a deleted id is not found', async () => {
    const c = await canister();
    const a = await take(c);
    await pic.updateCall({ canisterId: c, method: 'bump_all', sender: owner });
    const b = await take(c);
    expect(hex(b.id)).toBe(hex(concat(u64BE(1n), c.toUint8Array())));
    expect((await list(c)).map((s) => hex(s.id))).toEqual([hex(a.id), hex(b.id)]);
    expect((await list(c))[0]).toEqual(a);

    await remove(c, a.id);
    expect((await list(c)).map((s) => hex(s.id))).toEqual([hex(b.id)]);
    await expectCallFailure(remove(c, a.id), {
      rejectCode: 'DestinationInvalid',
      errorCode: 'CanisterSnapshotNotFound',
      message: `Could not find the snapshot ID ${c.toText()}-0 for canister ${c.toText()}.`,
    });
    await expectCallFailure(load(c, a.id), {
      rejectCode: 'DestinationInvalid',
      errorCode: 'CanisterSnapshotNotFound',
    });
  });

  it('replace_snapshot deletes the named snapshot once the new one is taken', async () => {
    const c = await canister();
    const a = await take(c);
    const b = await take(c, a.id);
    expect(hex(b.id)).not.toBe(hex(a.id));
    expect((await list(c)).map((s) => hex(s.id))).toEqual([hex(b.id)]);
    await expectCallFailure(take(c, a.id), {
      rejectCode: 'DestinationInvalid',
      errorCode: 'CanisterSnapshotNotFound',
    });
    expect((await list(c)).length).toBe(1);
  });

  it(`allows ${MAX_SNAPSHOTS} snapshots per canister, then only a replacing one`, async () => {
    const c = await canister();
    const taken: SnapshotView[] = [];
    for (let i = 0; i < MAX_SNAPSHOTS; i++) taken.push(await take(c));
    await expectCallFailure(take(c), {
      rejectCode: 'CanisterReject',
      errorCode: 'CanisterRejectedMessage',
      message: `Canister ${c.toText()} has reached the maximum number of snapshots allowed: ${MAX_SNAPSHOTS}.`,
    });
    expect((await list(c)).length).toBe(MAX_SNAPSHOTS);
    const replacing = await take(c, taken[3]!.id);
    const ids = (await list(c)).map((s) => hex(s.id));
    expect(ids.length).toBe(MAX_SNAPSHOTS);
    expect(ids).toContain(hex(replacing.id));
    expect(ids).not.toContain(hex(taken[3]!.id));
  });

  it('uninstall_code uninstalls the canister once the snapshot is taken; loading it reinstates the canister', async () => {
    const c = await canister();
    const before = await state(c);
    const version = (await readInfo(pic, c)).version;
    const reply = await manage('take_canister_snapshot', TakeArgsV2, {
      canister_id: c,
      replace_snapshot: [],
      uninstall_code: [true],
      sender_canister_version: [],
    });
    const s = IDL.decode([Snapshot], reply)[0] as unknown as SnapshotView;
    expect(await moduleHash(c)).toBeNull();
    expect((await memory(c)).snapshots).toBe(s.total_size);
    await load(c, s.id);
    expect(await moduleHash(c)).toBe(sha256(wasm));
    expect(await state(c)).toEqual(before);
    // The uninstall and the load are one version each.
    expect((await readInfo(pic, c)).version).toBe(version + 2n);
  });

  it('a canister loses its snapshots when it is deleted', async () => {
    const c = await canister();
    const s = await take(c);
    const other = await canister();
    await pic.stopCanister({ canisterId: c, sender: owner });
    await manage('delete_canister', CanisterIdArg, { canister_id: c });
    await expectCallFailure(load(other, s.id), {
      rejectCode: 'DestinationInvalid',
      errorCode: 'CanisterSnapshotNotFound',
    });
  });
});

describe('permissions and bad arguments', () => {
  let c: Principal;
  let s: SnapshotView;
  beforeAll(async () => {
    c = await canister();
    s = await take(c);
  });

  it('every snapshot method refuses a caller who does not control the canister, and changes nothing', async () => {
    const calls: [string, () => Promise<unknown>][] = [
      ['take', () => take(c, undefined, stranger)],
      ['load', () => load(c, s.id, stranger)],
      ['list', () => list(c, stranger)],
      ['delete', () => remove(c, s.id, stranger)],
      [
        'read metadata',
        () =>
          manage(
            'read_canister_snapshot_metadata',
            SnapshotArgs,
            { canister_id: c, snapshot_id: s.id },
            stranger,
          ),
      ],
      [
        'read data',
        () =>
          manage(
            'read_canister_snapshot_data',
            ReadDataArgs,
            { canister_id: c, snapshot_id: s.id, kind: { wasm_module: { offset: 0n, size: 1n } } },
            stranger,
          ),
      ],
    ];
    for (const [name, call] of calls) {
      const failure = await expectCallFailure(call(), {
        rejectCode: 'CanisterError',
        errorCode: 'CanisterInvalidController',
        message: [
          `Only the controllers of the canister ${c.toText()} can control it.`,
          `Sender's ID: ${stranger.toText()}`,
        ],
      });
      expect(failure.message, name).toBeTruthy();
    }
    expect((await list(c)).map((x) => hex(x.id))).toEqual([hex(s.id)]);
  });

  it("another canister's snapshot does not belong to this one; loading it needs control of both", async () => {
    const d = await canister();
    await expectCallFailure(remove(d, s.id), {
      rejectCode: 'CanisterReject',
      errorCode: 'CanisterRejectedMessage',
      message: `The snapshot ${c.toText()}-0 does not belong to canister ${d.toText()}.`,
    });
    const mine = await pic.createCanister({ sender: stranger });
    await pic.installCode({ canisterId: mine, wasm: otherWasm, sender: stranger });
    await expectCallFailure(load(mine, s.id, stranger), {
      rejectCode: 'CanisterReject',
      errorCode: 'CanisterRejectedMessage',
      message: `Only a controller of the canister that snapshot ${c.toText()}-0 belongs to can load it on canister ${mine.toText()}.`,
    });
    expect((await readInfo(pic, mine)).tag).toBe(32n);
  });

  it('a well-formed but unknown snapshot id is not found; a malformed one does not decode', async () => {
    const unknown = concat(u64BE(77n), c.toUint8Array());
    await expectCallFailure(load(c, unknown), {
      rejectCode: 'DestinationInvalid',
      errorCode: 'CanisterSnapshotNotFound',
      message: `Could not find the snapshot ID ${c.toText()}-77 for canister ${c.toText()}.`,
    });
    await expectCallFailure(remove(c, new Uint8Array([1, 2, 3])), {
      rejectCode: 'CanisterReject',
      errorCode: 'InvalidManagementPayload',
    });
  });

  it('an empty canister has nothing to snapshot', async () => {
    const empty = await pic.createCanister({ sender: owner });
    await expectCallFailure(take(empty), {
      rejectCode: 'CanisterReject',
      errorCode: 'CanisterRejectedMessage',
      message: `Failed to create snapshot for empty canister ${empty.toText()}`,
    });
    expect(await list(empty)).toEqual([]);
  });

  it('reading beyond the data, or more than 2 MB at once, is refused', async () => {
    const meta = await metadata(c, s.id);
    await expectCallFailure(readSlice(c, s.id, 'wasm_module', meta.wasm_module_size, 1n), {
      rejectCode: 'CanisterReject',
      errorCode: 'InvalidManagementPayload',
      message: `Invalid subslice into wasm module / main memory / stable memory: offset: ${meta.wasm_module_size}, size: 1`,
    });
    await expectCallFailure(readSlice(c, s.id, 'wasm_memory', 0n, SLICE + 1n), {
      rejectCode: 'CanisterReject',
      errorCode: 'InvalidManagementPayload',
      message: `Requested slice too large: ${SLICE + 1n} > ${SLICE}`,
    });
  });

  it('data cannot be uploaded into a snapshot taken from the canister', async () => {
    await expectCallFailure(
      manage('upload_canister_snapshot_data', UploadDataArgs, {
        canister_id: c,
        snapshot_id: s.id,
        kind: { wasm_module: { offset: 0n } },
        chunk: new Uint8Array([0]),
      }),
      {
        rejectCode: 'CanisterReject',
        errorCode: 'CanisterSnapshotImmutable',
        message: 'Only canister snapshots created by metadata upload can be mutated.',
      },
    );
  });
});

describe('download and upload: a snapshot moves to another canister', () => {
  it('metadata and data read from one canister and uploaded to another load into the same state', async () => {
    const source = await canister();
    for (let i = 0; i < 4; i++)
      await pic.updateCall({ canisterId: source, method: 'bump_all', sender: owner });
    const s = await take(source);
    const meta = await metadata(source, s.id);
    expect(meta.source).toEqual({ taken_from_canister: null });
    expect(meta.wasm_module_size).toBe(BigInt(wasm.length));
    expect(meta.global_timer).toEqual([{ active: 2n ** 62n }]);

    const target = await pic.createCanister({ sender: owner });
    await pic.installCode({ canisterId: target, wasm: otherWasm, sender: owner });
    const uploadedId = await copySnapshot(source, s.id, target);
    expect(hex(uploadedId)).toBe(hex(concat(new Uint8Array(8), target.toUint8Array())));
    const uploadedMeta = await metadata(target, uploadedId);
    expect(uploadedMeta.source).toEqual({ metadata_upload: null });
    await load(target, uploadedId);
    expect(await state(target)).toEqual(await state(source));
    expect(hex(await pic.getStableMemory(target))).toBe(hex(await pic.getStableMemory(source)));
    expect(await moduleHash(target)).toBe(sha256(wasm));
  });

  it('the chunk store goes with a snapshot: read by hash, uploaded as whole chunks, restored by a load', async () => {
    const c = await canister();
    const chunk = new TextEncoder().encode('a chunk of a module');
    await manage('upload_chunk', IDL.Record({ canister_id: IDL.Principal, chunk: IDL.Vec(IDL.Nat8) }), {
      canister_id: c,
      chunk,
    });
    const hash = createHash('sha256').update(chunk).digest();
    const s = await take(c);
    const meta = await metadata(c, s.id);
    expect(meta.wasm_chunk_store.map((h) => hex(h.hash))).toEqual([hex(hash)]);
    const read = await manage('read_canister_snapshot_data', ReadDataArgs, {
      canister_id: c,
      snapshot_id: s.id,
      kind: { wasm_chunk: { hash } },
    });
    expect(
      hex(
        (IDL.decode([IDL.Record({ chunk: IDL.Vec(IDL.Nat8) })], read)[0] as unknown as { chunk: Uint8Array })
          .chunk,
      ),
    ).toBe(hex(chunk));
    const missing = new Uint8Array(32).fill(0xab);
    await expectCallFailure(
      manage('read_canister_snapshot_data', ReadDataArgs, {
        canister_id: c,
        snapshot_id: s.id,
        kind: { wasm_chunk: { hash: missing } },
      }),
      {
        rejectCode: 'CanisterError',
        errorCode: 'CanisterContractViolation',
        message: `Error from Wasm chunk store: WasmChunkHash [${[...missing].map(() => 'ab').join(', ')}] not found.`,
      },
    );

    // Into an uploaded snapshot: each new chunk adds a whole 1 MiB to its size.
    const uploaded = await copySnapshot(c, s.id, c);
    const before = (await list(c)).find((x) => hex(x.id) === hex(uploaded))!.total_size;
    await manage('upload_canister_snapshot_data', UploadDataArgs, {
      canister_id: c,
      snapshot_id: uploaded,
      kind: { wasm_chunk: null },
      chunk,
    });
    const after = (await list(c)).find((x) => hex(x.id) === hex(uploaded))!.total_size;
    expect(after - before).toBe(1024n * 1024n);
    await manage('clear_chunk_store', CanisterIdArg, { canister_id: c });
    await load(c, uploaded);
    const stored = IDL.decode(
      [IDL.Vec(IDL.Record({ hash: IDL.Vec(IDL.Nat8) }))],
      await manage('stored_chunks', CanisterIdArg, { canister_id: c }),
    )[0] as unknown as { hash: Uint8Array }[];
    expect(stored.map((h) => hex(h.hash))).toEqual([hex(hash)]);
  });

  it('an upload past the sizes the metadata gave is refused', async () => {
    const c = await canister();
    const reply = await manage('upload_canister_snapshot_metadata', UploadMetadataArgs, {
      canister_id: c,
      replace_snapshot: [],
      wasm_module_size: 10n,
      globals: [],
      wasm_memory_size: 65536n,
      stable_memory_size: 0n,
      certified_data: new Uint8Array(),
      global_timer: [],
      on_low_wasm_memory_hook_status: [],
    });
    const id = (
      IDL.decode([IDL.Record({ snapshot_id: SnapshotId })], reply)[0] as unknown as {
        snapshot_id: Uint8Array;
      }
    ).snapshot_id;
    await expectCallFailure(
      manage('upload_canister_snapshot_data', UploadDataArgs, {
        canister_id: c,
        snapshot_id: id,
        kind: { wasm_memory: { offset: 65530n } },
        chunk: new Uint8Array(7),
      }),
      {
        rejectCode: 'CanisterReject',
        errorCode: 'InvalidManagementPayload',
        message: 'Invalid subslice into wasm module / main memory / stable memory: offset: 65530, size: 7',
      },
    );
    await expectCallFailure(
      manage('upload_canister_snapshot_metadata', UploadMetadataArgs, {
        canister_id: c,
        replace_snapshot: [],
        wasm_module_size: 10n,
        globals: [],
        wasm_memory_size: 100n,
        stable_memory_size: 0n,
        certified_data: new Uint8Array(),
        global_timer: [],
        on_low_wasm_memory_hook_status: [],
      }),
      {
        rejectCode: 'CanisterReject',
        errorCode: 'InvalidManagementPayload',
        message: 'Snapshot Metadata contains invalid data: WasmMemoryNotPageAligned',
      },
    );
  });
});

describe('memory and cycles', () => {
  it('snapshots count in canister_status memory until they are deleted', async () => {
    const c = await canister();
    const empty = await memory(c);
    expect(empty.snapshots).toBe(0n);
    const s = await take(c);
    const withSnapshot = await memory(c);
    expect(withSnapshot.snapshots).toBe(s.total_size);
    expect(withSnapshot.size - empty.size).toBe(s.total_size);
    await remove(c, s.id);
    expect(await memory(c)).toEqual(empty);
  });

  /** The induction fee of an ingress message to `aaaaa-aa`, which the canister it names pays. */
  const inductionFee = (method: string, type: IDL.Type, arg: unknown): bigint =>
    ingressFee(envelopeBytes(owner, MANAGEMENT, method, new Uint8Array(IDL.encode([type], [arg]))));

  it('a snapshot that would freeze the canister at its new memory size is refused, and nothing changes', async () => {
    const c = await canister();
    const probe = await take(c);
    await remove(c, probe.id);
    const { size } = await memory(c);
    const balance = await pic.getCyclesBalance(c);
    // A freezing threshold (seconds) that the canister meets now but not with one more snapshot:
    // threshold cycles = memory × 127 000 / 2^30 per second × seconds.
    const seconds = (balance * 2n ** 30n) / (127_000n * (size + probe.total_size / 2n));
    await pic.updateCanisterSettings({ canisterId: c, freezingThreshold: seconds, sender: owner });
    await expectCallFailure(take(c), {
      rejectCode: 'CanisterError',
      errorCode: 'InsufficientCyclesInMemoryGrow',
      message: `Canister cannot grow memory by ${probe.total_size} bytes due to insufficient cycles.`,
    });
    expect(await list(c)).toEqual([]);
    expect((await memory(c)).snapshots).toBe(0n);
  });

  it('taking a snapshot costs execution_cost(2B instructions + its size)', async () => {
    const c = await canister();
    const before = await pic.getCyclesBalance(c);
    const s = await take(c);
    const after = await pic.getCyclesBalance(c);
    const induction = inductionFee('take_canister_snapshot', TakeArgs, {
      canister_id: c,
      replace_snapshot: [],
    });
    expect(before - after).toBe(executionCost(2_000_000_000n + s.total_size) + induction);
  });

  it('loading one costs 2B instructions plus compilation and one per byte of the snapshot', async () => {
    const c = await canister();
    const s = await take(c);
    const before = await pic.getCyclesBalance(c);
    await load(c, s.id);
    const charged = before - (await pic.getCyclesBalance(c));
    const induction = inductionFee('load_canister_snapshot', LoadArgs, {
      canister_id: c,
      snapshot_id: s.id,
      sender_canister_version: [],
    });
    const floor = 2_000_000_000n + executionCost(s.total_size) + induction;
    expect(charged).toBeGreaterThan(floor);
    // The rest is compilation, 6 000 instructions per compiled Wasm instruction.
    expect((charged - floor) % 6_000n).toBe(0n);
    expect(charged - floor).toBeLessThan(BigInt(wasm.length) * 6_000n);
  });
});

function u64BE(n: bigint): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n, false);
  return b;
}
