/**
 * One instantiated canister module: its Wasm instance, linear memory, table
 * and globals, and what a trap or a query rolls back to: the globals' values
 * at the last commit and the heap's journal of pages written since
 * (`heap-journal.ts`, fed by the instrumented code, `wasm/dirty-pages.ts`),
 * so that commit and rollback cost the pages a message wrote, not the heap.
 *
 * The instruction counter (`canister counter_instructions`, inserted by
 * `wasm/meter.ts`) is a global too, but not part of that state: the executor
 * sets it before every execution and reads it after, trap or not.
 */
import { SystemApi, type CanisterEnv } from './system-api.ts';
import { HeapJournal } from './heap-journal.ts';
import { WASM_PAGE_SIZE } from '../canister/stable-memory.ts';
import type { CompiledModule } from '../wasm/cache.ts';
import { callbackModule, SAVE_PAGE_SLOT, SAVE_RANGE_SLOT } from '../wasm/dirty-pages.ts';

type WasmFunction = (...args: (number | bigint)[]) => unknown;

/** A heap and the mutable globals, as `WasmRuntime.capture` takes them. */
export interface RuntimeState {
  heap: Uint8Array;
  globals: (number | bigint)[];
}

/** The callback modules (`wasm/dirty-pages.ts` `callbackModule`), compiled once per address type. */
const callbackModules = new Map<boolean, WebAssembly.Module>();

export class WasmRuntime {
  readonly api: SystemApi;
  readonly compiled: CompiledModule;
  #instance!: WebAssembly.Instance;
  readonly #imports: WebAssembly.Imports;
  readonly #journal: HeapJournal;
  /** The journal's callbacks as Wasm functions, for the module's callbacks table. */
  readonly #callbacks: [unknown, unknown];
  #globalNames: string[];
  #committedGlobals: (number | bigint)[];
  #counter: WebAssembly.Global | undefined;
  /** The committed globals at each instance snapshot's mark (`mark`). */
  readonly #marks = new Map<number, (number | bigint)[]>();

  /** Instantiates `compiled` for `env`; the (start) function is not run here (the module's is exported as `canister_start`). */
  constructor(compiled: CompiledModule, env: CanisterEnv, onPrint: (text: string) => void) {
    this.compiled = compiled;
    const journal = new HeapJournal(() => this.heap());
    this.#journal = journal;
    const bytes = (): Uint8Array | undefined => (this.#memory0() ? this.heap() : undefined);
    this.api = new SystemApi(env, { bytes, willWrite: journal.saveRange }, compiled.isWasm64, onPrint, {
      counter: () => (this.#counter === undefined ? undefined : (this.#counter.value as bigint)),
    });
    const ic0Names = WebAssembly.Module.imports(compiled.module)
      .filter((i) => i.module === 'ic0' && i.kind === 'function')
      .map((i) => i.name);
    this.#imports = { ic0: this.api.imports(ic0Names) } as WebAssembly.Imports;
    let callbacks = callbackModules.get(compiled.isWasm64);
    if (callbacks === undefined) {
      callbacks = new WebAssembly.Module(callbackModule(compiled.isWasm64) as Uint8Array<ArrayBuffer>);
      callbackModules.set(compiled.isWasm64, callbacks);
    }
    const host = new WebAssembly.Instance(callbacks, {
      host: { page: journal.savePage, range: journal.saveRange },
    }).exports;
    this.#callbacks = [host['page'], host['range']];
    this.#instantiate();
    this.#globalNames = WebAssembly.Module.exports(compiled.module)
      .filter((e) => e.kind === 'global' && e.name !== compiled.counterExport)
      .map((e) => e.name)
      .filter((name) => this.#global(name) !== undefined);
    journal.commit(this.heapSize());
    this.#committedGlobals = this.#readGlobals();
  }

  /** A new instance of the module (data segments applied), its callbacks table filled, its byte map attached. */
  #instantiate(): void {
    this.#instance = new WebAssembly.Instance(this.compiled.module, this.#imports);
    this.#counter = this.#counterGlobal();
    const { bytemapExport, callbacksExport, memoryExport } = this.compiled;
    if (bytemapExport === null || callbacksExport === null) {
      // Without tracking, a rollback would silently keep the message's writes.
      if (memoryExport !== null) throw new Error('the module was compiled without dirty-page tracking');
      return;
    }
    const table = this.#instance.exports[callbacksExport] as WebAssembly.Table;
    table.set(SAVE_PAGE_SLOT, this.#callbacks[0] as WebAssembly.ExportValue);
    table.set(SAVE_RANGE_SLOT, this.#callbacks[1] as WebAssembly.ExportValue);
    this.#journal.attach(
      new Uint8Array((this.#instance.exports[bytemapExport] as WebAssembly.Memory).buffer),
    );
  }

  /** Heap bytes copied for rollback since instantiation: pages saved and restored (for tests and diagnostics). */
  get heapBytesCopied(): number {
    return this.#journal.copiedBytes;
  }

  /** Heap pages (4 KiB) saved since the last commit or rollback. */
  get savedHeapPages(): number {
    return this.#journal.savedPages;
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
    const m = this.#memory0();
    if (!m) throw new Error('the module exports no memory');
    return m;
  }

  /** Memory 0, which a module may lack: the IC installs modules without memory (instrumentation.rs exports memory 0 only if there is one). */
  #memory0(): WebAssembly.Memory | undefined {
    const m = this.#instance.exports['memory'];
    return m instanceof WebAssembly.Memory ? m : undefined;
  }

  /** The heap's bytes; empty for a module without memory. */
  heap(): Uint8Array {
    const m = this.#memory0();
    return m ? new Uint8Array(m.buffer) : new Uint8Array();
  }

  /** Heap size in bytes (0 for a module without memory). */
  heapSize(): number {
    return this.#memory0()?.buffer.byteLength ?? 0;
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

  /** Makes the current heap and globals the state to roll back to: forgets the pages saved. */
  commit(): void {
    this.#journal.commit(this.heapSize());
    this.#committedGlobals = this.#readGlobals();
  }

  /**
   * Restores the committed heap and globals: writes back the pages saved. A
   * memory cannot shrink, so a heap that grew moves to a new instance at the
   * committed size, which takes the committed bytes: a full copy, paid only
   * by a rolled-back message that grew the heap.
   */
  rollback(): void {
    const heap = this.heap();
    this.#journal.restore(heap);
    const committed = this.#journal.committedBytes;
    if (heap.length !== committed) {
      this.#instantiate();
      const missing = (committed - this.heapSize()) / WASM_PAGE_SIZE;
      if (missing > 0) this.growMemory(missing);
      this.heap().set(heap.subarray(0, committed));
      this.#journal.copiedBytes += committed;
    }
    this.#globalNames.forEach((name, i) => {
      const g = this.#global(name);
      if (g) g.value = this.#committedGlobals[i];
    });
  }

  /**
   * The current heap and globals, to put back with `restore` (a composite
   * query's caller keeps its state while a query it calls runs on the
   * callee's committed state, which may be its own).
   */
  capture(): RuntimeState {
    return { heap: this.heap().slice(), globals: this.#readGlobals() };
  }

  /** Puts back a state taken by `capture`; the committed state stays what `rollback` returns to. */
  restore(state: RuntimeState): void {
    if (this.heapSize() > state.heap.length) {
      this.#instance = new WebAssembly.Instance(this.compiled.module, this.#imports);
      this.#counter = this.#counterGlobal();
    }
    const missing = (state.heap.length - this.heapSize()) / WASM_PAGE_SIZE;
    if (missing > 0) this.growMemory(missing);
    // Written from here, not by the module: the journal saves the committed pages first.
    this.#journal.saveRange(0, state.heap.length);
    this.heap().set(state.heap);
    this.#globalNames.forEach((name, i) => {
      const g = this.#global(name);
      if (g) g.value = state.globals[i];
    });
  }

  /**
   * Replaces the heap with `bytes`, grown to their size and zero past their end, as the
   * committed heap: an upgrade that keeps the Wasm memory, before any hook runs. `keep` replaces
   * the new execution state's Wasm memory, data segments included, by the old one
   * (install_code.rs `replace_execution_state_and_allocations`); a module declaring more pages
   * than the old heap had reads zeros there (the kept page map has no pages past its end).
   */
  replaceHeap(bytes: Uint8Array): void {
    // Under an instance snapshot, the pages written here keep their pre-images like a message's.
    if (this.#journal.marked) this.#journal.saveRange(0, this.heapSize());
    const pages = (bytes.length - this.heapSize()) / WASM_PAGE_SIZE;
    if (pages > 0) this.growMemory(pages);
    const heap = this.heap();
    heap.set(bytes);
    heap.fill(0, bytes.length);
    this.#journal.commit(this.heapSize());
  }

  /** The value of the mutable global exported as `name` (canister snapshots read them by name). */
  globalValue(name: string): number | bigint | undefined {
    return this.#global(name)?.value as number | bigint | undefined;
  }

  /**
   * Sets the mutable global exported as `name` and makes it part of the
   * committed state: loading a snapshot restores the globals before any message runs.
   */
  setGlobalValue(name: string, value: number | bigint): void {
    const g = this.#global(name);
    if (!g) return;
    g.value = value;
    this.#committedGlobals = this.#readGlobals();
  }

  /**
   * Marks the committed heap and globals for the instance snapshot `id`
   * (`snapshot/instance-snapshot.ts`): from then on, a commit keeps the
   * pre-images of the pages it changes for the first time.
   */
  mark(id: number): void {
    this.#journal.mark(id);
    this.#marks.set(id, this.#committedGlobals);
  }

  /**
   * Puts back the heap and globals of `mark(id)` as the committed state: costs
   * the pages written since, plus a copy of the heap when it grew since (a
   * memory cannot shrink, so it moves to a new instance as in `rollback`).
   */
  revertTo(id: number): void {
    const globals = this.#marks.get(id);
    if (!globals) throw new Error(`runtime has no mark ${id}`);
    const heap = this.heap();
    const bytes = this.#journal.revertTo(id, heap);
    if (heap.length !== bytes) {
      this.#instantiate();
      const missing = (bytes - this.heapSize()) / WASM_PAGE_SIZE;
      if (missing > 0) this.growMemory(missing);
      this.heap().set(heap.subarray(0, bytes));
      this.#journal.copiedBytes += bytes;
    }
    for (const later of this.#marks.keys()) if (later > id) this.#marks.delete(later);
    this.#committedGlobals = globals;
    this.#globalNames.forEach((name, i) => {
      const g = this.#global(name);
      if (g) g.value = globals[i];
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
