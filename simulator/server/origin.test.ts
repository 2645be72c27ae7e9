/**
 * A web page cannot drive a developer's local server: cross-origin "simple
 * requests", non-JSON bodies and DNS-rebinding host names are refused before
 * anything changes (issue: hardening, item 2).
 */
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIcsimServer, type IcsimServer } from './server.ts';
import { WorkerPool } from './worker-pool.ts';

let icsim: IcsimServer;
let port: number;

beforeAll(async () => {
  icsim = createIcsimServer({
    pool: new WorkerPool(new URL('./instance-worker.ts', import.meta.url)),
    allowedHosts: ['icsim.test'],
  });
  await new Promise<void>((r) => icsim.server.listen(0, '127.0.0.1', r));
  port = (icsim.server.address() as AddressInfo).port;
});

afterAll(() => {
  icsim?.server.close();
  icsim?.close();
});

const CONFIG = JSON.stringify({
  subnet_config_set: {
    nns: null,
    sns: null,
    ii: null,
    fiduciary: null,
    bitcoin: null,
    system: [],
    verified_application: [],
    application: [{ state_config: 'New', instruction_config: 'Production' }],
  },
});

function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const instances = async (): Promise<unknown[]> =>
  JSON.parse((await send('GET', '/instances', {})).text) as unknown[];

describe('requests a web page could send', () => {
  it('a text/plain or form body on a JSON route is 415 and creates nothing', async () => {
    const before = (await instances()).length;
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
    ]) {
      const r = await send('POST', '/instances', { 'content-type': type }, CONFIG);
      expect(r.status).toBe(415);
      expect(JSON.parse(r.text)).toEqual({
        message: 'Expected request with `Content-Type: application/json`',
      });
    }
    const none = await send('POST', '/instances', {}, CONFIG);
    expect(none.status).toBe(415);
    expect((await instances()).length).toBe(before);
  });

  it('a foreign Origin is 403 and creates nothing; a loopback one (a local dev server) is served', async () => {
    const before = (await instances()).length;
    const json = { 'content-type': 'application/json' };
    const foreign = await send('POST', '/instances', { ...json, origin: 'https://evil.example' }, CONFIG);
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.text).message).toBe(
      'cross-origin request from https://evil.example refused: the PocketIC REST API serves loopback origins only',
    );
    expect((await instances()).length).toBe(before);
    const local = await send(
      'POST',
      '/instances',
      { 'content-type': 'application/json; charset=utf-8', origin: 'http://localhost:5173' },
      CONFIG,
    );
    expect(local.status).toBe(201);
    expect((await instances()).length).toBe(before + 1);
  });

  it('a Host that is not loopback (DNS rebinding) is 403 on every route; an allowed name is served', async () => {
    const rebound = await send('GET', '/instances', { host: `attacker.example:${port}` });
    expect(rebound.status).toBe(403);
    expect(JSON.parse(rebound.text).message).toMatch(/^Host 'attacker\.example:\d+' is not allowed/);
    expect((await send('GET', '/instances/0/api/v2/status', { host: 'attacker.example' })).status).toBe(403);
    for (const host of [
      `localhost:${port}`,
      `127.0.0.1:${port}`,
      `[::1]:${port}`,
      'x.localhost',
      'icsim.test',
    ]) {
      expect((await send('GET', '/status', { host })).status).toBe(200);
    }
  });
});
