/**
 * A busy instance stalls nobody else, and the server always answers
 * (docs/reference/picjs-protocol.md §2.3: PocketIC runs each instance's
 * operations on their own thread; a second operation on a busy instance gets
 * `409 {state_label, op_id}`, one that outlives the sync wait `202`, with its
 * result at `GET /read_graph/{state_label}/{op_id}`).
 *
 * Canisters: `loop` runs until the instruction limit (IC0522 after 40 B
 * instructions on an application subnet); `spin(n)` runs n iterations of a
 * small loop, then replies.
 */
import { PocketIc } from '@dfinity/pic';
import type { Principal } from '@icp-sdk/core/principal';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { watToWasm } from '../../fixtures/wat.ts';
import { createPic, picUrl } from '../support/pic.ts';
import { rawRequest } from '../support/raw.ts';
import { binPath, isIcsim, spawnServer } from '../support/target.ts';

const WAT = `(module
  (import "ic0" "msg_reply" (func $reply))
  (import "ic0" "msg_arg_data_copy" (func $arg (param i32 i32 i32)))
  (memory 1)
  (func (export "canister_update loop") (loop $l (br $l)))
  (func (export "canister_update spin") (local $n i32)
    (call $arg (i32.const 0) (i32.const 0) (i32.const 4))
    (local.set $n (i32.load (i32.const 0)))
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get $n)))
      (local.set $n (i32.sub (local.get $n) (i32.const 1)))
      (br $l)))
    (call $reply))
  (func (export "canister_update noop") (call $reply)))`;

const u32 = (n: number): Uint8Array => new Uint8Array(new Uint32Array([n]).buffer);
/** About a second of computing on icsim, well within the 40 B instruction limit. */
const SPIN = 300_000_000;

let wasm: Uint8Array;
beforeAll(async () => {
  wasm = await watToWasm(WAT);
});

async function deploy(pic: PocketIc): Promise<Principal> {
  const canisterId = await pic.createCanister();
  await pic.installCode({ canisterId, wasm });
  return canisterId;
}

describe('one instance never stalls another', () => {
  it('a tiny update on instance B completes while instance A is in a 40 B-instruction loop', async () => {
    const a = await createPic();
    const b = await createPic();
    try {
      const [loopOnA, noopOnB] = [await deploy(a), await deploy(b)];
      let aSettled = false;
      const running = a
        .updateCall({ canisterId: loopOnA, method: 'loop', arg: new Uint8Array() })
        .finally(() => (aSettled = true));
      running.catch(() => {}); // ends with IC0522, or with the instance's deletion below
      // Give A's worker time to enter the loop, then work on B.
      await new Promise((r) => setTimeout(r, 500));
      await b.updateCall({ canisterId: noopOnB, method: 'noop', arg: new Uint8Array() });
      await b.tick();
      expect(aSettled).toBe(false);
      // The server itself answers too.
      expect((await rawRequest(picUrl(), 'GET', '/status')).status).toBe(200);
    } finally {
      await b.tearDown();
      await a.tearDown();
    }
  });

  it('PicJS waits through a busy instance: a call made while another computes succeeds after it', async () => {
    const pic = await createPic();
    try {
      const canisterId = await deploy(pic);
      const order: string[] = [];
      const spin = pic
        .updateCall({ canisterId, method: 'spin', arg: u32(SPIN) })
        .then(() => order.push('spin'));
      await new Promise((r) => setTimeout(r, 200));
      const tick = pic.tick().then(() => order.push('tick'));
      const noop = pic
        .updateCall({ canisterId, method: 'noop', arg: new Uint8Array() })
        .then(() => order.push('noop'));
      // Each of them met the instance busy at some point (the spin executes in a round of `tick` or
      // of its own await); PicJS retried through the 409s instead of failing.
      await Promise.all([spin, tick, noop]);
      expect(order.sort()).toEqual(['noop', 'spin', 'tick']);
    } finally {
      await pic.tearDown();
    }
  });
});

describe('the server process stays in control', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'icsim-concurrency-'));
  });

  it('an operation still running after the sync wait answers 202, and its result comes from /read_graph', async () => {
    // A server of its own, so that instance 0 is this test's.
    const server = await spawnServer();
    try {
      const pic = await PocketIc.create(server.url);
      const canisterId = await deploy(pic);
      const submitted = await rawRequest(
        server.url,
        'POST',
        '/instances/0/update/submit_ingress_message',
        JSON.stringify({
          sender: Buffer.from([4]).toString('base64'),
          canister_id: Buffer.from(canisterId.toUint8Array()).toString('base64'),
          effective_principal: 'None',
          method: 'spin',
          payload: Buffer.from(u32(SPIN)).toString('base64'),
        }),
      );
      expect(submitted.status).toBe(200);
      const started = await rawRequest(
        server.url,
        'POST',
        '/instances/0/update/await_ingress_message',
        JSON.stringify((submitted.json as { Ok: unknown }).Ok),
        { 'content-type': 'application/json', 'processing-timeout-ms': '100' },
      );
      expect(started.status).toBe(202);
      const { state_label, op_id } = started.json as { state_label: string; op_id: string };
      expect(state_label).toMatch(/^[A-Za-z0-9_-]{22}==$/);
      // While it runs, another operation on the instance is refused as busy; the server answers.
      const busy = await rawRequest(server.url, 'GET', '/instances/0/read/get_time');
      expect(busy.status).toBe(409);
      expect(busy.json).toEqual({ state_label, op_id });
      expect((await rawRequest(server.url, 'GET', '/status')).status).toBe(200);
      let result = await rawRequest(server.url, 'GET', `/read_graph/${state_label}/${op_id}`);
      while (result.status === 404) {
        await new Promise((r) => setTimeout(r, 50));
        result = await rawRequest(server.url, 'GET', `/read_graph/${state_label}/${op_id}`);
      }
      expect(result.status).toBe(200);
      expect(result.json).toEqual({ Ok: '' });
    } finally {
      await server.stop();
    }
  });

  it('SIGTERM while a canister loops ends the server at once and removes its port file', async () => {
    const server = await spawnServer();
    const pic = await PocketIc.create(server.url);
    const canisterId = await deploy(pic);
    void pic.updateCall({ canisterId, method: 'loop', arg: new Uint8Array() }).catch(() => {});
    await new Promise((r) => setTimeout(r, 500));
    const t = performance.now();
    const exit = await server.stop();
    // The loop alone would take many seconds; the generous bound only tells "at once" from "after it".
    expect(performance.now() - t).toBeLessThan(5000);
    expect(exit === 0 || exit === 'SIGTERM').toBe(true);
    if (isIcsim) expect(existsSync(server.portFile)).toBe(false);
  });

  it('a port file whose server no longer answers is taken over (PocketIC obeys it and exits)', async () => {
    const free = createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
    const deadPort = (free.address() as { port: number }).port;
    await new Promise((r) => free.close(r));
    const portFile = join(dir, 'stale.port');
    writeFileSync(portFile, `${deadPort}\n`);
    if (!isIcsim) {
      // PocketIC's reuse mechanism trusts the file: the new process exits at once, leaving it.
      const child = spawn(binPath, ['--port-file', portFile], { stdio: 'ignore' });
      expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(0);
      expect(readFileSync(portFile, 'utf8')).toBe(`${deadPort}\n`);
      return;
    }
    const server = await spawnServer({ portFile });
    try {
      expect(readFileSync(portFile, 'utf8')).toMatch(/^\d+\n$/);
      expect(server.url).not.toContain(`:${deadPort}`);
      expect((await rawRequest(server.url, 'GET', '/status')).status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});
