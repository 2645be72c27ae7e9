/**
 * Requests over real HTTP to a gateway on loopback with any `Host`, as a
 * browser sends them: `<canister-id>.localhost` resolves to loopback (RFC 6761)
 * whatever the system resolver knows.
 */
import { request } from 'node:http';

export interface GatewayAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * Sends `method path` to `127.0.0.1:port` with `Host: host` and reads the whole answer.
 * @example const r = await gatewayRequest(port, `${canisterId}.localhost`, '/index.html');
 */
export function gatewayRequest(
  port: number,
  host: string,
  path: string,
  method = 'GET',
): Promise<GatewayAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host,
        port,
        path,
        method,
        lookup: (_name, options, callback) => {
          if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
          else (callback as (e: null, a: string, f: number) => void)(null, '127.0.0.1', 4);
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}
