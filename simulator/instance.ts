/**
 * An icsim instance: a set of subnets with their canisters, a virtual clock
 * and the round model, driven through the same operations PocketIC offers.
 * Every adapter (the PocketIC REST server, the IC HTTP interface, in-process
 * users) calls these methods; no behaviour lives anywhere else.
 *
 * @example
 * const ic = Instance.create({ subnets: [{ kind: 'Application' }] });
 * const sent = ic.submitIngress({ sender, canisterId: Principal.managementCanister(),
 *   method: 'provisional_create_canister_with_cycles', arg, effectivePrincipal: { kind: 'none' } });
 * const outcome = ic.awaitIngress(sent.messageId, sent.effectivePrincipal);
 */
import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import { equalBytes, toHex } from './bytes.ts';
import { InstanceError, UserError, checkAutoProgressDelay, rejectCodeName } from './errors.ts';
import { CanisterState } from './canister/state.ts';
import { WASM_PAGE_SIZE } from './canister/stable-memory.ts';
import { ManagementCanister } from './management/canister.ts';
import * as mgmtErrors from './management/errors.ts';
import { thresholdKeyFee } from './management/threshold/keys.ts';
import { instructionLimits, type InstructionLimits } from './execution/limits.ts';
import { reject, reply, type CallResult, type Reject, type TrapReport } from './result.ts';
import { GENESIS_NS, Replica } from './subnet/replica.ts';
import type { PendingOutcall } from './subnet/https-outcalls.ts';
import { HttpRequestResult, TransformArgs } from './management/idl.ts';
import { defaultSubnet, planSubnets, topologyOf } from './topology.ts';
import { Subnet } from './subnet/subnet.ts';
import { InstanceSnapshots } from './snapshot/instance-snapshot.ts';
import { faultProblem } from './mocks/check-fault.ts';
import type { MockMethods } from './mocks/types.ts';
import type {
  CanisterCall,
  CanisterInfo,
  EffectivePrincipal,
  Fault,
  HttpOutcallResponse,
  InstanceConfig,
  PendingHttpOutcall,
  SubmittedIngress,
  Topology,
} from './types.ts';

/** PocketIC's `await_ingress_message` gives up after this many rounds. */
const MAX_AWAIT_ROUNDS = 100;

export interface InstanceOptions {
  /** Receives each `debug_print` line, formatted like the replica's log. */
  onCanisterLog?: (line: string) => void;
  /**
   * Instruction limits that replace those of every subnet's instruction config
   * (e.g. `{ message: 1_000_000n }` to hit IC0522 quickly in a test). Install
   * code run through the management canister keeps its own limit.
   */
  instructionLimits?: Partial<InstructionLimits>;
}

/** Each instance's replica, for `replicaOf`: not a property, so adapters cannot reach it through an `Instance`. */
const replicas = new WeakMap<Instance, Replica>();

/**
 * The replica behind `instance`, for the simulator core's own tests and
 * benchmarks that inspect canister state. Adapters use `Instance`'s methods
 * only; eslint.config.js bars them from importing this.
 */
export function replicaOf(instance: Instance): Replica {
  return replicas.get(instance)!;
}

export class Instance {
  readonly #replica: Replica;
  #autoProgress: ReturnType<typeof setInterval> | undefined;
  #deleted = false;
  readonly #snapshots: InstanceSnapshots;

  private constructor(replica: Replica) {
    this.#replica = replica;
    this.#snapshots = new InstanceSnapshots(replica);
    replicas.set(this, replica);
  }

  /**
   * Creates an instance with the given subnets (at least one, at most one of
   * each named kind), ordered and given canister ranges as PocketIC does.
   * @throws InstanceError `BadConfig` for an empty or duplicated subnet list.
   * @example
   * const ic = Instance.create({ subnets: [{ kind: 'NNS' }, { kind: 'Application' }] });
   */
  static create(config: InstanceConfig, options: InstanceOptions = {}): Instance {
    const plans = planSubnets(config);
    const replica = new Replica(config.initialTimeNs ?? GENESIS_NS);
    if (options.onCanisterLog) replica.onCanisterLog = options.onCanisterLog;
    if (options.instructionLimits) replica.instructionLimitOverrides = { ...options.instructionLimits };
    for (const plan of plans) {
      const limits = instructionLimits(plan.instructionConfig, replica.instructionLimitOverrides);
      replica.subnets.push(new Subnet(plan, limits.message));
    }
    const instance = new Instance(replica);
    replica.management = new ManagementCanister({
      replica,
      createCanister: (subnet, o) => instance.#createCanister(subnet, o),
      deleteCanister: (c) => instance.#deleteCanister(c),
    });
    return instance;
  }

  /** The subnet that canisters go to by default: PocketIC's default effective canister id. */
  #defaultSubnet(): Subnet {
    return defaultSubnet(this.#replica.subnets);
  }

  /**
   * The subnets (id, kind, size, canister ranges) and the default effective
   * canister id, as PocketIC's `/_/topology` reports them.
   * @example
   * const { subnets, defaultEffectiveCanisterId } = ic.getTopology();
   */
  getTopology(): Topology {
    return topologyOf(this.#replica.subnets);
  }

  // ---- time ----------------------------------------------------------------

  /**
   * Current time in ns since 1970 (the time the next round runs at).
   * @example
   * const now = new Date(Number(ic.getTime() / 1_000_000n));
   */
  getTime(): bigint {
    return this.#replica.time;
  }

  /**
   * The time of the last round (ns since 1970): what queries and certificates see.
   * @example
   * ic.setTime(t);
   * ic.tick();
   * ic.getCertifiedTime(); // t
   */
  getCertifiedTime(): bigint {
    return this.#replica.certifiedTime;
  }

  /**
   * Sets the time of the next round; queries see it after a `tick`.
   * @throws InstanceError `SettingTimeIntoPast`: going back is refused, as in PocketIC.
   * @example
   * ic.setTime(ic.getTime() + 60_000_000_000n); // one minute later
   */
  setTime(ns: bigint): void {
    this.#alive();
    const current = this.#replica.time;
    if (ns < current) throw new InstanceError('SettingTimeIntoPast', current, ns);
    this.#replica.time = ns;
  }

  /**
   * Sets the time and certifies it at once: queries see it without a `tick`.
   * @example
   * ic.setCertifiedTime(BigInt(Date.now()) * 1_000_000n);
   */
  setCertifiedTime(ns: bigint): void {
    this.setTime(ns);
    this.#replica.certifiedTime = ns;
  }

  /**
   * One round on every subnet: expired bounded-wait calls, timers,
   * heartbeats, then pending messages.
   * @example
   * ic.tick(); // fire a due global timer
   */
  tick(): void {
    this.#alive();
    this.#replica.tick();
  }

  // ---- calls ---------------------------------------------------------------

  /**
   * A non-replicated (composite) query against the last committed state;
   * nothing it does persists.
   * @throws InstanceError when the call cannot be routed, or the instance was deleted.
   * @example
   * const result = ic.query({ sender: Principal.anonymous(), canisterId, method: 'read',
   *   arg: IDL.encode([], []), effectivePrincipal: { kind: 'none' } });
   * if (result.status === 'replied') IDL.decode([IDL.Nat], result.reply);
   */
  query(call: CanisterCall): CallResult {
    this.#alive();
    this.#route(call);
    return this.#replica.query(call.sender, call.canisterId, call.method, call.arg);
  }

  /**
   * Submits an ingress message to the subnet it routes to (PocketIC's
   * `route_call`); it runs in the next rounds. A message the ingress filter
   * refuses (missing or stopped canister, `canister_inspect_message`) is
   * rejected at once.
   * @throws InstanceError when the call cannot be routed, or the instance was deleted;
   *   `IngressTooLarge` above the subnet's `max_ingress_bytes_per_message` (2 MiB on application
   *   subnets, 3.5 MiB on system subnets).
   * @example
   * const sent = ic.submitIngress({ sender, canisterId, method: 'inc', arg, effectivePrincipal: { kind: 'none' } });
   * if (sent.status === 'submitted') ic.awaitIngress(sent.messageId);
   */
  submitIngress(call: CanisterCall): SubmittedIngress | Reject {
    this.#alive();
    const subnet = this.#route(call);
    const result = this.#replica.submitIngress(call.sender, call.canisterId, call.method, call.arg, subnet);
    if ('status' in result) return result;
    return {
      status: 'submitted',
      messageId: result.bytes,
      effectivePrincipal: { kind: 'subnet', id: subnet.id },
    };
  }

  /**
   * Runs rounds until the message has an outcome, at most 100 (PocketIC's `AwaitIngressMessage`).
   * @throws InstanceError `IngressTimeout` when it has none after 100 rounds; `BadMessageId`.
   * @example
   * const result = ic.awaitIngress(sent.messageId, sent.effectivePrincipal);
   */
  awaitIngress(messageId: Uint8Array, _effectivePrincipal?: EffectivePrincipal): CallResult {
    this.#alive();
    const id = messageIdHex(messageId);
    for (let round = 0; round <= MAX_AWAIT_ROUNDS; round++) {
      const record = this.#replica.ingress.get(id);
      if (record?.outcome) return withTraps(record.outcome, record.traps);
      if (round < MAX_AWAIT_ROUNDS) this.#replica.tick();
    }
    throw new InstanceError('IngressTimeout', id, MAX_AWAIT_ROUNDS);
  }

  /**
   * The outcome of an ingress message, undefined while it runs or when it is unknown.
   * @throws InstanceError `ForbiddenIngressStatus` when `caller` is not the sender.
   * @example
   * const result = ic.ingressStatus(sent.messageId, sender) ?? 'still running';
   */
  ingressStatus(messageId: Uint8Array, caller?: Principal): CallResult | undefined {
    const record = this.#replica.ingress.get(messageIdHex(messageId));
    if (!record) return undefined;
    if (caller && caller.compareTo(record.sender) !== 'eq') {
      throw new InstanceError('ForbiddenIngressStatus');
    }
    return record.outcome && withTraps(record.outcome, record.traps);
  }

  /**
   * The effective canister id a call to the management canister must carry
   * (IC interface specification, "Effective canister id"): `'any'` for
   * `provisional_create_canister_with_cycles` and `create_canister`, else the
   * argument's `canister_id` (`target_canister` for `install_chunked_code`);
   * undefined when the argument names none.
   * @example
   * const ecid = ic.managementEffectiveCanisterId('canister_status', arg); // the canister_id
   */
  managementEffectiveCanisterId(method: string, arg: Uint8Array): Principal | 'any' | undefined {
    if (method === 'provisional_create_canister_with_cycles' || method === 'create_canister') return 'any';
    return (decodeField(arg, 'canister_id', IDL.Principal) ??
      decodeField(arg, 'target_canister', IDL.Principal)) as Principal | undefined;
  }

  /**
   * Where a call goes, as PocketIC's `route_call`: an explicit effective
   * principal, else the management method's `canister_id` (or `specified_id`
   * for provisional creation), else the target canister.
   */
  #route(call: CanisterCall): Subnet {
    const ep = call.effectivePrincipal;
    if (ep.kind === 'subnet') {
      return this.#subnet(ep.id);
    }
    let target: Principal | undefined = ep.kind === 'canister' ? ep.id : undefined;
    const isManagement = call.canisterId.compareTo(Principal.managementCanister()) === 'eq';
    if (!target && isManagement) {
      if (call.method === 'provisional_create_canister_with_cycles' || call.method === 'create_canister') {
        const specified = decodeField(call.arg, 'specified_id', IDL.Opt(IDL.Principal)) as
          [] | [Principal] | undefined;
        if (!specified?.[0]) return this.#defaultSubnet();
        target = specified[0];
      } else {
        // Most methods name the canister `canister_id`; install_chunked_code names it `target_canister`.
        target = (decodeField(call.arg, 'canister_id', IDL.Principal) ??
          decodeField(call.arg, 'target_canister', IDL.Principal)) as Principal | undefined;
        if (!target) {
          throw new InstanceError('UnroutableManagementCall', call.method);
        }
      }
    }
    target ??= call.canisterId;
    const subnet = this.#replica.subnetHosting(target);
    if (!subnet) throw new InstanceError('CanisterRequestRoutingError', target);
    return subnet;
  }

  // ---- canisters -------------------------------------------------------------

  #createCanister(
    subnet: Subnet | undefined,
    options: { controllers: Principal[]; cycles: bigint; specifiedId?: Principal },
  ): CanisterState | UserError {
    let target = subnet ?? this.#defaultSubnet();
    let id: Principal | undefined;
    if (options.specifiedId) {
      id = options.specifiedId;
      if (this.#replica.findCanister(id)) return mgmtErrors.idAlreadyExists(id);
      const host = this.#replica.subnets.find((s) => s.hostsId(id!));
      if (!host) {
        return new UserError(
          'CanisterNotHostedBySubnet',
          `Unsuccessful validation of specified ID: The specified_id ${id.toText()} does not belong to any subnet.`,
        );
      }
      target = host;
    } else {
      id = target.allocateId();
      if (!id)
        return new UserError(
          'SubnetOversubscribed',
          'Could not create canister. Subnet has surpassed its canister ID allocation.',
        );
    }
    const home = target;
    const canister = new CanisterState({
      id,
      subnetId: target.id,
      controllers: options.controllers,
      cycles: options.cycles,
      rootKey: () => this.getRootKey(),
      fees: target.fees,
      time: this.#replica.roundTime,
      subnetMemoryUsage: () => home.memoryUsage(),
      thresholdKeyFee: (scheme, name) => thresholdKeyFee(this.#replica.subnets, scheme, name),
    });
    target.canisters.set(id.toText(), canister);
    return canister;
  }

  #deleteCanister(canister: CanisterState): void {
    this.#replica.rejectOpenCallContexts(canister, `Canister ${canister.idText} has been deleted.`);
    for (const s of this.#replica.subnets) s.canisters.delete(canister.idText);
  }

  #canister(id: Principal): CanisterState {
    const c = this.#replica.findCanister(id);
    if (!c) throw new InstanceError('CanisterNotFound', id);
    return c;
  }

  /**
   * A canister's cycle balance.
   * @throws InstanceError `CanisterNotFound`.
   * @example
   * const before = ic.getCycles(canisterId);
   */
  getCycles(canisterId: Principal): bigint {
    return this.#canister(canisterId).balance;
  }

  /**
   * Adds cycles to a canister's balance (PocketIC's `add_cycles`) and returns the new balance.
   * @throws InstanceError `CanisterNotFound`.
   * @example
   * ic.addCycles(canisterId, 1_000_000_000_000n);
   */
  addCycles(canisterId: Principal, amount: bigint): bigint {
    const c = this.#canister(canisterId);
    c.balance += amount;
    return c.balance;
  }

  /**
   * A copy of a canister's stable memory.
   * @throws InstanceError `CanisterNotFound`; `CanisterIsEmpty` when no code is installed.
   * @example
   * const saved = ic.getStableMemory(canisterId);
   */
  getStableMemory(canisterId: Principal): Uint8Array {
    const c = this.#canister(canisterId);
    if (!c.runtime) throw new InstanceError('CanisterIsEmpty', canisterId);
    return c.stable.snapshot();
  }

  /**
   * The size of a canister's stable memory in bytes (whole 64 KiB pages), without copying it.
   * @throws InstanceError `CanisterNotFound`; `CanisterIsEmpty` when no code is installed.
   * @example
   * if (ic.getStableMemorySize(canisterId) < 1n << 30n) save(ic.getStableMemory(canisterId));
   */
  getStableMemorySize(canisterId: Principal): bigint {
    const c = this.#canister(canisterId);
    if (!c.runtime) throw new InstanceError('CanisterIsEmpty', canisterId);
    return BigInt(c.stable.size) * BigInt(WASM_PAGE_SIZE);
  }

  /**
   * Replaces a canister's stable memory (growing it to whole pages).
   * @throws InstanceError `CanisterNotFound`; `CanisterIsEmpty` when no code is installed.
   * @example
   * ic.setStableMemory(canisterId, saved);
   */
  setStableMemory(canisterId: Principal, bytes: Uint8Array): void {
    const c = this.#canister(canisterId);
    if (!c.runtime) throw new InstanceError('CanisterIsEmpty', canisterId);
    c.stable.replace(bytes);
  }

  /**
   * The subnet hosting an existing canister, else undefined (PocketIC's `get_subnet`).
   * @example
   * const subnetId = ic.getSubnet(canisterId);
   */
  getSubnet(canisterId: Principal): Principal | undefined {
    if (!this.#replica.findCanister(canisterId)) return undefined;
    return this.#replica.subnetHosting(canisterId)?.id;
  }

  /**
   * A canister's controllers.
   * @throws InstanceError `CanisterNotFound`.
   * @example
   * ic.getControllers(canisterId).some((c) => c.compareTo(me) === 'eq');
   */
  getControllers(canisterId: Principal): Principal[] {
    return [...this.#canister(canisterId).controllers];
  }

  /**
   * What the state tree shows of a canister (controllers, module hash,
   * metadata, certified data), or undefined when there is no such canister.
   * @example
   * const hash = ic.getCanisterInfo(canisterId)?.moduleHash;
   */
  getCanisterInfo(canisterId: Principal): CanisterInfo | undefined {
    const c = this.#replica.findCanister(canisterId);
    return c && canisterInfo(c);
  }

  /**
   * The canisters a subnet hosts, as its state tree shows them.
   * @throws InstanceError `SubnetNotFound`.
   * @example
   * const ids = ic.listCanisters(subnetId).map((c) => c.id.toText());
   */
  listCanisters(subnetId: Principal): CanisterInfo[] {
    return [...this.#subnet(subnetId).canisters.values()].map(canisterInfo);
  }

  /**
   * The subnet a call to `id` is routed to: the one hosting it, else the one
   * whose canister ranges contain it; unlike `getSubnet`, the canister need
   * not exist.
   * @example
   * const subnetId = ic.getSubnetForId(ic.getTopology().defaultEffectiveCanisterId);
   */
  getSubnetForId(id: Principal): Principal | undefined {
    return this.#replica.subnetHosting(id)?.id;
  }

  /**
   * Installs what signs data certificates: a non-replicated query that calls
   * `data_certificate_*` receives `signer(canister)`. The IC HTTP interface
   * installs it, since it certifies the state tree.
   * @example
   * ic.setDataCertificateSigner((canister) => certify(canister.id, canister.certifiedData));
   */
  setDataCertificateSigner(signer: (canister: CanisterInfo) => Uint8Array | undefined): void {
    this.#replica.dataCertificate = (c) => signer(canisterInfo(c));
  }

  /**
   * A subnet's public key, DER-encoded BLS12-381 G2 (133 bytes), like PocketIC's `root_key_der`.
   * @throws InstanceError `SubnetNotFound`.
   * @example
   * const key = ic.getPubKey(ic.getTopology().subnets[0].id);
   */
  getPubKey(subnetId: Principal): Uint8Array {
    return this.#subnet(subnetId).publicKeyDer;
  }

  #subnet(subnetId: Principal): Subnet {
    const subnet = this.#replica.subnets.find((s) => s.id.compareTo(subnetId) === 'eq');
    if (!subnet) throw new InstanceError('SubnetNotFound', subnetId);
    return subnet;
  }

  /**
   * The root key: the NNS subnet's key, else the first subnet's. Agents verify certificates with it.
   * @example
   * const agent = await HttpAgent.create({ host, rootKey: ic.getRootKey() });
   */
  getRootKey(): Uint8Array {
    const nns = this.#replica.subnets.find((s) => s.kind === 'NNS') ?? this.#replica.subnets[0];
    return this.getPubKey(nns.id);
  }

  /**
   * HTTPS outcalls made by canisters and not answered yet, oldest first.
   * @example
   * const [outcall] = ic.getPendingHttpOutcalls();
   */
  getPendingHttpOutcalls(): PendingHttpOutcall[] {
    return [...this.#replica.httpOutcalls.values()].map((p) => p.request);
  }

  /**
   * Answers a pending HTTPS outcall as PocketIC's `mock_canister_http`: the
   * reply goes through the canister's transform function; `additional` holds
   * the other nodes' responses (empty: all nodes saw `response`), and
   * responses that disagree after the transform make the outcall fail.
   * @throws InstanceError `SubnetNotFound`, `InvalidCanisterHttpRequestId`,
   *   `InvalidMockCanisterHttpResponses`, `InvalidRejectCode`.
   * @example
   * ic.mockHttpOutcall(outcall.subnetId, outcall.requestId,
   *   { kind: 'reply', status: 200, headers: [], body: new TextEncoder().encode('ok') }, []);
   */
  mockHttpOutcall(
    subnetId: Principal,
    requestId: number,
    response: HttpOutcallResponse,
    additional: HttpOutcallResponse[],
  ): void {
    this.#alive();
    const subnet = this.#subnet(subnetId);
    const pending = this.#replica.httpOutcalls.get(requestId);
    if (!pending || pending.request.subnetId.compareTo(subnetId) !== 'eq') {
      throw new InstanceError('InvalidCanisterHttpRequestId', subnetId, requestId);
    }
    if (additional.length > 0 && additional.length + 1 !== subnet.size) {
      throw new InstanceError('InvalidMockCanisterHttpResponses', additional.length + 1, subnet.size);
    }
    for (const r of [response, ...additional]) {
      if (r.kind === 'reject' && !rejectCodeName(r.rejectCode))
        throw new InstanceError('InvalidRejectCode', r.rejectCode);
    }
    this.#replica.httpOutcalls.delete(requestId);
    const outcomes = [response, ...additional].map((r) => this.#transformed(pending, r));
    const first = outcomes[0];
    const agree = outcomes.every((o) => sameResult(o, first));
    // IC: rs/https_outcalls/consensus — no 2f+1 equal responses.
    pending.respond(
      agree
        ? first
        : reject('SysTransient', 'No consensus could be reached. Replicas had different responses.'),
    );
  }

  /** What the canister receives for one node's response: a mocked reject as is, else the transformed reply. */
  #transformed(pending: PendingOutcall, r: HttpOutcallResponse): CallResult {
    if (r.kind === 'reject') return reject(rejectCodeName(r.rejectCode)!, r.message);
    const result = { status: BigInt(r.status), headers: r.headers, body: r.body };
    if (!pending.transform) return reply(IDL.encode([HttpRequestResult], [result]));
    const arg = IDL.encode([TransformArgs], [{ response: result, context: pending.transform.context }]);
    return this.#replica.transform(pending.canisterId, pending.transform.method, arg);
  }

  // ---- snapshots (icsim extension) ---------------------------------------------

  /**
   * Records the whole instance (every canister with its memories, settings,
   * cycles, call contexts and snapshots; the queues; ingress history; pending
   * HTTPS outcalls; the clocks; canister id allocation) and returns an id to
   * `revert` to. Copy-on-write: costs the number of canisters, not the bytes
   * they store; pages written from then on keep their pre-image until a revert
   * to an older snapshot drops this one.
   * @throws InstanceError `InstanceDeleted`.
   * @example
   * const fixture = ic.snapshot();
   * beforeEach(() => ic.revert(fixture));
   */
  snapshot(): number {
    this.#alive();
    return this.#snapshots.take();
  }

  /**
   * Puts the instance back exactly as it was when `snapshot()` returned `id`:
   * costs the pages written since. `id` stays valid; snapshots taken after it
   * are dropped. Auto progress is left as it is, and so are mock canisters and armed faults
   * (test configuration); calls a delay fault holds are forgotten with the history they belong to.
   * @throws InstanceError `InstanceSnapshotNotFound`, leaving the instance unchanged; `InstanceDeleted`.
   * @example
   * ic.revert(fixture);
   */
  revert(id: number): void {
    this.#alive();
    if (!this.#snapshots.revert(id)) throw new InstanceError('InstanceSnapshotNotFound', id);
    this.#replica.mocks.forgetInFlight();
  }

  // ---- live mode -------------------------------------------------------------

  /**
   * Runs rounds on the wall clock, at least every 100 ms (PocketIC's auto progress).
   * @throws InstanceError `AutoProgressEnabled` when it already runs; `InvalidAutoProgressDelay` for a
   *   delay a Node timer cannot wait (over 2^31 − 1 ms), which would otherwise tick every millisecond.
   * @example
   * ic.startAutoProgress(); // live mode, e.g. behind an HTTP gateway
   */
  startAutoProgress(artificialDelayMs = 0): void {
    if (this.#autoProgress) throw new InstanceError('AutoProgressEnabled');
    checkAutoProgressDelay(artificialDelayMs);
    const step = (): void => this.progressStep();
    step();
    this.#autoProgress = setInterval(step, Math.max(artificialDelayMs, 100));
  }

  /**
   * Where auto progress reads the wall clock (ns since the epoch). A persisted instance
   * (`simulator/persist/`) records each reading and replays it.
   * @example
   * ic.wallClock = () => 1_700_000_000_000_000_000n; // a fixed clock for auto progress
   */
  wallClock: () => bigint = () => BigInt(Date.now()) * 1_000_000n;

  /**
   * One step of auto progress: the time moves to the wall clock (never back), then a round runs.
   * @example
   * ic.progressStep(); // what auto progress does every 100 ms
   */
  progressStep(): void {
    this.#alive();
    const now = this.wallClock();
    if (now > this.#replica.time) this.#replica.time = now;
    this.#replica.tick();
  }

  /**
   * Stops the rounds on the wall clock; the time stays where it is.
   * @example
   * ic.stopAutoProgress();
   */
  stopAutoProgress(): void {
    if (this.#autoProgress) clearInterval(this.#autoProgress);
    this.#autoProgress = undefined;
  }

  /**
   * Whether rounds run on the wall clock.
   * @example
   * if (!ic.isAutoProgress()) ic.tick();
   */
  isAutoProgress(): boolean {
    return this.#autoProgress !== undefined;
  }

  // ---- JS-function canisters and fault injection (simulator/mocks/) ---------

  /**
   * Makes `canisterId` a JS-function canister: calls to it (ingress, from
   * canisters, queries) run `methods` instead of Wasm, through the same
   * queues and rounds. The canister is created on the subnet hosting the id
   * when it does not exist (no controllers, `cycles` in its balance); an
   * existing one keeps its state and answers with the mock from now on. A
   * mock is charged no fees. An `async` method answers when its promise
   * settles: drive the instance with `awaitIngressAsync`, which lets it run
   * between rounds.
   * @throws InstanceError `CanisterRequestRoutingError` when no subnet hosts the id.
   * @example
   * ic.mockCanister(ledgerId, {
   *   icrc1_transfer: candidMethod([TransferArg], [TransferResult], async (arg, ctx) => ({ Ok: 1n })),
   * });
   */
  mockCanister(canisterId: Principal, methods: MockMethods, options: { cycles?: bigint } = {}): Principal {
    this.#alive();
    let canister = this.#replica.findCanister(canisterId);
    if (!canister) {
      const subnet = this.#replica.subnetHosting(canisterId);
      if (!subnet) throw new InstanceError('CanisterRequestRoutingError', canisterId);
      const created = this.#createCanister(subnet, {
        controllers: [],
        cycles: options.cycles ?? 0n,
        specifiedId: canisterId,
      });
      if (created instanceof UserError) throw new InstanceError('CanisterRequestRoutingError', canisterId);
      canister = created;
    }
    this.#replica.mocks.register(canister, methods);
    return canister.id;
  }

  /**
   * Ends a mock: the canister stays, and answers with its code (if any) from now on.
   * Returns false when `canisterId` was no mock.
   * @example
   * ic.unmockCanister(ledgerId);
   */
  unmockCanister(canisterId: Principal): boolean {
    return this.#replica.mocks.unregister(canisterId);
  }

  /**
   * Makes the next `fault.times` calls (default 1) of `method` on `canisterId`
   * (a mock or a Wasm canister) reject, trap or run `rounds` rounds late.
   * @throws InstanceError `CanisterNotFound`; `BadFault` for a fault that cannot apply (nothing is armed).
   * @example
   * ic.injectFault(ledgerId, 'icrc1_transfer', { kind: 'reject', rejectCode: 'SysTransient', message: 'busy', times: 2 });
   * ic.injectFault(canisterId, 'go', { kind: 'trap', message: 'boom' });
   * ic.injectFault(canisterId, 'go', { kind: 'delay', rounds: 5 });
   */
  injectFault(canisterId: Principal, method: string, fault: Fault): void {
    this.#alive();
    this.#canister(canisterId);
    const problem = faultProblem(fault);
    if (problem) throw new InstanceError('BadFault', problem);
    this.#replica.mocks.injectFault(canisterId, method, fault);
  }

  /**
   * Forgets injected faults not used yet: all, a canister's, or one method's.
   * @example
   * afterEach(() => ic.clearFaults());
   */
  clearFaults(canisterId?: Principal, method?: string): void {
    this.#replica.mocks.clearFaults(canisterId, method);
  }

  /**
   * `awaitIngress` that lets `async` mock methods run between rounds: a round,
   * then their continuations, until the message has an outcome (at most 100 rounds).
   * @throws InstanceError `IngressTimeout`; `BadMessageId`.
   * @example
   * const result = await ic.awaitIngressAsync(sent.messageId);
   */
  async awaitIngressAsync(messageId: Uint8Array): Promise<CallResult> {
    this.#alive();
    const id = messageIdHex(messageId);
    for (let round = 0; round <= MAX_AWAIT_ROUNDS; round++) {
      await this.#replica.mocks.settled();
      const record = this.#replica.ingress.get(id);
      if (record?.outcome) return withTraps(record.outcome, record.traps);
      if (round < MAX_AWAIT_ROUNDS) this.#replica.tick();
    }
    throw new InstanceError('IngressTimeout', id, MAX_AWAIT_ROUNDS);
  }

  /**
   * Stops auto progress and retires the instance: calls and time changes
   * throw `InstanceError` `InstanceDeleted` from then on.
   * @example
   * afterAll(() => ic.delete());
   */
  delete(): void {
    this.stopAutoProgress();
    this.#deleted = true;
  }

  #alive(): void {
    if (this.#deleted) throw new InstanceError('InstanceDeleted');
  }
}

function canisterInfo(c: CanisterState): CanisterInfo {
  return {
    id: c.id,
    subnetId: c.subnetId,
    controllers: [...c.controllers],
    moduleHash: c.moduleHash,
    metadata: c.runtime?.compiled.metadata ?? [],
    certifiedData: c.certifiedData,
  };
}

function sameResult(a: CallResult, b: CallResult): boolean {
  if (a.status === 'replied' && b.status === 'replied') return equalBytes(a.reply, b.reply);
  if (a.status === 'rejected' && b.status === 'rejected')
    return a.rejectCode === b.rejectCode && a.message === b.message;
  return false;
}

function messageIdHex(messageId: Uint8Array): string {
  if (messageId.length !== 32) throw new InstanceError('BadMessageId');
  return toHex(messageId);
}

/** Reads one field of a Candid record argument, or undefined when the argument has no such field. */
function decodeField(arg: Uint8Array, field: string, type: IDL.Type): unknown {
  try {
    const [value] = IDL.decode([IDL.Record({ [field]: type })], arg);
    return (value as Record<string, unknown>)[field];
  } catch {
    return undefined;
  }
}

/**
 * `outcome` with the failed executions of its call tree as `traps` (icsim's
 * trap reports, `subnet/trap-chain.ts`), when there were any.
 */
function withTraps(outcome: CallResult, traps: readonly TrapReport[] | undefined): CallResult {
  return traps && traps.length > 0 ? { ...outcome, traps: [...traps] } : outcome;
}
