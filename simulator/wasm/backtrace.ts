/**
 * Canister backtraces: the Wasm call stack at a trap, as function indices of
 * the original module and the names its `name` section gives them, the way
 * the replica builds them (dfinity/ic `rs/embedders/src/wasmtime_embedder.rs`
 * `convert_backtrace`: wasmtime's frames, innermost first, each named with
 * `rustc_demangle`'s alternate form, or no backtrace at all when no frame has
 * a name).
 *
 * V8 reports the frames of a Wasm trap (a `WebAssembly.RuntimeError`) and of
 * an error thrown by a host function (the System API's `TrapSignal`) in the
 * error's `stack`, one line per frame, `wasm-function[<index>]:0x<offset>`
 * for Wasm frames. Host (JavaScript) frames are skipped, as wasmtime shows no
 * frame for a host function.
 */
import type { ModuleInfo } from './decode.ts';

/** One frame: a function index in the original module, and its name when the name section has one. */
export interface BacktraceFrame {
  index: number;
  name?: string;
}

/**
 * Frames V8 keeps in an error's stack while a canister runs. wasmtime keeps
 * every frame; V8 keeps `Error.stackTraceLimit` (10 by default), so the
 * executor raises it to this while a message runs. A trace deeper than this
 * (a stack overflow) shows its innermost frames.
 */
export const BACKTRACE_FRAME_LIMIT = 256;

const WASM_FRAME = /wasm-function\[(\d+)\]:0x[0-9a-f]+/;

/**
 * The Wasm function indices of the frames in `thrown`'s stack, innermost
 * first (indices of the module V8 ran). V8 formats an error's stack when it
 * is first read, with `Error.prepareStackTrace` if one is set (test runners
 * and source-map tools set one that drops `wasm-function[…]`): the frames are
 * read here through V8's own `CallSite` text, whoever set a formatter.
 */
export function wasmStackFrames(thrown: unknown): number[] {
  if (!(thrown instanceof Error)) return [];
  const previous = Error.prepareStackTrace;
  let stack: unknown;
  Error.prepareStackTrace = (_error, sites) => sites.map((site) => site.toString()).join('\n');
  try {
    stack = thrown.stack;
  } finally {
    Error.prepareStackTrace = previous;
  }
  if (typeof stack !== 'string') return [];
  const frames: number[] = [];
  for (const line of stack.split('\n')) {
    const m = WASM_FRAME.exec(line);
    if (m) frames.push(Number(m[1]));
  }
  return frames;
}

/**
 * The original module's index of function `instrumented` of the instrumented
 * module, or undefined for a function the instrumentation added. Today's
 * instrumentation (`instrument.ts`) adds no imports or functions and moves
 * no index, so an index of the original module's function space maps to
 * itself; anything past it is not the canister's code.
 */
export function originalFunctionIndex(info: ModuleInfo, instrumented: number): number | undefined {
  const count = info.numImportedFunctions + info.functions.length;
  return instrumented < count ? instrumented : undefined;
}

/**
 * The backtrace of `thrown` in the canister module `info`: its Wasm frames,
 * mapped to the original module and named (demangled), innermost first; or
 * undefined when no frame has a name (no `name` section: the replica then
 * omits the backtrace). `innermost`, the index of an imported function the
 * replica runs as Wasm, adds that function's frame on top.
 */
export function canisterBacktrace(
  info: ModuleInfo,
  thrown: unknown,
  innermost?: number,
): BacktraceFrame[] | undefined {
  const indices = wasmStackFrames(thrown);
  if (innermost !== undefined) indices.unshift(innermost);
  const frames: BacktraceFrame[] = [];
  for (const i of indices) {
    const index = originalFunctionIndex(info, i);
    if (index === undefined) continue;
    const name = info.functionNames.get(index);
    frames.push(name === undefined ? { index } : { index, name: demangle(name) });
  }
  return frames.some((f) => f.name !== undefined) ? frames : undefined;
}

/**
 * The replica's `CanisterBacktrace` Display (dfinity/ic
 * `rs/interfaces/src/execution_environment/errors.rs`): a header line, then
 * one line per frame, each ending with a newline.
 */
export function renderBacktrace(frames: readonly BacktraceFrame[]): string {
  let text = 'Canister Backtrace:\n';
  for (const f of frames)
    text += f.name !== undefined ? `${f.name}\n` : `unknown function at index ${f.index}\n`;
  return text;
}

/** `$...$` escapes of Rust's legacy mangling (rustc-demangle `legacy.rs`). */
const ESCAPES: Readonly<Record<string, string>> = {
  SP: '@',
  BP: '*',
  RF: '&',
  LT: '<',
  GT: '>',
  LP: '(',
  RP: ')',
  C: ',',
};

/**
 * A Rust symbol in its demangled alternate form (`format!("{:#}",
 * rustc_demangle::try_demangle(name))`: the path without the trailing hash),
 * or `name` unchanged when it is not a legacy-mangled Rust symbol (Motoko,
 * C, export names such as `canister_update go`). Rust's v0 mangling (`_R…`,
 * opt-in with `-C symbol-mangling-version=v0`) is left as it is.
 */
export function demangle(name: string): string {
  return demangleLegacy(name) ?? name;
}

function demangleLegacy(symbol: string): string | undefined {
  // rustc-demangle drops an LLVM suffix such as `.llvm.1234`.
  const llvm = symbol.indexOf('.llvm.');
  const s = llvm >= 0 ? symbol.slice(0, llvm) : symbol;
  let inner: string;
  if (s.startsWith('_ZN')) inner = s.slice(3);
  else if (s.startsWith('ZN')) inner = s.slice(2);
  else if (s.startsWith('__ZN')) inner = s.slice(4);
  else return undefined;
  const elements: string[] = [];
  let pos = 0;
  while (pos < inner.length && inner[pos] !== 'E') {
    const digits = /^\d+/.exec(inner.slice(pos));
    if (!digits) return undefined;
    const len = Number(digits[0]);
    pos += digits[0].length;
    if (len === 0 || pos + len > inner.length) return undefined;
    elements.push(inner.slice(pos, pos + len));
    pos += len;
  }
  if (inner[pos] !== 'E' || pos !== inner.length - 1 || elements.length === 0) return undefined;
  const last = elements[elements.length - 1] ?? '';
  // `is_rust_hash`: the alternate form omits a last element `h<hex digits>`.
  if (elements.length > 1 && /^h[0-9a-fA-F]*$/.test(last)) elements.pop();
  return elements.map(unescapeElement).join('::');
}

/** One path element with its escapes resolved; an unknown escape ends the decoding and the rest is kept as it is. */
function unescapeElement(element: string): string {
  let rest = element.startsWith('_$') ? element.slice(1) : element;
  let out = '';
  while (rest.length > 0) {
    if (rest.startsWith('..')) {
      out += '::';
      rest = rest.slice(2);
    } else if (rest.startsWith('.')) {
      out += '.';
      rest = rest.slice(1);
    } else if (rest.startsWith('$')) {
      const end = rest.indexOf('$', 1);
      if (end < 0) break;
      const escape = rest.slice(1, end);
      let ch = ESCAPES[escape];
      if (ch === undefined && /^u[0-9a-f]+$/.test(escape)) {
        const code = parseInt(escape.slice(1), 16);
        // `char::from_u32`, and no control characters.
        if (
          code <= 0x10ffff &&
          !(code >= 0xd800 && code <= 0xdfff) &&
          !/\p{Cc}/u.test(String.fromCodePoint(code))
        )
          ch = String.fromCodePoint(code);
      }
      if (ch === undefined) break;
      out += ch;
      rest = rest.slice(end + 1);
    } else {
      const next = rest.search(/[.$]/);
      const end = next < 0 ? rest.length : next;
      out += rest.slice(0, end);
      rest = rest.slice(end);
    }
  }
  return out + rest;
}
