/**
 * Vitest globalSetup of the `conformance` project: starts ONE server for the
 * whole run, the way PicJS documents it (`PocketIcServer.start({ binPath })`),
 * gives its URL to every spec file as `inject('PIC_URL')` and stops it at the
 * end. Spec files then run in parallel workers, each on its own instances.
 *
 * PicJS names its port file `<tmpdir>/pocket_ic_<ppid>.port`; only this
 * process starts a server through PicJS, so nothing else races for it.
 */
import { PocketIcServer } from '@dfinity/pic';
import { access, constants, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
// The PIC_URL entry of Vitest's ProvidedContext (type only: this file may not load vitest).
import type {} from './pic.ts';
import { binPath, targetName } from './target.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  try {
    await access(binPath, constants.X_OK);
  } catch {
    throw new Error(`conformance target not executable: ${binPath}`);
  }
  // A port file left by a server of an earlier run with the same parent pid would
  // make PicJS read a dead port.
  await rm(join(tmpdir(), `pocket_ic_${process.ppid}.port`), { force: true });
  const server = await PocketIcServer.start({ binPath });
  const url = server.getUrl();
  console.log(`conformance target: ${targetName} at ${url}`);
  project.provide('PIC_URL', url);
  return async () => {
    await server.stop();
  };
}
