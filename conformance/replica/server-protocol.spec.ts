/**
 * The PocketIC REST protocol as PicJS 0.23.0 uses it, independent of any
 * canister: process contract, error model, instances, topology, time, tick.
 * Reference: docs/reference/picjs-protocol.md (§1 process, §2 errors,
 * §4.1–4.6 endpoints). Runs against icsim or `POCKET_IC_BIN`.
 *
 * Most checks use the run's shared server (`inject('PIC_URL')`). The process
 * checks spawn the binary with their own `--port-file`, and the checks that
 * depend on instance numbering use a server of this file's own, since other
 * spec files create instances on the shared one in parallel.
 */
import { PocketIc, SubnetType } from '@dfinity/pic';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_INSTANCE_CONFIG, rawCreateInstance, rawRequest } from '../support/raw.ts';
import { createPic, picUrl } from '../support/pic.ts';
import { binPath, isIcsim, spawnServer, targetName, type SpawnedServer } from '../support/target.ts';

/** PocketIC's initial time: 2021-05-06T19:17:10Z (`GENESIS`, protocol §4.4). */
const GENESIS_NS = 1_620_328_630_000_000_000n;
const GENESIS_MS = 1_620_328_630_000;
const FIRST_CANISTER = 'lxzze-o7777-77777-aaaaa-cai';
const FIRST_RANGE_END = 'x47dp-5x777-77777-p777q-cai';

/** The run's shared server. */
let url: string;
/** A server only this file uses: instance ids on it are predictable. */
let own: SpawnedServer;
let ownUrl: string;

beforeAll(async () => {
  url = picUrl();
  own = await spawnServer();
  ownUrl = own.url;
});

afterAll(async () => {
  await own?.stop();
});

/** Nanoseconds from a raw `get_time` answer, read from the JSON text so no precision is lost. */
async function rawTimeNs(instanceId: number, base: string = url): Promise<bigint> {
  const res = await rawRequest(base, 'GET', `/instances/${instanceId}/read/get_time`);
  expect(res.status).toBe(200);
  const m = /^\{\s*"nanos_since_epoch"\s*:\s*(\d+)\s*\}$/.exec(res.text);
  expect(m, res.text).not.toBeNull();
  return BigInt(m![1]!);
}

describe(`server process (${targetName})`, () => {
  it('serves HTTP on 127.0.0.1 at the port PicJS read from the port file', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await rawRequest(url, 'GET', '/status');
    expect(res.status).toBe(200);
  });

  it('exits at once, without touching it, when the port file names a running server', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'icsim-portfile-'));
    const portFile = join(dir, 'taken.port');
    writeFileSync(portFile, `${new URL(url).port}\n`);
    const child = spawn(binPath, ['--port-file', portFile], { stdio: 'ignore' });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(code).toBe(0);
    expect(readFileSync(portFile, 'utf8')).toBe(`${new URL(url).port}\n`);
  });

  it('writes "<port>\\n" once listening, exits after --ttl idle seconds and removes its port file', async () => {
    const server = await spawnServer({ ttl: 1 });
    expect(readFileSync(server.portFile, 'utf8')).toMatch(/^\d+\n$/);
    const res = await rawRequest(server.url, 'GET', '/status');
    expect(res.status).toBe(200);
    await server.exited;
    expect(existsSync(server.portFile)).toBe(false);
  });

  it('exits on SIGTERM and removes its port file', async () => {
    const server = await spawnServer();
    expect((await rawRequest(server.url, 'GET', '/status')).status).toBe(200);
    const end = await server.stop();
    // So the next start with the same port file does not read a stale port (protocol §1.4 item 7).
    if (isIcsim) expect(existsSync(server.portFile)).toBe(false);
    // Ended by the signal itself, as a process without a handler: not by Node's exit, which can
    // hang for good joining V8's compiler threads (nodejs/node#54918) and PicJS's stop() with it.
    if (isIcsim) expect(end).toBe('SIGTERM');
  });
});

describe('bad input gets a 4xx with a message, and the server keeps serving', () => {
  let id: number;
  beforeAll(async () => {
    id = await rawCreateInstance(url);
  });

  async function expectStillServing(): Promise<void> {
    expect(await rawTimeNs(id)).toBeGreaterThanOrEqual(GENESIS_NS);
  }

  function expectClientError(res: { status: number; message: string | undefined; text: string }): void {
    expect(res.status, res.text).toBeGreaterThanOrEqual(400);
    expect(res.status, res.text).toBeLessThan(500);
  }

  // axum's `Json` extractor in PocketIC; it also keeps out what a web page can send without a preflight.
  it('a JSON route refuses a text/plain body with 415 and changes nothing', async () => {
    const before = await rawTimeNs(id);
    const res = await rawRequest(
      url,
      'POST',
      `/instances/${id}/update/set_time`,
      JSON.stringify({ nanos_since_epoch: Number(before + 1_000_000_000n) }),
      { 'content-type': 'text/plain' },
    );
    expect(res.status).toBe(415);
    expect(await rawTimeNs(id)).toBe(before);
  });

  it('malformed JSON', async () => {
    const res = await rawRequest(url, 'POST', `/instances/${id}/update/set_time`, '{"nanos_since_epoch":');
    expectClientError(res);
    expect(res.message).toBeTruthy();
    await expectStillServing();
  });

  it('a missing field is named in the message', async () => {
    const res = await rawRequest(url, 'POST', `/instances/${id}/update/set_time`, '{"nanos":1}');
    expectClientError(res);
    expect(res.message).toContain('nanos_since_epoch');
    await expectStillServing();
  });

  it('a field of the wrong type', async () => {
    const res = await rawRequest(
      url,
      'POST',
      `/instances/${id}/update/set_time`,
      '{"nanos_since_epoch":"soon"}',
    );
    expectClientError(res);
    expect(res.message).toBeTruthy();
    await expectStillServing();
  });

  it('an unknown instance', async () => {
    const res = await rawRequest(url, 'GET', '/instances/4242/read/get_time');
    expect(res.status).toBe(400);
    expect(res.message).toContain('Instance not found');
    await expectStillServing();
  });

  it('an unknown route', async () => {
    const res = await rawRequest(url, 'GET', `/instances/${id}/read/no_such_endpoint`);
    expect(res.status).toBe(404);
    // PocketIC (axum) answers an empty 404; icsim explains itself so PicJS fails loudly (§2.2).
    if (isIcsim) expect(res.message).toMatch(/not found/);
    await expectStillServing();
  });

  it('an over-size body', async () => {
    // icsim caps JSON bodies at 64 MiB (413); PocketIC has no cap and fails to parse the junk (400).
    const body = new Uint8Array(64 * 1024 * 1024 + 1).fill(0x78);
    const res = await rawRequest(url, 'POST', `/instances/${id}/update/set_time`, body);
    expectClientError(res);
    expect(res.message).toBeTruthy();
    if (isIcsim) expect(res.status).toBe(413);
    await expectStillServing();
  });

  it('PicJS surfaces a server error as "PocketIC server error: …"', async () => {
    const pic = await createPic();
    try {
      await expect(pic.getCyclesBalance(await pic.getDefaultEffectiveCanisterId())).rejects.toThrow(
        /PocketIC server error/,
      );
      expect(await pic.getTime()).toBe(GENESIS_MS);
    } finally {
      await pic.tearDown();
    }
  });
});

describe('instances', () => {
  it('several instances live side by side, each with its own state', async () => {
    const [a, b] = await Promise.all([createPic(), createPic()]);
    try {
      await a.setTime(GENESIS_MS + 86_400_000);
      expect(await a.getTime()).toBe(GENESIS_MS + 86_400_000);
      expect(await b.getTime()).toBe(GENESIS_MS);
      expect((await a.getDefaultEffectiveCanisterId()).toText()).toBe(FIRST_CANISTER);
      expect((await b.getDefaultEffectiveCanisterId()).toText()).toBe(FIRST_CANISTER);
    } finally {
      await Promise.all([a.tearDown(), b.tearDown()]);
    }
  });

  it('ids are sequential; a deleted instance keeps its slot and says so', async () => {
    const first = await rawCreateInstance(ownUrl);
    const second = await rawCreateInstance(ownUrl);
    expect(second).toBe(first + 1);

    const del = await rawRequest(ownUrl, 'DELETE', `/instances/${first}`);
    expect(del.status).toBe(200);
    const list = await rawRequest(ownUrl, 'GET', '/instances');
    expect(list.status).toBe(200);
    expect((list.json as string[])[first]).toBe('Deleted');
    expect((list.json as string[])[second]).toBe('Available');

    const gone = await rawRequest(ownUrl, 'GET', `/instances/${first}/read/get_time`);
    expect(gone.status).toBe(400);
    expect(gone.message).toContain('Instance was deleted');
    expect((await rawRequest(ownUrl, 'DELETE', `/instances/${first}`)).status).toBe(200);

    expect(await rawCreateInstance(ownUrl)).toBe(second + 1);
    expect(await rawTimeNs(second, ownUrl)).toBe(GENESIS_NS);
  });

  it('tearDown deletes the instance on the server', async () => {
    const before = (await rawRequest(ownUrl, 'GET', '/instances')).json as string[];
    const pic = await PocketIc.create(ownUrl);
    const id = before.length;
    expect(((await rawRequest(ownUrl, 'GET', '/instances')).json as string[])[id]).toBe('Available');
    await pic.tearDown();
    expect(((await rawRequest(ownUrl, 'GET', '/instances')).json as string[])[id]).toBe('Deleted');
    await expect(pic.getTime()).rejects.toThrow('Instance was deleted');
  });

  it('POST /instances answers 201 {"Created":{instance_id, topology, http_gateway_info: null}}', async () => {
    const res = await rawRequest(url, 'POST', '/instances', DEFAULT_INSTANCE_CONFIG);
    expect(res.status).toBe(201);
    const created = (
      res.json as { Created: { instance_id: number; topology: unknown; http_gateway_info: unknown } }
    ).Created;
    expect(created.http_gateway_info).toBeNull();
    const topology = await rawRequest(url, 'GET', `/instances/${created.instance_id}/_/topology`);
    expect(topology.json).toEqual(created.topology);
  });

  it('a config without subnets is refused with 400 {"Error":{"message"}}', async () => {
    const body = JSON.stringify({
      subnet_config_set: { system: [], application: [], verified_application: [], cloud_engine: [] },
    });
    const res = await rawRequest(url, 'POST', '/instances', body);
    expect(res.status).toBe(400);
    expect(res.message).toContain('Bad config');
  });
});

describe('topology of a default instance', () => {
  let pic: PocketIc;
  beforeAll(async () => {
    pic = await createPic();
  });
  afterAll(async () => {
    await pic.tearDown();
  });

  it(`has the default effective canister id ${FIRST_CANISTER}`, async () => {
    expect((await pic.getDefaultEffectiveCanisterId()).toText()).toBe(FIRST_CANISTER);
  });

  it('has one application subnet owning the first canister range', async () => {
    const subnets = await pic.getTopology();
    expect(subnets).toHaveLength(1);
    const [app] = subnets;
    expect(app!.type).toBe(SubnetType.Application);
    expect(app!.canisterRanges.map((r) => [r.start.toText(), r.end.toText()])).toEqual([
      [FIRST_CANISTER, FIRST_RANGE_END],
    ]);
    expect((await pic.getApplicationSubnets()).map((s) => s.id.toText())).toEqual([app!.id.toText()]);
    expect(await pic.getNnsSubnet()).toBeUndefined();
  });
});

describe('time', () => {
  let pic: PocketIc;
  let id: number;
  beforeAll(async () => {
    const before = (await rawRequest(ownUrl, 'GET', '/instances')).json as string[];
    pic = await PocketIc.create(ownUrl);
    id = before.length;
  });
  afterAll(async () => {
    await pic.tearDown();
  });

  it('starts at PocketIC genesis, exactly', async () => {
    expect(await pic.getTime()).toBe(GENESIS_MS);
    expect(await rawTimeNs(id, ownUrl)).toBe(GENESIS_NS);
  });

  it('set_time and get_time keep nanoseconds beyond 2^53 exact', async () => {
    const ns = GENESIS_NS + 10_000_000_001n;
    const res = await rawRequest(
      ownUrl,
      'POST',
      `/instances/${id}/update/set_time`,
      `{"nanos_since_epoch":${ns}}`,
    );
    expect(res.status).toBe(200);
    expect(res.json).toBeNull();
    expect(await rawTimeNs(id, ownUrl)).toBe(ns);
  });

  it('setTime, advanceTime and setting the current time again', async () => {
    const t = GENESIS_MS + 60_000;
    await pic.setTime(t);
    expect(await pic.getTime()).toBe(t);
    await pic.advanceTime(1_500);
    expect(await pic.getTime()).toBe(t + 1_500);
    await pic.advanceTime(0);
    expect(await pic.getTime()).toBe(t + 1_500);
  });

  it('setCertifiedTime moves the time too', async () => {
    const t = (await pic.getTime()) + 5_000;
    await pic.setCertifiedTime(t);
    expect(await pic.getTime()).toBe(t);
  });

  it('setting the time into the past is an error and changes nothing', async () => {
    const now = await pic.getTime();
    await expect(pic.setTime(now - 1_000)).rejects.toThrow(/PocketIC server error: SettingTimeIntoPast/);
    expect(await pic.getTime()).toBe(now);
  });

  it('resetTime jumps to the wall clock', async () => {
    await pic.resetTime();
    expect(Math.abs((await pic.getTime()) - Date.now())).toBeLessThan(60_000);
  });
});

describe('tick', () => {
  it('executes rounds and never moves time backwards', async () => {
    const before = (await rawRequest(ownUrl, 'GET', '/instances')).json as string[];
    const pic = await PocketIc.create(ownUrl);
    const id = before.length;
    try {
      const t0 = await rawTimeNs(id, ownUrl);
      await pic.tick();
      await pic.tick(3);
      const t1 = await rawTimeNs(id, ownUrl);
      expect(t1).toBeGreaterThanOrEqual(t0);
      expect(t1 - t0).toBeLessThan(1_000_000n); // rounds bump time by nanoseconds at most
      const res = await rawRequest(ownUrl, 'POST', `/instances/${id}/update/tick`, '{}');
      expect(res.status).toBe(200);
      expect(res.json).toBeNull();
    } finally {
      await pic.tearDown();
    }
  });
});
