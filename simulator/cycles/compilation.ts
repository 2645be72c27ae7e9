/**
 * The instructions `install_code` is charged for besides what the canister's
 * hooks execute: compiling the module, and assembling it from the chunk store.
 *
 * Sources (dfinity/ic): `rs/config/src/embedders.rs`
 * (`DEFAULT_COST_TO_COMPILE_WASM_INSTRUCTION`: compiling one Wasm instruction
 * costs as much as executing 6 000); `rs/embedders/src/wasm_utils/instrumentation.rs`
 * (the compilation cost counts the instructions of every function body);
 * `rs/execution_environment/src/hypervisor.rs` (`create_execution_state`: a module
 * that fails to decode is charged by its size instead);
 * `rs/execution_environment/src/canister_manager/types.rs` (`instructions_to_assemble`:
 * one instruction per byte of a full chunk, for each chunk of a chunked install).
 */
import { compileCanisterModule, type CompiledModule } from '../wasm/cache.ts';
import { decodeFunctionBody } from '../wasm/meter.ts';

export const COST_TO_COMPILE_WASM_INSTRUCTION = 6_000n;
/** The chunk store's chunk size (1 MiB), charged per chunk of a chunked install. */
const CHUNK_SIZE = 1024n * 1024n;

const counts = new WeakMap<CompiledModule, bigint>();

/** Instructions charged for compiling `compiled`: 6 000 per instruction of its function bodies. */
export function compilationInstructions(compiled: CompiledModule): bigint {
  let count = counts.get(compiled);
  if (count === undefined) {
    count = BigInt(wasmInstructionCount(compiled));
    counts.set(compiled, count);
  }
  return COST_TO_COMPILE_WASM_INSTRUCTION * count;
}

/** Instructions charged for a module that did not compile: 6 000 per byte. */
export function invalidModuleInstructions(wasm: Uint8Array): bigint {
  return COST_TO_COMPILE_WASM_INSTRUCTION * BigInt(wasm.length);
}

/**
 * Whether an install of `wasm` runs (and is priced) in Wasm64 mode: the new
 * module's memory decides, and one that does not compile counts as Wasm32
 * (`wasm_execution_mode` in dfinity/ic `rs/execution_environment/src/canister_manager.rs`).
 */
export function installsWasm64(wasm: Uint8Array): boolean {
  try {
    return compileCanisterModule(wasm).isWasm64;
  } catch {
    return false;
  }
}

/** Instructions charged for assembling a module from `chunks` chunks of the chunk store. */
export function assemblyInstructions(chunks: number): bigint {
  return CHUNK_SIZE * BigInt(chunks);
}

/** The instructions (operators, `end`s included) of every function body in the code section. */
function wasmInstructionCount(compiled: CompiledModule): number {
  const info = compiled.info;
  const section = info.sections.find((s) => s.id === 10);
  if (!section) return 0;
  const bytes = info.bytes;
  let pos = section.contentStart;
  const leb = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = bytes[pos++] as number;
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
    }
  };
  let total = 0;
  const bodies = leb();
  for (let i = 0; i < bodies; i++) {
    const size = leb();
    total += decodeFunctionBody(bytes, pos, pos + size, { wasm64: info.isWasm64 }).length;
    pos += size;
  }
  return total;
}
