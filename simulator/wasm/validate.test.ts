import { describe, expect, it } from 'vitest';
import { decodeModule } from './decode.ts';
import { IC0_SIGNATURES, ic0Names, sigFor } from './ic0.ts';
import { azleStableTemplate, leb, rawModule, wat, watUnchecked, withCustomSection } from './test-support.ts';
import {
  InvalidWasmError,
  invalidWasmMessage,
  TOOLCHAIN_ERROR_HELP,
  validateCanisterModule,
} from './validate.ts';

function rejection(bytes: Uint8Array): InvalidWasmError {
  try {
    validateCanisterModule(decodeModule(bytes));
  } catch (e) {
    if (e instanceof InvalidWasmError) return e;
    throw e;
  }
  throw new Error('expected the module to be rejected');
}

const accepts = (bytes: Uint8Array): void => validateCanisterModule(decodeModule(bytes));

describe('modules the IC accepts', () => {
  it('accepts the Azle stable template', () => {
    expect(() => accepts(azleStableTemplate())).not.toThrow();
  });

  it('accepts a wasm64 module importing ic0 with I = i64', () => {
    expect(() =>
      accepts(
        wat(`(module
          (import "ic0" "msg_reply_data_append" (func (param i64 i64)))
          (import "ic0" "msg_reply" (func))
          (memory i64 1)
          (table i64 1 funcref)
          (func (export "canister_update go"))
          (func (export "canister_on_low_wasm_memory")))`),
      ),
    ).not.toThrow();
  });

  it('accepts 16 icp: sections and non-icp custom sections of any number', () => {
    let bytes = wat('(module)');
    for (let i = 0; i < 16; i++) bytes = withCustomSection(bytes, `icp:public s${i}`, 'x');
    for (let i = 0; i < 20; i++) bytes = withCustomSection(bytes, `other${i}`, 'x');
    expect(() => accepts(bytes)).not.toThrow();
  });
});

describe('engine validation (validation.rs can_compile)', () => {
  it('reports modules the engine rejects with the IC prefix and the engine message', () => {
    // (func (result i32)) with an empty body: a type error.
    const bytes = rawModule([
      [1, [1, 0x60, 0, 1, 0x7f]],
      [3, [1, 0]],
      [10, [1, 2, 0, 0x0b]],
    ]);
    const err = rejection(bytes);
    expect(err.kind).toBe('WasmtimeValidation');
    expect(err.message).toMatch(
      /^Canister's Wasm module is not valid: Wasmtime failed to validate wasm module wasmtime::Module::validate\(\) failed with Compiling function #0 failed/,
    );
    expect(err.help).toBe(TOOLCHAIN_ERROR_HELP);
  });

  it("rejects two memories with the replica's exact message (execution_test.rs toolchain_error_message)", () => {
    const err = rejection(
      watUnchecked(`(module
            (func $update)
            (memory 1)
            (memory 1)
            (export "canister_update update" (func $update)))`),
    );
    expect(invalidWasmMessage('rwlgt-iiaaa-aaaaa-aaaaa-cai', err)).toBe(
      "Error from Canister rwlgt-iiaaa-aaaaa-aaaaa-cai: Canister's Wasm module is not valid: Wasmtime " +
        'failed to validate wasm module wasmtime::Module::validate() failed with ' +
        'multiple memories (at offset 0x14).\n' +
        'If you are running this canister in a test environment (e.g., dfx), make sure the test environment is up to date. Otherwise, this is likely an error with the compiler/CDK toolchain being used to ' +
        'build the canister. Please report the error to IC devs on the forum: ' +
        'https://forum.dfinity.org and include which language/CDK was used to ' +
        'create the canister.',
    );
    expect(err.errorCode).toBe(505);
  });

  it('rejects exception-handling tags, which the IC does not enable', () => {
    const err = rejection(wat('(module (tag $e (param i32)))'));
    expect(err.kind).toBe('WasmtimeValidation');
    expect(err.reason).toMatch(/exceptions proposal not enabled/);
  });
});

describe('size limits', () => {
  it('rejects a code section over 10 MiB', () => {
    const n = 10 * 1024 * 1024;
    const body = new Array<number>(n + 2).fill(0x01); // locals count 0, n nops, end
    body[0] = 0;
    body[n + 1] = 0x0b;
    const bytes = rawModule([
      [1, [1, 0x60, 0, 0]],
      [3, [1, 0]],
      [10, [1, ...leb(body.length), ...body]],
    ]);
    const err = rejection(bytes);
    expect(err.kind).toBe('CodeSectionTooLarge');
    expect(err.reason).toBe(
      `Wasm module code section size of ${n + 2 + 1 + leb(body.length).length} exceeds the maximum allowed size of 10485760.`,
    );
    expect(err.help).toBe(
      'Try shrinking the module code section using tools like `ic-wasm` or splitting the logic across multiple canisters. See documentation: http://internetcomputer.org/docs/current/references/execution-errors#wasm-module-code-section-too-large',
    );
  });

  it('rejects an uncompressed module over 100 MiB', () => {
    const bytes = withCustomSection(wat('(module)'), 'padding', new Uint8Array(100 * 1024 * 1024));
    const err = rejection(bytes);
    expect(err.kind).toBe('ModuleTooLarge');
    expect(err.reason).toBe(
      `Wasm module size of ${bytes.length} exceeds the maximum allowed size of 104857600.`,
    );
  });

  it('rejects more than 50,000 functions', () => {
    const n = 50_001;
    const bodies: number[] = [];
    for (let i = 0; i < n; i++) bodies.push(2, 0, 0x0b);
    const bytes = rawModule([
      [1, [1, 0x60, 0, 0]],
      [3, [...leb(n), ...new Array<number>(n).fill(0)]],
      [10, [...leb(n), ...bodies]],
    ]);
    const err = rejection(bytes);
    expect(err.kind).toBe('TooManyFunctions');
    expect(err.reason).toBe(
      'Wasm module defined 50001 functions which exceeds the maximum number allowed 50000.',
    );
    expect(err.help).toBe(
      'Try spliting this canister into multiple canisters. See documentation: http://internetcomputer.org/docs/current/references/execution-errors#wasm-module-too-many-functions',
    );
  });

  it('accepts exactly 1,000 globals and rejects 1,001, with the help text in the full message', () => {
    const globals = (n: number): string =>
      Array.from({ length: n }, () => '(global i32 (i32.const 0))').join(' ');
    expect(() => accepts(wat(`(module ${globals(1000)})`))).not.toThrow();
    const err = rejection(wat(`(module ${globals(1001)})`));
    expect(invalidWasmMessage('aaaaa-aa', err)).toBe(
      "Error from Canister aaaaa-aa: Canister's Wasm module is not valid: Wasm module defined 1001 globals which exceeds the maximum number allowed 1000..\n" +
        'Try collecting multiple globals into a single structured which can be stored on the heap. See documentation: http://internetcomputer.org/docs/current/references/execution-errors#wasm-module-too-many-globals',
    );
  });

  it('rejects a global of reference type', () => {
    const err = rejection(wat('(module (global funcref (ref.null func)))'));
    expect(err.reason).toBe(
      'Wasm module has an invalid global section. Unsupported global type: Ref(funcref)',
    );
  });
});

describe('import section (validation.rs validate_import_section)', () => {
  it('rejects a function the runtime does not export', () => {
    const err = rejection(wat('(module (import "ic0" "no_such_call" (func)))'));
    expect(err.kind).toBe('InvalidImportSection');
    expect(err.reason).toBe(
      "Wasm module has an invalid import section. Module imports function 'no_such_call' from 'ic0' that is not exported by the runtime.",
    );
  });

  it('rejects imports from a module other than ic0', () => {
    expect(rejection(wat('(module (import "env" "msg_reply" (func)))')).reason).toBe(
      'Wasm module has an invalid import section. Module imports function "msg_reply" from "env", expected to be imported from one of ["ic0"] instead.',
    );
    expect(
      rejection(wat('(module (import "wasi_snapshot_preview1" "fd_close" (func (param i32) (result i32))))'))
        .reason,
    ).toBe(
      "Wasm module has an invalid import section. Module imports function 'fd_close' from 'wasi_snapshot_preview1' that is not exported by the runtime.",
    );
  });

  it('rejects wrong parameter and result types', () => {
    expect(
      rejection(wat('(module (import "ic0" "msg_reply_data_append" (func (param i64 i32))) (memory 1))'))
        .reason,
    ).toBe(
      "Wasm module has an invalid function signature. Expected input params [I32, I32] for 'msg_reply_data_append', got [I64, I32].",
    );
    expect(rejection(wat('(module (import "ic0" "time" (func (result i32))))')).reason).toBe(
      "Wasm module has an invalid function signature. Expected return type [I64] for 'time', got [I32].",
    );
  });

  it('checks I against the memory width', () => {
    expect(
      rejection(wat('(module (import "ic0" "msg_reply_data_append" (func (param i32 i32))) (memory i64 1))'))
        .reason,
    ).toBe(
      "Wasm module has an invalid function signature. Expected input params [I64, I64] for 'msg_reply_data_append', got [I32, I32].",
    );
  });

  it('rejects the legacy 32-bit-only functions in a wasm64 module and accepts them with 32-bit memory', () => {
    expect(
      rejection(wat('(module (import "ic0" "stable_size" (func (result i32))) (memory i64 1))')).reason,
    ).toBe(
      "Wasm module has an invalid import section. Module imports function 'stable_size' from 'ic0' that is not exported by the runtime.",
    );
    expect(() =>
      accepts(wat('(module (import "ic0" "stable_size" (func (result i32))) (memory 1))')),
    ).not.toThrow();
  });

  it('rejects global and tag imports, and memory/table imports not from env', () => {
    expect(rejection(wat('(module (import "env" "g" (global i32)))')).reason).toBe(
      'Wasm module has an invalid import section. Importing globals is not allowed.',
    );
    expect(rejection(wat('(module (import "env" "t" (tag (param i32))))')).reason).toBe(
      'Wasm module has an invalid import section. Importing tags is not allowed.',
    );
    expect(rejection(wat('(module (import "foo" "memory" (memory 1)))')).reason).toBe(
      'Wasm module has an invalid import section. Only memory imported from env.memory is allowed.',
    );
    expect(rejection(wat('(module (import "foo" "table" (table 1 funcref)))')).reason).toBe(
      'Wasm module has an invalid import section. Only tables imported from env.table are allowed.',
    );
    expect(() =>
      accepts(wat('(module (import "env" "memory" (memory 1)) (import "env" "table" (table 1 funcref)))')),
    ).not.toThrow();
  });
});

describe('export section (validation.rs validate_export_section)', () => {
  it('rejects reserved symbols', () => {
    expect(rejection(wat('(module (func (export "canister_start")))')).reason).toBe(
      'Wasm module has an invalid export section. Exporting reserved symbol canister_start not allowed.',
    );
    expect(
      rejection(wat('(module (global (export "canister counter_instructions") (mut i64) (i64.const 0)))'))
        .reason,
    ).toBe(
      'Wasm module has an invalid export section. Exporting reserved symbol canister counter_instructions not allowed.',
    );
    expect(rejection(wat('(module (memory (export "stable_memory") 1))')).reason).toBe(
      'Wasm module has an invalid export section. Exporting reserved symbol stable_memory not allowed.',
    );
  });

  it('rejects the same method under two call types, with the IC help text', () => {
    const err = rejection(
      wat(
        '(module (func $f) (export "canister_update get" (func $f)) (export "canister_query get" (func $f)))',
      ),
    );
    expect(err.kind).toBe('DuplicateExport');
    expect(err.reason).toBe(
      "Duplicate function 'get' exported multiple times with different call types: update, query, or composite_query.",
    );
    expect(err.help).toBe(
      'Try defining different versions of the function for each call type, e.g. `get_update`, `get_query`, etc. See documentation: http://internetcomputer.org/docs/current/references/execution-errors#wasm-module-duplicate-exports',
    );
    const cq = rejection(
      wat(
        '(module (func $f) (export "canister_composite_query x" (func $f)) (export "canister_update x" (func $f)))',
      ),
    );
    expect(cq.kind).toBe('DuplicateExport');
  });

  it('rejects unknown canister_ entry points', () => {
    expect(rejection(wat('(module (func (export "canister_foo")))')).reason).toBe(
      'Wasm module has an invalid export section. Exporting reserved function \'canister_foo\' with "canister_" prefix',
    );
    // No space after the call type: not a method export.
    expect(rejection(wat('(module (func (export "canister_querybar")))')).reason).toBe(
      'Wasm module has an invalid export section. Exporting reserved function \'canister_querybar\' with "canister_" prefix',
    );
  });

  it('rejects entry points whose type is not () -> ()', () => {
    expect(rejection(wat('(module (func (export "canister_update go") (param i32)))')).reason).toBe(
      "Wasm module has an invalid function signature. Expected input params [] for 'canister_update go', got [I32].",
    );
    expect(rejection(wat('(module (func (export "canister_init") (result i32) (i32.const 0)))')).reason).toBe(
      "Wasm module has an invalid function signature. Expected return type [] for 'canister_init', got [I32].",
    );
    // An imported function exported as an entry point is checked against its import type.
    expect(
      rejection(
        wat('(module (import "ic0" "time" (func $t (result i64))) (export "canister_heartbeat" (func $t)))'),
      ).reason,
    ).toBe(
      "Wasm module has an invalid function signature. Expected return type [] for 'canister_heartbeat', got [I64].",
    );
  });

  it('allows other exports with any type', () => {
    expect(() =>
      accepts(wat('(module (func (export "helper") (param i32) (result i64) (i64.const 1)))')),
    ).not.toThrow();
  });

  it('rejects more than 1,000 methods', () => {
    const exports = (n: number): string =>
      Array.from({ length: n }, (_, i) => `(export "canister_query m${i}" (func $f))`).join(' ');
    expect(() => accepts(wat(`(module (func $f) ${exports(1000)})`))).not.toThrow();
    const err = rejection(wat(`(module (func $f) ${exports(1001)})`));
    expect(err.kind).toBe('TooManyExports');
    expect(err.reason).toBe(
      'The number of exported functions called `canister_update <name>`, `canister_query <name>`, or `canister_composite_query <name>` is 1001 which exceeds 1000.',
    );
  });

  it('rejects method names summing to more than 20,000 bytes (validation tests: 6666 + 6667 + 6667 pass)', () => {
    const mk = (a: number, b: number, c: number): Uint8Array =>
      wat(`(module (func $f)
        (export "canister_update ${'a'.repeat(a)}" (func $f))
        (export "canister_composite_query ${'b'.repeat(b)}" (func $f))
        (export "canister_query ${'c'.repeat(c)}" (func $f)))`);
    expect(() => accepts(mk(6666, 6667, 6667))).not.toThrow();
    const err = rejection(mk(6666, 6667, 6668));
    expect(err.kind).toBe('ExportedNamesTooLong');
    expect(err.reason).toBe(
      'The sum of `<name>` lengths in exported functions called `canister_update <name>`, `canister_query <name>`, or `canister_composite_query <name>` is 20001 which exceeds the allowed limit of 20000.',
    );
  });
});

describe('data section (validation.rs validate_data_section)', () => {
  it('rejects an active segment whose offset is not an i32.const', () => {
    const err = rejection(
      watUnchecked('(module (global $g i32 (i32.const 0)) (memory 1) (data (global.get $g) "x"))'),
    );
    expect(err.reason).toBe(
      'Wasm module has an invalid data section. Invalid offset expression in data segment for 32bit memory: GlobalGet { global_index: 0 }',
    );
  });

  it('accepts constant offsets for 32- and 64-bit memories', () => {
    expect(() => accepts(wat('(module (memory 1) (data (i32.const 8) "x"))'))).not.toThrow();
    expect(() => accepts(wat('(module (memory i64 1) (data (i64.const 8) "x"))'))).not.toThrow();
  });
});

describe('custom sections (validation.rs validate_custom_section)', () => {
  it('rejects icp: names without a scope or without the space', () => {
    expect(rejection(withCustomSection(wat('(module)'), 'icp:public', 'x')).reason).toBe(
      "Wasm module has an invalid custom section. 'icp:' section names must have a space after the public/private scope",
    );
    expect(rejection(withCustomSection(wat('(module)'), 'icp:protected name', 'x')).reason).toBe(
      "Wasm module has an invalid custom section. Invalid custom section: Custom section 'icp:protected name' has no public/private scope defined.",
    );
  });

  it('rejects the same metadata name twice, even across visibilities', () => {
    let bytes = withCustomSection(wat('(module)'), 'icp:public candid:service', 'a');
    bytes = withCustomSection(bytes, 'icp:private candid:service', 'b');
    expect(rejection(bytes).reason).toBe(
      'Wasm module has an invalid custom section. Invalid custom section: name candid:service already exists',
    );
  });

  it('rejects more than 16 icp: sections', () => {
    let bytes = wat('(module)');
    for (let i = 0; i < 17; i++) bytes = withCustomSection(bytes, `icp:private s${i}`, 'x');
    const err = rejection(bytes);
    expect(err.kind).toBe('TooManyCustomSections');
    expect(err.reason).toBe(
      'Wasm module defined 17 custom sections which exceeds the maximum number allowed 16.',
    );
  });

  it('counts payload plus name against 1 MiB', () => {
    const name = 'big';
    const fits = withCustomSection(
      wat('(module)'),
      `icp:public ${name}`,
      new Uint8Array(1_048_576 - name.length),
    );
    expect(() => accepts(fits)).not.toThrow();
    const over = withCustomSection(
      wat('(module)'),
      `icp:public ${name}`,
      new Uint8Array(1_048_576 - name.length + 1),
    );
    expect(rejection(over).reason).toBe(
      'Wasm module has an invalid custom section. Invalid custom sections: total size of the custom sections exceeds the maximum allowed: size 1048577 bytes, allowed 1048576 bytes',
    );
  });
});

describe('IC0_SIGNATURES', () => {
  it('covers every import of the Azle stable template with the right type', () => {
    const info = decodeModule(azleStableTemplate());
    for (const imp of info.imports) {
      if (imp.kind !== 'func') continue;
      const sig = sigFor(imp.name, false);
      expect(sig, imp.name).toBeDefined();
      expect(info.types[imp.typeIndex], imp.name).toEqual(sig);
    }
  });

  it('has the spec entries with I substituted per memory width', () => {
    expect(sigFor('msg_arg_data_copy', false)).toEqual({ params: ['i32', 'i32', 'i32'], results: [] });
    expect(sigFor('msg_arg_data_copy', true)).toEqual({ params: ['i64', 'i64', 'i64'], results: [] });
    expect(sigFor('msg_reject_code', true)).toEqual({ params: [], results: ['i32'] });
    expect(sigFor('call_new', true)?.params).toEqual(Array(8).fill('i64'));
    expect(sigFor('cost_sign_with_ecdsa', true)).toEqual({
      params: ['i64', 'i64', 'i32', 'i64'],
      results: ['i32'],
    });
    expect(sigFor('env_var_value_copy', false)).toEqual({
      params: ['i32', 'i32', 'i32', 'i32', 'i32'],
      results: [],
    });
    expect(sigFor('mint_cycles128', true)).toEqual({ params: ['i64', 'i64', 'i64'], results: [] });
    expect(sigFor('msg_deadline', false)).toEqual({ params: [], results: ['i64'] });
    expect(sigFor('stable64_read', false)).toEqual({ params: ['i64', 'i64', 'i64'], results: [] });
  });

  it('lists the newer imports and the legacy ones only for 32-bit memory', () => {
    const newer = [
      'msg_caller_info_data_size',
      'msg_caller_info_data_copy',
      'msg_caller_info_signer_size',
      'msg_caller_info_signer_copy',
      'subnet_self_size',
      'subnet_self_copy',
      'subnet_self_node_count',
      'root_key_size',
      'root_key_copy',
      'env_var_count',
      'env_var_name_exists',
      'cost_call',
      'cost_create_canister',
      'cost_http_request',
      'cost_http_request_v2',
      'cost_vetkd_derive_key',
      'canister_liquid_cycle_balance128',
      'mint_cycles128',
    ];
    for (const n of newer) {
      expect(IC0_SIGNATURES.wasm32.has(n), n).toBe(true);
      expect(IC0_SIGNATURES.wasm64.has(n), n).toBe(true);
    }
    const legacy = [
      'msg_cycles_available',
      'msg_cycles_refunded',
      'msg_cycles_accept',
      'canister_cycle_balance',
      'call_cycles_add',
      'stable_size',
      'stable_grow',
      'stable_read',
      'stable_write',
    ];
    for (const n of legacy) {
      expect(sigFor(n, false), n).toBeDefined();
      expect(sigFor(n, true), n).toBeUndefined();
    }
    expect(sigFor('stable_read', false)).toEqual({ params: ['i32', 'i32', 'i32'], results: [] });
    expect(ic0Names(false).length - ic0Names(true).length).toBe(legacy.length);
  });

  it('accepts a module importing every ic0 function, for both widths', () => {
    for (const wasm64 of [false, true]) {
      const I = wasm64 ? 'i64' : 'i32';
      const imports = ic0Names(wasm64)
        .map((n) => {
          const s = sigFor(n, wasm64);
          if (s === undefined) throw new Error(n);
          return `(import "ic0" "${n}" (func (param ${s.params.join(' ')}) (result ${s.results.join(' ')})))`;
        })
        .join('\n');
      expect(() => accepts(wat(`(module ${imports} (memory ${I} 1))`))).not.toThrow();
    }
  });
});

describe('invalidWasmMessage', () => {
  it('appends the toolchain help to a decoding error', () => {
    const err = new InvalidWasmError(
      'DecodingError',
      'Failed to decode wasm module: unsupported canister module format',
    );
    // DecodingError is a toolchain error in errors.rs, so it carries the toolchain help.
    expect(invalidWasmMessage('x', err)).toBe(
      "Error from Canister x: Canister's Wasm module is not valid: Failed to decode wasm module: unsupported canister module format.\n" +
        TOOLCHAIN_ERROR_HELP,
    );
  });
});
