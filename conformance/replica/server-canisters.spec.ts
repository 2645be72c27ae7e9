/**
 * Canister lifecycle through PicJS's management-canister helpers, with a
 * hand-written WAT counter: create/install, update and query calls, upgrade
 * and reinstall, chunked install, canister status, start/stop, cycles, stable
 * memory, controllers and subnet lookup. Reference:
 * docs/reference/picjs-protocol.md §4.7–§4.13, §5, §6.
 */
import type { Actor, PocketIc } from '@dfinity/pic';
import { Principal } from '@icp-sdk/core/principal';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counterIdl, counterWasm, type CounterService } from '../support/counter.ts';
import { createPic } from '../support/pic.ts';

const FIRST_CANISTER = 'lxzze-o7777-77777-aaaaa-cai';
const ANONYMOUS = Principal.anonymous().toText();

const sha256 = (bytes: Uint8Array) => new Uint8Array(createHash('sha256').update(bytes).digest());
const u64le = (n: bigint) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n, true);
  return b;
};

let wasm: Uint8Array;

beforeAll(async () => {
  wasm = await counterWasm();
});

describe('a counter canister', () => {
  let pic: PocketIc;
  let canisterId: Principal;
  let actor: Actor<CounterService>;

  beforeAll(async () => {
    pic = await createPic();
    const fixture = await pic.setupCanister<CounterService>({ idlFactory: counterIdl, wasm });
    canisterId = fixture.canisterId;
    actor = fixture.actor;
  });
  afterAll(async () => {
    await pic.tearDown();
  });

  it(`is created as ${FIRST_CANISTER}, controlled by its creator`, async () => {
    expect(canisterId.toText()).toBe(FIRST_CANISTER);
    expect((await pic.getControllers(canisterId)).map((p) => p.toText())).toEqual([ANONYMOUS]);
  });

  it('answers updates and queries', async () => {
    expect(await actor.inc()).toBe(1n);
    expect(await actor.inc()).toBe(2n);
    expect(await actor.get()).toBe(2n);
  });

  it('reports a trap as a CanisterError reject and keeps its state', async () => {
    const failure = actor.boom();
    await expect(failure).rejects.toThrow(/Canister called `ic0\.trap` with message:.*boom/);
    await expect(failure).rejects.toThrow(/Reject code: CanisterError\. Error code: CanisterCalledTrap/);
    expect(await actor.get()).toBe(2n);
  });

  it('keeps its counter across an upgrade, through stable memory', async () => {
    await pic.upgradeCanister({ canisterId, wasm });
    expect(await actor.get()).toBe(2n);
    const stable = await pic.getStableMemory(canisterId);
    expect(stable.length % 65536).toBe(0);
    expect(Array.from(stable.slice(0, 8))).toEqual(Array.from(u64le(2n)));
  });

  it('reads stable memory set from outside', async () => {
    await pic.setStableMemory(canisterId, u64le(41n));
    expect(await actor.load()).toBe(41n);
    expect(await actor.inc()).toBe(42n);
  });

  it('starts from scratch after a reinstall', async () => {
    await pic.reinstallCode({ canisterId, wasm });
    expect(await actor.get()).toBe(0n);
  });

  it('reports its status', async () => {
    const status = await pic.canisterStatus({ canisterId });
    expect(status.status).toEqual({ running: null });
    expect(status.moduleHash && Array.from(status.moduleHash)).toEqual(Array.from(sha256(wasm)));
    expect(status.settings.controllers.map((p) => p.toText())).toEqual([ANONYMOUS]);
    expect(status.cycles).toBeGreaterThan(0n);
  });

  it('refuses calls while stopped and serves again once started', async () => {
    await pic.stopCanister({ canisterId });
    expect((await pic.canisterStatus({ canisterId })).status).toEqual({ stopped: null });
    await expect(actor.inc()).rejects.toThrow(new RegExp(`Canister ${canisterId.toText()} is stopped`));
    await pic.startCanister({ canisterId });
    expect((await pic.canisterStatus({ canisterId })).status).toEqual({ running: null });
    expect(await actor.inc()).toBe(1n);
  });

  it('has cycles that can be topped up exactly', async () => {
    const before = await pic.getCyclesBalance(canisterId);
    expect(before).toBeGreaterThan(0n);
    expect(await pic.addCycles(canisterId, 1_000n)).toBe(before + 1_000n);
  });

  it('lives on the application subnet', async () => {
    const [app] = await pic.getApplicationSubnets();
    expect((await pic.getCanisterSubnetId(canisterId))?.toText()).toBe(app!.id.toText());
    expect(await pic.getCanisterSubnetId(Principal.fromText('lqy7q-dh777-77777-aaaaq-cai'))).toBeNull();
  });
});

describe('canister management', () => {
  let pic: PocketIc;
  beforeAll(async () => {
    pic = await createPic();
  });
  afterAll(async () => {
    await pic.tearDown();
  });

  it('allocates canister ids sequentially from the range start', async () => {
    const a = await pic.createCanister();
    const b = await pic.createCanister();
    expect([a.toText(), b.toText()]).toEqual([FIRST_CANISTER, 'lqy7q-dh777-77777-aaaaq-cai']);
  });

  it('honours controllers given at creation', async () => {
    const owner = Principal.fromText('rrkah-fqaaa-aaaaa-aaaaq-cai');
    const id = await pic.createCanister({ controllers: [owner] });
    expect((await pic.getControllers(id)).map((p) => p.toText())).toEqual([owner.toText()]);
  });

  it('installs a 2.5 MB module through the chunk store (PicJS chunks what exceeds 1.85 MB)', async () => {
    const big = await counterWasm(2_500_000);
    expect(big.length).toBeGreaterThan(2_000_000);
    const { canisterId, actor } = await pic.setupCanister<CounterService>({
      idlFactory: counterIdl,
      wasm: big,
    });
    expect(await actor.inc()).toBe(1n);
    const status = await pic.canisterStatus({ canisterId });
    expect(status.moduleHash && Array.from(status.moduleHash)).toEqual(Array.from(sha256(big)));
  });

  it('reports unknown canisters', async () => {
    const nobody = Principal.fromText('x47dp-5x777-77777-p777q-cai');
    await expect(pic.getCyclesBalance(nobody)).rejects.toThrow(/PocketIC server error: CanisterNotFound/);
    await expect(
      pic.queryCall({ canisterId: nobody, method: 'get', arg: new Uint8Array([68, 73, 68, 76, 0, 0]) }),
    ).rejects.toThrow(/Canister call failed/);
  });
});
