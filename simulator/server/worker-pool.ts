/**
 * The instance workers: one thread per instance (`instance-host.ts` says why),
 * reused after their instance is deleted, with one spare kept loaded. Kept
 * free of other imports so that the CLI can start the first worker before
 * the REST adapter has loaded.
 */
import { setFlagsFromString, Worker } from './node-builtins.ts';
import type { FromWorker, ToWorker } from './instance-worker.ts';

/**
 * The old generation V8 gives each worker's isolate from the start, in MiB. By default an
 * isolate whose live heap is ~8 MiB gets an allocation limit ~12 MiB above it, and an instance
 * answering megabyte requests then starts a full mark-compact every second request: on the
 * ingress bench (1.9 MB calls) 47 mark-compacts per 165 calls, most of the server's GC time
 * (concurrent marking threads included). With 64 MiB, 26: those the megabytes of argument
 * buffers themselves call for (V8's external memory limit). Read when an isolate is created,
 * so it is set before the first worker; the flag is process-wide and only sizes the start.
 */
const WORKER_INITIAL_OLD_SPACE_MIB = 64;
let workerHeapSized = false;

type Pending = { resolve: (msg: FromWorker) => void; reject: (e: Error) => void };

/** One worker thread and the request/answer bookkeeping of its messages. */
export class InstanceWorker {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  #seq = 0;
  #pending = new Map<number, Pending>();
  #failure: Error | undefined;

  constructor(url: URL) {
    if (!workerHeapSized) {
      setFlagsFromString(`--initial-old-space-size=${WORKER_INITIAL_OLD_SPACE_MIB}`);
      workerHeapSized = true;
    }
    this.worker = new Worker(url);
    this.ready = new Promise<void>((resolve, reject) => {
      this.worker.on('message', (msg: FromWorker) => {
        if (msg.kind === 'ready') return resolve();
        const pending = this.#pending.get(msg.seq);
        this.#pending.delete(msg.seq);
        pending?.resolve(msg);
      });
      const fail = (e: Error): void => {
        this.#failure ??= e;
        reject(e);
        for (const p of this.#pending.values()) p.reject(e);
        this.#pending.clear();
      };
      this.worker.on('error', fail);
      this.worker.on('exit', (code) => fail(new Error(`the instance's worker exited (code ${code})`)));
    });
    this.ready.catch(() => {});
  }

  /** Posts a message; the buffers in `transfer` move to the worker (detached here) instead of being copied. */
  send<K extends ToWorker['kind']>(
    msg: Omit<Extract<ToWorker, { kind: K }>, 'seq'>,
    transfer: ArrayBuffer[] = [],
  ): Promise<FromWorker> {
    if (this.#failure) return Promise.reject(this.#failure);
    const seq = this.#seq++;
    return new Promise<FromWorker>((resolve, reject) => {
      this.#pending.set(seq, { resolve, reject });
      this.worker.postMessage({ ...msg, seq }, transfer);
    });
  }

  get failed(): boolean {
    return this.#failure !== undefined;
  }

  terminate(): void {
    void this.worker.terminate();
  }
}

/** Idle workers, one kept warm ahead of need. */
export class WorkerPool {
  readonly #url: URL;
  #idle: InstanceWorker[] = [];
  #all = new Set<InstanceWorker>();
  #closed = false;

  constructor(workerUrl: URL) {
    this.#url = workerUrl;
  }

  /** Starts a worker loading now, so that the first instance does not wait for it; resolves once it has. */
  warm(): Promise<void> {
    if (this.#idle.length === 0) this.#idle.push(this.#spawn());
    return this.#idle[0]!.ready;
  }

  #spawn(): InstanceWorker {
    const w = new InstanceWorker(this.#url);
    this.#all.add(w);
    w.worker.on('exit', () => {
      this.#all.delete(w);
      this.#idle = this.#idle.filter((x) => x !== w);
    });
    return w;
  }

  /**
   * A worker whose core is loaded. When the last idle one is taken, a new spare starts loading once
   * the taken one is ready: two workers booting at once on a 2-core machine slow each other and the
   * main thread, which is what the first instance of a server start would pay.
   */
  async acquire(): Promise<InstanceWorker> {
    const w = this.#idle.shift() ?? this.#spawn();
    if (this.#idle.length === 0) {
      w.ready.then(
        () => {
          if (!this.#closed && this.#idle.length === 0) this.#idle.push(this.#spawn());
        },
        () => {},
      );
    }
    await w.ready;
    return w;
  }

  release(w: InstanceWorker): void {
    if (w.failed) return;
    this.#idle.push(w);
  }

  terminateAll(): void {
    this.#closed = true;
    for (const w of this.#all) w.terminate();
    this.#all.clear();
    this.#idle = [];
  }
}
