/**
 * The HTTP gateway for canisters' `http_request`: translates a browser's
 * request into the HTTP gateway protocol's canister calls and back (dfinity/
 * portal `http-gateway-protocol-spec.md`), as PocketIC's gateway does with
 * the `ic-http-gateway` crate (dfinity/http-gateway
 * `packages/ic-http-gateway/src/protocol/handler.rs`):
 *
 * - `http_request` as a query, with `certificate_version = opt 2` and
 *   `identity` added to `Accept-Encoding`; `upgrade = opt true` → the same
 *   request as the update `http_request_update`;
 * - a streaming callback is followed until its token is null and the chunks
 *   concatenated; a 206 reply is completed with `Range` requests;
 * - a query reply whose body came in at most 4 callbacks, not a 206, is
 *   verified (versions 1 and 2) unless the request came on a raw domain; a
 *   failure answers 500 `Response verification failed: <error>`; v1 cannot
 *   certify a 3xx status and drops `Cache-Control`, v2 passes on only the
 *   certified headers;
 * - a reject `DestinationInvalid` (no such canister, no such method) answers
 *   404 with the reject message, any other reject 502 with
 *   `Replica Error: reject code …, message …, error code …`.
 *
 * It is an adapter: the canister calls go through the instance's IC HTTP
 * interface (`ApiForward`) with an agent, exactly like a client's.
 */
import { Actor, AgentError, HttpAgent, QueryResponseStatus, type ActorSubclass } from '@icp-sdk/core/agent';
import {
  CertifiedRejectErrorCode,
  UncertifiedRejectErrorCode,
  UncertifiedRejectUpdateErrorCode,
} from '@icp-sdk/core/agent';
import { IDL } from '@icp-sdk/core/candid';
import type { Principal } from '@icp-sdk/core/principal';
import {
  MAX_VERIFICATION_VERSION,
  ResponseVerificationError,
  verifyRequestResponsePair,
  type GatewayHttpRequest,
} from './response-verification.ts';

/** One request to the instance's IC HTTP interface (`/api/...`), answered as the replica would. */
export type ApiForward = (request: {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Uint8Array;
}) => Promise<{ status: number; headers: Record<string, string>; body: Uint8Array }>;

export interface GatewayAnswer {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
}

// ---- Candid (http-gateway-protocol-spec.md, "Canister HTTP Interface") -----------------------

const HeaderField = IDL.Tuple(IDL.Text, IDL.Text);
const HttpRequest = IDL.Record({
  method: IDL.Text,
  url: IDL.Text,
  headers: IDL.Vec(HeaderField),
  body: IDL.Vec(IDL.Nat8),
  certificate_version: IDL.Opt(IDL.Nat16),
});
const HttpUpdateRequest = IDL.Record({
  method: IDL.Text,
  url: IDL.Text,
  headers: IDL.Vec(HeaderField),
  body: IDL.Vec(IDL.Nat8),
});
/**
 * The spec leaves the token's type to the canister; icsim decodes the asset canister's
 * `StreamingCallbackToken`, the one `ic-utils` and the certified-assets libraries use.
 */
const Token = IDL.Record({
  key: IDL.Text,
  content_encoding: IDL.Text,
  index: IDL.Nat,
  sha256: IDL.Opt(IDL.Vec(IDL.Nat8)),
});
const StreamingCallbackResponse = IDL.Record({ body: IDL.Vec(IDL.Nat8), token: IDL.Opt(Token) });
const StreamingStrategy = IDL.Variant({
  Callback: IDL.Record({
    callback: IDL.Func([Token], [StreamingCallbackResponse], ['query']),
    token: Token,
  }),
});
const HttpResponse = IDL.Record({
  status_code: IDL.Nat16,
  headers: IDL.Vec(HeaderField),
  body: IDL.Vec(IDL.Nat8),
  upgrade: IDL.Opt(IDL.Bool),
  streaming_strategy: IDL.Opt(StreamingStrategy),
});

type TokenValue = { key: string; content_encoding: string; index: bigint; sha256: [] | [Uint8Array] };
interface HttpResponseValue {
  status_code: number;
  headers: [string, string][];
  body: Uint8Array;
  upgrade: [] | [boolean];
  streaming_strategy: [] | [{ Callback: { callback: [Principal, string]; token: TokenValue } }];
}
interface HttpCanister {
  http_request_update(req: {
    method: string;
    url: string;
    headers: [string, string][];
    body: Uint8Array;
  }): Promise<HttpResponseValue>;
}

/** Whether a reply carries a streaming strategy at all, whatever its token's type. */
const StreamingProbe = IDL.Record({ streaming_strategy: IDL.Opt(IDL.Reserved) });

const httpIdl: IDL.InterfaceFactory = () =>
  IDL.Service({
    http_request_update: IDL.Func([HttpUpdateRequest], [HttpResponse], []),
  });

/** response_handler.rs: callbacks whose body is still verified, and frames of a stream in all. */
const MAX_VERIFIED_CALLBACKS = 4;
const MAX_STREAM_FRAMES = 1000;

// ---- the gateway -----------------------------------------------------------------------------

const text = (status: number, message: string): GatewayAnswer => ({
  status,
  headers: [['content-type', 'text/plain; charset=utf-8']],
  body: Buffer.from(message, 'utf8'),
});

/** Rust's `{:?}` of ic-agent's `RejectCode`. */
const REJECT_CODES: Record<number, string> = {
  1: 'SysFatal',
  2: 'SysTransient',
  3: 'DestinationInvalid',
  4: 'CanisterReject',
  5: 'CanisterError',
  6: 'SysUnknown',
};

/** `handle_agent_error` of handler.rs; undefined for errors that are not rejects. */
function rejectAnswer(e: unknown): GatewayAnswer | undefined {
  if (!(e instanceof AgentError)) return undefined;
  const code = e.cause.code;
  if (
    !(code instanceof CertifiedRejectErrorCode) &&
    !(code instanceof UncertifiedRejectErrorCode) &&
    !(code instanceof UncertifiedRejectUpdateErrorCode)
  )
    return undefined;
  return rejectText(Number(code.rejectCode), code.rejectMessage, code.rejectErrorCode);
}

function rejectText(rejectCode: number, message: string, errorCode: string | undefined): GatewayAnswer {
  if (rejectCode === 3) return text(404, message);
  const code = errorCode === undefined ? 'None' : `Some(${JSON.stringify(errorCode)})`;
  return text(
    502,
    `Replica Error: reject code ${REJECT_CODES[rejectCode] ?? `Unknown(${rejectCode})`}, message ${message}, error code ${code}`,
  );
}

const UNSUPPORTED_TOKEN =
  "icsim's gateway follows streaming callbacks whose token is the asset canister's " +
  'record { key : text; content_encoding : text; index : nat; sha256 : opt blob }; this one is not';

/**
 * The `http_request` query, decoded; a reject or a streaming token icsim cannot decode is the
 * answer instead (decoding alone would turn an unknown token type into no streaming at all).
 */
async function queryHttpRequest(
  agent: HttpAgent,
  canisterId: Principal,
  request: {
    method: string;
    url: string;
    headers: [string, string][];
    body: Uint8Array;
    certificate_version: [number];
  },
): Promise<{ response: HttpResponseValue } | GatewayAnswer> {
  const reply = await agent.query(canisterId, {
    methodName: 'http_request',
    arg: IDL.encode([HttpRequest], [request]),
  });
  if (reply.status === QueryResponseStatus.Rejected) {
    return rejectText(Number(reply.reject_code), reply.reject_message, reply.error_code || undefined);
  }
  const [response] = IDL.decode([HttpResponse], reply.reply.arg) as unknown as [HttpResponseValue];
  const [probe] = IDL.decode([StreamingProbe], reply.reply.arg) as unknown as [
    { streaming_strategy: [] | [null] },
  ];
  if (probe.streaming_strategy.length === 1 && response.streaming_strategy.length === 0)
    return text(502, UNSUPPORTED_TOKEN);
  return { response };
}

export class CanisterGateway {
  readonly #forward: ApiForward;
  #agent: Promise<HttpAgent> | undefined;

  constructor(forward: ApiForward) {
    this.#forward = forward;
  }

  /** An agent whose transport is the instance's IC HTTP interface; the root key read from `/api/v2/status`. */
  #agentOnce(): Promise<HttpAgent> {
    const fetchVia = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      const request = new Request(input, init);
      const url = new URL(request.url);
      const headers: Record<string, string> = {};
      request.headers.forEach((v, k) => (headers[k] = v));
      const answer = await this.#forward({
        method: request.method,
        path: url.pathname,
        headers,
        body: new Uint8Array(await request.arrayBuffer()),
      });
      return new Response(answer.status === 204 ? null : Buffer.from(answer.body), {
        status: answer.status,
        headers: answer.headers,
      });
    };
    this.#agent ??= HttpAgent.create({
      host: 'http://127.0.0.1',
      fetch: fetchVia as typeof fetch,
      shouldFetchRootKey: true,
      // The replica is this instance, reached in process: node signatures prove nothing here, and
      // checking them first makes a query to a canister no subnet hosts fail on the subnet-key
      // lookup instead of answering its reject (`Canister … not found` → 404).
      verifyQuerySignatures: false,
    }).catch((e: unknown) => {
      this.#agent = undefined;
      throw e;
    });
    return this.#agent;
  }

  /**
   * Answers one browser request for `canisterId`: `url` is the path and query as received,
   * `verify` false on the raw domain.
   */
  async serve(
    canisterId: Principal,
    verify: boolean,
    request: GatewayHttpRequest & { headers: [string, string][] },
  ): Promise<GatewayAnswer> {
    const agent = await this.#agentOnce();
    const canister: ActorSubclass<HttpCanister> = Actor.createActor<HttpCanister>(httpIdl, {
      agent,
      canisterId,
    });
    // handler.rs: `x-request-id` is dropped, `identity` is always an acceptable encoding.
    const headers = request.headers
      .filter(([name]) => name.toLowerCase() !== 'x-request-id')
      .map(([name, value]): [string, string] => {
        if (name.toLowerCase() !== 'accept-encoding') return [name, value];
        const encodings = value.split(',').map((s) => s.trim());
        if (!encodings.some((s) => s.toLowerCase() === 'identity')) encodings.push('identity');
        return [name, encodings.join(', ')];
      });
    const call = { method: request.method, url: request.url, headers, body: request.body };

    let response: HttpResponseValue;
    let upgraded = false;
    try {
      const query = await queryHttpRequest(agent, canisterId, {
        ...call,
        certificate_version: [MAX_VERIFICATION_VERSION],
      });
      if ('status' in query) return query;
      response = query.response;
      if (response.upgrade[0] === true) {
        upgraded = true;
        response = await canister.http_request_update(call);
      }
    } catch (e) {
      const answer = rejectAnswer(e);
      if (answer) return answer;
      throw e;
    }

    // response_handler.rs: up to 4 callbacks are collected and the whole body verified like any
    // other; a longer stream is passed on unverified (at most 1000 frames).
    let body = response.body;
    let complete = true;
    const strategy = response.streaming_strategy[0];
    if (strategy) {
      try {
        ({ body, complete } = await this.#stream(agent, strategy.Callback, body));
      } catch (e) {
        return text(500, `Failed to parse response body: ${errorText(e)}`);
      }
    }

    let outHeaders: [string, string][] = response.headers.map(([k, v]) => [k, v]);
    let verified = false;
    // handler.rs: update replies and partial (206) replies are not verified.
    if (verify && !upgraded && complete && response.status_code !== 206) {
      let info;
      try {
        info = verifyRequestResponsePair(
          { ...request, headers },
          { statusCode: response.status_code, headers: response.headers, body },
          canisterId.toUint8Array(),
          BigInt(Date.now()) * 1_000_000n,
          new Uint8Array(agent.rootKey!),
        );
      } catch (e) {
        if (e instanceof ResponseVerificationError)
          return text(500, `Response verification failed: ${e.message}`);
        throw e;
      }
      verified = true;
      if (info.version === 1) {
        if (response.status_code >= 300 && response.status_code < 400)
          return text(500, 'Response verification v1 does not allow redirects');
        outHeaders = outHeaders.filter(([k]) => k.toLowerCase() !== 'cache-control');
      } else if (info.certifiedHeaders) outHeaders = info.certifiedHeaders;
    }
    // handler.rs: `StatusCode::from_u16` refuses what is not a three-digit code.
    if (response.status_code < 100 || response.status_code > 999)
      return text(400, `Failed to parse response status code: invalid status code`);
    // Unverified replies lose `Content-Range`: a 206 is completed into the whole asset below.
    if (!verified) outHeaders = outHeaders.filter(([k]) => k.toLowerCase() !== 'content-range');
    if (response.status_code === 206) {
      try {
        body = await rangeStream(agent, canisterId, call, response.headers, body);
      } catch (e) {
        return text(500, `Failed to create streaming responsey: ${errorText(e)}`);
      }
    }
    return { status: response.status_code, headers: outHeaders, body };
  }

  /**
   * Follows a streaming callback, appending each chunk: `complete` when the token ran out within
   * the 4 callbacks the gateway verifies; past them, up to 1000 frames in all, then cut.
   */
  async #stream(
    agent: HttpAgent,
    callback: { callback: [Principal, string]; token: TokenValue },
    first: Uint8Array,
  ): Promise<{ body: Uint8Array; complete: boolean }> {
    const [target, method] = callback.callback;
    const actor = Actor.createActor<
      Record<string, (t: TokenValue) => Promise<{ body: Uint8Array; token: [] | [TokenValue] }>>
    >(() => IDL.Service({ [method]: IDL.Func([Token], [StreamingCallbackResponse], ['query']) }), {
      agent,
      canisterId: target,
    });
    const chunks = [first];
    let token: TokenValue | undefined = callback.token;
    let complete = true;
    for (let n = 0; token !== undefined && chunks.length < MAX_STREAM_FRAMES; n++) {
      if (n === MAX_VERIFIED_CALLBACKS) complete = false;
      const next = await actor[method]!(token);
      chunks.push(next.body);
      token = next.token[0];
    }
    return { body: new Uint8Array(Buffer.concat(chunks)), complete };
  }
}

/** `bytes <begin>-<end>/<total>` of a 206 reply (response_handler.rs `parse_content_range_header_str`). */
function contentRange(headers: readonly (readonly [string, string])[]): { fetched: number; total: number } {
  const value = headers.find(([k]) => k.toLowerCase() === 'content-range')?.[1];
  if (value === undefined)
    throw new Error('Invalid HTTP response: missing Content-Range header in 206 response');
  const m = /bytes\s+(\d+)-(\d+)\/(\d+)/.exec(value);
  if (!m) throw new Error('Invalid HTTP response: malformed Content-Range header');
  const [begin, end, total] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return { fetched: Math.max(end - begin, 0) + 1, total };
}

/**
 * A 206 reply is the first part of an asset: the gateway asks for the rest with
 * `Range: bytes=<fetched>-` until it has `total` bytes (response_handler.rs
 * `create_206_stream`, not verified, at most 1000 frames).
 */
async function rangeStream(
  agent: HttpAgent,
  canisterId: Principal,
  call: { method: string; url: string; headers: [string, string][]; body: Uint8Array },
  headers: readonly (readonly [string, string])[],
  first: Uint8Array,
): Promise<Uint8Array> {
  const chunks = [first];
  const { total } = contentRange(headers);
  let { fetched } = contentRange(headers);
  while (fetched < total && chunks.length < MAX_STREAM_FRAMES) {
    const next = await queryHttpRequest(agent, canisterId, {
      ...call,
      headers: [...call.headers, ['Range', `bytes=${fetched}-`]],
      certificate_version: [MAX_VERIFICATION_VERSION],
    });
    if ('status' in next) throw new Error(new TextDecoder().decode(next.body));
    chunks.push(next.response.body);
    fetched += contentRange(next.response.headers).fetched;
  }
  return new Uint8Array(Buffer.concat(chunks));
}

function errorText(e: unknown): string {
  if (e instanceof AgentError) {
    const answer = rejectAnswer(e);
    if (answer) return new TextDecoder().decode(answer.body);
  }
  return e instanceof Error ? e.message : String(e);
}
