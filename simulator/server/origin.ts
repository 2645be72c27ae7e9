/**
 * Who may drive a local server: a developer's icsim listens on loopback, and
 * any web page the developer opens could otherwise send it requests. Two
 * checks keep those out, before anything is read or changed:
 *
 * - `Host` must name a loopback address (`localhost`, `*.localhost`,
 *   `127.0.0.0/8`, `[::1]`) or a name the user allowed (`--allowed-host`, and
 *   the address given to `--ip-addr`): a DNS-rebinding page reaches the
 *   server under its own host name and is refused.
 * - On the PocketIC REST API, a browser's `Origin` must be a loopback origin:
 *   a foreign page's "simple request" (no preflight) is refused. Clients such
 *   as PicJS and agents in Node send no `Origin`. The IC HTTP interface keeps
 *   the replica's `Access-Control-Allow-Origin: *`: dapp front ends call it.
 */
import type { IncomingHttpHeaders } from 'node:http';

export interface OriginPolicy {
  /** Host names allowed besides loopback ones (lower case, without port). */
  allowedHosts: readonly string[];
}

const LOOPBACK_IPV4 = /^127(?:\.\d{1,3}){3}$/;

/** The host name of a `Host` header or URL authority, lower case, without port or IPv6 brackets. */
function hostName(authority: string): string {
  const h = authority.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') === -1 ? undefined : h.indexOf(']'));
  const colon = h.lastIndexOf(':');
  return colon === -1 ? h : h.slice(0, colon);
}

function isLoopbackName(name: string): boolean {
  return name === 'localhost' || name.endsWith('.localhost') || LOOPBACK_IPV4.test(name) || name === '::1';
}

/** Why a request may not be served (the status and message to answer), or undefined when it may. */
export function refuseHost(headers: IncomingHttpHeaders, policy: OriginPolicy): string | undefined {
  const host = headers.host;
  if (host === undefined) return undefined; // HTTP/1.0 clients; browsers always send Host
  const name = hostName(host);
  if (isLoopbackName(name) || policy.allowedHosts.includes(name)) return undefined;
  return (
    `Host '${host}' is not allowed: icsim answers loopback names only (localhost, 127.0.0.1, [::1]); ` +
    `start it with --allowed-host ${name} to allow this one`
  );
}

/** Why a cross-origin browser request to the REST API is refused, or undefined when it may run. */
export function refuseOrigin(headers: IncomingHttpHeaders, policy: OriginPolicy): string | undefined {
  const origin = headers.origin;
  if (origin === undefined) return undefined;
  let name: string;
  try {
    name = hostName(new URL(origin).host);
  } catch {
    name = '';
  }
  if (name !== '' && (isLoopbackName(name) || policy.allowedHosts.includes(name))) return undefined;
  return `cross-origin request from ${origin} refused: the PocketIC REST API serves loopback origins only`;
}
