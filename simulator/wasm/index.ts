/**
 * Binary-level work on a canister module before it runs: decode, validate
 * (with the IC's messages), instrument, compile and cache.
 */
export { decodeModule, functionType, WasmDecodeError } from './decode.ts';
export type {
  CanisterMetadata,
  ConstExpr,
  ConstOp,
  CustomSectionInfo,
  DataSegmentInfo,
  ExportInfo,
  ExternKind,
  FuncType,
  GlobalInfo,
  GlobalType,
  ImportInfo,
  Limits,
  ModuleInfo,
  SectionInfo,
  TableType,
  ValType,
} from './decode.ts';
export { IC0_SIGNATURES, ic0Names, sigFor } from './ic0.ts';
export type { Ic0Signature, WasmNumType } from './ic0.ts';
export {
  decodingError,
  extractCustomSectionName,
  InvalidWasmError,
  invalidWasmMessage,
  TOOLCHAIN_ERROR_HELP,
  validateCanisterModule,
  wasmtimeValidationError,
} from './validate.ts';
export type { WasmValidationErrorKind } from './validate.ts';
export { instrumentModule, InstrumentationError } from './instrument.ts';
export type { GlobalExport, InstrumentedModule, InstrumentOptions } from './instrument.ts';
export {
  appendCounterGlobal,
  decodeFunctionBody,
  INSTRUCTION_COUNTER_EXPORT,
  MeteringError,
  meterCodeSection,
} from './meter.ts';
export type { Instruction, MeteredCode, MeterOptions } from './meter.ts';
export {
  clearCompiledModuleCache,
  COMPILED_MODULE_CACHE_LIMIT,
  compileCanisterModule,
  compiledModuleCacheSize,
} from './cache.ts';
export type { CanisterMethods, CompiledModule } from './cache.ts';
export {
  wasmCompile,
  wasmCompileError,
  wasmInstantiate,
  wasmModuleExports,
  wasmModuleImports,
  wasmValidate,
} from './engine.ts';
