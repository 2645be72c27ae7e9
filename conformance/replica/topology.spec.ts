/**
 * PocketIC's topology (dfinity/ic `rs/pocket_ic_server/src/pocket_ic.rs`:
 * `get_range_config`, `RangeGen::next_range`, `subnet_kind_canister_range`):
 * named subnets hold their mainnet canister ranges plus one allocation range
 * taken from the top of the id space in the order NNS, SNS, II, Fiduciary,
 * Bitcoin, system, application; canisters are allocated sequentially; a
 * `specified_id` inside a named subnet's mainnet range lands on that subnet.
 */
import { type PocketIc, SubnetStateType } from '@dfinity/pic';
import { Principal } from '@icp-sdk/core/principal';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPic } from '../support/pic.ts';

let pic: PocketIc;

beforeAll(async () => {
  const fresh = { state: { type: SubnetStateType.New } } as const;
  pic = await createPic({ nns: fresh, ii: fresh, application: [fresh] });
});
afterAll(async () => {
  await pic?.tearDown();
});

describe('an instance with NNS, II and one application subnet', () => {
  it('lists each subnet with its kind', async () => {
    const kinds = (await pic.getTopology()).map((s) => s.type).sort();
    expect(kinds).toEqual(['Application', 'II', 'NNS']);
  });

  it('puts the application subnet on the third fresh range, after NNS and II', async () => {
    expect((await pic.getDefaultEffectiveCanisterId()).toText()).toBe('tqzl2-p7777-77776-aaaaa-cai');
    const first = await pic.createCanister();
    expect(first.toText()).toBe('tqzl2-p7777-77776-aaaaa-cai');
    expect((await pic.getCanisterSubnetId(first))?.toText()).toBe(
      (await pic.getApplicationSubnets())[0].id.toText(),
    );
  });

  it('gives the II subnet Internet Identity’s mainnet id, and the NNS the governance canister’s', async () => {
    const ii = await pic.getInternetIdentitySubnet();
    const nns = await pic.getNnsSubnet();
    const iiCanister = Principal.fromText('rdmx6-jaaaa-aaaaa-aaadq-cai');
    const governance = Principal.fromText('rrkah-fqaaa-aaaaa-aaaaq-cai');
    expect((await pic.createCanister({ targetCanisterId: iiCanister })).toText()).toBe(iiCanister.toText());
    expect((await pic.getCanisterSubnetId(iiCanister))?.toText()).toBe(ii?.id.toText());
    expect((await pic.createCanister({ targetCanisterId: governance })).toText()).toBe(governance.toText());
    expect((await pic.getCanisterSubnetId(governance))?.toText()).toBe(nns?.id.toText());
  });
});
