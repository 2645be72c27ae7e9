/**
 * Answers that must not depend on how much a canister stores: a large stable
 * memory gets a 4xx naming the limit from `get_stable_memory`, not a 500 from
 * a string or allocation that cannot be made.
 */
import { describe, expect, it } from 'vitest';
import { watToWasm } from '../../fixtures/wat.ts';
import { Harness } from '../testing/harness.ts';
import { InstanceEndpoint } from './instance-endpoint.ts';
import { MAX_STABLE_MEMORY_DOWNLOAD } from './instance-routes.ts';

/** Grows stable memory by the page count in its init argument (u32); pages stay sparse. */
const GROWER = `(module
  (import "ic0" "msg_arg_data_copy" (func $arg (param i32 i32 i32)))
  (import "ic0" "stable64_grow" (func $grow (param i64) (result i64)))
  (memory 1)
  (func (export "canister_init")
    (call $arg (i32.const 0) (i32.const 0) (i32.const 4))
    (drop (call $grow (i64.extend_i32_u (i32.load (i32.const 0)))))))`;

async function canisterWithStablePages(h: Harness, pages: number): Promise<string> {
  const id = h.deploy(await watToWasm(GROWER), new Uint8Array(new Uint32Array([pages]).buffer));
  return Buffer.from(id.toUint8Array()).toString('base64');
}

function getStableMemory(endpoint: InstanceEndpoint, canisterIdBase64: string) {
  const response = endpoint.handle('rest', {
    method: 'POST',
    path: '/read/get_stable_memory',
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify({ canister_id: canisterIdBase64 })),
  });
  return {
    status: response.status,
    json: JSON.parse(Buffer.from(response.body).toString('utf8')) as unknown,
  };
}

describe('POST /instances/{id}/read/get_stable_memory', () => {
  it('answers 413 naming the limit for 400 MiB of (sparse) stable memory, and still serves a small one', async () => {
    const h = new Harness();
    const endpoint = new InstanceEndpoint(h.ic);
    const big = await canisterWithStablePages(h, 6400); // 400 MiB
    const refused = getStableMemory(endpoint, big);
    expect(refused.status).toBe(413);
    expect((refused.json as { message: string }).message).toMatch(
      new RegExp(
        `is 419430400 bytes; icsim answers get_stable_memory up to ${MAX_STABLE_MEMORY_DOWNLOAD} bytes`,
      ),
    );
    const small = await canisterWithStablePages(h, 2);
    const served = getStableMemory(endpoint, small);
    expect(served.status).toBe(200);
    expect(Buffer.from((served.json as { blob: string }).blob, 'base64').length).toBe(2 * 65536);
    h.ic.delete();
  });
});
