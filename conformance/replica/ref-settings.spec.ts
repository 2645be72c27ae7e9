/**
 * Reference suite (dfinity/ic `hs/spec_compliance/src/IC/Test/Spec.hs`),
 * group "Settings" (subgroups "Controllers", "via
 * provisional_create_canister_with_cycles:", "via create_canister:", "via
 * update_settings") and group "provisional_create_canister_with_cycles",
 * ported through PicJS and the universal canister (`ic00via cid`: the
 * universal canister calls the management canister).
 */
import type { PocketIc } from '@dfinity/pic';
import { IDL } from '@icp-sdk/core/candid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPic } from '../support/pic.ts';
import {
  Principal,
  call,
  defUpdateArgs,
  install,
  isRelay,
  isReject,
  isReply,
  outcome,
  updateCall,
} from '../support/uc.ts';

let pic: PocketIc;
const MANAGEMENT = Principal.managementCanister();
const defaultUser = Principal.anonymous();
const otherUser = Principal.fromUint8Array(Uint8Array.from([...new Array<number>(28).fill(9), 2]));
const ecdsaUser = Principal.fromUint8Array(Uint8Array.from([...new Array<number>(28).fill(11), 2]));
beforeAll(async () => {
  pic = await createPic();
});
afterAll(async () => {
  await pic?.tearDown();
});

const Settings = IDL.Record({
  controllers: IDL.Opt(IDL.Vec(IDL.Principal)),
  compute_allocation: IDL.Opt(IDL.Nat),
  memory_allocation: IDL.Opt(IDL.Nat),
  freezing_threshold: IDL.Opt(IDL.Nat),
});
type SettingsValue = {
  controllers: [] | [Principal[]];
  compute_allocation: [] | [bigint];
  memory_allocation: [] | [bigint];
  freezing_threshold: [] | [bigint];
};
const settings = (
  s: Partial<{ controllers: Principal[]; compute: bigint; memory: bigint; freezing: bigint }>,
): SettingsValue => ({
  controllers: s.controllers ? [s.controllers] : [],
  compute_allocation: s.compute !== undefined ? [s.compute] : [],
  memory_allocation: s.memory !== undefined ? [s.memory] : [],
  freezing_threshold: s.freezing !== undefined ? [s.freezing] : [],
});
const CreateArgs = IDL.Record({ settings: IDL.Opt(Settings) });
const ProvisionalCreateArgs = IDL.Record({ amount: IDL.Opt(IDL.Nat), settings: IDL.Opt(Settings) });
const UpdateSettingsArgs = IDL.Record({ canister_id: IDL.Principal, settings: Settings });
const Created = IDL.Record({ canister_id: IDL.Principal });
const Status = IDL.Record({
  settings: IDL.Record({
    controllers: IDL.Vec(IDL.Principal),
    compute_allocation: IDL.Nat,
    memory_allocation: IDL.Nat,
    freezing_threshold: IDL.Nat,
  }),
});
type StatusValue = {
  settings: {
    controllers: Principal[];
    compute_allocation: bigint;
    memory_allocation: bigint;
    freezing_threshold: bigint;
  };
};

/** `ic00via cid` with cycles: the outcome of `cid`'s call to the management canister. */
async function ic00via(cid: Principal, method: string, arg: Uint8Array, cycles = 0n) {
  return isRelay(await call(pic, cid, updateCall(MANAGEMENT, method, { ...defUpdateArgs, arg, cycles })));
}
/** A user's call to the management canister (`ic00as user`), routed to the canister's subnet. */
async function ic00as(user: Principal, method: string, arg: Uint8Array, cid: Principal) {
  const targetSubnetId = (await pic.getCanisterSubnetId(cid)) ?? undefined;
  return outcome(pic.updateCall({ canisterId: MANAGEMENT, method, arg, sender: user, targetSubnetId }));
}
const statusArg = (cid: Principal) => new Uint8Array(IDL.encode([Created], [{ canister_id: cid }]));
const decodeStatus = (b: Uint8Array) => IDL.decode([Status], b)[0] as unknown as StatusValue;
const texts = (ps: Principal[]) => ps.map((p) => p.toText()).sort();

describe('Settings', () => {
  describe('Controllers', () => {
    it('A canister can request its own status if it does not control itself', async () => {
      const controllers = [defaultUser, otherUser];
      const cid = await install(pic, undefined, { controllers });
      const cs = decodeStatus(isReply(await ic00via(cid, 'canister_status', statusArg(cid))));
      expect(controllers.some((c) => c.toText() === cid.toText())).toBe(false);
      expect(texts(cs.settings.controllers)).toEqual(texts(controllers));
    });
    it('Changing controllers', async () => {
      const cid = await install(pic, undefined, { controllers: [defaultUser, otherUser] });
      await pic.updateCanisterSettings({ canisterId: cid, controllers: [ecdsaUser], sender: defaultUser });
      for (const u of [defaultUser, otherUser])
        isReject(await ic00as(u, 'canister_status', statusArg(cid), cid), [3, 5]);
      const cs = decodeStatus(isReply(await ic00as(ecdsaUser, 'canister_status', statusArg(cid), cid)));
      expect(texts(cs.settings.controllers)).toEqual([ecdsaUser.toText()]);
    });
    it('Multiple controllers (provisional)', async () => {
      const controllers = [defaultUser, otherUser];
      const cid = await install(pic, undefined, { controllers });
      for (const u of controllers) {
        const cs = decodeStatus(isReply(await ic00as(u, 'canister_status', statusArg(cid), cid)));
        expect(texts(cs.settings.controllers)).toEqual(texts(controllers));
      }
      isReject(await ic00as(ecdsaUser, 'canister_status', statusArg(cid), cid), [3, 5]);
    });
    it('Multiple controllers (aaaaa-aa)', async () => {
      const cid = await install(pic);
      const controllers = [cid, otherUser];
      const arg = new Uint8Array(IDL.encode([CreateArgs], [{ settings: [settings({ controllers })] }]));
      const created = IDL.decode(
        [Created],
        isReply(await ic00via(cid, 'create_canister', arg, 20_000_000_000_000n)),
      )[0] as unknown as {
        canister_id: Principal;
      };
      const cid2 = created.canister_id;
      const viaCid = decodeStatus(isReply(await ic00via(cid, 'canister_status', statusArg(cid2))));
      expect(texts(viaCid.settings.controllers)).toEqual(texts(controllers));
      const asOther = decodeStatus(
        isReply(await ic00as(otherUser, 'canister_status', statusArg(cid2), cid2)),
      );
      expect(texts(asOther.settings.controllers)).toEqual(texts(controllers));
      isReject(await ic00as(ecdsaUser, 'canister_status', statusArg(cid2), cid2), [3, 5]);
    });
    it('> 10 controllers', async () => {
      const cid = await install(pic);
      const arg = new Uint8Array(
        IDL.encode(
          [CreateArgs],
          [{ settings: [settings({ controllers: new Array<Principal>(11).fill(cid) })] }],
        ),
      );
      isReject(await ic00via(cid, 'create_canister', arg, 20_000_000_000_000n), [3, 5]);
    });
    it('No controller', async () => {
      const cid = await install(pic);
      const arg = new Uint8Array(IDL.encode([CreateArgs], [{ settings: [settings({ controllers: [] })] }]));
      const created = IDL.decode(
        [Created],
        isReply(await ic00via(cid, 'create_canister', arg, 20_000_000_000_000n)),
      )[0] as unknown as {
        canister_id: Principal;
      };
      for (const u of [defaultUser, otherUser]) {
        isReject(
          await ic00as(u, 'canister_status', statusArg(created.canister_id), created.canister_id),
          [3, 5],
        );
      }
    });
    it('Controller is self', async () => {
      const cid = await install(pic);
      await pic.updateCanisterSettings({ canisterId: cid, controllers: [cid] });
      const cs = decodeStatus(isReply(await ic00via(cid, 'canister_status', statusArg(cid))));
      expect(texts(cs.settings.controllers)).toEqual([cid.toText()]);
    });
    it('Duplicate controllers', async () => {
      const controllers = [defaultUser, defaultUser, otherUser];
      const cid = await pic.createCanister({ controllers });
      const cs = decodeStatus(isReply(await ic00as(defaultUser, 'canister_status', statusArg(cid), cid)));
      expect(
        texts([...new Set(cs.settings.controllers.map((p) => p.toText()))].map((t) => Principal.fromText(t))),
      ).toEqual(texts([defaultUser, otherUser]));
    });
  });

  it('Valid allocations', async () => {
    const cid = await install(pic);
    const arg = new Uint8Array(
      IDL.encode(
        [CreateArgs],
        [{ settings: [settings({ compute: 1n, memory: 1024n * 1024n, freezing: 1_000_000n })] }],
      ),
    );
    const created = IDL.decode(
      [Created],
      isReply(await ic00via(cid, 'create_canister', arg, 20_000_000_000_000n)),
    )[0] as unknown as {
      canister_id: Principal;
    };
    const cs = decodeStatus(isReply(await ic00via(cid, 'canister_status', statusArg(created.canister_id))));
    expect(cs.settings.compute_allocation).toBe(1n);
    expect(cs.settings.memory_allocation).toBe(1024n * 1024n);
    expect(cs.settings.freezing_threshold).toBe(1_000_000n);
  });

  const invalid = [
    ['Invalid compute allocation (101)', settings({ compute: 101n })],
    ['Invalid memory allocation (2^48+1)', settings({ memory: 2n ** 48n + 1n })],
    ['Invalid freezing threshold (2^64)', settings({ freezing: 2n ** 64n })],
  ] as const;
  describe('via provisional_create_canister_with_cycles:', () => {
    for (const [name, s] of invalid) {
      it(name, async () => {
        const cid = await install(pic);
        const arg = new Uint8Array(IDL.encode([ProvisionalCreateArgs], [{ amount: [], settings: [s] }]));
        // ic00 as a user: routed to the subnet of an existing canister.
        isReject(await ic00as(defaultUser, 'provisional_create_canister_with_cycles', arg, cid), [5]);
      });
    }
  });
  describe('via create_canister:', () => {
    for (const [name, s] of invalid) {
      it(name, async () => {
        const cid = await install(pic);
        const arg = new Uint8Array(IDL.encode([CreateArgs], [{ settings: [s] }]));
        isReject(await ic00via(cid, 'create_canister', arg), [5]);
      });
    }
  });
  describe('via update_settings', () => {
    for (const [name, s] of invalid) {
      it(name, async () => {
        const cid = await install(pic);
        const arg = new Uint8Array(IDL.encode([UpdateSettingsArgs], [{ canister_id: cid, settings: s }]));
        isReject(await ic00as(defaultUser, 'update_settings', arg, cid), [5]);
      });
    }
  });
});

describe('provisional_create_canister_with_cycles', () => {
  it('specified_id', async () => {
    const anchor = await pic.createCanister();
    const subnet = await pic.getCanisterSubnetId(anchor);
    // A free id in the anchor's range: the anchor's own id plus a large offset.
    const bytes = anchor.toUint8Array().slice();
    bytes[7] = (bytes[7]! + 200) % 256;
    const specified = Principal.fromUint8Array(bytes);
    const cid = await pic.createCanister({
      targetCanisterId: specified,
      targetSubnetId: subnet ?? undefined,
    });
    expect(cid.toText()).toBe(specified.toText());
  });
  it('specified_id already taken', async () => {
    const cid = await install(pic);
    await expect(pic.createCanister({ targetCanisterId: cid })).rejects.toThrow();
  });
  it("specified_id does not belong to the subnet's canister ranges", async () => {
    const doesntExist = Principal.fromUint8Array(
      Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 1, 1]),
    );
    await expect(pic.createCanister({ targetCanisterId: doesntExist })).rejects.toThrow();
  });
});
