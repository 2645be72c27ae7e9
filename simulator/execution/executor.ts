/**
 * Runs one Wasm entry point of a canister with a message context and decides
 * what survives: a message that traps, and every query, leaves heap, globals
 * and stable memory exactly as they were; a persisted message commits them.
 * Effects collected in the context (reply, calls, certified data, timer,
 * cycles, logs) are applied by the caller only when `error` is undefined.
 */
import { Principal } from '@icp-sdk/core/principal';
import type { CanisterState } from '../canister/state.ts';
import { freezingThresholdAtUsage, reserveCycles, storageReservation } from '../cycles/account.ts';
import type { MessageContext, WasmClosure } from './message.ts';
import { backtraceForCaller, classifyThrown, withBacktrace, type HypervisorError } from './trap.ts';
import { BACKTRACE_FRAME_LIMIT } from '../wasm/backtrace.ts';
import type { WasmRuntime } from './runtime.ts';

export type EntryPoint = { kind: 'export'; name: string } | { kind: 'closure'; closure: WasmClosure };

/**
 * Calls the entry point; returns the error it ended with, if any. Leaves state
 * as the Wasm left it.
 *
 * Instruction metering: the module's counter starts at what is left of the
 * message's budget (`instructionLimit - instructionsUsed`) and is read back
 * into `ctx.instructionsUsed` afterwards, trap or not. The metering code
 * traps with `unreachable` when the counter drops below zero at a function
 * entry or loop header; any execution that ends with the counter below zero
 * (a trap of that kind, any other trap after an unchecked charge, or a
 * return) is `InstructionLimitExceeded` (IC0522), as on the IC. (Functions
 * with loops keep the counter in a local and store it at loop headers, calls
 * and exits: after a trap of another kind, the global lacks what the trapping
 * function charged since then; see `wasm/meter.ts`.)
 */
export function invoke(
  runtime: WasmRuntime,
  ctx: MessageContext,
  entry: EntryPoint,
): HypervisorError | undefined {
  const api = runtime.api;
  const outer = api.context;
  api.context = ctx;
  const metered = runtime.metered;
  if (metered) runtime.instructionCounter = ctx.instructionLimit - ctx.instructionsUsed;
  let error: HypervisorError | undefined;
  // V8 keeps 10 frames in an error's stack by default; a trap's backtrace wants them all.
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = BACKTRACE_FRAME_LIMIT;
  try {
    if (entry.kind === 'export') runtime.callExport(entry.name);
    else if (!runtime.callTable(entry.closure.fn, entry.closure.env)) {
      error = { kind: 'FunctionNotFound', table: 0, index: entry.closure.fn };
    }
  } catch (thrown) {
    error = withBacktrace(classifyThrown(thrown), runtime.compiled.info, thrown);
  } finally {
    api.context = outer;
    Error.stackTraceLimit = stackLimit;
  }
  if (metered) {
    const left = runtime.instructionCounter;
    ctx.instructionsUsed = ctx.instructionLimit - left;
    if (left < 0n) return { kind: 'InstructionLimitExceeded', limit: ctx.instructionLimit };
  }
  if (error) return error;
  if (ctx.pendingCall) {
    // A call built but never performed returns its cycles (spec: call_new … call_perform).
    ctx.cyclesSpent -= ctx.pendingCall.cycles;
    ctx.pendingCall = undefined;
  }
  return undefined;
}

/**
 * What growing memory costs an execution (sandbox_safe_system_state.rs
 * `check_freezing_threshold_for_memory_grow`, `reserve_storage_cycles`):
 * - an update or a system task (heartbeat, timer) that grew beyond its memory
 *   allocation fails with IC0532 when its balance would then be below the
 *   freezing threshold at the new usage (install hooks, queries and callbacks
 *   do not check);
 * - updates, system tasks and callbacks of a canister without a memory
 *   allocation reserve cycles for the new bytes when the subnet is above its
 *   memory threshold, within `reserved_cycles_limit` (IC0534) and the balance
 *   (IC0532).
 * The replica checks at each `memory.grow` and `stable_grow`; here the growth
 * of the whole message is checked when it ends, so `bytes` is all it grew.
 * Returns the error, or reserves the cycles and returns undefined.
 */
export function chargeMemoryGrowth(
  canister: CanisterState,
  ctx: MessageContext,
  sizesBefore: bigint,
): HypervisorError | undefined {
  const checks = ctx.kind === 'U' || ctx.kind === 'T';
  const reserves = checks || ctx.kind === 'Ry' || ctx.kind === 'Rt' || ctx.kind === 'C';
  if (!reserves) return undefined;
  // Only the heap and stable memory grow during an execution.
  const grown = memorySizes(canister) - sizesBefore;
  if (grown <= 0n) return undefined;
  const usage = canister.memorySize();
  const allocation = canister.settings.memoryAllocation;
  if (allocation > 0n && usage <= allocation) return undefined;
  const caller = ctx.caller.length > 0 ? Principal.fromUint8Array(ctx.caller) : undefined;
  const revealTopUp = caller !== undefined && canister.isControlledBy(caller);
  const available = canister.balance + ctx.cyclesAccepted - ctx.cyclesSpent;
  if (checks) {
    const threshold = freezingThresholdAtUsage(canister, usage);
    if (available < threshold)
      return { kind: 'InsufficientCyclesInMemoryGrow', bytes: grown, available, threshold, revealTopUp };
  }
  if (allocation > 0n) return undefined;
  // Priced at the subnet's usage before this growth, as the round's saturation is.
  const reservation = storageReservation(
    canister,
    grown,
    canister.settings.reservedCyclesLimit,
    canister.subnetMemoryUsage() - grown,
  );
  if ('exceeded' in reservation)
    return {
      kind: 'ReservedCyclesLimitExceededInMemoryGrow',
      bytes: grown,
      requested: reservation.exceeded,
      limit: reservation.limit,
    };
  if ('insufficient' in reservation || reservation.cycles > available)
    return {
      kind: 'InsufficientCyclesInMemoryGrow',
      bytes: grown,
      available,
      threshold: 'insufficient' in reservation ? reservation.insufficient : reservation.cycles,
      revealTopUp,
    };
  reserveCycles(canister, reservation.cycles);
  return undefined;
}

/** Heap and stable memory bytes: the parts of the memory usage an execution can grow. */
function memorySizes(canister: CanisterState): bigint {
  return BigInt(canister.runtime?.heapSize() ?? 0) + canister.stable.byteLength;
}

export function memoryLimitError(canister: CanisterState, runtime: WasmRuntime): HypervisorError | undefined {
  const limit = canister.settings.wasmMemoryLimit;
  const size = BigInt(runtime.heapSize());
  if (limit > 0n && size > limit) return { kind: 'WasmMemoryLimitExceeded', bytes: size, limit };
  return undefined;
}

/**
 * One message as one transaction: runs `entry`, then commits heap, globals and
 * stable memory when `persist` and no error, else rolls them back.
 */
export function execute(
  canister: CanisterState,
  ctx: MessageContext,
  entry: EntryPoint,
  persist: boolean,
): HypervisorError | undefined {
  const runtime = canister.runtime;
  if (!runtime) return { kind: 'WasmModuleNotFound' };
  canister.stable.begin();
  const sizesBefore = memorySizes(canister);
  let error = invoke(runtime, ctx, entry);
  if (!error && persist)
    error = memoryLimitError(canister, runtime) ?? chargeMemoryGrowth(canister, ctx, sizesBefore);
  if (error || !persist) {
    runtime.rollback();
    canister.stable.rollback();
  } else {
    runtime.commit();
    canister.stable.commit();
    // Every successful replicated execution is a new canister version (spec "Canister version";
    // the reference suite's "canister version" group: updates, replicated queries, callbacks,
    // cleanups, heartbeats and timers each add one).
    canister.versionNumber += 1n;
  }
  return error && backtraceForCaller(error, canister.logsVisibleTo(ctx.caller));
}
