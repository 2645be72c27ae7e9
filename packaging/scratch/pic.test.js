// Runs in a fresh project that installed the icsim tarball and @dfinity/pic, on the machine's own
// Node, exactly as a user's PicJS suite would: POCKET_IC_BIN=node_modules/.bin/icsim.
import { PocketIc, PocketIcServer } from '@dfinity/pic';
import { binPath, revert, snapshot } from 'icsim/pic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const wasm = process.env.SCRATCH_WASM;
const idlFactory = ({ IDL }) =>
  IDL.Service({
    inc: IDL.Func([], [IDL.Nat64], []),
    get: IDL.Func([], [IDL.Nat64], ['query']),
  });

describe('PicJS against the installed icsim (POCKET_IC_BIN)', () => {
  let server;
  let pic;
  beforeAll(async () => {
    server = await PocketIcServer.start();
    pic = await PocketIc.create(server.getUrl());
  });
  afterAll(async () => {
    await pic?.tearDown();
    await server?.stop();
  });

  it('installs a canister, calls it, and advances time', async () => {
    const { actor } = await pic.setupCanister({ idlFactory, wasm });
    expect(await actor.inc()).toBe(1n);
    expect(await actor.inc()).toBe(2n);
    expect(await actor.get()).toBe(2n);
    const before = await pic.getTime();
    await pic.advanceTime(86_400_000);
    await pic.tick();
    expect(await pic.getTime()).toBeGreaterThanOrEqual(before + 86_400_000);
    expect(await actor.get()).toBe(2n);
  });
});

describe("PicJS started with icsim/pic's binPath", () => {
  it('starts the server without POCKET_IC_BIN', async () => {
    const server = await PocketIcServer.start({ binPath });
    const pic = await PocketIc.create(server.getUrl());
    const { actor } = await pic.setupCanister({ idlFactory, wasm });
    expect(await actor.inc()).toBe(1n);
    await pic.tearDown();
    await server.stop();
  });

  it("reverts the instance to icsim/pic's snapshot", async () => {
    const server = await PocketIcServer.start({ binPath });
    const pic = await PocketIc.create(server.getUrl());
    const { actor } = await pic.setupCanister({ idlFactory, wasm });
    const fixture = await snapshot(pic);
    expect(await actor.inc()).toBe(1n);
    await revert(pic, fixture);
    expect(await actor.inc()).toBe(1n);
    await pic.tearDown();
    await server.stop();
  });
});
