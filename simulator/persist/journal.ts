/**
 * A persisted instance: an `InstanceEndpoint` whose every state-changing operation is appended to
 * its log (`log.ts`) before it is answered, and which a restarted server rebuilds by replaying the
 * log on a fresh instance.
 *
 * Why replaying operations is exact: the simulator is deterministic but for two inputs, the bytes
 * of randomness it draws (`simulator/entropy.ts`) and the wall clock auto progress reads
 * (`Instance.wallClock`). Each record carries both as tapes, and a replay feeds them back, so the
 * replayed instance has the same canisters, memories, ids, queues, timers, ingress history and
 * clocks as the one that wrote the log.
 *
 * Records, in order:
 * - `create`: the instance's config (written by the server's main thread before it answers
 *   `POST /instances`, so an acknowledged instance always exists on disk);
 * - `created`: the tapes of the creation itself (the first step of auto progress);
 * - `request`: an operation (PocketIC route or IC HTTP interface call) with its blobs and tapes;
 * - `progress`: a round auto progress ran on its timer, with its tapes.
 * Reads (`GET`, `/read/…`, queries, `read_state`) change nothing and are not recorded.
 */
import { crc32 } from 'node:zlib';
import { recordingTo, replaying, setEntropySource, withEntropy } from '../entropy.ts';
import type { WireRequest, WireResponse } from '../server/http.ts';
import { InstanceEndpoint, type BlobEntry, type Surface } from '../server/instance-endpoint.ts';
import { LogWriter, readLog, StateError } from './log.ts';
import { isCreate, type CreateRecord } from './records.ts';

/** The inputs an operation took from outside the simulator, in the order it took them. */
interface Tapes {
  clock: bigint[];
  entropy: Uint8Array[];
}

type LogRecord =
  | CreateRecord
  | ({ kind: 'created' } & Tapes)
  | ({
      kind: 'request';
      surface: Surface;
      request: WireRequest;
      blobs: BlobEntry[];
      /** The answer's status and the CRC-32 of its body: a replay that answers otherwise diverged. */
      answer?: [number, number];
    } & Tapes)
  | ({ kind: 'progress' } & Tapes);

/** Whether an operation can change the instance (reads are not recorded). */
export function changesState(surface: Surface, request: WireRequest): boolean {
  if (surface === 'api') return /\/call$/.test(request.path);
  return request.method !== 'GET' && !request.path.startsWith('/read/');
}

const KEPT_HEADERS = ['content-type', 'content-encoding'];

function pickHeaders(headers: WireRequest['headers']): WireRequest['headers'] {
  const kept: WireRequest['headers'] = {};
  for (const name of KEPT_HEADERS) if (headers[name] !== undefined) kept[name] = headers[name];
  return kept;
}

/** What a record keeps of an answer to tell a faithful replay from a diverging one. */
const answerOf = (response: WireResponse): [number, number] => [response.status, crc32(response.body)];

const systemClock = (): bigint => BigInt(Date.now()) * 1_000_000n;

const fromTape = (tape: readonly bigint[]): (() => bigint) => {
  let next = 0;
  return () => tape[next++] ?? systemClock();
};

export interface PersistedEndpointOptions {
  onCanisterLog?: (line: string) => void;
  runtimeLog?: (line: string) => void;
}

/** An `InstanceEndpoint` that appends what changes its instance to a log, and is rebuilt from it. */
export class PersistedEndpoint {
  readonly endpoint: InstanceEndpoint;
  readonly #writer: LogWriter;
  /** The tapes of the operation being recorded, if one is. */
  #tapes: Tapes | undefined;
  /** A round auto progress ran on its timer, recorded once it is over. */
  #pending: Tapes | undefined;
  /** Whether a replayed record answered otherwise than when it was recorded (reported once). */
  #diverged = false;
  readonly #log: (line: string) => void;
  /** While replaying: where the wall clock reads. */
  #replayClock: (() => bigint) | undefined;

  private constructor(endpoint: InstanceEndpoint, writer: LogWriter, log: (line: string) => void) {
    this.endpoint = endpoint;
    this.#writer = writer;
    this.#log = log;
    endpoint.instance.wallClock = () => this.#readClock();
  }

  /**
   * Rebuilds the instance the log at `file` holds (created by `writeNewLog`), replaying every
   * record, and opens the log for what comes next. A record cut short by a crash is dropped: it
   * was never answered.
   * @throws StateError for a damaged log, or one whose records do not replay.
   */
  static open(file: string, options: PersistedEndpointOptions = {}): PersistedEndpoint {
    const { records, validBytes } = readLog(file);
    const [create, ...rest] = records as LogRecord[];
    if (!isCreate(create)) throw new StateError(`${file} does not begin with the instance's configuration`);
    const created = rest[0]?.kind === 'created' ? rest.shift() : undefined;
    if (created === undefined && rest.length > 0)
      throw new StateError(`${file}: record 2 is not the instance's creation (${String(rest[0]?.kind)})`);
    // The creation's own inputs (the first step of auto progress): replayed from the `created`
    // record, or recorded into a new one when the instance is new.
    const tapes: Tapes = created?.kind === 'created' ? created : { clock: [], entropy: [] };
    const replayCreation = created !== undefined;
    const clock = fromTape(tapes.clock);
    let endpoint: InstanceEndpoint;
    try {
      endpoint = withEntropy(replayCreation ? replaying(tapes.entropy) : recordingTo(tapes.entropy), () => {
        const e = InstanceEndpoint.create(create.config, {
          onCanisterLog: options.onCanisterLog,
          runtimeLog: options.runtimeLog,
        });
        e.instance.wallClock = () => {
          if (replayCreation) return clock();
          const now = systemClock();
          tapes.clock.push(now);
          return now;
        };
        if (create.autoProgressDelayMs !== undefined)
          e.instance.startAutoProgress(create.autoProgressDelayMs);
        return e;
      });
    } catch (e) {
      throw new StateError(
        `${file}: the instance's configuration does not create an instance: ${(e as Error).message}`,
      );
    }
    const writer = LogWriter.open(file, validBytes);
    const persisted = new PersistedEndpoint(endpoint, writer, options.runtimeLog ?? (() => {}));
    if (!replayCreation) writer.append({ kind: 'created', ...tapes } satisfies LogRecord);
    try {
      persisted.#replay(rest, file, 3);
    } catch (e) {
      // Nothing of a log that does not replay stays running (auto progress's timer, the file).
      endpoint.delete();
      writer.close();
      throw e;
    }
    return persisted;
  }

  /** Replays `records`, the first of which is record number `first` of the file (for errors). */
  #replay(records: LogRecord[], file: string, first: number): void {
    const instance = this.endpoint.instance;
    records.forEach((record, i) => {
      if (record.kind !== 'request' && record.kind !== 'progress')
        throw new StateError(
          `${file}: record ${i + first} is not an operation (${String((record as { kind?: unknown }).kind)})`,
        );
      this.#replayClock = fromTape(record.clock);
      try {
        withEntropy(replaying(record.entropy), () => {
          if (record.kind === 'progress') {
            instance.progressStep();
            return;
          }
          const [status, crc] = answerOf(this.endpoint.handle(record.surface, record.request, record.blobs));
          const [wasStatus, wasCrc] = record.answer ?? [status, crc];
          // Not fatal: the instance is still the best state there is, but the user is told.
          if (!this.#diverged && (status !== wasStatus || crc !== wasCrc)) {
            this.#diverged = true;
            this.#log(
              `icsim: ${file}: record ${i + first} (${record.request.method} ${record.request.path}) ` +
                `answers ${status} where it answered ${wasStatus}${status === wasStatus ? ' (another body)' : ''}: ` +
                'the instance may differ from the one that wrote the log (another icsim version?)',
            );
          }
        });
      } catch (e) {
        throw new StateError(`${file}: record ${i + first} does not replay: ${(e as Error).message}`);
      } finally {
        this.#replayClock = undefined;
      }
    });
  }

  #readClock(): bigint {
    if (this.#replayClock) return this.#replayClock();
    const now = systemClock();
    if (this.#tapes && this.#tapes !== this.#pending) {
      this.#tapes.clock.push(now);
      return now;
    }
    // The previous timer round is over (each round reads the clock once, first): record it.
    this.#flush();
    // A round auto progress runs on its timer: recorded once the round is over (the microtask
    // runs right after the timer's synchronous callback), with the randomness it drew.
    const tapes: Tapes = { clock: [now], entropy: [] };
    this.#tapes = tapes;
    this.#pending = tapes;
    setEntropySource(recordingTo(tapes.entropy));
    queueMicrotask(() => this.#flush());
    return now;
  }

  /** Appends the round auto progress ran on its timer, if one is waiting (see `#readClock`). */
  #flush(): void {
    const tapes = this.#pending;
    if (!tapes) return;
    this.#pending = undefined;
    this.#tapes = undefined;
    setEntropySource(undefined);
    this.#writer.append({ kind: 'progress', ...tapes } satisfies LogRecord);
  }

  /** Answers one request; one that can change the instance is in the log before the answer is returned. */
  handle(surface: Surface, request: WireRequest, blobs: BlobEntry[] = []): WireResponse {
    this.#flush();
    if (!changesState(surface, request)) return this.endpoint.handle(surface, request, blobs);
    const tapes: Tapes = { clock: [], entropy: [] };
    this.#tapes = tapes;
    let response: WireResponse;
    try {
      response = withEntropy(recordingTo(tapes.entropy), () => this.endpoint.handle(surface, request, blobs));
    } finally {
      this.#tapes = undefined;
    }
    this.#writer.append({
      kind: 'request',
      surface,
      // Of the headers, an instance reads only the content type (`InstanceEndpoint`): the rest
      // (user agent, host, lengths) would only grow the log.
      request: { ...request, headers: pickHeaders(request.headers) },
      blobs,
      answer: answerOf(response),
      ...tapes,
    } satisfies LogRecord);
    return response;
  }

  /** Deletes the instance; its log stays as it is (a state dir keeps it, PocketIC's semantics). */
  delete(): void {
    this.#flush();
    this.endpoint.delete();
    this.#writer.close();
  }
}
