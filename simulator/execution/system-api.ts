/**
 * The `ic0` System API as Wasm imports. One `SystemApi` serves one canister
 * instance: the imports are bound once at instantiation and read the message
 * being executed from `context`, which the executor sets per message.
 *
 * Semantics: IC interface specification, "Canister interface (System API)".
 * Limits and texts: dfinity/ic `rs/embedders/src/wasmtime_embedder/system_api.rs`.
 */
import { CONTEXT_NAMES, isAllowed, isReplicated, type ContextKind } from './context.ts';
import type { MessageContext, OutgoingCall } from './message.ts';
import { TrapSignal, contractViolation, tagIc0Frame } from './trap.ts';
import { WASM_PAGE_SIZE, type StableMemory } from '../canister/stable-memory.ts';
import { concatBytes, toHex } from '../bytes.ts';
import { RejectCode } from '../errors.ts';
import { reject, reply } from '../result.ts';
import type { Fees } from '../cycles/fees.ts';

/** What the System API needs to know about the canister it runs in. */
export interface CanisterEnv {
  readonly idBytes: Uint8Array;
  readonly idText: string;
  readonly stable: StableMemory;
  subnetIdBytes(): Uint8Array;
  cycles(): bigint;
  /** 1 running, 2 stopping, 3 stopped. */
  statusCode(): number;
  version(): bigint;
  isController(principal: Uint8Array): boolean;
  rootKey(): Uint8Array;
  environmentVariables(): { name: string; value: string }[];
  wasmMemoryLimit(): bigint;
  /** How many more requests to `callee` fit in the canister's queues (`available_output_request_slots`). */
  availableRequestSlots(callee: Uint8Array): number;
  /** The subnet's fees (cycles/fees.ts): `ic0.cost_*` and what calls withdraw. */
  readonly fees: Fees;
  /** The balance the canister must keep (cycles/account.ts): transfers, burns and calls stop above it. */
  freezingThreshold(): bigint;
  /** The fee of threshold key `name` of `scheme` at the subnet holding it; undefined when none does. */
  thresholdKeyFee(scheme: 'ecdsa' | 'bip340' | 'ed25519' | 'vetkd', name: string): bigint | undefined;
}

/** Access to the instance's linear memory; the buffer may move after `memory.grow`. */
export interface MemoryAccess {
  /** The heap's bytes, or undefined when the module declares no memory. */
  bytes(): Uint8Array | undefined;
  /** Called before `length` bytes at `offset` are written, so that a rollback can restore them. */
  willWrite(offset: number, length: number): void;
}

/** Live access to the instance's instruction counter (the `canister counter_instructions` global). */
export interface InstructionMeter {
  /** The counter's current value, or undefined when the module is not metered. */
  counter(): bigint | undefined;
}

/** 2 MiB for replicated replies, 3 MiB for non-replicated queries (spec: "Responding"). */
const MAX_REPLY_REPLICATED = 2 * 1024 * 1024;
const MAX_REPLY_QUERY = 3 * 1024 * 1024;
/** The most bytes `ic0.certified_data_set` accepts (spec: "Certified data"). */
const MAX_CERTIFIED_DATA = 32;
/** 4 GiB in pages: what the 32-bit stable memory API can address. */
const MAX_STABLE32_PAGES = 2 ** 32 / WASM_PAGE_SIZE;
const MAX_CALL_TIMEOUT_SECONDS = 300;
const CYCLES_MASK = (1n << 64n) - 1n;

type Num = number | bigint;
type Fn = (...args: Num[]) => Num | void;

const num = (x: Num): number => (typeof x === 'bigint' ? Number(x) : x);
const big = (x: Num): bigint => (typeof x === 'bigint' ? x : BigInt(x >>> 0));
const u64 = (x: Num): bigint => BigInt.asUintN(64, big(x));

export class SystemApi {
  context: MessageContext | undefined;
  readonly #env: CanisterEnv;
  readonly #memory: MemoryAccess;
  readonly #wasm64: boolean;
  readonly #decoder = new TextDecoder('utf-8', { fatal: true });
  /** Called for each `debug_print`, even in queries, as the replica prints them to its log. */
  readonly #onPrint: (text: string) => void;
  readonly #meter: InstructionMeter;

  constructor(
    env: CanisterEnv,
    memory: MemoryAccess,
    wasm64: boolean,
    onPrint: (text: string) => void,
    meter: InstructionMeter = { counter: () => undefined },
  ) {
    this.#env = env;
    this.#memory = memory;
    this.#wasm64 = wasm64;
    this.#onPrint = onPrint;
    this.#meter = meter;
  }

  /**
   * Instructions the current message has executed so far: its limit minus
   * the live counter (the executor started the counter at the limit minus
   * what earlier executions of the message used).
   */
  instructionsUsed(ctx: MessageContext): bigint {
    const counter = this.#meter.counter();
    if (counter === undefined) return ctx.instructionsUsed;
    const used = ctx.instructionLimit - counter;
    return used < 0n ? 0n : used;
  }

  /** The `ic0` import object for the names the module imports; unknown names trap when called. */
  imports(names: string[]): Record<string, Fn> {
    const impl = this.#functions();
    const out: Record<string, Fn> = {};
    for (const name of names) {
      const f = impl[name];
      out[name] = f
        ? (...args: Num[]) => {
            this.#check(name);
            try {
              return f(...args);
            } catch (e) {
              // A trap inside a function the replica runs as Wasm gets that function's frame.
              tagIc0Frame(e, name);
              throw e;
            }
          }
        : () => {
            throw contractViolation(`ic0.${name} is not supported by icsim`);
          };
    }
    return out;
  }

  #ctx(): MessageContext {
    const ctx = this.context;
    if (!ctx) throw contractViolation('System API called outside of a message execution', true);
    return ctx;
  }

  #check(name: string): void {
    const kind: ContextKind = this.#ctx().kind;
    if (!isAllowed(name, kind)) {
      // Wording of docs/references/execution-errors.md ("ic0.call_new cannot be executed in non-replicated query mode").
      throw contractViolation(`"ic0_${name}" cannot be executed in ${CONTEXT_NAMES[kind]} mode`);
    }
  }

  /** `I` results: i64 on wasm64, i32 otherwise. */
  #size(n: number): Num {
    return this.#wasm64 ? BigInt(n) : n;
  }

  /**
   * The heap a call reads or writes. A module without memory installs and runs,
   * but every System API call that touches the heap traps, even for zero bytes
   * (dfinity/ic rs/embedders/src/wasmtime_embedder/linker.rs,
   * `with_memory_and_system_api`).
   */
  #heap(): Uint8Array {
    const mem = this.#memory.bytes();
    if (mem === undefined) throw contractViolation('WebAssembly module must define memory', true);
    return mem;
  }

  #read(src: Num, size: Num, what: string): Uint8Array {
    return this.#view(src, size, what).slice();
  }

  /**
   * The heap bytes a call reads, without copying them: only for a consumer that copies them
   * at once and runs no Wasm meanwhile (the heap may move when it grows).
   */
  #view(src: Num, size: Num, what: string): Uint8Array {
    const mem = this.#heap();
    const s = num(src);
    const n = num(size);
    if (s < 0 || n < 0 || s + n > mem.length) {
      throw contractViolation(`${what}: src=${s} + length=${n} exceeds the slice size=${mem.length}`, true);
    }
    return mem.subarray(s, s + n);
  }

  #write(dst: Num, data: Uint8Array, what: string): void {
    this.#writable(dst, data.length, what).set(data);
  }

  /** The heap bytes a call is about to write, checked and journaled: the caller fills them at once. */
  #writable(dst: Num, length: number, what: string): Uint8Array {
    const mem = this.#heap();
    const d = num(dst);
    if (d < 0 || d + length > mem.length) {
      throw contractViolation(
        `${what}: dst=${d} + length=${length} exceeds the slice size=${mem.length}`,
        true,
      );
    }
    this.#memory.willWrite(d, length);
    return mem.subarray(d, d + length);
  }

  /** The `*_copy(dst, offset, size)` pattern: copy `size` bytes of `data` from `offset`. */
  #copy(name: string, data: Uint8Array, dst: Num, offset: Num, size: Num): void {
    const o = num(offset);
    const n = num(size);
    if (o + n > data.length) {
      throw contractViolation(
        `ic0.${name}: offset + size (${o + n}) exceeds the length ${data.length}`,
        true,
      );
    }
    this.#write(dst, data.subarray(o, o + n), `ic0.${name}`);
  }

  #write128(dst: Num, value: bigint, name: string): void {
    const out = new Uint8Array(16);
    const view = new DataView(out.buffer);
    view.setBigUint64(0, value & CYCLES_MASK, true);
    view.setBigUint64(8, (value >> 64n) & CYCLES_MASK, true);
    this.#write(dst, out, `ic0.${name}`);
  }

  #text(bytes: Uint8Array, what: string): string {
    try {
      return this.#decoder.decode(bytes);
    } catch {
      throw contractViolation(`${what}: invalid UTF-8 string provided`);
    }
  }

  #respond(name: string): MessageContext {
    const ctx = this.#ctx();
    if (ctx.alreadyResponded || ctx.response) {
      throw contractViolation(`ic0.${name}: the call is already replied`);
    }
    return ctx;
  }

  #keyCost(
    name: string,
    src: Num,
    size: Num,
    scheme: 'ecdsa' | 'bip340' | 'ed25519' | 'vetkd' | undefined,
    dst: Num,
  ): number {
    const key = this.#text(this.#read(src, size, `ic0.${name}`), `ic0.${name}`);
    if (scheme === undefined) return 1;
    const fee = this.#env.thresholdKeyFee(scheme, key);
    if (fee === undefined) return 2;
    this.#write128(dst, fee, name);
    return 0;
  }

  #balance(ctx: MessageContext): bigint {
    return this.#env.cycles() + ctx.cyclesAccepted - ctx.cyclesSpent;
  }

  /** What the canister may spend: its balance above the freezing threshold. */
  #liquid(ctx: MessageContext): bigint {
    const free = this.#balance(ctx) - this.#env.freezingThreshold();
    return free > 0n ? free : 0n;
  }

  /**
   * Withdraws the fees of a call about to be performed: its request and the
   * largest response's transmission and execution (`withdraw_request_cycles`,
   * dfinity/ic `rs/cycles_account_manager`). False when they would take the
   * canister below its freezing threshold: the call is dropped, its attached
   * cycles return to the balance, and `call_perform` returns 2 (SYS_TRANSIENT),
   * as `push_output_request` in dfinity/ic `rs/embedders/src/wasmtime_embedder/system_api.rs`.
   */
  #chargeCall(ctx: MessageContext, call: OutgoingCall): boolean {
    const fees = this.#env.fees;
    const payload = BigInt(new TextEncoder().encode(call.method).length + call.arg.length);
    const fee = fees.callTotalFee(payload, this.#wasm64);
    if (fee > this.#liquid(ctx)) {
      ctx.cyclesSpent -= call.cycles;
      return false;
    }
    ctx.cyclesSpent += fee;
    call.prepaidResponseTransmission = fees.responseTransmissionPrepayment();
    call.prepaidResponseExecution = fees.responseExecutionPrepayment(this.#wasm64);
    return true;
  }

  #stableCheck(offset: bigint, size: bigint): void {
    if (!this.#env.stable.inBounds(offset, size)) {
      throw new TrapSignal({ kind: 'Trapped', code: 'stable memory out of bounds' });
    }
  }

  #functions(): Record<string, Fn> {
    const env = this.#env;
    const caller = (): Uint8Array => this.#ctx().caller;
    const stable = env.stable;
    const replyLimit = (kind: ContextKind): number =>
      kind === 'NRQ' || kind === 'CQ' || kind === 'CRy' || kind === 'CRt'
        ? MAX_REPLY_QUERY
        : MAX_REPLY_REPLICATED;

    const acceptCycles = (max: bigint): bigint => {
      const ctx = this.#ctx();
      const amount = max < ctx.cyclesAvailable ? max : ctx.cyclesAvailable;
      ctx.cyclesAvailable -= amount;
      ctx.cyclesAccepted += amount;
      return amount;
    };
    const addCycles = (amount: bigint): void => {
      const ctx = this.#ctx();
      const call = ctx.pendingCall;
      if (!call)
        throw contractViolation('ic0.call_cycles_add128 called when no call is under construction.', true);
      // `withdraw_cycles_for_transfer`: attached cycles must leave the freezing threshold untouched.
      const balance = this.#balance(ctx);
      if (amount > this.#liquid(ctx)) {
        throw new TrapSignal({
          kind: 'InsufficientCyclesBalance',
          canister: env.idText,
          available: balance,
          requested: amount,
        });
      }
      ctx.cyclesSpent += amount;
      call.cycles += amount;
    };
    const stableRead = (dst: Num, offset: bigint, size: Num): void => {
      const n = num(size);
      this.#stableCheck(offset, BigInt(n));
      // Straight from the pages into the heap, without a buffer between.
      stable.read(Number(offset), this.#writable(dst, n, 'ic0.stable64_read'));
    };
    const stableWrite = (offset: bigint, src: Num, size: Num): void => {
      // Straight from the heap into the pages: stable.write copies, and the heap is not written meanwhile.
      const data = this.#view(src, size, 'ic0.stable64_write');
      this.#stableCheck(offset, BigInt(data.length));
      stable.write(Number(offset), data);
    };

    return {
      msg_arg_data_size: () => this.#size(this.#ctx().arg.length),
      msg_arg_data_copy: (dst, off, size) => this.#copy('msg_arg_data_copy', this.#ctx().arg, dst, off, size),
      msg_caller_size: () => this.#size(caller().length),
      msg_caller_copy: (dst, off, size) => this.#copy('msg_caller_copy', caller(), dst, off, size),
      msg_caller_info_data_size: () => this.#size(0),
      msg_caller_info_data_copy: (dst, off, size) =>
        this.#copy('msg_caller_info_data_copy', new Uint8Array(), dst, off, size),
      msg_caller_info_signer_size: () => this.#size(0),
      msg_caller_info_signer_copy: (dst, off, size) =>
        this.#copy('msg_caller_info_signer_copy', new Uint8Array(), dst, off, size),
      msg_reject_code: () => this.#ctx().rejectCode,
      msg_reject_msg_size: () => this.#size(new TextEncoder().encode(this.#ctx().rejectMessage).length),
      msg_reject_msg_copy: (dst, off, size) =>
        this.#copy(
          'msg_reject_msg_copy',
          new TextEncoder().encode(this.#ctx().rejectMessage),
          dst,
          off,
          size,
        ),
      msg_deadline: () => this.#ctx().deadline,
      msg_reply_data_append: (src, size) => {
        const ctx = this.#respond('msg_reply_data_append');
        const data = this.#read(src, size, 'ic0.msg_reply_data_append');
        const limit = replyLimit(ctx.kind);
        if (ctx.replySize + data.length > limit) {
          throw contractViolation(
            `ic0.msg_reply_data_append: application payload size (${ctx.replySize + data.length}) cannot be larger than ${limit}.`,
          );
        }
        ctx.replyParts.push(data);
        ctx.replySize += data.length;
      },
      msg_reply: () => {
        const ctx = this.#respond('msg_reply');
        ctx.response = reply(concatBytes(ctx.replyParts));
      },
      msg_reject: (src, size) => {
        const ctx = this.#respond('msg_reject');
        const message = this.#text(this.#read(src, size, 'ic0.msg_reject'), 'ic0.msg_reject');
        ctx.response = reject('CanisterReject', message);
      },
      msg_cycles_available: () => {
        const v = this.#ctx().cyclesAvailable;
        if (v > CYCLES_MASK) throw new TrapSignal({ kind: 'Trapped', code: 'unknown' });
        return v;
      },
      msg_cycles_available128: (dst) =>
        this.#write128(dst, this.#ctx().cyclesAvailable, 'msg_cycles_available128'),
      msg_cycles_refunded: () => this.#ctx().cyclesRefunded & CYCLES_MASK,
      msg_cycles_refunded128: (dst) =>
        this.#write128(dst, this.#ctx().cyclesRefunded, 'msg_cycles_refunded128'),
      msg_cycles_accept: (max) => acceptCycles(u64(max)),
      msg_cycles_accept128: (high, low, dst) =>
        this.#write128(dst, acceptCycles((u64(high) << 64n) | u64(low)), 'msg_cycles_accept128'),
      cycles_burn128: (high, low, dst) => {
        const ctx = this.#ctx();
        const wanted = (u64(high) << 64n) | u64(low);
        // `cycles_burn`: as much as asked, down to the freezing threshold.
        const liquid = this.#liquid(ctx);
        const burned = wanted < liquid ? wanted : liquid;
        ctx.cyclesSpent += burned;
        this.#write128(dst, burned, 'cycles_burn128');
      },
      canister_self_size: () => this.#size(env.idBytes.length),
      canister_self_copy: (dst, off, size) => this.#copy('canister_self_copy', env.idBytes, dst, off, size),
      canister_cycle_balance: () => {
        const b = this.#balance(this.#ctx());
        if (b > CYCLES_MASK) throw new TrapSignal({ kind: 'Trapped', code: 'unknown' });
        return b;
      },
      canister_cycle_balance128: (dst) =>
        this.#write128(dst, this.#balance(this.#ctx()), 'canister_cycle_balance128'),
      canister_liquid_cycle_balance128: (dst) =>
        this.#write128(dst, this.#liquid(this.#ctx()), 'canister_liquid_cycle_balance128'),
      canister_status: () => env.statusCode(),
      canister_version: () => env.version(),
      subnet_self_size: () => this.#size(env.subnetIdBytes().length),
      subnet_self_copy: (dst, off, size) =>
        this.#copy('subnet_self_copy', env.subnetIdBytes(), dst, off, size),
      msg_method_name_size: () => this.#size(new TextEncoder().encode(this.#ctx().methodName).length),
      msg_method_name_copy: (dst, off, size) =>
        this.#copy('msg_method_name_copy', new TextEncoder().encode(this.#ctx().methodName), dst, off, size),
      accept_message: () => {
        const ctx = this.#ctx();
        if (ctx.messageAccepted)
          throw contractViolation('ic0.accept_message: the function was already called.');
        ctx.messageAccepted = true;
      },
      call_new: (calleeSrc, calleeSize, nameSrc, nameSize, replyFn, replyEnv, rejectFn, rejectEnv) => {
        const ctx = this.#ctx();
        const callee = this.#read(calleeSrc, calleeSize, 'ic0.call_new');
        const method = this.#text(this.#read(nameSrc, nameSize, 'ic0.call_new'), 'ic0.call_new');
        if (ctx.pendingCall) ctx.cyclesSpent -= ctx.pendingCall.cycles; // an abandoned call returns its cycles
        ctx.pendingCall = {
          callee,
          method,
          arg: new Uint8Array(),
          cycles: 0n,
          reply: { fn: num(replyFn), env: replyEnv },
          reject: { fn: num(rejectFn), env: rejectEnv },
          prepaidResponseTransmission: 0n,
          prepaidResponseExecution: 0n,
        };
      },
      call_on_cleanup: (fn, envArg) => {
        const call = this.#ctx().pendingCall;
        if (!call)
          throw contractViolation('ic0.call_on_cleanup called when no call is under construction.', true);
        if (call.cleanup)
          throw contractViolation(
            'ic0.call_on_cleanup can be called at most once between `ic0.call_new` and `ic0.call_perform`.',
            true,
          );
        call.cleanup = { fn: num(fn), env: envArg };
      },
      call_data_append: (src, size) => {
        const call = this.#ctx().pendingCall;
        if (!call)
          throw contractViolation('ic0.call_data_append called when no call is under construction.', true);
        const data = this.#read(src, size, 'ic0.call_data_append');
        const arg = new Uint8Array(call.arg.length + data.length);
        arg.set(call.arg);
        arg.set(data, call.arg.length);
        call.arg = arg;
      },
      call_with_best_effort_response: (timeout) => {
        const call = this.#ctx().pendingCall;
        if (!call)
          throw contractViolation(
            'ic0.call_with_best_effort_response called when no call is under construction.',
            true,
          );
        if (call.timeoutSeconds !== undefined) {
          throw contractViolation(
            'ic0.call_with_best_effort_response can be called at most once between `ic0.call_new` and `ic0.call_perform`.',
            true,
          );
        }
        call.timeoutSeconds = Math.min(num(timeout) >>> 0, MAX_CALL_TIMEOUT_SECONDS);
      },
      call_cycles_add: (amount) => addCycles(u64(amount)),
      call_cycles_add128: (high, low) => addCycles((u64(high) << 64n) | u64(low)),
      call_perform: () => {
        const ctx = this.#ctx();
        const call = ctx.pendingCall;
        if (!call)
          throw contractViolation('ic0.call_perform called when no call is under construction.', true);
        ctx.pendingCall = undefined;
        // A call with no slot left in the queues to and from its callee is not made: its
        // cycles come back, no callback is registered, and call_perform returns
        // SYS_TRANSIENT (dfinity/ic rs/embedders/src/wasmtime_embedder/system_api/
        // sandbox_safe_system_state.rs `push_output_request`; system_api.rs, same name).
        const key = toHex(call.callee);
        const slots = ctx.requestSlots.get(key) ?? env.availableRequestSlots(call.callee);
        if (slots <= 0) {
          ctx.cyclesSpent -= call.cycles;
          return RejectCode.SysTransient;
        }
        if (!this.#chargeCall(ctx, call)) return RejectCode.SysTransient;
        ctx.requestSlots.set(key, slots - 1);
        call.senderVersion = env.version();
        ctx.calls.push(call);
        return 0;
      },
      stable_size: () => {
        if (stable.size > MAX_STABLE32_PAGES)
          throw new TrapSignal({
            kind: 'Trapped',
            code: '32 bit stable memory api used on a memory larger than 4GB',
          });
        return stable.size;
      },
      stable_grow: (delta) => {
        if (stable.size > MAX_STABLE32_PAGES)
          throw new TrapSignal({
            kind: 'Trapped',
            code: '32 bit stable memory api used on a memory larger than 4GB',
          });
        return stable.grow(num(delta) >>> 0, MAX_STABLE32_PAGES);
      },
      stable_write: (offset, src, size) => {
        if (stable.size > MAX_STABLE32_PAGES)
          throw new TrapSignal({
            kind: 'Trapped',
            code: '32 bit stable memory api used on a memory larger than 4GB',
          });
        stableWrite(big(offset), src, size);
      },
      stable_read: (dst, offset, size) => {
        if (stable.size > MAX_STABLE32_PAGES)
          throw new TrapSignal({
            kind: 'Trapped',
            code: '32 bit stable memory api used on a memory larger than 4GB',
          });
        stableRead(dst, big(offset), size);
      },
      stable64_size: () => BigInt(stable.size),
      stable64_grow: (delta) => {
        const d = u64(delta);
        if (d > BigInt(Number.MAX_SAFE_INTEGER)) return -1n;
        return BigInt(stable.grow(Number(d)));
      },
      stable64_write: (offset, src, size) => stableWrite(u64(offset), src, size),
      stable64_read: (dst, offset, size) => stableRead(dst, u64(offset), size),
      root_key_size: () => this.#size(env.rootKey().length),
      root_key_copy: (dst, off, size) => this.#copy('root_key_copy', env.rootKey(), dst, off, size),
      certified_data_set: (src, size) => {
        const data = this.#read(src, size, 'ic0.certified_data_set');
        if (data.length > MAX_CERTIFIED_DATA) {
          throw contractViolation(
            `ic0_certified_data_set failed because the passed data must be no larger than ${MAX_CERTIFIED_DATA} bytes. Found ${data.length} bytes.`,
          );
        }
        this.#ctx().certifiedData = data;
      },
      data_certificate_present: () => (this.#ctx().dataCertificate?.() ? 1 : 0),
      data_certificate_size: () => this.#size(this.#ctx().dataCertificate?.()?.length ?? 0),
      data_certificate_copy: (dst, off, size) =>
        this.#copy(
          'data_certificate_copy',
          this.#ctx().dataCertificate?.() ?? new Uint8Array(),
          dst,
          off,
          size,
        ),
      time: () => this.#ctx().time,
      global_timer_set: (t) => {
        const ctx = this.#ctx();
        const previous = ctx.globalTimer;
        ctx.globalTimer = u64(t);
        ctx.globalTimerChanged = true;
        return previous;
      },
      performance_counter: (type) => {
        const t = num(type);
        if (t !== 0 && t !== 1) throw contractViolation(`ic0.performance_counter: unknown counter type ${t}`);
        // 0: the current message; 1: the call context (earlier executions of it plus this one).
        const ctx = this.#ctx();
        const used = this.instructionsUsed(ctx);
        return t === 0 ? used : ctx.callContextInstructions + used;
      },
      is_controller: (src, size) => {
        const principal = this.#read(src, size, 'ic0.is_controller');
        if (principal.length > 29)
          throw contractViolation('ic0.is_controller: the argument is not a valid principal', true);
        return env.isController(principal) ? 1 : 0;
      },
      in_replicated_execution: () => (isReplicated(this.#ctx().kind) ? 1 : 0),
      // The numbers the subnet charges (cycles/fees.ts): what `call_perform`, `create_canister`
      // and `http_request` withdraw, on this subnet's size and cost schedule.
      cost_call: (methodNameSize, payloadSize, dst) =>
        this.#write128(
          dst,
          env.fees.callTotalFee(u64(methodNameSize) + u64(payloadSize), this.#wasm64),
          'cost_call',
        ),
      cost_create_canister: (dst) =>
        this.#write128(dst, env.fees.canisterCreationFee(), 'cost_create_canister'),
      cost_http_request: (requestSize, maxResponse, dst) =>
        this.#write128(dst, env.fees.httpRequestFee(u64(requestSize), u64(maxResponse)), 'cost_http_request'),
      // 0 and the fee at the key's subnet; 1 for a curve or algorithm the interface does not
      // know; 2 for a key no subnet holds (interface spec, "Cycles": ic0.cost_sign_with_ecdsa …).
      cost_sign_with_ecdsa: (src, size, curve, dst) =>
        this.#keyCost('cost_sign_with_ecdsa', src, size, num(curve) === 0 ? 'ecdsa' : undefined, dst),
      cost_sign_with_schnorr: (src, size, alg, dst) =>
        this.#keyCost(
          'cost_sign_with_schnorr',
          src,
          size,
          num(alg) === 0 ? 'bip340' : num(alg) === 1 ? 'ed25519' : undefined,
          dst,
        ),
      cost_vetkd_derive_key: (src, size, curve, dst) =>
        this.#keyCost('cost_vetkd_derive_key', src, size, num(curve) === 0 ? 'vetkd' : undefined, dst),
      env_var_count: () => this.#size(env.environmentVariables().length),
      env_var_name_size: (index) => this.#size(new TextEncoder().encode(this.#envVar(index).name).length),
      env_var_name_copy: (index, dst, off, size) =>
        this.#copy('env_var_name_copy', new TextEncoder().encode(this.#envVar(index).name), dst, off, size),
      env_var_name_exists: (src, size) => {
        const name = this.#text(this.#read(src, size, 'ic0.env_var_name_exists'), 'ic0.env_var_name_exists');
        return env.environmentVariables().some((v) => v.name === name) ? 1 : 0;
      },
      env_var_value_size: (src, size) =>
        this.#size(new TextEncoder().encode(this.#envValue(src, size)).length),
      env_var_value_copy: (src, size, dst, off, len) =>
        this.#copy('env_var_value_copy', new TextEncoder().encode(this.#envValue(src, size)), dst, off, len),
      debug_print: (src, size) => {
        // Never traps: an out-of-bounds message is replaced, as the replica does (dfinity/ic
        // rs/embedders/src/wasmtime_embedder/system_api.rs ic0_debug_print: "Do not trap here!").
        let bytes: Uint8Array;
        try {
          bytes = this.#read(src, size, 'ic0.debug_print');
        } catch {
          bytes = new TextEncoder().encode('(debug message out of memory bounds)');
        }
        this.#ctx().logs.push(bytes);
        this.#onPrint(new TextDecoder().decode(bytes));
      },
      trap: (src, size) => {
        const bytes = this.#read(src, size, 'ic0.trap');
        throw new TrapSignal({ kind: 'CalledTrap', message: new TextDecoder().decode(bytes) });
      },
      mint_cycles128: () => {
        throw contractViolation('ic0.mint_cycles128 can only be executed on the Cycles Minting Canister');
      },
    };
  }

  #envVar(index: Num): { name: string; value: string } {
    const vars = this.#env.environmentVariables();
    const i = num(index);
    const v = vars[i];
    if (!v)
      throw contractViolation(
        `Environment variable index ${i} is out of bounds. The number of environment variables is ${vars.length}.`,
      );
    return v;
  }

  #envValue(src: Num, size: Num): string {
    const name = this.#text(this.#read(src, size, 'ic0.env_var_value'), 'ic0.env_var_value');
    const v = this.#env.environmentVariables().find((e) => e.name === name);
    if (!v) throw contractViolation(`Environment variable ${name} not found.`);
    return v.value;
  }
}
