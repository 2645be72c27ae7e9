/**
 * Vitest globalSetup of the `clients` family (in the `conformance` project):
 *
 * 1. `icsim link` into this repository: every PicJS release installed here
 *    (`packages/*` and the root's `@dfinity/pic`) finds icsim's launcher at
 *    `<client>/pocket-ic`, where all of them look; undone at the end
 *    (`icsim unlink`), so node_modules is left as npm installed it.
 * 2. One server for every release: spec files run in Vitest's worker
 *    processes, whose parent is this process, so every release's
 *    `PocketIcServer.start()` names the same `pocket_ic_<this pid>.port`. A
 *    server started here the way the oldest releases start it (`--pid`, which
 *    also writes the `.ready` file server 3 clients wait for) owns that file;
 *    each release's own spawn of `pocket-ic` then finds it taken and exits at
 *    once, PocketIC's reuse mechanism, and the release reads the port.
 */
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { link, unlink } from '../../simulator/bin/link.js';
import { repoRoot } from '../support/target.ts';

const launcher = join(repoRoot, 'simulator', 'bin', 'icsim.js');

export default async function setup(): Promise<() => Promise<void>> {
  link(repoRoot);
  const pid = String(process.pid);
  const portFile = join(tmpdir(), `pocket_ic_${pid}.port`);
  const readyFile = join(tmpdir(), `pocket_ic_${pid}.ready`);
  for (const f of [portFile, readyFile]) rmSync(f, { force: true });
  const child = spawn(process.execPath, [launcher, '--pid', pid, '--ttl', '900'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 30_000;
  while (!existsSync(readyFile)) {
    if (child.exitCode !== null)
      throw new Error(`icsim --pid ${pid} exited (${child.exitCode}) before it was ready`);
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`icsim --pid ${pid} wrote no ${readyFile} in 30 s`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    unlink(repoRoot);
  };
}
