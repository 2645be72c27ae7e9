/**
 * The reference suite's "WebAssembly module validation" test modules, by name
 * (`testWasm('too_many_exports')`), built the way its generator builds them
 * (dfinity/ic `rs/tests/research/spec_compliance` test-data generator:
 * `base()` + exports + `end()` as WAT, custom-section modules as bytes).
 * Each module is built once per process.
 */
import { uleb } from './wasm.ts';
import { watToWasm } from '../../fixtures/wat.ts';

/** The generator's `base()`: ic0 imports and the functions the exports point at. */
const BASE = `(module
    (import "ic0" "call_new"
        (func $ic0_call_new
            (param i32 i32)
            (param $method_name_src i32)    (param $method_name_len i32)
            (param $reply_fun i32)          (param $reply_env i32)
            (param $reject_fun i32)         (param $reject_env i32)
        ))
    (import "ic0" "call_data_append" (func $ic0_call_data_append (param $src i32) (param $size i32)))
    (import "ic0" "call_cycles_add" (func $ic0_call_cycles_add (param $amount i64)))
    (import "ic0" "call_perform" (func $ic0_call_perform (result i32)))
    (import "ic0" "msg_reply_data_append"
        (func $msg_reply_data_append (param i32 i32)))
    (import "ic0" "msg_reply" (func $msg_reply))
    (func $reta (result i32)
        (return (i32.const 42)))
    (func $retb (param $src i32))
    (func $inc
        (i32.store
            (i32.const 0)
            (i32.add (i32.load (i32.const 0)) (i32.const 4))))
    (func $read
        (call $msg_reply_data_append
            (i32.const 0)
            (i32.const 4))
        (call $msg_reply))
`;
const END = `(memory $memory 1)
)`;

const exportFn = (name: string, what: string) => `    (export "${name}" (func $${what}))\n`;

const baseEnd = (inner: string[]) => BASE + inner.join('') + END;
const plainEnd = (inner: string[]) => '(module\n' + inner.join('') + END;

function addExports(n: number): string[] {
  return Array.from({ length: n }, (_, i) =>
    exportFn(`canister_${['update', 'query', 'composite_query'][i % 3]} m${i}`, 'read'),
  );
}
function addLongExportedFunctionNames(n: number): string[] {
  const a = Math.floor(n / 3);
  const b = Math.floor((n - a) / 2);
  const c = n - a - b;
  return [
    exportFn(`canister_update ${'a'.repeat(a)}`, 'read'),
    exportFn(`canister_update ${'b'.repeat(b)}`, 'read'),
    exportFn(`canister_update ${'c'.repeat(c)}`, 'read'),
  ];
}
const addFunctions = (n: number) => Array.from({ length: n }, (_, i) => `    (func $m${i})\n`);
const addGlobals = (n: number) => Array.from({ length: n }, (_, i) => `    (global i32 (i32.const ${i}))\n`);

const enc = (s: string) => new TextEncoder().encode(s);

/** The generator's `with_custom_sections`: an otherwise empty module with these custom sections. */
function withCustomSections(sections: [Uint8Array, Uint8Array][]): Uint8Array<ArrayBuffer> {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  for (const [name, content] of sections) {
    const nameLen = uleb(name.length);
    out.push(0x00, ...uleb(nameLen.length + name.length + content.length), ...nameLen);
    for (const b of name) out.push(b);
    for (const b of content) out.push(b);
  }
  return Uint8Array.from(out);
}
function manyCustomSections(n: number): [Uint8Array, Uint8Array][] {
  const scope = (i: number) => (i % 2 === 0 ? 'public' : 'private');
  return [
    ...Array.from({ length: n }, (_, i): [Uint8Array, Uint8Array] => [
      enc(`icp:${scope(i)} c${i}`),
      enc(`x${i}`),
    ]),
    // Sections without the `icp:` prefix do not count.
    ...Array.from({ length: 16 }, (_, i): [Uint8Array, Uint8Array] => [
      enc(`ic:${scope(i)} c${i}`),
      enc(`x${i}`),
    ]),
  ];
}
function largeCustomSections(n: number): [Uint8Array, Uint8Array][] {
  n -= 2; // the metadata names "x" and "y" count too
  const a = Math.floor(n / 2);
  return [
    [enc('icp:private x'), new Uint8Array(a).fill(0x61)],
    [enc('icp:public y'), new Uint8Array(n - a).fill(0x62)],
  ];
}

const SIGNATURE_CASES = [
  'canister_init',
  'canister_inspect_message',
  'canister_heartbeat',
  'canister_global_timer',
  'canister_on_low_wasm_memory',
  'canister_update upd',
  'canister_query que',
  'canister_composite_query cq',
  'canister_pre_upgrade',
  'canister_post_upgrade',
];

type Source = { wat: string } | { bytes: Uint8Array<ArrayBuffer> };

function source(name: string): Source {
  for (const fun of ['reta', 'retb']) {
    for (const method of SIGNATURE_CASES) {
      if (name === `invalid_${method.replaceAll(' ', '_')}_${fun}`) {
        return { wat: baseEnd([exportFn(method, fun)]) };
      }
    }
  }
  switch (name) {
    case 'valid_import':
      return { wat: `(module (import "ic0" "call_perform" (func $ic0_call_perform (result i32))))` };
    case 'invalid_import':
      return { wat: `(module (import "ic0" "my_call_perform" (func $ic0_call_perform (result i32))))` };
    case 'start':
      return { wat: baseEnd(['    (start $inc)\n', exportFn('canister_query read', 'read')]) };
    case 'no_start':
      return { wat: baseEnd([exportFn('canister_query read', 'read')]) };
    case 'name_clash_update_query':
      return {
        wat: baseEnd([exportFn('canister_update read', 'read'), exportFn('canister_query read', 'read')]),
      };
    case 'name_clash_update_composite_query':
      return {
        wat: baseEnd([
          exportFn('canister_update read', 'read'),
          exportFn('canister_composite_query read', 'read'),
        ]),
      };
    case 'name_clash_query_composite_query':
      return {
        wat: baseEnd([
          exportFn('canister_query read', 'read'),
          exportFn('canister_composite_query read', 'read'),
        ]),
      };
    case 'invalid_canister_export':
      return { wat: baseEnd([exportFn('canister_callback read', 'read')]) };
    case 'duplicate_custom_section':
      return {
        bytes: withCustomSections([
          [enc('icp:public x'), enc('a')],
          [enc('icp:private x'), enc('b')],
        ]),
      };
    case 'invalid_custom_section':
      return { bytes: withCustomSections([[enc('icp:mine x'), enc('y')]]) };
    // base() already defines 4 functions (imports excluded).
    case 'many_functions':
      return { wat: baseEnd(addFunctions(50_000 - 4)) };
    case 'too_many_functions':
      return { wat: baseEnd(addFunctions(50_000 - 4 + 1)) };
    case 'many_globals':
      return { wat: plainEnd(addGlobals(1000)) };
    case 'too_many_globals':
      return { wat: plainEnd(addGlobals(1001)) };
    case 'many_custom_sections':
      return { bytes: withCustomSections(manyCustomSections(16)) };
    case 'too_many_custom_sections':
      return { bytes: withCustomSections(manyCustomSections(17)) };
    case 'many_exports':
      return { wat: baseEnd(addExports(1000)) };
    case 'too_many_exports':
      return { wat: baseEnd(addExports(1001)) };
    case 'long_exported_function_names':
      return { wat: baseEnd(addLongExportedFunctionNames(20_000)) };
    case 'too_long_exported_function_names':
      return { wat: baseEnd(addLongExportedFunctionNames(20_001)) };
    case 'large_custom_sections':
      return { bytes: withCustomSections(largeCustomSections(1 << 20)) };
    case 'too_large_custom_sections':
      return { bytes: withCustomSections(largeCustomSections((1 << 20) + 1)) };
    case 'invalid_empty_query_name':
      return { wat: baseEnd([exportFn('canister_query', 'read')]) };
    case 'empty_query_name':
      return { wat: baseEnd([exportFn('canister_query ', 'read')]) };
    case 'query_name_with_spaces':
      return { wat: baseEnd([exportFn('canister_query name with spaces', 'read')]) };
    case 'invalid_empty_custom_section_name':
      return { bytes: withCustomSections([[enc('icp:public'), enc('a')]]) };
    case 'empty_custom_section_name':
      return { bytes: withCustomSections([[enc('icp:public '), enc('a')]]) };
    case 'custom_section_name_with_spaces':
      return { bytes: withCustomSections([[enc('icp:public name with spaces'), enc('a')]]) };
    default:
      throw new Error(`no reference test module named ${name}`);
  }
}

const cache = new Map<string, Promise<Uint8Array<ArrayBuffer>>>();

/** The reference's `getTestWasm(name ++ ".wasm")`. */
export function testWasm(name: string): Promise<Uint8Array<ArrayBuffer>> {
  let wasm = cache.get(name);
  if (wasm === undefined) {
    const src = source(name);
    wasm =
      'bytes' in src
        ? Promise.resolve(src.bytes)
        : watToWasm(src.wat, { memory64: false, debugNames: false, filename: `${name}.wat` });
    cache.set(name, wasm);
  }
  return wasm;
}
