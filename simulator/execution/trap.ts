/**
 * How a message fails: the replica's `HypervisorError`, rendered as the
 * `UserError` a caller sees. Texts follow dfinity/ic
 * `rs/interfaces/src/execution_environment/errors.rs` (`Display` and
 * `into_user_error`): "Error from Canister <id>: <what>.\n<suggestion> See
 * documentation: <link>".
 */
import { EXECUTION_ERRORS_DOCS as DOCS, UserError, type ErrorCodeName } from '../errors.ts';
import { displayCycles } from '../cycles/account.ts';
import { canisterBacktrace, renderBacktrace, type BacktraceFrame } from '../wasm/backtrace.ts';
import type { ModuleInfo } from '../wasm/decode.ts';
const TOOLCHAIN_HELP =
  'This is likely an error with the compiler/CDK toolchain being used to build the canister. Please report the error message and Wasm module to the toolchain developers.';
const TRAP_HELP =
  'Consider gracefully handling failures from this canister or altering the canister to handle exceptions.';

/** The replica's `TrapCode` display texts. */
export type TrapCode =
  | 'stack overflow'
  | 'heap out of bounds'
  | 'stable memory out of bounds'
  | 'integer division by 0'
  | 'unreachable'
  | 'table out of bounds'
  | '32 bit stable memory api used on a memory larger than 4GB'
  | 'unknown';

/**
 * The backtrace the replica gives the two trap kinds (`Trapped`, `CalledTrap`
 * with `Option<CanisterBacktrace>`): kept in the canister log always, shown
 * in the error only to a caller who may read the canister's logs
 * (`backtraceHidden` otherwise).
 */
export interface Backtraced {
  backtrace?: BacktraceFrame[];
  backtraceHidden?: boolean;
}

export type HypervisorError =
  | ({ kind: 'Trapped'; code: TrapCode } & Backtraced)
  | ({ kind: 'CalledTrap'; message: string } & Backtraced)
  | { kind: 'ContractViolation'; message: string; toolchain: boolean }
  | { kind: 'MethodNotFound'; methodKind: 'update' | 'query' | 'composite_query' | 'system'; name: string }
  | { kind: 'WasmModuleNotFound' }
  | { kind: 'OutOfMemory' }
  | { kind: 'WasmMemoryLimitExceeded'; bytes: bigint; limit: bigint }
  | { kind: 'FunctionNotFound'; table: number; index: number }
  | { kind: 'InsufficientCyclesBalance'; canister: string; available: bigint; requested: bigint }
  /** The instruction counter went below zero (IC0522). */
  | { kind: 'InstructionLimitExceeded'; limit: bigint }
  /** Growing memory would leave the balance below the freezing threshold (IC0532). */
  /** A storage reservation for grown memory would exceed `reserved_cycles_limit` (IC0534). */
  | { kind: 'ReservedCyclesLimitExceededInMemoryGrow'; bytes: bigint; requested: bigint; limit: bigint }
  | {
      kind: 'InsufficientCyclesInMemoryGrow';
      bytes: bigint;
      available: bigint;
      threshold: bigint;
      revealTopUp: boolean;
    };

/** Thrown inside a System API call or the executor to end the message with a trap. */
export class TrapSignal extends Error {
  readonly error: HypervisorError;
  /** The `ic0` function it was thrown from, when the replica runs that function as Wasm (`IN_WASM`). */
  ic0Function?: string;
  constructor(error: HypervisorError) {
    super(describe(error));
    this.name = 'TrapSignal';
    this.error = error;
  }
}

export function contractViolation(message: string, toolchain = false): TrapSignal {
  return new TrapSignal({ kind: 'ContractViolation', message, toolchain });
}

function describe(e: HypervisorError): string {
  switch (e.kind) {
    case 'Trapped':
      return `Canister trapped: ${e.code}${backtraceSuffix(e)}`;
    case 'CalledTrap':
      return `Canister called \`ic0.trap\` with message: '${e.message}'${backtraceSuffix(e)}`;
    case 'ContractViolation':
      return `Canister violated contract: ${e.message}`;
    case 'MethodNotFound':
      return `Canister has no ${e.methodKind} method '${e.name}'.`;
    case 'WasmModuleNotFound':
      return 'Attempted to execute a message, but the canister contains no Wasm module.';
    case 'OutOfMemory':
      return 'Canister cannot grow its memory usage.';
    case 'WasmMemoryLimitExceeded':
      return (
        `Canister exceeded its current Wasm memory limit of ${e.limit} bytes. The peak Wasm memory usage was ${e.bytes} bytes. ` +
        'If the canister reaches 4GiB, then it may stop functioning and may become unrecoverable. ' +
        'Please reach out to the canister owner to investigate the reason for the increased memory usage. ' +
        'It might be necessary to move data from the Wasm memory to the stable memory. ' +
        'If such high Wasm memory usage is expected and safe, then the developer can increase the Wasm memory limit in the canister settings.'
      );
    case 'FunctionNotFound':
      return `Canister requested to invoke a non-existent Wasm function ${e.index} from table ${e.table}`;
    case 'InsufficientCyclesBalance':
      return `Canister ${e.canister} is out of cycles`;
    case 'InstructionLimitExceeded':
      return `Canister exceeded the limit of ${e.limit} instructions for single message execution.`;
    case 'ReservedCyclesLimitExceededInMemoryGrow':
      return `Canister cannot grow memory by ${e.bytes} bytes due to its reserved cycles limit. The current limit (${displayCycles(e.limit)}) would be exceeded by ${displayCycles(e.requested - e.limit)}.`;
    case 'InsufficientCyclesInMemoryGrow':
      return (
        `Canister cannot grow memory by ${e.bytes} bytes due to insufficient cycles.` +
        (e.revealTopUp
          ? ` At least ${displayCycles(e.threshold - e.available)} additional cycles are required.`
          : '')
      );
  }
}

/** errors.rs `Display` of `Trapped` / `CalledTrap`: `"\n{backtrace}"` after the text when there is one. */
function backtraceSuffix(e: Backtraced): string {
  return e.backtrace && !e.backtraceHidden ? `\n${renderBacktrace(e.backtrace)}` : '';
}

/**
 * The `ic0` functions the replica replaces with Wasm code at the import's
 * function index (Wasm-native stable memory: dfinity/ic
 * `rs/embedders/src/wasm_utils/system_api_replacements.rs`), so that a trap
 * inside one has a frame of its own, named as the module names that import
 * (`stable64_write` in backtraces.rs); every other `ic0` function is a host
 * function, without a frame.
 */
const IN_WASM = new Set([
  'stable_size',
  'stable_grow',
  'stable_read',
  'stable_write',
  'stable64_size',
  'stable64_grow',
  'stable64_read',
  'stable64_write',
]);

/** Marks a trap thrown by `ic0.<name>` when the replica would show that function as a frame. */
export function tagIc0Frame(thrown: unknown, name: string): void {
  if (thrown instanceof TrapSignal && IN_WASM.has(name)) thrown.ic0Function ??= name;
}

/** `error` with the backtrace of `thrown` in canister module `info`, for the kinds that carry one. */
export function withBacktrace(error: HypervisorError, info: ModuleInfo, thrown: unknown): HypervisorError {
  if (error.kind !== 'Trapped' && error.kind !== 'CalledTrap') return error;
  const host = thrown instanceof TrapSignal ? thrown.ic0Function : undefined;
  const imported = host
    ? info.imports.find((i) => i.kind === 'func' && i.module === 'ic0' && i.name === host)
    : undefined;
  const backtrace = canisterBacktrace(info, thrown, imported?.index);
  return backtrace ? { ...error, backtrace } : error;
}

/** `error` with its backtrace hidden from a caller who may not read the canister's logs. */
export function backtraceForCaller(error: HypervisorError, mayReadLogs: boolean): HypervisorError {
  if ((error.kind !== 'Trapped' && error.kind !== 'CalledTrap') || !error.backtrace || mayReadLogs)
    return error;
  return { ...error, backtraceHidden: true };
}

/** `error` as the canister log keeps it: with its backtrace, whoever called. */
export function backtraceForLog(error: HypervisorError): HypervisorError {
  if ((error.kind !== 'Trapped' && error.kind !== 'CalledTrap') || !error.backtraceHidden) return error;
  return { ...error, backtraceHidden: false };
}

function help(e: HypervisorError): string {
  switch (e.kind) {
    case 'Trapped':
      return `${TRAP_HELP} See documentation: ${DOCS}trapped`;
    case 'CalledTrap':
      return `${TRAP_HELP} See documentation: ${DOCS}trapped-explicitly`;
    case 'ContractViolation':
      return e.toolchain ? TOOLCHAIN_HELP : '';
    case 'MethodNotFound':
      return `Check that the method being called is exported by the target canister. See documentation: ${DOCS}method-not-found`;
    case 'WasmModuleNotFound':
      return `Please install code to this canister before calling it. See documentation: ${DOCS}wasm-module-not-found`;
    case 'OutOfMemory':
      return `Check the canister's memory usage against its allocation and the system wide limits to determine why more memory cannot be allocated. See documentation: ${DOCS}out-of-memory`;
    case 'WasmMemoryLimitExceeded':
      return `Try checking the canister for a possible memory leak or modifying it to use more stable memory instead of Wasm memory. See documentation: ${DOCS}wasm-memory-limit-exceeded`;
    case 'FunctionNotFound':
      return TOOLCHAIN_HELP;
    case 'InsufficientCyclesBalance':
      return '';
    case 'InstructionLimitExceeded':
      return `Try optimizing this method to consume fewer instructions or split the work across multiple messages. See documentation: ${DOCS}instruction-limit-exceeded`;
    case 'ReservedCyclesLimitExceededInMemoryGrow':
      return `Try increasing the canister's reserved cycles limit. See documentation: ${DOCS}reserved-cycles-limit-exceeded-in-memory-grow`;
    case 'InsufficientCyclesInMemoryGrow':
      return `Try topping up the canister. See documentation: ${DOCS}insufficient-cycles-in-memory-grow`;
  }
}

const CODES: Record<HypervisorError['kind'], ErrorCodeName> = {
  Trapped: 'CanisterTrapped',
  CalledTrap: 'CanisterCalledTrap',
  ContractViolation: 'CanisterContractViolation',
  MethodNotFound: 'CanisterMethodNotFound',
  WasmModuleNotFound: 'CanisterWasmModuleNotFound',
  OutOfMemory: 'CanisterOutOfMemory',
  WasmMemoryLimitExceeded: 'CanisterWasmMemoryLimitExceeded',
  FunctionNotFound: 'CanisterFunctionNotFound',
  InsufficientCyclesBalance: 'CanisterContractViolation',
  InstructionLimitExceeded: 'CanisterInstructionLimitExceeded',
  InsufficientCyclesInMemoryGrow: 'InsufficientCyclesInMemoryGrow',
  ReservedCyclesLimitExceededInMemoryGrow: 'ReservedCyclesLimitExceededInMemoryGrow',
};

/** `HypervisorError::into_user_error`. */
export function toUserError(e: HypervisorError, canisterId: string): UserError {
  const h = help(e);
  const text = h
    ? `Error from Canister ${canisterId}: ${describe(e)}.\n${h}`
    : `Error from Canister ${canisterId}: ${describe(e)}`;
  return new UserError(CODES[e.kind], text);
}

/**
 * Classifies whatever escaped a Wasm entry point. V8 reports Wasm traps as
 * `WebAssembly.RuntimeError` with its own wording and stack exhaustion as
 * `RangeError`; anything else thrown by JavaScript (a bug in a System API
 * implementation included) still ends the message as a trap, never as a crash.
 */
export function classifyThrown(thrown: unknown): HypervisorError {
  if (thrown instanceof TrapSignal) return thrown.error;
  if (thrown instanceof RangeError && /call stack/i.test(thrown.message))
    return { kind: 'Trapped', code: 'stack overflow' };
  if (thrown instanceof WebAssembly.RuntimeError) {
    const m = thrown.message;
    if (/unreachable/.test(m)) return { kind: 'Trapped', code: 'unreachable' };
    if (/memory access out of bounds|out of bounds memory/.test(m))
      return { kind: 'Trapped', code: 'heap out of bounds' };
    if (/divide by zero|division by zero|remainder by zero/.test(m))
      return { kind: 'Trapped', code: 'integer division by 0' };
    if (/table index|table access|out of bounds table|null function|function signature mismatch/.test(m))
      return { kind: 'Trapped', code: 'table out of bounds' };
    if (/call stack/.test(m)) return { kind: 'Trapped', code: 'stack overflow' };
    return { kind: 'Trapped', code: 'unknown' };
  }
  const message = thrown instanceof Error ? thrown.message : String(thrown);
  return {
    kind: 'ContractViolation',
    message: `icsim internal error in the System API: ${message}`,
    toolchain: false,
  };
}
