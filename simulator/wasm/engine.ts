/**
 * Typed access to the engine's WebAssembly JS API.
 *
 * The DOM lib declares `WebAssembly`, but its `BufferSource` parameters take
 * only ArrayBuffer-backed views, so every `Uint8Array` the simulator holds
 * (`Uint8Array<ArrayBufferLike>`) would need a cast, and instance exports
 * come back as DOM `ExportValue`s. This file declares the few members the
 * simulator uses with its own types, so callers need neither.
 */

export interface WasmExportDescriptor {
  name: string;
  kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
}

export interface WasmImportDescriptor extends WasmExportDescriptor {
  module: string;
}

interface WasmModuleConstructor {
  new (bytes: Uint8Array): WebAssembly.Module;
  exports(module: WebAssembly.Module): WasmExportDescriptor[];
  imports(module: WebAssembly.Module): WasmImportDescriptor[];
}

interface WasmInstance {
  readonly exports: Record<string, unknown>;
}

interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: WasmModuleConstructor;
  Instance: new (
    module: WebAssembly.Module,
    imports?: Record<string, Record<string, unknown>>,
  ) => WasmInstance;
}

const api = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** `WebAssembly.validate`. */
export function wasmValidate(bytes: Uint8Array): boolean {
  return api.validate(bytes);
}

/** `new WebAssembly.Module(bytes)` (synchronous compile; throws `WebAssembly.CompileError`). */
export function wasmCompile(bytes: Uint8Array): WebAssembly.Module {
  return new api.Module(bytes);
}

/** The engine's compile error message for `bytes` (without the `WebAssembly.Module(): ` prefix), or null if they compile. */
export function wasmCompileError(bytes: Uint8Array): string | null {
  try {
    new api.Module(bytes);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message.replace(/^WebAssembly\.Module\(\): /, '') : String(e);
  }
}

/** `new WebAssembly.Instance(module, imports).exports`. */
export function wasmInstantiate(
  module: WebAssembly.Module,
  imports: Record<string, Record<string, unknown>> = {},
): Record<string, unknown> {
  return new api.Instance(module, imports).exports;
}

/** `WebAssembly.Module.exports(module)`. */
export function wasmModuleExports(module: WebAssembly.Module): WasmExportDescriptor[] {
  return api.Module.exports(module);
}

/** `WebAssembly.Module.imports(module)`. */
export function wasmModuleImports(module: WebAssembly.Module): WasmImportDescriptor[] {
  return api.Module.imports(module);
}
