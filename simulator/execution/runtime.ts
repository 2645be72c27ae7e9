/**
 * One instantiated canister module: its Wasm instance, linear memory, table
 * and globals, plus the committed copy of that state that a trap or a query
 * rolls back to.
 *
 * The heap is copied whole at commit and restored whole at rollback: V8 gives
 * no dirty-page tracking, so this costs the heap's size per persisted message.
 * Stable memory, where large data lives, is journaled by page instead
 * (`canister/stable-memory.ts`).
 *
 * The instruction counter (`canister counter_instructions`, inserted by
 * `wasm/meter.ts`) is a global too, but not part of that state: the executor
 * sets it before every execution and reads it after, trap or not.
 */
import { SystemApi, type CanisterEnv } from './system-api.ts';
import { WASM_PAGE_SIZE } from '../canister/stable-memory.ts';
import type { CompiledModule } from '../wasm/cache.ts';

type WasmFunction = (...args: (number | bigint)[]) => unknown;

export class WasmRuntime {
  readonly api: SystemApi;
  readonly compiled: CompiledModule;
  #instance: WebAssembly.Instance;
  #imports: WebAssembly.Imports;
  #committedHeap: Uint8Array;
  #globalNames: string[];
  #committedGlobals: (number | bigint)[];
  #counter: WebAssembly.Global | undefined;

  /** Instantiates `compiled` for `env`; the (start) function is not run here (the module's is exported as `canister_start`). */
  constructor(compiled: CompiledModule, env: CanisterEnv, onPrint: (text: string) => void) {
    this.compiled = compiled;
    this.api = new SystemApi(env, { bytes: () => this.heap() }, compiled.isWasm64, onPrint, {
      counter: () => (this.#counter === undefined ? undefined : (this.#counter.value as bigint)),
    });
    const ic0Names = WebAssembly.Module.imports(compiled.module)
      .filter((i) => i.module === 'ic0' && i.kind === 'function')
      .map((i) => i.name);
    this.#imports = { ic0: this.api.imports(ic0Names) } as WebAssembly.Imports;
    this.#instance = new WebAssembly.Instance(compiled.module, this.#imports);
    this.#counter = this.#counterGlobal();
    this.#globalNames = WebAssembly.Module.exports(compiled.module)
      .filter((e) => e.kind === 'global' && e.name !== compiled.counterExport)
      .map((e) => e.name)
      .filter((name) => this.#global(name) !== undefined);
    this.#committedHeap = this.heap().slice();
    this.#committedGlobals = this.#readGlobals();
  }

  /** Whether the module counts instructions. */
  get metered(): boolean {
    return this.#counter !== undefined;
  }

  /** The instruction counter: what is left of the budget (negative once exceeded); 0n without metering. */
  get instructionCounter(): bigint {
    return this.#counter === undefined ? 0n : (this.#counter.value as bigint);
  }

  set instructionCounter(value: bigint) {
    if (this.#counter !== undefined) this.#counter.value = value;
  }

  #counterGlobal(): WebAssembly.Global | undefined {
    const name = this.compiled.counterExport;
    if (name === null) return undefined;
    const g = this.#instance.exports[name];
    return g instanceof WebAssembly.Global ? g : undefined;
  }

  get memory(): WebAssembly.Memory {
    const m = this.#instance.exports['memory'];
    if (m instanceof WebAssembly.Memory) return m;
    // A module may declare no memory (the reference suite installs the empty module
    // everywhere); its heap is empty.
    this.#noMemory ??= new WebAssembly.Memory({ initial: 0, maximum: 0 });
    return this.#noMemory;
  }

  #noMemory: WebAssembly.Memory | undefined;

  heap(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }

  /** Heap size in bytes. */
  heapSize(): number {
    return this.memory.buffer.byteLength;
  }

  hasExport(name: string): boolean {
    return typeof this.#instance.exports[name] === 'function';
  }

  /** Calls an exported `() -> ()` entry point. */
  callExport(name: string): void {
    const f = this.#instance.exports[name];
    if (typeof f !== 'function') throw new Error(`no export ${name}`);
    (f as WasmFunction)();
  }

  /** Calls a callback through the table (`canister_*` callbacks are table indices). */
  callTable(index: number, env: number | bigint): boolean {
    const table = this.#instance.exports['table'];
    if (!(table instanceof WebAssembly.Table)) return false;
    let f: unknown;
    try {
      f = this.#tableGet(table, index);
    } catch {
      return false;
    }
    if (typeof f !== 'function') return false;
    (f as WasmFunction)(this.compiled.isWasm64 ? BigInt(env) : Number(env));
    return true;
  }

  /** Makes the current heap and globals the state to roll back to. */
  commit(): void {
    const heap = this.heap();
    if (heap.length === this.#committedHeap.length) this.#committedHeap.set(heap);
    else this.#committedHeap = heap.slice();
    this.#committedGlobals = this.#readGlobals();
  }

  /** Restores the committed heap and globals; a heap that grew is re-instantiated at the old size. */
  rollback(): void {
    if (this.heapSize() !== this.#committedHeap.length) {
      this.#instance = new WebAssembly.Instance(this.compiled.module, this.#imports);
      this.#counter = this.#counterGlobal();
      const missing = (this.#committedHeap.length - this.heapSize()) / WASM_PAGE_SIZE;
      if (missing > 0) this.growMemory(missing);
    }
    this.heap().set(this.#committedHeap);
    this.#globalNames.forEach((name, i) => {
      const g = this.#global(name);
      if (g) g.value = this.#committedGlobals[i];
    });
  }

  /** Grows the heap by `pages` 64 KiB pages. */
  growMemory(pages: number): void {
    try {
      this.memory.grow(pages);
    } catch (e) {
      // Memory64 memories take a bigint delta in V8's JS API.
      if (!(e instanceof TypeError)) throw e;
      (this.memory.grow as unknown as (d: bigint) => bigint)(BigInt(pages));
    }
  }

  #tableGet(table: WebAssembly.Table, index: number): unknown {
    try {
      return table.get(index);
    } catch (e) {
      if (!(e instanceof TypeError)) throw e;
      return (table.get as unknown as (i: bigint) => unknown)(BigInt(index));
    }
  }

  #global(name: string): WebAssembly.Global | undefined {
    const g = this.#instance.exports[name];
    if (!(g instanceof WebAssembly.Global)) return undefined;
    // Immutable globals never change; only mutable ones need a snapshot.
    try {
      g.value = g.value as number;
      return g;
    } catch {
      return undefined;
    }
  }

  #readGlobals(): (number | bigint)[] {
    return this.#globalNames.map((name) => this.#global(name)?.value as number | bigint);
  }
}
