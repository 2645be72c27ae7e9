/**
 * icsim extension: whole-instance snapshot and revert through PicJS and the
 * `icsim/pic` helper (`snapshot(pic)`, `revert(pic, id)`, REST
 * `POST /instances/{id}/icsim/snapshot|revert`). PocketIC has no such
 * operation, so this family runs on icsim only (vitest.config.ts leaves
 * `conformance/extensions/` out when POCKET_IC_BIN names another server).
 */
import { Principal } from '@icp-sdk/core/principal';
import type { Actor, PocketIc } from '@dfinity/pic';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
// The source of the package's `icsim/pic` export: what a user imports, no simulator internals.
import { instanceUrlOf, revert, snapshot } from '../../simulator/pic/index.ts';
import { counterIdl, counterWasm, type CounterService } from '../support/counter.ts';
import { createPic } from '../support/pic.ts';

describe('instance snapshot and revert (icsim extension)', () => {
  let pic: PocketIc;
  let counter: Actor<CounterService>;
  let canisterId: Principal;

  beforeAll(async () => {
    pic = await createPic();
    const fixture = await pic.setupCanister<CounterService>({
      idlFactory: counterIdl,
      wasm: await counterWasm(),
    });
    counter = fixture.actor;
    canisterId = fixture.canisterId;
  });
  afterAll(async () => {
    await pic.tearDown();
  });

  it('puts back the heap, the canisters, the cycles and the time, and can be reverted to again', async () => {
    await counter.inc();
    const time = await pic.getTime();
    const cycles = await pic.getCyclesBalance(canisterId);
    const id = await snapshot(pic);

    await counter.inc();
    await counter.inc();
    const created = await pic.createCanister();
    await pic.addCycles(canisterId, 1_000_000n);
    await pic.advanceTime(60_000);
    await pic.tick();
    expect(await counter.get()).toBe(3n);

    await revert(pic, id);
    expect(await counter.get()).toBe(1n);
    expect(await pic.getTime()).toBe(time);
    expect(await pic.getCyclesBalance(canisterId)).toBe(cycles);
    // The canister created after the snapshot is gone, and its id is handed out again.
    await expect(pic.getCyclesBalance(created)).rejects.toThrow();
    expect((await pic.createCanister()).toText()).toBe(created.toText());

    await counter.inc();
    await revert(pic, id);
    expect(await counter.get()).toBe(1n);
  });

  it('drops the snapshots taken after the one reverted to, and refuses an unknown id leaving the state as it was', async () => {
    const older = await snapshot(pic);
    await counter.inc();
    const newer = await snapshot(pic);
    await revert(pic, older);
    const value = await counter.get();
    await expect(revert(pic, newer)).rejects.toThrow(/no instance snapshot/);
    await expect(revert(pic, 1_000_000)).rejects.toThrow(/no instance snapshot/);
    expect(await counter.get()).toBe(value);
  });

  it('answers 400 to a malformed revert body over REST', async () => {
    const res = await fetch(`${instanceUrlOf(pic)}/icsim/revert`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ snapshot_id: -1 }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/snapshot_id/);
  });
});

describe('the beforeEach(revert) pattern', () => {
  let pic: PocketIc;
  let counter: Actor<CounterService>;
  let fixture: number;

  beforeAll(async () => {
    pic = await createPic();
    counter = (await pic.setupCanister<CounterService>({ idlFactory: counterIdl, wasm: await counterWasm() }))
      .actor;
    fixture = await snapshot(pic);
  });
  beforeEach(() => revert(pic, fixture));
  afterAll(async () => {
    await pic.tearDown();
  });

  for (const test of ['first', 'second', 'third']) {
    it(`starts the ${test} test from the deployed fixture`, async () => {
      expect(await counter.inc()).toBe(1n);
      expect(await counter.inc()).toBe(2n);
    });
  }
});
