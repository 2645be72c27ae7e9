/**
 * Which canister a browser request is for, as PocketIC's HTTP gateway finds
 * it (dfinity/ic `rs/pocket_ic_server/src/state_api/canister_id.rs`, adapted
 * from ic-gateway; base domains `localhost` and `127.0.0.1`, canister ids from
 * query parameters and from the referer):
 *
 * 1. the host: `<id>.localhost` (verified), `<id>.raw.localhost` (raw:
 *    response verification skipped), an optional `<prefix>--<id>` label;
 * 2. the `canisterId` query parameter (verified);
 * 3. the same two forms in the `Referer` header (a page's sub-resources).
 *
 * Anything else is not a canister request.
 */
import { Principal } from '@icp-sdk/core/principal';

export type CanisterTarget =
  | { kind: 'canister'; canisterId: Principal; verify: boolean }
  /** A `canisterId` that is not a principal: the gateway's 400 text. */
  | { kind: 'bad-request'; message: string };

const BASE_DOMAINS = ['localhost', '127.0.0.1'];
const BAD_PARAM = "'canisterId' failed to parse: Invalid Principal";

function principal(text: string): Principal | undefined {
  try {
    return Principal.fromText(text);
  } catch {
    return undefined;
  }
}

/** `resolve_domain`: `<id>.<base>` or `<id>.raw.<base>`, one or two labels below a base domain. */
function fromHost(authority: string): { canisterId: Principal; verify: boolean } | undefined {
  const host = authority.replace(/:\d*$/, '').replace(/\.$/, '').toLowerCase();
  for (const base of BASE_DOMAINS) {
    if (!host.endsWith('.' + base)) continue;
    const labels = host.slice(0, -base.length - 1).split('.');
    if (labels.length > 2) return undefined;
    const raw = labels.length === 2;
    if (raw && labels[1] !== 'raw') return undefined;
    const id = principal(labels[0]!.split('--').pop()!);
    return id ? { canisterId: id, verify: !raw } : undefined;
  }
  return undefined;
}

function fromQuery(search: string): Principal | 'bad' | undefined {
  const value = new URLSearchParams(search).get('canisterId');
  if (value === null) return undefined;
  return principal(value) ?? 'bad';
}

/** The canister `host` and `url` (path and query) address, if any. */
export function resolveCanister(
  host: string | undefined,
  url: string,
  referer: string | undefined,
): CanisterTarget | undefined {
  const byHost = host === undefined ? undefined : fromHost(host);
  if (byHost) return { kind: 'canister', ...byHost };
  const q = url.indexOf('?');
  const byQuery = q === -1 ? undefined : fromQuery(url.slice(q));
  if (byQuery === 'bad') return { kind: 'bad-request', message: BAD_PARAM };
  if (byQuery) return { kind: 'canister', canisterId: byQuery, verify: true };
  if (referer === undefined) return undefined;
  let ref: URL;
  try {
    ref = new URL(referer);
  } catch {
    return undefined;
  }
  const byRefHost = fromHost(ref.host);
  if (byRefHost) return { kind: 'canister', ...byRefHost };
  const byRefQuery = fromQuery(ref.search);
  if (byRefQuery === 'bad') return { kind: 'bad-request', message: BAD_PARAM };
  return byRefQuery ? { kind: 'canister', canisterId: byRefQuery, verify: true } : undefined;
}
