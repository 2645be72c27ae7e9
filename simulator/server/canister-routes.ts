/**
 * Browser requests to a canister on a gateway port (`<id>.localhost`,
 * `<id>.raw.localhost`, `?canisterId=<id>`): the HTTP side of
 * `simulator/gateway` (reading the request, writing the answer).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CanisterGateway, type ApiForward } from '../gateway/canister-gateway.ts';
import type { CanisterTarget } from '../gateway/canister-id.ts';
import { readBody } from './http.ts';

/** Largest browser request body passed to `http_request` (the interface's own limit). */
const BODY_LIMIT = 5 * 1024 * 1024;

function send(res: ServerResponse, status: number, headers: [string, string][], body: Uint8Array): void {
  const out: [string, string][] = headers.filter(([k]) => {
    const lower = k.toLowerCase();
    return lower !== 'content-length' && lower !== 'transfer-encoding' && lower !== 'connection';
  });
  out.push(['content-length', String(body.byteLength)]);
  try {
    res.writeHead(status, out.flat());
  } catch (e) {
    // A header name or value Node cannot write (a control character): handler.rs answers
    // `500 Failed to build response: …` when the `http` crate refuses one.
    if (res.headersSent) throw e;
    const message = Buffer.from(`Failed to build response: ${(e as Error).message}`, 'utf8');
    res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', 'content-length': message.length });
    res.end(message);
    return;
  }
  res.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
}

const plain = (res: ServerResponse, status: number, message: string): void =>
  send(res, status, [['content-type', 'text/plain; charset=utf-8']], Buffer.from(message, 'utf8'));

/** Serves browser requests for canisters through `forward` (the instance's IC HTTP interface). */
export type CanisterServer = (
  req: IncomingMessage,
  res: ServerResponse,
  target: CanisterTarget,
) => Promise<void>;

export function canisterServer(forward: ApiForward): CanisterServer {
  const gateway = new CanisterGateway(forward);
  return (req, res, target) => serveCanister(req, res, target, gateway);
}

async function serveCanister(
  req: IncomingMessage,
  res: ServerResponse,
  target: CanisterTarget,
  gateway: CanisterGateway,
): Promise<void> {
  const body = await readBody(req, BODY_LIMIT);
  if (body.kind === 'aborted') {
    res.destroy();
    return;
  }
  if (body.kind === 'too-large')
    return plain(res, 413, `Request body too large: the limit is ${BODY_LIMIT} bytes.`);
  if (target.kind === 'bad-request') return plain(res, 400, target.message);
  const headers: [string, string][] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2)
    headers.push([req.rawHeaders[i]!.toLowerCase(), req.rawHeaders[i + 1]!]);
  let answer;
  try {
    answer = await gateway.serve(target.canisterId, target.verify, {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers,
      body: body.bytes,
    });
  } catch (e) {
    // The instance's interface could not be reached (deleted instance, malformed reply): the
    // gateway's upstream failure, 503 as PocketIC's gateway answers it.
    const message = e instanceof Error ? e.message : String(e);
    return plain(res, 503, `error: upstream_error (${message})`);
  }
  send(res, answer.status, answer.headers, answer.body); // Node writes no body for HEAD
}
