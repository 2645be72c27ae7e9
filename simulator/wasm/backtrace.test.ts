import { describe, expect, it } from 'vitest';
import { watToWasm } from '../../fixtures/wat.ts';
import { BACKTRACE_WAT, GO_BACKTRACE } from '../../fixtures/wat/backtrace.ts';
import { compileCanisterModule } from './cache.ts';
import { decodeModule } from './decode.ts';
import { instrumentModule } from './instrument.ts';
import { leb, withCustomSection } from './test-support.ts';
import {
  canisterBacktrace,
  demangle,
  originalFunctionIndex,
  renderBacktrace,
  wasmStackFrames,
} from './backtrace.ts';

describe('demangle (rustc_demangle, alternate form)', () => {
  it('turns a legacy Rust symbol into its path without the hash', () => {
    expect(demangle('_ZN24_wasm_backtrace_canister11unreachable7inner_217h0123456789abcdefE')).toBe(
      '_wasm_backtrace_canister::unreachable::inner_2',
    );
    expect(demangle('_ZN4core9panicking9panic_fmt17h5a3b5c9d2e1f0a7bE')).toBe('core::panicking::panic_fmt');
  });

  it('resolves escapes: {{closure}}, <impl …>, references and `..`', () => {
    expect(demangle('_ZN3std9panicking11begin_panic28_$u7b$$u7b$closure$u7d$$u7d$17h0000000000000000E')).toBe(
      'std::panicking::begin_panic::{{closure}}',
    );
    expect(demangle('_ZN44_$LT$$RF$T$u20$as$u20$core..fmt..Display$GT$3fmt17h0123456789abcdefE')).toBe(
      '<&T as core::fmt::Display>::fmt',
    );
    expect(demangle('_ZN4test3foo17h0123456789abcdefE.llvm.4242')).toBe('test::foo');
  });

  it('leaves other names as they are', () => {
    for (const name of [
      'canister_update go',
      'outer',
      '$lambda',
      '_ZN3fooE',
      '_Z3foov',
      '_ZN3foo',
      '_RNvC3foo3bar',
    ])
      expect(demangle(name)).toBe(name === '_ZN3fooE' ? 'foo' : name);
  });
});

/** A `name` section payload: subsection 0 (module name), then subsection 1 (function names). */
function namePayload(functions: [number, string][], moduleName = 'm'): Uint8Array {
  const enc = new TextEncoder();
  const str = (t: string): number[] => [...leb(enc.encode(t).length), ...enc.encode(t)];
  const sub = (id: number, body: number[]): number[] => [id, ...leb(body.length), ...body];
  const fns = [...leb(functions.length), ...functions.flatMap(([i, n]) => [...leb(i), ...str(n)])];
  return new Uint8Array([...sub(0, str(moduleName)), ...sub(1, fns)]);
}

const TWO_FUNCS = '(module (func unreachable) (func (export "canister_update go") (call 0)))';

describe('the name section (function names, read once per module)', () => {
  it('reads function names after a module-name subsection', async () => {
    const bytes = withCustomSection(
      await watToWasm(TWO_FUNCS, { debugNames: false }),
      'name',
      namePayload([
        [0, '_ZN1a5inner17h0123456789abcdefE'],
        [1, 'go'],
      ]),
    );
    expect([...decodeModule(bytes).functionNames]).toEqual([
      [0, '_ZN1a5inner17h0123456789abcdefE'],
      [1, 'go'],
    ]);
  });

  it('has none when the module has no name section', async () => {
    expect(decodeModule(await watToWasm(TWO_FUNCS, { debugNames: false })).functionNames.size).toBe(0);
  });

  it('ignores a malformed one whole: the module still compiles and a trap has no backtrace', async () => {
    const good = namePayload([[0, 'inner']]);
    // Truncated: the function subsection claims more bytes than the section holds.
    const truncated = good.subarray(0, good.length - 2);
    // Invalid UTF-8 in a name.
    const badUtf8 = namePayload([[0, 'x']]).map((b, i, a) => (i === a.length - 1 ? 0xff : b));
    for (const payload of [truncated, badUtf8]) {
      const compiled = compileCanisterModule(
        withCustomSection(await watToWasm(TWO_FUNCS, { debugNames: false }), 'name', payload),
      );
      expect(compiled.functionNames.size).toBe(0);
      const e = new Error('x');
      e.stack =
        'Error: x\n    at wasm://wasm/1:wasm-function[0]:0x2b\n    at wasm://wasm/1:wasm-function[1]:0x2f';
      expect(canisterBacktrace(compiled.info, e)).toBeUndefined();
    }
  });
});

describe('the backtrace of a trap', () => {
  it('reads the Wasm frames of an error stack, innermost first, and skips host frames', () => {
    const e = new Error('x');
    // A stack already formatted by V8's default formatter.
    e.stack = [
      'Error: x',
      '    at SystemApi.trap (file:///simulator/execution/system-api.ts:10:5)',
      '    at inner (wasm://wasm/858e0432:wasm-function[12]:0x2b)',
      '    at wasm://wasm/858e0432:wasm-function[3]:0x2f',
      '    at invoke (file:///simulator/execution/executor.ts:44:20)',
    ].join('\n');
    expect(wasmStackFrames(e)).toEqual([12, 3]);
    expect(wasmStackFrames('not an error')).toEqual([]);
  });

  it('maps instrumented function indices to the original module: instrumentation moves none', async () => {
    const info = decodeModule(await watToWasm(BACKTRACE_WAT));
    const instrumented = decodeModule(instrumentModule(info).bytes);
    const count = info.numImportedFunctions + info.functions.length;
    expect(instrumented.numImportedFunctions + instrumented.functions.length).toBe(count);
    expect(originalFunctionIndex(info, 0)).toBe(0);
    expect(originalFunctionIndex(info, count - 1)).toBe(count - 1);
    // A function past the original's (one the instrumentation would add) is not the canister's.
    expect(originalFunctionIndex(info, count)).toBeUndefined();
  });

  it('names the frames of a trap in the instrumented, compiled module', async () => {
    const compiled = compileCanisterModule(await watToWasm(BACKTRACE_WAT));
    const imports = Object.fromEntries(
      WebAssembly.Module.imports(compiled.module)
        .filter((i) => i.kind === 'function')
        .map((i) => [i.name, () => {}]),
    );
    const instance = new WebAssembly.Instance(compiled.module, { ic0: imports });
    // The metering code traps at a function's entry once the budget is spent: give it one.
    (instance.exports[compiled.counterExport!] as WebAssembly.Global).value = 1_000_000n;
    const go = instance.exports['canister_update go'] as () => void;
    let thrown: unknown;
    try {
      go();
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(WebAssembly.RuntimeError);
    const frames = canisterBacktrace(compiled.info, thrown)!;
    expect(frames.map((f) => f.name)).toEqual(GO_BACKTRACE);
    expect(renderBacktrace(frames)).toBe(`Canister Backtrace:\n${GO_BACKTRACE.join('\n')}\n`);
  });

  it('has none for a module without a name section, as the replica', async () => {
    const compiled = compileCanisterModule(await watToWasm(BACKTRACE_WAT, { debugNames: false }));
    expect(compiled.functionNames.size).toBe(0);
    const e = new Error('x');
    e.stack =
      'Error: x\n    at wasm://wasm/1:wasm-function[9]:0x2b\n    at wasm://wasm/1:wasm-function[10]:0x2f';
    expect(canisterBacktrace(compiled.info, e)).toBeUndefined();
  });

  it('prints a frame without a name as the replica does', () => {
    expect(renderBacktrace([{ index: 7, name: 'f' }, { index: 3 }])).toBe(
      'Canister Backtrace:\nf\nunknown function at index 3\n',
    );
  });
});
