/**
 * IC interface specification, "Canister interface (System API)" §"Global
 * timer": `ic0.global_timer_set(t)` returns the previous value (0 = inactive);
 * `canister_global_timer` runs once the time reaches t, and the timer is
 * deactivated when it is scheduled; install_code (any mode) deactivates it.
 * §"Heartbeat": `canister_heartbeat` runs in every round (PocketIC: one round
 * per `tick`).
 */
import type { PocketIc } from '@dfinity/pic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPic } from '../support/pic.ts';
import { Principal, installUniversal, readU64, u64, universalWasm } from '../support/universal.ts';

let pic: PocketIc;

beforeAll(async () => {
  pic = await createPic();
});
afterAll(async () => {
  await pic?.tearDown();
});

const nowNs = async (): Promise<bigint> => BigInt(await pic.getTime()) * 1_000_000n;

describe('global timer', () => {
  let canisterId: Principal;
  beforeAll(async () => {
    canisterId = await installUniversal(pic);
  });
  const setTimer = async (t: bigint): Promise<bigint> =>
    readU64(await pic.updateCall({ canisterId, method: 'timer_set', arg: u64(t) }));
  const timers = async (): Promise<{ fired: bigint; firedAt: bigint; heartbeats: bigint }> => {
    const r = await pic.queryCall({ canisterId, method: 'timers' });
    return { fired: readU64(r, 0), firedAt: readU64(r, 1), heartbeats: readU64(r, 2) };
  };

  it('global_timer_set returns the previous value; 0 means inactive', async () => {
    const t = (await nowNs()) + 3_600_000_000_000n;
    expect(await setTimer(t)).toBe(0n);
    expect(await setTimer(t + 1n)).toBe(t);
    expect(await setTimer(0n)).toBe(t + 1n);
    expect(await setTimer(0n)).toBe(0n);
  });

  it('fires once when due, not before, and is deactivated after firing', async () => {
    const due = (await nowNs()) + 10_000_000_000n; // in 10 s
    await setTimer(due);
    await pic.tick(2);
    expect((await timers()).fired).toBe(0n);

    await pic.advanceTime(5_000);
    await pic.tick(2);
    expect((await timers()).fired).toBe(0n);

    await pic.advanceTime(5_000);
    await pic.tick();
    const fired = await timers();
    expect(fired.fired).toBe(1n);
    expect(fired.firedAt).toBeGreaterThanOrEqual(due);

    await pic.advanceTime(60_000);
    await pic.tick(3);
    expect((await timers()).fired).toBe(1n);
    expect(await setTimer(0n)).toBe(0n); // deactivated when it was scheduled
  });

  it('install_code (upgrade) deactivates it', async () => {
    const due = (await nowNs()) + 1_000_000_000n;
    expect(await setTimer(due)).toBe(0n);
    await pic.upgradeCanister({ canisterId, wasm: await universalWasm() });
    await pic.advanceTime(5_000);
    await pic.tick(2);
    expect((await timers()).fired).toBe(0n);
    expect(await setTimer(0n)).toBe(0n);
  });

  it('reinstall deactivates it too', async () => {
    const due = (await nowNs()) + 1_000_000_000n;
    expect(await setTimer(due)).toBe(0n);
    await pic.reinstallCode({ canisterId, wasm: await universalWasm() });
    await pic.advanceTime(5_000);
    await pic.tick(2);
    expect((await timers()).fired).toBe(0n);
    expect(await setTimer(0n)).toBe(0n);
  });
});

describe('heartbeat', () => {
  it('runs once per round', async () => {
    const canisterId = await installUniversal(pic, { heartbeat: true });
    const heartbeats = async (): Promise<bigint> =>
      readU64(await pic.queryCall({ canisterId, method: 'timers' }), 2);
    const before = await heartbeats();
    await pic.tick();
    expect(await heartbeats()).toBe(before + 1n);
    await pic.tick(4);
    expect(await heartbeats()).toBe(before + 5n);
  });

  it('does not run in a canister that does not export it', async () => {
    const canisterId = await installUniversal(pic);
    await pic.tick(3);
    expect(readU64(await pic.queryCall({ canisterId, method: 'timers' }), 2)).toBe(0n);
  });
});
