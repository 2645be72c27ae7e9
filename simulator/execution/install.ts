/**
 * Canister lifecycle executions: install, reinstall and upgrade as one atomic
 * step each (IC interface specification, "IC method install_code" and
 * "Canister upgrades"), and uninstall.
 */
import type { Principal } from '@icp-sdk/core/principal';
import { UserError } from '../errors.ts';
import type { CanisterState } from '../canister/state.ts';
import { compileCanisterModule, type CompiledModule } from '../wasm/cache.ts';
import { InvalidWasmError } from '../wasm/validate.ts';
import { invoke, memoryLimitError } from './executor.ts';
import { MAX_INSTRUCTIONS_PER_INSTALL_CODE } from './limits.ts';
import { newMessageContext, type MessageContext } from './message.ts';
import { WasmRuntime } from './runtime.ts';
import { toUserError, type HypervisorError } from './trap.ts';

/**
 * `wasm_memory_persistence` of an upgrade: `keep` or `replace` the Wasm heap,
 * or undefined when the caller left the option out (which an enhanced
 * orthogonal persistence canister refuses).
 */
export type WasmMemoryPersistence = 'keep' | 'replace' | undefined;

export type InstallMode =
  | { kind: 'install' }
  | { kind: 'reinstall' }
  | { kind: 'upgrade'; skipPreUpgrade: boolean; wasmMemoryPersistence: WasmMemoryPersistence };

export interface InstallRequest {
  mode: InstallMode;
  /** Instruction budget of the whole install (pre_upgrade, start, init/post_upgrade); `MAX_INSTRUCTIONS_PER_INSTALL_CODE` by default. */
  instructionLimit?: bigint;
  wasm: Uint8Array;
  arg: Uint8Array;
  sender: Principal;
  time: bigint;
  onPrint: (canister: CanisterState, text: string) => void;
}

/** What an install leaves to apply: logs printed by the hooks, even when it failed. */
export interface InstallOutcome {
  error?: UserError;
  logs: Uint8Array[];
  /** Instructions the hooks executed, charged for even when the install failed. */
  instructionsUsed: bigint;
  /** The module, when it compiled: what compiling it is charged by (cycles/compilation.ts). */
  compiled?: CompiledModule;
}

/**
 * Runs the install; on success the canister runs the new module, on failure
 * it is exactly as before (heap, stable memory, module, version, timer).
 */
export function installCode(canister: CanisterState, request: InstallRequest): InstallOutcome {
  const id = canister.idText;
  const logs: Uint8Array[] = [];
  let compiled;
  try {
    compiled = compileCanisterModule(request.wasm);
  } catch (e) {
    if (e instanceof InvalidWasmError)
      return { error: new UserError('CanisterInvalidWasm', e.fullMessage(id)), logs, instructionsUsed: 0n };
    throw e;
  }
  const { mode } = request;
  const old = canister.runtime;
  if (mode.kind === 'upgrade' && !old)
    return { error: toUserError({ kind: 'WasmModuleNotFound' }, id), logs, instructionsUsed: 0n, compiled };

  const contexts: MessageContext[] = [];
  const instructionLimit = request.instructionLimit ?? MAX_INSTRUCTIONS_PER_INSTALL_CODE;
  // One budget for the whole install: each step starts where the previous one stopped.
  const context = (kind: MessageContext['kind'], globalTimer: bigint): MessageContext => {
    const instructionsUsed = contexts.at(-1)?.instructionsUsed ?? 0n;
    const ctx = newMessageContext({
      kind,
      time: request.time,
      globalTimer,
      caller: request.sender.toUint8Array(),
      arg: request.arg,
      instructionLimit,
      instructionsUsed,
    });
    contexts.push(ctx);
    return ctx;
  };
  const fail = (error: HypervisorError | UserError): InstallOutcome => {
    old?.rollback();
    canister.stable.rollback();
    canister.versionNumber = versionBefore;
    for (const c of contexts) logs.push(...c.logs);
    return {
      error: error instanceof UserError ? error : toUserError(error, id),
      logs,
      instructionsUsed: contexts.at(-1)?.instructionsUsed ?? 0n,
      compiled,
    };
  };

  const versionBefore = canister.versionNumber;
  canister.stable.begin();
  let timer = canister.globalTimer;
  let certified: Uint8Array | undefined;

  if (mode.kind === 'upgrade' && old && !mode.skipPreUpgrade && old.hasExport('canister_pre_upgrade')) {
    const ctx = context('G', timer);
    const error = invoke(old, ctx, { kind: 'export', name: 'canister_pre_upgrade' });
    if (error) return fail(error);
    certified = ctx.certifiedData ?? certified;
  }
  if (mode.kind !== 'upgrade') canister.stable.clear();
  // The replica decides the heap's fate after pre_upgrade, when it creates the new
  // execution state (dfinity/ic rs/execution_environment/src/execution/upgrade.rs, stage 2).
  if (mode.kind === 'upgrade' && old) {
    const refused = checkPersistenceOption(old.compiled, compiled, mode.wasmMemoryPersistence);
    if (refused) return fail(refused);
  }

  let fresh: WasmRuntime;
  try {
    fresh = new WasmRuntime(compiled, canister, (text) => request.onPrint(canister, text));
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    return fail(
      new UserError(
        'CanisterInvalidWasm',
        `Error from Canister ${id}: Canister's Wasm module is not valid: ${reason}`,
      ),
    );
  }
  if (mode.kind === 'upgrade' && mode.wasmMemoryPersistence === 'keep' && old) fresh.replaceHeap(old.heap());
  // install_code deactivates the global timer; init sees 0 (interface-spec PR 133).
  timer = 0n;
  canister.versionNumber = versionBefore + 1n;

  if (compiled.startExport) {
    const error = invoke(fresh, context('s', timer), { kind: 'export', name: compiled.startExport });
    if (error) return fail(error);
  }
  const hook = mode.kind === 'upgrade' ? 'canister_post_upgrade' : 'canister_init';
  if (fresh.hasExport(hook)) {
    const ctx = context('I', timer);
    const error = invoke(fresh, ctx, { kind: 'export', name: hook });
    if (error) return fail(error);
    if (ctx.globalTimerChanged) timer = ctx.globalTimer;
    certified = ctx.certifiedData ?? certified;
  }
  const limitError = memoryLimitError(canister, fresh);
  if (limitError) return fail(limitError);

  fresh.commit();
  canister.stable.commit();
  canister.runtime = fresh;
  canister.moduleHash = compiled.hash;
  canister.moduleBytes = request.wasm;
  canister.globalTimer = timer;
  canister.certifiedData = certified ?? (mode.kind === 'upgrade' ? canister.certifiedData : new Uint8Array());
  for (const c of contexts) {
    logs.push(...c.logs);
    canister.balance -= c.cyclesSpent;
  }
  return { logs, instructionsUsed: contexts.at(-1)?.instructionsUsed ?? 0n, compiled };
}

const EOP_SECTION = 'enhanced-orthogonal-persistence';
const usesEop = (m: CompiledModule): boolean => m.metadata.some((s) => s.name === EOP_SECTION);

/**
 * The replica's safety guards for Motoko's enhanced orthogonal persistence
 * (dfinity/ic `rs/execution_environment/src/execution/upgrade.rs`,
 * `determine_main_memory_handling`): an upgrade of an EOP canister must name
 * `wasm_memory_persistence` (either value: `replace` discards the heap as an
 * upgrade without the option does), and `keep` needs an EOP module.
 */
function checkPersistenceOption(
  old: CompiledModule,
  next: CompiledModule,
  persistence: WasmMemoryPersistence,
): UserError | undefined {
  if (persistence === undefined && usesEop(old)) {
    return new UserError(
      'CanisterContractViolation',
      'Missing upgrade option: Enhanced orthogonal persistence requires the `wasm_memory_persistence` upgrade option.',
    );
  }
  if (persistence === 'keep' && !usesEop(next)) {
    return new UserError(
      'CanisterContractViolation',
      'Invalid upgrade option: The `wasm_memory_persistence: opt Keep` upgrade option requires that the new canister module supports enhanced orthogonal persistence.',
    );
  }
  return undefined;
}

/** `uninstall_code`: the canister keeps its id, controllers, cycles and chunk store, and loses its code and memories. */
export function uninstallCode(canister: CanisterState): void {
  canister.runtime = undefined;
  canister.moduleHash = undefined;
  canister.moduleBytes = undefined;
  canister.stable.clear();
  canister.certifiedData = new Uint8Array();
  canister.globalTimer = 0n;
  canister.versionNumber += 1n;
}
