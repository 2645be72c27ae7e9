/**
 * IC interface specification, "Canister interface (System API)" §"Canister
 * upgrades" and "IC method install_code": an upgrade runs
 * `canister_pre_upgrade` on the old instance (unless `skip_pre_upgrade`),
 * then the new module's `canister_post_upgrade` with the install argument;
 * `canister_init` is not run; the Wasm heap starts fresh while stable memory
 * is kept; pre_upgrade + post_upgrade are one transaction (a trap in either
 * leaves the canister on its old module and state). `ic0.canister_version`
 * grows with every install, upgrade and reinstall (pre_upgrade sees the old
 * value, post_upgrade the new one). A reinstall clears stable memory.
 */
import type { PocketIc } from '@dfinity/pic';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPic } from '../support/pic.ts';
import { expectCallFailure } from '../support/reject.ts';
import { Principal, bytes, readInfo, readState, readU64, text, universalWasm } from '../support/universal.ts';

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');
const hex = (data: Uint8Array | null): string | null => (data ? Buffer.from(data).toString('hex') : null);

let pic: PocketIc;
let canisterId: Principal;
let v1: Uint8Array<ArrayBuffer>;
let v2: Uint8Array<ArrayBuffer>;
let v3: Uint8Array<ArrayBuffer>;

beforeAll(async () => {
  pic = await createPic();
  [v1, v2, v3] = await Promise.all([
    universalWasm({ tag: 1 }),
    universalWasm({ tag: 2 }),
    universalWasm({ tag: 3 }),
  ]);
  canisterId = await pic.createCanister();
});
afterAll(async () => {
  await pic?.tearDown();
});

const inc = (): Promise<Uint8Array> => pic.updateCall({ canisterId, method: 'inc' });
const moduleHash = async (): Promise<string | null> =>
  hex((await pic.canisterStatus({ canisterId })).moduleHash);
const version = async (): Promise<bigint> => readU64(await pic.queryCall({ canisterId, method: 'version' }));
/** What pre_upgrade stored: stable[0..8] = heap counter, stable[8..16] = canister_version. */
const preUpgradeRecord = async (): Promise<{ counter: bigint; version: bigint }> => {
  const stable = await pic.getStableMemory(canisterId);
  return { counter: readU64(stable, 0), version: readU64(stable, 1) };
};

describe('install, then upgrade', () => {
  let installedVersion: bigint;

  it('install runs canister_init with the argument', async () => {
    await pic.installCode({ canisterId, wasm: v1, arg: bytes('hello') });
    const info = await readInfo(pic, canisterId);
    expect(info).toMatchObject({ counter: 0n, initRan: true, tag: 1n });
    expect(text(info.arg)).toBe('hello');
    installedVersion = info.version;
    expect(await moduleHash()).toBe(sha256(v1));
  });

  it('upgrade: pre_upgrade sees the old state and saves it to stable memory; post_upgrade gets the argument; init does not run; the heap starts fresh', async () => {
    await inc();
    await inc();
    await inc();
    const before = await version();
    await pic.upgradeCanister({ canisterId, wasm: v2, arg: bytes('world') });
    const info = await readInfo(pic, canisterId);
    expect(info.tag).toBe(2n);
    expect(info.counter).toBe(0n); // heap reset
    expect(info.initRan).toBe(false); // canister_init did not run
    expect(info.restored).toBe(3n); // pre_upgrade saw the old heap, stable memory kept it
    expect(text(info.arg)).toBe('world');
    const saved = await preUpgradeRecord();
    expect(saved.counter).toBe(3n);
    // canister_version: pre_upgrade sees the old value, post_upgrade the new one.
    expect(saved.version).toBe(before);
    expect(info.postUpgradeVersion).toBe(before + 1n);
    expect(info.version).toBeGreaterThan(installedVersion);
    expect(await moduleHash()).toBe(sha256(v2));
  });
});

describe('an upgrade is atomic', () => {
  it('a trapping post_upgrade rolls the whole upgrade back: old module, heap and stable memory', async () => {
    await inc();
    const info = await readInfo(pic, canisterId);
    const stable = await pic.getStableMemory(canisterId);
    const state = await readState(pic, canisterId);
    await expectCallFailure(pic.upgradeCanister({ canisterId, wasm: v3, arg: bytes('trap') }), {
      rejectCode: 'CanisterError',
      errorCode: 'CanisterCalledTrap',
      message: "Canister called `ic0.trap` with message: 'post_upgrade trap'",
    });
    expect(await moduleHash()).toBe(sha256(v2));
    expect(await readInfo(pic, canisterId)).toEqual(info);
    expect(await pic.getStableMemory(canisterId)).toEqual(stable); // pre_upgrade's write is gone too
    expect(await readState(pic, canisterId)).toEqual(state);
    expect(readU64(await inc())).toBe(state.counter + 1n); // the old module keeps serving
  });

  it('a trapping pre_upgrade rolls back too, and skip_pre_upgrade then upgrades without it', async () => {
    await pic.updateCall({ canisterId, method: 'arm_pre_upgrade_trap' });
    const state = await readState(pic, canisterId);
    const stable = await pic.getStableMemory(canisterId);
    await expectCallFailure(pic.upgradeCanister({ canisterId, wasm: v3 }), {
      rejectCode: 'CanisterError',
      errorCode: 'CanisterCalledTrap',
      message: "Canister called `ic0.trap` with message: 'pre_upgrade trap'",
    });
    expect(await moduleHash()).toBe(sha256(v2));
    expect(await readState(pic, canisterId)).toEqual(state);
    expect(await pic.getStableMemory(canisterId)).toEqual(stable);

    await pic.upgradeCanister({
      canisterId,
      wasm: v3,
      upgradeModeOptions: { skip_pre_upgrade: [true], wasm_memory_persistence: [] },
    });
    const info = await readInfo(pic, canisterId);
    expect(info.tag).toBe(3n);
    // pre_upgrade did not run: post_upgrade restored what stable memory held, not the heap counter.
    expect(info.restored).toBe(state.stableCounter);
    expect(info.restored).not.toBe(state.counter);
    expect(await pic.getStableMemory(canisterId)).toEqual(stable);
  });
});

describe('canister_version and reinstall', () => {
  it('grows with every install, upgrade and reinstall', async () => {
    const id = await pic.createCanister();
    const versionOf = async (): Promise<bigint> =>
      readU64(await pic.queryCall({ canisterId: id, method: 'version' }));
    await pic.installCode({ canisterId: id, wasm: v1 });
    const installed = await versionOf();
    await pic.upgradeCanister({ canisterId: id, wasm: v2 });
    const upgraded = await versionOf();
    await pic.reinstallCode({ canisterId: id, wasm: v1 });
    const reinstalled = await versionOf();
    expect(installed).toBeGreaterThan(0n);
    expect(upgraded).toBeGreaterThan(installed);
    expect(reinstalled).toBeGreaterThan(upgraded);
  });

  it('reinstall runs init, clears the heap and stable memory', async () => {
    await inc();
    expect((await readState(pic, canisterId)).stablePages).toBeGreaterThan(0n);
    await pic.reinstallCode({ canisterId, wasm: v1, arg: bytes('again') });
    const info = await readInfo(pic, canisterId);
    expect(info).toMatchObject({ counter: 0n, initRan: true, tag: 1n, restored: 0n });
    expect(text(info.arg)).toBe('again');
    expect((await readState(pic, canisterId)).stablePages).toBe(0n);
    expect((await pic.getStableMemory(canisterId)).length).toBe(0);
    expect(await moduleHash()).toBe(sha256(v1));
  });
});
