/**
 * The ingress size limit: a subnet refuses an ingress message larger than its
 * registry record's `max_ingress_bytes_per_message`, 2 MiB on application
 * subnets and 3.5 MiB on system subnets (dfinity/ic `rs/limits/src/lib.rs`,
 * `rs/state_machine_tests/src/lib.rs`), with the replica's text
 * `Request 0x… is too large. Message byte size … is larger than the max allowed …`
 * (`rs/http_endpoints/public/src/call.rs`; PocketIC wraps it in
 * `BadIngressMessage`). The size counted is the message's CBOR envelope, a
 * little more than its argument. A refused message never runs.
 */
import { PocketIc, SubnetStateType } from '@dfinity/pic';
import type { Principal } from '@icp-sdk/core/principal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watToWasm } from '../../fixtures/wat.ts';
import { counterWat } from '../support/counter.ts';
import { createPic } from '../support/pic.ts';

const MiB = 1024 * 1024;
const tooLarge = (limit: number): RegExp =>
  new RegExp(
    `Request 0x[0-9a-f]{64} is too large\\. Message byte size \\d+ is larger than the max allowed ${limit}\\.`,
  );

let pic: PocketIc;
let onApplication: Principal;
let onSystem: Principal;

async function counterValue(canisterId: Principal): Promise<Uint8Array> {
  return pic.queryCall({ canisterId, method: 'get', arg: new Uint8Array() });
}

beforeAll(async () => {
  pic = await createPic({
    application: [{ state: { type: SubnetStateType.New } }],
    system: [{ state: { type: SubnetStateType.New } }],
  });
  const wasm = await watToWasm(counterWat());
  const [application, system] = await pic
    .getApplicationSubnets()
    .then(async (apps) => [apps[0]!, (await pic.getSystemSubnets())[0]!]);
  onApplication = await pic.createCanister({ targetSubnetId: application.id });
  onSystem = await pic.createCanister({ targetSubnetId: system.id });
  for (const canisterId of [onApplication, onSystem]) await pic.installCode({ canisterId, wasm });
});

afterAll(async () => {
  await pic?.tearDown();
});

describe('ingress messages above the subnet limit are refused (REST)', () => {
  it('an application subnet takes a 2 MiB − 1 KiB argument and refuses 2 MiB, without running it', async () => {
    const before = await counterValue(onApplication);
    await pic.updateCall({ canisterId: onApplication, method: 'inc', arg: new Uint8Array(2 * MiB - 1024) });
    const afterAccepted = await counterValue(onApplication);
    expect(afterAccepted).not.toEqual(before);
    await expect(
      pic.updateCall({ canisterId: onApplication, method: 'inc', arg: new Uint8Array(2 * MiB) }),
    ).rejects.toThrow(tooLarge(2 * MiB));
    expect(await counterValue(onApplication)).toEqual(afterAccepted);
  });

  it('a system subnet takes 3 MiB, which an application subnet refuses, and refuses 3.5 MiB', async () => {
    const before = await counterValue(onSystem);
    await pic.updateCall({ canisterId: onSystem, method: 'inc', arg: new Uint8Array(3 * MiB) });
    const afterAccepted = await counterValue(onSystem);
    expect(afterAccepted).not.toEqual(before);
    await expect(
      pic.updateCall({ canisterId: onSystem, method: 'inc', arg: new Uint8Array(3.5 * MiB) }),
    ).rejects.toThrow(tooLarge(3.5 * MiB));
    await expect(
      pic.updateCall({ canisterId: onApplication, method: 'inc', arg: new Uint8Array(3 * MiB) }),
    ).rejects.toThrow(tooLarge(2 * MiB));
    expect(await counterValue(onSystem)).toEqual(afterAccepted);
  });
});
