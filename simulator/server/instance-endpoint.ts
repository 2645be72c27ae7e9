/**
 * Everything below `/instances/{id}` answered for one `Instance`: the PocketIC
 * instance routes and the IC HTTP interface, from a `WireRequest` to a
 * `WireResponse`. The instance's worker thread runs it (`instance-worker.ts`),
 * and so does an instance hosted in the server's own thread (`InlineHost`).
 */
import { IcHttpInterface, type HttpAnswer } from '../http-interface/interface.ts';
import { Instance } from '../instance.ts';
import type { InstanceConfig } from '../types.ts';
import { encodeAnswer, errorAnswer, parseApiPath, splitPath } from './api-paths.ts';
import {
  encodeReply,
  errorReply,
  makeContext,
  Router,
  type SyncRoute,
  type WireRequest,
  type WireResponse,
} from './http.ts';
import { instanceRoutes } from './instance-routes.ts';
import { BlobStore } from './state.ts';

/** A blob of the server's store that a request names (`set_stable_memory`), copied along with it. */
export interface BlobEntry {
  hex: string;
  data: Uint8Array;
  gzip: boolean;
}

export type Surface = 'rest' | 'api';

export class InstanceEndpoint {
  readonly instance: Instance;
  readonly #router = new Router<SyncRoute>();
  #blobs = new BlobStore();
  readonly #log: (line: string) => void;

  /** Wraps `instance`; installs the HTTP interface's data-certificate hook on it. */
  constructor(instance: Instance, runtimeLog: (line: string) => void = () => {}) {
    this.instance = instance;
    this.#log = runtimeLog;
    IcHttpInterface.of(instance);
    for (const route of instanceRoutes(() => this.instance, { bytes: (hex) => this.#blobs.bytes(hex) }))
      this.#router.add(route);
  }

  /** Creates the instance (throws the core's `InstanceError` for a config it refuses). */
  static create(
    config: InstanceConfig,
    options: {
      autoProgressDelayMs?: number;
      onCanisterLog?: (line: string) => void;
      runtimeLog?: (line: string) => void;
    },
  ): InstanceEndpoint {
    const instance = Instance.create(config, { onCanisterLog: options.onCanisterLog });
    const endpoint = new InstanceEndpoint(instance, options.runtimeLog);
    if (options.autoProgressDelayMs !== undefined) instance.startAutoProgress(options.autoProgressDelayMs);
    return endpoint;
  }

  handle(surface: Surface, request: WireRequest, blobs: BlobEntry[] = []): WireResponse {
    if (surface === 'api') return encodeAnswer(answerApi(this.instance, request));
    this.#blobs = new BlobStore(blobs);
    const match = this.#router.match(request.method, request.path);
    if (match.kind !== 'found') {
      // The main thread forwards only known instance paths; answer as its router would.
      return encodeReply({ status: 404, json: { message: `not found: ${request.method} ${request.path}` } });
    }
    try {
      return encodeReply(match.route.handler(makeContext(match.params, request.headers, request.body)));
    } catch (e) {
      return encodeReply(errorReply(e, request.path, this.#log));
    }
  }

  delete(): void {
    this.instance.delete();
  }
}

/**
 * Answers one IC HTTP interface request for `instance`, in the instance's worker: `request.path`
 * is `/api/…` and the body has been read and size-checked by `serveApi` on the main thread.
 */
function answerApi(instance: Instance, request: WireRequest): HttpAnswer {
  const route = parseApiPath(splitPath(request.path));
  if (!route) return { status: 404, text: 'Not found.' };
  try {
    const ic = IcHttpInterface.of(instance);
    if (route.kind === 'status') return ic.status();
    const contentType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (contentType !== 'application/cbor')
      return { status: 400, text: 'Unexpected content-type, expected application/cbor.' };
    if (route.kind === 'call') return ic.call(route.version, route.id, request.body, route.target);
    if (route.kind === 'query') return ic.query(route.id, request.body, route.target);
    return ic.readState(route.target, route.id, request.body);
  } catch (e) {
    const answer = errorAnswer(e);
    if (!answer) throw e;
    return answer;
  }
}
