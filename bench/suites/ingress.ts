/**
 * icsim's own ingress throughput: 1.9 MB update calls to a canister that only
 * stores its argument (`fixtures/wat/store.ts`), so that what is measured is
 * the path (client, HTTP, the server, queues, the System API's copies) and not
 * the canister. Twice: through PicJS end to end, and with PicJS's own requests
 * replayed by a client that does no per-byte work, which shows what the
 * simulator sustains when PicJS's client (base64 and JSON of every argument)
 * is not the limit. Beside the wall-clock figures, the CPU time each side
 * spent per byte: the PicJS client (this process) and the server process (its
 * threads, and its child when the launcher spawned one).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { IDL, type IDL as CandidIDL } from '@icp-sdk/core/candid';
import type { ActorInterface } from '@dfinity/pic';
import { payload } from '../../fixtures/payload.ts';
import { watToWasm } from '../../fixtures/wat.ts';
import { STORE_WAT } from '../../fixtures/wat/store.ts';
import { mbPerSecond, median, type Results } from '../measure.ts';
import { startPic } from '../pic.ts';

const CHUNK = 1_900_000;
/** Calls measured per figure (76 MB). */
const CALLS = 40;
const LANES = 4;
/** Rounds of `CALLS` replayed requests; the median round is the figure (the machine's own noise is ±15 %). */
const REPLAY_ROUNDS = 5;

const idlFactory: CandidIDL.InterfaceFactory = ({ IDL }) =>
  IDL.Service({
    store: IDL.Func([IDL.Vec(IDL.Nat8)], [], []),
    stored: IDL.Func([], [IDL.Nat64], ['query']),
  });
type StoreActor = ActorInterface<{
  store: (bytes: Uint8Array) => Promise<undefined>;
  stored: () => Promise<bigint>;
}>;

/** CPU seconds (user + system) of a process and every descendant still running, from /proc. */
function treeCpuSeconds(root: number): number {
  const ticks = 100; // USER_HZ: /proc reports in 1/100 s on Linux
  const stats = new Map<number, { ppid: number; cpu: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name, which may hold spaces: state ppid … utime(14) stime(15).
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(entry), { ppid: Number(rest[1]), cpu: (Number(rest[11]) + Number(rest[12])) / ticks });
    } catch {
      // The process ended while we read.
    }
  }
  const inTree = (pid: number): boolean => {
    for (let p = pid; p > 1; p = stats.get(p)?.ppid ?? 0) if (p === root) return true;
    return false;
  };
  let total = 0;
  for (const [pid, s] of stats) if (inTree(pid)) total += s.cpu;
  return total;
}

/** A request PicJS sent, as it went on the wire. */
interface CapturedRequest {
  url: URL;
  headers: Record<string, string>;
  body: Buffer;
}

/** The `submit_ingress_message` request PicJS sends while `call` runs (PicJS's client uses global fetch). */
async function capturePicjsSubmit(call: () => Promise<unknown>): Promise<CapturedRequest> {
  const realFetch = globalThis.fetch;
  let captured: CapturedRequest | undefined;
  globalThis.fetch = (async (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const url = new URL(String(input));
    if (url.pathname.endsWith('/update/submit_ingress_message') && init?.body instanceof Uint8Array)
      captured = {
        url,
        headers: { ...(init.headers as Record<string, string>) },
        body: Buffer.from(init.body),
      };
    return realFetch(input, init);
  }) as typeof fetch;
  try {
    await call();
  } finally {
    globalThis.fetch = realFetch;
  }
  if (!captured)
    throw new Error('PicJS sent no submit_ingress_message request: its client changed, update this bench');
  return captured;
}

/**
 * Sends PicJS's captured submit request again and awaits it as PicJS does (its await body is the
 * submit answer's `effective_principal` and `message_id`): one more call of the same argument,
 * since icsim gives each accepted message its own id. The body is sent as captured, no per-byte work.
 */
function replayer(submit: CapturedRequest): () => Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 2 * LANES });
  const post = (path: string, body: Buffer): Promise<string> =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: submit.url.hostname,
          port: submit.url.port,
          path,
          method: 'POST',
          agent,
          headers: { ...submit.headers, 'content-length': String(body.length) },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (d: Buffer) => parts.push(d));
          res.on('end', () => {
            const text = Buffer.concat(parts).toString('utf8');
            if (res.statusCode === 200) resolve(text);
            else reject(new Error(`${path} answered ${res.statusCode}: ${text.slice(0, 300)}`));
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  const awaitPath = submit.url.pathname.replace(/submit_ingress_message$/, 'await_ingress_message');
  return async () => {
    const { Ok } = JSON.parse(await post(submit.url.pathname, submit.body)) as {
      Ok: { effective_principal: unknown; message_id: unknown };
    };
    const answer = JSON.parse(
      await post(
        awaitPath,
        Buffer.from(
          JSON.stringify({ effective_principal: Ok.effective_principal, message_id: Ok.message_id }),
        ),
      ),
    ) as { Ok?: unknown };
    if (!answer.Ok)
      throw new Error(`a replayed store call did not reply: ${JSON.stringify(answer).slice(0, 300)}`);
  };
}

const processCpuSeconds = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

export async function ingressSuite(results: Results): Promise<void> {
  const wasm = await watToWasm(STORE_WAT);
  const { server, pic } = await startPic();
  // PicJS keeps the spawned server in a private field; without it the CPU split is skipped.
  const serverPid = (server as unknown as { serverProcess?: { pid?: number } }).serverProcess?.pid;
  try {
    const { actor } = await pic.setupCanister<StoreActor>({ idlFactory, wasm });
    const chunk = payload(CHUNK, 5);
    for (let i = 0; i < 5; i++) await actor.store(chunk);
    let sent = 5;

    /** `CALLS` calls over `lanes` lanes at once: wall time, and the CPU time of each side. */
    const measure = async (
      lanes: number,
      call: () => Promise<unknown>,
    ): Promise<{ ms: number; client: number; server: number }> => {
      const client0 = processCpuSeconds();
      const server0 = serverPid ? treeCpuSeconds(serverPid) : 0;
      const t = performance.now();
      await Promise.all(
        Array.from({ length: lanes }, async () => {
          for (let i = 0; i < CALLS / lanes; i++) await call();
        }),
      );
      const ms = performance.now() - t;
      sent += CALLS;
      return {
        ms,
        client: processCpuSeconds() - client0,
        server: serverPid ? treeCpuSeconds(serverPid) - server0 : 0,
      };
    };
    const store = (): Promise<unknown> => actor.store(chunk);
    const one = await measure(1, store);
    const many = await measure(LANES, store);

    const submit = await capturePicjsSubmit(store);
    sent += 1;
    const replay = replayer(submit);
    const rounds = [];
    for (let round = 0; round < REPLAY_ROUNDS; round++) rounds.push(await measure(LANES, replay));

    // Every byte arrived: the canister stored each call's whole Candid argument.
    const argBytes = IDL.encode([IDL.Vec(IDL.Nat8)], [chunk]).byteLength;
    const stored = await actor.stored();
    if (stored !== BigInt(sent * argBytes))
      throw new Error(`the store canister holds ${stored} bytes, expected ${sent * argBytes}`);

    const bytes = CALLS * CHUNK;
    results['ingress.picjs.mb_per_s'] = {
      value: mbPerSecond(bytes, one.ms),
      unit: 'MB/s',
      note: `${CALLS} × ${CHUNK / 1e6} MB store calls, one lane, PicJS → icsim → a canister that only stores them`,
    };
    results['ingress.picjs_lanes.mb_per_s'] = {
      value: mbPerSecond(bytes, many.ms),
      unit: 'MB/s',
      note: `the same over ${LANES} lanes at once`,
    };
    results['ingress.picjs_client_mb_per_cpu_s'] = {
      value: bytes / 1e6 / many.client,
      unit: 'MB/CPU·s',
      note: 'bytes ÷ CPU time of the PicJS client (JSON and base64 of each argument, fetch), 4 lanes',
    };
    results['ingress.replay.mb_per_s'] = {
      value: median(rounds.map((r) => mbPerSecond(bytes, r.ms))),
      unit: 'MB/s',
      note: `PicJS's own store requests replayed over ${LANES} lanes by a client without per-byte work; median of ${REPLAY_ROUNDS} rounds of ${CALLS}`,
    };
    if (serverPid)
      results['ingress.server_mb_per_cpu_s'] = {
        value: median(rounds.map((r) => bytes / 1e6 / r.server)),
        unit: 'MB/CPU·s',
        note: "bytes ÷ CPU time of icsim's server process, all threads, over those rounds: what the simulator itself needs",
      };
  } finally {
    await pic.tearDown();
    await server.stop();
  }
}
