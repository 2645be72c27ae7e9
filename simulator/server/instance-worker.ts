/**
 * The worker thread that hosts one instance at a time (`instance-host.ts`
 * says why). The main thread parses HTTP, routes, and forwards each request
 * below `/instances/{id}` here; this thread answers it with the instance's
 * `InstanceEndpoint` (the same synchronous core the in-process API uses) and
 * posts the answer back. Messages are handled one at a time, so operations on
 * an instance stay strictly ordered.
 *
 * A worker outlives its instance: after `delete` it waits for the next
 * `create`, its compiled-module cache still warm.
 */
import { parentPort } from 'node:worker_threads';
import type { InstanceConfig } from '../types.ts';
import type { WireRequest, WireResponse } from './http.ts';
import { PersistedEndpoint } from '../persist/journal.ts';
import { InstanceEndpoint, type BlobEntry, type Surface } from './instance-endpoint.ts';

/** Messages from the main thread. */
export type ToWorker =
  | { seq: number; kind: 'create'; config: InstanceConfig; autoProgressDelayMs?: number }
  /** A persisted instance (`simulator/persist/`): rebuilt from its log, and recorded in it. */
  | { seq: number; kind: 'open'; log: string }
  | { seq: number; kind: 'request'; surface: Surface; request: WireRequest; blobs: BlobEntry[] }
  | { seq: number; kind: 'delete' };

/** Messages to the main thread: `ready` once loaded, then one answer per `seq`. */
export type FromWorker =
  | { kind: 'ready' }
  | { seq: number; kind: 'created' }
  | { seq: number; kind: 'error'; message: string }
  | { seq: number; kind: 'response'; response: WireResponse }
  | { seq: number; kind: 'deleted' };

const port = parentPort;
if (!port) throw new Error('instance-worker runs only as a worker thread');

const line = (stream: NodeJS.WriteStream) => (text: string) =>
  void stream.write(text.endsWith('\n') ? text : text + '\n');
// Canister logs (debug_print) go to stderr and runtime logs to stdout, as the server's own.
const canisterLog = line(process.stderr);
const runtimeLog = line(process.stdout);

let endpoint: InstanceEndpoint | PersistedEndpoint | undefined;

function handle(msg: ToWorker): FromWorker {
  switch (msg.kind) {
    case 'create':
      try {
        endpoint = InstanceEndpoint.create(msg.config, {
          autoProgressDelayMs: msg.autoProgressDelayMs,
          onCanisterLog: canisterLog,
          runtimeLog,
        });
        return { seq: msg.seq, kind: 'created' };
      } catch (e) {
        return { seq: msg.seq, kind: 'error', message: e instanceof Error ? e.message : String(e) };
      }
    case 'open':
      try {
        endpoint = PersistedEndpoint.open(msg.log, { onCanisterLog: canisterLog, runtimeLog });
        return { seq: msg.seq, kind: 'created' };
      } catch (e) {
        return { seq: msg.seq, kind: 'error', message: e instanceof Error ? e.message : String(e) };
      }
    case 'request': {
      if (!endpoint) return { seq: msg.seq, kind: 'error', message: 'no instance in this worker' };
      return {
        seq: msg.seq,
        kind: 'response',
        response: endpoint.handle(msg.surface, msg.request, msg.blobs),
      };
    }
    case 'delete':
      try {
        endpoint?.delete();
      } finally {
        endpoint = undefined;
      }
      return { seq: msg.seq, kind: 'deleted' };
  }
}

port.on('message', (msg: ToWorker) => port.postMessage(handle(msg)));
port.postMessage({ kind: 'ready' } satisfies FromWorker);
