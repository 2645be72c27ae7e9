/**
 * The IC's install-time module validation, with the IC's messages.
 *
 * Main source: dfinity/ic `rs/embedders/src/wasm_utils/validation.rs`
 * (`validate_wasm_binary` and the `validate_*` functions it calls, in that
 * order). Message texts: dfinity/ic `rs/types/wasm_types/src/errors.rs`
 * (`WasmValidationError` Display and its `AsErrorHelp`), limits:
 * dfinity/ic `rs/config/src/embedders.rs`. The replica wraps the error as
 * `HypervisorError::InvalidWasm` (dfinity/ic
 * `rs/interfaces/src/execution_environment/errors.rs`):
 * "Canister's Wasm module is not valid: <error>", and `into_user_error`
 * renders "Error from Canister <id>: <that>" + ".\n<help>" when there is help
 * text, with error code IC0505 (CanisterInvalidWasm).
 *
 * Not reproduced: the per-function complexity / size limits and the
 * unsupported table instructions (`validate_code_section`, needs function
 * bodies decoded), and the wasm64 maximum-memory check
 * (`validate_wasm_memory_size`, whose message text was not found).
 */
import { ErrorCode } from '../errors.ts';
import {
  functionType,
  WASM_MAX_SIZE,
  type ConstOp,
  type FuncType,
  type ModuleInfo,
  type ValType,
} from './decode.ts';
import { wasmCompileError, wasmValidate } from './engine.ts';
import { sigFor } from './ic0.ts';

export { IC0_SIGNATURES, sigFor } from './ic0.ts';

// dfinity/ic rs/config/src/embedders.rs
export const MAX_GLOBALS = 1000;
export const MAX_FUNCTIONS = 50_000;
export const MAX_CUSTOM_SECTIONS = 16;
export const MAX_CUSTOM_SECTIONS_SIZE = 1_048_576;
export const MAX_NUMBER_EXPORTED_FUNCTIONS = 1000;
export const MAX_SUM_EXPORTED_FUNCTION_NAME_LENGTHS = 20_000;
/** rs/embedders/src/wasm_utils/validation.rs `MAX_CODE_SECTION_SIZE_IN_BYTES`. */
export const MAX_CODE_SECTION_SIZE_IN_BYTES = 10 * 1024 * 1024;

/**
 * Symbols a canister may not export (validation.rs `RESERVED_SYMBOLS`; the
 * names of the constants come from instrumentation.rs and
 * wasmtime_embedder.rs).
 */
export const RESERVED_SYMBOLS: readonly string[] = [
  'canister counter_instructions',
  'canister_start',
  'canister counter_dirty_pages',
  'canister counter_accessed_pages',
  'stable_memory',
  'stable_bytemap_memory',
];

/** System entry points a canister may export (validation.rs `valid_system_functions`, plus the newer low-memory hook). */
export const SYSTEM_ENTRY_POINTS: readonly string[] = [
  'canister_init',
  'canister_pre_upgrade',
  'canister_post_upgrade',
  'canister_inspect_message',
  'canister_heartbeat',
  'canister_global_timer',
  'canister_on_low_wasm_memory',
];

/** Variants of the IC's `WasmValidationError` (rs/types/wasm_types/src/errors.rs). */
export type WasmValidationErrorKind =
  | 'WasmtimeValidation'
  | 'DecodingError'
  | 'InvalidFunctionSignature'
  | 'InvalidImportSection'
  | 'InvalidExportSection'
  | 'DuplicateExport'
  | 'TooManyExports'
  | 'ExportedNamesTooLong'
  | 'InvalidDataSection'
  | 'InvalidCustomSection'
  | 'InvalidGlobalSection'
  | 'TooManyGlobals'
  | 'TooManyFunctions'
  | 'TooManyCustomSections'
  | 'CodeSectionTooLarge'
  | 'ModuleTooLarge';

// rs/types/wasm_types/src/errors.rs `doc_ref`
const docRef = (section: string): string =>
  `http://internetcomputer.org/docs/current/references/execution-errors#${section}`;

// rs/types/wasm_types/src/errors.rs `ErrorHelp::ToolchainError` (the newer text, as pinned by
// rs/execution_environment/tests/execution_test.rs `toolchain_error_message`).
export const TOOLCHAIN_ERROR_HELP =
  'If you are running this canister in a test environment (e.g., dfx), make sure the test environment is up to date. ' +
  'Otherwise, this is likely an error with the compiler/CDK toolchain being used to build the canister. ' +
  'Please report the error to IC devs on the forum: https://forum.dfinity.org and include which language/CDK was used to create the canister.';

const userHelp = (suggestion: string, section: string): string =>
  `${suggestion} See documentation: ${docRef(section)}`;

/** `AsErrorHelp for WasmValidationError` (rs/types/wasm_types/src/errors.rs). */
function helpFor(kind: WasmValidationErrorKind, reasonName: string | undefined): string {
  switch (kind) {
    case 'DuplicateExport':
      return userHelp(
        `Try defining different versions of the function for each call type, e.g. \`${reasonName ?? ''}_update\`, \`${reasonName ?? ''}_query\`, etc.`,
        'wasm-module-duplicate-exports',
      );
    case 'TooManyExports':
      return userHelp(
        'Try combining multiple endpoints into a single endpoint.',
        'wasm-module-exports-too-many-methods',
      );
    case 'ExportedNamesTooLong':
      return userHelp(
        'Try using shorter method names.',
        'wasm-module-sum-of-exported-name-lengths-too-large',
      );
    case 'TooManyFunctions':
      return userHelp(
        'Try spliting this canister into multiple canisters.',
        'wasm-module-too-many-functions',
      );
    case 'TooManyGlobals':
      return userHelp(
        'Try collecting multiple globals into a single structured which can be stored on the heap.',
        'wasm-module-too-many-globals',
      );
    case 'CodeSectionTooLarge':
      return userHelp(
        'Try shrinking the module code section using tools like `ic-wasm` or splitting the logic across multiple canisters.',
        'wasm-module-code-section-too-large',
      );
    case 'ModuleTooLarge':
      return userHelp(
        'Try shrinking the module using tools like `ic-wasm` or splitting the logic across multiple canisters.',
        'wasm-module-too-large',
      );
    default:
      return TOOLCHAIN_ERROR_HELP;
  }
}

/**
 * A module the IC refuses to install. `reason` is the Display text of the IC's
 * `WasmValidationError`; `message` is the HypervisorError text
 * ("Canister's Wasm module is not valid: <reason>"); use
 * {@link invalidWasmMessage} / `fullMessage` for what a user sees.
 */
export class InvalidWasmError extends Error {
  readonly kind: WasmValidationErrorKind;
  readonly reason: string;
  /** The ErrorHelp text the IC appends after ".\n" (may be empty). */
  readonly help: string;
  /** IC0505 CanisterInvalidWasm. */
  readonly errorCode: number = ErrorCode.CanisterInvalidWasm;
  constructor(kind: WasmValidationErrorKind, reason: string, helpName?: string) {
    super(`Canister's Wasm module is not valid: ${reason}`);
    this.name = 'InvalidWasmError';
    this.kind = kind;
    this.reason = reason;
    this.help = helpFor(kind, helpName);
  }

  /** The reject message the IC returns for this error on canister `canisterId` (textual principal). */
  fullMessage(canisterId: string): string {
    return invalidWasmMessage(canisterId, this);
  }
}

/**
 * The IC's user-facing text: `HypervisorError::into_user_error`
 * (rs/interfaces/src/execution_environment/errors.rs):
 * "Error from Canister <id>: Canister's Wasm module is not valid: <reason>"
 * followed by ".\n<help>" when the error has help text. (The IC does not
 * avoid a double period when the reason already ends in one.)
 */
export function invalidWasmMessage(canisterId: string, err: InvalidWasmError): string {
  const base = `Error from Canister ${canisterId}: ${err.message}`;
  return err.help === '' ? base : `${base}.\n${err.help}`;
}

// Rust `{:?}` of wasmparser::ValType.
function debugValType(t: ValType): string {
  switch (t) {
    case 'i32':
      return 'I32';
    case 'i64':
      return 'I64';
    case 'f32':
      return 'F32';
    case 'f64':
      return 'F64';
    case 'v128':
      return 'V128';
    case 'funcref':
      return 'Ref(funcref)';
    case 'externref':
      return 'Ref(externref)';
    case 'ref':
      return 'Ref(ref)';
  }
}
const debugList = (ts: readonly ValType[]): string => `[${ts.map(debugValType).join(', ')}]`;
// Rust `{:?}` of &str (close enough: JSON escaping).
const debugStr = (s: string): string => JSON.stringify(s);

// Rust `{:?}` of wasmparser::Operator for a constant-expression instruction.
function debugOp(op: ConstOp | undefined): string {
  if (op === undefined) return 'End';
  switch (op.op) {
    case 'i32.const':
      return `I32Const { value: ${op.value} }`;
    case 'i64.const':
      return `I64Const { value: ${op.value} }`;
    case 'global.get':
      return `GlobalGet { global_index: ${op.index} }`;
    case 'ref.func':
      return `RefFunc { function_index: ${op.index} }`;
    case 'f32.const':
      return 'F32Const { .. }';
    case 'f64.const':
      return 'F64Const { .. }';
    case 'v128.const':
      return 'V128Const { .. }';
    case 'ref.null':
      return 'RefNull { .. }';
    case 'other':
      return `Opcode(0x${op.opcode.toString(16)})`;
  }
}

// validation.rs `validate_function_signature`
function checkSignature(
  expected: { params: readonly string[]; results: readonly string[] },
  field: string,
  actual: FuncType,
): void {
  const exp = (ts: readonly string[]): ValType[] => ts.map((t) => t as ValType);
  if (expected.params.join() !== actual.params.join()) {
    throw new InvalidWasmError(
      'InvalidFunctionSignature',
      `Wasm module has an invalid function signature. Expected input params ${debugList(exp(expected.params))} for '${field}', got ${debugList(actual.params)}.`,
    );
  }
  if (expected.results.join() !== actual.results.join()) {
    throw new InvalidWasmError(
      'InvalidFunctionSignature',
      `Wasm module has an invalid function signature. Expected return type ${debugList(exp(expected.results))} for '${field}', got ${debugList(actual.results)}.`,
    );
  }
}

/** Builds the IC's rejection for a module the Wasm engine refuses (validation.rs `can_compile`). */
export function wasmtimeValidationError(engineMessage: string): InvalidWasmError {
  return new InvalidWasmError(
    'WasmtimeValidation',
    `Wasmtime failed to validate wasm module wasmtime::Module::validate() failed with ${engineMessage}`,
  );
}

/** Builds the IC's `DecodingError` (e.g. "unsupported canister module format"). */
export function decodingError(reason: string): InvalidWasmError {
  return new InvalidWasmError('DecodingError', `Failed to decode wasm module: ${reason}`);
}

/** The engine's compile error for these bytes, or null if they compile. */
function engineCompileError(bytes: Uint8Array): string | null {
  if (wasmValidate(bytes)) return null;
  return wasmCompileError(bytes) ?? 'invalid module';
}

/**
 * Throws {@link InvalidWasmError} for modules the IC rejects at install,
 * in the IC's order of checks. Returns normally for acceptable modules.
 */
export function validateCanisterModule(info: ModuleInfo): void {
  // rs/embedders/src/wasm_utils/decoding.rs `decode_wasm`
  if (info.bytes.length > WASM_MAX_SIZE) throw moduleTooLarge(info.bytes.length);
  // validation.rs `check_code_section_size`
  if (info.codeSectionSize > MAX_CODE_SECTION_SIZE_IN_BYTES) {
    throw new InvalidWasmError(
      'CodeSectionTooLarge',
      `Wasm module code section size of ${info.codeSectionSize} exceeds the maximum allowed size of ${MAX_CODE_SECTION_SIZE_IN_BYTES}.`,
    );
  }
  validateWithEngine(info);
  validateImports(info);
  validateExports(info);
  validateData(info);
  validateGlobals(info);
  // validation.rs `validate_function_section`
  if (info.functions.length > MAX_FUNCTIONS) {
    throw new InvalidWasmError(
      'TooManyFunctions',
      `Wasm module defined ${info.functions.length} functions which exceeds the maximum number allowed ${MAX_FUNCTIONS}.`,
    );
  }
  validateCustomSections(info);
}

/**
 * validation.rs `can_compile`: the IC compiles with wasmtime configured
 * without multi-memory and without exception handling, which V8 accepts; those
 * two are checked here on the decoded sections, the rest by V8's validator.
 * The engine message is V8's, not wasmparser's, except for "multiple memories"
 * whose wasmparser text (and offset: the memory section's count) is
 * reproduced (rs/execution_environment/tests/execution_test.rs
 * `toolchain_error_message`).
 */
function validateWithEngine(info: ModuleInfo): void {
  const engineError = engineCompileError(info.bytes);
  if (engineError !== null) throw wasmtimeValidationError(engineError);
  const memoryImports = info.imports.filter((i) => i.kind === 'memory').length;
  if (memoryImports + info.memories.length > 1) {
    const memSection = info.sections.find((s) => s.id === 5);
    const importSection = info.sections.find((s) => s.id === 2);
    const offset =
      info.memories.length > 1 || memoryImports === 0
        ? memSection?.contentStart
        : importSection?.contentStart;
    throw wasmtimeValidationError(`multiple memories (at offset 0x${(offset ?? 0).toString(16)})`);
  }
  const tagSection = info.sections.find((s) => s.id === 13);
  if (tagSection !== undefined) {
    // [inference] wasmparser's wording for a tag section with exceptions disabled.
    throw wasmtimeValidationError(
      `exceptions proposal not enabled (at offset 0x${tagSection.start.toString(16)})`,
    );
  }
}

// validation.rs `validate_import_section`
function validateImports(info: ModuleInfo): void {
  for (const imp of info.imports) {
    switch (imp.kind) {
      case 'func': {
        const sig = sigFor(imp.name, info.isWasm64);
        if (sig === undefined) {
          throw new InvalidWasmError(
            'InvalidImportSection',
            `Wasm module has an invalid import section. Module imports function '${imp.name}' from '${imp.module}' that is not exported by the runtime.`,
          );
        }
        if (imp.module !== 'ic0') {
          throw new InvalidWasmError(
            'InvalidImportSection',
            `Wasm module has an invalid import section. Module imports function ${debugStr(imp.name)} from ${debugStr(imp.module)}, expected to be imported from one of ["ic0"] instead.`,
          );
        }
        const ty = info.types[imp.typeIndex];
        if (ty !== undefined) checkSignature(sig, imp.name, ty);
        break;
      }
      case 'table':
        if (imp.name === 'table' && imp.module !== 'env') {
          throw new InvalidWasmError(
            'InvalidImportSection',
            'Wasm module has an invalid import section. Only tables imported from env.table are allowed.',
          );
        }
        break;
      case 'memory':
        if (imp.name === 'memory' && imp.module !== 'env') {
          throw new InvalidWasmError(
            'InvalidImportSection',
            'Wasm module has an invalid import section. Only memory imported from env.memory is allowed.',
          );
        }
        break;
      case 'global':
        throw new InvalidWasmError(
          'InvalidImportSection',
          'Wasm module has an invalid import section. Importing globals is not allowed.',
        );
      case 'tag':
        throw new InvalidWasmError(
          'InvalidImportSection',
          'Wasm module has an invalid import section. Importing tags is not allowed.',
        );
    }
  }
}

const METHOD_PREFIXES = ['canister_query ', 'canister_composite_query ', 'canister_update '] as const;

// validation.rs `validate_export_section`
function validateExports(info: ModuleInfo): void {
  const seen = new Set<string>();
  let count = 0;
  let sumLengths = 0;
  const utf8 = new TextEncoder();
  for (const exp of info.exports) {
    if (RESERVED_SYMBOLS.includes(exp.name)) {
      throw new InvalidWasmError(
        'InvalidExportSection',
        `Wasm module has an invalid export section. Exporting reserved symbol ${exp.name} not allowed.`,
      );
    }
    if (exp.kind !== 'func') continue;
    let funcName = exp.name;
    if (METHOD_PREFIXES.some((p) => funcName.startsWith(p))) {
      const space = funcName.indexOf(' ');
      const method = funcName.slice(space + 1);
      funcName = funcName.slice(0, space);
      if (seen.has(method)) {
        throw new InvalidWasmError(
          'DuplicateExport',
          `Duplicate function '${method}' exported multiple times with different call types: update, query, or composite_query.`,
          method,
        );
      }
      seen.add(method);
      count += 1;
      sumLengths += utf8.encode(method).length; // Rust str::len counts bytes
    } else if (funcName.startsWith('canister_') && !SYSTEM_ENTRY_POINTS.includes(funcName)) {
      throw new InvalidWasmError(
        'InvalidExportSection',
        `Wasm module has an invalid export section. Exporting reserved function '${funcName}' with "canister_" prefix`,
      );
    }
    // validation.rs `get_valid_exported_functions`: every entry point is () -> ().
    if (SYSTEM_ENTRY_POINTS.includes(funcName) || METHOD_PREFIXES.some((p) => p.trimEnd() === funcName)) {
      const ty = functionType(info, exp.index);
      if (ty !== undefined) checkSignature({ params: [], results: [] }, exp.name, ty);
    }
  }
  if (count > MAX_NUMBER_EXPORTED_FUNCTIONS) {
    throw new InvalidWasmError(
      'TooManyExports',
      `The number of exported functions called \`canister_update <name>\`, \`canister_query <name>\`, or \`canister_composite_query <name>\` is ${count} which exceeds ${MAX_NUMBER_EXPORTED_FUNCTIONS}.`,
    );
  }
  if (sumLengths > MAX_SUM_EXPORTED_FUNCTION_NAME_LENGTHS) {
    throw new InvalidWasmError(
      'ExportedNamesTooLong',
      `The sum of \`<name>\` lengths in exported functions called \`canister_update <name>\`, \`canister_query <name>\`, or \`canister_composite_query <name>\` is ${sumLengths} which exceeds the allowed limit of ${MAX_SUM_EXPORTED_FUNCTION_NAME_LENGTHS}.`,
    );
  }
}

// validation.rs `validate_data_section`: active segments need a single constant of the memory's index type.
function validateData(info: ModuleInfo): void {
  const want = info.isWasm64 ? 'i64.const' : 'i32.const';
  for (const seg of info.dataSegments) {
    if (seg.mode !== 'active' || seg.offset === null) continue;
    const [first] = seg.offset.ops;
    if (first?.op !== want || seg.offset.ops.length !== 1) {
      throw new InvalidWasmError(
        'InvalidDataSection',
        `Wasm module has an invalid data section. Invalid offset expression in data segment for ${info.isWasm64 ? 64 : 32}bit memory: ${debugOp(first)}`,
      );
    }
  }
}

// validation.rs `validate_global_section`
function validateGlobals(info: ModuleInfo): void {
  if (info.globals.length > MAX_GLOBALS) {
    throw new InvalidWasmError(
      'TooManyGlobals',
      `Wasm module defined ${info.globals.length} globals which exceeds the maximum number allowed ${MAX_GLOBALS}.`,
    );
  }
  for (const g of info.globals) {
    if (!['i32', 'i64', 'f32', 'f64', 'v128'].includes(g.valType)) {
      throw new InvalidWasmError(
        'InvalidGlobalSection',
        `Wasm module has an invalid global section. Unsupported global type: ${debugValType(g.valType)}`,
      );
    }
  }
}

/**
 * validation.rs `extract_custom_section_name`: the metadata name of an `icp:`
 * section, null for other sections; throws for `icp:` names without a valid
 * scope.
 */
export function extractCustomSectionName(
  sectionName: string,
): { name: string; visibility: 'public' | 'private' } | null {
  if (!sectionName.startsWith('icp:')) return null;
  if (sectionName.startsWith('icp:public '))
    return { name: sectionName.slice('icp:public '.length), visibility: 'public' };
  if (sectionName.startsWith('icp:private '))
    return { name: sectionName.slice('icp:private '.length), visibility: 'private' };
  if (sectionName === 'icp:public' || sectionName === 'icp:private') {
    throw new InvalidWasmError(
      'InvalidCustomSection',
      "Wasm module has an invalid custom section. 'icp:' section names must have a space after the public/private scope",
    );
  }
  throw new InvalidWasmError(
    'InvalidCustomSection',
    `Wasm module has an invalid custom section. Invalid custom section: Custom section '${sectionName}' has no public/private scope defined.`,
  );
}

// validation.rs `validate_custom_section`
function validateCustomSections(info: ModuleInfo): void {
  const names = new Set<string>();
  let total = 0;
  const utf8 = new TextEncoder();
  for (const c of info.customSections) {
    const extracted = extractCustomSectionName(c.name);
    if (extracted === null) continue;
    if (names.has(extracted.name)) {
      throw new InvalidWasmError(
        'InvalidCustomSection',
        `Wasm module has an invalid custom section. Invalid custom section: name ${extracted.name} already exists`,
      );
    }
    total += c.payloadEnd - c.payloadStart + utf8.encode(extracted.name).length;
    if (total > MAX_CUSTOM_SECTIONS_SIZE) {
      throw new InvalidWasmError(
        'InvalidCustomSection',
        `Wasm module has an invalid custom section. Invalid custom sections: total size of the custom sections exceeds the maximum allowed: size ${total} bytes, allowed ${MAX_CUSTOM_SECTIONS_SIZE} bytes`,
      );
    }
    names.add(extracted.name);
    if (names.size > MAX_CUSTOM_SECTIONS) {
      throw new InvalidWasmError(
        'TooManyCustomSections',
        `Wasm module defined ${names.size} custom sections which exceeds the maximum number allowed ${MAX_CUSTOM_SECTIONS}.`,
      );
    }
  }
}

/** `ModuleTooLarge`: an uncompressed module (or the size its gzip trailer declares) above `WASM_MAX_SIZE`. */
export function moduleTooLarge(size: number): InvalidWasmError {
  return new InvalidWasmError(
    'ModuleTooLarge',
    `Wasm module size of ${size} exceeds the maximum allowed size of ${WASM_MAX_SIZE}.`,
  );
}
