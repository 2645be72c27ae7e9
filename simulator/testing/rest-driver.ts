/**
 * An instance driven through its PocketIC REST routes in process, as the server forwards them
 * (`InstanceEndpoint.handle('rest', …)`): for tests and benches that need the routes' own
 * decoding and logging (a persisted instance records exactly these requests), without HTTP.
 */
import { IDL } from '@icp-sdk/core/candid';
import { Principal } from '@icp-sdk/core/principal';
import { methods } from '../management/idl.ts';
import type { WireRequest, WireResponse } from '../server/http.ts';

export type RestHandler = (request: WireRequest) => WireResponse;

export const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** A JSON `POST` to one of the instance's routes. */
export function post(path: string, json: unknown): WireRequest {
  return {
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json' },
    body: Buffer.from(JSON.stringify(json)),
  };
}

/** The JSON body of a `200` answer; any other status throws with the body. */
export function body(response: WireResponse): unknown {
  const text = Buffer.from(response.body).toString('utf8');
  if (response.status !== 200) throw new Error(`${response.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

/**
 * Calls on an instance through `handle`, from the anonymous principal.
 * @example
 * const rest = new RestDriver((r) => endpoint.handle('rest', r));
 * const id = rest.deploy(wasm);
 * rest.update(id, 'inc');
 */
export class RestDriver {
  readonly handle: RestHandler;

  constructor(handle: RestHandler) {
    this.handle = handle;
  }

  /** An update submitted and awaited (`/update/submit_ingress_message`, `await_ingress_message`): its reply. */
  update(canister: Principal, method: string, arg: Uint8Array = new Uint8Array()): Uint8Array {
    const effective = canister.isAnonymous() || canister.toText() === 'aaaaa-aa' ? 'None' : canister;
    return this.#ingress(method, arg, canister, effective);
  }

  /** A management-canister method with its Candid argument and result (`management/idl.ts`). */
  management(method: keyof typeof methods, arg: Record<string, unknown>): unknown {
    const spec = methods[method];
    const effective = 'canister_id' in arg && arg.canister_id instanceof Principal ? arg.canister_id : 'None';
    const payload = new Uint8Array(spec.arg ? IDL.encode([spec.arg], [arg]) : IDL.encode([], []));
    const reply = this.#ingress(method, payload, Principal.managementCanister(), effective);
    return spec.ret ? IDL.decode([spec.ret], reply)[0] : undefined;
  }

  /** Creates a canister with cycles and installs `wasm` with an empty argument: its id. */
  deploy(wasm: Uint8Array): Principal {
    const { canister_id } = this.management('provisional_create_canister_with_cycles', {
      amount: [],
      settings: [],
      specified_id: [],
      sender_canister_version: [],
    }) as { canister_id: Principal };
    this.management('install_code', {
      mode: { install: null },
      canister_id,
      wasm_module: wasm,
      arg: new Uint8Array(),
      sender_canister_version: [],
    });
    return canister_id;
  }

  /** A query with an empty argument (`/read/query`): its reply. */
  query(canister: Principal, method: string): Uint8Array {
    const answer = body(
      this.handle(post('/read/query', this.#call(method, new Uint8Array(), canister, canister))),
    ) as {
      Ok: string;
    };
    return new Uint8Array(Buffer.from(answer.Ok, 'base64'));
  }

  #call(
    method: string,
    arg: Uint8Array,
    canister: Principal,
    effective: Principal | 'None',
  ): Record<string, unknown> {
    return {
      sender: b64(Principal.anonymous().toUint8Array()),
      canister_id: b64(canister.toUint8Array()),
      effective_principal: effective === 'None' ? 'None' : { CanisterId: b64(effective.toUint8Array()) },
      method,
      payload: b64(arg),
    };
  }

  #ingress(method: string, arg: Uint8Array, canister: Principal, effective: Principal | 'None'): Uint8Array {
    const submitted = body(
      this.handle(post('/update/submit_ingress_message', this.#call(method, arg, canister, effective))),
    ) as {
      Ok: unknown;
    };
    const awaited = body(this.handle(post('/update/await_ingress_message', submitted.Ok))) as {
      Ok?: string;
      Err?: unknown;
    };
    if (awaited.Ok === undefined) throw new Error(`${method}: ${JSON.stringify(awaited.Err)}`);
    return new Uint8Array(Buffer.from(awaited.Ok, 'base64'));
  }
}
