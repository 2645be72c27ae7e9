/**
 * One port, both protocols (`h2c.ts`): `@hadronous/pic` 0.8 opens an HTTP/2
 * session with prior knowledge (`http2.connect(url)`), every other client
 * sends HTTP/1.1, and PocketIC's hyper server answers both.
 */
import { connect } from 'node:http2';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArgs } from './cli.ts';
import { createDualServer, type DualServer } from './h2c.ts';

let dual: DualServer;
let port: number;

beforeAll(async () => {
  dual = createDualServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({
        method: req.method,
        url: req.url,
        host: req.headers.host,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => dual.server.listen(0, '127.0.0.1', resolve));
  port = (dual.server.address() as AddressInfo).port;
});
afterAll(() => {
  dual.closeAllConnections();
  dual.server.close();
});

describe('HTTP/1.1 and h2c on one port', () => {
  it('an HTTP/1.1 request reaches the listener', async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/instances' }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end('{"a":1}');
    });
    expect(JSON.parse(answer)).toEqual({
      method: 'POST',
      url: '/instances',
      host: `127.0.0.1:${port}`,
      body: '{"a":1}',
    });
  });

  it('an HTTP/2 session with prior knowledge gets the same answer, :authority as Host', async () => {
    const session = connect(`http://127.0.0.1:${port}`);
    try {
      const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = session.request({ ':path': '/instances/0/update/tick', ':method': 'POST' });
        let status = 0;
        let text = '';
        req.on('response', (h) => (status = Number(h[':status'])));
        req.setEncoding('utf8').on('data', (d: string) => (text += d));
        req.on('end', () => resolve({ status, text }));
        req.on('error', reject);
        req.end('{}');
      });
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.text)).toEqual({
        method: 'POST',
        url: '/instances/0/update/tick',
        host: `127.0.0.1:${port}`,
        body: '{}',
      });
    } finally {
      session.close();
    }
  });
});

describe('--pid (servers before v7)', () => {
  it("names the port file and server 3's ready file after the pid, in the temp dir", () => {
    const parsed = parseArgs(['--pid', '4242']);
    expect(parsed.kind).toBe('run');
    if (parsed.kind !== 'run') return;
    expect(parsed.options.portFile).toMatch(/pocket_ic_4242\.port$/);
    expect(parsed.options.readyFile).toMatch(/pocket_ic_4242\.ready$/);
    const explicit = parseArgs(['--pid', '4242', '--port-file', '/tmp/x.port']);
    expect(explicit.kind === 'run' && explicit.options.readyFile).toBe(undefined);
  });
});
