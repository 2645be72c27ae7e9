/**
 * One port for HTTP/1.1 and cleartext HTTP/2 ("h2c" with prior knowledge).
 *
 * PocketIC's server (axum on hyper) answers both on its port, and
 * `@hadronous/pic` 0.8.x talks to it over HTTP/2 only (`http2.connect(url)` in
 * its `dist/http2-client.js`); every other client uses HTTP/1.1. Node's
 * `http2.createServer` serves h2c alone, so each connection is sniffed: an
 * HTTP/2 connection opens with the preface `PRI * HTTP/2.0…` (RFC 9113 §3.4),
 * and no HTTP/1 request starts with `PRI`. The connection is then handed to the
 * HTTP/1.1 or the HTTP/2 server, both calling the same request listener
 * (HTTP/2 through Node's compatibility API).
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Http2Server } from 'node:http2';
import type { Server as NetServer, Socket } from 'node:net';
import { createServer as createHttp1Server } from './node-builtins.ts';

const PREFACE = Buffer.from('PRI ', 'latin1');

export interface DualServer {
  /** Listens, emits `close`, as any `net.Server`. */
  server: NetServer;
  /** Ends every open connection (shutdown). */
  closeAllConnections(): void;
}

export function createDualServer(listener: RequestListener): DualServer {
  const http1 = createHttp1Server(listener);
  let http2: Http2Server | undefined;
  const h2 = (): Http2Server => {
    if (http2 === undefined) {
      const { createServer } = process.getBuiltinModule('node:http2');
      http2 = createServer((req, res) => {
        // The REST adapter reads `Host` (DNS-rebinding check); HTTP/2 carries it as `:authority`.
        const authority = req.headers[':authority'];
        if (req.headers.host === undefined && typeof authority === 'string') req.headers.host = authority;
        listener(req as unknown as IncomingMessage, res as unknown as ServerResponse);
      });
    }
    return http2;
  };
  const sockets = new Set<Socket>();
  const { createServer } = process.getBuiltinModule('node:net');
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      socket.unshift(chunk);
      const n = Math.min(chunk.length, PREFACE.length);
      const isH2 = n > 0 && chunk.subarray(0, n).equals(PREFACE.subarray(0, n));
      (isH2 ? h2() : http1).emit('connection', socket);
      process.nextTick(() => socket.resume());
    });
  });
  return {
    server,
    closeAllConnections() {
      for (const socket of sockets) socket.destroy();
    },
  };
}
