/**
 * Vitest globalSetup of the `conformance` project: names the server the specs
 * run against (icsim by default, `POCKET_IC_BIN` when set) once per run.
 */
import { access, constants } from 'node:fs/promises';
import { binPath, targetName } from './target.ts';

export default async function setup(): Promise<void> {
  try {
    await access(binPath, constants.X_OK);
  } catch {
    throw new Error(`conformance target not executable: ${binPath}`);
  }
  console.log(`conformance target: ${targetName}`);
}
