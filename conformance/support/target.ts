/**
 * Which server the conformance specs run against, and how to start it.
 *
 * - `POCKET_IC_BIN` set: that binary (a real PocketIC server, or anything that
 *   speaks its REST API).
 * - otherwise: icsim, `<repo>/simulator/bin/icsim`.
 *
 * Specs reach the server through PicJS only (`startServer()` then
 * `PocketIc.create(server.getUrl())`) and never import simulator internals.
 */
import { PocketIcServer } from '@dfinity/pic';
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

const fromEnv = process.env.POCKET_IC_BIN;

/** The server executable the specs run. */
export const binPath: string =
  fromEnv && fromEnv !== '' ? fromEnv : join(repoRoot, 'simulator', 'bin', 'icsim');

/** True when the specs run against icsim (not an external `POCKET_IC_BIN`). */
export const isIcsim: boolean = !(fromEnv && fromEnv !== '');

/** A human-readable name of the target, for logs and test titles. */
export const targetName: string = isIcsim ? `icsim (${binPath})` : `POCKET_IC_BIN=${binPath}`;

export interface StartOptions {
  showRuntimeLogs?: boolean;
  showCanisterLogs?: boolean;
  ttl?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * PicJS names its port file after `process.ppid` (`<tmpdir>/pocket_ic_<ppid>.port`), and
 * every Vitest worker of one run has the same parent. Two spec files starting servers at
 * once would therefore share one port file: the second server sees it, exits at once
 * (PocketIC's "reuse" rule), its client talks to the first file's server, and its
 * `stop()` waits forever for a child that already exited. So servers of one run are
 * taken one at a time, under a lock file keyed like the port file; a file waits until
 * the previous one has stopped its server.
 */
const lockPath = join(tmpdir(), `icsim_conformance_${process.ppid}.lock`);
const portFilePath = join(tmpdir(), `pocket_ic_${process.ppid}.port`);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function acquireLock(timeoutMs: number): Promise<() => void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        process.off('exit', release);
        try {
          unlinkSync(lockPath);
        } catch {
          // gone already
        }
      };
      process.on('exit', release);
      return release;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    // A holder that died without releasing: take the lock over.
    let holder = NaN;
    try {
      holder = Number(readFileSync(lockPath, 'utf8'));
    } catch {
      continue;
    }
    if (Number.isInteger(holder) && holder > 0 && !alive(holder)) {
      try {
        unlinkSync(lockPath);
      } catch {
        // someone else took it over first
      }
      continue;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${lockPath} (held by pid ${holder})`);
    await sleep(100);
  }
}

/**
 * Starts the target server with PicJS (`PocketIcServer.start({ binPath })`).
 * The returned server's `stop()` also lets the next spec file start its own.
 */
export async function startServer(options: StartOptions = {}): Promise<PocketIcServer> {
  const release = await acquireLock(240_000);
  try {
    // Only the lock holder runs a server for this parent pid, so an existing port file is
    // a leftover of a server that died without cleaning up: PicJS would read its stale port.
    try {
      unlinkSync(portFilePath);
    } catch {
      // none
    }
    const server = await PocketIcServer.start({ ...options, binPath });
    const stop = server.stop.bind(server);
    server.stop = async () => {
      try {
        await stop();
      } finally {
        release();
      }
    };
    return server;
  } catch (e) {
    release();
    throw e;
  }
}
