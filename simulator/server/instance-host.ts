/**
 * The main thread's side of an instance: each instance lives in its own
 * worker thread (`instance-worker.ts`), so a canister that computes for
 * minutes stalls only its own instance while the main thread keeps parsing
 * HTTP, answering `/status`, serving other instances and handling signals.
 *
 * Why one worker per instance (see docs/ARCHITECTURE.md): PocketIC runs each
 * instance's operations on its own blocking thread, and a pool shared by
 * several instances would let one runaway message delay the others. Workers
 * are reused: a deleted instance's worker waits, core loaded and compiled
 * modules cached, for the next instance; one spare is kept warm so that
 * creating an instance does not wait for a worker to load.
 *
 * Busy and long operations follow PocketIC's REST server (`run_operation` in
 * `rs/pocket_ic_server/src/state_api/routes.rs`, docs/reference/picjs-protocol.md
 * §2.3): while an operation runs, another one gets `409 {state_label, op_id}`
 * (topology and the IC HTTP interface wait instead, as `retry_if_busy`); an
 * operation still running after the sync wait (10 s, or the request's
 * `processing-timeout-ms`) answers `202 {state_label, op_id}` and its result is
 * kept for `GET /read_graph/{state_label}/{op_id}`.
 */
import { InstanceError } from '../errors.ts';
import { HttpError, instanceErrorStatus, type WireRequest, type WireResponse } from './http.ts';
import type { InstanceConfig } from '../types.ts';
import type { BlobEntry, Surface } from './instance-endpoint.ts';
import type { FromWorker } from './instance-worker.ts';
import type { InstanceWorker, WorkerPool } from './worker-pool.ts';

/** PocketIC's `DEFAULT_SYNC_WAIT_DURATION` (`rs/pocket_ic_server/src/state_api/state.rs`). */
export const DEFAULT_SYNC_WAIT_MS = 10_000;

/**
 * How long a request waits for a busy instance before it is answered 409. PocketIC answers at
 * once and PicJS retries every 10 ms; several PicJS calls on one instance (parallel upload lanes)
 * then spend a core on retries. Held this long, a call behind a short operation simply runs next;
 * one behind a long operation still gets PocketIC's 409.
 */
export const BUSY_HOLD_MS = 250;

/** The identity of an operation: what 409 and 202 answers carry. */
interface OperationId {
  stateLabel: string;
  opId: string;
}

interface Operation extends OperationId {
  done: Promise<WireResponse>;
}

const json = (status: number, value: unknown): WireResponse => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(JSON.stringify(value), 'utf8'),
});

let nextLabel = 1n;
/** A fresh 16-byte state label, base64 URL_SAFE with padding as PocketIC renders it. */
function newStateLabel(): string {
  const bytes = Buffer.alloc(16);
  bytes.writeBigUInt64BE(nextLabel++, 8);
  return bytes.toString('base64url') + '==';
}

/** What an operation answers once its instance was deleted under it. */
function deletedAnswer(): WireResponse {
  const e = new InstanceError('InstanceDeleted');
  return json(instanceErrorStatus(e), { message: e.message });
}

/**
 * One instance as the server sees it: the operation running on it, the queue
 * of requests that wait their turn, and the results of operations that
 * outlived the sync wait. Subclasses say where requests run.
 */
export abstract class InstanceHost {
  /** Turn-taking: each request chains on the previous one, so the instance sees one at a time. */
  #tail: Promise<unknown> = Promise.resolve();
  #running: OperationId | undefined;
  /** Requests holding for the instance to become idle (`BUSY_HOLD_MS`). */
  #idleWaiters: (() => void)[] = [];
  #deleted = false;
  readonly #results = new Map<string, WireResponse>();
  #opCount = 0;

  /** Answers one request on the instance. */
  protected abstract run(surface: Surface, request: WireRequest, blobs: BlobEntry[]): Promise<WireResponse>;
  /** Deletes the instance; `running` says whether an operation is still computing. */
  protected abstract dispose(running: boolean): Promise<void>;

  /** True while an operation runs on the instance. */
  get busy(): boolean {
    return this.#running !== undefined;
  }

  /** Runs `request` after everything queued before it; no busy or started answers. */
  forward(surface: Surface, request: WireRequest, blobs: BlobEntry[] = []): Promise<WireResponse> {
    return this.#enqueue(surface, request, blobs, 'forward').done;
  }

  /**
   * A PocketIC operation from a REST client: `409` while another one runs for longer than
   * `BUSY_HOLD_MS` (unless `retryIfBusy`, which waits its turn), `202` once it outlives `syncWaitMs`.
   */
  async operate(
    request: WireRequest,
    options: { name: string; retryIfBusy: boolean; syncWaitMs: number; blobs?: BlobEntry[] },
  ): Promise<WireResponse> {
    if (this.#running && !options.retryIfBusy) {
      await new Promise<void>((resolve) => {
        this.#idleWaiters.push(resolve);
        setTimeout(resolve, BUSY_HOLD_MS);
      });
      if (this.#running)
        return json(409, { state_label: this.#running.stateLabel, op_id: this.#running.opId });
    }
    const op = this.#enqueue('rest', request, options.blobs ?? [], options.name);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const started = new Promise<'started'>((resolve) => {
      timer = setTimeout(() => resolve('started'), options.syncWaitMs);
    });
    const first = await Promise.race([op.done, started]);
    clearTimeout(timer);
    if (first !== 'started') return first;
    void op.done.then(
      (response) => this.#results.set(`${op.stateLabel}/${op.opId}`, response),
      () => {},
    );
    return json(202, { state_label: op.stateLabel, op_id: op.opId });
  }

  /** The result of an operation answered `202`, once it is there (`GET /read_graph`). */
  result(stateLabel: string, opId: string): WireResponse | undefined {
    return this.#results.get(`${stateLabel}/${opId}`);
  }

  /** `DELETE /prune_graph`: forgets a stored result. */
  prune(stateLabel: string, opId: string): void {
    this.#results.delete(`${stateLabel}/${opId}`);
  }

  /** Puts the instance in live mode unless it is already (what `POST /http_gateway` does). */
  async goLive(): Promise<void> {
    const empty = new Uint8Array();
    const get = await this.forward('rest', {
      method: 'GET',
      path: '/auto_progress',
      headers: {},
      body: empty,
    });
    if (Buffer.from(get.body).toString('utf8') === 'true') return;
    await this.forward('rest', {
      method: 'POST',
      path: '/auto_progress',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from('{}'),
    });
  }

  /** Deletes the instance; an operation still computing answers "Instance was deleted". */
  async delete(): Promise<void> {
    if (this.#deleted) return;
    this.#deleted = true;
    await this.dispose(this.#running !== undefined);
  }

  #enqueue(surface: Surface, request: WireRequest, blobs: BlobEntry[], name: string): Operation {
    const id: OperationId = { stateLabel: newStateLabel(), opId: `${name}_${this.#opCount++}` };
    const done = this.#tail.then(async () => {
      if (this.#deleted) return deletedAnswer();
      this.#running = id;
      try {
        return await this.run(surface, request, blobs);
      } catch (e) {
        if (this.#deleted) return deletedAnswer();
        throw e;
      } finally {
        this.#running = undefined;
        const waiters = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const wake of waiters) wake();
      }
    });
    this.#tail = done.catch(() => {});
    return { ...id, done };
  }
}

/**
 * An instance in its own worker thread: what the `icsim` server runs. The
 * instance exists from `start` on; its first operation waits until the
 * worker has loaded the core and created it (a worker takes 150–250 ms to
 * start, and `POST /instances` need not wait for that).
 */
export class WorkerHost extends InstanceHost {
  readonly #pool: WorkerPool;
  readonly #launchWorker: () => Promise<InstanceWorker>;
  #launched: Promise<InstanceWorker> | undefined;

  private constructor(pool: WorkerPool, launch: () => Promise<InstanceWorker>, lazy: boolean) {
    super();
    this.#pool = pool;
    this.#launchWorker = launch;
    if (!lazy) void this.#worker;
  }

  /** The instance's worker, started on first use. */
  get #worker(): Promise<InstanceWorker> {
    if (!this.#launched) {
      this.#launched = this.#launchWorker();
      this.#launched.catch(() => {}); // a failed creation answers each request instead
    }
    return this.#launched;
  }

  /**
   * Starts creating the instance in a pooled worker. The config must already be validated
   * (`planSubnets`, `checkAutoProgressDelay`): what the worker refuses later is an icsim fault.
   */
  static start(pool: WorkerPool, config: InstanceConfig, autoProgressDelayMs?: number): WorkerHost {
    return WorkerHost.#launch(pool, (worker) =>
      worker.send<'create'>({ kind: 'create', config, autoProgressDelayMs }),
    );
  }

  /**
   * Rebuilds a persisted instance from its log (`simulator/persist/`) in a pooled worker: at once,
   * or (`lazy`, the instances a restarted server resumes) on its first operation, so that a state
   * dir of many instances costs no worker until each is used.
   */
  static open(pool: WorkerPool, log: string, lazy = false): WorkerHost {
    // A log that does not replay is the user's state dir, not an icsim fault: a clear 400 on each request.
    return WorkerHost.#launch(
      pool,
      (worker) => worker.send<'open'>({ kind: 'open', log }),
      (message) => new HttpError(400, `the instance's state could not be restored: ${message}`),
      lazy,
    );
  }

  static #launch(
    pool: WorkerPool,
    create: (worker: InstanceWorker) => Promise<FromWorker>,
    failure: (message: string) => Error = (message) =>
      new Error(`the instance's worker could not create it: ${message}`),
    lazy = false,
  ): WorkerHost {
    return new WorkerHost(
      pool,
      async () => {
        const worker = await pool.acquire();
        const answer = await create(worker);
        if (answer.kind === 'created') return worker;
        pool.release(worker);
        throw failure(answer.kind === 'error' ? answer.message : answer.kind);
      },
      lazy,
    );
  }

  protected async run(surface: Surface, request: WireRequest, blobs: BlobEntry[]): Promise<WireResponse> {
    const worker = await this.#worker;
    // A body that owns its whole buffer (readBody's, for any body of more than a few KiB) moves
    // to the worker instead of being copied twice (serialized here, deserialized there): a
    // 2.5 MB ingress body cost the main thread milliseconds. The request is not read after this.
    const body = request.body;
    const owned = body.byteOffset === 0 && body.byteLength === body.buffer.byteLength && body.byteLength > 0;
    const transfer = owned && body.buffer instanceof ArrayBuffer ? [body.buffer] : [];
    const answer = await worker.send<'request'>({ kind: 'request', surface, request, blobs }, transfer);
    if (answer.kind === 'response') return answer.response;
    throw new Error(answer.kind === 'error' ? answer.message : `unexpected answer ${answer.kind}`);
  }

  /** An idle worker deletes its instance and goes back to the pool; a computing one is ended. */
  protected async dispose(running: boolean): Promise<void> {
    if (!this.#launched) return; // never used: no worker holds it
    let worker: InstanceWorker;
    try {
      worker = await this.#worker;
    } catch {
      return; // never created: nothing to delete
    }
    if (running) return worker.terminate();
    try {
      await worker.send<'delete'>({ kind: 'delete' });
      this.#pool.release(worker);
    } catch {
      worker.terminate();
    }
  }
}
