/**
 * From installed bytes to a compiled, instrumented `WebAssembly.Module`,
 * cached by the SHA-256 of the bytes as given (the IC's `module_hash`, which
 * `canister_status` reports, is the hash of the possibly-gzipped module).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../bytes.ts';
import { decodeModule, WasmDecodeError, type CanisterMetadata, type ModuleInfo } from './decode.ts';
import { wasmCompile, wasmCompileError } from './engine.ts';
import { instrumentModule, InstrumentationError, type GlobalExport } from './instrument.ts';
import { MeteringError } from './meter.ts';
import {
  decodingError,
  InvalidWasmError,
  moduleTooLarge,
  validateCanisterModule,
  wasmtimeValidationError,
} from './validate.ts';

/** Exported methods by kind, names without the `canister_update ` / … prefix. */
export interface CanisterMethods {
  update: string[];
  query: string[];
  compositeQuery: string[];
}

/** A validated, instrumented and compiled canister module. Immutable; shared between canisters. */
export interface CompiledModule {
  /** SHA-256 of the bytes as installed (the IC's `module_hash`). */
  hash: Uint8Array;
  /** Lower-case hex of `hash`. */
  hashHex: string;
  /** Decoded sections of the original (uncompressed, uninstrumented) module. */
  info: ModuleInfo;
  /** The compiled, instrumented module; instantiate it with the ic0 imports. */
  module: WebAssembly.Module;
  /** The instrumented bytes that `module` was compiled from. */
  instrumentedBytes: Uint8Array;
  /** Memory 0 has a 64-bit index type: `I` = i64 in the ic0 signatures. */
  isWasm64: boolean;
  /** Table 0 is 64-bit (table64): JS table indices are BigInts. */
  isTable64: boolean;
  /** Export name of table 0 (`"table"`), or null when the module has no table. */
  tableExport: string | null;
  /** Export name of memory 0 (`"memory"`), or null when the module has no memory. */
  memoryExport: string | null;
  /** `"canister_start"` if the module had a start function: call it after instantiation in the (start) context. */
  startExport: string | null;
  /** Export names of all mutable globals, in global-index order (snapshot/rollback). */
  exportedGlobals: string[];
  /** Mutable globals with their indices and export names (the instruction counter excluded). */
  globalExports: GlobalExport[];
  /** Export name of the instruction counter global (`"canister counter_instructions"`). */
  counterExport: string | null;
  /** Export names of the dirty-page byte map and callbacks table (`dirty-pages.ts`), or null without a memory. */
  bytemapExport: string | null;
  callbacksExport: string | null;
  /** Function names from the name section, for trap traces. */
  functionNames: Map<number, string>;
  /** `icp:public` / `icp:private` metadata sections. */
  metadata: CanisterMetadata[];
  methods: CanisterMethods;
  hasInit: boolean;
  hasPreUpgrade: boolean;
  hasPostUpgrade: boolean;
  hasInspectMessage: boolean;
  hasHeartbeat: boolean;
  hasGlobalTimer: boolean;
  hasOnLowWasmMemory: boolean;
  /** Names of the ic0 functions the module imports. */
  ic0Imports: string[];
}

const CACHE_LIMIT = 64;
const cache = new Map<string, CompiledModule>();

/** Maps a decoder failure to the error the IC reports for it. */
function decodeFailure(bytes: Uint8Array, err: WasmDecodeError): InvalidWasmError {
  if (err.tooLarge !== undefined) return moduleTooLarge(err.tooLarge);
  if (err.icReason !== undefined) return decodingError(err.icReason);
  // The IC runs wasmtime's validator before its own parser: report the engine's
  // message when the engine agrees that the bytes are broken, ours otherwise
  // (e.g. GC types, which V8 accepts and the IC's wasmtime configuration does not).
  return wasmtimeValidationError(wasmCompileError(bytes) ?? err.message);
}

function methodsOf(info: ModuleInfo): CanisterMethods {
  const methods: CanisterMethods = { update: [], query: [], compositeQuery: [] };
  for (const e of info.exports) {
    if (e.kind !== 'func') continue;
    if (e.name.startsWith('canister_update ')) methods.update.push(e.name.slice('canister_update '.length));
    else if (e.name.startsWith('canister_query ')) methods.query.push(e.name.slice('canister_query '.length));
    else if (e.name.startsWith('canister_composite_query '))
      methods.compositeQuery.push(e.name.slice('canister_composite_query '.length));
  }
  return methods;
}

/**
 * Decodes, validates, instruments (instruction metering, dirty-page tracking) and compiles a canister module, or returns
 * the cached result for identical bytes (LRU of {@link CACHE_LIMIT} entries).
 * Throws {@link InvalidWasmError} (IC0505, with the IC's message) for modules
 * the IC would refuse to install.
 */
export function compileCanisterModule(bytes: Uint8Array): CompiledModule {
  const hash = sha256(bytes);
  const hashHex = toHex(hash);
  const hit = cache.get(hashHex);
  if (hit !== undefined) {
    cache.delete(hashHex);
    cache.set(hashHex, hit);
    return hit;
  }

  let info: ModuleInfo;
  try {
    info = decodeModule(bytes);
  } catch (e) {
    if (e instanceof WasmDecodeError) {
      throw decodeFailure(e.moduleBytes ?? bytes, e);
    }
    throw e;
  }
  validateCanisterModule(info);

  let instrumented;
  try {
    instrumented = instrumentModule(info);
  } catch (e) {
    if (e instanceof InstrumentationError) {
      throw new InvalidWasmError(
        'InvalidExportSection',
        `Wasm module has an invalid export section. ${e.message}`,
      );
    }
    // Code the metering decoder does not know (e.g. GC instructions, which V8
    // validates and the IC's wasmtime configuration rejects).
    if (e instanceof MeteringError) throw wasmtimeValidationError(e.message);
    throw e;
  }
  const module = wasmCompile(instrumented.bytes);

  const exported = new Set(info.exports.filter((e) => e.kind === 'func').map((e) => e.name));
  const tableImport = info.imports.find((i) => i.kind === 'table');
  const table0 = tableImport?.kind === 'table' ? tableImport.table : info.tables[0];
  const compiled: CompiledModule = {
    hash,
    hashHex,
    info,
    module,
    instrumentedBytes: instrumented.bytes,
    isWasm64: info.isWasm64,
    isTable64: table0?.limits.is64 ?? false,
    tableExport: instrumented.tableExport,
    memoryExport: instrumented.memoryExport,
    startExport: instrumented.startExport,
    exportedGlobals: instrumented.exportedGlobals,
    globalExports: instrumented.globalExports,
    counterExport: instrumented.counterExport,
    bytemapExport: instrumented.bytemapExport,
    callbacksExport: instrumented.callbacksExport,
    functionNames: info.functionNames,
    metadata: info.metadata,
    methods: methodsOf(info),
    hasInit: exported.has('canister_init'),
    hasPreUpgrade: exported.has('canister_pre_upgrade'),
    hasPostUpgrade: exported.has('canister_post_upgrade'),
    hasInspectMessage: exported.has('canister_inspect_message'),
    hasHeartbeat: exported.has('canister_heartbeat'),
    hasGlobalTimer: exported.has('canister_global_timer'),
    hasOnLowWasmMemory: exported.has('canister_on_low_wasm_memory'),
    ic0Imports: info.imports.filter((i) => i.kind === 'func' && i.module === 'ic0').map((i) => i.name),
  };
  cache.set(hashHex, compiled);
  while (cache.size > CACHE_LIMIT) {
    const oldest = cache.keys().next();
    if (oldest.done) break;
    cache.delete(oldest.value);
  }
  return compiled;
}

/** Number of cached compiled modules (for tests and diagnostics). */
export function compiledModuleCacheSize(): number {
  return cache.size;
}

/** Drops all cached modules. */
export function clearCompiledModuleCache(): void {
  cache.clear();
}

export { CACHE_LIMIT as COMPILED_MODULE_CACHE_LIMIT };
