/**
 * PocketIC's per-instance `state_dir` (`InstanceConfig.state_dir` in dfinity/ic
 * packages/pocket-ic/src/common/rest.rs): an instance created with a state dir keeps its state
 * there when it is deleted (`Drop for PocketIc` in rs/pocket_ic_server/src/pocket_ic.rs checkpoints
 * and writes `topology.json`), and a new instance created with the same dir resumes that state.
 *
 * PicJS has no option for it, so the spec adds `state_dir` to the create request PicJS itself
 * sends (its HTTP client calls the global `fetch`); everything else goes through PicJS.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Principal } from '@icp-sdk/core/principal';
import type { PocketIc } from '@dfinity/pic';
import { afterAll, describe, expect, it } from 'vitest';
import { counterIdl, counterWasm, type CounterService } from '../support/counter.ts';
import { createPic, picUrl } from '../support/pic.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** `PocketIc.create` with `state_dir` added to the body of its `POST /instances`. */
async function createWithStateDir(stateDir: string): Promise<PocketIc> {
  const original = globalThis.fetch;
  const createUrl = `${picUrl()}/instances`;
  let injected = false;
  globalThis.fetch = (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (url === createUrl && init?.method === 'POST' && init.body instanceof Uint8Array) {
      // PicJS sends its JSON encoded as UTF-8 bytes.
      const body = JSON.parse(new TextDecoder().decode(init.body)) as Record<string, unknown>;
      init = { ...init, body: JSON.stringify({ ...body, state_dir: stateDir }) };
      injected = true;
    }
    return original(input, init);
  };
  try {
    const pic = await createPic();
    if (!injected) throw new Error('PicJS did not send its create request through fetch');
    return pic;
  } finally {
    globalThis.fetch = original;
  }
}

describe('state_dir: an instance resumes the state a deleted one left in its dir', () => {
  it('keeps canisters, their memory, ids and time across delete and create', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'pic-state-'));
    dirs.push(stateDir);

    const first = await createWithStateDir(stateDir);
    const { actor, canisterId } = await first.setupCanister<CounterService>({
      idlFactory: counterIdl,
      wasm: await counterWasm(),
    });
    await actor.inc();
    await actor.inc();
    const time = (await first.getTime()) + 3_600_000;
    await first.setTime(time);
    await first.tick();
    const cycles = await first.getCyclesBalance(canisterId);
    await first.tearDown();

    const second = await createWithStateDir(stateDir);
    try {
      const resumed = second.createActor<CounterService>(counterIdl, canisterId);
      expect(await resumed.get()).toBe(2n);
      expect(await resumed.inc()).toBe(3n);
      expect(await second.getCyclesBalance(canisterId)).toBeLessThanOrEqual(cycles);
      expect(await second.getTime()).toBeGreaterThanOrEqual(time);
      // The id allocation resumed too: a new canister does not take the existing one's id.
      const other: Principal = await second.createCanister();
      expect(other.toText()).not.toBe(canisterId.toText());
    } finally {
      await second.tearDown();
    }
  });

  it('an empty state dir gives a new, empty instance', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'pic-state-'));
    dirs.push(stateDir);
    const pic = await createWithStateDir(stateDir);
    try {
      const plain = await createPic();
      // Same start as an instance without a state dir: same first canister id.
      const a = await pic.createCanister();
      const b = await plain.createCanister();
      await plain.tearDown();
      expect(a.toText()).toBe(b.toText());
    } finally {
      await pic.tearDown();
    }
  });
});
