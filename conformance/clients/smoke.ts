/**
 * The smoke spec body every PicJS release runs (one spec file per release in
 * `releases.ts`): the release starts its server the way it always does (its
 * own `PocketIcServer.start()`, which spawns `<client>/pocket-ic`, linked to
 * icsim by the family's global setup; 0.23 through `binPath`), then drives an
 * instance with several subnets, a Motoko and an Azle canister through the
 * release's own actors: queries and updates, an error and its shape, time
 * travel and a timer, an upgrade, stable memory, cycles, topology and tear
 * down. Only the release's public API is used, so what passes here is what a
 * user of that release gets.
 */
import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { IDL } from '@icp-sdk/core/candid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAzleCanister } from '../../fixtures/azle.ts';
import { compileMotoko } from '../../fixtures/motoko.ts';
import { repoRoot } from '../support/target.ts';
import type { Release } from './releases.ts';

/** A principal of whichever `@dfinity/principal` / `@icp-sdk/core` the release uses. */
interface PrincipalLike {
  toText(): string;
  toUint8Array(): Uint8Array;
}
interface SubnetLike {
  id: PrincipalLike;
  type: string;
}
type IdlFactory = IDL.InterfaceFactory;

/** The part of PicJS's `PocketIc` the smoke uses: the same in every release. */
interface PicLike {
  setupCanister(o: {
    idlFactory: IdlFactory;
    wasm: Uint8Array;
    arg?: Uint8Array;
    targetSubnetId?: PrincipalLike;
  }): Promise<{ actor: unknown; canisterId: PrincipalLike }>;
  upgradeCanister(o: { canisterId: PrincipalLike; wasm: Uint8Array; arg?: Uint8Array }): Promise<void>;
  getCanisterSubnetId(id: PrincipalLike): Promise<PrincipalLike | null>;
  getApplicationSubnets(): SubnetLike[] | Promise<SubnetLike[]>;
  getNnsSubnet(): SubnetLike | undefined | Promise<SubnetLike | undefined>;
  getTime(): Promise<number>;
  advanceTime(ms: number): Promise<void>;
  tick(times?: number): Promise<void>;
  getCyclesBalance(id: PrincipalLike): Promise<number | bigint>;
  addCycles(id: PrincipalLike, amount: number): Promise<number | bigint>;
  getStableMemory(id: PrincipalLike): Promise<Uint8Array>;
  setStableMemory(id: PrincipalLike, memory: Uint8Array): Promise<void>;
  tearDown(): Promise<void>;
}
interface ServerLike {
  getUrl(): string;
  stop(): void | Promise<void>;
}
interface ClientModule {
  PocketIc: { create(...args: unknown[]): Promise<PicLike> };
  PocketIcServer: { start(options?: object): Promise<ServerLike> };
}

/** The release's module, resolved from its own folder (with its own agent). */
function load(release: Release): ClientModule {
  return createRequire(join(release.dir, 'package.json'))(release.client) as ClientModule;
}

/** `@hadronous/pic` 0.6 counted subnets; later releases take one config per subnet. */
function subnetOptions(release: Release): object {
  if (release.version === '0.6.1' || release.version === '0.8.1') return { nns: true, application: 2 };
  const fresh = { state: { type: 'new' } };
  return { nns: fresh, application: [fresh, fresh] };
}

const counterIdl: IdlFactory = ({ IDL: I }) =>
  I.Service({
    inc: I.Func([], [I.Nat], []),
    get: I.Func([], [I.Nat], ['query']),
    fail: I.Func([], [], []),
    now: I.Func([], [I.Int], ['query']),
    schedule: I.Func([I.Nat], [I.Nat], []),
    fired: I.Func([], [I.Nat], ['query']),
    lifecycle: I.Func([], [I.Record({ upgrades: I.Nat, preUpgradeHeapCount: I.Opt(I.Nat) })], ['query']),
  });
interface Counter {
  inc(): Promise<bigint>;
  get(): Promise<bigint>;
  fail(): Promise<void>;
  now(): Promise<bigint>;
  schedule(seconds: bigint): Promise<bigint>;
  fired(): Promise<bigint>;
  lifecycle(): Promise<{ upgrades: bigint }>;
}

const basicIdl: IdlFactory = ({ IDL: I }) =>
  I.Service({
    greet: I.Func([I.Text], [I.Text], ['query']),
    put: I.Func([I.Text, I.Text], [I.Opt(I.Text)], []),
    get: I.Func([I.Text], [I.Opt(I.Text)], ['query']),
  });
interface Basic {
  greet(name: string): Promise<string>;
  put(key: string, value: string): Promise<[] | [string]>;
  get(key: string): Promise<[] | [string]>;
}

/** Registers the smoke spec for one release. */
export function smoke(release: Release): void {
  describe(`${release.client} ${release.version} (PocketIC server ${release.server}, ${release.agent})`, () => {
    const mod = load(release);
    let server: ServerLike | undefined;
    let pic: PicLike;
    let motokoWasm: Uint8Array;
    let azleWasm: Uint8Array;
    let apps: SubnetLike[];

    beforeAll(async () => {
      // Classic persistence: releases before 0.17 cannot pass the `wasm_memory_persistence`
      // upgrade option that enhanced orthogonal persistence requires.
      let azle: Uint8Array;
      [motokoWasm, { wasm: azle }] = await Promise.all([
        compileMotoko(readFileSync(join(repoRoot, 'fixtures/motoko/counter.mo'), 'utf8'), {
          persistence: 'classic',
        }),
        buildAzleCanister({ name: 'basic', main: 'fixtures/azle/basic/index.ts' }),
      ]);
      // Gzipped, as Azle and dfx ship it: the 3.5 MB module is above an application subnet's 2 MiB
      // ingress limit, and releases before 0.23 have no chunked install.
      azleWasm = new Uint8Array(gzipSync(azle));
      const options = subnetOptions(release);
      if (release.createStartsServer) {
        pic = await mod.PocketIc.create(options);
      } else {
        server = await mod.PocketIcServer.start(
          release.start === 'bin-path' ? { binPath: join(repoRoot, 'simulator/bin/icsim.js') } : {},
        );
        pic = await mod.PocketIc.create(server.getUrl(), options);
      }
    });

    afterAll(async () => {
      // The run's server (global setup) answered this release's start, so the process the release
      // spawned has already exited; `stop()` would wait for an exit that happened before.
      const child = (server as { serverProcess?: ChildProcess } | undefined)?.serverProcess;
      if (server && child && child.exitCode === null && child.signalCode === null) await server.stop();
    });

    it('several subnets: the topology names an NNS and two application subnets', async () => {
      apps = await pic.getApplicationSubnets();
      expect(apps.map((s) => s.type)).toEqual(['Application', 'Application']);
      expect((await pic.getNnsSubnet())?.type).toBe('NNS');
      expect(new Set(apps.map((s) => s.id.toText())).size).toBe(2);
    });

    it('Motoko on the second application subnet: update, query, an error, a timer, an upgrade', async () => {
      const { actor, canisterId } = await pic.setupCanister({
        idlFactory: counterIdl,
        wasm: motokoWasm,
        targetSubnetId: apps[1]!.id,
      });
      const counter = actor as Counter;
      expect((await pic.getCanisterSubnetId(canisterId))?.toText()).toBe(apps[1]!.id.toText());
      expect(await counter.inc()).toBe(1n);
      expect(await counter.inc()).toBe(2n);
      expect(await counter.get()).toBe(2n);

      // A trap rejects the call with the replica's message, in the shape the release reports it
      // (before 0.12: the `UserError` description alone; after: the `RejectResponse` fields), and
      // its state change rolls back.
      const error = await counter.fail().then(
        () => new Error('fail() replied'),
        (e: unknown) => e as Error,
      );
      if (release.errors === 'user-error')
        expect(error.message).toMatch(/^Error from Canister [a-z0-9-]+: [\s\S]*explicit trap/);
      else
        expect(error.message).toMatch(
          /^Canister call failed: Error from Canister [a-z0-9-]+: [\s\S]*explicit trap[\s\S]*\. Reject code: CanisterError\. Error code: CanisterCalledTrap\. Certified: true$/,
        );
      expect(await counter.get()).toBe(2n);

      // Time travel: the canister sees the new time; a timer fires once its time has come.
      const before = await pic.getTime();
      await counter.schedule(60n);
      await pic.advanceTime(61_000);
      await pic.tick(3);
      expect(await pic.getTime()).toBeGreaterThanOrEqual(before + 61_000);
      expect(Number((await counter.now()) / 1_000_000n)).toBeGreaterThanOrEqual(before + 61_000);
      expect(await counter.fired()).toBe(1n);

      // Upgrade: stable variables stay (classic persistence keeps them in stable memory meanwhile).
      await pic.upgradeCanister({ canisterId, wasm: motokoWasm });
      expect((await counter.lifecycle()).upgrades).toBe(1n);
      expect(await counter.get()).toBe(2n);

      // Stable memory: what is set is what is read back.
      const page = new Uint8Array(65536).map((_, i) => i % 251);
      await pic.setStableMemory(canisterId, page);
      expect((await pic.getStableMemory(canisterId)).subarray(0, 65536)).toEqual(page);

      // Cycles: a balance, and added cycles on top of it.
      const balance = Number(await pic.getCyclesBalance(canisterId));
      expect(balance).toBeGreaterThan(0);
      const added = Number(await pic.addCycles(canisterId, 1_000_000_000_000));
      expect(added - balance).toBeGreaterThanOrEqual(1_000_000_000_000 - 1_000_000);
    });

    it('Azle on the first application subnet: a stable map, updates and queries', async () => {
      const { actor, canisterId } = await pic.setupCanister({
        idlFactory: basicIdl,
        wasm: azleWasm,
        arg: new Uint8Array(IDL.encode([IDL.Text], ['Hello'])),
      });
      const basic = actor as Basic;
      expect((await pic.getCanisterSubnetId(canisterId))?.toText()).toBe(apps[0]!.id.toText());
      expect(await basic.greet('pic')).toBe('Hello, pic!');
      expect(await basic.put('k', 'v')).toEqual([]);
      expect(await basic.put('k', 'w')).toEqual(['v']);
      expect(await basic.get('k')).toEqual(['w']);
      // The map lives in stable memory, behind ic-stable-structures' memory manager header.
      expect(new TextDecoder().decode((await pic.getStableMemory(canisterId)).subarray(0, 3))).toBe('MGR');
    });

    it('tear down: the instance is gone', async () => {
      await pic.tearDown();
      await expect(pic.getTime()).rejects.toThrow();
    });
  });
}
