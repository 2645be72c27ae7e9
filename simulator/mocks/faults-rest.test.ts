/**
 * Fault injection over REST (`/instances/{id}/icsim/faults`), through the
 * real server and an instance worker, on a universal canister PicJS
 * installed: PicJS's calls see the faults as the real failures, and a bad
 * body is refused with 400 and arms nothing.
 */
import { PocketIc } from '@dfinity/pic';
import type { Principal } from '@icp-sdk/core/principal';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mutatedJson, params, type JsonValue } from '../../fuzz/support.ts';
import { expectCallFailure } from '../../conformance/support/reject.ts';
import * as uc from '../../conformance/support/uc.ts';
import { stringifyJson, type Json } from '../server/codec.ts';
import { createIcsimServer, type IcsimServer } from '../server/server.ts';
import { WorkerPool } from '../server/worker-pool.ts';

let icsim: IcsimServer;
let base: string;
let pic: PocketIc;
let canisterId: Principal;
/** The first instance of a fresh server is instance 0. */
const FAULTS = '/instances/0/icsim/faults';
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const b64 = (p: Principal) => Buffer.from(p.toUint8Array()).toString('base64');

function send(method: 'POST' | 'DELETE', body?: unknown): Promise<Response> {
  return fetch(`${base}${FAULTS}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : stringifyJson(body as Json),
  });
}
const hello = () => uc.call(pic, canisterId, uc.replyData('hello'));

beforeAll(async () => {
  icsim = createIcsimServer({
    pool: new WorkerPool(new URL('../server/instance-worker.ts', import.meta.url)),
  });
  await new Promise<void>((r) => icsim.server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(icsim.server.address() as { port: number }).port}`;
  pic = await PocketIc.create(base);
  canisterId = await uc.install(pic);
});

afterAll(async () => {
  await pic?.tearDown();
  icsim?.server.close();
  icsim?.close();
});

describe('POST /icsim/faults', () => {
  it('makes the next N calls reject with the code and message, then the method answers again', async () => {
    const res = await send('POST', {
      canister_id: b64(canisterId),
      method: 'update',
      fault: { kind: 'reject', reject_code: 'SysTransient', message: 'busy', times: 2 },
    });
    expect([res.status, await res.json()]).toEqual([200, null]);
    for (let i = 0; i < 2; i++) {
      await expectCallFailure(hello(), {
        rejectCode: 'SysTransient',
        errorCode: 'CanisterQueueFull',
        message: 'busy',
      });
    }
    expect(dec(await hello())).toBe('hello');
  });

  it('a trap fault reads as the canister calling ic0.trap', async () => {
    const res = await send('POST', {
      canister_id: b64(canisterId),
      method: 'update',
      fault: { kind: 'trap', message: 'boom' },
    });
    expect(res.status).toBe(200);
    const faulted = await expectCallFailure(hello(), {
      rejectCode: 'CanisterError',
      errorCode: 'CanisterCalledTrap',
    });
    expect(faulted.message).toContain(
      `Error from Canister ${canisterId.toText()}: Canister called \`ic0.trap\` with message: 'boom'`,
    );
  });

  it('a delayed call runs K rounds later', async () => {
    // The canister replies the time it runs at; rounds that do not advance the clock are 1 ns apart.
    const now = async () =>
      new DataView((await uc.call(pic, canisterId, uc.replyData(uc.i64tob(uc.getTime)))).buffer).getBigUint64(
        0,
        true,
      );
    const a = await now();
    const b = await now();
    const fault = { kind: 'delay', rounds: 2 };
    expect((await send('POST', { canister_id: b64(canisterId), method: 'update', fault })).status).toBe(200);
    const c = await now();
    expect(c - b - (b - a)).toBe(2n);
  });

  it('refuses a bad body with 400 and arms nothing', async () => {
    const bad = [
      {
        canister_id: b64(canisterId),
        method: 'update',
        fault: { kind: 'reject', reject_code: 9, message: 'x' },
      },
      { canister_id: b64(canisterId), method: 'update', fault: { kind: 'explode' } },
      { canister_id: b64(canisterId), method: 'update', fault: { kind: 'trap', message: 'x', times: 0 } },
      { canister_id: b64(canisterId), fault: { kind: 'trap', message: 'x' } },
      { canister_id: 'not base64!', method: 'update', fault: { kind: 'trap', message: 'x' } },
      // A canister that does not exist.
      { canister_id: 'AAAAAAAAAAEBAQ==', method: 'update', fault: { kind: 'trap', message: 'x' } },
    ];
    for (const body of bad) {
      const res = await send('POST', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as { message: string }).message).toBeTruthy();
    }
    expect(dec(await hello())).toBe('hello');
  });
});

describe('any body', () => {
  it('is answered below 500; a refused one arms nothing', async () => {
    // Bases name another method, so a mutation that stays valid arms nothing `hello` meets.
    const bases: JsonValue[] = [
      {
        canister_id: b64(canisterId),
        method: 'fuzzed',
        fault: { kind: 'reject', reject_code: 2, message: 'x', times: 1 },
      },
      { canister_id: b64(canisterId), method: 'fuzzed', fault: { kind: 'trap', message: 'x' } },
      { canister_id: b64(canisterId), method: 'fuzzed', fault: { kind: 'delay', rounds: 3 } },
    ];
    await fc.assert(
      fc.asyncProperty(mutatedJson(bases), async (body) => {
        const res = await send('POST', body);
        expect(res.status).toBeLessThan(500);
        if (res.status !== 200) expect(((await res.json()) as { message: string }).message).toBeTruthy();
        else expect(await res.json()).toBeNull();
        expect(dec(await hello())).toBe('hello');
      }),
      params(100),
    );
    expect((await send('DELETE')).status).toBe(200);
  });
});

describe('DELETE /icsim/faults', () => {
  it('forgets the faults not used yet', async () => {
    const fault = { kind: 'trap', message: 'boom', times: 10 };
    await send('POST', { canister_id: b64(canisterId), method: 'update', fault });
    await expectCallFailure(hello(), { rejectCode: 'CanisterError', errorCode: 'CanisterCalledTrap' });
    expect((await send('DELETE', { canister_id: b64(canisterId), method: 'update' })).status).toBe(200);
    expect(dec(await hello())).toBe('hello');
    await send('POST', { canister_id: b64(canisterId), method: 'update', fault });
    expect((await send('DELETE')).status).toBe(200);
    expect(dec(await hello())).toBe('hello');
  });
});
