/**
 * Which server the conformance specs run against.
 *
 * - `POCKET_IC_BIN` set: that binary (a real PocketIC server, or anything that
 *   speaks its REST API).
 * - otherwise: icsim, `<repo>/simulator/bin/icsim.js`.
 *
 * One server serves the whole run (`global-setup.ts`); specs reach it through
 * PicJS only (`createPic()` in `pic.ts`) and never import simulator internals.
 * `spawnServer()` is for the few checks of the server process itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

const fromEnv = process.env.POCKET_IC_BIN;

/** The server executable the specs run. */
export const binPath: string =
  fromEnv && fromEnv !== '' ? fromEnv : join(repoRoot, 'simulator', 'bin', 'icsim.js');

/** True when the specs run against icsim (not an external `POCKET_IC_BIN`). */
export const isIcsim: boolean = !(fromEnv && fromEnv !== '');

/** A human-readable name of the target, for logs and test titles. */
export const targetName: string = isIcsim ? `icsim (${binPath})` : `POCKET_IC_BIN=${binPath}`;

export interface SpawnedServer {
  url: string;
  portFile: string;
  child: ChildProcess;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  exited: Promise<number | string | null>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<number | string | null>;
}

/**
 * Starts `binPath` directly with its own `--port-file` in a fresh temp dir
 * (not PicJS's `pocket_ic_<ppid>.port`, which the run's shared server owns),
 * and waits until it has written `<port>\n`.
 */
export async function spawnServer(
  options: { ttl?: number; timeoutMs?: number; portFile?: string } = {},
): Promise<SpawnedServer> {
  const portFile = options.portFile ?? join(mkdtempSync(join(tmpdir(), 'icsim-spawn-')), 'server.port');
  // A port file given with stale content: wait for the new server's port, not that one.
  const stale = existsSync(portFile) ? readFileSync(portFile, 'utf8') : undefined;
  const args = ['--port-file', portFile];
  if (options.ttl !== undefined) args.push('--ttl', String(options.ttl));
  const child = spawn(binPath, args, { stdio: 'ignore' });
  const exited = new Promise<number | string | null>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal)),
  );
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let content = '';
  while (!/^\d+\n$/.test(content) || content === stale) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${binPath} exited (${child.exitCode ?? child.signalCode}) before writing ${portFile}`);
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`${binPath} wrote no port to ${portFile} in time`);
    }
    await new Promise((r) => setTimeout(r, 25));
    content = existsSync(portFile) ? readFileSync(portFile, 'utf8') : '';
  }
  const url = `http://127.0.0.1:${parseInt(content, 10)}`;
  return {
    url,
    portFile,
    child,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
