import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  clearCompiledModuleCache,
  COMPILED_MODULE_CACHE_LIMIT,
  compileCanisterModule,
  compiledModuleCacheSize,
} from './cache.ts';
import { wasmInstantiate, wasmModuleExports } from './engine.ts';
import { azleStableTemplate, wat, withCustomSection } from './test-support.ts';
import { InvalidWasmError, invalidWasmMessage, TOOLCHAIN_ERROR_HELP } from './validate.ts';

const sha256hex = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function compileError(bytes: Uint8Array): InvalidWasmError {
  try {
    compileCanisterModule(bytes);
  } catch (e) {
    if (e instanceof InvalidWasmError) return e;
    throw e;
  }
  throw new Error('expected an InvalidWasmError');
}

const COUNTER = `(module
  (import "ic0" "msg_reply" (func $reply))
  (memory 1)
  (global $n (mut i64) (i64.const 0))
  (global $k i32 (i32.const 3))
  (table 1 funcref)
  (func $init)
  (func $start)
  (func $inc (global.set $n (i64.add (global.get $n) (i64.const 1))) (call $reply))
  (start $start)
  (export "canister_init" (func $init))
  (export "canister_post_upgrade" (func $init))
  (export "canister_global_timer" (func $init))
  (export "canister_update inc" (func $inc))
  (export "canister_query get" (func $init))
  (export "canister_composite_query cq" (func $init)))`;

beforeEach(() => clearCompiledModuleCache());

describe('compileCanisterModule', () => {
  it('describes a module: hash of the bytes as given, methods, entry points, exports', () => {
    const bytes = withCustomSection(
      wat(COUNTER),
      'icp:public candid:service',
      'service : { inc : () -> () }',
    );
    const c = compileCanisterModule(bytes);
    expect(c.hashHex).toBe(sha256hex(bytes));
    expect(Buffer.from(c.hash).toString('hex')).toBe(c.hashHex);
    expect(c.methods).toEqual({ update: ['inc'], query: ['get'], compositeQuery: ['cq'] });
    expect([
      c.hasInit,
      c.hasPreUpgrade,
      c.hasPostUpgrade,
      c.hasInspectMessage,
      c.hasHeartbeat,
      c.hasGlobalTimer,
      c.hasOnLowWasmMemory,
    ]).toEqual([true, false, true, false, false, true, false]);
    expect(c.isWasm64).toBe(false);
    expect(c.isTable64).toBe(false);
    expect(c.tableExport).toBe('table');
    expect(c.memoryExport).toBe('memory');
    expect(c.startExport).toBe('canister_start');
    expect(c.exportedGlobals).toEqual(['__icsim_global_0']);
    expect(c.ic0Imports).toEqual(['msg_reply']);
    expect(c.functionNames.get(3)).toBe('inc');
    expect(c.metadata).toEqual([
      {
        name: 'candid:service',
        visibility: 'public',
        content: new TextEncoder().encode('service : { inc : () -> () }'),
      },
    ]);
    const names = wasmModuleExports(c.module).map((e) => e.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'table',
        'memory',
        '__icsim_global_0',
        'canister_start',
        'canister_update inc',
      ]),
    );
  });

  it('compiles a module that instantiates with ic0 imports and whose globals are reachable', () => {
    const c = compileCanisterModule(wat(COUNTER));
    expect(c.counterExport).toBe('canister counter_instructions');
    expect(c.exportedGlobals).not.toContain(c.counterExport);
    let replies = 0;
    const exports = wasmInstantiate(c.module, { ic0: { msg_reply: () => void replies++ } });
    const inc = exports['canister_update inc'];
    if (typeof inc !== 'function') throw new Error('no method');
    const counter = exports['canister counter_instructions'] as { value: bigint };
    // Metered: a call with no budget traps at the function entry.
    expect(() => inc()).toThrow(/unreachable/);
    expect(counter.value).toBeLessThan(0n);
    counter.value = 1_000_000n;
    inc();
    inc();
    expect(replies).toBe(2);
    expect(counter.value).toBeLessThan(1_000_000n);
    const g = exports['__icsim_global_0'] as { value: bigint };
    expect(g.value).toBe(2n);
  });

  it('hashes gzip input as given and decodes it to the same module', () => {
    const plain = wat(COUNTER);
    const gz = new Uint8Array(gzipSync(plain));
    const a = compileCanisterModule(plain);
    const b = compileCanisterModule(gz);
    expect(b.hashHex).toBe(sha256hex(gz));
    expect(b.hashHex).not.toBe(a.hashHex);
    expect(b.info.gzipped).toBe(true);
    expect(b.methods).toEqual(a.methods);
  });

  it('returns the cached object for identical bytes and keeps at most the limit, evicting the least recently used', () => {
    const first = wat(COUNTER);
    const c1 = compileCanisterModule(first);
    expect(compileCanisterModule(Uint8Array.from(first))).toBe(c1);
    const others: Uint8Array[] = [];
    for (let i = 0; i < COMPILED_MODULE_CACHE_LIMIT; i++) {
      others.push(wat(`(module (func (export "canister_query m${i}")))`));
    }
    // Touch `first` in the middle so that it is recent when the cache fills up.
    others.slice(0, 10).forEach((b) => compileCanisterModule(b));
    expect(compileCanisterModule(first)).toBe(c1);
    others.slice(10).forEach((b) => compileCanisterModule(b));
    expect(compiledModuleCacheSize()).toBe(COMPILED_MODULE_CACHE_LIMIT);
    // `first` survived (it was used after others[0..9]); others[0] was evicted and is compiled afresh.
    expect(compileCanisterModule(first)).toBe(c1);
    const again = compileCanisterModule(others[0] ?? new Uint8Array());
    expect(again.methods.query).toEqual(['m0']);
  });

  it('compiles the Azle stable template with an exported table and global', () => {
    const c = compileCanisterModule(azleStableTemplate());
    expect(c.tableExport).toBe('table');
    expect(c.exportedGlobals).toEqual(['__icsim_global_0']);
    expect(c.methods.update).toContain('_azle_chunk');
    expect(c.functionNames.size).toBeGreaterThan(3000);
  });

  it('reports a wasm64 module with a 64-bit table', () => {
    const c = compileCanisterModule(
      wat('(module (memory i64 1) (table i64 1 funcref) (func (export "canister_update u")))'),
    );
    expect(c.isWasm64).toBe(true);
    expect(c.isTable64).toBe(true);
  });
});

describe('compileCanisterModule rejections', () => {
  it('rejects bytes that are neither Wasm nor gzip with the IC decoding error', () => {
    const err = compileError(new TextEncoder().encode('not wasm'));
    expect(err.kind).toBe('DecodingError');
    expect(invalidWasmMessage('lxzze-o7777-77777-aaaaa-cai', err)).toBe(
      "Error from Canister lxzze-o7777-77777-aaaaa-cai: Canister's Wasm module is not valid: Failed to decode wasm module: unsupported canister module format.\n" +
        TOOLCHAIN_ERROR_HELP,
    );
    expect(err.fullMessage('x')).toBe(invalidWasmMessage('x', err));
  });

  it('reports structurally broken modules through the engine check, like the IC', () => {
    const err = compileError(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 42, 0]));
    expect(err.kind).toBe('WasmtimeValidation');
    expect(err.reason).toMatch(
      /^Wasmtime failed to validate wasm module wasmtime::Module::validate\(\) failed with .*section/i,
    );
  });

  it('reports broken gzip with the IC reason', () => {
    const gz = new Uint8Array(gzipSync(wat(COUNTER)));
    // Broken in the middle, its trailer intact (a cut stream's last 4 bytes would be read as the
    // uncompressed size: ModuleTooLarge, as the IC does).
    const broken = gz.slice();
    broken.fill(0xff, 10, gz.length - 8);
    const err = compileError(broken);
    expect(err.reason).toMatch(/^Failed to decode wasm module: failed to decode compressed Wasm module: /);
  });

  it('passes validation errors through and caches nothing', () => {
    const err = compileError(wat('(module (import "env" "foo" (func)))'));
    expect(err.kind).toBe('InvalidImportSection');
    expect(compiledModuleCacheSize()).toBe(0);
  });
});
