/**
 * The `icsim` command line, shaped like `pocket-ic-server`
 * (`rs/pocket_ic_server/src/main.rs`, clap `#[clap(name = "pocket-ic-server")]`):
 *
 *   --port-file <path>   created with O_EXCL before binding; if it already exists another
 *                        server owns it and we exit 0 at once (PocketIC's reuse mechanism);
 *                        after listening we write "<port>\n" into it, and remove it on exit.
 *   --port/-p <n>        default 0 (ephemeral)
 *   --ip-addr/-i <ip>    default 127.0.0.1
 *   --ttl <secs>         default 60: exit when no request arrived or finished for that long
 *                        and none is in flight
 *   --hard-ttl <secs>    (v13) exit after that long, whatever happens
 *   --log-levels/-l, --mainnet-routing-table, --fetch-mainnet-routing-table,
 *   --mainnet-registry-version: accepted and ignored
 *   --pid <pid>          (pre-v7 clients: `@hadronous/pic` ≤ 0.11) port file =
 *                        <tmpdir>/pocket_ic_<pid>.port, and once it holds the port an empty
 *                        <tmpdir>/pocket_ic_<pid>.ready (server v3, which `@hadronous/pic` 0.6/0.8
 *                        wait for before reading the port: their `dist/pocket-ic-server.js`)
 *   --http-port <n>      icsim only: create a default instance (one application subnet) in live
 *                        mode and serve its IC HTTP interface (/api/v2/status, …) at the root of
 *                        that port, like `dfx start`; the idle TTL is then off unless --ttl is given
 *   --state-dir <dir>    icsim only: keep every instance in <dir> and resume those it holds
 *                        (simulator/persist/); with --http-port the live instance is resumed too
 *
 * Process contract for PicJS: docs/reference/picjs-protocol.md §1.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerLogs } from './core.ts';
import { createDualServer } from './h2c.ts';
import { request } from './node-builtins.ts';
import { WorkerPool } from './worker-pool.ts';
import type { createIcsimServer, IcsimServer } from './server.ts';

/** How `runCli` gets the server going once it listens: where instance workers start, and the REST adapter. */
export interface ServerStart {
  /** The worker entry (`instance-worker.ts`, or `.js` in the built package). */
  workerUrl: URL;
  loadServer(): Promise<typeof createIcsimServer>;
}

/** The PocketIC server version whose REST API icsim speaks (the one PicJS 0.23.0 downloads). */
export const POCKET_IC_SERVER_VERSION = '14.0.0';

export interface CliOptions {
  portFile?: string;
  /** `--pid`: created empty once the port file holds the port (server v3's readiness signal). */
  readyFile?: string;
  port: number;
  ipAddr: string;
  ttlSecs: number;
  hardTtlSecs?: number;
  /** Serve a default live instance's IC HTTP interface at the root of this port. */
  httpPort?: number;
  /** Where instances are kept across restarts (`--state-dir`). */
  stateDir?: string;
  /** True when --ttl was given (with --http-port, no idle TTL applies otherwise). */
  ttlGiven?: boolean;
  /** Host names served besides loopback ones (`--allowed-host`, repeatable). */
  allowedHosts: string[];
}

export type ParsedArgs =
  | { kind: 'run'; options: CliOptions; ignored: string[] }
  | { kind: 'version' }
  | { kind: 'help' }
  | { kind: 'error'; message: string };

const USAGE = `icsim: a local Internet Computer replica simulator speaking PocketIC's REST API

Usage: icsim [OPTIONS]
       icsim link [PROJECT_DIR]     Place icsim at node_modules/<client>/pocket-ic for every PicJS package
                                    (@hadronous/pic, @dfinity/pic) of the project: releases before 0.23
                                    look for their server only there
       icsim unlink [PROJECT_DIR]   Undo \`icsim link\` (a PocketIC binary it moved aside comes back)

Options:
  -i, --ip-addr <IP_ADDR>        The IP address to which the server should bind [default: 127.0.0.1]
  -l, --log-levels <LOG_LEVELS>  Accepted for compatibility and ignored
  -p, --port <PORT>              The port at which the server listens (0 = any free port) [default: 0]
      --port-file <PORT_FILE>    File to which the port is written once listening; if it already
                                 exists, another server is assumed to own it and icsim exits at once
      --ttl <TTL>                Seconds without requests after which the server exits [default: 60]
      --hard-ttl <HARD_TTL>      Seconds after which the server exits unconditionally
      --allowed-host <NAME>      icsim only: also answer requests whose Host is NAME (repeatable); by
                                 default only loopback names and the --ip-addr address are served
      --http-port <HTTP_PORT>    Also create a default instance (one application subnet) in live
                                 mode and serve its IC HTTP interface (/api/v2/status, /api/v3/…)
                                 at the root of this port, for agents (HttpAgent host); no idle
                                 TTL applies then unless --ttl is given
      --state-dir <DIR>          icsim only: keep every instance in DIR (written before each answer)
                                 and resume the instances DIR holds: ids, canisters, time, queues
  -h, --help                     Print help
  -V, --version                  Print version (stdout: "pocket-ic-server ${POCKET_IC_SERVER_VERSION}")
`;

export function usage(): string {
  return USAGE;
}

function parseUint(flag: string, v: string, max: number): number | string {
  if (!/^\d+$/.test(v) || Number(v) > max)
    return `error: invalid value '${v}' for '${flag}': expected an integer in 0..=${max}`;
  return Number(v);
}

export function parseArgs(argv: string[]): ParsedArgs {
  const options: CliOptions = { port: 0, ipAddr: '127.0.0.1', ttlSecs: 60, allowedHosts: [] };
  const ignored: string[] = [];
  let pid: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    let inline: string | undefined;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    if (eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const value = (): string | undefined => inline ?? argv[++i];
    const need = (name: string): string | { error: string } => {
      const v = value();
      return v === undefined
        ? { error: `error: a value is required for '${name}' but none was supplied` }
        : v;
    };
    switch (arg) {
      case '-h':
      case '--help':
        return { kind: 'help' };
      case '-V':
      case '--version':
        return { kind: 'version' };
      case '--port-file': {
        const v = need(arg);
        if (typeof v !== 'string') return { kind: 'error', message: v.error };
        options.portFile = v;
        break;
      }
      case '--http-port': {
        const v = need(arg);
        if (typeof v !== 'string') return { kind: 'error', message: v.error };
        const n = parseUint(arg, v, 65535);
        if (typeof n === 'string') return { kind: 'error', message: n };
        options.httpPort = n;
        break;
      }
      case '-p':
      case '--port': {
        const v = need(arg);
        if (typeof v !== 'string') return { kind: 'error', message: v.error };
        const n = parseUint(arg, v, 65535);
        if (typeof n === 'string') return { kind: 'error', message: n };
        options.port = n;
        break;
      }
      case '-i':
      case '--ip-addr': {
        const v = need(arg);
        if (typeof v !== 'string') return { kind: 'error', message: v.error };
        options.ipAddr = v;
        break;
      }
      case '--ttl':
      case '--hard-ttl': {
        const v = need(arg);
        if (typeof v !== 'string') return { kind: 'error', message: v.error };
        const n = parseUint(arg, v, 2 ** 31 / 1000);
        if (typeof n === 'string') return { kind: 'error', message: n };
        if (arg === '--ttl') {
          options.ttlSecs = n;
          options.ttlGiven = true;
        } else options.hardTtlSecs = n;
        break;
      }
      case '--state-dir': {
        const v = need(arg);
        if (typeof v !== 'string') return { kind: 'error', message: v.error };
        options.stateDir = v;
        break;
      }
      case '--allowed-host': {
        const v = need(arg);
        if (typeof v !== 'string') return { kind: 'error', message: v.error };
        options.allowedHosts.push(v.toLowerCase());
        break;
      }
      case '--pid': {
        const v = need(arg);
        if (typeof v !== 'string') return { kind: 'error', message: v.error };
        pid = v;
        break;
      }
      case '-l':
      case '--log-levels':
      case '--mainnet-registry-version': {
        const v = need(arg);
        if (typeof v !== 'string') return { kind: 'error', message: v.error };
        ignored.push(`${arg} ${v}`);
        break;
      }
      case '--mainnet-routing-table':
      case '--fetch-mainnet-routing-table':
        ignored.push(arg);
        break;
      default:
        return { kind: 'error', message: `error: unexpected argument '${argv[i]}' found\n\n${USAGE}` };
    }
  }
  if (options.portFile === undefined && pid !== undefined) {
    options.portFile = join(tmpdir(), `pocket_ic_${pid}.port`);
    options.readyFile = join(tmpdir(), `pocket_ic_${pid}.ready`);
  }
  return { kind: 'run', options, ignored };
}

/**
 * The port of the server that owns `portFile`, or undefined when none answers there. A file that
 * is still empty may belong to a server that is starting: it gets a few seconds to write its port.
 */
async function portFileOwner(portFile: string, ipAddr: string): Promise<number | undefined> {
  const deadline = Date.now() + 3000;
  for (;;) {
    let text = '';
    try {
      text = readFileSync(portFile, 'utf8');
    } catch {
      return undefined; // gone: nobody owns it
    }
    const port = /^(\d+)\n$/.exec(text)?.[1];
    if (port !== undefined) return (await answersStatus(ipAddr, Number(port))) ? Number(port) : undefined;
    if (Date.now() > deadline) return undefined;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True when an HTTP server answers `GET /status` on that port within a second. */
function answersStatus(ipAddr: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { host: ipAddr === '0.0.0.0' ? '127.0.0.1' : ipAddr, port, path: '/status', timeout: 1000 },
      (res) => {
        res.resume();
        resolve(res.statusCode !== undefined);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** icsim's own version, from the package.json above this file (in the source tree or the built package). */
function icsimVersion(): string {
  for (let dir = new URL('./', import.meta.url); ; dir = new URL('../', dir)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'icsim') return pkg.version ?? 'unknown';
    } catch {
      // no package.json here: look further up
    }
    if (dir.pathname === '/') return 'unknown';
  }
}

export const processLogs: ServerLogs = {
  runtime: (line) => void process.stdout.write(line.endsWith('\n') ? line : line + '\n'),
};

/**
 * Runs the server process until a signal, the TTL or the hard TTL ends it.
 * `loadServer` is called only when a server is started, so `--version` and
 * `--help` work without loading the simulator core.
 */
export async function runCli(
  argv: string[],
  start: ServerStart,
  logs: ServerLogs = processLogs,
): Promise<void> {
  const parsed = parseArgs(argv);
  if (parsed.kind === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (parsed.kind === 'version') {
    // The Rust client (`check_pocketic_server_version` in packages/pocket-ic/src/lib.rs) compares
    // stdout with exactly "pocket-ic-server <version>"; the icsim name goes to stderr.
    process.stdout.write(`pocket-ic-server ${POCKET_IC_SERVER_VERSION}\n`);
    process.stderr.write(`icsim ${icsimVersion()} (PocketIC REST API ${POCKET_IC_SERVER_VERSION})\n`);
    return;
  }
  if (parsed.kind === 'error') {
    process.stderr.write(parsed.message + '\n');
    process.exitCode = 2;
    return;
  }
  const { options, ignored } = parsed;
  if (ignored.length > 0) logs.runtime(`icsim: ignoring ${ignored.join(', ')}`);

  // 1. Claim the port file before binding (O_CREAT|O_EXCL, as PocketIC's `create_new`). An existing
  // file means a server owns it (PocketIC's reuse mechanism: exit 0), unless the server it names no
  // longer answers: one killed with SIGKILL leaves its file behind, and that file is taken over.
  let portFd: number | undefined;
  if (options.portFile !== undefined) {
    for (let attempt = 0; portFd === undefined; attempt++) {
      try {
        portFd = openSync(options.portFile, 'wx', 0o600);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) {
          process.stderr.write(
            `icsim: cannot create port file ${options.portFile}: ${(e as Error).message}\n`,
          );
          process.exitCode = 1;
          return;
        }
        const owner = await portFileOwner(options.portFile, options.ipAddr);
        if (owner !== undefined) {
          logs.runtime(
            `icsim: port file ${options.portFile} names a running server (port ${owner}); exiting`,
          );
          return;
        }
        logs.runtime(`icsim: port file ${options.portFile} names no running server; taking it over`);
        try {
          unlinkSync(options.portFile);
        } catch {
          // removed meanwhile: the next attempt creates it
        }
      }
    }
  }
  let ownsFiles = portFd !== undefined;
  const removePortFile = (): void => {
    if (options.portFile === undefined || !ownsFiles) return;
    for (const file of [options.readyFile, options.portFile]) {
      if (file === undefined) continue;
      try {
        unlinkSync(file);
      } catch {
        // already gone
      }
    }
    ownsFiles = false;
  };
  process.on('exit', removePortFile);

  // The simulator core and the REST adapter load while the server already listens: the port is
  // published as soon as possible (PicJS polls the port file every 100 ms) and requests that arrive
  // meanwhile wait for the load. A load failure is printed and ends the process non-zero.
  // Loading starts only once the port is published: module evaluation runs on this thread and
  // would otherwise hold back the 'listening' callback.
  let loaded!: (create: Promise<typeof createIcsimServer>) => void;
  const adapter = new Promise<typeof createIcsimServer>((resolve) => {
    loaded = (m) => resolve(m);
  });
  const pool = new WorkerPool(start.workerUrl);
  // The address the user bound is a name clients may use; loopback names are always served.
  const allowedHosts = [...options.allowedHosts, options.ipAddr.replace(/^\[|\]$/g, '').toLowerCase()];
  const ready: Promise<IcsimServer> = adapter.then((create) =>
    create({
      pool,
      logs,
      allowedHosts,
      legacyServer: options.readyFile !== undefined,
      stateDir: options.stateDir,
    }),
  );
  // HTTP/1.1 and h2c on one port, as PocketIC's hyper server (`@hadronous/pic` 0.8 speaks HTTP/2).
  const dual = createDualServer((req, res) => {
    ready.then(
      (icsim) => icsim.listener(req, res),
      () => res.destroy(),
    );
  });
  const { server } = dual;

  let stopping = false;
  /**
   * Ends the process once the port file is gone and the sockets are closed: with an exit code, or
   * with a signal, by that signal's default action, as a process without a handler ends (PocketIC's does, and PicJS's
   * `stop()` sends SIGTERM). Why not `process.exit` there: Node's exit joins V8's compiler threads,
   * and one that waits for a garbage collection on this thread never returns (nodejs/node#54918,
   * open): `stop()` then waited forever, about one server in twenty on the ingress bench.
   */
  const shutdown = (why: string, end: number | NodeJS.Signals = 0): void => {
    if (stopping) return;
    stopping = true;
    removePortFile();
    logs.runtime(`icsim: shutting down (${why})`);
    server.close();
    dual.closeAllConnections();
    if (typeof end === 'number') process.exit(end);
    process.removeAllListeners(end);
    process.kill(process.pid, end);
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const)
    process.on(signal, () => shutdown(signal, signal));
  // Started by the JavaScript launcher on another Node: stop when the launcher goes away, however it
  // died. Nobody reads the status then, so the end is SIGTERM's, which cannot hang as an exit can.
  if (process.channel) {
    process.channel.unref();
    process.on('disconnect', () => shutdown('the icsim launcher exited', 'SIGTERM'));
  }
  process.on('uncaughtException', (e) => {
    process.stderr.write(`icsim: fatal: ${e.stack ?? e.message}\n`);
    removePortFile();
    process.exit(1);
  });

  // 2. Listen, then 3. publish the port.
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.ipAddr, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    process.stderr.write(
      `icsim: cannot listen on ${options.ipAddr}:${options.port}: ${(e as Error).message}\n`,
    );
    removePortFile();
    pool.terminateAll();
    process.exitCode = 1;
    return;
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  if (portFd !== undefined) {
    writeSync(portFd, `${port}\n`);
    closeSync(portFd);
    portFd = undefined;
    if (options.readyFile !== undefined) closeSync(openSync(options.readyFile, 'w', 0o600));
  }
  // The first instance's worker boots and loads the core on its own thread while the REST adapter
  // loads here: a worker's start is the longest step before the first instance can run. Started
  // only now because constructing a Worker costs the main thread ~8 ms, and PicJS reads the port
  // file every 100 ms. A core that cannot load in a worker (a broken install) ends the server
  // loudly instead of failing every instance.
  pool.warm().catch((e: unknown) => {
    process.stderr.write(
      `icsim: cannot load the simulator core in a worker: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    shutdown('the simulator core did not load', 1);
  });
  loaded(start.loadServer());
  let icsim: IcsimServer;
  try {
    icsim = await ready;
  } catch (e) {
    // A --state-dir that cannot be used says so in one line (simulator/persist/state-dir.ts).
    if (e instanceof Error && e.name === 'StateError') {
      process.stderr.write(`icsim: ${e.message}\n`);
      shutdown('the state dir cannot be used', 1);
      return;
    }
    process.stderr.write(
      `icsim: cannot load the simulator core: ${(e as Error).stack ?? (e as Error).message}\n`,
    );
    shutdown('the simulator core did not load', 1);
    return;
  }
  const { activity } = icsim;
  process.on('exit', () => icsim.close());
  server.on('close', () => icsim.httpInterface.closeAll());
  logs.runtime(
    `icsim ${icsimVersion()} (PocketIC REST API ${POCKET_IC_SERVER_VERSION}) listening on http://${options.ipAddr}:${port}`,
  );

  // 3b. --http-port: a default live instance, its IC HTTP interface at the root of that port.
  if (options.httpPort !== undefined) {
    try {
      // With --state-dir, the live instance of the previous run (the first one it kept) comes back.
      const instanceId =
        icsim.restoredIds[0] ?? icsim.createInstance({ subnets: [{ kind: 'Application' }] }).instanceId;
      const gateway = await icsim.httpInterface.startGateway(instanceId, {
        ipAddr: options.ipAddr,
        port: options.httpPort,
      });
      logs.runtime(
        `icsim: IC HTTP interface of instance ${instanceId} (live) at http://${options.ipAddr}:${gateway.port}`,
      );
    } catch (e) {
      process.stderr.write(
        `icsim: cannot serve the IC HTTP interface on port ${options.httpPort}: ${(e as Error).message}\n`,
      );
      removePortFile();
      process.exit(1);
    }
  }

  // 4. TTL: exit when idle (no request in flight, none started or finished for ttl seconds).
  const ttlMs = options.ttlSecs * 1000;
  if (options.httpPort === undefined || options.ttlGiven) {
    setInterval(
      () => {
        if (activity.inFlight === 0 && Date.now() - activity.lastActivityMs >= ttlMs)
          shutdown(`ttl of ${options.ttlSecs}s expired`);
      },
      Math.max(50, Math.min(1000, ttlMs / 4)),
    );
  }
  if (options.hardTtlSecs !== undefined) {
    setTimeout(() => shutdown(`hard ttl of ${options.hardTtlSecs}s expired`), options.hardTtlSecs * 1000);
  }
}
