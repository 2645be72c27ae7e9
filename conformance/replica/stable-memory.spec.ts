/**
 * IC interface specification, "Canister interface (System API)" §"Stable
 * memory": stable memory is counted in 64 KiB pages, starts empty, `grow`
 * returns the previous size or -1 when the memory cannot grow that far, and
 * reads and writes beyond the current size trap. The 32-bit API (DEPRECATED)
 * still serves wasm32 modules and caps the memory at 4 GiB. PicJS's
 * `getStableMemory` / `setStableMemory` read and replace the whole memory.
 */
import type { PocketIc } from '@dfinity/pic';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watToWasm } from '../../fixtures/wat.ts';
import { stable32Wat } from '../../fixtures/wat/stable32.ts';
import { createPic } from '../support/pic.ts';
import { expectCallFailure } from '../support/reject.ts';
import { Principal, concat, installUniversal, readI64, readU64, u32, u64 } from '../support/universal.ts';

const PAGE = 65536;
let pic: PocketIc;

beforeAll(async () => {
  pic = await createPic();
});
afterAll(async () => {
  await pic?.tearDown();
});

const pattern = (n: number, seed: number): Uint8Array<ArrayBuffer> =>
  new Uint8Array(n).map((_, i) => (i * 13 + seed) & 0xff);

describe('the 64-bit API', () => {
  let canisterId: Principal;
  beforeAll(async () => {
    canisterId = await installUniversal(pic);
  });

  const grow = async (delta: bigint): Promise<bigint> =>
    readI64(await pic.updateCall({ canisterId, method: 'stable_grow', arg: u64(delta) }));
  const size = async (): Promise<bigint> =>
    readU64(await pic.queryCall({ canisterId, method: 'stable_size' }));
  const write = (offset: number, data: Uint8Array) =>
    pic.updateCall({ canisterId, method: 'stable_write', arg: concat(u64(offset), data) });
  const read = (offset: number, length: number, method = 'stable_read') =>
    method === 'stable_read'
      ? pic.queryCall({ canisterId, method, arg: concat(u64(offset), u64(length)) })
      : pic.updateCall({ canisterId, method, arg: concat(u64(offset), u64(length)) });

  it('starts empty', async () => {
    expect(await size()).toBe(0n);
    expect((await pic.getStableMemory(canisterId)).length).toBe(0);
  });

  it('grow returns the previous size in pages', async () => {
    expect(await grow(3n)).toBe(0n);
    expect(await size()).toBe(3n);
    expect(await grow(2n)).toBe(3n);
    expect(await size()).toBe(5n);
    expect(await grow(0n)).toBe(5n);
    expect((await pic.getStableMemory(canisterId)).length).toBe(5 * PAGE);
  });

  it('grow past the limit returns -1 and changes nothing', async () => {
    expect(await grow(1n << 40n)).toBe(-1n);
    expect(await grow((1n << 64n) - 1n)).toBe(-1n);
    expect(await size()).toBe(5n);
  });

  it('new pages read as zeros', async () => {
    expect(await read(4 * PAGE, 16)).toEqual(new Uint8Array(16));
  });

  it('writes are read back, across a page boundary, in queries and updates', async () => {
    const data = pattern(1000, 3);
    await write(PAGE - 500, data);
    expect(await read(PAGE - 500, 1000)).toEqual(data);
    expect(await read(PAGE - 500, 1000, 'stable_read_update')).toEqual(data);
    expect((await pic.getStableMemory(canisterId)).slice(PAGE - 500, PAGE + 500)).toEqual(data);
  });

  it('the last byte is in bounds; one past it traps with "stable memory out of bounds"', async () => {
    await write(5 * PAGE - 1, Uint8Array.of(42));
    expect(await read(5 * PAGE - 1, 1)).toEqual(Uint8Array.of(42));
    await expectCallFailure(read(5 * PAGE - 4, 8), {
      rejectCode: 'CanisterError',
      errorCode: 'CanisterTrapped',
      message: 'stable memory out of bounds',
    });
    await expectCallFailure(write(5 * PAGE - 4, pattern(8, 1)), {
      rejectCode: 'CanisterError',
      errorCode: 'CanisterTrapped',
      message: 'stable memory out of bounds',
    });
    // The failed write changed nothing.
    expect(await read(5 * PAGE - 4, 4)).toEqual(Uint8Array.of(0, 0, 0, 42));
  });
});

describe('the 32-bit API on a wasm32 module', () => {
  let canisterId: Principal;
  beforeAll(async () => {
    canisterId = await pic.createCanister();
    await pic.installCode({ canisterId, wasm: await watToWasm(stable32Wat, { memory64: false }) });
  });
  const i32 = (r: Uint8Array): number => new DataView(r.buffer, r.byteOffset, r.byteLength).getInt32(0, true);
  const grow = async (delta: number): Promise<number> =>
    i32(await pic.updateCall({ canisterId, method: 'grow', arg: u32(delta) }));
  const size = async (): Promise<number> => i32(await pic.queryCall({ canisterId, method: 'size' }));

  it('grows, writes and reads like the 64-bit API', async () => {
    expect(await size()).toBe(0);
    expect(await grow(2)).toBe(0);
    expect(await size()).toBe(2);
    const data = pattern(300, 9);
    await pic.updateCall({ canisterId, method: 'write', arg: concat(u32(PAGE - 100), data) });
    expect(
      await pic.queryCall({ canisterId, method: 'read', arg: concat(u32(PAGE - 100), u32(300)) }),
    ).toEqual(data);
  });

  it('cannot grow beyond 4 GiB (65536 pages): -1', async () => {
    expect(await grow(65535)).toBe(-1);
    expect(await size()).toBe(2);
  });

  it('traps out of bounds', async () => {
    await expectCallFailure(
      pic.queryCall({ canisterId, method: 'read', arg: concat(u32(2 * PAGE - 1), u32(2)) }),
      { rejectCode: 'CanisterError', errorCode: 'CanisterTrapped', message: 'stable memory out of bounds' },
    );
  });
});

describe('PicJS getStableMemory / setStableMemory', () => {
  it('round-trips whole pages, and the canister reads what was set', async () => {
    const canisterId = await installUniversal(pic);
    const data = pattern(2 * PAGE, 5);
    await pic.setStableMemory(canisterId, data);
    expect(await pic.getStableMemory(canisterId)).toEqual(data);
    expect(readU64(await pic.queryCall({ canisterId, method: 'stable_size' }))).toBe(2n);
    const slice = await pic.queryCall({
      canisterId,
      method: 'stable_read',
      arg: concat(u64(PAGE + 10), u64(64)),
    });
    expect(slice).toEqual(data.slice(PAGE + 10, PAGE + 74));
  });

  it('a partial page is padded with zeros to a whole page', async () => {
    const canisterId = await installUniversal(pic);
    const data = pattern(100, 1);
    await pic.setStableMemory(canisterId, data);
    const stable = await pic.getStableMemory(canisterId);
    expect(stable.length).toBe(PAGE);
    expect(stable.slice(0, 100)).toEqual(data);
    expect(stable.slice(100).every((b) => b === 0)).toBe(true);
  });
});
