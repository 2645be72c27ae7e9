/**
 * The IC HTTP interface of one instance (ic-http-interface.md): what
 * `/api/v2|v3|v4/...` answer, independent of any HTTP server. The route
 * layer (`simulator/server/http-interface-routes.ts`) only hands over the
 * method, the URL parts and the body, and sends back the `HttpAnswer`.
 *
 * - status: the root key (`instance.getRootKey()`), `healthy`.
 * - call v2: validate, submit, 202; v3/v4: validate, submit, run rounds
 *   until the message is done (as PocketIC's `await_ingress_message`), then a
 *   certificate of `/time` and `/request_status/<rid>`; 202 if it does not
 *   finish within 100 rounds. Resubmitting a request id runs nothing again.
 * - query: validate, run, sign the response with the subnet's node key.
 * - read_state: validate, check the paths, certify them plus `/time`.
 *
 * Each subnet certifies its own tree with its BLS key (the subnet's seed,
 * as `Instance.getPubKey`); a subnet that is not the root subnet adds a
 * delegation signed by the root subnet. Certificates name subnets by
 * `selfAuthenticating(public key)`, the id agents derive from the root key.
 * The interface installs the instance's data-certificate signer, so
 * non-replicated queries see a data certificate of their canister's
 * `certified_data`. It sees the instance only through `Instance`'s methods.
 */
import { ed25519 } from '../curves.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { Principal } from '@icp-sdk/core/principal';
import { InstanceError, RejectCode, canisterNotFound, errorCodeText } from '../errors.ts';
import type { Instance } from '../instance.ts';
import { rejectWith, type CallResult, type Reject } from '../result.ts';
import type { CanisterInfo, EffectivePrincipal, SubnetTopology } from '../types.ts';
import { encodeTagged, type CborRecord } from './cbor.ts';
import { signCertificate, type CertificateDelegation } from './certificate.ts';
import {
  HttpInterfaceError,
  MAX_INGRESS_TTL_NS,
  validateEnvelope,
  type ValidRequest,
  type RequestKind,
} from './envelope.ts';
import { domainSep, type SubTree } from './hash-tree.ts';
import { compareBytes, concatBytes, equalBytes, toHex } from '../bytes.ts';
import { hashOfMap } from './request-id.ts';
import { ed25519Der } from './signatures.ts';
import {
  buildStateTree,
  subnetSubtree,
  type CanisterView,
  type RequestStatus,
  type SubnetView,
} from './state-tree.ts';

/** What a route sends back: a CBOR body (200) or a plain-text body. */
export interface HttpAnswer {
  status: number;
  /** Tagged CBOR, sent as `application/cbor`. */
  cbor?: Uint8Array;
  /** Sent as `text/plain; charset=utf-8`. */
  text?: string;
}

export type CallVersion = 2 | 3 | 4;

/** `ic_api_version` the simulator reports in `/api/v2/status`. */
export const IC_API_VERSION = '0.18.0';
/** How long the status of a finished call stays readable after its expiry (ns). */
const STATUS_RETENTION_NS = MAX_INGRESS_TTL_NS;
const RESPONSE_SEP = domainSep('ic-response');
const MANAGEMENT = Principal.managementCanister();
const utf8 = new TextEncoder();

interface CallRecord {
  id: Uint8Array;
  messageId: Uint8Array;
  sender: Principal;
  canisterId: Principal;
  subnet: SubnetTopology;
  expiry: bigint;
}

interface NodeKey {
  secret: Uint8Array;
  view: { id: Uint8Array; publicKeyDer: Uint8Array };
}

const interfaces = new WeakMap<Instance, IcHttpInterface>();

export class IcHttpInterface {
  readonly instance: Instance;
  readonly #calls = new Map<string, CallRecord>();
  /** The instance's subnets: fixed at creation, so read once; the maps below are keyed by these objects. */
  readonly #topology: readonly SubnetTopology[];
  readonly #nodes = new Map<SubnetTopology, NodeKey>();
  readonly #views = new Map<SubnetTopology, SubnetView>();
  readonly #delegations = new Map<SubnetTopology, { time: bigint; bytes: Uint8Array }>();
  readonly #dataCertificates = new Map<string, { time: bigint; data: Uint8Array; bytes: Uint8Array }>();
  /** The `/subnet` subtree as each subnet certifies it (only its own nodes appear). */
  readonly #subnetTrees = new Map<SubnetTopology, SubTree>();

  private constructor(instance: Instance) {
    this.instance = instance;
    this.#topology = instance.getTopology().subnets;
    instance.setDataCertificateSigner((canister) => this.dataCertificate(canister));
  }

  /** The interface of `instance` (created on first use; installs the data-certificate hook). */
  static of(instance: Instance): IcHttpInterface {
    let i = interfaces.get(instance);
    if (!i) {
      i = new IcHttpInterface(instance);
      interfaces.set(instance, i);
    }
    return i;
  }

  // ---- endpoints ---------------------------------------------------------------------

  status(): HttpAnswer {
    return {
      status: 200,
      cbor: encodeTagged({
        ic_api_version: IC_API_VERSION,
        root_key: this.instance.getRootKey(),
        impl_version: 'icsim',
        replica_health_status: 'healthy',
      }),
    };
  }

  /** `/api/v2|v3|v4/canister/<ecid>/call`, and (6.x) `/api/v4/subnet/<sid>/call`. */
  call(
    version: CallVersion,
    idText: string,
    body: Uint8Array,
    target: 'canister' | 'subnet' = 'canister',
  ): HttpAnswer {
    return this.#answer(() => {
      const where = this.#effective(target, idText);
      const request = this.#validate('call', body, where.principal, target === 'subnet', where.subnet);
      this.#prune();
      const key = toHex(request.requestId);
      let record = this.#calls.get(key);
      if (!record) {
        const submitted = this.#submit(request, where.route);
        if ('rejection' in submitted) {
          const r = submitted.rejection;
          const map: CborRecord = {
            error_code: r.errorCode,
            reject_message: r.message,
            reject_code: r.rejectCode,
          };
          return {
            status: 200,
            cbor: encodeTagged(version === 2 ? map : { status: 'non_replicated_rejection', ...map }),
          };
        }
        record = submitted.record;
        this.#calls.set(key, record);
      }
      if (version === 2) return { status: 202 };
      try {
        this.instance.awaitIngress(record.messageId);
      } catch (e) {
        if (e instanceof InstanceError && e.kind === 'IngressTimeout')
          return { status: 202, text: 'Request timed out.' };
        throw e;
      }
      const certificate = this.#certificate(record.subnet, [[utf8.encode('request_status'), record.id]]);
      return { status: 200, cbor: encodeTagged({ status: 'replied', certificate }) };
    });
  }

  /** `/api/v2|v3/canister/<ecid>/query`, and (6.x) `/api/v3/subnet/<sid>/query`. */
  query(idText: string, body: Uint8Array, target: 'canister' | 'subnet' = 'canister'): HttpAnswer {
    return this.#answer(() => {
      const where = this.#effective(target, idText);
      const request = this.#validate('query', body, where.principal, target === 'subnet');
      let outcome: CallResult;
      try {
        outcome = this.instance.query({
          sender: request.sender,
          canisterId: request.canisterId!,
          method: request.methodName!,
          arg: request.arg!,
          effectivePrincipal: where.route,
        });
      } catch (e) {
        outcome = unroutable(e, request.canisterId!, where.route);
      }
      const node = this.#node(where.subnet);
      const timestamp = this.instance.getCertifiedTime();
      const response: CborRecord =
        outcome.status === 'replied'
          ? { status: 'replied', reply: { arg: outcome.reply } }
          : {
              status: 'rejected',
              reject_code: RejectCode[outcome.rejectCode],
              reject_message: outcome.message,
              error_code: errorCodeText(outcome.errorCode),
            };
      const signed = hashOfMap({ ...response, timestamp, request_id: request.requestId });
      const signature = ed25519().sign(concatBytes([RESPONSE_SEP, signed]), node.secret);
      return {
        status: 200,
        cbor: encodeTagged({ ...response, signatures: [{ timestamp, signature, identity: node.view.id }] }),
      };
    });
  }

  /** `/api/v2|v3/canister/<ecid>/read_state` and `/api/v2|v3/subnet/<sid>/read_state`. */
  readState(target: 'canister' | 'subnet', idText: string, body: Uint8Array): HttpAnswer {
    return this.#answer(() => {
      const { principal: effective, subnet } = this.#effective(target, idText);
      if (target === 'canister' && effective.compareTo(MANAGEMENT) === 'eq') {
        // No canister state answers for aaaaa-aa (reference suite: "using management canister as
        // effective canister id in read_state" is a 4xx).
        throw new HttpInterfaceError(
          400,
          `The management canister ${MANAGEMENT.toText()} cannot be the effective canister id of read_state`,
        );
      }
      const request = this.#validate('read_state', body, effective, target === 'subnet');
      const paths = request.paths!;
      this.#checkPaths(request, target, effective, paths);
      const certificate = this.#certificate(subnet, paths);
      return { status: 200, cbor: encodeTagged({ certificate }) };
    });
  }

  // ---- certificates ------------------------------------------------------------------

  /**
   * The data certificate of a non-replicated query on `canister`:
   * `/canister/<id>/certified_data` and `/time`. The replica asks for it only
   * when the query calls `data_certificate_*`; a BLS signature costs about
   * 7 ms, so it is reused while neither the certified data nor the certified
   * time has changed.
   */
  dataCertificate(canister: CanisterInfo): Uint8Array | undefined {
    const subnet = this.#subnetById(canister.subnetId);
    if (!subnet) return undefined;
    const time = this.instance.getCertifiedTime();
    const idText = canister.id.toText();
    const cached = this.#dataCertificates.get(idText);
    if (cached && equalBytes(cached.data, canister.certifiedData) && time === cached.time) {
      return cached.bytes;
    }
    const bytes = this.#certificate(subnet, [
      [utf8.encode('canister'), canister.id.toUint8Array(), utf8.encode('certified_data')],
    ]);
    this.#dataCertificates.set(idText, { time, data: canister.certifiedData, bytes });
    return bytes;
  }

  /** A certificate of `subnet`'s state revealing `paths` and `/time`. */
  #certificate(subnet: SubnetTopology, paths: readonly (readonly Uint8Array[])[]): Uint8Array {
    const time = this.instance.getCertifiedTime();
    const tree = buildStateTree(
      {
        time,
        canisters: this.instance.listCanisters(subnet.id).map(canisterView),
        requests: [...this.#calls.values()]
          .filter((r) => r.subnet === subnet)
          .map((r) => ({ id: r.id, status: this.#status(r) })),
      },
      this.#subnets(subnet),
    );
    return signCertificate(
      tree,
      [[utf8.encode('time')], ...paths],
      subnet.seed,
      this.#delegation(subnet, time),
    );
  }

  /** For a subnet that is not the root subnet: the root's certificate of its key and ranges (cached an hour). */
  #delegation(subnet: SubnetTopology, time: bigint): CertificateDelegation | undefined {
    const root = this.#rootSubnet();
    if (root === subnet) return undefined;
    const view = this.#view(subnet);
    let cached = this.#delegations.get(subnet);
    if (!cached || time - cached.time > 3_600_000_000_000n) {
      const tree = buildStateTree({ time, canisters: [], requests: [] }, this.#subnets(root));
      const sid = view.id;
      const bytes = signCertificate(
        tree,
        [
          [utf8.encode('time')],
          [utf8.encode('subnet'), sid, utf8.encode('public_key')],
          [utf8.encode('subnet'), sid, utf8.encode('canister_ranges')],
        ],
        root.seed,
      );
      cached = { time, bytes };
      this.#delegations.set(subnet, cached);
    }
    return { subnetId: view.id, certificate: cached.bytes };
  }

  #status(record: CallRecord): RequestStatus {
    const outcome = this.instance.ingressStatus(record.messageId);
    if (!outcome) return { status: 'received' };
    if (outcome.status === 'replied') return { status: 'replied', reply: outcome.reply };
    return {
      status: 'rejected',
      rejectCode: RejectCode[outcome.rejectCode],
      rejectMessage: outcome.message,
      errorCode: errorCodeText(outcome.errorCode),
    };
  }

  // ---- topology ------------------------------------------------------------------------

  #rootSubnet(): SubnetTopology {
    const rootKey = this.instance.getRootKey();
    const root = this.#topology.find((s) => equalBytes(this.instance.getPubKey(s.id), rootKey));
    if (!root) throw new Error('no subnet holds the root key');
    return root;
  }

  /**
   * The principal in the URL, how calls to it are routed, and the subnet that
   * answers: a canister's host (else the root subnet), or the subnet named by
   * its topology id or by its certificate id.
   */
  #effective(
    target: 'canister' | 'subnet',
    idText: string,
  ): { principal: Principal; route: EffectivePrincipal; subnet: SubnetTopology } {
    const principal = parsePrincipal(idText, target);
    if (target === 'canister')
      return { principal, route: effectivePrincipal(principal), subnet: this.#subnetOf(principal) };
    const subnet = this.#topology.find(
      (s) => s.id.compareTo(principal) === 'eq' || equalBytes(this.#view(s).id, principal.toUint8Array()),
    );
    if (!subnet) throw new HttpInterfaceError(404, `Subnet ${principal.toText()} not found.`);
    return { principal, route: { kind: 'subnet', id: subnet.id }, subnet };
  }

  /** The subnet hosting `id`, else the root subnet (which then certifies the absence). */
  #subnetOf(id: Principal): SubnetTopology {
    const hosting = this.instance.getSubnetForId(id);
    return (hosting && this.#subnetById(hosting)) ?? this.#rootSubnet();
  }

  #subnetById(id: Principal): SubnetTopology | undefined {
    return this.#topology.find((s) => s.id.compareTo(id) === 'eq');
  }

  #node(subnet: SubnetTopology): NodeKey {
    let node = this.#nodes.get(subnet);
    if (!node) {
      const secret = sha256(concatBytes([utf8.encode('icsim node key 0'), subnet.seed]));
      const publicKeyDer = ed25519Der(ed25519().getPublicKey(secret));
      node = {
        secret,
        view: { id: Principal.selfAuthenticating(publicKeyDer).toUint8Array(), publicKeyDer },
      };
      this.#nodes.set(subnet, node);
    }
    return node;
  }

  #view(subnet: SubnetTopology): SubnetView {
    let view = this.#views.get(subnet);
    if (!view) {
      const publicKeyDer = this.instance.getPubKey(subnet.id);
      const ranges = subnet.canisterRanges
        .map((r): [Uint8Array, Uint8Array] => [r.start.toUint8Array(), r.end.toUint8Array()])
        .sort((a, b) => compareBytes(a[0], b[0]));
      view = {
        id: Principal.selfAuthenticating(publicKeyDer).toUint8Array(),
        publicKeyDer,
        ranges,
        nodes: [this.#node(subnet).view],
      };
      this.#views.set(subnet, view);
    }
    return view;
  }

  #subnets(own: SubnetTopology): SubTree {
    let tree = this.#subnetTrees.get(own);
    if (!tree) {
      tree = subnetSubtree(
        this.#topology.map((s) => this.#view(s)),
        this.#view(own).id,
      );
      this.#subnetTrees.set(own, tree);
    }
    return tree;
  }

  // ---- requests ---------------------------------------------------------------------------

  #validate(
    kind: RequestKind,
    body: Uint8Array,
    effective: Principal,
    subnetEndpoint = false,
    subnet?: SubnetTopology,
  ): ValidRequest {
    return validateEnvelope(kind, body, {
      now: this.instance.getTime(),
      effective,
      subnetEndpoint,
      trust: { rootKey: this.instance.getRootKey() },
      maxIngressBytes: subnet?.maxIngressBytesPerMessage,
      managementTarget: (method, arg) => this.instance.managementEffectiveCanisterId(method, arg),
    });
  }

  #submit(
    request: ValidRequest,
    route: EffectivePrincipal,
  ): { record: CallRecord } | { rejection: { errorCode: string; message: string; rejectCode: number } } {
    const canisterId = request.canisterId!;
    let result;
    try {
      result = this.instance.submitIngress({
        sender: request.sender,
        canisterId,
        method: request.methodName!,
        arg: request.arg!,
        effectivePrincipal: route,
      });
    } catch (e) {
      result = unroutable(e, canisterId, route);
    }
    if (result.status === 'rejected') {
      return {
        rejection: {
          errorCode: errorCodeText(result.errorCode),
          message: result.message,
          rejectCode: RejectCode[result.rejectCode],
        },
      };
    }
    const ep = result.effectivePrincipal;
    const subnet = (ep.kind === 'subnet' ? this.#subnetById(ep.id) : undefined) ?? this.#subnetOf(canisterId);
    return {
      record: {
        id: request.requestId,
        messageId: result.messageId,
        sender: request.sender,
        canisterId,
        subnet,
        expiry: request.ingressExpiry,
      },
    };
  }

  /** Forgets calls whose expiry passed more than 5 minutes ago. */
  #prune(): void {
    const now = this.instance.getTime();
    for (const [key, r] of this.#calls) if (r.expiry + STATUS_RETENTION_NS < now) this.#calls.delete(key);
  }

  /** The replica's path rules of read_state (ic-http-interface.md §2.5). */
  #checkPaths(
    request: ValidRequest,
    target: 'canister' | 'subnet',
    effective: Principal,
    paths: Uint8Array[][],
  ): void {
    const text = (b: Uint8Array): string | undefined => {
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(b);
      } catch {
        return undefined;
      }
    };
    const invalid = (): HttpInterfaceError => new HttpInterfaceError(404, 'Invalid path requested.');
    let requestId: Uint8Array | undefined;
    for (const path of paths) {
      const head = path[0] ? text(path[0]) : undefined;
      switch (head) {
        case 'time':
          if (path.length !== 1) throw invalid();
          break;
        case 'subnet':
        case 'api_boundary_nodes':
        case 'canister_ranges':
          break;
        case 'canister': {
          if (target !== 'canister' || path.length < 3) throw invalid();
          const cid = Principal.fromUint8Array(path[1]!);
          const leaf = text(path[2]!);
          if (
            !((leaf === 'module_hash' || leaf === 'controllers') && path.length === 3) &&
            !(leaf === 'metadata' && path.length === 4)
          ) {
            throw invalid();
          }
          if (cid.compareTo(effective) !== 'eq') {
            throw new HttpInterfaceError(
              400,
              `Effective principal id in URL ${effective.toText()} does not match requested principal id: ${cid.toText()}.`,
            );
          }
          if (leaf === 'metadata') {
            const name = text(path[3]!);
            if (name === undefined) throw invalid();
            const canister = this.instance.getCanisterInfo(cid);
            const section = canister?.metadata.find((m) => m.name === name);
            const controller = canister?.controllers.some((c) => c.compareTo(request.sender) === 'eq');
            if (canister && section?.visibility === 'private' && !controller) {
              throw new HttpInterfaceError(
                403,
                `Custom section ${name} can only be requested by the controllers of the canister.`,
              );
            }
          }
          break;
        }
        case 'request_status': {
          if (target !== 'canister' || path.length < 2 || path.length > 3) throw invalid();
          const rid = path[1]!;
          if (rid.length !== 32)
            throw new HttpInterfaceError(
              400,
              `Invalid request id in request_status path: expected 32 bytes, got ${rid.length}.`,
            );
          if (requestId && !equalBytes(requestId, rid)) {
            throw new HttpInterfaceError(
              400,
              `More than one non-unique request ID exists in request_status paths: ${toHex(requestId)} and ${toHex(rid)}.`,
            );
          }
          requestId = rid;
          const record = this.#calls.get(toHex(rid));
          if (record) {
            if (record.sender.compareTo(request.sender) !== 'eq') {
              throw new HttpInterfaceError(
                403,
                'The user tries to access Request ID not signed by the caller.',
              );
            }
            if (request.targets !== 'all' && !request.targets.has(toHex(record.canisterId.toUint8Array()))) {
              throw new HttpInterfaceError(
                403,
                'The user tries to access request IDs for canisters not belonging to sender delegation targets.',
              );
            }
          }
          break;
        }
        default:
          throw invalid();
      }
    }
  }

  /** Runs `fn`, turning refusals into plain-text answers. */
  #answer(fn: () => HttpAnswer): HttpAnswer {
    try {
      return fn();
    } catch (e) {
      if (e instanceof HttpInterfaceError) return { status: e.status, text: e.message };
      throw e;
    }
  }
}

function parsePrincipal(text: string, what: 'canister' | 'subnet'): Principal {
  try {
    return Principal.fromText(text.toLowerCase());
  } catch (e) {
    throw new HttpInterfaceError(
      400,
      `Invalid URL: could not parse the effective ${what} id \`${text}\`: ${(e as Error).message}`,
    );
  }
}

function effectivePrincipal(ecid: Principal): EffectivePrincipal {
  return ecid.compareTo(MANAGEMENT) === 'eq' ? { kind: 'none' } : { kind: 'canister', id: ecid };
}

/**
 * A call the instance could not route, as the replica reports it: the
 * canister is not found (the management canister's target is the effective
 * canister). Any other failure (a deleted instance, a missing subnet) is
 * rethrown for the route layer to answer.
 */
function unroutable(e: unknown, id: Principal, route: EffectivePrincipal): Reject {
  if (!(e instanceof InstanceError)) throw e;
  if (e.kind !== 'CanisterRequestRoutingError' && e.kind !== 'UnroutableManagementCall') throw e;
  const missing = id.compareTo(MANAGEMENT) === 'eq' && route.kind === 'canister' ? route.id : id;
  return rejectWith(canisterNotFound(missing));
}

function canisterView(c: CanisterInfo): CanisterView {
  return {
    id: c.id.toUint8Array(),
    controllers: c.controllers,
    moduleHash: c.moduleHash,
    metadata: c.metadata,
    certifiedData: c.certifiedData,
  };
}
