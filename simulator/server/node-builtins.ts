/**
 * The Node modules the server's main thread needs before it listens, taken
 * without their ES module facades. `import … from 'node:http'` evaluates every
 * export of the module to build the facade, and on Node 24 one of them (the
 * `WebSocket` getter) loads undici: about 50 ms of a server start spent on
 * code the server never runs (`node:worker_threads` costs ~5 ms the same way).
 * `process.getBuiltinModule` returns the same CommonJS module objects.
 */
export const { createServer, request } = process.getBuiltinModule('node:http');
export const { Worker } = process.getBuiltinModule('node:worker_threads');
export const { setFlagsFromString } = process.getBuiltinModule('node:v8');
export type Worker = import('node:worker_threads').Worker;
